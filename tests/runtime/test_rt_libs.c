/* tests/runtime/test_rt_libs.c — cuBLASLt without a GPU (white-box: cuda_int.h):
 *   - how a row-major GEMM step is posed to cuBLASLt (sn_lt_map) is checked by evaluating the
 *     posed problem with cuBLASLt's documented semantics (column-major or row-order layouts,
 *     op(), bias along the rows of D, strided batches) and comparing with the row-major
 *     definition in runtime.h, for every transposition, bias kind and a shared-weight batch;
 *   - the library loads and reports its version; creating a handle either works (a GPU is
 *     present) or fails with the check macro's "call failed: CUBLAS_STATUS_…" message.
 * The mapping checks run always; the library checks are skipped when cuBLASLt is missing. */
#include "check.h"
#include "gemm_ref.h"
#include "runtime/cuda_int.h"

static char err[2048];

static double lt_at(const float *base, const sn_lt_mat *m, int64_t b, int64_t r, int64_t c) {
    const float *p = base + b * m->stride;
    return m->row_order ? p[r * m->ld + c] : p[r + c * m->ld];
}

static void lt_set(float *base, const sn_lt_mat *m, int64_t b, int64_t r, int64_t c, float v) {
    float *p = base + b * m->stride;
    if (m->row_order)
        p[r * m->ld + c] = v;
    else
        p[r + c * m->ld] = v;
}

/* op(X)(r, c) for a cuBLASLt operand. */
static double lt_op(const float *base, const sn_lt_mat *m, int op, int64_t b, int64_t r,
                    int64_t c) {
    return op == SN_CUBLAS_OP_N ? lt_at(base, m, b, r, c) : lt_at(base, m, b, c, r);
}

static void check_mapping(sn_rt_gemm g, const char *what) {
    gemm_extent x = gemm_extent_of(&g);
    int64_t batch = x.batch, na = x.na, nb = x.nb, nd = x.nd;
    float *ops[3] = {malloc((size_t)na * 4), malloc((size_t)nb * 4), malloc((size_t)nd * 4)};
    float bias[64];
    fill_random(ops[0], na);
    fill_random(ops[1], nb);
    fill_random(bias, 64);
    poison(ops[2], nd);
    sn_lt_mapping mp;
    sn_lt_map(&g, &mp);
    const float *A = ops[mp.a.which], *B = ops[mp.b.which];
    float *D = ops[mp.d.which];
    CHECKF(mp.d.which == 2 && mp.a.which != mp.b.which && mp.a.which < 2 && mp.b.which < 2,
           "%s: operands", what);
    CHECK(mp.batch == batch);
    /* cuBLASLt: D (rows × cols) = op_a(A) · op_b(B) (+ bias[row]), per batch item */
    int64_t K = mp.op_a == SN_CUBLAS_OP_N ? mp.a.cols : mp.a.rows;
    int64_t arows = mp.op_a == SN_CUBLAS_OP_N ? mp.a.rows : mp.a.cols;
    int64_t bk = mp.op_b == SN_CUBLAS_OP_N ? mp.b.rows : mp.b.cols;
    int64_t bcols = mp.op_b == SN_CUBLAS_OP_N ? mp.b.cols : mp.b.rows;
    CHECKF(arows == mp.d.rows && bcols == mp.d.cols && bk == K,
           "%s: shapes %lldx%lld·%lldx%lld "
           "→ %lldx%lld",
           what, (long long)arows, (long long)K, (long long)bk, (long long)bcols,
           (long long)mp.d.rows, (long long)mp.d.cols);
    if (arows != mp.d.rows || bcols != mp.d.cols || bk != K)
        goto done;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t r = 0; r < mp.d.rows; r++)
            for (int64_t c = 0; c < mp.d.cols; c++) {
                double acc = 0;
                for (int64_t k = 0; k < K; k++)
                    acc += lt_op(A, &mp.a, mp.op_a, b, r, k) * lt_op(B, &mp.b, mp.op_b, b, k, c);
                if (g.bias)
                    acc += bias[r];
                lt_set(D, &mp.d, b, r, c, (float)acc);
            }
    /* runtime.h's definition, row-major */
    {
        double *want = malloc((size_t)nd * sizeof *want), worst;
        gemm_ref(&g, ops[0], ops[1], NULL, bias, want);
        gemm_error(&g, ops[2], want, &worst);
        CHECKF(worst < 1e-5, "%s: max error %g", what, worst);
        free(want);
    }
done:
    for (int i = 0; i < 3; i++)
        free(ops[i]);
}

static void test_mapping(void) {
    for (int bias = 0; bias < 3; bias++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                sn_rt_gemm g;
                memset(&g, 0, sizeof g);
                g.m = 7, g.n = 11, g.k = 5;
                g.trans_a = ta, g.trans_b = tb;
                g.lda = (ta ? g.m : g.k) + 2;
                g.ldb = (tb ? g.k : g.n) + 1;
                g.ldd = g.n + 3;
                g.bias = (sn_rt_gemm_bias)bias;
                char what[64];
                snprintf(what, sizeof what, "bias %d trans_a %d trans_b %d", bias, ta, tb);
                check_mapping(g, what);
                /* batched, A shared (the weight of a 1×1 conv) */
                g.batch = 3;
                g.stride_a = 0;
                g.stride_b = 64;
                g.stride_d = (g.m - 1) * g.ldd + g.n + 5;
                snprintf(what, sizeof what, "batched bias %d trans_a %d trans_b %d", bias, ta, tb);
                check_mapping(g, what);
            }
}

int main(void) {
    test_mapping();
    const char *v = sn_rt_cublaslt_version();
    if (!v) {
        printf("cuBLASLt not available: library checks skipped\n");
        return check_report("test_rt_libs");
    }
    printf("%s\n", v);
    CHECK(strncmp(v, "cuBLASLt ", 9) == 0);
    sn_lt_handle h = NULL;
    sn_status st = sn_lt_open(&h, err, sizeof err);
    if (sn_rt_cuda_available()) {
        CHECKF(st == SN_OK && h, "%s", err);
    } else {
        printf("without a GPU: %d: %s\n", (int)st, err);
        CHECK(st != SN_OK && h == NULL);
        CHECKF(has_substr(err, "cublasLtCreate(h) failed: CUBLAS_STATUS_"), "%s", err);
    }
    sn_lt_close(h);
    return check_report("test_rt_libs");
}
