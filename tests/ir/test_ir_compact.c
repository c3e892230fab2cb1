/* tests/ir/test_ir_compact.c — sn_ir_graph_compact drops DEAD nodes and nodes no output needs,
 * keeps INPUT nodes, renumbers inputs/outputs, and changes no value. */
#include "tests/common/check_ir.h"

#include <math.h>
#include <stdlib.h>

static char err[512];

static int32_t add(sn_ir_graph *g, sn_op op, const int32_t *in, int nin) {
    int32_t n = sn_ir_add(g, op, in, nin, NULL, 0, NULL, 0, NULL, SN_DTYPE_F32, err, sizeof err);
    CHECKF(n >= 0, "%s", err);
    return n;
}

int main(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    sn_shape s4 = {2, {2, 4}};
    int32_t x0 = sn_ir_input(g, "x0", &s4);
    int32_t x1 = sn_ir_input(g, "x1", &s4); /* unused: kept (part of the interface) */
    int32_t p = sn_ir_param(g, "p", &(sn_shape){1, {4}}, SN_IR_INIT_CONV_BIAS);
    int32_t p2 = sn_ir_param(g, "unused", &(sn_shape){1, {4}}, SN_IR_INIT_CONV_BIAS);
    fill_random(sn_ir_node_data(g, p), 4);
    fill_random(sn_ir_node_data(g, p2), 4);
    int32_t a = add(g, SN_OP_RELU, &x0, 1);
    int32_t b = add(g, SN_OP_NEG, &x0, 1); /* only feeds f: dropped */
    int32_t c = add(g, SN_OP_ADD, (int32_t[]){a, p}, 2);
    int32_t d = add(g, SN_OP_EXP, &c, 1); /* dead */
    int32_t e = add(g, SN_OP_SIGMOID, &c, 1);
    int32_t f = add(g, SN_OP_MUL, (int32_t[]){b, b}, 2); /* no output needs it */
    int32_t h = add(g, SN_OP_SUB, (int32_t[]){e, c}, 2);
    g->nodes[d].flags |= SN_IR_NODE_DEAD;
    sn_ir_set_src(g, h, "models/x.sn:1:1");
    sn_ir_mark_output(g, h);
    sn_ir_mark_output(g, e);
    (void)f;
    (void)x1;
    CHECKF(sn_ir_verify(g, "build", err, sizeof err) == SN_OK, "%s", err);

    float X0[8], X1[8];
    fill_random(X0, 8);
    fill_random(X1, 8);
    const float *ins[2] = {X0, X1};
    float *before[2] = {poisoned(8), poisoned(8)}, *after[2] = {poisoned(8), poisoned(8)};
    CHECK(sn_ir_ref_run(g, ins, before, err, sizeof err) == SN_OK);

    g->bufs = calloc(2, sizeof *g->bufs);
    g->nbufs = 2;
    g->bufs[0] = (sn_ir_buf){SN_IR_BUF_CONST, p, SN_DTYPE_F32, 4, 0};
    g->bufs[1] = (sn_ir_buf){SN_IR_BUF_CONST, p2, SN_DTYPE_F32, 4, 0};
    sn_ir_graph_compact(g);
    CHECK(g->bufs[0].index == 2 && g->bufs[1].index == -1); /* CONST bufs follow their node */
    /* kept: x0 x1 p a c e h */
    CHECKF(g->nnodes == 7, "nnodes %d", (int)g->nnodes);
    CHECK(g->ninputs == 2 && g->inputs[0] == 0 && g->inputs[1] == 1);
    CHECK(g->noutputs == 2 && g->outputs[0] == 6 && g->outputs[1] == 5);
    CHECK(g->nodes[2].op == SN_OP_PARAM && strcmp(sn_ir_str_get(g, g->nodes[2].name), "p") == 0);
    CHECK(g->nodes[3].op == SN_OP_RELU && g->nodes[3].in[0] == 0);
    CHECK(g->nodes[4].op == SN_OP_ADD && g->nodes[4].in[0] == 3 && g->nodes[4].in[1] == 2);
    CHECK(g->nodes[5].op == SN_OP_SIGMOID && g->nodes[5].in[0] == 4);
    CHECK(g->nodes[6].op == SN_OP_SUB && g->nodes[6].in[0] == 5 && g->nodes[6].in[1] == 4);
    CHECK(strcmp(sn_ir_str_get(g, g->nodes[6].src), "models/x.sn:1:1") == 0);
    CHECK((g->nodes[6].flags & SN_IR_NODE_OUTPUT) && (g->nodes[5].flags & SN_IR_NODE_OUTPUT));
    CHECK(sn_ir_find_param(g, "unused") == -1 && sn_ir_find_param(g, "p") == 2);
    CHECKF(sn_ir_verify(g, "compact", err, sizeof err) == SN_OK, "%s", err);
    CHECK(sn_ir_ref_run(g, ins, after, err, sizeof err) == SN_OK);
    CHECK(memcmp(before[0], after[0], sizeof X0) == 0 &&
          memcmp(before[1], after[1], sizeof X0) == 0);

    /* compacting again changes nothing */
    sn_ir_graph_compact(g);
    CHECK(g->nnodes == 7 && g->ninputs == 2 && g->outputs[0] == 6);

    /* a dead INPUT leaves graph->inputs too */
    g->nodes[1].flags |= SN_IR_NODE_DEAD;
    sn_ir_graph_compact(g);
    CHECK(g->nnodes == 6 && g->ninputs == 1 && g->inputs[0] == 0 && g->outputs[0] == 5);
    CHECKF(sn_ir_verify(g, "compact", err, sizeof err) == SN_OK, "%s", err);
    for (int i = 0; i < 2; i++) {
        free(before[i]);
        free(after[i]);
    }
    sn_ir_graph_free(g);
    return check_report("test_ir_compact");
}
