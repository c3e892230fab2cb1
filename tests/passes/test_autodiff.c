/* tests/passes/test_autodiff.c — every derivative rule (the vjp column of ir/ops.def) and the
 * autodiff walk, against central finite differences of the ref evaluator.
 *
 * Each case builds y = f(p0, p1, …) from PARAM leaves holding random values, takes
 * L = Σ r·y for a random r (the seed of autodiff is r itself), and compares each gradient
 * autodiff builds, evaluated by ref, with (L(p + h) − L(p − h)) / 2h per element. ref
 * computes each op in double and rounds its result to f32 once, so L is summed in double and
 * h is 1e-3 of the element's scale: the differences are good to ~1e-4 of the gradient's
 * scale, far below what a wrong rule (a lost factor, a wrong index) changes. Shapes are odd
 * on purpose; kinks (relu at 0, max ties) are kept away from by the data. */
#include "ir/ir.h"
#include "passes/train.h"
#include "tests/common/check.h"

#include <math.h>
#include <stdlib.h>

#define MAXP 8

typedef struct tcase {
    sn_ir_graph *g;
    int32_t p[MAXP];
    int np;
    int32_t y;
} tcase;

static void tc_begin(tcase *t) {
    memset(t, 0, sizeof *t);
    t->g = sn_ir_graph_new();
}

/* A PARAM with values uniform in [lo, hi). */
static int32_t param(tcase *t, sn_shape s, float lo, float hi) {
    char name[16];
    snprintf(name, sizeof name, "p%d", t->np);
    int32_t p = sn_ir_param(t->g, name, &s, SN_IR_INIT_CONV_WEIGHT);
    fill_uniform(sn_ir_node_data(t->g, p), sn_shape_numel(&s), lo, hi);
    t->p[t->np++] = p;
    return p;
}

static int32_t op(tcase *t, sn_op o, const int32_t *in, int nin, const int64_t *ia, int nia,
                  const double *fa, int nfa) {
    char err[300] = "";
    int32_t r = sn_ir_add(t->g, o, in, nin, ia, nia, fa, nfa, NULL, SN_DTYPE_F32, err, sizeof err);
    CHECKF(r >= 0, "%s: %s", sn_ir_op_info[o].name, err);
    return r;
}
static int32_t op1(tcase *t, sn_op o, int32_t x) { return op(t, o, &x, 1, NULL, 0, NULL, 0); }
static int32_t op2(tcase *t, sn_op o, int32_t a, int32_t b) {
    int32_t in[2] = {a, b};
    return op(t, o, in, 2, NULL, 0, NULL, 0);
}

static double loss(const float *y, const float *r, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)r[i] * y[i];
    return s;
}

/* Runs autodiff on t->y and checks every PARAM's gradient; frees the graph. */
static void tc_check(tcase *t, const char *name, double tol) {
    sn_ir_graph *g = t->g;
    if (t->y < 0) {
        CHECKF(0, "%s: no graph", name);
        sn_ir_graph_free(g);
        return;
    }
    sn_shape ys = g->nodes[t->y].shape;
    int64_t ny = sn_shape_numel(&ys);
    double one = 1.0;
    int32_t seed = sn_ir_add(g, SN_OP_CONST, NULL, 0, NULL, 0, &one, 1, &ys, SN_DTYPE_F32, NULL, 0);
    float *r = sn_ir_node_data(g, seed);
    fill_uniform(r, ny, -1.f, 1.f);
    int32_t grads[MAXP];
    char err[400] = "";
    sn_status st = sn_train_autodiff(g, t->y, seed, t->p, t->np, grads, err, sizeof err);
    CHECKF(st == SN_OK, "%s: autodiff: %s", name, err);
    if (st != SN_OK) {
        sn_ir_graph_free(g);
        return;
    }
    sn_ir_mark_output(g, t->y);
    for (int i = 0; i < t->np; i++) {
        CHECKF(grads[i] >= 0, "%s: p%d has no gradient", name, i);
        if (grads[i] < 0) {
            sn_ir_graph_free(g);
            return;
        }
        sn_ir_mark_output(g, grads[i]);
        CHECKF(sn_shape_eq(&g->nodes[grads[i]].shape, &g->nodes[t->p[i]].shape),
               "%s: gradient %d has the wrong shape", name, i);
    }
    CHECKF(sn_ir_verify(g, "autodiff", err, sizeof err) == SN_OK, "%s: %s", name, err);
    float *outs[1 + MAXP];
    outs[0] = malloc((size_t)ny * sizeof(float));
    for (int i = 0; i < t->np; i++)
        outs[1 + i] = malloc((size_t)sn_shape_numel(&g->nodes[t->p[i]].shape) * sizeof(float));
    st = sn_ir_ref_run(g, NULL, outs, err, sizeof err);
    CHECKF(st == SN_OK, "%s: ref: %s", name, err);
    double worst = 0;
    for (int i = 0; i < t->np && st == SN_OK; i++) {
        float *pd = sn_ir_node_data(g, t->p[i]);
        int64_t np = sn_shape_numel(&g->nodes[t->p[i]].shape);
        double scale = 1e-6, maxerr = 0;
        for (int64_t k = 0; k < np; k++)
            scale = fmax(scale, fabs(outs[1 + i][k]));
        for (int64_t k = 0; k < np; k++) {
            float v = pd[k];
            float h = 1e-3f * fmaxf(1.f, fabsf(v));
            pd[k] = v + h;
            double hp = (double)pd[k] - v;
            sn_ir_ref_run(g, NULL, outs, err, sizeof err);
            double lp = loss(outs[0], r, ny);
            pd[k] = v - h;
            double hm = v - (double)pd[k];
            sn_ir_ref_run(g, NULL, outs, err, sizeof err);
            double lm = loss(outs[0], r, ny);
            pd[k] = v;
            double fd = (lp - lm) / (hp + hm);
            sn_ir_ref_run(g, NULL, outs, err, sizeof err); /* the analytic gradient again */
            maxerr = fmax(maxerr, fabs(fd - outs[1 + i][k]) / scale);
        }
        worst = fmax(worst, maxerr);
        CHECKF(maxerr <= tol,
               "%s: d/dp%d: finite differences differ by %.3g of the gradient's "
               "scale %.3g (tolerance %.1g)",
               name, i, maxerr, scale, tol);
    }
    printf("  %-28s worst %.2e\n", name, worst);
    for (int i = 0; i <= t->np; i++)
        free(outs[i]);
    sn_ir_graph_free(g);
}

#define S(...) ((sn_shape){sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t), {__VA_ARGS__}})

static void unary_cases(void) {
    const struct {
        sn_op op;
        float lo, hi;
    } u[] = {{SN_OP_SILU, -3, 3},    {SN_OP_SIGMOID, -3, 3}, {SN_OP_RELU, 0.05f, 1},
             {SN_OP_NEG, -2, 2},     {SN_OP_EXP, -2, 2},     {SN_OP_SQRT, 0.2f, 3},
             {SN_OP_RECIP, 0.5f, 2}, {SN_OP_LOG, 0.2f, 3}};
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        tcase t;
        tc_begin(&t);
        int32_t x = param(&t, S(2, 3, 5), u[i].lo, u[i].hi);
        if (u[i].op == SN_OP_RELU) { /* both sides of the kink, never near it */
            float *d = sn_ir_node_data(t.g, x);
            for (int k = 0; k < 30; k += 2)
                d[k] = -d[k];
        }
        t.y = op1(&t, u[i].op, x);
        tc_check(&t, sn_ir_op_info[u[i].op].name, 2e-3);
    }
    tcase t;
    tc_begin(&t);
    int64_t f32 = SN_DTYPE_F32;
    int32_t x = param(&t, S(3, 4), -1, 1);
    t.y = op(&t, SN_OP_CAST, &x, 1, &f32, 1, NULL, 0);
    tc_check(&t, "cast", 2e-3);
}

static void binary_cases(void) {
    static const sn_op b[] = {SN_OP_ADD, SN_OP_SUB, SN_OP_MUL, SN_OP_DIV, SN_OP_POW, SN_OP_MAX2};
    /* broadcasting both ways, a rank difference and a scalar */
    const sn_shape sa[] = {S(2, 3, 5), S(3, 1), S(2, 1, 5), S(4, 3)};
    const sn_shape sb[] = {S(2, 3, 5), S(2, 3, 5), S(3, 1), S(1)};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
        for (size_t s = 0; s < sizeof sa / sizeof sa[0]; s++) {
            tcase t;
            tc_begin(&t);
            int pos = b[i] == SN_OP_POW || b[i] == SN_OP_DIV;
            int32_t a = param(&t, sa[s], pos ? 0.5f : -2, 2);
            int32_t c = param(&t, sb[s], pos ? 0.5f : -2, 2);
            t.y = op2(&t, b[i], a, c);
            char name[64];
            snprintf(name, sizeof name, "%s #%zu", sn_ir_op_info[b[i]].name, s);
            tc_check(&t, name, 2e-3);
        }
    /* where: a [2,3], b [3], the condition a constant mask */
    tcase t;
    tc_begin(&t);
    int32_t a = param(&t, S(2, 3), -1, 1), c = param(&t, S(3), -1, 1);
    sn_shape cs = S(2, 3);
    double z = 0;
    int32_t cond = sn_ir_add(t.g, SN_OP_CONST, NULL, 0, NULL, 0, &z, 1, &cs, SN_DTYPE_F32, NULL, 0);
    float *cd = sn_ir_node_data(t.g, cond);
    for (int k = 0; k < 6; k++)
        cd[k] = (float)(k % 3 == 1);
    int32_t in[3] = {cond, a, c};
    t.y = op(&t, SN_OP_WHERE, in, 3, NULL, 0, NULL, 0);
    tc_check(&t, "where", 2e-3);
}

static void shape_cases(void) {
    tcase t;
    /* concat of three along axis 1 */
    tc_begin(&t);
    int32_t in[3] = {param(&t, S(2, 3, 4), -1, 1), param(&t, S(2, 1, 4), -1, 1),
                     param(&t, S(2, 2, 4), -1, 1)};
    int64_t ax = 1;
    t.y = op(&t, SN_OP_CONCAT, in, 3, &ax, 1, NULL, 0);
    tc_check(&t, "concat", 2e-3);
    /* a lone slice in the middle */
    tc_begin(&t);
    int32_t x = param(&t, S(3, 7, 2), -1, 1);
    int64_t sl[4] = {1, 2, 5, 1};
    t.y = op(&t, SN_OP_SLICE, &x, 1, sl, 4, NULL, 0);
    tc_check(&t, "slice", 2e-3);
    /* a split (two slices tiling) whose pieces are used unequally, plus an overlapping slice */
    tc_begin(&t);
    x = param(&t, S(2, 6, 3), -1, 1);
    int64_t s0[4] = {1, 0, 2, 1}, s1[4] = {1, 2, 6, 1}, s2[4] = {1, 1, 3, 1};
    int32_t a = op(&t, SN_OP_SLICE, &x, 1, s0, 4, NULL, 0);
    int32_t b = op(&t, SN_OP_SLICE, &x, 1, s1, 4, NULL, 0);
    int32_t c = op(&t, SN_OP_SLICE, &x, 1, s2, 4, NULL, 0);
    int32_t b2 = op(&t, SN_OP_SLICE, &b, 1, s0, 4, NULL, 0);
    int32_t cat[3] = {op1(&t, SN_OP_SILU, a), op2(&t, SN_OP_MUL, b2, c), op1(&t, SN_OP_EXP, c)};
    t.y = op(&t, SN_OP_CONCAT, cat, 3, &ax, 1, NULL, 0);
    tc_check(&t, "split+overlap", 2e-3);
    /* a split with a gap */
    tc_begin(&t);
    x = param(&t, S(5, 4), -1, 1);
    int64_t g0[4] = {0, 0, 1, 1}, g1[4] = {0, 3, 5, 1};
    int32_t u = op(&t, SN_OP_SLICE, &x, 1, g0, 4, NULL, 0);
    int32_t v = op(&t, SN_OP_SLICE, &x, 1, g1, 4, NULL, 0);
    int64_t ax0 = 0;
    int32_t uv[2] = {op1(&t, SN_OP_SIGMOID, v), u};
    t.y = op(&t, SN_OP_CONCAT, uv, 2, &ax0, 1, NULL, 0);
    tc_check(&t, "split with a gap", 2e-3);
    /* reshape, permute */
    tc_begin(&t);
    x = param(&t, S(2, 3, 4), -1, 1);
    int64_t dims[3] = {4, 6, 1}, perm[3] = {2, 0, 1};
    int32_t rs = op(&t, SN_OP_RESHAPE, &x, 1, dims, 3, NULL, 0);
    t.y = op(&t, SN_OP_PERMUTE, &rs, 1, perm, 3, NULL, 0);
    tc_check(&t, "reshape+permute", 2e-3);
    /* upsample 2x2 and 3x1 */
    for (int k = 0; k < 2; k++) {
        tc_begin(&t);
        x = param(&t, S(2, 3, 3, 5), -1, 1);
        int64_t sc[2] = {k ? 3 : 2, k ? 1 : 2};
        t.y = op(&t, SN_OP_UPSAMPLE, &x, 1, sc, 2, NULL, 0);
        tc_check(&t, k ? "upsample 3x1" : "upsample 2x2", 2e-3);
    }
}

/* values 0.1 apart, shuffled: no two window elements closer than h */
static void distinct(float *d, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        d[i] = (float)(0.1 * (double)i - 0.05 * (double)n);
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(rnd_u64() % (uint64_t)(i + 1));
        float tmp = d[i];
        d[i] = d[j];
        d[j] = tmp;
    }
}

static void pool_reduce_cases(void) {
    static const int64_t mp[][3] = {{3, 1, 1}, {2, 2, 0}, {5, 1, 2}, {3, 2, 1}};
    for (int k = 0; k < 4; k++) {
        tcase t;
        tc_begin(&t);
        int32_t x = param(&t, S(2, 2, 5, 7), -1, 1);
        distinct(sn_ir_node_data(t.g, x), 140);
        t.y = op(&t, SN_OP_MAXPOOL2D, &x, 1, mp[k], 3, NULL, 0);
        char name[64];
        snprintf(name, sizeof name, "maxpool2d k%lld s%lld p%lld", (long long)mp[k][0],
                 (long long)mp[k][1], (long long)mp[k][2]);
        tc_check(&t, name, 2e-3);
    }
    for (int64_t axis = 0; axis < 3; axis++) {
        tcase t;
        tc_begin(&t);
        int32_t x = param(&t, S(3, 4, 5), -2, 2);
        t.y = op(&t, SN_OP_SOFTMAX, &x, 1, &axis, 1, NULL, 0);
        tc_check(&t, "softmax", 2e-3);
        tc_begin(&t);
        x = param(&t, S(3, 4, 5), -2, 2);
        t.y = op(&t, SN_OP_REDUCE_SUM, &x, 1, &axis, 1, NULL, 0);
        tc_check(&t, "reduce_sum", 2e-3);
    }
    tcase t;
    tc_begin(&t);
    int32_t a = param(&t, S(2, 3, 4), -1, 1), b = param(&t, S(2, 4, 5), -1, 1);
    t.y = op2(&t, SN_OP_MATMUL, a, b);
    tc_check(&t, "matmul", 2e-3);
}

static void conv_bn_cases(void) {
    /* x, w, groups, stride, pad, dilation, bias */
    const struct {
        sn_shape x, w;
        int64_t g, s, p, d;
        int bias;
    } c[] = {
        {S(2, 3, 7, 6), S(4, 3, 3, 3), 1, 1, 1, 1, 0}, /* 3x3 same */
        {S(1, 4, 9, 7), S(6, 2, 3, 3), 2, 2, 1, 1, 1}, /* grouped, stride 2, bias */
        {S(2, 5, 6, 5), S(5, 1, 3, 3), 5, 1, 1, 1, 0}, /* depth-wise */
        {S(1, 3, 8, 9), S(2, 3, 3, 3), 1, 1, 2, 2, 1}, /* dilated */
        {S(2, 3, 5, 5), S(4, 3, 1, 1), 1, 1, 0, 1, 1}, /* 1x1 */
        {S(1, 2, 7, 7), S(3, 2, 2, 2), 1, 2, 0, 1, 0}, /* stride 2, even kernel, odd size */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        tcase t;
        tc_begin(&t);
        int32_t in[3] = {param(&t, c[i].x, -1, 1), param(&t, c[i].w, -1, 1), -1};
        int nin = 2;
        if (c[i].bias)
            in[nin++] = param(&t, S(c[i].w.d[0]), -1, 1);
        int64_t ia[7] = {c[i].s, c[i].s, c[i].p, c[i].p, c[i].d, c[i].d, c[i].g};
        t.y = op(&t, SN_OP_CONV2D, in, nin, ia, 7, NULL, 0);
        char name[64];
        snprintf(name, sizeof name, "conv2d #%zu", i);
        tc_check(&t, name, 2e-3);
    }
    /* batchnorm (inference: running statistics constant) and bn_stats */
    tcase t;
    tc_begin(&t);
    int32_t x = param(&t, S(2, 3, 4, 5), -1, 1);
    int32_t w = param(&t, S(3), 0.5f, 1.5f), b = param(&t, S(3), -1, 1);
    sn_shape cs = S(3);
    int32_t m = sn_ir_param(t.g, "rm", &cs, SN_IR_INIT_BN_MEAN);
    int32_t v = sn_ir_param(t.g, "rv", &cs, SN_IR_INIT_BN_VAR);
    fill_uniform(sn_ir_node_data(t.g, m), 3, -0.2f, 0.2f);
    fill_uniform(sn_ir_node_data(t.g, v), 3, 0.5f, 1.5f);
    int32_t in[5] = {x, w, b, m, v};
    double eps = 1e-3;
    t.y = op(&t, SN_OP_BATCHNORM, in, 5, NULL, 0, &eps, 1);
    tc_check(&t, "batchnorm", 2e-3);
    tc_begin(&t);
    x = param(&t, S(3, 4, 3, 5), -1, 1);
    t.y = op1(&t, SN_OP_BN_STATS, x);
    tc_check(&t, "bn_stats", 2e-3);
}

/* The walk itself: a value used several times (x * x, a residual), a stop-gradient op (cmp) and
 * a chain of conv, batch statistics and silu, as a C2f block uses them. */
static void composite_cases(void) {
    tcase t;
    tc_begin(&t);
    int32_t x = param(&t, S(2, 4, 5, 5), -1, 1), w1 = param(&t, S(4, 2, 3, 3), -0.5f, 0.5f);
    int32_t w2 = param(&t, S(4, 4, 1, 1), -0.5f, 0.5f);
    int64_t ia[7] = {1, 1, 1, 1, 1, 1, 2};
    int32_t cin[2] = {x, w1};
    int32_t c1 = op(&t, SN_OP_CONV2D, cin, 2, ia, 7, NULL, 0);
    int32_t st = op1(&t, SN_OP_BN_STATS, c1);
    int64_t r0[4] = {0, 0, 1, 1};
    int64_t shp[4] = {1, 4, 1, 1};
    int32_t mean = op(&t, SN_OP_RESHAPE, (int32_t[]){op(&t, SN_OP_SLICE, &st, 1, r0, 4, NULL, 0)},
                      1, shp, 4, NULL, 0);
    int32_t y = op1(&t, SN_OP_SILU, op2(&t, SN_OP_SUB, c1, mean));
    y = op2(&t, SN_OP_ADD, y, x);
    int64_t p1[7] = {1, 1, 0, 0, 1, 1, 1};
    int32_t c2in[2] = {op2(&t, SN_OP_MUL, y, y), w2};
    int32_t c2 = op(&t, SN_OP_CONV2D, c2in, 2, p1, 7, NULL, 0);
    int64_t gt = 4;
    int32_t mask = op(&t, SN_OP_CMP, (int32_t[]){c2, y}, 2, &gt, 1, NULL, 0);
    t.y = op2(&t, SN_OP_MUL, c2, mask);
    tc_check(&t, "composite", 3e-3);
}

static void error_cases(void) {
    /* an op on the path without a derivative: a named error, not a silent zero */
    sn_ir_graph *g = sn_ir_graph_new();
    sn_shape s = S(1, 1, 4, 4);
    int32_t p = sn_ir_param(g, "p", &s, SN_IR_INIT_CONV_WEIGHT);
    int32_t in[2] = {p, p};
    int64_t ia[3] = {3, 1, 1};
    int32_t y =
        sn_ir_add(g, SN_OP_MAXPOOL2D_GRAD, in, 2, ia, 3, NULL, 0, NULL, SN_DTYPE_F32, NULL, 0);
    CHECK(y >= 0);
    int32_t grads[1];
    char err[200] = "";
    /* maxpool2d_grad is not differentiable: autodiff stops there (a zero gradient), as for cmp */
    CHECK(sn_train_autodiff(g, y, y, &p, 1, grads, err, sizeof err) == SN_OK);
    CHECK(grads[0] == -1);
    /* a mismatched seed */
    sn_shape s2 = S(2);
    double one = 1;
    int32_t bad = sn_ir_add(g, SN_OP_CONST, NULL, 0, NULL, 0, &one, 1, &s2, SN_DTYPE_F32, NULL, 0);
    CHECK(sn_train_autodiff(g, y, bad, &p, 1, grads, err, sizeof err) == SN_ERR_INVALID);
    CHECK_HAS(err, "seed");
    sn_ir_graph_free(g);
    /* every differentiable op has a rule, every other op sn_ir_vjp_none */
    for (int o = 0; o < SN_OP_COUNT; o++) {
        int d = (sn_ir_op_info[o].flags & SN_OPF_DIFFERENTIABLE) != 0;
        CHECKF(d == (sn_ir_op_info[o].vjp != sn_ir_vjp_none), "op %s", sn_ir_op_info[o].name);
    }
}

int main(void) {
    rnd_seed(7);
    unary_cases();
    binary_cases();
    shape_cases();
    pool_reduce_cases();
    conv_bn_cases();
    composite_cases();
    error_cases();
    return check_report("passes_autodiff");
}
