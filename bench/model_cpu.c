/* bench/model_cpu.c — one zoo model through the passes and the CPU codegen, every kernel
 * timed on one thread (or its task range split over SN_BENCH_THREADS threads), a breakdown
 * per kernel class. Not a test: numbers, never assertions.
 *
 *   bench_model_cpu [model=yolov8n] [size=640] [eager=0] [reps=5]
 */
#include "codegen/codegen_int.h"
#include "frontend/frontend.h"
#include "passes/passes.h"
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

typedef struct job {
    kfn fn;
    void **args;
    int64_t b, e;
} job;
static void *run_job(void *p) {
    job *j = p;
    j->fn(j->args, j->b, j->e);
    return NULL;
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
    sn_fe_weights_random(m->graph, 1);
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
            if (nt == 1) {
                fns[i](args, 0, k->tasks);
            } else {
                pthread_t th[64];
                job jobs[64];
                for (int t = 0; t < nt; t++) {
                    jobs[t] = (job){fns[i], args, k->tasks * t / nt, k->tasks * (t + 1) / nt};
                    pthread_create(&th[t], NULL, run_job, &jobs[t]);
                }
                for (int t = 0; t < nt; t++)
                    pthread_join(th[t], NULL);
            }
            double dt = now() - t0;
            tot += dt;
            if (dt < best[i])
                best[i] = dt;
        }
        if (tot < total_best)
            total_best = tot;
    }
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
