/* codegen/cuda_gemm.c — the cuda backend's library-call rule: a group that is a lone 1×1
 * convolution (stride 1, no padding, one group; no epilogue) over channels-innermost values
 * becomes a GEMM step (cuBLASLt, runtime/cublaslt.c) instead of a kernel:
 *
 *     D[p][o] = sum_c X[p][c] · W[o][c] (+ bias[o])      p over N·H·W pixels
 *
 * A = X (m = N·H·W, k = Cin, lda = the input's pixel stride), B = W stored [Cout][Cin]
 * (trans_b, ldb = Cin, packed in the compute dtype), D = the output (ldd = its pixel stride).
 *
 * The cost rule (sn_cg_target.gemm_rule): by default f16/bf16 only, where cuBLASLt's tensor
 * core kernels are what the MMA template competes with, and only from 2^22 multiply-adds, below
 * which a launch of the fused template costs less than the library's; rule 1 takes every
 * eligible conv in any dtype (tests), -1 none. Fused groups carry epilogues (BatchNorm folded
 * into the bias, SiLU), so the rule fires on eager plans and on plain 1×1 convs. Tuning will
 * replace the rule by measurements. */
#include "codegen/cuda_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The pixel stride of an NCHW-logical value stored channels-innermost with pixels evenly
 * spaced (n, h, w strides consistent), or 0. */
static int64_t pixel_stride(const sn_cg_val *v) {
    const int64_t *s = v->stride, *d = v->shape.d;
    if (v->shape.ndim != 4 || s[1] != 1 || s[3] < d[1])
        return 0;
    if ((d[2] > 1 && s[2] != d[3] * s[3]) || (d[0] > 1 && s[0] != d[2] * d[3] * s[3]))
        return 0;
    return s[3];
}

static sn_rt_dtype rt_dtype(sn_dtype t) {
    return t == SN_DTYPE_F16 ? SN_RT_F16 : t == SN_DTYPE_BF16 ? SN_RT_BF16 : SN_RT_F32;
}

/* Packs n floats in dtype t under (node, tag); returns the offset or -1. */
static int64_t pack(sn_cg_lower_ctx *c, int32_t node, int32_t tag, const float *src, int64_t n,
                    sn_dtype t) {
    size_t es = t == SN_DTYPE_F32 ? 4 : 2;
    uint8_t *buf = malloc((size_t)n * es + 1);
    if (!buf)
        return -1;
    for (int64_t i = 0; i < n; i++) {
        if (t == SN_DTYPE_F32) {
            memcpy(buf + 4 * i, &src[i], 4);
        } else {
            uint16_t h = t == SN_DTYPE_F16 ? sn_f32_to_f16(src[i]) : sn_f32_to_bf16(src[i]);
            memcpy(buf + 2 * i, &h, 2);
        }
    }
    int64_t off = sn_cg_weights_add(c, node, tag, buf, (size_t)n * es);
    free(buf);
    return off;
}

int sn_cg_cuda_gemm(sn_cg_lower_ctx *c, const sn_cg_group *g, sn_cg_step *s, char *err,
                    size_t errlen) {
    const sn_cg_target *t = g->target;
    const sn_cg_conv *cv = &g->conv;
    if (t->gemm_rule < 0 || g->anchor != SN_CG_ANCHOR_CONV2D || g->nops != 1 || g->ops[0].store < 0)
        return 0;
    if (cv->kh != 1 || cv->kw != 1 || cv->sh != 1 || cv->sw != 1 || cv->ph || cv->pw ||
        cv->groups != 1)
        return 0;
    if (t->gemm_rule == 0 && t->dtype == SN_DTYPE_F32)
        return 0;
    const int64_t m = cv->n * cv->oh * cv->ow, k = cv->c, n = cv->o;
    if (t->gemm_rule == 0 && (double)m * (double)n * (double)k < (double)(1 << 22))
        return 0;
    int xi = g->anchor_in[0], wi = g->anchor_in[1], bi = g->anchor_in[2], di = g->ops[0].store;
    const sn_cg_val *x = &g->vals[xi], *w = &g->vals[wi], *d = &g->vals[di];
    sn_dtype dt = sn_cg_cuda_val_dtype(g, xi);
    int64_t lda = pixel_stride(x), ldd = pixel_stride(d);
    if (!lda || !ldd || x->is_weight || !w->is_weight || !w->data ||
        sn_cg_cuda_val_dtype(g, di) != dt || (bi >= 0 && !g->vals[bi].data))
        return 0;
    memset(s, 0, sizeof *s);
    s->kind = SN_RT_STEP_GEMM;
    sn_rt_gemm *q = &s->gemm;
    q->m = m;
    q->n = n;
    q->k = k;
    q->ab_type = q->d_type = rt_dtype(dt);
    q->trans_b = 1;
    q->lda = lda;
    q->ldb = k;
    q->ldd = ldd;
    q->alpha = 1.0f;
    q->allow_tf32 = t->allow_tf32;
    int64_t woff = pack(c, w->node, 5000000 + (int)dt, w->data, n * k, dt);
    if (woff < 0) {
        sn_errf(err, errlen, "group %d: out of memory packing the GEMM weight", g->id);
        return -1;
    }
    s->args[0] = x->loc;
    s->args[1] = (sn_cg_arg){SN_CG_ARG_WEIGHTS, 0, woff};
    s->args[2] = d->loc;
    s->nargs = 3;
    if (bi >= 0) {
        int64_t boff = pack(c, g->vals[bi].node, 5000000 + (int)dt, g->vals[bi].data, n, dt);
        if (boff < 0) {
            sn_errf(err, errlen, "group %d: out of memory packing the GEMM bias", g->id);
            return -1;
        }
        q->bias = SN_RT_GEMM_BIAS_N;
        s->args[3] = (sn_cg_arg){SN_CG_ARG_WEIGHTS, 0, boff};
        s->nargs = 4;
    }
    snprintf(s->name, sizeof s->name, "gemm_conv1x1_%lldx%lldx%lldx%lld_%s", (long long)cv->n,
             (long long)n, (long long)cv->oh, (long long)cv->ow, sn_dtype_name(dt));
    return 1;
}
