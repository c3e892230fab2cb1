/* passes/train/autodiff.c — reverse-mode autodiff over the IR (passes/train.h).
 *
 * One reverse walk from y over the nodes that both depend on a wrt node and reach y. Each
 * node's gradient is the sum of its consumers' contributions (in the order the walk met them:
 * deterministic); then the op's derivative rule turns it into its inputs' contributions. A
 * SLICE's contribution is held back until its input is reached: when all of an input's slice
 * contributions share an axis and do not overlap (a split), they become one concat of their
 * gradients, zeros in the gaps, instead of one zero-padded tensor each. */
#include "passes/passes_int.h"
#include "passes/train.h"

#include <stdlib.h>
#include <string.h>

typedef struct contrib {
    int32_t grad;  /* the gradient node (a SLICE's: the gradient of the slice's output) */
    int32_t slice; /* the SLICE node it came through, or -1 */
} contrib;

typedef struct clist {
    contrib *v;
    int n, cap;
} clist;

static int push(clist *l, int32_t grad, int32_t slice) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 4;
        contrib *v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v)
            return 0;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (contrib){grad, slice};
    return 1;
}

static int by_start(const void *a, const void *b, void *g) {
    const sn_ir_graph *gr = g;
    int64_t sa = gr->nodes[((const contrib *)a)->slice].ia[1];
    int64_t sb = gr->nodes[((const contrib *)b)->slice].ia[1];
    return (sa > sb) - (sa < sb);
}

/* The slice contributions s[0..ns) to node x joined into one gradient of x's shape, when
 * they form a split (same axis, step 1, no overlap), else -1 (the caller differentiates each
 * slice on its own). */
static int32_t join_split(sn_ir_gb *b, int32_t x, contrib *s, int ns) {
    sn_ir_graph *g = b->g;
    int axis = (int)g->nodes[s[0].slice].ia[0];
    for (int i = 0; i < ns; i++)
        if (g->nodes[s[i].slice].ia[0] != axis || g->nodes[s[i].slice].ia[3] != 1)
            return -1;
    /* insertion sort by start (ns is small; qsort_r is not portable C) */
    for (int i = 1; i < ns; i++)
        for (int j = i; j > 0 && by_start(&s[j - 1], &s[j], g) > 0; j--) {
            contrib t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
    sn_shape xs = g->nodes[x].shape;
    int32_t parts[SN_IR_MAX_IN];
    int np = 0;
    int64_t at = 0;
    for (int i = 0; i < ns; i++) {
        int64_t st = g->nodes[s[i].slice].ia[1];
        int64_t len = g->nodes[s[i].slice].shape.d[axis];
        if (st < at)
            return -1; /* overlapping slices: each on its own, then summed */
        if (np + 2 > SN_IR_MAX_IN)
            return -1;
        if (st > at) {
            sn_shape z = xs;
            z.d[axis] = st - at;
            parts[np++] = sn_gb_zeros(b, &z);
        }
        parts[np++] = s[i].grad;
        at = st + len;
    }
    if (at < xs.d[axis]) {
        if (np + 1 > SN_IR_MAX_IN)
            return -1;
        sn_shape z = xs;
        z.d[axis] = xs.d[axis] - at;
        parts[np++] = sn_gb_zeros(b, &z);
    }
    if (np == 1)
        return parts[0];
    int64_t ax = axis;
    return sn_gb_op(b, SN_OP_CONCAT, parts, np, &ax, 1, NULL, 0);
}

/* Node x's gradient: its contributions summed (a split's slices joined first). */
static int32_t gather(sn_ir_gb *b, int32_t x, clist *l) {
    int32_t *sum = malloc(((size_t)l->n + 1) * sizeof *sum);
    contrib *sl = malloc(((size_t)l->n + 1) * sizeof *sl);
    int32_t r = -1;
    if (!sum || !sl) {
        sn_errf(b->err, b->errlen, "autodiff: out of memory");
        goto out;
    }
    int ns = 0, n = 0;
    for (int i = 0; i < l->n; i++) {
        if (l->v[i].slice >= 0)
            sl[ns++] = l->v[i];
        else
            sum[n++] = l->v[i].grad;
    }
    if (ns > 0) {
        int32_t j = join_split(b, x, sl, ns);
        if (j >= 0) {
            sum[n++] = j;
        } else {
            for (int i = 0; i < ns; i++) {
                int32_t dx;
                if (sn_ir_op_info[SN_OP_SLICE].vjp(b->g, sl[i].slice, sl[i].grad, &dx, b->err,
                                                   b->errlen) != SN_OK)
                    goto out;
                sum[n++] = dx;
            }
        }
    }
    r = sn_gb_addn(b, sum, n);
out:
    free(sum);
    free(sl);
    return r;
}

sn_status sn_train_autodiff(sn_ir_graph *g, int32_t y, int32_t seed, const int32_t *wrt, int nwrt,
                            int32_t *grads, char *err, size_t errlen) {
    int32_t n0 = g->nnodes;
    for (int i = 0; i < nwrt; i++)
        grads[i] = -1;
    if (y < 0 || y >= n0 || seed < 0 || seed >= n0)
        return sn_fail(err, errlen, SN_ERR_INVALID, "autodiff: bad node");
    if (!sn_shape_eq(&g->nodes[seed].shape, &g->nodes[y].shape))
        return sn_fail(err, errlen, SN_ERR_INVALID, "autodiff: the seed's shape differs from y's");
    uint8_t *needs = calloc((size_t)n0, 1), *reach = calloc((size_t)n0, 1);
    clist *c = calloc((size_t)n0, sizeof *c);
    sn_status st = SN_ERR_NOMEM;
    if (!needs || !reach || !c) {
        sn_errf(err, errlen, "autodiff: out of memory");
        goto out;
    }
    for (int i = 0; i < nwrt; i++)
        if (wrt[i] >= 0 && wrt[i] < n0)
            needs[wrt[i]] = 1;
    for (int32_t i = 0; i < n0; i++) {
        const sn_ir_node *nd = &g->nodes[i];
        if (!sn_pass_live(nd))
            continue;
        for (int j = 0; j < nd->nin && !needs[i]; j++)
            needs[i] = needs[nd->in[j]];
    }
    reach[y] = 1;
    for (int32_t i = y; i >= 0; i--) {
        const sn_ir_node *nd = &g->nodes[i];
        if (reach[i] && sn_pass_live(nd))
            for (int j = 0; j < nd->nin; j++)
                reach[nd->in[j]] = 1;
    }
    if (!push(&c[y], seed, -1)) {
        sn_errf(err, errlen, "autodiff: out of memory");
        goto out;
    }
    sn_ir_gb b = {g, err, errlen};
    for (int32_t i = y; i >= 0; i--) {
        if (!needs[i] || !reach[i] || c[i].n == 0)
            continue;
        int32_t gi = gather(&b, i, &c[i]);
        if (gi < 0) {
            st = SN_ERR_INVALID;
            goto out;
        }
        for (int k = 0; k < nwrt; k++)
            if (wrt[k] == i)
                grads[k] = gi;
        sn_ir_node nd = g->nodes[i]; /* a copy: the rule appends nodes */
        const sn_op_info *info = &sn_ir_op_info[nd.op];
        if (nd.nin == 0 || !(info->flags & SN_OPF_DIFFERENTIABLE))
            continue; /* a leaf, or piecewise constant: no gradient flows on */
        if (nd.op == SN_OP_SLICE) {
            if (!push(&c[nd.in[0]], gi, i)) {
                sn_errf(err, errlen, "autodiff: out of memory");
                goto out;
            }
            continue;
        }
        int32_t dx[SN_IR_MAX_IN];
        for (int j = 0; j < nd.nin; j++)
            dx[j] = -1;
        int32_t before = g->nnodes;
        st = info->vjp(g, i, gi, dx, err, errlen);
        if (st != SN_OK)
            goto out;
        for (int32_t k = before; k < g->nnodes; k++)
            g->nodes[k].src = g->nodes[i].src;
        for (int j = 0; j < nd.nin; j++)
            if (dx[j] >= 0 && needs[nd.in[j]] && !push(&c[nd.in[j]], dx[j], -1)) {
                sn_errf(err, errlen, "autodiff: out of memory");
                st = SN_ERR_NOMEM;
                goto out;
            }
    }
    st = SN_OK;
out:
    if (c)
        for (int32_t i = 0; i < n0; i++)
            free(c[i].v);
    free(c);
    free(needs);
    free(reach);
    return st;
}
