/* tests/ir/test_ir_ref.c — the ref evaluator, op by op, against values computed by hand or by
 * the most direct loop that states the op's definition. Random inputs, poisoned outputs. */
#include "tests/common/check_ir.h"

#include <math.h>
#include <stdlib.h>

static char err[512];

static int32_t par_rand(sn_ir_graph *g, const char *name, sn_shape s) {
    int32_t n = sn_ir_param(g, name, &s, SN_IR_INIT_CONV_WEIGHT);
    CHECK(n >= 0);
    fill_random(sn_ir_node_data(g, n), sn_shape_numel(&s));
    return n;
}

static int32_t add(sn_ir_graph *g, sn_op op, const int32_t *in, int nin, const int64_t *ia, int nia,
                   const double *fa, int nfa) {
    int32_t n = sn_ir_add(g, op, in, nin, ia, nia, fa, nfa, NULL, SN_DTYPE_F32, err, sizeof err);
    CHECKF(n >= 0, "%s", err);
    return n;
}

/* Runs g with random inputs (returned in *ins, caller frees) and its single output poisoned. */
static float *run(sn_ir_graph *g, float ***ins_out) {
    float **ins = calloc((size_t)g->ninputs + 1, sizeof *ins);
    for (int32_t k = 0; k < g->ninputs; k++) {
        int64_t ne = sn_shape_numel(&g->nodes[g->inputs[k]].shape);
        ins[k] = malloc((size_t)ne * sizeof(float));
        fill_random(ins[k], ne);
    }
    float *out = poisoned(sn_shape_numel(&g->nodes[g->outputs[0]].shape));
    sn_status st = sn_ir_ref_run(g, (const float *const *)ins, &out, err, sizeof err);
    CHECKF(st == SN_OK, "%s", err);
    *ins_out = ins;
    return out;
}

static void free_ins(sn_ir_graph *g, float **ins) {
    for (int32_t k = 0; k < g->ninputs; k++)
        free(ins[k]);
    free(ins);
}

/* ---------------------------------------------------------------- conv2d */

static void conv_case(int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int64_t KH, int64_t KW,
                      int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw,
                      int64_t G, int bias) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = inp(g, SHAPE(N, C, H, W));
    int32_t w = par_rand(g, "w", SHAPE(O, C / G, KH, KW));
    int32_t b = bias ? par_rand(g, "b", SHAPE(O)) : -1;
    int32_t c = add(g, SN_OP_CONV2D, (int32_t[]){x, w, b}, bias ? 3 : 2,
                    (int64_t[]){sh, sw, ph, pw, dh, dw, G}, 7, NULL, 0);
    if (c < 0) {
        sn_ir_graph_free(g);
        return;
    }
    sn_ir_mark_output(g, c);
    float **ins;
    float *y = run(g, &ins);
    const sn_shape *ys = &g->nodes[c].shape;
    int64_t OH = ys->d[2], OW = ys->d[3], Cg = C / G, Og = O / G;
    double *want = malloc((size_t)sn_shape_numel(ys) * sizeof *want);
    const float *X = ins[0], *Wt = g->nodes[w].data, *B = bias ? g->nodes[b].data : NULL;
    /* the definition, literally */
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    double s = B ? B[o] : 0.0;
                    int64_t gi = o / Og;
                    for (int64_t ci = 0; ci < Cg; ci++)
                        for (int64_t ky = 0; ky < KH; ky++)
                            for (int64_t kx = 0; kx < KW; kx++) {
                                int64_t iy = oy * sh - ph + ky * dh, ix = ox * sw - pw + kx * dw;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                    continue;
                                s += (double)X[((n * C + gi * Cg + ci) * H + iy) * W + ix] *
                                     Wt[((o * Cg + ci) * KH + ky) * KW + kx];
                            }
                    want[((n * O + o) * OH + oy) * OW + ox] = s;
                }
    char what[160];
    snprintf(what, sizeof what,
             "conv2d N%lld C%lld %lldx%lld O%lld k%lldx%lld s%lldx%lld p%lldx%lld d%lldx%lld g%lld",
             (long long)N, (long long)C, (long long)H, (long long)W, (long long)O, (long long)KH,
             (long long)KW, (long long)sh, (long long)sw, (long long)ph, (long long)pw,
             (long long)dh, (long long)dw, (long long)G);
    CHECK(close_arrays(y, want, sn_shape_numel(ys), 1e-5, what));
    free(want);
    free(y);
    free_ins(g, ins);
    sn_ir_graph_free(g);
}

static void test_conv(void) {
    /* by hand: 3x3 input 1..9, 2x2 weight of ones, stride 1, no pad → sums of 2x2 windows */
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = inp(g, SHAPE(1, 1, 3, 3));
    int32_t w = sn_ir_param(g, "w", &(sn_shape){4, {1, 1, 2, 2}}, SN_IR_INIT_CONV_WEIGHT);
    float *wd = sn_ir_node_data(g, w);
    for (int i = 0; i < 4; i++)
        wd[i] = 1.0f;
    int32_t c =
        add(g, SN_OP_CONV2D, (int32_t[]){x, w}, 2, (int64_t[]){1, 1, 0, 0, 1, 1, 1}, 7, NULL, 0);
    sn_ir_mark_output(g, c);
    float xin[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const float *ins[1] = {xin};
    float *y = poisoned(4);
    CHECK(sn_ir_ref_run(g, ins, &y, err, sizeof err) == SN_OK);
    CHECK(y[0] == 12 && y[1] == 16 && y[2] == 24 && y[3] == 28);
    free(y);
    sn_ir_graph_free(g);

    conv_case(1, 3, 9, 11, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1);  /* stride 2, pad 1, bias */
    conv_case(2, 4, 8, 7, 6, 3, 3, 1, 1, 2, 2, 2, 2, 1, 0);   /* dilation 2 */
    conv_case(1, 4, 7, 9, 6, 3, 2, 1, 2, 0, 1, 1, 1, 2, 1);   /* rect kernel, groups 2 */
    conv_case(1, 6, 10, 10, 6, 3, 3, 2, 2, 1, 1, 1, 1, 6, 1); /* depthwise */
    conv_case(1, 5, 6, 6, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1);   /* 1x1 */
    conv_case(1, 2, 5, 5, 2, 5, 5, 3, 1, 4, 3, 1, 2, 1, 0);   /* large pad, mixed */
}

/* ---------------------------------------------------------------- pointwise */

static void test_batchnorm(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = inp(g, SHAPE(2, 3, 2, 2));
    int32_t p[4];
    const char *names[4] = {"w", "b", "m", "v"};
    for (int i = 0; i < 4; i++)
        p[i] = par_rand(g, names[i], SHAPE(3));
    for (int c = 0; c < 3; c++)
        g->nodes[p[3]].data[c] = 0.5f + (float)c; /* var > 0 */
    double eps = 1e-3;
    int32_t n =
        add(g, SN_OP_BATCHNORM, (int32_t[]){x, p[0], p[1], p[2], p[3]}, 5, NULL, 0, &eps, 1);
    sn_ir_mark_output(g, n);
    float **ins;
    float *y = run(g, &ins);
    double want[24];
    for (int i = 0; i < 24; i++) {
        int c = (i / 4) % 3;
        want[i] = ((double)ins[0][i] - g->nodes[p[2]].data[c]) /
                      sqrt((double)g->nodes[p[3]].data[c] + eps) * g->nodes[p[0]].data[c] +
                  g->nodes[p[1]].data[c];
    }
    CHECK(close_arrays(y, want, 24, 1e-6, "batchnorm"));
    free(y);
    free_ins(g, ins);
    sn_ir_graph_free(g);
}

static double unary_ref(sn_op op, double v) {
    switch (op) {
    case SN_OP_SILU:
        return v / (1 + exp(-v));
    case SN_OP_SIGMOID:
        return 1 / (1 + exp(-v));
    case SN_OP_RELU:
        return v > 0 ? v : 0;
    case SN_OP_NEG:
        return -v;
    case SN_OP_EXP:
        return exp(v);
    case SN_OP_SQRT:
        return sqrt(v);
    case SN_OP_RECIP:
        return 1 / v;
    default:
        return NAN;
    }
}

static void test_unary(void) {
    for (int op = SN_OP_SILU; op <= SN_OP_RECIP; op++) {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = inp(g, SHAPE(3, 5));
        int32_t n = add(g, (sn_op)op, &x, 1, NULL, 0, NULL, 0);
        sn_ir_mark_output(g, n);
        float xin[15];
        fill_random(xin, 15);
        if (op == SN_OP_SQRT)
            for (int i = 0; i < 15; i++)
                xin[i] = fabsf(xin[i]) + 0.01f;
        const float *ins[1] = {xin};
        float *y = poisoned(15);
        CHECK(sn_ir_ref_run(g, ins, &y, err, sizeof err) == SN_OK);
        double want[15];
        for (int i = 0; i < 15; i++)
            want[i] = unary_ref((sn_op)op, xin[i]);
        CHECK(close_arrays(y, want, 15, 1e-6, sn_ir_op_info[op].name));
        free(y);
        sn_ir_graph_free(g);
    }
}

static double binary_ref(sn_op op, double a, double b) {
    switch (op) {
    case SN_OP_ADD:
        return a + b;
    case SN_OP_SUB:
        return a - b;
    case SN_OP_MUL:
        return a * b;
    case SN_OP_DIV:
        return a / b;
    case SN_OP_POW:
        return pow(a, b);
    case SN_OP_MAX2:
        return a > b ? a : b;
    default:
        return NAN;
    }
}

static void test_broadcast(void) {
    for (int op = SN_OP_ADD; op <= SN_OP_MAX2; op++) {
        /* [2,1,4] op [3,1] → [2,3,4] */
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t a = inp(g, SHAPE(2, 1, 4));
        int32_t b = inp(g, SHAPE(3, 1));
        int32_t n = add(g, (sn_op)op, (int32_t[]){a, b}, 2, NULL, 0, NULL, 0);
        sn_ir_mark_output(g, n);
        float A[8], B[3];
        fill_random(A, 8);
        fill_random(B, 3);
        if (op == SN_OP_POW)
            for (int i = 0; i < 8; i++)
                A[i] = fabsf(A[i]) + 0.1f;
        const float *ins[2] = {A, B};
        float *y = poisoned(24);
        CHECK(sn_ir_ref_run(g, ins, &y, err, sizeof err) == SN_OK);
        double want[24];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 4; k++)
                    want[(i * 3 + j) * 4 + k] = binary_ref((sn_op)op, A[i * 4 + k], B[j]);
        CHECK(close_arrays(y, want, 24, 1e-6, sn_ir_op_info[op].name));
        free(y);
        sn_ir_graph_free(g);
    }
    /* scalar on the left, [1,3,1,2] with [2,1,5,1] (both sides broadcast) */
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t a = inp(g, SHAPE(1, 3, 1, 2));
    int32_t b = inp(g, SHAPE(2, 1, 5, 1));
    int32_t s = sn_ir_scalar(g, 3.0);
    int32_t m = add(g, SN_OP_SUB, (int32_t[]){a, b}, 2, NULL, 0, NULL, 0);
    int32_t n = add(g, SN_OP_DIV, (int32_t[]){s, m}, 2, NULL, 0, NULL, 0);
    sn_ir_mark_output(g, n);
    float **ins;
    float *y = run(g, &ins);
    double want[60];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 5; k++)
                for (int l = 0; l < 2; l++)
                    want[((i * 3 + j) * 5 + k) * 2 + l] =
                        3.0 / (float)((double)ins[0][j * 2 + l] - ins[1][i * 5 + k]);
    CHECK(close_arrays(y, want, 60, 1e-5, "scalar / (a - b) broadcast"));
    free(y);
    free_ins(g, ins);
    sn_ir_graph_free(g);
}

static void test_cast(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = inp(g, SHAPE(9));
    int32_t h = add(g, SN_OP_CAST, &x, 1, (int64_t[]){SN_DTYPE_F16}, 1, NULL, 0);
    int32_t bf = add(g, SN_OP_CAST, &x, 1, (int64_t[]){SN_DTYPE_BF16}, 1, NULL, 0);
    int32_t i32 = add(g, SN_OP_CAST, &x, 1, (int64_t[]){SN_DTYPE_I32}, 1, NULL, 0);
    sn_ir_mark_output(g, h);
    sn_ir_mark_output(g, bf);
    sn_ir_mark_output(g, i32);
    float xin[9] = {1.0f / 3.0f,
                    65519.0f,
                    65520.0f,
                    1e-7f,
                    1.0f + 1.0f / 2048.0f,   /* f16 tie → even (1) */
                    1.0f + 3.0f / 2048.0f,   /* f16 tie → even (1 + 2^-9) */
                    1.0f + 1.0f / 256.0f,    /* bf16 tie → even (1) */
                    -(1.0f + 3.0f / 256.0f), /* bf16 tie → even (-(1 + 2^-6)) */
                    -2.75f};
    const float *ins[1] = {xin};
    float *outs[3] = {poisoned(9), poisoned(9), poisoned(9)};
    CHECK(sn_ir_ref_run(g, ins, outs, err, sizeof err) == SN_OK);
    double wh[9] = {0.333251953125,
                    65504,
                    INFINITY,
                    1.1920928955078125e-07,
                    1.0,
                    1.0 + 1.0 / 512,
                    1.00390625,
                    -(1.0 + 3.0 / 256),
                    -2.75};
    double wb[9] = {0.333984375, 65536, 65536, 1.00000008e-07, 1.0, 1.0, 1.0, -1.015625, -2.75};
    double wi[9] = {0, 65519, 65520, 0, 1, 1, 1, -1, -2};
    /* bf16 of 1e-7: 8 significant bits */
    float b7 = 1e-7f;
    uint32_t u;
    memcpy(&u, &b7, 4);
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    memcpy(&b7, &u, 4);
    wb[3] = b7;
    CHECK(close_arrays(outs[0], wh, 9, 0, "cast f16"));
    CHECK(close_arrays(outs[1], wb, 9, 0, "cast bf16"));
    CHECK(close_arrays(outs[2], wi, 9, 0, "cast i32"));
    for (int i = 0; i < 3; i++)
        free(outs[i]);
    sn_ir_graph_free(g);

    /* an f16 node rounds its result: f16(1/3) + f16(1/3) computed and rounded again */
    g = sn_ir_graph_new();
    x = inp(g, SHAPE(1));
    h = add(g, SN_OP_CAST, &x, 1, (int64_t[]){SN_DTYPE_F16}, 1, NULL, 0);
    int32_t s = sn_ir_scalar(g, 1e-4); /* weak scalar: the sum stays f16 */
    int32_t sum = add(g, SN_OP_ADD, (int32_t[]){h, s}, 2, NULL, 0, NULL, 0);
    CHECK(g->nodes[sum].dtype == SN_DTYPE_F16);
    sn_ir_mark_output(g, sum);
    float one = 1.0f;
    const float *in1[1] = {&one};
    float *o = poisoned(1);
    CHECK(sn_ir_ref_run(g, in1, &o, err, sizeof err) == SN_OK);
    CHECK(o[0] == 1.0f); /* 1 + 1e-4 rounds back to 1 in f16 (ulp 2^-10) */
    free(o);
    sn_ir_graph_free(g);
}

/* ---------------------------------------------------------------- data movement */

static void test_concat_slice_reshape_permute(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t a = inp(g, SHAPE(2, 3, 4));
    int32_t b = inp(g, SHAPE(2, 1, 4));
    int32_t c = add(g, SN_OP_CONCAT, (int32_t[]){a, b, a}, 3, (int64_t[]){1}, 1, NULL, 0);
    int32_t s = add(g, SN_OP_SLICE, &c, 1, (int64_t[]){1, 1, 7, 2}, 4, NULL, 0); /* rows 1,3,5 */
    int32_t r = add(g, SN_OP_RESHAPE, &s, 1, (int64_t[]){3, 2, 4}, 3, NULL, 0);
    int32_t p = add(g, SN_OP_PERMUTE, &r, 1, (int64_t[]){2, 0, 1}, 3, NULL, 0); /* [4,3,2] */
    sn_ir_mark_output(g, c);
    sn_ir_mark_output(g, s);
    sn_ir_mark_output(g, p);
    float A[24], B[8];
    fill_random(A, 24);
    fill_random(B, 8);
    const float *ins[2] = {A, B};
    float *outs[3] = {poisoned(56), poisoned(24), poisoned(24)};
    CHECK(sn_ir_ref_run(g, ins, outs, err, sizeof err) == SN_OK);
    double wc[56], ws[24], wp[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 7; j++)
            for (int k = 0; k < 4; k++)
                wc[(i * 7 + j) * 4 + k] = j < 3    ? A[(i * 3 + j) * 4 + k]
                                          : j == 3 ? B[i * 4 + k]
                                                   : A[(i * 3 + j - 4) * 4 + k];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                ws[(i * 3 + j) * 4 + k] = wc[(i * 7 + 1 + 2 * j) * 4 + k];
    /* reshape keeps ws's order as [3,2,4]; permute (2,0,1): out[k][i][j] = r[i][j][k] */
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++)
                wp[(k * 3 + i) * 2 + j] = ws[(i * 2 + j) * 4 + k];
    CHECK(close_arrays(outs[0], wc, 56, 0, "concat"));
    CHECK(close_arrays(outs[1], ws, 24, 0, "slice step 2"));
    CHECK(close_arrays(outs[2], wp, 24, 0, "reshape+permute"));
    for (int i = 0; i < 3; i++)
        free(outs[i]);
    sn_ir_graph_free(g);
}

static void test_upsample_maxpool(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = inp(g, SHAPE(1, 2, 2, 3));
    int32_t u = add(g, SN_OP_UPSAMPLE, &x, 1, (int64_t[]){2, 3}, 2, NULL, 0);
    sn_ir_mark_output(g, u);
    float X[12];
    fill_random(X, 12);
    const float *ins[1] = {X};
    float *y = poisoned(72);
    CHECK(sn_ir_ref_run(g, ins, &y, err, sizeof err) == SN_OK);
    double want[72];
    for (int c = 0; c < 2; c++)
        for (int yy = 0; yy < 4; yy++)
            for (int xx = 0; xx < 9; xx++)
                want[(c * 4 + yy) * 9 + xx] = X[(c * 2 + yy / 2) * 3 + xx / 3];
    CHECK(close_arrays(y, want, 72, 0, "upsample"));
    free(y);
    sn_ir_graph_free(g);

    /* maxpool k3 s1 p1 (and k5 p2, as SPPF) on all-negative input: zero padding would show */
    for (int k = 3; k <= 5; k += 2) {
        g = sn_ir_graph_new();
        x = inp(g, SHAPE(1, 2, 5, 6));
        int32_t m = add(g, SN_OP_MAXPOOL2D, &x, 1, (int64_t[]){k, 1, k / 2}, 3, NULL, 0);
        sn_ir_mark_output(g, m);
        float X2[60];
        for (int i = 0; i < 60; i++)
            X2[i] = -1.0f - fabsf((float)rnd_unit());
        const float *in2[1] = {X2};
        y = poisoned(60);
        CHECK(sn_ir_ref_run(g, in2, &y, err, sizeof err) == SN_OK);
        double w2[60];
        for (int c = 0; c < 2; c++)
            for (int oy = 0; oy < 5; oy++)
                for (int ox = 0; ox < 6; ox++) {
                    double mx = -INFINITY;
                    for (int dy = -k / 2; dy <= k / 2; dy++)
                        for (int dx = -k / 2; dx <= k / 2; dx++) {
                            int iy = oy + dy, ix = ox + dx;
                            if (iy >= 0 && iy < 5 && ix >= 0 && ix < 6 &&
                                X2[(c * 5 + iy) * 6 + ix] > mx)
                                mx = X2[(c * 5 + iy) * 6 + ix];
                        }
                    w2[(c * 5 + oy) * 6 + ox] = mx;
                }
        CHECK(close_arrays(y, w2, 60, 0, "maxpool2d -inf padding"));
        for (int i = 0; i < 60; i++)
            CHECK(y[i] < -0.5f);
        free(y);
        sn_ir_graph_free(g);
    }
    /* stride 2, no pad, odd size: 5x5 k2 s2 → 2x2 */
    g = sn_ir_graph_new();
    x = inp(g, SHAPE(1, 1, 5, 5));
    int32_t m = add(g, SN_OP_MAXPOOL2D, &x, 1, (int64_t[]){2, 2, 0}, 3, NULL, 0);
    sn_ir_mark_output(g, m);
    float X3[25];
    for (int i = 0; i < 25; i++)
        X3[i] = (float)((i * 7) % 25);
    const float *in3[1] = {X3};
    y = poisoned(4);
    CHECK(sn_ir_ref_run(g, in3, &y, err, sizeof err) == SN_OK);
    for (int oy = 0; oy < 2; oy++)
        for (int ox = 0; ox < 2; ox++) {
            float mx = -INFINITY;
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++)
                    mx = fmaxf(mx, X3[(oy * 2 + dy) * 5 + ox * 2 + dx]);
            CHECK(y[oy * 2 + ox] == mx);
        }
    free(y);
    sn_ir_graph_free(g);
}

/* ---------------------------------------------------------------- reductions, matmul */

static void test_softmax_reduce(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = inp(g, SHAPE(2, 3, 4));
    int32_t sm = add(g, SN_OP_SOFTMAX, &x, 1, (int64_t[]){1}, 1, NULL, 0);
    int32_t rs = add(g, SN_OP_REDUCE_SUM, &x, 1, (int64_t[]){2}, 1, NULL, 0);
    int32_t rs0 = add(g, SN_OP_REDUCE_SUM, &sm, 1, (int64_t[]){1}, 1, NULL, 0);
    sn_ir_mark_output(g, sm);
    sn_ir_mark_output(g, rs);
    sn_ir_mark_output(g, rs0);
    float X[24];
    fill_random(X, 24);
    X[5] = 80.0f; /* large: needs the max subtraction */
    const float *ins[1] = {X};
    float *outs[3] = {poisoned(24), poisoned(6), poisoned(8)};
    CHECK(sn_ir_ref_run(g, ins, outs, err, sizeof err) == SN_OK);
    double wsm[24], wrs[6], ones[8];
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++) {
            double mx = -INFINITY, sum = 0;
            for (int j = 0; j < 3; j++)
                mx = fmax(mx, X[(i * 3 + j) * 4 + k]);
            for (int j = 0; j < 3; j++)
                sum += exp(X[(i * 3 + j) * 4 + k] - mx);
            for (int j = 0; j < 3; j++)
                wsm[(i * 3 + j) * 4 + k] = exp(X[(i * 3 + j) * 4 + k] - mx) / sum;
            ones[i * 4 + k] = 1.0;
        }
    for (int r = 0; r < 6; r++) {
        wrs[r] = 0;
        for (int k = 0; k < 4; k++)
            wrs[r] += X[r * 4 + k];
    }
    CHECK(close_arrays(outs[0], wsm, 24, 1e-6, "softmax axis 1"));
    CHECK(close_arrays(outs[1], wrs, 6, 1e-6, "reduce_sum axis 2"));
    CHECK(close_arrays(outs[2], ones, 8, 1e-6, "softmax sums to 1"));
    for (int i = 0; i < 3; i++)
        free(outs[i]);
    sn_ir_graph_free(g);
}

static void test_matmul(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t a = inp(g, SHAPE(2, 2, 3, 5));
    int32_t b = inp(g, SHAPE(2, 2, 5, 4));
    int32_t m = add(g, SN_OP_MATMUL, (int32_t[]){a, b}, 2, NULL, 0, NULL, 0);
    sn_ir_mark_output(g, m);
    float **ins;
    float *y = run(g, &ins);
    double want[48];
    for (int bt = 0; bt < 4; bt++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++) {
                double s = 0;
                for (int k = 0; k < 5; k++)
                    s += (double)ins[0][(bt * 3 + i) * 5 + k] * ins[1][(bt * 5 + k) * 4 + j];
                want[(bt * 3 + i) * 4 + j] = s;
            }
    CHECK(close_arrays(y, want, 48, 1e-6, "matmul batch"));
    free(y);
    free_ins(g, ins);
    sn_ir_graph_free(g);
}

/* ---------------------------------------------------------------- anchors */

static void test_anchors(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    double off = 0.5;
    /* level 0: h2 w3 stride 8; level 1: h1 w2 stride 16 → A = 8 */
    int64_t lv[8] = {0, 2, 2, 3, 8, 1, 2, 16};
    int32_t pts = add(g, SN_OP_ANCHORS, NULL, 0, lv, 8, &off, 1);
    lv[0] = 1;
    int32_t str = add(g, SN_OP_ANCHORS, NULL, 0, lv, 8, &off, 1);
    sn_ir_mark_output(g, pts);
    sn_ir_mark_output(g, str);
    float *outs[2] = {poisoned(16), poisoned(8)};
    CHECK(sn_ir_ref_run(g, NULL, outs, err, sizeof err) == SN_OK);
    double wp[16] = {0.5, 1.5, 2.5, 0.5, 1.5, 2.5, 0.5, 1.5,  /* x */
                     0.5, 0.5, 0.5, 1.5, 1.5, 1.5, 0.5, 0.5}; /* y */
    double wst[8] = {8, 8, 8, 8, 8, 8, 16, 16};
    CHECK(close_arrays(outs[0], wp, 16, 0, "anchor points"));
    CHECK(close_arrays(outs[1], wst, 8, 0, "anchor strides"));
    free(outs[0]);
    free(outs[1]);
    sn_ir_graph_free(g);
}

/* ---------------------------------------------------------------- the driver */

static void test_driver(void) {
    /* a chain with an intermediate output, a CONST, and a dead unrelated node */
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = inp(g, SHAPE(2, 3));
    int32_t c = sn_ir_add(g, SN_OP_CONST, NULL, 0, NULL, 0, (double[]){0}, 1, &(sn_shape){1, {3}},
                          SN_DTYPE_F32, err, sizeof err);
    float *cd = g->nodes[c].data;
    cd[0] = 1;
    cd[1] = 2;
    cd[2] = 3;
    int32_t a = add(g, SN_OP_MUL, (int32_t[]){x, c}, 2, NULL, 0, NULL, 0);
    int32_t e = add(g, SN_OP_EXP, &a, 1, NULL, 0, NULL, 0);
    int32_t dead = add(g, SN_OP_NEG, &x, 1, NULL, 0, NULL, 0);
    g->nodes[dead].flags |= SN_IR_NODE_DEAD;
    int32_t s = add(g, SN_OP_ADD, (int32_t[]){e, a}, 2, NULL, 0, NULL, 0);
    sn_ir_mark_output(g, s);
    sn_ir_mark_output(g, a);
    sn_ir_mark_output(g, s);
    float X[6];
    fill_random(X, 6);
    const float *ins[1] = {X};
    float *outs[3] = {poisoned(6), poisoned(6), poisoned(6)};
    CHECK(sn_ir_ref_run(g, ins, outs, err, sizeof err) == SN_OK);
    double ws[6], wa[6];
    for (int i = 0; i < 6; i++) {
        wa[i] = (float)((double)X[i] * cd[i % 3]);
        ws[i] = exp(wa[i]) + wa[i];
    }
    CHECK(close_arrays(outs[0], ws, 6, 1e-6, "driver out 0"));
    CHECK(close_arrays(outs[1], wa, 6, 0, "driver out 1 (intermediate)"));
    CHECK(close_arrays(outs[2], ws, 6, 1e-6, "driver out 2 (repeated)"));
    for (int i = 0; i < 3; i++)
        free(outs[i]);

    /* a PARAM without data is an error, not a crash */
    int32_t p = sn_ir_param(g, "model.9.w", &(sn_shape){1, {3}}, SN_IR_INIT_CONV_WEIGHT);
    int32_t q = add(g, SN_OP_ADD, (int32_t[]){s, p}, 2, NULL, 0, NULL, 0);
    g->outputs[0] = q;
    float *o[3] = {poisoned(6), poisoned(6), poisoned(6)};
    err[0] = 0;
    CHECK(sn_ir_ref_run(g, ins, o, err, sizeof err) == SN_ERR_INVALID);
    CHECKF(has_substr(err, "\"model.9.w\" has no data"), "%s", err);
    for (int i = 0; i < 3; i++)
        free(o[i]);
    sn_ir_graph_free(g);
}

int main(void) {
    test_conv();
    test_batchnorm();
    test_unary();
    test_broadcast();
    test_cast();
    test_concat_slice_reshape_permute();
    test_upsample_maxpool();
    test_softmax_reduce();
    test_matmul();
    test_anchors();
    test_driver();
    return check_report("test_ir_ref");
}
