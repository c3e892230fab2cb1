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

/* ---------------------------------------------------------------- derivatives
 * Each operand's gradient is summed back down to its own shape (sn_gb_unbroadcast). */

static sn_status vjp2(sn_ir_gb *b, int32_t node, int32_t da, int32_t db, int32_t *dx) {
    const sn_ir_node *n = &b->g->nodes[node];
    sn_shape sa = b->g->nodes[n->in[0]].shape, sb = b->g->nodes[n->in[1]].shape;
    dx[0] = sn_gb_unbroadcast(b, da, &sa);
    dx[1] = sn_gb_unbroadcast(b, db, &sb);
    return dx[0] < 0 || dx[1] < 0 ? SN_ERR_INVALID : SN_OK;
}

sn_status sn_ir_vjp_add(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                        size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    return vjp2(&b, node, dy, dy, dx);
}

sn_status sn_ir_vjp_sub(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                        size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    return vjp2(&b, node, dy, sn_gb_un(&b, SN_OP_NEG, dy), dx);
}

sn_status sn_ir_vjp_mul(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                        size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    int32_t a = g->nodes[node].in[0], c = g->nodes[node].in[1];
    return vjp2(&b, node, sn_gb_bin(&b, SN_OP_MUL, dy, c), sn_gb_bin(&b, SN_OP_MUL, dy, a), dx);
}

/* d(a/c) = dy / c, -dy * y / c */
sn_status sn_ir_vjp_div(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                        size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    int32_t c = g->nodes[node].in[1];
    int32_t da = sn_gb_bin(&b, SN_OP_DIV, dy, c);
    int32_t dc = sn_gb_un(&b, SN_OP_NEG, sn_gb_bin(&b, SN_OP_MUL, da, node));
    return vjp2(&b, node, da, dc, dx);
}

/* d(a^c) = dy * c * a^(c-1), dy * y * log(a) */
sn_status sn_ir_vjp_pow(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                        size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    int32_t a = g->nodes[node].in[0], c = g->nodes[node].in[1];
    int32_t cm1 = sn_gb_bin(&b, SN_OP_SUB, c, sn_gb_scalar(&b, 1.0));
    int32_t da =
        sn_gb_bin(&b, SN_OP_MUL, sn_gb_bin(&b, SN_OP_MUL, dy, c), sn_gb_bin(&b, SN_OP_POW, a, cm1));
    int32_t dc =
        sn_gb_bin(&b, SN_OP_MUL, sn_gb_bin(&b, SN_OP_MUL, dy, node), sn_gb_un(&b, SN_OP_LOG, a));
    return vjp2(&b, node, da, dc, dx);
}

/* torch.maximum: the larger operand takes dy; on a tie each takes half */
sn_status sn_ir_vjp_max2(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                         size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    int32_t in[2] = {g->nodes[node].in[0], g->nodes[node].in[1]};
    int64_t gt = 4, eq = 0;
    int32_t agt = sn_gb_op(&b, SN_OP_CMP, in, 2, &gt, 1, NULL, 0);
    int32_t tie = sn_gb_bin(&b, SN_OP_MUL, sn_gb_op(&b, SN_OP_CMP, in, 2, &eq, 1, NULL, 0),
                            sn_gb_scalar(&b, 0.5));
    int32_t wa = sn_gb_bin(&b, SN_OP_ADD, agt, tie);
    int32_t wb = sn_gb_bin(&b, SN_OP_SUB, sn_gb_scalar(&b, 1.0), wa);
    return vjp2(&b, node, sn_gb_bin(&b, SN_OP_MUL, dy, wa), sn_gb_bin(&b, SN_OP_MUL, dy, wb), dx);
}
