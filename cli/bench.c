/* cli/bench.c — `sinter bench`: eager and fused side by side, interleaved, after warm-up. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char bench_help[] =
    "usage: sinter bench MODEL [--backend cpu|cuda] [--batch B] [--imgsz S|HxW]\n"
    "                    [--threads N] [--iters N] [--dtype f32|f16|bf16] [--json]\n"
    "\n"
    "Compiles the model twice — eager (one kernel per IR op, no fusion or BN folding) and\n"
    "fused — with the same weights and input, warms both up, then times them interleaved\n"
    "(eager, fused, eager, …) so both see the same machine state. Reports median and p90\n"
    "latency, images/s, peak memory, cold compile time (empty kernel cache) and warm compile\n"
    "time (a second build from the disk cache), and the speed-up = eager median / fused\n"
    "median. Timings are wall-clock per forward pass (execute and wait; CUDA: one graph\n"
    "replay) with the input already on the device, as PyTorch benchmarks time it.\n";

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, int n, double p) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

typedef struct variant {
    sn_fe_model *m;
    sn_eng_compiled c;
    double cold_s, warm_s;
    double *t;
} variant;

/* Builds one variant: cold into an empty cache dir, then warm (disk cache) again. Returns 0,
 * -1 with a message in err, or -2 when the failure was already reported. */
static int build(const sn_cli_opts *o, const sn_eng_build *base, int eager, const char *cache_dir,
                 sn_rt_device *dev, variant *v, char *err, size_t errlen) {
    for (int pass = 0; pass < 2; pass++) {
        sn_fe_model *m = NULL;
        if (sn_cli_load(o, &m) != SN_OK)
            return -2;
        if (sn_cli_check_memory("bench", m, 2) != SN_OK) { /* eager and fused live at once */
            sn_fe_model_free(m);
            return -2;
        }
        if (sn_io_weights_apply(m->graph, o->weights ? o->weights : "random:0", err, errlen) !=
            SN_OK) {
            sn_fe_model_free(m);
            return -1;
        }
        sn_eng_build b = *base;
        b.eager = eager;
        b.cache_dir = cache_dir;
        sn_eng_compiled c;
        double t0 = sn_rt_now();
        if (sn_eng_compile(m->graph, &b, dev, &c, err, errlen) != SN_OK) {
            sn_eng_compiled_free(&c); /* a failed compile may hold a program */
            sn_fe_model_free(m);
            return -1;
        }
        double dt = sn_rt_now() - t0;
        if (pass == 0) {
            v->cold_s = dt;
            sn_eng_compiled_free(&c);
            sn_fe_model_free(m);
        } else {
            v->warm_s = dt;
            v->c = c;
            v->m = m;
        }
    }
    return 0;
}

int sn_cmd_bench(int argc, char **argv) {
    if (sn_cli_help(argc, argv, bench_help))
        return 0;
    sn_cli_opts o;
    if (sn_cli_parse(argc, argv, "bench",
                     "--backend --batch --imgsz --threads --iters --dtype --json --nc --scale "
                     "--weights",
                     &o))
        return 2;
    if (!o.model) {
        fprintf(stderr, "sinter bench: error: no MODEL given\n%s", bench_help);
        return 2;
    }
    sn_eng_build base;
    if (sn_cli_build(&o, "bench", 0, &base))
        return 2;
    const char *backend = base.backend->name;
    int iters = o.iters > 0 ? o.iters : 20;
    char err[4096];
    sn_rt_device *dev = NULL;
    if (sn_rt_device_open(base.backend->device, o.threads, &dev, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter bench: error: %s\n", err);
        return 1;
    }
    char tmpl[] = "/tmp/sinter-bench-cache-XXXXXX";
    char *cache_dir = mkdtemp(tmpl);
    if (!cache_dir) {
        fprintf(stderr, "sinter bench: error: cannot create a temporary cache directory\n");
        sn_rt_device_close(dev);
        return 1;
    }
    variant v[2];
    memset(v, 0, sizeof v);
    int rc = 1;
    float *x = NULL, *y = NULL;
    for (int k = 0; k < 2; k++) {
        int r = build(&o, &base, k == 0, cache_dir, dev, &v[k], err, sizeof err);
        if (r == -1)
            fprintf(stderr, "sinter bench: error: %s\n", err);
        if (r)
            goto done;
    }
    {
        sn_ir_graph *g = v[1].m->graph;
        int64_t nin = (int64_t)v[1].m->batch * 3 * v[1].m->height * v[1].m->width;
        int64_t nout = sn_shape_numel(&g->nodes[g->outputs[0]].shape);
        x = malloc((size_t)nin * sizeof *x);
        y = malloc((size_t)nout * sizeof *y);
        if (!x || !y) {
            fprintf(stderr,
                    "sinter bench: error: out of memory for the input and output "
                    "(%lld + %lld floats)\n",
                    (long long)nin, (long long)nout);
            goto done;
        }
        uint64_t s = 0x9e3779b97f4a7c15ull;
        for (int64_t i = 0; i < nin; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            x[i] = (float)((s >> 40) & 0xffffff) / 16777216.0f;
        }
        const void *ins[1] = {x};
        void *outs[1] = {y};
        for (int k = 0; k < 2; k++) {
            v[k].t = calloc((size_t)iters, sizeof(double));
            if (!v[k].t) {
                fprintf(stderr, "sinter bench: error: out of memory for %d timings\n", iters);
                goto done;
            }
            /* The input stays on the device, as in PyTorch benchmarks; one full run with
             * copies first checks the plan end to end. */
            if (sn_rt_plan_run(v[k].c.plan, ins, outs, err, sizeof err) != SN_OK ||
                sn_rt_plan_set_inputs(v[k].c.plan, ins, err, sizeof err) != SN_OK) {
                fprintf(stderr, "sinter bench: error: %s\n", err);
                goto done;
            }
            for (int w = 0; w < 3; w++)
                if (sn_rt_plan_execute(v[k].c.plan, err, sizeof err) != SN_OK) {
                    fprintf(stderr, "sinter bench: error: %s\n", err);
                    goto done;
                }
        }
        for (int it = 0; it < iters; it++)
            for (int k = 0; k < 2; k++) {
                double t0 = sn_rt_now();
                if (sn_rt_plan_execute(v[k].c.plan, err, sizeof err) != SN_OK) {
                    fprintf(stderr, "sinter bench: error: %s\n", err);
                    goto done;
                }
                v[k].t[it] = sn_rt_now() - t0;
            }
    }
    {
        const char *names[2] = {"eager", "fused"};
        double med[2], p90[2];
        for (int k = 0; k < 2; k++) {
            med[k] = pct(v[k].t, iters, 0.5) * 1e3;
            p90[k] = pct(v[k].t, iters, 0.9) * 1e3;
        }
        int batch = v[1].m->batch;
        if (o.json) {
            printf("{\"model\": \"%s\", \"backend\": \"%s\", \"device\": \"%s\", \"batch\": %d, "
                   "\"imgsz\": [%d, %d], \"threads\": %d, \"iters\": %d",
                   v[1].m->name, backend, sn_rt_device_name(dev), batch, v[1].m->height,
                   v[1].m->width, o.threads, iters);
            for (int k = 0; k < 2; k++)
                printf(", \"%s\": {\"median_ms\": %.4f, \"p90_ms\": %.4f, \"images_per_s\": "
                       "%.2f, \"kernels\": %d, \"peak_bytes\": %lld, \"compile_cold_s\": %.4f, "
                       "\"compile_warm_s\": %.4f}",
                       names[k], med[k], p90[k], batch * 1e3 / med[k], v[k].c.kernels,
                       (long long)v[k].c.peak_bytes, v[k].cold_s, v[k].warm_s);
            printf(", \"speedup\": %.3f}\n", med[0] / med[1]);
        } else {
            printf("%s, batch %d, %dx%d on %s, %d iterations (interleaved, after warm-up)\n",
                   v[1].m->name, batch, v[1].m->height, v[1].m->width, sn_rt_device_name(dev),
                   iters);
            printf("%-6s %8s %11s %9s %10s %9s %12s %12s\n", "", "kernels", "median ms", "p90 ms",
                   "images/s", "peak MiB", "cold compile", "warm compile");
            for (int k = 0; k < 2; k++)
                printf("%-6s %8d %11.3f %9.3f %10.1f %9.1f %10.3f s %10.3f s\n", names[k],
                       v[k].c.kernels, med[k], p90[k], batch * 1e3 / med[k],
                       v[k].c.peak_bytes / 1048576.0, v[k].cold_s, v[k].warm_s);
            printf("speed-up (eager median / fused median): %.2fx\n", med[0] / med[1]);
        }
    }
    rc = 0;
done:
    for (int k = 0; k < 2; k++) {
        sn_eng_compiled_free(&v[k].c);
        sn_fe_model_free(v[k].m);
        free(v[k].t);
    }
    free(x);
    free(y);
    sn_rt_device_close(dev);
    {
        /* remove the temporary cache */
        sn_rt_cache *c = NULL;
        char e2[256];
        if (sn_rt_cache_open(cache_dir, &c, e2, sizeof e2) == SN_OK) {
            sn_rt_cache_clear(c, e2, sizeof e2);
            sn_rt_cache_close(c);
        }
        rmdir(cache_dir);
    }
    return rc;
}
