/* tests/codegen_cpu/bench_model_cpu.c — one zoo model through the passes and the CPU codegen, every
 * kernel timed on one thread (or its tasks spread over SN_BENCH_THREADS threads of a spinning pool
 * like the runtime's), a breakdown per kernel class. Not a test: numbers, never assertions.
 *
 *   bench_model_cpu [model=yolov8n] [size=640] [eager=0] [reps=5]
 *   SN_BENCH_LIST=1  every kernel: best time, conv GFLOP/s (direct-conv MACs), tunables
 *   SN_BENCH_TOP=N   the N slowest kernels
 *   SN_BENCH_SPEC=S  print the spec of kernels whose name contains S
 */
#include "codegen/codegen_int.h"
#include "frontend/frontend.h"
#include "io/io.h"
#include "passes/passes.h"
#include "tests/codegen_cpu/cg_harness.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*kfn)(void **args, int64_t begin, int64_t end);

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A spinning pool like runtime/pool.c (chunks of tasks / (4 · threads) from an atomic
 * cursor), so short kernels are not charged a thread start per launch. */
static struct {
    kfn fn;
    void **args;
    int64_t tasks, chunk;
    _Alignas(64) atomic_llong cursor;
    _Alignas(64) atomic_int done;
    _Alignas(64) atomic_uint gen;
    atomic_int quit;
} pool;

static void pool_chunks(void) {
    for (;;) {
        int64_t b = atomic_fetch_add(&pool.cursor, pool.chunk);
        if (b >= pool.tasks)
            break;
        pool.fn(pool.args, b, b + pool.chunk < pool.tasks ? b + pool.chunk : pool.tasks);
    }
}

static void *pool_worker(void *arg) {
    (void)arg;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        for (int spin = 0; (g = atomic_load(&pool.gen)) == seen; spin++)
            if (spin > 1000)
                sched_yield(); /* a shared machine: do not hold a CPU someone needs */
        seen = g;
        if (atomic_load(&pool.quit))
            return NULL;
        pool_chunks();
        atomic_fetch_add(&pool.done, 1);
    }
}

static void pool_run(int nt, kfn fn, void **args, int64_t tasks) {
    pool.fn = fn;
    pool.args = args;
    pool.tasks = tasks;
    pool.chunk = tasks / (4 * nt) > 1 ? tasks / (4 * nt) : 1;
    atomic_store(&pool.cursor, 0);
    atomic_store(&pool.done, 0);
    atomic_fetch_add(&pool.gen, 1);
    pool_chunks();
    for (int spin = 0; atomic_load(&pool.done) < nt - 1; spin++)
        if (spin > 1000)
            sched_yield();
}

int main(int argc, char **argv) {
    const char *model = argc > 1 ? argv[1] : "yolov8n";
    int size = argc > 2 ? atoi(argv[2]) : 640, eager = argc > 3 ? atoi(argv[3]) : 0;
    int reps = argc > 4 ? atoi(argv[4]) : 5;
    const char *tv = getenv("SN_BENCH_THREADS");
    int nt = tv ? atoi(tv) : 1;
    if (nt < 1)
        nt = 1;
    sn_fe_options fo;
    sn_fe_options_default(&fo);
    fo.height = fo.width = size;
    sn_fe_model *m = NULL;
    if (sn_fe_model_load(model, &fo, &m))
        return 1;
    sn_io_weights_random(m->graph, 1);
    sn_pass_options po;
    sn_pass_options_default(&po, eager);
    po.layout = SN_PASS_LAYOUT_NHWC;
    char err[1024];
    if (sn_pass_run_all(m->graph, &po, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    sn_cg_program *p = NULL;
    if (sn_cg_lower(m->graph, cgt_target(), &p, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const char *show = getenv("SN_BENCH_SPEC"); /* print the spec of kernels with this name */
    for (int i = 0; show && i < p->nkernels; i++)
        if (strstr(p->kernels[i].name, show))
            printf("%s\n%s\n", p->kernels[i].comment, p->kernels[i].spec);
    kfn *fns = calloc((size_t)p->nkernels, sizeof *fns);
    double tc = now();
    for (int i = 0; i < p->nkernels; i++) {
        sn_cg_kernel *k = &p->kernels[i];
        void *addr = cgt_jit_find(k->spec);
        if (!addr) {
            void *obj;
            size_t len;
            if (sn_cg_cpu_compile(k, cgt_target(), 0, &obj, &len, err, sizeof err)) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            addr = cgt_jit_load(obj, len, k->name, k->spec);
            free(obj);
        }
        memcpy(&fns[i], &addr, sizeof addr);
    }
    tc = now() - tc;
    float *arena = aligned_alloc(64, (size_t)(p->arena_bytes / 64 + 2) * 64);
    float *in = malloc((size_t)p->input_bytes[0]), *out = malloc((size_t)p->output_bytes[0]);
    cgt_fill(in, p->input_bytes[0] / 4, 0, 1);
    double *best = malloc(sizeof(double) * (size_t)p->nkernels);
    for (int i = 0; i < p->nkernels; i++)
        best[i] = 1e30;
    double total_best = 1e30;
    pthread_t th[64];
    if (nt > 64)
        nt = 64;
    for (int t = 1; t < nt; t++)
        pthread_create(&th[t], NULL, pool_worker, NULL);
    for (int r = 0; r < reps; r++) {
        double tot = 0;
        for (int i = 0; i < p->nkernels; i++) {
            sn_cg_kernel *k = &p->kernels[i];
            void *args[SN_CG_MAX_ARGS];
            for (int a = 0; a < k->nargs; a++) {
                char *base = k->args[a].kind == SN_CG_ARG_ARENA     ? (char *)arena
                             : k->args[a].kind == SN_CG_ARG_WEIGHTS ? (char *)p->weights
                             : k->args[a].kind == SN_CG_ARG_INPUT   ? (char *)in
                                                                    : (char *)out;
                args[a] = base + k->args[a].offset;
            }
            double t0 = now();
            if (nt == 1)
                fns[i](args, 0, k->tasks);
            else
                pool_run(nt, fns[i], args, k->tasks);
            double dt = now() - t0;
            tot += dt;
            if (dt < best[i])
                best[i] = dt;
        }
        if (tot < total_best)
            total_best = tot;
    }
    atomic_store(&pool.quit, 1);
    atomic_fetch_add(&pool.gen, 1);
    for (int t = 1; t < nt; t++)
        pthread_join(th[t], NULL);
    /* per class */
    static const char *cls[] = {"conv",     "dwconv",  "matmul", "pointwise", "maxpool",
                                "upsample", "softmax", "reduce", "concat",    "reshape"};
    double per[16] = {0};
    int cnt[16] = {0};
    double sumbest = 0;
    for (int i = 0; i < p->nkernels; i++) {
        sn_cg_cpu_impl *ki = p->kernels[i].impl;
        per[ki->cls] += best[i];
        cnt[ki->cls]++;
        sumbest += best[i];
    }
    int64_t macs = sn_ir_count_conv_macs(m->graph);
    printf("%s @%d %s, %d thread(s): %d kernels, compile %.1f s; best run %.2f ms, sum of "
           "per-kernel bests %.2f ms; conv %.2f GFLOP -> %.1f GFLOP/s overall\n",
           model, size, eager ? "eager" : "fused", nt, p->nkernels, tc, total_best * 1e3,
           sumbest * 1e3, 2e-9 * (double)macs, 2.0 * (double)macs / sumbest * 1e-9);
    for (int c = 0; c < 10; c++)
        if (cnt[c])
            printf("  %-10s %3d kernels %8.2f ms (%4.1f%%)\n", cls[c], cnt[c], per[c] * 1e3,
                   100 * per[c] / sumbest);
    if (getenv("SN_BENCH_LIST")) { /* every kernel in order: time, conv GFLOP/s, tunables */
        for (int i = 0; i < p->nkernels; i++) {
            const sn_cg_kernel *k = &p->kernels[i];
            const sn_cg_cpu_impl *ki = k->impl;
            const sn_cg_conv *cv = &ki->conv;
            double gf = 0;
            if (ki->cls == SN_CG_CPU_CONV || ki->cls == SN_CG_CPU_DWCONV)
                gf = 2.0 *
                     (double)(cv->n * cv->o * cv->oh * cv->ow * cv->kh * cv->kw *
                              (cv->c / cv->groups)) /
                     best[i] * 1e-9;
            printf("  %3d %8.3f ms %6.1f GF/s  %-40s tasks %4lld pix %d vec %d flat %d wino %d\n",
                   i, best[i] * 1e3, gf, k->name, (long long)k->tasks, ki->blk_pix, ki->blk_vec,
                   ki->flat, ki->wino);
        }
    }
    if (getenv("SN_BENCH_TOP")) {
        int top = atoi(getenv("SN_BENCH_TOP"));
        for (int t = 0; t < top; t++) {
            int bi = -1;
            for (int i = 0; i < p->nkernels; i++)
                if (best[i] >= 0 && (bi < 0 || best[i] > best[bi]))
                    bi = i;
            if (bi < 0)
                break;
            printf("  %8.3f ms  %s (tasks %lld)\n", best[bi] * 1e3, p->kernels[bi].name,
                   (long long)p->kernels[bi].tasks);
            best[bi] = -1;
        }
    }
    cgt_jit_reset();
    return 0;
}
