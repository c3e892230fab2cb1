/* ir/ops/where.c — WHERE: in cond, a, b, numpy-broadcast together; out = cond != 0 ? a : b
 * (a NaN cond counts as true: it is not 0). a and b follow the binary ops' dtype rule (equal,
 * or a rank-0 scalar adopts the other's) and give the result's; cond may have any dtype. */
#include "ir/ir_int.h"

sn_status sn_ir_shape_where(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                            sn_dtype *dtype, char *err, size_t errlen) {
    (void)n;
    sn_shape ab;
    if (!sn_ir_broadcast(&x[1]->shape, &x[2]->shape, &ab, "where", err, errlen) ||
        !sn_ir_broadcast(&x[0]->shape, &ab, shape, "where", err, errlen) ||
        !sn_ir_binary_dtype(x[1], x[2], dtype, "where", err, errlen))
        return SN_ERR_INVALID;
    return SN_OK;
}

sn_status sn_ir_ref_where(const sn_ir_ref_args *r) {
    const sn_shape *ys = &r->n->shape;
    int R = ys->ndim;
    int64_t st[3][SN_MAX_DIMS], idx[SN_MAX_DIMS] = {0}, ne = sn_shape_numel(ys);
    for (int k = 0; k < 3; k++)
        sn_ir_bcast_strides(r->xs[k], R, st[k]);
    for (int64_t e = 0; e < ne; e++) {
        int64_t off[3] = {0, 0, 0};
        for (int k = 0; k < 3; k++)
            for (int d = 0; d < R; d++)
                off[k] += idx[d] * st[k][d];
        r->y[e] = r->x[0][off[0]] != 0.0f ? r->x[1][off[1]] : r->x[2][off[2]];
        for (int d = R - 1; d >= 0; d--) { /* advance the index, last dim fastest */
            if (++idx[d] < ys->d[d])
                break;
            idx[d] = 0;
        }
    }
    return SN_OK;
}
