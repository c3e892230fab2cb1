/* codegen/cpu_host.c — host kernels: the CPU backend's steps for groups no generator emits yet
 * (SN_CG_ANCHOR_HOST): training's BatchNorm batch statistics, the conv weight gradient, the
 * input gradient of a strided conv, the max-pool gradient, and the detection loss (its
 * assigner is no loop nest; it runs the ref rule's own code, ir's sn_ir_det_loss_compute).
 *
 * A host kernel is a C function compiled into Sinter with the CPU kernel ABI,
 * `void f(void **args, int64_t begin, int64_t end)` over [0, tasks): the runtime calls it
 * through its thread pool like a generated kernel (SN_RT_STEP_HOST). Its arguments are the
 * description (args[0], a host_desc in the weights blob: every value's shape and element
 * strides, the op's attributes), then the group's values (inputs, then the output), then any
 * operand the step packed for itself (the strided conv's transposed weights).
 *
 * Every function reads and writes through the strides, so any layout is correct; the hot
 * loops have a fast path for what the pipeline gives the CPU backend (NHWC: channels
 * contiguous) written with GCC/Clang vector types, and on x86-64 Linux each hot function is
 * compiled for AVX-512, AVX2 and baseline (target_clones) and picked at load time.
 * Accumulation: f32 vectors over one image's (or row's) pixels, then double across them,
 * against ref's double throughout.
 *
 * A host kernel cannot fail: if it cannot allocate its scratch it writes NaN, which the
 * trainer reports as a non-finite loss or gradient. */
#include "codegen/codegen_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) &&       \
    !defined(__SANITIZE_ADDRESS__)
#define HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define HOT
#endif

#define VL 16 /* f32 lanes of the vector type (one AVX-512 register, two AVX2 ones) */
#define CB 8  /* input channels per conv-weight-gradient register block */
#define RB 4  /* output rows per conv-weight-gradient band (cache blocking) */

typedef float vf __attribute__((vector_size(VL * sizeof(float))));

/* The helpers are inlined into each clone; passing vf by value between functions compiled for
 * different targets never happens, so GCC's ABI note about it does not apply. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

static inline __attribute__((always_inline)) vf vld(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
/* n < VL lanes from p, the rest 0 */
static inline __attribute__((always_inline)) vf vld_n(const float *p, int64_t n) {
    vf v = {0};
    for (int64_t l = 0; l < n; l++)
        v[l] = p[l];
    return v;
}

typedef struct host_desc {
    int64_t op, nvals;
    int64_t d[SN_CG_MAX_ARGS][SN_MAX_DIMS];  /* value v (args[1 + v]): shape */
    int64_t st[SN_CG_MAX_ARGS][SN_MAX_DIMS]; /* and element strides */
    int64_t ia[SN_IR_MAX_IA];
    double fa[SN_IR_MAX_FA];
} host_desc;

/* NaN into every element of a strided tensor (a host kernel's failure: no scratch memory) */
static void fill_nan(float *y, const int64_t *d, const int64_t *st, int64_t ndim) {
    int64_t n = 1;
    for (int64_t k = 0; k < ndim; k++)
        n *= d[k];
    for (int64_t e = 0; e < n; e++) {
        int64_t off = 0, r = e;
        for (int64_t k = ndim - 1; k >= 0; k--) {
            off += (r % d[k]) * st[k];
            r /= d[k];
        }
        y[off] = NAN;
    }
}

/* ---------------------------------------------------------------- BatchNorm batch statistics
 * x [N,C,H,W] → y [2,C]: per channel the mean and the biased variance, two passes (as ref). */
static inline __attribute__((always_inline)) void bn_pass(const host_desc *h, const float *x,
                                                          int64_t c0, int64_t nc,
                                                          const double *mean, double *acc) {
    const int64_t *d = h->d[0], *s = h->st[0];
    for (int64_t n = 0; n < d[0]; n++)
        for (int64_t i = 0; i < d[2]; i++) {
            const float *row = x + n * s[0] + c0 * s[1] + i * s[2];
            if (s[1] == 1 && nc == VL) {
                vf a = {0}, m = {0};
                for (int l = 0; mean && l < VL; l++)
                    m[l] = (float)mean[l];
                for (int64_t j = 0; j < d[3]; j++) {
                    vf v = vld(row + j * s[3]);
                    a += mean ? (v - m) * (v - m) : v;
                }
                for (int l = 0; l < VL; l++)
                    acc[l] += a[l];
                continue;
            }
            for (int64_t l = 0; l < nc; l++)
                for (int64_t j = 0; j < d[3]; j++) {
                    double v = row[l * s[1] + j * s[3]];
                    acc[l] += mean ? (v - mean[l]) * (v - mean[l]) : v;
                }
        }
}

HOT static void host_bn_stats(void **args, int64_t begin, int64_t end) {
    const host_desc *h = args[0];
    const float *x = args[1];
    float *y = args[2];
    int64_t C = h->d[0][1], M = h->d[0][0] * h->d[0][2] * h->d[0][3];
    const int64_t *ys = h->st[1];
    for (int64_t t = begin; t < end; t++) {
        int64_t c0 = t * VL, nc = C - c0 < VL ? C - c0 : VL;
        double sum[VL] = {0}, mean[VL] = {0}, sq[VL] = {0};
        bn_pass(h, x, c0, nc, NULL, sum);
        for (int64_t l = 0; l < nc; l++)
            mean[l] = sum[l] / (double)M;
        bn_pass(h, x, c0, nc, mean, sq);
        for (int64_t l = 0; l < nc; l++) {
            y[(c0 + l) * ys[1]] = (float)mean[l];
            y[ys[0] + (c0 + l) * ys[1]] = (float)(sq[l] / (double)M);
        }
    }
}

/* ---------------------------------------------------------------- conv weight gradient
 * x [N,C,H,W], dy [N,O,OH,OW] → dw [O,C/g,KH,KW]; ia: conv2d's (stride, pad, dilation,
 * groups), then kh kw. dw[o][c][kh][kw] = Σ_{n,oy,ox} dy[n][o][oy][ox] · x[n][c][iy][ix],
 * iy = oy·sh − ph + kh·dh (taps in the padding contribute nothing). */
typedef struct conv_geom {
    int64_t N, C, H, W, O, OH, OW, KH, KW, sh, sw, ph, pw, dh, dw, G, Cg, Og;
} conv_geom;

static conv_geom geom(const host_desc *h, int x, int dy, int w) {
    const int64_t *ia = h->ia;
    conv_geom g = {h->d[x][0],  h->d[x][1], h->d[x][2], h->d[x][3], h->d[dy][1], h->d[dy][2],
                   h->d[dy][3], h->d[w][2], h->d[w][3], ia[0],      ia[1],       ia[2],
                   ia[3],       ia[4],      ia[5],      ia[6],      0,           0};
    g.Cg = g.C / g.G;
    g.Og = g.O / g.G;
    return g;
}

/* the output rows oy (or columns) whose tap k lands inside the input: [*lo, *hi) */
static void tap_range(int64_t k, int64_t s, int64_t p, int64_t dil, int64_t in, int64_t out,
                      int64_t *lo, int64_t *hi) {
    int64_t off = k * dil - p; /* iy = oy·s + off */
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = in - off <= 0 ? 0 : (in - off + s - 1) / s;
    *lo = a;
    *hi = b < out ? b : out;
    if (*hi < *lo)
        *hi = *lo;
}

/* the output pixels whose tap (kh, kw) lands inside the input: rows [y0, y1), cols [x0, x1) */
static void tap_box(const conv_geom *g, int64_t kh, int64_t kw, int64_t *y0, int64_t *y1,
                    int64_t *x0, int64_t *x1) {
    tap_range(kh, g->sh, g->ph, g->dh, g->H, g->OH, y0, y1);
    tap_range(kw, g->sw, g->pw, g->dw, g->W, g->OW, x0, x1);
}

/* A tile of one image: `lanes` channels from c0 of v (shape d, strides st) for every pixel,
 * channels innermost. Read in place when those channels are contiguous and all there (NHWC
 * arena values); else copied into scratch, zero-padded to `lanes` (an NCHW input image, the
 * head's gradient, a channel tail). Its pixel strides go to ps[0] (rows) and ps[1] (columns). */
static const float *tile(const float *v, const int64_t *d, const int64_t *st, int64_t n, int64_t c0,
                         int64_t nc, int lanes, float *scratch, int64_t *ps) {
    const float *base = v + n * st[0] + c0 * st[1];
    if (st[1] == 1 && nc == lanes) {
        ps[0] = st[2];
        ps[1] = st[3];
        return base;
    }
    float *q = scratch;
    for (int64_t y = 0; y < d[2]; y++)
        for (int64_t x = 0; x < d[3]; x++, q += lanes)
            for (int64_t c = 0; c < lanes; c++)
                q[c] = c < nc ? base[c * st[1] + y * st[2] + x * st[3]] : 0.f;
    ps[0] = d[3] * lanes;
    ps[1] = lanes;
    return scratch;
}

/* One task = (group, NV·VL output channels, NC input channels): per image, band of RB output
 * rows and tap, NV×NC accumulators of VL lanes — NV dy vectors times NC broadcast x values per
 * pixel. NV and NC are constants where it is inlined: (1, CB) and, for 32 output channels or
 * more, (2, CB2): 16 accumulators and the 8 broadcasts fit AVX-512's 32 registers. */
#define CB2 8
static inline __attribute__((always_inline)) void grad_weight_block(const host_desc *h,
                                                                    const float *x, const float *dy,
                                                                    float *dw, int64_t t,
                                                                    const int NV, const int NC) {
    conv_geom g = geom(h, 0, 1, 2);
    const int64_t *ws = h->st[2];
    const int OL = NV * VL;
    int64_t nob = (g.Og + OL - 1) / OL, ncb = (g.Cg + NC - 1) / NC;
    int64_t gi = t / (nob * ncb), ob = t / ncb % nob, cb = t % ncb;
    int64_t o0 = gi * g.Og + ob * OL, no = g.Og - ob * OL < OL ? g.Og - ob * OL : OL;
    int64_t cl0 = cb * NC, nci = g.Cg - cl0 < NC ? g.Cg - cl0 : NC, c0 = gi * g.Cg + cl0;
    int64_t ntap = g.KH * g.KW;
    double *tot = calloc((size_t)(ntap * NC * OL), sizeof *tot);
    float *ysc = malloc((size_t)(g.OH * g.OW * OL) * sizeof *ysc);
    float *xsc = malloc((size_t)(g.H * g.W * NC) * sizeof *xsc);
    for (int64_t n = 0; tot && ysc && xsc && n < g.N; n++) {
        int64_t yp[2], xp2[2];
        const float *yt = tile(dy, h->d[1], h->st[1], n, o0, no, OL, ysc, yp);
        const float *xt = tile(x, h->d[0], h->st[0], n, c0, nci, NC, xsc, xp2);
        /* output rows in bands of RB: a band's dy rows (and the x rows under them) stay in
         * cache across the taps instead of being streamed once per tap */
        for (int64_t b0 = 0; b0 < g.OH; b0 += RB)
            for (int64_t k = 0; k < ntap; k++) {
                int64_t kh = k / g.KW, kw = k % g.KW, y0, y1, x0, x1;
                tap_box(&g, kh, kw, &y0, &y1, &x0, &x1);
                y0 = y0 > b0 ? y0 : b0;
                y1 = y1 < b0 + RB ? y1 : b0 + RB;
                if (y0 >= y1 || x0 >= x1)
                    continue;
                vf acc[2][CB2] = {{{0}}};
                for (int64_t oy = y0; oy < y1; oy++) {
                    const float *yr = yt + oy * yp[0];
                    const float *xr =
                        xt + (oy * g.sh - g.ph + kh * g.dh) * xp2[0] + (kw * g.dw - g.pw) * xp2[1];
                    for (int64_t ox = x0; ox < x1; ox++) {
                        const float *yq = yr + ox * yp[1], *xq = xr + ox * g.sw * xp2[1];
#pragma GCC unroll 2
                        for (int v = 0; v < NV; v++) {
                            vf yv = vld(yq + v * VL);
#pragma GCC unroll 8
                            for (int c = 0; c < NC; c++)
                                acc[v][c] += xq[c] * yv;
                        }
                    }
                }
                double *tk = tot + k * NC * OL;
                for (int v = 0; v < NV; v++)
                    for (int c = 0; c < NC; c++)
                        for (int l = 0; l < VL; l++)
                            tk[c * OL + v * VL + l] += acc[v][c][l];
            }
    }
    for (int64_t k = 0; k < ntap; k++)
        for (int64_t c = 0; c < nci; c++)
            for (int64_t o = 0; o < no; o++)
                dw[(o0 + o) * ws[0] + (cl0 + c) * ws[1] + k / g.KW * ws[2] + k % g.KW * ws[3]] =
                    tot && ysc && xsc ? (float)tot[(k * NC + c) * OL + o] : NAN;
    free(tot);
    free(ysc);
    free(xsc);
}

HOT static void grad_weight_blocked(const host_desc *h, const float *x, const float *dy, float *dw,
                                    int64_t t) {
    grad_weight_block(h, x, dy, dw, t, 1, CB);
}

HOT static void grad_weight_blocked2(const host_desc *h, const float *x, const float *dy, float *dw,
                                     int64_t t) {
    grad_weight_block(h, x, dy, dw, t, 2, CB2);
}

/* depthwise (C = O = groups), channels contiguous: one task = VL channels */
HOT static void grad_weight_depthwise(const host_desc *h, const float *x, const float *dy,
                                      float *dw, int64_t t) {
    conv_geom g = geom(h, 0, 1, 2);
    const int64_t *xs = h->st[0], *ys = h->st[1], *ws = h->st[2];
    int64_t c0 = t * VL, nc = g.C - c0 < VL ? g.C - c0 : VL, ntap = g.KH * g.KW;
    double *tot = calloc((size_t)(ntap * VL), sizeof *tot);
    if (!tot) {
        for (int64_t c = 0; c < nc; c++)
            for (int64_t k = 0; k < ntap; k++)
                dw[(c0 + c) * ws[0] + k / g.KW * ws[2] + k % g.KW * ws[3]] = NAN;
        return;
    }
    for (int64_t n = 0; n < g.N; n++)
        for (int64_t k = 0; k < ntap; k++) {
            int64_t kh = k / g.KW, kw = k % g.KW, y0, y1, x0, x1;
            tap_box(&g, kh, kw, &y0, &y1, &x0, &x1);
            vf acc = {0};
            for (int64_t oy = y0; oy < y1; oy++) {
                const float *yr = dy + n * ys[0] + c0 + oy * ys[2];
                const float *xr = x + n * xs[0] + c0 + (oy * g.sh - g.ph + kh * g.dh) * xs[2] +
                                  (kw * g.dw - g.pw) * xs[3];
                for (int64_t ox = x0; ox < x1; ox++) {
                    const float *yp = yr + ox * ys[3], *xp = xr + ox * g.sw * xs[3];
                    acc += nc == VL ? vld(yp) * vld(xp) : vld_n(yp, nc) * vld_n(xp, nc);
                }
            }
            for (int l = 0; l < VL; l++)
                tot[k * VL + l] += acc[l];
        }
    for (int64_t c = 0; c < nc; c++)
        for (int64_t k = 0; k < ntap; k++)
            dw[(c0 + c) * ws[0] + k / g.KW * ws[2] + k % g.KW * ws[3]] = (float)tot[k * VL + c];
    free(tot);
}

/* any layout: one task = one output channel, double accumulation (ref's loops) */
static void grad_weight_any(const host_desc *h, const float *x, const float *dy, float *dw,
                            int64_t o) {
    conv_geom g = geom(h, 0, 1, 2);
    const int64_t *xs = h->st[0], *ys = h->st[1], *ws = h->st[2];
    for (int64_t c = 0; c < g.Cg; c++)
        for (int64_t kh = 0; kh < g.KH; kh++)
            for (int64_t kw = 0; kw < g.KW; kw++) {
                int64_t y0, y1, x0, x1;
                tap_box(&g, kh, kw, &y0, &y1, &x0, &x1);
                double s = 0;
                for (int64_t n = 0; n < g.N; n++)
                    for (int64_t oy = y0; oy < y1; oy++)
                        for (int64_t ox = x0; ox < x1; ox++)
                            s += (double)dy[n * ys[0] + o * ys[1] + oy * ys[2] + ox * ys[3]] *
                                 x[n * xs[0] + (o / g.Og * g.Cg + c) * xs[1] +
                                   (oy * g.sh - g.ph + kh * g.dh) * xs[2] +
                                   (ox * g.sw - g.pw + kw * g.dw) * xs[3]];
                dw[o * ws[0] + c * ws[1] + kh * ws[2] + kw * ws[3]] = (float)s;
            }
}

/* which path: 0 any (grouped convs with few channels per group), 1 blocked, 2 depthwise
 * (channels contiguous), 3 blocked with two output vectors (32 output channels or more) */
static int grad_weight_path(const host_desc *h) {
    conv_geom g = geom(h, 0, 1, 2);
    if (g.Cg == 1 && g.Og == 1)
        return h->st[0][1] == 1 && h->st[1][1] == 1 ? 2 : 0;
    return g.Og >= 2 * VL ? 3 : g.Og >= VL / 4 ? 1 : 0;
}

static int64_t grad_weight_tasks(const host_desc *h) {
    conv_geom g = geom(h, 0, 1, 2);
    switch (grad_weight_path(h)) {
    case 3:
        return g.G * ((g.Og + 2 * VL - 1) / (2 * VL)) * ((g.Cg + CB2 - 1) / CB2);
    case 2:
        return (g.C + VL - 1) / VL;
    case 1:
        return g.G * ((g.Og + VL - 1) / VL) * ((g.Cg + CB - 1) / CB);
    default:
        return g.O;
    }
}

static void host_conv_grad_weight(void **args, int64_t begin, int64_t end) {
    const host_desc *h = args[0];
    int path = grad_weight_path(h);
    for (int64_t t = begin; t < end; t++) {
        if (path == 3)
            grad_weight_blocked2(h, args[1], args[2], args[3], t);
        else if (path == 1)
            grad_weight_blocked(h, args[1], args[2], args[3], t);
        else if (path == 2)
            grad_weight_depthwise(h, args[1], args[2], args[3], t);
        else
            grad_weight_any(h, args[1], args[2], args[3], t);
    }
}

/* ---------------------------------------------------------------- conv input gradient
 * (strided or dilated convs; a stride-1 one is a conv kernel, see lower.c) dy [N,O,OH,OW],
 * w [O,C/g,KH,KW] → dx [N,C,H,W]; ia: conv2d's, then in_h in_w. args[4]: the weights packed
 * by this step as wt[g][kh][kw][o][c] (c contiguous). One task = one row of dx. */
/* dx at one pixel (n, iy, ix), every channel, into acc: per group, blocks of up to 4 vectors
 * of channels held in registers across every tap and output channel (NV a constant where
 * inlined). Cg is a whole number of vectors. */
static inline __attribute__((always_inline)) void
grad_input_block(const conv_geom *g, const float *dy, const int64_t *ys, const float *wt, int64_t n,
                 int64_t iy, int64_t ix, int64_t gi, int64_t c0, float *acc, const int NV) {
    vf a[4] = {{0}};
    for (int64_t kh = 0; kh < g->KH; kh++) {
        int64_t ty = iy + g->ph - kh * g->dh;
        if (ty < 0 || ty % g->sh || ty / g->sh >= g->OH)
            continue;
        for (int64_t kw = 0; kw < g->KW; kw++) {
            int64_t tx = ix + g->pw - kw * g->dw;
            if (tx < 0 || tx % g->sw || tx / g->sw >= g->OW)
                continue;
            const float *yp =
                dy + n * ys[0] + ty / g->sh * ys[2] + tx / g->sw * ys[3] + gi * g->Og * ys[1];
            const float *wk = wt + ((gi * g->KH + kh) * g->KW + kw) * g->Og * g->Cg + c0;
            for (int64_t o = 0; o < g->Og; o++) {
                float s = yp[o * ys[1]];
                const float *wr = wk + o * g->Cg;
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    a[v] += s * vld(wr + v * VL);
            }
        }
    }
    for (int v = 0; v < NV; v++)
        memcpy(acc + gi * g->Cg + c0 + v * VL, &a[v], sizeof a[v]);
}

HOT static void grad_input_pixel(const conv_geom *g, const float *dy, const int64_t *ys,
                                 const float *wt, int64_t n, int64_t iy, int64_t ix, float *acc) {
    for (int64_t gi = 0; gi < g->G; gi++)
        for (int64_t c0 = 0; c0 < g->Cg; c0 += 4 * VL) {
            int64_t nv = (g->Cg - c0) / VL;
            if (nv >= 4)
                grad_input_block(g, dy, ys, wt, n, iy, ix, gi, c0, acc, 4);
            else if (nv == 3)
                grad_input_block(g, dy, ys, wt, n, iy, ix, gi, c0, acc, 3);
            else if (nv == 2)
                grad_input_block(g, dy, ys, wt, n, iy, ix, gi, c0, acc, 2);
            else
                grad_input_block(g, dy, ys, wt, n, iy, ix, gi, c0, acc, 1);
        }
}

HOT static void host_conv_grad_input(void **args, int64_t begin, int64_t end) {
    const host_desc *h = args[0];
    const float *dy = args[1], *wt = args[4];
    float *dx = args[3];
    conv_geom g = geom(h, 2, 0, 1);
    const int64_t *ys = h->st[0], *xs = h->st[2];
    float *acc = malloc((size_t)g.C * sizeof *acc);
    for (int64_t t = begin; t < end; t++) {
        int64_t n = t / g.H, iy = t % g.H;
        for (int64_t ix = 0; ix < g.W; ix++) {
            float *out = dx + n * xs[0] + iy * xs[2] + ix * xs[3];
            if (!acc) {
                for (int64_t c = 0; c < g.C; c++)
                    out[c * xs[1]] = NAN;
                continue;
            }
            if (g.Cg % VL == 0) { /* whole vectors: accumulators in registers */
                grad_input_pixel(&g, dy, ys, wt, n, iy, ix, acc);
                for (int64_t c = 0; c < g.C; c++)
                    out[c * xs[1]] = acc[c];
                continue;
            }
            memset(acc, 0, (size_t)g.C * sizeof *acc);
            for (int64_t kh = 0; kh < g.KH; kh++) {
                int64_t ty = iy + g.ph - kh * g.dh;
                if (ty < 0 || ty % g.sh || ty / g.sh >= g.OH)
                    continue;
                for (int64_t kw = 0; kw < g.KW; kw++) {
                    int64_t tx = ix + g.pw - kw * g.dw;
                    if (tx < 0 || tx % g.sw || tx / g.sw >= g.OW)
                        continue;
                    const float *yp = dy + n * ys[0] + ty / g.sh * ys[2] + tx / g.sw * ys[3];
                    for (int64_t gi = 0; gi < g.G; gi++) {
                        const float *wk = wt + ((gi * g.KH + kh) * g.KW + kw) * g.Og * g.Cg;
                        float *a = acc + gi * g.Cg;
                        for (int64_t o = 0; o < g.Og; o++) {
                            float s = yp[(gi * g.Og + o) * ys[1]];
                            const float *wr = wk + o * g.Cg;
                            int64_t c = 0;
                            for (; c + VL <= g.Cg; c += VL) {
                                vf r = vld(a + c) + s * vld(wr + c);
                                memcpy(a + c, &r, sizeof r);
                            }
                            for (; c < g.Cg; c++)
                                a[c] += s * wr[c];
                        }
                    }
                }
            }
            for (int64_t c = 0; c < g.C; c++)
                out[c * xs[1]] = acc[c];
        }
    }
    free(acc);
}

/* ---------------------------------------------------------------- max-pool gradient
 * x, dy → dx: each window's dy to its first max (a NaN wins), as ref; ia: k stride pad.
 * One task = one (n, c) plane. */
static void host_maxpool2d_grad(void **args, int64_t begin, int64_t end) {
    const host_desc *h = args[0];
    const float *x = args[1], *dy = args[2];
    float *dx = args[3];
    const int64_t *xs = h->st[0], *ys = h->st[1], *ds = h->st[2];
    int64_t C = h->d[0][1], H = h->d[0][2], W = h->d[0][3], OH = h->d[1][2], OW = h->d[1][3];
    int64_t k = h->ia[0], st = h->ia[1], pd = h->ia[2];
    double *acc = malloc((size_t)(H * W) * sizeof *acc);
    for (int64_t t = begin; t < end; t++) {
        int64_t n = t / C, c = t % C;
        const float *xp = x + n * xs[0] + c * xs[1];
        const float *yp = dy + n * ys[0] + c * ys[1];
        float *dp = dx + n * ds[0] + c * ds[1];
        if (acc)
            for (int64_t e = 0; e < H * W; e++)
                acc[e] = 0.0;
        for (int64_t oy = 0; acc && oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                int64_t at = sn_ir_maxpool_argmax(xp, xs[2], xs[3], H, W, k, st, pd, oy, ox);
                acc[at] += yp[oy * ys[2] + ox * ys[3]];
            }
        for (int64_t iy = 0; iy < H; iy++)
            for (int64_t ix = 0; ix < W; ix++)
                dp[iy * ds[2] + ix * ds[3]] = acc ? (float)acc[iy * W + ix] : NAN;
    }
    free(acc);
}

/* ---------------------------------------------------------------- the detection loss
 * DET_LOSS (args: pred, targets, anchors, strides → loss [3]) and DET_LOSS_GRAD (… dloss →
 * dpred): pred gathered from its strides, then ir's own code (the ref rule's). One task. */
static void gather(const float *src, const int64_t *d, const int64_t *st, float *dst) {
    for (int64_t i = 0; i < d[0]; i++)
        for (int64_t j = 0; j < d[1]; j++)
            for (int64_t k = 0; k < d[2]; k++)
                *dst++ = src[i * st[0] + j * st[1] + k * st[2]];
}

static void det_loss(void **args, int grad) {
    const host_desc *h = args[0];
    int out = grad ? 5 : 4; /* the output value */
    sn_shape ps = {.ndim = 3, .d = {h->d[0][0], h->d[0][1], h->d[0][2]}};
    int64_t np = sn_shape_numel(&ps), cap = h->d[1][1];
    float *pred = malloc((size_t)np * sizeof *pred), *tg = malloc((size_t)(ps.d[0] * cap * 5) * 4);
    float *y = malloc((size_t)(grad ? np : 3) * sizeof *y);
    float *an = malloc((size_t)(2 * ps.d[2]) * 4), *sd = malloc((size_t)ps.d[2] * 4);
    float dl[3];
    sn_status st = SN_ERR_NOMEM;
    if (pred && tg && y && an && sd) {
        gather(args[1], h->d[0], h->st[0], pred);
        gather(args[2], h->d[1], h->st[1], tg);
        gather(args[3], h->d[2], h->st[2], an);
        gather(args[4], h->d[3], h->st[3], sd);
        for (int i = 0; grad && i < 3; i++)
            dl[i] = ((const float *)args[5])[i * h->st[4][0]];
        st = sn_ir_det_loss_compute(grad, h->ia, h->fa, &ps, pred, cap, tg, an, sd,
                                    grad ? dl : NULL, y);
    }
    float *o = args[1 + out];
    const int64_t *os = h->st[out];
    if (st != SN_OK)
        fill_nan(o, h->d[out], os, grad ? 3 : 1);
    else if (!grad)
        for (int i = 0; i < 3; i++)
            o[i * os[0]] = y[i];
    else
        for (int64_t i = 0, e = 0; i < ps.d[0]; i++)
            for (int64_t j = 0; j < ps.d[1]; j++)
                for (int64_t k = 0; k < ps.d[2]; k++)
                    o[i * os[0] + j * os[1] + k * os[2]] = y[e++];
    free(pred);
    free(tg);
    free(y);
    free(an);
    free(sd);
}

static void host_det_loss(void **args, int64_t begin, int64_t end) {
    if (begin < end)
        det_loss(args, 0);
}
static void host_det_loss_grad(void **args, int64_t begin, int64_t end) {
    if (begin < end)
        det_loss(args, 1);
}

/* ---------------------------------------------------------------- the step */

static sn_status sn_cg_cpu_host_step(sn_cg_lower_ctx *c, const sn_cg_group *g, sn_cg_step *s,
                                     char *err, size_t errlen) {
    const sn_ir_node *n = &g->graph->nodes[g->anchor_node];
    host_desc h;
    memset(&h, 0, sizeof h);
    h.op = n->op;
    /* the values in the op's input order (the group may have merged equal ones), then the
     * output */
    const sn_cg_val *val[SN_CG_MAX_ARGS];
    for (int k = 0; k < n->nin; k++)
        val[k] = &g->vals[g->anchor_in[k]];
    val[n->nin] = &g->vals[g->nvals - 1];
    h.nvals = n->nin + 1;
    for (int v = 0; v < h.nvals; v++) {
        if (val[v]->dtype != SN_DTYPE_F32) {
            sn_errf(err, errlen, "group %d: %s: host kernels take f32 values", g->id,
                    sn_ir_op_info[n->op].name);
            return SN_ERR_UNSUPPORTED;
        }
        memcpy(h.d[v], val[v]->shape.d, sizeof h.d[v]);
        memcpy(h.st[v], val[v]->stride, sizeof h.st[v]);
    }
    memcpy(h.ia, n->ia, sizeof h.ia);
    memcpy(h.fa, n->fa, sizeof h.fa);
    memset(s, 0, sizeof *s);
    s->kind = SN_RT_STEP_HOST;
    const char *what = sn_ir_op_info[n->op].name;
    int extra = 0; /* a packed operand after the values */
    float *wt = NULL;
    switch (n->op) {
    case SN_OP_BN_STATS:
        s->host = host_bn_stats;
        s->tasks = (h.d[0][1] + VL - 1) / VL;
        break;
    case SN_OP_CONV2D_GRAD_WEIGHT:
        s->host = host_conv_grad_weight;
        s->tasks = grad_weight_tasks(&h);
        break;
    case SN_OP_CONV2D_GRAD_INPUT: {
        s->host = host_conv_grad_input;
        s->tasks = h.d[2][0] * h.d[2][2];
        /* w [O,Cg,KH,KW] (plain) → wt [G][KH][KW][Og][Cg] */
        const float *w = val[1]->data;
        int64_t O = h.d[1][0], Cg = h.d[1][1], KH = h.d[1][2], KW = h.d[1][3], G = h.ia[6];
        int64_t Og = O / G;
        wt = malloc((size_t)(O * Cg * KH * KW) * sizeof *wt);
        if (!wt)
            return SN_ERR_NOMEM;
        for (int64_t gi = 0; gi < G; gi++)
            for (int64_t kh = 0; kh < KH; kh++)
                for (int64_t kw = 0; kw < KW; kw++)
                    for (int64_t o = 0; o < Og; o++)
                        for (int64_t ci = 0; ci < Cg; ci++)
                            wt[(((gi * KH + kh) * KW + kw) * Og + o) * Cg + ci] =
                                w[(((gi * Og + o) * Cg + ci) * KH + kh) * KW + kw];
        extra = 1;
        break;
    }
    case SN_OP_MAXPOOL2D_GRAD:
        s->host = host_maxpool2d_grad;
        s->tasks = h.d[0][0] * h.d[0][1];
        break;
    case SN_OP_DET_LOSS:
        s->host = host_det_loss;
        s->tasks = 1;
        break;
    case SN_OP_DET_LOSS_GRAD:
        s->host = host_det_loss_grad;
        s->tasks = 1;
        break;
    default:
        sn_errf(err, errlen, "group %d: %s has no host kernel", g->id, what);
        return SN_ERR_UNSUPPORTED;
    }
    if (h.nvals + 1 + extra > SN_CG_MAX_ARGS) {
        free(wt);
        sn_errf(err, errlen, "group %d: %s: too many arguments", g->id, what);
        return SN_ERR_UNSUPPORTED;
    }
    int64_t off = sn_cg_weights_add(c, -1, 0, &h, sizeof h);
    int64_t woff = off;
    if (off >= 0 && wt)
        woff = sn_cg_weights_add(c, -1, 0, wt, (size_t)sn_shape_numel(&val[1]->shape) * sizeof *wt);
    free(wt);
    if (off < 0 || woff < 0)
        return SN_ERR_NOMEM;
    s->args[s->nargs++] = (sn_cg_arg){SN_CG_ARG_WEIGHTS, 0, off};
    for (int v = 0; v < h.nvals; v++)
        s->args[s->nargs++] = val[v]->loc;
    if (extra)
        s->args[s->nargs++] = (sn_cg_arg){SN_CG_ARG_WEIGHTS, 0, woff};
    const sn_shape *os = &val[n->nin]->shape;
    int at = snprintf(s->name, sizeof s->name, "host_%s", what);
    for (int k = 0; k < os->ndim && at > 0 && at < (int)sizeof s->name; k++)
        at += snprintf(s->name + at, sizeof s->name - (size_t)at, "%s%lld", k ? "x" : "_",
                       (long long)os->d[k]);
    return SN_OK;
}

int sn_cg_cpu_library_step(sn_cg_lower_ctx *c, const sn_cg_group *g, sn_cg_step *s, char *err,
                           size_t errlen) {
    if (g->anchor != SN_CG_ANCHOR_HOST)
        return 0;
    return sn_cg_cpu_host_step(c, g, s, err, errlen) == SN_OK ? 1 : -1;
}
