/* codegen/cpu_emit_ops.c — CPU kernels: the epilogue: the fused op DAG on a vector of lanes. See
 * cpu_emit_int.h. */
#include "codegen/cpu_emit_int.h"

/* ---------------------------------------------------------------- the epilogue */

LLVMValueRef sn_cg_cpu_offset_of(em *e, LLVMValueRef *idx, const int64_t *stride) {
    const sn_cg_cpu_impl *ki = e->ki;
    LLVMValueRef off = ci(e, 0);
    for (int k = 0; k < ki->space.ndim; k++)
        if (stride[k] != 0)
            off = add(e, off, mulc(e, idx[k], stride[k]));
    return off;
}

static LLVMValueRef vpow(em *e, LLVMValueRef x, const sn_cg_opnd *yo, LLVMValueRef y) {
    if (yo->kind == SN_CG_OPND_SCALAR) {
        float s = yo->scalar;
        if (s == 1.0f)
            return x;
        if (s == 2.0f)
            return LLVMBuildFMul(e->b, x, x, "");
        if (s == 3.0f)
            return LLVMBuildFMul(e->b, LLVMBuildFMul(e->b, x, x, ""), x, "");
        LLVMValueRef ninf = LLVMBuildFCmp(e->b, LLVMRealOEQ, x, cvf(e, -INFINITY), "");
        if (s == 0.5f) /* C's pow(-Inf, 0.5) is +Inf, sqrt's NaN */
            return LLVMBuildSelect(e->b, ninf, cvf(e, INFINITY), vun(e, "llvm.sqrt", x), "");
        if (s == -1.0f)
            return LLVMBuildFDiv(e->b, cvf(e, 1.0), x, "");
        if (s == 0.0f)
            return cvf(e, 1.0);
        /* |x|^s, then C's (ref's) rules for a negative base: an integer s gives the sign of
         * x^s, any other s NaN, except pow(-Inf, s) = |x|^s */
        LLVMValueRef r = vexp(e, LLVMBuildFMul(e->b, y, vlog(e, vun(e, "llvm.fabs", x)), ""));
        LLVMValueRef neg = LLVMBuildFCmp(e->b, LLVMRealOLT, x, cvf(e, 0.0), "");
        if (s == truncf(s) && fabsf(s) < 16777216.0f)
            return fmodf(s, 2.0f) != 0.0f
                       ? LLVMBuildSelect(e->b, neg, LLVMBuildFNeg(e->b, r, ""), r, "")
                       : r;
        neg = LLVMBuildAnd(e->b, neg, LLVMBuildNot(e->b, ninf, ""), "");
        return LLVMBuildSelect(e->b, neg, cvf(e, NAN), r, "");
    }
    return vexp(e, LLVMBuildFMul(e->b, y, vlog(e, x), ""));
}

/* The op tree is evaluated from the root at a vector of the index space: idx[] is the index
 * of the first lane in the evaluated op's own shape, lanes run along vd, nl of them, and
 * [lo, hi) is a static range known to hold idx[vd] .. idx[vd]+nl-1 (so a CONCAT along vd
 * knows which input the whole vector reads). memo[] caches op values evaluated at this same
 * index; an index transform (CONCAT, UPSAMPLE) starts a fresh one. */
/* ---------------------------------------------------------------- pointwise builders
 * The cpu column of codegen/pointwise.def: each op's LLVM IR on a vector of lanes. */
typedef LLVMValueRef pw_fn(em *e, const sn_cg_op *op, LLVMValueRef a, LLVMValueRef b,
                           LLVMValueRef c);

static LLVMValueRef pw_silu(em *e, const sn_cg_op *op, LLVMValueRef a, LLVMValueRef b,
                            LLVMValueRef c) {
    (void)op, (void)b, (void)c;
    return LLVMBuildFDiv(
        e->b, a, LLVMBuildFAdd(e->b, vexp(e, LLVMBuildFNeg(e->b, a, "")), cvf(e, 1.0), ""), "");
}
static LLVMValueRef pw_sigmoid(em *e, const sn_cg_op *op, LLVMValueRef a, LLVMValueRef b,
                               LLVMValueRef c) {
    (void)op, (void)b, (void)c;
    return vsigmoid(e, a);
}
static LLVMValueRef pw_relu(em *e, const sn_cg_op *op, LLVMValueRef a, LLVMValueRef b,
                            LLVMValueRef c) {
    (void)op, (void)b, (void)c;
    return vmax_c(e, a, 0.0); /* NaN stays NaN (ref, torch.relu) */
}
static LLVMValueRef pw_neg(em *e, const sn_cg_op *op, LLVMValueRef a, LLVMValueRef b,
                           LLVMValueRef c) {
    (void)op, (void)b, (void)c;
    return LLVMBuildFNeg(e->b, a, "");
}
static LLVMValueRef pw_exp(em *e, const sn_cg_op *op, LLVMValueRef a, LLVMValueRef b,
                           LLVMValueRef c) {
    (void)op, (void)b, (void)c;
    return vexp(e, a);
}
static LLVMValueRef pw_sqrt(em *e, const sn_cg_op *op, LLVMValueRef a, LLVMValueRef b,
                            LLVMValueRef c) {
    (void)op, (void)b, (void)c;
    return vun(e, "llvm.sqrt", a);
}
static LLVMValueRef pw_recip(em *e, const sn_cg_op *op, LLVMValueRef a, LLVMValueRef b,
                             LLVMValueRef c) {
    (void)op, (void)b, (void)c;
    return LLVMBuildFDiv(e->b, cvf(e, 1.0), a, "");
}
static LLVMValueRef pw_add(em *e, const sn_cg_op *op, LLVMValueRef a, LLVMValueRef b,
                           LLVMValueRef c) {
    (void)op, (void)c;
    return LLVMBuildFAdd(e->b, a, b, "");
}
static LLVMValueRef pw_sub(em *e, const sn_cg_op *op, LLVMValueRef a, LLVMValueRef b,
                           LLVMValueRef c) {
    (void)op, (void)c;
    return LLVMBuildFSub(e->b, a, b, "");
}
static LLVMValueRef pw_mul(em *e, const sn_cg_op *op, LLVMValueRef a, LLVMValueRef b,
                           LLVMValueRef c) {
    (void)op, (void)c;
    return LLVMBuildFMul(e->b, a, b, "");
}
static LLVMValueRef pw_div(em *e, const sn_cg_op *op, LLVMValueRef a, LLVMValueRef b,
                           LLVMValueRef c) {
    (void)op, (void)c;
    return LLVMBuildFDiv(e->b, a, b, "");
}
static LLVMValueRef pw_pow(em *e, const sn_cg_op *op, LLVMValueRef a, LLVMValueRef b,
                           LLVMValueRef c) {
    (void)c;
    return vpow(e, a, &op->in[1], b);
}
static LLVMValueRef pw_max2(em *e, const sn_cg_op *op, LLVMValueRef a, LLVMValueRef b,
                            LLVMValueRef c) {
    (void)op, (void)c;
    return vmax_nan(e, a, b);
}
static LLVMValueRef pw_fma(em *e, const sn_cg_op *op, LLVMValueRef a, LLVMValueRef b,
                           LLVMValueRef c) {
    (void)op;
    return vfma(e, a, b, c);
}

static pw_fn *const pointwise[SN_OP_COUNT] = {
#define SN_CG_PW(id, cuda, cpu) [SN_OP_##id] = cpu,
#include "codegen/pointwise.def"
};

static LLVMValueRef eval_op(em *e, int opi, LLVMValueRef *idx, int nl, int64_t lo, int64_t hi,
                            LLVMValueRef *memo);

static LLVMValueRef eval_opnd(em *e, const sn_cg_opnd *o, LLVMValueRef *idx, int nl, int64_t lo,
                              int64_t hi, LLVMValueRef *memo) {
    switch (o->kind) {
    case SN_CG_OPND_PREV:
        return eval_op(e, o->ref, idx, nl, lo, hi, memo);
    case SN_CG_OPND_SCALAR:
        return cvf(e, (double)o->scalar);
    case SN_CG_OPND_INPUT: {
        LLVMValueRef p = gep(e, e->argp[o->ref], sn_cg_cpu_offset_of(e, idx, o->stride));
        return vload(e, p, o->stride[e->ki->vd], nl);
    }
    default:
        return cvf(e, 0.0);
    }
}

static LLVMValueRef eval_concat(em *e, const sn_cg_op *op, LLVMValueRef *idx, int nl, int64_t lo,
                                int64_t hi) {
    const int vd = e->ki->vd;
    int axis = (int)op->attr[0];
    LLVMValueRef sub[SN_MAX_DIMS], memo[SN_CG_MAX_OPS];
    if (axis == vd) {
        for (int k = 0; k < op->nin; k++)
            if (op->start[k] <= lo && hi <= op->start[k + 1]) {
                memcpy(sub, idx, sizeof sub);
                sub[vd] = addc(e, idx[vd], -op->start[k]);
                memset(memo, 0, sizeof memo);
                return eval_opnd(e, &op->in[k], sub, nl, lo - op->start[k], hi - op->start[k],
                                 memo);
            }
        if (nl > 1) {
            /* the vector straddles inputs: lane by lane (each a run-time choice below) */
            LLVMValueRef v = cvf(e, 0.0);
            for (int l = 0; l < nl; l++) {
                memcpy(sub, idx, sizeof sub);
                sub[vd] = addc(e, idx[vd], l);
                LLVMValueRef one = eval_concat(e, op, sub, 1, lo, hi);
                v = LLVMBuildInsertElement(
                    e->b, v, LLVMBuildExtractElement(e->b, one, ci32(e, 0), ""), ci32(e, l), "");
            }
            return v;
        }
        lo = 0;
        hi = op->start[op->nin];
    }
    /* axis is not the vector dim: the whole vector reads one input, chosen at run time */
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(e->cx, e->fn, "cat.join");
    LLVMValueRef vals[SN_CG_OP_MAX_IN];
    LLVMBasicBlockRef from[SN_CG_OP_MAX_IN];
    for (int k = 0; k < op->nin; k++) {
        LLVMBasicBlockRef next = NULL;
        if (k < op->nin - 1) {
            LLVMBasicBlockRef here = LLVMAppendBasicBlockInContext(e->cx, e->fn, "cat.in");
            next = LLVMAppendBasicBlockInContext(e->cx, e->fn, "cat.next");
            LLVMBuildCondBr(e->b,
                            LLVMBuildICmp(e->b, LLVMIntSLT, idx[axis], ci(e, op->start[k + 1]), ""),
                            here, next);
            LLVMPositionBuilderAtEnd(e->b, here);
        }
        memcpy(sub, idx, sizeof sub);
        sub[axis] = addc(e, idx[axis], -op->start[k]);
        memset(memo, 0, sizeof memo);
        int64_t klo = lo, khi = hi;
        if (axis == vd) { /* one lane: its range within input k */
            klo = 0;
            khi = op->start[k + 1] - op->start[k];
        }
        vals[k] = eval_opnd(e, &op->in[k], sub, nl, klo, khi, memo);
        from[k] = LLVMGetInsertBlock(e->b);
        LLVMBuildBr(e->b, join);
        if (next)
            LLVMPositionBuilderAtEnd(e->b, next);
    }
    LLVMPositionBuilderAtEnd(e->b, join);
    LLVMValueRef phi = LLVMBuildPhi(e->b, e->vf, "cat");
    LLVMAddIncoming(phi, vals, from, (unsigned)op->nin);
    return phi;
}

static LLVMValueRef eval_upsample(em *e, const sn_cg_op *op, LLVMValueRef *idx, int nl, int64_t lo,
                                  int64_t hi) {
    const int vd = e->ki->vd;
    int64_t sc[SN_MAX_DIMS] = {1, 1, 1, 1, 1, 1};
    sc[2] = op->attr[0];
    sc[3] = op->attr[1];
    LLVMValueRef sub[SN_MAX_DIMS], memo[SN_CG_MAX_OPS];
    if (sc[vd] == 1) {
        memcpy(sub, idx, sizeof sub);
        sub[2] = sdivc(e, idx[2], sc[2]);
        sub[3] = sdivc(e, idx[3], sc[3]);
        memset(memo, 0, sizeof memo);
        return eval_opnd(e, &op->in[0], sub, nl, lo, hi, memo);
    }
    LLVMValueRef v = cvf(e, 0.0);
    for (int l = 0; l < nl; l++) {
        memcpy(sub, idx, sizeof sub);
        sub[vd] = addc(e, idx[vd], l);
        sub[2] = sdivc(e, sub[2], sc[2]);
        sub[3] = sdivc(e, sub[3], sc[3]);
        memset(memo, 0, sizeof memo);
        LLVMValueRef one =
            eval_opnd(e, &op->in[0], sub, 1, lo / sc[vd], (hi - 1) / sc[vd] + 1, memo);
        v = LLVMBuildInsertElement(e->b, v, LLVMBuildExtractElement(e->b, one, ci32(e, 0), ""),
                                   ci32(e, l), "");
    }
    return v;
}

static LLVMValueRef eval_op(em *e, int opi, LLVMValueRef *idx, int nl, int64_t lo, int64_t hi,
                            LLVMValueRef *memo) {
    if (memo[opi])
        return memo[opi];
    const sn_cg_op *op = &e->ki->ops[opi];
    LLVMValueRef v;
    if (opi == 0 && e->acc_val) {
        v = e->acc_val;
    } else if (op->op == SN_OP_CONCAT) {
        v = eval_concat(e, op, idx, nl, lo, hi);
    } else if (op->op == SN_OP_UPSAMPLE) {
        v = eval_upsample(e, op, idx, nl, lo, hi);
    } else {
        LLVMValueRef a = op->nin > 0 ? eval_opnd(e, &op->in[0], idx, nl, lo, hi, memo) : NULL;
        LLVMValueRef b = op->nin > 1 ? eval_opnd(e, &op->in[1], idx, nl, lo, hi, memo) : NULL;
        LLVMValueRef c = op->nin > 2 ? eval_opnd(e, &op->in[2], idx, nl, lo, hi, memo) : NULL;
        pw_fn *f = (unsigned)op->op < SN_OP_COUNT ? pointwise[op->op] : NULL;
        v = f ? f(e, op, a, b, c) : a; /* CAST (f32→f32), SLICE, PERMUTE, RESHAPE: identity */
    }
    memo[opi] = v;
    return v;
}

/* Evaluates the group at the vector whose first lane is at idx of the index space (nl lanes
 * along vd, inside the static range [lo, hi)) and stores every stored op. For anchored
 * classes `acc` is the anchor's result (ops[0]). */
void sn_cg_cpu_emit_ops_range(em *e, LLVMValueRef *idx, int nl, LLVMValueRef acc, int64_t lo,
                              int64_t hi) {
    const sn_cg_cpu_impl *ki = e->ki;
    LLVMValueRef memo[SN_CG_MAX_OPS];
    memset(memo, 0, sizeof memo);
    e->acc_val = acc;
    int root = ki->nops - 1;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < ki->nops; i++) {
            const sn_cg_op *op = &ki->ops[i];
            /* the root first (it may carry index transforms), then other stored members */
            if (op->store < 0 || (pass == 0) != (i == root))
                continue;
            LLVMValueRef v = eval_op(e, i, idx, nl, lo, hi, memo);
            const int64_t *ss = ki->store_stride[op->store];
            LLVMValueRef p = gep(e, e->argp[op->store], sn_cg_cpu_offset_of(e, idx, ss));
            vstore(e, v, p, ss[ki->vd], nl);
        }
    e->acc_val = NULL;
}

void sn_cg_cpu_emit_ops(em *e, LLVMValueRef *idx, int nl, LLVMValueRef acc) {
    sn_cg_cpu_emit_ops_range(e, idx, nl, acc, 0, e->ki->space.d[e->ki->vd]);
}
