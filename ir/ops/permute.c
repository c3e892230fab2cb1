/* ir/ops/permute.c — PERMUTE: out dim k is input dim perm[k] (ia perm*). */
#include "ir/ir_int.h"

sn_status sn_ir_shape_permute(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                              sn_dtype *dtype, char *err, size_t errlen) {
    (void)dtype;
    const sn_shape *xs = &x[0]->shape;
    const int64_t *ia = n->ia;
    if (n->nia != xs->ndim) {
        char b1[128];
        sn_errf(err, errlen, "permute: perm has %d entries but the input %s has rank %d",
                (int)n->nia, SN_SHAPE_STR(xs, b1), (int)xs->ndim);
        return SN_ERR_INVALID;
    }
    int seen[SN_MAX_DIMS] = {0};
    shape->ndim = xs->ndim;
    for (int i = 0; i < n->nia; i++) {
        if (ia[i] < 0 || ia[i] >= xs->ndim || seen[ia[i]]) {
            sn_errf(err, errlen, "permute: perm is not a permutation of 0..%d", (int)xs->ndim - 1);
            return SN_ERR_INVALID;
        }
        seen[ia[i]] = 1;
        shape->d[i] = xs->d[ia[i]];
    }
    return SN_OK;
}

sn_status sn_ir_ref_permute(const sn_ir_ref_args *r) {
    const sn_shape *xs = r->xs[0], *ys = &r->n->shape;
    int R = ys->ndim;
    int64_t ne = sn_shape_numel(ys);
    if (R == 0) {
        r->y[0] = r->x[0][0];
        return SN_OK;
    }
    int64_t xst[SN_MAX_DIMS], pst[SN_MAX_DIMS], idx[SN_MAX_DIMS] = {0};
    int64_t acc = 1;
    for (int k = R - 1; k >= 0; k--) {
        xst[k] = acc;
        acc *= xs->d[k];
    }
    for (int k = 0; k < R; k++)
        pst[k] = xst[r->n->ia[k]]; /* out dim k walks input dim perm[k] */
    int64_t inner = ys->d[R - 1], outer = ne / inner, is = pst[R - 1];
    float *y = r->y;
    for (int64_t o = 0; o < outer; o++) {
        int64_t off = 0;
        for (int k = 0; k < R - 1; k++)
            off += idx[k] * pst[k];
        for (int64_t i = 0; i < inner; i++)
            y[i] = r->x[0][off + i * is];
        y += inner;
        for (int k = R - 2; k >= 0; k--) {
            if (++idx[k] < ys->d[k])
                break;
            idx[k] = 0;
        }
    }
    return SN_OK;
}

/* the inverse permutation */
sn_status sn_ir_vjp_permute(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                            size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    const sn_ir_node *n = &g->nodes[node];
    int64_t inv[SN_IR_MAX_IA];
    for (int k = 0; k < n->nia; k++)
        inv[n->ia[k]] = k;
    dx[0] = sn_gb_permute(&b, dy, inv, n->nia);
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}
