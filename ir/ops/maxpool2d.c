/* ir/ops/maxpool2d.c — MAXPOOL2D: ia k stride pad over H and W; padding is -inf (it never
 * wins). NaN propagates (torch's max_pool2d). The geometry check (sn_ir_maxpool2d_shape) is
 * shared with its gradient op. */
#include "ir/ir_int.h"

#include <math.h>

int sn_ir_maxpool2d_shape(const int64_t *ia, const sn_shape *xs, sn_shape *out, const char *opn,
                          char *err, size_t errlen) {
    int64_t k = ia[0], st = ia[1], p = ia[2];
    char b1[128];
    if (xs->ndim != 4) {
        sn_errf(err, errlen, "%s: input %s must be 4-D (NCHW)", opn, SN_SHAPE_STR(xs, b1));
        return 0;
    }
    if (k < 1 || st < 1 || p < 0 || p > k / 2) {
        sn_errf(err, errlen,
                "%s: bad k %lld stride %lld pad %lld (need k, stride >= 1, 0 <= pad <= k/2)", opn,
                (long long)k, (long long)st, (long long)p);
        return 0;
    }
    if (xs->d[2] + 2 * p < k || xs->d[3] + 2 * p < k) {
        sn_errf(err, errlen, "%s: window %lld is larger than the padded input %s", opn,
                (long long)k, SN_SHAPE_STR(xs, b1));
        return 0;
    }
    *out = *xs;
    out->d[2] = (xs->d[2] + 2 * p - k) / st + 1;
    out->d[3] = (xs->d[3] + 2 * p - k) / st + 1;
    return 1;
}

sn_status sn_ir_shape_maxpool2d(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                                sn_dtype *dtype, char *err, size_t errlen) {
    (void)dtype;
    return sn_ir_maxpool2d_shape(n->ia, &x[0]->shape, shape, "maxpool2d", err, errlen)
               ? SN_OK
               : SN_ERR_INVALID;
}

sn_status sn_ir_ref_maxpool2d(const sn_ir_ref_args *r) {
    const sn_shape *xs = r->xs[0], *ys = &r->n->shape;
    int64_t NC = xs->d[0] * xs->d[1], H = xs->d[2], W = xs->d[3], OH = ys->d[2], OW = ys->d[3];
    int64_t k = r->n->ia[0], st = r->n->ia[1], pd = r->n->ia[2];
    for (int64_t p = 0; p < NC; p++) {
        const float *xp = r->x[0] + p * H * W;
        float *yp = r->y + p * OH * OW;
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                float m = -INFINITY;
                for (int64_t ky = 0; ky < k; ky++) {
                    int64_t iy = oy * st - pd + ky;
                    if (iy < 0 || iy >= H)
                        continue;
                    for (int64_t kx = 0; kx < k; kx++) {
                        int64_t ix = ox * st - pd + kx;
                        if (ix < 0 || ix >= W)
                            continue;
                        float v = xp[iy * W + ix];
                        if (v > m || isnan(v))
                            m = v;
                        if (isnan(m))
                            break;
                    }
                }
                yp[oy * OW + ox] = m;
            }
    }
    return SN_OK;
}

sn_status sn_ir_vjp_maxpool2d(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                              size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    const sn_ir_node *n = &g->nodes[node];
    int32_t in[2] = {n->in[0], dy};
    int64_t ia[3] = {n->ia[0], n->ia[1], n->ia[2]};
    dx[0] = sn_gb_op(&b, SN_OP_MAXPOOL2D_GRAD, in, 2, ia, 3, NULL, 0);
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}
