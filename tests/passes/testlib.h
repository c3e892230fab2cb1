/* tests/passes/testlib.h — shared helpers of the passes tests: hand-built graphs (YOLO blocks
 * in miniature), and the checkers of what the pipeline promises codegen (group contract,
 * memory plan, a buffer-level simulation). Checks and random data: tests/common. */
#ifndef SN_TEST_PASSES_TESTLIB_H
#define SN_TEST_PASSES_TESTLIB_H

#include "ir/ir.h"
#include "passes/passes.h"
#include "tests/common/check_ir.h"

#include <stdint.h>
#include <stdio.h>

/* Fills every PARAM's data by its init kind (BN var positive, etc.) from the rnd_ stream. */
void tl_fill_params(sn_ir_graph *g);

/* ---------------------------------------------------------------- graph building */

typedef struct tl_b {
    sn_ir_graph *g;
    char err[512];
} tl_b;

int32_t tl_op(tl_b *b, sn_op op, const int32_t *in, int nin, const int64_t *ia, int nia,
              const double *fa, int nfa);
int32_t tl_conv_raw(tl_b *b, int32_t x, int cout, int k, int s, int groups, int bias,
                    const char *path);
/* Ultralytics Conv: conv (no bias) + BatchNorm + SiLU, names "<path>.conv.weight",
 * "<path>.bn.{weight,bias,running_mean,running_var}". act = 0: no SiLU. */
int32_t tl_conv(tl_b *b, int32_t x, int cout, int k, int s, const char *path, int act);
int32_t tl_c2f(tl_b *b, int32_t x, int cout, int n, int shortcut, const char *path);
int32_t tl_sppf(tl_b *b, int32_t x, int cout, const char *path);
int32_t tl_slice(tl_b *b, int32_t x, int axis, int64_t start, int64_t end);
int32_t tl_concat(tl_b *b, const int32_t *xs, int n, int axis);
int32_t tl_reshape(tl_b *b, int32_t x, int nd, const int64_t *dims);
int32_t tl_permute(tl_b *b, int32_t x, int nd, const int64_t *perm);
/* Detect head (v8 style, reg_max 16) over nl levels; returns the output [1, 4+nc, A]. */
int32_t tl_detect(tl_b *b, const int32_t *feats, int nl, const int *strides, int nc,
                  const char *path);
/* A tiny attention block like C2PSA's (qkv conv, reshape, split, matmul, softmax, matmul,
 * reshape back, + depthwise pe, proj). */
int32_t tl_attention(tl_b *b, int32_t x, int nh, const char *path);

/* A miniature YOLOv8-like model (Conv, C2f, SPPF, upsample, concat, attention, 2-level
 * Detect) on a [1,3,hw,hw] input; params filled when `data`. */
sn_ir_graph *tl_mini_yolo(int hw, int data);

/* ---------------------------------------------------------------- checkers */

/* Every live value's ref output, indexed by node (NULL for dead nodes); inputs random. */
float **tl_ref_all(const sn_ir_graph *g, float **inputs_out);
void tl_ref_free(const sn_ir_graph *g, float **vals, float *inputs);

/* The group contract of passes.h: numbering, single escaping root (the last member),
 * convexity/order, anchored-group shapes, views/leaves without groups. */
void tl_check_groups(const sn_ir_graph *g, const char *what);
/* The memory plan: every stored value fits its buffer; live arena buffers never overlap;
 * arena_bytes covers every buffer; peak <= naive. */
void tl_check_memory(const sn_ir_graph *g, const char *what);
/* Runs the plan at buffer level: groups in order write their roots' reference values through
 * the annotations into arena / output buffers (poisoned first); every external input a group
 * reads must read back exactly its reference value, and so must every graph output. Catches
 * wrong strides, clobbered buffers, in-place concat mistakes. */
void tl_check_sim(const sn_ir_graph *g, const char *what);

/* Dump to a malloc'ed string. */
char *tl_dump(const sn_ir_graph *g);

#endif
