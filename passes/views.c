/* passes/views.c — slices, permutes and reshapes as views; concats in place.
 *
 * Algorithm:
 *  1. Start from fuse's result: undo this pass's own earlier decisions (a view op with a group
 *     is a copy this pass made; a concat with group -1 is one it put in place) so that running
 *     it again decides the same things again.
 *  2. Every SLICE / PERMUTE / RESHAPE (group -1 after fuse) is a view, except a graph output
 *     (it must fill the output buffer, so it is a copy kernel) and a reshape that its input's
 *     strides cannot express (found by sn_pass_place; it becomes a copy kernel, and placement
 *     is retried until every remaining view is expressible).
 *  3. With o->concat_in_place: each CONCAT that is alone in its group, outermost (latest)
 *     first, is tried in place: group -1, then sn_pass_place checks that every producer can
 *     write straight into its slot (a kernel output that is neither a graph output nor claimed
 *     by another concat; consecutive slices covering one value — C2f's split — place that
 *     value; a reshape view places its source). If not, the concat stays a copy kernel.
 *  4. Groups are renumbered in execution order; offsets and strides are written for
 *     contiguous bases (the layout pass may then switch bases to NHWC).
 */
#include "passes/passes_int.h"

#include <stdlib.h>
#include <string.h>

sn_status sn_pass_views(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t errlen) {
    int32_t n = g->nnodes;
    sn_status st = SN_ERR_NOMEM;
    uint8_t *zero = calloc((size_t)n + 1, 1);
    int32_t *members = NULL;
    if (!zero)
        goto out;

    /* 1. undo */
    int32_t fresh = 0;
    for (int32_t i = 0; i < n; i++)
        if (sn_pass_live(&g->nodes[i]) && g->nodes[i].group >= fresh)
            fresh = g->nodes[i].group + 1;
    for (int32_t i = 0; i < n; i++) {
        sn_ir_node *nd = &g->nodes[i];
        if (!sn_pass_live(nd) || sn_pass_is_leaf(nd))
            continue;
        if (sn_pass_is_view_op(nd->op))
            nd->group = -1;
        else if (nd->op == SN_OP_CONCAT && nd->group < 0)
            nd->group = fresh++;
    }

    /* 2. views, except outputs and inexpressible reshapes */
    for (int32_t i = 0; i < n; i++) {
        sn_ir_node *nd = &g->nodes[i];
        if (sn_pass_live(nd) && sn_pass_is_view_op(nd->op) && sn_pass_is_output(nd))
            nd->group = fresh++;
    }
    for (;;) {
        int32_t fail = -1;
        st = sn_pass_place(g, zero, NULL, &fail, err, errlen);
        if (st == SN_OK)
            break;
        if (st != SN_ERR_INVALID || fail < 0 || !sn_pass_is_view_op(g->nodes[fail].op) ||
            g->nodes[fail].group >= 0)
            goto out;
        g->nodes[fail].group = fresh++;
    }

    /* 3. concats in place, outermost first */
    if (o->concat_in_place) {
        members = calloc((size_t)fresh + 1, sizeof *members);
        if (!members) {
            st = SN_ERR_NOMEM;
            goto out;
        }
        for (int32_t i = 0; i < n; i++)
            if (sn_pass_live(&g->nodes[i]) && g->nodes[i].group >= 0)
                members[g->nodes[i].group]++;
        for (int32_t c = n - 1; c >= 0; c--) {
            sn_ir_node *cn = &g->nodes[c];
            if (!sn_pass_live(cn) || cn->op != SN_OP_CONCAT || cn->group < 0)
                continue;
            if (members[cn->group] != 1)
                continue;
            int32_t keep = cn->group;
            cn->group = -1;
            st = sn_pass_place(g, zero, NULL, NULL, NULL, 0);
            if (st == SN_ERR_NOMEM)
                goto out;
            if (st != SN_OK)
                cn->group = keep;
        }
    }

    /* 4. */
    if (sn_pass_groups_renumber(g) < 0) {
        st = SN_ERR_NOMEM;
        goto out;
    }
    st = sn_pass_place(g, zero, NULL, NULL, err, errlen);
out:
    if (st == SN_ERR_NOMEM)
        sn_errf(err, errlen, "views: out of memory");
    free(zero);
    free(members);
    return st;
}
