/* codegen/cuda_matmul.c — batched matmul a[..., M, K] x b[..., K, N], both read through their
 * strides (a transpose or a slice of a qkv projection is just strides), f32 accumulation.
 *
 * SIMT tiles: a block computes BM x BN of one batch entry (blockIdx.z), each thread tm x tn
 * (tn adjacent columns: the epilogue's lanes). Tiles of a and b are staged in shared memory
 * as f32, k-major ([BK][BM+4], [BK][BN+4]), loaded by consecutive threads along whichever
 * of the operand's dims is contiguous, bounds-checked (zero fill). The attention matmuls of
 * YOLO are small (a few hundred tokens), so this favours being obviously right over a tensor
 * core path.
 */
#include "codegen/cuda_int.h"

#include <stdio.h>
#include <string.h>

/* Stride of val vi along space dim k (right-aligned; 0 where the val lacks or broadcasts). */
static int64_t vstride(const sn_cg_group *g, int vi, int k) {
    const sn_cg_val *v = &g->vals[vi];
    int j = k - (g->space.ndim - v->shape.ndim);
    if (j < 0 || j >= v->shape.ndim || v->shape.d[j] == 1)
        return 0;
    return v->stride[j];
}

/* The loop bringing one k-slice of an operand tile into shared memory: `tile`[kk][rr] for
 * the operand's other dim r ('m' or 'n': extent BM/BN, origin m0/n0, bound M/N), k fastest
 * across threads when k_fast; `addr` (uses g<r> and gk) is the element's address. */
static void emit_tile_load(sn_cg_cuda_k *kc, const char *tile, char r, int k_fast,
                           const char *addr) {
    char R = r == 'm' ? 'M' : 'N';
    sn_cg_cuda_line(kc, 8, "#pragma unroll");
    sn_cg_cuda_line(kc, 8, "for (int i = 0; i < B%c * BK / NT; ++i) {", R);
    sn_cg_cuda_line(kc, 12, "const int e = tid + i * NT;");
    if (k_fast)
        sn_cg_cuda_line(kc, 12, "const int kk = e %% BK, %c%c = e / BK;", r, r);
    else
        sn_cg_cuda_line(kc, 12, "const int %c%c = e %% B%c, kk = e / B%c;", r, r, R, R);
    sn_cg_cuda_line(kc, 12, "const int g%c = %c0 + %c%c, gk = k0 + kk;", r, r, r, r);
    sn_cg_cuda_line(kc, 12, "%s[kk][%c%c] = g%c < %c && gk < K ? sn_ld(%s) : 0.0f;", tile, r, r, r,
                    R, addr);
    sn_cg_cuda_line(kc, 8, "}");
}

sn_status sn_cg_cuda_render_matmul(sn_cg_cuda_k *kc, const sn_cg_cuda_tune *tu_in, char *err,
                                   size_t errlen) {
    const sn_cg_group *g = kc->g;
    const int nd = g->space.ndim;
    int ai = g->anchor_in[0], bi = g->anchor_in[1];
    const sn_cg_val *a = &g->vals[ai], *b = &g->vals[bi];
    if (nd < 2 || a->shape.ndim < 2 || b->shape.ndim < 2) {
        sn_errf(err, errlen, "group %d: matmul needs rank >= 2", g->id);
        return SN_ERR_INVALID;
    }
    const int64_t M = g->space.d[nd - 2], N = g->space.d[nd - 1];
    const int64_t K = a->shape.d[a->shape.ndim - 1];
    const int64_t asm_ = a->stride[a->shape.ndim - 2], ask = a->stride[a->shape.ndim - 1];
    const int64_t bsk = b->stride[b->shape.ndim - 2], bsn = b->stride[b->shape.ndim - 1];
    int64_t batch = 1;
    for (int k = 0; k < nd - 2; k++)
        batch *= g->space.d[k];
    if (batch > 65535) {
        sn_errf(err, errlen, "group %d: matmul batch %lld exceeds the grid", g->id,
                (long long)batch);
        return SN_ERR_UNSUPPORTED;
    }
    sn_cg_cuda_tune tu = tu_in ? *tu_in : (sn_cg_cuda_tune){0};
    if (!tu.bm)
        tu.bm = M <= 32 ? 32 : 64;
    if (!tu.bn)
        tu.bn = 64;
    if (!tu.bk)
        tu.bk = 16;
    if (!tu.tm)
        tu.tm = 4;
    if (!tu.tn)
        tu.tn = 4;
    if (tu.algo == SN_CG_CUDA_ALGO_AUTO)
        tu.algo = SN_CG_CUDA_ALGO_SIMPLE;
    int tx = tu.bn / tu.tn, ty = tu.bm / tu.tm;
    tu.threads = tx * ty;
    if (tu.tn != 4 || tu.tm % 4 || tx * tu.tn != tu.bn || ty * tu.tm != tu.bm || tu.threads < 32 ||
        tu.threads > 1024 || (tu.bm * tu.bk) % tu.threads || (tu.bn * tu.bk) % tu.threads) {
        sn_errf(err, errlen, "group %d: matmul tile bm=%d bn=%d bk=%d tm=%d tn=%d is not valid",
                g->id, tu.bm, tu.bn, tu.bk, tu.tm, tu.tn);
        return SN_ERR_INVALID;
    }

    sn_cg_cuda_begin(kc, 0);
    sn_cg_cuda_signature(kc, tu.threads, NULL);
    sn_cg_cuda_line(kc, 4, "/* batched matmul, SIMT f32 tiles */");
    sn_cg_cuda_line(kc, 4, "constexpr int BM = %d, BN = %d, BK = %d, TM = %d, TN = %d;", tu.bm,
                    tu.bn, tu.bk, tu.tm, tu.tn);
    sn_cg_cuda_line(kc, 4, "constexpr int TX = BN / TN, NT = TX * (BM / TM);");
    sn_cg_cuda_line(kc, 4, "constexpr int M = %lld, N = %lld, K = %lld;", (long long)M,
                    (long long)N, (long long)K);
    sn_cg_cuda_line(kc, 4, "__shared__ __align__(16) float sA[BK][BM + 4];");
    sn_cg_cuda_line(kc, 4, "__shared__ __align__(16) float sB[BK][BN + 4];");
    sn_cg_cuda_line(kc, 4, "const int tid = threadIdx.x, tx = tid %% TX, ty = tid / TX;");
    sn_cg_cuda_line(kc, 4, "const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;");
    /* batch indices */
    char names[SN_MAX_DIMS][16];
    const char *idx[SN_MAX_DIMS];
    sn_cg_cuda_line(kc, 4, "sn_idx z = blockIdx.z;");
    for (int k = nd - 3; k >= 0; k--) {
        if (g->space.d[k] > 1) {
            snprintf(names[k], sizeof names[k], "b%d", k);
            sn_cg_cuda_line(kc, 4, "const sn_idx b%d = z %% %lld;", k, (long long)g->space.d[k]);
            sn_cg_cuda_line(kc, 4, "z /= %lld;", (long long)g->space.d[k]);
        } else {
            snprintf(names[k], sizeof names[k], "0");
        }
        idx[k] = names[k];
    }
    sn_cg_cuda_line(kc, 4, "(void)z;");
    {
        char ao[512] = "0", bo[512] = "0";
        size_t la = 0, lb = 0;
        for (int k = 0; k < nd - 2; k++) {
            if (g->space.d[k] == 1)
                continue;
            int64_t sa = vstride(g, ai, k), sb = vstride(g, bi, k);
            if (sa)
                la += (size_t)snprintf(ao + la, sizeof ao - la, "%s%s * %lld", la ? " + " : "",
                                       idx[k], (long long)sa);
            if (sb)
                lb += (size_t)snprintf(bo + lb, sizeof bo - lb, "%s%s * %lld", lb ? " + " : "",
                                       idx[k], (long long)sb);
        }
        sn_cg_cuda_line(kc, 4, "const %s *pa = a%d + (%s);",
                        sn_cg_cuda_stype(sn_cg_cuda_val_dtype(g, ai)), ai, ao);
        sn_cg_cuda_line(kc, 4, "const %s *pb = a%d + (%s);",
                        sn_cg_cuda_stype(sn_cg_cuda_val_dtype(g, bi)), bi, bo);
    }
    sn_cg_cuda_acc_zero(kc);
    sn_cg_cuda_line(kc, 4, "for (int k0 = 0; k0 < K; k0 += BK) {");
    /* a: k fastest when a is k-contiguous, else m fastest */
    char addr[128];
    snprintf(addr, sizeof addr, "pa + (sn_idx)gm * %lld + (sn_idx)gk * %lld", (long long)asm_,
             (long long)ask);
    emit_tile_load(kc, "sA", 'm', ask == 1 || asm_ != 1, addr);
    snprintf(addr, sizeof addr, "pb + (sn_idx)gk * %lld + (sn_idx)gn * %lld", (long long)bsk,
             (long long)bsn);
    emit_tile_load(kc, "sB", 'n', !(bsn == 1 || bsk != 1), addr);
    sn_cg_cuda_line(kc, 8, "__syncthreads();");
    sn_cg_cuda_line(kc, 8, "#pragma unroll");
    sn_cg_cuda_line(kc, 8, "for (int kk = 0; kk < BK; ++kk) {");
    sn_cg_cuda_line(kc, 12, "float a_[TM], b_[TN];");
    sn_cg_cuda_line(kc, 12, "#pragma unroll");
    sn_cg_cuda_line(kc, 12, "for (int i4 = 0; i4 < TM / 4; ++i4) {");
    sn_cg_cuda_float4_unpack(kc, 16, "&sA[kk][ty * TM + i4 * 4]", "a_[i4 * 4 + ");
    sn_cg_cuda_line(kc, 12, "}");
    sn_cg_cuda_line(kc, 12, "{");
    sn_cg_cuda_float4_unpack(kc, 16, "&sB[kk][tx * TN]", "b_[");
    sn_cg_cuda_line(kc, 12, "}");
    sn_cg_cuda_line(kc, 12, "#pragma unroll");
    sn_cg_cuda_line(kc, 12, "for (int i = 0; i < TM; ++i)");
    sn_cg_cuda_line(kc, 16, "#pragma unroll");
    sn_cg_cuda_line(kc, 16,
                    "for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a_[i], b_[j], acc[i][j]);");
    sn_cg_cuda_line(kc, 8, "}");
    sn_cg_cuda_line(kc, 8, "__syncthreads();");
    sn_cg_cuda_line(kc, 4, "}");

    /* epilogue: lanes = the TN adjacent columns */
    snprintf(names[nd - 2], sizeof names[nd - 2], M > 1 ? "m_" : "0");
    snprintf(names[nd - 1], sizeof names[nd - 1], N > 1 ? "n_" : "0");
    idx[nd - 2] = names[nd - 2];
    idx[nd - 1] = names[nd - 1];
    sn_cg_cuda_line(kc, 4, "#pragma unroll");
    sn_cg_cuda_line(kc, 4, "for (int i = 0; i < TM; ++i) {");
    sn_cg_cuda_line(kc, 8, "const sn_idx m_ = m0 + ty * TM + i;");
    sn_cg_cuda_line(kc, 8, "const sn_idx n_ = n0 + tx * TN;");
    sn_cg_cuda_line(kc, 8, "if (m_ >= M || n_ >= N) continue;");
    sn_cg_cuda_epi e;
    memset(&e, 0, sizeof e);
    for (int k = 0; k < nd; k++)
        e.idx[k] = idx[k];
    e.lane_dim = nd - 1;
    e.vec = N > 1 ? tu.tn : 1;
    e.lane_aligned = 1;
    e.anchor = e.vec > 1 ? "acc[i][v]" : "acc[i][0]";
    char full[64];
    if (e.vec > 1 && N % e.vec) {
        snprintf(full, sizeof full, "n_ + %d <= N", e.vec);
        e.full = full;
        e.lane_in = "n_ + v < N";
    }
    e.indent = 8;
    sn_status st = sn_cg_cuda_epilogue(kc, &e);
    if (st) {
        sn_errf(err, errlen, "group %d: an epilogue op has no CUDA rendering", g->id);
        return st;
    }
    sn_cg_cuda_line(kc, 4, "}");

    sn_str spec = {0};
    sn_cg_cuda_spec_begin(kc, &spec, "matmul_simt", &tu);
    return sn_cg_cuda_launch(kc, &spec, &tu, (uint32_t)((N + tu.bn - 1) / tu.bn),
                             (uint32_t)((M + tu.bm - 1) / tu.bm), (uint32_t)batch, 0, err, errlen);
}
