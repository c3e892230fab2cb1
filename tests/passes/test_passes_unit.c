/* tests/passes/test_passes_unit.c — each pass on hand-built graphs: fold-bn numerics and
 * naming, simplify, fusion shapes, views and concat-in-place decisions, NHWC layout, the
 * memory plan, idempotence, and a buffer-level simulation of the whole plan. */
#include "testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char err[1024];

static sn_pass_options opts(int eager, sn_pass_layout layout) {
    sn_pass_options o;
    sn_pass_options_default(&o, eager);
    o.layout = layout;
    return o;
}

static void run_upto(sn_ir_graph *g, const sn_pass_options *o, const char *last) {
    int n;
    const sn_pass_info *ps = sn_pass_list(&n);
    for (int i = 0; i < n; i++) {
        sn_status st = sn_pass_run(g, &ps[i], o, err, sizeof err);
        CHECKF(st == SN_OK, "%s", err);
        if (st != SN_OK || (last && strcmp(ps[i].name, last) == 0))
            return;
    }
}

/* one output of g with fixed inputs, via the ref evaluator */
static float *ref_out(const sn_ir_graph *g, const float *input) {
    int64_t ne = sn_shape_numel(&g->nodes[g->outputs[0]].shape);
    float *o = malloc((size_t)ne * sizeof *o);
    const float *ins[1] = {input};
    float *outs[1] = {o};
    sn_status st = sn_ir_ref_run(g, ins, outs, err, sizeof err);
    CHECKF(st == SN_OK, "%s", err);
    return o;
}

/* ---------------------------------------------------------------- fold-bn */

static void test_fold_bn_numerics(void) {
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        tl_b b = {sn_ir_graph_new(), ""};
        int32_t x = sn_ir_input(b.g, "x", &(sn_shape){4, {2, 6, 9, 7}});
        int32_t c;
        if (with_bias) {
            /* conv with its own bias, then BN */
            c = tl_conv_raw(&b, x, 5, 3, 2, 1, 1, "model.3.conv");
            static const char *const nm[4] = {"model.3.bn.weight", "model.3.bn.bias",
                                              "model.3.bn.running_mean", "model.3.bn.running_var"};
            static const sn_ir_init in[4] = {SN_IR_INIT_BN_WEIGHT, SN_IR_INIT_BN_BIAS,
                                             SN_IR_INIT_BN_MEAN, SN_IR_INIT_BN_VAR};
            int32_t ins[5] = {c};
            for (int k = 0; k < 4; k++)
                ins[1 + k] = sn_ir_param(b.g, nm[k], &(sn_shape){1, {5}}, in[k]);
            double eps = 1e-5;
            c = tl_op(&b, SN_OP_BATCHNORM, ins, 5, NULL, 0, &eps, 1);
            c = tl_op(&b, SN_OP_SILU, &c, 1, NULL, 0, NULL, 0);
        } else {
            c = tl_conv(&b, x, 5, 3, 1, "model.0", 1);
        }
        sn_ir_mark_output(b.g, c);
        tl_fill_params(b.g);
        int64_t nx = 2 * 6 * 9 * 7;
        float *X = malloc((size_t)nx * sizeof *X);
        fill_uniform(X, nx, -2, 2);
        float *before = ref_out(b.g, X);
        int64_t params_before = sn_ir_count_params(b.g);
        sn_pass_options o = opts(0, SN_PASS_LAYOUT_NCHW);
        CHECKF(sn_pass_fold_bn(b.g, &o, err, sizeof err) == SN_OK, "%s", err);
        CHECKF(sn_ir_verify(b.g, "fold-bn", err, sizeof err) == SN_OK, "%s", err);
        CHECK(count_op(b.g, SN_OP_BATCHNORM) == 0);
        const char *path = with_bias ? "model.3.conv" : "model.0.conv";
        char wn[64], bn[64];
        snprintf(wn, sizeof wn, "%s.weight", path);
        snprintf(bn, sizeof bn, "%s.bias", path);
        int32_t w = sn_ir_find_param(b.g, wn), bb = sn_ir_find_param(b.g, bn);
        CHECKF(w >= 0 && bb >= 0, "fused params %s / %s missing", wn, bn);
        CHECK(sn_ir_find_param(b.g, "model.0.bn.weight") < 0);
        /* conv+bn: weight O*C*k*k + 2*O (gamma, beta) -> weight + O (bias) */
        CHECKF(sn_ir_count_params(b.g) == params_before - 5 - (with_bias ? 5 : 0),
               "params %lld -> %lld", (long long)params_before, (long long)sn_ir_count_params(b.g));
        float *after = ref_out(b.g, X);
        int64_t no = sn_shape_numel(&b.g->nodes[b.g->outputs[0]].shape);
        double e = rel_l2f(after, before, no);
        CHECKF(e <= 1e-6, "fold-bn changed the result: rel L2 %g", e);
        free(before);
        free(after);
        free(X);
        sn_ir_graph_free(b.g);
    }
}

static void test_fold_bn_rules(void) {
    tl_b b = {sn_ir_graph_new(), ""};
    int32_t x = sn_ir_input(b.g, "x", &(sn_shape){4, {1, 4, 8, 8}});
    /* a conv used twice is not folded */
    int32_t c = tl_conv_raw(&b, x, 4, 1, 1, 1, 0, "model.1.conv");
    int32_t pp[4];
    for (int k = 0; k < 4; k++) {
        char nm[64];
        snprintf(nm, sizeof nm, "model.1.bn.p%d", k);
        pp[k] = sn_ir_param(b.g, nm, &(sn_shape){1, {4}},
                            k == 3 ? SN_IR_INIT_BN_VAR : SN_IR_INIT_BN_WEIGHT);
    }
    double eps = 1e-3;
    int32_t bn =
        tl_op(&b, SN_OP_BATCHNORM, (int32_t[]){c, pp[0], pp[1], pp[2], pp[3]}, 5, NULL, 0, &eps, 1);
    int32_t s = tl_op(&b, SN_OP_ADD, (int32_t[]){bn, c}, 2, NULL, 0, NULL, 0);
    /* a BN after a non-conv is not folded */
    int32_t r = tl_op(&b, SN_OP_RELU, &s, 1, NULL, 0, NULL, 0);
    int32_t bn2 =
        tl_op(&b, SN_OP_BATCHNORM, (int32_t[]){r, pp[0], pp[1], pp[2], pp[3]}, 5, NULL, 0, &eps, 1);
    sn_ir_mark_output(b.g, bn2);
    sn_pass_options o = opts(0, SN_PASS_LAYOUT_NCHW);
    CHECKF(sn_pass_fold_bn(b.g, &o, err, sizeof err) == SN_OK, "%s", err);
    CHECK(count_op(b.g, SN_OP_BATCHNORM) == 2);
    /* shape-only (no PARAM data): a foldable pair still folds, the new params carry no data */
    tl_b b2 = {sn_ir_graph_new(), ""};
    int32_t x2 = sn_ir_input(b2.g, "x", &(sn_shape){4, {1, 3, 8, 8}});
    sn_ir_mark_output(b2.g, tl_conv(&b2, x2, 8, 3, 2, "model.0", 1));
    CHECKF(sn_pass_fold_bn(b2.g, &o, err, sizeof err) == SN_OK, "%s", err);
    CHECK(count_op(b2.g, SN_OP_BATCHNORM) == 0);
    int32_t w = sn_ir_find_param(b2.g, "model.0.conv.weight");
    CHECK(w >= 0 && b2.g->nodes[w].data == NULL);
    CHECK(sn_ir_count_params(b2.g) == 8 * 3 * 9 + 8);
    /* eager: nothing happens */
    sn_pass_options e = opts(1, SN_PASS_LAYOUT_NCHW);
    tl_b b3 = {sn_ir_graph_new(), ""};
    int32_t x3 = sn_ir_input(b3.g, "x", &(sn_shape){4, {1, 3, 8, 8}});
    sn_ir_mark_output(b3.g, tl_conv(&b3, x3, 8, 3, 2, "model.0", 1));
    CHECKF(sn_pass_fold_bn(b3.g, &e, err, sizeof err) == SN_OK, "%s", err);
    CHECK(count_op(b3.g, SN_OP_BATCHNORM) == 1);
    sn_ir_graph_free(b.g);
    sn_ir_graph_free(b2.g);
    sn_ir_graph_free(b3.g);
}

/* ---------------------------------------------------------------- simplify */

static void test_simplify(void) {
    tl_b b = {sn_ir_graph_new(), ""};
    int32_t x = sn_ir_input(b.g, "x", &(sn_shape){3, {1, 2, 6}});
    int32_t r = tl_reshape(&b, x, 3, (int64_t[]){1, 2, 6}); /* identity */
    int32_t s1 = tl_op(&b, SN_OP_SIGMOID, &r, 1, NULL, 0, NULL, 0);
    int32_t s2 = tl_op(&b, SN_OP_SIGMOID, &x, 1, NULL, 0, NULL, 0); /* = s1 after identity */
    int32_t a1 = tl_op(&b, SN_OP_ADD, (int32_t[]){s1, s2}, 2, NULL, 0, NULL, 0);
    int32_t c2 = sn_ir_scalar(b.g, 2.0), c3 = sn_ir_scalar(b.g, 3.0);
    int32_t c5 = tl_op(&b, SN_OP_ADD, (int32_t[]){c2, c3}, 2, NULL, 0, NULL, 0); /* folds to 5 */
    int32_t m = tl_op(&b, SN_OP_MUL, (int32_t[]){a1, c5}, 2, NULL, 0, NULL, 0);
    int32_t m2 = tl_op(&b, SN_OP_MUL, (int32_t[]){c5, a1}, 2, NULL, 0, NULL, 0); /* = m */
    int64_t aia[5] = {0, 1, 2, 3, 8};
    double off = 0.5;
    int32_t anc = sn_ir_add(b.g, SN_OP_ANCHORS, NULL, 0, aia, 5, &off, 1, NULL, SN_DTYPE_F32, err,
                            sizeof err);
    int32_t y = tl_op(&b, SN_OP_SUB, (int32_t[]){m, m2}, 2, NULL, 0, NULL, 0);
    y = tl_op(&b, SN_OP_ADD, (int32_t[]){y, anc}, 2, NULL, 0, NULL, 0);
    tl_op(&b, SN_OP_EXP, &y, 1, NULL, 0, NULL, 0); /* dead code */
    sn_ir_mark_output(b.g, y);
    float X[12];
    fill_uniform(X, 12, -1, 1);
    float *before = ref_out(b.g, X);
    sn_pass_options o = opts(0, SN_PASS_LAYOUT_NCHW);
    CHECKF(sn_pass_simplify(b.g, &o, err, sizeof err) == SN_OK, "%s", err);
    CHECKF(sn_ir_verify(b.g, "simplify", err, sizeof err) == SN_OK, "%s", err);
    CHECK(count_op(b.g, SN_OP_RESHAPE) == 0);
    CHECK(count_op(b.g, SN_OP_SIGMOID) == 1);
    CHECK(count_op(b.g, SN_OP_MUL) == 1);
    CHECK(count_op(b.g, SN_OP_ANCHORS) == 0);
    CHECK(count_op(b.g, SN_OP_EXP) == 0);
    CHECK(count_op(b.g, SN_OP_CONST) == 2); /* 5 and the anchors */
    float *after = ref_out(b.g, X);
    CHECK(rel_l2f(after, before, 12) == 0);
    free(before);
    free(after);
    sn_ir_graph_free(b.g);
}

/* ---------------------------------------------------------------- fuse / views / layout */

static int group_has(const sn_ir_graph *g, int32_t grp, sn_op op) {
    for (int32_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i].group == grp && g->nodes[i].op == op)
            return 1;
    return 0;
}

static void test_fuse_mini(void) {
    sn_ir_graph *g = tl_mini_yolo(64, 0);
    int ops0 = sn_ir_count_ops(g);
    sn_pass_options o = opts(0, SN_PASS_LAYOUT_NCHW);
    run_upto(g, &o, "fuse");
    tl_check_groups(g, "mini fused: fuse");
    sn_pass_stats st;
    sn_pass_stats_get(g, &st);
    printf("mini yolo: %d compute ops before, %d after simplify, %d groups after fuse\n", ops0,
           sn_ir_count_ops(g), st.groups);
    CHECKF(2 * st.groups < ops0, "%d groups for %d ops", st.groups, ops0);
    /* every conv shares its group with the op that reads it when that op is pointwise */
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->op == SN_OP_SILU)
            CHECKF(g->nodes[n->in[0]].group == n->group, "silu %%%d not fused with its conv",
                   (int)i);
        if (n->op == SN_OP_ADD && n->shape.ndim == 4 && g->nodes[n->in[1]].op == SN_OP_SILU)
            CHECKF(g->nodes[n->in[1]].group == n->group, "residual add %%%d not fused", (int)i);
        if (n->op == SN_OP_SOFTMAX)
            CHECK(!group_has(g, n->group, SN_OP_MUL) || n->shape.ndim == 4);
        if (n->op == SN_OP_DIV) {
            /* the decode: sub/add/div/concat/mul in one group */
            CHECK(group_has(g, n->group, SN_OP_SUB) && group_has(g, n->group, SN_OP_CONCAT) &&
                  group_has(g, n->group, SN_OP_MUL) && group_has(g, n->group, SN_OP_ADD));
        }
        if (n->op == SN_OP_MATMUL && g->nodes[i + 1].op == SN_OP_MUL)
            CHECK(g->nodes[i + 1].group == n->group); /* attention scale as matmul epilogue */
    }
    sn_ir_graph_free(g);

    /* eager: one group per compute op */
    g = tl_mini_yolo(64, 0);
    sn_pass_options e = opts(1, SN_PASS_LAYOUT_NCHW);
    run_upto(g, &e, "fuse");
    int groups = 0, views = 0;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->group >= 0)
            groups++;
        if (n->op == SN_OP_SLICE || n->op == SN_OP_PERMUTE || n->op == SN_OP_RESHAPE)
            views++;
    }
    sn_pass_stats_get(g, &st);
    CHECKF(st.groups == groups && groups == sn_ir_count_ops(g) - views, "eager: %d groups, %d ops",
           st.groups, sn_ir_count_ops(g));
    CHECK(count_op(g, SN_OP_BATCHNORM) > 0);
    sn_ir_graph_free(g);
}

static void test_views_mini(void) {
    sn_ir_graph *g = tl_mini_yolo(64, 0);
    sn_pass_options o = opts(0, SN_PASS_LAYOUT_NCHW);
    run_upto(g, &o, "views");
    tl_check_groups(g, "mini fused: views");
    int inplace = 0, copies = 0;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->op != SN_OP_CONCAT)
            continue;
        if (n->group < 0)
            inplace++;
        else if (!group_has(g, n->group, SN_OP_MUL))
            copies++;
    }
    /* mini yolo: 4 C2f + SPPF + 2 neck + 2 Detect levels + Detect flat + output = 11 in place;
     * the decode's concat is fused into its group */
    CHECKF(inplace == 11 && copies == 0, "%d concats in place, %d copies", inplace, copies);
    /* C2f: cv1's output sits at the start of the concat buffer; its slices are views there */
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->op != SN_OP_CONCAT || n->group >= 0)
            continue;
        const sn_ir_node *a = &g->nodes[n->in[0]];
        if (a->op == SN_OP_SLICE) {
            const sn_ir_node *y = &g->nodes[a->in[0]];
            CHECK(y->offset == n->offset && y->stride[1] == n->stride[1]);
        }
    }
    sn_ir_graph_free(g);
}

static void test_layout_nhwc(void) {
    sn_ir_graph *g = tl_mini_yolo(64, 0);
    sn_pass_options o = opts(0, SN_PASS_LAYOUT_NHWC);
    run_upto(g, &o, "layout");
    int nhwc = 0, nchw4 = 0;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->op != SN_OP_CONV2D || n->shape.ndim != 4 || n->shape.d[1] == 1)
            continue;
        /* the conv itself is internal when fused with silu: look at its group's root */
        int32_t r = i;
        while (r + 1 < g->nnodes && g->nodes[r + 1].group == n->group)
            r++;
        const sn_ir_node *rn = &g->nodes[r];
        if (rn->shape.ndim != 4)
            continue;
        if (rn->stride[1] == 1 || rn->shape.d[1] == 1)
            nhwc++;
        else
            nchw4++;
    }
    printf("mini yolo NHWC: %d conv groups channels-innermost, %d not\n", nhwc, nchw4);
    CHECK(nhwc > 20);
    const sn_ir_node *in = &g->nodes[g->inputs[0]];
    CHECK(in->stride[3] == 1 && in->stride[2] == in->shape.d[3]);
    const sn_ir_node *out = &g->nodes[g->outputs[0]];
    CHECK(out->stride[2] == 1);
    sn_ir_graph_free(g);
}

/* ---------------------------------------------------------------- whole pipeline */

static void test_pipeline(int eager, sn_pass_layout layout, int inplace, const char *what) {
    sn_ir_graph *g = tl_mini_yolo(64, 1);
    sn_ir_graph *g0 = sn_ir_graph_clone(g);
    sn_pass_options o = opts(eager, layout);
    o.concat_in_place = inplace;
    CHECKF(sn_pass_run_all(g, &o, err, sizeof err) == SN_OK, "%s: %s", what, err);
    tl_check_groups(g, what);
    tl_check_memory(g, what);
    tl_check_sim(g, what);
    sn_pass_stats st;
    sn_pass_stats_get(g, &st);
    printf("mini yolo %-18s groups %3d views %2d inplace %2d peak %7lld naive %7lld\n", what,
           st.groups, st.views, st.inplace_concats, (long long)st.peak_bytes,
           (long long)st.naive_bytes);
    CHECK(st.peak_bytes < st.naive_bytes);
    /* same numbers as the graph before the passes */
    int64_t nx = 3 * 64 * 64;
    float *X = malloc((size_t)nx * sizeof *X);
    fill_uniform(X, nx, 0, 1);
    float *a = ref_out(g0, X), *b = ref_out(g, X);
    double e = rel_l2f(b, a, sn_shape_numel(&g->nodes[g->outputs[0]].shape));
    CHECKF(e <= 1e-5, "%s: the pipeline changed the result: rel L2 %g", what, e);
    free(a);
    free(b);
    free(X);
    /* the whole pipeline again changes nothing */
    char *d1 = tl_dump(g);
    CHECKF(sn_pass_run_all(g, &o, err, sizeof err) == SN_OK, "%s: %s", what, err);
    char *d2 = tl_dump(g);
    CHECKF(strcmp(d1, d2) == 0, "%s: pipeline twice differs from once", what);
    free(d1);
    free(d2);
    sn_ir_graph_free(g);
    sn_ir_graph_free(g0);
}

static void test_idempotent(int eager, sn_pass_layout layout) {
    sn_ir_graph *g = tl_mini_yolo(64, 1);
    sn_pass_options o = opts(eager, layout);
    int n;
    const sn_pass_info *ps = sn_pass_list(&n);
    for (int i = 0; i < n; i++) {
        CHECKF(sn_pass_run(g, &ps[i], &o, err, sizeof err) == SN_OK, "%s", err);
        char *d1 = tl_dump(g);
        CHECKF(sn_pass_run(g, &ps[i], &o, err, sizeof err) == SN_OK, "%s", err);
        char *d2 = tl_dump(g);
        CHECKF(strcmp(d1, d2) == 0, "pass %s (eager %d, layout %d) is not idempotent", ps[i].name,
               eager, (int)layout);
        free(d1);
        free(d2);
    }
    sn_ir_graph_free(g);
}

/* the checkers themselves catch broken plans */
static void test_checkers_catch(void) {
    sn_ir_graph *g = tl_mini_yolo(64, 1);
    sn_pass_options o = opts(0, SN_PASS_LAYOUT_NHWC);
    CHECKF(sn_pass_run_all(g, &o, err, sizeof err) == SN_OK, "%s", err);
    int start = check_failures, before = check_failures;
    fprintf(stderr, "-- expected checker failures follow --\n");
    sn_ir_graph *bad = sn_ir_graph_clone(g);
    for (int32_t b = 0; b < bad->nbufs; b++)
        bad->bufs[b].arena_offset = 0; /* all overlap */
    tl_check_memory(bad, "corrupt offsets");
    int mem_caught = check_failures > before;
    before = check_failures;
    tl_check_sim(bad, "corrupt offsets");
    int sim_caught = check_failures > before;
    sn_ir_graph_free(bad);
    bad = sn_ir_graph_clone(g);
    for (int32_t i = 0; i < bad->nnodes; i++) /* a view with a wrong stride */
        if (bad->nodes[i].op == SN_OP_SLICE && bad->nodes[i].shape.d[1] > 1) {
            bad->nodes[i].stride[1] += 1;
            break;
        }
    before = check_failures;
    tl_check_sim(bad, "corrupt view");
    int view_caught = check_failures > before;
    sn_ir_graph_free(bad);
    bad = sn_ir_graph_clone(g);
    for (int32_t i = 0; i < bad->nnodes; i++) /* a member that escapes its group */
        if (bad->nodes[i].op == SN_OP_SILU && bad->nodes[i].group == bad->nodes[i - 1].group) {
            bad->nodes[i - 1].group = bad->nodes[i].group + 1;
            break;
        }
    before = check_failures;
    tl_check_groups(bad, "corrupt groups");
    int groups_caught = check_failures > before;
    sn_ir_graph_free(bad);
    fprintf(stderr, "-- end of expected failures --\n");
    check_failures = start;
    CHECKF(mem_caught && sim_caught && view_caught && groups_caught,
           "caught: memory %d sim %d view %d groups %d", mem_caught, sim_caught, view_caught,
           groups_caught);
    sn_ir_graph_free(g);
}

/* --dump: NN-<pass>.ir files that parse back */
static void test_dump_dir(void) {
    char dir[] = "/tmp/sn_passes_dumpXXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    sn_ir_graph *g = tl_mini_yolo(64, 0);
    sn_pass_options o = opts(0, SN_PASS_LAYOUT_NCHW);
    o.dump_dir = dir;
    CHECKF(sn_pass_run_all(g, &o, err, sizeof err) == SN_OK, "%s", err);
    int n;
    const sn_pass_info *ps = sn_pass_list(&n);
    for (int i = 0; i <= n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%02d-%s.ir", dir, i, i ? ps[i - 1].name : "input");
        char *text = read_file(path, NULL);
        CHECKF(text != NULL, "missing %s", path);
        if (!text)
            continue;
        sn_ir_graph *back = sn_ir_parse(text, path, err, sizeof err);
        CHECKF(back != NULL, "%s", err);
        if (back && i == n) {
            CHECK(back->nnodes == g->nnodes);
            for (int32_t k = 0; k < g->nnodes && k < back->nnodes; k++)
                CHECK(back->nodes[k].group == g->nodes[k].group &&
                      back->nodes[k].buf == g->nodes[k].buf &&
                      back->nodes[k].offset == g->nodes[k].offset);
        }
        sn_ir_graph_free(back);
        free(text);
        remove(path);
    }
    remove(dir);
    sn_ir_graph_free(g);
}

int main(void) {
    rnd_seed(42);
    test_fold_bn_numerics();
    test_fold_bn_rules();
    test_simplify();
    test_fuse_mini();
    test_views_mini();
    test_layout_nhwc();
    test_pipeline(0, SN_PASS_LAYOUT_NCHW, 1, "fused");
    test_pipeline(0, SN_PASS_LAYOUT_NHWC, 1, "fused nhwc");
    test_pipeline(0, SN_PASS_LAYOUT_NCHW, 0, "fused no-inplace");
    test_pipeline(1, SN_PASS_LAYOUT_NCHW, 0, "eager");
    test_pipeline(1, SN_PASS_LAYOUT_NHWC, 1, "eager nhwc inplace");
    test_idempotent(0, SN_PASS_LAYOUT_NCHW);
    test_idempotent(0, SN_PASS_LAYOUT_NHWC);
    test_idempotent(1, SN_PASS_LAYOUT_NCHW);
    test_checkers_catch();
    test_dump_dir();
    return check_report("test_passes_unit");
}
