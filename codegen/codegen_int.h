/* codegen/codegen_int.h — what the codegen module's own files share (cpu_*.c, cuda_*.c,
 * lower.c). Nothing outside codegen/ includes this.
 *
 * lower.c walks the graph's fusion groups in launch order and turns each into an
 * sn_cg_group: a backend-neutral description a renderer can emit a kernel from without
 * looking at the IR again (it may, through g->graph, for anything not described here).
 * Then it calls the backend's renderer, which fills the kernel's name, spec, source/impl and
 * launch shape, and packs the weights it wants packed its own way.
 *
 * A group is:
 *   - an anchor: the one op that decides the loop nest (conv2d, matmul, maxpool, softmax,
 *     reduce_sum; an upsample or concat that is alone in its group; a reshape copy), or
 *     none (SN_CG_ANCHOR_POINTWISE: an expression tree over the root's index space);
 *   - ops[]: in topological order, one per group node. For an anchored group ops[0] is the
 *     anchor itself (its operands are in anchor_in[], not in ops[0].in); ops[1..] are the
 *     epilogue, each unary, binary, or BATCHNORM (x*scale+shift), every one with the
 *     anchor's shape. For a pointwise group the ops form a tree (a DAG: a member may feed
 *     several consumers) evaluated from the root, the last op:
 *       - an elementwise/broadcast op at index idx evaluates its operands at idx (members
 *         are never broadcast: a PREV operand has the consumer's shape);
 *       - CONCAT at idx evaluates the one input k with start[k] <= idx[axis] < start[k+1]
 *         at idx with idx[axis] - start[k];
 *       - UPSAMPLE at idx evaluates in[0] at idx with idx[2]/scale_h, idx[3]/scale_w.
 *     An operand is an earlier op's result (PREV), a group input read at the index the
 *     operand is evaluated at (INPUT), or a literal (SCALAR).
 *   - vals[]: the group's inputs and outputs, one kernel argument each (vals[i] is
 *     k->args[i]): where the value lives (sn_cg_arg), its logical shape, element strides and
 *     storage dtype. Inputs come first (vals[0..nin)), then outputs (vals[nin..nvals)).
 *   - the index space: the shape the root (the stored op) runs over: the anchor's output
 *     shape, or the root's shape. An INPUT operand carries strides aligned to the shape of
 *     the index it is evaluated at (the consuming op's shape; for a CONCAT/UPSAMPLE operand
 *     the input's own shape), 0 = broadcast, so a renderer reads element
 *     Σ idx[k]*stride[k] of the val's argument whatever the original broadcast was.
 *
 * Invariants lower guarantees (a group it cannot describe is rejected with
 * SN_ERR_UNSUPPORTED naming the node, never silently mis-rendered):
 *   1. ops[] are in topological order; an op's PREV operands refer to smaller indices.
 *   2. Every op result that is used outside the group, or is a graph output, is stored:
 *      op.store >= nin is the output val index. The last op (the root) is always stored;
 *      with today's fuse pass it is the only one. Another stored op (possible only in
 *      groups without index transforms) has the root's shape: store it where computed.
 *   3. Anchored groups have no ops before the anchor (no prologue fusion).
 *   4. vals[i].loc already includes the value's element offset: element 0 of the logical
 *      value is at the argument's pointer; strides are elements of the storage dtype.
 *   5. Weight values (PARAM/CONST/ANCHORS data, is_weight = 1) are packed plain by lower —
 *      f32, contiguous row-major in their own logical shape, 64-byte aligned in the blob —
 *      except the anchor's weight operand (conv2d's w, and bias when present), which is
 *      left to the renderer (loc.kind = SN_CG_ARG_WEIGHTS, loc.offset = -1 until the
 *      renderer packs it with sn_cg_weights_add and sets k->args[i]).
 *   6. The index space has rank <= SN_MAX_DIMS; for 4-D anchors it is NCHW-logical
 *      (strides say the real layout; NHWC is channel stride 1).
 */
#ifndef SN_CODEGEN_INT_H
#define SN_CODEGEN_INT_H

#include "codegen/codegen.h"

#include <stdint.h>

/* ---------------------------------------------------------------- group description */

typedef enum sn_cg_anchor {
    SN_CG_ANCHOR_POINTWISE,  /* no anchor: elementwise/broadcast DAG; slice/permute/reshape of
                              * a group input are folded into the operand's strides */
    SN_CG_ANCHOR_CONV2D,     /* anchor_in: x, w (renderer packs), bias (-1 when none) */
    SN_CG_ANCHOR_MATMUL,     /* anchor_in: a [..., M, K], b [..., K, N] (strided) */
    SN_CG_ANCHOR_MAXPOOL,    /* anchor_in: x; attrs k, stride, pad; -inf padding */
    SN_CG_ANCHOR_UPSAMPLE,   /* anchor_in: x; attrs scale_h, scale_w; nearest (alone) */
    SN_CG_ANCHOR_SOFTMAX,    /* anchor_in: x; attrs axis */
    SN_CG_ANCHOR_REDUCE_SUM, /* anchor_in: x; attrs axis (kept as size 1) */
    SN_CG_ANCHOR_CONCAT,     /* anchor_in: the pieces; attr axis; concat_start[i] = where
                              * piece i starts along axis in the output. A concat alone in
                              * its group (not done in place: eager mode, or a copy). */
    SN_CG_ANCHOR_RESHAPE,    /* anchor_in: x; a copy in row-major element order between two
                              * strided tensors of equal numel (a reshape that is no view) */
    SN_CG_ANCHOR_HOST,       /* anchor_in: the op's inputs (weights plain); an op alone that no
                              * generator emits yet (training's BN statistics, conv weight
                              * gradient, strided conv input gradient, max-pool gradient) or that
                              * is no loop nest (the loss's assigner): a host kernel on the CPU
                              * (cpu_host.c), no template on CUDA yet */
    SN_CG_ANCHOR_COUNT
} sn_cg_anchor;

const char *sn_cg_anchor_name(sn_cg_anchor a);

typedef enum sn_cg_opnd_kind {
    SN_CG_OPND_NONE,
    SN_CG_OPND_PREV,  /* result of ops[ref] */
    SN_CG_OPND_INPUT, /* group input vals[ref] read at the current index (strides below) */
    SN_CG_OPND_SCALAR /* a literal: `scalar` (a CONST whose elements are all equal) */
} sn_cg_opnd_kind;

/* How an INPUT operand varies over the index space (for fast paths; `stride` is the truth). */
typedef enum sn_cg_bcast {
    SN_CG_BCAST_FULL,    /* every index-space dim has the val's own extent */
    SN_CG_BCAST_CHANNEL, /* varies along dim 1 only (a per-channel vector, e.g. [C], [1,C,1,1]);
                          * index-space rank >= 2 */
    SN_CG_BCAST_SCALAR,  /* one element, read from memory */
    SN_CG_BCAST_GENERAL  /* any other broadcast / strided view */
} sn_cg_bcast;

typedef struct sn_cg_opnd {
    sn_cg_opnd_kind kind;
    int32_t ref;                 /* PREV: op index; INPUT: val index */
    float scalar;                /* SCALAR */
    sn_cg_bcast bcast;           /* INPUT */
    int64_t stride[SN_MAX_DIMS]; /* INPUT: element strides over the index space (0 = bcast) */
} sn_cg_opnd;

#define SN_CG_OP_MAX_IN 8

typedef struct sn_cg_op {
    sn_op op;       /* the IR op. Epilogue: SILU SIGMOID RELU NEG EXP SQRT RECIP (unary),
                     * ADD SUB MUL DIV POW MAX2 (binary: in[0] op in[1]), CAST (identity
                     * when source and target dtype agree), BATCHNORM (in[0]*in[1]+in[2],
                     * in[1]/in[2] are per-channel scale/shift lower computed from the
                     * running stats), SLICE/PERMUTE/RESHAPE (identity of in[0]: the view
                     * is folded into in[0]'s strides; only in a lone copy group).
                     * Pointwise trees only (index transforms, see below):
                     * CONCAT (in[k] covers [start[k], start[k+1]) along attr[0]),
                     * UPSAMPLE (in[0] at idx[2]/attr[0], idx[3]/attr[1]).
                     * Anchored groups: ops[0].op is the anchor's op. */
    int32_t node;   /* the IR node (provenance) */
    sn_shape shape; /* the op's own logical shape: the index it is evaluated at */
    int nin;
    sn_cg_opnd in[SN_CG_OP_MAX_IN];
    int64_t attr[2];                    /* CONCAT: axis; UPSAMPLE: scale_h, scale_w */
    int64_t start[SN_CG_OP_MAX_IN + 1]; /* CONCAT: input k starts at start[k] along axis;
                                         * start[nin] = the extent */
    int32_t store;                      /* output val index this result is written to, or -1 */
} sn_cg_op;

typedef struct sn_cg_val {
    int32_t node;                /* the IR node whose value this is */
    sn_cg_arg loc;               /* where logical element 0 lives (offset included) */
    sn_dtype dtype;              /* storage dtype */
    sn_shape shape;              /* the value's own logical shape */
    int64_t stride[SN_MAX_DIMS]; /* its element strides */
    int is_weight;               /* PARAM / CONST / ANCHORS data, packed into the blob */
    const float *data;           /* is_weight: the f32 values (numel of shape), row-major */
} sn_cg_val;

#define SN_CG_MAX_OPS 48
#define SN_CG_MAX_NODES 64

typedef struct sn_cg_conv {
    int64_t n, c, h, w; /* input */
    int64_t o, oh, ow;  /* output channels and spatial size */
    int64_t kh, kw, sh, sw, ph, pw, dh, dw, groups;
} sn_cg_conv;

typedef struct sn_cg_group {
    const sn_ir_graph *graph;
    const sn_cg_target *target;
    int32_t id;    /* node->group */
    int32_t index; /* position in launch order (0, 1, …) */
    sn_cg_anchor anchor;
    int32_t anchor_node;        /* -1 for POINTWISE */
    int64_t attr[SN_IR_MAX_IA]; /* the anchor node's ia[] */
    int nattr;
    sn_cg_conv conv; /* CONV2D (also filled, k=stride=1-ish, for MAXPOOL) */
    int nanchor_in;
    int32_t anchor_in[SN_CG_MAX_ARGS];    /* val indices, -1 = absent (conv2d bias) */
    int64_t concat_start[SN_CG_MAX_ARGS]; /* CONCAT: start of piece i along the axis */

    int32_t nnodes;
    int32_t nodes[SN_CG_MAX_NODES]; /* the group's IR nodes in topological order */

    int nops;
    sn_cg_op ops[SN_CG_MAX_OPS];

    int nvals, nin; /* vals[0..nin) inputs, vals[nin..nvals) outputs */
    sn_cg_val vals[SN_CG_MAX_ARGS];

    sn_shape space; /* the index space */
} sn_cg_group;

/* ---------------------------------------------------------------- the builder */

/* The state of one sn_cg_lower call: the program under construction and its weights blob.
 * Renderers only use it through the helpers below. */
typedef struct sn_cg_lower_ctx sn_cg_lower_ctx;

/* Appends bytes to the weights blob at a 64-byte aligned offset and returns that offset, or
 * -1 on out-of-memory. `node` and `tag` (any small integer the backend chooses, e.g. a
 * packing layout) dedupe: the same (node, tag, bytes) packed twice returns the first offset.
 * node < 0 never dedupes. */
int64_t sn_cg_weights_add(sn_cg_lower_ctx *c, int32_t node, int32_t tag, const void *data,
                          size_t bytes);

/* A readable base name for a group: the anchor (conv3x3s2, conv1x1, dwconv3x3,
 * matmul, maxpool5, upsample2, softmax, reduce_sum, concat, reshape, or the first
 * pointwise op), the epilogue op names (bn, silu, add, …), and the index space's trailing
 * dims: "conv3x3s2_silu_16x320x320". Deterministic. */
void sn_cg_group_basename(const sn_cg_group *g, char *buf, size_t n);

/* The provenance comment: one line per fused IR node, "%12 conv2d  models/yolov8.sn:14:3".
 * malloc'd. */
char *sn_cg_group_comment(const sn_cg_group *g);

/* Renderers. Called with k->args[i] = g->vals[i].loc and k->nargs = g->nvals, k->comment
 * and k->nops filled. Each fills k->name (sn_cg_group_basename plus anything that makes it
 * unique for its spec — lower then appends "_1", "_2", … when two different specs in one
 * program share a name, and rewrites the name in spec/source through
 * sn_cg_*_rename), k->spec, k->source (CUDA) or k->impl (CPU), and the launch shape; and
 * packs the anchor's weight operand (invariant 5). k->impl, k->spec, k->source are freed with
 * free() by sn_cg_program_free (impl must be one allocation). SN_ERR_UNSUPPORTED for a group
 * shape it does not handle, with a message naming the group. Public helpers of codegen.h
 * that are backend-neutral (sn_cg_lower, sn_cg_program_free, sn_cg_target_cuda) live in
 * lower.c; sn_cg_target_host_cpu and sn_cg_cpu_* in the cpu files. */
sn_status sn_cg_cpu_render_group(sn_cg_lower_ctx *c, const sn_cg_group *g, sn_cg_kernel *k,
                                 char *err, size_t errlen);
/* The CPU backend's library_step (codegen/cpu_host.c): a host kernel for an
 * SN_CG_ANCHOR_HOST group (1, s filled), 0 for any other group, -1 with err on failure. */
int sn_cg_cpu_library_step(sn_cg_lower_ctx *c, const sn_cg_group *g, sn_cg_step *s, char *err,
                           size_t errlen);
/* Defined by codegen/cuda_render.c. */
sn_status sn_cg_cuda_render_group(sn_cg_lower_ctx *c, const sn_cg_group *g, sn_cg_kernel *k,
                                  char *err, size_t errlen);

/* Renames a rendered kernel (name, spec, source and impl), used by lower to keep names
 * unique per program. The CPU one lives in cpu_render.c, the CUDA one in cuda_render.c.
 * sn_cg_rename_text is a helper for both: replaces every whole-word occurrence of k->name
 * in k->spec and k->source with `name`, then sets k->name. */
sn_status sn_cg_cpu_rename(sn_cg_kernel *k, const char *name);
sn_status sn_cg_cuda_rename(sn_cg_kernel *k, const char *name);
sn_status sn_cg_rename_text(sn_cg_kernel *k, const char *name);

/* ---------------------------------------------------------------- small shared helpers */

/* 1 when a weight value's data (v->is_weight) holds no NaN/Inf, or when it has no data. A
 * conv template that zero-fills its padding (0·NaN = NaN) is only chosen over finite weights:
 * ref, like a direct conv, leaves padding taps out. */
int sn_cg_val_finite(const sn_cg_val *v);

/* ---------------------------------------------------------------- CPU kernels
 *
 * cpu_render.c turns a group into an sn_cg_cpu_impl: the kernel class, the shapes and
 * strides it reads and writes, the epilogue, and the tunables. The impl is plain data with
 * no IR node numbers or buffer offsets in it; k->spec is its complete canonical text, so the
 * spec determines the LLVM IR exactly (cpu_emit.c builds the IR from the impl alone, and
 * two kernels with equal specs compile to the same object). */

typedef enum sn_cg_cpu_class {
    SN_CG_CPU_CONV,      /* direct conv: pixels × output-channel vectors in registers */
    SN_CG_CPU_DWCONV,    /* depthwise (groups == C == O): vectors over channels */
    SN_CG_CPU_MATMUL,    /* rows of M × vectors of N in registers */
    SN_CG_CPU_POINTWISE, /* elementwise DAG over a coalesced index space */
    SN_CG_CPU_MAXPOOL,
    SN_CG_CPU_UPSAMPLE,
    SN_CG_CPU_SOFTMAX,
    SN_CG_CPU_REDUCE,
    SN_CG_CPU_CONCAT,  /* one strided copy per piece */
    SN_CG_CPU_RESHAPE, /* row-major element order copy */
    SN_CG_CPU_COUNT
} sn_cg_cpu_class;

typedef struct sn_cg_cpu_view {
    int32_t ndim;
    int64_t d[SN_MAX_DIMS];
    int64_t stride[SN_MAX_DIMS]; /* elements (f32) */
} sn_cg_cpu_view;

typedef struct sn_cg_cpu_impl {
    char name[128];
    sn_cg_cpu_class cls;
    int vw; /* f32 lanes per vector (16 with AVX-512, 8 with AVX2) */
    int nargs;
    sn_cg_cpu_view args[SN_CG_MAX_ARGS]; /* each argument's own logical shape and strides */
    sn_cg_anchor anchor;
    int nattr;
    int64_t attr[SN_IR_MAX_IA];
    sn_cg_conv conv; /* CONV / DWCONV / MAXPOOL (after 1×1 flattening) */
    int nanchor_in;
    int32_t anchor_in[SN_CG_MAX_ARGS];
    /* the epilogue (POINTWISE: the whole DAG) over `space`, vector lanes along dim vd */
    sn_shape space;
    int vd;
    int nops;
    sn_cg_op ops[SN_CG_MAX_OPS];                       /* node = -1 */
    int64_t store_stride[SN_CG_MAX_ARGS][SN_MAX_DIMS]; /* output args over `space` */
    /* CONCAT: per piece, a coalesced copy: out (arg nargs-1) + out_off, strides below */
    int npieces;
    sn_cg_cpu_view piece_in[SN_CG_MAX_ARGS]; /* d = the piece's (coalesced) shape */
    int64_t piece_out_stride[SN_CG_MAX_ARGS][SN_MAX_DIMS];
    int64_t piece_out_off[SN_CG_MAX_ARGS];
    int64_t piece_task0[SN_CG_MAX_ARGS + 1]; /* task range of piece i */
    int64_t piece_rows_per_task[SN_CG_MAX_ARGS], piece_chunk[SN_CG_MAX_ARGS];
    /* SOFTMAX / REDUCE: 0 = lanes across rows (along vd), 1 = lanes along the axis.
     * MATMUL: 1 = lanes along K (dot products; both operands contiguous along K) */
    int along_axis;
    /* tunables and the task split */
    int blk_pix;           /* CONV/DWCONV: output pixels per register block;
                            * MATMUL: rows of M */
    int blk_vec;           /* vectors of output channels (of N) per register block */
    int unroll;            /* inner reduction loop unroll */
    int flat;              /* CONV: 1×1/s1/p0 flattened to one row of OH*OW pixels */
    int wino;              /* CONV: Winograd F(2×2,3×3); blk_pix = tiles per block, chunk =
                            * tiles per task along a tile row */
    int64_t chunk;         /* CONV flat: pixels per task; POINTWISE/CONCAT: elements of
                            * the inner dim per task; RESHAPE: elements per task */
    int64_t rows_per_task; /* POINTWISE/CONCAT/SOFTMAX/REDUCE: outer rows per task */
    int64_t tasks;
} sn_cg_cpu_impl;

/* Output pixels per conv register block for nvec vectors of output channels: what the
 * register file holds (accumulators + weight vectors + a broadcast), at most 14. The
 * planner's default blk_pix, and the block size of a conv's last, narrower channel block
 * (derived, so it is fixed by the spec). cpu_render.c. */
int sn_cg_cpu_conv_pix(int vw, int nvec);

/* Builds the kernel function for ki into `module` (an LLVMModuleRef). cpu_emit.c. */
sn_status sn_cg_cpu_emit(const sn_cg_cpu_impl *ki, void *module, const sn_cg_target *t, char *err,
                         size_t errlen);
/* The canonical spec text of ki (malloc'd). cpu_render.c. */
char *sn_cg_cpu_spec(const sn_cg_cpu_impl *ki);

#endif /* SN_CODEGEN_INT_H */
