/* passes/simplify.c — identities, constant folding, common subexpressions, dead code.
 *
 * Algorithm: repeat until nothing changes —
 *  1. Identities: a RESHAPE to its input's shape, an identity PERMUTE, a SLICE of a whole
 *     axis with step 1, a CAST to the input's dtype and a one-input CONCAT are replaced by
 *     their input.
 *  2. Constant folding: ANCHORS, and every op whose inputs are all CONST, become a CONST
 *     (values from the ref evaluator, sn_ir_ref_run, on a small graph of that op alone), up
 *     to 4M elements. PARAMs are never folded (weights are bound by name).
 *  3. Common subexpressions: two live nodes with the same op, dtype, shape, inputs (in either
 *     order for ADD/MUL/MAX2), attributes and, for CONST, the same data are one node; the
 *     later one's uses move to the earlier. INPUT and PARAM nodes are never merged.
 * Graph outputs are never replaced (each output keeps its own node and buffer). Finally dead
 * code (nodes no output depends on) is compacted away.
 */
#include "passes/passes_int.h"

#include <stdlib.h>
#include <string.h>

#define FOLD_MAX_ELEMS (1 << 22)

static int count_float_attrs(sn_op op) {
    const char *a = strchr(sn_ir_op_info[op].attrs, ';');
    if (!a || !a[1])
        return 0;
    int n = 1;
    for (a++; *a; a++)
        if (*a == ',')
            n++;
    return n;
}

/* 1 */
static int is_identity(const sn_ir_graph *g, const sn_ir_node *n) {
    if (n->nin < 1)
        return 0;
    const sn_ir_node *x = &g->nodes[n->in[0]];
    switch (n->op) {
    case SN_OP_RESHAPE:
        return sn_shape_eq(&n->shape, &x->shape);
    case SN_OP_PERMUTE:
        for (int k = 0; k < n->nia; k++)
            if (n->ia[k] != k)
                return 0;
        return 1;
    case SN_OP_SLICE:
        return n->ia[1] == 0 && n->ia[3] == 1 && n->ia[2] >= x->shape.d[n->ia[0]];
    case SN_OP_CAST:
        return n->ia[0] == (int64_t)x->dtype;
    case SN_OP_CONCAT:
        return n->nin == 1;
    default:
        return 0;
    }
}

/* 2: computes node i with the ref evaluator and turns it into a CONST. */
static sn_status fold(sn_ir_graph *g, int32_t i, char *err, size_t errlen) {
    sn_ir_graph *m = sn_ir_graph_new();
    float *out = NULL;
    sn_status st = SN_ERR_NOMEM;
    if (!m)
        goto done;
    const sn_ir_node *n = &g->nodes[i];
    int32_t ins[SN_IR_MAX_IN];
    for (int k = 0; k < n->nin; k++) {
        const sn_ir_node *x = &g->nodes[n->in[k]];
        double v = x->fa[0];
        ins[k] =
            sn_ir_add(m, SN_OP_CONST, NULL, 0, NULL, 0, &v, 1, &x->shape, x->dtype, err, errlen);
        if (ins[k] < 0)
            goto done;
        if (x->data)
            memcpy(m->nodes[ins[k]].data, x->data,
                   (size_t)sn_shape_numel(&x->shape) * sizeof(float));
    }
    int32_t r = sn_ir_add(m, n->op, ins, n->nin, n->ia, n->nia, n->fa, count_float_attrs(n->op),
                          &n->shape, n->dtype, err, errlen);
    if (r < 0) {
        st = SN_ERR_INVALID;
        goto done;
    }
    sn_ir_mark_output(m, r);
    int64_t ne = sn_shape_numel(&n->shape);
    out = malloc((size_t)(ne ? ne : 1) * sizeof *out);
    if (!out)
        goto done;
    float *outs[1] = {out};
    if ((st = sn_ir_ref_run(m, NULL, outs, err, errlen)) != SN_OK)
        goto done;
    sn_ir_node *w = &g->nodes[i];
    w->op = SN_OP_CONST;
    w->nin = 0;
    w->in = NULL;
    w->nia = 0;
    memset(w->ia, 0, sizeof w->ia);
    w->fa[0] = out[0];
    w->fa[1] = 0;
    free(w->data);
    w->data = out;
    out = NULL;
    st = SN_OK;
done:
    if (st == SN_ERR_NOMEM)
        sn_errf(err, errlen, "simplify: out of memory");
    free(out);
    sn_ir_graph_free(m);
    return st;
}

static int foldable(const sn_ir_graph *g, const sn_ir_node *n) {
    if (sn_shape_numel(&n->shape) > FOLD_MAX_ELEMS)
        return 0;
    if (n->op == SN_OP_ANCHORS)
        return 1;
    if (sn_pass_is_leaf(n) || n->nin == 0)
        return 0;
    for (int k = 0; k < n->nin; k++)
        if (g->nodes[n->in[k]].op != SN_OP_CONST)
            return 0;
    return 1;
}

/* 3 */
static int commutative(sn_op op) { return op == SN_OP_ADD || op == SN_OP_MUL || op == SN_OP_MAX2; }

static void key_inputs(const sn_ir_node *n, int32_t *k) {
    for (int j = 0; j < n->nin; j++)
        k[j] = n->in[j];
    if (commutative(n->op) && n->nin == 2 && k[0] > k[1]) {
        int32_t t = k[0];
        k[0] = k[1];
        k[1] = t;
    }
}

static uint64_t mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static uint64_t node_hash(const sn_ir_node *n) {
    uint64_t h = mix((uint64_t)n->op, (uint64_t)n->dtype);
    for (int k = 0; k < n->shape.ndim; k++)
        h = mix(h, (uint64_t)n->shape.d[k]);
    int32_t in[SN_IR_MAX_IN];
    key_inputs(n, in);
    for (int j = 0; j < n->nin; j++)
        h = mix(h, (uint64_t)in[j]);
    for (int k = 0; k < n->nia; k++)
        h = mix(h, (uint64_t)n->ia[k]);
    if (n->op == SN_OP_CONST && n->data) {
        int64_t ne = sn_shape_numel(&n->shape);
        for (int64_t e = 0; e < ne && e < 64; e++) {
            uint32_t b;
            memcpy(&b, &n->data[e], sizeof b);
            h = mix(h, b);
        }
    }
    return h;
}

static int node_same(const sn_ir_node *a, const sn_ir_node *b) {
    if (a->op != b->op || a->dtype != b->dtype || !sn_shape_eq(&a->shape, &b->shape) ||
        a->nin != b->nin || a->nia != b->nia)
        return 0;
    int32_t ka[SN_IR_MAX_IN], kb[SN_IR_MAX_IN];
    key_inputs(a, ka);
    key_inputs(b, kb);
    if (a->nin && memcmp(ka, kb, (size_t)a->nin * sizeof *ka) != 0)
        return 0;
    if (a->nia && memcmp(a->ia, b->ia, (size_t)a->nia * sizeof *a->ia) != 0)
        return 0;
    if (memcmp(a->fa, b->fa, sizeof a->fa) != 0)
        return 0;
    if (a->op == SN_OP_CONST) {
        if (!a->data || !b->data)
            return a->data == b->data;
        if (memcmp(a->data, b->data, (size_t)sn_shape_numel(&a->shape) * sizeof(float)) != 0)
            return 0;
    }
    return 1;
}

static int cse_candidate(const sn_ir_node *n) {
    return sn_pass_live(n) && n->op != SN_OP_INPUT && n->op != SN_OP_PARAM;
}

sn_status sn_pass_simplify(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t errlen) {
    (void)o;
    sn_status st = SN_OK;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int32_t i = 0; i < g->nnodes; i++) {
            sn_ir_node *n = &g->nodes[i];
            if (!sn_pass_live(n) || sn_pass_is_output(n))
                continue;
            if (is_identity(g, n)) {
                sn_pass_replace_uses(g, i, n->in[0]);
                n->flags |= SN_IR_NODE_DEAD;
                changed = 1;
            } else if (foldable(g, n)) {
                if ((st = fold(g, i, err, errlen)) != SN_OK)
                    return st;
                changed = 1;
            }
        }
        /* CSE: open hashing over node indices, in topological order so inputs are
         * canonical before their users are hashed */
        int32_t cap = 16;
        while (cap < 2 * g->nnodes)
            cap *= 2;
        int32_t *tab = malloc((size_t)cap * sizeof *tab);
        if (!tab) {
            sn_errf(err, errlen, "simplify: out of memory");
            return SN_ERR_NOMEM;
        }
        for (int32_t k = 0; k < cap; k++)
            tab[k] = -1;
        for (int32_t i = 0; i < g->nnodes; i++) {
            sn_ir_node *n = &g->nodes[i];
            if (!cse_candidate(n))
                continue;
            uint32_t h = (uint32_t)node_hash(n) & (uint32_t)(cap - 1);
            int32_t hit = -1;
            for (; tab[h] >= 0; h = (h + 1) & (uint32_t)(cap - 1))
                if (node_same(&g->nodes[tab[h]], n)) {
                    hit = tab[h];
                    break;
                }
            if (hit < 0) {
                tab[h] = i;
            } else if (!sn_pass_is_output(n)) {
                sn_pass_replace_uses(g, i, hit);
                g->nodes[i].flags |= SN_IR_NODE_DEAD;
                changed = 1;
            }
        }
        free(tab);
        if (changed)
            sn_ir_graph_compact(g);
    }
    sn_ir_graph_compact(g);
    return SN_OK;
}
