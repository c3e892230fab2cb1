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

#ifdef __cplusplus
}
#endif
#endif /* SN_PASSES_TRAIN_H */
