/* ir/ops/batchnorm.c — BATCHNORM (inference): (x - mean) / sqrt(var + eps) * weight + bias per
 * channel (dim 1). The per-channel tensors may have any dtype. And BN_STATS, BatchNorm's batch
 * statistics in training mode: [2, C] = per channel the mean and the biased variance over
 * every dim but dim 1 (passes/train builds training-mode BatchNorm from it). */
#include "ir/ir_int.h"

#include <math.h>

sn_status sn_ir_shape_batchnorm(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                                sn_dtype *dtype, char *err, size_t errlen) {
    (void)dtype;
    const sn_shape *xs = &x[0]->shape;
    char b1[128];
    if (xs->ndim < 2) {
        sn_errf(err, errlen, "batchnorm: input %s needs rank >= 2 (N, C, ...)",
                SN_SHAPE_STR(xs, b1));
        return SN_ERR_INVALID;
    }
    static const char *const what[5] = {"", "weight", "bias", "running_mean", "running_var"};
    for (int i = 1; i < 5; i++) {
        const sn_shape *ps = &x[i]->shape;
        if (ps->ndim != 1 || ps->d[0] != xs->d[1]) {
            sn_errf(err, errlen, "batchnorm: %s has shape %s but the input has %lld channels",
                    what[i], SN_SHAPE_STR(ps, b1), (long long)xs->d[1]);
            return SN_ERR_INVALID;
        }
    }
    if (!(n->fa[0] >= 0)) {
        sn_errf(err, errlen, "batchnorm: eps %g must be >= 0", n->fa[0]);
        return SN_ERR_INVALID;
    }
    *shape = *xs;
    return SN_OK;
}

sn_status sn_ir_ref_batchnorm(const sn_ir_ref_args *r) {
    const sn_shape *xs = r->xs[0];
    int64_t N = xs->d[0], C = xs->d[1];
    int64_t inner = sn_shape_numel(xs) / (N * C);
    double eps = r->n->fa[0];
    const float *w = r->x[1], *b = r->x[2], *mean = r->x[3], *var = r->x[4];
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            double m = mean[c], sd = sqrt((double)var[c] + eps), wc = w[c], bc = b[c];
            const float *xp = r->x[0] + (n * C + c) * inner;
            float *yp = r->y + (n * C + c) * inner;
            for (int64_t i = 0; i < inner; i++)
                yp[i] = (float)(((double)xp[i] - m) / sd * wc + bc);
        }
    return SN_OK;
}

/* Sums a rank-r tensor over every dim but 1, to [C]. */
static int32_t sum_but_chan(sn_ir_gb *b, int32_t v, int r, int64_t C) {
    for (int k = r - 1; k >= 0; k--)
        if (k != 1)
            v = sn_gb_sum(b, v, k);
    sn_shape s = {1, {C}};
    return sn_gb_reshape(b, v, &s);
}

/* The running statistics are constants: only x, weight and bias get gradients.
 * dx = dy * weight / sqrt(var + eps); dweight = Σ dy * (x - mean) / sqrt(var + eps); dbias = Σ dy
 */
sn_status sn_ir_vjp_batchnorm(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                              size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    const sn_ir_node n = g->nodes[node];
    int r = n.shape.ndim;
    int64_t C = n.shape.d[1];
    int32_t inv = sn_gb_un(
        &b, SN_OP_RECIP,
        sn_gb_un(&b, SN_OP_SQRT, sn_gb_bin(&b, SN_OP_ADD, n.in[4], sn_gb_scalar(&b, n.fa[0]))));
    int32_t xhat =
        sn_gb_bin(&b, SN_OP_MUL, sn_gb_bin(&b, SN_OP_SUB, n.in[0], sn_gb_chan(&b, n.in[3], r)),
                  sn_gb_chan(&b, inv, r));
    dx[0] = sn_gb_bin(&b, SN_OP_MUL, dy, sn_gb_chan(&b, sn_gb_bin(&b, SN_OP_MUL, inv, n.in[1]), r));
    dx[1] = sum_but_chan(&b, sn_gb_bin(&b, SN_OP_MUL, dy, xhat), r, C);
    dx[2] = sum_but_chan(&b, dy, r, C);
    dx[3] = dx[4] = -1;
    return dx[0] < 0 || dx[1] < 0 || dx[2] < 0 ? SN_ERR_INVALID : SN_OK;
}

sn_status sn_ir_shape_bn_stats(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                               sn_dtype *dtype, char *err, size_t errlen) {
    (void)n, (void)dtype;
    const sn_shape *xs = &x[0]->shape;
    char b1[128];
    if (xs->ndim < 2) {
        sn_errf(err, errlen, "bn_stats: input %s needs rank >= 2 (N, C, ...)",
                SN_SHAPE_STR(xs, b1));
        return SN_ERR_INVALID;
    }
    *shape = (sn_shape){2, {2, xs->d[1]}};
    return SN_OK;
}

sn_status sn_ir_ref_bn_stats(const sn_ir_ref_args *r) {
    const sn_shape *xs = r->xs[0];
    int64_t N = xs->d[0], C = xs->d[1];
    int64_t inner = sn_shape_numel(xs) / (N * C), M = N * inner;
    for (int64_t c = 0; c < C; c++) {
        double s = 0.0, q = 0.0;
        for (int64_t n = 0; n < N; n++) {
            const float *xp = r->x[0] + (n * C + c) * inner;
            for (int64_t i = 0; i < inner; i++)
                s += xp[i];
        }
        double m = s / (double)M;
        for (int64_t n = 0; n < N; n++) {
            const float *xp = r->x[0] + (n * C + c) * inner;
            for (int64_t i = 0; i < inner; i++)
                q += ((double)xp[i] - m) * ((double)xp[i] - m);
        }
        r->y[c] = (float)m;
        r->y[C + c] = (float)(q / (double)M);
    }
    return SN_OK;
}

/* d mean / dx = 1/M, d var / dx = 2 (x - mean) / M: dx = (dmean + 2 dvar (x - mean)) / M */
sn_status sn_ir_vjp_bn_stats(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                             size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    const sn_ir_node n = g->nodes[node];
    sn_shape xs = g->nodes[n.in[0]].shape;
    int r = xs.ndim;
    double M = (double)(sn_shape_numel(&xs) / xs.d[1]);
    int32_t mean = sn_gb_chan(&b, sn_gb_slice(&b, node, 0, 0, 1), r);
    int32_t dm = sn_gb_chan(&b, sn_gb_slice(&b, dy, 0, 0, 1), r);
    int32_t dv = sn_gb_chan(&b, sn_gb_slice(&b, dy, 0, 1, 2), r);
    int32_t xc = sn_gb_bin(&b, SN_OP_SUB, n.in[0], mean);
    int32_t t = sn_gb_bin(&b, SN_OP_MUL, xc, sn_gb_bin(&b, SN_OP_MUL, dv, sn_gb_scalar(&b, 2.0)));
    dx[0] = sn_gb_bin(&b, SN_OP_MUL, sn_gb_bin(&b, SN_OP_ADD, t, dm), sn_gb_scalar(&b, 1.0 / M));
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}
