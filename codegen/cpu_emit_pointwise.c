/* codegen/cpu_emit_pointwise.c — CPU kernels: pointwise groups, copies, pooling, resampling,
 * softmax and reductions. See cpu_emit_int.h. */
#include "codegen/cpu_emit_int.h"

/* ---------------------------------------------------------------- pointwise and copies */

/* Unravels row r over dims [0, ndim) except `skip1`/`skip2` (row-major). */
static void unravel(em *e, LLVMValueRef r, const int64_t *d, int ndim, int skip1, int skip2,
                    LLVMValueRef *idx) {
    for (int k = ndim - 1; k >= 0; k--) {
        if (k == skip1 || k == skip2)
            continue;
        idx[k] = sremc(e, r, d[k]);
        r = sdivc(e, r, d[k]);
    }
}

/* The vector loop over the inner dim [lo, hi) of one row; body(idx_vd, nl). Chunks are
 * multiples of V, so only the chunk that ends at E has a tail (E % V lanes). */
typedef void (*vec_fn)(em *e, void *ctx, LLVMValueRef at, int nl);
static void vec_loop(em *e, LLVMValueRef lo, LLVMValueRef hi, int64_t E, vec_fn fn, void *ctx) {
    const int V = e->V;
    LLVMValueRef nfull = LLVMBuildSDiv(e->b, LLVMBuildSub(e->b, hi, lo, ""), ci(e, V), "");
    loop L;
    LLVMValueRef i = loop_begin(e, &L, ci(e, 0), nfull, 1);
    fn(e, ctx, add(e, lo, mulc(e, i, V)), V);
    loop_end(e, &L);
    int64_t T = E % V;
    if (T) {
        ifb I;
        if_begin(e, &I, LLVMBuildICmp(e->b, LLVMIntEQ, hi, ci(e, E), ""));
        fn(e, ctx, ci(e, E - T), (int)T);
        if_else(e, &I);
        if_end(e, &I);
    }
}

typedef struct pwctx {
    LLVMValueRef *idx;
    int64_t lo, hi; /* static range of the current vectors along vd */
} pwctx;
static void pw_vec(em *e, void *vc, LLVMValueRef at, int nl) {
    pwctx *c = vc;
    c->idx[e->ki->vd] = at;
    sn_cg_cpu_emit_ops_range(e, c->idx, nl, NULL, c->lo, c->hi);
}

static void emit_rows(em *e, LLVMValueRef t, const int64_t *d, int ndim, int64_t rpt, int64_t chunk,
                      vec_fn fn, void *ctx, LLVMValueRef *idx) {
    int64_t E = d[ndim - 1], rows = 1;
    for (int k = 0; k < ndim - 1; k++)
        rows *= d[k];
    int64_t nch = (E + chunk - 1) / chunk;
    LLVMValueRef ch = sremc(e, t, nch), rb = sdivc(e, t, nch);
    LLVMValueRef r0 = mulc(e, rb, rpt), r1 = smin(e, addc(e, r0, rpt), ci(e, rows));
    LLVMValueRef lo = mulc(e, ch, chunk), hi = smin(e, addc(e, lo, chunk), ci(e, E));
    loop L;
    LLVMValueRef r = loop_begin(e, &L, r0, r1, 1);
    unravel(e, r, d, ndim - 1, -1, -1, idx);
    vec_loop(e, lo, hi, E, fn, ctx);
    loop_end(e, &L);
}

/* Static boundaries along vd (in root coordinates) where a CONCAT along vd switches input. */
static void concat_bounds(const sn_cg_cpu_impl *ki, int opi, int64_t off, int64_t *b, int *nb) {
    const sn_cg_op *op = &ki->ops[opi];
    if (op->op == SN_OP_UPSAMPLE && (ki->vd == 2 || ki->vd == 3) && op->attr[ki->vd - 2] != 1)
        return; /* lanes are evaluated one by one below it */
    for (int k = 0; k < op->nin; k++) {
        int64_t o = off;
        if (op->op == SN_OP_CONCAT && op->attr[0] == ki->vd) {
            o = off + op->start[k];
            if (*nb < 64)
                b[(*nb)++] = o;
        }
        if (op->in[k].kind == SN_CG_OPND_PREV)
            concat_bounds(ki, op->in[k].ref, o, b, nb);
    }
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

void sn_cg_cpu_emit_pointwise(em *e, LLVMValueRef t) {
    const sn_cg_cpu_impl *ki = e->ki;
    const int V = e->V, vd = ki->vd, r = ki->space.ndim;
    LLVMValueRef idx[SN_MAX_DIMS];
    int64_t E = ki->space.d[vd], rows = sn_shape_numel(&ki->space) / E;
    int64_t bnd[66];
    int nb = 0;
    bnd[nb++] = 0;
    concat_bounds(ki, ki->nops - 1, 0, bnd, &nb);
    bnd[nb++] = E;
    qsort(bnd, (size_t)nb, sizeof bnd[0], cmp_i64);
    int u = 0;
    for (int i = 0; i < nb; i++)
        if (i == 0 || bnd[i] != bnd[u - 1])
            bnd[u++] = bnd[i];
    nb = u;
    int64_t nch = (E + ki->chunk - 1) / ki->chunk;
    LLVMValueRef ch = sremc(e, t, nch), rb = sdivc(e, t, nch);
    LLVMValueRef r0 = mulc(e, rb, ki->rows_per_task);
    LLVMValueRef r1 = smin(e, addc(e, r0, ki->rows_per_task), ci(e, rows));
    loop L;
    LLVMValueRef row = loop_begin(e, &L, r0, r1, 1);
    unravel(e, row, ki->space.d, r, vd, -1, idx);
    pwctx c = {idx, 0, E};
    if (nb <= 2) {
        LLVMValueRef lo = mulc(e, ch, ki->chunk), hi = smin(e, addc(e, lo, ki->chunk), ci(e, E));
        vec_loop(e, lo, hi, E, pw_vec, &c);
    } else {
        /* one static segment per concat input range (the planner does not split vd) */
        for (int s = 0; s + 1 < nb; s++) {
            int64_t s0 = bnd[s], s1 = bnd[s + 1], nfull = (s1 - s0) / V;
            c.lo = s0;
            c.hi = s1;
            if (nfull > 0) {
                loop LV;
                LLVMValueRef i = loop_begin(e, &LV, ci(e, 0), ci(e, nfull), 1);
                pw_vec(e, &c, addc(e, mulc(e, i, V), s0), V);
                loop_end(e, &LV);
            }
            int64_t T = (s1 - s0) - nfull * V;
            if (T)
                pw_vec(e, &c, ci(e, s1 - T), (int)T);
        }
    }
    loop_end(e, &L);
}

typedef struct cpctx {
    LLVMValueRef *idx;
    int ndim;
    LLVMValueRef in, out;
    const int64_t *is, *os;
} cpctx;
static void cp_vec(em *e, void *vc, LLVMValueRef at, int nl) {
    cpctx *c = vc;
    c->idx[c->ndim - 1] = at;
    LLVMValueRef io = ci(e, 0), oo = ci(e, 0);
    for (int k = 0; k < c->ndim; k++) {
        if (c->is[k])
            io = add(e, io, mulc(e, c->idx[k], c->is[k]));
        if (c->os[k])
            oo = add(e, oo, mulc(e, c->idx[k], c->os[k]));
    }
    LLVMValueRef v = vload(e, gep(e, c->in, io), c->is[c->ndim - 1], nl);
    vstore(e, v, gep(e, c->out, oo), c->os[c->ndim - 1], nl);
}

void sn_cg_cpu_emit_concat(em *e, LLVMValueRef t) {
    const sn_cg_cpu_impl *ki = e->ki;
    LLVMValueRef out = e->argp[ki->ops[0].store];
    for (int i = 0; i < ki->npieces; i++) {
        const sn_cg_cpu_view *pv = &ki->piece_in[i];
        if (ki->piece_task0[i + 1] == ki->piece_task0[i])
            continue;
        LLVMValueRef in_range =
            LLVMBuildAnd(e->b, LLVMBuildICmp(e->b, LLVMIntSGE, t, ci(e, ki->piece_task0[i]), ""),
                         LLVMBuildICmp(e->b, LLVMIntSLT, t, ci(e, ki->piece_task0[i + 1]), ""), "");
        ifb I;
        if_begin(e, &I, in_range);
        LLVMValueRef idx[SN_MAX_DIMS];
        cpctx c = {idx,
                   pv->ndim,
                   e->argp[ki->anchor_in[i]],
                   gep(e, out, ci(e, ki->piece_out_off[i])),
                   pv->stride,
                   ki->piece_out_stride[i]};
        emit_rows(e, addc(e, t, -ki->piece_task0[i]), pv->d, pv->ndim, ki->piece_rows_per_task[i],
                  ki->piece_chunk[i], cp_vec, &c, idx);
        if_else(e, &I);
        if_end(e, &I);
    }
}

void sn_cg_cpu_emit_reshape(em *e, LLVMValueRef t) {
    const sn_cg_cpu_impl *ki = e->ki;
    const sn_cg_cpu_view *xv = &ki->args[ki->anchor_in[0]];
    const int64_t *os = ki->store_stride[ki->ops[0].store];
    int64_t total = sn_shape_numel(&ki->space);
    LLVMValueRef lo = mulc(e, t, ki->chunk), hi = smin(e, addc(e, lo, ki->chunk), ci(e, total));
    loop L;
    LLVMValueRef i = loop_begin(e, &L, lo, hi, 1);
    LLVMValueRef io = ci(e, 0), oo = ci(e, 0), r = i;
    for (int k = ki->space.ndim - 1; k >= 0; k--) {
        oo = add(e, oo, mulc(e, sremc(e, r, ki->space.d[k]), os[k]));
        r = sdivc(e, r, ki->space.d[k]);
    }
    r = i;
    for (int k = xv->ndim - 1; k >= 0; k--) {
        io = add(e, io, mulc(e, sremc(e, r, xv->d[k]), xv->stride[k]));
        r = sdivc(e, r, xv->d[k]);
    }
    storef(e, loadf(e, gep(e, e->argp[ki->anchor_in[0]], io)),
           gep(e, e->argp[ki->ops[0].store], oo));
    loop_end(e, &L);
}

/* ---------------------------------------------------------------- pooling and resampling */

typedef struct poolctx {
    LLVMValueRef n, oh, ow, ih0, iw0, kh_lo, kh_hi, kw_lo, kw_hi, xbase;
} poolctx;

static void pool_vec(em *e, void *vc, LLVMValueRef c0, int nl) {
    poolctx *c = vc;
    const sn_cg_cpu_impl *ki = e->ki;
    const sn_cg_cpu_view *xv = &ki->args[ki->anchor_in[0]];
    LLVMValueRef m = e->acc[0];
    stv(e, cvf(e, -INFINITY), m);
    LLVMValueRef xb = gep(e, c->xbase, mulc(e, c0, xv->stride[1]));
    loop LH, LW;
    LLVMValueRef kh = loop_begin(e, &LH, c->kh_lo, c->kh_hi, 1);
    LLVMValueRef xr = gep(e, xb, mulc(e, add(e, c->ih0, kh), xv->stride[2]));
    LLVMValueRef kw = loop_begin(e, &LW, c->kw_lo, c->kw_hi, 1);
    LLVMValueRef v =
        vload(e, gep(e, xr, mulc(e, add(e, c->iw0, kw), xv->stride[3])), xv->stride[1], nl);
    stv(e, vmax_nan(e, ldv(e, m), v), m); /* a NaN in the window wins, as in ref */
    loop_end(e, &LW);
    loop_end(e, &LH);
    LLVMValueRef idx[SN_MAX_DIMS] = {c->n, c0, c->oh, c->ow};
    sn_cg_cpu_emit_ops(e, idx, nl, ldv(e, m));
}

void sn_cg_cpu_emit_maxpool(em *e, LLVMValueRef t) {
    const sn_cg_cpu_impl *ki = e->ki;
    const sn_cg_conv *cv = &ki->conv;
    const sn_cg_cpu_view *xv = &ki->args[ki->anchor_in[0]];
    poolctx c;
    c.oh = sremc(e, t, cv->oh);
    c.n = sdivc(e, t, cv->oh);
    c.ih0 = addc(e, mulc(e, c.oh, cv->sh), -cv->ph);
    c.kh_lo = smax(e, LLVMBuildNeg(e->b, c.ih0, ""), ci(e, 0));
    c.kh_hi = smin(e, LLVMBuildSub(e->b, ci(e, cv->h), c.ih0, ""), ci(e, cv->kh));
    LLVMValueRef xb = gep(e, e->argp[ki->anchor_in[0]], mulc(e, c.n, xv->stride[0]));
    loop L;
    c.ow = loop_begin(e, &L, ci(e, 0), ci(e, cv->ow), 1);
    c.iw0 = addc(e, mulc(e, c.ow, cv->sw), -cv->pw);
    c.kw_lo = smax(e, LLVMBuildNeg(e->b, c.iw0, ""), ci(e, 0));
    c.kw_hi = smin(e, LLVMBuildSub(e->b, ci(e, cv->w), c.iw0, ""), ci(e, cv->kw));
    c.xbase = xb;
    vec_loop(e, ci(e, 0), ci(e, cv->c), cv->c, pool_vec, &c);
    loop_end(e, &L);
}

typedef struct upctx {
    LLVMValueRef n, oh, ow, xrow;
} upctx;
static void up_vec(em *e, void *vc, LLVMValueRef c0, int nl) {
    upctx *c = vc;
    const sn_cg_cpu_impl *ki = e->ki;
    const sn_cg_cpu_view *xv = &ki->args[ki->anchor_in[0]];
    LLVMValueRef iw = sdivc(e, c->ow, ki->attr[1]);
    LLVMValueRef v =
        vload(e, gep(e, c->xrow, add(e, mulc(e, iw, xv->stride[3]), mulc(e, c0, xv->stride[1]))),
              xv->stride[1], nl);
    LLVMValueRef idx[SN_MAX_DIMS] = {c->n, c0, c->oh, c->ow};
    sn_cg_cpu_emit_ops(e, idx, nl, v);
}

void sn_cg_cpu_emit_upsample(em *e, LLVMValueRef t) {
    const sn_cg_cpu_impl *ki = e->ki;
    const sn_cg_cpu_view *xv = &ki->args[ki->anchor_in[0]];
    int64_t OH = ki->space.d[2], OW = ki->space.d[3], C = ki->space.d[1];
    upctx c;
    c.oh = sremc(e, t, OH);
    c.n = sdivc(e, t, OH);
    LLVMValueRef ih = sdivc(e, c.oh, ki->attr[0]);
    c.xrow = gep(e, e->argp[ki->anchor_in[0]],
                 add(e, mulc(e, c.n, xv->stride[0]), mulc(e, ih, xv->stride[2])));
    loop L;
    c.ow = loop_begin(e, &L, ci(e, 0), ci(e, OW), 1);
    vec_loop(e, ci(e, 0), ci(e, C), C, up_vec, &c);
    loop_end(e, &L);
}

/* ---------------------------------------------------------------- softmax and reduce */

typedef struct axctx {
    LLVMValueRef *idx;
    LLVMValueRef xbase; /* x at the row (axis and vd at 0) */
} axctx;

static LLVMValueRef hreduce(em *e, const char *name, LLVMValueRef start, LLVMValueRef v) {
    LLVMValueRef r;
    if (start) {
        LLVMValueRef args[2] = {start, v};
        r = intr(e, name, &e->vf, 1, args, 2);
    } else {
        r = intr(e, name, &e->vf, 1, &v, 1);
    }
    LLVMSetFastMathFlags(r, LLVMFastMathAllowReassoc);
    return r;
}

/* Lanes across rows (along vd): a vector of nl rows at vd = at. */
static void ax_rows_vec(em *e, void *vc, LLVMValueRef at, int nl) {
    axctx *c = vc;
    const sn_cg_cpu_impl *ki = e->ki;
    const sn_cg_cpu_view *xv = &ki->args[ki->anchor_in[0]];
    int axis = (int)ki->attr[0], vd = ki->vd;
    int64_t A = xv->d[axis], sa = xv->stride[axis], sv = xv->stride[vd];
    LLVMValueRef xb = gep(e, c->xbase, mulc(e, at, sv));
    c->idx[vd] = at;
    if (ki->cls == SN_CG_CPU_REDUCE) {
        LLVMValueRef s = e->acc[0];
        stv(e, cvf(e, 0.0), s);
        loop L;
        LLVMValueRef a = loop_begin(e, &L, ci(e, 0), ci(e, A), 1);
        stv(e, LLVMBuildFAdd(e->b, ldv(e, s), vload(e, gep(e, xb, mulc(e, a, sa)), sv, nl), ""), s);
        loop_end(e, &L);
        c->idx[axis] = ci(e, 0);
        sn_cg_cpu_emit_ops(e, c->idx, nl, ldv(e, s));
        return;
    }
    /* softmax stored as is: pass 2 writes exp(x - max) to the output, pass 3 divides in
     * place (one exp per element); otherwise pass 3 recomputes it for the epilogue */
    int direct = ki->nops == 1 && ki->ops[0].store >= 0 &&
                 ki->store_stride[ki->ops[0].store][vd] == 1 && nl == e->V;
    const int64_t *os = direct ? ki->store_stride[ki->ops[0].store] : NULL;
    LLVMValueRef m = e->acc[0], s = e->acc[1];
    stv(e, cvf(e, -INFINITY), m);
    stv(e, cvf(e, 0.0), s);
    loop L1, L2, L3;
    LLVMValueRef a = loop_begin(e, &L1, ci(e, 0), ci(e, A), 1);
    /* the max may skip NaNs (as ref's does): a NaN x still makes exp(x - max), the sum and so
     * the whole row NaN, and an Inf max makes every x - max NaN or -Inf */
    stv(e, vbin(e, "llvm.maxnum", ldv(e, m), vload(e, gep(e, xb, mulc(e, a, sa)), sv, nl)), m);
    loop_end(e, &L1);
    LLVMValueRef mv = ldv(e, m);
    a = loop_begin(e, &L2, ci(e, 0), ci(e, A), 1);
    LLVMValueRef x = vload(e, gep(e, xb, mulc(e, a, sa)), sv, nl);
    LLVMValueRef ex = vexp(e, LLVMBuildFSub(e->b, x, mv, ""));
    stv(e, LLVMBuildFAdd(e->b, ldv(e, s), ex, ""), s);
    if (direct) {
        c->idx[axis] = a;
        vstore(e, ex, gep(e, e->argp[ki->ops[0].store], sn_cg_cpu_offset_of(e, c->idx, os)), os[vd],
               nl);
    }
    loop_end(e, &L2);
    LLVMValueRef sv_ = ldv(e, s);
    a = loop_begin(e, &L3, ci(e, 0), ci(e, A), 1);
    c->idx[axis] = a;
    if (direct) {
        LLVMValueRef op = gep(e, e->argp[ki->ops[0].store], sn_cg_cpu_offset_of(e, c->idx, os));
        vstore(e, LLVMBuildFDiv(e->b, vload(e, op, os[vd], nl), sv_, ""), op, os[vd], nl);
    } else {
        x = vload(e, gep(e, xb, mulc(e, a, sa)), sv, nl);
        LLVMValueRef y = LLVMBuildFDiv(e->b, vexp(e, LLVMBuildFSub(e->b, x, mv, "")), sv_, "");
        sn_cg_cpu_emit_ops(e, c->idx, nl, y);
    }
    loop_end(e, &L3);
}

/* Lanes along the axis (contiguous): one row with horizontal reductions. */
typedef struct axrowctx {
    LLVMValueRef xbase, m, s; /* m, s: allocas (vectors) */
    LLVMValueRef mval, sval;  /* splatted scalars for pass 3 */
    LLVMValueRef *idx;
    int pass;
    int direct; /* the softmax is stored as is (see ax_rows_vec) */
} axrowctx;
static void ax_axis_vec(em *e, void *vc, LLVMValueRef at, int nl) {
    axrowctx *c = vc;
    const sn_cg_cpu_impl *ki = e->ki;
    int axis = (int)ki->attr[0];
    LLVMValueRef p = gep(e, c->xbase, at);
    if (c->pass == 0) {
        LLVMValueRef x = vload_fill(e, p, 1, nl, ki->cls == SN_CG_CPU_REDUCE ? 0.0 : -INFINITY);
        if (ki->cls == SN_CG_CPU_REDUCE)
            stv(e, LLVMBuildFAdd(e->b, ldv(e, c->s), x, ""), c->s);
        else /* NaN-skipping max: fine for softmax (see ax_rows_vec) */
            stv(e, vbin(e, "llvm.maxnum", ldv(e, c->m), x), c->m);
    } else if (c->pass == 1) {
        LLVMValueRef x = vload_fill(e, p, 1, nl, -INFINITY);
        LLVMValueRef ex = vexp(e, LLVMBuildFSub(e->b, x, c->mval, ""));
        if (nl < e->V)
            ex = LLVMBuildSelect(e->b, mask_n(e, nl), ex, cvf(e, 0.0), "");
        stv(e, LLVMBuildFAdd(e->b, ldv(e, c->s), ex, ""), c->s);
        if (c->direct) {
            c->idx[axis] = at;
            const int64_t *os = ki->store_stride[ki->ops[0].store];
            vstore(e, ex, gep(e, e->argp[ki->ops[0].store], sn_cg_cpu_offset_of(e, c->idx, os)),
                   os[ki->vd], nl);
        }
    } else {
        c->idx[axis] = at;
        if (c->direct) {
            const int64_t *os = ki->store_stride[ki->ops[0].store];
            LLVMValueRef op = gep(e, e->argp[ki->ops[0].store], sn_cg_cpu_offset_of(e, c->idx, os));
            vstore(e, LLVMBuildFDiv(e->b, vload(e, op, os[ki->vd], nl), c->sval, ""), op,
                   os[ki->vd], nl);
            return;
        }
        LLVMValueRef x = vload(e, p, 1, nl);
        LLVMValueRef y =
            LLVMBuildFDiv(e->b, vexp(e, LLVMBuildFSub(e->b, x, c->mval, "")), c->sval, "");
        sn_cg_cpu_emit_ops(e, c->idx, nl, y);
    }
}

void sn_cg_cpu_emit_axis_op(em *e, LLVMValueRef t) {
    const sn_cg_cpu_impl *ki = e->ki;
    const sn_cg_cpu_view *xv = &ki->args[ki->anchor_in[0]];
    int axis = (int)ki->attr[0], vd = ki->vd, r = ki->space.ndim;
    int64_t rows = 1;
    for (int k = 0; k < r; k++)
        if (k != axis && k != vd)
            rows *= ki->space.d[k];
    LLVMValueRef r0 = mulc(e, t, ki->rows_per_task),
                 r1 = smin(e, addc(e, r0, ki->rows_per_task), ci(e, rows));
    loop L;
    LLVMValueRef row = loop_begin(e, &L, r0, r1, 1);
    LLVMValueRef idx[SN_MAX_DIMS];
    unravel(e, row, ki->space.d, r, axis, vd, idx);
    LLVMValueRef off = ci(e, 0);
    for (int k = 0; k < r; k++)
        if (k != axis && k != vd)
            off = add(e, off, mulc(e, idx[k], xv->stride[k]));
    LLVMValueRef xbase = gep(e, e->argp[ki->anchor_in[0]], off);
    if (!ki->along_axis) {
        axctx c = {idx, xbase};
        vec_loop(e, ci(e, 0), ci(e, ki->space.d[vd]), ki->space.d[vd], ax_rows_vec, &c);
    } else {
        int64_t A = xv->d[axis];
        axrowctx c;
        memset(&c, 0, sizeof c);
        c.xbase = xbase;
        c.m = e->acc[0];
        c.s = e->acc[1];
        c.idx = idx;
        c.direct =
            ki->nops == 1 && ki->ops[0].store >= 0 && ki->store_stride[ki->ops[0].store][axis] == 1;
        stv(e, cvf(e, -INFINITY), c.m);
        stv(e, cvf(e, 0.0), c.s);
        c.pass = 0;
        vec_loop(e, ci(e, 0), ci(e, A), A, ax_axis_vec, &c);
        if (ki->cls == SN_CG_CPU_REDUCE) {
            LLVMValueRef sum = hreduce(e, "llvm.vector.reduce.fadd", cf(e, 0.0), ldv(e, c.s));
            idx[axis] = ci(e, 0);
            sn_cg_cpu_emit_ops(e, idx, 1, splat(e, sum));
        } else {
            c.mval = splat(e, hreduce(e, "llvm.vector.reduce.fmax", NULL, ldv(e, c.m)));
            c.pass = 1;
            vec_loop(e, ci(e, 0), ci(e, A), A, ax_axis_vec, &c);
            c.sval = splat(e, hreduce(e, "llvm.vector.reduce.fadd", cf(e, 0.0), ldv(e, c.s)));
            c.pass = 2;
            vec_loop(e, ci(e, 0), ci(e, A), A, ax_axis_vec, &c);
        }
    }
    loop_end(e, &L);
}
