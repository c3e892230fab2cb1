/* codegen/cuda_conv.c — conv2d kernels.
 *
 * Three templates, chosen per conv (sn_cg_cuda_conv_heuristic):
 *
 *   MMA (f16 / bf16, sm_80+): implicit GEMM on tensor cores. C[M x N] = A[M x K] * B[K x N]
 *     per conv group (blockIdx.z), M = batch*OH*OW output pixels, N = O/groups output
 *     channels, K = KH*KW*C/groups ordered (kh, kw, c) so that, in NHWC, 8 consecutive k are
 *     16 contiguous bytes. A is gathered from the activation through its strides (zero
 *     padding); B is the weight, packed here as [group][N padded to BN][K padded to BK] in
 *     the target dtype (K-major: the "col" operand of mma.row.col), so its loads need no
 *     bounds. A block computes BM x BN with warps_m x warps_n (x warps_k) warps; each warp
 *     (BM/warps_m) x (BN/warps_n) as 16x8 tiles of mma.sync.m16n8k16 with f32 accumulators
 *     (with warps_k > 1, the warp groups take interleaved 16-wide k slices of every tile and
 *     add their accumulators through shared memory at the end: more warps for the small-M
 *     tail layers, no workspace), fragments read
 *     by ldmatrix from shared tiles padded by 16 bytes per row (conflict-free). Tiles are
 *     brought in by cp.async, `stages` deep. A's loads are 16-byte cp.async (zero-filled at
 *     the padding) when the input is NHWC in the target dtype with C/groups % 8 == 0 and
 *     aligned; otherwise (the stem's f32 NCHW image, C = 3) one element per thread, converted
 *     on the way into shared memory.
 *
 *   FMA (f32): the same GEMM in true fp32 FMAs (no TF32). Each thread computes tm x tn
 *     outputs (tn in groups of 4 adjacent channels); A tiles [BM][BK+4] by 16-byte cp.async
 *     (or element loads), B packed f32 [group][K padded][N padded] and read as float4.
 *
 *   DIRECT: depthwise and thin grouped convs (C/groups or O/groups small): an index-space
 *     kernel (cuda_pointwise.c) whose anchor value is the window sum, `vec` adjacent channels
 *     per thread in NHWC. Weights packed f32 [KH][KW][O][C/groups].
 *
 * Every template ends in the shared epilogue (bias added to the accumulator, then the fused
 * ops, stored through the output strides — a concat slice or NCHW graph output alike).
 */
#include "codegen/cuda_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- shape helpers */

static int64_t pow2ceil(int64_t v) {
    int64_t p = 1;
    while (p < v)
        p *= 2;
    return p;
}

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

typedef struct conv_dims {
    int64_t cg, og, K, M;
    int depthwise;
} conv_dims;

static conv_dims dims_of(const sn_cg_group *g) {
    const sn_cg_conv *cv = &g->conv;
    conv_dims d;
    d.cg = cv->c / cv->groups;
    d.og = cv->o / cv->groups;
    d.K = cv->kh * cv->kw * d.cg;
    d.M = cv->n * cv->oh * cv->ow;
    d.depthwise = d.cg == 1;
    return d;
}

/* The x val's element strides [N, C, H, W]. */
static const int64_t *xstride(const sn_cg_group *g) { return g->vals[g->anchor_in[0]].stride; }

/* A's 16-byte cp.async gather is valid: NHWC in the smem dtype, C/groups multiple of the
 * chunk, every other stride and the base aligned to it. chunk = 16 bytes / element size. */
static int a_vec_ok(const sn_cg_group *g, sn_dtype smem_dt) {
    const sn_cg_val *x = &g->vals[g->anchor_in[0]];
    conv_dims d = dims_of(g);
    int es = sn_cg_cuda_ssize(smem_dt);
    int chunk = 16 / es;
    if (sn_cg_cuda_val_dtype(g, g->anchor_in[0]) != smem_dt)
        return 0;
    if (x->stride[1] != 1 && x->shape.d[1] > 1)
        return 0;
    if (d.cg % chunk != 0)
        return 0;
    if (x->loc.offset < 0 || x->loc.offset % 16 != 0)
        return 0;
    for (int k = 0; k < 4; k++)
        if (k != 1 && x->shape.d[k] > 1 && x->stride[k] % chunk != 0)
            return 0;
    return 1;
}

/* ---------------------------------------------------------------- heuristic */

#define SN_CG_CUDA_WAVE 264 /* ~2 blocks per SM on a 132-SM part; enough to fill A100/H100 */

static int mma_smem(const sn_cg_cuda_tune *t) {
    return t->stages * (t->bm + t->bn) * (t->bk + 8) * 2;
}

/* Shared memory the sliced-K reduction reuses (must fit in the pipeline's). */
static int mma_red_smem(const sn_cg_cuda_tune *t) {
    int wk = t->warps_k ? t->warps_k : 1;
    return (wk - 1) * t->bm * t->bn * 4;
}

static int fma_smem(const sn_cg_cuda_tune *t) {
    return t->stages * (t->bm * (t->bk + 4) + t->bk * t->bn) * 4;
}

static void mma_warps(sn_cg_cuda_tune *t) {
    if (t->bm >= 128 && t->bn >= 128) {
        t->warps_m = 2;
        t->warps_n = 4;
        return;
    }
    t->warps_n = t->bn >= 64 ? 2 : 1;
    int wm = 4 / t->warps_n;
    while (wm > 1 && t->bm / wm < 16)
        wm /= 2;
    t->warps_m = wm;
}

void sn_cg_cuda_conv_heuristic(const sn_cg_group *g, sn_cg_cuda_tune *t) {
    const sn_cg_target *tg = g->target;
    conv_dims d = dims_of(g);
    const sn_cg_conv *cv = &g->conv;
    memset(t, 0, sizeof *t);
    int half = tg->dtype == SN_DTYPE_F16 || tg->dtype == SN_DTYPE_BF16;
    /* the GEMM templates zero-fill the padding: over NaN/Inf weights (0·NaN) they would
     * differ from ref at the borders, the direct template leaves padding taps out */
    if ((cv->groups > 1 && (d.cg < 8 || d.og < 8)) ||
        !sn_cg_val_finite(&g->vals[g->anchor_in[1]])) {
        t->algo = SN_CG_CUDA_ALGO_DIRECT;
        t->threads = 256;
        t->max_blocks = 8192;
        return;
    }
    if (half && tg->sm >= 80) {
        t->algo = SN_CG_CUDA_ALGO_MMA;
        t->bn = (int)pow2ceil(d.og);
        if (t->bn < 16)
            t->bn = 16;
        if (t->bn > 128)
            t->bn = 128;
        t->bm = 128;
        int64_t nblk_n = cdiv(d.og, t->bn) * cv->groups;
        while (t->bm > 32 && cdiv(d.M, t->bm) * nblk_n < SN_CG_CUDA_WAVE)
            t->bm /= 2;
        while (t->bn > 32 && cdiv(d.M, t->bm) * cdiv(d.og, t->bn) * cv->groups < SN_CG_CUDA_WAVE)
            t->bn /= 2;
        t->bk = d.K <= 16 ? 16 : 32;
        mma_warps(t);
        t->warps_k = 1;
        int64_t blocks = cdiv(d.M, t->bm) * cdiv(d.og, t->bn) * cv->groups;
        if (blocks < SN_CG_CUDA_WAVE && d.K >= 256 && t->warps_m * t->warps_n <= 2) {
            /* few blocks, long K: sliced K over more warps, 64-wide k tiles */
            t->bk = 64;
            t->warps_k = 8 / (t->warps_m * t->warps_n);
            if (t->warps_k > 4)
                t->warps_k = 4;
        } else if (d.K >= 1024) {
            sn_cg_cuda_tune w = *t;
            w.bk = 64;
            w.stages = 3; /* 64-wide k tiles only when three stages still fit */
            if (mma_smem(&w) <= SN_CG_CUDA_SMEM_DYN_MAX)
                t->bk = 64;
        }
        int kt = (int)cdiv(d.K, t->bk);
        int smax = kt >= 16 ? 6 : 4;
        for (int s = smax; s >= 2; s--) {
            t->stages = s;
            if (mma_smem(t) <= SN_CG_CUDA_SMEM_DYN_MAX && (s <= kt || s == 2))
                break;
        }
        if (mma_smem(t) > SN_CG_CUDA_SMEM_DYN_MAX || mma_red_smem(t) > mma_smem(t)) {
            t->bk = 32;
            t->warps_k = 1;
            t->stages = 2;
        }
        t->threads = t->warps_m * t->warps_n * t->warps_k * 32;
        return;
    }
    /* f32 (or a half dtype below sm_80): fp32 FMA */
    t->algo = SN_CG_CUDA_ALGO_FMA;
    t->threads = 256;
    if (d.og > 64) {
        t->bn = 128;
        t->tn = 8;
    } else if (d.og > 32) {
        t->bn = 64;
        t->tn = 4;
    } else if (d.og > 16) {
        t->bn = 32;
        t->tn = 4;
    } else {
        t->bn = 16;
        t->tn = 4;
    }
    int tx = t->bn / t->tn, ty = t->threads / tx;
    t->tm = t->bn >= 64 ? 8 : 4;
    int64_t nblk_n = cdiv(d.og, t->bn) * cv->groups;
    while (t->tm > 2 && cdiv(d.M, (int64_t)ty * t->tm) * nblk_n < SN_CG_CUDA_WAVE)
        t->tm /= 2;
    t->bm = ty * t->tm;
    t->bk = 16;
    int kt = (int)cdiv(d.K, t->bk);
    for (int s = 3; s >= 2; s--) {
        t->stages = s;
        if (fma_smem(t) <= SN_CG_CUDA_SMEM_MAX && (s <= kt || s == 2))
            break;
    }
}

/* Fills zero fields of *t from the heuristic and checks the template's constraints. */
static sn_status tune_complete(const sn_cg_group *g, sn_cg_cuda_tune *t, char *err, size_t errlen) {
    sn_cg_cuda_tune h;
    sn_cg_cuda_conv_heuristic(g, &h);
    if (t->algo == SN_CG_CUDA_ALGO_AUTO)
        t->algo = h.algo;
    if (t->algo != h.algo) {
        /* a forced algorithm: fill from the heuristic for that algorithm where sensible */
        if (t->algo == SN_CG_CUDA_ALGO_MMA &&
            !(g->target->dtype == SN_DTYPE_F16 || g->target->dtype == SN_DTYPE_BF16)) {
            sn_errf(err, errlen, "group %d: the mma conv needs an f16/bf16 target", g->id);
            return SN_ERR_UNSUPPORTED;
        }
        if (t->algo != SN_CG_CUDA_ALGO_DIRECT && h.algo == SN_CG_CUDA_ALGO_DIRECT) {
            conv_dims d = dims_of(g);
            if (d.cg < 1)
                return SN_ERR_UNSUPPORTED;
        }
        if (t->algo == SN_CG_CUDA_ALGO_DIRECT)
            h = (sn_cg_cuda_tune){
                .algo = SN_CG_CUDA_ALGO_DIRECT, .threads = 256, .max_blocks = 8192};
        else if (t->algo == SN_CG_CUDA_ALGO_MMA)
            h = (sn_cg_cuda_tune){.algo = SN_CG_CUDA_ALGO_MMA,
                                  .bm = 128,
                                  .bn = 64,
                                  .bk = 32,
                                  .stages = 2,
                                  .warps_k = 1};
        else
            h = (sn_cg_cuda_tune){.algo = SN_CG_CUDA_ALGO_FMA,
                                  .bm = 128,
                                  .bn = 64,
                                  .bk = 16,
                                  .tm = 8,
                                  .tn = 4,
                                  .stages = 2,
                                  .threads = 256};
    }
#define FILL(f)                                                                                    \
    if (!t->f)                                                                                     \
    t->f = h.f
    FILL(bm);
    FILL(bn);
    FILL(bk);
    FILL(tm);
    FILL(tn);
    FILL(stages);
    FILL(max_blocks);
    FILL(vec);
    FILL(warps_k);
#undef FILL
    if (t->algo == SN_CG_CUDA_ALGO_MMA) {
        if (!t->warps_m || !t->warps_n)
            mma_warps(t);
        if (!t->warps_k)
            t->warps_k = 1;
        t->threads = t->warps_m * t->warps_n * t->warps_k * 32;
        int nt = t->threads, kc = t->bk / 8;
        int wtm = t->bm / t->warps_m, wtn = t->bn / t->warps_n;
        if (t->bk % (16 * t->warps_k) || wtm % 16 || wtn % 8 || wtm < 16 || wtn < 8 ||
            t->stages < 2 || nt > 1024 || nt % kc || nt % t->bk ||
            mma_smem(t) > SN_CG_CUDA_SMEM_DYN_MAX || mma_red_smem(t) > mma_smem(t)) {
            sn_errf(err, errlen,
                    "group %d: mma conv tile bm=%d bn=%d bk=%d warps=%dx%dx%d stages=%d "
                    "is not valid",
                    g->id, t->bm, t->bn, t->bk, t->warps_m, t->warps_n, t->warps_k, t->stages);
            return SN_ERR_INVALID;
        }
    } else if (t->algo == SN_CG_CUDA_ALGO_FMA) {
        if (!t->threads)
            t->threads = 256;
        int tx = t->tn ? t->bn / t->tn : 0, ty = t->tm ? t->bm / t->tm : 0;
        int kc = t->bk / 4;
        if (!tx || !ty || t->tn % 4 || tx * t->tn != t->bn || ty * t->tm != t->bm ||
            tx * ty != t->threads || t->bk % 4 || t->stages < 2 || t->threads % kc ||
            t->threads % t->bk || fma_smem(t) > SN_CG_CUDA_SMEM_MAX) {
            sn_errf(err, errlen,
                    "group %d: fma conv tile bm=%d bn=%d bk=%d tm=%d tn=%d stages=%d "
                    "threads=%d is not valid",
                    g->id, t->bm, t->bn, t->bk, t->tm, t->tn, t->stages, t->threads);
            return SN_ERR_INVALID;
        }
        t->warps_m = t->warps_n = t->warps_k = 0;
    } else {
        if (!t->threads)
            t->threads = 256;
        t->bm = t->bn = t->bk = t->tm = t->tn = t->stages = 0;
        t->warps_m = t->warps_n = t->warps_k = 0;
    }
    return SN_OK;
}

/* ---------------------------------------------------------------- weight packing */

static sn_status pack_weights(sn_cg_cuda_k *kc, const sn_cg_cuda_tune *t, char *err,
                              size_t errlen) {
    const sn_cg_group *g = kc->g;
    const sn_cg_conv *cv = &g->conv;
    conv_dims d = dims_of(g);
    int wi = g->anchor_in[1], bi = g->anchor_in[2];
    const float *w = g->vals[wi].data;
    if (!w) {
        sn_errf(err, errlen, "group %d: conv weight has no data", g->id);
        return SN_ERR_INVALID;
    }
    const int64_t khw = cv->kh * cv->kw;
    void *buf = NULL;
    size_t bytes = 0;
    int tag;
    if (t->algo == SN_CG_CUDA_ALGO_MMA) {
        int64_t np = cdiv(d.og, t->bn) * t->bn, kp = cdiv(d.K, t->bk) * t->bk;
        bytes = (size_t)(cv->groups * np * kp) * 2;
        uint16_t *p = calloc(bytes / 2 + 1, 2);
        if (!p)
            return SN_ERR_NOMEM;
        int bf = g->target->dtype == SN_DTYPE_BF16;
        for (int64_t gr = 0; gr < cv->groups; gr++)
            for (int64_t o = 0; o < d.og; o++)
                for (int64_t k = 0; k < d.K; k++) {
                    int64_t c = k % d.cg, r = k / d.cg, kw = r % cv->kw, kh = r / cv->kw;
                    float v = w[((gr * d.og + o) * d.cg + c) * khw + kh * cv->kw + kw];
                    p[(gr * np + o) * kp + k] = bf ? sn_f32_to_bf16(v) : sn_f32_to_f16(v);
                }
        buf = p;
        tag = 1000000 * (1 + bf) + t->bn * 1000 + t->bk;
    } else if (t->algo == SN_CG_CUDA_ALGO_FMA) {
        int64_t np = cdiv(d.og, t->bn) * t->bn, kp = cdiv(d.K, t->bk) * t->bk;
        bytes = (size_t)(cv->groups * np * kp) * 4;
        float *p = calloc(bytes / 4 + 1, 4);
        if (!p)
            return SN_ERR_NOMEM;
        for (int64_t gr = 0; gr < cv->groups; gr++)
            for (int64_t o = 0; o < d.og; o++)
                for (int64_t k = 0; k < d.K; k++) {
                    int64_t c = k % d.cg, r = k / d.cg, kw = r % cv->kw, kh = r / cv->kw;
                    p[(gr * kp + k) * np + o] =
                        w[((gr * d.og + o) * d.cg + c) * khw + kh * cv->kw + kw];
                }
        buf = p;
        tag = 3000000 + t->bn * 1000 + t->bk;
    } else {
        /* [KH][KW][O][CG] */
        bytes = (size_t)(cv->o * d.K) * 4;
        float *p = calloc(bytes / 4 + 1, 4);
        if (!p)
            return SN_ERR_NOMEM;
        for (int64_t o = 0; o < cv->o; o++)
            for (int64_t c = 0; c < d.cg; c++)
                for (int64_t kh = 0; kh < cv->kh; kh++)
                    for (int64_t kw = 0; kw < cv->kw; kw++)
                        p[((kh * cv->kw + kw) * cv->o + o) * d.cg + c] =
                            w[(o * d.cg + c) * khw + kh * cv->kw + kw];
        buf = p;
        tag = 4000000;
    }
    int64_t off = sn_cg_weights_add(kc->ctx, g->vals[wi].node, tag, buf, bytes);
    free(buf);
    if (off < 0)
        return SN_ERR_NOMEM;
    kc->k->args[wi].kind = SN_CG_ARG_WEIGHTS;
    kc->k->args[wi].offset = off;
    if (bi >= 0) {
        const float *b = g->vals[bi].data;
        if (!b) {
            sn_errf(err, errlen, "group %d: conv bias has no data", g->id);
            return SN_ERR_INVALID;
        }
        int64_t boff =
            sn_cg_weights_add(kc->ctx, g->vals[bi].node, 0, b, (size_t)cv->o * sizeof(float));
        if (boff < 0)
            return SN_ERR_NOMEM;
        kc->k->args[bi].kind = SN_CG_ARG_WEIGHTS;
        kc->k->args[bi].offset = boff;
    }
    return SN_OK;
}

/* ---------------------------------------------------------------- the direct conv body */

sn_status sn_cg_cuda_direct_conv_body(sn_cg_cuda_k *kc, int ind, const char *const *idx, int L,
                                      int vec) {
    const sn_cg_group *g = kc->g;
    const sn_cg_conv *cv = &g->conv;
    conv_dims d = dims_of(g);
    int xi = g->anchor_in[0], wi = g->anchor_in[1], bi = g->anchor_in[2];
    const sn_cg_val *x = &g->vals[xi];
    const int64_t *xs = x->stride;
    int64_t xext[4] = {x->shape.d[0], x->shape.d[1], x->shape.d[2], x->shape.d[3]};
    sn_cg_cuda_line(kc, ind, "float x_[%d];", vec);
    if (bi >= 0) {
        if (vec > 1)
            sn_cg_cuda_line(kc, ind, "sn_ldv<%d>(a%d + %s, x_);", vec, bi, idx[1]);
        else
            sn_cg_cuda_line(kc, ind, "x_[0] = a%d[%s];", bi, idx[1]);
    } else {
        sn_cg_cuda_line(kc, ind, "#pragma unroll");
        sn_cg_cuda_line(kc, ind, "for (int v = 0; v < %d; ++v) x_[v] = 0.0f;", vec);
    }
    sn_cg_cuda_line(kc, ind, "const sn_idx ih0 = (sn_idx)%s * %lld - %lld;", idx[2],
                    (long long)cv->sh, (long long)cv->ph);
    sn_cg_cuda_line(kc, ind, "const sn_idx iw0 = (sn_idx)%s * %lld - %lld;", idx[3],
                    (long long)cv->sw, (long long)cv->pw);
    if (!d.depthwise || d.og != 1)
        sn_cg_cuda_line(kc, ind, "const sn_idx g_ = (sn_idx)%s / %lld;", idx[1], (long long)d.og);
    sn_cg_cuda_line(kc, ind, "#pragma unroll");
    sn_cg_cuda_line(kc, ind, "for (int kh = 0; kh < %lld; ++kh) {", (long long)cv->kh);
    sn_cg_cuda_line(kc, ind + 4, "const sn_idx ih = ih0 + kh * %lld;", (long long)cv->dh);
    sn_cg_cuda_line(kc, ind + 4, "if (ih < 0 || ih >= %lld) continue;", (long long)cv->h);
    sn_cg_cuda_line(kc, ind + 4, "#pragma unroll");
    sn_cg_cuda_line(kc, ind + 4, "for (int kw = 0; kw < %lld; ++kw) {", (long long)cv->kw);
    sn_cg_cuda_line(kc, ind + 8, "const sn_idx iw = iw0 + kw * %lld;", (long long)cv->dw);
    sn_cg_cuda_line(kc, ind + 8, "if (iw < 0 || iw >= %lld) continue;", (long long)cv->w);
    int in2 = ind + 8;
    char off[1024];
    if (d.depthwise && d.og == 1) {
        /* lanes: channel o reads channel o */
        const char *ii[4] = {idx[0], idx[1], "ih", "iw"};
        sn_cg_cuda_offset_expr(off, sizeof off, 4, xext, ii, xs);
        int64_t ls = vec > 1 && L >= 0 ? xs[L] : 0;
        int vok = vec > 1 && ls == 1 && sn_cg_cuda_vec_ok(g, xi, 4, xext, xs, L, vec, 1);
        sn_cg_cuda_load_lanes(kc, in2, "xv_", xi, off, ls, vec, vok, 1);
        sn_cg_cuda_line(kc, in2, "float wv_[%d];", vec);
        if (vec > 1)
            sn_cg_cuda_line(kc, in2, "sn_ldv<%d>(a%d + (kh * %lld + kw) * %lld + %s, wv_);", vec,
                            wi, (long long)cv->kw, (long long)cv->o, idx[1]);
        else
            sn_cg_cuda_line(kc, in2, "wv_[0] = a%d[(kh * %lld + kw) * %lld + %s];", wi,
                            (long long)cv->kw, (long long)cv->o, idx[1]);
        sn_cg_cuda_line(kc, in2, "#pragma unroll");
        sn_cg_cuda_line(kc, in2,
                        "for (int v = 0; v < %d; ++v) x_[v] = fmaf(xv_[v], wv_[v], x_[v]);", vec);
    } else {
        /* one output channel: loop over its group's input channels */
        char cexpr[64];
        snprintf(cexpr, sizeof cexpr, "(g_ * %lld + c)", (long long)d.cg);
        const char *ii[4] = {idx[0], cexpr, "ih", "iw"};
        int64_t ext1[4] = {xext[0], 2, xext[2], xext[3]}; /* keep the channel term */
        sn_cg_cuda_offset_expr(off, sizeof off, 4, ext1, ii, xs);
        sn_cg_cuda_line(kc, in2, "const float *wp_ = a%d + ((kh * %lld + kw) * %lld + %s) * %lld;",
                        wi, (long long)cv->kw, (long long)cv->o, idx[1], (long long)d.cg);
        sn_cg_cuda_line(kc, in2, "#pragma unroll 4");
        sn_cg_cuda_line(kc, in2, "for (int c = 0; c < %lld; ++c)", (long long)d.cg);
        sn_cg_cuda_line(kc, in2 + 4, "x_[0] = fmaf(sn_ld(a%d + (%s)), wp_[c], x_[0]);", xi, off);
    }
    sn_cg_cuda_line(kc, ind + 4, "}");
    sn_cg_cuda_line(kc, ind, "}");
    return SN_OK;
}

/* ---------------------------------------------------------------- shared GEMM pieces */

/* Emits the per-row precompute of the A gather: rows row_i = tid / per + i * (NT / per). */
static void emit_a_rows(sn_cg_cuda_k *kc, int nrows, const char *per) {
    const int64_t *xs = xstride(kc->g);
    sn_cg_cuda_line(kc, 4, "sn_idx a_base[%d];", nrows);
    sn_cg_cuda_line(kc, 4, "int a_ih[%d], a_iw[%d];", nrows, nrows);
    sn_cg_cuda_line(kc, 4, "#pragma unroll");
    sn_cg_cuda_line(kc, 4, "for (int i = 0; i < %d; ++i) {", nrows);
    sn_cg_cuda_line(kc, 8, "const int row = tid / %s + i * (NT / %s);", per, per);
    sn_cg_cuda_line(kc, 8, "const int m = m0 + row;");
    sn_cg_cuda_line(kc, 8, "if (m < M && row < BM) {");
    sn_cg_cuda_line(kc, 12, "const int n = m / OHW, r = m %% OHW, oh = r / OW, ow = r %% OW;");
    sn_cg_cuda_line(kc, 12, "a_ih[i] = oh * SH - PH;");
    sn_cg_cuda_line(kc, 12, "a_iw[i] = ow * SW - PW;");
    sn_cg_cuda_line(kc, 12,
                    "a_base[i] = (sn_idx)n * %lld + (sn_idx)a_ih[i] * %lld + (sn_idx)a_iw[i] * "
                    "%lld;",
                    (long long)xs[0], (long long)xs[2], (long long)xs[3]);
    sn_cg_cuda_line(kc, 8, "} else {");
    sn_cg_cuda_line(kc, 12, "a_ih[i] = -(1 << 28);");
    sn_cg_cuda_line(kc, 12, "a_iw[i] = 0;");
    sn_cg_cuda_line(kc, 12, "a_base[i] = 0;");
    sn_cg_cuda_line(kc, 8, "}");
    sn_cg_cuda_line(kc, 4, "}");
}

/* The A tile by element loads (any layout, any dtype, converted to the smem type T): no
 * per-row state; consecutive threads walk the input's contiguous direction — output pixels
 * when channels are strided (the stem's NCHW image), k (= channels) when they are not. */
static void emit_a_gather(sn_cg_cuda_k *kc, const char *T, const char *ld) {
    const int64_t *xs = xstride(kc->g);
    int rows_fast = xs[1] != 1;
    sn_cg_cuda_line(kc, 4, "constexpr int AE = (BM * BK + NT - 1) / NT;");
    sn_cg_cuda_line(kc, 4, "auto load_a = [&](int stage, int kt) {");
    sn_cg_cuda_line(kc, 8, "%s *dst = sA + stage * BM * %s;", T, ld);
    sn_cg_cuda_line(kc, 8, "#pragma unroll 4");
    sn_cg_cuda_line(kc, 8, "for (int i = 0; i < AE; ++i) {");
    sn_cg_cuda_line(kc, 12, "const int e = tid + i * NT;");
    sn_cg_cuda_line(kc, 12, "if ((BM * BK) %% NT != 0 && e >= BM * BK) continue;");
    if (rows_fast)
        sn_cg_cuda_line(kc, 12, "const int row = e %% BM, kk = e / BM;");
    else
        sn_cg_cuda_line(kc, 12, "const int kk = e %% BK, row = e / BK;");
    sn_cg_cuda_line(kc, 12, "const int k = kt * BK + kk, m = m0 + row;");
    sn_cg_cuda_line(kc, 12, "const int c = k %% CG, kr = k / CG, kw = kr %% KW, kh = kr / KW;");
    sn_cg_cuda_line(kc, 12, "const int n = m / OHW, r = m %% OHW, oh = r / OW, ow = r %% OW;");
    sn_cg_cuda_line(kc, 12, "const int ih = oh * SH - PH + kh * DH, iw = ow * SW - PW + kw * DW;");
    sn_cg_cuda_line(kc, 12,
                    "const bool ok = m < M && k < K && (unsigned)ih < (unsigned)H && "
                    "(unsigned)iw < (unsigned)W;");
    sn_cg_cuda_line(kc, 12,
                    "const float v = ok ? sn_ld(xg + (sn_idx)n * %lld + (sn_idx)ih * %lld + "
                    "(sn_idx)iw * %lld + (sn_idx)c * %lld) : 0.0f;",
                    (long long)xs[0], (long long)xs[2], (long long)xs[3], (long long)xs[1]);
    sn_cg_cuda_line(kc, 12, "dst[row * %s + kk] = sn_cvt<%s>::to(v);", ld, T);
    sn_cg_cuda_line(kc, 8, "}");
    sn_cg_cuda_line(kc, 4, "};");
}

/* The conv's geometry and the padded GEMM extents as constexprs. */
static void emit_conv_consts(sn_cg_cuda_k *kc, int64_t kp, int64_t np, int kt) {
    const sn_cg_group *g = kc->g;
    const sn_cg_conv *cv = &g->conv;
    conv_dims d = dims_of(g);
    sn_cg_cuda_line(kc, 4,
                    "constexpr int M = %lld, K = %lld, CG = %lld, OG = %lld, OHW = %lld, OW = "
                    "%lld;",
                    (long long)d.M, (long long)d.K, (long long)d.cg, (long long)d.og,
                    (long long)(cv->oh * cv->ow), (long long)cv->ow);
    sn_cg_cuda_line(kc, 4,
                    "constexpr int H = %lld, W = %lld, KW = %lld, SH = %lld, SW = %lld, PH = "
                    "%lld, PW = %lld, DH = %lld, DW = %lld;",
                    (long long)cv->h, (long long)cv->w, (long long)cv->kw, (long long)cv->sh,
                    (long long)cv->sw, (long long)cv->ph, (long long)cv->pw, (long long)cv->dh,
                    (long long)cv->dw);
    sn_cg_cuda_line(kc, 4, "constexpr int KP = %lld, NP = %lld, KT = %d;", (long long)kp,
                    (long long)np, kt);
}

/* The epilogue call for one chunk of `vec` channels at (n_, o, oh_, ow_); oc = channel within
 * the group. */
static sn_status emit_conv_epilogue(sn_cg_cuda_k *kc, int ind, int vec, const char *anchor) {
    const sn_cg_group *g = kc->g;
    conv_dims d = dims_of(g);
    sn_cg_cuda_epi e;
    memset(&e, 0, sizeof e);
    const int64_t *ext = g->space.d;
    e.idx[0] = ext[0] > 1 ? "n_" : "0";
    e.idx[1] = ext[1] > 1 ? "o_" : "0";
    e.idx[2] = ext[2] > 1 ? "oh_" : "0";
    e.idx[3] = ext[3] > 1 ? "ow_" : "0";
    e.lane_dim = 1;
    e.vec = vec;
    /* o_ = grp * OG + oc, oc a multiple of vec */
    e.lane_aligned = g->conv.groups == 1 || d.og % vec == 0;
    e.anchor = anchor;
    char full[64], lane[64];
    if (d.og % vec != 0) {
        snprintf(full, sizeof full, "oc + %d <= OG", vec);
        snprintf(lane, sizeof lane, "oc + v < OG");
        e.full = full;
        e.lane_in = lane;
    }
    e.indent = ind;
    return sn_cg_cuda_epilogue(kc, &e);
}

/* Begins a GEMM conv kernel (with the MMA helpers in the prelude); the weight argument is
 * typed as its packed dtype `wdt`. */
static void begin_igemm(sn_cg_cuda_k *kc, const sn_cg_cuda_tune *t, sn_dtype wdt) {
    int ovr[SN_CG_MAX_ARGS];
    for (int i = 0; i < SN_CG_MAX_ARGS; i++)
        ovr[i] = -1;
    ovr[kc->g->anchor_in[1]] = wdt;
    sn_cg_cuda_begin(kc, 1);
    sn_cg_cuda_signature(kc, t->threads, ovr);
}

/* The block's tile origin (m0, n0), its conv group and the group's input `xg`. */
static void emit_tile_origin(sn_cg_cuda_k *kc) {
    const sn_cg_group *g = kc->g;
    int xi = g->anchor_in[0];
    sn_cg_cuda_line(kc, 4, "const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;");
    sn_cg_cuda_line(kc, 4, "const int grp = %s;", g->conv.groups > 1 ? "blockIdx.z" : "0");
    sn_cg_cuda_line(kc, 4, "const %s *xg = a%d + (sn_idx)grp * CG * %lld;",
                    sn_cg_cuda_stype(sn_cg_cuda_val_dtype(g, xi)), xi, (long long)xstride(g)[1]);
}

/* `load_a(stage, kt)`: the A tile into sA (row pitch `ld`, smem type T), by 16-byte cp.async
 * of `ew` elements when vec_a, else element by element. */
static void emit_load_a(sn_cg_cuda_k *kc, const sn_cg_cuda_tune *t, int vec_a, const char *T,
                        const char *ld, int ew) {
    if (!vec_a) {
        emit_a_gather(kc, T, ld);
        return;
    }
    const int64_t *xs = xstride(kc->g);
    sn_cg_cuda_line(kc, 4, "constexpr int KC = BK / %d, AR = (BM * KC + NT - 1) / NT;", ew);
    sn_cg_cuda_line(kc, 4, "const int a_kc = tid %% KC;");
    emit_a_rows(kc, (t->bm * (t->bk / ew) + t->threads - 1) / t->threads, "KC");
    sn_cg_cuda_line(kc, 4, "auto load_a = [&](int stage, int kt) {");
    sn_cg_cuda_line(kc, 8, "const int k = kt * BK + a_kc * %d;", ew);
    sn_cg_cuda_line(kc, 8, "const int c = k %% CG, kr = k / CG, kw = kr %% KW, kh = kr / KW;");
    sn_cg_cuda_line(kc, 8,
                    "const sn_idx koff = (sn_idx)(kh * DH) * %lld + (sn_idx)(kw * DW) * %lld + c;",
                    (long long)xs[2], (long long)xs[3]);
    sn_cg_cuda_line(kc, 8, "%s *dst = sA + stage * BM * %s + a_kc * %d;", T, ld, ew);
    sn_cg_cuda_line(kc, 8, "#pragma unroll");
    sn_cg_cuda_line(kc, 8, "for (int i = 0; i < AR; ++i) {");
    sn_cg_cuda_line(kc, 12, "const int row = tid / KC + i * (NT / KC);");
    sn_cg_cuda_line(kc, 12, "if ((BM * KC) %% NT != 0 && row >= BM) continue;");
    sn_cg_cuda_line(kc, 12, "const int ih = a_ih[i] + kh * DH, iw = a_iw[i] + kw * DW;");
    sn_cg_cuda_line(kc, 12,
                    "const bool ok = k < K && (unsigned)ih < (unsigned)H && (unsigned)iw < "
                    "(unsigned)W;");
    sn_cg_cuda_line(kc, 12,
                    "sn_cp16(dst + row * %s, ok ? (const void *)(xg + a_base[i] + koff) : "
                    "(const void *)xg, ok ? 16 : 0);",
                    ld);
    sn_cg_cuda_line(kc, 8, "}");
    sn_cg_cuda_line(kc, 4, "};");
}

/* The cp.async pipeline: the first ST-1 tiles in flight, then the main loop's head (wait
 * for tile kt, issue tile kt+ST-1); the caller writes the loop's compute and closes it.
 * `notes` adds the explanatory comments (MMA template). */
static void emit_pipeline_head(sn_cg_cuda_k *kc, int notes) {
    sn_cg_cuda_line(kc, 4, "#pragma unroll");
    sn_cg_cuda_line(kc, 4, "for (int s = 0; s < ST - 1; ++s) {");
    sn_cg_cuda_line(kc, 8, "if (s < KT) {");
    sn_cg_cuda_line(kc, 12, "load_a(s, s);");
    sn_cg_cuda_line(kc, 12, "load_b(s, s);");
    sn_cg_cuda_line(kc, 8, "}");
    sn_cg_cuda_line(kc, 8, "sn_cp_commit();");
    sn_cg_cuda_line(kc, 4, "}");
    sn_cg_cuda_line(kc, 4, "for (int kt = 0; kt < KT; ++kt) {");
    sn_cg_cuda_line(kc, 8, "sn_cp_wait<ST - 2>();%s",
                    notes ? " /* tile kt has landed (this thread's copies) */" : "");
    sn_cg_cuda_line(kc, 8, "__syncthreads();%s",
                    notes ? "       /* … everyone's; stage (kt-1)%ST is free */" : "");
    sn_cg_cuda_line(kc, 8, "{");
    sn_cg_cuda_line(kc, 12, "const int nk = kt + ST - 1;");
    sn_cg_cuda_line(kc, 12, "if (nk < KT) {");
    sn_cg_cuda_line(kc, 16, "load_a(nk %% ST, nk);");
    sn_cg_cuda_line(kc, 16, "load_b(nk %% ST, nk);");
    sn_cg_cuda_line(kc, 12, "}");
    sn_cg_cuda_line(kc, 12, "sn_cp_commit();");
    sn_cg_cuda_line(kc, 8, "}");
}

/* A thread's output channels: `n` chunks (C extent) indexed by `i`, chunk i's first channel
 * within the group `oc` (a C expression using i), `vec` adjacent channels per chunk. */
typedef struct out_cols {
    const char *n, *i, *oc;
    int vec;
} out_cols;

/* `float bz[n][vec]`: the bias of each of the thread's output channels (0 past OG). */
static void emit_bias_frag(sn_cg_cuda_k *kc, const out_cols *oc) {
    int bi = kc->g->anchor_in[2];
    sn_cg_cuda_line(kc, 4, "float bz[%s][%d];", oc->n, oc->vec);
    sn_cg_cuda_line(kc, 4, "#pragma unroll");
    sn_cg_cuda_line(kc, 4, "for (int %s = 0; %s < %s; ++%s)", oc->i, oc->i, oc->n, oc->i);
    sn_cg_cuda_line(kc, 8, "#pragma unroll");
    sn_cg_cuda_line(kc, 8, "for (int v = 0; v < %d; ++v) {", oc->vec);
    if (bi >= 0) {
        sn_cg_cuda_line(kc, 12, "const int oc = %s + v;", oc->oc);
        sn_cg_cuda_line(kc, 12, "bz[%s][v] = oc < OG ? a%d[grp * OG + oc] : 0.0f;", oc->i, bi);
    } else {
        sn_cg_cuda_line(kc, 12, "bz[%s][v] = 0.0f;", oc->i);
    }
    sn_cg_cuda_line(kc, 8, "}");
}

/* One output row m (C expression) of the thread's tile: each chunk of channels through the
 * epilogue with the anchor value `anchor` (uses the chunk index and v). */
static sn_status emit_out_row(sn_cg_cuda_k *kc, int ind, const char *m, const out_cols *oc,
                              const char *anchor, char *err, size_t errlen) {
    sn_cg_cuda_line(kc, ind, "const int m = %s;", m);
    sn_cg_cuda_line(kc, ind, "if (m >= M) continue;");
    sn_cg_cuda_line(kc, ind,
                    "const sn_idx n_ = m / OHW, r_ = m %% OHW, oh_ = r_ / OW, ow_ = r_ %% OW;");
    sn_cg_cuda_line(kc, ind, "(void)n_; (void)oh_; (void)ow_;");
    sn_cg_cuda_line(kc, ind, "#pragma unroll");
    sn_cg_cuda_line(kc, ind, "for (int %s = 0; %s < %s; ++%s) {", oc->i, oc->i, oc->n, oc->i);
    sn_cg_cuda_line(kc, ind + 4, "const int oc = %s;", oc->oc);
    sn_cg_cuda_line(kc, ind + 4, "if (oc >= OG) continue;");
    sn_cg_cuda_line(kc, ind + 4, "const sn_idx o_ = (sn_idx)grp * OG + oc;");
    sn_cg_cuda_line(kc, ind + 4, "(void)o_;");
    sn_status st = emit_conv_epilogue(kc, ind + 4, oc->vec, anchor);
    if (st) {
        sn_errf(err, errlen, "group %d: an epilogue op has no CUDA rendering", kc->g->id);
        return st;
    }
    sn_cg_cuda_line(kc, ind, "}");
    return SN_OK;
}

/* ---------------------------------------------------------------- MMA */

static sn_status render_mma(sn_cg_cuda_k *kc, const sn_cg_cuda_tune *t, char *err, size_t errlen) {
    const sn_cg_group *g = kc->g;
    const sn_cg_conv *cv = &g->conv;
    conv_dims d = dims_of(g);
    sn_dtype dt = g->target->dtype;
    const char *T = sn_cg_cuda_stype(dt);
    int wi = g->anchor_in[1];
    int vec_a = a_vec_ok(g, dt);
    int64_t np = cdiv(d.og, t->bn) * t->bn, kp = cdiv(d.K, t->bk) * t->bk;
    int kt = (int)(kp / t->bk);

    begin_igemm(kc, t, dt);
    sn_cg_cuda_line(kc, 4, "/* implicit GEMM, mma.sync m16n8k16 %s, f32 accumulate; A %s */",
                    sn_dtype_name(dt), vec_a ? "cp.async 16B" : "element gather");
    sn_cg_cuda_line(kc, 4,
                    "constexpr int BM = %d, BN = %d, BK = %d, WM = %d, WN = %d, WK = %d, ST = %d;",
                    t->bm, t->bn, t->bk, t->warps_m, t->warps_n, t->warps_k, t->stages);
    sn_cg_cuda_line(kc, 4,
                    "constexpr int NT = WM * WN * WK * 32, WTM = BM / WM, WTN = BN / WN, MI = WTM "
                    "/ 16, NI = WTN / 8;");
    sn_cg_cuda_line(kc, 4,
                    "constexpr int LDS = BK + 8; /* 16-byte row pad: ldmatrix conflict-free */");
    emit_conv_consts(kc, kp, np, kt);
    int dyn = mma_smem(t) > SN_CG_CUDA_SMEM_MAX;
    if (dyn) {
        /* past the static limit: dynamic shared memory, k->smem bytes */
        sn_cg_cuda_line(kc, 4, "SN_DYN_SHARED(sn_dsm);");
        sn_cg_cuda_line(kc, 4, "%s *const sAB = (%s *)sn_dsm;", T, T);
    } else {
        sn_cg_cuda_line(kc, 4, "__shared__ __align__(16) %s sAB[ST * (BM + BN) * LDS];", T);
    }
    sn_cg_cuda_line(kc, 4, "%s *const sA = sAB, *const sB = sAB + ST * BM * LDS;", T);
    sn_cg_cuda_line(kc, 4, "const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;");
    sn_cg_cuda_line(kc, 4,
                    "const int wm = warp %% WM, wn = (warp / WM) %% WN, wk = warp / (WM * WN);");
    sn_cg_cuda_line(kc, 4, "(void)wk;");
    emit_tile_origin(kc);
    sn_cg_cuda_line(kc, 4, "const %s *wg = a%d + ((sn_idx)grp * NP + n0) * KP;", T, wi);

    emit_load_a(kc, t, vec_a, T, "LDS", 8);
    /* B: packed weights, always in bounds */
    sn_cg_cuda_line(kc, 4, "constexpr int BKC = BK / 8, BR = (BN * BKC + NT - 1) / NT;");
    sn_cg_cuda_line(kc, 4, "auto load_b = [&](int stage, int kt) {");
    sn_cg_cuda_line(kc, 8, "#pragma unroll");
    sn_cg_cuda_line(kc, 8, "for (int i = 0; i < BR; ++i) {");
    sn_cg_cuda_line(kc, 12, "const int ch = tid + i * NT;");
    sn_cg_cuda_line(kc, 12, "if ((BN * BKC) %% NT == 0 || ch < BN * BKC) {");
    sn_cg_cuda_line(kc, 16, "const int row = ch / BKC, kc = ch %% BKC;");
    sn_cg_cuda_line(kc, 16,
                    "sn_cp16(sB + stage * BN * LDS + row * LDS + kc * 8, wg + (sn_idx)row * KP + "
                    "kt * BK + kc * 8, 16);");
    sn_cg_cuda_line(kc, 12, "}");
    sn_cg_cuda_line(kc, 8, "}");
    sn_cg_cuda_line(kc, 4, "};");

    /* main loop */
    sn_cg_cuda_line(kc, 4, "float acc[MI][NI][4];");
    sn_cg_cuda_line(kc, 4, "#pragma unroll");
    sn_cg_cuda_line(kc, 4, "for (int mi = 0; mi < MI; ++mi)");
    sn_cg_cuda_line(kc, 8, "#pragma unroll");
    sn_cg_cuda_line(kc, 8, "for (int ni = 0; ni < NI; ++ni)");
    sn_cg_cuda_line(kc, 12, "#pragma unroll");
    sn_cg_cuda_line(kc, 12, "for (int q = 0; q < 4; ++q) acc[mi][ni][q] = 0.0f;");
    emit_pipeline_head(kc, 1);
    sn_cg_cuda_line(kc, 8, "const %s *tA = sA + (kt %% ST) * BM * LDS;", T);
    sn_cg_cuda_line(kc, 8, "const %s *tB = sB + (kt %% ST) * BN * LDS;", T);
    sn_cg_cuda_line(kc, 8, "#pragma unroll");
    sn_cg_cuda_line(kc, 8, "for (int kk = wk * 16; kk < BK; kk += 16 * WK) {");
    sn_cg_cuda_line(kc, 12, "unsigned af[MI][4], bf[NI][2];");
    sn_cg_cuda_line(kc, 12, "#pragma unroll");
    sn_cg_cuda_line(kc, 12, "for (int mi = 0; mi < MI; ++mi)");
    sn_cg_cuda_line(kc, 16,
                    "sn_ldsm_x4(af[mi], tA + (wm * WTM + mi * 16 + (lane & 15)) * LDS + kk + "
                    "(lane >> 4) * 8);");
    sn_cg_cuda_line(kc, 12, "#pragma unroll");
    sn_cg_cuda_line(kc, 12, "for (int nj = 0; nj < NI / 2; ++nj) {");
    sn_cg_cuda_line(kc, 16, "unsigned r[4];");
    sn_cg_cuda_line(kc, 16,
                    "sn_ldsm_x4(r, tB + (wn * WTN + nj * 16 + (lane >> 4) * 8 + (lane & 7)) * "
                    "LDS + kk + ((lane >> 3) & 1) * 8);");
    sn_cg_cuda_line(kc, 16, "bf[2 * nj][0] = r[0];");
    sn_cg_cuda_line(kc, 16, "bf[2 * nj][1] = r[1];");
    sn_cg_cuda_line(kc, 16, "bf[2 * nj + 1][0] = r[2];");
    sn_cg_cuda_line(kc, 16, "bf[2 * nj + 1][1] = r[3];");
    sn_cg_cuda_line(kc, 12, "}");
    if ((t->bn / t->warps_n / 8) % 2)
        sn_cg_cuda_line(kc, 12,
                        "sn_ldsm_x2(bf[NI - 1], tB + (wn * WTN + (NI - 1) * 8 + (lane & 7)) * "
                        "LDS + kk + ((lane >> 3) & 1) * 8);");
    sn_cg_cuda_line(kc, 12, "#pragma unroll");
    sn_cg_cuda_line(kc, 12, "for (int mi = 0; mi < MI; ++mi)");
    sn_cg_cuda_line(kc, 16, "#pragma unroll");
    sn_cg_cuda_line(
        kc, 16, "for (int ni = 0; ni < NI; ++ni) sn_mma(acc[mi][ni], af[mi], bf[ni], %s());", T);
    sn_cg_cuda_line(kc, 8, "}");
    sn_cg_cuda_line(kc, 4, "}");
    sn_cg_cuda_line(kc, 4, "sn_cp_wait<0>();");
    if (t->warps_k > 1) {
        /* sliced K: warp groups 1..WK-1 hand their accumulators to group 0 */
        sn_cg_cuda_line(kc, 4, "{");
        sn_cg_cuda_line(kc, 8, "__syncthreads(); /* the pipeline's shared memory is free */");
        sn_cg_cuda_line(kc, 8, "float *red = (float *)sAB;");
        sn_cg_cuda_line(kc, 8, "const int wmn = warp %% (WM * WN);");
        sn_cg_cuda_line(kc, 8, "if (wk > 0) {");
        sn_cg_cuda_line(kc, 12, "#pragma unroll");
        sn_cg_cuda_line(kc, 12, "for (int mi = 0; mi < MI; ++mi)");
        sn_cg_cuda_line(kc, 16, "#pragma unroll");
        sn_cg_cuda_line(kc, 16, "for (int ni = 0; ni < NI; ++ni)");
        sn_cg_cuda_line(kc, 20, "#pragma unroll");
        sn_cg_cuda_line(kc, 20, "for (int q = 0; q < 4; ++q)");
        sn_cg_cuda_line(kc, 24,
                        "red[((((wk - 1) * WM * WN + wmn) * MI + mi) * NI * 4 + ni * 4 + q) * 32 "
                        "+ lane] = acc[mi][ni][q];");
        sn_cg_cuda_line(kc, 8, "}");
        sn_cg_cuda_line(kc, 8, "__syncthreads();");
        sn_cg_cuda_line(kc, 8, "if (wk > 0) return; /* no barrier follows */");
        sn_cg_cuda_line(kc, 8, "#pragma unroll");
        sn_cg_cuda_line(kc, 8, "for (int s = 1; s < WK; ++s)");
        sn_cg_cuda_line(kc, 12, "#pragma unroll");
        sn_cg_cuda_line(kc, 12, "for (int mi = 0; mi < MI; ++mi)");
        sn_cg_cuda_line(kc, 16, "#pragma unroll");
        sn_cg_cuda_line(kc, 16, "for (int ni = 0; ni < NI; ++ni)");
        sn_cg_cuda_line(kc, 20, "#pragma unroll");
        sn_cg_cuda_line(kc, 20, "for (int q = 0; q < 4; ++q)");
        sn_cg_cuda_line(kc, 24,
                        "acc[mi][ni][q] += red[((((s - 1) * WM * WN + wmn) * MI + mi) * NI * 4 + "
                        "ni * 4 + q) * 32 + lane];");
        sn_cg_cuda_line(kc, 4, "}");
    }

    /* epilogue straight from the fragments: (row lane/4 [+8], channels 2*(lane%%4) + {0,1}) */
    const out_cols oc = {"NI", "ni", "n0 + wn * WTN + ni * 8 + (lane & 3) * 2", 2};
    emit_bias_frag(kc, &oc);
    sn_cg_cuda_line(kc, 4, "#pragma unroll");
    sn_cg_cuda_line(kc, 4, "for (int mi = 0; mi < MI; ++mi) {");
    sn_cg_cuda_line(kc, 8, "#pragma unroll");
    sn_cg_cuda_line(kc, 8, "for (int h = 0; h < 2; ++h) {");
    sn_status st = emit_out_row(kc, 12, "m0 + wm * WTM + mi * 16 + (lane >> 2) + h * 8", &oc,
                                "acc[mi][ni][h * 2 + v] + bz[ni][v]", err, errlen);
    if (st)
        return st;
    sn_cg_cuda_line(kc, 8, "}");
    sn_cg_cuda_line(kc, 4, "}");

    sn_str spec = {0};
    sn_cg_cuda_spec_begin(kc, &spec, vec_a ? "conv_igemm_mma_cpasync" : "conv_igemm_mma_gather", t);
    return sn_cg_cuda_launch(kc, &spec, t, (uint32_t)cdiv(d.M, t->bm), (uint32_t)(np / t->bn),
                             (uint32_t)cv->groups, dyn ? (uint32_t)mma_smem(t) : 0, err, errlen);
}

/* ---------------------------------------------------------------- FMA (f32) */

static sn_status render_fma(sn_cg_cuda_k *kc, const sn_cg_cuda_tune *t, char *err, size_t errlen) {
    const sn_cg_group *g = kc->g;
    const sn_cg_conv *cv = &g->conv;
    conv_dims d = dims_of(g);
    int wi = g->anchor_in[1];
    int vec_a = a_vec_ok(g, SN_DTYPE_F32);
    int64_t np = cdiv(d.og, t->bn) * t->bn, kp = cdiv(d.K, t->bk) * t->bk;
    int kt = (int)(kp / t->bk);

    begin_igemm(kc, t, SN_DTYPE_F32);
    sn_cg_cuda_line(kc, 4, "/* implicit GEMM, fp32 FMA (no TF32); A %s */",
                    vec_a ? "cp.async 16B" : "element gather");
    sn_cg_cuda_line(kc, 4, "constexpr int BM = %d, BN = %d, BK = %d, TM = %d, TN = %d, ST = %d;",
                    t->bm, t->bn, t->bk, t->tm, t->tn, t->stages);
    sn_cg_cuda_line(kc, 4, "constexpr int TX = BN / TN, TY = BM / TM, NT = TX * TY;");
    sn_cg_cuda_line(kc, 4, "constexpr int LDA = BK + 4;");
    emit_conv_consts(kc, kp, np, kt);
    sn_cg_cuda_line(kc, 4, "__shared__ __align__(16) float sA[ST * BM * LDA];");
    sn_cg_cuda_line(kc, 4, "__shared__ __align__(16) float sB[ST * BK * BN];");
    sn_cg_cuda_line(kc, 4, "const int tid = threadIdx.x, tx = tid %% TX, ty = tid / TX;");
    emit_tile_origin(kc);
    sn_cg_cuda_line(kc, 4, "const float *wg = a%d + (sn_idx)grp * KP * NP + n0;", wi);
    emit_load_a(kc, t, vec_a, "float", "LDA", 4);
    sn_cg_cuda_line(kc, 4, "constexpr int BC = BN / 4, BR = (BK * BC + NT - 1) / NT;");
    sn_cg_cuda_line(kc, 4, "auto load_b = [&](int stage, int kt) {");
    sn_cg_cuda_line(kc, 8, "#pragma unroll");
    sn_cg_cuda_line(kc, 8, "for (int i = 0; i < BR; ++i) {");
    sn_cg_cuda_line(kc, 12, "const int ch = tid + i * NT;");
    sn_cg_cuda_line(kc, 12, "if ((BK * BC) %% NT == 0 || ch < BK * BC) {");
    sn_cg_cuda_line(kc, 16, "const int kr = ch / BC, c4 = ch %% BC;");
    sn_cg_cuda_line(kc, 16,
                    "sn_cp16(sB + stage * BK * BN + kr * BN + c4 * 4, wg + (sn_idx)(kt * BK + "
                    "kr) * NP + c4 * 4, 16);");
    sn_cg_cuda_line(kc, 12, "}");
    sn_cg_cuda_line(kc, 8, "}");
    sn_cg_cuda_line(kc, 4, "};");

    sn_cg_cuda_acc_zero(kc);
    emit_pipeline_head(kc, 0);
    sn_cg_cuda_line(kc, 8, "const float *tA = sA + (kt %% ST) * BM * LDA;");
    sn_cg_cuda_line(kc, 8, "const float *tB = sB + (kt %% ST) * BK * BN;");
    sn_cg_cuda_line(kc, 8, "#pragma unroll");
    sn_cg_cuda_line(kc, 8, "for (int kk = 0; kk < BK; kk += 4) {");
    sn_cg_cuda_line(kc, 12, "float a_[TM][4];");
    sn_cg_cuda_line(kc, 12, "#pragma unroll");
    sn_cg_cuda_line(kc, 12, "for (int i = 0; i < TM; ++i) {");
    sn_cg_cuda_float4_unpack(kc, 16, "(tA + (ty + i * TY) * LDA + kk)", "a_[i][");
    sn_cg_cuda_line(kc, 12, "}");
    sn_cg_cuda_line(kc, 12, "#pragma unroll");
    sn_cg_cuda_line(kc, 12, "for (int q = 0; q < 4; ++q) {");
    sn_cg_cuda_line(kc, 16, "float b_[TN];");
    sn_cg_cuda_line(kc, 16, "#pragma unroll");
    sn_cg_cuda_line(kc, 16, "for (int j4 = 0; j4 < TN / 4; ++j4) {");
    sn_cg_cuda_float4_unpack(kc, 20, "(tB + (kk + q) * BN + j4 * TX * 4 + tx * 4)", "b_[j4 * 4 + ");
    sn_cg_cuda_line(kc, 16, "}");
    sn_cg_cuda_line(kc, 16, "#pragma unroll");
    sn_cg_cuda_line(kc, 16, "for (int i = 0; i < TM; ++i)");
    sn_cg_cuda_line(kc, 20, "#pragma unroll");
    sn_cg_cuda_line(kc, 20,
                    "for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a_[i][q], b_[j], acc[i][j]);");
    sn_cg_cuda_line(kc, 12, "}");
    sn_cg_cuda_line(kc, 8, "}");
    sn_cg_cuda_line(kc, 4, "}");
    sn_cg_cuda_line(kc, 4, "sn_cp_wait<0>();");

    /* epilogue: rows ty + i*TY, channels n0 + j4*TX*4 + tx*4 + {0..3} */
    const out_cols oc = {"TN / 4", "j4", "n0 + j4 * TX * 4 + tx * 4", 4};
    emit_bias_frag(kc, &oc);
    sn_cg_cuda_line(kc, 4, "#pragma unroll");
    sn_cg_cuda_line(kc, 4, "for (int i = 0; i < TM; ++i) {");
    sn_status st =
        emit_out_row(kc, 8, "m0 + ty + i * TY", &oc, "acc[i][j4 * 4 + v] + bz[j4][v]", err, errlen);
    if (st)
        return st;
    sn_cg_cuda_line(kc, 4, "}");

    sn_str spec = {0};
    sn_cg_cuda_spec_begin(kc, &spec, vec_a ? "conv_igemm_fma_cpasync" : "conv_igemm_fma_gather", t);
    return sn_cg_cuda_launch(kc, &spec, t, (uint32_t)cdiv(d.M, t->bm), (uint32_t)(np / t->bn),
                             (uint32_t)cv->groups, 0, err, errlen);
}

/* ---------------------------------------------------------------- entry */

sn_status sn_cg_cuda_render_conv(sn_cg_cuda_k *kc, const sn_cg_cuda_tune *tu_in, char *err,
                                 size_t errlen) {
    const sn_cg_group *g = kc->g;
    const sn_cg_conv *cv = &g->conv;
    if (g->space.ndim != 4 || cv->groups < 1 || cv->c % cv->groups || cv->o % cv->groups ||
        g->nanchor_in < 2 || g->anchor_in[0] < 0 || g->anchor_in[1] < 0) {
        sn_errf(err, errlen, "group %d: malformed conv2d description", g->id);
        return SN_ERR_INVALID;
    }
    if (g->nanchor_in < 3) {
        /* lower always sets anchor_in[2] (-1 = no bias) */
        sn_errf(err, errlen, "group %d: conv2d without a bias slot", g->id);
        return SN_ERR_INVALID;
    }
    sn_cg_cuda_tune t = tu_in ? *tu_in : (sn_cg_cuda_tune){0};
    sn_status st = tune_complete(g, &t, err, errlen);
    if (st)
        return st;
    st = pack_weights(kc, &t, err, errlen);
    if (st) {
        if (st == SN_ERR_NOMEM)
            sn_errf(err, errlen, "group %d: out of memory", g->id);
        return st;
    }
    switch (t.algo) {
    case SN_CG_CUDA_ALGO_MMA:
        return render_mma(kc, &t, err, errlen);
    case SN_CG_CUDA_ALGO_FMA:
        return render_fma(kc, &t, err, errlen);
    default:
        return sn_cg_cuda_render_space(kc, &t, err, errlen);
    }
}
