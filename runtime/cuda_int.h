/* runtime/cuda_int.h — what runtime's CUDA files (cuda.c, nvrtc.c, cublaslt.c) share: the
 * few vendor types and constants they use, declared here under sn_ names so the build never
 * depends on the CUDA toolkit's headers (tests/runtime/test_cuda_decls.c checks every value
 * against the real headers when a toolkit is installed), the dlopen'd entry-point tables,
 * and one check macro per vendor API.
 *
 * Each check macro turns a vendor error into a status plus
 *     "cuModuleLoadData(&mod, image) failed: CUDA_ERROR_INVALID_PTX"
 * (the call as written, the vendor's error name). Calls go through the tables, so a call is
 * written SN_CU_CHECK(ModuleLoadData, (&mod, image)). The macros need a local
 * `sn_status st`, `char *err, size_t errlen` in scope and a `fail:` label.
 */
#ifndef SN_RUNTIME_CUDA_INT_H
#define SN_RUNTIME_CUDA_INT_H

#include "runtime/runtime_int.h"

/* ---------------------------------------------------------------- CUDA driver API */

typedef int sn_cu_result; /* CUresult: 0 = CUDA_SUCCESS */
typedef int sn_cu_device;
typedef struct sn_cu_ctx_st *sn_cu_context;
typedef struct sn_cu_mod_st *sn_cu_module;
typedef struct sn_cu_func_st *sn_cu_function;
typedef struct sn_cu_stream_st *sn_cu_stream;
typedef struct sn_cu_event_st *sn_cu_event;
typedef struct sn_cu_graph_st *sn_cu_graph;
typedef struct sn_cu_graph_exec_st *sn_cu_graph_exec;
typedef unsigned long long sn_cu_ptr; /* CUdeviceptr (64-bit) */

enum {
    SN_CUDA_SUCCESS = 0,
    SN_CUDA_ERROR_STUB_LIBRARY = 34,
    SN_CUDA_ERROR_NO_DEVICE = 100,
    SN_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
    SN_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    SN_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
    SN_CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97,
    SN_CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0,
    SN_CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1,
    SN_CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
    SN_CU_STREAM_NON_BLOCKING = 1,
    SN_CU_EVENT_DEFAULT = 0,
    SN_CU_STREAM_CAPTURE_MODE_RELAXED = 2,
    SN_CU_GET_PROC_ADDRESS_DEFAULT = 0,
};

/* The ABI version the entry points are requested at through cuGetProcAddress: the
 * signatures below are CUDA 12.0's (cuMemAlloc = _v2, cuGraphInstantiate = WithFlags, …). */
#define SN_CU_ABI_VERSION 12000

typedef struct sn_cu_api {
    sn_cu_result (*Init)(unsigned flags);
    sn_cu_result (*DriverGetVersion)(int *v);
    sn_cu_result (*GetErrorName)(sn_cu_result r, const char **s);
    sn_cu_result (*DeviceGetCount)(int *n);
    sn_cu_result (*DeviceGet)(sn_cu_device *d, int ordinal);
    sn_cu_result (*DeviceGetName)(char *name, int len, sn_cu_device d);
    sn_cu_result (*DeviceGetAttribute)(int *v, int attr, sn_cu_device d);
    sn_cu_result (*DeviceTotalMem)(size_t *bytes, sn_cu_device d);
    sn_cu_result (*DevicePrimaryCtxRetain)(sn_cu_context *c, sn_cu_device d);
    sn_cu_result (*DevicePrimaryCtxRelease)(sn_cu_device d);
    sn_cu_result (*CtxSetCurrent)(sn_cu_context c);
    sn_cu_result (*StreamCreate)(sn_cu_stream *s, unsigned flags);
    sn_cu_result (*StreamDestroy)(sn_cu_stream s);
    sn_cu_result (*StreamSynchronize)(sn_cu_stream s);
    sn_cu_result (*MemAlloc)(sn_cu_ptr *p, size_t bytes);
    sn_cu_result (*MemFree)(sn_cu_ptr p);
    sn_cu_result (*MemcpyHtoDAsync)(sn_cu_ptr dst, const void *src, size_t n, sn_cu_stream s);
    sn_cu_result (*MemcpyDtoHAsync)(void *dst, sn_cu_ptr src, size_t n, sn_cu_stream s);
    sn_cu_result (*MemsetD8Async)(sn_cu_ptr dst, unsigned char v, size_t n, sn_cu_stream s);
    sn_cu_result (*ModuleLoadData)(sn_cu_module *m, const void *image);
    sn_cu_result (*ModuleUnload)(sn_cu_module m);
    sn_cu_result (*ModuleGetFunction)(sn_cu_function *f, sn_cu_module m, const char *name);
    sn_cu_result (*FuncGetAttribute)(int *v, int attr, sn_cu_function f);
    sn_cu_result (*FuncSetAttribute)(sn_cu_function f, int attr, int v);
    sn_cu_result (*LaunchKernel)(sn_cu_function f, unsigned gx, unsigned gy, unsigned gz,
                                 unsigned bx, unsigned by, unsigned bz, unsigned smem,
                                 sn_cu_stream s, void **params, void **extra);
    sn_cu_result (*StreamBeginCapture)(sn_cu_stream s, int mode);
    sn_cu_result (*StreamEndCapture)(sn_cu_stream s, sn_cu_graph *g);
    sn_cu_result (*GraphInstantiateWithFlags)(sn_cu_graph_exec *e, sn_cu_graph g,
                                              unsigned long long flags);
    sn_cu_result (*GraphLaunch)(sn_cu_graph_exec e, sn_cu_stream s);
    sn_cu_result (*GraphExecDestroy)(sn_cu_graph_exec e);
    sn_cu_result (*GraphDestroy)(sn_cu_graph g);
    sn_cu_result (*EventCreate)(sn_cu_event *e, unsigned flags);
    sn_cu_result (*EventDestroy)(sn_cu_event e);
    sn_cu_result (*EventRecord)(sn_cu_event e, sn_cu_stream s);
    sn_cu_result (*EventSynchronize)(sn_cu_event e);
    sn_cu_result (*EventElapsedTime)(float *ms, sn_cu_event a, sn_cu_event b);
} sn_cu_api;

extern sn_cu_api sn_cu;

/* Loads libcuda.so.1 (or $SINTER_LIBCUDA) and every entry point, once. SN_OK when the
 * table is complete; otherwise a message saying what was missing. Thread-safe. */
sn_status sn_cu_load(char *err, size_t errlen);
/* "CUDA_ERROR_INVALID_PTX" (or "CUresult 218" when the driver cannot name it). */
const char *sn_cu_error_name(sn_cu_result r);
sn_status sn_cu_fail(sn_cu_result r, const char *call, char *err, size_t errlen);

#define SN_CU_CHECK(fn, args)                                                                      \
    do {                                                                                           \
        sn_cu_result r_ = sn_cu.fn args;                                                           \
        if (r_ != SN_CUDA_SUCCESS) {                                                               \
            st = sn_cu_fail(r_, "cu" #fn #args, err, errlen);                                      \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

/* ---------------------------------------------------------------- NVRTC (nvrtc.c) */

typedef int sn_nvrtc_result; /* nvrtcResult: 0 = NVRTC_SUCCESS */
typedef struct sn_nvrtc_prog_st *sn_nvrtc_program;
enum { SN_NVRTC_SUCCESS = 0, SN_NVRTC_ERROR_COMPILATION = 6 };

/* ---------------------------------------------------------------- cuBLASLt (cublaslt.c) */

typedef int sn_lt_status; /* cublasStatus_t: 0 = CUBLAS_STATUS_SUCCESS */
typedef struct sn_lt_handle_st *sn_lt_handle;
typedef struct sn_lt_desc_st *sn_lt_matmul_desc;
typedef struct sn_lt_layout_st *sn_lt_layout;
typedef struct sn_lt_pref_st *sn_lt_pref;
typedef struct {
    uint64_t data[8];
} sn_lt_algo;
typedef struct {
    sn_lt_algo algo;
    size_t workspaceSize;
    sn_lt_status state;
    float wavesCount;
    int reserved[4];
} sn_lt_heuristic;

enum {
    SN_CUBLAS_STATUS_SUCCESS = 0,
    SN_CUBLAS_STATUS_NOT_SUPPORTED = 15,
    SN_CUBLAS_OP_N = 0,
    SN_CUBLAS_OP_T = 1,
    SN_CUBLAS_COMPUTE_32F = 68,
    SN_CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
    SN_CUDA_R_32F = 0,
    SN_CUDA_R_16F = 2,
    SN_CUDA_R_16BF = 14,
    SN_CUBLASLT_ORDER_COL = 0,
    SN_CUBLASLT_ORDER_ROW = 1,
    SN_CUBLASLT_MATRIX_LAYOUT_ORDER = 1,
    SN_CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT = 5,
    SN_CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET = 6,
    SN_CUBLASLT_MATMUL_DESC_TRANSA = 3,
    SN_CUBLASLT_MATMUL_DESC_TRANSB = 4,
    SN_CUBLASLT_MATMUL_DESC_EPILOGUE = 7,
    SN_CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,
    SN_CUBLASLT_EPILOGUE_DEFAULT = 1,
    SN_CUBLASLT_EPILOGUE_RELU = 2,
    SN_CUBLASLT_EPILOGUE_BIAS = 4,
    SN_CUBLASLT_EPILOGUE_RELU_BIAS = 6,
    SN_CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,
    SN_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5,
    SN_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES = 6,
    SN_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES = 7,
    SN_CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES = 8,
};

/* How a row-major GEMM step (runtime.h: sn_rt_gemm) is posed to cuBLASLt: the layout of
 * cuBLASLt's A, B and D (C = D), their transposition, and which of our operands each is.
 * cuBLASLt computes D = op_a(A)·op_b(B) (+ bias along D's rows). A pure function, so its
 * algebra is tested without a GPU (tests/runtime/test_rt_libs.c). */
typedef struct sn_lt_mat {
    int64_t rows, cols, ld, stride;
    int row_order; /* CUBLASLT_ORDER_ROW, else column-major */
    int which;     /* our operand: 0 = A, 1 = B, 2 = D */
} sn_lt_mat;
typedef struct sn_lt_mapping {
    sn_lt_mat a, b, d;
    int op_a, op_b; /* SN_CUBLAS_OP_N / _T */
    int64_t batch;
} sn_lt_mapping;
void sn_lt_map(const sn_rt_gemm *g, sn_lt_mapping *out);

/* A GEMM step prepared at plan creation: descriptors and the chosen algorithm for fixed
 * device pointers. */
typedef struct sn_lt_gemm sn_lt_gemm;

/* Creates a cuBLASLt handle (the device's context must be current). */
sn_status sn_lt_open(sn_lt_handle *h, char *err, size_t errlen);
void sn_lt_close(sn_lt_handle h);
/* ptrs: A, B, D, bias (0 when none). Picks an algorithm needing a workspace ≤ max_ws. */
sn_status sn_lt_gemm_new(sn_lt_handle h, const sn_rt_gemm *g, const sn_cu_ptr ptrs[4],
                         size_t max_ws, sn_lt_gemm **out, char *err, size_t errlen);
sn_status sn_lt_gemm_launch(sn_lt_handle h, sn_lt_gemm *g, sn_cu_ptr ws, size_t ws_bytes,
                            sn_cu_stream s, char *err, size_t errlen);
void sn_lt_gemm_free(sn_lt_gemm *g);

/* ---------------------------------------------------------------- dlopen helpers */

/* Tries each name in turn with dlopen(RTLD_NOW | RTLD_LOCAL), then each again under
 * /usr/local/cuda/lib64, $CUDA_HOME/lib64 and $CUDA_PATH/lib64. NULL when none loads; the
 * last dlerror() in why. */
void *sn_cu_dlopen_any(const char *const *names, int n, char *why, size_t whylen);

#endif /* SN_RUNTIME_CUDA_INT_H */
