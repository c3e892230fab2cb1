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

#include "base/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Status and errors: base/base.h (the runtime depends on base only, never on ir/). */

/* ---------------------------------------------------------------- kernel cache
 *
 * Key = XXH3-128 over everything that changes the binary (the caller passes the parts:
 * source or spec, compiler identity and version, target, options, Sinter's version).
 * Two levels: an in-process map and a directory ($SINTER_CACHE_DIR, else
 * $XDG_CACHE_HOME/sinter, else ~/.cache/sinter). Entries are written atomically (temp file
 * + rename) and carry their key twice — in the header, naming where the entry is filed, and
 * at the head of the checksummed body, naming what the payload is — so a torn or corrupt
 * entry, or one holding another key's payload, is detected, counted, deleted and reported as
 * a miss — never loaded. An entry of an older format is a plain miss (deleted, not counted
 * corrupt). A cache path that is not a regular file (a FIFO, a device, a symlink) is never
 * opened for blocking reads, never deleted and never replaced: it counts as corrupt, and the
 * kernel is recompiled and not stored. Concurrent processes sharing the directory are safe
 * (rename is atomic; readers verify). */
typedef struct sn_rt_key {
    uint64_t lo, hi;
} sn_rt_key;

sn_rt_key sn_rt_key_of(const void *const *parts, const size_t *lens, int nparts);
void sn_rt_key_hex(sn_rt_key k, char out[33]);

typedef struct sn_rt_cache sn_rt_cache;

typedef struct sn_rt_cache_stats {
    int64_t hits, misses, corrupt; /* this process (corrupt includes evicted entries) */
    int64_t temps_removed;         /* stale temp files of crashed writers removed by open */
    int64_t entries, bytes;        /* on disk (sn_rt_cache_scan) */
    int64_t temps;                 /* temp files on disk (sn_rt_cache_scan): writes in flight */
} sn_rt_cache_stats;

/* dir NULL = the default directory. Creates it if needed, and removes stale temp files that
 * writers killed mid-write left behind: older than an hour, or older than a minute when the
 * writer whose pid the name carries is gone. */
sn_status sn_rt_cache_open(const char *dir, sn_rt_cache **out, char *err, size_t errlen);
void sn_rt_cache_close(sn_rt_cache *c);
const char *sn_rt_cache_dir(const sn_rt_cache *c);
/* On a hit returns SN_OK with a malloc'd copy in *data; on a miss SN_ERR_IO with
 * *data NULL (a corrupt entry is a miss). Payloads are at most SN_RT_CACHE_MAX_PAYLOAD. */
#define SN_RT_CACHE_MAX_PAYLOAD ((size_t)1 << 30)
sn_status sn_rt_cache_get(sn_rt_cache *c, sn_rt_key k, void **data, size_t *len);
sn_status sn_rt_cache_put(sn_rt_cache *c, sn_rt_key k, const void *data, size_t len, char *err,
                          size_t errlen);
/* Drops k's entry from the map and the directory and counts it corrupt: for a caller whose
 * hit turned out unusable (sn_rt_image_check failed), before it recompiles and puts again. */
void sn_rt_cache_evict(sn_rt_cache *c, sn_rt_key k);
sn_rt_cache_stats sn_rt_cache_stats_get(const sn_rt_cache *c);
/* Entries are files <dir>/<2 hex digits>/<32 hex digits>.snk. scan counts them (entries,
 * bytes) and the temp files beside them into *st and the handle's stats; clear deletes every
 * entry and every temp file (nothing else in the directory) and empties the in-process map. */
sn_status sn_rt_cache_scan(sn_rt_cache *c, sn_rt_cache_stats *st);
sn_status sn_rt_cache_clear(sn_rt_cache *c, char *err, size_t errlen);

/* ---------------------------------------------------------------- devices */

typedef enum sn_rt_kind { SN_RT_CPU, SN_RT_CUDA } sn_rt_kind;

typedef struct sn_rt_device sn_rt_device;

/* name: "cpu", "cuda" (= "cuda:0"), "cuda:N" or "auto" (cuda:0 when a device is present,
 * else cpu); NULL or "" = "auto". threads: CPU worker count, the calling thread included
 * (<= 0 = the cores this process may run on). A CUDA device holds the GPU's primary context
 * and one stream. */
sn_status sn_rt_device_open(const char *name, int threads, sn_rt_device **out, char *err,
                            size_t errlen);
void sn_rt_device_close(sn_rt_device *d);
sn_rt_kind sn_rt_device_kind(const sn_rt_device *d);
/* "cpu (2 threads, znver4)" / "cuda:0 NVIDIA H200 (sm_90)" */
const char *sn_rt_device_name(const sn_rt_device *d);
/* CUDA: compute capability × 10 (90); CPU: 0. */
int sn_rt_device_sm(const sn_rt_device *d);
/* Loads one kernel image on d as a plan would (CPU: links the object in a scratch JIT; CUDA:
 * cuModuleLoadData) and resolves entry, then throws it away. SN_OK when a plan could use
 * it; else the loader's message — for a cache hit to be trusted before a plan is built: a
 * garbage object or a missing symbol is evicted and recompiled instead of failing every
 * later run. A CPU device of a build without LLVM checks nothing. */
sn_status sn_rt_image_check(sn_rt_device *d, const void *image, size_t len, const char *entry,
                            char *err, size_t errlen);
/* 1 when libcuda loads and reports at least one device. Never fails loudly; the answer is
 * computed once. $SINTER_LIBCUDA, when set, names the driver library instead of libcuda.so.1
 * (tests point it at the toolkit stub). */
int sn_rt_cuda_available(void);
/* 1 when sn_rt_device_open(name) would find the device: a cpu always, a cuda one when
 * sn_rt_cuda_available. */
int sn_rt_device_present(const char *name);

/* ---------------------------------------------------------------- CUDA compilation (NVRTC)
 * Works without a GPU: NVRTC is a host library (dlopen'd: libnvrtc.so.13, .12, .so). Compiles
 * to CUBIN for sm (PTX for compute_YY, the newest architecture ≤ sm this NVRTC knows, when
 * it cannot target sm; *is_ptx says which). Options: --gpu-architecture (left out when the
 * caller's options name one), -default-device, --std=c++17, -I<dir holding cuda_fp16.h>,
 * then the caller's. *image is malloc'd; a PTX image includes its terminating NUL (counted in
 * *len), as cuModuleLoadData needs. On failure writes the source, the options and NVRTC's log
 * to one file in failed/ under the default cache directory (see the kernel cache; else
 * /tmp/sinter-failed/) and names it in err:
 *   "nvrtcCompileProgram(k, sm_90) failed: NVRTC_ERROR_COMPILATION: k(2): error: …; source
 *    and log: /…/failed/k.123.0.cu" */
sn_status sn_rt_nvrtc_compile(const char *source, const char *name, int sm,
                              const char *const *options, int noptions, void **image, size_t *len,
                              int *is_ptx, char *err, size_t errlen);
/* "NVRTC 13.0" — part of the cache key; NULL when NVRTC cannot be loaded. */
const char *sn_rt_nvrtc_version(void);

/* ---------------------------------------------------------------- plans */

/* ---------------------------------------------------------------- persistent state
 *
 * Named device buffers (slots) that outlive plans: a model's weights now; gradients and
 * optimizer moments when training comes. Plans bind to a state and never own it (it must
 * outlive them); many plans may bind to one state. Slots start zeroed. */
typedef struct sn_rt_state sn_rt_state;

sn_status sn_rt_state_new(sn_rt_device *d, sn_rt_state **out, char *err, size_t errlen);
void sn_rt_state_free(sn_rt_state *s);
/* Adds a slot of bytes (zeroed) named name; *slot receives its index (0, 1, …). */
sn_status sn_rt_state_add(sn_rt_state *s, const char *name, int64_t bytes, int *slot, char *err,
                          size_t errlen);
/* The slot named name, or -1. */
int sn_rt_state_find(const sn_rt_state *s, const char *name);
int sn_rt_state_count(const sn_rt_state *s);
/* A slot's size in bytes; -1 for no such slot. */
int64_t sn_rt_state_bytes(const sn_rt_state *s, int slot);
/* Copies between host memory and slot [offset, offset + bytes): write = 1 host → state (plans
 * bound to it see the new values at their next execute, nothing is rebuilt), 0 back. A range
 * outside the slot is SN_ERR_INVALID. */
sn_status sn_rt_state_copy(sn_rt_state *s, int slot, int write, int64_t offset, void *host,
                           int64_t bytes, char *err, size_t errlen);

typedef enum sn_rt_buf {
    SN_RT_BUF_ARENA,
    SN_RT_BUF_WEIGHTS, /* state slot `index` (slot 0: the weights blob) */
    SN_RT_BUF_INPUT,
    SN_RT_BUF_OUTPUT
} sn_rt_buf;

typedef struct sn_rt_argref {
    sn_rt_buf buf;
    int32_t index;  /* input/output number */
    int64_t offset; /* bytes */
} sn_rt_argref;

typedef enum sn_rt_step_kind {
    SN_RT_STEP_KERNEL,    /* launch a kernel */
    SN_RT_STEP_ALLREDUCE, /* reserved for data-parallel training (NCCL): sum a buffer range;
                           * plan creation fails with SN_ERR_UNSUPPORTED for now */
    SN_RT_STEP_GEMM,      /* a library GEMM (cuBLASLt on CUDA; plain f32 loops on the CPU):
                           * a candidate for 1×1 conv / matmul groups, see sn_rt_gemm */
    SN_RT_STEP_HOST       /* CPU only: a function compiled into Sinter itself (codegen's host
                           * kernels: ops no generator emits yet, the loss's assigner), called
                           * with the kernel ABI; CUDA plans refuse it */
} sn_rt_step_kind;

typedef enum sn_rt_dtype { SN_RT_F32, SN_RT_F16, SN_RT_BF16 } sn_rt_dtype;

typedef enum sn_rt_gemm_bias {
    SN_RT_GEMM_BIAS_NONE,
    SN_RT_GEMM_BIAS_N, /* D[i][j] += bias[j], length n: a linear layer, NHWC 1×1 conv */
    SN_RT_GEMM_BIAS_M  /* D[i][j] += bias[i], length m: NCHW 1×1 conv as W·X */
} sn_rt_gemm_bias;

/* A GEMM step, everything row-major (C convention, like the rest of Sinter):
 *
 *     D[b] = act(alpha · op(A[b]) · op(B[b]) + beta · D[b] + bias)      b in [0, batch)
 *
 * op(A) is m×k, op(B) is k×n, D is m×n. A is stored m×k with leading dimension lda (≥ k), or
 * k×m (lda ≥ m) when trans_a; likewise B: k×n (ldb ≥ n), or n×k (ldb ≥ k) when trans_b.
 * Leading dimensions and batch strides are in elements; a stride of 0 shares the matrix
 * across the batch (the weight of a 1×1 conv). Accumulation is f32; alpha/beta are f32.
 * Step arguments: args[0] = A, args[1] = B, args[2] = D, args[3] = bias (when bias is set,
 * of d_type). NCHW 1×1 conv, batch N: m = Cout, n = H·W, k = Cin, A = weight (stride 0),
 * B = input (stride Cin·H·W), bias = SN_RT_GEMM_BIAS_M.
 * CPU: f32 only. CUDA: ab_type f32/f16/bf16, d_type f32 or = ab_type; BIAS_M needs
 * cuBLASLt's row-order layouts and fails at plan creation when cuBLASLt offers no algorithm. */
typedef struct sn_rt_gemm {
    int64_t m, n, k;
    sn_rt_dtype ab_type, d_type;
    int trans_a, trans_b;
    int64_t lda, ldb, ldd;
    int64_t batch;                        /* 0 or 1 = not batched */
    int64_t stride_a, stride_b, stride_d; /* elements between batch items */
    float alpha, beta;                    /* alpha 0 is taken as 1 (a zeroed struct works) */
    sn_rt_gemm_bias bias;
    int relu;       /* act = max(x, 0) after the bias, else identity */
    int allow_tf32; /* f32 inputs may be rounded to TF32 (CUDA) */
} sn_rt_gemm;

#define SN_RT_MAX_ARGS 16

typedef struct sn_rt_step {
    sn_rt_step_kind kind;
    int32_t module;    /* index into the plan's images */
    const char *entry; /* symbol / kernel name */
    int nargs;
    sn_rt_argref args[SN_RT_MAX_ARGS];
    int64_t tasks;                    /* cpu: fn(args, begin, end) over [0, tasks) */
    uint32_t grid[3], block[3], smem; /* cuda; smem = dynamic shared bytes (> 48 KiB is
                                       * opted into per kernel) */
    sn_rt_gemm gemm;                  /* SN_RT_STEP_GEMM (module and entry unused) */
    /* SN_RT_STEP_HOST: the function (module unused; entry names it in messages), called like a
     * CPU kernel: host(args, begin, end) over [0, tasks) */
    void (*host)(void **args, int64_t begin, int64_t end);
} sn_rt_step;

typedef struct sn_rt_plan_desc {
    int nimages;
    const void *const *images; /* object files (cpu) or CUBIN/PTX (cuda) */
    const size_t *image_sizes;
    int nsteps;
    const sn_rt_step *steps;
    int64_t arena_bytes;
    /* SN_RT_BUF_WEIGHTS arguments point into state's slots (borrowed: it must outlive the
     * plan). When state is NULL the plan makes a state of its own with one slot holding
     * weights (weight_bytes, copied by sn_rt_plan_new). */
    sn_rt_state *state;
    const void *weights;
    int64_t weight_bytes;
    int ninputs, noutputs;
    const int64_t *input_bytes, *output_bytes;
} sn_rt_plan_desc;

/* Kernel ABIs. CPU (an object file's symbol): void entry(void **args, int64_t begin,
 * int64_t end), called on [begin, end) ranges of [0, tasks) from the thread pool; args[i] is
 * the resolved pointer of step.args[i]. CUDA: extern "C" __global__ void entry(T0 *a0, …),
 * each parameter a device pointer (buffer base + offset), launched on grid × block with smem
 * bytes of dynamic shared memory. */
typedef struct sn_rt_plan sn_rt_plan;

/* Checks desc (argument offsets inside their buffers, step kinds, GEMM shapes), loads the
 * images, resolves every step's entry point, allocates the plan's memory (arena, weights,
 * inputs, outputs — all zeroed, then the weights copied in) and, on CUDA, captures the steps
 * as one graph. desc and everything it points to may be freed once this returns. */
sn_status sn_rt_plan_new(sn_rt_device *d, const sn_rt_plan_desc *desc, sn_rt_plan **out, char *err,
                         size_t errlen);
/* Copies host inputs in, runs every step, copies outputs back (host pointers). */
sn_status sn_rt_plan_run(sn_rt_plan *p, const void *const *inputs, void *const *outputs, char *err,
                         size_t errlen);
/* The same in parts, for benchmarks that time execution alone: inputs copied to the
 * device, the steps run (CUDA: graph replay) and waited for, outputs copied back. */
sn_status sn_rt_plan_set_inputs(sn_rt_plan *p, const void *const *inputs, char *err, size_t errlen);
sn_status sn_rt_plan_execute(sn_rt_plan *p, char *err, size_t errlen);
sn_status sn_rt_plan_get_outputs(sn_rt_plan *p, void *const *outputs, char *err, size_t errlen);
/* The state the plan is bound to (its own when the description gave none). */
sn_rt_state *sn_rt_plan_state(sn_rt_plan *p);
/* Runs the steps iters times (inputs as last set) and gives the mean seconds per run: CUDA
 * events around the graph replays on GPU, the wall clock on CPU. For benchmarks and tuning. */
sn_status sn_rt_plan_time(sn_rt_plan *p, int iters, double *seconds, char *err, size_t errlen);
void sn_rt_plan_free(sn_rt_plan *p);

/* "cuBLASLt 13.0.0" — part of a GEMM step's identity; NULL when cuBLASLt cannot be loaded. */
const char *sn_rt_cublaslt_version(void);

/* ---------------------------------------------------------------- timing */

double sn_rt_now(void); /* seconds, monotonic */

#ifdef __cplusplus
}
#endif
#endif /* SN_RUNTIME_H */
