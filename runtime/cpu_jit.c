/* runtime/cpu_jit.c — object files → callable entry points, through LLVM ORC's LLJIT.
 * The only runtime file that includes llvm-c.
 *
 * One LLJIT per plan (disposing it frees every byte of JIT'd code at once). Each object image
 * goes into its own JITDylib, so two images defining the same symbol (two kernels of one name
 * compiled for different plans, or a kernel duplicated by the caller) never clash; each
 * JITDylib also resolves from the process (libm's expf, memcpy, compiler-rt helpers), which a
 * bare JITDylib would not. Lookups link the object on first use; the plan looks each step's
 * entry up once, at creation.
 */
#include "runtime/runtime_int.h"

#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sn_rt_jit {
    LLVMOrcLLJITRef jit;
    LLVMOrcJITDylibRef *jds;
    int njds, cap;
};

/* The LLVM check: turns an LLVMErrorRef into a status plus "call failed: message". Needs a
 * local `sn_status st` and a `fail:` label. */
#define SN_LLVM_CHECK(call)                                                                        \
    do {                                                                                           \
        LLVMErrorRef e_ = (call);                                                                  \
        if (e_) {                                                                                  \
            st = llvm_fail(e_, #call, err, errlen);                                                \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

static sn_status llvm_fail(LLVMErrorRef e, const char *call, char *err, size_t errlen) {
    char *msg = LLVMGetErrorMessage(e); /* consumes e */
    sn_status st = sn_fail(err, errlen, SN_ERR_DEVICE, "%s failed: %s", call, msg);
    LLVMDisposeErrorMessage(msg);
    return st;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_failed;
static char host_cpu[128] = "generic";

static void init_llvm(void) {
    if (LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter())
        init_failed = 1;
    char *name = LLVMGetHostCPUName();
    if (name && *name)
        snprintf(host_cpu, sizeof host_cpu, "%s", name);
    LLVMDisposeMessage(name);
}

const char *sn_rt_jit_host_cpu(void) {
    pthread_once(&init_once, init_llvm);
    return host_cpu;
}

sn_status sn_rt_jit_new(sn_rt_jit **out, char *err, size_t errlen) {
    sn_status st = SN_OK;
    *out = NULL;
    pthread_once(&init_once, init_llvm);
    if (init_failed)
        return sn_fail(err, errlen, SN_ERR_DEVICE,
                       "LLVMInitializeNativeTarget failed: LLVM has no native target");
    sn_rt_jit *j = calloc(1, sizeof *j);
    if (!j)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "cpu jit: out of memory");
    SN_LLVM_CHECK(LLVMOrcCreateLLJIT(&j->jit, NULL));
    *out = j;
    return SN_OK;
fail:
    free(j);
    return st;
}

void sn_rt_jit_free(sn_rt_jit *j) {
    if (!j)
        return;
    if (j->jit) {
        LLVMErrorRef e = LLVMOrcDisposeLLJIT(j->jit);
        if (e)
            LLVMConsumeError(e);
    }
    free(j->jds);
    free(j);
}

sn_status sn_rt_jit_add_object(sn_rt_jit *j, const void *obj, size_t len, int *module, char *err,
                               size_t errlen) {
    sn_status st = SN_OK;
    if (j->njds == j->cap) {
        int ncap = j->cap ? j->cap * 2 : 16;
        LLVMOrcJITDylibRef *n = realloc(j->jds, (size_t)ncap * sizeof *n);
        if (!n)
            return sn_fail(err, errlen, SN_ERR_NOMEM, "cpu jit: out of memory");
        j->jds = n;
        j->cap = ncap;
    }
    char name[64];
    snprintf(name, sizeof name, "sn_image_%d", j->njds);
    LLVMOrcExecutionSessionRef es = LLVMOrcLLJITGetExecutionSession(j->jit);
    LLVMOrcJITDylibRef jd = NULL;
    LLVMOrcDefinitionGeneratorRef gen = NULL;
    SN_LLVM_CHECK(LLVMOrcExecutionSessionCreateJITDylib(es, &jd, name));
    SN_LLVM_CHECK(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
        &gen, LLVMOrcLLJITGetGlobalPrefix(j->jit), NULL, NULL));
    LLVMOrcJITDylibAddGenerator(jd, gen); /* jd owns gen */
    /* The buffer is a copy: LLJIT takes ownership and the caller's image may go away. */
    LLVMMemoryBufferRef buf =
        LLVMCreateMemoryBufferWithMemoryRangeCopy((const char *)obj, len, name);
    SN_LLVM_CHECK(LLVMOrcLLJITAddObjectFile(j->jit, jd, buf));
    j->jds[j->njds] = jd;
    *module = j->njds++;
    return SN_OK;
fail:
    return st;
}

typedef struct lookup_ctx {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    LLVMErrorRef e;
    uint64_t addr;
} lookup_ctx;

static void lookup_done(LLVMErrorRef e, LLVMOrcCSymbolMapPairs result, size_t n, void *arg) {
    lookup_ctx *c = arg;
    pthread_mutex_lock(&c->mu);
    c->e = e;
    if (!e && n >= 1)
        c->addr = result[0].Sym.Address;
    c->done = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

sn_status sn_rt_jit_lookup(sn_rt_jit *j, int module, const char *name, void **addr, char *err,
                           size_t errlen) {
    sn_status st = SN_OK;
    *addr = NULL;
    if (module < 0 || module >= j->njds)
        return sn_fail(err, errlen, SN_ERR_INVALID, "cpu jit: no module %d", module);
    LLVMOrcCJITDylibSearchOrderElement order[1] = {
        {j->jds[module], LLVMOrcJITDylibLookupFlagsMatchExportedSymbolsOnly}};
    /* The name is retained by MangleAndIntern and released by the lookup. */
    LLVMOrcCLookupSetElement syms[2] = {
        {LLVMOrcLLJITMangleAndIntern(j->jit, name), LLVMOrcSymbolLookupFlagsRequiredSymbol},
        {NULL, LLVMOrcSymbolLookupFlagsRequiredSymbol}};
    lookup_ctx c = {.done = 0, .e = NULL, .addr = 0};
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    /* Runs the callback in place with LLJIT's default dispatcher; wait anyway in case a
     * future LLVM runs it on another thread. */
    LLVMOrcExecutionSessionLookup(LLVMOrcLLJITGetExecutionSession(j->jit), LLVMOrcLookupKindStatic,
                                  order, 1, syms, 1, lookup_done, &c);
    pthread_mutex_lock(&c.mu);
    while (!c.done)
        pthread_cond_wait(&c.cv, &c.mu);
    pthread_mutex_unlock(&c.mu);
    pthread_mutex_destroy(&c.mu);
    pthread_cond_destroy(&c.cv);
    if (c.e) {
        char call[300];
        snprintf(call, sizeof call, "LLVMOrcExecutionSessionLookup(\"%s\")", name);
        return llvm_fail(c.e, call, err, errlen);
    }
    if (!c.addr)
        return sn_fail(err, errlen, SN_ERR_DEVICE, "cpu jit: symbol %s has address 0", name);
    *addr = (void *)(uintptr_t)c.addr;
    return st;
}
