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
