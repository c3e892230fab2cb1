/* tests/ir/test_ir_shape.c — builder, helpers and shape/dtype inference for every op,
 * including the error messages for inputs that do not fit. */
#include "tests/common/check_ir.h"

#include <math.h>
#include <stdlib.h>

static char err[512];

static int32_t add(sn_ir_graph *g, sn_op op, const int32_t *in, int nin, const int64_t *ia, int nia,
                   const double *fa, int nfa) {
    err[0] = 0;
    return sn_ir_add(g, op, in, nin, ia, nia, fa, nfa, NULL, SN_DTYPE_F32, err, sizeof err);
}

static int32_t par(sn_ir_graph *g, const char *name, sn_shape s, sn_ir_init init) {
    int32_t n = sn_ir_param(g, name, &s, init);
    CHECK(n >= 0);
    return n;
}

#define EXPECT_SHAPE(g, n, ...)                                                                    \
    do {                                                                                           \
        sn_shape want_ = SHAPE(__VA_ARGS__);                                                       \
        char b1_[64], b2_[64];                                                                     \
        CHECKF((n) >= 0 && sn_shape_eq(&(g)->nodes[(n)].shape, &want_), "got %s want %s (%s)",     \
               (n) >= 0 ? sn_shape_str(&(g)->nodes[(n)].shape, b1_, 64) : "error",                 \
               sn_shape_str(&want_, b2_, 64), err);                                                \
    } while (0)

#define EXPECT_ERR(n, sub)                                                                         \
    do {                                                                                           \
        CHECKF((n) == -1, "expected an error containing \"%s\"", sub);                             \
        CHECKF(has_substr(err, sub), "error \"%s\" lacks \"%s\"", err, sub);                       \
    } while (0)

static void test_helpers(void) {
    CHECK(strcmp(sn_status_str(SN_OK), "ok") == 0);
    CHECK(strcmp(sn_status_str(SN_ERR_NOMEM), "out of memory") == 0);
    CHECK(strcmp(sn_dtype_name(SN_DTYPE_BF16), "bf16") == 0);
    CHECK(sn_dtype_size(SN_DTYPE_F16) == 2 && sn_dtype_size(SN_DTYPE_I32) == 4);
    sn_dtype t;
    CHECK(sn_dtype_parse("f16", &t) == SN_OK && t == SN_DTYPE_F16);
    CHECK(sn_dtype_parse("f64", &t) == SN_ERR_INVALID);
    sn_shape s = SHAPE(1, 3, 640, 640);
    char buf[64];
    CHECK(strcmp(sn_shape_str(&s, buf, sizeof buf), "[1,3,640,640]") == 0);
    sn_shape s0 = shape0();
    CHECK(strcmp(sn_shape_str(&s0, buf, sizeof buf), "[]") == 0);
    CHECK(sn_shape_numel(&s) == 1228800 && sn_shape_numel(&s0) == 1);
    CHECK(sn_shape_eq(&s, &s) && !sn_shape_eq(&s, &s0));
    CHECK(sn_ir_op_from_name("conv2d") == SN_OP_CONV2D);
    CHECK(sn_ir_op_from_name("reduce_sum") == SN_OP_REDUCE_SUM);
    CHECK(sn_ir_op_from_name("nope") == SN_OP_COUNT);
    CHECK(strcmp(sn_ir_op_info[SN_OP_MATMUL].name, "matmul") == 0);
    CHECK(sn_ir_op_info[SN_OP_CONCAT].max_inputs == 64);
    CHECK(sn_ir_op_info[SN_OP_ADD].kind == SN_OP_KIND_BROADCAST);
    CHECK(sn_ir_op_info[SN_OP_ANCHORS].flags & SN_OPF_LEAF);
    for (int i = 0; i < SN_OP_COUNT; i++) {
        const sn_op_info *oi = &sn_ir_op_info[i];
        CHECK((int)sn_ir_op_from_name(oi->name) == i);
        /* gradients flow through ops with inputs, never out of leaves */
        if (oi->max_inputs == 0)
            CHECKF(!(oi->flags & SN_OPF_DIFFERENTIABLE), "%s", oi->name);
        if (oi->flags & (SN_OPF_UNARY | SN_OPF_BINARY))
            CHECKF(oi->flags & SN_OPF_DIFFERENTIABLE, "%s", oi->name);
        /* every op has its shape, ref and derivative rules; the derivative is
         * sn_ir_vjp_none exactly where the op is not differentiable */
        CHECKF(oi->shape && oi->ref && oi->vjp, "%s", oi->name);
        CHECKF(!(oi->flags & SN_OPF_DIFFERENTIABLE) == (oi->vjp == sn_ir_vjp_none), "%s", oi->name);
    }
    CHECK(sn_ir_op_info[SN_OP_CONV2D].flags & SN_OPF_DIFFERENTIABLE);
}

static void test_graph_basics(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    CHECK(g != NULL);
    uint32_t a = sn_ir_str(g, "model.0.conv.weight");
    uint32_t b = sn_ir_str(g, "model.0.bn.weight");
    CHECK(a != 0 && b != 0 && a != b);
    CHECK(sn_ir_str(g, "model.0.conv.weight") == a); /* interned */
    CHECK(sn_ir_str(g, "") == 0 && sn_ir_str(g, NULL) == 0);
    CHECK(strcmp(sn_ir_str_get(g, 0), "") == 0);
    for (int i = 0; i < 2000; i++) { /* force pool and table growth */
        char s[32];
        snprintf(s, sizeof s, "s%d", i);
        uint32_t o = sn_ir_str(g, s);
        CHECK(strcmp(sn_ir_str_get(g, o), s) == 0);
    }
    CHECK(strcmp(sn_ir_str_get(g, a), "model.0.conv.weight") == 0);
    CHECK(sn_ir_str(g, "s1234") == sn_ir_str(g, "s1234"));

    int32_t x = inp(g, SHAPE(1, 3, 8, 8));
    CHECK(g->ninputs == 1 && g->inputs[0] == x);
    CHECK(strcmp(sn_ir_str_get(g, g->nodes[x].name), "in0") == 0);
    int32_t w = par(g, "model.0.conv.weight", SHAPE(4, 3, 3, 3), SN_IR_INIT_CONV_WEIGHT);
    int32_t bw = par(g, "model.0.bn.weight", SHAPE(4), SN_IR_INIT_BN_WEIGHT);
    int32_t bb = par(g, "model.0.bn.bias", SHAPE(4), SN_IR_INIT_BN_BIAS);
    int32_t bm = par(g, "model.0.bn.running_mean", SHAPE(4), SN_IR_INIT_BN_MEAN);
    int32_t bv = par(g, "model.0.bn.running_var", SHAPE(4), SN_IR_INIT_BN_VAR);
    CHECK(g->nodes[w].ia[0] == SN_IR_INIT_CONV_WEIGHT && g->nodes[w].data == NULL);
    CHECK(sn_ir_find_param(g, "model.0.bn.bias") == bb);
    CHECK(sn_ir_find_param(g, "missing") == -1);
    int64_t cia[7] = {1, 1, 1, 1, 1, 1, 1};
    int32_t c = add(g, SN_OP_CONV2D, (int32_t[]){x, w}, 2, cia, 7, NULL, 0);
    EXPECT_SHAPE(g, c, 1, 4, 8, 8);
    CHECK(g->nodes[c].group == -1 && g->nodes[c].dtype == SN_DTYPE_F32);
    CHECK(g->nodes[c].buf == -1 && g->nodes[c].offset == 0);
    CHECK(g->nodes[c].stride[0] == 256 && g->nodes[c].stride[1] == 64 &&
          g->nodes[c].stride[2] == 8 && g->nodes[c].stride[3] == 1);
    double eps = 1e-3;
    int32_t bn = add(g, SN_OP_BATCHNORM, (int32_t[]){c, bw, bb, bm, bv}, 5, NULL, 0, &eps, 1);
    EXPECT_SHAPE(g, bn, 1, 4, 8, 8);
    int32_t s = add(g, SN_OP_SILU, &bn, 1, NULL, 0, NULL, 0);
    int32_t half = sn_ir_scalar(g, 0.5);
    CHECK(half >= 0 && g->nodes[half].shape.ndim == 0 && g->nodes[half].data &&
          g->nodes[half].data[0] == 0.5f && g->nodes[half].fa[0] == 0.5);
    int32_t m = add(g, SN_OP_MUL, (int32_t[]){s, half}, 2, NULL, 0, NULL, 0);
    int32_t r = add(g, SN_OP_ADD, (int32_t[]){m, s}, 2, NULL, 0, NULL, 0);
    sn_ir_mark_output(g, r);
    sn_ir_set_src(g, r, "models/yolov8.sn:3:1");
    CHECK(g->noutputs == 1 && g->outputs[0] == r && (g->nodes[r].flags & SN_IR_NODE_OUTPUT));
    CHECK(strcmp(sn_ir_str_get(g, g->nodes[r].src), "models/yolov8.sn:3:1") == 0);

    int32_t *uses = calloc((size_t)g->nnodes, sizeof *uses);
    sn_ir_use_counts(g, uses);
    CHECK(uses[s] == 2 && uses[x] == 1 && uses[r] == 0 && uses[half] == 1);
    g->nodes[m].flags |= SN_IR_NODE_DEAD; /* dead users do not count */
    sn_ir_use_counts(g, uses);
    CHECK(uses[s] == 1 && uses[half] == 0);
    g->nodes[m].flags &= ~SN_IR_NODE_DEAD;
    free(uses);

    /* params: weights + BN affine; running stats are buffers */
    CHECK(sn_ir_count_params(g) == 4 * 3 * 3 * 3 + 4 + 4);
    CHECK(sn_ir_count_conv_macs(g) == (int64_t)4 * 8 * 8 * 3 * 3 * 3);

    float *d = sn_ir_node_data(g, w);
    CHECK(d != NULL && d == g->nodes[w].data && d[107] == 0.0f);
    d[5] = 42.0f;

    sn_ir_graph *cl = sn_ir_graph_clone(g);
    CHECK(cl && cl->nnodes == g->nnodes && cl->ninputs == 1 && cl->noutputs == 1);
    CHECK(cl->nodes[w].data != g->nodes[w].data && cl->nodes[w].data[5] == 42.0f);
    CHECK(cl->nodes[c].in != g->nodes[c].in && cl->nodes[c].in[1] == w);
    CHECK(strcmp(sn_ir_str_get(cl, cl->nodes[w].name), "model.0.conv.weight") == 0);
    CHECK(sn_ir_str(cl, "model.0.bn.bias") == g->nodes[bb].name); /* table rebuilt */
    cl->nodes[w].data[5] = 1.0f;
    CHECK(g->nodes[w].data[5] == 42.0f);
    sn_ir_graph_free(cl);

    /* set_inputs + infer: add a bias to the conv */
    int32_t cb = par(g, "model.0.conv.bias", SHAPE(4), SN_IR_INIT_CONV_BIAS);
    CHECK(sn_ir_set_inputs(g, c, (int32_t[]){x, w, cb}, 3) == SN_OK);
    CHECK(sn_ir_infer(g, c, err, sizeof err) == SN_OK);
    CHECK(g->nodes[c].nin == 3 && g->nodes[c].in[2] == cb);
    sn_ir_set_name(g, c, "model.0.conv");
    CHECK(strcmp(sn_ir_str_get(g, g->nodes[c].name), "model.0.conv") == 0);
    sn_ir_graph_free(g);
    sn_ir_graph_free(NULL);
}

static void test_conv(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = inp(g, SHAPE(2, 32, 20, 20));
    int32_t w = par(g, "w", SHAPE(16, 32, 3, 3), SN_IR_INIT_CONV_WEIGHT);
    int32_t b = par(g, "b", SHAPE(16), SN_IR_INIT_CONV_BIAS);
    int32_t c =
        add(g, SN_OP_CONV2D, (int32_t[]){x, w, b}, 3, (int64_t[]){2, 2, 1, 1, 1, 1, 1}, 7, NULL, 0);
    EXPECT_SHAPE(g, c, 2, 16, 10, 10);
    c = add(g, SN_OP_CONV2D, (int32_t[]){x, w}, 2, (int64_t[]){1, 1, 2, 2, 2, 2, 1}, 7, NULL, 0);
    EXPECT_SHAPE(g, c, 2, 16, 20, 20); /* dilation 2, pad 2 keeps size */
    c = add(g, SN_OP_CONV2D, (int32_t[]){x, w}, 2, (int64_t[]){1, 2, 0, 0, 1, 1, 1}, 7, NULL, 0);
    EXPECT_SHAPE(g, c, 2, 16, 18, 9);
    int32_t wd = par(g, "wd", SHAPE(32, 1, 3, 3), SN_IR_INIT_CONV_WEIGHT);
    c = add(g, SN_OP_CONV2D, (int32_t[]){x, wd}, 2, (int64_t[]){1, 1, 1, 1, 1, 1, 32}, 7, NULL, 0);
    EXPECT_SHAPE(g, c, 2, 32, 20, 20); /* depthwise */
    int32_t wg = par(g, "wg", SHAPE(8, 8, 1, 1), SN_IR_INIT_CONV_WEIGHT);
    c = add(g, SN_OP_CONV2D, (int32_t[]){x, wg}, 2, (int64_t[]){1, 1, 0, 0, 1, 1, 4}, 7, NULL, 0);
    EXPECT_SHAPE(g, c, 2, 8, 20, 20);

    int32_t w16 = par(g, "w16", SHAPE(8, 16, 3, 3), SN_IR_INIT_CONV_WEIGHT);
    c = add(g, SN_OP_CONV2D, (int32_t[]){x, w16}, 2, (int64_t[]){1, 1, 1, 1, 1, 1, 1}, 7, NULL, 0);
    EXPECT_ERR(c, "conv2d: input has 32 channels but weight expects 16 (groups 1)");
    c = add(g, SN_OP_CONV2D, (int32_t[]){x, w16}, 2, (int64_t[]){1, 1, 1, 1, 1, 1, 3}, 7, NULL, 0);
    EXPECT_ERR(c, "groups 3 must divide");
    c = add(g, SN_OP_CONV2D, (int32_t[]){x, w, wg}, 3, (int64_t[]){1, 1, 1, 1, 1, 1, 1}, 7, NULL,
            0);
    EXPECT_ERR(c, "conv2d: bias has shape [8,8,1,1] but weight has 16 outputs");
    c = add(g, SN_OP_CONV2D, (int32_t[]){x, w}, 2, (int64_t[]){1, 1, 1, 1, 1, 1}, 6, NULL, 0);
    EXPECT_ERR(c, "conv2d: expects 7 int attributes");
    c = add(g, SN_OP_CONV2D, (int32_t[]){x, w}, 2, (int64_t[]){0, 1, 1, 1, 1, 1, 1}, 7, NULL, 0);
    EXPECT_ERR(c, "conv2d: bad attributes stride 0x1");
    c = add(g, SN_OP_CONV2D, (int32_t[]){x}, 1, (int64_t[]){1, 1, 1, 1, 1, 1, 1}, 7, NULL, 0);
    EXPECT_ERR(c, "conv2d: expects 2 to 3 inputs, got 1");
    c = add(g, SN_OP_CONV2D, (int32_t[]){b, w}, 2, (int64_t[]){1, 1, 1, 1, 1, 1, 1}, 7, NULL, 0);
    EXPECT_ERR(c, "must both be 4-D");
    int32_t wbig = par(g, "wbig", SHAPE(4, 32, 25, 25), SN_IR_INIT_CONV_WEIGHT);
    c = add(g, SN_OP_CONV2D, (int32_t[]){x, wbig}, 2, (int64_t[]){1, 1, 1, 1, 1, 1, 1}, 7, NULL, 0);
    EXPECT_ERR(c, "larger than the padded input");
    c = add(g, SN_OP_CONV2D, (int32_t[]){x, 999}, 2, (int64_t[]){1, 1, 1, 1, 1, 1, 1}, 7, NULL, 0);
    EXPECT_ERR(c, "refers to %999");
    int32_t nn = g->nnodes;
    CHECK(nn == g->nnodes); /* failed adds leave nothing behind */
    sn_ir_graph_free(g);
}

static void test_bn_and_elementwise(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = inp(g, SHAPE(1, 4, 5, 6));
    int32_t p4 = par(g, "p4", SHAPE(4), SN_IR_INIT_BN_WEIGHT);
    int32_t p5 = par(g, "p5", SHAPE(5), SN_IR_INIT_BN_WEIGHT);
    double eps = 1e-5;
    int32_t n = add(g, SN_OP_BATCHNORM, (int32_t[]){x, p4, p4, p4, p4}, 5, NULL, 0, &eps, 1);
    EXPECT_SHAPE(g, n, 1, 4, 5, 6);
    n = add(g, SN_OP_BATCHNORM, (int32_t[]){x, p4, p4, p5, p4}, 5, NULL, 0, &eps, 1);
    EXPECT_ERR(n, "batchnorm: running_mean has shape [5] but the input has 4 channels");
    n = add(g, SN_OP_BATCHNORM, (int32_t[]){x, p4, p4, p4, p4}, 5, NULL, 0, NULL, 0);
    EXPECT_ERR(n, "batchnorm: expects 1 float attributes");
    n = add(g, SN_OP_BATCHNORM, (int32_t[]){p4, p4, p4, p4, p4}, 5, NULL, 0, &eps, 1);
    EXPECT_ERR(n, "needs rank >= 2");

    for (int op = SN_OP_SILU; op <= SN_OP_RECIP; op++) {
        n = add(g, (sn_op)op, &x, 1, NULL, 0, NULL, 0);
        EXPECT_SHAPE(g, n, 1, 4, 5, 6);
    }
    n = add(g, SN_OP_SILU, (int32_t[]){x, x}, 2, NULL, 0, NULL, 0);
    EXPECT_ERR(n, "silu: expects 1 inputs, got 2");

    int32_t a = inp(g, SHAPE(2, 1, 4));
    int32_t b = inp(g, SHAPE(3, 1));
    int32_t s = sn_ir_scalar(g, 2.0);
    for (int op = SN_OP_ADD; op <= SN_OP_MAX2; op++) {
        n = add(g, (sn_op)op, (int32_t[]){a, b}, 2, NULL, 0, NULL, 0);
        EXPECT_SHAPE(g, n, 2, 3, 4);
    }
    n = add(g, SN_OP_MUL, (int32_t[]){s, a}, 2, NULL, 0, NULL, 0);
    EXPECT_SHAPE(g, n, 2, 1, 4);
    n = add(g, SN_OP_ADD, (int32_t[]){a, x}, 2, NULL, 0, NULL, 0);
    EXPECT_ERR(n, "add: shapes [2,1,4] and [1,4,5,6] do not broadcast (dim 1: 2 vs 4)");
    n = add(g, SN_OP_ADD, &a, 1, NULL, 0, NULL, 0);
    EXPECT_ERR(n, "add: expects 2 inputs, got 1");

    /* cast and dtypes */
    int32_t h = add(g, SN_OP_CAST, &a, 1, (int64_t[]){SN_DTYPE_F16}, 1, NULL, 0);
    CHECK(h >= 0 && g->nodes[h].dtype == SN_DTYPE_F16);
    EXPECT_SHAPE(g, h, 2, 1, 4);
    n = add(g, SN_OP_ADD, (int32_t[]){h, s}, 2, NULL, 0, NULL, 0); /* weak f32 scalar */
    CHECK(n >= 0 && g->nodes[n].dtype == SN_DTYPE_F16);
    n = add(g, SN_OP_SIGMOID, &h, 1, NULL, 0, NULL, 0);
    CHECK(n >= 0 && g->nodes[n].dtype == SN_DTYPE_F16);
    n = add(g, SN_OP_ADD, (int32_t[]){h, b}, 2, NULL, 0, NULL, 0);
    EXPECT_ERR(n, "add: dtypes differ: f16 and f32");
    n = add(g, SN_OP_CAST, &a, 1, (int64_t[]){17}, 1, NULL, 0);
    EXPECT_ERR(n, "cast: unknown dtype 17");
    sn_ir_graph_free(g);
}

static void test_layout_ops(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t a = inp(g, SHAPE(1, 16, 8, 8));
    int32_t b = inp(g, SHAPE(1, 32, 8, 8));
    int32_t c = inp(g, SHAPE(1, 16, 4, 8));
    int32_t n = add(g, SN_OP_CONCAT, (int32_t[]){a, b, a}, 3, (int64_t[]){1}, 1, NULL, 0);
    EXPECT_SHAPE(g, n, 1, 64, 8, 8);
    n = add(g, SN_OP_CONCAT, (int32_t[]){a}, 1, (int64_t[]){0}, 1, NULL, 0);
    EXPECT_SHAPE(g, n, 1, 16, 8, 8);
    n = add(g, SN_OP_CONCAT, (int32_t[]){a, c}, 2, (int64_t[]){1}, 1, NULL, 0);
    EXPECT_ERR(n, "concat: input 1 has shape [1,16,4,8], incompatible with input 0 [1,16,8,8]");
    n = add(g, SN_OP_CONCAT, (int32_t[]){a, b}, 2, (int64_t[]){4}, 1, NULL, 0);
    EXPECT_ERR(n, "concat: axis 4 out of range for rank 4");
    n = add(g, SN_OP_CONCAT, (int32_t[]){a, b}, 2, (int64_t[]){-1}, 1, NULL, 0);
    EXPECT_ERR(n, "concat: axis -1 out of range");

    n = add(g, SN_OP_SLICE, &b, 1, (int64_t[]){1, 1, 32, 3}, 4, NULL, 0);
    EXPECT_SHAPE(g, n, 1, 11, 8, 8); /* 1,4,…,31 */
    n = add(g, SN_OP_SLICE, &b, 1, (int64_t[]){1, 16, INT64_MAX, 1}, 4, NULL, 0);
    EXPECT_SHAPE(g, n, 1, 16, 8, 8); /* end clamps */
    n = add(g, SN_OP_SLICE, &b, 1, (int64_t[]){1, 32, 40, 1}, 4, NULL, 0);
    EXPECT_ERR(n, "slice: start 32 end 40 step 1 select nothing");
    n = add(g, SN_OP_SLICE, &b, 1, (int64_t[]){1, 0, 4, 0}, 4, NULL, 0);
    EXPECT_ERR(n, "step >= 1");

    n = add(g, SN_OP_RESHAPE, &b, 1, (int64_t[]){1, 32, 64}, 3, NULL, 0);
    EXPECT_SHAPE(g, n, 1, 32, 64);
    n = add(g, SN_OP_RESHAPE, &b, 1, (int64_t[]){2, -1, 4}, 3, NULL, 0);
    EXPECT_SHAPE(g, n, 2, 256, 4);
    CHECK(n >= 0 && g->nodes[n].nia == 3 && g->nodes[n].ia[1] == -1);
    n = add(g, SN_OP_RESHAPE, &b, 1, (int64_t[]){1, 32, 63}, 3, NULL, 0);
    EXPECT_ERR(n, "reshape: [1,32,8,8] has 2048 elements but the new shape [1,32,63] has 2016");
    int32_t one = inp(g, SHAPE(1, 1));
    n = add(g, SN_OP_RESHAPE, &one, 1, NULL, 0, NULL, 0);
    CHECK(n >= 0 && g->nodes[n].shape.ndim == 0);

    n = add(g, SN_OP_PERMUTE, &c, 1, (int64_t[]){0, 2, 3, 1}, 4, NULL, 0);
    EXPECT_SHAPE(g, n, 1, 4, 8, 16);
    n = add(g, SN_OP_PERMUTE, &c, 1, (int64_t[]){0, 2, 2, 1}, 4, NULL, 0);
    EXPECT_ERR(n, "permute: perm is not a permutation of 0..3");
    n = add(g, SN_OP_PERMUTE, &c, 1, (int64_t[]){0, 2, 1}, 3, NULL, 0);
    EXPECT_ERR(n, "permute: perm has 3 entries but the input [1,16,4,8] has rank 4");

    n = add(g, SN_OP_UPSAMPLE, &c, 1, (int64_t[]){2, 3}, 2, NULL, 0);
    EXPECT_SHAPE(g, n, 1, 16, 8, 24);
    n = add(g, SN_OP_UPSAMPLE, &c, 1, (int64_t[]){0, 3}, 2, NULL, 0);
    EXPECT_ERR(n, "upsample: scales 0x3 must be >= 1");

    n = add(g, SN_OP_MAXPOOL2D, &a, 1, (int64_t[]){5, 1, 2}, 3, NULL, 0);
    EXPECT_SHAPE(g, n, 1, 16, 8, 8);
    n = add(g, SN_OP_MAXPOOL2D, &a, 1, (int64_t[]){2, 2, 0}, 3, NULL, 0);
    EXPECT_SHAPE(g, n, 1, 16, 4, 4);
    n = add(g, SN_OP_MAXPOOL2D, &a, 1, (int64_t[]){3, 1, 2}, 3, NULL, 0);
    EXPECT_ERR(n, "maxpool2d: bad k 3 stride 1 pad 2");

    n = add(g, SN_OP_SOFTMAX, &c, 1, (int64_t[]){1}, 1, NULL, 0);
    EXPECT_SHAPE(g, n, 1, 16, 4, 8);
    n = add(g, SN_OP_REDUCE_SUM, &c, 1, (int64_t[]){2}, 1, NULL, 0);
    EXPECT_SHAPE(g, n, 1, 16, 1, 8);
    n = add(g, SN_OP_SOFTMAX, &c, 1, (int64_t[]){4}, 1, NULL, 0);
    EXPECT_ERR(n, "softmax: axis 4 out of range for rank 4");

    int32_t m1 = inp(g, SHAPE(2, 3, 4));
    int32_t m2 = inp(g, SHAPE(2, 4, 5));
    int32_t m3 = inp(g, SHAPE(3, 4, 5));
    n = add(g, SN_OP_MATMUL, (int32_t[]){m1, m2}, 2, NULL, 0, NULL, 0);
    EXPECT_SHAPE(g, n, 2, 3, 5);
    n = add(g, SN_OP_MATMUL, (int32_t[]){m2, m1}, 2, NULL, 0, NULL, 0);
    EXPECT_ERR(n, "matmul: a [2,4,5] has K=5 but b [2,3,4] has K=3");
    n = add(g, SN_OP_MATMUL, (int32_t[]){m1, m3}, 2, NULL, 0, NULL, 0);
    EXPECT_ERR(n, "matmul: batch dims differ");

    double off = 0.5;
    n = add(g, SN_OP_ANCHORS, NULL, 0, (int64_t[]){0, 2, 4, 4, 8, 2, 3, 16}, 8, &off, 1);
    EXPECT_SHAPE(g, n, 1, 2, 22);
    n = add(g, SN_OP_ANCHORS, NULL, 0, (int64_t[]){1, 2, 4, 4, 8, 2, 3, 16}, 8, &off, 1);
    EXPECT_SHAPE(g, n, 1, 1, 22);
    n = add(g, SN_OP_ANCHORS, NULL, 0, (int64_t[]){0, 2, 4, 4, 8}, 5, &off, 1);
    EXPECT_ERR(n, "anchors: nlevels 2 needs 8 int attributes");
    n = add(g, SN_OP_ANCHORS, NULL, 0, (int64_t[]){2, 1, 4, 4, 8}, 5, &off, 1);
    EXPECT_ERR(n, "anchors: what must be 0");
    sn_shape wrong = SHAPE(1, 2, 5);
    err[0] = 0;
    n = sn_ir_add(g, SN_OP_ANCHORS, NULL, 0, (int64_t[]){0, 1, 4, 4, 8}, 5, &off, 1, &wrong,
                  SN_DTYPE_F32, err, sizeof err);
    EXPECT_ERR(n, "anchors: given shape [1,2,5] but the attributes make [1,2,16]");

    /* leaves */
    err[0] = 0;
    n = sn_ir_add(g, SN_OP_INPUT, NULL, 0, NULL, 0, NULL, 0, NULL, SN_DTYPE_F32, err, sizeof err);
    EXPECT_ERR(n, "input: a shape is required");
    sn_shape bad = SHAPE(1, 0, 3);
    n = sn_ir_add(g, SN_OP_INPUT, NULL, 0, NULL, 0, NULL, 0, &bad, SN_DTYPE_F32, err, sizeof err);
    EXPECT_ERR(n, "has a dimension < 1");
    sn_shape s4 = SHAPE(4);
    n = sn_ir_add(g, SN_OP_CONST, NULL, 0, NULL, 0, NULL, 0, &s4, SN_DTYPE_F32, err, sizeof err);
    EXPECT_ERR(n, "const: expects 1 float attributes");
    n = sn_ir_add(g, SN_OP_CONST, NULL, 0, NULL, 0, (double[]){3.0}, 1, &s4, SN_DTYPE_F16, err,
                  sizeof err);
    CHECK(n >= 0 && g->nodes[n].dtype == SN_DTYPE_F16 && g->nodes[n].data[3] == 3.0f);
    n = sn_ir_add(g, SN_OP_PARAM, NULL, 0, (int64_t[]){99}, 1, NULL, 0, &s4, SN_DTYPE_F32, err,
                  sizeof err);
    EXPECT_ERR(n, "param: unknown init kind 99");
    n = sn_ir_add(g, SN_OP_COUNT, NULL, 0, NULL, 0, NULL, 0, &s4, SN_DTYPE_F32, err, sizeof err);
    EXPECT_ERR(n, "unknown op");
    sn_ir_graph_free(g);
}

int main(void) {
    test_helpers();
    test_graph_basics();
    test_conv();
    test_bn_and_elementwise();
    test_layout_ops();
    return check_report("test_ir_shape");
}
