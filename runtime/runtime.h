/* runtime/runtime.h — devices, the kernel cache, memory, plan execution, timing.
 * The one public header of the runtime module.
 *
 * The runtime never sees IR nodes: it takes compiled kernel images (object files on the CPU,
 * CUBIN/PTX on CUDA) and a plan description — one arena, one weights blob, a list of steps —
 * and executes it: a thread pool on the CPU, a CUDA graph captured once and replayed on GPU.
 *
 * Vendor calls stay in their wrapper files: LLVM ORC only in the CPU JIT file; CUDA driver,
 * NVRTC, cuBLASLt, NCCL only in the cuda files. CUDA libraries are loaded with dlopen at run
 * time (libcuda.so.1 through cuGetProcAddress), so one binary runs with or without a GPU.
 */
#ifndef SN_RUNTIME_H
#define SN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The runtime has no dependency on ir/: it keeps its own status codes, equal in value to
 * sn_status (SN_OK = 0, …) so callers may convert by cast. */
typedef enum sn_rt_status {
    SN_RT_OK = 0,
    SN_RT_ERR_INVALID,
    SN_RT_ERR_IO,
    SN_RT_ERR_NOMEM,
    SN_RT_ERR_COMPILE,
    SN_RT_ERR_DEVICE,
    SN_RT_ERR_UNSUPPORTED
} sn_rt_status;

/* ---------------------------------------------------------------- kernel cache
 *
 * Key = XXH3-128 over everything that changes the binary (the caller passes the parts:
 * source or spec, compiler identity and version, target, options, Sinter's version).
 * Two levels: an in-process map and a directory ($SINTER_CACHE_DIR, else
 * $XDG_CACHE_HOME/sinter, else ~/.cache/sinter). Entries are written atomically (temp file
 * + rename) and carry their key and a checksum of the payload, so a torn or corrupt entry is
 * detected, counted, deleted and reported as a miss — never loaded. Concurrent processes
 * sharing the directory are safe (rename is atomic; readers verify). */
typedef struct sn_rt_key {
    uint64_t lo, hi;
} sn_rt_key;

sn_rt_key sn_rt_key_of(const void *const *parts, const size_t *lens, int nparts);
void sn_rt_key_hex(sn_rt_key k, char out[33]);

typedef struct sn_rt_cache sn_rt_cache;

typedef struct sn_rt_cache_stats {
    int64_t hits, misses, corrupt; /* this process */
    int64_t entries, bytes;        /* on disk (sn_rt_cache_scan) */
} sn_rt_cache_stats;

/* dir NULL = the default directory. Creates it if needed. */
sn_rt_status sn_rt_cache_open(const char *dir, sn_rt_cache **out, char *err, size_t errlen);
void sn_rt_cache_close(sn_rt_cache *c);
const char *sn_rt_cache_dir(const sn_rt_cache *c);
/* On a hit returns SN_RT_OK with a malloc'd copy in *data; on a miss SN_RT_ERR_IO with
 * *data NULL (a corrupt entry is a miss). */
sn_rt_status sn_rt_cache_get(sn_rt_cache *c, sn_rt_key k, void **data, size_t *len);
sn_rt_status sn_rt_cache_put(sn_rt_cache *c, sn_rt_key k, const void *data, size_t len,
                             char *err, size_t errlen);
sn_rt_cache_stats sn_rt_cache_stats_get(const sn_rt_cache *c);
sn_rt_status sn_rt_cache_scan(sn_rt_cache *c, sn_rt_cache_stats *st);
sn_rt_status sn_rt_cache_clear(sn_rt_cache *c, char *err, size_t errlen);

/* ---------------------------------------------------------------- devices */

typedef enum sn_rt_kind { SN_RT_CPU, SN_RT_CUDA } sn_rt_kind;

typedef struct sn_rt_device sn_rt_device;

/* name: "cpu", "cuda" or "auto" (cuda when a device is present, else cpu). threads: CPU
 * worker count (<= 0 = the number of cores). */
sn_rt_status sn_rt_device_open(const char *name, int threads, sn_rt_device **out, char *err,
                               size_t errlen);
void sn_rt_device_close(sn_rt_device *d);
sn_rt_kind sn_rt_device_kind(const sn_rt_device *d);
/* "cpu (2 threads, znver4)" / "cuda:0 NVIDIA H200 (sm_90)" */
const char *sn_rt_device_name(const sn_rt_device *d);
/* CUDA: compute capability × 10 (90); CPU: 0. */
int sn_rt_device_sm(const sn_rt_device *d);
/* 1 when libcuda loads and reports at least one device. Never fails loudly. */
int sn_rt_cuda_available(void);

/* ---------------------------------------------------------------- CUDA compilation (NVRTC)
 * Works without a GPU: NVRTC is a host library. Compiles to CUBIN for sm (PTX fallback when
 * the NVRTC version cannot target sm). On failure writes the source and log to a file and
 * says where in err. */
sn_rt_status sn_rt_nvrtc_compile(const char *source, const char *name, int sm,
                                 const char *const *options, int noptions, void **image,
                                 size_t *len, int *is_ptx, char *err, size_t errlen);
/* "NVRTC 13.0" — part of the cache key; NULL when NVRTC cannot be loaded. */
const char *sn_rt_nvrtc_version(void);

/* ---------------------------------------------------------------- plans */

typedef enum sn_rt_buf {
    SN_RT_BUF_ARENA,
    SN_RT_BUF_WEIGHTS,
    SN_RT_BUF_INPUT,
    SN_RT_BUF_OUTPUT
} sn_rt_buf;

typedef struct sn_rt_argref {
    sn_rt_buf buf;
    int32_t index;   /* input/output number */
    int64_t offset;  /* bytes */
} sn_rt_argref;

typedef enum sn_rt_step_kind {
    SN_RT_STEP_KERNEL,    /* launch a kernel */
    SN_RT_STEP_ALLREDUCE  /* reserved for data-parallel training (NCCL): sum a buffer range */
} sn_rt_step_kind;

#define SN_RT_MAX_ARGS 16

typedef struct sn_rt_step {
    sn_rt_step_kind kind;
    int32_t module;       /* index into the plan's images */
    const char *entry;    /* symbol / kernel name */
    int nargs;
    sn_rt_argref args[SN_RT_MAX_ARGS];
    int64_t tasks;                    /* cpu: fn(args, begin, end) over [0, tasks) */
    uint32_t grid[3], block[3], smem; /* cuda */
} sn_rt_step;

typedef struct sn_rt_plan_desc {
    int nimages;
    const void *const *images;  /* object files (cpu) or CUBIN/PTX (cuda) */
    const size_t *image_sizes;
    int nsteps;
    const sn_rt_step *steps;
    int64_t arena_bytes;
    const void *weights;        /* copied to the device by sn_rt_plan_new */
    int64_t weight_bytes;
    int ninputs, noutputs;
    const int64_t *input_bytes, *output_bytes;
} sn_rt_plan_desc;

typedef struct sn_rt_plan sn_rt_plan;

sn_rt_status sn_rt_plan_new(sn_rt_device *d, const sn_rt_plan_desc *desc, sn_rt_plan **out,
                            char *err, size_t errlen);
/* Copies host inputs in, runs every step, copies outputs back (host pointers). */
sn_rt_status sn_rt_plan_run(sn_rt_plan *p, const void *const *inputs, void *const *outputs,
                            char *err, size_t errlen);
/* The same in parts, for benchmarks that time execution alone: inputs copied to the
 * device, the steps run (CUDA: graph replay) and waited for, outputs copied back. */
sn_rt_status sn_rt_plan_set_inputs(sn_rt_plan *p, const void *const *inputs, char *err,
                                   size_t errlen);
sn_rt_status sn_rt_plan_execute(sn_rt_plan *p, char *err, size_t errlen);
sn_rt_status sn_rt_plan_get_outputs(sn_rt_plan *p, void *const *outputs, char *err,
                                    size_t errlen);
void sn_rt_plan_free(sn_rt_plan *p);

/* ---------------------------------------------------------------- timing */

double sn_rt_now(void); /* seconds, monotonic */

#ifdef __cplusplus
}
#endif
#endif /* SN_RUNTIME_H */
