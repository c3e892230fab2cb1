/* ir/ref.c — the ref evaluator: plain C semantics of every op, the oracle of every backend.
 *
 * Algorithm: mark the nodes the outputs depend on (walking backwards), count each needed
 * node's uses by needed nodes, then evaluate in index order. Every value is stored as f32;
 * convolutions, matmuls and reductions accumulate in double; elementwise ops compute in
 * double and round once. A node whose dtype is f16/bf16 has its values rounded to that
 * precision (round-to-nearest-even; i32 truncates toward zero), so CAST is "round and store
 * back as f32". A buffer is freed as soon as its last consumer has run, so peak memory is the
 * live set, not the whole graph. PARAM/CONST values are read in place (not copied) when f32.
 *
 * Loops are written so the innermost one walks contiguous memory (conv2d accumulates one
 * output row in a double buffer per (channel, kh, kw)); nothing else is optimised.
 */
#include "ir/ir_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- dtype rounding */

static float round_f16(float f) {
    if (!isfinite(f))
        return f;
    float a = fabsf(f);
    double r;
    if (a < 6.103515625e-05f) { /* subnormal half: fixed quantum 2^-24 */
        r = nearbyint((double)a * 16777216.0) / 16777216.0;
    } else {
        int e;
        frexp((double)a, &e); /* a = m * 2^e, m in [0.5, 1): 11 significant bits */
        double q = ldexp(1.0, e - 11);
        r = nearbyint((double)a / q) * q;
        if (r > 65504.0)
            r = INFINITY;
    }
    return (float)(f < 0 ? -r : r);
}

static float round_bf16(float f) {
    if (isnan(f))
        return f;
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    memcpy(&f, &u, 4);
    return f;
}

float sn_ir_round_dtype(float v, sn_dtype t) {
    switch (t) {
    case SN_DTYPE_F16:
        return round_f16(v);
    case SN_DTYPE_BF16:
        return round_bf16(v);
    case SN_DTYPE_I32:
        if (isnan(v))
            return 0.0f;
        if (v >= 2147483647.0f)
            return 2147483647.0f;
        if (v <= -2147483648.0f)
            return -2147483648.0f;
        return truncf(v);
    default:
        return v;
    }
}

/* ---------------------------------------------------------------- op kernels */

typedef struct ref_node {
    const sn_ir_node *n;
    const float *x[SN_IR_MAX_IN];
    const sn_shape *xs[SN_IR_MAX_IN];
    float *y;
} ref_node;

static int ref_conv2d(const ref_node *r) {
    const sn_shape *xs = r->xs[0], *ws = r->xs[1], *ys = &r->n->shape;
    const int64_t *ia = r->n->ia;
    int64_t N = xs->d[0], C = xs->d[1], H = xs->d[2], W = xs->d[3];
    int64_t O = ws->d[0], Cg = ws->d[1], KH = ws->d[2], KW = ws->d[3];
    int64_t OH = ys->d[2], OW = ys->d[3];
    int64_t sh = ia[0], sw = ia[1], ph = ia[2], pw = ia[3], dh = ia[4], dw = ia[5], G = ia[6];
    int64_t Og = O / G;
    const float *X = r->x[0], *Wt = r->x[1], *B = r->n->nin > 2 ? r->x[2] : NULL;
    double *acc = malloc((size_t)OW * sizeof *acc);
    if (!acc)
        return -1;
    for (int64_t n = 0; n < N; n++)
        for (int64_t oc = 0; oc < O; oc++) {
            int64_t gi = oc / Og;
            float *yplane = r->y + (n * O + oc) * OH * OW;
            for (int64_t oy = 0; oy < OH; oy++) {
                for (int64_t ox = 0; ox < OW; ox++)
                    acc[ox] = 0.0;
                for (int64_t ic = 0; ic < Cg; ic++) {
                    const float *xplane = X + (n * C + gi * Cg + ic) * H * W;
                    const float *wk = Wt + (oc * Cg + ic) * KH * KW;
                    for (int64_t kh = 0; kh < KH; kh++) {
                        int64_t iy = oy * sh - ph + kh * dh;
                        if (iy < 0 || iy >= H)
                            continue;
                        const float *xrow = xplane + iy * W;
                        for (int64_t kw = 0; kw < KW; kw++) {
                            double wv = wk[kh * KW + kw];
                            int64_t off = kw * dw - pw; /* ix = ox * sw + off */
                            int64_t lo = off < 0 ? (-off + sw - 1) / sw : 0;
                            int64_t hi = W - 1 - off < 0 ? -1 : (W - 1 - off) / sw;
                            if (hi > OW - 1)
                                hi = OW - 1;
                            if (sw == 1) {
                                const float *xr = xrow + off;
                                for (int64_t ox = lo; ox <= hi; ox++)
                                    acc[ox] += wv * xr[ox];
                            } else {
                                for (int64_t ox = lo; ox <= hi; ox++)
                                    acc[ox] += wv * xrow[ox * sw + off];
                            }
                        }
                    }
                }
                double bv = B ? B[oc] : 0.0;
                float *yrow = yplane + oy * OW;
                for (int64_t ox = 0; ox < OW; ox++)
                    yrow[ox] = (float)(acc[ox] + bv);
            }
        }
    free(acc);
    return 0;
}

static void ref_batchnorm(const ref_node *r) {
    const sn_shape *xs = r->xs[0];
    int64_t N = xs->d[0], C = xs->d[1];
    int64_t inner = sn_shape_numel(xs) / (N * C);
    double eps = r->n->fa[0];
    const float *w = r->x[1], *b = r->x[2], *mean = r->x[3], *var = r->x[4];
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            double m = mean[c], sd = sqrt((double)var[c] + eps), wc = w[c], bc = b[c];
            const float *xp = r->x[0] + (n * C + c) * inner;
            float *yp = r->y + (n * C + c) * inner;
            for (int64_t i = 0; i < inner; i++)
                yp[i] = (float)(((double)xp[i] - m) / sd * wc + bc);
        }
}

/* NaN and Inf follow IEEE and PyTorch's formulas, which every backend matches: relu, max and
 * max_pool2d propagate NaN; sigmoid(+Inf) = 1, sigmoid(-Inf) = 0; silu is x / (1 + exp(-x)),
 * so silu(+Inf) = +Inf and silu(-Inf) = -Inf / Inf = NaN (as torch's silu kernels compute it);
 * softmax ignores NaN in its max, but a NaN (or, through x - max, a +Inf) makes its row NaN. */
static void ref_unary(const ref_node *r) {
    int64_t ne = sn_shape_numel(&r->n->shape);
    const float *x = r->x[0];
    float *y = r->y;
    for (int64_t i = 0; i < ne; i++) {
        double v = x[i], o = v;
        switch (r->n->op) {
        case SN_OP_SILU:
            o = v / (1.0 + exp(-v));
            break;
        case SN_OP_SIGMOID:
            o = 1.0 / (1.0 + exp(-v));
            break;
        case SN_OP_RELU:
            o = v > 0.0 ? v : (v != v ? v : 0.0);
            break;
        case SN_OP_NEG:
            o = -v;
            break;
        case SN_OP_EXP:
            o = exp(v);
            break;
        case SN_OP_SQRT:
            o = sqrt(v);
            break;
        case SN_OP_RECIP:
            o = 1.0 / v;
            break;
        default:
            break; /* CAST: identity here, rounding happens per dtype afterwards */
        }
        y[i] = (float)o;
    }
}

static double binop(sn_op op, double a, double b) {
    switch (op) {
    case SN_OP_ADD:
        return a + b;
    case SN_OP_SUB:
        return a - b;
    case SN_OP_MUL:
        return a * b;
    case SN_OP_DIV:
        return a / b;
    case SN_OP_POW:
        return pow(a, b);
    case SN_OP_MAX2:
        return (isnan(a) || isnan(b)) ? NAN : (a > b ? a : b);
    default:
        return NAN;
    }
}

/* Strides (in elements) of `s` right-aligned to rank r, 0 where s broadcasts. */
static void bcast_strides(const sn_shape *s, int r, int64_t *st) {
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

static void ref_binary(const ref_node *r) {
    const sn_shape *ys = &r->n->shape;
    int R = ys->ndim;
    sn_op op = r->n->op;
    const float *a = r->x[0], *b = r->x[1];
    if (R == 0) {
        r->y[0] = (float)binop(op, a[0], b[0]);
        return;
    }
    int64_t sa[SN_MAX_DIMS], sb[SN_MAX_DIMS], idx[SN_MAX_DIMS] = {0};
    bcast_strides(r->xs[0], R, sa);
    bcast_strides(r->xs[1], R, sb);
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
            y[i] = (float)binop(op, a[oa + i * ia], b[ob + i * ib]);
        y += inner;
        for (int k = R - 2; k >= 0; k--) { /* advance the outer index, last dim fastest */
            if (++idx[k] < ys->d[k])
                break;
            idx[k] = 0;
        }
    }
}

static void ref_concat(const ref_node *r) {
    const sn_shape *ys = &r->n->shape;
    int64_t ax = r->n->ia[0], outer = 1, inner = 1;
    for (int k = 0; k < ax; k++)
        outer *= ys->d[k];
    for (int k = (int)ax + 1; k < ys->ndim; k++)
        inner *= ys->d[k];
    float *y = r->y;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < r->n->nin; i++) {
            int64_t blk = r->xs[i]->d[ax] * inner;
            memcpy(y, r->x[i] + o * blk, (size_t)blk * sizeof *y);
            y += blk;
        }
}

static void ref_slice(const ref_node *r) {
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
}

static void ref_permute(const ref_node *r) {
    const sn_shape *xs = r->xs[0], *ys = &r->n->shape;
    int R = ys->ndim;
    int64_t ne = sn_shape_numel(ys);
    if (R == 0) {
        r->y[0] = r->x[0][0];
        return;
    }
    int64_t xst[SN_MAX_DIMS], pst[SN_MAX_DIMS], idx[SN_MAX_DIMS] = {0};
    int64_t acc = 1;
    for (int k = R - 1; k >= 0; k--) {
        xst[k] = acc;
        acc *= xs->d[k];
    }
    for (int k = 0; k < R; k++)
        pst[k] = xst[r->n->ia[k]]; /* out dim k walks input dim perm[k] */
    int64_t inner = ys->d[R - 1], outer = ne / inner, is = pst[R - 1];
    float *y = r->y;
    for (int64_t o = 0; o < outer; o++) {
        int64_t off = 0;
        for (int k = 0; k < R - 1; k++)
            off += idx[k] * pst[k];
        for (int64_t i = 0; i < inner; i++)
            y[i] = r->x[0][off + i * is];
        y += inner;
        for (int k = R - 2; k >= 0; k--) {
            if (++idx[k] < ys->d[k])
                break;
            idx[k] = 0;
        }
    }
}

static void ref_upsample(const ref_node *r) {
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
}

static void ref_maxpool2d(const ref_node *r) {
    const sn_shape *xs = r->xs[0], *ys = &r->n->shape;
    int64_t NC = xs->d[0] * xs->d[1], H = xs->d[2], W = xs->d[3], OH = ys->d[2], OW = ys->d[3];
    int64_t k = r->n->ia[0], st = r->n->ia[1], pd = r->n->ia[2];
    for (int64_t p = 0; p < NC; p++) {
        const float *xp = r->x[0] + p * H * W;
        float *yp = r->y + p * OH * OW;
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                float m = -INFINITY; /* padding is -inf: it never wins */
                for (int64_t ky = 0; ky < k; ky++) {
                    int64_t iy = oy * st - pd + ky;
                    if (iy < 0 || iy >= H)
                        continue;
                    for (int64_t kx = 0; kx < k; kx++) {
                        int64_t ix = ox * st - pd + kx;
                        if (ix < 0 || ix >= W)
                            continue;
                        float v = xp[iy * W + ix];
                        if (v > m || isnan(v))
                            m = v;
                        if (isnan(m))
                            break;
                    }
                }
                yp[oy * OW + ox] = m;
            }
    }
}

/* outer × L × inner view around `axis` */
static void axis_split(const sn_shape *s, int64_t axis, int64_t *outer, int64_t *L,
                       int64_t *inner) {
    *outer = 1;
    *inner = 1;
    for (int k = 0; k < axis; k++)
        *outer *= s->d[k];
    for (int k = (int)axis + 1; k < s->ndim; k++)
        *inner *= s->d[k];
    *L = s->d[axis];
}

static void ref_softmax(const ref_node *r) {
    int64_t outer, L, inner;
    axis_split(r->xs[0], r->n->ia[0], &outer, &L, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *x = r->x[0] + o * L * inner + i;
            float *y = r->y + o * L * inner + i;
            double m = -INFINITY, sum = 0.0;
            for (int64_t j = 0; j < L; j++)
                if (x[j * inner] > m)
                    m = x[j * inner];
            for (int64_t j = 0; j < L; j++)
                sum += exp((double)x[j * inner] - m);
            for (int64_t j = 0; j < L; j++)
                y[j * inner] = (float)(exp((double)x[j * inner] - m) / sum);
        }
}

static void ref_reduce_sum(const ref_node *r) {
    int64_t outer, L, inner;
    axis_split(r->xs[0], r->n->ia[0], &outer, &L, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *x = r->x[0] + o * L * inner + i;
            double sum = 0.0;
            for (int64_t j = 0; j < L; j++)
                sum += x[j * inner];
            r->y[o * inner + i] = (float)sum;
        }
}

static int ref_matmul(const ref_node *r) {
    const sn_shape *as = r->xs[0], *bs = r->xs[1];
    int R = as->ndim;
    int64_t M = as->d[R - 2], K = as->d[R - 1], N = bs->d[R - 1];
    int64_t batch = sn_shape_numel(as) / (M * K);
    double *acc = malloc((size_t)N * sizeof *acc);
    if (!acc)
        return -1;
    for (int64_t bi = 0; bi < batch; bi++) {
        const float *A = r->x[0] + bi * M * K, *B = r->x[1] + bi * K * N;
        float *Y = r->y + bi * M * N;
        for (int64_t m = 0; m < M; m++) {
            for (int64_t j = 0; j < N; j++)
                acc[j] = 0.0;
            for (int64_t k = 0; k < K; k++) {
                double av = A[m * K + k];
                const float *brow = B + k * N;
                for (int64_t j = 0; j < N; j++)
                    acc[j] += av * brow[j];
            }
            for (int64_t j = 0; j < N; j++)
                Y[m * N + j] = (float)acc[j];
        }
    }
    free(acc);
    return 0;
}

static void ref_anchors(const ref_node *r) {
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
}

/* ---------------------------------------------------------------- the driver */

/* The first non-finite value of v (n elements) into *nf, for node i. Returns 1 if one was found. */
static int find_nonfinite(const float *v, int64_t n, int32_t i, sn_ir_ref_nonfinite *nf) {
    int64_t first = -1, nan = 0, inf = 0;
    for (int64_t e = 0; e < n; e++) {
        if (isnan(v[e]))
            nan++;
        else if (isinf(v[e]))
            inf++;
        else
            continue;
        if (first < 0)
            first = e;
    }
    if (first < 0)
        return 0;
    nf->node = i;
    nf->index = first;
    nf->value = v[first];
    nf->nan = nan;
    nf->inf = inf;
    return 1;
}

static sn_status ref_run(const sn_ir_graph *g, const float *const *inputs, float *const *outputs,
                         sn_ir_ref_nonfinite *nf, char *err, size_t errlen) {
    int32_t nn = g->nnodes;
    sn_status st = SN_OK;
    unsigned char *need = calloc((size_t)nn + 1, 1);
    unsigned char *owned = calloc((size_t)nn + 1, 1);
    int32_t *uses = calloc((size_t)nn + 1, sizeof *uses);
    float **vals = calloc((size_t)nn + 1, sizeof *vals);
    if (!need || !owned || !uses || !vals) {
        sn_errf(err, errlen, "ref: out of memory");
        st = SN_ERR_NOMEM;
        goto done;
    }
    for (int32_t k = 0; k < g->noutputs; k++) {
        if (g->outputs[k] < 0 || g->outputs[k] >= nn) {
            sn_errf(err, errlen, "ref: output %d refers to %%%d, which does not exist", (int)k,
                    (int)g->outputs[k]);
            st = SN_ERR_INVALID;
            goto done;
        }
        need[g->outputs[k]] = 1;
    }
    for (int32_t i = nn - 1; i >= 0; i--) {
        const sn_ir_node *n = &g->nodes[i];
        if (!need[i])
            continue;
        if (n->flags & SN_IR_NODE_DEAD) {
            sn_errf(err, errlen, "ref: node %%%d (%s) is needed but marked dead", (int)i,
                    sn_ir_op_info[n->op].name);
            st = SN_ERR_INVALID;
            goto done;
        }
        for (int j = 0; j < n->nin; j++) {
            if (n->in[j] < 0 || n->in[j] >= i) {
                sn_errf(err, errlen, "ref: node %%%d (%s): input %d refers to %%%d", (int)i,
                        sn_ir_op_info[n->op].name, j, (int)n->in[j]);
                st = SN_ERR_INVALID;
                goto done;
            }
            need[n->in[j]] = 1;
            uses[n->in[j]]++;
        }
    }

    for (int32_t i = 0; i < nn; i++) {
        if (!need[i])
            continue;
        const sn_ir_node *n = &g->nodes[i];
        const char *opn = sn_ir_op_info[n->op].name;
        int64_t ne = sn_shape_numel(&n->shape);
        const float *leaf = NULL;

        if (n->op == SN_OP_INPUT) {
            int32_t k = 0;
            while (k < g->ninputs && g->inputs[k] != i)
                k++;
            if (k == g->ninputs || !inputs || !inputs[k]) {
                sn_errf(err, errlen, "ref: no data for input %%%d \"%s\"", (int)i,
                        sn_ir_str_get(g, n->name));
                st = SN_ERR_INVALID;
                goto done;
            }
            leaf = inputs[k];
        } else if (n->op == SN_OP_PARAM || n->op == SN_OP_CONST) {
            if (!n->data) {
                sn_errf(err, errlen, "ref: %s %%%d \"%s\" has no data (weights not bound?)", opn,
                        (int)i, sn_ir_str_get(g, n->name));
                st = SN_ERR_INVALID;
                goto done;
            }
            leaf = n->data;
        }

        if (leaf && n->dtype == SN_DTYPE_F32) {
            vals[i] = (float *)leaf; /* borrowed, never written */
        } else {
            float *y = malloc((size_t)(ne ? ne : 1) * sizeof *y);
            if (!y) {
                sn_errf(err, errlen, "ref: out of memory for %%%d (%s, %lld elements)", (int)i, opn,
                        (long long)ne);
                st = SN_ERR_NOMEM;
                goto done;
            }
            vals[i] = y;
            owned[i] = 1;
            ref_node r;
            memset(&r, 0, sizeof r);
            r.n = n;
            r.y = y;
            for (int j = 0; j < n->nin; j++) {
                r.x[j] = vals[n->in[j]];
                r.xs[j] = &g->nodes[n->in[j]].shape;
            }
            int fail = 0;
            switch (n->op) {
            case SN_OP_INPUT:
            case SN_OP_PARAM:
            case SN_OP_CONST:
                memcpy(y, leaf, (size_t)ne * sizeof *y);
                break;
            case SN_OP_CONV2D:
                fail = ref_conv2d(&r);
                break;
            case SN_OP_BATCHNORM:
                ref_batchnorm(&r);
                break;
            case SN_OP_SILU:
            case SN_OP_SIGMOID:
            case SN_OP_RELU:
            case SN_OP_NEG:
            case SN_OP_EXP:
            case SN_OP_SQRT:
            case SN_OP_RECIP:
            case SN_OP_CAST:
                ref_unary(&r);
                break;
            case SN_OP_ADD:
            case SN_OP_SUB:
            case SN_OP_MUL:
            case SN_OP_DIV:
            case SN_OP_POW:
            case SN_OP_MAX2:
                ref_binary(&r);
                break;
            case SN_OP_CONCAT:
                ref_concat(&r);
                break;
            case SN_OP_SLICE:
                ref_slice(&r);
                break;
            case SN_OP_RESHAPE:
                memcpy(y, r.x[0], (size_t)ne * sizeof *y);
                break;
            case SN_OP_PERMUTE:
                ref_permute(&r);
                break;
            case SN_OP_UPSAMPLE:
                ref_upsample(&r);
                break;
            case SN_OP_MAXPOOL2D:
                ref_maxpool2d(&r);
                break;
            case SN_OP_SOFTMAX:
                ref_softmax(&r);
                break;
            case SN_OP_REDUCE_SUM:
                ref_reduce_sum(&r);
                break;
            case SN_OP_MATMUL:
                fail = ref_matmul(&r);
                break;
            case SN_OP_ANCHORS:
                ref_anchors(&r);
                break;
            case SN_OP_COUNT:
                fail = 1;
                break;
            }
            if (fail) {
                sn_errf(err, errlen, "ref: %%%d (%s) failed (out of memory)", (int)i, opn);
                st = SN_ERR_NOMEM;
                goto done;
            }
            if (n->dtype != SN_DTYPE_F32)
                for (int64_t e = 0; e < ne; e++)
                    y[e] = sn_ir_round_dtype(y[e], n->dtype);
        }
        if (nf && nf->node < 0)
            find_nonfinite(vals[i], ne, i, nf);

        for (int32_t k = 0; k < g->noutputs; k++)
            if (g->outputs[k] == i && outputs && outputs[k])
                memcpy(outputs[k], vals[i], (size_t)ne * sizeof(float));
        for (int j = 0; j < n->nin; j++) {
            int32_t p = n->in[j];
            if (--uses[p] == 0 && owned[p]) {
                free(vals[p]);
                vals[p] = NULL;
                owned[p] = 0;
            }
        }
        if (uses[i] == 0 && owned[i]) { /* an output nothing else reads */
            free(vals[i]);
            vals[i] = NULL;
            owned[i] = 0;
        }
    }

done:
    if (vals && owned)
        for (int32_t i = 0; i < nn; i++)
            if (owned[i])
                free(vals[i]);
    free(need);
    free(owned);
    free(uses);
    free(vals);
    return st;
}

sn_status sn_ir_ref_run(const sn_ir_graph *g, const float *const *inputs, float *const *outputs,
                        char *err, size_t errlen) {
    return ref_run(g, inputs, outputs, NULL, err, errlen);
}

sn_status sn_ir_ref_run_checked(const sn_ir_graph *g, const float *const *inputs,
                                float *const *outputs, sn_ir_ref_nonfinite *first, char *err,
                                size_t errlen) {
    memset(first, 0, sizeof *first);
    first->node = -1;
    return ref_run(g, inputs, outputs, first, err, errlen);
}
