/* runtime/cpu_jit_none.c — the JIT's entry points in a build without LLVM 19 (top
 * CMakeLists.txt: SN_WITH_LLVM), compiled instead of cpu_jit.c. A cpu plan that needs code
 * fails at creation with this message; plans of copies alone, the cache and every cuda path
 * work as in a full build. */
#include "runtime/runtime_int.h"

#define SN_RT_NO_JIT                                                                               \
    "this sinter was built without LLVM 19, so it cannot run cpu kernels "                         \
    "(install llvm-19-dev and rebuild)"

const char *sn_rt_jit_host_cpu(void) { return "generic"; }

sn_status sn_rt_jit_new(sn_rt_jit **out, char *err, size_t errlen) {
    *out = NULL;
    return sn_fail(err, errlen, SN_ERR_UNSUPPORTED, SN_RT_NO_JIT);
}

sn_status sn_rt_jit_add_object(sn_rt_jit *j, const void *obj, size_t len, int *module, char *err,
                               size_t errlen) {
    (void)j;
    (void)obj;
    (void)len;
    *module = -1;
    return sn_fail(err, errlen, SN_ERR_UNSUPPORTED, SN_RT_NO_JIT);
}

sn_status sn_rt_jit_lookup(sn_rt_jit *j, int module, const char *name, void **addr, char *err,
                           size_t errlen) {
    (void)j;
    (void)module;
    (void)name;
    *addr = NULL;
    return sn_fail(err, errlen, SN_ERR_UNSUPPORTED, SN_RT_NO_JIT);
}

void sn_rt_jit_free(sn_rt_jit *j) { (void)j; }
