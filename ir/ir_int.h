/* ir/ir_int.h — what the ir module's own files share. Nothing outside ir/ includes this. */
#ifndef SN_IR_INT_H
#define SN_IR_INT_H

#include "ir/ir.h"

#include <stdarg.h>

/* The graph's private part (graph->arena): a bump arena for node input arrays, and a hash
 * table over the string pool so interning is O(1). Node data (PARAM/CONST values) is not in
 * the arena: it is malloc'ed per node so compaction can free dropped weights. */
typedef struct sn_ir_block {
    struct sn_ir_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char mem[];
} sn_ir_block;

typedef struct sn_ir_priv {
    sn_ir_block *blocks;
    uint32_t *strtab; /* open addressing; 0 = empty slot, else a pool offset */
    uint32_t strtab_cap, strtab_count;
} sn_ir_priv;

/* Arena allocation (zeroed), freed with the graph. NULL on out-of-memory. */
void *sn_ir_arena_alloc(sn_ir_graph *g, size_t n);

/* The op's attribute names, parsed from the op table's "a,b,c*;f" string. */
typedef struct sn_ir_attrs {
    int nint; /* fixed int attrs (for a variadic op: including the list name) */
    int nfloat;
    int variadic; /* the last int name ends in '*' */
    char ints[SN_IR_MAX_IA][24];
    char floats[SN_IR_MAX_FA][24];
} sn_ir_attrs;
void sn_ir_op_attrs(sn_op op, sn_ir_attrs *out);

/* Shape/dtype inference without writing the node: the core of sn_ir_infer and of the
 * verifier's invariant 3. Error text starts with the op name ("conv2d: …"). */
sn_status sn_ir_infer_node(const sn_ir_graph *g, const sn_ir_node *n, sn_shape *shape,
                           sn_dtype *dtype, char *err, size_t errlen);

/* Row-major element strides of s (entries past ndim are 0), and whether a node's strides
 * are exactly those (the printer leaves contiguous strides out). */
int sn_ir_strides_contiguous(const sn_ir_node *n);

/* Value rounding to a storage dtype (f16/bf16 round-to-nearest-even, i32 truncation). */
float sn_ir_round_dtype(float v, sn_dtype t);

/* ---------------------------------------------------------------- op rules (ir/ops/)
 *
 * Every op's shape and ref rules are defined in ir/ops/ (one file per op or per family) and
 * named in its ops.def row; shape.c and ref.c call them through sn_ir_op_info and know no op.
 * Their prototypes are generated from the table. */
#define SN_IR_OP(id, nm, mn, mx, kind, attrs, flags, shape, ref, vjp)                              \
    sn_ir_shape_rule shape;                                                                        \
    sn_ir_ref_rule ref;                                                                            \
    sn_ir_vjp_rule vjp;
#include "ir/ops.def"

/* What a ref rule reads and writes. Values are f32 whatever the dtype (the driver rounds the
 * result to the node's dtype afterwards); inputs are contiguous row-major. */
typedef struct sn_ir_ref_args {
    const sn_ir_node *n;          /* the node: attributes, result shape */
    const float *x[SN_IR_MAX_IN]; /* input values; a leaf's values (INPUT, PARAM, CONST) as x[0] */
    const sn_shape *xs[SN_IR_MAX_IN]; /* their shapes */
    float *y;                         /* the result: numel(n->shape) floats */
} sn_ir_ref_args;

#define SN_SHAPE_STR(s, buf) sn_shape_str((s), (buf), sizeof(buf))

/* Helpers the rules share (each defined beside the family that owns it). Shape helpers return
 * 1, or 0 with "<opn>: …" in err. */

/* numpy broadcasting of a and b (ops/binary.c). */
int sn_ir_broadcast(const sn_shape *a, const sn_shape *b, sn_shape *out, const char *opn, char *err,
                    size_t errlen);
/* The dtype of a binary op on a and b: equal dtypes, or a rank-0 scalar adopts the other's (a
 * "weak" scalar, as in torch) (ops/binary.c). */
int sn_ir_binary_dtype(const sn_ir_node *a, const sn_ir_node *b, sn_dtype *t, const char *opn,
                       char *err, size_t errlen);
/* Strides (in elements) of s right-aligned to rank r, 0 where s broadcasts (ops/binary.c). */
void sn_ir_bcast_strides(const sn_shape *s, int r, int64_t *st);
/* y = f(x0) elementwise in double (ops/unary.c); y = f(x0, x1) with broadcasting (ops/binary.c). */
void sn_ir_ref_map1(const sn_ir_ref_args *r, double (*f)(double));
void sn_ir_ref_map2(const sn_ir_ref_args *r, double (*f)(double, double));
/* Conv2d geometry (ops/conv2d.c): checks the attributes ia (stride_h stride_w pad_h pad_w
 * dil_h dil_w groups) against input xs [N,C,H,W] and weight ws [O,C/g,KH,KW] and gives the
 * result shape [N,O,OH,OW]. */
int sn_ir_conv2d_shape(const int64_t *ia, const sn_shape *xs, const sn_shape *ws, sn_shape *out,
                       const char *opn, char *err, size_t errlen);
/* The gradient ops' check (ops/conv2d.c): the geometry as above, and dys is the result's shape. */
int sn_ir_conv2d_grad_shape(const int64_t *ia, const sn_shape *xs, const sn_shape *ws,
                            const sn_shape *dys, const char *opn, char *err, size_t errlen);
/* Maxpool2d geometry (ops/maxpool2d.c): checks ia (k stride pad) against xs [N,C,H,W] and gives
 * the result shape. */
int sn_ir_maxpool2d_shape(const int64_t *ia, const sn_shape *xs, sn_shape *out, const char *opn,
                          char *err, size_t errlen);

/* ---------------------------------------------------------------- det_loss (ops/det_loss.c)
 *
 * DET_LOSS / DET_LOSS_GRAD in double, in two steps, so that a test can hold the assignment
 * fixed (Ultralytics computes it without gradient) and take finite differences of the rest.
 * pred [B, 4*reg_max + nc, A] in double; targets [B, cap, 5], anchors [2, A] (grid units) and
 * strides [A] as the ops' f32 inputs. The ref rules are exactly: assign, then eval, then round. */
typedef struct sn_ir_det_dims {
    int64_t B, A, cap, nc, reg_max;
    double gain[3]; /* box, cls, dfl (hyp.box, hyp.cls, hyp.dfl) */
} sn_ir_det_dims;

/* The task-aligned assigner's result, per (image, anchor) at b*A + a: the loss's constants. */
typedef struct sn_ir_det_assign {
    int32_t *gt;      /* the targets row assigned; -1 = background */
    int32_t *cls;     /* its class: the one-hot index of the target scores (foreground only) */
    double *score;    /* target score; 0 for background */
    double *box;      /* [4 each] the row's box in grid units (pixels / stride) */
    double score_sum; /* max(Σ score, 1): target_scores_sum, which divides all three losses */
    int bad_label;    /* a row that is not padding has cls >= nc (or NaN): the loss is NaN */
} sn_ir_det_assign;

/* Runs the assigner on pred (detached in Ultralytics); *as is allocated (free it with
 * sn_ir_det_assign_free, also after an error). SN_OK or SN_ERR_NOMEM. */
sn_status sn_ir_det_assign_run(const sn_ir_det_dims *d, const double *pred, const float *targets,
                               const float *anchors, const float *strides, sn_ir_det_assign *as);
void sn_ir_det_assign_free(sn_ir_det_assign *as);
/* The loss (box, cls, dfl, gains and batch applied) of pred under the fixed assignment as;
 * with dpred (B*no*A doubles), also the gradient of Σ dloss[i] * loss[i]. That gradient holds
 * CIoU's alpha constant (Ultralytics computes it under torch.no_grad), so it is the derivative
 * of the loss only where alpha is frozen: alpha (B*A doubles, NULL: not kept) receives each
 * foreground anchor's alpha, or with alpha_fixed supplies it. SN_OK or SN_ERR_NOMEM. */
sn_status sn_ir_det_loss_eval(const sn_ir_det_dims *d, const double *pred, const float *anchors,
                              const sn_ir_det_assign *as, double *alpha, int alpha_fixed,
                              const double *dloss, double loss[3], double *dpred);

#endif /* SN_IR_INT_H */
