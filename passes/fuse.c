/* passes/fuse.c — fusion into groups (one group = one kernel), by op kinds and
 * post-dominators, never by op names.
 *
 * Algorithm (TVM's fuse_ops idea, restated for single-output groups):
 *  0. Every compute node (not a leaf, not a SLICE/PERMUTE/RESHAPE — those become views or
 *     copies in the views pass) starts as its own group. Eager mode (o->fuse == 0) stops here.
 *  1. Immediate post-dominators over the compute nodes, in reverse topological order:
 *     ipdom(n) = the lowest common ancestor, in the post-dominator tree built so far, of n's
 *     consumers; "none" when n is a graph output or is read by a view (its value must be
 *     stored, so it ends a group).
 *  2. Visiting nodes in reverse topological order (consumers first), n joins the group G of
 *     ipdom(n) when every consumer of n is already in G — so every path from n to its
 *     post-dominator lies inside G, G stays convex, and n's value never leaves G: each group
 *     has exactly one node whose value escapes (its root, the last member) — and the kinds
 *     allow it:
 *       - a REDUCE or OPAQUE group (softmax, maxpool, …) takes no producers;
 *       - with concat_in_place, a group rooted at a CONCAT takes no producers (it stays
 *         alone so the views pass can make it a buffer its producers write into);
 *       - n is ELEMWISE/BROADCAST: always, subject to the rules below;
 *       - n is INJECTIVE (concat, upsample, …): only into a group without an anchor;
 *       - n is OUT_EWISE_FUSABLE (conv, matmul): it becomes G's anchor, only if G has no
 *         anchor yet and every member of G is ELEMWISE/BROADCAST with n's shape (an epilogue
 *         evaluated in the anchor's own index space: bias/BN affine, activation, residual
 *         add of a tensor computed earlier);
 *       - n's elements are each used once per consumer: every consumer is ELEMWISE/BROADCAST
 *         of n's own shape (no broadcasting of n, which would recompute it), or a CONCAT;
 *         UPSAMPLE, REDUCE, OPAQUE and anchors never take n as an inlined input (no
 *         prologue fusion);
 *       - in an anchored group, n (pointwise) must have the anchor's shape.
 *  3. Groups are renumbered 0..G-1 in execution order (by root index).
 * Group shapes that result: conv/matmul + elementwise epilogue; a chain or DAG of pointwise
 * ops, possibly with injective ops (the Detect decode: sub/add/div/concat/mul); a REDUCE or
 * OPAQUE op alone; a CONCAT alone (in place later, or a copy kernel).
 */
#include "passes/passes_int.h"

#include <stdlib.h>
#include <string.h>

#define SINK (-2)

typedef struct ginfo {
    int32_t anchor;  /* OUT_EWISE_FUSABLE member or -1 */
    uint8_t closed;  /* takes no producers */
    uint8_t pw_only; /* every member ELEMWISE/BROADCAST (anchor aside) */
    uint8_t same;    /* every member has the root's shape */
} ginfo;

static int pointwise(sn_op_kind k) { return k == SN_OP_KIND_ELEMWISE || k == SN_OP_KIND_BROADCAST; }

static sn_op_kind kind_of(const sn_ir_node *n) { return sn_ir_op_info[n->op].kind; }

static int is_compute(const sn_ir_node *n) {
    return sn_pass_live(n) && !sn_pass_is_leaf(n) && !sn_pass_is_view_op(n->op);
}

/* Every consumer uses each of n's elements once (no recompute when n is inlined). */
static int inline_ok(const sn_ir_graph *g, const sn_pass_uses *u, int32_t n) {
    const sn_ir_node *nd = &g->nodes[n];
    for (int32_t k = u->start[n]; k < u->start[n + 1]; k++) {
        const sn_ir_node *c = &g->nodes[u->list[k]];
        if (c->op == SN_OP_CONCAT)
            continue;
        if (!pointwise(kind_of(c)) || !sn_shape_eq(&c->shape, &nd->shape))
            return 0;
    }
    return 1;
}

sn_status sn_pass_fuse(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t errlen) {
    int32_t n = g->nnodes;
    for (int32_t i = 0; i < n; i++) {
        sn_ir_node *nd = &g->nodes[i];
        nd->group = is_compute(nd) ? i : -1;
        sn_pass_annot_reset(nd);
    }
    free(g->bufs);
    g->bufs = NULL;
    g->nbufs = 0;
    g->arena_bytes = 0;
    if (!o->fuse) {
        if (sn_pass_groups_renumber(g) < 0)
            goto nomem;
        return SN_OK;
    }

    sn_pass_uses u;
    if (sn_pass_uses_build(g, &u) != SN_OK)
        goto nomem;
    int32_t *ipdom = malloc((size_t)(n + 1) * sizeof *ipdom);
    int32_t *depth = malloc((size_t)(n + 1) * sizeof *depth);
    ginfo *gi = malloc((size_t)(n + 1) * sizeof *gi);
    if (!ipdom || !depth || !gi) {
        free(ipdom);
        free(depth);
        free(gi);
        sn_pass_uses_free(&u);
        goto nomem;
    }

    /* 1. post-dominators */
    for (int32_t i = n - 1; i >= 0; i--) {
        const sn_ir_node *nd = &g->nodes[i];
        ipdom[i] = SINK;
        depth[i] = 0;
        if (!is_compute(nd))
            continue;
        int32_t p = -1;
        int ok = !sn_pass_is_output(nd) && sn_pass_uses_count(&u, i) > 0;
        for (int32_t k = u.start[i]; ok && k < u.start[i + 1]; k++) {
            int32_t c = u.list[k];
            if (!is_compute(&g->nodes[c])) {
                ok = 0;
                break;
            }
            if (p < 0) {
                p = c;
                continue;
            }
            int32_t a = p, b = c; /* LCA in the post-dominator tree */
            while (a != b && a != SINK && b != SINK) {
                if (depth[a] < depth[b]) {
                    int32_t t = a;
                    a = b;
                    b = t;
                }
                a = ipdom[a];
            }
            p = (a == b) ? a : SINK;
            if (p == SINK)
                ok = 0;
        }
        if (ok && p >= 0) {
            ipdom[i] = p;
            depth[i] = depth[p] + 1;
        }
    }

    /* 2. join groups, consumers first */
    for (int32_t i = 0; i < n; i++) {
        const sn_ir_node *nd = &g->nodes[i];
        gi[i].anchor = kind_of(nd) == SN_OP_KIND_OUT_EWISE_FUSABLE ? i : -1;
        gi[i].closed = kind_of(nd) == SN_OP_KIND_REDUCE || kind_of(nd) == SN_OP_KIND_OPAQUE ||
                       (o->concat_in_place && nd->op == SN_OP_CONCAT);
        gi[i].pw_only = pointwise(kind_of(nd));
        gi[i].same = 1;
    }
    for (int32_t i = n - 1; i >= 0; i--) {
        sn_ir_node *nd = &g->nodes[i];
        if (!is_compute(nd) || ipdom[i] < 0)
            continue;
        int32_t G = g->nodes[ipdom[i]].group;
        int all_in = 1;
        for (int32_t k = u.start[i]; k < u.start[i + 1]; k++)
            if (g->nodes[u.list[k]].group != G)
                all_in = 0;
        if (!all_in || gi[G].closed || !inline_ok(g, &u, i))
            continue;
        const sn_shape *rs = &g->nodes[G].shape; /* G is its root's index */
        int same = sn_shape_eq(&nd->shape, rs);
        sn_op_kind k = kind_of(nd);
        if (pointwise(k)) {
            if (gi[G].anchor >= 0 && !same)
                continue;
        } else if (k == SN_OP_KIND_INJECTIVE) {
            if (gi[G].anchor >= 0)
                continue;
            gi[G].pw_only = 0;
        } else if (k == SN_OP_KIND_OUT_EWISE_FUSABLE) {
            if (gi[G].anchor >= 0 || !gi[G].pw_only || !gi[G].same || !same)
                continue;
            gi[G].anchor = i;
        } else {
            continue;
        }
        if (!same)
            gi[G].same = 0;
        nd->group = G;
    }
    free(ipdom);
    free(depth);
    free(gi);
    sn_pass_uses_free(&u);
    if (sn_pass_groups_renumber(g) < 0)
        goto nomem;
    return SN_OK;
nomem:
    sn_errf(err, errlen, "fuse: out of memory");
    return SN_ERR_NOMEM;
}
