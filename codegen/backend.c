/* codegen/backend.c — the backend table: one row per code generator (see codegen.h).
 *
 * cpu: LLVM IR through the LLVM C API (cpu_*.c), f32, NHWC; the cache key covers the kernel's
 * spec (its LLVM IR follows from it) and the host CPU's name and features.
 * cuda: CUDA C text (cuda_*.c) compiled by NVRTC (the runtime's wrapper), f32/f16/bf16, NHWC;
 * the cache key covers the source and the sm, dtype and TF32 choice. */
#include "codegen/cuda_int.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- cpu */

static sn_status cpu_target(sn_cg_target *t, sn_dtype dtype, int sm, char *err, size_t errlen) {
    (void)sm;
    sn_status st = sn_cg_target_host_cpu(t, err, errlen);
    if (st == SN_OK)
        t->dtype = dtype;
    return st;
}

static void cpu_target_id(const sn_cg_target *t, char *buf, size_t n) {
    snprintf(buf, n, "cpu %s %s v%d", t->cpu_name, t->cpu_features, t->vector_bits);
}

static const char *cpu_key_text(const sn_cg_kernel *k) { return k->spec; }

static sn_status cpu_compile(sn_cg_kernel *k, const sn_cg_target *t, void **image, size_t *len,
                             char *err, size_t errlen) {
    return sn_cg_cpu_compile(k, t, 0, image, len, err, errlen);
}

static sn_status cpu_fill_source(sn_cg_kernel *k, const sn_cg_target *t, char *err, size_t errlen) {
    if (k->source)
        return SN_OK;
    void *obj = NULL;
    size_t len = 0;
    sn_status st = sn_cg_cpu_compile(k, t, 1, &obj, &len, err, errlen);
    free(obj);
    return st;
}

const sn_cg_backend sn_cg_backend_cpu = {
    .name = "cpu",
    .device = "cpu",
    .dtypes = SN_CG_DTYPE_BIT(SN_DTYPE_F32),
    .dump_ext = ".ll",
    .narrow_storage = 0,
    .target = cpu_target,
    .render = sn_cg_cpu_render_group,
    .rename = sn_cg_cpu_rename,
    .compiler_id = sn_cg_cpu_compiler_id,
    .target_id = cpu_target_id,
    .key_text = cpu_key_text,
    .compile = cpu_compile,
    .fill_source = cpu_fill_source,
    .library_step = sn_cg_cpu_library_step,
    .configs = NULL,
};

/* ---------------------------------------------------------------- cuda */

static sn_status cuda_target(sn_cg_target *t, sn_dtype dtype, int sm, char *err, size_t errlen) {
    (void)err;
    (void)errlen;
    sn_cg_target_cuda(t, sm > 0 ? sm : 90, dtype);
    return SN_OK;
}

static const char *cuda_compiler_id(void) {
    const char *v = sn_rt_nvrtc_version();
    return v ? v : "nvrtc?";
}

static void cuda_target_id(const sn_cg_target *t, char *buf, size_t n) {
    snprintf(buf, n, "cuda sm_%d dtype=%s tf32=%d", t->sm, sn_dtype_name(t->dtype), t->allow_tf32);
}

static const char *cuda_key_text(const sn_cg_kernel *k) { return k->source ? k->source : k->spec; }

static sn_status cuda_compile(sn_cg_kernel *k, const sn_cg_target *t, void **image, size_t *len,
                              char *err, size_t errlen) {
    int is_ptx = 0;
    return sn_rt_nvrtc_compile(k->source, k->name, t->sm, NULL, 0, image, len, &is_ptx, err,
                               errlen);
}

const sn_cg_backend sn_cg_backend_cuda = {
    .name = "cuda",
    .device = "cuda",
    .dtypes = SN_CG_DTYPE_BIT(SN_DTYPE_F32) | SN_CG_DTYPE_BIT(SN_DTYPE_F16) |
              SN_CG_DTYPE_BIT(SN_DTYPE_BF16),
    .dump_ext = ".cu",
    .narrow_storage = 1,
    .target = cuda_target,
    .render = sn_cg_cuda_render_group,
    .rename = sn_cg_cuda_rename,
    .compiler_id = cuda_compiler_id,
    .target_id = cuda_target_id,
    .key_text = cuda_key_text,
    .compile = cuda_compile,
    .fill_source = NULL,
    .library_step = sn_cg_cuda_gemm,
    .configs = NULL,
};

/* ---------------------------------------------------------------- lookup */

const sn_cg_backend *const sn_cg_backends[] = {&sn_cg_backend_cpu, &sn_cg_backend_cuda, NULL};

const sn_cg_backend *sn_cg_backend_find(const char *name) {
    for (int i = 0; name && sn_cg_backends[i]; i++)
        if (!strcmp(sn_cg_backends[i]->name, name))
            return sn_cg_backends[i];
    return NULL;
}

const char *sn_cg_backend_names(void) {
    static char buf[128];
    if (!buf[0]) {
        size_t k = 0;
        for (int i = 0; sn_cg_backends[i] && k < sizeof buf; i++)
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s", i ? ", " : "",
                                  sn_cg_backends[i]->name);
    }
    return buf;
}

sn_status sn_cg_backend_target(const sn_cg_backend *be, sn_cg_target *t, sn_dtype dtype, int sm,
                               char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    if (!(be->dtypes & SN_CG_DTYPE_BIT(dtype))) {
        char have[64] = "";
        size_t k = 0;
        for (int d = 0; d < 32 && k < sizeof have; d++)
            if (be->dtypes & SN_CG_DTYPE_BIT(d))
                k += (size_t)snprintf(have + k, sizeof have - k, "%s%s", k ? ", " : "",
                                      sn_dtype_name((sn_dtype)d));
        sn_errf(err, errlen, "the %s backend computes in %s only; --dtype %s is not offered",
                be->name, have, sn_dtype_name(dtype));
        return SN_ERR_UNSUPPORTED;
    }
    return be->target(t, dtype, sm, err, errlen);
}
