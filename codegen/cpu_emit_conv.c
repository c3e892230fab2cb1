/* codegen/cpu_emit_conv.c — CPU kernels: direct convolution, Winograd F(2,3) and depthwise. See
 * cpu_emit_int.h. */
#include "codegen/cpu_emit_int.h"

/* ---------------------------------------------------------------- conv and dwconv
 *
 * A row task walks the output pixels of one row in blocks of blk_pix. Which pixels read
 * padding is known while emitting: blocks entirely inside run in one runtime loop with no
 * checks; the few border blocks and the tail are emitted one by one with the padding taps
 * left out. */

typedef struct convrow {
    LLVMValueRef n, oh, g, ob, cb;  /* task coordinates (cb: dwconv channel block) */
    LLVMValueRef kh_lo, kh_hi, ih0; /* valid kernel rows */
    int Bt, last_lanes;             /* vectors in this block, valid lanes of the last one */
    int P;                          /* output pixels per register block */
} convrow;

typedef void (*block_fn)(em *e, convrow *r, LLVMValueRef pix0, int np, const uint32_t *kwmask);

/* Which kw taps of output pixel ow read inside the input row. */
static uint32_t kw_valid(const sn_cg_conv *cv, int64_t ow) {
    uint32_t m = 0;
    for (int64_t kw = 0; kw < cv->kw; kw++) {
        int64_t iw = ow * cv->sw - cv->pw + kw * cv->dw;
        if (iw >= 0 && iw < cv->w)
            m |= 1u << kw;
    }
    return m;
}

static void row_blocks(em *e, convrow *r, block_fn fn, LLVMValueRef lo, LLVMValueRef hi) {
    const sn_cg_cpu_impl *ki = e->ki;
    const sn_cg_conv *cv = &ki->conv;
    int64_t P = r->P, OW = cv->ow;
    uint32_t all = cv->kw >= 32 ? 0xffffffffu : (1u << cv->kw) - 1;
    uint32_t mask[64];
    if (ki->flat) {
        /* every pixel interior: full blocks in [lo, hi), then the static tail */
        for (int p = 0; p < P; p++)
            mask[p] = all;
        LLVMValueRef nfull = LLVMBuildSDiv(e->b, LLVMBuildSub(e->b, hi, lo, ""), ci(e, P), "");
        loop L;
        LLVMValueRef b = loop_begin(e, &L, ci(e, 0), nfull, 1);
        fn(e, r, add(e, lo, mulc(e, b, P)), (int)P, mask);
        loop_end(e, &L);
        int64_t T = OW % P;
        if (T) {
            ifb I;
            if_begin(e, &I, LLVMBuildICmp(e->b, LLVMIntEQ, hi, ci(e, OW), ""));
            fn(e, r, ci(e, OW - T), (int)T, mask);
            if_else(e, &I);
            if_end(e, &I);
        }
        return;
    }
    int64_t int_lo = (cv->pw + cv->sw - 1) / cv->sw;
    int64_t lim = cv->w - 1 + cv->pw - (cv->kw - 1) * cv->dw;
    int64_t int_hi = lim < 0 ? 0 : lim / cv->sw + 1;
    if (int_hi > OW)
        int_hi = OW;
    int64_t nblocks = (OW + P - 1) / P;
    int64_t b_lo = (int_lo + P - 1) / P, b_hi = int_hi / P;
    if (b_hi < b_lo)
        b_hi = b_lo;
    for (int64_t b = 0; b < nblocks; b++) {
        if (b == b_lo && b_hi > b_lo) {
            for (int p = 0; p < P; p++)
                mask[p] = all;
            loop L;
            LLVMValueRef bi = loop_begin(e, &L, ci(e, b_lo), ci(e, b_hi), 1);
            fn(e, r, mulc(e, bi, P), (int)P, mask);
            loop_end(e, &L);
            b = b_hi - 1;
            continue;
        }
        int64_t pix0 = b * P, np = OW - pix0 < P ? OW - pix0 : P;
        for (int p = 0; p < np; p++)
            mask[p] = kw_valid(cv, pix0 + p);
        fn(e, r, ci(e, pix0), (int)np, mask);
    }
}

/* Valid kernel rows for output row oh: kh with 0 <= oh*sh - ph + kh*dh < H. */
static void kh_range(em *e, convrow *r) {
    const sn_cg_conv *cv = &e->ki->conv;
    r->ih0 = addc(e, mulc(e, r->oh, cv->sh), -cv->ph);
    if (cv->kh == 1 && cv->ph == 0) {
        r->kh_lo = ci(e, 0);
        r->kh_hi = ci(e, 1);
        return;
    }
    /* kh_lo = ceil(-ih0 / dh) clamped at 0; kh_hi = ceil((H - ih0) / dh) clamped at KH */
    LLVMValueRef neg = LLVMBuildNeg(e->b, r->ih0, "");
    LLVMValueRef lo = sdivc(e, addc(e, smax(e, neg, ci(e, 0)), cv->dh - 1), cv->dh);
    LLVMValueRef rem = LLVMBuildSub(e->b, ci(e, cv->h), r->ih0, "");
    LLVMValueRef hi = sdivc(e, addc(e, smax(e, rem, ci(e, 0)), cv->dh - 1), cv->dh);
    r->kh_lo = lo;
    r->kh_hi = smin(e, hi, ci(e, cv->kh));
}

static void conv_block(em *e, convrow *r, LLVMValueRef pix0, int np, const uint32_t *kwmask) {
    const sn_cg_cpu_impl *ki = e->ki;
    const sn_cg_conv *cv = &ki->conv;
    const int V = e->V, Bt = r->Bt;
    int64_t G = cv->groups, Cg = cv->c / G, Og = cv->o / G, bpg = (Og + V - 1) / V;
    int64_t KH = cv->kh, KW = cv->kw, B = ki->blk_vec;
    const sn_cg_cpu_view *xv = &ki->args[ki->anchor_in[0]];
    int64_t xsn = xv->stride[0], xsc = xv->stride[1], xsh = xv->stride[2], xsw = xv->stride[3];
    LLVMValueRef x = e->argp[ki->anchor_in[0]], w = e->argp[ki->anchor_in[1]];

    for (int p = 0; p < np; p++)
        for (int j = 0; j < Bt; j++)
            stv(e, cvf(e, 0.0), e->acc[p * Bt + j]);

    /* weights of (g, ob): g*KH*KW*Cg*bpg*V + ob*KH*KW*Cg*B*V */
    LLVMValueRef wbase = gep(
        e, w, add(e, mulc(e, r->g, KH * KW * Cg * bpg * V), mulc(e, r->ob, KH * KW * Cg * B * V)));
    LLVMValueRef xbase = gep(e, x, add(e, mulc(e, r->n, xsn), mulc(e, r->g, Cg * xsc)));
    loop LK;
    LLVMValueRef kh = loop_begin(e, &LK, r->kh_lo, r->kh_hi, 1);
    LLVMValueRef ih = add(e, r->ih0, mulc(e, kh, cv->dh));
    LLVMValueRef xrow = gep(e, xbase, mulc(e, ih, xsh));
    LLVMValueRef wkh = gep(e, wbase, mulc(e, kh, KW * Cg * Bt * V));
    /* A strided conv over few input channels, all taps inside: kw as a runtime loop, so
     * that the broadcasts of input pixels shared by neighbouring taps are not merged across
     * kw into long-lived registers (spills) */
    int kwloop = KW > 1 && cv->sw > 1 && Cg < 8;
    for (int p = 0; p < np; p++)
        if (kwmask[p] != (KW >= 32 ? 0xffffffffu : (1u << KW) - 1))
            kwloop = 0;
    loop LW;
    LLVMValueRef kwv = kwloop ? loop_begin(e, &LW, ci(e, 0), ci(e, KW), 1) : NULL;
    for (int64_t kw = 0; kw < (kwloop ? 1 : KW); kw++) {
        int any = 0;
        for (int p = 0; p < np; p++)
            any |= (kwmask[p] >> kw) & 1;
        if (!any)
            continue;
        LLVMValueRef kwr = kwloop ? kwv : ci(e, kw);
        LLVMValueRef xp[64];
        LLVMValueRef pixw = add(e, mulc(e, pix0, cv->sw), addc(e, mulc(e, kwr, cv->dw), -cv->pw));
        LLVMValueRef xcol = gep(e, xrow, mulc(e, pixw, xsw));
        for (int p = 0; p < np; p++)
            xp[p] = gep(e, xcol, ci(e, p * cv->sw * xsw));
        LLVMValueRef wkw = gep(e, wkh, mulc(e, kwr, Cg * Bt * V));
        int64_t U = ki->unroll < 1 ? 1 : ki->unroll;
        int64_t cmain = Cg / U * U;
        for (int part = 0; part < 2; part++) {
            int64_t c_lo = part ? cmain : 0, c_hi = part ? Cg : cmain, step = part ? 1 : U;
            if (c_hi <= c_lo)
                continue;
            loop LC;
            LLVMValueRef c = loop_begin(e, &LC, ci(e, c_lo), ci(e, c_hi), step);
            LLVMValueRef a[MAXACC];
            for (int q = 0; q < np * Bt; q++)
                a[q] = ldv(e, e->acc[q]);
            for (int64_t u = 0; u < step; u++) {
                LLVMValueRef cc = addc(e, c, u);
                LLVMValueRef wp = gep(e, wkw, mulc(e, cc, Bt * V));
                LLVMValueRef wvec[8];
                for (int j = 0; j < Bt; j++)
                    wvec[j] = vload(e, gep(e, wp, ci(e, j * V)), 1, V);
                LLVMValueRef xoff = mulc(e, cc, xsc);
                for (int p = 0; p < np; p++) {
                    if (!((kwmask[p] >> kw) & 1))
                        continue;
                    LLVMValueRef xb = splat(e, loadf(e, gep(e, xp[p], xoff)));
                    for (int j = 0; j < Bt; j++)
                        a[p * Bt + j] = vfma(e, xb, wvec[j], a[p * Bt + j]);
                }
            }
            for (int q = 0; q < np * Bt; q++)
                stv(e, a[q], e->acc[q]);
            loop_end(e, &LC);
        }
    }
    if (kwloop)
        loop_end(e, &LW);
    loop_end(e, &LK);

    /* epilogue: bias, ops, stores */
    LLVMValueRef oc0 = add(e, mulc(e, r->g, Og), mulc(e, r->ob, B * V));
    LLVMValueRef bias[8] = {0};
    if (ki->anchor_in[2] >= 0)
        for (int j = 0; j < Bt; j++) {
            LLVMValueRef bp = gep(e, e->argp[ki->anchor_in[2]],
                                  add(e, mulc(e, r->g, bpg * V), mulc(e, r->ob, B * V)));
            bias[j] = vload(e, gep(e, bp, ci(e, j * V)), 1, V);
        }
    for (int p = 0; p < np; p++)
        for (int j = 0; j < Bt; j++) {
            LLVMValueRef v = ldv(e, e->acc[p * Bt + j]);
            if (bias[j])
                v = LLVMBuildFAdd(e->b, v, bias[j], "");
            LLVMValueRef idx[SN_MAX_DIMS] = {r->n, addc(e, oc0, j * V), ki->flat ? ci(e, 0) : r->oh,
                                             addc(e, pix0, p)};
            sn_cg_cpu_emit_ops(e, idx, j == Bt - 1 ? r->last_lanes : V, v);
        }
}

void sn_cg_cpu_emit_conv(em *e, LLVMValueRef t) {
    const sn_cg_cpu_impl *ki = e->ki;
    const sn_cg_conv *cv = &ki->conv;
    const int V = e->V;
    int64_t G = cv->groups, Og = cv->o / G, bpg = (Og + V - 1) / V, B = ki->blk_vec;
    int64_t nobg = (bpg + B - 1) / B;
    int64_t nch = ki->flat ? (cv->ow + ki->chunk - 1) / ki->chunk : 1;
    convrow r;
    memset(&r, 0, sizeof r);
    LLVMValueRef chn = sremc(e, t, nch), q = sdivc(e, t, nch);
    r.oh = sremc(e, q, cv->oh);
    q = sdivc(e, q, cv->oh);
    r.n = sremc(e, q, cv->n);
    q = sdivc(e, q, cv->n);
    r.ob = sremc(e, q, nobg);
    r.g = sdivc(e, q, nobg);
    kh_range(e, &r);
    LLVMValueRef lo = ci(e, 0), hi = ci(e, cv->ow);
    if (ki->flat) {
        lo = mulc(e, chn, ki->chunk);
        hi = smin(e, addc(e, lo, ki->chunk), ci(e, cv->ow));
    }
    int tail_bt = (int)(bpg - (nobg - 1) * B);
    int tail_lanes = (int)(Og - (bpg - 1) * V);
    /* the last channel block of a group may be narrower: a wider pixel block (not in flat
     * mode, whose chunks are multiples of blk_pix) */
    int tail_p = ki->blk_pix;
    if (!ki->flat && tail_bt < B) {
        int p = sn_cg_cpu_conv_pix(V, tail_bt);
        if (p > tail_p)
            tail_p = p;
        if (tail_p > cv->ow)
            tail_p = (int)cv->ow;
        if (tail_p < ki->blk_pix)
            tail_p = ki->blk_pix;
    }
    if (nobg == 1 || (tail_bt == B && tail_lanes == V)) {
        r.Bt = tail_bt;
        r.last_lanes = tail_lanes;
        r.P = nobg == 1 ? tail_p : ki->blk_pix;
        row_blocks(e, &r, conv_block, lo, hi);
        return;
    }
    ifb I;
    if_begin(e, &I, LLVMBuildICmp(e->b, LLVMIntEQ, r.ob, ci(e, nobg - 1), ""));
    r.Bt = tail_bt;
    r.last_lanes = tail_lanes;
    r.P = tail_p;
    row_blocks(e, &r, conv_block, lo, hi);
    if_else(e, &I);
    r.Bt = (int)B;
    r.last_lanes = V;
    r.P = ki->blk_pix;
    row_blocks(e, &r, conv_block, lo, hi);
    if_end(e, &I);
}

/* Winograd F(2×2,3×3). A task is (channel block ob, n, tile row th, chunk of tile columns);
 * per block of P tiles: (1) V = Bᵀ·d·B of each tile's 4×4 input patch, vectors along the
 * input channels, into scratch S1[16][P][Cp]; (2) for each of the 16 points ξ a P × Bt
 * register-blocked GEMM over the channels, M[ξ] = Σc V[ξ][p][c]·U[ξ][c][o], into
 * S2[16][P][Bt·V]; (3) Y = Aᵀ·M·A per tile and output-channel vector, bias, epilogue. */
typedef struct winoctx {
    LLVMValueRef n, th, ob, s1, s2, ih[4], rv[4];
    int Bt, last_lanes, P;
} winoctx;

/* An Inf input makes Winograd's sums of Inf·u terms of both signs NaN where the direct conv
 * and ref give ±Inf. The transforms keep the support exact (an output is non-finite iff an
 * input it reads is: the weights are finite, plan_conv), so a 2×2 tile whose four output
 * vectors hold a NaN/Inf (tested through their sum: one add per vector, a branch never taken
 * on finite data) is recomputed directly from the plain weights packed after U,
 * [C][3·3][⌈O/V⌉·V]. Padding taps read 0 (finite weights: they add exactly 0). */
static void wino_fix_nonfinite(em *e, winoctx *w, LLVMValueRef *y, LLVMValueRef oh0,
                               LLVMValueRef ow0, LLVMValueRef oc, LLVMValueRef bias) {
    const sn_cg_cpu_impl *ki = e->ki;
    const sn_cg_conv *cv = &ki->conv;
    const sn_cg_cpu_view *xv = &ki->args[ki->anchor_in[0]];
    int64_t C = cv->c, Op = (cv->o + e->V - 1) / e->V * e->V;
    LLVMValueRef sum = LLVMBuildFAdd(e->b, LLVMBuildFAdd(e->b, y[0], y[1], ""),
                                     LLVMBuildFAdd(e->b, y[2], y[3], ""), "");
    LLVMValueRef d = LLVMBuildFSub(e->b, sum, sum, ""); /* NaN iff sum is NaN or Inf */
    LLVMValueRef bad = LLVMBuildFCmp(e->b, LLVMRealUNO, d, d, "");
    bad = intr(e, "llvm.vector.reduce.or", &e->vm, 1, &bad, 1);
    for (int i = 0; i < 4; i++)
        stv(e, y[i], e->acc[i]);
    ifb I;
    if_begin(e, &I, bad);
    LLVMValueRef wd = gep(e, e->argp[ki->anchor_in[1]], addc(e, oc, 16 * C * Op));
    LLVMValueRef xn = gep(e, e->argp[ki->anchor_in[0]], mulc(e, w->n, xv->stride[0]));
    for (int i = 0; i < 4; i++) {
        LLVMValueRef ih0 = addc(e, oh0, i / 2 - 1), iw0 = addc(e, ow0, i % 2 - 1);
        LLVMValueRef at[9], ok[9];
        for (int t = 0; t < 9; t++) {
            LLVMValueRef ih = addc(e, ih0, t / 3), iw = addc(e, iw0, t % 3);
            ok[t] = LLVMBuildAnd(
                e->b,
                LLVMBuildAnd(e->b, LLVMBuildICmp(e->b, LLVMIntSGE, ih, ci(e, 0), ""),
                             LLVMBuildICmp(e->b, LLVMIntSLT, ih, ci(e, cv->h), ""), ""),
                LLVMBuildAnd(e->b, LLVMBuildICmp(e->b, LLVMIntSGE, iw, ci(e, 0), ""),
                             LLVMBuildICmp(e->b, LLVMIntSLT, iw, ci(e, cv->w), ""), ""),
                "");
            ih = smin(e, smax(e, ih, ci(e, 0)), ci(e, cv->h - 1));
            iw = smin(e, smax(e, iw, ci(e, 0)), ci(e, cv->w - 1));
            at[t] = gep(e, xn, add(e, mulc(e, ih, xv->stride[2]), mulc(e, iw, xv->stride[3])));
        }
        stv(e, bias ? bias : cvf(e, 0.0), e->acc[4]);
        loop LC;
        LLVMValueRef c = loop_begin(e, &LC, ci(e, 0), ci(e, C), 1);
        LLVMValueRef a = ldv(e, e->acc[4]);
        for (int t = 0; t < 9; t++) {
            LLVMValueRef xs =
                LLVMBuildSelect(e->b, ok[t], loadf(e, gep(e, at[t], c)), cf(e, 0.0), "");
            LLVMValueRef wv = vload(e, gep(e, wd, mulc(e, addc(e, mulc(e, c, 9), t), Op)), 1, e->V);
            a = vfma(e, splat(e, xs), wv, a);
        }
        stv(e, a, e->acc[4]);
        loop_end(e, &LC);
        stv(e, ldv(e, e->acc[4]), e->acc[i]);
    }
    if_else(e, &I);
    if_end(e, &I);
    for (int i = 0; i < 4; i++)
        y[i] = ldv(e, e->acc[i]);
}

static void wino_block(em *e, winoctx *w, LLVMValueRef tw0, int np) {
    const sn_cg_cpu_impl *ki = e->ki;
    const sn_cg_conv *cv = &ki->conv;
    const int V = e->V, Bt = w->Bt, P = w->P;
    int64_t C = cv->c, Cp = (C + V - 1) / V * V, O = cv->o, bpg = (O + V - 1) / V;
    int64_t B = ki->blk_vec;
    const sn_cg_cpu_view *xv = &ki->args[ki->anchor_in[0]];
    int64_t xsn = xv->stride[0], xsh = xv->stride[2], xsw = xv->stride[3];
    LLVMValueRef x = e->argp[ki->anchor_in[0]];
    LLVMValueRef zero = cvf(e, 0.0);

    /* (1) input transform */
    LLVMValueRef xn = gep(e, x, mulc(e, w->n, xsn));
    loop LP;
    LLVMValueRef tp = loop_begin(e, &LP, ci(e, 0), ci(e, np), 1);
    {
        LLVMValueRef col[4], cv_[4];
        LLVMValueRef iw0 = addc(e, mulc(e, add(e, tw0, tp), 2), -1);
        for (int j = 0; j < 4; j++) {
            LLVMValueRef iw = addc(e, iw0, j);
            cv_[j] = LLVMBuildAnd(e->b, LLVMBuildICmp(e->b, LLVMIntSGE, iw, ci(e, 0), ""),
                                  LLVMBuildICmp(e->b, LLVMIntSLT, iw, ci(e, cv->w), ""), "");
            col[j] = smin(e, smax(e, iw, ci(e, 0)), ci(e, cv->w - 1));
        }
        LLVMValueRef base[4][4], ok[4][4];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                base[i][j] = gep(e, xn, add(e, mulc(e, w->ih[i], xsh), mulc(e, col[j], xsw)));
                ok[i][j] = LLVMBuildAnd(e->b, w->rv[i], cv_[j], "");
            }
        int64_t nvc = (C + V - 1) / V;
        int tl = (int)(C - (nvc - 1) * V);
        for (int part = 0; part < 2; part++) {
            int64_t lo = part ? nvc - 1 : 0, hi = part ? nvc : (tl == V ? nvc : nvc - 1);
            if (part && tl == V)
                continue;
            if (hi <= lo)
                continue;
            int nl = part ? tl : V;
            loop LC;
            LLVMValueRef cvi_ = loop_begin(e, &LC, ci(e, lo), ci(e, hi), 1);
            LLVMValueRef c0 = mulc(e, cvi_, V);
            LLVMValueRef d[4][4], t[4][4];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    d[i][j] = LLVMBuildSelect(e->b, ok[i][j],
                                              vload(e, gep(e, base[i][j], c0), 1, nl), zero, "");
            for (int j = 0; j < 4; j++) {
                t[0][j] = LLVMBuildFSub(e->b, d[0][j], d[2][j], "");
                t[1][j] = LLVMBuildFAdd(e->b, d[1][j], d[2][j], "");
                t[2][j] = LLVMBuildFSub(e->b, d[2][j], d[1][j], "");
                t[3][j] = LLVMBuildFSub(e->b, d[1][j], d[3][j], "");
            }
            for (int i = 0; i < 4; i++) {
                LLVMValueRef v[4] = {LLVMBuildFSub(e->b, t[i][0], t[i][2], ""),
                                     LLVMBuildFAdd(e->b, t[i][1], t[i][2], ""),
                                     LLVMBuildFSub(e->b, t[i][2], t[i][1], ""),
                                     LLVMBuildFSub(e->b, t[i][1], t[i][3], "")};
                for (int j = 0; j < 4; j++) {
                    LLVMValueRef dst =
                        gep(e, w->s1, add(e, addc(e, c0, (i * 4 + j) * P * Cp), mulc(e, tp, Cp)));
                    LLVMSetAlignment(LLVMBuildStore(e->b, v[j], dst), 4);
                }
            }
            loop_end(e, &LC);
        }
    }
    loop_end(e, &LP);

    /* (2) 16 GEMMs */
    LLVMValueRef wb = gep(e, e->argp[ki->anchor_in[1]], mulc(e, w->ob, 16 * C * B * V));
    loop LX;
    LLVMValueRef xi = loop_begin(e, &LX, ci(e, 0), ci(e, 16), 1);
    LLVMValueRef wx = gep(e, wb, mulc(e, xi, C * Bt * V));
    LLVMValueRef sx = gep(e, w->s1, mulc(e, xi, P * Cp));
    for (int q = 0; q < np * Bt; q++)
        stv(e, zero, e->acc[q]);
    int64_t U = C >= 8 ? 2 : 1, cmain = C / U * U;
    for (int part = 0; part < 2; part++) {
        int64_t c_lo = part ? cmain : 0, c_hi = part ? C : cmain, step = part ? 1 : U;
        if (c_hi <= c_lo)
            continue;
        loop LC;
        LLVMValueRef c = loop_begin(e, &LC, ci(e, c_lo), ci(e, c_hi), step);
        LLVMValueRef a[MAXACC];
        for (int q = 0; q < np * Bt; q++)
            a[q] = ldv(e, e->acc[q]);
        for (int64_t u = 0; u < step; u++) {
            LLVMValueRef cc = addc(e, c, u);
            LLVMValueRef wp = gep(e, wx, mulc(e, cc, Bt * V));
            LLVMValueRef wvec[8];
            for (int j = 0; j < Bt; j++)
                wvec[j] = vload(e, gep(e, wp, ci(e, j * V)), 1, V);
            for (int p = 0; p < np; p++) {
                LLVMValueRef xb = splat(e, loadf(e, gep(e, sx, addc(e, cc, p * Cp))));
                for (int j = 0; j < Bt; j++)
                    a[p * Bt + j] = vfma(e, xb, wvec[j], a[p * Bt + j]);
            }
        }
        for (int q = 0; q < np * Bt; q++)
            stv(e, a[q], e->acc[q]);
        loop_end(e, &LC);
    }
    LLVMValueRef s2x = gep(e, w->s2, mulc(e, xi, P * Bt * V));
    for (int p = 0; p < np; p++)
        for (int j = 0; j < Bt; j++) {
            LLVMValueRef dst = gep(e, s2x, ci(e, (p * Bt + j) * V));
            LLVMSetAlignment(LLVMBuildStore(e->b, ldv(e, e->acc[p * Bt + j]), dst), 4);
        }
    loop_end(e, &LX);

    /* (3) output transform, bias, epilogue */
    LLVMValueRef oc0 = mulc(e, w->ob, B * V);
    LLVMValueRef bias[8] = {0};
    if (ki->anchor_in[2] >= 0)
        for (int j = 0; j < Bt; j++)
            bias[j] = vload(e, gep(e, e->argp[ki->anchor_in[2]], addc(e, oc0, j * V)), 1, V);
    (void)bpg;
    LLVMValueRef oh0 = mulc(e, w->th, 2);
    loop LQ;
    tp = loop_begin(e, &LQ, ci(e, 0), ci(e, np), 1);
    {
        LLVMValueRef ow0 = mulc(e, add(e, tw0, tp), 2);
        for (int j = 0; j < Bt; j++) {
            LLVMValueRef m[4][4], sr[4][2];
            for (int q = 0; q < 16; q++) {
                LLVMValueRef src = gep(
                    e, w->s2, add(e, ci(e, ((int64_t)q * P * Bt + j) * V), mulc(e, tp, Bt * V)));
                LLVMValueRef v = LLVMBuildLoad2(e->b, e->vf, src, "");
                LLVMSetAlignment(v, 4);
                m[q / 4][q % 4] = v;
            }
            for (int i = 0; i < 4; i++) {
                LLVMValueRef s12 = LLVMBuildFAdd(e->b, m[i][1], m[i][2], "");
                sr[i][0] = LLVMBuildFAdd(e->b, m[i][0], s12, "");
                sr[i][1] =
                    LLVMBuildFSub(e->b, LLVMBuildFSub(e->b, m[i][1], m[i][2], ""), m[i][3], "");
            }
            LLVMValueRef y[4];
            for (int r = 0; r < 2; r++)
                for (int q = 0; q < 2; q++) {
                    y[r * 2 + q] =
                        r == 0 ? LLVMBuildFAdd(e->b, sr[0][q],
                                               LLVMBuildFAdd(e->b, sr[1][q], sr[2][q], ""), "")
                               : LLVMBuildFSub(e->b, LLVMBuildFSub(e->b, sr[1][q], sr[2][q], ""),
                                               sr[3][q], "");
                    if (bias[j])
                        y[r * 2 + q] = LLVMBuildFAdd(e->b, y[r * 2 + q], bias[j], "");
                }
            wino_fix_nonfinite(e, w, y, oh0, ow0, addc(e, oc0, j * V), bias[j]);
            for (int r = 0; r < 2; r++)
                for (int q = 0; q < 2; q++) {
                    LLVMValueRef idx[SN_MAX_DIMS] = {w->n, addc(e, oc0, j * V), addc(e, oh0, r),
                                                     addc(e, ow0, q)};
                    sn_cg_cpu_emit_ops(e, idx, j == Bt - 1 ? w->last_lanes : V, y[r * 2 + q]);
                }
        }
    }
    loop_end(e, &LQ);
}

static void wino_row(em *e, winoctx *w, LLVMValueRef lo, LLVMValueRef hi) {
    const sn_cg_conv *cv = &e->ki->conv;
    int64_t P = w->P, TW = cv->ow / 2;
    LLVMValueRef nfull = LLVMBuildSDiv(e->b, LLVMBuildSub(e->b, hi, lo, ""), ci(e, P), "");
    loop L;
    LLVMValueRef b = loop_begin(e, &L, ci(e, 0), nfull, 1);
    wino_block(e, w, add(e, lo, mulc(e, b, P)), (int)P);
    loop_end(e, &L);
    int64_t T = TW % P;
    if (T) {
        ifb I;
        if_begin(e, &I, LLVMBuildICmp(e->b, LLVMIntEQ, hi, ci(e, TW), ""));
        wino_block(e, w, ci(e, TW - T), (int)T);
        if_else(e, &I);
        if_end(e, &I);
    }
}

void sn_cg_cpu_emit_wino(em *e, LLVMValueRef t) {
    const sn_cg_cpu_impl *ki = e->ki;
    const sn_cg_conv *cv = &ki->conv;
    const int V = e->V;
    int64_t O = cv->o, bpg = (O + V - 1) / V, B = ki->blk_vec, nobg = (bpg + B - 1) / B;
    int64_t TH = cv->oh / 2, TW = cv->ow / 2, P = ki->blk_pix;
    int64_t ncol = (TW + ki->chunk - 1) / ki->chunk;
    int64_t Cp = (cv->c + V - 1) / V * V;
    winoctx w;
    memset(&w, 0, sizeof w);
    LLVMValueRef s1 =
        LLVMBuildAlloca(e->ab, LLVMArrayType(e->f32, (unsigned)(16 * P * Cp)), "wino_v");
    LLVMSetAlignment(s1, 64);
    LLVMValueRef s2 =
        LLVMBuildAlloca(e->ab, LLVMArrayType(e->f32, (unsigned)(16 * P * B * V)), "wino_m");
    LLVMSetAlignment(s2, 64);
    w.s1 = s1;
    w.s2 = s2;
    w.P = (int)P;
    LLVMValueRef cc = sremc(e, t, ncol), q = sdivc(e, t, ncol);
    w.th = sremc(e, q, TH);
    q = sdivc(e, q, TH);
    w.n = sremc(e, q, cv->n);
    w.ob = sdivc(e, q, cv->n);
    for (int i = 0; i < 4; i++) {
        LLVMValueRef ih = addc(e, mulc(e, w.th, 2), i - 1);
        w.rv[i] = LLVMBuildAnd(e->b, LLVMBuildICmp(e->b, LLVMIntSGE, ih, ci(e, 0), ""),
                               LLVMBuildICmp(e->b, LLVMIntSLT, ih, ci(e, cv->h), ""), "");
        w.ih[i] = smin(e, smax(e, ih, ci(e, 0)), ci(e, cv->h - 1));
    }
    LLVMValueRef lo = mulc(e, cc, ki->chunk);
    LLVMValueRef hi = smin(e, addc(e, lo, ki->chunk), ci(e, TW));
    int tail_bt = (int)(bpg - (nobg - 1) * B);
    int tail_lanes = (int)(O - (bpg - 1) * V);
    if (nobg == 1 || (tail_bt == B && tail_lanes == V)) {
        w.Bt = tail_bt;
        w.last_lanes = tail_lanes;
        wino_row(e, &w, lo, hi);
        return;
    }
    ifb I;
    if_begin(e, &I, LLVMBuildICmp(e->b, LLVMIntEQ, w.ob, ci(e, nobg - 1), ""));
    w.Bt = tail_bt;
    w.last_lanes = tail_lanes;
    wino_row(e, &w, lo, hi);
    if_else(e, &I);
    w.Bt = (int)B;
    w.last_lanes = V;
    wino_row(e, &w, lo, hi);
    if_end(e, &I);
}

static void dw_block(em *e, convrow *r, LLVMValueRef pix0, int np, const uint32_t *kwmask) {
    const sn_cg_cpu_impl *ki = e->ki;
    const sn_cg_conv *cv = &ki->conv;
    const int V = e->V, Bt = r->Bt;
    int64_t KH = cv->kh, KW = cv->kw, B = ki->blk_vec;
    const sn_cg_cpu_view *xv = &ki->args[ki->anchor_in[0]];
    int64_t xsn = xv->stride[0], xsc = xv->stride[1], xsh = xv->stride[2], xsw = xv->stride[3];
    LLVMValueRef x = e->argp[ki->anchor_in[0]], w = e->argp[ki->anchor_in[1]];
    LLVMValueRef cv0 = mulc(e, r->cb, B); /* first channel vector */
    for (int p = 0; p < np; p++)
        for (int j = 0; j < Bt; j++)
            stv(e, cvf(e, 0.0), e->acc[p * Bt + j]);
    LLVMValueRef xbase = gep(e, x, add(e, mulc(e, r->n, xsn), mulc(e, cv0, V * xsc)));
    LLVMValueRef wbase = gep(e, w, mulc(e, cv0, KH * KW * V));
    loop LK;
    LLVMValueRef kh = loop_begin(e, &LK, r->kh_lo, r->kh_hi, 1);
    LLVMValueRef ih = add(e, r->ih0, mulc(e, kh, cv->dh));
    LLVMValueRef xrow = gep(e, xbase, mulc(e, ih, xsh));
    LLVMValueRef a[MAXACC];
    for (int q = 0; q < np * Bt; q++)
        a[q] = ldv(e, e->acc[q]);
    for (int64_t kw = 0; kw < KW; kw++) {
        int any = 0;
        for (int p = 0; p < np; p++)
            any |= (kwmask[p] >> kw) & 1;
        if (!any)
            continue;
        LLVMValueRef wv[8];
        for (int j = 0; j < Bt; j++)
            wv[j] =
                vload(e, gep(e, wbase, addc(e, mulc(e, kh, KW * V), (j * KH * KW + kw) * V)), 1, V);
        LLVMValueRef pixw = addc(e, mulc(e, pix0, cv->sw), kw * cv->dw - cv->pw);
        LLVMValueRef xcol = gep(e, xrow, mulc(e, pixw, xsw));
        for (int p = 0; p < np; p++) {
            if (!((kwmask[p] >> kw) & 1))
                continue;
            for (int j = 0; j < Bt; j++) {
                int nl = j == Bt - 1 ? r->last_lanes : V;
                LLVMValueRef xvv =
                    vload(e, gep(e, xcol, ci(e, p * cv->sw * xsw + j * V * xsc)), xsc, nl);
                a[p * Bt + j] = vfma(e, xvv, wv[j], a[p * Bt + j]);
            }
        }
    }
    for (int q = 0; q < np * Bt; q++)
        stv(e, a[q], e->acc[q]);
    loop_end(e, &LK);
    for (int p = 0; p < np; p++)
        for (int j = 0; j < Bt; j++) {
            LLVMValueRef v = ldv(e, e->acc[p * Bt + j]);
            LLVMValueRef ch = mulc(e, addc(e, cv0, j), V);
            if (ki->anchor_in[2] >= 0)
                v = LLVMBuildFAdd(e->b, v, vload(e, gep(e, e->argp[ki->anchor_in[2]], ch), 1, V),
                                  "");
            LLVMValueRef idx[SN_MAX_DIMS] = {r->n, ch, r->oh, addc(e, pix0, p)};
            sn_cg_cpu_emit_ops(e, idx, j == Bt - 1 ? r->last_lanes : V, v);
        }
}

void sn_cg_cpu_emit_dwconv(em *e, LLVMValueRef t) {
    const sn_cg_cpu_impl *ki = e->ki;
    const sn_cg_conv *cv = &ki->conv;
    const int V = e->V;
    int64_t nv = (cv->c + V - 1) / V, B = ki->blk_vec, ncb = (nv + B - 1) / B;
    convrow r;
    memset(&r, 0, sizeof r);
    r.oh = sremc(e, t, cv->oh);
    LLVMValueRef q = sdivc(e, t, cv->oh);
    r.n = sremc(e, q, cv->n);
    r.cb = sdivc(e, q, cv->n);
    kh_range(e, &r);
    int tail_bt = (int)(nv - (ncb - 1) * B);
    int tail_lanes = (int)(cv->c - (nv - 1) * V);
    r.P = ki->blk_pix;
    if (ncb == 1 || (tail_bt == B && tail_lanes == V)) {
        r.Bt = tail_bt;
        r.last_lanes = tail_lanes;
        row_blocks(e, &r, dw_block, NULL, NULL);
        return;
    }
    ifb I;
    if_begin(e, &I, LLVMBuildICmp(e->b, LLVMIntEQ, r.cb, ci(e, ncb - 1), ""));
    r.Bt = tail_bt;
    r.last_lanes = tail_lanes;
    row_blocks(e, &r, dw_block, NULL, NULL);
    if_else(e, &I);
    r.Bt = (int)B;
    r.last_lanes = V;
    row_blocks(e, &r, dw_block, NULL, NULL);
    if_end(e, &I);
}
