/* ir/shape.c — shape and dtype inference, one rule per op.
 *
 * sn_ir_infer_node computes a node's shape and dtype from its inputs and attributes without
 * touching the node, so the verifier can compare (invariant 3). Every rule checks its
 * attributes and inputs and explains a mismatch in the error text, which starts with the op
 * name: "conv2d: input has 32 channels but weight expects 16 (groups 1)".
 *
 * Dtype rules: an op's result has its (first) input's dtype, except CAST (ia[0]), ANCHORS
 * (f32) and the leaves (INPUT/PARAM/CONST keep the node's own). Binary ops need equal dtypes
 * unless one operand is a rank-0 scalar, which adopts the other's (a "weak" scalar, as in
 * torch). CONV2D and MATMUL need equal dtypes for all inputs; BATCHNORM's per-channel
 * tensors may have any dtype.
 */
#include "ir/ir_int.h"

#include <string.h>

#define SHAPE_STR(s, buf) sn_shape_str((s), (buf), sizeof(buf))

static int shape_ok(const sn_shape *s, const char *opn, const char *what, char *err,
                    size_t errlen) {
    if (s->ndim < 0 || s->ndim > SN_MAX_DIMS) {
        sn_errf(err, errlen, "%s: %s has rank %d (at most %d)", opn, what, (int)s->ndim,
                SN_MAX_DIMS);
        return 0;
    }
    for (int i = 0; i < s->ndim; i++)
        if (s->d[i] < 1) {
            char b[128];
            sn_errf(err, errlen, "%s: %s shape %s has a dimension < 1", opn, what, SHAPE_STR(s, b));
            return 0;
        }
    return 1;
}

static int check_nia(const sn_ir_node *n, const char *opn, char *err, size_t errlen) {
    sn_ir_attrs at;
    sn_ir_op_attrs(n->op, &at);
    if (at.variadic) {
        if (n->nia < at.nint - 1 || n->nia > SN_IR_MAX_IA) {
            sn_errf(err, errlen, "%s: expects at least %d int attributes (%s), got %d", opn,
                    at.nint - 1, sn_ir_op_info[n->op].attrs, (int)n->nia);
            return 0;
        }
    } else if (n->nia != at.nint) {
        sn_errf(err, errlen, "%s: expects %d int attributes (%s), got %d", opn, at.nint,
                sn_ir_op_info[n->op].attrs, (int)n->nia);
        return 0;
    }
    return 1;
}

static int broadcast(const sn_shape *a, const sn_shape *b, sn_shape *out, const char *opn,
                     char *err, size_t errlen) {
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    out->ndim = r;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->ndim), ib = i - (r - b->ndim);
        int64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char b1[128], b2[128];
            sn_errf(err, errlen, "%s: shapes %s and %s do not broadcast (dim %d: %lld vs %lld)",
                    opn, SHAPE_STR(a, b1), SHAPE_STR(b, b2), i, (long long)da, (long long)db);
            return 0;
        }
        out->d[i] = da == 1 ? db : da;
    }
    return 1;
}

sn_status sn_ir_infer_node(const sn_ir_graph *g, const sn_ir_node *n, sn_shape *shape,
                           sn_dtype *dtype, char *err, size_t errlen) {
    if ((unsigned)n->op >= SN_OP_COUNT) {
        sn_errf(err, errlen, "unknown op %d", (int)n->op);
        return SN_ERR_INVALID;
    }
    const sn_op_info *info = &sn_ir_op_info[n->op];
    const char *opn = info->name;
    char b1[128], b2[128];
    if (n->nin < info->min_inputs || n->nin > info->max_inputs) {
        if (info->min_inputs == info->max_inputs)
            sn_errf(err, errlen, "%s: expects %d inputs, got %d", opn, info->min_inputs,
                    (int)n->nin);
        else
            sn_errf(err, errlen, "%s: expects %d to %d inputs, got %d", opn, info->min_inputs,
                    info->max_inputs, (int)n->nin);
        return SN_ERR_INVALID;
    }
    if (!check_nia(n, opn, err, errlen))
        return SN_ERR_INVALID;
    const sn_ir_node *x[SN_IR_MAX_IN];
    for (int i = 0; i < n->nin; i++) {
        if (n->in[i] < 0 || n->in[i] >= g->nnodes) {
            sn_errf(err, errlen, "%s: input %d refers to %%%d, which does not exist", opn, i,
                    (int)n->in[i]);
            return SN_ERR_INVALID;
        }
        x[i] = &g->nodes[n->in[i]];
        if (!shape_ok(&x[i]->shape, opn, "input", err, errlen))
            return SN_ERR_INVALID;
    }
    sn_shape s = {0, {0}};
    sn_dtype t = n->nin ? x[0]->dtype : n->dtype;
    const int64_t *ia = n->ia;

    switch (n->op) {
    case SN_OP_INPUT:
    case SN_OP_PARAM:
    case SN_OP_CONST:
        s = n->shape;
        t = n->dtype;
        if (n->op == SN_OP_PARAM && (ia[0] < 0 || ia[0] > SN_IR_INIT_ARANGE)) {
            sn_errf(err, errlen, "param: unknown init kind %lld", (long long)ia[0]);
            return SN_ERR_INVALID;
        }
        break;

    case SN_OP_CONV2D: {
        const sn_shape *xs = &x[0]->shape, *ws = &x[1]->shape;
        if (xs->ndim != 4 || ws->ndim != 4) {
            sn_errf(err, errlen, "conv2d: input %s and weight %s must both be 4-D (NCHW, OIHW)",
                    SHAPE_STR(xs, b1), SHAPE_STR(ws, b2));
            return SN_ERR_INVALID;
        }
        int64_t sh = ia[0], sw = ia[1], ph = ia[2], pw = ia[3], dh = ia[4], dw = ia[5], gr = ia[6];
        if (sh < 1 || sw < 1 || ph < 0 || pw < 0 || dh < 1 || dw < 1 || gr < 1) {
            sn_errf(err, errlen,
                    "conv2d: bad attributes stride %lldx%lld pad %lldx%lld dilation %lldx%lld "
                    "groups %lld (need stride, dilation, groups >= 1, pad >= 0)",
                    (long long)sh, (long long)sw, (long long)ph, (long long)pw, (long long)dh,
                    (long long)dw, (long long)gr);
            return SN_ERR_INVALID;
        }
        int64_t C = xs->d[1], O = ws->d[0];
        if (C % gr != 0 || O % gr != 0) {
            sn_errf(err, errlen,
                    "conv2d: groups %lld must divide input channels %lld and output "
                    "channels %lld",
                    (long long)gr, (long long)C, (long long)O);
            return SN_ERR_INVALID;
        }
        if (ws->d[1] * gr != C) {
            sn_errf(err, errlen,
                    "conv2d: input has %lld channels but weight expects %lld (groups %lld)",
                    (long long)C, (long long)(ws->d[1] * gr), (long long)gr);
            return SN_ERR_INVALID;
        }
        if (n->nin == 3) {
            const sn_shape *bs = &x[2]->shape;
            if (bs->ndim != 1 || bs->d[0] != O) {
                sn_errf(err, errlen, "conv2d: bias has shape %s but weight has %lld outputs",
                        SHAPE_STR(bs, b1), (long long)O);
                return SN_ERR_INVALID;
            }
        }
        for (int i = 1; i < n->nin; i++)
            if (x[i]->dtype != t) {
                sn_errf(err, errlen, "conv2d: %s dtype %s differs from input dtype %s",
                        i == 1 ? "weight" : "bias", sn_dtype_name(x[i]->dtype), sn_dtype_name(t));
                return SN_ERR_INVALID;
            }
        int64_t oh = (xs->d[2] + 2 * ph - dh * (ws->d[2] - 1) - 1);
        int64_t ow = (xs->d[3] + 2 * pw - dw * (ws->d[3] - 1) - 1);
        if (oh < 0 || ow < 0) {
            sn_errf(err, errlen,
                    "conv2d: kernel %lldx%lld (dilation %lldx%lld) is larger than the padded "
                    "input %lldx%lld",
                    (long long)ws->d[2], (long long)ws->d[3], (long long)dh, (long long)dw,
                    (long long)(xs->d[2] + 2 * ph), (long long)(xs->d[3] + 2 * pw));
            return SN_ERR_INVALID;
        }
        s.ndim = 4;
        s.d[0] = xs->d[0];
        s.d[1] = O;
        s.d[2] = oh / sh + 1;
        s.d[3] = ow / sw + 1;
        break;
    }

    case SN_OP_BATCHNORM: {
        const sn_shape *xs = &x[0]->shape;
        if (xs->ndim < 2) {
            sn_errf(err, errlen, "batchnorm: input %s needs rank >= 2 (N, C, ...)",
                    SHAPE_STR(xs, b1));
            return SN_ERR_INVALID;
        }
        static const char *const what[5] = {"", "weight", "bias", "running_mean", "running_var"};
        for (int i = 1; i < 5; i++) {
            const sn_shape *ps = &x[i]->shape;
            if (ps->ndim != 1 || ps->d[0] != xs->d[1]) {
                sn_errf(err, errlen, "batchnorm: %s has shape %s but the input has %lld channels",
                        what[i], SHAPE_STR(ps, b1), (long long)xs->d[1]);
                return SN_ERR_INVALID;
            }
        }
        if (!(n->fa[0] >= 0)) {
            sn_errf(err, errlen, "batchnorm: eps %g must be >= 0", n->fa[0]);
            return SN_ERR_INVALID;
        }
        s = *xs;
        break;
    }

    case SN_OP_SILU:
    case SN_OP_SIGMOID:
    case SN_OP_RELU:
    case SN_OP_NEG:
    case SN_OP_EXP:
    case SN_OP_SQRT:
    case SN_OP_RECIP:
        s = x[0]->shape;
        break;

    case SN_OP_ADD:
    case SN_OP_SUB:
    case SN_OP_MUL:
    case SN_OP_DIV:
    case SN_OP_POW:
    case SN_OP_MAX2:
        if (!broadcast(&x[0]->shape, &x[1]->shape, &s, opn, err, errlen))
            return SN_ERR_INVALID;
        if (x[0]->dtype != x[1]->dtype) {
            if (x[1]->shape.ndim == 0)
                t = x[0]->dtype;
            else if (x[0]->shape.ndim == 0)
                t = x[1]->dtype;
            else {
                sn_errf(err, errlen, "%s: dtypes differ: %s and %s", opn,
                        sn_dtype_name(x[0]->dtype), sn_dtype_name(x[1]->dtype));
                return SN_ERR_INVALID;
            }
        }
        break;

    case SN_OP_CAST:
        if (ia[0] < 0 || ia[0] >= SN_DTYPE_COUNT) {
            sn_errf(err, errlen, "cast: unknown dtype %lld", (long long)ia[0]);
            return SN_ERR_INVALID;
        }
        s = x[0]->shape;
        t = (sn_dtype)ia[0];
        break;

    case SN_OP_CONCAT: {
        const sn_shape *xs = &x[0]->shape;
        int64_t ax = ia[0];
        if (ax < 0 || ax >= xs->ndim) {
            sn_errf(err, errlen, "concat: axis %lld out of range for rank %d", (long long)ax,
                    (int)xs->ndim);
            return SN_ERR_INVALID;
        }
        s = *xs;
        for (int i = 1; i < n->nin; i++) {
            const sn_shape *o = &x[i]->shape;
            int bad = o->ndim != xs->ndim;
            for (int k = 0; !bad && k < xs->ndim; k++)
                if (k != ax && o->d[k] != xs->d[k])
                    bad = 1;
            if (bad) {
                sn_errf(err, errlen,
                        "concat: input %d has shape %s, incompatible with input 0 %s "
                        "(axis %lld)",
                        i, SHAPE_STR(o, b1), SHAPE_STR(xs, b2), (long long)ax);
                return SN_ERR_INVALID;
            }
            if (x[i]->dtype != t) {
                sn_errf(err, errlen, "concat: input %d has dtype %s, input 0 has %s", i,
                        sn_dtype_name(x[i]->dtype), sn_dtype_name(t));
                return SN_ERR_INVALID;
            }
            s.d[ax] += o->d[ax];
        }
        break;
    }

    case SN_OP_SLICE: {
        const sn_shape *xs = &x[0]->shape;
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
                    "slice: start %lld end %lld step %lld select nothing of dim %lld (size "
                    "%lld); need 0 <= start < end, step >= 1",
                    (long long)st, (long long)ia[2], (long long)sp, (long long)ax,
                    (long long)xs->d[ax]);
            return SN_ERR_INVALID;
        }
        s = *xs;
        s.d[ax] = (en - st + sp - 1) / sp;
        break;
    }

    case SN_OP_RESHAPE: {
        const sn_shape *xs = &x[0]->shape;
        int64_t ne = sn_shape_numel(xs), prod = 1;
        int infer_at = -1;
        s.ndim = (int32_t)n->nia;
        if (n->nia > SN_MAX_DIMS) {
            sn_errf(err, errlen, "reshape: %d dims (at most %d)", (int)n->nia, SN_MAX_DIMS);
            return SN_ERR_INVALID;
        }
        for (int i = 0; i < n->nia; i++) {
            if (ia[i] == -1 && infer_at < 0) {
                infer_at = i;
                continue;
            }
            if (ia[i] < 1) {
                sn_errf(err, errlen, "reshape: dim %d is %lld (need >= 1, or one -1)", i,
                        (long long)ia[i]);
                return SN_ERR_INVALID;
            }
            s.d[i] = ia[i];
            prod *= ia[i];
        }
        if (infer_at >= 0) {
            if (ne % prod != 0) {
                sn_errf(err, errlen, "reshape: cannot infer -1: %lld elements into %lld",
                        (long long)ne, (long long)prod);
                return SN_ERR_INVALID;
            }
            s.d[infer_at] = ne / prod;
            prod = ne;
        }
        if (prod != ne) {
            sn_errf(err, errlen, "reshape: %s has %lld elements but the new shape %s has %lld",
                    SHAPE_STR(xs, b1), (long long)ne, SHAPE_STR(&s, b2), (long long)prod);
            return SN_ERR_INVALID;
        }
        break;
    }

    case SN_OP_PERMUTE: {
        const sn_shape *xs = &x[0]->shape;
        if (n->nia != xs->ndim) {
            sn_errf(err, errlen, "permute: perm has %d entries but the input %s has rank %d",
                    (int)n->nia, SHAPE_STR(xs, b1), (int)xs->ndim);
            return SN_ERR_INVALID;
        }
        int seen[SN_MAX_DIMS] = {0};
        s.ndim = xs->ndim;
        for (int i = 0; i < n->nia; i++) {
            if (ia[i] < 0 || ia[i] >= xs->ndim || seen[ia[i]]) {
                sn_errf(err, errlen, "permute: perm is not a permutation of 0..%d",
                        (int)xs->ndim - 1);
                return SN_ERR_INVALID;
            }
            seen[ia[i]] = 1;
            s.d[i] = xs->d[ia[i]];
        }
        break;
    }

    case SN_OP_UPSAMPLE: {
        const sn_shape *xs = &x[0]->shape;
        if (xs->ndim != 4) {
            sn_errf(err, errlen, "upsample: input %s must be 4-D (NCHW)", SHAPE_STR(xs, b1));
            return SN_ERR_INVALID;
        }
        if (ia[0] < 1 || ia[1] < 1) {
            sn_errf(err, errlen, "upsample: scales %lldx%lld must be >= 1", (long long)ia[0],
                    (long long)ia[1]);
            return SN_ERR_INVALID;
        }
        s = *xs;
        s.d[2] *= ia[0];
        s.d[3] *= ia[1];
        break;
    }

    case SN_OP_MAXPOOL2D: {
        const sn_shape *xs = &x[0]->shape;
        int64_t k = ia[0], st = ia[1], p = ia[2];
        if (xs->ndim != 4) {
            sn_errf(err, errlen, "maxpool2d: input %s must be 4-D (NCHW)", SHAPE_STR(xs, b1));
            return SN_ERR_INVALID;
        }
        if (k < 1 || st < 1 || p < 0 || p > k / 2) {
            sn_errf(err, errlen,
                    "maxpool2d: bad k %lld stride %lld pad %lld (need k, stride >= 1, "
                    "0 <= pad <= k/2)",
                    (long long)k, (long long)st, (long long)p);
            return SN_ERR_INVALID;
        }
        if (xs->d[2] + 2 * p < k || xs->d[3] + 2 * p < k) {
            sn_errf(err, errlen, "maxpool2d: window %lld is larger than the padded input %s",
                    (long long)k, SHAPE_STR(xs, b1));
            return SN_ERR_INVALID;
        }
        s = *xs;
        s.d[2] = (xs->d[2] + 2 * p - k) / st + 1;
        s.d[3] = (xs->d[3] + 2 * p - k) / st + 1;
        break;
    }

    case SN_OP_SOFTMAX:
    case SN_OP_REDUCE_SUM: {
        const sn_shape *xs = &x[0]->shape;
        if (ia[0] < 0 || ia[0] >= xs->ndim) {
            sn_errf(err, errlen, "%s: axis %lld out of range for rank %d", opn, (long long)ia[0],
                    (int)xs->ndim);
            return SN_ERR_INVALID;
        }
        s = *xs;
        if (n->op == SN_OP_REDUCE_SUM)
            s.d[ia[0]] = 1;
        break;
    }

    case SN_OP_MATMUL: {
        const sn_shape *as = &x[0]->shape, *bs = &x[1]->shape;
        int r = as->ndim;
        if (r < 2 || bs->ndim != r) {
            sn_errf(err, errlen,
                    "matmul: a %s and b %s need equal rank >= 2 ([..., M, K] x [..., K, N])",
                    SHAPE_STR(as, b1), SHAPE_STR(bs, b2));
            return SN_ERR_INVALID;
        }
        for (int i = 0; i < r - 2; i++)
            if (as->d[i] != bs->d[i]) {
                sn_errf(err, errlen, "matmul: batch dims differ: a %s, b %s", SHAPE_STR(as, b1),
                        SHAPE_STR(bs, b2));
                return SN_ERR_INVALID;
            }
        if (as->d[r - 1] != bs->d[r - 2]) {
            sn_errf(err, errlen, "matmul: a %s has K=%lld but b %s has K=%lld", SHAPE_STR(as, b1),
                    (long long)as->d[r - 1], SHAPE_STR(bs, b2), (long long)bs->d[r - 2]);
            return SN_ERR_INVALID;
        }
        if (x[1]->dtype != t) {
            sn_errf(err, errlen, "matmul: dtypes differ: %s and %s", sn_dtype_name(t),
                    sn_dtype_name(x[1]->dtype));
            return SN_ERR_INVALID;
        }
        s = *as;
        s.d[r - 1] = bs->d[r - 1];
        break;
    }

    case SN_OP_ANCHORS: {
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
                sn_errf(err, errlen,
                        "anchors: level %lld has h %lld w %lld stride %lld (need >= 1)",
                        (long long)l, (long long)lv[0], (long long)lv[1], (long long)lv[2]);
                return SN_ERR_INVALID;
            }
            A += lv[0] * lv[1];
        }
        s.ndim = 3;
        s.d[0] = 1;
        s.d[1] = what == 0 ? 2 : 1;
        s.d[2] = A;
        t = SN_DTYPE_F32;
        break;
    }

    case SN_OP_COUNT:
        break;
    }

    if ((unsigned)t >= SN_DTYPE_COUNT) {
        sn_errf(err, errlen, "%s: bad dtype %d", opn, (int)t);
        return SN_ERR_INVALID;
    }
    if (!shape_ok(&s, opn, "result", err, errlen))
        return SN_ERR_INVALID;
    *shape = s;
    *dtype = t;
    return SN_OK;
}

sn_status sn_ir_infer(sn_ir_graph *g, int32_t node, char *err, size_t errlen) {
    SN_ASSERT(node >= 0 && node < g->nnodes);
    sn_ir_node *n = &g->nodes[node];
    sn_shape s;
    sn_dtype t;
    sn_status st = sn_ir_infer_node(g, n, &s, &t, err, errlen);
    if (st != SN_OK)
        return st;
    if (n->op == SN_OP_ANCHORS && n->shape.ndim != 0 && !sn_shape_eq(&n->shape, &s)) {
        char b1[128], b2[128];
        sn_errf(err, errlen, "anchors: given shape %s but the levels make %s",
                SHAPE_STR(&n->shape, b1), SHAPE_STR(&s, b2));
        return SN_ERR_INVALID;
    }
    n->shape = s;
    n->dtype = t;
    return SN_OK;
}
