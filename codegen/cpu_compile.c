/* codegen/cpu_compile.c — CPU kernel → object file: the host target, the LLVM context per
 * compile (so compiles on different threads never share LLVM state), the O3 pipeline and
 * object emission. LLVM is initialised once per process. */
#include "codegen/codegen_int.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SN_LLVM_VERSION
#define SN_LLVM_VERSION "19"
#endif

static pthread_once_t llvm_once = PTHREAD_ONCE_INIT;
static int llvm_ok;

static void llvm_init(void) {
    llvm_ok = LLVMInitializeNativeTarget() == 0 && LLVMInitializeNativeAsmPrinter() == 0;
}

const char *sn_cg_cpu_compiler_id(void) { return "LLVM " SN_LLVM_VERSION; }

sn_status sn_cg_target_host_cpu(sn_cg_target *t, char *err, size_t errlen) {
    pthread_once(&llvm_once, llvm_init);
    memset(t, 0, sizeof *t);
    t->backend = &sn_cg_backend_cpu;
    t->dtype = SN_DTYPE_F32;
    if (!llvm_ok) {
        sn_errf(err, errlen, "LLVM: the native target is not available");
        return SN_ERR_UNSUPPORTED;
    }
    char *name = LLVMGetHostCPUName();
    char *feat = LLVMGetHostCPUFeatures();
    int fit = strlen(name) < sizeof t->cpu_name && strlen(feat) < sizeof t->cpu_features;
    if (fit) {
        snprintf(t->cpu_name, sizeof t->cpu_name, "%s", name);
        snprintf(t->cpu_features, sizeof t->cpu_features, "%s", feat);
    }
    LLVMDisposeMessage(name);
    LLVMDisposeMessage(feat);
    if (!fit) {
        sn_errf(err, errlen, "LLVM: host CPU name/features too long");
        return SN_ERR_UNSUPPORTED;
    }
    /* widest vector the features allow; "-avx512f" also appears, so look for "+" */
    if (strstr(t->cpu_features, "+avx512f"))
        t->vector_bits = 512;
    else if (strstr(t->cpu_features, "+avx2") && strstr(t->cpu_features, "+fma"))
        t->vector_bits = 256;
    else
        t->vector_bits = 128;
    return SN_OK;
}

/* Writes the IR and LLVM's message next to each other for a failed compile. */
static void dump_failure(const char *name, LLVMModuleRef m, const char *msg, char *err,
                         size_t errlen) {
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    char path[512];
    snprintf(path, sizeof path, "%s/sinter-%s-%d.ll", dir, name, (int)getpid());
    char *ir = LLVMPrintModuleToString(m);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "; LLVM error: %s\n", msg);
        fputs(ir, f);
        fclose(f);
    }
    LLVMDisposeMessage(ir);
    sn_errf(err, errlen, "%s: LLVM: %s (IR written to %s)", name, msg,
            f ? path : "nowhere: cannot write");
}

sn_status sn_cg_cpu_compile(sn_cg_kernel *k, const sn_cg_target *t, int want_ir, void **obj,
                            size_t *objlen, char *err, size_t errlen) {
    *obj = NULL;
    *objlen = 0;
    const sn_cg_cpu_impl *ki = k->impl;
    if (!ki) {
        sn_errf(err, errlen, "%s: not a CPU kernel", k->name);
        return SN_ERR_INVALID;
    }
    pthread_once(&llvm_once, llvm_init);
    if (!llvm_ok) {
        sn_errf(err, errlen, "LLVM: the native target is not available");
        return SN_ERR_UNSUPPORTED;
    }
    sn_status st = SN_OK;
    char *triple = LLVMGetDefaultTargetTriple();
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
        sn_errf(err, errlen, "LLVM: %s", msg ? msg : "no target");
        LLVMDisposeMessage(msg);
        LLVMDisposeMessage(triple);
        return SN_ERR_UNSUPPORTED;
    }
    LLVMTargetMachineRef tm =
        LLVMCreateTargetMachine(target, triple, t->cpu_name, t->cpu_features,
                                LLVMCodeGenLevelAggressive, LLVMRelocPIC, LLVMCodeModelDefault);
    LLVMContextRef cx = LLVMContextCreate();
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext(ki->name, cx);
    LLVMSetTarget(m, triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    char *dl = LLVMCopyStringRepOfTargetData(td);
    LLVMSetDataLayout(m, dl);
    LLVMDisposeMessage(dl);
    LLVMDisposeTargetData(td);

    st = sn_cg_cpu_emit(ki, m, t, err, errlen);
    if (st)
        goto done;
#ifdef SN_ENABLE_ASSERT
    if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        dump_failure(ki->name, m, msg ? msg : "invalid module", err, errlen);
        LLVMDisposeMessage(msg);
        st = SN_ERR_COMPILE;
        goto done;
    }
    LLVMDisposeMessage(msg);
    msg = NULL;
#endif
    LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
    LLVMErrorRef perr = LLVMRunPasses(m, "default<O3>", tm, po);
    LLVMDisposePassBuilderOptions(po);
    if (perr) {
        char *em = LLVMGetErrorMessage(perr);
        dump_failure(ki->name, m, em, err, errlen);
        LLVMDisposeErrorMessage(em);
        st = SN_ERR_COMPILE;
        goto done;
    }
    if (want_ir) {
        /* the provenance comment and the spec as ';' lines, then the optimised IR */
        sn_str txt = {0};
        const char *parts[2] = {k->comment, k->spec};
        for (int i = 0; i < 2; i++) {
            const char *q = parts[i] ? parts[i] : "";
            while (*q) {
                const char *nl = strchr(q, '\n');
                int len = nl ? (int)(nl - q) : (int)strlen(q);
                sn_str_printf(&txt, "; %.*s\n", len, q);
                q += len + (nl ? 1 : 0);
            }
        }
        char *ir = LLVMPrintModuleToString(m);
        sn_str_printf(&txt, "%s", ir);
        LLVMDisposeMessage(ir);
        free(k->source);
        k->source = sn_str_take(&txt);
        if (!k->source) {
            st = SN_ERR_NOMEM;
            goto done;
        }
    }
    LLVMMemoryBufferRef mb = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMObjectFile, &msg, &mb)) {
        dump_failure(ki->name, m, msg ? msg : "emit failed", err, errlen);
        LLVMDisposeMessage(msg);
        st = SN_ERR_COMPILE;
        goto done;
    }
    size_t n = LLVMGetBufferSize(mb);
    *obj = malloc(n ? n : 1);
    if (!*obj) {
        st = SN_ERR_NOMEM;
    } else {
        memcpy(*obj, LLVMGetBufferStart(mb), n);
        *objlen = n;
    }
    LLVMDisposeMemoryBuffer(mb);
done:
    LLVMDisposeModule(m);
    LLVMContextDispose(cx);
    LLVMDisposeTargetMachine(tm);
    LLVMDisposeMessage(triple);
    return st;
}

sn_status sn_cg_cpu_emit_ir(const sn_cg_kernel *k, const sn_cg_target *t, char **ir, char *err,
                            size_t errlen) {
    *ir = NULL;
    const sn_cg_cpu_impl *ki = k->impl;
    if (!ki) {
        sn_errf(err, errlen, "%s: not a CPU kernel", k->name);
        return SN_ERR_INVALID;
    }
    LLVMContextRef cx = LLVMContextCreate();
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext(ki->name, cx);
    sn_status st = sn_cg_cpu_emit(ki, m, t, err, errlen);
    if (st == SN_OK) {
        char *text = LLVMPrintModuleToString(m);
        size_t n = strlen(text) + 1;
        *ir = malloc(n);
        if (*ir)
            memcpy(*ir, text, n);
        else
            st = SN_ERR_NOMEM;
        LLVMDisposeMessage(text);
    }
    LLVMDisposeModule(m);
    LLVMContextDispose(cx);
    return st;
}
