/* runtime/runtime_int.h — what the runtime's own files share. Nothing outside runtime/ (and
 * its white-box tests in tests/runtime/) includes this.
 *
 * Layout of the module:
 *   util.c      errors, sn_rt_now, aligned memory, directories, diagnostic files
 *   cache.c     the kernel cache (in-process map + directory)
 *   pool.c      the CPU thread pool
 *   device.c    device open/close, plan validation, dispatch through the backend table
 *   cpu.c       the CPU backend (plans run through the pool)
 *   cpu_jit.c   LLVM ORC LLJIT: object files → entry points (the only llvm-c file)
 *   cuda.c      the CUDA backend (driver API through dlopen + cuGetProcAddress)
 *   nvrtc.c     NVRTC (dlopen)
 *   cublaslt.c  cuBLASLt GEMM steps (dlopen)
 */
#ifndef SN_RUNTIME_INT_H
#define SN_RUNTIME_INT_H

#include "runtime/runtime.h"

#include <stdarg.h>
#include <stdbool.h>

/* ---------------------------------------------------------------- util.c */

/* 64-byte aligned allocation of at least n bytes (n rounded up to 64; n 0 → 64). Free with
 * free(). NULL when out of memory. */
void *sn_rt_aligned_alloc(size_t n);

/* mkdir -p; 0 on success (an existing directory is success). */
int sn_rt_mkdirs(const char *path);

/* The default cache directory: $SINTER_CACHE_DIR, else $XDG_CACHE_HOME/sinter, else
 * $HOME/.cache/sinter, else /tmp/sinter-cache-<uid>. Returns buf. */
const char *sn_rt_default_cache_dir(char *buf, size_t n);

/* Writes `nparts` strings, one after another, to a new file <dir>/<stem>.<pid>.<n>.<ext>
 * where dir is <default cache dir>/failed, or /tmp/sinter-failed when that cannot be
 * created. Returns 0 and the path in path_out, or -1. Used to leave failed compiles on disk. */
int sn_rt_write_failure(const char *stem, const char *ext, const char *const *parts, int nparts,
                        char *path_out, size_t n);

/* Number of CPUs this process may run on (affinity mask), at least 1. */
int sn_rt_ncores(void);

/* ---------------------------------------------------------------- pool.c
 *
 * N-1 worker threads plus the calling thread. sn_rt_pool_run calls fn(args, begin, end) over
 * [0, tasks) split into chunks taken from an atomic counter; it returns when every chunk has
 * run. Workers spin briefly between launches, then sleep on a futex, so a plan of ~100
 * back-to-back launches pays no syscall per launch. Launches from several threads are
 * serialised. */
typedef struct sn_rt_pool sn_rt_pool;
typedef void (*sn_rt_task_fn)(void **args, int64_t begin, int64_t end);

sn_status sn_rt_pool_new(int threads, sn_rt_pool **out, char *err, size_t errlen);
void sn_rt_pool_free(sn_rt_pool *p);
int sn_rt_pool_threads(const sn_rt_pool *p);
void sn_rt_pool_run(sn_rt_pool *p, sn_rt_task_fn fn, void **args, int64_t tasks);

/* ---------------------------------------------------------------- backends
 *
 * A device is a backend function table plus backend state (ggml-backend style). Required
 * slots: close, plan_new, plan_free, set_inputs, execute, get_outputs. Optional slots (NULL =
 * the generic fallback in device.c): time (NULL = wall clock around execute), image_check
 * (NULL = every image passes). */
typedef struct sn_rt_backend {
    const char *name;
    void (*close)(sn_rt_device *d);
    /* Fills p->impl. desc has been validated (device.c: sn_rt_desc_check). */
    sn_status (*plan_new)(sn_rt_plan *p, const sn_rt_plan_desc *desc, char *err, size_t errlen);
    void (*plan_free)(sn_rt_plan *p);
    sn_status (*set_inputs)(sn_rt_plan *p, const void *const *inputs, char *err, size_t errlen);
    sn_status (*execute)(sn_rt_plan *p, char *err, size_t errlen);
    sn_status (*get_outputs)(sn_rt_plan *p, void *const *outputs, char *err, size_t errlen);
    /* Device memory for state slots: bytes zeroed at *mem (a pointer or device address);
     * copies between it (at offset) and the host, write = 1: host → device. */
    sn_status (*mem_alloc)(sn_rt_device *d, int64_t bytes, uint64_t *mem, char *err, size_t errlen);
    void (*mem_free)(sn_rt_device *d, uint64_t mem);
    sn_status (*mem_copy)(sn_rt_device *d, int write, uint64_t mem, int64_t offset, void *host,
                          int64_t bytes, char *err, size_t errlen);
    /* optional */
    sn_status (*time)(sn_rt_plan *p, int iters, double *seconds, char *err, size_t errlen);
    /* Loads one image as plan_new would, resolves entry, unloads it (sn_rt_image_check). */
    sn_status (*image_check)(sn_rt_device *d, const void *image, size_t len, const char *entry,
                             char *err, size_t errlen);
} sn_rt_backend;

struct sn_rt_device {
    const sn_rt_backend *be;
    sn_rt_kind kind;
    char name[256];
    int sm;
    void *impl;
};

typedef struct sn_rt_slot {
    char name[64];
    int64_t bytes;
    uint64_t mem; /* the backend's memory (mem_alloc) */
} sn_rt_slot;

struct sn_rt_state {
    sn_rt_device *dev;
    sn_rt_slot *slots;
    int nslots, cap;
};

struct sn_rt_plan {
    sn_rt_device *dev;
    int ninputs, noutputs;
    int64_t *input_bytes, *output_bytes; /* owned copies */
    sn_rt_state *state;                  /* bound; owned only when own_state */
    int own_state;
    void *impl;
};

/* Size in bytes of one element of t (4 or 2). */
int sn_rt_dtype_size(sn_rt_dtype t);
/* Checks a GEMM step's description and that its arguments fit their buffers. */
sn_status sn_rt_gemm_check(const sn_rt_plan_desc *desc, int stepno, char *err, size_t errlen);

/* cpu.c */
sn_status sn_rt_cpu_open(int threads, sn_rt_device *d, char *err, size_t errlen);
/* cuda.c. ordinal: the N of "cuda:N". */
sn_status sn_rt_cuda_open(int ordinal, sn_rt_device *d, char *err, size_t errlen);

/* ---------------------------------------------------------------- cpu_jit.c (LLVM ORC) */
typedef struct sn_rt_jit sn_rt_jit;

sn_status sn_rt_jit_new(sn_rt_jit **out, char *err, size_t errlen);
/* Adds one relocatable object file (copied) as its own JITDylib, so symbols of different
 * images never clash; *module receives its number for sn_rt_jit_lookup. */
sn_status sn_rt_jit_add_object(sn_rt_jit *j, const void *obj, size_t len, int *module, char *err,
                               size_t errlen);
/* Resolves (and links) `name` in module. */
sn_status sn_rt_jit_lookup(sn_rt_jit *j, int module, const char *name, void **addr, char *err,
                           size_t errlen);
void sn_rt_jit_free(sn_rt_jit *j);
/* LLVM's name for the host CPU ("znver4"); a static string. */
const char *sn_rt_jit_host_cpu(void);

#endif /* SN_RUNTIME_INT_H */
