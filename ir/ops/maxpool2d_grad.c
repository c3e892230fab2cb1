/* ir/ops/maxpool2d_grad.c — MAXPOOL2D_GRAD: the gradient of maxpool2d's input from the input
 * x[N,C,H,W] and the gradient of its output dy (maxpool2d(x)'s shape); ia: maxpool2d's own
 * (k stride pad). Each window's dy goes to the element its max came from, as torch's CPU
 * kernel picks it: scanning the window row by row, the first element greater than all before
 * it (so of equal maxima the first gets the gradient), or the last NaN; a window of -Inf
 * only gives it to its first element. Windows overlap when stride < k: contributions add
 * (in double). The result has x's shape. */
#include "ir/ir_int.h"

#include <math.h>
#include <stdlib.h>

sn_status sn_ir_shape_maxpool2d_grad(const sn_ir_node *n, const sn_ir_node *const *x,
                                     sn_shape *shape, sn_dtype *dtype, char *err, size_t errlen) {
    const char *opn = "maxpool2d_grad";
    sn_shape ys;
    char b1[128], b2[128];
    if (!sn_ir_maxpool2d_shape(n->ia, &x[0]->shape, &ys, opn, err, errlen))
        return SN_ERR_INVALID;
    if (!sn_shape_eq(&ys, &x[1]->shape)) {
        sn_errf(err, errlen, "%s: dy has shape %s but maxpool2d of the input gives %s", opn,
                SN_SHAPE_STR(&x[1]->shape, b1), SN_SHAPE_STR(&ys, b2));
        return SN_ERR_INVALID;
    }
    if (!sn_ir_binary_dtype(x[0], x[1], dtype, opn, err, errlen))
        return SN_ERR_INVALID;
    *shape = x[0]->shape;
    return SN_OK;
}

int64_t sn_ir_maxpool_argmax(const float *x, int64_t sy, int64_t sx, int64_t H, int64_t W,
                             int64_t k, int64_t st, int64_t pd, int64_t oy, int64_t ox) {
    int64_t y0 = oy * st - pd, x0 = ox * st - pd;
    int64_t y1 = y0 + k < H ? y0 + k : H, x1 = x0 + k < W ? x0 + k : W;
    y0 = y0 > 0 ? y0 : 0;
    x0 = x0 > 0 ? x0 : 0;
    int64_t at = y0 * W + x0;
    float m = -INFINITY;
    for (int64_t iy = y0; iy < y1; iy++)
        for (int64_t ix = x0; ix < x1; ix++) {
            float v = x[iy * sy + ix * sx];
            if (v > m || isnan(v)) {
                m = v;
                at = iy * W + ix;
            }
        }
    return at;
}

sn_status sn_ir_ref_maxpool2d_grad(const sn_ir_ref_args *r) {
    const sn_shape *xs = r->xs[0], *ys = r->xs[1];
    int64_t NC = xs->d[0] * xs->d[1], H = xs->d[2], W = xs->d[3], OH = ys->d[2], OW = ys->d[3];
    int64_t k = r->n->ia[0], st = r->n->ia[1], pd = r->n->ia[2];
    double *acc = malloc((size_t)(H * W) * sizeof *acc);
    if (!acc)
        return SN_ERR_NOMEM;
    for (int64_t p = 0; p < NC; p++) {
        const float *xp = r->x[0] + p * H * W, *dy = r->x[1] + p * OH * OW;
        for (int64_t e = 0; e < H * W; e++)
            acc[e] = 0.0;
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                int64_t at = sn_ir_maxpool_argmax(xp, W, 1, H, W, k, st, pd, oy, ox);
                acc[at] += dy[oy * OW + ox];
            }
        for (int64_t e = 0; e < H * W; e++)
            r->y[p * H * W + e] = (float)acc[e];
    }
    free(acc);
    return SN_OK;
}
