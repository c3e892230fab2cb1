/* tests/codegen_cpu/test_cg_cpu_kernels.c — every CPU kernel class on small random graphs,
 * against the ref evaluator (relative L2 <= 1e-5, outputs poisoned with NaN first, task
 * ranges split unevenly as a thread pool would). Layouts and groups are set by hand (the
 * harness's planner), so each case pins one kernel shape: NCHW input read through strides,
 * NHWC activations, outputs into a concat slice, fused epilogues. */
#include "tests/codegen_cpu/cg_harness.h"

#include <stdlib.h>
#include <string.h>

#define TOL 1e-5

static int32_t conv(sn_ir_graph *g, int32_t x, int64_t cout, int64_t kh, int64_t kw, int64_t s,
                    int64_t p, int64_t d, int64_t groups, int bias) {
    int64_t cin = g->nodes[x].shape.d[1];
    int32_t w = cgt_param(g, CGT_SHAPE(cout, cin / groups, kh, kw), SN_IR_INIT_CONV_WEIGHT);
    int32_t in[3] = {x, w, -1};
    if (bias)
        in[2] = cgt_param(g, CGT_SHAPE(cout), SN_IR_INIT_CONV_BIAS);
    int64_t ia[7] = {s, s, p, p, d, d, groups};
    return cgt_add_node(g, SN_OP_CONV2D, in, bias ? 3 : 2, ia, 7, NULL, 0);
}

static int32_t scalar(sn_ir_graph *g, double v) { return sn_ir_scalar(g, v); }

/* Marks outputs, sets groups of `members` to one id, plans, runs, frees. */
static void run(sn_ir_graph *g, const char *what, int nhwc, const int32_t *members, int nm) {
    for (int i = 0; i < nm; i++)
        g->nodes[members[i]].group = members[nm - 1];
    cgt_random_params(g);
    cgt_plan(g, nhwc);
    cgt_run_compare(g, what, 3, TOL);
    sn_ir_graph_free(g);
}

/* ---------------------------------------------------------------- conv */

static void conv_case(const char *what, int64_t n, int64_t c, int64_t h, int64_t w, int64_t o,
                      int64_t k, int64_t s, int64_t p, int64_t d, int64_t groups, int bias, int epi,
                      int nhwc) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = cgt_input(g, CGT_SHAPE(n, c, h, w));
    /* read the input through NHWC strides: a first op (relu) writes an NHWC arena value */
    int32_t xin = nhwc == 2 ? cgt_un(g, SN_OP_RELU, x) : x;
    int32_t y = conv(g, xin, o, k, k, s, p, d, groups, bias);
    int32_t members[4] = {y};
    int nm = 1;
    if (epi >= 1)
        members[nm++] = y = cgt_un(g, SN_OP_SILU, y);
    if (epi >= 2) {
        int32_t r = cgt_input(g, g->nodes[y].shape);
        members[nm++] = y = cgt_bin(g, SN_OP_ADD, y, r);
    }
    sn_ir_mark_output(g, y);
    run(g, what, nhwc != 0, members, nm);
}

static void test_conv(void) {
    conv_case("conv3x3 p1 16->32 nhwc silu", 1, 16, 10, 12, 32, 3, 1, 1, 1, 1, 1, 1, 2);
    conv_case("conv3x3 64->64 @80x80 (bench shape)", 1, 64, 80, 80, 64, 3, 1, 1, 1, 1, 1, 1, 2);
    conv_case("conv3x3 s2 stem nchw-in 3->16 silu", 1, 3, 32, 30, 16, 3, 2, 1, 1, 1, 1, 1, 1);
    conv_case("conv6x6 s2 p2 (v5 stem) 3->16", 1, 3, 34, 36, 16, 6, 2, 2, 1, 1, 1, 1, 1);
    conv_case("conv1x1 64->40 (tail lanes) +res", 1, 64, 9, 11, 40, 1, 1, 0, 1, 1, 1, 2, 2);
    conv_case("conv1x1 nchw everything", 1, 24, 7, 9, 20, 1, 1, 0, 1, 1, 1, 1, 0);
    conv_case("conv3x3 nchw everything", 1, 8, 9, 7, 24, 3, 1, 1, 1, 1, 1, 2, 0);
    conv_case("conv3x3 d2 p2", 1, 16, 14, 13, 32, 3, 1, 2, 2, 1, 1, 1, 2);
    conv_case("conv3x3 groups=2 og=6", 1, 8, 9, 10, 12, 3, 1, 1, 1, 2, 1, 1, 2);
    conv_case("conv3x3 groups=4 og=32", 1, 32, 8, 9, 128, 3, 1, 1, 1, 4, 0, 0, 2);
    conv_case("conv3x3 s2 64->128 batch 2", 2, 64, 12, 12, 128, 3, 2, 1, 1, 1, 1, 1, 2);
    conv_case("conv3x3 p1 96->80 (5 vectors)", 1, 96, 6, 21, 80, 3, 1, 1, 1, 1, 1, 1, 2);
    conv_case("conv3x3 tiny 4x4 map 32->256", 1, 32, 4, 4, 256, 3, 1, 1, 1, 1, 1, 1, 2);
    /* Winograd F(2x2,3x3): channel tails in and out, a narrower last channel block, a
     * tile-column tail, batch 2, a residual epilogue */
    conv_case("conv3x3 winograd 40->112 batch 2 +res", 2, 40, 10, 14, 112, 3, 1, 1, 1, 1, 1, 2, 2);
    conv_case("conv3x3 winograd 24->40 @16x4 no bias", 1, 24, 16, 4, 40, 3, 1, 1, 1, 1, 0, 1, 2);
    conv_case("conv1x1 out=1 (DFL-like)", 1, 16, 5, 7, 1, 1, 1, 0, 1, 1, 0, 0, 2);
    conv_case("conv5x5 p2 no bias", 1, 5, 11, 9, 7, 5, 1, 2, 1, 1, 0, 0, 2);
    conv_case("conv3x3 p0 (no padding)", 1, 16, 9, 9, 16, 3, 1, 0, 1, 1, 1, 1, 2);
    conv_case("dwconv3x3 p1 C=40", 1, 40, 9, 10, 40, 3, 1, 1, 1, 40, 1, 1, 2);
    conv_case("dwconv3x3 s2 C=64 +silu", 1, 64, 12, 11, 64, 3, 2, 1, 1, 64, 1, 1, 2);
    conv_case("dwconv5x5 p2 C=8 nchw", 1, 8, 9, 9, 8, 5, 1, 2, 1, 8, 0, 0, 0);
    conv_case("dwconv3x3 C=96 batch 2 +res", 2, 96, 7, 8, 96, 3, 1, 1, 1, 96, 1, 2, 2);
}

/* conv + batchnorm + silu (unfolded BN in the epilogue) and eager (3 kernels) */
static void test_conv_bn(void) {
    for (int fused = 0; fused < 2; fused++) {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = cgt_input(g, CGT_SHAPE(1, 16, 9, 9));
        int32_t y = conv(g, x, 32, 3, 3, 1, 1, 1, 1, 0);
        int32_t b = cgt_bn(g, y, NULL);
        int32_t s = cgt_un(g, SN_OP_SILU, b);
        sn_ir_mark_output(g, s);
        int32_t m[3] = {y, b, s};
        run(g, fused ? "conv+bn+silu fused" : "conv, bn, silu eager", 1, m, fused ? 3 : 0);
    }
}

/* a conv writing into a slice of a concat buffer, then a consumer of the whole concat */
static void test_concat_slice(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = cgt_input(g, CGT_SHAPE(1, 16, 8, 10));
    int32_t a = conv(g, x, 16, 1, 1, 1, 0, 1, 1, 1);
    int32_t b = conv(g, x, 32, 3, 3, 1, 1, 1, 1, 1);
    int32_t bs = cgt_un(g, SN_OP_SILU, b);
    int32_t in[2] = {a, bs};
    int64_t axis = 1;
    int32_t cat = cgt_add_node(g, SN_OP_CONCAT, in, 2, &axis, 1, NULL, 0);
    int32_t y = conv(g, cat, 24, 3, 3, 1, 1, 1, 1, 1);
    sn_ir_mark_output(g, y);
    g->nodes[bs].group = bs;
    g->nodes[b].group = bs;
    cgt_random_params(g);
    cgt_plan(g, 1);
    /* in place: a and bs write into cat's NHWC buffer at channel offsets 0 and 16 */
    sn_ir_node *cn = &g->nodes[cat];
    cn->group = -1;
    int32_t prod[2] = {a, bs};
    int64_t off = 0;
    for (int i = 0; i < 2; i++) {
        sn_ir_node *p = &g->nodes[prod[i]];
        p->buf = cn->buf;
        p->offset = off;
        memcpy(p->stride, cn->stride, sizeof p->stride);
        off += p->shape.d[1] * cn->stride[1];
    }
    cgt_run_compare(g, "conv outputs into concat slices", 2, TOL);
    sn_ir_graph_free(g);
}

/* ---------------------------------------------------------------- pointwise */

static void test_pointwise(void) {
    for (int nhwc = 0; nhwc < 2; nhwc++) {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = cgt_input(g, CGT_SHAPE(2, 20, 7, 9));
        int32_t x1 = cgt_un(g, SN_OP_RELU, x); /* an arena value (NHWC when asked) */
        int32_t cvec = cgt_param(g, CGT_SHAPE(1, 20, 1, 1), SN_IR_INIT_BN_BIAS);
        int32_t a = cgt_bin(g, SN_OP_ADD, x1, cvec);
        int32_t b = cgt_bin(g, SN_OP_MUL, a, scalar(g, 0.75));
        int32_t c = cgt_un(g, SN_OP_SIGMOID, b);
        int32_t d = cgt_bin(g, SN_OP_MUL, c, x1);
        int32_t e = cgt_bin(g, SN_OP_SUB, d, cgt_un(g, SN_OP_NEG, x));
        sn_ir_mark_output(g, e);
        int32_t m[] = {a, b, c, d};
        (void)m;
        /* fuse a..d; the neg and the final sub stay their own kernels */
        for (int i = 0; i < 4; i++)
            g->nodes[m[i]].group = d;
        cgt_random_params(g);
        cgt_plan(g, nhwc);
        cgt_run_compare(g, nhwc ? "pointwise chain nhwc" : "pointwise chain nchw", 3, TOL);
        sn_ir_graph_free(g);
    }
    /* saturating ranges: sigmoid/silu of ±120 (exp clamps, results must not) */
    for (int i = 0; i < 2; i++) {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = cgt_input(g, CGT_SHAPE(1, 16, 9, 13));
        int32_t y =
            cgt_un(g, i ? SN_OP_SILU : SN_OP_SIGMOID, cgt_bin(g, SN_OP_MUL, x, scalar(g, 120.0)));
        sn_ir_mark_output(g, y);
        run(g, i ? "eager silu (x*120)" : "eager sigmoid (x*120)", 1, NULL, 0);
    }
    /* unary ops one by one, eager, odd sizes */
    sn_op ops[] = {SN_OP_SILU, SN_OP_SIGMOID, SN_OP_EXP, SN_OP_RELU, SN_OP_NEG};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = cgt_input(g, CGT_SHAPE(1, 3, 37, 41));
        int32_t y = cgt_un(g, ops[i], cgt_bin(g, SN_OP_MUL, x, scalar(g, 6.0)));
        sn_ir_mark_output(g, y);
        char what[64];
        snprintf(what, sizeof what, "eager %s (x*6)", sn_ir_op_info[ops[i]].name);
        run(g, what, 1, NULL, 0);
    }
    /* sqrt, recip, div, pow, max2 on positive data */
    {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = cgt_input(g, CGT_SHAPE(1, 5, 13, 17));
        int32_t xp = cgt_bin(g, SN_OP_ADD, cgt_un(g, SN_OP_EXP, x), scalar(g, 0.1));
        int32_t a = cgt_un(g, SN_OP_SQRT, xp);
        int32_t b = cgt_un(g, SN_OP_RECIP, xp);
        int32_t c = cgt_bin(g, SN_OP_DIV, a, b);
        int32_t d = cgt_bin(g, SN_OP_POW, xp, scalar(g, 2.0));
        int32_t e = cgt_bin(g, SN_OP_POW, xp, scalar(g, 1.7));
        int32_t f = cgt_bin(g, SN_OP_MAX2, cgt_bin(g, SN_OP_ADD, c, d), e);
        sn_ir_mark_output(g, f);
        run(g, "sqrt recip div pow max2", 1, NULL, 0);
    }
    /* general broadcast: [1,1,A] * [1,4,A] and [1,4,1] */
    {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t a = cgt_input(g, CGT_SHAPE(1, 4, 300));
        int32_t s = cgt_input(g, CGT_SHAPE(1, 1, 300));
        int32_t v = cgt_input(g, CGT_SHAPE(1, 4, 1));
        int32_t y = cgt_bin(g, SN_OP_ADD, cgt_bin(g, SN_OP_MUL, a, s), v);
        sn_ir_mark_output(g, y);
        int32_t m[] = {y - 1, y};
        run(g, "broadcast [1,4,A]*[1,1,A]+[1,4,1]", 0, m, 2);
    }
}

/* a pointwise tree with concat and upsample members (fused kind b) */
static void test_pointwise_tree(void) {
    for (int nhwc = 0; nhwc < 2; nhwc++) {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = cgt_input(g, CGT_SHAPE(1, 24, 6, 5));
        int32_t z = cgt_input(g, CGT_SHAPE(1, 8, 12, 10));
        int32_t xs = cgt_un(g, SN_OP_RELU, x), zs = cgt_un(g, SN_OP_RELU, z); /* arena values */
        int32_t a = cgt_un(g, SN_OP_SIGMOID, xs);
        int64_t sc[2] = {2, 2};
        int32_t up = cgt_add_node(g, SN_OP_UPSAMPLE, &a, 1, sc, 2, NULL, 0);
        int32_t zb = cgt_bin(g, SN_OP_MUL, zs, scalar(g, 2.0));
        int32_t in[2] = {up, zb};
        int64_t axis = 1;
        int32_t cat = cgt_add_node(g, SN_OP_CONCAT, in, 2, &axis, 1, NULL, 0);
        int32_t y = cgt_bin(g, SN_OP_ADD, cat, scalar(g, 1.0));
        sn_ir_mark_output(g, y);
        int32_t m[] = {a, up, zb, cat, y};
        run(g, nhwc ? "tree: sigmoid,upsample,concat nhwc" : "tree: sigmoid,upsample,concat nchw",
            nhwc, m, 5);
    }
    /* Detect-like decode: concat along dim 1 of [1,2,A] pieces, output [1,4,A] */
    {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t lt = cgt_input(g, CGT_SHAPE(1, 2, 70)), rb = cgt_input(g, CGT_SHAPE(1, 2, 70));
        int32_t an = cgt_input(g, CGT_SHAPE(1, 2, 70)), st = cgt_input(g, CGT_SHAPE(1, 1, 70));
        int32_t x1 = cgt_bin(g, SN_OP_SUB, an, lt), x2 = cgt_bin(g, SN_OP_ADD, an, rb);
        int32_t cxy = cgt_bin(g, SN_OP_DIV, cgt_bin(g, SN_OP_ADD, x1, x2), scalar(g, 2.0));
        int32_t wh = cgt_bin(g, SN_OP_SUB, x2, x1);
        int32_t in[2] = {cxy, wh};
        int64_t axis = 1;
        int32_t cat = cgt_add_node(g, SN_OP_CONCAT, in, 2, &axis, 1, NULL, 0);
        int32_t y = cgt_bin(g, SN_OP_MUL, cat, st);
        sn_ir_mark_output(g, y);
        int32_t m[] = {x1, x2, cxy - 1, cxy, wh, cat, y};
        run(g, "tree: dist2bbox decode", 0, m, 7);
    }
}

/* ---------------------------------------------------------------- the rest */

static void test_pool_up(void) {
    int64_t cfg[][3] = {{5, 1, 2}, {3, 2, 1}, {2, 2, 0}};
    for (int i = 0; i < 3; i++) {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = cgt_input(g, CGT_SHAPE(1, 35, 11, 13));
        int32_t xr = cgt_bin(g, SN_OP_ADD, x, scalar(g, -2.0)); /* negative values near borders */
        int32_t y = cgt_add_node(g, SN_OP_MAXPOOL2D, &xr, 1, cfg[i], 3, NULL, 0);
        sn_ir_mark_output(g, y);
        char what[64];
        snprintf(what, sizeof what, "maxpool k%lld s%lld p%lld nhwc", (long long)cfg[i][0],
                 (long long)cfg[i][1], (long long)cfg[i][2]);
        run(g, what, 1, NULL, 0);
    }
    {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = cgt_input(g, CGT_SHAPE(1, 7, 9, 8));
        int32_t y = cgt_add_node(g, SN_OP_MAXPOOL2D, &x, 1, cfg[0], 3, NULL, 0);
        sn_ir_mark_output(g, y);
        run(g, "maxpool k5 nchw input", 0, NULL, 0);
    }
    {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = cgt_input(g, CGT_SHAPE(2, 24, 5, 6));
        int32_t xr = cgt_un(g, SN_OP_RELU, x);
        int64_t sc[2] = {2, 2};
        int32_t y = cgt_add_node(g, SN_OP_UPSAMPLE, &xr, 1, sc, 2, NULL, 0);
        int32_t z = conv(g, y, 16, 1, 1, 1, 0, 1, 1, 1);
        sn_ir_mark_output(g, z);
        run(g, "upsample x2 nhwc -> conv", 1, NULL, 0);
    }
}

static void test_softmax_reduce(void) {
    /* DFL-like: [1,4,16,A] softmax over the 16 bins (axis 2) */
    int64_t axes[] = {2, 3, 1};
    for (int i = 0; i < 3; i++) {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = cgt_input(g, CGT_SHAPE(1, 4, 16, 45));
        int32_t xs = cgt_bin(g, SN_OP_MUL, x, scalar(g, 4.0));
        int32_t y = cgt_add_node(g, SN_OP_SOFTMAX, &xs, 1, &axes[i], 1, NULL, 0);
        sn_ir_mark_output(g, y);
        char what[64];
        snprintf(what, sizeof what, "softmax axis %lld of [1,4,16,45]", (long long)axes[i]);
        run(g, what, 0, NULL, 0);
    }
    for (int i = 0; i < 3; i++) {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = cgt_input(g, CGT_SHAPE(2, 5, 33, 20));
        int32_t y = cgt_add_node(g, SN_OP_REDUCE_SUM, &x, 1, &axes[i], 1, NULL, 0);
        sn_ir_mark_output(g, y);
        char what[64];
        snprintf(what, sizeof what, "reduce_sum axis %lld of [2,5,33,20]", (long long)axes[i]);
        run(g, what, 0, NULL, 0);
    }
    {
        /* softmax over the last axis of a permuted (strided) input */
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = cgt_input(g, CGT_SHAPE(1, 2, 40, 24));
        int64_t perm[4] = {0, 1, 3, 2};
        int32_t xp = cgt_add_node(g, SN_OP_PERMUTE, &x, 1, perm, 4, NULL, 0);
        int64_t ax = 3;
        int32_t y = cgt_add_node(g, SN_OP_SOFTMAX, &xp, 1, &ax, 1, NULL, 0);
        sn_ir_mark_output(g, y);
        g->nodes[xp].group = -1;
        cgt_random_params(g);
        cgt_plan(g, 0);
        /* make the permute a view of x */
        sn_ir_node *pn = &g->nodes[xp], *xn = &g->nodes[x];
        pn->group = -1;
        pn->buf = xn->buf;
        for (int k = 0; k < 4; k++)
            pn->stride[k] = xn->stride[perm[k]];
        cgt_run_compare(g, "softmax last axis of a permuted view", 3, TOL);
        sn_ir_graph_free(g);
    }
}

/* matmul with a and/or b read through transposed views: lanes along N (b contiguous
 * along N), along K (dot products: both contiguous along K), along M (a contiguous along M) */
static void test_matmul(void) {
    const char *names[4] = {"matmul*0.25 batched", "matmul*0.25, b transposed (dot)",
                            "matmul*0.25, a,b transposed (lanes M)", "matmul*0.25, a transposed"};
    for (int mode = 0; mode < 4; mode++) {
        int ta = mode >= 2, tb = mode == 1 || mode == 2;
        int64_t M = 21, K = 19, N = 37;
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t a = cgt_input(g, ta ? CGT_SHAPE(2, 3, K, M) : CGT_SHAPE(2, 3, M, K));
        int32_t b = cgt_input(g, tb ? CGT_SHAPE(2, 3, N, K) : CGT_SHAPE(2, 3, K, N));
        int64_t perm[4] = {0, 1, 3, 2};
        int32_t av = ta ? cgt_add_node(g, SN_OP_PERMUTE, &a, 1, perm, 4, NULL, 0) : a;
        int32_t bv = tb ? cgt_add_node(g, SN_OP_PERMUTE, &b, 1, perm, 4, NULL, 0) : b;
        int32_t in[2] = {av, bv};
        int32_t y = cgt_add_node(g, SN_OP_MATMUL, in, 2, NULL, 0, NULL, 0);
        int32_t ys = cgt_bin(g, SN_OP_MUL, y, scalar(g, 0.25));
        sn_ir_mark_output(g, ys);
        g->nodes[y].group = ys;
        g->nodes[ys].group = ys;
        cgt_random_params(g);
        cgt_plan(g, 0);
        int32_t views[2][2] = {{av, a}, {bv, b}};
        for (int v = 0; v < 2; v++) {
            if (views[v][0] == views[v][1])
                continue;
            sn_ir_node *pn = &g->nodes[views[v][0]], *xn = &g->nodes[views[v][1]];
            pn->group = -1;
            pn->buf = xn->buf;
            for (int k = 0; k < 4; k++)
                pn->stride[k] = xn->stride[perm[k]];
        }
        cgt_run_compare(g, names[mode], 3, TOL);
        sn_ir_graph_free(g);
    }
}

static void test_copies(void) {
    {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t a = cgt_input(g, CGT_SHAPE(1, 20, 6, 7)), b = cgt_input(g, CGT_SHAPE(1, 12, 6, 7));
        int32_t ar = cgt_un(g, SN_OP_RELU, a), br = cgt_un(g, SN_OP_NEG, b);
        int32_t in[3] = {ar, br, ar};
        int64_t axis = 1;
        int32_t cat = cgt_add_node(g, SN_OP_CONCAT, in, 3, &axis, 1, NULL, 0);
        int32_t y = conv(g, cat, 16, 1, 1, 1, 0, 1, 1, 1);
        sn_ir_mark_output(g, y);
        run(g, "concat copy (eager) nhwc", 1, NULL, 0);
    }
    {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t a = cgt_input(g, CGT_SHAPE(1, 3, 10, 4)), b = cgt_input(g, CGT_SHAPE(1, 3, 10, 9));
        int32_t in[2] = {a, b};
        int64_t axis = 3;
        int32_t cat = cgt_add_node(g, SN_OP_CONCAT, in, 2, &axis, 1, NULL, 0);
        sn_ir_mark_output(g, cat);
        run(g, "concat copy along W to the output", 0, NULL, 0);
    }
    {
        /* reshape of an NHWC value into [1, C, H*W]: not a view of NHWC storage? it is
         * (H and W merge); so force a copy by reshaping [1,C,H,W] to [1, C*H, W] */
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t a = cgt_input(g, CGT_SHAPE(1, 12, 5, 6));
        int32_t ar = cgt_un(g, SN_OP_RELU, a);
        int64_t dims[3] = {1, 60, 6};
        int32_t r = cgt_add_node(g, SN_OP_RESHAPE, &ar, 1, dims, 3, NULL, 0);
        int32_t y = cgt_bin(g, SN_OP_MUL, r, scalar(g, 3.0));
        sn_ir_mark_output(g, y);
        run(g, "reshape copy of an nhwc value", 1, NULL, 0);
    }
    {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t a = cgt_input(g, CGT_SHAPE(1, 12, 5, 6));
        int64_t perm[4] = {0, 2, 3, 1};
        int32_t p = cgt_add_node(g, SN_OP_PERMUTE, &a, 1, perm, 4, NULL, 0);
        sn_ir_mark_output(g, p);
        run(g, "permute copy (a graph output)", 0, NULL, 0);
    }
}

/* the same graph lowers to byte-identical names, specs, args and weights; --dump IR text
 * carries the provenance comment */
static void test_determinism(void) {
    sn_cg_program *p[2] = {NULL, NULL};
    for (int r = 0; r < 2; r++) {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = cgt_input(g, CGT_SHAPE(1, 16, 12, 12));
        int32_t a = cgt_un(g, SN_OP_SILU, conv(g, x, 32, 3, 3, 1, 1, 1, 1, 1));
        int32_t b = cgt_un(g, SN_OP_SILU, conv(g, x, 32, 3, 3, 2, 1, 1, 1, 1));
        int32_t c = cgt_un(g, SN_OP_SILU, conv(g, x, 32, 3, 3, 1, 1, 1, 1, 1));
        int32_t y = cgt_bin(g, SN_OP_ADD, a, c);
        sn_ir_mark_output(g, y);
        sn_ir_mark_output(g, b);
        g->nodes[a - 1].group = a;
        g->nodes[c - 1].group = c;
        g->nodes[b - 1].group = b;
        cgt_random_params(g);
        cgt_plan(g, 1);
        for (int32_t i = 0; i < g->nnodes; i++) {
            sn_ir_node *n = &g->nodes[i];
            if (n->op == SN_OP_PARAM)
                for (int64_t k = 0; k < sn_shape_numel(&n->shape); k++)
                    n->data[k] = 0.01f * (float)((k * 7 + i) % 13) - 0.06f;
        }
        char err[512] = "";
        sn_status st = sn_cg_lower(g, cgt_target(), &p[r], err, sizeof err);
        CGT_CHECK(st == SN_OK, "lower: %s", err);
        sn_ir_graph_free(g);
    }
    if (!p[0] || !p[1])
        return;
    CGT_CHECK(p[0]->nkernels == p[1]->nkernels && p[0]->nkernels == 4, "%d kernels",
              p[0]->nkernels);
    for (int i = 0; i < p[0]->nkernels; i++) {
        sn_cg_kernel *k0 = &p[0]->kernels[i], *k1 = &p[1]->kernels[i];
        CGT_CHECK(strcmp(k0->name, k1->name) == 0, "%s vs %s", k0->name, k1->name);
        CGT_CHECK(strcmp(k0->spec, k1->spec) == 0, "spec of %s differs", k0->name);
        CGT_CHECK(memcmp(k0->args, k1->args, sizeof k0->args) == 0, "args of %s", k0->name);
        CGT_CHECK(strstr(k0->comment, "conv2d") || strstr(k0->comment, "add"), "%s", k0->comment);
    }
    /* two different kernels may not share a name: the two 3x3/s1 convs are one kernel
     * (same spec), the s2 one another */
    CGT_CHECK(strcmp(p[0]->kernels[0].name, p[0]->kernels[2].name) == 0 &&
                  strcmp(p[0]->kernels[0].spec, p[0]->kernels[2].spec) == 0,
              "%s / %s", p[0]->kernels[0].name, p[0]->kernels[2].name);
    CGT_CHECK(p[0]->weight_bytes == p[1]->weight_bytes &&
                  memcmp(p[0]->weights, p[1]->weights, (size_t)p[0]->weight_bytes) == 0,
              "weights blob differs");
    void *o[2] = {NULL, NULL};
    size_t n[2] = {0, 0};
    char err[512] = "";
    for (int r = 0; r < 2; r++)
        CGT_CHECK(sn_cg_cpu_compile(&p[r]->kernels[0], cgt_target(), r, &o[r], &n[r], err,
                                    sizeof err) == SN_OK,
                  "%s", err);
    CGT_CHECK(n[0] == n[1] && o[0] && o[1] && memcmp(o[0], o[1], n[0]) == 0,
              "object files differ (%zu vs %zu bytes)", n[0], n[1]);
    const char *src = p[1]->kernels[0].source;
    CGT_CHECK(src && strncmp(src, "; %", 3) == 0 && strstr(src, "define void @"), "IR text: %.80s",
              src ? src : "(null)");
    free(o[0]);
    free(o[1]);
    sn_cg_program_free(p[0]);
    sn_cg_program_free(p[1]);
    printf("ok   determinism (names, specs, args, weights, objects)\n");
}

/* ---------------------------------------------------------------- ops without kernels */

/* Lowering a graph that holds an op codegen has no kernel for fails with the op's name, and
 * renders nothing, whatever surrounds the op. */
static void no_kernel(sn_ir_graph *g, int32_t y) {
    const char *opn = sn_ir_op_info[g->nodes[y].op].name;
    sn_ir_mark_output(g, y);
    cgt_random_params(g);
    cgt_plan(g, 0);
    sn_cg_program *p = NULL;
    char err[512] = "", want[128];
    snprintf(want, sizeof want, "op %s (node %%%d) has no kernel on backend cpu", opn, (int)y);
    sn_status st = sn_cg_lower(g, cgt_target(), &p, err, sizeof err);
    CGT_CHECK(st == SN_ERR_UNSUPPORTED && !p && strstr(err, want), "%s: '%s'", opn, err);
    sn_cg_program_free(p);
    sn_ir_graph_free(g);
}

/* ---------------------------------------------------------------- training ops
 * The backward ops of a training step against ref: a stride-1 conv's input gradient as a conv
 * kernel (dense, depthwise), the others as host kernels (strided input gradient, weight
 * gradient on its blocked / depthwise / any-layout paths, max-pool gradient, BatchNorm
 * statistics), over NCHW inputs and NHWC arena values (a relu first), odd channel counts. */

/* src, or relu(src) (an NHWC arena value) */
static int32_t maybe_nhwc(sn_ir_graph *g, int32_t src, int nhwc) {
    return nhwc ? cgt_un(g, SN_OP_RELU, src) : src;
}

static void grad_input_case(int64_t n, int64_t c, int64_t h, int64_t o, int64_t k, int64_t s,
                            int64_t p, int64_t groups, int nhwc) {
    sn_ir_graph *g = sn_ir_graph_new();
    int64_t oh = (h + 2 * p - k) / s + 1;
    int32_t dy = maybe_nhwc(g, cgt_input(g, CGT_SHAPE(n, o, oh, oh)), nhwc);
    int32_t in[2] = {dy, cgt_param(g, CGT_SHAPE(o, c / groups, k, k), SN_IR_INIT_CONV_WEIGHT)};
    int64_t ia[9] = {s, s, p, p, 1, 1, groups, h, h};
    sn_ir_mark_output(g, cgt_add_node(g, SN_OP_CONV2D_GRAD_INPUT, in, 2, ia, 9, NULL, 0));
    char what[96];
    snprintf(what, sizeof what, "conv2d_grad_input k%lld s%lld g%lld %lldto%lld%s", (long long)k,
             (long long)s, (long long)groups, (long long)o, (long long)c, nhwc ? " nhwc" : "");
    run(g, what, nhwc, NULL, 0);
}

static void grad_weight_case(int64_t n, int64_t c, int64_t h, int64_t o, int64_t k, int64_t s,
                             int64_t p, int64_t groups, int nhwc) {
    sn_ir_graph *g = sn_ir_graph_new();
    int64_t oh = (h + 2 * p - k) / s + 1;
    int32_t in[2] = {maybe_nhwc(g, cgt_input(g, CGT_SHAPE(n, c, h, h)), nhwc),
                     maybe_nhwc(g, cgt_input(g, CGT_SHAPE(n, o, oh, oh)), nhwc)};
    int64_t ia[9] = {s, s, p, p, 1, 1, groups, k, k};
    sn_ir_mark_output(g, cgt_add_node(g, SN_OP_CONV2D_GRAD_WEIGHT, in, 2, ia, 9, NULL, 0));
    char what[96];
    snprintf(what, sizeof what, "conv2d_grad_weight k%lld s%lld g%lld %lldto%lld%s", (long long)k,
             (long long)s, (long long)groups, (long long)c, (long long)o, nhwc ? " nhwc" : "");
    run(g, what, nhwc, NULL, 0);
}

static void test_train_ops(void) {
    grad_input_case(2, 12, 9, 20, 3, 1, 1, 1, 1);   /* a conv (Winograd-free: odd size) */
    grad_input_case(2, 32, 8, 24, 3, 1, 1, 1, 1);   /* a conv, even size */
    grad_input_case(2, 16, 7, 16, 3, 1, 1, 16, 1);  /* depthwise */
    grad_input_case(1, 8, 6, 5, 1, 1, 0, 1, 0);     /* 1x1, NCHW dy */
    grad_input_case(2, 12, 10, 20, 3, 2, 1, 1, 1);  /* strided: host */
    grad_input_case(2, 80, 10, 24, 3, 2, 1, 1, 1);  /* strided, 5 vectors of channels */
    grad_input_case(1, 32, 9, 16, 3, 2, 1, 1, 0);   /* strided, odd size, NCHW */
    grad_input_case(1, 6, 9, 8, 3, 2, 1, 2, 0);     /* strided, grouped, NCHW */
    grad_weight_case(2, 3, 10, 20, 3, 2, 1, 1, 1);  /* blocked, channel tails */
    grad_weight_case(2, 24, 9, 32, 3, 1, 1, 1, 1);  /* blocked, two output vectors */
    grad_weight_case(2, 13, 7, 48, 3, 1, 1, 1, 0);  /* two output vectors, tails, NCHW */
    grad_weight_case(2, 16, 7, 16, 3, 1, 1, 16, 1); /* depthwise */
    grad_weight_case(2, 20, 7, 20, 5, 2, 2, 20, 1); /* depthwise strided, a tail */
    grad_weight_case(2, 6, 8, 4, 1, 1, 0, 2, 1);    /* small groups: any layout */
    grad_weight_case(1, 5, 8, 6, 3, 1, 1, 1, 0);    /* NCHW: any layout */
    for (int nhwc = 0; nhwc < 2; nhwc++) {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = maybe_nhwc(g, cgt_input(g, CGT_SHAPE(2, 20, 9, 7)), nhwc);
        int32_t in[2] = {x, maybe_nhwc(g, cgt_input(g, CGT_SHAPE(2, 20, 9, 7)), nhwc)};
        sn_ir_mark_output(
            g, cgt_add_node(g, SN_OP_MAXPOOL2D_GRAD, in, 2, (int64_t[]){5, 1, 2}, 3, NULL, 0));
        run(g, nhwc ? "maxpool2d_grad k5 s1 p2 nhwc" : "maxpool2d_grad k5 s1 p2", nhwc, NULL, 0);
        g = sn_ir_graph_new();
        x = maybe_nhwc(g, cgt_input(g, CGT_SHAPE(3, 20, 9, 7)), nhwc);
        sn_ir_mark_output(g, cgt_add_node(g, SN_OP_BN_STATS, &x, 1, NULL, 0, NULL, 0));
        run(g, nhwc ? "bn_stats nhwc, a channel tail" : "bn_stats nchw", nhwc, NULL, 0);
    }
}

/* sn_cg_lower_weights makes sn_cg_lower's weights blob byte for byte (the trainer repacks
 * with it): a Winograd conv, a stride-1 input gradient (a conv of swapped weights) and a
 * strided one (a host kernel with its own packing) sharing one weight, plus plain pieces. */
static void test_lower_weights(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = cgt_un(g, SN_OP_RELU, cgt_input(g, CGT_SHAPE(2, 32, 8, 8)));
    int32_t w = cgt_param(g, CGT_SHAPE(32, 32, 3, 3), SN_IR_INIT_CONV_WEIGHT);
    int32_t cin[2] = {x, w};
    int64_t cia[7] = {1, 1, 1, 1, 1, 1, 1}, gia[9] = {1, 1, 1, 1, 1, 1, 1, 8, 8};
    int64_t sia[9] = {2, 2, 1, 1, 1, 1, 1, 16, 16};
    int32_t y = cgt_add_node(g, SN_OP_CONV2D, cin, 2, cia, 7, NULL, 0);
    int32_t dx = cgt_add_node(g, SN_OP_CONV2D_GRAD_INPUT, cin, 2, gia, 9, NULL, 0);
    int32_t ds = cgt_add_node(g, SN_OP_CONV2D_GRAD_INPUT, cin, 2, sia, 9, NULL, 0);
    sn_ir_mark_output(g, cgt_bin(g, SN_OP_MUL, y, cgt_param(g, CGT_SHAPE(1, 32, 1, 1), 0)));
    sn_ir_mark_output(g, dx);
    sn_ir_mark_output(g, ds);
    cgt_random_params(g);
    cgt_plan(g, 1);
    sn_cg_program *p = NULL;
    uint8_t *blob = NULL;
    int64_t bytes = 0;
    char err[512] = "";
    int ok = sn_cg_lower(g, cgt_target(), &p, err, sizeof err) == SN_OK &&
             sn_cg_lower_weights(g, cgt_target(), &blob, &bytes, err, sizeof err) == SN_OK;
    CGT_CHECK(ok && bytes == p->weight_bytes && !memcmp(blob, p->weights, (size_t)bytes),
              "lower_weights: %s (%lld bytes vs %lld)", err, (long long)bytes,
              p ? (long long)p->weight_bytes : -1LL);
    free(blob);
    sn_cg_program_free(p);
    sn_ir_graph_free(g);
    printf("ok   weights blob alone = the program's (%lld bytes)\n", (long long)bytes);
}

static void test_no_kernel(void) {
    sn_ir_graph *g;
    g = sn_ir_graph_new();
    no_kernel(g, cgt_un(g, SN_OP_LOG, cgt_un(g, SN_OP_SILU, cgt_input(g, CGT_SHAPE(1, 4, 8, 8)))));
    g = sn_ir_graph_new();
    {
        int32_t x = cgt_input(g, CGT_SHAPE(2, 8));
        int32_t in[3] = {x, x, sn_ir_scalar(g, 0.0)};
        no_kernel(g, cgt_add_node(g, SN_OP_WHERE, in, 3, NULL, 0, NULL, 0));
    }
    g = sn_ir_graph_new();
    {
        int32_t in[2] = {cgt_input(g, CGT_SHAPE(2, 8)), sn_ir_scalar(g, 0.0)};
        no_kernel(g, cgt_add_node(g, SN_OP_CMP, in, 2, (int64_t[]){4}, 1, NULL, 0));
    }
    printf("ok   ops without kernels (lowering names them)\n");
}

int main(void) {
    test_determinism();
    test_conv();
    test_conv_bn();
    test_concat_slice();
    test_pointwise();
    test_pointwise_tree();
    test_pool_up();
    test_softmax_reduce();
    test_matmul();
    test_train_ops();
    test_lower_weights();
    test_copies();
    test_no_kernel();
    return cgt_report("test_cg_cpu_kernels");
}
