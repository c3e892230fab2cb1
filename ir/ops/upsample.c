/* ir/ops/upsample.c — UPSAMPLE: nearest, ia scale_h scale_w; out[y][x] = in[y/sh][x/sw]. */
#include "ir/ir_int.h"

sn_status sn_ir_shape_upsample(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                               sn_dtype *dtype, char *err, size_t errlen) {
    (void)dtype;
    const sn_shape *xs = &x[0]->shape;
    if (xs->ndim != 4) {
        char b1[128];
        sn_errf(err, errlen, "upsample: input %s must be 4-D (NCHW)", SN_SHAPE_STR(xs, b1));
        return SN_ERR_INVALID;
    }
    if (n->ia[0] < 1 || n->ia[1] < 1) {
        sn_errf(err, errlen, "upsample: scales %lldx%lld must be >= 1", (long long)n->ia[0],
                (long long)n->ia[1]);
        return SN_ERR_INVALID;
    }
    *shape = *xs;
    shape->d[2] *= n->ia[0];
    shape->d[3] *= n->ia[1];
    return SN_OK;
}

sn_status sn_ir_ref_upsample(const sn_ir_ref_args *r) {
    const sn_shape *xs = r->xs[0], *ys = &r->n->shape;
    int64_t NC = xs->d[0] * xs->d[1], H = xs->d[2], W = xs->d[3], OH = ys->d[2], OW = ys->d[3];
    int64_t sh = r->n->ia[0], sw = r->n->ia[1];
    for (int64_t p = 0; p < NC; p++)
        for (int64_t oy = 0; oy < OH; oy++) {
            const float *xrow = r->x[0] + (p * H + oy / sh) * W;
            float *yrow = r->y + (p * OH + oy) * OW;
            for (int64_t ox = 0; ox < OW; ox++)
                yrow[ox] = xrow[ox / sw];
        }
    return SN_OK;
}

/* Nearest upsampling's gradient sums each sh x sw block of dy: dy viewed as
 * [N, C, H, sh, W, sw], summed over the two block axes. */
sn_status sn_ir_vjp_upsample(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                             size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    const sn_ir_node *n = &g->nodes[node];
    sn_shape xs = g->nodes[n->in[0]].shape;
    if (xs.ndim != 4) {
        sn_errf(err, errlen, "upsample: derivative needs a 4-D input");
        return SN_ERR_UNSUPPORTED;
    }
    sn_shape v = {6, {xs.d[0], xs.d[1], xs.d[2], n->ia[0], xs.d[3], n->ia[1]}};
    int32_t r = sn_gb_sum(&b, sn_gb_sum(&b, sn_gb_reshape(&b, dy, &v), 5), 3);
    dx[0] = sn_gb_reshape(&b, r, &xs);
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}
