/* codegen/cpu_none.c — the CPU backend's entry points in a build without LLVM 19 (see the
 * top CMakeLists.txt: SN_WITH_LLVM). Compiled instead of cpu_emit.c and cpu_compile.c; every
 * call says that this sinter has no CPU backend, so `--backend cpu` fails with that message
 * and the ref and cuda backends work as in a full build. */
#include "codegen/codegen_int.h"

#include <string.h>

#define SN_CG_NO_CPU                                                                               \
    "this sinter was built without LLVM 19, so it has no cpu backend "                             \
    "(install llvm-19-dev and rebuild; ref and cuda work)"

const char *sn_cg_cpu_compiler_id(void) { return "none"; }

sn_status sn_cg_target_host_cpu(sn_cg_target *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    sn_errf(err, errlen, SN_CG_NO_CPU);
    return SN_ERR_UNSUPPORTED;
}

sn_status sn_cg_cpu_compile(sn_cg_kernel *k, const sn_cg_target *t, int want_ir, void **obj,
                            size_t *objlen, char *err, size_t errlen) {
    (void)k;
    (void)t;
    (void)want_ir;
    *obj = NULL;
    *objlen = 0;
    sn_errf(err, errlen, SN_CG_NO_CPU);
    return SN_ERR_UNSUPPORTED;
}

sn_status sn_cg_cpu_emit_ir(const sn_cg_kernel *k, const sn_cg_target *t, char **ir, char *err,
                            size_t errlen) {
    (void)k;
    (void)t;
    *ir = NULL;
    sn_errf(err, errlen, SN_CG_NO_CPU);
    return SN_ERR_UNSUPPORTED;
}
