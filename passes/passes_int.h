/* passes/passes_int.h — what the passes module's own files share. Nothing outside passes/
 * includes this. */
#ifndef SN_PASSES_INT_H
#define SN_PASSES_INT_H

#include "passes/passes.h"

/* ---------------------------------------------------------------- use lists */

/* Consumers of every node, CSR style: the live nodes that read node i are
 * list[start[i] .. start[i+1]) (a consumer reading i twice appears twice). Graph outputs are
 * not consumers; test SN_IR_NODE_OUTPUT. */
typedef struct sn_pass_uses {
    int32_t *start; /* nnodes + 1 */
    int32_t *list;
} sn_pass_uses;

sn_status sn_pass_uses_build(const sn_ir_graph *g, sn_pass_uses *u);
void sn_pass_uses_free(sn_pass_uses *u);
static inline int32_t sn_pass_uses_count(const sn_pass_uses *u, int32_t i) {
    return u->start[i + 1] - u->start[i];
}

/* ---------------------------------------------------------------- graph edits */

static inline int sn_pass_live(const sn_ir_node *n) { return !(n->flags & SN_IR_NODE_DEAD); }
/* INPUT, PARAM, CONST, ANCHORS: no inputs, no kernel. */
int sn_pass_is_leaf(const sn_ir_node *n);
/* SLICE, PERMUTE, RESHAPE: the ops that may be views. */
int sn_pass_is_view_op(sn_op op);
/* A graph output (listed in graph->outputs). */
static inline int sn_pass_is_output(const sn_ir_node *n) {
    return (n->flags & SN_IR_NODE_OUTPUT) != 0;
}

/* Every input slot of a live node that refers to `from` now refers to `to`; so does every
 * graph->outputs entry (the OUTPUT flag moves along). from must not be needed afterwards. */
void sn_pass_replace_uses(sn_ir_graph *g, int32_t from, int32_t to);

/* Restores topological order after a pass appended nodes that earlier nodes now read:
 * a stable reorder (each node moves only as far forward as its inputs need), remapping
 * inputs, graph->inputs and graph->outputs. Dead nodes keep their relative place.
 * SN_ERR_NOMEM, or SN_ERR_INVALID on a cycle. */
sn_status sn_pass_toposort(sn_ir_graph *g, char *err, size_t errlen);

/* Resets a node's placement annotations to "not placed": buf -1, offset 0, contiguous
 * row-major strides of its shape. */
void sn_pass_annot_reset(sn_ir_node *n);
void sn_pass_strides_contig(const sn_shape *s, int64_t *st);
/* NHWC strides of a 4-D NCHW logical shape: [H*W*C, 1, W*C, C]. */
void sn_pass_strides_nhwc(const sn_shape *s, int64_t *st);
/* Strides for viewing memory laid out as (from, fst) in row-major element order as shape
 * `to` (torch's view rule: only dims that are contiguous chunks of each other may merge or
 * split). Returns 1 and fills tst, or 0 when no strides can express it. */
int sn_pass_strides_reshape(const sn_shape *from, const int64_t *fst, const sn_shape *to,
                            int64_t *tst);
/* 1 + the largest element index a value of shape s with strides st touches (offset 0). */
int64_t sn_pass_extent(const sn_shape *s, const int64_t *st);

/* ---------------------------------------------------------------- groups */

/* Renumbers groups 0..G-1 in execution order (ascending index of each group's last member)
 * and returns G. Groups that lost all members vanish. */
int32_t sn_pass_groups_renumber(sn_ir_graph *g);

/* ---------------------------------------------------------------- placement
 *
 * Roles of live nodes, from ops and groups alone:
 *   LEAF     INPUT/PARAM/CONST/ANCHORS: their own storage, contiguous.
 *   INTERNAL a group member whose value never leaves its group (no storage: buf -1).
 *   ROOT     a compute node whose value escapes its group (used outside it, or a graph
 *            output): it is stored. Compute nodes with group -1 other than views and CONCAT
 *            count as roots too.
 *   VIEW     SLICE / PERMUTE / RESHAPE with group -1: a strided view of its input.
 *   INPLACE  CONCAT with group -1: owns a buffer its producers write into directly.
 * A ROOT or INPLACE node is a *base* (owns a buffer) unless an INPLACE concat claims it (it
 * then lives in that concat's slot: same storage, offset at its start, the concat's strides).
 */
typedef enum sn_pass_role {
    SN_PASS_ROLE_DEAD,
    SN_PASS_ROLE_LEAF,
    SN_PASS_ROLE_INTERNAL,
    SN_PASS_ROLE_ROOT,
    SN_PASS_ROLE_VIEW,
    SN_PASS_ROLE_INPLACE
} sn_pass_role;

/* Computes every live node's role (role[] has nnodes entries). */
sn_status sn_pass_roles(const sn_ir_graph *g, uint8_t *role);

/* Derives every live node's offset and strides from the bases (see above) and writes them
 * into the nodes; base[i] receives the node owning i's storage (-1 for INTERNAL / DEAD).
 * Base strides: `layout` given: layout[i] != 0 = NHWC for base i (4-D only), else contiguous;
 * layout NULL: keep each base's current strides. On failure (a view that strides cannot
 * express, or an in-place concat whose producers cannot all be placed in it) returns
 * SN_ERR_INVALID, sets *fail (if non-NULL) to the node responsible and leaves the
 * annotations partly written. */
sn_status sn_pass_place(sn_ir_graph *g, const uint8_t *layout, int32_t *base, int32_t *fail,
                        char *err, size_t errlen);

#endif /* SN_PASSES_INT_H */
