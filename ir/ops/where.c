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

/* d a = where(cond, dy, 0), d b = where(cond, 0, dy), each summed to its operand's shape; the
 * condition gets none. */
sn_status sn_ir_vjp_where(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                          size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    const sn_ir_node *n = &g->nodes[node];
    int32_t c = n->in[0];
    sn_shape sa = g->nodes[n->in[1]].shape, sb = g->nodes[n->in[2]].shape;
    int32_t z = sn_gb_scalar(&b, 0.0);
    int32_t wa[3] = {c, dy, z}, wb[3] = {c, z, dy};
    dx[0] = -1;
    dx[1] = sn_gb_unbroadcast(&b, sn_gb_op(&b, SN_OP_WHERE, wa, 3, NULL, 0, NULL, 0), &sa);
    dx[2] = sn_gb_unbroadcast(&b, sn_gb_op(&b, SN_OP_WHERE, wb, 3, NULL, 0, NULL, 0), &sb);
    return dx[1] < 0 || dx[2] < 0 ? SN_ERR_INVALID : SN_OK;
}
