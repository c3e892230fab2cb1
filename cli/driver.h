/* cli/driver.h — model → passes → codegen → kernel cache → runtime plan, for the commands
 * that compile (compile, run, bench). The pass order itself lives in passes/pipeline.c. */
#ifndef SN_CLI_DRIVER_H
#define SN_CLI_DRIVER_H

#include "cli/cli.h"
#include "codegen/codegen.h"
#include "runtime/runtime.h"

typedef struct sn_drv_build {
    const char *backend; /* "cpu" | "cuda" */
    int eager;
    sn_dtype dtype;
    int arch; /* cuda: sm; 0 = the device's */
    int threads;
    const char *dump_dir;
    const char *cache_dir; /* NULL = default */
    int no_device;         /* compile only (cuda without a GPU) */
} sn_drv_build;

/* The build the command-line options ask for on backend: --eager, --dtype (default f32),
 * --arch, --threads, --dump; no cache_dir (the default), no_device 0. */
sn_drv_build sn_drv_build_of(const sn_cli_opts *o, const char *backend);

typedef struct sn_drv_compiled {
    sn_cg_program *prog;
    sn_rt_device *dev; /* borrowed from the caller, or NULL (compile only) */
    sn_rt_plan *plan;  /* NULL when compile only */
    int ir_ops;        /* compute ops before passes */
    int kernels;
    int unique_images;
    int64_t hits, misses, corrupt;
    int64_t peak_bytes; /* arena */
    int64_t weight_bytes;
    double t_passes, t_codegen, t_compile, t_plan; /* seconds */
    double t_ready;                                /* sn_rt_now() when the plan was ready to run */
} sn_drv_compiled;

/* Compiles g (consumed: the passes edit it) for b. dev may be NULL for compile-only. */
sn_status sn_drv_compile(sn_ir_graph *g, const sn_drv_build *b, sn_rt_device *dev,
                         sn_drv_compiled *out, char *err, size_t errlen);
void sn_drv_compiled_free(sn_drv_compiled *c);

#endif
