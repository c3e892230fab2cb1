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

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sn_cg_backend { SN_CG_BACKEND_CPU, SN_CG_BACKEND_CUDA } sn_cg_backend;

typedef struct sn_cg_target {
    sn_cg_backend backend;
    sn_dtype dtype; /* compute/storage dtype of activations: f32 on cpu; f32/f16/bf16 cuda */
    /* cpu */
    char cpu_name[64];       /* LLVM's host CPU name, e.g. "znver4" */
    char cpu_features[4096]; /* LLVM feature string, e.g. "+avx2,+fma,…" */
    int vector_bits;         /* 512 where AVX-512 exists, else 256 / 128 */
    /* cuda */
    int sm;         /* compute capability × 10: 80, 90 */
    int allow_tf32; /* f32 means true fp32 unless asked */
} sn_cg_target;

/* Fills a CPU target for the machine this runs on (LLVM host name and features). */
sn_status sn_cg_target_host_cpu(sn_cg_target *t, char *err, size_t errlen);
/* A CUDA target for sm (e.g. 90) and dtype. */
void sn_cg_target_cuda(sn_cg_target *t, int sm, sn_dtype dtype);

/* Where a kernel argument points; the runtime turns each into a device pointer. */
typedef enum sn_cg_arg_kind {
    SN_CG_ARG_ARENA,   /* arena base + offset */
    SN_CG_ARG_WEIGHTS, /* weights blob base + offset */
    SN_CG_ARG_INPUT,   /* graph input `index` + offset */
    SN_CG_ARG_OUTPUT   /* graph output `index` + offset */
} sn_cg_arg_kind;

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

typedef struct sn_cg_program {
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

/* Renders every group of g into kernels for t. g must have been through the pass pipeline
 * for that backend. */
sn_status sn_cg_lower(const sn_ir_graph *g, const sn_cg_target *t, sn_cg_program **out, char *err,
                      size_t errlen);
void sn_cg_program_free(sn_cg_program *p);

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
