/* ir/ops/conv2d_grad_weight.c — CONV2D_GRAD_WEIGHT: the gradient of conv2d's weight from its
 * input x[N,C,H,W] and the gradient of its output dy[N,O,OH,OW]. ia: conv2d's own attributes
 * (stride_h stride_w pad_h pad_w dil_h dil_w groups), then kh kw: the kernel size, which the
 * shapes alone do not determine. The result is the weight's shape [O, C/g, kh, kw]:
 *     dw[o, c, kh, kw] = Σ dy[n, o, oy, ox] * x[n, g*C/g + c, oy*sh - ph + kh*dh,
 *                                              ox*sw - pw + kw*dw]
 * over n, oy, ox (zero outside x), g = o's group. Accumulates in double. */
#include "ir/ir_int.h"

sn_status sn_ir_shape_conv2d_grad_weight(const sn_ir_node *n, const sn_ir_node *const *x,
                                         sn_shape *shape, sn_dtype *dtype, char *err,
                                         size_t errlen) {
    const char *opn = "conv2d_grad_weight";
    const sn_shape *xs = &x[0]->shape, *dys = &x[1]->shape;
    char b1[128], b2[128];
    if (xs->ndim != 4 || dys->ndim != 4) {
        sn_errf(err, errlen, "%s: input %s and dy %s must both be 4-D (NCHW)", opn,
                SN_SHAPE_STR(xs, b1), SN_SHAPE_STR(dys, b2));
        return SN_ERR_INVALID;
    }
    if (n->ia[7] < 1 || n->ia[8] < 1) {
        sn_errf(err, errlen, "%s: kh %lld kw %lld must be >= 1", opn, (long long)n->ia[7],
                (long long)n->ia[8]);
        return SN_ERR_INVALID;
    }
    int64_t groups = n->ia[6] > 0 ? n->ia[6] : 1;
    sn_shape ws = {4, {dys->d[1], xs->d[1] / groups, n->ia[7], n->ia[8]}};
    if (!sn_ir_conv2d_grad_shape(n->ia, xs, &ws, dys, opn, err, errlen) ||
        !sn_ir_binary_dtype(x[0], x[1], dtype, opn, err, errlen))
        return SN_ERR_INVALID;
    *shape = ws;
    return SN_OK;
}

sn_status sn_ir_ref_conv2d_grad_weight(const sn_ir_ref_args *r) {
    const sn_shape *xs = r->xs[0], *dys = r->xs[1], *ws = &r->n->shape;
    const int64_t *ia = r->n->ia;
    int64_t N = xs->d[0], C = xs->d[1], H = xs->d[2], W = xs->d[3];
    int64_t O = ws->d[0], Cg = ws->d[1], KH = ws->d[2], KW = ws->d[3];
    int64_t OH = dys->d[2], OW = dys->d[3];
    int64_t sh = ia[0], sw = ia[1], ph = ia[2], pw = ia[3], dh = ia[4], dw = ia[5];
    int64_t Og = O / ia[6];
    for (int64_t oc = 0; oc < O; oc++)
        for (int64_t ic = 0; ic < Cg; ic++)
            for (int64_t kh = 0; kh < KH; kh++)
                for (int64_t kw = 0; kw < KW; kw++) {
                    double s = 0.0;
                    for (int64_t n = 0; n < N; n++) {
                        const float *dy = r->x[1] + (n * O + oc) * OH * OW;
                        const float *xp = r->x[0] + (n * C + (oc / Og) * Cg + ic) * H * W;
                        for (int64_t oy = 0; oy < OH; oy++) {
                            int64_t iy = oy * sh - ph + kh * dh;
                            if (iy < 0 || iy >= H)
                                continue;
                            for (int64_t ox = 0; ox < OW; ox++) {
                                int64_t ix = ox * sw - pw + kw * dw;
                                if (ix >= 0 && ix < W)
                                    s += (double)dy[oy * OW + ox] * xp[iy * W + ix];
                            }
                        }
                    }
                    r->y[((oc * Cg + ic) * KH + kh) * KW + kw] = (float)s;
                }
    return SN_OK;
}
