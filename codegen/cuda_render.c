/* codegen/cuda_render.c — the CUDA renderer's entry: one fused group → one CUDA C kernel.
 *
 * Dispatch by anchor (codegen_int.h):
 *   CONV2D                         cuda_conv.c (mma / fma implicit GEMM, direct)
 *   MATMUL                         cuda_matmul.c
 *   SOFTMAX, REDUCE_SUM            cuda_reduce.c
 *   POINTWISE, UPSAMPLE, MAXPOOL,
 *   CONCAT, RESHAPE                cuda_pointwise.c (index-space kernels)
 * The kernel's name is lower's base name (sn_cg_group_basename); its spec records the
 * template and every tunable, so a tuned configuration changes the cache key.
 */
#include "codegen/cuda_int.h"

#include <stdlib.h>
#include <string.h>

sn_status sn_cg_cuda_render_group_tuned(sn_cg_lower_ctx *c, const sn_cg_group *g,
                                        const sn_cg_cuda_tune *tu, sn_cg_kernel *k, char *err,
                                        size_t errlen) {
    const sn_cg_target *t = g->target;
    if (!t || t->backend != &sn_cg_backend_cuda) {
        sn_errf(err, errlen, "group %d: not a CUDA target", g->id);
        return SN_ERR_INVALID;
    }
    if (t->sm < 70) {
        sn_errf(err, errlen, "group %d: sm_%d is below the supported sm_70", g->id, t->sm);
        return SN_ERR_UNSUPPORTED;
    }
    if (t->dtype != SN_DTYPE_F32 && t->dtype != SN_DTYPE_F16 && t->dtype != SN_DTYPE_BF16) {
        sn_errf(err, errlen, "group %d: CUDA storage dtype %s is not supported", g->id,
                sn_dtype_name(t->dtype));
        return SN_ERR_UNSUPPORTED;
    }
    if (t->dtype == SN_DTYPE_BF16 && t->sm < 80) {
        sn_errf(err, errlen, "group %d: bf16 needs sm_80 or newer (target sm_%d)", g->id, t->sm);
        return SN_ERR_UNSUPPORTED;
    }
    if (g->nvals <= g->nin) {
        sn_errf(err, errlen, "group %d: the group stores nothing", g->id);
        return SN_ERR_INVALID;
    }
    sn_cg_group_basename(g, k->name, sizeof k->name);
    sn_cg_cuda_k kc;
    memset(&kc, 0, sizeof kc);
    kc.g = g;
    kc.t = t;
    kc.k = k;
    kc.ctx = c;
    sn_status st;
    switch (g->anchor) {
    case SN_CG_ANCHOR_CONV2D:
        st = sn_cg_cuda_render_conv(&kc, tu, err, errlen);
        break;
    case SN_CG_ANCHOR_MATMUL:
        st = sn_cg_cuda_render_matmul(&kc, tu, err, errlen);
        break;
    case SN_CG_ANCHOR_SOFTMAX:
    case SN_CG_ANCHOR_REDUCE_SUM:
        st = sn_cg_cuda_render_reduce(&kc, tu, err, errlen);
        break;
    case SN_CG_ANCHOR_POINTWISE:
    case SN_CG_ANCHOR_UPSAMPLE:
    case SN_CG_ANCHOR_MAXPOOL:
    case SN_CG_ANCHOR_CONCAT:
    case SN_CG_ANCHOR_RESHAPE:
        st = sn_cg_cuda_render_space(&kc, tu, err, errlen);
        break;
    default:
        sn_errf(err, errlen, "group %d: anchor %s has no CUDA template", g->id,
                sn_cg_anchor_name(g->anchor));
        st = SN_ERR_UNSUPPORTED;
        break;
    }
    free(kc.src.p);
    kc.src.p = NULL;
    return st;
}

sn_status sn_cg_cuda_render_group(sn_cg_lower_ctx *c, const sn_cg_group *g, sn_cg_kernel *k,
                                  char *err, size_t errlen) {
    return sn_cg_cuda_render_group_tuned(c, g, NULL, k, err, errlen);
}

sn_status sn_cg_cuda_rename(sn_cg_kernel *k, const char *name) {
    return sn_cg_rename_text(k, name);
}
