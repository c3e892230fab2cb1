/* ir/ir.h — Sinter's graph IR: the one public header of the ir module.
 *
 * A graph is a list of nodes in topological order. Every node produces exactly one value
 * (SSA); a node's index is the value's name. Nodes refer to their inputs by 32-bit index,
 * never by pointer. All shapes are concrete: a graph is built for one (batch, H, W).
 *
 * Storage: one graph owns its nodes (a growable array), a string pool (names, provenance)
 * and the float32 data of PARAM / CONST nodes. sn_ir_graph_free releases everything.
 *
 * Passes edit in place and mark removed nodes SN_IR_NODE_DEAD; sn_ir_graph_compact drops
 * them and renumbers. Nothing else keeps node indices across a compaction.
 *
 * The op table (ir/ops.def) is the single definition of every op: name, arity, fusion kind,
 * attribute names, flags and its rules (shape, ref, vjp), defined in ir/ops/. The printer,
 * parser, verifier, shape inference, the ref evaluator and (later) autodiff all index
 * sn_ir_op_info, generated from it.
 */
#ifndef SN_IR_H
#define SN_IR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* sn_status, sn_errf, SN_ASSERT and the f16/bf16 converters come from base/base.h. */

/* ---------------------------------------------------------------- dtypes and shapes */

#define SN_DTYPE_LIST(X)                                                                           \
    X(F32, "f32", 4)                                                                               \
    X(F16, "f16", 2)                                                                               \
    X(BF16, "bf16", 2)                                                                             \
    X(I32, "i32", 4)

typedef enum sn_dtype {
#define SN_X_(id, str, size) SN_DTYPE_##id,
    SN_DTYPE_LIST(SN_X_)
#undef SN_X_
        SN_DTYPE_COUNT
} sn_dtype;

const char *sn_dtype_name(sn_dtype t);
size_t sn_dtype_size(sn_dtype t);
/* Returns SN_OK and sets *out, or SN_ERR_INVALID for an unknown name. */
sn_status sn_dtype_parse(const char *name, sn_dtype *out);

#define SN_MAX_DIMS 6

typedef struct sn_shape {
    int32_t ndim;           /* 0 = scalar */
    int64_t d[SN_MAX_DIMS]; /* d[0] is outermost; row-major (C order) */
} sn_shape;

int64_t sn_shape_numel(const sn_shape *s);
int sn_shape_eq(const sn_shape *a, const sn_shape *b);
/* Element strides of a contiguous row-major shape (dims past ndim get 0). */
void sn_ir_contiguous_strides(const sn_shape *s, int64_t *stride);
/* Writes "[1,3,640,640]" into buf; returns buf. */
char *sn_shape_str(const sn_shape *s, char *buf, size_t n);

/* ---------------------------------------------------------------- the op table
 *
 * ir/ops.def is the single definition of every op: one row each with its name, arity, fusion
 * kind, attribute names, flags and rules (shape, ref, vjp); its opening comment states every
 * op's semantics. It is expanded into the sn_op enum here and into sn_ir_op_info in graph.c.
 */
typedef enum sn_op {
#define SN_IR_OP(id, name, mn, mx, kind, attrs, flags, shape, ref, vjp) SN_OP_##id,
#include "ir/ops.def"
    SN_OP_COUNT
} sn_op;

/* op flags */
#define SN_OPF_LEAF 1u   /* no inputs; value comes from data/attrs */
#define SN_OPF_UNARY 2u  /* one input, elementwise */
#define SN_OPF_BINARY 4u /* two inputs, elementwise with numpy broadcasting */
/* Derivatives: the extension point for autodiff (training, DESIGN.md). An op marked
 * SN_OPF_DIFFERENTIABLE gets a vector-Jacobian rule (the vjp column of ops.def): from the
 * gradient of its output, the gradients of its inputs, built as IR nodes. Unmarked ops stop
 * gradients: the leaves (INPUT, PARAM, CONST, ANCHORS; a PARAM's gradient is what autodiff
 * returns, not a rule), any op whose output is piecewise constant in its inputs, and the
 * gradient ops themselves (no second derivatives). Unmarked ops have sn_ir_vjp_none. */
#define SN_OPF_DIFFERENTIABLE 8u

typedef enum sn_op_kind {
    SN_OP_KIND_ELEMWISE,
    SN_OP_KIND_BROADCAST,
    SN_OP_KIND_INJECTIVE,
    SN_OP_KIND_REDUCE,
    SN_OP_KIND_OUT_EWISE_FUSABLE,
    SN_OP_KIND_OPAQUE
} sn_op_kind;

struct sn_ir_node;
struct sn_ir_graph;
struct sn_ir_ref_args; /* ir-internal (ir/ir_int.h): what a ref rule reads and writes */

/* An op's shape rule: n's result shape and dtype from its inputs x[0..n->nin) and attributes,
 * without writing n. The caller has checked the arity and attribute counts against the table
 * and that every input exists with a valid shape; *shape arrives zeroed and *dtype as the
 * first input's dtype (a leaf's own). Error text starts with the op name. */
typedef sn_status sn_ir_shape_rule(const struct sn_ir_node *n, const struct sn_ir_node *const *x,
                                   sn_shape *shape, sn_dtype *dtype, char *err, size_t errlen);
/* An op's ref rule: computes the node's f32 values (SN_OK, or SN_ERR_NOMEM). */
typedef sn_status sn_ir_ref_rule(const struct sn_ir_ref_args *r);
/* An op's vector-Jacobian rule: appends the nodes computing the gradients of node's inputs
 * from dy (the gradient of its output, node's shape) and writes their indices to dx[0..nin)
 * (-1: that input gets none). Gradients are f32 and have their input's shape. A rule may
 * build a gradient nobody asks for (autodiff drops the dead ones). Rules are defined beside
 * their op's shape and ref rules (ir/ops/); an op without a derivative has sn_ir_vjp_none. */
typedef sn_status sn_ir_vjp_rule(struct sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx,
                                 char *err, size_t errlen);
/* The rule of every op not marked SN_OPF_DIFFERENTIABLE: fails with "<op> has no derivative". */
sn_ir_vjp_rule sn_ir_vjp_none;

typedef struct sn_op_info {
    const char *name;
    int min_inputs, max_inputs;
    sn_op_kind kind;
    const char *attrs; /* "a,b,c;f" as in the table */
    uint32_t flags;
    sn_ir_shape_rule *shape;
    sn_ir_ref_rule *ref;
    sn_ir_vjp_rule *vjp; /* sn_ir_vjp_none exactly on the ops not SN_OPF_DIFFERENTIABLE */
} sn_op_info;

/* Generated from ir/ops.def; indexed by sn_op. */
extern const sn_op_info sn_ir_op_info[SN_OP_COUNT];
/* Returns SN_OP_COUNT for an unknown name. */
sn_op sn_ir_op_from_name(const char *name);

/* How random weights initialise a PARAM (ia[0]). */
typedef enum sn_ir_init {
    SN_IR_INIT_CONV_WEIGHT, /* kaiming-uniform-like, scaled by fan-in */
    SN_IR_INIT_CONV_BIAS,
    SN_IR_INIT_BN_WEIGHT, /* U(1.6, 2.4); random weights then calibrate (frontend/weights.c) */
    SN_IR_INIT_BN_BIAS,   /* small */
    SN_IR_INIT_BN_MEAN,   /* small */
    SN_IR_INIT_BN_VAR,    /* positive, around 1 */
    SN_IR_INIT_ARANGE     /* 0, 1, 2, … (DFL's fixed conv) */
} sn_ir_init;

/* ---------------------------------------------------------------- nodes and graphs */

#define SN_IR_MAX_IN 64
#define SN_IR_MAX_IA 16
#define SN_IR_MAX_FA 4 /* float attributes per node */

#define SN_IR_NODE_DEAD 1u   /* removed by a pass; dropped by sn_ir_graph_compact */
#define SN_IR_NODE_OUTPUT 2u /* listed in graph->outputs */
#define SN_IR_NODE_FROZEN 4u /* PARAM that training must not update (DFL) */
/* A mixed-precision compute node (set by passes/autocast): it reads its float inputs whatever
 * their dtypes, computes in f32, and its dtype is the one its value is stored in (f16/bf16 in
 * the arena, f32 inside a kernel or in a graph output). Inference then checks the op's shapes
 * with every float input taken as f32 and keeps the node's own float dtype. */
#define SN_IR_NODE_MIXED 8u

typedef struct sn_ir_node {
    sn_op op;
    sn_dtype dtype;
    sn_shape shape;
    uint32_t flags;
    int32_t nin;
    int32_t *in; /* nin input node indices (< this node's index) */
    int32_t nia;
    int64_t ia[SN_IR_MAX_IA]; /* integer attributes, meaning per op table */
    double fa[SN_IR_MAX_FA];  /* float attributes */
    uint32_t name;            /* string pool offset; 0 = no name. PARAM: state_dict key */
    uint32_t src;             /* string pool offset: provenance "models/yolov8.sn:42:5"; 0 = none */
    float *data;              /* PARAM / CONST values (numel floats), owned by the graph; or NULL */
    /* Annotations set by passes/ and read by codegen/ (sn_ir_add initialises them to
     * group = -1, buf = -1, offset 0, contiguous row-major strides of the logical shape).
     * A value's element at logical index (i0,…,in) lives at buf element
     * offset + Σ ik*stride[k]. Layout (NHWC), views (slice, reshape) and concat-in-place
     * are all expressed by these: a producer whose output is a slice of a concat gets the
     * concat's buf, an offset and the concat's strides. */
    int32_t group;               /* fusion group id (passes/fuse); -1 = none */
    int32_t buf;                 /* index into graph->bufs; -1 = not planned */
    int64_t offset;              /* element offset in buf */
    int64_t stride[SN_MAX_DIMS]; /* element strides of the logical shape */
} sn_ir_node;

typedef enum sn_ir_buf_kind {
    SN_IR_BUF_ARENA,  /* an intermediate: lives in the plan's one arena at arena_offset */
    SN_IR_BUF_INPUT,  /* graph input i (index) */
    SN_IR_BUF_OUTPUT, /* graph output i (index) */
    SN_IR_BUF_CONST   /* PARAM / CONST data, owned by the node `index` */
} sn_ir_buf_kind;

/* A storage buffer, set up by passes/plan-memory. */
typedef struct sn_ir_buf {
    sn_ir_buf_kind kind;
    int32_t index; /* input/output number, or the PARAM/CONST node */
    sn_dtype dtype;
    int64_t elems;        /* size in elements */
    int64_t arena_offset; /* ARENA: byte offset in the arena (aligned to 64) */
} sn_ir_buf;

typedef struct sn_ir_graph {
    sn_ir_node *nodes;
    int32_t nnodes, cap;
    char *strings; /* pool; offset 0 is the empty string */
    uint32_t nstrings, scap;
    int32_t *inputs, ninputs;   /* INPUT node indices, in order */
    int32_t *outputs, noutputs; /* result node indices, in order */
    sn_ir_buf *bufs;            /* storage plan (passes/plan-memory); NULL before */
    int32_t nbufs;
    int64_t arena_bytes; /* peak arena size from plan-memory */
    void *arena;         /* private: allocations freed with the graph */
} sn_ir_graph;

sn_ir_graph *sn_ir_graph_new(void);
void sn_ir_graph_free(sn_ir_graph *g);
/* Deep copy (data included). NULL on out-of-memory. */
sn_ir_graph *sn_ir_graph_clone(const sn_ir_graph *g);

/* Interns a string; returns its pool offset (0 for NULL or ""). */
uint32_t sn_ir_str(sn_ir_graph *g, const char *s);
/* The string at a pool offset ("" for 0). Valid until the next sn_ir_str. */
const char *sn_ir_str_get(const sn_ir_graph *g, uint32_t off);

/* Appends a node, infers its shape and dtype, and returns its index, or -1 with a message in
 * err (if non-NULL) when the inputs do not fit the op (arity, attrs, shapes). The attrs are
 * copied. For LEAF ops (INPUT, PARAM, CONST, ANCHORS) `shape` gives the shape (ANCHORS: may
 * be NULL, computed from attrs; CONST: NULL = scalar []); otherwise it is ignored (NULL is
 * fine). `dtype` is used by INPUT, PARAM and CONST; other ops infer theirs (CAST: ia[0]).
 * Attribute counts must match the op table exactly (variadic lists: any length that fits).
 * CONST: fa[0] is required; data is allocated and filled with it (overwrite it for a
 * non-uniform constant). INPUT: the node is also appended to graph->inputs. */
int32_t sn_ir_add(sn_ir_graph *g, sn_op op, const int32_t *in, int nin, const int64_t *ia, int nia,
                  const double *fa, int nfa, const sn_shape *shape, sn_dtype dtype, char *err,
                  size_t errlen);

/* Convenience builders (all return the new index or -1; err as above). */
int32_t sn_ir_input(sn_ir_graph *g, const char *name, const sn_shape *shape);
int32_t sn_ir_param(sn_ir_graph *g, const char *name, const sn_shape *shape, sn_ir_init init);
int32_t sn_ir_scalar(sn_ir_graph *g, double value);
void sn_ir_set_src(sn_ir_graph *g, int32_t node, const char *src);
void sn_ir_mark_output(sn_ir_graph *g, int32_t node);
/* Sets a node's name (PARAM: the state_dict key; INPUT: the input's name). */
void sn_ir_set_name(sn_ir_graph *g, int32_t node, const char *name);
/* Replaces a node's inputs with a fresh graph-owned copy of in[0..nin) (use this, not a
 * pointer of your own, when a pass changes the number of inputs). Does not re-infer: call
 * sn_ir_infer afterwards. SN_ERR_INVALID for nin out of range, SN_ERR_NOMEM. */
sn_status sn_ir_set_inputs(sn_ir_graph *g, int32_t node, const int32_t *in, int nin);

/* ---------------------------------------------------------------- node builders (ir/grad.c), for
 * the derivative rules and the training passes. Each appends nodes and returns the result's index,
 * or -1 with the reason in err; an input of -1 gives -1 at once, so a rule writes its formula
 * straight through and checks only what it returns. */
typedef struct sn_ir_gb {
    sn_ir_graph *g;
    char *err;
    size_t errlen;
} sn_ir_gb;
int32_t sn_gb_op(sn_ir_gb *b, sn_op op, const int32_t *in, int nin, const int64_t *ia, int nia,
                 const double *fa, int nfa);
int32_t sn_gb_un(sn_ir_gb *b, sn_op op, int32_t x);
int32_t sn_gb_bin(sn_ir_gb *b, sn_op op, int32_t x, int32_t y);
int32_t sn_gb_scalar(sn_ir_gb *b, double v);                      /* a rank-0 f32 CONST */
int32_t sn_gb_zeros(sn_ir_gb *b, const sn_shape *s);              /* an f32 CONST of zeros */
int32_t sn_gb_reshape(sn_ir_gb *b, int32_t x, const sn_shape *s); /* x itself when equal */
int32_t sn_gb_slice(sn_ir_gb *b, int32_t x, int axis, int64_t start, int64_t end);
int32_t sn_gb_sum(sn_ir_gb *b, int32_t x, int axis); /* REDUCE_SUM, the axis kept */
int32_t sn_gb_permute(sn_ir_gb *b, int32_t x, const int64_t *perm, int n);
/* A per-channel vector ([C], [1, C] …) viewed as [1, C, 1, …] against a rank-r input. */
int32_t sn_gb_chan(sn_ir_gb *b, int32_t v, int r);
/* dy (a broadcast result's shape) summed down to the operand shape `to`. */
int32_t sn_gb_unbroadcast(sn_ir_gb *b, int32_t dy, const sn_shape *to);
/* c[0] + c[1] + … (equal shapes), left to right. */
int32_t sn_gb_addn(sn_ir_gb *b, const int32_t *c, int n);

/* Allocates node->data (numel floats, zeroed) if absent; returns it (NULL on OOM). */
float *sn_ir_node_data(sn_ir_graph *g, int32_t node);

/* Shape inference for one node from its inputs and attrs: writes node->shape/dtype. */
sn_status sn_ir_infer(sn_ir_graph *g, int32_t node, char *err, size_t errlen);

/* Drops DEAD nodes, and nodes no output depends on, renumbering inputs/outputs. */
void sn_ir_graph_compact(sn_ir_graph *g);

/* Counts the uses of each node (n = g->nnodes entries, caller-allocated): how many input
 * slots of live (non-DEAD) nodes refer to it. Graph outputs are not counted; test
 * SN_IR_NODE_OUTPUT for those. */
void sn_ir_use_counts(const sn_ir_graph *g, int32_t *uses);

/* Finds a PARAM by state_dict name; -1 if none. */
int32_t sn_ir_find_param(const sn_ir_graph *g, const char *name);

/* ---------------------------------------------------------------- verifier
 *
 * Invariants checked by sn_ir_verify:
 *  1. Every live node's inputs refer to live nodes with a smaller index (topological order).
 *  2. The number of inputs is within the op table's [min, max].
 *  3. Shapes and dtypes equal what sn_ir_infer computes from the inputs.
 *  4. Every PARAM has a non-empty name, unique among PARAMs.
 *  5. INPUT nodes are exactly graph->inputs; every output index is a live node.
 *  6. Rank is within SN_MAX_DIMS and every dimension is >= 1.
 *  7. A PARAM or CONST with data has exactly numel floats (not checkable here: data length is
 *     by construction; checked where data is bound).
 * On failure returns SN_ERR_INVALID and writes "after pass <after>: node %N: …" to err. */
sn_status sn_ir_verify(const sn_ir_graph *g, const char *after, char *err, size_t errlen);

/* ---------------------------------------------------------------- text form
 *
 * One line per node, e.g.
 *   %7:f32[1,16,320,320] = conv2d(%0, %5) {stride_h=2, stride_w=2, pad_h=1, pad_w=1, dil_h=1,
 *                         dil_w=1, groups=1} "model.0.conv" @"models/yolov8.sn:12:5"
 * (on one line). PARAM data is not printed (weights are bound separately); CONST data is
 * printed as "[v, v, …]" only when some element differs from fa[0] (a uniform constant of
 * any size prints as its value). The first and last lines are "inputs %a, …" and
 * "outputs %b, …"; flags print as trailing words (dead, frozen, group=N). The parser accepts
 * exactly what the printer writes, so any dump round-trips to an equal graph (byte-identical
 * when printed again). The full grammar is the comment at the top of ir/text.c. */
void sn_ir_print(const sn_ir_graph *g, FILE *out);
/* Parses text; on error returns NULL and writes "<name>:line:col: error: …" to err. */
sn_ir_graph *sn_ir_parse(const char *text, const char *name, char *err, size_t errlen);

/* ---------------------------------------------------------------- the ref evaluator
 *
 * Plain C semantics of every op: f32 storage, double accumulation in convolutions, matmuls
 * and reductions. One op at a time, never optimised. The oracle of every other path.
 * inputs[i] holds graph->inputs[i]'s data (numel floats); outputs[i] receives
 * graph->outputs[i]'s data (caller-allocated). Every PARAM must have data. Only nodes some
 * output depends on are evaluated. A node whose dtype is f16/bf16 has its values rounded to
 * that precision (round-to-nearest-even) and kept as f32; i32 truncates toward zero. */
sn_status sn_ir_ref_run(const sn_ir_graph *g, const float *const *inputs, float *const *outputs,
                        char *err, size_t errlen);

/* The first node, in evaluation order, whose value holds a NaN or an Inf: since every node
 * comes after its inputs, it is the op that produced the first non-finite value (or the
 * INPUT / PARAM that brought one in). node = -1 when every evaluated value is finite. */
typedef struct sn_ir_ref_nonfinite {
    int32_t node;
    int64_t index;    /* flat index of its first non-finite element */
    float value;      /* that element */
    int64_t nan, inf; /* how many elements of the node are NaN, ±Inf */
} sn_ir_ref_nonfinite;

/* sn_ir_ref_run that also checks every evaluated value (the --check-finite mode). */
sn_status sn_ir_ref_run_checked(const sn_ir_graph *g, const float *const *inputs,
                                float *const *outputs, sn_ir_ref_nonfinite *first, char *err,
                                size_t errlen);

/* DET_LOSS (grad 0: y = the loss [3]) or DET_LOSS_GRAD (grad 1: y = dpred, pred's shape) as
 * the ref rule computes them, for callers without a node (a backend's host kernel): ia, fa
 * the node's attributes (nc, reg_max; the gains), pred [B, 4·reg_max + nc, A] contiguous,
 * targets [B, cap, 5], anchors (1,2,A), strides (1,1,A), dloss [3] (grad only). */
sn_status sn_ir_det_loss_compute(int grad, const int64_t *ia, const double *fa, const sn_shape *ps,
                                 const float *pred, int64_t cap, const float *targets,
                                 const float *anchors, const float *strides, const float *dloss,
                                 float *y);

/* MAXPOOL2D_GRAD's routing, for ref and backends' host kernels alike: the element of one
 * (n, c) plane x (element strides sy, sx; H×W) that output (oy, ox) of a k×k max-pool
 * (stride st, -inf padding pd) takes, as y·W + x: the first maximum in row-major order, a NaN
 * winning as torch's max-pool lets it. */
int64_t sn_ir_maxpool_argmax(const float *x, int64_t sy, int64_t sx, int64_t H, int64_t W,
                             int64_t k, int64_t st, int64_t pd, int64_t oy, int64_t ox);

/* ---------------------------------------------------------------- counting */

/* Parameter count: the sum of PARAM numel, leaving out BN running_mean/running_var PARAMs
 * (init SN_IR_INIT_BN_MEAN/BN_VAR: buffers, not parameters, in torch). */
int64_t sn_ir_count_params(const sn_ir_graph *g);
/* Live compute ops: every live node but INPUT and the leaves (PARAM, CONST); the "IR ops"
 * that kernel counts are measured against. */
int sn_ir_count_ops(const sn_ir_graph *g);
/* Multiply-adds of the CONV2D nodes (conv only, as Ultralytics/thop count for fused models:
 * out_elems * C/g * KH * KW). */
int64_t sn_ir_count_conv_macs(const sn_ir_graph *g);

/* A lower bound of the memory a graph needs, from shapes alone (no data touched), so a
 * command can refuse a model that cannot fit before it generates, loads or packs anything.
 * Sizes are f32 bytes as doubles (a 50 TB request must not overflow). */
typedef struct sn_ir_mem {
    double weight_bytes;   /* every PARAM and CONST */
    int32_t largest_param; /* the largest PARAM/CONST node; -1 if none */
    double param_bytes;
    int32_t largest_step; /* the op whose output and activation inputs are largest together */
    double step_bytes;    /* its output + inputs: no plan can run it in less */
} sn_ir_mem;
void sn_ir_mem_estimate(const sn_ir_graph *g, sn_ir_mem *m);

#ifdef __cplusplus
}
#endif
#endif /* SN_IR_H */
