/* passes/place.c — where every value lives: roles, claims of in-place concats, view strides.
 *
 * Algorithm (shared by views, layout and plan-memory, so each can re-derive everything from
 * the graph's ops and groups and never keeps stale placements):
 *  1. Roles (see passes_int.h): LEAF, INTERNAL (a group member used only inside its group),
 *     ROOT (stored compute value), VIEW (slice/permute/reshape with group -1), INPLACE (concat
 *     with group -1).
 *  2. Claims, in reverse topological order so an outer concat is placed before the concats
 *     and producers inside it. An INPLACE concat C has a location (its own buffer, or the slot
 *     a later concat gave it). For each input slot [s, e) along the axis, the slot location is
 *     (C's offset + s * C.stride[axis], C's strides). The input's producer is claimed for it:
 *       - a ROOT or INPLACE input (not a graph output) takes the slot location;
 *       - consecutive SLICE views (step 1, along the same axis) that together cover a ROOT
 *         value y in order (C2f: y = cv1(x), concat([y[:c], y[c:], m0, …])) place y at the
 *         start of their first slot;
 *       - a RESHAPE view of a ROOT value y places y at the slot with the strides that view
 *         the slot as y's shape (Detect: concat([reshape(cat_i), …], 2)).
 *     Anything else (a leaf, a value already claimed by another concat, a view that cannot
 *     be inverted) fails the concat: its caller keeps it a copy kernel.
 *  3. Forward, in topological order: leaves get their own contiguous storage; a claimed value
 *     gets its claim (base = the outermost concat); an unclaimed ROOT/INPLACE is a base with
 *     contiguous or NHWC strides (or its current ones); a VIEW derives from its input:
 *     slice adds start*stride to the offset and multiplies the axis stride by step, permute
 *     permutes strides, reshape uses sn_pass_strides_reshape (failure = the view is not
 *     expressible).
 *  4. Check: every INPLACE concat's inputs ended up exactly in their slots (same base, offset
 *     and strides on dims of size > 1).
 */
#include "passes/passes_int.h"

#include <stdlib.h>
#include <string.h>

sn_status sn_pass_roles(const sn_ir_graph *g, uint8_t *role) {
    int32_t n = g->nnodes;
    uint8_t *used = calloc((size_t)n + 1, 1);
    if (!used)
        return SN_ERR_NOMEM;
    for (int32_t i = 0; i < n; i++) {
        const sn_ir_node *nd = &g->nodes[i];
        if (!sn_pass_live(nd)) {
            role[i] = SN_PASS_ROLE_DEAD;
        } else if (sn_pass_is_leaf(nd)) {
            role[i] = SN_PASS_ROLE_LEAF;
        } else if (nd->group < 0 && sn_pass_is_view_op(nd->op)) {
            role[i] = SN_PASS_ROLE_VIEW;
        } else if (nd->group < 0 && nd->op == SN_OP_CONCAT) {
            role[i] = SN_PASS_ROLE_INPLACE;
        } else if (nd->group < 0 || sn_pass_is_output(nd)) {
            role[i] = SN_PASS_ROLE_ROOT;
        } else {
            role[i] = SN_PASS_ROLE_INTERNAL;
        }
    }
    for (int32_t j = 0; j < n; j++) {
        const sn_ir_node *nd = &g->nodes[j];
        if (!sn_pass_live(nd))
            continue;
        for (int k = 0; k < nd->nin; k++) {
            int32_t x = nd->in[k];
            used[x] = 1;
            if (role[x] == SN_PASS_ROLE_INTERNAL && g->nodes[x].group != nd->group)
                role[x] = SN_PASS_ROLE_ROOT;
        }
    }
    for (int32_t i = 0; i < n; i++)
        if (role[i] == SN_PASS_ROLE_INTERNAL && !used[i])
            role[i] = SN_PASS_ROLE_ROOT;
    free(used);
    return SN_OK;
}

typedef struct claim {
    int32_t by; /* the concat, -1 = unclaimed */
    int64_t off;
    int64_t st[SN_MAX_DIMS];
} claim;

static int stored(uint8_t r) { return r == SN_PASS_ROLE_ROOT || r == SN_PASS_ROLE_INPLACE; }

static int claim_put(claim *cl, int32_t x, int32_t by, int64_t off, const int64_t *st) {
    if (cl[x].by >= 0)
        return 0;
    cl[x].by = by;
    cl[x].off = off;
    memcpy(cl[x].st, st, sizeof cl[x].st);
    return 1;
}

/* Claims the producers of in-place concat c (location off/st); 0 = not possible. */
static int claim_inputs(const sn_ir_graph *g, const uint8_t *role, claim *cl, int32_t c,
                        int64_t off, const int64_t *st, const char **why) {
    const sn_ir_node *cn = &g->nodes[c];
    int64_t axis = cn->ia[0], s = 0;
    for (int k = 0; k < cn->nin; k++) {
        int32_t x = cn->in[k];
        const sn_ir_node *xn = &g->nodes[x];
        int64_t slot = off + s * st[axis];
        if (stored(role[x]) && !sn_pass_is_output(xn)) {
            if (!claim_put(cl, x, c, slot, st)) {
                *why = "a producer is already placed in another concat";
                return 0;
            }
            s += xn->shape.d[axis];
            continue;
        }
        if (role[x] == SN_PASS_ROLE_VIEW && xn->op == SN_OP_SLICE) {
            int32_t y = xn->in[0];
            const sn_ir_node *yn = &g->nodes[y];
            int64_t want = 0;
            int kk = k;
            while (kk < cn->nin) {
                const sn_ir_node *v = &g->nodes[cn->in[kk]];
                if (role[cn->in[kk]] != SN_PASS_ROLE_VIEW || v->op != SN_OP_SLICE ||
                    v->in[0] != y || v->ia[0] != axis || v->ia[3] != 1 || v->ia[1] != want)
                    break;
                int64_t end = v->ia[2] < yn->shape.d[axis] ? v->ia[2] : yn->shape.d[axis];
                want = end;
                kk++;
                if (want == yn->shape.d[axis])
                    break;
            }
            if (kk == k || want != yn->shape.d[axis] || !stored(role[y]) || sn_pass_is_output(yn)) {
                *why = "its slices do not cover their source in order";
                return 0;
            }
            if (!claim_put(cl, y, c, slot, st)) {
                *why = "a sliced producer is already placed in another concat";
                return 0;
            }
            s += yn->shape.d[axis];
            k = kk - 1;
            continue;
        }
        if (role[x] == SN_PASS_ROLE_VIEW && xn->op == SN_OP_RESHAPE) {
            int32_t y = xn->in[0];
            const sn_ir_node *yn = &g->nodes[y];
            int64_t yst[SN_MAX_DIMS];
            if (!stored(role[y]) || sn_pass_is_output(yn) ||
                !sn_pass_strides_reshape(&xn->shape, st, &yn->shape, yst)) {
                *why = "a reshaped producer cannot be placed in its slot";
                return 0;
            }
            if (!claim_put(cl, y, c, slot, yst)) {
                *why = "a reshaped producer is already placed in another concat";
                return 0;
            }
            s += xn->shape.d[axis];
            continue;
        }
        *why = "an input is not a kernel's output (a leaf, a graph output or another view)";
        return 0;
    }
    return 1;
}

static int same_place(const sn_ir_node *a, int32_t abase, int32_t bbase, int64_t boff,
                      const int64_t *bst) {
    if (abase != bbase || a->offset != boff)
        return 0;
    for (int k = 0; k < a->shape.ndim; k++)
        if (a->shape.d[k] > 1 && a->stride[k] != bst[k])
            return 0;
    return 1;
}

sn_status sn_pass_place(sn_ir_graph *g, const uint8_t *layout, int32_t *base, int32_t *fail,
                        char *err, size_t errlen) {
    int32_t n = g->nnodes;
    sn_status st = SN_ERR_NOMEM;
    uint8_t *role = malloc((size_t)n + 1);
    claim *cl = malloc(((size_t)n + 1) * sizeof *cl);
    int32_t *own = base ? NULL : malloc(((size_t)n + 1) * sizeof *own);
    if (!base)
        base = own;
    if (fail)
        *fail = -1;
    if (!role || !cl || !base)
        goto out;
    if ((st = sn_pass_roles(g, role)) != SN_OK)
        goto out;
    for (int32_t i = 0; i < n; i++)
        cl[i].by = -1;

    /* 2. claims, outermost concat first */
    for (int32_t c = n - 1; c >= 0; c--) {
        if (role[c] != SN_PASS_ROLE_INPLACE)
            continue;
        sn_ir_node *cn = &g->nodes[c];
        int64_t off = 0, cst[SN_MAX_DIMS];
        if (cl[c].by >= 0) {
            off = cl[c].off;
            memcpy(cst, cl[c].st, sizeof cst);
        } else if (layout) {
            if (layout[c] && cn->shape.ndim == 4)
                sn_pass_strides_nhwc(&cn->shape, cst);
            else
                sn_pass_strides_contig(&cn->shape, cst);
        } else {
            memcpy(cst, cn->stride, sizeof cst);
        }
        const char *why = "";
        if (!claim_inputs(g, role, cl, c, off, cst, &why)) {
            if (fail)
                *fail = c;
            sn_errf(err, errlen, "concat %%%d cannot be done in place: %s", (int)c, why);
            st = SN_ERR_INVALID;
            goto out;
        }
    }

    /* 3. forward */
    for (int32_t i = 0; i < n; i++) {
        sn_ir_node *nd = &g->nodes[i];
        switch ((sn_pass_role)role[i]) {
        case SN_PASS_ROLE_DEAD:
            base[i] = -1;
            break;
        case SN_PASS_ROLE_LEAF:
            base[i] = i;
            nd->offset = 0;
            sn_pass_strides_contig(&nd->shape, nd->stride);
            break;
        case SN_PASS_ROLE_INTERNAL:
            base[i] = -1;
            nd->offset = 0;
            sn_pass_strides_contig(&nd->shape, nd->stride);
            break;
        case SN_PASS_ROLE_ROOT:
        case SN_PASS_ROLE_INPLACE:
            if (cl[i].by >= 0) {
                int32_t top = i;
                while (cl[top].by >= 0)
                    top = cl[top].by;
                base[i] = top;
                nd->offset = cl[i].off;
                memcpy(nd->stride, cl[i].st, sizeof nd->stride);
            } else {
                base[i] = i;
                nd->offset = 0;
                if (layout) {
                    if (layout[i] && nd->shape.ndim == 4)
                        sn_pass_strides_nhwc(&nd->shape, nd->stride);
                    else
                        sn_pass_strides_contig(&nd->shape, nd->stride);
                }
            }
            break;
        case SN_PASS_ROLE_VIEW: {
            int32_t x = nd->in[0];
            const sn_ir_node *xn = &g->nodes[x];
            base[i] = base[x];
            if (base[x] < 0) {
                if (fail)
                    *fail = i;
                sn_errf(err, errlen, "view %%%d reads %%%d, which has no storage", (int)i, (int)x);
                st = SN_ERR_INVALID;
                goto out;
            }
            int64_t vst[SN_MAX_DIMS] = {0};
            int64_t off = xn->offset;
            if (nd->op == SN_OP_SLICE) {
                memcpy(vst, xn->stride, sizeof vst);
                off += nd->ia[1] * xn->stride[nd->ia[0]];
                vst[nd->ia[0]] *= nd->ia[3];
            } else if (nd->op == SN_OP_PERMUTE) {
                for (int k = 0; k < nd->nia; k++)
                    vst[k] = xn->stride[nd->ia[k]];
            } else if (!sn_pass_strides_reshape(&xn->shape, xn->stride, &nd->shape, vst)) {
                if (fail)
                    *fail = i;
                sn_errf(err, errlen, "reshape %%%d cannot be a view of %%%d's strides", (int)i,
                        (int)x);
                st = SN_ERR_INVALID;
                goto out;
            }
            nd->offset = off;
            memcpy(nd->stride, vst, sizeof nd->stride);
            break;
        }
        }
    }

    /* 4. every in-place concat's inputs sit in their slots */
    for (int32_t c = 0; c < n; c++) {
        if (role[c] != SN_PASS_ROLE_INPLACE)
            continue;
        const sn_ir_node *cn = &g->nodes[c];
        int64_t axis = cn->ia[0], s = 0;
        for (int k = 0; k < cn->nin; k++) {
            const sn_ir_node *xn = &g->nodes[cn->in[k]];
            if (!same_place(xn, base[cn->in[k]], base[c], cn->offset + s * cn->stride[axis],
                            cn->stride)) {
                if (fail)
                    *fail = c;
                sn_errf(err, errlen,
                        "concat %%%d cannot be done in place: input %%%d does not land "
                        "in its slot",
                        (int)c, (int)cn->in[k]);
                st = SN_ERR_INVALID;
                goto out;
            }
            s += xn->shape.d[axis];
        }
    }
    st = SN_OK;
out:
    free(role);
    free(cl);
    free(own);
    return st;
}
