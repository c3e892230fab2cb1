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
 *  3. Final placement with the chosen bases: views and in-place producers derive their
 *     offsets and strides from them (views are always derived after their base's layout).
 */
#include "passes/passes_int.h"

#include <stdlib.h>

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
        if (base[i] != i || sn_pass_is_leaf(nd) || nd->shape.ndim != 4 || sn_pass_is_output(nd))
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
