/* ir/ops/reshape.c — RESHAPE: the same row-major values under new dims (ia dims*, at most one
 * -1, inferred). Its ref rule is sn_ir_ref_copy (ops/leaf.c). */
#include "ir/ir_int.h"

sn_status sn_ir_shape_reshape(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                              sn_dtype *dtype, char *err, size_t errlen) {
    (void)dtype;
    const sn_shape *xs = &x[0]->shape;
    const int64_t *ia = n->ia;
    int64_t ne = sn_shape_numel(xs), prod = 1;
    int infer_at = -1;
    char b1[128], b2[128];
    if (n->nia > SN_MAX_DIMS) {
        sn_errf(err, errlen, "reshape: %d dims (at most %d)", (int)n->nia, SN_MAX_DIMS);
        return SN_ERR_INVALID;
    }
    shape->ndim = (int32_t)n->nia;
    for (int i = 0; i < n->nia; i++) {
        if (ia[i] == -1 && infer_at < 0) {
            infer_at = i;
            continue;
        }
        if (ia[i] < 1) {
            sn_errf(err, errlen, "reshape: dim %d is %lld (need >= 1, or one -1)", i,
                    (long long)ia[i]);
            return SN_ERR_INVALID;
        }
        shape->d[i] = ia[i];
        prod *= ia[i];
    }
    if (infer_at >= 0) {
        if (ne % prod != 0) {
            sn_errf(err, errlen, "reshape: cannot infer -1: %lld elements into %lld", (long long)ne,
                    (long long)prod);
            return SN_ERR_INVALID;
        }
        shape->d[infer_at] = ne / prod;
        prod = ne;
    }
    if (prod != ne) {
        sn_errf(err, errlen, "reshape: %s has %lld elements but the new shape %s has %lld",
                SN_SHAPE_STR(xs, b1), (long long)ne, SN_SHAPE_STR(shape, b2), (long long)prod);
        return SN_ERR_INVALID;
    }
    return SN_OK;
}

sn_status sn_ir_vjp_reshape(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                            size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    sn_shape xs = g->nodes[g->nodes[node].in[0]].shape;
    dx[0] = sn_gb_reshape(&b, dy, &xs);
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}
