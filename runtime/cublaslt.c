/* runtime/cublaslt.c — GEMM steps through cuBLASLt, loaded by dlopen.
 *
 * The step is specified row-major (runtime.h: sn_rt_gemm); cuBLASLt is column-major. A
 * row-major r×c matrix with leading dimension ld is the column-major c×r matrix with the same
 * ld, so D = op(A)·op(B) (row-major, m×n) is computed as the column-major product
 *     Dᵀ (n×m) = op(B)ᵀ · op(A)ᵀ
 * i.e. cuBLASLt's "A" is our B and its "B" is our A, with the same transposition flags. The
 * bias epilogue adds a vector along the rows of cuBLASLt's D, which is our n: BIAS_N.
 *
 * BIAS_M (a bias per row of our D — NCHW 1×1 conv) cannot be had with that trick; it uses
 * cuBLASLt's row-order layouts (CUBLASLT_ORDER_ROW) on the untransposed problem instead.
 * cuBLASLt supports row order for fewer algorithms; when its heuristic finds none, plan
 * creation fails with SN_ERR_UNSUPPORTED and says so.
 *
 * Algorithms are chosen once per step at plan creation (cublasLtMatmulAlgoGetHeuristic), for
 * the step's actual pointer alignments, and the matmul is recorded into the plan's CUDA
 * graph with a workspace the plan owns (cuBLASLt allocates nothing during capture).
 */
#include "runtime/cuda_int.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lt_api {
    sn_lt_status (*Create)(sn_lt_handle *h);
    sn_lt_status (*Destroy)(sn_lt_handle h);
    size_t (*GetVersion)(void);
    const char *(*GetStatusName)(sn_lt_status s);
    sn_lt_status (*MatmulDescCreate)(sn_lt_matmul_desc *d, int compute, int scale);
    sn_lt_status (*MatmulDescDestroy)(sn_lt_matmul_desc d);
    sn_lt_status (*MatmulDescSetAttribute)(sn_lt_matmul_desc d, int attr, const void *buf,
                                           size_t n);
    sn_lt_status (*MatrixLayoutCreate)(sn_lt_layout *l, int type, uint64_t rows, uint64_t cols,
                                       int64_t ld);
    sn_lt_status (*MatrixLayoutDestroy)(sn_lt_layout l);
    sn_lt_status (*MatrixLayoutSetAttribute)(sn_lt_layout l, int attr, const void *buf, size_t n);
    sn_lt_status (*MatmulPreferenceCreate)(sn_lt_pref *p);
    sn_lt_status (*MatmulPreferenceDestroy)(sn_lt_pref p);
    sn_lt_status (*MatmulPreferenceSetAttribute)(sn_lt_pref p, int attr, const void *buf, size_t n);
    sn_lt_status (*MatmulAlgoGetHeuristic)(sn_lt_handle h, sn_lt_matmul_desc op, sn_lt_layout a,
                                           sn_lt_layout b, sn_lt_layout c, sn_lt_layout d,
                                           sn_lt_pref pref, int requested, sn_lt_heuristic *res,
                                           int *returned);
    sn_lt_status (*Matmul)(sn_lt_handle h, sn_lt_matmul_desc op, const void *alpha, const void *a,
                           sn_lt_layout adesc, const void *b, sn_lt_layout bdesc, const void *beta,
                           const void *c, sn_lt_layout cdesc, void *d, sn_lt_layout ddesc,
                           const sn_lt_algo *algo, void *ws, size_t ws_bytes, sn_cu_stream stream);
} lt_api;

static lt_api lt;
static pthread_once_t lt_once = PTHREAD_ONCE_INIT;
static int lt_ok;
static char lt_msg[512];
static char lt_version[48];

#define SN_LT_CHECK(fn, args)                                                                      \
    do {                                                                                           \
        sn_lt_status r_ = lt.fn args;                                                              \
        if (r_ != SN_CUBLAS_STATUS_SUCCESS) {                                                      \
            st =                                                                                   \
                sn_fail(err, errlen,                                                               \
                        r_ == SN_CUBLAS_STATUS_NOT_SUPPORTED ? SN_ERR_UNSUPPORTED : SN_ERR_DEVICE, \
                        "%s failed: %s", "cublasLt" #fn #args, lt.GetStatusName(r_));              \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

static void load_lt(void) {
    static const char *const names[] = {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"};
    char why[300];
    void *lib = sn_cu_dlopen_any(names, 3, why, sizeof why);
    if (!lib) {
        snprintf(lt_msg, sizeof lt_msg,
                 "cuBLASLt not available: dlopen(\"libcublasLt.so.13\") failed: %s", why);
        return;
    }
    static const struct {
        const char *name;
        size_t offset;
    } entries[] = {
#define E(sym, field) {sym, offsetof(lt_api, field)}
        E("cublasLtCreate", Create),
        E("cublasLtDestroy", Destroy),
        E("cublasLtGetVersion", GetVersion),
        E("cublasLtGetStatusName", GetStatusName),
        E("cublasLtMatmulDescCreate", MatmulDescCreate),
        E("cublasLtMatmulDescDestroy", MatmulDescDestroy),
        E("cublasLtMatmulDescSetAttribute", MatmulDescSetAttribute),
        E("cublasLtMatrixLayoutCreate", MatrixLayoutCreate),
        E("cublasLtMatrixLayoutDestroy", MatrixLayoutDestroy),
        E("cublasLtMatrixLayoutSetAttribute", MatrixLayoutSetAttribute),
        E("cublasLtMatmulPreferenceCreate", MatmulPreferenceCreate),
        E("cublasLtMatmulPreferenceDestroy", MatmulPreferenceDestroy),
        E("cublasLtMatmulPreferenceSetAttribute", MatmulPreferenceSetAttribute),
        E("cublasLtMatmulAlgoGetHeuristic", MatmulAlgoGetHeuristic),
        E("cublasLtMatmul", Matmul),
#undef E
    };
    lt_api api;
    memset(&api, 0, sizeof api);
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        void *fn = dlsym(lib, entries[i].name);
        if (!fn) {
            snprintf(lt_msg, sizeof lt_msg, "cuBLASLt library has no %s", entries[i].name);
            dlclose(lib);
            return;
        }
        memcpy((char *)&api + entries[i].offset, &fn, sizeof fn);
    }
    lt = api;
    size_t v = lt.GetVersion(); /* major·10000 + minor·100 + patch */
    snprintf(lt_version, sizeof lt_version, "cuBLASLt %zu.%zu.%zu", v / 10000, v / 100 % 100,
             v % 100);
    lt_ok = 1;
}

const char *sn_rt_cublaslt_version(void) {
    pthread_once(&lt_once, load_lt);
    return lt_ok ? lt_version : NULL;
}

sn_status sn_lt_open(sn_lt_handle *h, char *err, size_t errlen) {
    sn_status st = SN_OK;
    *h = NULL;
    pthread_once(&lt_once, load_lt);
    if (!lt_ok)
        return sn_fail(err, errlen, SN_ERR_UNSUPPORTED, "%s", lt_msg);
    SN_LT_CHECK(Create, (h));
fail:
    return st;
}

void sn_lt_close(sn_lt_handle h) {
    if (h && lt_ok)
        lt.Destroy(h);
}

struct sn_lt_gemm {
    sn_lt_matmul_desc op;
    sn_lt_layout a, b, d; /* cuBLASLt's A, B and C = D */
    sn_cu_ptr pa, pb, pd;
    float alpha, beta;
    sn_lt_algo algo;
    size_t ws;
};

static int cuda_type(sn_rt_dtype t) {
    return t == SN_RT_F32 ? SN_CUDA_R_32F : t == SN_RT_F16 ? SN_CUDA_R_16F : SN_CUDA_R_16BF;
}

/* The largest power of two (≤ 256) dividing the address: what the heuristic may assume. */
static uint32_t alignment(sn_cu_ptr p) {
    uint32_t a = 256;
    while (a > 1 && p % a)
        a >>= 1;
    return a;
}

static sn_status make_layout(sn_lt_layout *l, int type, int64_t rows, int64_t cols, int64_t ld,
                             int row_order, int64_t batch, int64_t stride, char *err,
                             size_t errlen) {
    sn_status st = SN_OK;
    SN_LT_CHECK(MatrixLayoutCreate, (l, type, (uint64_t)rows, (uint64_t)cols, ld));
    if (row_order) {
        int32_t order = SN_CUBLASLT_ORDER_ROW;
        SN_LT_CHECK(MatrixLayoutSetAttribute,
                    (*l, SN_CUBLASLT_MATRIX_LAYOUT_ORDER, &order, sizeof order));
    }
    if (batch > 1) {
        int32_t count = (int32_t)batch;
        SN_LT_CHECK(MatrixLayoutSetAttribute,
                    (*l, SN_CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
        SN_LT_CHECK(MatrixLayoutSetAttribute,
                    (*l, SN_CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride));
    }
fail:
    return st;
}

void sn_lt_gemm_free(sn_lt_gemm *g) {
    if (!g)
        return;
    if (g->op)
        lt.MatmulDescDestroy(g->op);
    if (g->a)
        lt.MatrixLayoutDestroy(g->a);
    if (g->b)
        lt.MatrixLayoutDestroy(g->b);
    if (g->d)
        lt.MatrixLayoutDestroy(g->d);
    free(g);
}

void sn_lt_map(const sn_rt_gemm *s, sn_lt_mapping *mp) {
    /* Our matrices as stored: row-major rows × cols. */
    const int64_t ar = s->trans_a ? s->k : s->m, ac = s->trans_a ? s->m : s->k;
    const int64_t br = s->trans_b ? s->n : s->k, bc = s->trans_b ? s->k : s->n;
    memset(mp, 0, sizeof *mp);
    mp->batch = s->batch > 1 ? s->batch : 1;
    if (s->bias != SN_RT_GEMM_BIAS_M) {
        /* Dᵀ = op(B)ᵀ·op(A)ᵀ, column-major; stored row-major r×c = column-major c×r. */
        mp->op_a = s->trans_b ? SN_CUBLAS_OP_T : SN_CUBLAS_OP_N;
        mp->op_b = s->trans_a ? SN_CUBLAS_OP_T : SN_CUBLAS_OP_N;
        mp->a = (sn_lt_mat){bc, br, s->ldb, s->stride_b, 0, 1};
        mp->b = (sn_lt_mat){ac, ar, s->lda, s->stride_a, 0, 0};
        mp->d = (sn_lt_mat){s->n, s->m, s->ldd, s->stride_d, 0, 2};
    } else {
        /* D = op(A)·op(B) with row-order layouts: the bias runs along our rows. */
        mp->op_a = s->trans_a ? SN_CUBLAS_OP_T : SN_CUBLAS_OP_N;
        mp->op_b = s->trans_b ? SN_CUBLAS_OP_T : SN_CUBLAS_OP_N;
        mp->a = (sn_lt_mat){ar, ac, s->lda, s->stride_a, 1, 0};
        mp->b = (sn_lt_mat){br, bc, s->ldb, s->stride_b, 1, 1};
        mp->d = (sn_lt_mat){s->m, s->n, s->ldd, s->stride_d, 1, 2};
    }
}

sn_status sn_lt_gemm_new(sn_lt_handle h, const sn_rt_gemm *s, const sn_cu_ptr ptrs[4],
                         size_t max_ws, sn_lt_gemm **out, char *err, size_t errlen) {
    sn_status st = SN_OK;
    *out = NULL;
    if (s->batch > INT32_MAX)
        return sn_fail(err, errlen, SN_ERR_UNSUPPORTED, "batch %lld too large",
                       (long long)s->batch);
    sn_lt_gemm *g = calloc(1, sizeof *g);
    if (!g)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "gemm: out of memory");
    sn_lt_pref pref = NULL;
    const int abt = cuda_type(s->ab_type), dt = cuda_type(s->d_type);
    int compute = s->ab_type == SN_RT_F32 && s->allow_tf32 ? SN_CUBLAS_COMPUTE_32F_FAST_TF32
                                                           : SN_CUBLAS_COMPUTE_32F;
    SN_LT_CHECK(MatmulDescCreate, (&g->op, compute, SN_CUDA_R_32F));

    sn_lt_mapping mp;
    sn_lt_map(s, &mp);
    const sn_lt_mat *mats[3] = {&mp.a, &mp.b, &mp.d};
    sn_lt_layout *lays[3] = {&g->a, &g->b, &g->d};
    for (int i = 0; i < 3; i++)
        if ((st = make_layout(lays[i], i == 2 ? dt : abt, mats[i]->rows, mats[i]->cols, mats[i]->ld,
                              mats[i]->row_order, mp.batch, mats[i]->stride, err, errlen)) != SN_OK)
            goto fail;
    const int row = mp.d.row_order;
    int32_t opa = mp.op_a, opb = mp.op_b;
    sn_cu_ptr lt_a = ptrs[mp.a.which], lt_b = ptrs[mp.b.which];
    uint32_t al_a, al_b;
    SN_LT_CHECK(MatmulDescSetAttribute, (g->op, SN_CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof opa));
    SN_LT_CHECK(MatmulDescSetAttribute, (g->op, SN_CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof opb));
    uint32_t epi = s->bias ? (s->relu ? SN_CUBLASLT_EPILOGUE_RELU_BIAS : SN_CUBLASLT_EPILOGUE_BIAS)
                           : (s->relu ? SN_CUBLASLT_EPILOGUE_RELU : SN_CUBLASLT_EPILOGUE_DEFAULT);
    SN_LT_CHECK(MatmulDescSetAttribute,
                (g->op, SN_CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    if (s->bias) {
        const void *bp = (const void *)(uintptr_t)ptrs[3];
        SN_LT_CHECK(MatmulDescSetAttribute,
                    (g->op, SN_CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof bp));
    }

    SN_LT_CHECK(MatmulPreferenceCreate, (&pref));
    uint64_t wsmax = max_ws;
    SN_LT_CHECK(MatmulPreferenceSetAttribute,
                (pref, SN_CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsmax, sizeof wsmax));
    al_a = alignment(lt_a);
    al_b = alignment(lt_b);
    uint32_t al_d = alignment(ptrs[2]);
    SN_LT_CHECK(MatmulPreferenceSetAttribute,
                (pref, SN_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_a, sizeof al_a));
    SN_LT_CHECK(MatmulPreferenceSetAttribute,
                (pref, SN_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_b, sizeof al_b));
    SN_LT_CHECK(MatmulPreferenceSetAttribute,
                (pref, SN_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_d, sizeof al_d));
    SN_LT_CHECK(MatmulPreferenceSetAttribute,
                (pref, SN_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_d, sizeof al_d));

    sn_lt_heuristic res;
    int found = 0;
    memset(&res, 0, sizeof res);
    SN_LT_CHECK(MatmulAlgoGetHeuristic, (h, g->op, g->a, g->b, g->d, g->d, pref, 1, &res, &found));
    if (found < 1 || res.state != SN_CUBLAS_STATUS_SUCCESS) {
        st = sn_fail(err, errlen, SN_ERR_UNSUPPORTED,
                     "cuBLASLt has no algorithm for this GEMM (%s, A/B type %d, D type %d, "
                     "alignments %u/%u/%u bytes)",
                     row ? "row-order layouts for a per-row bias" : "column-major", abt, dt, al_a,
                     al_b, al_d);
        goto fail;
    }
    g->algo = res.algo;
    g->ws = res.workspaceSize;
    g->pa = lt_a;
    g->pb = lt_b;
    g->pd = ptrs[2];
    g->alpha = s->alpha != 0.0f ? s->alpha : 1.0f;
    g->beta = s->beta;
    lt.MatmulPreferenceDestroy(pref);
    *out = g;
    return SN_OK;
fail:
    if (pref)
        lt.MatmulPreferenceDestroy(pref);
    sn_lt_gemm_free(g);
    return st;
}

sn_status sn_lt_gemm_launch(sn_lt_handle h, sn_lt_gemm *g, sn_cu_ptr ws, size_t ws_bytes,
                            sn_cu_stream s, char *err, size_t errlen) {
    sn_status st = SN_OK;
    if (g->ws > ws_bytes)
        return sn_fail(err, errlen, SN_ERR_INVALID,
                       "gemm: workspace %zu bytes, algorithm needs %zu", ws_bytes, g->ws);
    const void *pa = (const void *)(uintptr_t)g->pa, *pb = (const void *)(uintptr_t)g->pb;
    void *pd = (void *)(uintptr_t)g->pd, *pw = (void *)(uintptr_t)ws;
    SN_LT_CHECK(Matmul, (h, g->op, &g->alpha, pa, g->a, pb, g->b, &g->beta, pd, g->d, pd, g->d,
                         &g->algo, pw, ws_bytes, s));
fail:
    return st;
}
