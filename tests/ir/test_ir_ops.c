/* tests/ir/test_ir_ops.c — the ops training needs, one test each: ref against the most direct
 * computation of the op's definition, the gradient ops also against finite differences of
 * ref conv2d / maxpool2d (double sums), shape errors that name the op, and the text form
 * round-tripping every graph. */
#include "tests/common/check_ir.h"

#include <math.h>
#include <stdlib.h>

static char err[512];

static int32_t node(sn_ir_graph *g, sn_op op, const int32_t *in, int nin, const int64_t *ia,
                    int nia) {
    int32_t n = sn_ir_add(g, op, in, nin, ia, nia, NULL, 0, NULL, SN_DTYPE_F32, err, sizeof err);
    CHECKF(n >= 0, "%s", err);
    return n;
}

/* sn_ir_add must refuse, with an error that contains want (the op's name first). */
static void refused(sn_ir_graph *g, sn_op op, const int32_t *in, int nin, const int64_t *ia,
                    int nia, const char *want) {
    err[0] = 0;
    int32_t n = sn_ir_add(g, op, in, nin, ia, nia, NULL, 0, NULL, SN_DTYPE_F32, err, sizeof err);
    CHECKF(n < 0, "%s accepted", sn_ir_op_info[op].name);
    CHECK_HAS(err, want);
    CHECKF(strncmp(err, sn_ir_op_info[op].name, strlen(sn_ir_op_info[op].name)) == 0,
           "'%s' does not start with the op name", err);
}

static int64_t numel(const sn_ir_graph *g, int32_t n) { return sn_shape_numel(&g->nodes[n].shape); }

/* g's first output for inputs ins (malloc'ed, poisoned before the run). */
static float *eval(const sn_ir_graph *g, float *const *ins) {
    float *out = poisoned(numel(g, g->outputs[0]));
    sn_status st = sn_ir_ref_run(g, (const float *const *)ins, &out, err, sizeof err);
    CHECKF(st == SN_OK, "%s", err);
    return out;
}

/* |got - want| <= tol (1 + |want|) everywhere; the first miss is reported. */
static void close_all(const float *got, const double *want, int64_t n, double tol,
                      const char *what) {
    for (int64_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= tol * (1.0 + fabs(want[i])))) {
            CHECKF(0, "%s: element %lld is %.9g, want %.9g", what, (long long)i, got[i], want[i]);
            return;
        }
}

/* The printer's text parses back to a graph that prints the same. */
static void roundtrip(const sn_ir_graph *g, const char *what) {
    char *t1 = NULL, *t2 = NULL;
    size_t n1 = 0, n2 = 0;
    FILE *f = open_memstream(&t1, &n1);
    sn_ir_print(g, f);
    fclose(f);
    sn_ir_graph *g2 = sn_ir_parse(t1, what, err, sizeof err);
    CHECKF(g2 != NULL, "%s: %s", what, err);
    if (g2) {
        f = open_memstream(&t2, &n2);
        sn_ir_print(g2, f);
        fclose(f);
        CHECKF(strcmp(t1, t2) == 0, "%s: printed\n%s\nreprinted\n%s", what, t1, t2);
        sn_ir_graph_free(g2);
    }
    free(t1);
    free(t2);
}

/* ---------------------------------------------------------------- log */

static void test_log(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = inp(g, SHAPE(3, 50));
    sn_ir_mark_output(g, node(g, SN_OP_LOG, &x, 1, NULL, 0));
    float *in = malloc(150 * sizeof *in);
    fill_uniform(in, 150, 1e-3f, 10.0f);
    in[0] = 0.0f, in[1] = -1.0f, in[2] = INFINITY, in[3] = 1.0f, in[4] = 0.5f, in[5] = NAN;
    float *y = eval(g, &in);
    CHECK(y[0] == -INFINITY && isnan(y[1]) && y[2] == INFINITY && y[3] == 0.0f);
    CHECK(y[4] == -0.69314718f && isnan(y[5]));
    float ratio[150]; /* exp(log x) / x is 1 to float precision */
    double one[150];
    for (int i = 0; i < 150; i++) {
        ratio[i] = i < 6 ? 1.0f : (float)(exp((double)y[i]) / in[i]);
        one[i] = 1.0;
    }
    close_all(ratio, one, 150, 3e-7, "exp(log x) / x");
    refused(g, SN_OP_LOG, (int32_t[]){x, x}, 2, NULL, 0, "log: expects 1 inputs, got 2");
    roundtrip(g, "log");
    free(y);
    free(in);
    sn_ir_graph_free(g);
}

/* ---------------------------------------------------------------- where */

static void test_where(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t c = inp(g, SHAPE(2, 1, 4)), a = inp(g, SHAPE(3, 1)), b = inp(g, shape0());
    int32_t w = node(g, SN_OP_WHERE, (int32_t[]){c, a, b}, 3, NULL, 0);
    sn_ir_mark_output(g, w);
    CHECK(sn_shape_eq(&g->nodes[w].shape, &(sn_shape){3, {2, 3, 4}}));
    float cv[8] = {0, 1, 0, 2, NAN, 0, -1, 0}, av[3], bv[1];
    fill_random(av, 3);
    fill_random(bv, 1);
    float *y = eval(g, (float *[]){cv, av, bv});
    double want[24];
    for (int i = 0; i < 2; i++) /* out[i][j][k] = cond[i][0][k] != 0 ? a[j][0] : b */
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                want[(i * 3 + j) * 4 + k] = cv[i * 4 + k] != 0.0f ? av[j] : bv[0];
    close_all(y, want, 24, 0.0, "where [2,1,4] [3,1] []");
    free(y);
    roundtrip(g, "where");

    /* scalar cond, b broadcast along the last dim */
    int32_t c0 = inp(g, shape0()), a2 = inp(g, SHAPE(2, 3)), b2 = inp(g, SHAPE(3));
    int32_t w2 = node(g, SN_OP_WHERE, (int32_t[]){c0, a2, b2}, 3, NULL, 0);
    CHECK(sn_shape_eq(&g->nodes[w2].shape, &(sn_shape){2, {2, 3}}));
    refused(g, SN_OP_WHERE, (int32_t[]){c, a2, b2}, 3, NULL, 0,
            "where: shapes [2,1,4] and [2,3] do not broadcast");
    refused(g, SN_OP_WHERE, (int32_t[]){c0, a, a2}, 3, NULL, 0, "do not broadcast");
    sn_ir_graph_free(g);
}

/* ---------------------------------------------------------------- cmp */

static void test_cmp(void) {
    enum { M = 4, N = 5 };
    float av[M * N], bv[N];
    fill_random(av, M * N);
    fill_random(bv, N);
    for (int j = 0; j < N; j++) /* row 1 ties b */
        av[N + j] = bv[j];
    av[2 * N] = NAN;
    for (int64_t pred = 0; pred < 6; pred++) {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t a = inp(g, SHAPE(M, N)), b = inp(g, SHAPE(N));
        int32_t c = node(g, SN_OP_CMP, (int32_t[]){a, b}, 2, &pred, 1);
        sn_ir_mark_output(g, c);
        float *y = eval(g, (float *[]){av, bv});
        double want[M * N];
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double p = av[i * N + j], q = bv[j];
                int r = pred == 0   ? p == q
                        : pred == 1 ? p != q
                        : pred == 2 ? p < q
                        : pred == 3 ? p <= q
                        : pred == 4 ? p > q
                                    : p >= q;
                want[i * N + j] = r ? 1.0 : 0.0;
            }
        char what[32];
        snprintf(what, sizeof what, "cmp pred %d", (int)pred);
        close_all(y, want, M * N, 0.0, what);
        free(y);
        roundtrip(g, what);
        if (pred == 4) { /* f32 result from f16 operands; bad pred; bad broadcast */
            int32_t h = node(g, SN_OP_CAST, &a, 1, (int64_t[]){SN_DTYPE_F16}, 1);
            int32_t hc = node(g, SN_OP_CMP, (int32_t[]){h, h}, 2, &pred, 1);
            CHECK(g->nodes[hc].dtype == SN_DTYPE_F32);
            refused(g, SN_OP_CMP, (int32_t[]){a, b}, 2, (int64_t[]){6}, 1, "cmp: unknown pred 6");
            int32_t b4 = inp(g, SHAPE(M));
            refused(g, SN_OP_CMP, (int32_t[]){a, b4}, 2, &pred, 1, "cmp: shapes [4,5] and [4]");
            refused(g, SN_OP_CMP, (int32_t[]){h, b}, 2, &pred, 1, "cmp: dtypes differ");
        }
        sn_ir_graph_free(g);
    }
}

/* ---------------------------------------------------------------- conv2d gradients */

/* Σ out * r in double: the scalar loss whose gradient the finite differences measure. */
static double loss(const sn_ir_graph *g, float *const *ins, const float *r) {
    float *y = eval(g, ins);
    double s = 0.0;
    for (int64_t i = 0; i < numel(g, g->outputs[0]); i++)
        s += (double)y[i] * r[i];
    free(y);
    return s;
}

/* The central difference of loss over *v (an input element or a PARAM's value), divided by the
 * step actually taken in f32. */
static double central_diff(const sn_ir_graph *g, float *const *ins, const float *r, float *v,
                           double h) {
    float v0 = *v, up = (float)(v0 + h), down = (float)(v0 - h);
    *v = up;
    double lu = loss(g, ins, r);
    *v = down;
    double ld = loss(g, ins, r);
    *v = v0;
    return (lu - ld) / ((double)up - (double)down);
}

typedef struct conv_case {
    int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, g;
} conv_case;

static const conv_case conv_cases[] = {
    {2, 4, 7, 6, 6, 3, 3, 2, 2, 1, 1, 1, 1, 2}, /* strided, grouped */
    {1, 3, 8, 9, 4, 3, 2, 1, 2, 2, 0, 2, 1, 1}, /* dilated, uneven */
    {1, 4, 5, 5, 4, 1, 1, 1, 1, 0, 0, 1, 1, 4}, /* depthwise 1x1 */
    {1, 2, 9, 7, 3, 5, 3, 3, 2, 2, 1, 1, 2, 1}, /* stride 3 skips inputs */
};

/* The forward conv2d (x an INPUT, w a PARAM with random data) as the finite differences'
 * function; *w_out gets the weight node. */
static sn_ir_graph *conv_forward(const conv_case *k, int32_t *w_out) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = inp(g, SHAPE(k->n, k->c, k->h, k->w));
    sn_shape ws = SHAPE(k->o, k->c / k->g, k->kh, k->kw);
    int32_t w = sn_ir_param(g, "w", &ws, SN_IR_INIT_CONV_WEIGHT);
    fill_random(sn_ir_node_data(g, w), sn_shape_numel(&ws));
    sn_ir_mark_output(g, node(g, SN_OP_CONV2D, (int32_t[]){x, w}, 2,
                              (int64_t[]){k->sh, k->sw, k->ph, k->pw, k->dh, k->dw, k->g}, 7));
    *w_out = w;
    return g;
}

/* Calls f(n, o, c, oy, ox, ky, kx, iy, ix) for every term of the convolution's definition:
 * output (n, o, oy, ox) reads input (n, c, iy, ix) through weight (o, c % C/g, ky, kx). */
#define FOR_CONV_TERMS(k, OH, OW, BODY)                                                            \
    for (int64_t n = 0; n < (k)->n; n++)                                                           \
        for (int64_t o = 0; o < (k)->o; o++)                                                       \
            for (int64_t cg = 0; cg < (k)->c / (k)->g; cg++)                                       \
                for (int64_t oy = 0; oy < (OH); oy++)                                              \
                    for (int64_t ox = 0; ox < (OW); ox++)                                          \
                        for (int64_t ky = 0; ky < (k)->kh; ky++)                                   \
                            for (int64_t kx = 0; kx < (k)->kw; kx++) {                             \
                                int64_t c = o / ((k)->o / (k)->g) * ((k)->c / (k)->g) + cg;        \
                                int64_t iy = oy * (k)->sh - (k)->ph + ky * (k)->dh;                \
                                int64_t ix = ox * (k)->sw - (k)->pw + kx * (k)->dw;                \
                                if (iy < 0 || iy >= (k)->h || ix < 0 || ix >= (k)->w)              \
                                    continue;                                                      \
                                int64_t xi = ((n * (k)->c + c) * (k)->h + iy) * (k)->w + ix;       \
                                int64_t wi =                                                       \
                                    ((o * ((k)->c / (k)->g) + cg) * (k)->kh + ky) * (k)->kw + kx;  \
                                int64_t yi = ((n * (k)->o + o) * (OH) + oy) * (OW) + ox;           \
                                BODY;                                                              \
                            }

static void test_conv2d_grad_input(void) {
    for (size_t ci = 0; ci < sizeof conv_cases / sizeof conv_cases[0]; ci++) {
        const conv_case *k = &conv_cases[ci];
        int32_t wf;
        sn_ir_graph *f = conv_forward(k, &wf);
        const sn_shape ys = f->nodes[f->outputs[0]].shape;
        int64_t OH = ys.d[2], OW = ys.d[3], nx = k->n * k->c * k->h * k->w;
        float *r = malloc((size_t)sn_shape_numel(&ys) * sizeof *r);
        fill_random(r, sn_shape_numel(&ys));

        sn_ir_graph *g = sn_ir_graph_new();
        int32_t dy = inp(g, ys);
        sn_shape ws = f->nodes[wf].shape;
        int32_t w = sn_ir_param(g, "w", &ws, SN_IR_INIT_CONV_WEIGHT);
        memcpy(sn_ir_node_data(g, w), f->nodes[wf].data,
               (size_t)sn_shape_numel(&ws) * sizeof(float));
        int32_t dx =
            node(g, SN_OP_CONV2D_GRAD_INPUT, (int32_t[]){dy, w}, 2,
                 (int64_t[]){k->sh, k->sw, k->ph, k->pw, k->dh, k->dw, k->g, k->h, k->w}, 9);
        sn_ir_mark_output(g, dx);
        CHECK(sn_shape_eq(&g->nodes[dx].shape, &f->nodes[f->inputs[0]].shape));
        float *got = eval(g, &r);

        /* the definition: dx[xi] = Σ over the terms that read xi of r[yi] * w[wi] */
        double *want = calloc((size_t)nx, sizeof *want);
        const float *wd = f->nodes[wf].data;
        FOR_CONV_TERMS(k, OH, OW, want[xi] += (double)r[yi] * wd[wi])
        char what[64];
        snprintf(what, sizeof what, "conv2d_grad_input case %d", (int)ci);
        close_all(got, want, nx, 1e-6, what);

        /* finite differences of Σ conv2d(x, w) * r: linear in x, so a wide step is exact
         * up to the forward's f32 rounding */
        float *x = malloc((size_t)nx * sizeof *x);
        fill_random(x, nx);
        double h = 0.5;
        for (int64_t i = 0; i < nx; i++)
            want[i] = central_diff(f, &x, r, &x[i], h);
        snprintf(what, sizeof what, "conv2d_grad_input case %d vs finite differences", (int)ci);
        close_all(got, want, nx, 1e-4, what);
        roundtrip(g, what);
        free(x);
        free(want);
        free(got);
        free(r);
        sn_ir_graph_free(g);
        sn_ir_graph_free(f);
    }

    sn_ir_graph *g = sn_ir_graph_new();
    sn_shape ws = SHAPE(6, 4, 3, 3);
    int32_t w = sn_ir_param(g, "w", &ws, SN_IR_INIT_CONV_WEIGHT);
    int32_t dy8 = inp(g, SHAPE(1, 8, 4, 4)), dy6 = inp(g, SHAPE(1, 6, 4, 4));
    const int64_t at[9] = {1, 1, 1, 1, 1, 1, 1, 4, 4};
    refused(g, SN_OP_CONV2D_GRAD_INPUT, (int32_t[]){dy8, w}, 2, at, 9,
            "conv2d_grad_input: dy has 8 channels but weight has 6 outputs");
    refused(g, SN_OP_CONV2D_GRAD_INPUT, (int32_t[]){dy6, w}, 2,
            (int64_t[]){1, 1, 1, 1, 1, 1, 1, 5, 4}, 9, "conv2d_grad_input: dy has shape");
    refused(g, SN_OP_CONV2D_GRAD_INPUT, (int32_t[]){dy6, w}, 2,
            (int64_t[]){1, 1, 1, 1, 1, 1, 4, 4, 4}, 9, "groups 4 must divide");
    CHECK(node(g, SN_OP_CONV2D_GRAD_INPUT, (int32_t[]){dy6, w}, 2, at, 9) >= 0);
    sn_ir_graph_free(g);
}

static void test_conv2d_grad_weight(void) {
    for (size_t ci = 0; ci < sizeof conv_cases / sizeof conv_cases[0]; ci++) {
        const conv_case *k = &conv_cases[ci];
        int32_t wf;
        sn_ir_graph *f = conv_forward(k, &wf);
        const sn_shape ys = f->nodes[f->outputs[0]].shape;
        const sn_shape xs = f->nodes[f->inputs[0]].shape;
        int64_t OH = ys.d[2], OW = ys.d[3], nw = numel(f, wf);
        float *r = malloc((size_t)sn_shape_numel(&ys) * sizeof *r);
        float *x = malloc((size_t)sn_shape_numel(&xs) * sizeof *x);
        fill_random(r, sn_shape_numel(&ys));
        fill_random(x, sn_shape_numel(&xs));

        sn_ir_graph *g = sn_ir_graph_new();
        int32_t xi_ = inp(g, xs), dy = inp(g, ys);
        int32_t dw =
            node(g, SN_OP_CONV2D_GRAD_WEIGHT, (int32_t[]){xi_, dy}, 2,
                 (int64_t[]){k->sh, k->sw, k->ph, k->pw, k->dh, k->dw, k->g, k->kh, k->kw}, 9);
        sn_ir_mark_output(g, dw);
        CHECK(sn_shape_eq(&g->nodes[dw].shape, &f->nodes[wf].shape));
        float *got = eval(g, (float *[]){x, r});

        /* the definition: dw[wi] = Σ over the terms that use wi of r[yi] * x[xi] */
        double *want = calloc((size_t)nw, sizeof *want);
        FOR_CONV_TERMS(k, OH, OW, want[wi] += (double)r[yi] * x[xi])
        char what[64];
        snprintf(what, sizeof what, "conv2d_grad_weight case %d", (int)ci);
        close_all(got, want, nw, 1e-6, what);

        /* finite differences of Σ conv2d(x, w) * r over w (linear: a wide step is exact) */
        float *wd = f->nodes[wf].data;
        double h = 0.5;
        for (int64_t i = 0; i < nw; i++)
            want[i] = central_diff(f, &x, r, &wd[i], h);
        snprintf(what, sizeof what, "conv2d_grad_weight case %d vs finite differences", (int)ci);
        close_all(got, want, nw, 1e-4, what);
        roundtrip(g, what);
        free(want);
        free(got);
        free(x);
        free(r);
        sn_ir_graph_free(g);
        sn_ir_graph_free(f);
    }

    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x4 = inp(g, SHAPE(1, 4, 8, 8)), x2 = inp(g, SHAPE(2, 4, 8, 8));
    int32_t dy = inp(g, SHAPE(1, 6, 8, 8));
    refused(g, SN_OP_CONV2D_GRAD_WEIGHT, (int32_t[]){x4, dy}, 2,
            (int64_t[]){1, 1, 1, 1, 1, 1, 3, 3, 3}, 9,
            "conv2d_grad_weight: groups 3 must divide input channels 4");
    refused(g, SN_OP_CONV2D_GRAD_WEIGHT, (int32_t[]){x2, dy}, 2,
            (int64_t[]){1, 1, 1, 1, 1, 1, 1, 3, 3}, 9, "conv2d_grad_weight: dy has shape");
    refused(g, SN_OP_CONV2D_GRAD_WEIGHT, (int32_t[]){x4, dy}, 2,
            (int64_t[]){1, 1, 1, 1, 1, 1, 1, 5, 3}, 9, "conv2d_grad_weight: dy has shape");
    CHECK(node(g, SN_OP_CONV2D_GRAD_WEIGHT, (int32_t[]){x4, dy}, 2,
               (int64_t[]){1, 1, 1, 1, 1, 1, 2, 3, 3}, 9) >= 0);
    sn_ir_graph_free(g);
}

/* ---------------------------------------------------------------- maxpool2d_grad */

typedef struct pool_case {
    int64_t n, c, h, w, k, s, p;
} pool_case;

static sn_ir_graph *pool_graph(const pool_case *k, int grad) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = inp(g, SHAPE(k->n, k->c, k->h, k->w));
    const int64_t at[3] = {k->k, k->s, k->p};
    int32_t y = node(g, SN_OP_MAXPOOL2D, &x, 1, at, 3);
    if (grad) {
        int32_t dy = inp(g, g->nodes[y].shape);
        y = node(g, SN_OP_MAXPOOL2D_GRAD, (int32_t[]){x, dy}, 2, at, 3);
    }
    sn_ir_mark_output(g, y);
    return g;
}

static void test_maxpool2d_grad(void) {
    static const pool_case cases[] = {
        {2, 3, 7, 8, 3, 2, 1}, /* overlapping windows, padding */
        {1, 2, 6, 6, 2, 2, 0}, /* disjoint windows */
        {1, 2, 7, 7, 5, 1, 2}, /* SPPF's pool: every element in up to 25 windows */
        {1, 1, 9, 5, 3, 3, 0}, /* stride k: rows and columns no window reaches */
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const pool_case *k = &cases[ci];
        sn_ir_graph *f = pool_graph(k, 0), *g = pool_graph(k, 1);
        const sn_shape ys = f->nodes[f->outputs[0]].shape;
        int64_t nx = k->n * k->c * k->h * k->w, ny = sn_shape_numel(&ys);
        int64_t OH = ys.d[2], OW = ys.d[3], P = k->n * k->c;
        float *x = malloc((size_t)nx * sizeof *x), *r = malloc((size_t)ny * sizeof *r);
        fill_random(r, ny);
        /* distinct values 0.01 apart (a shuffled ramp): no ties, and a step of 0.004 never
         * changes which element is a window's max */
        for (int64_t i = 0; i < nx; i++)
            x[i] = (float)(0.01 * (double)i);
        for (int64_t i = nx - 1; i > 0; i--) {
            int64_t j = (int64_t)(rnd_u64() % (uint64_t)(i + 1));
            float t = x[i];
            x[i] = x[j];
            x[j] = t;
        }
        float *got = eval(g, (float *[]){x, r});
        double *want = calloc((size_t)nx, sizeof *want);
        char what[64];

        /* the definition: each window's r to its max */
        for (int64_t p = 0; p < P; p++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    int64_t best = -1;
                    for (int64_t iy = oy * k->s - k->p; iy < oy * k->s - k->p + k->k; iy++)
                        for (int64_t ix = ox * k->s - k->p; ix < ox * k->s - k->p + k->k; ix++) {
                            if (iy < 0 || iy >= k->h || ix < 0 || ix >= k->w)
                                continue;
                            int64_t e = (p * k->h + iy) * k->w + ix;
                            if (best < 0 || x[e] > x[best])
                                best = e;
                        }
                    want[best] += r[(p * OH + oy) * OW + ox];
                }
        snprintf(what, sizeof what, "maxpool2d_grad case %d", (int)ci);
        close_all(got, want, nx, 1e-6, what);

        double h = 0.004;
        for (int64_t i = 0; i < nx; i++)
            want[i] = central_diff(f, &x, r, &x[i], h);
        snprintf(what, sizeof what, "maxpool2d_grad case %d vs finite differences", (int)ci);
        close_all(got, want, nx, 1e-5, what);
        free(got);

        /* ties: in a constant plane every window's max is its first element in the input
         * (PyTorch's choice), so it alone gets the window's gradient */
        for (int64_t i = 0; i < nx; i++)
            x[i] = 1.0f;
        memset(want, 0, (size_t)nx * sizeof *want);
        for (int64_t p = 0; p < P; p++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    int64_t iy = oy * k->s - k->p, ix = ox * k->s - k->p;
                    iy = iy > 0 ? iy : 0;
                    ix = ix > 0 ? ix : 0;
                    want[(p * k->h + iy) * k->w + ix] += r[(p * OH + oy) * OW + ox];
                }
        got = eval(g, (float *[]){x, r});
        snprintf(what, sizeof what, "maxpool2d_grad case %d, ties", (int)ci);
        close_all(got, want, nx, 1e-6, what);
        roundtrip(g, what);
        free(got);
        free(want);
        free(x);
        free(r);
        sn_ir_graph_free(f);
        sn_ir_graph_free(g);
    }

    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = inp(g, SHAPE(1, 2, 8, 8)), dy = inp(g, SHAPE(1, 2, 8, 8));
    refused(g, SN_OP_MAXPOOL2D_GRAD, (int32_t[]){x, dy}, 2, (int64_t[]){2, 2, 0}, 3,
            "maxpool2d_grad: dy has shape [1,2,8,8] but maxpool2d of the input gives [1,2,4,4]");
    refused(g, SN_OP_MAXPOOL2D_GRAD, (int32_t[]){x, dy}, 2, (int64_t[]){3, 1, 2}, 3,
            "maxpool2d_grad: bad k 3 stride 1 pad 2");
    CHECK(node(g, SN_OP_MAXPOOL2D_GRAD, (int32_t[]){x, dy}, 2, (int64_t[]){3, 1, 1}, 3) >= 0);
    sn_ir_graph_free(g);
}

int main(void) {
    test_log();
    test_where();
    test_cmp();
    test_conv2d_grad_input();
    test_conv2d_grad_weight();
    test_maxpool2d_grad();
    return check_report("test_ir_ops");
}
