/* tests/codegen_cpu/bench_conv_cpu.c — GFLOP/s of Sinter's CPU conv kernels on YOLO-like shapes, 1
 * and 2 threads (or SN_BENCH_THREADS). Not a test: numbers, never assertions.
 *
 *   bench_conv_cpu [reps]
 *
 * Each case is a graph x → relu (writes an NHWC arena value) → conv [+ silu]; only the conv
 * kernel is timed, called over its task range split evenly across threads, best of `reps`.
 * Optional overrides for tuning experiments: SN_BENCH_PIX, SN_BENCH_VEC, SN_BENCH_UNROLL
 * (register block and unroll of the conv kernel; the spec is re-rendered with them). */
#include "codegen/codegen_int.h"
#include "tests/codegen_cpu/cg_harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*kfn)(void **args, int64_t begin, int64_t end);

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct worker {
    pthread_t th;
    pthread_barrier_t *bar;
    kfn fn;
    void **args;
    int64_t b, e;
    int reps;
    double dt[256];
} worker;

static void *work(void *p) {
    worker *w = p;
    for (int r = 0; r < w->reps; r++) {
        pthread_barrier_wait(w->bar);
        double a = now();
        w->fn(w->args, w->b, w->e);
        if (r < 256)
            w->dt[r] = now() - a;
        pthread_barrier_wait(w->bar);
    }
    return NULL;
}

static int64_t envi(const char *k, int64_t d) {
    const char *v = getenv(k);
    return v && *v ? atoll(v) : d;
}

static void bench(const char *what, int64_t c, int64_t h, int64_t w, int64_t o, int64_t k,
                  int64_t s, int64_t groups, int reps) {
    char err[512] = "";
    sn_ir_graph *g = sn_ir_graph_new();
    sn_shape xs = cgt_shape(4, (int64_t[]){1, c, h, w});
    int32_t x = sn_ir_input(g, "x", &xs);
    int32_t xr =
        sn_ir_add(g, SN_OP_RELU, &x, 1, NULL, 0, NULL, 0, NULL, SN_DTYPE_F32, err, sizeof err);
    sn_shape ws = cgt_shape(4, (int64_t[]){o, c / groups, k, k});
    sn_shape bs = cgt_shape(1, (int64_t[]){o});
    int32_t in[3] = {xr, sn_ir_param(g, "w", &ws, SN_IR_INIT_CONV_WEIGHT),
                     sn_ir_param(g, "b", &bs, SN_IR_INIT_CONV_BIAS)};
    int64_t ia[7] = {s, s, k / 2, k / 2, 1, 1, groups};
    int32_t y =
        sn_ir_add(g, SN_OP_CONV2D, in, 3, ia, 7, NULL, 0, NULL, SN_DTYPE_F32, err, sizeof err);
    int32_t z =
        sn_ir_add(g, SN_OP_SILU, &y, 1, NULL, 0, NULL, 0, NULL, SN_DTYPE_F32, err, sizeof err);
    int32_t z2 =
        sn_ir_add(g, SN_OP_RELU, &z, 1, NULL, 0, NULL, 0, NULL, SN_DTYPE_F32, err, sizeof err);
    sn_ir_mark_output(g, z2);
    g->nodes[y].group = z;
    g->nodes[z].group = z;
    cgt_random_params(g);
    cgt_plan(g, 1);
    sn_cg_program *p = NULL;
    if (sn_cg_lower(g, cgt_target(), &p, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", what, err);
        exit(1);
    }
    sn_cg_kernel *kc = &p->kernels[1];
    sn_cg_cpu_impl *ki = kc->impl;
    int64_t pix = envi("SN_BENCH_PIX", 0), vec = envi("SN_BENCH_VEC", 0),
            unr = envi("SN_BENCH_UNROLL", 0);
    if (pix || vec || unr) {
        if (vec && vec != ki->blk_vec) {
            fprintf(stderr, "SN_BENCH_VEC changes the weight packing; not supported here\n");
            exit(1);
        }
        if (pix)
            ki->blk_pix = (int)pix;
        if (unr)
            ki->unroll = (int)unr;
        free(kc->spec);
        kc->spec = sn_cg_cpu_spec(ki);
    }
    void *obj = NULL;
    size_t len = 0;
    double t0 = now();
    if (sn_cg_cpu_compile(kc, cgt_target(), 0, &obj, &len, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", what, err);
        exit(1);
    }
    double tcomp = now() - t0;
    void *addr = cgt_jit_load(obj, len, kc->name, kc->spec);
    free(obj);
    kfn fn;
    memcpy(&fn, &addr, sizeof fn);
    float *arena = aligned_alloc(64, (size_t)(p->arena_bytes + 64));
    cgt_fill(arena, p->arena_bytes / 4, -1, 1);
    float *outb = malloc((size_t)p->output_bytes[0]);
    void *args[SN_CG_MAX_ARGS];
    for (int a = 0; a < kc->nargs; a++) {
        char *base = kc->args[a].kind == SN_CG_ARG_ARENA     ? (char *)arena
                     : kc->args[a].kind == SN_CG_ARG_WEIGHTS ? (char *)p->weights
                                                             : (char *)outb;
        args[a] = base + kc->args[a].offset;
    }
    double flops =
        2.0 * (double)o * (double)(c / groups) * (double)(k * k) * (double)((h / s) * (w / s));
    int maxt = (int)envi("SN_BENCH_THREADS", 2);
    if (getenv("SN_BENCH_DEBUG")) {
        fprintf(stderr, "%s\n", kc->spec);
        double a = now();
        fn(args, 0, kc->tasks);
        fprintf(stderr, "one call: %.3f ms\n", (now() - a) * 1e3);
    }
    printf("%-34s tasks %4lld blk %dx%d unroll %d compile %.0f ms:", what, (long long)kc->tasks,
           ki->blk_pix, ki->blk_vec, ki->unroll, tcomp * 1e3);
    for (int nt = 1; nt <= maxt; nt++) {
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, (unsigned)nt + 1);
        worker ws_[16];
        for (int t = 0; t < nt; t++) {
            ws_[t] = (worker){.bar = &bar,
                              .fn = fn,
                              .args = args,
                              .reps = reps + 1,
                              .b = kc->tasks * t / nt,
                              .e = kc->tasks * (t + 1) / nt};
            pthread_create(&ws_[t].th, NULL, work, &ws_[t]);
        }
        for (int r = 0; r < reps + 1; r++) {
            pthread_barrier_wait(&bar);
            pthread_barrier_wait(&bar);
        }
        for (int t = 0; t < nt; t++)
            pthread_join(ws_[t].th, NULL);
        /* a rep takes as long as its slowest thread; best rep, the first one warms up */
        double best = 1e30;
        for (int r = 1; r < reps + 1 && r < 256; r++) {
            double dt = 0;
            for (int t = 0; t < nt; t++)
                if (ws_[t].dt[r] > dt)
                    dt = ws_[t].dt[r];
            if (dt < best)
                best = dt;
        }
        pthread_barrier_destroy(&bar);
        printf("  %dT %7.1f GFLOP/s (%.3f ms)", nt, flops / best * 1e-9, best * 1e3);
    }
    printf("\n");
    free(arena);
    free(outb);
    sn_cg_program_free(p);
    sn_ir_graph_free(g);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    printf("target %s, vector bits %d\n", cgt_target()->cpu_name, cgt_target()->vector_bits);
    bench("conv3x3 64->64 @80x80 (v8n)", 64, 80, 80, 64, 3, 1, 1, reps);
    bench("conv3x3 s2 64->128 @80x80", 64, 80, 80, 128, 3, 2, 1, reps);
    bench("conv3x3 64->80 @80x80 (v8n cls head)", 64, 80, 80, 80, 3, 1, 1, reps);
    bench("conv1x1 128->128 @40x40", 128, 40, 40, 128, 1, 1, 1, reps);
    bench("conv3x3 32->32 @160x160", 32, 160, 160, 32, 3, 1, 1, reps);
    bench("conv3x3 s2 3->16 @640 (stem, nhwc)", 3, 640, 640, 16, 3, 2, 1, reps / 4 + 1);
    bench("conv3x3 256->256 @20x20", 256, 20, 20, 256, 3, 1, 1, reps);
    bench("dwconv3x3 128 @40x40", 128, 40, 40, 128, 3, 1, 128, reps);
    cgt_jit_reset();
    return 0;
}
