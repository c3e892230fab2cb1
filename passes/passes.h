/* passes/passes.h — every graph transformation, the pass list, the memory planner.
 * The one public header of the passes module.
 *
 * A pass is a plain function `sn_status pass(sn_ir_graph *g, const sn_pass_options *o,
 * char *err, size_t errlen)` that edits the graph in place and leaves dead nodes for
 * sn_ir_graph_compact. A pass that finds nothing to do changes nothing; running a pass
 * twice equals running it once. The verifier runs after every pass.
 *
 * The pipeline order lives in one place, passes/pipeline.c, as a plain list:
 *   infer-shapes → fold-bn (inference, fused mode) → simplify (dead code, CSE, constant
 *   folding incl. ANCHORS) → fuse → views (slice/split/reshape as views; concat in place)
 *   → layout → plan-memory
 * (training will add: autodiff → bn-train → optimizer).
 *
 * What the pipeline leaves for codegen/ (see ir.h's node annotations) — THE CONTRACT:
 *
 *  Groups (node->group; 0..G-1 numbered in execution order: run group k after group k-1).
 *  - One group = one kernel. A group has exactly ONE output node that escapes it: its root,
 *    which is always its highest-index member. Every other member is used only by members of
 *    the same group (never by another group, a view, or as a graph output), so it needs no
 *    storage (buf -1): compute it in registers.
 *  - Groups are convex: a kernel's external inputs are all produced by earlier groups (or are
 *    leaves / views of such values), never by a later one.
 *  - The kinds of group fuse makes (fused mode):
 *      a. anchor + epilogue: one CONV2D or MATMUL (the anchor) and ELEMWISE/BROADCAST ops
 *         computed from it (bias add, batchnorm affine when not folded, silu/sigmoid/…,
 *         a residual add of an external tensor). Every member has exactly the anchor's output
 *         shape, so the epilogue runs in the anchor's output index space; the other operands
 *         of epilogue ops are external values (read through their own buf/offset/strides,
 *         broadcast numpy-style, batchnorm's [C] vectors per channel) or other members. No op
 *         runs before the anchor (no prologue fusion).
 *      b. pointwise/injective: ELEMWISE, BROADCAST and INJECTIVE (concat, upsample, cast) ops,
 *         no anchor — e.g. the Detect decode sub/add/div/concat/mul. Evaluate it per element
 *         of the root's index space as an expression tree: an ELEMWISE/BROADCAST member is
 *         evaluated at the broadcast-mapped index, a CONCAT member picks the input whose
 *         range holds the index along its axis (shifting it), UPSAMPLE divides H/W indices.
 *         Members are never broadcast (each member's element is used once per consumer).
 *      c. a REDUCE (softmax, reduce_sum) or OPAQUE (maxpool2d) op alone.
 *      d. a CONCAT alone that could not be done in place (a copy kernel), a RESHAPE that no
 *         strides can express or a view op that is a graph output (copy kernels).
 *    Eager mode (o->fuse == 0): every compute op is its own group; views stay views.
 *  - Views (group -1, no kernel): SLICE and PERMUTE always, RESHAPE when strides allow, and
 *    in-place CONCATs. Leaves (INPUT, PARAM, CONST; ANCHORS is folded to CONST by simplify)
 *    have group -1 too.
 *
 *  Storage (node->buf / offset / stride, graph->bufs, graph->arena_bytes).
 *  - Every live value that exists in memory has buf >= 0: leaves, group roots, views,
 *    in-place concats. Group-internal values have buf -1.
 *  - Element (i0,…,in) of a value lives at element  offset + Σ ik*stride[k]  of its buf.
 *    Read every kernel input and write every group root through these — never assume
 *    contiguity: a root may write into a slice of a concat buffer (offset + the concat's
 *    strides), with NHWC strides, or (in Detect) with strides that split one axis.
 *  - A view's buf/offset/strides already describe where its elements are: read a view input
 *    exactly like any other input (don't chase its base).
 *  - An in-place CONCAT has no kernel; its producers have written its slices. Readers read
 *    the concat (or any of its inputs) through their own annotations.
 *  - bufs: INPUT (index = graph input number), OUTPUT (index = graph output number; the
 *    output node's values, contiguous NCHW), CONST (index = the PARAM/CONST node; its data),
 *    ARENA (byte offset arena_offset in one arena of graph->arena_bytes bytes, 64-aligned).
 *    buf elems = the extent of its base value (sizes assume each value's IR dtype).
 *  - Arena buffers whose live ranges (first writing group .. last reading group) overlap
 *    never overlap in memory; disjoint ones may share bytes.
 *
 *  Layout: with o->layout NHWC, 4-D arena bases get strides [H*W*C, 1, W*C, C] (logical
 *  shape stays NCHW), unless a view derived from them would become inexpressible. Graph
 *  inputs and outputs stay contiguous NCHW; the first conv reads its NCHW input through
 *  strides, no conversion kernel exists.
 */
#ifndef SN_PASSES_H
#define SN_PASSES_H

#include "ir/ir.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sn_pass_layout {
    SN_PASS_LAYOUT_NCHW, /* contiguous logical layout */
    SN_PASS_LAYOUT_NHWC  /* channels innermost for 4-D activations */
} sn_pass_layout;

typedef struct sn_pass_options {
    int fold_bn;         /* fold BatchNorm into the preceding conv (inference) */
    int fuse;            /* 0 = eager: one kernel per compute op (no epilogue fusion; views
                          * stay views); 1 = fused */
    int concat_in_place; /* producers write into their slice of a concat */
    sn_pass_layout layout;
    sn_dtype autocast;    /* F32, or F16/BF16 for a backend computing in that dtype: the autocast
                           * pass makes the values stored in the arena that dtype (node dtypes;
                           * plan-memory sizes and addresses each buffer by its node's dtype) */
    const char *dump_dir; /* write the IR after each pass as NN-name.ir here; NULL = off */
    int verify;           /* run sn_ir_verify after each pass (default on) */
} sn_pass_options;

/* Defaults: fused = fold_bn 1, fuse 1, concat_in_place 1; eager = all three 0. Both: layout
 * NCHW (a backend that wants NHWC sets o->layout), autocast F32, verify 1, dump_dir NULL. */
void sn_pass_options_default(sn_pass_options *o, int eager);

typedef sn_status (*sn_pass_fn)(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t errlen);

typedef struct sn_pass_info {
    const char *name; /* "fold-bn" */
    sn_pass_fn run;
} sn_pass_info;

/* The pipeline as a list (for --dump, tests and `sinter compile` timing). */
const sn_pass_info *sn_pass_list(int *n);
const sn_pass_info *sn_pass_find(const char *name);

/* Runs the whole pipeline; on failure names the pass. */
sn_status sn_pass_run_all(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t errlen);
/* Runs one pass, then the verifier when o->verify; errors are prefixed "pass <name>: ". */
sn_status sn_pass_run(sn_ir_graph *g, const sn_pass_info *p, const sn_pass_options *o, char *err,
                      size_t errlen);

/* Writes sn_ir_print's text (nodes with their group=/buf=/offset=/stride= annotations)
 * followed by '#' comment lines (the parser skips them): per group
 * "# group 7: conv2d+silu+add → %42 (model.4.m.0.cv2.conv)", the live range (first writing
 * group, last reading group) of each arena buffer, then "# arena_bytes … naive_bytes … groups …
 * views …". */
void sn_pass_dump(const sn_ir_graph *g, FILE *out);

/* The passes (each also reachable through sn_pass_list). */
sn_status sn_pass_fold_bn(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t n);
sn_status sn_pass_simplify(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t n);
sn_status sn_pass_fuse(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t n);
sn_status sn_pass_views(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t n);
sn_status sn_pass_layout_assign(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t n);
sn_status sn_pass_autocast(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t n);
sn_status sn_pass_plan_memory(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t n);

/* Statistics for `sinter compile`. */
typedef struct sn_pass_stats {
    int ir_ops;          /* live compute ops (not INPUT/PARAM/CONST/ANCHORS); take it before
                          * the pipeline for "IR ops" */
    int groups;          /* fusion groups = kernels */
    int views;           /* slice/permute/reshape views (no kernel) */
    int inplace_concats; /* concats done in place (no kernel) */
    int64_t peak_bytes;  /* graph->arena_bytes */
    int64_t naive_bytes; /* sum of all arena buffers' sizes (no reuse) */
} sn_pass_stats;

/* Fills s from g's current state (call before and after sn_pass_run_all). */
void sn_pass_stats_get(const sn_ir_graph *g, sn_pass_stats *s);
/* Sum of every ARENA buffer's 64-aligned size: what the plan would take without reuse. */
int64_t sn_pass_naive_bytes(const sn_ir_graph *g);

#ifdef __cplusplus
}
#endif
#endif /* SN_PASSES_H */
