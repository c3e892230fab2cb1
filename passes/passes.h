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
 * What the pipeline leaves for codegen/ (see ir.h's node annotations):
 *  - node->group: the fusion group of each node that computes something. A group has one
 *    anchor — a CONV2D or MATMUL (OUT_EWISE_FUSABLE), a REDUCE or OPAQUE op, or the first
 *    op of a pointwise chain — plus the ELEMWISE/BROADCAST ops fused after it; one group =
 *    one kernel. Nodes that are views (SLICE, RESHAPE of a contiguous value, CONCAT done in
 *    place) and LEAF nodes (INPUT, PARAM, CONST) have group -1 and cost no kernel.
 *  - node->buf/offset/stride for every live value, graph->bufs and graph->arena_bytes.
 *  - Activation layout: NHWC where the backend asks for it (strides say so; logical shapes
 *    stay NCHW). Graph inputs and outputs keep contiguous NCHW.
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
    int fold_bn;           /* fold BatchNorm into the preceding conv (inference) */
    int fuse;              /* 0 = eager: one kernel per IR op (no epilogue fusion, concat
                            * is a kernel); 1 = fused */
    int concat_in_place;   /* producers write into their slice of a concat */
    sn_pass_layout layout;
    const char *dump_dir;  /* write the IR after each pass as NN-name.ir here; NULL = off */
    int verify;            /* run sn_ir_verify after each pass (default on) */
} sn_pass_options;

/* Fused defaults for a backend ("cpu" or "cuda"); eager = fuse 0, fold_bn 0,
 * concat_in_place 0, same layout. */
void sn_pass_options_default(sn_pass_options *o, int eager);

typedef sn_status (*sn_pass_fn)(sn_ir_graph *g, const sn_pass_options *o, char *err,
                                size_t errlen);

typedef struct sn_pass_info {
    const char *name;      /* "fold-bn" */
    sn_pass_fn run;
} sn_pass_info;

/* The pipeline as a list (for --dump, tests and `sinter compile` timing). */
const sn_pass_info *sn_pass_list(int *n);
const sn_pass_info *sn_pass_find(const char *name);

/* Runs the whole pipeline; on failure names the pass. */
sn_status sn_pass_run_all(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t errlen);

/* The passes (each also reachable through sn_pass_list). */
sn_status sn_pass_fold_bn(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t n);
sn_status sn_pass_simplify(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t n);
sn_status sn_pass_fuse(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t n);
sn_status sn_pass_views(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t n);
sn_status sn_pass_layout_assign(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t n);
sn_status sn_pass_plan_memory(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t n);

/* Statistics for `sinter compile`. */
typedef struct sn_pass_stats {
    int ir_ops;        /* compute ops before any pass (no INPUT/PARAM/CONST) */
    int groups;        /* fusion groups = kernels */
    int64_t peak_bytes;
} sn_pass_stats;

#ifdef __cplusplus
}
#endif
#endif /* SN_PASSES_H */
