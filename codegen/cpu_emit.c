/* codegen/cpu_emit.c — LLVM IR for a CPU kernel: the kernel function (signature, attributes,
 * argument loads, the task loop) around the class's emitter. The emitters and what they share
 * are described in cpu_emit_int.h. */
#include "codegen/cpu_emit_int.h"

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
            sn_cg_cpu_emit_wino(e, task);
        else
            sn_cg_cpu_emit_conv(e, task);
        break;
    case SN_CG_CPU_DWCONV:
        sn_cg_cpu_emit_dwconv(e, task);
        break;
    case SN_CG_CPU_MATMUL:
        sn_cg_cpu_emit_matmul(e, task);
        break;
    case SN_CG_CPU_POINTWISE:
        sn_cg_cpu_emit_pointwise(e, task);
        break;
    case SN_CG_CPU_MAXPOOL:
        sn_cg_cpu_emit_maxpool(e, task);
        break;
    case SN_CG_CPU_UPSAMPLE:
        sn_cg_cpu_emit_upsample(e, task);
        break;
    case SN_CG_CPU_SOFTMAX:
    case SN_CG_CPU_REDUCE:
        sn_cg_cpu_emit_axis_op(e, task);
        break;
    case SN_CG_CPU_CONCAT:
        sn_cg_cpu_emit_concat(e, task);
        break;
    case SN_CG_CPU_RESHAPE:
        sn_cg_cpu_emit_reshape(e, task);
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
