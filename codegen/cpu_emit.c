/* codegen/cpu_emit.c — LLVM IR for a CPU kernel, built with the LLVM C API from an
 * sn_cg_cpu_impl alone (so the spec, its text, determines the IR).
 *
 * Every kernel is `void name(ptr args, i64 begin, i64 end)`: it loads its argument pointers
 * from args[], then runs tasks [begin, end). Shapes, strides and tunables are compile-time
 * constants: loop bounds, tails and padding borders are resolved while emitting, so the
 * hot loops carry no bounds checks.
 *
 * Code is emitted the simple way — loop-carried values (accumulators) live in allocas of
 * the entry block — and the O3 pipeline (SROA/mem2reg) turns them into registers. Vector
 * code is explicit (<V x float>, llvm.fma, masked loads/stores for tails); nothing relies on
 * the auto-vectoriser.
 *
 * The epilogue (emit_ops) is shared by every class: given the index of the first lane in
 * the group's index space, the lane count and the anchor's result vector, it evaluates the
 * op DAG and stores every stored result with its output's strides. Along the vector dim a
 * stride of 1 is a vector load/store, 0 a broadcast, anything else lane by lane.
 */
#include "codegen/codegen_int.h"

#include <llvm-c/Core.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXV 16
#define MAXACC 64

typedef struct em {
    LLVMContextRef cx;
    LLVMModuleRef m;
    LLVMBuilderRef b, ab; /* ab: allocas at the end of the entry block */
    LLVMValueRef fn;
    LLVMTypeRef f32, i64, i32, i1, ptr, vf, vi, vm;
    int V;
    const sn_cg_cpu_impl *ki;
    LLVMValueRef argp[SN_CG_MAX_ARGS];
    LLVMValueRef acc[MAXACC]; /* allocas */
    LLVMValueRef acc_val;     /* the anchor's value while evaluating an epilogue */
} em;

/* ---------------------------------------------------------------- constants and basics */

static LLVMValueRef ci(em *e, int64_t v) { return LLVMConstInt(e->i64, (unsigned long long)v, 1); }
static LLVMValueRef ci32(em *e, int64_t v) {
    return LLVMConstInt(e->i32, (unsigned long long)v, 1);
}
static LLVMValueRef cf(em *e, double v) { return LLVMConstReal(e->f32, v); }
static LLVMValueRef cvf(em *e, double v) {
    LLVMValueRef el[MAXV];
    for (int i = 0; i < e->V; i++)
        el[i] = cf(e, v);
    return LLVMConstVector(el, (unsigned)e->V);
}
static LLVMValueRef cvi(em *e, int64_t v) {
    LLVMValueRef el[MAXV];
    for (int i = 0; i < e->V; i++)
        el[i] = ci32(e, v);
    return LLVMConstVector(el, (unsigned)e->V);
}
static LLVMValueRef mask_n(em *e, int nl) {
    LLVMValueRef el[MAXV];
    for (int i = 0; i < e->V; i++)
        el[i] = LLVMConstInt(e->i1, i < nl, 0);
    return LLVMConstVector(el, (unsigned)e->V);
}

static LLVMValueRef add(em *e, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildNSWAdd(e->b, a, b, "");
}
static LLVMValueRef mul(em *e, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildNSWMul(e->b, a, b, "");
}
static LLVMValueRef addc(em *e, LLVMValueRef a, int64_t c) { return c ? add(e, a, ci(e, c)) : a; }
static LLVMValueRef mulc(em *e, LLVMValueRef a, int64_t c) {
    if (c == 1)
        return a;
    if (c == 0)
        return ci(e, 0);
    return mul(e, a, ci(e, c));
}
static LLVMValueRef sdivc(em *e, LLVMValueRef a, int64_t c) {
    return c == 1 ? a : LLVMBuildSDiv(e->b, a, ci(e, c), "");
}
static LLVMValueRef sremc(em *e, LLVMValueRef a, int64_t c) {
    return c == 1 ? ci(e, 0) : LLVMBuildSRem(e->b, a, ci(e, c), "");
}
static LLVMValueRef smin(em *e, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, a, b, ""), a, b, "");
}
static LLVMValueRef smax(em *e, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, a, b, ""), a, b, "");
}
static LLVMValueRef gep(em *e, LLVMValueRef p, LLVMValueRef idx) {
    return LLVMBuildGEP2(e->b, e->f32, p, &idx, 1, "");
}

static LLVMValueRef intr(em *e, const char *name, LLVMTypeRef *ovl, int novl, LLVMValueRef *args,
                         int nargs) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef f = LLVMGetIntrinsicDeclaration(e->m, id, ovl, (size_t)novl);
    LLVMTypeRef ft = LLVMIntrinsicGetType(e->cx, id, ovl, (size_t)novl);
    return LLVMBuildCall2(e->b, ft, f, args, (unsigned)nargs, "");
}
static LLVMValueRef vfma(em *e, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
    LLVMValueRef args[3] = {a, b, c};
    return intr(e, "llvm.fma", &e->vf, 1, args, 3);
}
static LLVMValueRef vun(em *e, const char *name, LLVMValueRef a) {
    return intr(e, name, &e->vf, 1, &a, 1);
}
static LLVMValueRef vbin(em *e, const char *name, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef args[2] = {a, b};
    return intr(e, name, &e->vf, 1, args, 2);
}

static LLVMValueRef splat(em *e, LLVMValueRef s) {
    LLVMValueRef v = LLVMBuildInsertElement(e->b, LLVMGetPoison(e->vf), s, ci32(e, 0), "");
    LLVMValueRef zero[MAXV];
    for (int i = 0; i < e->V; i++)
        zero[i] = ci32(e, 0);
    return LLVMBuildShuffleVector(e->b, v, LLVMGetPoison(e->vf),
                                  LLVMConstVector(zero, (unsigned)e->V), "");
}

static LLVMValueRef loadf(em *e, LLVMValueRef p) {
    LLVMValueRef v = LLVMBuildLoad2(e->b, e->f32, p, "");
    LLVMSetAlignment(v, 4);
    return v;
}
static void storef(em *e, LLVMValueRef v, LLVMValueRef p) {
    LLVMSetAlignment(LLVMBuildStore(e->b, v, p), 4);
}

/* A vector of nl lanes from p with element stride `stride` (lanes past nl: `fill`). */
static LLVMValueRef vload_fill(em *e, LLVMValueRef p, int64_t stride, int nl, double fill) {
    if (stride == 0)
        return splat(e, loadf(e, p));
    if (stride == 1) {
        if (nl == e->V) {
            LLVMValueRef v = LLVMBuildLoad2(e->b, e->vf, p, "");
            LLVMSetAlignment(v, 4);
            return v;
        }
        LLVMTypeRef ovl[2] = {e->vf, e->ptr};
        LLVMValueRef args[4] = {p, ci32(e, 4), mask_n(e, nl), cvf(e, fill)};
        return intr(e, "llvm.masked.load", ovl, 2, args, 4);
    }
    LLVMValueRef v = cvf(e, fill);
    for (int l = 0; l < nl; l++)
        v = LLVMBuildInsertElement(e->b, v, loadf(e, gep(e, p, ci(e, l * stride))), ci32(e, l), "");
    return v;
}
static LLVMValueRef vload(em *e, LLVMValueRef p, int64_t stride, int nl) {
    return vload_fill(e, p, stride, nl, 0.0);
}

static void vstore(em *e, LLVMValueRef v, LLVMValueRef p, int64_t stride, int nl) {
    if (stride == 1) {
        if (nl == e->V) {
            LLVMSetAlignment(LLVMBuildStore(e->b, v, p), 4);
            return;
        }
        LLVMTypeRef ovl[2] = {e->vf, e->ptr};
        LLVMValueRef args[4] = {v, p, ci32(e, 4), mask_n(e, nl)};
        intr(e, "llvm.masked.store", ovl, 2, args, 4);
        return;
    }
    if (stride == 0)
        nl = 1;
    for (int l = 0; l < nl; l++)
        storef(e, LLVMBuildExtractElement(e->b, v, ci32(e, l), ""), gep(e, p, ci(e, l * stride)));
}

/* ---------------------------------------------------------------- control flow */

typedef struct loop {
    LLVMBasicBlockRef head, exit, pre;
    LLVMValueRef iv;
    int64_t step;
} loop;

/* for (iv = lo; iv < hi; iv += step) */
static LLVMValueRef loop_begin(em *e, loop *L, LLVMValueRef lo, LLVMValueRef hi, int64_t step) {
    L->pre = LLVMGetInsertBlock(e->b);
    L->head = LLVMAppendBasicBlockInContext(e->cx, e->fn, "head");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(e->cx, e->fn, "body");
    L->exit = LLVMAppendBasicBlockInContext(e->cx, e->fn, "exit");
    L->step = step;
    LLVMBuildBr(e->b, L->head);
    LLVMPositionBuilderAtEnd(e->b, L->head);
    L->iv = LLVMBuildPhi(e->b, e->i64, "i");
    LLVMAddIncoming(L->iv, &lo, &L->pre, 1);
    LLVMValueRef cond = LLVMBuildICmp(e->b, LLVMIntSLT, L->iv, hi, "");
    LLVMBuildCondBr(e->b, cond, body, L->exit);
    LLVMPositionBuilderAtEnd(e->b, body);
    return L->iv;
}
static void loop_end(em *e, loop *L) {
    LLVMValueRef next = addc(e, L->iv, L->step);
    LLVMBasicBlockRef cur = LLVMGetInsertBlock(e->b);
    LLVMBuildBr(e->b, L->head);
    LLVMAddIncoming(L->iv, &next, &cur, 1);
    LLVMPositionBuilderAtEnd(e->b, L->exit);
}

typedef struct ifb {
    LLVMBasicBlockRef then_bb, else_bb, join;
} ifb;
static void if_begin(em *e, ifb *I, LLVMValueRef cond) {
    I->then_bb = LLVMAppendBasicBlockInContext(e->cx, e->fn, "then");
    I->else_bb = LLVMAppendBasicBlockInContext(e->cx, e->fn, "else");
    I->join = LLVMAppendBasicBlockInContext(e->cx, e->fn, "join");
    LLVMBuildCondBr(e->b, cond, I->then_bb, I->else_bb);
    LLVMPositionBuilderAtEnd(e->b, I->then_bb);
}
static void if_else(em *e, ifb *I) {
    LLVMBuildBr(e->b, I->join);
    LLVMPositionBuilderAtEnd(e->b, I->else_bb);
}
static void if_end(em *e, ifb *I) {
    LLVMBuildBr(e->b, I->join);
    LLVMPositionBuilderAtEnd(e->b, I->join);
}

static LLVMValueRef alloca_v(em *e) {
    LLVMValueRef a = LLVMBuildAlloca(e->ab, e->vf, "acc");
    LLVMSetAlignment(a, 64);
    return a;
}
static LLVMValueRef ldv(em *e, LLVMValueRef a) {
    LLVMValueRef v = LLVMBuildLoad2(e->b, e->vf, a, "");
    LLVMSetAlignment(v, 64);
    return v;
}
static void stv(em *e, LLVMValueRef v, LLVMValueRef a) {
    LLVMSetAlignment(LLVMBuildStore(e->b, v, a), 64);
}

/* ---------------------------------------------------------------- math */

/* NaN-propagating clamps and max. llvm.minnum/maxnum return the other operand when one is NaN,
 * which turns a NaN into a finite value; a compare + select whose compare is false when
 * unordered keeps x instead, and x86 matches each of these to one vminps/vmaxps (whose
 * unordered case returns the second source, here x). */
static LLVMValueRef vmin_c(em *e, LLVMValueRef x, double hi) { /* x > hi ? hi : x */
    return LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOGT, x, cvf(e, hi), ""), cvf(e, hi), x,
                           "");
}
static LLVMValueRef vmax_c(em *e, LLVMValueRef x, double lo) { /* x < lo ? lo : x */
    return LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOLT, x, cvf(e, lo), ""), cvf(e, lo), x,
                           "");
}
/* max(a, b), NaN when either is (ref, torch.maximum, max_pool2d): vmaxps + vcmpunordps + a
 * masked move. */
static LLVMValueRef vmax_nan(em *e, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef m = LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOGT, a, b, ""), a, b, "");
    return LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealUNO, a, a, ""), a, m, "");
}

/* exp(x), Cephes expf: x = n·ln2 + r, |r| <= ln2/2, e^r by a degree-6 polynomial, 2^n by
 * the exponent bits. At the edges it is IEEE like ref's (double exp rounded to f32): NaN in
 * NaN out (the clamps keep it, see vmin_c; 2^n of a NaN n is some finite bit pattern and
 * NaN·it is NaN), and x > ln(FLT_MAX) gives +Inf, so sigmoid(-Inf) = 0 and silu(-Inf) =
 * -Inf/Inf = NaN as in ref and PyTorch. x is clamped to [-86.9, 89] so n stays in
 * [-125, 128]; to reach n = 128 without an Inf exponent field, the polynomial computes 2·e^r
 * (coefficients doubled: exact) and the exponent bits hold 2^(n-1), built from the float n by
 * the 1.5·2^23 shifter (no fptosi, which is poison on NaN). Below -86.9 exp saturates at
 * ~1.8e-38 where ref gives a subnormal or 0. */
static LLVMValueRef vexp(em *e, LLVMValueRef x) {
    x = vmin_c(e, x, 89.0);
    x = vmax_c(e, x, -86.9);
    LLVMValueRef n =
        vun(e, "llvm.roundeven", LLVMBuildFMul(e->b, x, cvf(e, 1.44269504088896341), ""));
    LLVMValueRef r = vfma(e, n, cvf(e, -0.693359375), x);
    r = vfma(e, n, cvf(e, 2.12194440e-4), r);
    LLVMValueRef y = cvf(e, 2 * 1.9875691500E-4);
    y = vfma(e, y, r, cvf(e, 2 * 1.3981999507E-3));
    y = vfma(e, y, r, cvf(e, 2 * 8.3334519073E-3));
    y = vfma(e, y, r, cvf(e, 2 * 4.1665795894E-2));
    y = vfma(e, y, r, cvf(e, 2 * 1.6666665459E-1));
    y = vfma(e, y, r, cvf(e, 2 * 5.0000001201E-1));
    LLVMValueRef r2 = LLVMBuildFMul(e->b, r, r, "");
    y = vfma(e, y, r2, vfma(e, r, cvf(e, 2.0), cvf(e, 2.0)));
    /* n + 1.5·2^23 + 126 holds n + 126 = (n - 1) + 127 in its low mantissa bits */
    LLVMValueRef nb =
        LLVMBuildBitCast(e->b, LLVMBuildFAdd(e->b, n, cvf(e, 12583038.0), ""), e->vi, "");
    LLVMValueRef p2 = LLVMBuildBitCast(e->b, LLVMBuildShl(e->b, nb, cvi(e, 23), ""), e->vf, "");
    return LLVMBuildFMul(e->b, y, p2, "");
}

/* log(x), Cephes logf for normal x > 0. */
static LLVMValueRef vlog(em *e, LLVMValueRef x) {
    LLVMValueRef bits = LLVMBuildBitCast(e->b, x, e->vi, "");
    LLVMValueRef ex =
        LLVMBuildSub(e->b, LLVMBuildLShr(e->b, bits, cvi(e, 23), ""), cvi(e, 126), "");
    LLVMValueRef mb =
        LLVMBuildOr(e->b, LLVMBuildAnd(e->b, bits, cvi(e, 0x807fffff), ""), cvi(e, 0x3f000000), "");
    LLVMValueRef m = LLVMBuildBitCast(e->b, mb, e->vf, "");
    LLVMValueRef fe = LLVMBuildSIToFP(e->b, ex, e->vf, "");
    LLVMValueRef small = LLVMBuildFCmp(e->b, LLVMRealOLT, m, cvf(e, 0.707106781186547524), "");
    fe = LLVMBuildSelect(e->b, small, LLVMBuildFSub(e->b, fe, cvf(e, 1.0), ""), fe, "");
    LLVMValueRef mm = LLVMBuildSelect(e->b, small, LLVMBuildFAdd(e->b, m, m, ""), m, "");
    LLVMValueRef t = LLVMBuildFSub(e->b, mm, cvf(e, 1.0), "");
    LLVMValueRef z = LLVMBuildFMul(e->b, t, t, "");
    static const double c[] = {7.0376836292E-2,  -1.1514610310E-1, 1.1676998740E-1,
                               -1.2420140846E-1, 1.4249322787E-1,  -1.6668057665E-1,
                               2.0000714765E-1,  -2.4999993993E-1, 3.3333331174E-1};
    LLVMValueRef y = cvf(e, c[0]);
    for (int i = 1; i < 9; i++)
        y = vfma(e, y, t, cvf(e, c[i]));
    y = LLVMBuildFMul(e->b, LLVMBuildFMul(e->b, y, t, ""), z, "");
    y = vfma(e, fe, cvf(e, -2.12194440e-4), y);
    y = vfma(e, z, cvf(e, -0.5), y);
    LLVMValueRef r = vfma(e, fe, cvf(e, 0.693359375), LLVMBuildFAdd(e->b, t, y, ""));
    /* the edges as ref's log: log(±0) = -Inf, log(+Inf) = +Inf, log(x < 0 or NaN) = NaN */
    r = LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOEQ, x, cvf(e, 0.0), ""),
                        cvf(e, -INFINITY), r, "");
    r = LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOEQ, x, cvf(e, INFINITY), ""), x, r, "");
    return LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealULT, x, cvf(e, 0.0), ""), cvf(e, NAN),
                           r, "");
}

static LLVMValueRef vsigmoid(em *e, LLVMValueRef x) {
    LLVMValueRef en = vexp(e, LLVMBuildFNeg(e->b, x, ""));
    return LLVMBuildFDiv(e->b, cvf(e, 1.0), LLVMBuildFAdd(e->b, en, cvf(e, 1.0), ""), "");
}

/* ---------------------------------------------------------------- the epilogue */

static LLVMValueRef offset_of(em *e, LLVMValueRef *idx, const int64_t *stride) {
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
        LLVMValueRef p = gep(e, e->argp[o->ref], offset_of(e, idx, o->stride));
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
        switch (op->op) {
        case SN_OP_SILU:
            v = LLVMBuildFDiv(
                e->b, a, LLVMBuildFAdd(e->b, vexp(e, LLVMBuildFNeg(e->b, a, "")), cvf(e, 1.0), ""),
                "");
            break;
        case SN_OP_SIGMOID:
            v = vsigmoid(e, a);
            break;
        case SN_OP_RELU:
            v = vmax_c(e, a, 0.0); /* NaN stays NaN (ref, torch.relu) */
            break;
        case SN_OP_NEG:
            v = LLVMBuildFNeg(e->b, a, "");
            break;
        case SN_OP_EXP:
            v = vexp(e, a);
            break;
        case SN_OP_SQRT:
            v = vun(e, "llvm.sqrt", a);
            break;
        case SN_OP_RECIP:
            v = LLVMBuildFDiv(e->b, cvf(e, 1.0), a, "");
            break;
        case SN_OP_ADD:
            v = LLVMBuildFAdd(e->b, a, b, "");
            break;
        case SN_OP_SUB:
            v = LLVMBuildFSub(e->b, a, b, "");
            break;
        case SN_OP_MUL:
            v = LLVMBuildFMul(e->b, a, b, "");
            break;
        case SN_OP_DIV:
            v = LLVMBuildFDiv(e->b, a, b, "");
            break;
        case SN_OP_POW:
            v = vpow(e, a, &op->in[1], b);
            break;
        case SN_OP_MAX2:
            v = vmax_nan(e, a, b);
            break;
        case SN_OP_BATCHNORM:
            v = vfma(e, a, b, eval_opnd(e, &op->in[2], idx, nl, lo, hi, memo));
            break;
        default:
            v = a;
            break; /* CAST (f32→f32), SLICE, PERMUTE, RESHAPE: identity */
        }
    }
    memo[opi] = v;
    return v;
}

/* Evaluates the group at the vector whose first lane is at idx of the index space (nl lanes
 * along vd, inside the static range [lo, hi)) and stores every stored op. For anchored
 * classes `acc` is the anchor's result (ops[0]). */
static void emit_ops_range(em *e, LLVMValueRef *idx, int nl, LLVMValueRef acc, int64_t lo,
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
            LLVMValueRef p = gep(e, e->argp[op->store], offset_of(e, idx, ss));
            vstore(e, v, p, ss[ki->vd], nl);
        }
    e->acc_val = NULL;
}

static void emit_ops(em *e, LLVMValueRef *idx, int nl, LLVMValueRef acc) {
    emit_ops_range(e, idx, nl, acc, 0, e->ki->space.d[e->ki->vd]);
}

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
            emit_ops(e, idx, j == Bt - 1 ? r->last_lanes : V, v);
        }
}

static void emit_conv(em *e, LLVMValueRef t) {
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
                    emit_ops(e, idx, j == Bt - 1 ? w->last_lanes : V, y[r * 2 + q]);
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

static void emit_wino(em *e, LLVMValueRef t) {
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
            emit_ops(e, idx, j == Bt - 1 ? r->last_lanes : V, v);
        }
}

static void emit_dwconv(em *e, LLVMValueRef t) {
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
            emit_ops(e, idx, j == Bt - 1 ? last_lanes : V, ldv(e, e->acc[p * Bt + j]));
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
        emit_ops(e, idx, Qt, v);
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

static void emit_matmul(em *e, LLVMValueRef t) {
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
    emit_ops_range(e, c->idx, nl, NULL, c->lo, c->hi);
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

static void emit_pointwise(em *e, LLVMValueRef t) {
    const sn_cg_cpu_impl *ki = e->ki;
    const int V = e->V, vd = ki->vd, r = ki->space.ndim;
    LLVMValueRef idx[SN_MAX_DIMS];
    int64_t E = ki->space.d[vd], rows = sn_shape_numel(&ki->space) / E;
    int64_t bnd[66];
    int nb = 0;
    bnd[nb++] = 0;
    concat_bounds(ki, ki->nops - 1, 0, bnd + 1, &nb);
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

static void emit_concat(em *e, LLVMValueRef t) {
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

static void emit_reshape(em *e, LLVMValueRef t) {
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
    emit_ops(e, idx, nl, ldv(e, m));
}

static void emit_maxpool(em *e, LLVMValueRef t) {
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
    emit_ops(e, idx, nl, v);
}

static void emit_upsample(em *e, LLVMValueRef t) {
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
        emit_ops(e, c->idx, nl, ldv(e, s));
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
        vstore(e, ex, gep(e, e->argp[ki->ops[0].store], offset_of(e, c->idx, os)), os[vd], nl);
    }
    loop_end(e, &L2);
    LLVMValueRef sv_ = ldv(e, s);
    a = loop_begin(e, &L3, ci(e, 0), ci(e, A), 1);
    c->idx[axis] = a;
    if (direct) {
        LLVMValueRef op = gep(e, e->argp[ki->ops[0].store], offset_of(e, c->idx, os));
        vstore(e, LLVMBuildFDiv(e->b, vload(e, op, os[vd], nl), sv_, ""), op, os[vd], nl);
    } else {
        x = vload(e, gep(e, xb, mulc(e, a, sa)), sv, nl);
        LLVMValueRef y = LLVMBuildFDiv(e->b, vexp(e, LLVMBuildFSub(e->b, x, mv, "")), sv_, "");
        emit_ops(e, c->idx, nl, y);
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
            vstore(e, ex, gep(e, e->argp[ki->ops[0].store], offset_of(e, c->idx, os)), os[ki->vd],
                   nl);
        }
    } else {
        c->idx[axis] = at;
        if (c->direct) {
            const int64_t *os = ki->store_stride[ki->ops[0].store];
            LLVMValueRef op = gep(e, e->argp[ki->ops[0].store], offset_of(e, c->idx, os));
            vstore(e, LLVMBuildFDiv(e->b, vload(e, op, os[ki->vd], nl), c->sval, ""), op,
                   os[ki->vd], nl);
            return;
        }
        LLVMValueRef x = vload(e, p, 1, nl);
        LLVMValueRef y =
            LLVMBuildFDiv(e->b, vexp(e, LLVMBuildFSub(e->b, x, c->mval, "")), c->sval, "");
        emit_ops(e, c->idx, nl, y);
    }
}

static void emit_axis_op(em *e, LLVMValueRef t) {
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
            emit_ops(e, idx, 1, splat(e, sum));
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

/* ---------------------------------------------------------------- the kernel function */

sn_status sn_cg_cpu_emit(const sn_cg_cpu_impl *ki, void *module, const sn_cg_target *t, char *err,
                         size_t errlen) {
    em E, *e = &E;
    memset(e, 0, sizeof E);
    e->m = (LLVMModuleRef)module;
    e->cx = LLVMGetModuleContext(e->m);
    e->ki = ki;
    e->V = ki->vw;
    if (e->V > MAXV || e->V < 1) {
        sn_errf(err, errlen, "%s: vector width %d", ki->name, e->V);
        return SN_ERR_INVALID;
    }
    int need = ki->blk_pix * ki->blk_vec;
    if (need > MAXACC || ki->blk_vec > 8 || ki->blk_pix > 64) {
        sn_errf(err, errlen, "%s: register block %dx%d too large", ki->name, ki->blk_pix,
                ki->blk_vec);
        return SN_ERR_INVALID;
    }
    e->f32 = LLVMFloatTypeInContext(e->cx);
    e->i64 = LLVMInt64TypeInContext(e->cx);
    e->i32 = LLVMInt32TypeInContext(e->cx);
    e->i1 = LLVMInt1TypeInContext(e->cx);
    e->ptr = LLVMPointerTypeInContext(e->cx, 0);
    e->vf = LLVMVectorType(e->f32, (unsigned)e->V);
    e->vi = LLVMVectorType(e->i32, (unsigned)e->V);
    e->vm = LLVMVectorType(e->i1, (unsigned)e->V);

    LLVMTypeRef params[3] = {e->ptr, e->i64, e->i64};
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(e->cx), params, 3, 0);
    e->fn = LLVMAddFunction(e->m, ki->name, fty);
    LLVMSetLinkage(e->fn, LLVMExternalLinkage);
    const char *attrs[][2] = {{"target-cpu", t->cpu_name},
                              {"target-features", t->cpu_features},
                              {"frame-pointer", "none"},
                              {"no-trapping-math", "true"}};
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
        if (!attrs[i][1][0])
            continue;
        LLVMAttributeRef a =
            LLVMCreateStringAttribute(e->cx, attrs[i][0], (unsigned)strlen(attrs[i][0]),
                                      attrs[i][1], (unsigned)strlen(attrs[i][1]));
        LLVMAddAttributeAtIndex(e->fn, LLVMAttributeFunctionIndex, a);
    }
    char vbits[16];
    snprintf(vbits, sizeof vbits, "%d", e->V * 32);
    const char *vattrs[] = {"min-legal-vector-width", "prefer-vector-width"};
    for (int i = 0; i < 2; i++) {
        LLVMAttributeRef a = LLVMCreateStringAttribute(
            e->cx, vattrs[i], (unsigned)strlen(vattrs[i]), vbits, (unsigned)strlen(vbits));
        LLVMAddAttributeAtIndex(e->fn, LLVMAttributeFunctionIndex, a);
    }
    const char *enums[] = {"nounwind", "nosync", "nofree", "willreturn"};
    for (int i = 0; i < 4; i++) {
        unsigned kind = LLVMGetEnumAttributeKindForName(enums[i], strlen(enums[i]));
        LLVMAddAttributeAtIndex(e->fn, LLVMAttributeFunctionIndex,
                                LLVMCreateEnumAttribute(e->cx, kind, 0));
    }

    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(e->cx, e->fn, "entry");
    LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(e->cx, e->fn, "start");
    e->b = LLVMCreateBuilderInContext(e->cx);
    e->ab = LLVMCreateBuilderInContext(e->cx);
    LLVMPositionBuilderAtEnd(e->ab, entry);
    for (int i = 0; i < MAXACC; i++)
        e->acc[i] = alloca_v(e);
    LLVMPositionBuilderAtEnd(e->b, start);

    LLVMValueRef args = LLVMGetParam(e->fn, 0);
    for (int i = 0; i < ki->nargs; i++) {
        LLVMValueRef ix = ci(e, i);
        LLVMValueRef pp = LLVMBuildGEP2(e->b, e->ptr, args, &ix, 1, "");
        e->argp[i] = LLVMBuildLoad2(e->b, e->ptr, pp, "arg");
        LLVMSetAlignment(e->argp[i], 8);
    }
    loop L;
    LLVMValueRef task = loop_begin(e, &L, LLVMGetParam(e->fn, 1), LLVMGetParam(e->fn, 2), 1);
    switch (ki->cls) {
    case SN_CG_CPU_CONV:
        if (ki->wino)
            emit_wino(e, task);
        else
            emit_conv(e, task);
        break;
    case SN_CG_CPU_DWCONV:
        emit_dwconv(e, task);
        break;
    case SN_CG_CPU_MATMUL:
        emit_matmul(e, task);
        break;
    case SN_CG_CPU_POINTWISE:
        emit_pointwise(e, task);
        break;
    case SN_CG_CPU_MAXPOOL:
        emit_maxpool(e, task);
        break;
    case SN_CG_CPU_UPSAMPLE:
        emit_upsample(e, task);
        break;
    case SN_CG_CPU_SOFTMAX:
    case SN_CG_CPU_REDUCE:
        emit_axis_op(e, task);
        break;
    case SN_CG_CPU_CONCAT:
        emit_concat(e, task);
        break;
    case SN_CG_CPU_RESHAPE:
        emit_reshape(e, task);
        break;
    default:
        break;
    }
    loop_end(e, &L);
    LLVMBuildRetVoid(e->b);
    LLVMBuildBr(e->ab, start);
    LLVMDisposeBuilder(e->b);
    LLVMDisposeBuilder(e->ab);
    return SN_OK;
}
