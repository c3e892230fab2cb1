/* codegen/cuda_int.h — what the CUDA renderer's files (codegen/cuda_*.c) share.
 * Included only by codegen/cuda_*.c. (An autotuner inside codegen/ renders with explicit
 * tunables through sn_cg_cuda_render_group_tuned.)
 *
 * Every CUDA kernel is one translation unit with no #include: a fixed prelude (storage
 * structs sn_half / sn_bf16, conversions by inline PTX, scalar and 16-byte vector
 * loads/stores; cp.async / ldmatrix / mma helpers for the GEMM templates), then one
 * `extern "C" __global__` function whose parameters are the group's vals in order
 * (a0, a1, …: inputs `const T *`, outputs `T *`, T the val's storage type). All arithmetic is
 * f32 whatever the storage dtype.
 *
 * Templates (one file each):
 *   cuda_conv.c      conv2d: implicit GEMM on tensor cores (mma.sync m16n8k16, f16/bf16,
 *                    cp.async multi-stage), implicit GEMM in true fp32 FMA (f32), and a
 *                    direct kernel (depthwise / thin grouped convs).
 *   cuda_pointwise.c index-space kernels: pointwise DAGs, upsample, maxpool, concat and
 *                    reshape copies (grid-stride, memory-order iteration, 16-byte lanes).
 *   cuda_reduce.c    softmax and reduce_sum (a row per thread or per (sub)warp).
 *   cuda_matmul.c    batched strided matmul (SIMT tiles, f32 accumulation).
 *   cuda_emit.c      the prelude, parameters, loads/stores and the epilogue emitter every
 *                    template shares.
 *   cuda_render.c    sn_cg_cuda_render_group: the dispatch.
 *
 * Storage dtypes are per val (codegen_int.h's vals[i].dtype): a kernel reading an f32 graph
 * input and writing f16 converts on the way, so program inputs/outputs cross the API as f32
 * without conversion kernels. Shared memory is static up to 48 KB, dynamic (k->smem) beyond,
 * at most SN_CG_CUDA_SMEM_DYN_MAX.
 *
 * Verification without a GPU: tests/codegen_cuda compiles every kernel through NVRTC and runs
 * the kernels on the CPU through tests/codegen_cuda/emu.h (fibers per CUDA thread, ldmatrix /
 * mma.sync / shfl emulated from the PTX ISA's fragment tables) against the ref evaluator.
 */
#ifndef SN_CODEGEN_CUDA_INT_H
#define SN_CODEGEN_CUDA_INT_H

#include "codegen/codegen_int.h"

#include <stdint.h>

/* ---------------------------------------------------------------- tunables
 *
 * Every template's knobs in one struct; the spec prints the ones a template uses, so a tuned
 * value changes the cache key. Zero means "let the heuristic choose". */
typedef enum sn_cg_cuda_algo {
    SN_CG_CUDA_ALGO_AUTO = 0,
    SN_CG_CUDA_ALGO_MMA,    /* conv: implicit GEMM, mma.sync m16n8k16 (f16/bf16, sm_80+) */
    SN_CG_CUDA_ALGO_FMA,    /* conv: implicit GEMM, fp32 FMA */
    SN_CG_CUDA_ALGO_DIRECT, /* conv: one output (x vec channels) per thread, window loop */
    SN_CG_CUDA_ALGO_SIMPLE  /* every other template */
} sn_cg_cuda_algo;

typedef struct sn_cg_cuda_tune {
    sn_cg_cuda_algo algo;
    int bm, bn, bk;       /* GEMM block tile (M = output pixels / rows, N = out channels) */
    int warps_m, warps_n; /* MMA: warp grid; warp tile = (bm/warps_m) x (bn/warps_n) */
    int warps_k;          /* MMA: sliced K — warps_k groups of warps take interleaved
                           * 16-wide k slices of each tile, reduced through shared memory
                           * before the epilogue (more warps per block for small M) */
    int tm, tn;           /* FMA / matmul: per-thread tile */
    int stages;           /* shared-memory pipeline depth (cp.async), >= 2 */
    int threads;          /* threads per block */
    int vec;              /* lanes per thread along the contiguous dim (1, 2, 4, 8) */
    int lpr;              /* reductions: lanes per row (1 = a row per thread, ..., 32) */
    int max_blocks;       /* grid-stride kernels: grid cap */
} sn_cg_cuda_tune;

/* Static shared memory a block may use without an opt-in attribute. */
#define SN_CG_CUDA_SMEM_MAX (48 * 1024)
/* Dynamic shared memory the GEMM templates may ask for (k->smem; the runtime raises the
 * kernel's limit when it exceeds 48 KB). 96 KB fits every sm_80+ part (A100 163 KB, sm_86/89
 * 99 KB, H100/H200 227 KB per block) and leaves room for two blocks per SM on A100/H100. */
#define SN_CG_CUDA_SMEM_DYN_MAX (96 * 1024)

/* ---------------------------------------------------------------- the kernel under construction */

typedef struct sn_cg_cuda_k {
    sn_str src;
    const sn_cg_group *g;
    const sn_cg_target *t;
    sn_cg_kernel *k;
    sn_cg_lower_ctx *ctx;
    int idx64;        /* index arithmetic needs 64 bits */
    const char *ity;  /* "int" or "long long" (typedef'd as sn_idx in the kernel) */
    int ninput_loads; /* counter for generated names */
} sn_cg_cuda_k;

/* The storage type name of a dtype in generated code: float, sn_half, sn_bf16, int. */
const char *sn_cg_cuda_stype(sn_dtype t);
/* Bytes of the storage type. */
int sn_cg_cuda_ssize(sn_dtype t);
/* Storage dtype of val i as the kernel sees it (weights packed plain by lower are f32). */
sn_dtype sn_cg_cuda_val_dtype(const sn_cg_group *g, int i);
/* cuda_gemm.c: the backend table's library_step rule (a lone 1×1 conv → cuBLASLt GEMM). */
int sn_cg_cuda_gemm(sn_cg_lower_ctx *c, const sn_cg_group *g, sn_cg_step *s, char *err,
                    size_t errlen);

/* Starts a kernel source: the provenance comment, the prelude (with the GEMM helpers when
 * want_mma), and decides idx64 from the vals' extents. */
void sn_cg_cuda_begin(sn_cg_cuda_k *kc, int want_mma);
/* Writes `extern "C" __global__ void __launch_bounds__(threads) NAME(params) {` and the
 * sn_idx typedef. Vals listed in `override` (dtype per val, or -1) use that type instead. */
void sn_cg_cuda_signature(sn_cg_cuda_k *kc, int threads, const int *override_dtype);
/* Finishes: closes the function, takes the source into k->source, sets k->spec from the
 * spec text. Returns SN_ERR_NOMEM on out-of-memory. */
sn_status sn_cg_cuda_finish(sn_cg_cuda_k *kc, sn_str *spec, char *err, size_t errlen);

/* Sets the launch shape (grid gx x gy x gz, blocks of tu->threads threads, `smem` bytes of
 * dynamic shared memory) and finishes as sn_cg_cuda_finish. */
sn_status sn_cg_cuda_launch(sn_cg_cuda_k *kc, sn_str *spec, const sn_cg_cuda_tune *tu, uint32_t gx,
                            uint32_t gy, uint32_t gz, uint32_t smem, char *err, size_t errlen);

/* Spec: the canonical description (target, template, tunables, vals, ops). */
void sn_cg_cuda_spec_begin(sn_cg_cuda_k *kc, sn_str *spec, const char *tmpl,
                           const sn_cg_cuda_tune *tu);

/* A float literal that round-trips (e.g. "0.5f", "__int_as_float(0x7f800000)"). */
void sn_cg_cuda_float_lit(float f, char *buf, size_t n);

/* Strides of stored val `vi` aligned to the index space (right-aligned; 0 where the val has
 * extent 1 and the space does not). */
void sn_cg_cuda_space_strides(const sn_cg_group *g, int vi, int64_t *stride);

/* Sum of idx[k]*stride[k] over dims with non-zero stride and extent > 1, as C text ("0"
 * when empty). idx[k] are C expressions. */
void sn_cg_cuda_offset_expr(char *buf, size_t n, int ndim, const int64_t *extent,
                            const char *const *idx, const int64_t *stride);

/* True when a vec-lane access of val `vi` through `stride` (over a space with `extent`) can
 * be one aligned vector access: lane stride 1, every other stride a multiple of vec, the
 * val's byte offset a multiple of vec * size, and the lane index a multiple of vec. */
int sn_cg_cuda_vec_ok(const sn_cg_group *g, int vi, int ndim, const int64_t *extent,
                      const int64_t *stride, int lane_dim, int vec, int lane_aligned);

/* ---------------------------------------------------------------- the epilogue emitter
 *
 * Emits, for one chunk of `vec` lanes of the index space, the group's ops (from
 * ops[first_op]) computed per lane and the stores of every stored op. The anchor's value for
 * lane v is the C expression `anchor` (it uses `v`); pointwise groups pass NULL and
 * first_op 0. When `full` is non-NULL the emitter writes `if (full) { vector path } else {
 * guarded per-lane path }`, the latter testing `lane_in` (uses `v`) per lane. */
typedef struct sn_cg_cuda_epi {
    const char *idx[SN_MAX_DIMS]; /* lane-0 index of each index-space dim (C expressions) */
    int lane_dim;                 /* dim the lanes run along (ignored when vec == 1) */
    int vec;
    int lane_aligned; /* idx[lane_dim] is always a multiple of vec */
    const char *anchor;
    const char *full;
    const char *lane_in;
    int indent; /* spaces */
} sn_cg_cuda_epi;

/* SN_ERR_UNSUPPORTED for an op it cannot render (the caller names the group). */
sn_status sn_cg_cuda_epilogue(sn_cg_cuda_k *kc, const sn_cg_cuda_epi *e);

/* Appends `indent` spaces then the formatted text. */
void sn_cg_cuda_line(sn_cg_cuda_k *kc, int indent, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Emits code loading `vec` lanes of val `vi` into `float var[vec]` (declared), at element
 * offset `off` (C expression) with lane stride `lane_stride`; `vector_ok` from
 * sn_cg_cuda_vec_ok. */
void sn_cg_cuda_load_lanes(sn_cg_cuda_k *kc, int indent, const char *var, int vi, const char *off,
                           int64_t lane_stride, int vec, int vector_ok, int declare);

/* SIMT GEMM tiles (matmul, f32 conv): declares `float acc[TM][TN]` zeroed. */
void sn_cg_cuda_acc_zero(sn_cg_cuda_k *kc);
/* Reads one float4 at `src` (a pointer expression) into the four lanes `dst`0] .. `dst`3]
 * (dst is the text up to the lane index, e.g. "a_[i][" or "b_[j4 * 4 + "). */
void sn_cg_cuda_float4_unpack(sn_cg_cuda_k *kc, int indent, const char *src, const char *dst);

/* ---------------------------------------------------------------- templates */

/* Index-space kernels: POINTWISE, UPSAMPLE, MAXPOOL, CONCAT, RESHAPE; and the direct conv
 * (cuda_conv.c supplies the anchor code through this frame). */
sn_status sn_cg_cuda_render_space(sn_cg_cuda_k *kc, const sn_cg_cuda_tune *tu, char *err,
                                  size_t errlen);
sn_status sn_cg_cuda_render_conv(sn_cg_cuda_k *kc, const sn_cg_cuda_tune *tu, char *err,
                                 size_t errlen);
sn_status sn_cg_cuda_render_reduce(sn_cg_cuda_k *kc, const sn_cg_cuda_tune *tu, char *err,
                                   size_t errlen);
sn_status sn_cg_cuda_render_matmul(sn_cg_cuda_k *kc, const sn_cg_cuda_tune *tu, char *err,
                                   size_t errlen);

/* The direct conv's anchor code inside an index-space kernel (cuda_conv.c): the window sum
 * for the chunk at idx into `float x_[vec]`. Weights were packed by sn_cg_cuda_render_conv. */
sn_status sn_cg_cuda_direct_conv_body(sn_cg_cuda_k *kc, int indent, const char *const *idx,
                                      int lane_dim, int vec);

/* Lower's rename (codegen/lower.c): replaces the name in k->name, k->spec and k->source. */
sn_status sn_cg_rename_text(sn_cg_kernel *k, const char *name);

/* The heuristic tunables for a group (what sn_cg_cuda_render_group uses when no tuned
 * config is given). Fills every field the group's template reads. */
void sn_cg_cuda_conv_heuristic(const sn_cg_group *g, sn_cg_cuda_tune *tu);

/* Renders a group with explicit tunables (zero fields filled by the heuristic); the entry
 * point for the autotuner. */
sn_status sn_cg_cuda_render_group_tuned(sn_cg_lower_ctx *c, const sn_cg_group *g,
                                        const sn_cg_cuda_tune *tu, sn_cg_kernel *k, char *err,
                                        size_t errlen);

/* Host-side rounding of f32 to f16 / bf16 bits (round to nearest even), for weight packing. */

#endif /* SN_CODEGEN_CUDA_INT_H */
