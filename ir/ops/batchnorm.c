/* ir/ops/batchnorm.c — BATCHNORM (inference): (x - mean) / sqrt(var + eps) * weight + bias per
 * channel (dim 1). The per-channel tensors may have any dtype. */
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
