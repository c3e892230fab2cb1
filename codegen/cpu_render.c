/* codegen/cpu_render.c — a group → a CPU kernel description (sn_cg_cpu_impl), its spec, its
 * packed weights and its task split. No LLVM here: cpu_emit.c builds the IR from the impl.
 *
 * Decisions made here, per kernel class:
 *   CONV      weights packed [G][obg][KH][KW][C/G][Bt·V] (Bt = the block's vectors ≤ blk_vec,
 *             zero lanes past O/G) so the Bt weight vectors of one input channel are
 *             adjacent; bias padded to [G][⌈(O/G)/V⌉·V]. Register block blk_pix output
 *             pixels × blk_vec vectors of output channels, from the register budget.
 *             Tasks: (group, channel block, n, output row) — or, for a 1×1/s1/p0 conv whose
 *             operands allow it, (…, pixel chunk) over the flattened OH·OW pixels.
 *             A stride-1 "same" 3×3 conv (groups 1, even OH/OW, channels contiguous in
 *             the input) is Winograd F(2×2,3×3) instead (wino): weights U = G·g·Gᵀ packed
 *             [obg][16][C][Bt·V]; blk_pix = 2×2 tiles per register block; tasks (channel
 *             block, n, tile row, chunk of tile columns).
 *   DWCONV    weights [⌈C/V⌉][KH][KW][V]; blocks of pixels × channel vectors.
 *   POINTWISE the index space is reordered into the first output's storage order and
 *             adjacent dims that every operand walks contiguously are merged, so a
 *             contiguous chain becomes one long vector loop; lanes run along the innermost
 *             dim. Tasks: blocks of outer rows × chunks of the inner dim.
 *   the rest  see the per-class planners below.
 */
#include "codegen/codegen_int.h"

#include <stdlib.h>
#include <string.h>

/* Bumped whenever the emitted IR for an unchanged spec changes (it is part of every spec,
 * so cached objects of an older code generator are never reused). */
#define SN_CG_CPU_REVISION 6

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

#define UNSUP(...)                                                                                 \
    do {                                                                                           \
        sn_errf(err, errlen, __VA_ARGS__);                                                         \
        return SN_ERR_UNSUPPORTED;                                                                 \
    } while (0)

/* Strides of a val's own shape aligned to the space (right-aligned numpy broadcast). */
static int align_to_space(const sn_shape *space, const sn_cg_val *v, int64_t *st) {
    int lead = space->ndim - v->shape.ndim;
    for (int i = 0; i < -lead; i++)
        if (v->shape.d[i] != 1)
            return 0;
    for (int k = 0; k < SN_MAX_DIMS; k++)
        st[k] = 0;
    for (int k = 0; k < space->ndim; k++) {
        int j = k - lead;
        if (j < 0 || j >= v->shape.ndim)
            continue;
        if (v->shape.d[j] != 1 && v->shape.d[j] != space->d[k])
            return 0;
        st[k] = v->shape.d[j] == 1 ? 0 : v->stride[j];
    }
    return 1;
}

/* ---------------------------------------------------------------- stride sets
 * Every strided access of a pointwise-like loop nest, so dims can be reordered and merged
 * consistently. */

typedef struct strideset {
    int n;
    int64_t *s[2 * SN_CG_MAX_ARGS + SN_CG_MAX_OPS * 3];
} strideset;

/* Reorders space dims by the primary stride set (descending |stride|, stable), drops
 * extent-1 dims and merges adjacent dims every set walks contiguously. primary < 0: keep
 * the order. */
static void coalesce(sn_shape *sp, strideset *ss, int primary) {
    int r = sp->ndim;
    int perm[SN_MAX_DIMS];
    int np = 0;
    for (int k = 0; k < r; k++)
        if (sp->d[k] != 1)
            perm[np++] = k;
    if (primary >= 0) {
        /* insertion sort, stable, by descending stride of the primary set; stride-0 dims
         * (broadcast in the output) go outermost */
        const int64_t *ps = ss->s[primary];
        for (int i = 1; i < np; i++) {
            int x = perm[i], j = i - 1;
            int64_t kx = ps[x] == 0 ? INT64_MAX : (ps[x] < 0 ? -ps[x] : ps[x]);
            while (j >= 0) {
                int64_t kj =
                    ps[perm[j]] == 0 ? INT64_MAX : (ps[perm[j]] < 0 ? -ps[perm[j]] : ps[perm[j]]);
                if (kj >= kx)
                    break;
                perm[j + 1] = perm[j];
                j--;
            }
            perm[j + 1] = x;
        }
    }
    sn_shape ns = {0};
    int64_t nst[2 * SN_CG_MAX_ARGS + SN_CG_MAX_OPS * 3][SN_MAX_DIMS];
    for (int i = 0; i < np; i++) {
        int k = perm[i];
        if (ns.ndim > 0) {
            int last = ns.ndim - 1, ok = 1;
            for (int q = 0; q < ss->n && ok; q++)
                if (nst[q][last] != ss->s[q][k] * sp->d[k])
                    ok = 0;
            if (ok) {
                ns.d[last] *= sp->d[k];
                for (int q = 0; q < ss->n; q++)
                    nst[q][last] = ss->s[q][k];
                continue;
            }
        }
        for (int q = 0; q < ss->n; q++)
            nst[q][ns.ndim] = ss->s[q][k];
        ns.d[ns.ndim++] = sp->d[k];
    }
    if (ns.ndim == 0) {
        ns.ndim = 1;
        ns.d[0] = 1;
        for (int q = 0; q < ss->n; q++)
            nst[q][0] = 0;
    }
    *sp = ns;
    for (int q = 0; q < ss->n; q++) {
        for (int k = 0; k < SN_MAX_DIMS; k++)
            ss->s[q][k] = k < ns.ndim ? nst[q][k] : 0;
    }
}

/* Rows × inner-dim chunks for ~`work` elements per task (at least one vector). */
static void split_rows(int64_t rows, int64_t inner, int vw, int64_t work, int64_t *rpt,
                       int64_t *chunk, int64_t *tasks) {
    int64_t total = rows * inner;
    int64_t want = imax(1, imin(256, total / work));
    if (rows >= want) {
        *rpt = cdiv(rows, want);
        *chunk = inner;
        *tasks = cdiv(rows, *rpt);
    } else {
        int64_t per_row = cdiv(want, rows);
        int64_t ch = cdiv(inner, per_row);
        ch = cdiv(ch, vw) * vw;
        *rpt = 1;
        *chunk = ch;
        *tasks = rows * cdiv(inner, ch);
    }
}

/* ---------------------------------------------------------------- per-class planners */

#ifndef SN_CG_CPU_WINO_MIN_C
#define SN_CG_CPU_WINO_MIN_C 16
#endif
#ifndef SN_CG_CPU_WINO_MIN_O
#define SN_CG_CPU_WINO_MIN_O 16
#endif

static int regs_for(int vw) { return vw >= 16 ? 32 : 16; }

int sn_cg_cpu_conv_pix(int vw, int nvec) {
    int p = (regs_for(vw) - nvec - 2) / nvec;
    return p > 14 ? 14 : p < 1 ? 1 : p;
}

/* Adds the packed data `pk` (n floats; freed here) for anchor input `slot` to the weights
 * under `tag` and points that argument at it as a flat [n] view. */
static sn_status add_packed(sn_cg_lower_ctx *c, const sn_cg_group *g, sn_cg_cpu_impl *ki,
                            sn_cg_kernel *k, int slot, int32_t tag, float *pk, size_t n) {
    int a = g->anchor_in[slot];
    int64_t off = sn_cg_weights_add(c, g->vals[a].node, tag, pk, n * sizeof(float));
    free(pk);
    if (off < 0)
        return SN_ERR_NOMEM;
    k->args[a].offset = off;
    ki->args[a].ndim = 1;
    ki->args[a].d[0] = (int64_t)n;
    ki->args[a].stride[0] = 1;
    return SN_OK;
}

/* The bias (when there is one) of `ng` groups of `og` channels, each group zero-padded to
 * `pitch` floats. */
static sn_status pack_bias(sn_cg_lower_ctx *c, const sn_cg_group *g, sn_cg_cpu_impl *ki,
                           sn_cg_kernel *k, int64_t ng, int64_t og, int64_t pitch) {
    if (g->anchor_in[2] < 0)
        return SN_OK;
    const float *b = g->vals[g->anchor_in[2]].data;
    size_t bn = (size_t)(ng * pitch);
    float *pb = calloc(bn, sizeof(float));
    if (!pb)
        return SN_ERR_NOMEM;
    for (int64_t gi = 0; gi < ng; gi++)
        memcpy(pb + gi * pitch, b + gi * og, (size_t)og * sizeof(float));
    return add_packed(c, g, ki, k, 2, (2 << 20) | ki->vw, pb, bn);
}

/* Weight and bias arguments of a Winograd conv: U = G·g·Gᵀ per (o, c), packed
 * [obg][16][C][Bt·V] (ξ = 4·row + col of the 4×4 tile), then the plain weights
 * [C][3·3][⌈O/V⌉·V] for the tiles that meet a NaN/Inf input (cpu_emit.c, wino_fix_nonfinite);
 * bias padded to ⌈O/V⌉·V. */
static sn_status pack_wino(sn_cg_lower_ctx *c, const sn_cg_group *g, sn_cg_cpu_impl *ki,
                           sn_cg_kernel *k) {
    const sn_cg_conv *cv = &ki->conv;
    const int V = ki->vw, B = ki->blk_vec;
    int64_t C = cv->c, O = cv->o, bpg = cdiv(O, V), nobg = cdiv(bpg, B);
    static const double Gm[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    const sn_cg_val *wv = &g->vals[g->anchor_in[1]];
    size_t wn = (size_t)(16 * C * bpg * V), dn = (size_t)(C * 9 * bpg * V);
    float *pk = calloc(wn + dn, sizeof(float));
    if (!pk)
        return SN_ERR_NOMEM;
    size_t at = 0;
    for (int64_t ob = 0; ob < nobg; ob++) {
        int64_t Bt = imin(B, bpg - ob * B);
        for (int xi = 0; xi < 16; xi++)
            for (int64_t ci = 0; ci < C; ci++)
                for (int64_t l = 0; l < Bt * V; l++, at++) {
                    int64_t o = ob * B * V + l;
                    if (o >= O)
                        continue;
                    const float *w = wv->data + (o * C + ci) * 9;
                    double u = 0;
                    for (int a = 0; a < 3; a++)
                        for (int b = 0; b < 3; b++)
                            u += Gm[xi / 4][a] * w[a * 3 + b] * Gm[xi % 4][b];
                    pk[at] = (float)u;
                }
    }
    for (int64_t o = 0; o < O; o++)
        for (int64_t ci = 0; ci < C; ci++)
            for (int t = 0; t < 9; t++)
                pk[wn + (size_t)((ci * 9 + t) * bpg * V + o)] = wv->data[(o * C + ci) * 9 + t];
    sn_status st = add_packed(c, g, ki, k, 1, (6 << 20) | (B << 8) | V, pk, wn + dn);
    return st ? st : pack_bias(c, g, ki, k, 1, O, bpg * V);
}

static sn_status plan_conv(sn_cg_lower_ctx *c, const sn_cg_group *g, sn_cg_cpu_impl *ki,
                           sn_cg_kernel *k, char *err, size_t errlen) {
    sn_cg_conv *cv = &ki->conv;
    const int V = ki->vw;
    int64_t G = cv->groups, Cg = cv->c / G, Og = cv->o / G, bpg = cdiv(Og, V);
    int R = regs_for(V);
    int B;
    if (R < 32) {
        B = (int)imin(bpg, 2);
    } else if (bpg <= 5) {
        B = (int)bpg;
    } else {
        /* the block count (4, 3 or 5 vectors) that wastes least in the last block */
        int cand[3] = {4, 3, 5};
        B = 4;
        int64_t waste = cdiv(bpg, 4) * 4 - bpg;
        for (int i = 1; i < 3; i++) {
            int64_t w = cdiv(bpg, cand[i]) * cand[i] - bpg;
            if (w < waste) {
                waste = w;
                B = cand[i];
            }
        }
    }
    int P = sn_cg_cpu_conv_pix(V, B);
    /* 1×1 stride 1 no padding: flatten pixels when every access allows it */
    int flat = cv->kh == 1 && cv->kw == 1 && cv->sh == 1 && cv->sw == 1 && cv->ph == 0 &&
               cv->pw == 0 && cv->dh == 1 && cv->dw == 1;
    sn_cg_cpu_view *xv = &ki->args[ki->anchor_in[0]];
    if (flat && xv->stride[2] != cv->w * xv->stride[3])
        flat = 0;
    for (int i = 0; i < ki->nops && flat; i++) {
        const sn_cg_op *op = &ki->ops[i];
        for (int j = 0; j < op->nin; j++)
            if (op->in[j].kind == SN_CG_OPND_INPUT &&
                op->in[j].stride[2] != cv->ow * op->in[j].stride[3])
                flat = 0;
        if (op->store >= 0 &&
            ki->store_stride[op->store][2] != cv->ow * ki->store_stride[op->store][3])
            flat = 0;
    }
    int64_t nobg = cdiv(bpg, B);
    /* Winograd F(2×2,3×3) for a stride-1 "same" 3×3 conv over NHWC with enough channels:
     * 16 multiplies per 2×2 output tile and (c, o) instead of 36. Only over finite weights:
     * a NaN/Inf tap spreads through U = G·g·Gᵀ to every point of the tile and meets the
     * zero padding (0·NaN), where the direct conv, like ref, leaves padding taps out. */
    int wino = G == 1 && cv->kh == 3 && cv->kw == 3 && cv->sh == 1 && cv->sw == 1 && cv->ph == 1 &&
               cv->pw == 1 && cv->dh == 1 && cv->dw == 1 && cv->oh == cv->h && cv->ow == cv->w &&
               cv->oh % 2 == 0 && cv->ow % 2 == 0 && xv->stride[1] == 1 &&
               Cg >= SN_CG_CPU_WINO_MIN_C && Og >= SN_CG_CPU_WINO_MIN_O &&
               sn_cg_val_finite(&g->vals[g->anchor_in[1]]);
    if (wino) {
        int64_t TH = cv->oh / 2, TW = cv->ow / 2;
        if (P > TW)
            P = (int)TW;
        int64_t rows = nobg * cv->n * TH;
        int64_t ncol = imax(1, cdiv(64, rows));
        int64_t chunk = cdiv(cdiv(TW, ncol), P) * P;
        ki->chunk = chunk;
        ki->tasks = rows * cdiv(TW, chunk);
        ki->wino = 1;
        ki->flat = 0;
        ki->blk_pix = P;
        ki->blk_vec = B;
        ki->unroll = 1;
        return pack_wino(c, g, ki, k);
    }
    if (flat) {
        int64_t pix = cv->oh * cv->ow;
        cv->h = 1;
        cv->w = pix;
        cv->oh = 1;
        cv->ow = pix;
        xv->d[2] = 1;
        xv->d[3] = pix;
        xv->stride[2] = 0;
        ki->space.d[2] = 1;
        ki->space.d[3] = pix;
        for (int i = 0; i < ki->nops; i++)
            for (int j = 0; j < ki->ops[i].nin; j++)
                ki->ops[i].in[j].stride[2] = 0;
        for (int a = 0; a < SN_CG_MAX_ARGS; a++)
            ki->store_stride[a][2] = 0;
        if (P > pix)
            P = (int)pix;
        int64_t rows = G * nobg * cv->n;
        int64_t nch = imax(1, cdiv(96, rows));
        int64_t chunk = cdiv(cdiv(pix, nch), P) * P;
        chunk = imax(chunk, 2 * (int64_t)P);
        ki->chunk = chunk;
        ki->tasks = rows * cdiv(pix, chunk);
    } else {
        if (P > cv->ow)
            P = (int)cv->ow;
        ki->chunk = cv->ow;
        ki->tasks = G * nobg * cv->n * cv->oh;
    }
    ki->flat = flat;
    ki->blk_pix = P;
    ki->blk_vec = B;
    ki->unroll = Cg >= 8 ? 2 : 1;

    /* pack the weights: [G][obg][KH][KW][Cg][Bt*V] */
    const sn_cg_val *wv = &g->vals[g->anchor_in[1]];
    int64_t KH = cv->kh, KW = cv->kw;
    size_t wn = (size_t)(G * KH * KW * Cg * bpg * V);
    float *pk = calloc(wn ? wn : 1, sizeof(float));
    if (!pk)
        return SN_ERR_NOMEM;
    const float *w = wv->data;
    size_t at = 0;
    for (int64_t gi = 0; gi < G; gi++)
        for (int64_t ob = 0; ob < nobg; ob++) {
            int64_t Bt = imin(B, bpg - ob * B);
            for (int64_t kh = 0; kh < KH; kh++)
                for (int64_t kw = 0; kw < KW; kw++)
                    for (int64_t ci = 0; ci < Cg; ci++)
                        for (int64_t l = 0; l < Bt * V; l++, at++) {
                            int64_t oc = (ob * B) * V + l; /* within the group */
                            if (oc >= Og)
                                continue;
                            int64_t o = gi * Og + oc;
                            pk[at] = w[((o * Cg + ci) * KH + kh) * KW + kw];
                        }
        }
    (void)err;
    (void)errlen;
    sn_status st = add_packed(c, g, ki, k, 1, (1 << 20) | (B << 8) | V, pk, wn);
    return st ? st : pack_bias(c, g, ki, k, G, Og, bpg * V);
}

static sn_status plan_dwconv(sn_cg_lower_ctx *c, const sn_cg_group *g, sn_cg_cpu_impl *ki,
                             sn_cg_kernel *k) {
    sn_cg_conv *cv = &ki->conv;
    const int V = ki->vw;
    int64_t C = cv->c, nv = cdiv(C, V), KH = cv->kh, KW = cv->kw;
    int B = (int)imin(nv, 2);
    int P = (int)imin(cv->ow, 6);
    ki->blk_pix = P;
    ki->blk_vec = B;
    ki->unroll = 1;
    ki->chunk = cv->ow;
    ki->tasks = cv->n * cv->oh * cdiv(nv, B);
    size_t wn = (size_t)(nv * KH * KW * V);
    float *pk = calloc(wn, sizeof(float));
    if (!pk)
        return SN_ERR_NOMEM;
    const sn_cg_val *wv = &g->vals[g->anchor_in[1]];
    for (int64_t ch = 0; ch < C; ch++)
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++)
                pk[((ch / V * KH + kh) * KW + kw) * V + ch % V] =
                    wv->data[(ch * KH + kh) * KW + kw];
    sn_status st = add_packed(c, g, ki, k, 1, (3 << 20) | V, pk, wn);
    return st ? st : pack_bias(c, g, ki, k, 1, C, nv * V);
}

static void collect_epilogue_strides(sn_cg_cpu_impl *ki, strideset *ss, int *primary) {
    ss->n = 0;
    *primary = -1;
    for (int i = 0; i < ki->nops; i++) {
        sn_cg_op *op = &ki->ops[i];
        if (op->store >= 0) {
            if (*primary < 0)
                *primary = ss->n;
            /* each output's strides once */
            int seen = 0;
            for (int q = 0; q < ss->n; q++)
                if (ss->s[q] == ki->store_stride[op->store])
                    seen = 1;
            if (!seen)
                ss->s[ss->n++] = ki->store_stride[op->store];
        }
        for (int j = 0; j < op->nin; j++)
            if (op->in[j].kind == SN_CG_OPND_INPUT)
                ss->s[ss->n++] = op->in[j].stride;
    }
}

static void plan_pointwise(sn_cg_cpu_impl *ki) {
    int xform = 0, cat_axes = 0;
    for (int i = 0; i < ki->nops; i++) {
        if (ki->ops[i].op == SN_OP_CONCAT) {
            xform = 1;
            cat_axes |= 1 << ki->ops[i].attr[0];
        }
        if (ki->ops[i].op == SN_OP_UPSAMPLE)
            xform = 1;
    }
    int split_inner = 1;
    if (!xform) {
        /* a plain elementwise tree: every op has the root's shape; merge dims */
        strideset ss;
        int primary;
        collect_epilogue_strides(ki, &ss, &primary);
        coalesce(&ki->space, &ss, primary);
        for (int i = 0; i < ki->nops; i++)
            ki->ops[i].shape = ki->space;
        ki->vd = ki->space.ndim - 1;
    } else {
        /* index transforms: keep the dims; lanes along the root output's innermost dim */
        const int64_t *rs = ki->store_stride[ki->ops[ki->nops - 1].store];
        int vd = ki->space.ndim - 1;
        int64_t best = INT64_MAX;
        for (int k = 0; k < ki->space.ndim; k++) {
            int64_t a = rs[k] < 0 ? -rs[k] : rs[k];
            if (ki->space.d[k] > 1 && a != 0 && a < best) {
                best = a;
                vd = k;
            }
        }
        ki->vd = vd;
        if (cat_axes & (1 << vd))
            split_inner = 0;
    }
    int64_t inner = ki->space.d[ki->vd], rows = sn_shape_numel(&ki->space) / inner;
    if (split_inner) {
        split_rows(rows, inner, ki->vw, 16384, &ki->rows_per_task, &ki->chunk, &ki->tasks);
    } else {
        int64_t want = imax(1, imin(256, rows * inner / 16384));
        ki->rows_per_task = cdiv(rows, imin(rows, want));
        ki->chunk = inner;
        ki->tasks = cdiv(rows, ki->rows_per_task);
    }
}

static void plan_concat(const sn_cg_group *g, sn_cg_cpu_impl *ki) {
    int out = g->ops[0].store;
    const sn_cg_val *ov = &g->vals[out];
    int64_t axis = g->attr[0];
    ki->npieces = g->nanchor_in;
    int64_t t0 = 0;
    for (int i = 0; i < ki->npieces; i++) {
        const sn_cg_val *iv = &g->vals[g->anchor_in[i]];
        sn_cg_cpu_view *pv = &ki->piece_in[i];
        sn_shape sp = iv->shape;
        int64_t ist[SN_MAX_DIMS] = {0}, ost[SN_MAX_DIMS] = {0};
        memcpy(ist, iv->stride, sizeof ist);
        memcpy(ost, ov->stride, sizeof ost);
        strideset ss = {.n = 2, .s = {ost, ist}};
        ki->piece_out_off[i] = g->concat_start[i] * ov->stride[axis];
        coalesce(&sp, &ss, 0);
        pv->ndim = sp.ndim;
        memcpy(pv->d, sp.d, sizeof pv->d);
        memcpy(pv->stride, ist, sizeof pv->stride);
        memcpy(ki->piece_out_stride[i], ost, sizeof ost);
        int64_t inner = sp.d[sp.ndim - 1], rows = sn_shape_numel(&sp) / inner, rpt, ch, nt;
        split_rows(rows, inner, ki->vw, 16384, &rpt, &ch, &nt);
        ki->piece_rows_per_task[i] = rpt;
        ki->piece_chunk[i] = ch;
        ki->piece_task0[i] = t0;
        t0 += nt;
    }
    ki->piece_task0[ki->npieces] = t0;
    ki->tasks = t0;
}

/* The non-axis dim with the smallest input stride (extent > 1), or -1. */
static int pick_vd(const sn_cg_cpu_view *x, const sn_shape *sp, int axis) {
    int best = -1;
    for (int k = 0; k < sp->ndim; k++) {
        if (k == axis || sp->d[k] == 1)
            continue;
        int64_t s = x->stride[k] < 0 ? -x->stride[k] : x->stride[k];
        if (best < 0) {
            best = k;
            continue;
        }
        int64_t sb = x->stride[best] < 0 ? -x->stride[best] : x->stride[best];
        if (s < sb)
            best = k;
    }
    return best;
}

static void plan_axis_op(sn_cg_cpu_impl *ki) {
    const sn_cg_cpu_view *x = &ki->args[ki->anchor_in[0]];
    int axis = (int)ki->attr[0];
    int64_t ext = x->d[axis];
    int vd = pick_vd(x, &ki->space, axis);
    int64_t sa = x->stride[axis];
    int64_t svd = vd >= 0 ? (x->stride[vd] < 0 ? -x->stride[vd] : x->stride[vd]) : 0;
    ki->along_axis = vd < 0 || (sa == 1 && ext >= ki->vw && svd != 1);
    ki->vd = ki->along_axis ? axis : vd;
    int64_t rows = 1;
    for (int k = 0; k < ki->space.ndim; k++)
        if (k != axis && k != ki->vd)
            rows *= ki->space.d[k];
    int64_t per_row = ext * (ki->along_axis ? 1 : ki->space.d[ki->vd]);
    int64_t want = imax(1, imin(256, rows * per_row / 8192));
    ki->rows_per_task = cdiv(rows, imin(rows, want));
    ki->tasks = cdiv(rows, ki->rows_per_task);
}

/* ---------------------------------------------------------------- the spec */

static void spec_view(sn_str *s, const sn_cg_cpu_view *v) {
    sn_str_printf(s, "[");
    for (int k = 0; k < v->ndim; k++)
        sn_str_printf(s, "%s%lld", k ? "," : "", (long long)v->d[k]);
    sn_str_printf(s, "]/[");
    for (int k = 0; k < v->ndim; k++)
        sn_str_printf(s, "%s%lld", k ? "," : "", (long long)v->stride[k]);
    sn_str_printf(s, "]");
}

static void spec_strides(sn_str *s, const int64_t *st, int n) {
    sn_str_printf(s, "[");
    for (int k = 0; k < n; k++)
        sn_str_printf(s, "%s%lld", k ? "," : "", (long long)st[k]);
    sn_str_printf(s, "]");
}

static const char *const cls_names[SN_CG_CPU_COUNT] = {
    "conv",     "dwconv",  "matmul", "pointwise", "maxpool",
    "upsample", "softmax", "reduce", "concat",    "reshape"};

char *sn_cg_cpu_spec(const sn_cg_cpu_impl *ki) {
    sn_str s = {0};
    sn_str_printf(&s, "sinter-cpu-kernel rev %d\n", SN_CG_CPU_REVISION);
    sn_str_printf(&s, "name %s\nclass %s\nvw %d\n", ki->name, cls_names[ki->cls], ki->vw);
    for (int i = 0; i < ki->nargs; i++) {
        sn_str_printf(&s, "arg %d ", i);
        spec_view(&s, &ki->args[i]);
        sn_str_printf(&s, "\n");
    }
    sn_str_printf(&s, "anchor %s attr", sn_cg_anchor_name(ki->anchor));
    for (int i = 0; i < ki->nattr; i++)
        sn_str_printf(&s, " %lld", (long long)ki->attr[i]);
    sn_str_printf(&s, " in");
    for (int i = 0; i < ki->nanchor_in; i++)
        sn_str_printf(&s, " %d", ki->anchor_in[i]);
    sn_str_printf(&s, "\n");
    const sn_cg_conv *cv = &ki->conv;
    sn_str_printf(&s,
                  "conv n%lld c%lld h%lld w%lld o%lld oh%lld ow%lld k%lldx%lld s%lldx%lld "
                  "p%lldx%lld d%lldx%lld g%lld\n",
                  (long long)cv->n, (long long)cv->c, (long long)cv->h, (long long)cv->w,
                  (long long)cv->o, (long long)cv->oh, (long long)cv->ow, (long long)cv->kh,
                  (long long)cv->kw, (long long)cv->sh, (long long)cv->sw, (long long)cv->ph,
                  (long long)cv->pw, (long long)cv->dh, (long long)cv->dw, (long long)cv->groups);
    sn_str_printf(&s, "space ");
    spec_strides(&s, ki->space.d, ki->space.ndim);
    sn_str_printf(&s, " vd %d\n", ki->vd);
    for (int i = 0; i < ki->nops; i++) {
        const sn_cg_op *op = &ki->ops[i];
        sn_str_printf(&s, "op %d %s ", i, sn_ir_op_info[op->op].name);
        spec_strides(&s, op->shape.d, op->shape.ndim);
        if (op->op == SN_OP_CONCAT || op->op == SN_OP_UPSAMPLE) {
            sn_str_printf(&s, " attr %lld,%lld start", (long long)op->attr[0],
                          (long long)op->attr[1]);
            for (int j = 0; j <= op->nin; j++)
                sn_str_printf(&s, "%s%lld", j ? "," : " ", (long long)op->start[j]);
        }
        for (int j = 0; j < op->nin; j++) {
            const sn_cg_opnd *o = &op->in[j];
            switch (o->kind) {
            case SN_CG_OPND_PREV:
                sn_str_printf(&s, " prev:%d", o->ref);
                break;
            case SN_CG_OPND_SCALAR:
                sn_str_printf(&s, " lit:%a", (double)o->scalar);
                break;
            case SN_CG_OPND_INPUT:
                sn_str_printf(&s, " in:%d:%d:", o->ref, (int)o->bcast);
                spec_strides(&s, o->stride, ki->space.ndim);
                break;
            case SN_CG_OPND_NONE:
                sn_str_printf(&s, " none");
                break;
            }
        }
        if (op->store >= 0) {
            sn_str_printf(&s, " store:%d:", op->store);
            spec_strides(&s, ki->store_stride[op->store], ki->space.ndim);
        }
        sn_str_printf(&s, "\n");
    }
    for (int i = 0; i < ki->npieces; i++) {
        sn_str_printf(&s, "piece %d in ", i);
        spec_view(&s, &ki->piece_in[i]);
        sn_str_printf(&s, " out +%lld ", (long long)ki->piece_out_off[i]);
        spec_strides(&s, ki->piece_out_stride[i], ki->piece_in[i].ndim);
        sn_str_printf(&s, " task0 %lld rows %lld chunk %lld\n", (long long)ki->piece_task0[i],
                      (long long)ki->piece_rows_per_task[i], (long long)ki->piece_chunk[i]);
    }
    sn_str_printf(&s,
                  "tune pix %d vec %d unroll %d flat %d wino %d chunk %lld rows %lld "
                  "along_axis %d tasks %lld\n",
                  ki->blk_pix, ki->blk_vec, ki->unroll, ki->flat, ki->wino, (long long)ki->chunk,
                  (long long)ki->rows_per_task, ki->along_axis, (long long)ki->tasks);
    return sn_str_take(&s);
}

/* ---------------------------------------------------------------- the renderer */

sn_status sn_cg_cpu_render_group(sn_cg_lower_ctx *c, const sn_cg_group *g, sn_cg_kernel *k,
                                 char *err, size_t errlen) {
    for (int i = 0; i < g->nvals; i++)
        if (g->vals[i].dtype != SN_DTYPE_F32)
            UNSUP("group %d: %s storage on the cpu (f32 only)", g->id,
                  sn_dtype_name(g->vals[i].dtype));
    sn_cg_cpu_impl *ki = calloc(1, sizeof *ki);
    if (!ki)
        return SN_ERR_NOMEM;
    sn_status st = SN_OK;
    sn_cg_group_basename(g, ki->name, sizeof ki->name);
    ki->vw = g->target->vector_bits >= 512 ? 16 : g->target->vector_bits >= 256 ? 8 : 4;
    ki->nargs = g->nvals;
    for (int i = 0; i < g->nvals; i++) {
        sn_cg_cpu_view *v = &ki->args[i];
        v->ndim = g->vals[i].shape.ndim;
        memcpy(v->d, g->vals[i].shape.d, sizeof v->d);
        memcpy(v->stride, g->vals[i].stride, sizeof v->stride);
    }
    ki->anchor = g->anchor;
    ki->nattr = g->nattr;
    memcpy(ki->attr, g->attr, sizeof ki->attr);
    ki->conv = g->conv;
    ki->nanchor_in = g->nanchor_in;
    memcpy(ki->anchor_in, g->anchor_in, sizeof ki->anchor_in);
    ki->space = g->space;
    ki->nops = g->nops;
    memcpy(ki->ops, g->ops, sizeof ki->ops);
    for (int i = 0; i < ki->nops; i++) {
        ki->ops[i].node = -1;
        int so = ki->ops[i].store;
        if (so >= 0 && !align_to_space(&g->space, &g->vals[so], ki->store_stride[so])) {
            free(ki);
            UNSUP("group %d: output %d does not fit the index space", g->id, so);
        }
    }
    switch (g->anchor) {
    case SN_CG_ANCHOR_CONV2D: {
        const sn_cg_conv *cv = &g->conv;
        ki->vd = 1;
        if (cv->groups > 1 && cv->groups == cv->c && cv->o == cv->c) {
            ki->cls = SN_CG_CPU_DWCONV;
            st = plan_dwconv(c, g, ki, k);
        } else {
            ki->cls = SN_CG_CPU_CONV;
            st = plan_conv(c, g, ki, k, err, errlen);
        }
        break;
    }
    case SN_CG_ANCHOR_MATMUL: {
        ki->cls = SN_CG_CPU_MATMUL;
        ki->vd = ki->space.ndim - 1;
        int r = ki->space.ndim;
        int64_t M = ki->space.d[r - 2], N = ki->space.d[r - 1];
        const sn_cg_cpu_view *av = &ki->args[ki->anchor_in[0]], *bv = &ki->args[ki->anchor_in[1]];
        int64_t K = av->d[r - 1];
        /* where the lanes run: along N when b is contiguous along N (0); else along M when a
         * is contiguous along M (2: the transposed problem); else along K when both are
         * contiguous along K (1: dot products, horizontal sums); else along N, lane by lane */
        int mode = 0;
        if (bv->stride[r - 1] != 1) {
            if (av->stride[r - 2] == 1 && M > 1)
                mode = 2;
            else if (av->stride[r - 1] == 1 && bv->stride[r - 2] == 1 && K >= 8)
                mode = 1;
        }
        ki->along_axis = mode;
        int64_t rows = mode == 2 ? N : M, lanes = mode == 2 ? M : N;
        int B = (int)imin(cdiv(lanes, ki->vw), 4);
        int P = (regs_for(ki->vw) - B - 2) / B;
        if (P > 8)
            P = 8;
        if (mode == 1) {
            B = (int)imin(N, 4);
            P = 4;
        }
        if (P > rows)
            P = (int)rows;
        if (mode == 2)
            ki->vd = r - 2;
        ki->blk_pix = P;
        ki->blk_vec = B;
        ki->unroll = 1;
        ki->tasks = sn_shape_numel(&ki->space) / (M * N) * cdiv(rows, P);
        break;
    }
    case SN_CG_ANCHOR_POINTWISE:
        ki->cls = SN_CG_CPU_POINTWISE;
        plan_pointwise(ki);
        break;
    case SN_CG_ANCHOR_MAXPOOL:
        ki->cls = SN_CG_CPU_MAXPOOL;
        ki->vd = 1;
        ki->tasks = ki->conv.n * ki->conv.oh;
        break;
    case SN_CG_ANCHOR_UPSAMPLE:
        ki->cls = SN_CG_CPU_UPSAMPLE;
        ki->vd = 1;
        ki->tasks = ki->space.d[0] * ki->space.d[2];
        break;
    case SN_CG_ANCHOR_SOFTMAX:
    case SN_CG_ANCHOR_REDUCE_SUM:
        ki->cls = g->anchor == SN_CG_ANCHOR_SOFTMAX ? SN_CG_CPU_SOFTMAX : SN_CG_CPU_REDUCE;
        plan_axis_op(ki);
        break;
    case SN_CG_ANCHOR_CONCAT:
        if (g->nops != 1 || g->ops[0].store < 0) {
            free(ki);
            UNSUP("group %d: a concat kernel with an epilogue", g->id);
        }
        ki->cls = SN_CG_CPU_CONCAT;
        plan_concat(g, ki);
        break;
    case SN_CG_ANCHOR_RESHAPE:
        if (g->nops != 1 || g->ops[0].store < 0) {
            free(ki);
            UNSUP("group %d: a reshape copy with an epilogue", g->id);
        }
        ki->cls = SN_CG_CPU_RESHAPE;
        ki->chunk = 16384;
        ki->tasks = cdiv(sn_shape_numel(&ki->space), ki->chunk);
        break;
    default:
        free(ki);
        UNSUP("group %d: anchor %s on the cpu", g->id, sn_cg_anchor_name(g->anchor));
    }
    if (st) {
        free(ki);
        return st;
    }
    if (ki->tasks < 1)
        ki->tasks = 1;
    snprintf(k->name, sizeof k->name, "%s", ki->name);
    k->spec = sn_cg_cpu_spec(ki);
    if (!k->spec) {
        free(ki);
        return SN_ERR_NOMEM;
    }
    k->tasks = ki->tasks;
    k->impl = ki;
    return SN_OK;
}

sn_status sn_cg_cpu_rename(sn_cg_kernel *k, const char *name) {
    sn_cg_cpu_impl *ki = k->impl;
    if (ki)
        snprintf(ki->name, sizeof ki->name, "%s", name);
    snprintf(k->name, sizeof k->name, "%s", name);
    if (ki) {
        char *spec = sn_cg_cpu_spec(ki);
        if (!spec)
            return SN_ERR_NOMEM;
        free(k->spec);
        k->spec = spec;
    }
    return SN_OK;
}
