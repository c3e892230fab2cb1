/* codegen/cuda_pointwise.c — index-space kernels: one thread per chunk of `vec` elements of
 * the group's index space, grid-stride. Serves POINTWISE groups and the anchors whose value
 * at an index is a gather: UPSAMPLE (nearest), MAXPOOL (window max, -inf padding), CONCAT
 * (select the piece), RESHAPE (row-major copy), and the direct conv (cuda_conv.c supplies
 * its window loop).
 *
 * Algorithm:
 *   1. The primary output (the stored val that varies along most dims) fixes the iteration
 *      order: dims sorted by its strides, largest outermost, so consecutive threads write
 *      consecutive addresses whatever the layout (NCHW or NHWC).
 *   2. When its innermost dim has stride 1, threads take `vec` consecutive elements along it
 *      (16 bytes of the widest output) — if the extent divides and every output is aligned.
 *      Each input is then loaded as one vector, one broadcast scalar or per lane, by stride.
 *   3. The anchor's value for the chunk lands in `float x_[vec]`; the epilogue emitter
 *      (cuda_emit.c) computes the fused ops and stores.
 */
#include "codegen/cuda_int.h"

#include <stdio.h>
#include <string.h>

/* The output val the iteration follows: the one with most varying dims (first on ties). */
static int primary_output(const sn_cg_group *g, int64_t *ps) {
    int best = g->nin, bestn = -1;
    for (int o = g->nin; o < g->nvals; o++) {
        int64_t st[SN_MAX_DIMS];
        sn_cg_cuda_space_strides(g, o, st);
        int n = 0;
        for (int k = 0; k < g->space.ndim; k++)
            if (st[k] != 0 && g->space.d[k] > 1)
                n++;
        if (n > bestn) {
            best = o;
            bestn = n;
        }
    }
    sn_cg_cuda_space_strides(g, best, ps);
    return best;
}

/* Dims of the index space with extent > 1, outermost first (by |stride| of the primary
 * output, stride-0 dims outermost; ties keep logical order). Returns how many. */
static int iteration_order(const sn_cg_group *g, const int64_t *ps, int *order) {
    int n = 0;
    for (int k = 0; k < g->space.ndim; k++)
        if (g->space.d[k] > 1)
            order[n++] = k;
    /* insertion sort: key = stride 0 → +inf, else |stride| descending */
    for (int i = 1; i < n; i++) {
        int d = order[i], j = i - 1;
        int64_t kd = ps[d] == 0 ? INT64_MAX : (ps[d] < 0 ? -ps[d] : ps[d]);
        while (j >= 0) {
            int e = order[j];
            int64_t ke = ps[e] == 0 ? INT64_MAX : (ps[e] < 0 ? -ps[e] : ps[e]);
            if (ke >= kd)
                break;
            order[j + 1] = e;
            j--;
        }
        order[j + 1] = d;
    }
    return n;
}

static int largest_out_size(const sn_cg_group *g) {
    int m = 1;
    for (int o = g->nin; o < g->nvals; o++) {
        int s = sn_cg_cuda_ssize(sn_cg_cuda_val_dtype(g, o));
        if (s > m)
            m = s;
    }
    return m;
}

/* 1 when lanes of `vec` along L suit the anchor. */
static int anchor_allows(const sn_cg_group *g, int L, int vec) {
    if (vec == 1)
        return 1;
    switch (g->anchor) {
    case SN_CG_ANCHOR_POINTWISE:
        return 1;
    case SN_CG_ANCHOR_UPSAMPLE:
    case SN_CG_ANCHOR_MAXPOOL:
        return L == 0 || L == 1;
    case SN_CG_ANCHOR_CONCAT:
        if (L != g->attr[0])
            return 1;
        for (int i = 0; i < g->nanchor_in; i++) {
            const sn_cg_val *p = &g->vals[g->anchor_in[i]];
            if (p->shape.d[L] % vec != 0)
                return 0;
        }
        return 1;
    case SN_CG_ANCHOR_CONV2D: {
        /* depthwise only: lane o reads input channel o */
        const sn_cg_conv *cv = &g->conv;
        return L == 1 && cv->groups == cv->c && cv->groups == cv->o;
    }
    default:
        return 0;
    }
}

static int choose_vec(const sn_cg_group *g, int L, const sn_cg_cuda_tune *tu) {
    if (L < 0)
        return 1;
    int vec = tu && tu->vec ? tu->vec : 16 / largest_out_size(g);
    if (vec > 8)
        vec = 8;
    const int64_t *ext = g->space.d;
    for (; vec > 1; vec /= 2) {
        if (ext[L] % vec != 0)
            continue;
        if (!anchor_allows(g, L, vec))
            continue;
        int ok = 1;
        for (int o = g->nin; o < g->nvals && ok; o++) {
            int64_t os[SN_MAX_DIMS];
            sn_cg_cuda_space_strides(g, o, os);
            if (os[L] == 0)
                continue;
            if (!sn_cg_cuda_vec_ok(g, o, g->space.ndim, ext, os, L, vec, 1))
                ok = 0;
        }
        if (ok)
            break;
    }
    return vec < 1 ? 1 : vec;
}

/* ---------------------------------------------------------------- anchors */

static void val_extent(const sn_cg_val *v, int64_t *ext) {
    for (int k = 0; k < SN_MAX_DIMS; k++)
        ext[k] = k < v->shape.ndim ? v->shape.d[k] : 1;
}

/* Loads lanes of val vi at the index `idx` (C expressions per val dim) into x (declared). */
static void gather(sn_cg_cuda_k *kc, int ind, const char *var, int vi, const char *const *idx,
                   int L, int vec, int declare) {
    const sn_cg_val *v = &kc->g->vals[vi];
    int64_t ext[SN_MAX_DIMS];
    val_extent(v, ext);
    char off[1024];
    sn_cg_cuda_offset_expr(off, sizeof off, v->shape.ndim, ext, idx, v->stride);
    int64_t ls = vec > 1 && L >= 0 && L < v->shape.ndim && ext[L] > 1 ? v->stride[L] : 0;
    int vok = vec > 1 && ls == 1 &&
              sn_cg_cuda_vec_ok(kc->g, vi, v->shape.ndim, ext, v->stride, L, vec, 1);
    sn_cg_cuda_load_lanes(kc, ind, var, vi, off, ls, vec, vok, declare);
}

static sn_status anchor_upsample(sn_cg_cuda_k *kc, int ind, const char *const *idx, int L,
                                 int vec) {
    const sn_cg_group *g = kc->g;
    char h[64], w[64];
    snprintf(h, sizeof h, "(%s / %lld)", idx[2], (long long)g->attr[0]);
    snprintf(w, sizeof w, "(%s / %lld)", idx[3], (long long)g->attr[1]);
    const char *xi[4] = {idx[0], idx[1], h, w};
    gather(kc, ind, "x_", g->anchor_in[0], xi, L, vec, 1);
    return SN_OK;
}

static sn_status anchor_maxpool(sn_cg_cuda_k *kc, int ind, const char *const *idx, int L, int vec) {
    const sn_cg_group *g = kc->g;
    const sn_cg_conv *cv = &g->conv;
    sn_cg_cuda_line(kc, ind, "float x_[%d];", vec);
    sn_cg_cuda_line(kc, ind, "#pragma unroll");
    sn_cg_cuda_line(kc, ind, "for (int v = 0; v < %d; ++v) x_[v] = SN_NEG_INF;", vec);
    sn_cg_cuda_line(kc, ind, "#pragma unroll");
    sn_cg_cuda_line(kc, ind, "for (int kh = 0; kh < %lld; ++kh) {", (long long)cv->kh);
    sn_cg_cuda_line(kc, ind + 4, "const sn_idx ih = %s * %lld - %lld + kh;", idx[2],
                    (long long)cv->sh, (long long)cv->ph);
    sn_cg_cuda_line(kc, ind + 4, "if (ih < 0 || ih >= %lld) continue;", (long long)cv->h);
    sn_cg_cuda_line(kc, ind + 4, "#pragma unroll");
    sn_cg_cuda_line(kc, ind + 4, "for (int kw = 0; kw < %lld; ++kw) {", (long long)cv->kw);
    sn_cg_cuda_line(kc, ind + 8, "const sn_idx iw = %s * %lld - %lld + kw;", idx[3],
                    (long long)cv->sw, (long long)cv->pw);
    sn_cg_cuda_line(kc, ind + 8, "if (iw < 0 || iw >= %lld) continue;", (long long)cv->w);
    const char *xi[4] = {idx[0], idx[1], "ih", "iw"};
    gather(kc, ind + 8, "w_", g->anchor_in[0], xi, L, vec, 1);
    sn_cg_cuda_line(kc, ind + 8, "#pragma unroll");
    sn_cg_cuda_line(kc, ind + 8, "for (int v = 0; v < %d; ++v) x_[v] = sn_max(x_[v], w_[v]);", vec);
    sn_cg_cuda_line(kc, ind + 4, "}");
    sn_cg_cuda_line(kc, ind, "}");
    return SN_OK;
}

static sn_status anchor_concat(sn_cg_cuda_k *kc, int ind, const char *const *idx, int L, int vec) {
    const sn_cg_group *g = kc->g;
    int ax = (int)g->attr[0];
    sn_cg_cuda_line(kc, ind, "float x_[%d];", vec);
    for (int p = 0; p < g->nanchor_in; p++) {
        int vi = g->anchor_in[p];
        int64_t start = g->concat_start[p];
        int64_t end = start + g->vals[vi].shape.d[ax];
        if (p == g->nanchor_in - 1)
            sn_cg_cuda_line(kc, ind, "%s{", p ? "} else " : "");
        else
            sn_cg_cuda_line(kc, ind, "%sif (%s < %lld) {", p ? "} else " : "", idx[ax],
                            (long long)end);
        char a[64];
        snprintf(a, sizeof a, "(%s - %lld)", idx[ax], (long long)start);
        const char *pi[SN_MAX_DIMS];
        for (int k = 0; k < g->space.ndim; k++)
            pi[k] = k == ax ? (start ? a : idx[ax]) : idx[k];
        gather(kc, ind + 4, "x_", vi, pi, L, vec, 0);
    }
    sn_cg_cuda_line(kc, ind, "}");
    return SN_OK;
}

static sn_status anchor_reshape(sn_cg_cuda_k *kc, int ind, const char *const *idx) {
    const sn_cg_group *g = kc->g;
    const sn_shape *sp = &g->space;
    int64_t cs[SN_MAX_DIMS];
    sn_ir_contiguous_strides(sp, cs);
    char lin[1024];
    sn_cg_cuda_offset_expr(lin, sizeof lin, sp->ndim, sp->d, idx, cs);
    sn_cg_cuda_line(kc, ind, "sn_idx e_ = %s;", lin);
    const sn_cg_val *x = &g->vals[g->anchor_in[0]];
    sn_cg_cuda_line(kc, ind, "sn_idx o_ = 0;");
    for (int k = x->shape.ndim - 1; k >= 0; k--) {
        if (x->shape.d[k] == 1)
            continue;
        int last = 1;
        for (int j = k - 1; j >= 0; j--)
            if (x->shape.d[j] != 1)
                last = 0;
        if (last)
            sn_cg_cuda_line(kc, ind, "o_ += e_ * %lld;", (long long)x->stride[k]);
        else
            sn_cg_cuda_line(kc, ind, "o_ += (e_ %% %lld) * %lld; e_ /= %lld;",
                            (long long)x->shape.d[k], (long long)x->stride[k],
                            (long long)x->shape.d[k]);
    }
    sn_cg_cuda_line(kc, ind, "float x_[1];");
    sn_cg_cuda_line(kc, ind, "x_[0] = sn_ld(a%d + o_);", g->anchor_in[0]);
    return SN_OK;
}

/* ---------------------------------------------------------------- the kernel */

sn_status sn_cg_cuda_render_space(sn_cg_cuda_k *kc, const sn_cg_cuda_tune *tu_in, char *err,
                                  size_t errlen) {
    const sn_cg_group *g = kc->g;
    sn_cg_cuda_tune tu = tu_in ? *tu_in : (sn_cg_cuda_tune){0};
    const int nd = g->space.ndim;
    const int64_t *ext = g->space.d;
    if (g->nvals <= g->nin) {
        sn_errf(err, errlen, "group %d: nothing to store", g->id);
        return SN_ERR_INVALID;
    }
    int64_t ps[SN_MAX_DIMS];
    primary_output(g, ps);
    int order[SN_MAX_DIMS];
    int no = iteration_order(g, ps, order);
    int L = no > 0 && ps[order[no - 1]] == 1 ? order[no - 1] : -1;
    int vec = g->anchor == SN_CG_ANCHOR_RESHAPE ? 1 : choose_vec(g, L, &tu);
    if (vec == 1)
        L = -1;
    if (!tu.threads)
        tu.threads = 256;
    if (!tu.max_blocks)
        tu.max_blocks = 8192;
    tu.vec = vec;
    if (tu.algo == SN_CG_CUDA_ALGO_AUTO)
        tu.algo = SN_CG_CUDA_ALGO_SIMPLE;

    int64_t total = sn_shape_numel(&g->space) / vec;
    int64_t blocks = (total + tu.threads - 1) / tu.threads;
    if (blocks > tu.max_blocks)
        blocks = tu.max_blocks;
    if (blocks < 1)
        blocks = 1;

    sn_cg_cuda_begin(kc, 0);
    sn_cg_cuda_signature(kc, tu.threads, NULL);
    sn_cg_cuda_line(kc, 4, "const sn_idx total = %lld;", (long long)total);
    sn_cg_cuda_line(kc, 4,
                    "for (sn_idx q = (sn_idx)blockIdx.x * %d + threadIdx.x; q < total; "
                    "q += (sn_idx)gridDim.x * %d) {",
                    tu.threads, tu.threads);
    char names[SN_MAX_DIMS][16];
    const char *idx[SN_MAX_DIMS];
    for (int k = 0; k < nd; k++) {
        if (ext[k] > 1)
            snprintf(names[k], sizeof names[k], "i%d", k);
        else
            snprintf(names[k], sizeof names[k], "0");
        idx[k] = names[k];
    }
    if (no > 0)
        sn_cg_cuda_line(kc, 8, "sn_idx r = q;");
    for (int j = no - 1; j >= 0; j--) {
        int d = order[j];
        int64_t e = ext[d] / (d == L ? vec : 1);
        const char *mul = d == L ? " * " : "";
        char vs[16] = "";
        if (d == L)
            snprintf(vs, sizeof vs, "%d", vec);
        if (j == 0)
            sn_cg_cuda_line(kc, 8, "const sn_idx i%d = r%s%s;", d, mul, vs);
        else
            sn_cg_cuda_line(kc, 8, "const sn_idx i%d = (r %% %lld)%s%s; r /= %lld;", d,
                            (long long)e, mul, vs, (long long)e);
    }
    if (no > 0)
        sn_cg_cuda_line(kc, 8, "(void)r;");

    sn_status st = SN_OK;
    const char *anchor = "x_[v]";
    switch (g->anchor) {
    case SN_CG_ANCHOR_POINTWISE:
        anchor = NULL;
        break;
    case SN_CG_ANCHOR_UPSAMPLE:
        st = anchor_upsample(kc, 8, idx, L, vec);
        break;
    case SN_CG_ANCHOR_MAXPOOL:
        st = anchor_maxpool(kc, 8, idx, L, vec);
        break;
    case SN_CG_ANCHOR_CONCAT:
        st = anchor_concat(kc, 8, idx, L, vec);
        break;
    case SN_CG_ANCHOR_RESHAPE:
        st = anchor_reshape(kc, 8, idx);
        break;
    case SN_CG_ANCHOR_CONV2D:
        st = sn_cg_cuda_direct_conv_body(kc, 8, idx, L, vec);
        break;
    default:
        sn_errf(err, errlen, "group %d: %s is not an index-space kernel", g->id,
                sn_cg_anchor_name(g->anchor));
        return SN_ERR_UNSUPPORTED;
    }
    if (st) {
        sn_errf(err, errlen, "group %d: cannot render the %s anchor", g->id,
                sn_cg_anchor_name(g->anchor));
        return st;
    }
    sn_cg_cuda_epi e;
    memset(&e, 0, sizeof e);
    for (int k = 0; k < nd; k++)
        e.idx[k] = idx[k];
    e.lane_dim = L;
    e.vec = vec;
    e.lane_aligned = 1;
    e.anchor = anchor;
    e.indent = 8;
    st = sn_cg_cuda_epilogue(kc, &e);
    if (st) {
        sn_errf(err, errlen, "group %d: an epilogue op has no CUDA rendering", g->id);
        return st;
    }
    sn_cg_cuda_line(kc, 4, "}");

    sn_str spec = {0};
    const char *tmpl = g->anchor == SN_CG_ANCHOR_CONV2D ? "conv_direct" : "space";
    sn_cg_cuda_spec_begin(kc, &spec, tmpl, &tu);
    sn_str_printf(&spec, "order");
    for (int j = 0; j < no; j++)
        sn_str_printf(&spec, " %d", order[j]);
    sn_str_printf(&spec, " lane %d\n", L);
    return sn_cg_cuda_launch(kc, &spec, &tu, (uint32_t)blocks, 1, 1, 0, err, errlen);
}
