/* codegen/codegen.h — fused groups → kernels. The one public header of the codegen module.
 *
 * Input: an ir graph after the pass pipeline (passes/passes.h): every live non-view node has
 * a fusion group (node->group), every value a storage location (node->buf, offset, strides),
 * and graph->bufs / arena_bytes hold the memory plan. Output: a program — kernels in launch
 * order, each with a name, its source (CUDA C text, or LLVM IR for the CPU), a canonical
 * spec (what the cache key is computed over), a provenance comment, its arguments and launch
 * shape — plus the packed weights blob and the arena size.
 *
 * Rendering and compiling are separate steps (tinygrad's split): sn_cg_lower renders;
 * CPU kernels become object code through sn_cg_cpu_compile (LLVM C API, only in the cpu
 * codegen files); CUDA sources are compiled by the runtime (NVRTC).
 *
 * Kernel templates expose tunables (tile sizes, warps, stages, vector width; on CPU the
 * register block and unroll); sn_cg_lower takes them from a tuning database when one is
 * given and from a heuristic otherwise. The chosen values are part of the spec.
 *
 * Generated code is deterministic: the same graph and target give byte-identical sources,
 * specs and names.
 */
#ifndef SN_CODEGEN_H
#define SN_CODEGEN_H

#include "ir/ir.h"
#include "runtime/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sn_cg_backend sn_cg_backend;

typedef struct sn_cg_target {
    const sn_cg_backend *backend; /* the row of the backend table this target is for */
    sn_dtype dtype; /* compute/storage dtype of activations: f32 on cpu; f32/f16/bf16 cuda */
    /* cpu */
    char cpu_name[64];       /* LLVM's host CPU name, e.g. "znver4" */
    char cpu_features[4096]; /* LLVM feature string, e.g. "+avx2,+fma,…" */
    int vector_bits;         /* 512 where AVX-512 exists, else 256 / 128 */
    /* cuda */
    int sm;         /* compute capability × 10: 80, 90 */
    int allow_tf32; /* f32 means true fp32 unless asked */
    int gemm_rule;  /* when a group becomes a library GEMM step (cuda_gemm.c): 0 = the
                     * backend's cost rule, 1 = whenever it can (tests), -1 = never */
} sn_cg_target;

/* Fills a CPU target for the machine this runs on (LLVM host name and features). */
sn_status sn_cg_target_host_cpu(sn_cg_target *t, char *err, size_t errlen);
/* A CUDA target for sm (e.g. 90) and dtype. */
void sn_cg_target_cuda(sn_cg_target *t, int sm, sn_dtype dtype);

/* Where a kernel argument points: the runtime's buffer kinds (runtime.h), which the runtime
 * turns into device pointers — arena, weights blob, graph input `index`, graph output. */
typedef sn_rt_buf sn_cg_arg_kind;
#define SN_CG_ARG_ARENA SN_RT_BUF_ARENA
#define SN_CG_ARG_WEIGHTS SN_RT_BUF_WEIGHTS
#define SN_CG_ARG_INPUT SN_RT_BUF_INPUT
#define SN_CG_ARG_OUTPUT SN_RT_BUF_OUTPUT

typedef struct sn_cg_arg {
    sn_cg_arg_kind kind;
    int32_t index;
    int64_t offset; /* bytes */
} sn_cg_arg;

#define SN_CG_MAX_ARGS 16

/* A kernel. CPU ABI: `void name(void **args, int64_t begin, int64_t end)` — computes tasks
 * [begin, end) of [0, tasks); the runtime's thread pool splits the range. CUDA ABI:
 * `extern "C" __global__ void name(T0 *a0, T1 *a1, …)` launched on grid × block. */
typedef struct sn_cg_kernel {
    char name[128]; /* says what it does: conv3x3s2_silu_16x320x320 */
    char *source;   /* CUDA C translation unit, or LLVM IR text (cpu); owned */
    char *spec;     /* canonical description incl. tunables; owned */
    char *comment;  /* the fused IR ops and the model-file lines they came from */
    int nargs;
    sn_cg_arg args[SN_CG_MAX_ARGS];
    int64_t tasks;                    /* cpu */
    uint32_t grid[3], block[3], smem; /* cuda */
    int nops;                         /* IR ops this kernel implements */
    void *impl;                       /* codegen-private description (what sn_cg_cpu_compile builds
                                       * from); owned, freed with the program */
} sn_cg_kernel;

/* One piece of the weights blob: the value of one PARAM or CONST node of the compiled graph,
 * as the kernels read it. name is the node's (a PARAM's Ultralytics state_dict key; a CONST
 * made by a pass, e.g. a conv weight with its BatchNorm folded in, keeps the conv's name).
 * plain: the piece holds the node's numel f32 values in the node's (post-pass) layout, so it
 * can be written from that node's data; otherwise a renderer packed it (tiles, Winograd,
 * BN scale/shift), and only sn_cg_lower makes it. */
typedef struct sn_cg_param {
    char *name;   /* owned */
    int is_param; /* made from a PARAM node of the compiled graph, else from another node
                   * (a CONST, or eager's BatchNorm scale/shift under the BN's name). After
                   * fold-bn a PARAM conv weight holds folded values: only an eager (unfolded)
                   * program's parameters are the values the user bound. */
    int plain;
    int64_t offset, bytes;
} sn_cg_param;

/* A step of the program, in launch order: a kernel of kernels[], or a library GEMM (the
 * runtime's sn_rt_gemm; cuBLASLt on CUDA) where the backend's rule says the library beats its
 * own template. Copies and all-reduces will be steps too. */
typedef struct sn_cg_step {
    sn_rt_step_kind kind;
    int kernel;      /* SN_RT_STEP_KERNEL: index into kernels */
    char name[128];  /* SN_RT_STEP_GEMM / HOST: what it computes, "gemm_conv1x1_1x64x80x80_f16",
                      * "host_conv_grad_weight_16x3x3x3" */
    sn_rt_gemm gemm; /* SN_RT_STEP_GEMM */
    /* SN_RT_STEP_HOST: a function of Sinter's own (codegen/cpu_host.c) with the CPU kernel ABI
     * over [0, tasks); its last argument is its description in the weights blob */
    void (*host)(void **args, int64_t begin, int64_t end);
    int64_t tasks;
    int nargs; /* GEMM: A, B, D (, bias), as sn_rt_gemm describes; HOST: the group's values,
                * then the description */
    sn_cg_arg args[SN_CG_MAX_ARGS];
} sn_cg_step;

typedef struct sn_cg_program {
    sn_cg_step *steps; /* launch order */
    int nsteps;
    sn_cg_param *params; /* the weights blob's pieces, in blob order */
    int nparams;
    sn_cg_kernel *kernels; /* launch order */
    int nkernels;
    int64_t arena_bytes;
    uint8_t *weights; /* PARAM/CONST data packed for the target, 64-byte aligned pieces */
    int64_t weight_bytes;
    int ninputs, noutputs;
    int64_t *input_bytes;  /* per graph input */
    int64_t *output_bytes; /* per graph output */
    /* Inputs and outputs cross the API as f32, NCHW, contiguous, whatever the target dtype
     * and layout; any conversion is a kernel of the program. */
} sn_cg_program;

/* ---------------------------------------------------------------- the backend table
 *
 * One row per code generator; everything that differs between backends is a slot of its
 * row, so the rest of Sinter (engine, cli, tests) picks a backend by name and never compares
 * names. A new backend is a new row (and its folder of renderers), nothing else. */
struct sn_cg_lower_ctx;
struct sn_cg_group;

struct sn_cg_backend {
    const char *name;     /* what --backend names: "cpu", "cuda" */
    const char *device;   /* the runtime device it runs on (sn_rt_device_open's name) */
    unsigned dtypes;      /* SN_CG_DTYPE_BIT(t) for each compute dtype it offers */
    const char *dump_ext; /* --dump file extension of its sources: ".ll", ".cu" */
    int narrow_storage;   /* 1: f16/bf16 programs keep their intermediates in that dtype */
    /* Fills t for dtype (checked against dtypes by sn_cg_backend_target) and, on CUDA, the
     * compute capability sm (× 10). */
    sn_status (*target)(sn_cg_target *t, sn_dtype dtype, int sm, char *err, size_t errlen);
    /* Renders one fused group into k (codegen-internal; sn_cg_lower calls it). */
    sn_status (*render)(struct sn_cg_lower_ctx *c, const struct sn_cg_group *g, sn_cg_kernel *k,
                        char *err, size_t errlen);
    /* Renames a rendered kernel (name, entry symbol, source). */
    sn_status (*rename)(sn_cg_kernel *k, const char *name);
    /* The compiler's identity and version ("LLVM 19.1.7", "NVRTC 13.0"): a cache-key part;
     * NULL when the compiler cannot be loaded. */
    const char *(*compiler_id)(void);
    /* The target's part of a cache key: everything of t that changes the binary. */
    void (*target_id)(const sn_cg_target *t, char *buf, size_t n);
    /* The text a kernel's binary follows from (its spec or its source). */
    const char *(*key_text)(const sn_cg_kernel *k);
    /* Compiles k for t into a loadable image (object file, CUBIN/PTX), malloc'd. */
    sn_status (*compile)(sn_cg_kernel *k, const sn_cg_target *t, void **image, size_t *len,
                         char *err, size_t errlen);
    /* Fills k->source for --dump where rendering leaves it empty (cpu: the LLVM IR text);
     * NULL when the source is always there. */
    sn_status (*fill_source)(sn_cg_kernel *k, const sn_cg_target *t, char *err, size_t errlen);
    /* Makes g a library step instead of a kernel when the backend's rule says so: returns 1
     * (s filled), 0 (render a kernel) or -1 (error in err). NULL: always a kernel. */
    int (*library_step)(struct sn_cg_lower_ctx *c, const struct sn_cg_group *g, sn_cg_step *s,
                        char *err, size_t errlen);
    /* Tunable candidates for a group (the tuner's slot); NULL: none listed yet. */
    int (*configs)(const struct sn_cg_group *g, void *out, int max);
};

#define SN_CG_DTYPE_BIT(t) (1u << (unsigned)(t))

extern const sn_cg_backend sn_cg_backend_cpu;
extern const sn_cg_backend sn_cg_backend_cuda;
/* Every row, then NULL. */
extern const sn_cg_backend *const sn_cg_backends[];
/* The row named name; NULL when there is none. */
const sn_cg_backend *sn_cg_backend_find(const char *name);
/* "cpu, cuda": for messages. */
const char *sn_cg_backend_names(void);
/* be->target after checking that be offers dtype: an unsupported dtype is an error naming
 * the backend and the dtypes it has. */
sn_status sn_cg_backend_target(const sn_cg_backend *be, sn_cg_target *t, sn_dtype dtype, int sm,
                               char *err, size_t errlen);

/* Renders every group of g into kernels for t. g must have been through the pass pipeline
 * for that backend. */
sn_status sn_cg_lower(const sn_ir_graph *g, const sn_cg_target *t, sn_cg_program **out, char *err,
                      size_t errlen);
void sn_cg_program_free(sn_cg_program *p);
/* Only the weights blob sn_cg_lower would make for g (malloc'd, *bytes long): the groups are
 * described and only those whose renderer packs weights are rendered, nothing is kept. For
 * new weight values in a graph already lowered: the blob's layout is sn_cg_lower's as long as
 * the values change no choice of the renderers (they choose from shapes, and Winograd only
 * over finite weights: keep the weights finite). */
sn_status sn_cg_lower_weights(const sn_ir_graph *g, const sn_cg_target *t, uint8_t **weights,
                              int64_t *bytes, char *err, size_t errlen);

/* CPU: builds the kernel's LLVM module from its spec and compiles it to an object file
 * (ELF, malloc'd) for t. Fills k->source with the LLVM IR text when want_ir is set (for
 * --dump). On failure writes the IR and LLVM's message to a file and says where in err. */
sn_status sn_cg_cpu_compile(sn_cg_kernel *k, const sn_cg_target *t, int want_ir, void **obj,
                            size_t *objlen, char *err, size_t errlen);
/* CPU: the kernel's LLVM IR as built from its spec, before any optimisation and for no
 * particular machine (a stable text: the kernel snapshot test hashes it). *ir is malloc'd. */
sn_status sn_cg_cpu_emit_ir(const sn_cg_kernel *k, const sn_cg_target *t, char **ir, char *err,
                            size_t errlen);
/* "LLVM 19.1.7" — part of the cache key. */
const char *sn_cg_cpu_compiler_id(void);

#ifdef __cplusplus
}
#endif
#endif /* SN_CODEGEN_H */
