/* ir/ops/slice.c — SLICE: ia axis start end step along one axis (end exclusive and clamped to
 * the dimension, as in Python). */
#include "ir/ir_int.h"

#include <string.h>

sn_status sn_ir_shape_slice(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                            sn_dtype *dtype, char *err, size_t errlen) {
    (void)dtype;
    const sn_shape *xs = &x[0]->shape;
    const int64_t *ia = n->ia;
    int64_t ax = ia[0], st = ia[1], en = ia[2], sp = ia[3];
    if (ax < 0 || ax >= xs->ndim) {
        sn_errf(err, errlen, "slice: axis %lld out of range for rank %d", (long long)ax,
                (int)xs->ndim);
        return SN_ERR_INVALID;
    }
    if (en > xs->d[ax])
        en = xs->d[ax]; /* end is clamped, as in Python */
    if (st < 0 || sp < 1 || st >= en) {
        sn_errf(err, errlen,
                "slice: start %lld end %lld step %lld select nothing of dim %lld (size %lld); "
                "need 0 <= start < end, step >= 1",
                (long long)st, (long long)ia[2], (long long)sp, (long long)ax,
                (long long)xs->d[ax]);
        return SN_ERR_INVALID;
    }
    *shape = *xs;
    shape->d[ax] = (en - st + sp - 1) / sp;
    return SN_OK;
}

sn_status sn_ir_ref_slice(const sn_ir_ref_args *r) {
    const sn_shape *xs = r->xs[0], *ys = &r->n->shape;
    int64_t ax = r->n->ia[0], st = r->n->ia[1], sp = r->n->ia[3], outer = 1, inner = 1;
    for (int k = 0; k < ax; k++)
        outer *= xs->d[k];
    for (int k = (int)ax + 1; k < xs->ndim; k++)
        inner *= xs->d[k];
    int64_t L = xs->d[ax], M = ys->d[ax];
    float *y = r->y;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < M; j++) {
            memcpy(y, r->x[0] + (o * L + st + j * sp) * inner, (size_t)inner * sizeof *y);
            y += inner;
        }
    return SN_OK;
}

/* dy placed at its slice, zeros elsewhere: concat(zeros, dy, zeros) along the axis (step 1).
 * Autodiff joins the slices that tile a tensor (a split) into one concat of their gradients
 * instead (passes/train/autodiff.c), so this rule is for a lone slice. */
sn_status sn_ir_vjp_slice(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                          size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    const sn_ir_node *n = &g->nodes[node];
    int axis = (int)n->ia[0];
    int64_t st = n->ia[1], sp = n->ia[3];
    sn_shape xs = g->nodes[n->in[0]].shape, ys = n->shape;
    if (sp != 1) {
        sn_errf(err, errlen, "slice: no derivative for step %lld (only step 1)", (long long)sp);
        return SN_ERR_UNSUPPORTED;
    }
    int64_t en = st + ys.d[axis];
    int32_t parts[3];
    int np = 0;
    if (st > 0) {
        sn_shape z = xs;
        z.d[axis] = st;
        parts[np++] = sn_gb_zeros(&b, &z);
    }
    parts[np++] = dy;
    if (en < xs.d[axis]) {
        sn_shape z = xs;
        z.d[axis] = xs.d[axis] - en;
        parts[np++] = sn_gb_zeros(&b, &z);
    }
    int64_t ax = axis;
    dx[0] = np == 1 ? dy : sn_gb_op(&b, SN_OP_CONCAT, parts, np, &ax, 1, NULL, 0);
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}
