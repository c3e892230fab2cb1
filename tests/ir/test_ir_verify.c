/* tests/ir/test_ir_verify.c — the verifier accepts a valid graph and catches each numbered
 * invariant of ir.h, naming the pass and the node. */
#include "tests/common/check_ir.h"

#include <math.h>
#include <stdlib.h>

static char err[512];

typedef struct small {
    sn_ir_graph *g;
    int32_t x, w, wb, conv, bw, bb, bm, bv, bn, act, out;
} small;

/* x → conv(w, wb) → batchnorm → silu → add(silu, x-shaped?) … a tiny valid graph */
static small build(void) {
    small s;
    s.g = sn_ir_graph_new();
    sn_ir_graph *g = s.g;
    s.x = sn_ir_input(g, "images", &(sn_shape){4, {1, 3, 8, 8}});
    s.w =
        sn_ir_param(g, "model.0.conv.weight", &(sn_shape){4, {4, 3, 3, 3}}, SN_IR_INIT_CONV_WEIGHT);
    s.wb = sn_ir_param(g, "model.0.conv.bias", &(sn_shape){1, {4}}, SN_IR_INIT_CONV_BIAS);
    s.conv =
        sn_ir_add(g, SN_OP_CONV2D, (int32_t[]){s.x, s.w, s.wb}, 3, (int64_t[]){1, 1, 1, 1, 1, 1, 1},
                  7, NULL, 0, NULL, SN_DTYPE_F32, err, sizeof err);
    s.bw = sn_ir_param(g, "model.0.bn.weight", &(sn_shape){1, {4}}, SN_IR_INIT_BN_WEIGHT);
    s.bb = sn_ir_param(g, "model.0.bn.bias", &(sn_shape){1, {4}}, SN_IR_INIT_BN_BIAS);
    s.bm = sn_ir_param(g, "model.0.bn.running_mean", &(sn_shape){1, {4}}, SN_IR_INIT_BN_MEAN);
    s.bv = sn_ir_param(g, "model.0.bn.running_var", &(sn_shape){1, {4}}, SN_IR_INIT_BN_VAR);
    double eps = 1e-3;
    s.bn = sn_ir_add(g, SN_OP_BATCHNORM, (int32_t[]){s.conv, s.bw, s.bb, s.bm, s.bv}, 5, NULL, 0,
                     &eps, 1, NULL, SN_DTYPE_F32, err, sizeof err);
    s.act =
        sn_ir_add(g, SN_OP_SILU, &s.bn, 1, NULL, 0, NULL, 0, NULL, SN_DTYPE_F32, err, sizeof err);
    s.out = sn_ir_add(g, SN_OP_ADD, (int32_t[]){s.act, s.bn}, 2, NULL, 0, NULL, 0, NULL,
                      SN_DTYPE_F32, err, sizeof err);
    CHECKF(s.out >= 0, "%s", err);
    sn_ir_mark_output(g, s.out);
    return s;
}

static void expect_fail(small *s, int inv, const char *sub) {
    err[0] = 0;
    sn_status st = sn_ir_verify(s->g, "fuse", err, sizeof err);
    char tag[32];
    snprintf(tag, sizeof tag, "[invariant %d]", inv);
    CHECKF(st == SN_ERR_INVALID, "invariant %d not caught", inv);
    CHECKF(has_substr(err, "after pass fuse: ") && has_substr(err, tag) && has_substr(err, sub),
           "message \"%s\" should name the pass, %s and \"%s\"", err, tag, sub);
    sn_ir_graph_free(s->g);
}

int main(void) {
    small s = build();
    CHECKF(sn_ir_verify(s.g, "build", err, sizeof err) == SN_OK, "%s", err);
    /* DEAD nodes are skipped, whatever they hold */
    int32_t junk =
        sn_ir_add(s.g, SN_OP_RELU, &s.x, 1, NULL, 0, NULL, 0, NULL, SN_DTYPE_F32, err, sizeof err);
    s.g->nodes[junk].flags |= SN_IR_NODE_DEAD;
    s.g->nodes[junk].shape.d[1] = 0;
    s.g->nodes[junk].in[0] = 9999;
    CHECKF(sn_ir_verify(s.g, "build", err, sizeof err) == SN_OK, "%s", err);
    CHECK(sn_ir_verify(s.g, NULL, NULL, 0) == SN_OK);
    sn_ir_graph_free(s.g);

    /* 1: inputs live and earlier */
    s = build();
    s.g->nodes[s.act].in[0] = s.out;
    expect_fail(&s, 1, "node %9 (silu): input 0 is %10, not an earlier node");
    s = build();
    s.g->nodes[s.bn].flags |= SN_IR_NODE_DEAD;
    expect_fail(&s, 1, "node %9 (silu): input 0 is %8, which is dead");
    s = build();
    s.g->nodes[s.act].in[0] = -3;
    expect_fail(&s, 1, "input 0 is %-3");

    /* 2: arity */
    s = build();
    s.g->nodes[s.out].nin = 1;
    expect_fail(&s, 2, "node %10 (add): has 1 inputs; the op takes 2 to 2");

    /* 3: shapes and dtypes equal inference */
    s = build();
    s.g->nodes[s.act].shape.d[1] = 5;
    expect_fail(
        &s, 3,
        "node %9 (silu): has type f32[1,5,8,8] but its inputs and attributes give f32[1,4,8,8]");
    s = build();
    s.g->nodes[s.act].dtype = SN_DTYPE_F16;
    expect_fail(&s, 3, "has type f16[1,4,8,8]");
    s = build();
    s.g->nodes[s.conv].ia[6] = 2; /* groups 2 no longer fits the weight */
    expect_fail(&s, 3, "node %3 (conv2d): conv2d: groups 2 must divide input channels 3");
    s = build();
    s.g->nodes[s.conv].in[1] = s.wb; /* a bias as weight */
    expect_fail(&s, 3, "conv2d: input [1,3,8,8] and weight [4] must both be 4-D");

    /* 4: PARAM names */
    s = build();
    s.g->nodes[s.bb].name = 0;
    expect_fail(&s, 4, "node %5 (param): PARAM has no name");
    s = build();
    sn_ir_set_name(s.g, s.bv, "model.0.bn.weight");
    expect_fail(&s, 4, "PARAM name \"model.0.bn.weight\" is also used by %4");

    /* 5: INPUT nodes are exactly graph->inputs; outputs live */
    s = build();
    s.g->ninputs = 0;
    expect_fail(&s, 5, "node %0 (input): INPUT node appears 0 times in graph->inputs");
    s = build();
    s.g->inputs[0] = s.w;
    expect_fail(&s, 5, "INPUT node appears 0 times");
    s = build();
    s.g->outputs[0] = 42;
    expect_fail(&s, 5, "graph output 0 is %42, not a live node");
    s = build();
    s.g->nodes[s.out].flags |= SN_IR_NODE_DEAD;
    expect_fail(&s, 5, "graph output 0 is %10, not a live node");

    /* 6: rank and dims */
    s = build();
    s.g->nodes[s.bb].shape.d[0] = 0;
    expect_fail(&s, 6, "node %5 (param): shape [0] has a dimension < 1");
    s = build();
    s.g->nodes[s.x].shape.ndim = 7;
    expect_fail(&s, 6, "rank 7 is outside 0..6");

    /* no pass name: the prefix is left out */
    s = build();
    s.g->nodes[s.out].nin = 1;
    CHECK(sn_ir_verify(s.g, NULL, err, sizeof err) == SN_ERR_INVALID);
    CHECKF(strncmp(err, "node %10 (add)", 14) == 0, "%s", err);
    sn_ir_graph_free(s.g);
    return check_report("test_ir_verify");
}
