/* tests/runtime/test_rt_gpu.c — the CUDA device end to end (label gpu; exits 77 without a
 * GPU): NVRTC-compiled kernels through the kernel cache, a 3-step plan (one step with more
 * than 48 KiB of dynamic shared memory) captured as a CUDA graph and replayed, launch-time
 * errors, and cuBLASLt GEMM steps against a double reference. */
#include "check.h"
#include "gemm_ref.h"

static char err[4096];

#define N 100003
#define SMEM_FLOATS (16 * 1024) /* 64 KiB: needs the opt-in above 48 KiB */

static const char *src_main =
    "#define N 100003\n"
    "extern \"C\" __global__ void scale_shift(const float *x, const float *w, float *y) {\n"
    "    int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
    "    if (i < N) y[i] = x[i] * w[0] + w[1];\n"
    "}\n"
    "extern \"C\" __global__ void silu(const float *y, float *out) {\n"
    "    int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
    "    if (i < N) out[i] = y[i] / (1.0f + expf(-y[i]));\n"
    "}\n";

/* Each block stages SMEM_FLOATS elements through dynamic shared memory, reversed. */
static const char *src_smem =
    "#define N 100003\n"
    "#define S (16 * 1024)\n"
    "extern \"C\" __global__ void stage_reverse(const float *in, float *out) {\n"
    "    extern __shared__ float buf[];\n"
    "    int base = blockIdx.x * S;\n"
    "    for (int t = threadIdx.x; t < S; t += blockDim.x)\n"
    "        buf[t] = base + t < N ? in[base + t] : 0.0f;\n"
    "    __syncthreads();\n"
    "    for (int t = threadIdx.x; t < S; t += blockDim.x) {\n"
    "        int j = base + (S - 1 - t);\n"
    "        if (base + t < N && j < N) out[base + t] = buf[S - 1 - t];\n"
    "    }\n"
    "}\n";

static void *compile_cached(sn_rt_cache *c, const char *src, const char *name, int sm,
                            size_t *len) {
    const char *ver = sn_rt_nvrtc_version();
    char target[16];
    snprintf(target, sizeof target, "sm_%d", sm);
    const void *parts[3] = {src, ver, target};
    size_t lens[3] = {strlen(src), strlen(ver), strlen(target)};
    sn_rt_key k = sn_rt_key_of(parts, lens, 3);
    void *img = NULL;
    if (sn_rt_cache_get(c, k, &img, len) == SN_OK)
        return img;
    int ptx = 0;
    CHECK_OK(sn_rt_nvrtc_compile(src, name, sm, NULL, 0, &img, len, &ptx, err, sizeof err));
    if (img)
        CHECK_OK(sn_rt_cache_put(c, k, img, *len, err, sizeof err));
    return img;
}

static void test_plan(sn_rt_device *d, sn_rt_cache *c) {
    int sm = sn_rt_device_sm(d);
    size_t l0 = 0, l1 = 0;
    void *i0 = compile_cached(c, src_main, "main", sm, &l0);
    void *i1 = compile_cached(c, src_smem, "smem", sm, &l1);
    if (!i0 || !i1)
        return;
    const void *images[2] = {i0, i1};
    size_t sizes[2] = {l0, l1};
    float w[2] = {2.5f, -1.0f};
    int64_t ib[1] = {N * 4}, ob[2] = {N * 4, N * 4};
    sn_rt_step s[3];
    memset(s, 0, sizeof s);
    unsigned blocks = (N + 255) / 256;
    s[0] = (sn_rt_step){.kind = SN_RT_STEP_KERNEL,
                        .module = 0,
                        .entry = "scale_shift",
                        .nargs = 3,
                        .grid = {blocks, 1, 1},
                        .block = {256, 1, 1}};
    s[0].args[0] = (sn_rt_argref){SN_RT_BUF_INPUT, 0, 0};
    s[0].args[1] = (sn_rt_argref){SN_RT_BUF_WEIGHTS, 0, 0};
    s[0].args[2] = (sn_rt_argref){SN_RT_BUF_ARENA, 0, 1024};
    s[1] = (sn_rt_step){.kind = SN_RT_STEP_KERNEL,
                        .module = 0,
                        .entry = "silu",
                        .nargs = 2,
                        .grid = {blocks, 1, 1},
                        .block = {256, 1, 1}};
    s[1].args[0] = (sn_rt_argref){SN_RT_BUF_ARENA, 0, 1024};
    s[1].args[1] = (sn_rt_argref){SN_RT_BUF_OUTPUT, 0, 0};
    s[2] = (sn_rt_step){.kind = SN_RT_STEP_KERNEL,
                        .module = 1,
                        .entry = "stage_reverse",
                        .nargs = 2,
                        .grid = {(N + SMEM_FLOATS - 1) / SMEM_FLOATS, 1, 1},
                        .block = {512, 1, 1},
                        .smem = SMEM_FLOATS * 4};
    s[2].args[0] = (sn_rt_argref){SN_RT_BUF_OUTPUT, 0, 0};
    s[2].args[1] = (sn_rt_argref){SN_RT_BUF_OUTPUT, 1, 0};
    sn_rt_plan_desc desc = {.nimages = 2,
                            .images = images,
                            .image_sizes = sizes,
                            .nsteps = 3,
                            .steps = s,
                            .arena_bytes = 1024 + N * 4,
                            .weights = w,
                            .weight_bytes = sizeof w,
                            .ninputs = 1,
                            .noutputs = 2,
                            .input_bytes = ib,
                            .output_bytes = ob};
    sn_rt_plan *p = NULL;
    CHECK_OK(sn_rt_plan_new(d, &desc, &p, err, sizeof err));
    float *x = malloc(N * 4), *y = malloc(N * 4), *z = malloc(N * 4);
    double *want = malloc(N * sizeof *want), *want_z = malloc(N * sizeof *want_z);
    for (int rep = 0; p && rep < 3; rep++) {
        fill_random(x, N);
        poison(y, N);
        poison(z, N);
        const void *ins[1] = {x};
        void *outs[2] = {y, z};
        CHECK_OK(sn_rt_plan_run(p, ins, outs, err, sizeof err));
        for (int i = 0; i < N; i++) {
            double v = (double)x[i] * 2.5 - 1.0;
            want[i] = v / (1.0 + exp(-v));
        }
        for (int b = 0; b * SMEM_FLOATS < N; b++)
            for (int t = 0; t < SMEM_FLOATS && b * SMEM_FLOATS + t < N; t++) {
                int j = b * SMEM_FLOATS + (SMEM_FLOATS - 1 - t);
                want_z[b * SMEM_FLOATS + t] = j < N ? want[j] : NAN;
            }
        double e = rel_l2(y, want, N);
        CHECKF(e < 1e-5, "rep %d: silu rel L2 %g", rep, e);
        /* elements whose mirror is past N are left unwritten (NaN poison stays) */
        int bad = 0;
        for (int i = 0; i < N; i++)
            if (!isnan(want_z[i]) && fabs(z[i] - want_z[i]) > 1e-5 * (1 + fabs(want_z[i])))
                bad++;
        CHECKF(bad == 0, "rep %d: %d staged elements wrong", rep, bad);
    }
    if (p) {
        double sec = 0;
        CHECK_OK(sn_rt_plan_time(p, 20, &sec, err, sizeof err));
        CHECK(sec > 0);
        printf("cuda plan: %.1f us per graph replay (3 kernels)\n", sec * 1e6);
    }
    sn_rt_plan_free(p);

    /* Errors at plan creation name the call and the CUDA error. */
    sn_rt_plan *bad = NULL;
    s[1].entry = "no_such_kernel";
    CHECK(sn_rt_plan_new(d, &desc, &bad, err, sizeof err) == SN_ERR_DEVICE && !bad);
    CHECKF(has_substr(err, "cuModuleGetFunction") && has_substr(err, "CUDA_ERROR_NOT_FOUND"), "%s",
           err);
    s[1].entry = "silu";
    s[1].block[0] = 4096;
    CHECK(sn_rt_plan_new(d, &desc, &bad, err, sizeof err) == SN_ERR_INVALID && !bad);
    printf("block too large: %s\n", err);
    s[1].block[0] = 256;
    unsigned char junk[512];
    memset(junk, 0x5a, sizeof junk);
    junk[sizeof junk - 1] = 0;
    const void *images2[2] = {i0, junk};
    size_t sizes2[2] = {l0, sizeof junk};
    desc.images = images2;
    desc.image_sizes = sizes2;
    CHECK(sn_rt_plan_new(d, &desc, &bad, err, sizeof err) == SN_ERR_DEVICE && !bad);
    CHECKF(has_substr(err, "cuModuleLoadData"), "%s", err);
    printf("junk image: %s\n", err);
    s[0].kind = SN_RT_STEP_ALLREDUCE;
    CHECK(sn_rt_plan_new(d, &desc, &bad, err, sizeof err) == SN_ERR_UNSUPPORTED && !bad);
    free(x);
    free(y);
    free(z);
    free(want);
    free(want_z);
    free(i0);
    free(i1);
}

/* ---------------------------------------------------------------- GEMM (cuBLASLt) */

static uint16_t f2h(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t e = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t mant = x & 0x7fffff;
    if (e <= 0)
        return (uint16_t)sign; /* tiny values flush to zero; the test data never has them */
    uint32_t h = ((uint32_t)e << 10) | (mant >> 13), rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++;
    return (uint16_t)(sign | h);
}

static float h2f(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, mant = h & 0x3ff;
    uint32_t x = e == 0 ? sign : sign | ((e - 15 + 127) << 23) | (mant << 13);
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* Runs one GEMM step: A and bias in the weights, B the input, D the output (f32). half:
 * A and B are f16. Returns 0 when cuBLASLt refused it (UNSUPPORTED), 1 when it ran. */
static int gemm_case(sn_rt_device *d, sn_rt_gemm g, int half, double tol, const char *what) {
    gemm_extent x = gemm_extent_of(&g);
    int64_t na = x.na, nb = x.nb, nd = x.nd, nbias = x.nbias;
    int es = half ? 2 : 4;
    float *A = malloc((size_t)na * 4), *B = malloc((size_t)nb * 4),
          *bias = malloc((size_t)nbias * 4);
    fill_random(A, na);
    fill_random(B, nb);
    fill_random(bias, nbias);
    if (half) { /* the reference sees the rounded values */
        for (int64_t i = 0; i < na; i++)
            A[i] = h2f(f2h(A[i]));
        for (int64_t i = 0; i < nb; i++)
            B[i] = h2f(f2h(B[i]));
    }
    int64_t abytes = (na * es + 255) / 256 * 256;
    unsigned char *wblob = malloc((size_t)(abytes + nbias * 4));
    unsigned char *inblob = malloc((size_t)nb * es);
    for (int64_t i = 0; i < na; i++) {
        if (half) {
            uint16_t h = f2h(A[i]);
            memcpy(wblob + i * 2, &h, 2);
        } else {
            memcpy(wblob + i * 4, &A[i], 4);
        }
    }
    memcpy(wblob + abytes, bias, (size_t)nbias * 4);
    for (int64_t i = 0; i < nb; i++) {
        if (half) {
            uint16_t h = f2h(B[i]);
            memcpy(inblob + i * 2, &h, 2);
        } else {
            memcpy(inblob + i * 4, &B[i], 4);
        }
    }
    g.ab_type = half ? SN_RT_F16 : SN_RT_F32;
    g.d_type = SN_RT_F32;
    sn_rt_step s;
    memset(&s, 0, sizeof s);
    s.kind = SN_RT_STEP_GEMM;
    s.gemm = g;
    s.nargs = g.bias ? 4 : 3;
    s.args[0] = (sn_rt_argref){SN_RT_BUF_WEIGHTS, 0, 0};
    s.args[1] = (sn_rt_argref){SN_RT_BUF_INPUT, 0, 0};
    s.args[2] = (sn_rt_argref){SN_RT_BUF_OUTPUT, 0, 0};
    s.args[3] = (sn_rt_argref){SN_RT_BUF_WEIGHTS, 0, abytes};
    int64_t ib[1] = {nb * es}, ob[1] = {nd * 4};
    sn_rt_plan_desc desc = {.nsteps = 1,
                            .steps = &s,
                            .weights = wblob,
                            .weight_bytes = abytes + nbias * 4,
                            .ninputs = 1,
                            .noutputs = 1,
                            .input_bytes = ib,
                            .output_bytes = ob};
    sn_rt_plan *p = NULL;
    int ran = 1;
    sn_status st = sn_rt_plan_new(d, &desc, &p, err, sizeof err);
    if (st == SN_ERR_UNSUPPORTED) {
        printf("%s: not offered by cuBLASLt: %s\n", what, err);
        ran = 0;
    } else {
        CHECKF(st == SN_OK, "%s: %s", what, err);
    }
    if (p) {
        float *out = malloc((size_t)nd * 4);
        poison(out, nd);
        const void *ins[1] = {inblob};
        void *outs[1] = {out};
        CHECK_OK(sn_rt_plan_run(p, ins, outs, err, sizeof err));
        double *want = malloc((size_t)nd * sizeof *want);
        gemm_ref(&g, A, B, NULL, bias, want); /* no beta term: plan memory starts zeroed */
        double rel = gemm_error(&g, out, want, NULL);
        free(want);
        CHECKF(rel < tol, "%s: rel L2 %g", what, rel);
        printf("%s: rel L2 %.3g\n", what, rel);
        free(out);
        sn_rt_plan_free(p);
    }
    free(A);
    free(B);
    free(bias);
    free(wblob);
    free(inblob);
    return ran;
}

static void test_gemm(sn_rt_device *d) {
    if (!sn_rt_cublaslt_version()) {
        printf("cuBLASLt not available: GEMM steps skipped\n");
        return;
    }
    printf("%s\n", sn_rt_cublaslt_version());
    sn_rt_gemm g;
    memset(&g, 0, sizeof g);
    g.m = 96, g.n = 200, g.k = 64, g.lda = 64, g.ldb = 200, g.ldd = 200;
    CHECK(gemm_case(d, g, 0, 1e-5, "f32 plain") == 1);
    g.trans_a = 1, g.lda = 96, g.trans_b = 1, g.ldb = 64;
    CHECK(gemm_case(d, g, 0, 1e-5, "f32 transposed") == 1);
    /* linear layer in f16: Y = X·Wᵀ + b, relu */
    memset(&g, 0, sizeof g);
    g.m = 128, g.n = 64, g.k = 256, g.lda = 256, g.trans_b = 1, g.ldb = 256, g.ldd = 64;
    g.bias = SN_RT_GEMM_BIAS_N, g.relu = 1;
    CHECK(gemm_case(d, g, 1, 1e-3, "f16 linear + bias_n + relu") == 1);
    /* NCHW 1×1 conv, batch 2: D[b] = W·X[b] + bias[co] (row-order layouts; may be refused) */
    memset(&g, 0, sizeof g);
    g.m = 32, g.n = 400, g.k = 16, g.lda = 16, g.ldb = 400, g.ldd = 400;
    g.batch = 2, g.stride_a = 0, g.stride_b = 16 * 400, g.stride_d = 32 * 400;
    g.bias = SN_RT_GEMM_BIAS_M;
    gemm_case(d, g, 1, 1e-3, "f16 1x1 conv NCHW + bias_m");
    g.bias = SN_RT_GEMM_BIAS_NONE;
    CHECK(gemm_case(d, g, 1, 1e-3, "f16 1x1 conv NCHW, no bias, batched") == 1);
}

int main(void) {
    if (!sn_rt_cuda_available()) {
        printf("no CUDA device: skipped\n");
        return 77;
    }
    sn_rt_device *d = NULL;
    CHECK_OK(sn_rt_device_open("cuda", 0, &d, err, sizeof err));
    if (!d)
        return check_report("test_rt_gpu");
    printf("device: %s\n", sn_rt_device_name(d));
    CHECK(sn_rt_device_kind(d) == SN_RT_CUDA && sn_rt_device_sm(d) >= 50);
    char *dir = make_temp_dir("gpu");
    sn_rt_cache *c = NULL;
    CHECK_OK(sn_rt_cache_open(dir, &c, err, sizeof err));
    if (c && sn_rt_nvrtc_version()) {
        test_plan(d, c);
        test_plan(d, c); /* second time from the cache */
        sn_rt_cache_stats st = sn_rt_cache_stats_get(c);
        CHECK(st.hits >= 2 && st.corrupt == 0);
    } else {
        printf("NVRTC not available: kernel plans skipped\n");
    }
    test_gemm(d);
    sn_rt_cache_close(c);
    sn_rt_device_close(d);
    rm_tree(dir);
    free(dir);
    return check_report("test_rt_gpu");
}
