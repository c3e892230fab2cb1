/* tests/codegen_cpu/test_cg_cpu_nonfinite.c — NaN and ±Inf through the CPU codegen, equal to
 * ref by class: every output element ref gives as NaN, +Inf or -Inf must be exactly that, the
 * finite ones within the usual tolerance (cgt_run_compare_nonfinite).
 *
 * Op by op (eager, and fused where a kernel class has an epilogue): each case runs once with
 * NaN, once with +Inf and once with -Inf planted in its inputs (first, a middle and the last
 * element, so vector tails and borders are hit), or in a weight. Whole models (a NaN/Inf
 * pixel, a NaN weight, a negative BN var in yolov8n) are in test_cg_cpu_models.c.
 *
 * The semantics are ref's (ir/ops/, IEEE and PyTorch's): max, relu and max_pool2d propagate
 * NaN; sigmoid(±Inf) = 1 / 0; silu(+Inf) = +Inf, silu(-Inf) = -Inf / Inf = NaN; softmax of a
 * row holding a NaN or +Inf is all NaN; padding taps of a conv are left out (a NaN weight
 * does not reach the border pixels it only meets through padding). Every case also checks
 * that ref's output has non-finite elements, so it cannot pass vacuously. */
#include "tests/codegen_cpu/cg_harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-5

static float planted; /* the value the edit plants */

/* NaN/Inf at the first, a middle and the last element of every input (shifted by the input's
 * index: a binary op meets a NaN against a finite value too) */
static void plant(int i, float *x, int64_t n) {
    int64_t at[3] = {i, n / 2 + 1 + i, n - 1 - i};
    for (int k = 0; k < 3; k++)
        x[at[k] >= 0 && at[k] < n ? at[k] : 0] = planted;
}

static const float values[3] = {NAN, INFINITY, -INFINITY};
static const char *value_name(float v) { return isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf"; }

static int32_t conv(sn_ir_graph *g, int32_t x, int64_t cout, int64_t k, int64_t s, int64_t p,
                    int64_t groups, int32_t *w) {
    int64_t cin = g->nodes[x].shape.d[1];
    *w = cgt_param(g, CGT_SHAPE(cout, cin / groups, k, k), SN_IR_INIT_CONV_WEIGHT);
    int32_t in[3] = {x, *w, cgt_param(g, CGT_SHAPE(cout), SN_IR_INIT_CONV_BIAS)};
    int64_t ia[7] = {s, s, p, p, 1, 1, groups};
    return cgt_add_node(g, SN_OP_CONV2D, in, 3, ia, 7, NULL, 0);
}

/* Runs g (its `nm` members fused into one group, or eager when nm = 0) with `edit` on the
 * inputs; checks the class comparison and that ref has non-finite outputs. Frees g. */
static void run_nf(sn_ir_graph *g, const char *what, int nhwc, const int32_t *members, int nm,
                   cgt_edit_fn edit) {
    for (int i = 0; i < nm; i++)
        g->nodes[members[i]].group = members[nm - 1];
    cgt_random_params(g); /* fills only params without data: a planted weight stays */
    cgt_plan(g, nhwc);
    char full[160];
    snprintf(full, sizeof full, "%s [%s]", what, edit ? value_name(planted) : "weight");
    int64_t nf = 0;
    cgt_run_compare_nonfinite(g, g, full, 3, TOL, edit, &nf);
    /* a NaN always reaches the output (an Inf may become 0 or 1 in ref, as in sigmoid) */
    if (!edit || isnan(planted))
        CGT_CHECK(nf > 0, "%s: ref has no NaN/Inf output: the case tests nothing", full);
    sn_ir_graph_free(g);
}

/* ---------------------------------------------------------------- pointwise */

static void test_unary(void) {
    sn_op ops[] = {SN_OP_SILU, SN_OP_SIGMOID, SN_OP_EXP,  SN_OP_RELU,
                   SN_OP_NEG,  SN_OP_SQRT,    SN_OP_RECIP};
    for (int v = 0; v < 3; v++)
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
            planted = values[v];
            sn_ir_graph *g = sn_ir_graph_new();
            int32_t x = cgt_input(g, CGT_SHAPE(1, 3, 7, 41));
            /* ×100: exp and sigmoid saturate in both directions around the planted values */
            int32_t y = cgt_un(g, ops[i], cgt_bin(g, SN_OP_MUL, x, sn_ir_scalar(g, 100.0)));
            sn_ir_mark_output(g, y);
            char what[64];
            snprintf(what, sizeof what, "eager %s", sn_ir_op_info[ops[i]].name);
            run_nf(g, what, 1, NULL, 0, plant);
        }
}

static void test_binary(void) {
    sn_op ops[] = {SN_OP_ADD, SN_OP_SUB, SN_OP_MUL, SN_OP_DIV, SN_OP_MAX2};
    for (int v = 0; v < 3; v++) {
        planted = values[v];
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            for (int bc = 0; bc < 2; bc++) {
                /* both operands full, or the second broadcast over channels */
                sn_ir_graph *g = sn_ir_graph_new();
                int32_t a = cgt_input(g, CGT_SHAPE(1, 20, 5, 7));
                int32_t b = cgt_input(g, bc ? CGT_SHAPE(1, 20, 1, 1) : CGT_SHAPE(1, 20, 5, 7));
                int32_t y = cgt_bin(g, ops[i], a, b);
                sn_ir_mark_output(g, y);
                char what[64];
                snprintf(what, sizeof what, "eager %s%s", sn_ir_op_info[ops[i]].name,
                         bc ? " (broadcast)" : "");
                run_nf(g, what, 0, NULL, 0, plant);
            }
        /* pow: special exponents and the exp(y·log x) path (negative bases: NaN) */
        double ex[6] = {2.0, 3.0, 0.5, 1.7, 4.0, -3.0};
        for (int k = 0; k < 6; k++) {
            sn_ir_graph *g = sn_ir_graph_new();
            int32_t x = cgt_input(g, CGT_SHAPE(1, 5, 9, 11));
            int32_t y = cgt_bin(g, SN_OP_POW, x, sn_ir_scalar(g, ex[k]));
            sn_ir_mark_output(g, y);
            char what[64];
            snprintf(what, sizeof what, "eager pow(x, %g)", ex[k]);
            run_nf(g, what, 1, NULL, 0, plant);
        }
        /* a fused chain: relu, max, sigmoid, silu, mul in one kernel */
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = cgt_input(g, CGT_SHAPE(2, 20, 7, 9)), z = cgt_input(g, CGT_SHAPE(2, 20, 7, 9));
        int32_t r = cgt_un(g, SN_OP_RELU, x);
        int32_t m = cgt_bin(g, SN_OP_MAX2, r, z);
        int32_t ms = cgt_bin(g, SN_OP_MUL, m, sn_ir_scalar(g, 50.0));
        int32_t s = cgt_un(g, SN_OP_SIGMOID, ms);
        int32_t zs = cgt_bin(g, SN_OP_MUL, z, sn_ir_scalar(g, -50.0));
        int32_t t = cgt_un(g, SN_OP_SILU, zs);
        int32_t y = cgt_bin(g, SN_OP_ADD, s, t);
        sn_ir_mark_output(g, y);
        int32_t mem[] = {r, m, ms, s, zs, t, y};
        run_nf(g, "fused relu,max,sigmoid,silu chain nhwc", 1, mem, 7, plant);
    }
}

/* ---------------------------------------------------------------- conv, batchnorm */

/* conv shapes: direct 3x3 (small C), Winograd-eligible 3x3 (C, O >= 16, even map), stride 2,
 * 1x1, depthwise */
typedef struct convcfg {
    const char *name;
    int64_t c, h, w, o, k, s, p, groups;
} convcfg;
static const convcfg convs[] = {
    {"conv3x3 8->24", 8, 9, 7, 24, 3, 1, 1, 1},
    {"conv3x3 winograd-shaped 16->32", 16, 8, 10, 32, 3, 1, 1, 1},
    {"conv3x3 s2 3->16", 3, 12, 10, 16, 3, 2, 1, 1},
    {"conv1x1 24->20", 24, 5, 6, 20, 1, 1, 0, 1},
    {"dwconv3x3 C=32", 32, 7, 8, 32, 3, 1, 1, 32},
};

static void conv_graph(const convcfg *c, int epi, sn_ir_graph **gp, int32_t *w, int32_t *mem,
                       int *nm) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = cgt_input(g, CGT_SHAPE(1, c->c, c->h, c->w));
    int32_t xr = cgt_un(g, SN_OP_NEG, x); /* an NHWC arena value */
    int32_t y = conv(g, xr, c->o, c->k, c->s, c->p, c->groups, w);
    mem[0] = y;
    *nm = 1;
    if (epi)
        mem[(*nm)++] = y = cgt_un(g, SN_OP_SILU, y);
    sn_ir_mark_output(g, y);
    *gp = g;
}

static void test_conv(void) {
    for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++) {
        char what[96];
        /* a NaN / Inf input pixel */
        for (int v = 0; v < 3; v++) {
            planted = values[v];
            sn_ir_graph *g;
            int32_t w, mem[2];
            int nm;
            conv_graph(&convs[i], 1, &g, &w, mem, &nm);
            snprintf(what, sizeof what, "%s +silu, planted input", convs[i].name);
            run_nf(g, what, 1, mem, nm, plant);
        }
        /* a NaN / Inf weight: one tap of one (o, c); fused silu, and eager */
        for (int v = 0; v < 3; v++)
            for (int epi = 0; epi < 2; epi++) {
                sn_ir_graph *g;
                int32_t w, mem[2];
                int nm;
                conv_graph(&convs[i], epi, &g, &w, mem, &nm);
                cgt_random_params(g);
                float *wd = sn_ir_node_data(g, w);
                int64_t kk = convs[i].k * convs[i].k;
                wd[(3 * (convs[i].c / convs[i].groups) + 1) * kk] = values[v]; /* o=3, c=1, tap 0 */
                snprintf(what, sizeof what, "%s%s, %s weight", convs[i].name, epi ? " +silu" : "",
                         value_name(values[v]));
                run_nf(g, what, 1, mem, nm, NULL);
            }
    }
}

/* conv + BatchNorm (unfolded, in the conv's epilogue, and eager) with a negative running_var
 * in one channel (sqrt of a negative: NaN) and a NaN running_mean in another */
static void test_bn(void) {
    for (int fused = 0; fused < 2; fused++) {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t x = cgt_input(g, CGT_SHAPE(1, 16, 9, 9)), w;
        int32_t y = conv(g, x, 32, 3, 1, 1, 1, &w);
        int32_t bnp[4];
        int32_t b = cgt_bn(g, y, bnp);
        int32_t s = cgt_un(g, SN_OP_SILU, b);
        sn_ir_mark_output(g, s);
        cgt_random_params(g);
        sn_ir_node_data(g, bnp[3])[5] = -1.0f;
        sn_ir_node_data(g, bnp[2])[17] = NAN;
        int32_t m[3] = {y, b, s};
        run_nf(g, fused ? "conv+bn+silu fused, var<0" : "conv, bn, silu eager, var<0", 1, m,
               fused ? 3 : 0, NULL);
    }
}

/* ---------------------------------------------------------------- pooling, reductions, copies */

static void test_pool_softmax_copies(void) {
    int64_t pool[][3] = {{5, 1, 2}, {3, 2, 1}, {2, 2, 0}};
    int64_t axes[] = {1, 2, 3};
    for (int v = 0; v < 3; v++) {
        planted = values[v];
        char what[96];
        for (int i = 0; i < 3; i++) {
            sn_ir_graph *g = sn_ir_graph_new();
            int32_t x = cgt_input(g, CGT_SHAPE(1, 35, 11, 13));
            int32_t xr = cgt_un(g, SN_OP_NEG, x);
            int32_t y = cgt_add_node(g, SN_OP_MAXPOOL2D, &xr, 1, pool[i], 3, NULL, 0);
            sn_ir_mark_output(g, y);
            snprintf(what, sizeof what, "maxpool k%lld s%lld p%lld nhwc", (long long)pool[i][0],
                     (long long)pool[i][1], (long long)pool[i][2]);
            run_nf(g, what, 1, NULL, 0, plant);
        }
        for (int i = 0; i < 3; i++)
            for (int red = 0; red < 2; red++) {
                sn_ir_graph *g = sn_ir_graph_new();
                int32_t x = cgt_input(g, CGT_SHAPE(1, 4, 16, 45));
                int32_t y = cgt_add_node(g, red ? SN_OP_REDUCE_SUM : SN_OP_SOFTMAX, &x, 1, &axes[i],
                                         1, NULL, 0);
                sn_ir_mark_output(g, y);
                snprintf(what, sizeof what, "%s axis %lld of [1,4,16,45]",
                         red ? "reduce_sum" : "softmax", (long long)axes[i]);
                run_nf(g, what, 0, NULL, 0, plant);
            }
        {
            /* matmul */
            sn_ir_graph *g = sn_ir_graph_new();
            int32_t a = cgt_input(g, CGT_SHAPE(1, 2, 9, 19)),
                    b = cgt_input(g, CGT_SHAPE(1, 2, 19, 21));
            int32_t y = cgt_bin(g, SN_OP_MATMUL, a, b);
            sn_ir_mark_output(g, y);
            run_nf(g, "matmul", 0, NULL, 0, plant);
        }
        for (int nhwc = 0; nhwc < 2; nhwc++) {
            /* upsample and concat: fused tree, and eager copies */
            for (int fused = 0; fused < 2; fused++) {
                sn_ir_graph *g = sn_ir_graph_new();
                int32_t x = cgt_input(g, CGT_SHAPE(1, 24, 6, 5)),
                        z = cgt_input(g, CGT_SHAPE(1, 8, 12, 10));
                int32_t xs = cgt_un(g, SN_OP_NEG, x), zs = cgt_un(g, SN_OP_NEG, z);
                int64_t sc[2] = {2, 2};
                int32_t up = cgt_add_node(g, SN_OP_UPSAMPLE, &xs, 1, sc, 2, NULL, 0);
                int32_t in[2] = {up, zs};
                int64_t axis = 1;
                int32_t cat = cgt_add_node(g, SN_OP_CONCAT, in, 2, &axis, 1, NULL, 0);
                int32_t y = cgt_un(g, SN_OP_SIGMOID, cat);
                sn_ir_mark_output(g, y);
                int32_t m[] = {up, cat, y};
                snprintf(what, sizeof what, "upsample,concat,sigmoid %s %s",
                         fused ? "fused" : "eager", nhwc ? "nhwc" : "nchw");
                run_nf(g, what, nhwc, m, fused ? 3 : 0, plant);
            }
        }
    }
}

int main(void) {
    test_unary();
    test_binary();
    test_conv();
    test_bn();
    test_pool_softmax_copies();
    return cgt_report("test_cg_cpu_nonfinite");
}
