/* codegen/cuda_reduce.c — softmax and reduce_sum along one axis.
 *
 * A row is every element sharing the indices off the axis. `lpr` lanes of a warp share a row
 * (lpr = 1: a row per thread, best when the axis is strided and short — the DFL softmax over
 * 16 bins, where neighbouring threads then read neighbouring anchors; lpr up to 32 when the
 * axis is contiguous or long — attention rows). Rows are numbered in the memory order of the
 * input's other dims. Reductions across the lpr lanes are xor-shuffles; the loop over rows
 * is warp-uniform so every lane reaches every shuffle.
 *
 * softmax: max, then sum of exp(x - max), then exp(x - max) / sum through the epilogue; the
 * row stays in registers when it fits (ceil(L / lpr) <= 32 values per lane), else it is read
 * three times. reduce_sum: one pass, f32 accumulation, lane 0 of the row runs the epilogue.
 */
#include "codegen/cuda_int.h"

#include <stdio.h>
#include <string.h>

static int64_t pow2ceil(int64_t v) {
    int64_t p = 1;
    while (p < v)
        p *= 2;
    return p;
}

/* Combines `stmt` (which reads lane s away through __shfl_xor_sync) across a row's LPR
 * lanes. */
static void emit_lanes_reduce(sn_cg_cuda_k *kc, const char *stmt) {
    sn_cg_cuda_line(kc, 8, "#pragma unroll");
    sn_cg_cuda_line(kc, 8, "for (int s = LPR / 2; s > 0; s >>= 1)");
    sn_cg_cuda_line(kc, 12, "%s", stmt);
}

/* Opens the loop over a lane's `nper` cached elements (j = its axis index); the caller
 * closes it. */
static void emit_row_chunks(sn_cg_cuda_k *kc, int64_t nper) {
    sn_cg_cuda_line(kc, 8, "#pragma unroll");
    sn_cg_cuda_line(kc, 8, "for (int p = 0; p < %lld; ++p) {", (long long)nper);
    sn_cg_cuda_line(kc, 12, "const int j = j0 + p * LPR;");
}

sn_status sn_cg_cuda_render_reduce(sn_cg_cuda_k *kc, const sn_cg_cuda_tune *tu_in, char *err,
                                   size_t errlen) {
    const sn_cg_group *g = kc->g;
    int softmax = g->anchor == SN_CG_ANCHOR_SOFTMAX;
    int xi = g->anchor_in[0];
    const sn_cg_val *x = &g->vals[xi];
    const int nd = g->space.ndim;
    int64_t ax = g->attr[0];
    if (ax < 0)
        ax += x->shape.ndim;
    if (ax < 0 || ax >= x->shape.ndim || x->shape.ndim != nd) {
        sn_errf(err, errlen, "group %d: %s axis %lld out of range", g->id,
                sn_cg_anchor_name(g->anchor), (long long)g->attr[0]);
        return SN_ERR_INVALID;
    }
    const int64_t L = x->shape.d[ax];
    const int64_t xsa = x->stride[ax];
    sn_cg_cuda_tune tu = tu_in ? *tu_in : (sn_cg_cuda_tune){0};
    if (!tu.lpr) {
        if (xsa == 1 || L == 1)
            tu.lpr = (int)(L >= 32 ? 32 : pow2ceil(L));
        else
            tu.lpr = L <= 64 ? 1 : 32;
    }
    if (tu.lpr < 1 || tu.lpr > 32 || (tu.lpr & (tu.lpr - 1))) {
        sn_errf(err, errlen, "group %d: lanes per row %d is not a power of two <= 32", g->id,
                tu.lpr);
        return SN_ERR_INVALID;
    }
    if (!tu.threads)
        tu.threads = 256;
    if (!tu.max_blocks)
        tu.max_blocks = 8192;
    if (tu.algo == SN_CG_CUDA_ALGO_AUTO)
        tu.algo = SN_CG_CUDA_ALGO_SIMPLE;
    const int lpr = tu.lpr, rpw = 32 / lpr;
    const int64_t nper = (L + lpr - 1) / lpr;
    const int cache = softmax && nper <= 32;

    /* row dims: every dim but the axis with extent > 1, outermost first by the input's strides */
    int order[SN_MAX_DIMS], no = 0;
    for (int k = 0; k < nd; k++)
        if (k != ax && g->space.d[k] > 1)
            order[no++] = k;
    for (int i = 1; i < no; i++) {
        int d = order[i], j = i - 1;
        int64_t kd = x->stride[d] < 0 ? -x->stride[d] : x->stride[d];
        while (j >= 0) {
            int e = order[j];
            int64_t ke = x->stride[e] < 0 ? -x->stride[e] : x->stride[e];
            if (ke >= kd)
                break;
            order[j + 1] = e;
            j--;
        }
        order[j + 1] = d;
    }
    int64_t rows = 1;
    for (int i = 0; i < no; i++)
        rows *= g->space.d[order[i]];
    int64_t warps_needed = (rows + rpw - 1) / rpw;
    int64_t blocks = (warps_needed * 32 + tu.threads - 1) / tu.threads;
    if (blocks > tu.max_blocks)
        blocks = tu.max_blocks;
    if (blocks < 1)
        blocks = 1;

    sn_cg_cuda_begin(kc, 0);
    sn_cg_cuda_signature(kc, tu.threads, NULL);
    sn_cg_cuda_line(kc, 4, "/* %s over axis %lld (L = %lld), %d lane%s per row */",
                    softmax ? "softmax" : "reduce_sum", (long long)ax, (long long)L, lpr,
                    lpr > 1 ? "s" : "");
    sn_cg_cuda_line(kc, 4, "constexpr int LPR = %d, RPW = 32 / LPR, L = %lld;", lpr, (long long)L);
    sn_cg_cuda_line(kc, 4, "const sn_idx rows = %lld;", (long long)rows);
    sn_cg_cuda_line(kc, 4, "const int lane = threadIdx.x & 31, j0 = lane %% LPR;");
    sn_cg_cuda_line(kc, 4, "const sn_idx warp0 = ((sn_idx)blockIdx.x * %d + threadIdx.x) >> 5;",
                    tu.threads);
    sn_cg_cuda_line(kc, 4, "const sn_idx nwarps = ((sn_idx)gridDim.x * %d) >> 5;", tu.threads);
    sn_cg_cuda_line(kc, 4, "for (sn_idx rb = warp0 * RPW; rb < rows; rb += nwarps * RPW) {");
    sn_cg_cuda_line(kc, 8, "const sn_idx row = rb + lane / LPR;");
    sn_cg_cuda_line(kc, 8, "const bool ok = row < rows;");
    sn_cg_cuda_line(kc, 8, "sn_idx r = ok ? row : 0;");
    char names[SN_MAX_DIMS][16];
    const char *idx[SN_MAX_DIMS];
    for (int k = 0; k < nd; k++) {
        if (k == ax)
            snprintf(names[k], sizeof names[k], "(sn_idx)j");
        else if (g->space.d[k] > 1)
            snprintf(names[k], sizeof names[k], "i%d", k);
        else
            snprintf(names[k], sizeof names[k], "0");
        idx[k] = names[k];
    }
    for (int j = no - 1; j >= 0; j--) {
        int d = order[j];
        if (j == 0)
            sn_cg_cuda_line(kc, 8, "const sn_idx i%d = r;", d);
        else
            sn_cg_cuda_line(kc, 8, "const sn_idx i%d = r %% %lld; r /= %lld;", d,
                            (long long)g->space.d[d], (long long)g->space.d[d]);
    }
    sn_cg_cuda_line(kc, 8, "(void)r;");
    /* the row's base offset in x (axis index 0) */
    int64_t xext[SN_MAX_DIMS];
    for (int k = 0; k < SN_MAX_DIMS; k++)
        xext[k] = k < nd ? x->shape.d[k] : 1;
    const char *xi_idx[SN_MAX_DIMS];
    for (int k = 0; k < nd; k++)
        xi_idx[k] = k == ax ? NULL : idx[k];
    char off[1024];
    sn_cg_cuda_offset_expr(off, sizeof off, nd, xext, xi_idx, x->stride);
    sn_cg_cuda_line(kc, 8, "const sn_idx xo = %s;", off);
    char ld[128];
    snprintf(ld, sizeof ld, "sn_ld(a%d + xo + (sn_idx)j * %lld)", xi, (long long)xsa);

    sn_cg_cuda_epi e;
    memset(&e, 0, sizeof e);
    for (int k = 0; k < nd; k++)
        e.idx[k] = idx[k];
    e.lane_dim = -1;
    e.vec = 1;
    e.lane_aligned = 1;
    sn_status st = SN_OK;
    if (softmax) {
        /* fmaxf skips NaNs, as ref's max does: a NaN x still makes exp(x - mx), the sum and the
         * whole row NaN, and an Inf max makes every x - mx NaN or -Inf */
        if (cache) {
            sn_cg_cuda_line(kc, 8, "float xv[%lld];", (long long)nper);
            sn_cg_cuda_line(kc, 8, "float mx = SN_NEG_INF;");
            emit_row_chunks(kc, nper);
            sn_cg_cuda_line(kc, 12, "xv[p] = ok && j < L ? %s : SN_NEG_INF;", ld);
            sn_cg_cuda_line(kc, 12, "mx = fmaxf(mx, xv[p]);");
            sn_cg_cuda_line(kc, 8, "}");
        } else {
            sn_cg_cuda_line(kc, 8, "float mx = SN_NEG_INF;");
            sn_cg_cuda_line(kc, 8, "if (ok)");
            sn_cg_cuda_line(kc, 12, "for (int j = j0; j < L; j += LPR) mx = fmaxf(mx, %s);", ld);
        }
        emit_lanes_reduce(kc, "mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, s));");
        sn_cg_cuda_line(kc, 8, "float sum = 0.0f;");
        if (cache) {
            emit_row_chunks(kc, nper);
            sn_cg_cuda_line(kc, 12, "xv[p] = ok && j < L ? expf(xv[p] - mx) : 0.0f;");
            sn_cg_cuda_line(kc, 12, "sum += xv[p];");
            sn_cg_cuda_line(kc, 8, "}");
        } else {
            sn_cg_cuda_line(kc, 8, "if (ok)");
            sn_cg_cuda_line(kc, 12, "for (int j = j0; j < L; j += LPR) sum += expf(%s - mx);", ld);
        }
        emit_lanes_reduce(kc, "sum += __shfl_xor_sync(0xffffffffu, sum, s);");
        sn_cg_cuda_line(kc, 8, "const float inv = 1.0f / sum;");
        sn_cg_cuda_line(kc, 8, "if (!ok) continue;");
        if (cache) {
            emit_row_chunks(kc, nper);
            sn_cg_cuda_line(kc, 12, "if (j >= L) continue;");
            e.anchor = "xv[p] * inv";
        } else {
            sn_cg_cuda_line(kc, 8, "for (int j = j0; j < L; j += LPR) {");
            sn_cg_cuda_line(kc, 12, "const float y_ = expf(%s - mx) * inv;", ld);
            e.anchor = "y_";
        }
        e.indent = 12;
        st = sn_cg_cuda_epilogue(kc, &e);
        sn_cg_cuda_line(kc, 8, "}");
    } else {
        sn_cg_cuda_line(kc, 8, "float sum = 0.0f;");
        sn_cg_cuda_line(kc, 8, "if (ok)");
        sn_cg_cuda_line(kc, 12, "for (int j = j0; j < L; j += LPR) sum += %s;", ld);
        emit_lanes_reduce(kc, "sum += __shfl_xor_sync(0xffffffffu, sum, s);");
        sn_cg_cuda_line(kc, 8, "if (!ok || j0 != 0) continue;");
        sn_cg_cuda_line(kc, 8, "{");
        sn_cg_cuda_line(kc, 12, "const int j = 0;");
        sn_cg_cuda_line(kc, 12, "(void)j;");
        e.anchor = "sum";
        e.indent = 12;
        st = sn_cg_cuda_epilogue(kc, &e);
        sn_cg_cuda_line(kc, 8, "}");
    }
    if (st) {
        sn_errf(err, errlen, "group %d: an epilogue op has no CUDA rendering", g->id);
        return st;
    }
    sn_cg_cuda_line(kc, 4, "}");

    sn_str spec = {0};
    sn_cg_cuda_spec_begin(kc, &spec, softmax ? "softmax" : "reduce_sum", &tu);
    return sn_cg_cuda_launch(kc, &spec, &tu, (uint32_t)blocks, 1, 1, 0, err, errlen);
}
