/* ir/ops/unary.c — the unary elementwise ops (SILU SIGMOID RELU NEG EXP SQRT RECIP) and CAST.
 * Each computes in double and rounds once.
 *
 * NaN and Inf follow IEEE and PyTorch's formulas, which every backend matches: relu
 * propagates NaN; sigmoid(+Inf) = 1, sigmoid(-Inf) = 0; silu is x / (1 + exp(-x)), so
 * silu(+Inf) = +Inf and silu(-Inf) = -Inf / Inf = NaN (as torch's silu kernels compute it). */
#include "ir/ir_int.h"

#include <math.h>

sn_status sn_ir_shape_unary(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                            sn_dtype *dtype, char *err, size_t errlen) {
    (void)n, (void)dtype, (void)err, (void)errlen;
    *shape = x[0]->shape;
    return SN_OK;
}

/* CAST: the values are rounded to the target dtype by the ref driver (sn_ir_ref_copy). */
sn_status sn_ir_shape_cast(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                           sn_dtype *dtype, char *err, size_t errlen) {
    if (n->ia[0] < 0 || n->ia[0] >= SN_DTYPE_COUNT) {
        sn_errf(err, errlen, "cast: unknown dtype %lld", (long long)n->ia[0]);
        return SN_ERR_INVALID;
    }
    *shape = x[0]->shape;
    *dtype = (sn_dtype)n->ia[0];
    return SN_OK;
}

void sn_ir_ref_map1(const sn_ir_ref_args *r, double (*f)(double)) {
    int64_t ne = sn_shape_numel(&r->n->shape);
    const float *x = r->x[0];
    for (int64_t i = 0; i < ne; i++)
        r->y[i] = (float)f(x[i]);
}

static double silu(double v) { return v / (1.0 + exp(-v)); }
static double sigmoid(double v) { return 1.0 / (1.0 + exp(-v)); }
static double relu(double v) { return v > 0.0 ? v : (v != v ? v : 0.0); }
static double neg(double v) { return -v; }
static double recip(double v) { return 1.0 / v; }

#define UNARY_REF(name, f)                                                                         \
    sn_status sn_ir_ref_##name(const sn_ir_ref_args *r) {                                          \
        sn_ir_ref_map1(r, f);                                                                      \
        return SN_OK;                                                                              \
    }
UNARY_REF(silu, silu)
UNARY_REF(sigmoid, sigmoid)
UNARY_REF(relu, relu)
UNARY_REF(neg, neg)
UNARY_REF(exp, exp)
UNARY_REF(sqrt, sqrt)
UNARY_REF(recip, recip)

/* ---------------------------------------------------------------- derivatives
 * dy times the derivative, written with the IR's own ops (y is the node's own value). */

/* silu' = s * (1 + x * (1 - s)), s = sigmoid(x) */
sn_status sn_ir_vjp_silu(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                         size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    int32_t x = g->nodes[node].in[0];
    int32_t s = sn_gb_un(&b, SN_OP_SIGMOID, x);
    int32_t one = sn_gb_scalar(&b, 1.0);
    int32_t t = sn_gb_bin(&b, SN_OP_ADD, one,
                          sn_gb_bin(&b, SN_OP_MUL, x, sn_gb_bin(&b, SN_OP_SUB, one, s)));
    dx[0] = sn_gb_bin(&b, SN_OP_MUL, dy, sn_gb_bin(&b, SN_OP_MUL, s, t));
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}

/* sigmoid' = y * (1 - y) */
sn_status sn_ir_vjp_sigmoid(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                            size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    int32_t t = sn_gb_bin(&b, SN_OP_SUB, sn_gb_scalar(&b, 1.0), node);
    dx[0] = sn_gb_bin(&b, SN_OP_MUL, dy, sn_gb_bin(&b, SN_OP_MUL, node, t));
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}

/* relu' = 1 where x > 0, else 0 (0 at 0, as torch's threshold_backward) */
sn_status sn_ir_vjp_relu(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                         size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    int32_t x = g->nodes[node].in[0];
    int64_t gt = 4;
    int32_t in[2] = {x, sn_gb_scalar(&b, 0.0)};
    int32_t pos = sn_gb_op(&b, SN_OP_CMP, in, 2, &gt, 1, NULL, 0);
    int32_t w[3] = {pos, dy, sn_gb_scalar(&b, 0.0)};
    dx[0] = sn_gb_op(&b, SN_OP_WHERE, w, 3, NULL, 0, NULL, 0);
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}

sn_status sn_ir_vjp_neg(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                        size_t errlen) {
    (void)node;
    sn_ir_gb b = {g, err, errlen};
    dx[0] = sn_gb_un(&b, SN_OP_NEG, dy);
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}

/* exp' = y */
sn_status sn_ir_vjp_exp(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                        size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    dx[0] = sn_gb_bin(&b, SN_OP_MUL, dy, node);
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}

/* sqrt' = 0.5 / y */
sn_status sn_ir_vjp_sqrt(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                         size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    int32_t h = sn_gb_bin(&b, SN_OP_MUL, dy, sn_gb_scalar(&b, 0.5));
    dx[0] = sn_gb_bin(&b, SN_OP_DIV, h, node);
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}

/* recip' = -y * y */
sn_status sn_ir_vjp_recip(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                          size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    int32_t yy = sn_gb_bin(&b, SN_OP_MUL, node, node);
    dx[0] = sn_gb_un(&b, SN_OP_NEG, sn_gb_bin(&b, SN_OP_MUL, dy, yy));
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}

/* cast: the gradient goes back in the input's dtype */
sn_status sn_ir_vjp_cast(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                         size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    int32_t x = g->nodes[node].in[0];
    int64_t t = g->nodes[x].dtype;
    dx[0] = t == g->nodes[dy].dtype ? dy : sn_gb_op(&b, SN_OP_CAST, &dy, 1, &t, 1, NULL, 0);
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}
