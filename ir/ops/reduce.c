/* ir/ops/reduce.c — the ops that reduce along one axis (ia[0]): SOFTMAX (same shape) and
 * REDUCE_SUM (the axis kept as size 1). Both accumulate in double. Softmax ignores NaN in its
 * max, but a NaN (or, through x - max, a +Inf) makes its row NaN. */
#include "ir/ir_int.h"

#include <math.h>

sn_status sn_ir_shape_softmax(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                              sn_dtype *dtype, char *err, size_t errlen) {
    (void)dtype;
    const sn_shape *xs = &x[0]->shape;
    if (n->ia[0] < 0 || n->ia[0] >= xs->ndim) {
        sn_errf(err, errlen, "%s: axis %lld out of range for rank %d", sn_ir_op_info[n->op].name,
                (long long)n->ia[0], (int)xs->ndim);
        return SN_ERR_INVALID;
    }
    *shape = *xs;
    return SN_OK;
}

sn_status sn_ir_shape_reduce_sum(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                                 sn_dtype *dtype, char *err, size_t errlen) {
    sn_status st = sn_ir_shape_softmax(n, x, shape, dtype, err, errlen);
    if (st == SN_OK)
        shape->d[n->ia[0]] = 1;
    return st;
}

/* outer × L × inner view around `axis` */
static void axis_split(const sn_shape *s, int64_t axis, int64_t *outer, int64_t *L,
                       int64_t *inner) {
    *outer = 1;
    *inner = 1;
    for (int k = 0; k < axis; k++)
        *outer *= s->d[k];
    for (int k = (int)axis + 1; k < s->ndim; k++)
        *inner *= s->d[k];
    *L = s->d[axis];
}

sn_status sn_ir_ref_softmax(const sn_ir_ref_args *r) {
    int64_t outer, L, inner;
    axis_split(r->xs[0], r->n->ia[0], &outer, &L, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *x = r->x[0] + o * L * inner + i;
            float *y = r->y + o * L * inner + i;
            double m = -INFINITY, sum = 0.0;
            for (int64_t j = 0; j < L; j++)
                if (x[j * inner] > m)
                    m = x[j * inner];
            for (int64_t j = 0; j < L; j++)
                sum += exp((double)x[j * inner] - m);
            for (int64_t j = 0; j < L; j++)
                y[j * inner] = (float)(exp((double)x[j * inner] - m) / sum);
        }
    return SN_OK;
}

sn_status sn_ir_ref_reduce_sum(const sn_ir_ref_args *r) {
    int64_t outer, L, inner;
    axis_split(r->xs[0], r->n->ia[0], &outer, &L, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *x = r->x[0] + o * L * inner + i;
            double sum = 0.0;
            for (int64_t j = 0; j < L; j++)
                sum += x[j * inner];
            r->y[o * inner + i] = (float)sum;
        }
    return SN_OK;
}

/* softmax: dx = y * (dy - sum(dy * y, axis)) */
sn_status sn_ir_vjp_softmax(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                            size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    int axis = (int)g->nodes[node].ia[0];
    int32_t s = sn_gb_sum(&b, sn_gb_bin(&b, SN_OP_MUL, dy, node), axis);
    dx[0] = sn_gb_bin(&b, SN_OP_MUL, node, sn_gb_bin(&b, SN_OP_SUB, dy, s));
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}

/* reduce_sum: dy broadcast back over the axis (added to zeros of the input's shape) */
sn_status sn_ir_vjp_reduce_sum(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                               size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    sn_shape xs = g->nodes[g->nodes[node].in[0]].shape;
    dx[0] = sn_gb_bin(&b, SN_OP_ADD, dy, sn_gb_zeros(&b, &xs));
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}
