/* cli/compile.c — `sinter compile`: compile a model, report what was made and what it cost. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char compile_help[] =
    "usage: sinter compile MODEL [--backend cpu|cuda] [--batch B] [--imgsz S|HxW] [--eager]\n"
    "                      [--dtype f32|f16|bf16] [--arch sm_XX] [--threads N] [--nc N]\n"
    "                      [--dump DIR] [--json]\n"
    "\n"
    "Runs the pass pipeline, generates one kernel per fused group, compiles each through the\n"
    "kernel cache ($SINTER_CACHE_DIR) and builds the execution plan. Prints the kernels, the\n"
    "compile time of each phase, cache hits and misses and the planned peak memory.\n"
    "  --backend cuda  works without a GPU: every kernel is compiled through NVRTC for\n"
    "                  --arch (default: the device's, or sm_90 when there is none)\n"
    "  --dump DIR      writes the IR after each pass and every kernel's source\n"
    "  --json          one JSON object: kernels, ir_ops, compile_s (process start to\n"
    "                  ready-to-run), cache {hits, misses}, peak_bytes, phases, kernel_list\n";

int sn_cmd_compile(int argc, char **argv) {
    if (sn_cli_help(argc, argv, compile_help))
        return 0;
    sn_cli_opts o;
    if (sn_cli_parse(argc, argv, "compile",
                     "--backend --batch --imgsz --eager --dtype --arch --threads --nc --scale "
                     "--dump --json --weights",
                     &o))
        return 2;
    if (!o.model) {
        fprintf(stderr, "sinter compile: error: no MODEL given\n%s", compile_help);
        return 2;
    }
    sn_eng_build b;
    if (sn_cli_build(&o, "compile", 0, &b))
        return 2;
    const char *backend = b.backend->name;
    char err[4096];
    double t_load0 = sn_rt_now();
    sn_fe_model *m = NULL;
    if (sn_cli_load(&o, &m) != SN_OK)
        return 1;
    if (sn_cli_check_memory("compile", m, 1) != SN_OK) {
        sn_fe_model_free(m);
        return 1;
    }
    int rc = 1;
    sn_rt_device *dev = NULL;
    sn_eng_compiled c;
    memset(&c, 0, sizeof c);
    if (sn_io_weights_apply(m->graph, o.weights ? o.weights : "random:0", err, sizeof err) !=
        SN_OK) {
        fprintf(stderr, "sinter compile: error: %s\n", err);
        goto done;
    }
    double t_load = sn_rt_now() - t_load0;
    /* without the device (a CPU machine compiling for cuda) the kernels are compiled only */
    int have_dev = sn_rt_device_present(b.backend->device);
    if (have_dev &&
        sn_rt_device_open(b.backend->device, o.threads, &dev, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter compile: error: %s\n", err);
        goto done;
    }
    if (sn_eng_compile(m->graph, &b, dev, &c, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter compile: error: %s\n", err);
        goto done;
    }
    double total = c.t_ready - sn_cli_t0;
    int arch = c.target.sm;
    const char *dt = o.dtype ? o.dtype : "f32";
    if (o.json) {
        printf("{\"model\": \"%s\", \"backend\": \"%s\", \"dtype\": \"%s\", \"arch\": %d, "
               "\"eager\": %s, \"batch\": %d, \"imgsz\": [%d, %d], \"device\": %s, "
               "\"kernels\": %d, \"unique_kernels\": %d, \"ir_ops\": %d, \"compile_s\": %.4f, "
               "\"phases\": {\"load_s\": %.4f, \"passes_s\": %.4f, \"codegen_s\": %.4f, "
               "\"compile_s\": %.4f, \"plan_s\": %.4f}, "
               "\"cache\": {\"hits\": %lld, \"misses\": %lld, \"corrupt\": %lld}, "
               "\"peak_bytes\": %lld, \"weight_bytes\": %lld, \"kernel_list\": [",
               m->name, backend, dt, arch, o.eager ? "true" : "false", m->batch, m->height,
               m->width, dev ? "true" : "false", c.kernels, c.unique_images, c.ir_ops, total,
               t_load, c.t_passes, c.t_codegen, c.t_compile, c.t_plan, (long long)c.hits,
               (long long)c.misses, (long long)c.corrupt, (long long)c.peak_bytes,
               (long long)c.weight_bytes);
        for (int i = 0; i < c.prog->nsteps; i++) {
            const sn_cg_step *s = &c.prog->steps[i];
            if (s->kind == SN_RT_STEP_GEMM)
                printf("%s{\"name\": \"%s\", \"ops\": 1, \"library\": \"gemm\"}", i ? ", " : "",
                       s->name);
            else
                printf("%s{\"name\": \"%s\", \"ops\": %d}", i ? ", " : "",
                       c.prog->kernels[s->kernel].name, c.prog->kernels[s->kernel].nops);
        }
        printf("], \"library_steps\": %d}\n", c.library_steps);
    } else {
        printf("%s (%s, %dx%d, batch %d) on %s%s, %s%s\n", m->name, m->path, m->height, m->width,
               m->batch, backend, "", dt, o.eager ? ", eager" : "");
        if (arch)
            printf("target: sm_%d%s\n", arch, dev ? "" : " (no GPU: compile only)");
        printf("%4s %-48s %s\n", "#", "kernel", "ops");
        for (int i = 0; i < c.prog->nsteps; i++) {
            const sn_cg_step *s = &c.prog->steps[i];
            if (s->kind != SN_RT_STEP_KERNEL)
                printf("%4d %-48s 1 (%s)\n", i, s->name,
                       s->kind == SN_RT_STEP_GEMM ? "library GEMM" : "host function");
            else
                printf("%4d %-48s %d\n", i, c.prog->kernels[s->kernel].name,
                       c.prog->kernels[s->kernel].nops);
        }
        printf("\n%d IR ops -> %d kernels (%d distinct)", c.ir_ops, c.kernels, c.unique_images);
        if (c.library_steps)
            printf(" + %d library GEMMs (cuBLASLt)", c.library_steps);
        printf("\n");
        printf("compile: load %.3f s, passes %.3f s, codegen %.3f s, compile %.3f s, "
               "plan %.3f s; total %.3f s from process start\n",
               t_load, c.t_passes, c.t_codegen, c.t_compile, c.t_plan, total);
        printf("cache: %lld hits, %lld misses%s\n", (long long)c.hits, (long long)c.misses,
               c.corrupt ? " (corrupt entries were recompiled)" : "");
        printf("memory: peak arena %.2f MiB, weights %.2f MiB\n", c.peak_bytes / 1048576.0,
               c.weight_bytes / 1048576.0);
        if (o.dump_dir)
            printf("dump: %s\n", o.dump_dir);
    }
    rc = 0;
done:
    sn_eng_compiled_free(&c);
    sn_rt_device_close(dev);
    sn_fe_model_free(m);
    return rc;
}
