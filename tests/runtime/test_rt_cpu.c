/* tests/runtime/test_rt_cpu.c — the CPU device end to end: kernels compiled at test time
 * with the C compiler (cc -c) into object files, loaded by the runtime's LLJIT, run as a
 * multi-step plan through the thread pool; the f32 GEMM step against a double reference;
 * plan validation errors; device names. */
#include "check.h"
#include "gemm_ref.h"

#include <sys/stat.h>
#include <unistd.h>

#ifndef SN_TEST_CC
#define SN_TEST_CC "cc"
#endif

static char err[2048];
static char *tmpdir;

/* Two kernels in the runtime's CPU ABI. silu calls expf: resolved from the process (libm). */
static const char *src_a = "#include <stdint.h>\n"
                           "void scale_shift(void **args, int64_t begin, int64_t end) {\n"
                           "    const float *x = args[0], *w = args[1];\n"
                           "    float *y = args[2];\n"
                           "    for (int64_t i = begin; i < end; i++) y[i] = x[i] * w[0] + w[1];\n"
                           "}\n";
static const char *src_b =
    "#include <math.h>\n"
    "#include <stdint.h>\n"
    "void silu(void **args, int64_t begin, int64_t end) {\n"
    "    const float *y = args[0];\n"
    "    float *out = args[1];\n"
    "    for (int64_t i = begin; i < end; i++) out[i] = y[i] / (1.0f + expf(-y[i]));\n"
    "}\n"
    /* the same name as in image a, different behaviour: images must not clash */
    "void scale_shift(void **args, int64_t begin, int64_t end) {\n"
    "    const float *x = args[0];\n"
    "    float *y = args[2];\n"
    "    for (int64_t i = begin; i < end; i++) y[i] = -x[i];\n"
    "}\n";

/* Compiles src with the C compiler into an object image (malloc'd). */
static void *compile_object(const char *name, const char *src, size_t *len) {
    char c_path[4200], o_path[4200], cmd[9000];
    snprintf(c_path, sizeof c_path, "%s/%s.c", tmpdir, name);
    snprintf(o_path, sizeof o_path, "%s/%s.o", tmpdir, name);
    FILE *f = fopen(c_path, "w");
    fputs(src, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s -c -O2 -fPIC -o '%s' '%s'", SN_TEST_CC, o_path, c_path);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot compile the test kernels: %s\n", cmd);
        exit(1);
    }
    f = fopen(o_path, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc((size_t)n);
    if (fread(p, 1, (size_t)n, f) != (size_t)n)
        exit(1);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void test_devices(void) {
    sn_rt_device *d;
    CHECK_OK(sn_rt_device_open("cpu", 2, &d, err, sizeof err));
    if (d) {
        CHECK(sn_rt_device_kind(d) == SN_RT_CPU);
        CHECK(sn_rt_device_sm(d) == 0);
        CHECKF(strncmp(sn_rt_device_name(d), "cpu (2 threads, ", 16) == 0, "name %s",
               sn_rt_device_name(d));
        printf("device: %s\n", sn_rt_device_name(d));
        sn_rt_device_close(d);
    }
    CHECK(sn_rt_device_open("tpu", 0, &d, err, sizeof err) == SN_ERR_INVALID && !d &&
          has_substr(err, "tpu"));
    CHECK(sn_rt_device_open("cuda:x", 0, &d, err, sizeof err) == SN_ERR_INVALID && !d);
    CHECK_OK(sn_rt_device_open("auto", 0, &d, err, sizeof err));
    if (d) {
        CHECK(sn_rt_device_kind(d) == (sn_rt_cuda_available() ? SN_RT_CUDA : SN_RT_CPU));
        sn_rt_device_close(d);
    }
    if (!sn_rt_cuda_available()) {
        CHECK(sn_rt_device_open("cuda", 0, &d, err, sizeof err) == SN_ERR_DEVICE && !d);
        printf("cuda without a driver: %s\n", err);
    }
}

static void test_two_step_plan(int threads) {
    size_t la, lb;
    void *ia = compile_object("ka", src_a, &la), *ib = compile_object("kb", src_b, &lb);
    const int64_t n = 100003;
    const void *images[2] = {ia, ib};
    size_t sizes[2] = {la, lb};
    float w[2] = {2.5f, -1.0f};
    int64_t in_bytes[1] = {n * 4}, out_bytes[1] = {n * 4};
    sn_rt_step steps[2];
    memset(steps, 0, sizeof steps);
    /* step 0: arena[0..n) = input * w0 + w1 */
    steps[0].kind = SN_RT_STEP_KERNEL;
    steps[0].module = 0;
    steps[0].entry = "scale_shift";
    steps[0].nargs = 3;
    steps[0].args[0] = (sn_rt_argref){SN_RT_BUF_INPUT, 0, 0};
    steps[0].args[1] = (sn_rt_argref){SN_RT_BUF_WEIGHTS, 0, 0};
    steps[0].args[2] = (sn_rt_argref){SN_RT_BUF_ARENA, 0, 64};
    steps[0].tasks = n;
    /* step 1: output = silu(arena) */
    steps[1].kind = SN_RT_STEP_KERNEL;
    steps[1].module = 1;
    steps[1].entry = "silu";
    steps[1].nargs = 2;
    steps[1].args[0] = (sn_rt_argref){SN_RT_BUF_ARENA, 0, 64};
    steps[1].args[1] = (sn_rt_argref){SN_RT_BUF_OUTPUT, 0, 0};
    steps[1].tasks = n;
    sn_rt_plan_desc desc = {
        .nimages = 2,
        .images = images,
        .image_sizes = sizes,
        .nsteps = 2,
        .steps = steps,
        .arena_bytes = 64 + n * 4,
        .weights = w,
        .weight_bytes = sizeof w,
        .ninputs = 1,
        .noutputs = 1,
        .input_bytes = in_bytes,
        .output_bytes = out_bytes,
    };
    sn_rt_device *d;
    CHECK_OK(sn_rt_device_open("cpu", threads, &d, err, sizeof err));
    sn_rt_plan *p = NULL;
    if (d)
        CHECK_OK(sn_rt_plan_new(d, &desc, &p, err, sizeof err));
    w[0] = 1000.0f; /* the plan holds its own copy of the weights */
    float *x = malloc((size_t)n * 4), *y = malloc((size_t)n * 4);
    double *want = malloc((size_t)n * sizeof *want);
    for (int rep = 0; p && rep < 3; rep++) {
        fill_random(x, n);
        poison(y, n);
        const void *ins[1] = {x};
        void *outs[1] = {y};
        CHECK_OK(sn_rt_plan_run(p, ins, outs, err, sizeof err));
        for (int64_t i = 0; i < n; i++) {
            double v = (double)x[i] * 2.5 - 1.0;
            want[i] = v / (1.0 + exp(-v));
        }
        double e = rel_l2(y, want, n);
        CHECKF(e < 1e-6, "threads %d rep %d: rel L2 %g (y[0] %g want %g)", threads, rep, e, y[0],
               want[0]);
    }
    if (p) {
        double sec = 0;
        CHECK_OK(sn_rt_plan_time(p, 5, &sec, err, sizeof err));
        CHECK(sec > 0);
        printf("cpu plan (%d threads): %.1f us per run of 2 steps over %lld floats\n", threads,
               sec * 1e6, (long long)n);
    }

    /* The image b's own scale_shift (x → -x): same symbol name, separate image. */
    if (d) {
        steps[0].module = 1;
        sn_rt_plan *p2 = NULL;
        CHECK_OK(sn_rt_plan_new(d, &desc, &p2, err, sizeof err));
        if (p2) {
            const void *ins[1] = {x};
            void *outs[1] = {y};
            CHECK_OK(sn_rt_plan_run(p2, ins, outs, err, sizeof err));
            for (int64_t i = 0; i < n; i++) {
                double v = -(double)x[i];
                want[i] = v / (1.0 + exp(-v));
            }
            CHECK(rel_l2(y, want, n) < 1e-6);
            sn_rt_plan_free(p2);
        }
        steps[0].module = 0;
    }

    /* Identical images are loaded once: image 1 = a copy of image 0 (same symbols). */
    if (d) {
        void *copy = malloc(la);
        memcpy(copy, ia, la);
        const void *images2[3] = {ia, copy, ib};
        size_t sizes2[3] = {la, la, lb};
        sn_rt_plan_desc d2 = desc;
        d2.nimages = 3;
        d2.images = images2;
        d2.image_sizes = sizes2;
        sn_rt_step st2[3];
        memcpy(st2, steps, sizeof steps);
        st2[1].module = 2;
        st2[2] = steps[0];
        st2[2].module = 1; /* the copy: same entry, recomputes step 0 */
        d2.steps = st2;
        d2.nsteps = 3;
        sn_rt_plan *p3 = NULL;
        CHECK_OK(sn_rt_plan_new(d, &d2, &p3, err, sizeof err));
        sn_rt_plan_free(p3);
        free(copy);
    }

    /* Errors. */
    if (d) {
        sn_rt_plan *bad = NULL;
        steps[1].entry = "no_such_kernel";
        CHECK(sn_rt_plan_new(d, &desc, &bad, err, sizeof err) != SN_OK && !bad);
        CHECKF(has_substr(err, "no_such_kernel"), "%s", err);
        steps[1].entry = "silu";

        steps[1].args[1].offset = n * 4 + 4; /* past the output */
        CHECK(sn_rt_plan_new(d, &desc, &bad, err, sizeof err) == SN_ERR_INVALID && !bad);
        CHECKF(has_substr(err, "output"), "%s", err);
        steps[1].args[1].offset = 0;

        steps[1].args[1].index = 3; /* no output 3 */
        CHECK(sn_rt_plan_new(d, &desc, &bad, err, sizeof err) == SN_ERR_INVALID && !bad);
        steps[1].args[1].index = 0;

        steps[1].kind = SN_RT_STEP_ALLREDUCE;
        CHECK(sn_rt_plan_new(d, &desc, &bad, err, sizeof err) == SN_ERR_UNSUPPORTED && !bad);
        CHECKF(has_substr(err, "not supported yet"), "%s", err);
        steps[1].kind = SN_RT_STEP_KERNEL;

        unsigned char junk[256];
        for (int i = 0; i < 256; i++)
            junk[i] = (unsigned char)(i * 37);
        const void *images3[2] = {ia, junk};
        size_t sizes3[2] = {la, sizeof junk};
        sn_rt_plan_desc d3 = desc;
        d3.images = images3;
        d3.image_sizes = sizes3;
        CHECK(sn_rt_plan_new(d, &d3, &bad, err, sizeof err) != SN_OK && !bad);
        printf("junk object image: %s\n", err);

        /* Still fine after all that. */
        if (p) {
            const void *ins[1] = {x};
            void *outs[1] = {y};
            CHECK_OK(sn_rt_plan_run(p, ins, outs, err, sizeof err));
            const void *nul[1] = {NULL};
            CHECK(sn_rt_plan_set_inputs(p, nul, err, sizeof err) == SN_ERR_INVALID);
        }
    }
    sn_rt_plan_free(p);
    sn_rt_device_close(d);
    free(x);
    free(y);
    free(want);
    free(ia);
    free(ib);
}

static void run_gemm_case(sn_rt_device *d, sn_rt_gemm g, const char *what) {
    gemm_extent x = gemm_extent_of(&g);
    int64_t na = x.na, nb = x.nb, nd = x.nd, nbias = x.nbias;
    /* A and bias are weights; B is the input; D lives in the output (so beta reads it). */
    float *w = malloc((size_t)(na + nbias) * 4), *in = malloc((size_t)nb * 4);
    float *d0 = malloc((size_t)nd * 4), *out = malloc((size_t)nd * 4);
    double *want = malloc((size_t)nd * sizeof *want);
    fill_random(w, na + nbias);
    fill_random(in, nb);
    fill_random(d0, nd);
    sn_rt_step s;
    memset(&s, 0, sizeof s);
    s.kind = SN_RT_STEP_GEMM;
    s.gemm = g;
    s.nargs = g.bias ? 4 : 3;
    s.args[0] = (sn_rt_argref){SN_RT_BUF_WEIGHTS, 0, 0};
    s.args[1] = (sn_rt_argref){SN_RT_BUF_INPUT, 0, 0};
    s.args[2] = (sn_rt_argref){SN_RT_BUF_OUTPUT, 0, 0};
    s.args[3] = (sn_rt_argref){SN_RT_BUF_WEIGHTS, 0, na * 4};
    int64_t ib[1] = {nb * 4}, ob[1] = {nd * 4};
    sn_rt_plan_desc desc = {.nsteps = 1,
                            .steps = &s,
                            .weights = w,
                            .weight_bytes = (na + nbias) * 4,
                            .ninputs = 1,
                            .noutputs = 1,
                            .input_bytes = ib,
                            .output_bytes = ob};
    sn_rt_plan *p = NULL;
    CHECK_OK(sn_rt_plan_new(d, &desc, &p, err, sizeof err));
    if (p) {
        /* Plan memory starts zeroed, so the first run sees D = 0 and the second run's beta
         * term reads the first run's result. */
        const void *ins[1] = {in};
        void *outs[1] = {out};
        memset(d0, 0, (size_t)nd * 4);
        for (int rep = 0; rep < 2; rep++) {
            CHECK_OK(sn_rt_plan_run(p, ins, outs, err, sizeof err));
            gemm_ref(&g, w, in, d0, w + na, want);
            double rel = gemm_error(&g, out, want, NULL);
            CHECKF(rel < 1e-5, "%s (run %d): rel L2 %g", what, rep, rel);
            memcpy(d0, out, (size_t)nd * 4);
        }
        sn_rt_plan_free(p);
    }
    free(w);
    free(in);
    free(d0);
    free(out);
    free(want);
}

static void test_gemm(void) {
    sn_rt_device *d;
    CHECK_OK(sn_rt_device_open("cpu", 3, &d, err, sizeof err));
    if (!d)
        return;
    sn_rt_gemm g;
    memset(&g, 0, sizeof g);
    g.m = 33, g.n = 70, g.k = 19;
    g.lda = 19, g.ldb = 70, g.ldd = 70;
    run_gemm_case(d, g, "plain");
    g.trans_a = 1, g.lda = 40; /* A stored k×m */
    g.trans_b = 1, g.ldb = 25; /* B stored n×k */
    g.ldd = 75;
    g.alpha = 0.5f, g.beta = 0.25f;
    run_gemm_case(d, g, "transposed, alpha, beta, ldd > n");
    /* NCHW 1×1 conv, batch 3: D[b] = W · X[b] + bias[co], relu */
    memset(&g, 0, sizeof g);
    g.m = 16, g.n = 9 * 9, g.k = 8;
    g.lda = 8, g.ldb = 81, g.ldd = 81;
    g.batch = 3, g.stride_a = 0, g.stride_b = 8 * 81, g.stride_d = 16 * 81;
    g.bias = SN_RT_GEMM_BIAS_M, g.relu = 1;
    run_gemm_case(d, g, "1x1 conv NCHW");
    /* linear layer: Y = X · Wᵀ + b */
    memset(&g, 0, sizeof g);
    g.m = 5, g.n = 12, g.k = 31;
    g.lda = 31, g.trans_b = 1, g.ldb = 31, g.ldd = 12;
    g.bias = SN_RT_GEMM_BIAS_N;
    run_gemm_case(d, g, "linear");

    /* errors */
    sn_rt_step s;
    memset(&s, 0, sizeof s);
    s.kind = SN_RT_STEP_GEMM;
    s.gemm = g;
    s.nargs = 3; /* needs 4 with a bias */
    int64_t ob[1] = {4096};
    sn_rt_plan_desc desc = {.nsteps = 1, .steps = &s, .noutputs = 1, .output_bytes = ob};
    sn_rt_plan *p = NULL;
    CHECK(sn_rt_plan_new(d, &desc, &p, err, sizeof err) == SN_ERR_INVALID && !p);
    CHECKF(has_substr(err, "bias"), "%s", err);
    s.gemm.bias = SN_RT_GEMM_BIAS_NONE;
    for (int a = 0; a < 3; a++)
        s.args[a] = (sn_rt_argref){SN_RT_BUF_OUTPUT, 0, 0};
    s.gemm.ldb = 3; /* < k for a transposed B */
    CHECK(sn_rt_plan_new(d, &desc, &p, err, sizeof err) == SN_ERR_INVALID && !p);
    CHECKF(has_substr(err, "leading dimension of B"), "%s", err);
    s.gemm.ldb = 31;
    s.gemm.m = 500; /* D does not fit in 4096 bytes */
    CHECK(sn_rt_plan_new(d, &desc, &p, err, sizeof err) == SN_ERR_INVALID && !p);
    CHECKF(has_substr(err, "needs") && has_substr(err, "bytes"), "%s", err);
    s.gemm.m = 5;
    s.gemm.ab_type = s.gemm.d_type = SN_RT_F16;
    CHECK(sn_rt_plan_new(d, &desc, &p, err, sizeof err) == SN_ERR_UNSUPPORTED && !p);
    sn_rt_device_close(d);
}

/* Weights in persistent state: two plans bound to one state (each to its own slot) see a
 * write to their slot at their next run, the state outlives them, and bad ranges, missing
 * slots and weights given beside a state are refused. */
static void test_shared_state(void) {
    size_t la, lb;
    void *ia = compile_object("ka", src_a, &la), *ib = compile_object("kb", src_b, &lb);
    const int64_t n = 1000;
    const void *images[2] = {ia, ib};
    size_t sizes[2] = {la, lb};
    int64_t in_bytes[1] = {n * 4}, out_bytes[1] = {n * 4};
    sn_rt_step steps[2];
    memset(steps, 0, sizeof steps);
    steps[0] = (sn_rt_step){
        .kind = SN_RT_STEP_KERNEL, .module = 0, .entry = "scale_shift", .nargs = 3, .tasks = n};
    steps[0].args[0] = (sn_rt_argref){SN_RT_BUF_INPUT, 0, 0};
    steps[0].args[1] = (sn_rt_argref){SN_RT_BUF_WEIGHTS, 0, 0};
    steps[0].args[2] = (sn_rt_argref){SN_RT_BUF_ARENA, 0, 0};
    steps[1] = (sn_rt_step){
        .kind = SN_RT_STEP_KERNEL, .module = 1, .entry = "silu", .nargs = 2, .tasks = n};
    steps[1].args[0] = (sn_rt_argref){SN_RT_BUF_ARENA, 0, 0};
    steps[1].args[1] = (sn_rt_argref){SN_RT_BUF_OUTPUT, 0, 0};
    sn_rt_device *d = NULL;
    CHECK_OK(sn_rt_device_open("cpu", 2, &d, err, sizeof err));
    sn_rt_state *st = NULL;
    if (d)
        CHECK_OK(sn_rt_state_new(d, &st, err, sizeof err));
    if (!st)
        return;
    int s0 = -1, s1 = -1, sx = -1;
    float w0[2] = {2.5f, -1.0f}, w1[2] = {0.5f, 3.0f}, back[2];
    CHECK_OK(sn_rt_state_add(st, "weights", sizeof w0, &s0, err, sizeof err));
    CHECK_OK(sn_rt_state_add(st, "other", sizeof w1, &s1, err, sizeof err));
    CHECK(s0 == 0 && s1 == 1 && sn_rt_state_find(st, "other") == 1);
    CHECK(sn_rt_state_add(st, "other", 8, &sx, err, sizeof err) == SN_ERR_INVALID);
    CHECK_OK(sn_rt_state_copy(st, s0, 1, 0, w0, sizeof w0, err, sizeof err));
    CHECK_OK(sn_rt_state_copy(st, s1, 1, 0, w1, sizeof w1, err, sizeof err));
    CHECK(sn_rt_state_copy(st, s1, 1, 4, w1, sizeof w1, err, sizeof err) == SN_ERR_INVALID);
    CHECK(sn_rt_state_copy(st, 7, 0, 0, back, 4, err, sizeof err) == SN_ERR_INVALID);
    sn_rt_plan_desc desc = {.nimages = 2,
                            .images = images,
                            .image_sizes = sizes,
                            .nsteps = 2,
                            .steps = steps,
                            .arena_bytes = n * 4,
                            .state = st,
                            .ninputs = 1,
                            .noutputs = 1,
                            .input_bytes = in_bytes,
                            .output_bytes = out_bytes};
    sn_rt_plan *pa = NULL, *pb = NULL, *bad = NULL;
    CHECK_OK(sn_rt_plan_new(d, &desc, &pa, err, sizeof err));
    steps[0].args[1].index = 1; /* plan b reads slot "other" */
    CHECK_OK(sn_rt_plan_new(d, &desc, &pb, err, sizeof err));
    steps[0].args[1].index = 2; /* no such slot */
    CHECK(sn_rt_plan_new(d, &desc, &bad, err, sizeof err) == SN_ERR_INVALID && !bad);
    steps[0].args[1].index = 0;
    desc.weights = w0;
    desc.weight_bytes = sizeof w0;
    CHECK(sn_rt_plan_new(d, &desc, &bad, err, sizeof err) == SN_ERR_INVALID && !bad);
    CHECK(pa && pb && sn_rt_plan_state(pa) == st);
    float *x = malloc((size_t)n * 4), *y = malloc((size_t)n * 4);
    fill_random(x, n);
    const void *ins[1] = {x};
    void *outs[1] = {y};
    /* a, b, then a after its slot was rewritten */
    const float *want_w[3] = {w0, w1, NULL};
    float w2[2] = {-1.0f, 0.25f};
    want_w[2] = w2;
    for (int r = 0; pa && pb && r < 3; r++) {
        if (r == 2)
            CHECK_OK(sn_rt_state_copy(st, s0, 1, 0, w2, sizeof w2, err, sizeof err));
        poison(y, n);
        CHECK_OK(sn_rt_plan_run(r == 1 ? pb : pa, ins, outs, err, sizeof err));
        double worst = 0;
        for (int64_t i = 0; i < n; i++) {
            double v = (double)x[i] * want_w[r][0] + want_w[r][1];
            double e = fabs(y[i] - v / (1.0 + exp(-v)));
            worst = e > worst ? e : worst;
        }
        CHECKF(worst < 1e-5, "shared state run %d: max error %g", r, worst);
    }
    CHECK_OK(sn_rt_state_copy(st, s0, 0, 0, back, sizeof back, err, sizeof err));
    CHECK(back[0] == w2[0] && back[1] == w2[1]);
    sn_rt_plan_free(pa);
    sn_rt_plan_free(pb);
    CHECK_OK(sn_rt_state_copy(st, s1, 0, 0, back, sizeof back, err, sizeof err));
    CHECK(back[0] == w1[0] && back[1] == w1[1]); /* the state outlives its plans */
    sn_rt_state_free(st);
    sn_rt_device_close(d);
    free(x);
    free(y);
    free(ia);
    free(ib);
}

int main(void) {
    tmpdir = make_temp_dir("cpu");
    printf("sn_rt_now: %.3f\n", sn_rt_now());
    test_devices();
    test_two_step_plan(1);
    test_two_step_plan(4);
    test_gemm();
    test_shared_state();
    rm_tree(tmpdir);
    free(tmpdir);
    return check_report("test_rt_cpu");
}
