/* ir/ops/cmp.c — CMP: a comparison of a and b with numpy broadcasting, 1.0 where it holds and
 * 0.0 where not; the result is f32 whatever the operands' dtype (which follow the binary ops'
 * rule). ia[0] = pred: 0 eq, 1 ne, 2 lt, 3 le, 4 gt, 5 ge (a pred b). IEEE: every comparison
 * with a NaN is false except ne. Piecewise constant, so it stops gradients. */
#include "ir/ir_int.h"

static double eq(double a, double b) { return a == b; }
static double ne(double a, double b) { return a != b; }
static double lt(double a, double b) { return a < b; }
static double le(double a, double b) { return a <= b; }
static double gt(double a, double b) { return a > b; }
static double ge(double a, double b) { return a >= b; }
static double (*const preds[])(double, double) = {eq, ne, lt, le, gt, ge};
#define NPREDS ((int64_t)(sizeof preds / sizeof preds[0]))

sn_status sn_ir_shape_cmp(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                          sn_dtype *dtype, char *err, size_t errlen) {
    if (n->ia[0] < 0 || n->ia[0] >= NPREDS) {
        sn_errf(err, errlen, "cmp: unknown pred %lld (0 eq, 1 ne, 2 lt, 3 le, 4 gt, 5 ge)",
                (long long)n->ia[0]);
        return SN_ERR_INVALID;
    }
    if (!sn_ir_broadcast(&x[0]->shape, &x[1]->shape, shape, "cmp", err, errlen) ||
        !sn_ir_binary_dtype(x[0], x[1], dtype, "cmp", err, errlen))
        return SN_ERR_INVALID;
    *dtype = SN_DTYPE_F32;
    return SN_OK;
}

sn_status sn_ir_ref_cmp(const sn_ir_ref_args *r) {
    sn_ir_ref_map2(r, preds[r->n->ia[0]]);
    return SN_OK;
}
