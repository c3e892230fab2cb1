/* ir/ops/matmul.c — MATMUL: a[..., M, K] x b[..., K, N] with equal leading (batch) dims and
 * dtypes; double accumulation. */
#include "ir/ir_int.h"

#include <stdlib.h>

sn_status sn_ir_shape_matmul(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                             sn_dtype *dtype, char *err, size_t errlen) {
    (void)n;
    const sn_shape *as = &x[0]->shape, *bs = &x[1]->shape;
    char b1[128], b2[128];
    int r = as->ndim;
    if (r < 2 || bs->ndim != r) {
        sn_errf(err, errlen,
                "matmul: a %s and b %s need equal rank >= 2 ([..., M, K] x [..., K, N])",
                SN_SHAPE_STR(as, b1), SN_SHAPE_STR(bs, b2));
        return SN_ERR_INVALID;
    }
    for (int i = 0; i < r - 2; i++)
        if (as->d[i] != bs->d[i]) {
            sn_errf(err, errlen, "matmul: batch dims differ: a %s, b %s", SN_SHAPE_STR(as, b1),
                    SN_SHAPE_STR(bs, b2));
            return SN_ERR_INVALID;
        }
    if (as->d[r - 1] != bs->d[r - 2]) {
        sn_errf(err, errlen, "matmul: a %s has K=%lld but b %s has K=%lld", SN_SHAPE_STR(as, b1),
                (long long)as->d[r - 1], SN_SHAPE_STR(bs, b2), (long long)bs->d[r - 2]);
        return SN_ERR_INVALID;
    }
    if (x[1]->dtype != *dtype) {
        sn_errf(err, errlen, "matmul: dtypes differ: %s and %s", sn_dtype_name(*dtype),
                sn_dtype_name(x[1]->dtype));
        return SN_ERR_INVALID;
    }
    *shape = *as;
    shape->d[r - 1] = bs->d[r - 1];
    return SN_OK;
}

sn_status sn_ir_ref_matmul(const sn_ir_ref_args *r) {
    const sn_shape *as = r->xs[0], *bs = r->xs[1];
    int R = as->ndim;
    int64_t M = as->d[R - 2], K = as->d[R - 1], N = bs->d[R - 1];
    int64_t batch = sn_shape_numel(as) / (M * K);
    double *acc = malloc((size_t)N * sizeof *acc);
    if (!acc)
        return SN_ERR_NOMEM;
    for (int64_t bi = 0; bi < batch; bi++) {
        const float *A = r->x[0] + bi * M * K, *B = r->x[1] + bi * K * N;
        float *Y = r->y + bi * M * N;
        for (int64_t m = 0; m < M; m++) {
            for (int64_t j = 0; j < N; j++)
                acc[j] = 0.0;
            for (int64_t k = 0; k < K; k++) {
                double av = A[m * K + k];
                const float *brow = B + k * N;
                for (int64_t j = 0; j < N; j++)
                    acc[j] += av * brow[j];
            }
            for (int64_t j = 0; j < N; j++)
                Y[m * N + j] = (float)acc[j];
        }
    }
    free(acc);
    return SN_OK;
}

/* a[..., M, K] b[..., K, N]: da = dy b^T, db = a^T dy (the last two dims swapped) */
sn_status sn_ir_vjp_matmul(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                           size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    int32_t a = g->nodes[node].in[0], c = g->nodes[node].in[1];
    int r = g->nodes[node].shape.ndim;
    int64_t perm[SN_MAX_DIMS];
    for (int k = 0; k < r; k++)
        perm[k] = k;
    perm[r - 2] = r - 1;
    perm[r - 1] = r - 2;
    dx[0] = sn_gb_bin(&b, SN_OP_MATMUL, dy, sn_gb_permute(&b, c, perm, r));
    dx[1] = sn_gb_bin(&b, SN_OP_MATMUL, sn_gb_permute(&b, a, perm, r), dy);
    return dx[0] < 0 || dx[1] < 0 ? SN_ERR_INVALID : SN_OK;
}
