/* ir/verify.c — the IR verifier: checks the numbered invariants listed in ir.h.
 *
 * Runs after every pass in debug builds and tests. DEAD nodes are skipped entirely (their
 * inputs and shapes may be stale); every other check is about live nodes. The first broken
 * invariant is reported as "after pass <after>: node %N (<op>): <what> [invariant K]".
 */
#include "ir/ir_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct vctx {
    const sn_ir_graph *g;
    const char *after;
    char *err;
    size_t errlen;
} vctx;

static sn_status fail_node(const vctx *v, int32_t i, int inv, const char *what) {
    const sn_ir_node *n = &v->g->nodes[i];
    const char *opn = (unsigned)n->op < SN_OP_COUNT ? sn_ir_op_info[n->op].name : "?";
    if (v->after)
        sn_errf(v->err, v->errlen, "after pass %s: node %%%d (%s): %s [invariant %d]", v->after,
                (int)i, opn, what, inv);
    else
        sn_errf(v->err, v->errlen, "node %%%d (%s): %s [invariant %d]", (int)i, opn, what, inv);
    return SN_ERR_INVALID;
}

static sn_status fail_graph(const vctx *v, int inv, const char *what) {
    if (v->after)
        sn_errf(v->err, v->errlen, "after pass %s: %s [invariant %d]", v->after, what, inv);
    else
        sn_errf(v->err, v->errlen, "%s [invariant %d]", what, inv);
    return SN_ERR_INVALID;
}

static int live(const sn_ir_graph *g, int32_t i) {
    return i >= 0 && i < g->nnodes && !(g->nodes[i].flags & SN_IR_NODE_DEAD);
}

typedef struct pname {
    const char *name;
    int32_t node;
} pname;

static int cmp_pname(const void *a, const void *b) {
    const pname *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->node < y->node ? -1 : x->node > y->node;
}

sn_status sn_ir_verify(const sn_ir_graph *g, const char *after, char *err, size_t errlen) {
    vctx v = {g, after, err, errlen};
    char msg[512], b1[128], b2[128];

    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->flags & SN_IR_NODE_DEAD)
            continue;
        if ((unsigned)n->op >= SN_OP_COUNT)
            return fail_node(&v, i, 2, "unknown op");
        const sn_op_info *info = &sn_ir_op_info[n->op];
        /* 6: rank and dims (checked first: the other checks read shapes) */
        if (n->shape.ndim < 0 || n->shape.ndim > SN_MAX_DIMS) {
            snprintf(msg, sizeof msg, "rank %d is outside 0..%d", (int)n->shape.ndim, SN_MAX_DIMS);
            return fail_node(&v, i, 6, msg);
        }
        for (int k = 0; k < n->shape.ndim; k++)
            if (n->shape.d[k] < 1) {
                snprintf(msg, sizeof msg, "shape %s has a dimension < 1",
                         sn_shape_str(&n->shape, b1, sizeof b1));
                return fail_node(&v, i, 6, msg);
            }
        /* 2: arity */
        if (n->nin < info->min_inputs || n->nin > info->max_inputs) {
            snprintf(msg, sizeof msg, "has %d inputs; the op takes %d to %d", (int)n->nin,
                     info->min_inputs, info->max_inputs);
            return fail_node(&v, i, 2, msg);
        }
        /* 1: inputs are live and earlier */
        for (int j = 0; j < n->nin; j++) {
            int32_t p = n->in[j];
            if (p < 0 || p >= i) {
                snprintf(msg, sizeof msg, "input %d is %%%d, not an earlier node", j, (int)p);
                return fail_node(&v, i, 1, msg);
            }
            if (!live(g, p)) {
                snprintf(msg, sizeof msg, "input %d is %%%d, which is dead", j, (int)p);
                return fail_node(&v, i, 1, msg);
            }
        }
    }

    /* 3: shapes and dtypes equal inference (inputs are known valid now) */
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->flags & SN_IR_NODE_DEAD)
            continue;
        sn_shape s;
        sn_dtype t;
        char ierr[400];
        if (sn_ir_infer_node(g, n, &s, &t, ierr, sizeof ierr) != SN_OK)
            return fail_node(&v, i, 3, ierr);
        if (!sn_shape_eq(&s, &n->shape) || t != n->dtype) {
            snprintf(msg, sizeof msg, "has type %s%s but its inputs and attributes give %s%s",
                     sn_dtype_name(n->dtype), sn_shape_str(&n->shape, b1, sizeof b1),
                     sn_dtype_name(t), sn_shape_str(&s, b2, sizeof b2));
            return fail_node(&v, i, 3, msg);
        }
    }

    /* 4: PARAM names non-empty and unique */
    pname *params = malloc((size_t)(g->nnodes ? g->nnodes : 1) * sizeof *params);
    if (!params) {
        sn_errf(err, errlen, "verify: out of memory");
        return SN_ERR_NOMEM;
    }
    int32_t np = 0;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->op != SN_OP_PARAM || (n->flags & SN_IR_NODE_DEAD))
            continue;
        if (n->name == 0 || !*sn_ir_str_get(g, n->name)) {
            free(params);
            return fail_node(&v, i, 4, "PARAM has no name");
        }
        params[np].name = sn_ir_str_get(g, n->name);
        params[np++].node = i;
    }
    qsort(params, (size_t)np, sizeof *params, cmp_pname);
    for (int32_t k = 1; k < np; k++)
        if (strcmp(params[k - 1].name, params[k].name) == 0) {
            snprintf(msg, sizeof msg, "PARAM name \"%s\" is also used by %%%d", params[k].name,
                     (int)params[k - 1].node);
            int32_t at = params[k].node;
            free(params);
            return fail_node(&v, at, 4, msg);
        }
    free(params);

    /* 5: INPUT nodes are exactly graph->inputs; outputs are live */
    for (int32_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i].op == SN_OP_INPUT && !(g->nodes[i].flags & SN_IR_NODE_DEAD)) {
            int32_t count = 0;
            for (int32_t k = 0; k < g->ninputs; k++)
                count += g->inputs[k] == i;
            if (count != 1) {
                snprintf(msg, sizeof msg, "INPUT node appears %d times in graph->inputs",
                         (int)count);
                return fail_node(&v, i, 5, msg);
            }
        }
    for (int32_t k = 0; k < g->ninputs; k++) {
        int32_t p = g->inputs[k];
        if (!live(g, p) || g->nodes[p].op != SN_OP_INPUT) {
            snprintf(msg, sizeof msg, "graph input %d is %%%d, not a live INPUT node", (int)k,
                     (int)p);
            return fail_graph(&v, 5, msg);
        }
    }
    for (int32_t k = 0; k < g->noutputs; k++)
        if (!live(g, g->outputs[k])) {
            snprintf(msg, sizeof msg, "graph output %d is %%%d, not a live node", (int)k,
                     (int)g->outputs[k]);
            return fail_graph(&v, 5, msg);
        }
    return SN_OK;
}
