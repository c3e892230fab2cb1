/* tests/common/check_ir.h — test helpers over the IR (ir/ir.h), for the tests of the modules
 * that may see it (everything but the runtime). */
#ifndef SN_TEST_COMMON_CHECK_IR_H
#define SN_TEST_COMMON_CHECK_IR_H

#include "ir/ir.h"
#include "tests/common/check.h"

static inline sn_shape shape_of_dims(int nd, const int64_t *d) {
    sn_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = nd;
    for (int i = 0; i < nd; i++)
        s.d[i] = d[i];
    return s;
}
/* SHAPE(1, 3, 64, 64): an sn_shape from its dimensions; shape0(): a scalar's */
#define SHAPE(...)                                                                                 \
    shape_of_dims((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)),                       \
                  (int64_t[]){__VA_ARGS__})
static inline sn_shape shape0(void) {
    sn_shape s;
    memset(&s, 0, sizeof s);
    return s;
}

/* A new graph input "in<k>" (k = the inputs so far) of shape s; CHECKs that it was made. */
static inline int32_t inp(sn_ir_graph *g, sn_shape s) {
    char name[32];
    snprintf(name, sizeof name, "in%d", (int)g->ninputs);
    int32_t n = sn_ir_input(g, name, &s);
    CHECK(n >= 0);
    return n;
}

/* Live nodes of g with op op. */
static inline int count_op(const sn_ir_graph *g, sn_op op) {
    int c = 0;
    for (int32_t i = 0; i < g->nnodes; i++)
        if (!(g->nodes[i].flags & SN_IR_NODE_DEAD) && g->nodes[i].op == op)
            c++;
    return c;
}

#endif
