/* ir/ops/binary.c — the binary elementwise ops (ADD SUB MUL DIV POW MAX2) with numpy
 * broadcasting, and the broadcasting helpers other ops share.
 *
 * Dtype: the operands' dtypes must be equal unless one is a rank-0 scalar, which adopts the
 * other's (a "weak" scalar, as in torch). MAX2 propagates NaN (torch.maximum). */
#include "ir/ir_int.h"

#include <math.h>

int sn_ir_broadcast(const sn_shape *a, const sn_shape *b, sn_shape *out, const char *opn, char *err,
                    size_t errlen) {
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    out->ndim = r;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->ndim), ib = i - (r - b->ndim);
        int64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char b1[128], b2[128];
            sn_errf(err, errlen, "%s: shapes %s and %s do not broadcast (dim %d: %lld vs %lld)",
                    opn, SN_SHAPE_STR(a, b1), SN_SHAPE_STR(b, b2), i, (long long)da, (long long)db);
            return 0;
        }
        out->d[i] = da == 1 ? db : da;
    }
    return 1;
}

int sn_ir_binary_dtype(const sn_ir_node *a, const sn_ir_node *b, sn_dtype *t, const char *opn,
                       char *err, size_t errlen) {
    if (a->dtype == b->dtype || b->shape.ndim == 0) {
        *t = a->dtype;
    } else if (a->shape.ndim == 0) {
        *t = b->dtype;
    } else {
        sn_errf(err, errlen, "%s: dtypes differ: %s and %s", opn, sn_dtype_name(a->dtype),
                sn_dtype_name(b->dtype));
        return 0;
    }
    return 1;
}

void sn_ir_bcast_strides(const sn_shape *s, int r, int64_t *st) {
    int64_t acc = 1;
    for (int i = r - 1; i >= 0; i--) {
        int k = i - (r - s->ndim);
        if (k < 0) {
            st[i] = 0;
            continue;
        }
        st[i] = s->d[k] == 1 ? 0 : acc;
        acc *= s->d[k];
    }
}

sn_status sn_ir_shape_binary(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                             sn_dtype *dtype, char *err, size_t errlen) {
    const char *opn = sn_ir_op_info[n->op].name;
    if (!sn_ir_broadcast(&x[0]->shape, &x[1]->shape, shape, opn, err, errlen) ||
        !sn_ir_binary_dtype(x[0], x[1], dtype, opn, err, errlen))
        return SN_ERR_INVALID;
    return SN_OK;
}

void sn_ir_ref_map2(const sn_ir_ref_args *r, double (*f)(double, double)) {
    const sn_shape *ys = &r->n->shape;
    int R = ys->ndim;
    const float *a = r->x[0], *b = r->x[1];
    if (R == 0) {
        r->y[0] = (float)f(a[0], b[0]);
        return;
    }
    int64_t sa[SN_MAX_DIMS], sb[SN_MAX_DIMS], idx[SN_MAX_DIMS] = {0};
    sn_ir_bcast_strides(r->xs[0], R, sa);
    sn_ir_bcast_strides(r->xs[1], R, sb);
    int64_t inner = ys->d[R - 1], outer = sn_shape_numel(ys) / inner;
    int64_t ia = sa[R - 1], ib = sb[R - 1];
    float *y = r->y;
    for (int64_t o = 0; o < outer; o++) {
        int64_t oa = 0, ob = 0;
        for (int k = 0; k < R - 1; k++) {
            oa += idx[k] * sa[k];
            ob += idx[k] * sb[k];
        }
        for (int64_t i = 0; i < inner; i++)
            y[i] = (float)f(a[oa + i * ia], b[ob + i * ib]);
        y += inner;
        for (int k = R - 2; k >= 0; k--) { /* advance the outer index, last dim fastest */
            if (++idx[k] < ys->d[k])
                break;
            idx[k] = 0;
        }
    }
}

static double add(double a, double b) { return a + b; }
static double sub(double a, double b) { return a - b; }
static double mul(double a, double b) { return a * b; }
static double div_(double a, double b) { return a / b; }
static double max2(double a, double b) { return (isnan(a) || isnan(b)) ? NAN : (a > b ? a : b); }

#define BINARY_REF(name, f)                                                                        \
    sn_status sn_ir_ref_##name(const sn_ir_ref_args *r) {                                          \
        sn_ir_ref_map2(r, f);                                                                      \
        return SN_OK;                                                                              \
    }
BINARY_REF(add, add)
BINARY_REF(sub, sub)
BINARY_REF(mul, mul)
BINARY_REF(div, div_)
BINARY_REF(pow, pow)
BINARY_REF(max2, max2)
