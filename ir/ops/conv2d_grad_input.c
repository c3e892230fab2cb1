/* ir/ops/conv2d_grad_input.c — CONV2D_GRAD_INPUT: the gradient of conv2d's input x from the
 * gradient of its output dy[N,O,OH,OW] and the weight w[O,C/g,KH,KW]. ia: conv2d's own
 * attributes (stride_h stride_w pad_h pad_w dil_h dil_w groups), then in_h in_w: x's height
 * and width, which OH and the stride alone do not determine. The result is x's shape
 * [N, C, in_h, in_w], C = w's C/g times groups:
 *     dx[n, g*C/g + c, iy, ix] = Σ dy[n, o, oy, ox] * w[o, c, kh, kw]
 * over the outputs o of group g and the (oy, ox, kh, kw) with iy = oy*sh - ph + kh*dh,
 * ix = ox*sw - pw + kw*dw (a transposed convolution). Accumulates in double. */
#include "ir/ir_int.h"

#include <stdlib.h>

sn_status sn_ir_shape_conv2d_grad_input(const sn_ir_node *n, const sn_ir_node *const *x,
                                        sn_shape *shape, sn_dtype *dtype, char *err,
                                        size_t errlen) {
    const char *opn = "conv2d_grad_input";
    const sn_shape *dys = &x[0]->shape, *ws = &x[1]->shape;
    char b1[128], b2[128];
    if (dys->ndim != 4 || ws->ndim != 4) {
        sn_errf(err, errlen, "%s: dy %s and weight %s must both be 4-D (NCHW, OIHW)", opn,
                SN_SHAPE_STR(dys, b1), SN_SHAPE_STR(ws, b2));
        return SN_ERR_INVALID;
    }
    if (dys->d[1] != ws->d[0]) {
        sn_errf(err, errlen, "%s: dy has %lld channels but weight has %lld outputs", opn,
                (long long)dys->d[1], (long long)ws->d[0]);
        return SN_ERR_INVALID;
    }
    if (n->ia[7] < 1 || n->ia[8] < 1) {
        sn_errf(err, errlen, "%s: in_h %lld in_w %lld must be >= 1", opn, (long long)n->ia[7],
                (long long)n->ia[8]);
        return SN_ERR_INVALID;
    }
    sn_shape xs = {4, {dys->d[0], ws->d[1] * (n->ia[6] > 0 ? n->ia[6] : 1), n->ia[7], n->ia[8]}};
    if (!sn_ir_conv2d_grad_shape(n->ia, &xs, ws, dys, opn, err, errlen) ||
        !sn_ir_binary_dtype(x[0], x[1], dtype, opn, err, errlen))
        return SN_ERR_INVALID;
    *shape = xs;
    return SN_OK;
}

sn_status sn_ir_ref_conv2d_grad_input(const sn_ir_ref_args *r) {
    const sn_shape *dys = r->xs[0], *ws = r->xs[1], *xs = &r->n->shape;
    const int64_t *ia = r->n->ia;
    int64_t N = xs->d[0], C = xs->d[1], H = xs->d[2], W = xs->d[3];
    int64_t O = ws->d[0], Cg = ws->d[1], KH = ws->d[2], KW = ws->d[3];
    int64_t OH = dys->d[2], OW = dys->d[3];
    int64_t sh = ia[0], sw = ia[1], ph = ia[2], pw = ia[3], dh = ia[4], dw = ia[5];
    int64_t Og = O / ia[6], ne = N * C * H * W;
    double *acc = calloc((size_t)ne, sizeof *acc);
    if (!acc)
        return SN_ERR_NOMEM;
    for (int64_t n = 0; n < N; n++)
        for (int64_t oc = 0; oc < O; oc++) {
            const float *dy = r->x[0] + (n * O + oc) * OH * OW;
            for (int64_t ic = 0; ic < Cg; ic++) {
                double *dx = acc + (n * C + (oc / Og) * Cg + ic) * H * W;
                const float *wk = r->x[1] + (oc * Cg + ic) * KH * KW;
                for (int64_t kh = 0; kh < KH; kh++)
                    for (int64_t kw = 0; kw < KW; kw++) {
                        double wv = wk[kh * KW + kw];
                        for (int64_t oy = 0; oy < OH; oy++) {
                            int64_t iy = oy * sh - ph + kh * dh;
                            if (iy < 0 || iy >= H)
                                continue;
                            for (int64_t ox = 0; ox < OW; ox++) {
                                int64_t ix = ox * sw - pw + kw * dw;
                                if (ix >= 0 && ix < W)
                                    dx[iy * W + ix] += wv * dy[oy * OW + ox];
                            }
                        }
                    }
            }
        }
    for (int64_t e = 0; e < ne; e++)
        r->y[e] = (float)acc[e];
    free(acc);
    return SN_OK;
}
