/* tests/ir/test_ir_text.c — printer and parser: print → parse → print is byte-identical, the
 * parsed graph equals the original, and parse errors carry name:line:col. */
#include "tests/common/check_ir.h"

#include <math.h>
#include <stdlib.h>

static char err[512];

static int32_t add(sn_ir_graph *g, sn_op op, const int32_t *in, int nin, const int64_t *ia, int nia,
                   const double *fa, int nfa) {
    int32_t n = sn_ir_add(g, op, in, nin, ia, nia, fa, nfa, NULL, SN_DTYPE_F32, err, sizeof err);
    CHECKF(n >= 0, "%s", err);
    return n;
}

static char *print_str(const sn_ir_graph *g) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sn_ir_print(g, f);
    fclose(f);
    return buf;
}

/* conv/bn/silu/concat/slice/reshape/permute/matmul/softmax/anchors and friends */
static sn_ir_graph *build(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = sn_ir_input(g, "images", &(sn_shape){4, {1, 3, 16, 16}});
    int32_t w =
        sn_ir_param(g, "model.0.conv.weight", &(sn_shape){4, {8, 3, 3, 3}}, SN_IR_INIT_CONV_WEIGHT);
    int32_t c =
        add(g, SN_OP_CONV2D, (int32_t[]){x, w}, 2, (int64_t[]){2, 2, 1, 1, 1, 1, 1}, 7, NULL, 0);
    sn_ir_set_name(g, c, "model.0.conv");
    sn_ir_set_src(g, c, "models/yolov8.sn:12:5");
    int32_t bp[4];
    const char *bn_names[4] = {"model.0.bn.weight", "model.0.bn.bias", "model.0.bn.running_mean",
                               "model.0.bn.running_var"};
    for (int i = 0; i < 4; i++)
        bp[i] = sn_ir_param(g, bn_names[i], &(sn_shape){1, {8}},
                            (sn_ir_init)(SN_IR_INIT_BN_WEIGHT + i));
    double eps = 0.001;
    int32_t bn =
        add(g, SN_OP_BATCHNORM, (int32_t[]){c, bp[0], bp[1], bp[2], bp[3]}, 5, NULL, 0, &eps, 1);
    int32_t s = add(g, SN_OP_SILU, &bn, 1, NULL, 0, NULL, 0);
    sn_ir_set_src(g, s, "weird \"quoted\" \\ path\twith\ttabs\nand\x01 control, ünïcode");
    int32_t cat = add(g, SN_OP_CONCAT, (int32_t[]){s, bn}, 2, (int64_t[]){1}, 1, NULL, 0);
    int32_t sl = add(g, SN_OP_SLICE, &cat, 1, (int64_t[]){1, 1, 16, 3}, 4, NULL, 0);
    int32_t rs = add(g, SN_OP_RESHAPE, &sl, 1, (int64_t[]){1, 5, -1}, 3, NULL, 0);
    int32_t pm = add(g, SN_OP_PERMUTE, &rs, 1, (int64_t[]){0, 2, 1}, 3, NULL, 0); /* [1,64,5] */
    int32_t mm = add(g, SN_OP_MATMUL, (int32_t[]){rs, pm}, 2, NULL, 0, NULL, 0);  /* [1,5,5] */
    int32_t sm = add(g, SN_OP_SOFTMAX, &mm, 1, (int64_t[]){2}, 1, NULL, 0);
    int32_t k = sn_ir_add(g, SN_OP_CONST, NULL, 0, NULL, 0, (double[]){0.1}, 1, &(sn_shape){1, {5}},
                          SN_DTYPE_F32, err, sizeof err);
    float *kd = g->nodes[k].data;
    kd[1] = 1.0f / 3.0f;
    kd[2] = -1e-30f;
    kd[3] = INFINITY;
    int32_t big = sn_ir_add(g, SN_OP_CONST, NULL, 0, NULL, 0, (double[]){1.0 / 3.0}, 1,
                            &(sn_shape){2, {2, 1}}, SN_DTYPE_F32, err, sizeof err);
    int32_t half = sn_ir_scalar(g, 0.5);
    int32_t m = add(g, SN_OP_MUL, (int32_t[]){sm, k}, 2, NULL, 0, NULL, 0);
    int32_t p = add(g, SN_OP_POW, (int32_t[]){m, half}, 2, NULL, 0, NULL, 0);
    int32_t h = add(g, SN_OP_CAST, &p, 1, (int64_t[]){SN_DTYPE_BF16}, 1, NULL, 0);
    int32_t rsum = add(g, SN_OP_REDUCE_SUM, &h, 1, (int64_t[]){1}, 1, NULL, 0);
    int32_t up = add(g, SN_OP_UPSAMPLE, &s, 1, (int64_t[]){2, 2}, 2, NULL, 0);
    int32_t mp = add(g, SN_OP_MAXPOOL2D, &up, 1, (int64_t[]){5, 1, 2}, 3, NULL, 0);
    g->nodes[mp].flags |= SN_IR_NODE_DEAD;
    g->nodes[mp].group = 7;
    int32_t dfl = sn_ir_param(g, "model.22.dfl.conv.weight", &(sn_shape){4, {1, 16, 1, 1}},
                              SN_IR_INIT_ARANGE);
    g->nodes[dfl].flags |= SN_IR_NODE_FROZEN;
    g->nodes[s].group = 3;
    double off = 0.5;
    int32_t an = add(g, SN_OP_ANCHORS, NULL, 0, (int64_t[]){0, 2, 8, 8, 8, 4, 4, 16}, 8, &off, 1);
    int32_t st = add(g, SN_OP_ANCHORS, NULL, 0, (int64_t[]){1, 2, 8, 8, 8, 4, 4, 16}, 8, &off, 1);
    for (int op = SN_OP_SIGMOID; op <= SN_OP_RECIP; op++)
        add(g, (sn_op)op, &an, 1, NULL, 0, NULL, 0);
    int32_t sub = add(g, SN_OP_SUB, (int32_t[]){an, st}, 2, NULL, 0, NULL, 0);
    int32_t dv = add(g, SN_OP_DIV, (int32_t[]){sub, big}, 2, NULL, 0, NULL, 0);
    (void)dv;
    int32_t mx = add(g, SN_OP_MAX2, (int32_t[]){an, st}, 2, NULL, 0, NULL, 0);
    int32_t ad = add(g, SN_OP_ADD, (int32_t[]){mx, half}, 2, NULL, 0, NULL, 0);
    sn_ir_mark_output(g, rsum);
    sn_ir_mark_output(g, ad);
    sn_ir_mark_output(g, rsum);
    /* annotations from passes: a storage plan, a view with its own strides */
    g->nodes[up].buf = 1;
    g->nodes[up].offset = 2048;
    int64_t strides[4] = {4096, 256, 16, 1};
    memcpy(g->nodes[up].stride, strides, sizeof strides);
    g->nodes[s].buf = 0;
    g->bufs = calloc(2, sizeof *g->bufs);
    g->nbufs = 2;
    g->bufs[0] = (sn_ir_buf){SN_IR_BUF_ARENA, 0, SN_DTYPE_F32, 512, 0};
    g->bufs[1] = (sn_ir_buf){SN_IR_BUF_CONST, w, SN_DTYPE_F16, 216, 0};
    g->arena_bytes = 4096;
    return g;
}

static void check_equal(const sn_ir_graph *a, const sn_ir_graph *b) {
    CHECK(a->nnodes == b->nnodes && a->ninputs == b->ninputs && a->noutputs == b->noutputs);
    CHECK(a->nbufs == b->nbufs && a->arena_bytes == b->arena_bytes);
    for (int32_t k = 0; k < a->nbufs && a->nbufs == b->nbufs; k++)
        CHECKF(a->bufs[k].kind == b->bufs[k].kind && a->bufs[k].index == b->bufs[k].index &&
                   a->bufs[k].dtype == b->bufs[k].dtype && a->bufs[k].elems == b->bufs[k].elems &&
                   a->bufs[k].arena_offset == b->bufs[k].arena_offset,
               "buf %d", (int)k);
    if (a->nnodes != b->nnodes)
        return;
    for (int32_t k = 0; k < a->ninputs && k < b->ninputs; k++)
        CHECK(a->inputs[k] == b->inputs[k]);
    for (int32_t k = 0; k < a->noutputs && k < b->noutputs; k++)
        CHECK(a->outputs[k] == b->outputs[k]);
    for (int32_t i = 0; i < a->nnodes; i++) {
        const sn_ir_node *x = &a->nodes[i], *y = &b->nodes[i];
        CHECKF(x->op == y->op && x->dtype == y->dtype && sn_shape_eq(&x->shape, &y->shape) &&
                   x->flags == y->flags && x->nin == y->nin && x->nia == y->nia &&
                   x->group == y->group,
               "node %d differs", (int)i);
        for (int j = 0; j < x->nin && j < y->nin; j++)
            CHECK(x->in[j] == y->in[j]);
        for (int j = 0; j < x->nia && x->nia == y->nia; j++)
            CHECK(x->ia[j] == y->ia[j]);
        CHECKF(memcmp(x->fa, y->fa, sizeof x->fa) == 0, "node %d fa", (int)i);
        CHECKF(x->buf == y->buf && x->offset == y->offset &&
                   memcmp(x->stride, y->stride, sizeof x->stride) == 0,
               "node %d annotations", (int)i);
        CHECK(strcmp(sn_ir_str_get(a, x->name), sn_ir_str_get(b, y->name)) == 0);
        CHECK(strcmp(sn_ir_str_get(a, x->src), sn_ir_str_get(b, y->src)) == 0);
        if (x->op == SN_OP_CONST) {
            CHECK(x->data && y->data);
            if (x->data && y->data)
                CHECKF(memcmp(x->data, y->data,
                              (size_t)sn_shape_numel(&x->shape) * sizeof(float)) == 0,
                       "const %d data", (int)i);
        }
    }
}

static void test_roundtrip(void) {
    sn_ir_graph *g = build();
    CHECKF(sn_ir_verify(g, "build", err, sizeof err) == SN_OK, "%s", err);
    char *t1 = print_str(g);
    sn_ir_graph *g2 = sn_ir_parse(t1, "roundtrip.ir", err, sizeof err);
    CHECKF(g2 != NULL, "%s\n%s", err, t1);
    if (!g2) {
        free(t1);
        sn_ir_graph_free(g);
        return;
    }
    char *t2 = print_str(g2);
    CHECKF(strcmp(t1, t2) == 0, "print/parse/print differs:\n--- first\n%s--- second\n%s", t1, t2);
    check_equal(g, g2);
    CHECKF(sn_ir_verify(g2, "parse", err, sizeof err) == SN_OK, "%s", err);
    sn_ir_graph *g3 = sn_ir_graph_clone(g2); /* clone keeps everything, plan included */
    CHECK(g3 != NULL);
    if (g3) {
        check_equal(g2, g3);
        sn_ir_graph_free(g3);
    }
    CHECKF(has_substr(t1, "= upsample(%8) {scale_h=2, scale_w=2} buf=1 offset=2048 "
                          "stride=[4096,256,16,1]\n"),
           "%s", t1);
    CHECKF(has_substr(t1, "\nbuf 0 = arena f32 elems=512 index=0 at=0\nbuf 1 = const f16 "
                          "elems=216 index=1 at=0\narena_bytes 4096\noutputs "),
           "%s", t1);
    /* spot-check the format */
    CHECKF(has_substr(t1, "%2:f32[1,8,8,8] = conv2d(%0, %1) {stride_h=2, stride_w=2, pad_h=1, "
                          "pad_w=1, dil_h=1, dil_w=1, groups=1} \"model.0.conv\" "
                          "@\"models/yolov8.sn:12:5\"\n"),
           "%s", t1);
    CHECKF(has_substr(t1, "= const {value=0.1} [0.1, 0.33333334, -1e-30, inf, 0.1]"), "%s", t1);
    CHECKF(has_substr(t1, "= const {value=0.3333333333333333}\n"), "%s", t1);
    CHECKF(has_substr(t1, "= batchnorm(%2, %3, %4, %5, %6) {eps=0.001}\n"), "%s", t1);
    CHECKF(has_substr(t1, "= cast(%19) {dtype=bf16}"), "%s", t1);
    CHECKF(has_substr(t1, "= reshape(%10) {dims=[1,5,-1]}"), "%s", t1);
    CHECKF(has_substr(t1, ":f32[1,2,80] = anchors {what=0, nlevels=2, levels=[8,8,8,4,4,16], "
                          "offset=0.5}"),
           "%s", t1);
    CHECKF(has_substr(t1, "{k=5, stride=1, pad=2} dead group=7\n"), "%s", t1);
    CHECKF(has_substr(t1, "{init=6} \"model.22.dfl.conv.weight\" frozen\n"), "%s", t1);
    CHECKF(has_substr(t1, "\"weird \\\"quoted\\\" \\\\ path\\twith\\ttabs\\nand\\x01 control, "
                          "ünïcode\" group=3 buf=0\n"),
           "%s", t1);
    CHECKF(strncmp(t1, "inputs %0\n", 10) == 0, "%s", t1);
    CHECKF(has_substr(t1, "\noutputs %21, %36, %21\n"), "%s", t1);
    free(t1);
    free(t2);
    sn_ir_graph_free(g);
    sn_ir_graph_free(g2);
}

static void test_handwritten(void) {
    const char *src = "# a hand-written graph: comments, blank lines, attrs in any order\n"
                      "\n"
                      "%0:f32[1,4] = input \"x\"   # trailing comment\n"
                      "%1:f32[] = const {value=2}\n"
                      "%2:f32[1,4] = mul(%0,%1)\n"
                      "%3:f32[4,1] = permute(%2) {perm=[1,0]}\n"
                      "%4:f32[1,2] = slice(%2) {step=2, end=99, start=0, axis=1}\n"
                      "outputs %4\n";
    sn_ir_graph *g = sn_ir_parse(src, "hand.ir", err, sizeof err);
    CHECKF(g != NULL, "%s", err);
    if (!g)
        return;
    CHECK(g->nnodes == 5 && g->ninputs == 1 && g->inputs[0] == 0 && g->noutputs == 1);
    CHECK(g->nodes[4].ia[0] == 1 && g->nodes[4].ia[1] == 0 && g->nodes[4].ia[2] == 99 &&
          g->nodes[4].ia[3] == 2);
    CHECK(g->nodes[4].flags & SN_IR_NODE_OUTPUT);
    CHECK(g->nodes[1].data && g->nodes[1].data[0] == 2.0f);
    CHECKF(sn_ir_verify(g, "parse", err, sizeof err) == SN_OK, "%s", err);
    float x[4] = {1, -2, 3, 4}, y[2] = {NAN, NAN};
    const float *ins[1] = {x};
    float *outs[1] = {y};
    CHECK(sn_ir_ref_run(g, ins, outs, err, sizeof err) == SN_OK);
    CHECK(y[0] == 2.0f && y[1] == 6.0f);
    sn_ir_graph_free(g);
}

static void expect_parse_error(const char *src, const char *want) {
    err[0] = 0;
    sn_ir_graph *g = sn_ir_parse(src, "bad.ir", err, sizeof err);
    CHECKF(g == NULL, "parsed but should fail with \"%s\"", want);
    sn_ir_graph_free(g);
    CHECKF(has_substr(err, want), "error \"%s\" lacks \"%s\"", err, want);
}

static void test_errors(void) {
    expect_parse_error("%0:f32[2] = input\n%1:f32[2] = frobnicate(%0)\n",
                       "bad.ir:2:13: error: unknown op 'frobnicate'");
    expect_parse_error(
        "%0:f32[2] = input\n%2:f32[2] = relu(%0)\n",
        "bad.ir:2:1: error: expected %1 here (nodes are numbered in order), found %2");
    expect_parse_error("%0:f32[2] = input\n%1:f32[3] = relu(%0)\n",
                       "bad.ir:2:4: error: declared type f32[3] but relu gives f32[2]");
    expect_parse_error("%0:f32[2] = input\n%1:f32[2] = relu(%1)\n",
                       "bad.ir:2:18: error: input %1 is not an earlier node");
    expect_parse_error("%0:f32[1,4] = input\n%1:f32[1,4] = softmax(%0)\n",
                       "bad.ir:2:15: error: softmax: missing attribute 'axis'");
    expect_parse_error("%0:f32[1,4] = input\n%1:f32[1,4] = softmax(%0) {axis=1, axis=1}\n",
                       "bad.ir:2:36: error: softmax: attribute 'axis' given twice");
    expect_parse_error("%0:f32[1,4] = input\n%1:f32[1,4] = softmax(%0) {dim=1}\n",
                       "bad.ir:2:28: error: softmax has no attribute 'dim' (it has: axis)");
    expect_parse_error("%0:f32[1,4] = input \"x\n", "bad.ir:1:21: error: unterminated string");
    expect_parse_error("%0:f64[1,4] = input\n", "bad.ir:1:4: error: unknown dtype 'f64'");
    expect_parse_error("%0:f32[1,4] = input\n%1:f32[1,4] = add(%0, %0) oops\n",
                       "bad.ir:2:27: error: unexpected 'oops'");
    expect_parse_error("%0:f32[3] = const {value=1} [1, 2]\n",
                       "bad.ir:1:29: error: const data has 2 values but the shape [3] has 3");
    expect_parse_error("%0:f32[1,4] = input\noutputs %5\n", "bad.ir:2:9: error: %5 does not exist");
    expect_parse_error("%0:f32[1,4] = input\ninputs %0, %0x\n",
                       "bad.ir:2:13: error: expected an integer");
    expect_parse_error("%0:f32[2,3] = input\n%1:f32[2,3] = conv2d(%0, %0) {stride_h=1, stride_w=1, "
                       "pad_h=0, pad_w=0, dil_h=1, dil_w=1, groups=1}\n",
                       "bad.ir:2:15: error: conv2d: input [2,3] and weight [2,3] must both be 4-D");
    expect_parse_error("hello\n", "bad.ir:1:1: error: expected a node");
    expect_parse_error("%0:f32[2] = input \"a\\q\"\n", "bad.ir:1:21: error: bad escape in string");
}

int main(void) {
    test_roundtrip();
    test_handwritten();
    test_errors();
    return check_report("test_ir_text");
}
