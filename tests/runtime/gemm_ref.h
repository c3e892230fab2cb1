/* tests/runtime/gemm_ref.h — runtime.h's GEMM step (sn_rt_gemm) stated directly, for the tests
 * that run or map GEMM steps: operand extents, the double-precision reference and its
 * comparison over the elements D covers (ldd > n and batch strides leave gaps). */
#ifndef SN_TEST_RT_GEMM_REF_H
#define SN_TEST_RT_GEMM_REF_H

#include "runtime/runtime.h"

#include <math.h>
#include <stdint.h>

/* Elements each operand spans, batch strides included. */
typedef struct gemm_extent {
    int64_t batch; /* >= 1 */
    int64_t na, nb, nd, nbias;
} gemm_extent;

static inline gemm_extent gemm_extent_of(const sn_rt_gemm *g) {
    gemm_extent e;
    e.batch = g->batch > 1 ? g->batch : 1;
    int64_t ar = g->trans_a ? g->k : g->m, br = g->trans_b ? g->n : g->k;
    e.na = (ar - 1) * g->lda + (g->trans_a ? g->m : g->k) + (e.batch - 1) * g->stride_a;
    e.nb = (br - 1) * g->ldb + (g->trans_b ? g->k : g->n) + (e.batch - 1) * g->stride_b;
    e.nd = (g->m - 1) * g->ldd + g->n + (e.batch - 1) * g->stride_d;
    e.nbias = g->bias == SN_RT_GEMM_BIAS_M ? g->m : g->n;
    return e;
}

/* D = act(alpha·op(A)·op(B) + beta·D0 + bias), row-major, double accumulation, written at the
 * elements D covers. D0 NULL: no beta term (D starts at zero). */
static inline void gemm_ref(const sn_rt_gemm *g, const float *A, const float *B, const float *D0,
                            const float *bias, double *D) {
    int64_t batch = g->batch > 1 ? g->batch : 1;
    double alpha = g->alpha != 0.0f ? g->alpha : 1.0;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < g->m; i++)
            for (int64_t j = 0; j < g->n; j++) {
                const float *Ab = A + b * g->stride_a, *Bb = B + b * g->stride_b;
                double s = 0;
                for (int64_t k = 0; k < g->k; k++) {
                    double a = g->trans_a ? Ab[k * g->lda + i] : Ab[i * g->lda + k];
                    double bv = g->trans_b ? Bb[j * g->ldb + k] : Bb[k * g->ldb + j];
                    s += a * bv;
                }
                int64_t di = b * g->stride_d + i * g->ldd + j;
                double v = alpha * s;
                if (D0)
                    v += (double)g->beta * D0[di];
                if (g->bias == SN_RT_GEMM_BIAS_N)
                    v += bias[j];
                if (g->bias == SN_RT_GEMM_BIAS_M)
                    v += bias[i];
                if (g->relu && v < 0)
                    v = 0;
                D[di] = v;
            }
}

/* Relative L2 error of got against want over the elements D covers; *max_abs (may be NULL)
 * gets the largest absolute error (INFINITY where got is NaN). */
static inline double gemm_error(const sn_rt_gemm *g, const float *got, const double *want,
                                double *max_abs) {
    int64_t batch = g->batch > 1 ? g->batch : 1;
    double num = 0, den = 0, worst = 0;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < g->m; i++)
            for (int64_t j = 0; j < g->n; j++) {
                int64_t di = b * g->stride_d + i * g->ldd + j;
                double e = got[di] - want[di];
                num += e * e;
                den += want[di] * want[di];
                double a = isnan(e) ? INFINITY : fabs(e);
                if (a > worst)
                    worst = a;
            }
    if (max_abs)
        *max_abs = worst;
    return sqrt(num / (den > 0 ? den : 1));
}

#endif
