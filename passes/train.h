/* passes/train.h — graph transformations for training (DESIGN.md: passes/train/).
 *
 * Autodiff appends the reverse-mode gradient of a graph value to the same graph, calling each
 * op's derivative rule (the vjp column of ir/ops.def, defined beside its shape and ref rules).
 * Gradients of concat and split stay views: a concat's inputs get slices of its gradient, and
 * the slices that tile a tensor (a split) give it one concat of their gradients (written in
 * place by concat-in-place, like the forward).
 *
 * The training graph turns an inference model graph (frontend) into one training step's
 * forward and backward: BatchNorm in training mode (batch statistics, the running statistics
 * updated), the Detect head's raw features into Ultralytics' v8DetectionLoss, the loss's
 * gradient with respect to every trainable PARAM. */
#ifndef SN_PASSES_TRAIN_H
#define SN_PASSES_TRAIN_H

#include "ir/ir.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Appends to g the gradient of node y, seeded by `seed` (a node of y's shape: dL/dy), with
 * respect to each node wrt[0..nwrt) and writes the gradient nodes to grads (-1 where wrt[i]
 * does not influence y: its gradient is zero). Gradients are f32 with their node's shape; new
 * nodes carry the provenance (src) of the forward node they differentiate. The forward graph
 * is not changed. SN_ERR_UNSUPPORTED names an op on the path without a derivative rule. */
sn_status sn_train_autodiff(sn_ir_graph *g, int32_t y, int32_t seed, const int32_t *wrt, int nwrt,
                            int32_t *grads, char *err, size_t errlen);

/* ---------------------------------------------------------------- the training graph */

typedef struct sn_train_options {
    int cap;            /* boxes per image the "targets" input holds (>= 1) */
    double bn_momentum; /* BatchNorm running-statistics momentum: 0.03 (Ultralytics) */
    double gains[3];    /* loss gains box, cls, dfl: 7.5, 0.5, 1.5 (Ultralytics' hyp) */
    /* 0: v8DetectionLoss. Else a probe for checking gradients by finite differences: the loss
     * output is [3] = (Σ r·feats, 0, 0) with r a fixed pseudo-random tensor drawn from this
     * seed — smooth in every weight, unlike the detection loss, whose target scores depend on
     * the predictions without being differentiated (as in Ultralytics). */
    uint64_t probe_seed;
} sn_train_options;

void sn_train_options_default(sn_train_options *o); /* cap 8, momentum 0.03, 7.5/0.5/1.5 */

typedef enum sn_train_out_kind {
    SN_TRAIN_OUT_LOSS,   /* [3]: (box, cls, dfl) loss times the batch size, as v8DetectionLoss
                          * returns it for backward (the total is their sum) */
    SN_TRAIN_OUT_GRAD,   /* d total / d PARAM `name` (before clipping) */
    SN_TRAIN_OUT_RUNNING /* the new value of BatchNorm running statistic `name` */
} sn_train_out_kind;

typedef struct sn_train_out {
    sn_train_out_kind kind;
    char *name; /* the PARAM's state_dict name (owned); NULL for the loss */
} sn_train_out;

typedef struct sn_train_info {
    int nc, reg_max;   /* the Detect head's */
    int nout;          /* = the graph's outputs, in order */
    sn_train_out *out; /* owned */
    int nbn;           /* BatchNorm layers switched to training mode */
} sn_train_info;

/* Rewrites an inference model graph (frontend: INPUT "images" [B,3,H,W], the Detect output)
 * into one training step's forward and backward:
 *   - every BATCHNORM uses its batch statistics (BN_STATS: mean and biased variance) and gives
 *     its new running statistics: running·(1 − m) + batch·m, the variance unbiased (·M/(M−1));
 *   - the Detect head's raw features (B, 4·reg_max + nc, A) — the concat its decode splits —
 *     go with a new INPUT "targets" [B, cap, 5] (cls, x1, y1, x2, y2 in input pixels; rows with
 *     cls < 0 are padding) and the head's anchors into DET_LOSS;
 *   - autodiff gives the total loss's gradient for every trainable PARAM (not the running
 *     statistics, not FROZEN ones such as the DFL conv).
 * The outputs are listed in info (loss, gradients in graph order, running statistics); the
 * decode tail is dropped and the graph compacted. On error the graph is unusable. */
sn_status sn_train_build(sn_ir_graph *g, const sn_train_options *o, sn_train_info *info, char *err,
                         size_t errlen);
void sn_train_info_free(sn_train_info *info);

#ifdef __cplusplus
}
#endif
#endif /* SN_PASSES_TRAIN_H */
