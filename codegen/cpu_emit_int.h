/* codegen/cpu_emit_int.h — the CPU kernel emitters' shared part. LLVM IR for a CPU kernel is built
 * with the LLVM C API from an sn_cg_cpu_impl alone (so the spec, its text, determines the IR).
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
 *
 * One file per kernel class, like the CUDA renderer's cuda_*.c:
 *   cpu_emit.c            the kernel function: signature, attributes, argument loads, the
 *                         task loop, the dispatch on the class
 *   cpu_emit_ops.c        the epilogue: the fused op DAG evaluated on a vector of lanes
 *   cpu_emit_conv.c       direct convolution, Winograd F(2,3), depthwise
 *   cpu_emit_matmul.c     matmul (blocked and dot-product forms)
 *   cpu_emit_pointwise.c  pointwise groups, concat and reshape copies, maxpool, upsample,
 *                         softmax and reductions
 * This header holds the emitter state (em) and the small builders every class uses
 * (constants, integer arithmetic, vector loads/stores, loops and branches, math), inline.
 */
#ifndef SN_CODEGEN_CPU_EMIT_INT_H
#define SN_CODEGEN_CPU_EMIT_INT_H

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

static inline LLVMValueRef ci(em *e, int64_t v) {
    return LLVMConstInt(e->i64, (unsigned long long)v, 1);
}
static inline LLVMValueRef ci32(em *e, int64_t v) {
    return LLVMConstInt(e->i32, (unsigned long long)v, 1);
}
static inline LLVMValueRef cf(em *e, double v) { return LLVMConstReal(e->f32, v); }
static inline LLVMValueRef cvf(em *e, double v) {
    LLVMValueRef el[MAXV];
    for (int i = 0; i < e->V; i++)
        el[i] = cf(e, v);
    return LLVMConstVector(el, (unsigned)e->V);
}
static inline LLVMValueRef cvi(em *e, int64_t v) {
    LLVMValueRef el[MAXV];
    for (int i = 0; i < e->V; i++)
        el[i] = ci32(e, v);
    return LLVMConstVector(el, (unsigned)e->V);
}
static inline LLVMValueRef mask_n(em *e, int nl) {
    LLVMValueRef el[MAXV];
    for (int i = 0; i < e->V; i++)
        el[i] = LLVMConstInt(e->i1, i < nl, 0);
    return LLVMConstVector(el, (unsigned)e->V);
}

static inline LLVMValueRef add(em *e, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildNSWAdd(e->b, a, b, "");
}
static inline LLVMValueRef mul(em *e, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildNSWMul(e->b, a, b, "");
}
static inline LLVMValueRef addc(em *e, LLVMValueRef a, int64_t c) {
    return c ? add(e, a, ci(e, c)) : a;
}
static inline LLVMValueRef mulc(em *e, LLVMValueRef a, int64_t c) {
    if (c == 1)
        return a;
    if (c == 0)
        return ci(e, 0);
    return mul(e, a, ci(e, c));
}
static inline LLVMValueRef sdivc(em *e, LLVMValueRef a, int64_t c) {
    return c == 1 ? a : LLVMBuildSDiv(e->b, a, ci(e, c), "");
}
static inline LLVMValueRef sremc(em *e, LLVMValueRef a, int64_t c) {
    return c == 1 ? ci(e, 0) : LLVMBuildSRem(e->b, a, ci(e, c), "");
}
static inline LLVMValueRef smin(em *e, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, a, b, ""), a, b, "");
}
static inline LLVMValueRef smax(em *e, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, a, b, ""), a, b, "");
}
static inline LLVMValueRef gep(em *e, LLVMValueRef p, LLVMValueRef idx) {
    return LLVMBuildGEP2(e->b, e->f32, p, &idx, 1, "");
}

static inline LLVMValueRef intr(em *e, const char *name, LLVMTypeRef *ovl, int novl,
                                LLVMValueRef *args, int nargs) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef f = LLVMGetIntrinsicDeclaration(e->m, id, ovl, (size_t)novl);
    LLVMTypeRef ft = LLVMIntrinsicGetType(e->cx, id, ovl, (size_t)novl);
    return LLVMBuildCall2(e->b, ft, f, args, (unsigned)nargs, "");
}
static inline LLVMValueRef vfma(em *e, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
    LLVMValueRef args[3] = {a, b, c};
    return intr(e, "llvm.fma", &e->vf, 1, args, 3);
}
static inline LLVMValueRef vun(em *e, const char *name, LLVMValueRef a) {
    return intr(e, name, &e->vf, 1, &a, 1);
}
static inline LLVMValueRef vbin(em *e, const char *name, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef args[2] = {a, b};
    return intr(e, name, &e->vf, 1, args, 2);
}

static inline LLVMValueRef splat(em *e, LLVMValueRef s) {
    LLVMValueRef v = LLVMBuildInsertElement(e->b, LLVMGetPoison(e->vf), s, ci32(e, 0), "");
    LLVMValueRef zero[MAXV];
    for (int i = 0; i < e->V; i++)
        zero[i] = ci32(e, 0);
    return LLVMBuildShuffleVector(e->b, v, LLVMGetPoison(e->vf),
                                  LLVMConstVector(zero, (unsigned)e->V), "");
}

static inline LLVMValueRef loadf(em *e, LLVMValueRef p) {
    LLVMValueRef v = LLVMBuildLoad2(e->b, e->f32, p, "");
    LLVMSetAlignment(v, 4);
    return v;
}
static inline void storef(em *e, LLVMValueRef v, LLVMValueRef p) {
    LLVMSetAlignment(LLVMBuildStore(e->b, v, p), 4);
}

/* A vector of nl lanes from p with element stride `stride` (lanes past nl: `fill`). */
static inline LLVMValueRef vload_fill(em *e, LLVMValueRef p, int64_t stride, int nl, double fill) {
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
static inline LLVMValueRef vload(em *e, LLVMValueRef p, int64_t stride, int nl) {
    return vload_fill(e, p, stride, nl, 0.0);
}

static inline void vstore(em *e, LLVMValueRef v, LLVMValueRef p, int64_t stride, int nl) {
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
static inline LLVMValueRef loop_begin(em *e, loop *L, LLVMValueRef lo, LLVMValueRef hi,
                                      int64_t step) {
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
static inline void loop_end(em *e, loop *L) {
    LLVMValueRef next = addc(e, L->iv, L->step);
    LLVMBasicBlockRef cur = LLVMGetInsertBlock(e->b);
    LLVMBuildBr(e->b, L->head);
    LLVMAddIncoming(L->iv, &next, &cur, 1);
    LLVMPositionBuilderAtEnd(e->b, L->exit);
}

typedef struct ifb {
    LLVMBasicBlockRef then_bb, else_bb, join;
} ifb;
static inline void if_begin(em *e, ifb *I, LLVMValueRef cond) {
    I->then_bb = LLVMAppendBasicBlockInContext(e->cx, e->fn, "then");
    I->else_bb = LLVMAppendBasicBlockInContext(e->cx, e->fn, "else");
    I->join = LLVMAppendBasicBlockInContext(e->cx, e->fn, "join");
    LLVMBuildCondBr(e->b, cond, I->then_bb, I->else_bb);
    LLVMPositionBuilderAtEnd(e->b, I->then_bb);
}
static inline void if_else(em *e, ifb *I) {
    LLVMBuildBr(e->b, I->join);
    LLVMPositionBuilderAtEnd(e->b, I->else_bb);
}
static inline void if_end(em *e, ifb *I) {
    LLVMBuildBr(e->b, I->join);
    LLVMPositionBuilderAtEnd(e->b, I->join);
}

static inline LLVMValueRef alloca_v(em *e) {
    LLVMValueRef a = LLVMBuildAlloca(e->ab, e->vf, "acc");
    LLVMSetAlignment(a, 64);
    return a;
}
static inline LLVMValueRef ldv(em *e, LLVMValueRef a) {
    LLVMValueRef v = LLVMBuildLoad2(e->b, e->vf, a, "");
    LLVMSetAlignment(v, 64);
    return v;
}
static inline void stv(em *e, LLVMValueRef v, LLVMValueRef a) {
    LLVMSetAlignment(LLVMBuildStore(e->b, v, a), 64);
}

/* ---------------------------------------------------------------- math */

/* NaN-propagating clamps and max. llvm.minnum/maxnum return the other operand when one is NaN,
 * which turns a NaN into a finite value; a compare + select whose compare is false when
 * unordered keeps x instead, and x86 matches each of these to one vminps/vmaxps (whose
 * unordered case returns the second source, here x). */
static inline LLVMValueRef vmin_c(em *e, LLVMValueRef x, double hi) { /* x > hi ? hi : x */
    return LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOGT, x, cvf(e, hi), ""), cvf(e, hi), x,
                           "");
}
static inline LLVMValueRef vmax_c(em *e, LLVMValueRef x, double lo) { /* x < lo ? lo : x */
    return LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOLT, x, cvf(e, lo), ""), cvf(e, lo), x,
                           "");
}
/* max(a, b), NaN when either is (ref, torch.maximum, max_pool2d): vmaxps + vcmpunordps + a
 * masked move. */
static inline LLVMValueRef vmax_nan(em *e, LLVMValueRef a, LLVMValueRef b) {
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
static inline LLVMValueRef vexp(em *e, LLVMValueRef x) {
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
static inline LLVMValueRef vlog(em *e, LLVMValueRef x) {
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

static inline LLVMValueRef vsigmoid(em *e, LLVMValueRef x) {
    LLVMValueRef en = vexp(e, LLVMBuildFNeg(e->b, x, ""));
    return LLVMBuildFDiv(e->b, cvf(e, 1.0), LLVMBuildFAdd(e->b, en, cvf(e, 1.0), ""), "");
}

/* ---------------------------------------------------------------- the kernel classes */

void sn_cg_cpu_emit_ops(em *e, LLVMValueRef *idx, int nl, LLVMValueRef acc);
void sn_cg_cpu_emit_ops_range(em *e, LLVMValueRef *idx, int nl, LLVMValueRef acc, int64_t lo,
                              int64_t hi);
LLVMValueRef sn_cg_cpu_offset_of(em *e, LLVMValueRef *idx, const int64_t *stride);
void sn_cg_cpu_emit_conv(em *e, LLVMValueRef t);
void sn_cg_cpu_emit_dwconv(em *e, LLVMValueRef t);
void sn_cg_cpu_emit_wino(em *e, LLVMValueRef t);
void sn_cg_cpu_emit_matmul(em *e, LLVMValueRef t);
void sn_cg_cpu_emit_axis_op(em *e, LLVMValueRef t);
void sn_cg_cpu_emit_concat(em *e, LLVMValueRef t);
void sn_cg_cpu_emit_maxpool(em *e, LLVMValueRef t);
void sn_cg_cpu_emit_pointwise(em *e, LLVMValueRef t);
void sn_cg_cpu_emit_reshape(em *e, LLVMValueRef t);
void sn_cg_cpu_emit_upsample(em *e, LLVMValueRef t);

#endif
