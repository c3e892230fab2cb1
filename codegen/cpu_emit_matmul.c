/* codegen/cpu_emit_matmul.c — CPU kernels: matmul. See cpu_emit_int.h. */
#include "codegen/cpu_emit_int.h"

/* ---------------------------------------------------------------- matmul */

/* Rows of `a` broadcast × vectors of `b`. In the transposed mode (swap) a and b, M and N
 * trade places: rows are N, lanes run along M. */
typedef struct mmctx {
    LLVMValueRef abase, bbase;
    LLVMValueRef bidx[SN_MAX_DIMS];
    int64_t M, N, K, asm_, ask, bsk, bsn;
    int swap;
} mmctx;

static void mm_block(em *e, mmctx *c, LLVMValueRef m0, int Pt, LLVMValueRef n0, int Bt,
                     int last_lanes) {
    const sn_cg_cpu_impl *ki = e->ki;
    const int V = e->V;
    for (int q = 0; q < Pt * Bt; q++)
        stv(e, cvf(e, 0.0), e->acc[q]);
    LLVMValueRef ap = gep(e, c->abase, mulc(e, m0, c->asm_));
    LLVMValueRef bp = gep(e, c->bbase, mulc(e, n0, c->bsn));
    loop LK;
    LLVMValueRef k = loop_begin(e, &LK, ci(e, 0), ci(e, c->K), 1);
    LLVMValueRef a[MAXACC];
    for (int q = 0; q < Pt * Bt; q++)
        a[q] = ldv(e, e->acc[q]);
    LLVMValueRef bk = gep(e, bp, mulc(e, k, c->bsk));
    LLVMValueRef bv[8];
    for (int j = 0; j < Bt; j++)
        bv[j] = vload(e, gep(e, bk, ci(e, j * V * c->bsn)), c->bsn, j == Bt - 1 ? last_lanes : V);
    LLVMValueRef ak = gep(e, ap, mulc(e, k, c->ask));
    for (int p = 0; p < Pt; p++) {
        LLVMValueRef as = splat(e, loadf(e, gep(e, ak, ci(e, p * c->asm_))));
        for (int j = 0; j < Bt; j++)
            a[p * Bt + j] = vfma(e, as, bv[j], a[p * Bt + j]);
    }
    for (int q = 0; q < Pt * Bt; q++)
        stv(e, a[q], e->acc[q]);
    loop_end(e, &LK);
    int r = ki->space.ndim;
    for (int p = 0; p < Pt; p++)
        for (int j = 0; j < Bt; j++) {
            LLVMValueRef idx[SN_MAX_DIMS];
            for (int kk = 0; kk < r - 2; kk++)
                idx[kk] = c->bidx[kk];
            idx[c->swap ? r - 1 : r - 2] = addc(e, m0, p);
            idx[c->swap ? r - 2 : r - 1] = addc(e, n0, j * V);
            sn_cg_cpu_emit_ops(e, idx, j == Bt - 1 ? last_lanes : V, ldv(e, e->acc[p * Bt + j]));
        }
}

static void mm_row(em *e, mmctx *c, LLVMValueRef m0, int Pt) {
    const int V = e->V;
    int64_t B = e->ki->blk_vec, N = c->N;
    int64_t nfb = N / (B * V);
    if (nfb > 0) {
        loop L;
        LLVMValueRef nb = loop_begin(e, &L, ci(e, 0), ci(e, nfb), 1);
        mm_block(e, c, m0, Pt, mulc(e, nb, B * V), (int)B, V);
        loop_end(e, &L);
    }
    int64_t rem = N - nfb * B * V;
    if (rem > 0) {
        int Bt = (int)((rem + V - 1) / V);
        mm_block(e, c, m0, Pt, ci(e, nfb * B * V), Bt, (int)(rem - (Bt - 1) * V));
    }
}

/* Lanes along K: Pt rows × Qt columns of dot products, each a vector accumulator summed
 * horizontally at the end; the Qt results of a row form one vector along N. */
static void mm_dot_block(em *e, mmctx *c, LLVMValueRef m0, int Pt, LLVMValueRef n0, int Qt) {
    const sn_cg_cpu_impl *ki = e->ki;
    const int V = e->V;
    for (int q = 0; q < Pt * Qt; q++)
        stv(e, cvf(e, 0.0), e->acc[q]);
    LLVMValueRef ap = gep(e, c->abase, mulc(e, m0, c->asm_));
    LLVMValueRef bp = gep(e, c->bbase, mulc(e, n0, c->bsn));
    int64_t nk = c->K / V, kt = c->K % V;
    for (int part = 0; part < 2; part++) {
        if (part == 0 && nk == 0)
            continue;
        if (part == 1 && kt == 0)
            continue;
        loop LK;
        LLVMValueRef kk = part == 0 ? loop_begin(e, &LK, ci(e, 0), ci(e, nk), 1) : ci(e, nk);
        int nl = part == 0 ? V : (int)kt;
        LLVMValueRef k0 = mulc(e, kk, V);
        LLVMValueRef av[8], bv[8], a[MAXACC];
        for (int q = 0; q < Pt * Qt; q++)
            a[q] = ldv(e, e->acc[q]);
        for (int p = 0; p < Pt; p++)
            av[p] = vload(e, gep(e, ap, add(e, k0, ci(e, p * c->asm_))), 1, nl);
        for (int q = 0; q < Qt; q++)
            bv[q] = vload(e, gep(e, bp, add(e, k0, ci(e, q * c->bsn))), 1, nl);
        for (int p = 0; p < Pt; p++)
            for (int q = 0; q < Qt; q++)
                a[p * Qt + q] = vfma(e, av[p], bv[q], a[p * Qt + q]);
        for (int q = 0; q < Pt * Qt; q++)
            stv(e, a[q], e->acc[q]);
        if (part == 0)
            loop_end(e, &LK);
    }
    int r = ki->space.ndim;
    for (int p = 0; p < Pt; p++) {
        LLVMValueRef v = cvf(e, 0.0);
        for (int q = 0; q < Qt; q++) {
            LLVMValueRef args[2] = {cf(e, 0.0), ldv(e, e->acc[p * Qt + q])};
            LLVMValueRef s = intr(e, "llvm.vector.reduce.fadd", &e->vf, 1, args, 2);
            LLVMSetFastMathFlags(s, LLVMFastMathAllowReassoc);
            v = LLVMBuildInsertElement(e->b, v, s, ci32(e, q), "");
        }
        LLVMValueRef idx[SN_MAX_DIMS];
        for (int kk = 0; kk < r - 2; kk++)
            idx[kk] = c->bidx[kk];
        idx[r - 2] = addc(e, m0, p);
        idx[r - 1] = n0;
        sn_cg_cpu_emit_ops(e, idx, Qt, v);
    }
}

static void mm_dot_row(em *e, mmctx *c, LLVMValueRef m0, int Pt) {
    int64_t Q = e->ki->blk_vec, N = c->N, nfb = N / Q;
    if (nfb > 0) {
        loop L;
        LLVMValueRef nb = loop_begin(e, &L, ci(e, 0), ci(e, nfb), 1);
        mm_dot_block(e, c, m0, Pt, mulc(e, nb, Q), (int)Q);
        loop_end(e, &L);
    }
    if (N % Q)
        mm_dot_block(e, c, m0, Pt, ci(e, nfb * Q), (int)(N % Q));
}

void sn_cg_cpu_emit_matmul(em *e, LLVMValueRef t) {
    const sn_cg_cpu_impl *ki = e->ki;
    const sn_cg_cpu_view *av = &ki->args[ki->anchor_in[0]], *bv = &ki->args[ki->anchor_in[1]];
    int r = ki->space.ndim;
    mmctx c;
    memset(&c, 0, sizeof c);
    c.M = ki->space.d[r - 2];
    c.N = ki->space.d[r - 1];
    c.K = av->d[r - 1];
    c.asm_ = av->stride[r - 2];
    c.ask = av->stride[r - 1];
    c.bsk = bv->stride[r - 2];
    c.bsn = bv->stride[r - 1];
    int64_t P = ki->blk_pix;
    int64_t nmb = ((ki->along_axis == 2 ? c.N : c.M) + P - 1) / P;
    LLVMValueRef mb = sremc(e, t, nmb), bi = sdivc(e, t, nmb);
    LLVMValueRef aoff = ci(e, 0), boff = ci(e, 0);
    for (int k = r - 3; k >= 0; k--) {
        c.bidx[k] = sremc(e, bi, ki->space.d[k]);
        bi = sdivc(e, bi, ki->space.d[k]);
        aoff = add(e, aoff, mulc(e, c.bidx[k], av->stride[k]));
        boff = add(e, boff, mulc(e, c.bidx[k], bv->stride[k]));
    }
    c.abase = gep(e, e->argp[ki->anchor_in[0]], aoff);
    c.bbase = gep(e, e->argp[ki->anchor_in[1]], boff);
    if (ki->along_axis == 2) {
        /* out^T = b^T a^T: rows are N (b broadcast), lanes run along M (a) */
        mmctx s2 = c;
        s2.swap = 1;
        s2.M = c.N;
        s2.N = c.M;
        s2.abase = c.bbase;
        s2.bbase = c.abase;
        s2.asm_ = bv->stride[r - 1];
        s2.ask = bv->stride[r - 2];
        s2.bsk = av->stride[r - 1];
        s2.bsn = av->stride[r - 2];
        c = s2;
        nmb = (c.M + P - 1) / P;
    }
    LLVMValueRef m0 = mulc(e, mb, P);
    int64_t Pt = c.M - (nmb - 1) * P;
    void (*row)(em *, mmctx *, LLVMValueRef, int) = ki->along_axis == 1 ? mm_dot_row : mm_row;
    if (Pt == P) {
        row(e, &c, m0, (int)P);
        return;
    }
    ifb I;
    if_begin(e, &I, LLVMBuildICmp(e->b, LLVMIntEQ, mb, ci(e, nmb - 1), ""));
    row(e, &c, m0, (int)Pt);
    if_else(e, &I);
    row(e, &c, m0, (int)P);
    if_end(e, &I);
}
