/* tests/lang/test_lang_features.c — language semantics on small models written inline:
 * scalar arithmetic (Python rules: //, %, round half-even), lists, strings, conditionals,
 * loops, destructuring, functions, scale rules (ch, rep, the nc quirk), module naming with
 * `as`, tensor built-ins and their IR ops, provenance, and several errors in one run. */
#include "check.h"

#define HEAD                                                                                       \
    "fn sq(x) = x * x\nfn fact(n) = n <= 1 ? 1 : n * fact(n - 1)\nfn pick(a, b = 10) = a + b\n"

static const char *scalars =
    HEAD "block Flow(x, k = 3) {\n"
         "    total = 0\n"
         "    for v in [1, 2, 3, 4] {\n"
         "        if v % 2 == 0 { total = total + v } else if v == 3 { total = total + 100 } else "
         "{ total = total - 1 }\n"
         "    }\n"
         "    a, b = [total, k]\n"
         "    assert(a == 105 and b == 3, \"loop / if / destructuring\")\n"
         "    return x\n"
         "}\n"
         "model m {\n"
         "    nc = 80\n"
         "    t01 = assert(round(2.5) == 2 and round(3.5) == 4 and round(-0.5) == 0 and round(0.5) "
         "== 0, \"round\")\n"
         "    t02 = assert(7 // 2 == 3 and -7 // 2 == -4 and 7 // -2 == -4, \"floordiv\")\n"
         "    t03 = assert(-7 % 3 == 2 and 7 % -3 == -2 and 7 % 3 == 1, \"mod\")\n"
         "    t04 = assert(2 ** 10 == 1024 and 2 ** -1 == 0.5 and (-2) ** 3 == -8 and -2 ** 2 == "
         "-4, \"pow\")\n"
         "    t05 = assert(1 / 4 == 0.25 and 7.5 // 2 == 3.0 and 7.5 % 2 == 1.5, \"float ops\")\n"
         "    t06 = assert(int(2.9) == 2 and int(-2.9) == -2 and ceil(2.1) == 3 and floor(-2.1) == "
         "-3, \"int ceil floor\")\n"
         "    t07 = assert(min(3, 1, 2) == 1 and max([4, 9, 2]) == 9 and max(1, 2.5) == 2.5 and "
         "abs(-3) == 3, \"min max abs\")\n"
         "    t08 = assert(len([1, 2, 3]) == 3 and [1, 2] + [3] == [1, 2, 3] and [0] * 3 == [0, 0, "
         "0], \"lists\")\n"
         "    t09 = assert([1, 2, 3][-1] == 3 and [1, [2, 3]][1][0] == 2, \"indexing\")\n"
         "    t10 = assert(\"m\" in [\"m\", \"l\"] and \"s\" not in [\"m\"] and 3 not in [1, 2] "
         "and \"ab\" + \"c\" == \"abc\", \"in / strings\")\n"
         "    t11 = assert(gcd(12, 18) == 6 and make_divisible(64 * 0.25, 8) == 16 and "
         "make_divisible(20, 8) == 24, \"gcd / make_divisible\")\n"
         "    t12 = assert(range(3) == [0, 1, 2] and range(1, 7, 2) == [1, 3, 5] and range(3, 0, "
         "-1) == [3, 2, 1] and range(0) == [], \"range\")\n"
         "    t13 = assert(sq(3) == 9 and fact(5) == 120 and pick(1) == 11 and pick(1, b = 2) == "
         "3, \"functions\")\n"
         "    t14 = assert((true ? 1 : 2) == 1 and (false ? 1 : 2) == 2 and not false and (false "
         "or true), \"conditionals\")\n"
         "    t15 = assert(1 == 1.0 and none == none and none != 0 and float(3) == 3.0 and 2 < 2.5 "
         "and \"a\" < \"b\", \"equality\")\n"
         "    t16 = assert(false and 1 / 0 == 0 or true, \"short circuit\")\n"
         "    t17 = assert(scale == \"\" and depth == 1.0 and width == 1.0 and max_channels == "
         "none, \"no scales table\")\n"
         "    layers {\n"
         "        0: -1 1 Flow()\n"
         "    }\n"
         "}\n";

static void test_scalars(void) {
    sn_fe_model *m = NULL;
    char diag[8192];
    sn_status s = load_text(scalars, &m, diag, sizeof diag);
    CHECKF(s == SN_OK, "%s", diag);
    sn_fe_model_free(m);
}

/* The scale rules: ch → make_divisible(min(c2, max_channels) * width, 8) unless c2 == nc;
 * rep → max(rint(n * depth), 1) when n > 1. */
static const char *scaled = "block R(x, c2: ch, n: rep = 1) {\n"
                            "    return conv2d(x, n, 1) as a\n" /* weight [n, 3, 1, 1] records n */
                            "}\n"
                            "block Wide(x, c2: ch) {\n"
                            "    return conv2d(x, c2, 1) as b\n"
                            "}\n"
                            "model m {\n"
                            "    nc = 64\n"
                            "    scales {\n"
                            "        t = [0.5, 0.3, 96]\n"
                            "    }\n"
                            "    layers {\n"
                            "        0: -1 3 R(8)\n"     /* rint(1.5) = 2 */
                            "        1: 0 5 R(8)\n"      /* rint(2.5) = 2 (half to even) */
                            "        2: 0 7 R(8)\n"      /* rint(3.5) = 4 */
                            "        3: 0 1 R(8)\n"      /* 1 stays 1 */
                            "        4: 0 2 R(8)\n"      /* rint(1.0) = 1 */
                            "        5: 0 1 Wide(64)\n"  /* == nc: not scaled */
                            "        6: 0 1 Wide(200)\n" /* min(200, 96) * 0.3 = 28.8 → 32 */
                            "        7: 0 1 Wide(10)\n"  /* 3 → 8 */
                            "        8: [5, 6, 7] 1 concat(1)\n"
                            "    }\n"
                            "}\n";

static int64_t wdim(const sn_fe_model *m, const char *name, int d) {
    int32_t p = sn_ir_find_param(m->graph, name);
    return p < 0 ? -1 : m->graph->nodes[p].shape.d[d];
}

static void test_scale_rules(void) {
    sn_fe_model *m = NULL;
    char diag[8192];
    sn_status s = load_text(scaled, &m, diag, sizeof diag);
    CHECKF(s == SN_OK, "%s", diag);
    if (!m)
        return;
    CHECK(strcmp(m->scale, "t") == 0 && strcmp(m->name, "mt") == 0);
    CHECK(wdim(m, "model.0.a.weight", 0) == 2);
    CHECK(wdim(m, "model.1.a.weight", 0) == 2);
    CHECK(wdim(m, "model.2.a.weight", 0) == 4);
    CHECK(wdim(m, "model.3.a.weight", 0) == 1);
    CHECK(wdim(m, "model.4.a.weight", 0) == 1);
    CHECK(wdim(m, "model.5.b.weight", 0) == 64);
    CHECK(wdim(m, "model.6.b.weight", 0) == 32);
    CHECK(wdim(m, "model.7.b.weight", 0) == 8);
    CHECK(m->layers[0].repeats == 2 && m->layers[1].repeats == 2 && m->layers[2].repeats == 4);
    CHECKF(strcmp(m->layers[0].args, "[3, 8, 2]") == 0, "%s", m->layers[0].args);
    CHECKF(strcmp(m->layers[6].args, "[2, 32]") == 0, "%s", m->layers[6].args);
    const sn_shape *o = &m->graph->nodes[m->graph->outputs[0]].shape;
    CHECK(o->ndim == 4 && o->d[1] == 64 + 32 + 8);
    sn_fe_model_free(m);
}

/* `as` paths, transparent calls, tensor built-ins → IR ops, provenance. */
static const char *tensors =
    "block Leaf(x) {\n"
    "    return conv2d(x, 4, 1, bias = false) as conv\n"
    "}\n"
    "block Inner(x) {\n"
    "    y = Leaf(x)\n" /* no `as`: parameters at Inner's own path */
    "    return Leaf(y) as deep[1].leaf\n"
    "}\n"
    "block Ops(x) {\n"
    "    a = Inner(x) as blk\n" /* [1, 4, 64, 64] */
    "    p, q = chunk(a, 2, 1)\n"
    "    b = concat([p, q, slice(a, 1, 0, 2)], 1)\n"       /* 2 + 2 + 2 = 6 channels */
    "    c = permute(reshape(b, [1, 6, -1]), [0, 2, 1])\n" /* [1, 4096, 6] */
    "    d = transpose(c, 1, 2)\n"                         /* [1, 6, 4096] */
    "    e = softmax(d, -1) * 2 - 1\n"
    "    f = 2 - e\n"
    /* g: [1, 6, 64, 64] */
    "    g = maxpool2d(upsample(reshape(f, [1, 6, 64, 64]), none, 2, \"nearest\"), 3, 2, 1)\n"
    "    h = matmul(reshape(g, [6, 64, 64]), reshape(g, [6, 64, 64]))\n"
    "    return relu(-sum(reshape(h, [1, 6, 64, 64]), 1) + sigmoid(g) / sqrt(exp(g)))\n"
    "}\n"
    "model m {\n"
    "    nc = 80\n"
    "    layers {\n"
    "        0: -1 1 Ops()\n"
    "    }\n"
    "}\n";

static void test_tensors(void) {
    sn_fe_model *m = NULL;
    char diag[8192];
    sn_status s = load_text(tensors, &m, diag, sizeof diag);
    CHECKF(s == SN_OK, "%s", diag);
    if (!m)
        return;
    const sn_ir_graph *g = m->graph;
    CHECK(sn_ir_find_param(g, "model.0.blk.conv.weight") >= 0);
    CHECK(sn_ir_find_param(g, "model.0.blk.deep.1.leaf.conv.weight") >= 0);
    CHECK(sn_ir_find_param(g, "model.0.blk.conv.bias") < 0);
    const sn_shape *o = &g->nodes[g->outputs[0]].shape;
    char buf[64];
    CHECKF(o->ndim == 4 && o->d[0] == 1 && o->d[1] == 6 && o->d[2] == 64 && o->d[3] == 64, "%s",
           sn_shape_str(o, buf, sizeof buf));
    CHECK(count_op(g, SN_OP_SLICE) == 3);
    CHECK(count_op(g, SN_OP_CONCAT) == 1);
    CHECK(count_op(g, SN_OP_PERMUTE) == 2);
    CHECK(count_op(g, SN_OP_SOFTMAX) == 1 && count_op(g, SN_OP_MATMUL) == 1);
    CHECK(count_op(g, SN_OP_UPSAMPLE) == 1 && count_op(g, SN_OP_MAXPOOL2D) == 1);
    CHECK(count_op(g, SN_OP_NEG) == 1 && count_op(g, SN_OP_REDUCE_SUM) == 1 &&
          count_op(g, SN_OP_RELU) == 1);
    CHECK(count_op(g, SN_OP_CONST) == 3); /* 2, 1, 2 */
    /* 2 - e: SUB(const, e) keeps the operand order */
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->op == SN_OP_SUB && g->nodes[n->in[0]].op == SN_OP_CONST)
            CHECK(g->nodes[n->in[0]].fa[0] == 2.0);
        CHECKF(n->src != 0, "node %d has no provenance", i);
        if (n->op == SN_OP_CONV2D) {
            const char *src = sn_ir_str_get(g, n->src);
            CHECKF(strstr(src, ".sn:23:9"), "provenance %s", src); /* the layer line */
        }
    }
    char err[512];
    CHECKF(sn_ir_verify(g, "frontend", err, sizeof err) == SN_OK, "%s", err);
    sn_fe_model_free(m);
}

/* Two broken layers: both are reported in one run; a layer that uses a broken one is not. */
static const char *two_errors =
    "block Bad(x, k = 2) {\n"
    "    return conv2d(x, 8, k, 1, 0, 3)\n" /* 8 output channels in 3 groups */
    "}\n"
    "model m {\n"
    "    nc = 80\n"
    "    layers {\n"
    "        0: -1 1 relu()\n"
    "        1: -1 1 Bad()\n"
    "        2: 0 1 Bad()\n"
    "        3: [0, 0] 1 concat(5)\n"
    "        4: [-1, 1] 1 concat(1)\n" /* uses broken layers: skipped quietly */
    "    }\n"
    "}\n";

static void test_many_errors(void) {
    sn_fe_model *m = NULL;
    char diag[8192];
    sn_status s = load_text(two_errors, &m, diag, sizeof diag);
    CHECK(s == SN_ERR_INVALID && m == NULL);
    int errors = 0;
    for (const char *p = diag; (p = strstr(p, "error:")); p += 6)
        errors++;
    CHECKF(errors == 3, "%d errors:\n%s", errors, diag);
    CHECKF(strstr(diag, ":2:34: error: groups 3 do not divide the 8 output channels"), "%s", diag);
    CHECKF(strstr(diag, ":8:17: note: in block 'Bad' (model.1), called here"), "%s", diag);
    CHECKF(strstr(diag, ":9:16: note: in block 'Bad' (model.2), called here"), "%s", diag);
    CHECKF(strstr(diag, ":10:28: error: value 5 is out of range [-4, 3]"), "%s", diag);
}

/* Arbitrary bytes in a file: an error, never a crash (the fuzz target does this at scale). */
static void test_garbage(void) {
    static const char *inputs[] = {
        "",
        "\n\n\n",
        "model",
        "model m {",
        "model m { layers {",
        "model m { layers { 0: -1 1 relu() } }",
        "block",
        "block B(",
        "block B(x) {",
        "block B(x) { return }",
        "fn f(",
        "fn f(x) =",
        "use",
        "use \"/dev/zero\"",
        "use \"/\"",
        "use \"\"",
        "\xff\xfe\x00\x01",
        "}}}}",
        "((((((",
        "[[[[[[",
        "model m { nc = 1 layers { 0: -1 1 relu() } }",
        "model m {\n nc = [[[[[[[[[[1]]]]]]]]]]\n layers {\n 0: -1 1 relu()\n }\n}",
        "model m {\n nc = 1\n layers {\n 0: -1 1 relu(\n }\n}",
        "model m {\n nc = 1\n layers {\n 0: -1 1 upsample(none, 64, \"nearest\")\n }\n}",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        sn_fe_model *m = NULL;
        char diag[8192];
        sn_status s = load_text(inputs[i], &m, diag, sizeof diag);
        if (s == SN_OK) {
            CHECKF(m && m->graph, "input %zu", i);
            sn_fe_model_free(m);
        } else {
            CHECKF(m == NULL, "input %zu", i);
            CHECKF(strstr(diag, "error"), "input %zu: no diagnostic", i);
        }
    }
}

int main(void) {
    test_scalars();
    test_scale_rules();
    test_tensors();
    test_many_errors();
    test_garbage();
    return check_report("test_lang_features");
}
