/* ir/ops/slice.c — SLICE: ia axis start end step along one axis (end exclusive and clamped to
 * the dimension, as in Python). */
#include "ir/ir_int.h"

#include <string.h>

sn_status sn_ir_shape_slice(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                            sn_dtype *dtype, char *err, size_t errlen) {
    (void)dtype;
    const sn_shape *xs = &x[0]->shape;
    const int64_t *ia = n->ia;
    int64_t ax = ia[0], st = ia[1], en = ia[2], sp = ia[3];
    if (ax < 0 || ax >= xs->ndim) {
        sn_errf(err, errlen, "slice: axis %lld out of range for rank %d", (long long)ax,
                (int)xs->ndim);
        return SN_ERR_INVALID;
    }
    if (en > xs->d[ax])
        en = xs->d[ax]; /* end is clamped, as in Python */
    if (st < 0 || sp < 1 || st >= en) {
        sn_errf(err, errlen,
                "slice: start %lld end %lld step %lld select nothing of dim %lld (size %lld); "
                "need 0 <= start < end, step >= 1",
                (long long)st, (long long)ia[2], (long long)sp, (long long)ax,
                (long long)xs->d[ax]);
        return SN_ERR_INVALID;
    }
    *shape = *xs;
    shape->d[ax] = (en - st + sp - 1) / sp;
    return SN_OK;
}

sn_status sn_ir_ref_slice(const sn_ir_ref_args *r) {
    const sn_shape *xs = r->xs[0], *ys = &r->n->shape;
    int64_t ax = r->n->ia[0], st = r->n->ia[1], sp = r->n->ia[3], outer = 1, inner = 1;
    for (int k = 0; k < ax; k++)
        outer *= xs->d[k];
    for (int k = (int)ax + 1; k < xs->ndim; k++)
        inner *= xs->d[k];
    int64_t L = xs->d[ax], M = ys->d[ax];
    float *y = r->y;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < M; j++) {
            memcpy(y, r->x[0] + (o * L + st + j * sp) * inner, (size_t)inner * sizeof *y);
            y += inner;
        }
    return SN_OK;
}
