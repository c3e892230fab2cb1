/* ir/ops/anchors.c — ANCHORS: make_anchors for the Detect head, computed from attributes
 * alone. Points (1,2,A) are (x+offset, y+offset) per level, row-major over (y, x), in grid
 * units; strides (1,1,A) repeat each level's stride. Always f32. */
#include "ir/ir_int.h"

sn_status sn_ir_shape_anchors(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                              sn_dtype *dtype, char *err, size_t errlen) {
    (void)x;
    const int64_t *ia = n->ia;
    int64_t what = ia[0], nl = ia[1];
    if (what != 0 && what != 1) {
        sn_errf(err, errlen, "anchors: what must be 0 (points) or 1 (strides), got %lld",
                (long long)what);
        return SN_ERR_INVALID;
    }
    if (nl < 1 || n->nia != 2 + 3 * nl) {
        sn_errf(err, errlen,
                "anchors: nlevels %lld needs %lld int attributes (what, nlevels, then h w "
                "stride per level), got %d",
                (long long)nl, (long long)(2 + 3 * nl), (int)n->nia);
        return SN_ERR_INVALID;
    }
    int64_t A = 0;
    for (int64_t l = 0; l < nl; l++) {
        const int64_t *lv = &ia[2 + 3 * l];
        if (lv[0] < 1 || lv[1] < 1 || lv[2] < 1) {
            sn_errf(err, errlen, "anchors: level %lld has h %lld w %lld stride %lld (need >= 1)",
                    (long long)l, (long long)lv[0], (long long)lv[1], (long long)lv[2]);
            return SN_ERR_INVALID;
        }
        A += lv[0] * lv[1];
    }
    shape->ndim = 3;
    shape->d[0] = 1;
    shape->d[1] = what == 0 ? 2 : 1;
    shape->d[2] = A;
    *dtype = SN_DTYPE_F32;
    return SN_OK;
}

sn_status sn_ir_ref_anchors(const sn_ir_ref_args *r) {
    const int64_t *ia = r->n->ia;
    int64_t what = ia[0], nl = ia[1], A = r->n->shape.d[2], p = 0;
    double off = r->n->fa[0];
    for (int64_t l = 0; l < nl; l++) {
        int64_t h = ia[2 + 3 * l], w = ia[3 + 3 * l], st = ia[4 + 3 * l];
        for (int64_t yy = 0; yy < h; yy++)
            for (int64_t xx = 0; xx < w; xx++, p++) {
                if (what == 0) {
                    r->y[p] = (float)((double)xx + off);
                    r->y[A + p] = (float)((double)yy + off);
                } else {
                    r->y[p] = (float)st;
                }
            }
    }
    return SN_OK;
}
