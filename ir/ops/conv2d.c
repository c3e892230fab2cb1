/* ir/ops/conv2d.c — CONV2D: x[N,C,H,W] * w[O,C/g,KH,KW] (+ bias[O]), zero padding, groups.
 * The geometry checks (sn_ir_conv2d_shape, sn_ir_conv2d_grad_shape) are shared with the
 * convolution's gradient ops. */
#include "ir/ir_int.h"

#include <stdlib.h>

int sn_ir_conv2d_shape(const int64_t *ia, const sn_shape *xs, const sn_shape *ws, sn_shape *out,
                       const char *opn, char *err, size_t errlen) {
    char b1[128], b2[128];
    if (xs->ndim != 4 || ws->ndim != 4) {
        sn_errf(err, errlen, "%s: input %s and weight %s must both be 4-D (NCHW, OIHW)", opn,
                SN_SHAPE_STR(xs, b1), SN_SHAPE_STR(ws, b2));
        return 0;
    }
    int64_t sh = ia[0], sw = ia[1], ph = ia[2], pw = ia[3], dh = ia[4], dw = ia[5], gr = ia[6];
    if (sh < 1 || sw < 1 || ph < 0 || pw < 0 || dh < 1 || dw < 1 || gr < 1) {
        sn_errf(err, errlen,
                "%s: bad attributes stride %lldx%lld pad %lldx%lld dilation %lldx%lld "
                "groups %lld (need stride, dilation, groups >= 1, pad >= 0)",
                opn, (long long)sh, (long long)sw, (long long)ph, (long long)pw, (long long)dh,
                (long long)dw, (long long)gr);
        return 0;
    }
    int64_t C = xs->d[1], O = ws->d[0];
    if (C % gr != 0 || O % gr != 0) {
        sn_errf(err, errlen,
                "%s: groups %lld must divide input channels %lld and output channels %lld", opn,
                (long long)gr, (long long)C, (long long)O);
        return 0;
    }
    if (ws->d[1] * gr != C) {
        sn_errf(err, errlen, "%s: input has %lld channels but weight expects %lld (groups %lld)",
                opn, (long long)C, (long long)(ws->d[1] * gr), (long long)gr);
        return 0;
    }
    int64_t oh = (xs->d[2] + 2 * ph - dh * (ws->d[2] - 1) - 1);
    int64_t ow = (xs->d[3] + 2 * pw - dw * (ws->d[3] - 1) - 1);
    if (oh < 0 || ow < 0) {
        sn_errf(err, errlen,
                "%s: kernel %lldx%lld (dilation %lldx%lld) is larger than the padded input "
                "%lldx%lld",
                opn, (long long)ws->d[2], (long long)ws->d[3], (long long)dh, (long long)dw,
                (long long)(xs->d[2] + 2 * ph), (long long)(xs->d[3] + 2 * pw));
        return 0;
    }
    out->ndim = 4;
    out->d[0] = xs->d[0];
    out->d[1] = O;
    out->d[2] = oh / sh + 1;
    out->d[3] = ow / sw + 1;
    return 1;
}

int sn_ir_conv2d_grad_shape(const int64_t *ia, const sn_shape *xs, const sn_shape *ws,
                            const sn_shape *dys, const char *opn, char *err, size_t errlen) {
    sn_shape ys;
    if (!sn_ir_conv2d_shape(ia, xs, ws, &ys, opn, err, errlen))
        return 0;
    if (!sn_shape_eq(&ys, dys)) {
        char b1[128], b2[128], b3[128], b4[128];
        sn_errf(err, errlen, "%s: dy has shape %s but conv2d of %s with weight %s gives %s", opn,
                SN_SHAPE_STR(dys, b1), SN_SHAPE_STR(xs, b2), SN_SHAPE_STR(ws, b3),
                SN_SHAPE_STR(&ys, b4));
        return 0;
    }
    return 1;
}

sn_status sn_ir_shape_conv2d(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                             sn_dtype *dtype, char *err, size_t errlen) {
    if (!sn_ir_conv2d_shape(n->ia, &x[0]->shape, &x[1]->shape, shape, "conv2d", err, errlen))
        return SN_ERR_INVALID;
    if (n->nin == 3) {
        const sn_shape *bs = &x[2]->shape;
        if (bs->ndim != 1 || bs->d[0] != shape->d[1]) {
            char b1[128];
            sn_errf(err, errlen, "conv2d: bias has shape %s but weight has %lld outputs",
                    SN_SHAPE_STR(bs, b1), (long long)shape->d[1]);
            return SN_ERR_INVALID;
        }
    }
    for (int i = 1; i < n->nin; i++)
        if (x[i]->dtype != *dtype) {
            sn_errf(err, errlen, "conv2d: %s dtype %s differs from input dtype %s",
                    i == 1 ? "weight" : "bias", sn_dtype_name(x[i]->dtype), sn_dtype_name(*dtype));
            return SN_ERR_INVALID;
        }
    return SN_OK;
}

/* Accumulates one output row in a double buffer per (channel, kh, kw), so the innermost loop
 * walks contiguous memory. */
sn_status sn_ir_ref_conv2d(const sn_ir_ref_args *r) {
    const sn_shape *xs = r->xs[0], *ws = r->xs[1], *ys = &r->n->shape;
    const int64_t *ia = r->n->ia;
    int64_t N = xs->d[0], C = xs->d[1], H = xs->d[2], W = xs->d[3];
    int64_t O = ws->d[0], Cg = ws->d[1], KH = ws->d[2], KW = ws->d[3];
    int64_t OH = ys->d[2], OW = ys->d[3];
    int64_t sh = ia[0], sw = ia[1], ph = ia[2], pw = ia[3], dh = ia[4], dw = ia[5], G = ia[6];
    int64_t Og = O / G;
    const float *X = r->x[0], *Wt = r->x[1], *B = r->n->nin > 2 ? r->x[2] : NULL;
    double *acc = malloc((size_t)OW * sizeof *acc);
    if (!acc)
        return SN_ERR_NOMEM;
    for (int64_t n = 0; n < N; n++)
        for (int64_t oc = 0; oc < O; oc++) {
            int64_t gi = oc / Og;
            float *yplane = r->y + (n * O + oc) * OH * OW;
            for (int64_t oy = 0; oy < OH; oy++) {
                for (int64_t ox = 0; ox < OW; ox++)
                    acc[ox] = 0.0;
                for (int64_t ic = 0; ic < Cg; ic++) {
                    const float *xplane = X + (n * C + gi * Cg + ic) * H * W;
                    const float *wk = Wt + (oc * Cg + ic) * KH * KW;
                    for (int64_t kh = 0; kh < KH; kh++) {
                        int64_t iy = oy * sh - ph + kh * dh;
                        if (iy < 0 || iy >= H)
                            continue;
                        const float *xrow = xplane + iy * W;
                        for (int64_t kw = 0; kw < KW; kw++) {
                            double wv = wk[kh * KW + kw];
                            int64_t off = kw * dw - pw; /* ix = ox * sw + off */
                            int64_t lo = off < 0 ? (-off + sw - 1) / sw : 0;
                            int64_t hi = W - 1 - off < 0 ? -1 : (W - 1 - off) / sw;
                            if (hi > OW - 1)
                                hi = OW - 1;
                            if (sw == 1) {
                                const float *xr = xrow + off;
                                for (int64_t ox = lo; ox <= hi; ox++)
                                    acc[ox] += wv * xr[ox];
                            } else {
                                for (int64_t ox = lo; ox <= hi; ox++)
                                    acc[ox] += wv * xrow[ox * sw + off];
                            }
                        }
                    }
                }
                double bv = B ? B[oc] : 0.0;
                float *yrow = yplane + oy * OW;
                for (int64_t ox = 0; ox < OW; ox++)
                    yrow[ox] = (float)(acc[ox] + bv);
            }
        }
    free(acc);
    return SN_OK;
}

/* dx: conv2d_grad_input(dy, w); dw: conv2d_grad_weight(x, dy); dbias: dy summed over N, H, W. */
sn_status sn_ir_vjp_conv2d(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                           size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    const sn_ir_node n = g->nodes[node];
    sn_shape xs = g->nodes[n.in[0]].shape, ws = g->nodes[n.in[1]].shape;
    int64_t ia[9];
    for (int k = 0; k < 7; k++)
        ia[k] = n.ia[k];
    int32_t gi[2] = {dy, n.in[1]}, gw[2] = {n.in[0], dy};
    ia[7] = xs.d[2];
    ia[8] = xs.d[3];
    dx[0] = sn_gb_op(&b, SN_OP_CONV2D_GRAD_INPUT, gi, 2, ia, 9, NULL, 0);
    ia[7] = ws.d[2];
    ia[8] = ws.d[3];
    dx[1] = sn_gb_op(&b, SN_OP_CONV2D_GRAD_WEIGHT, gw, 2, ia, 9, NULL, 0);
    if (n.nin == 3) {
        sn_shape bs = g->nodes[n.in[2]].shape;
        dx[2] = sn_gb_reshape(&b, sn_gb_sum(&b, sn_gb_sum(&b, sn_gb_sum(&b, dy, 0), 2), 3), &bs);
    }
    return dx[0] < 0 || dx[1] < 0 || (n.nin == 3 && dx[2] < 0) ? SN_ERR_INVALID : SN_OK;
}
