/* passes/layout.c — activation layout: the strides of every base buffer.
 *
 * Algorithm:
 *  1. Place everything with contiguous (NCHW, row-major) bases; this finds the bases: values
 *     that own storage (kernel outputs not placed inside a concat, in-place concats).
 *  2. o->layout NHWC: in topological order, each base that is a 4-D arena value (not a graph
 *     input or output, not a weight) switches to NHWC strides [H*W*C, 1, W*C, C] (logical
 *     shape unchanged) if every value derived from it — views, producers placed in its slots
 *     — can still be expressed (sn_pass_place succeeds); otherwise it stays NCHW (e.g. an
 *     attention matmul result reshaped across channels). Graph inputs and outputs stay
 *     contiguous NCHW, so no conversion kernel is needed anywhere: the first conv reads the
 *     NCHW input through its strides and the last kernels write NCHW outputs.
 *     Only image activations switch: not the result of a matmul or softmax (attention
 *     scores, e.g. yolo11's C2PSA [1,heads,N,N], and the DFL softmax), nor an elementwise
 *     op's result of the same shape computed from one (the scaled scores). Their innermost
 *     dim is what their kernels reduce or vectorise over; NHWC strides would put the lanes
 *     along the heads.
 *  3. Final placement with the chosen bases: views and in-place producers derive their
 *     offsets and strides from them (views are always derived after their base's layout).
 */
#include "passes/passes_int.h"

#include <stdlib.h>
#include <string.h>

/* A matmul or softmax result, or an elementwise result of the same shape computed directly
 * from one: values laid out for their last dim, never NHWC. */
static int is_attention(const sn_ir_graph *g, const sn_ir_node *nd) {
    if (nd->op == SN_OP_MATMUL || nd->op == SN_OP_SOFTMAX)
        return 1;
    if (sn_ir_op_info[nd->op].kind > SN_OP_KIND_BROADCAST)
        return 0;
    for (int32_t j = 0; j < nd->nin; j++) {
        const sn_ir_node *in = &g->nodes[nd->in[j]];
        if ((in->op == SN_OP_MATMUL || in->op == SN_OP_SOFTMAX) &&
            in->shape.ndim == nd->shape.ndim &&
            !memcmp(in->shape.d, nd->shape.d, sizeof(int64_t) * (size_t)nd->shape.ndim))
            return 1;
    }
    return 0;
}

sn_status sn_pass_layout_assign(sn_ir_graph *g, const sn_pass_options *o, char *err,
                                size_t errlen) {
    int32_t n = g->nnodes;
    sn_status st = SN_ERR_NOMEM;
    uint8_t *lay = calloc((size_t)n + 1, 1);
    int32_t *base = malloc(((size_t)n + 1) * sizeof *base);
    if (!lay || !base)
        goto out;
    st = sn_pass_place(g, lay, base, NULL, err, errlen);
    if (st != SN_OK || o->layout != SN_PASS_LAYOUT_NHWC)
        goto out;
    for (int32_t i = 0; i < n; i++) {
        const sn_ir_node *nd = &g->nodes[i];
        if (base[i] != i || sn_pass_is_leaf(nd) || nd->shape.ndim != 4 || sn_pass_is_output(nd) ||
            is_attention(g, nd))
            continue;
        lay[i] = 1;
        st = sn_pass_place(g, lay, NULL, NULL, NULL, 0);
        if (st == SN_ERR_NOMEM)
            goto out;
        if (st != SN_OK)
            lay[i] = 0;
    }
    st = sn_pass_place(g, lay, NULL, NULL, err, errlen);
out:
    if (st == SN_ERR_NOMEM)
        sn_errf(err, errlen, "layout: out of memory");
    free(lay);
    free(base);
    return st;
}
