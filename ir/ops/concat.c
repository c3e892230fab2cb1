/* ir/ops/concat.c — CONCAT: n inputs joined along ia[0]; all other dims and dtypes equal. */
#include "ir/ir_int.h"

#include <string.h>

sn_status sn_ir_shape_concat(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                             sn_dtype *dtype, char *err, size_t errlen) {
    const sn_shape *xs = &x[0]->shape;
    int64_t ax = n->ia[0];
    char b1[128], b2[128];
    if (ax < 0 || ax >= xs->ndim) {
        sn_errf(err, errlen, "concat: axis %lld out of range for rank %d", (long long)ax,
                (int)xs->ndim);
        return SN_ERR_INVALID;
    }
    *shape = *xs;
    for (int i = 1; i < n->nin; i++) {
        const sn_shape *o = &x[i]->shape;
        int bad = o->ndim != xs->ndim;
        for (int k = 0; !bad && k < xs->ndim; k++)
            if (k != ax && o->d[k] != xs->d[k])
                bad = 1;
        if (bad) {
            sn_errf(err, errlen,
                    "concat: input %d has shape %s, incompatible with input 0 %s (axis %lld)", i,
                    SN_SHAPE_STR(o, b1), SN_SHAPE_STR(xs, b2), (long long)ax);
            return SN_ERR_INVALID;
        }
        if (x[i]->dtype != *dtype) {
            sn_errf(err, errlen, "concat: input %d has dtype %s, input 0 has %s", i,
                    sn_dtype_name(x[i]->dtype), sn_dtype_name(*dtype));
            return SN_ERR_INVALID;
        }
        shape->d[ax] += o->d[ax];
    }
    return SN_OK;
}

sn_status sn_ir_ref_concat(const sn_ir_ref_args *r) {
    const sn_shape *ys = &r->n->shape;
    int64_t ax = r->n->ia[0], outer = 1, inner = 1;
    for (int k = 0; k < ax; k++)
        outer *= ys->d[k];
    for (int k = (int)ax + 1; k < ys->ndim; k++)
        inner *= ys->d[k];
    float *y = r->y;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < r->n->nin; i++) {
            int64_t blk = r->xs[i]->d[ax] * inner;
            memcpy(y, r->x[i] + o * blk, (size_t)blk * sizeof *y);
            y += blk;
        }
    return SN_OK;
}

/* Each input's gradient is its slice of dy: a view, no copy. */
sn_status sn_ir_vjp_concat(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                           size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    int nin = g->nodes[node].nin;
    int axis = (int)g->nodes[node].ia[0];
    int64_t at = 0;
    for (int i = 0; i < nin; i++) {
        int64_t len = g->nodes[g->nodes[node].in[i]].shape.d[axis];
        dx[i] = sn_gb_slice(&b, dy, axis, at, at + len);
        if (dx[i] < 0)
            return SN_ERR_INVALID;
        at += len;
    }
    return SN_OK;
}
