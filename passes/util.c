/* passes/util.c — helpers the passes share: use lists, use replacement, topological
 * re-sorting after appends, stride arithmetic, group renumbering. */
#include "passes/passes_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- use lists */

sn_status sn_pass_uses_build(const sn_ir_graph *g, sn_pass_uses *u) {
    int32_t n = g->nnodes;
    u->start = calloc((size_t)n + 1, sizeof *u->start);
    int64_t total = 0;
    for (int32_t i = 0; i < n; i++)
        if (sn_pass_live(&g->nodes[i]))
            total += g->nodes[i].nin;
    u->list = malloc((size_t)(total ? total : 1) * sizeof *u->list);
    int32_t *fill = calloc((size_t)n + 1, sizeof *fill);
    if (!u->start || !u->list || !fill) {
        free(fill);
        sn_pass_uses_free(u);
        return SN_ERR_NOMEM;
    }
    for (int32_t i = 0; i < n; i++) {
        const sn_ir_node *nd = &g->nodes[i];
        if (!sn_pass_live(nd))
            continue;
        for (int j = 0; j < nd->nin; j++)
            u->start[nd->in[j] + 1]++;
    }
    for (int32_t i = 0; i < n; i++)
        u->start[i + 1] += u->start[i];
    for (int32_t i = 0; i < n; i++) {
        const sn_ir_node *nd = &g->nodes[i];
        if (!sn_pass_live(nd))
            continue;
        for (int j = 0; j < nd->nin; j++) {
            int32_t x = nd->in[j];
            u->list[u->start[x] + fill[x]++] = i;
        }
    }
    free(fill);
    return SN_OK;
}

void sn_pass_uses_free(sn_pass_uses *u) {
    free(u->start);
    free(u->list);
    u->start = u->list = NULL;
}

/* ---------------------------------------------------------------- node classes */

int sn_pass_is_leaf(const sn_ir_node *n) {
    return n->op == SN_OP_INPUT || (sn_ir_op_info[n->op].flags & SN_OPF_LEAF) != 0;
}

int sn_pass_is_view_op(sn_op op) {
    return op == SN_OP_SLICE || op == SN_OP_PERMUTE || op == SN_OP_RESHAPE;
}

/* ---------------------------------------------------------------- graph edits */

void sn_pass_replace_uses(sn_ir_graph *g, int32_t from, int32_t to) {
    for (int32_t i = 0; i < g->nnodes; i++) {
        sn_ir_node *n = &g->nodes[i];
        if (!sn_pass_live(n))
            continue;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] == from)
                n->in[j] = to;
    }
    for (int32_t k = 0; k < g->noutputs; k++)
        if (g->outputs[k] == from) {
            g->outputs[k] = to;
            g->nodes[to].flags |= SN_IR_NODE_OUTPUT;
            g->nodes[from].flags &= ~SN_IR_NODE_OUTPUT;
        }
}

sn_status sn_pass_toposort(sn_ir_graph *g, char *err, size_t errlen) {
    int32_t n = g->nnodes;
    if (n == 0)
        return SN_OK;
    int32_t *order = malloc((size_t)n * sizeof *order);
    int32_t *map = malloc((size_t)n * sizeof *map);
    uint8_t *state = calloc((size_t)n, 1); /* 0 new, 1 on the stack, 2 emitted */
    int32_t *stk = malloc((size_t)n * sizeof *stk), *cur = malloc((size_t)n * sizeof *cur);
    sn_ir_node *nodes = NULL;
    sn_status st = SN_ERR_NOMEM;
    if (!order || !map || !state || !stk || !cur)
        goto out;
    int32_t m = 0;
    for (int32_t r = 0; r < n; r++) {
        if (state[r])
            continue;
        int32_t sp = 0;
        stk[sp] = r;
        cur[sp++] = 0;
        state[r] = 1;
        while (sp > 0) {
            int32_t t = stk[sp - 1];
            const sn_ir_node *nd = &g->nodes[t];
            int nin = sn_pass_live(nd) ? nd->nin : 0;
            if (cur[sp - 1] < nin) {
                int32_t x = nd->in[cur[sp - 1]++];
                if (state[x] == 2)
                    continue;
                if (state[x] == 1) {
                    sn_errf(err, errlen, "toposort: cycle through %%%d", (int)x);
                    st = SN_ERR_INVALID;
                    goto out;
                }
                state[x] = 1;
                stk[sp] = x;
                cur[sp++] = 0;
                continue;
            }
            state[t] = 2;
            order[m++] = t;
            sp--;
        }
    }
    st = SN_OK;
    int same = 1;
    for (int32_t i = 0; i < n; i++) {
        map[order[i]] = i;
        if (order[i] != i)
            same = 0;
    }
    if (same)
        goto out;
    nodes = malloc((size_t)g->cap * sizeof *nodes);
    if (!nodes) {
        st = SN_ERR_NOMEM;
        goto out;
    }
    for (int32_t i = 0; i < n; i++) {
        nodes[i] = g->nodes[order[i]];
        for (int j = 0; j < nodes[i].nin; j++)
            nodes[i].in[j] = map[nodes[i].in[j]];
    }
    free(g->nodes);
    g->nodes = nodes;
    for (int32_t k = 0; k < g->ninputs; k++)
        g->inputs[k] = map[g->inputs[k]];
    for (int32_t k = 0; k < g->noutputs; k++)
        g->outputs[k] = map[g->outputs[k]];
out:
    free(order);
    free(map);
    free(state);
    free(stk);
    free(cur);
    return st;
}

/* ---------------------------------------------------------------- strides */

void sn_pass_strides_contig(const sn_shape *s, int64_t *st) {
    int64_t acc = 1;
    for (int k = SN_MAX_DIMS - 1; k >= 0; k--)
        st[k] = 0;
    for (int k = s->ndim - 1; k >= 0; k--) {
        st[k] = acc;
        acc *= s->d[k];
    }
}

void sn_pass_strides_nhwc(const sn_shape *s, int64_t *st) {
    sn_pass_strides_contig(s, st);
    if (s->ndim != 4)
        return;
    int64_t C = s->d[1], H = s->d[2], W = s->d[3];
    st[0] = H * W * C;
    st[1] = 1;
    st[2] = W * C;
    st[3] = C;
}

void sn_pass_annot_reset(sn_ir_node *n) {
    n->buf = -1;
    n->offset = 0;
    sn_pass_strides_contig(&n->shape, n->stride);
}

/* Walks both shapes from the innermost dim, cutting `from` into chunks: maximal runs of dims
 * that are contiguous with each other in memory (stride[k-1] == d[k] * stride[k], size-1
 * dims ignored). Each chunk of `from` must be covered exactly by a run of `to` dims, which
 * then get row-major strides over the chunk's innermost stride. */
int sn_pass_strides_reshape(const sn_shape *from, const int64_t *fst, const sn_shape *to,
                            int64_t *tst) {
    if (sn_shape_numel(from) != sn_shape_numel(to))
        return 0;
    for (int k = 0; k < SN_MAX_DIMS; k++)
        tst[k] = 0;
    if (to->ndim == 0)
        return 1;
    if (from->ndim == 0) {
        sn_pass_strides_contig(to, tst);
        return 1;
    }
    int vd = to->ndim - 1;
    int64_t base = fst[from->ndim - 1];
    int64_t chunk = 1, vchunk = 1;
    for (int d = from->ndim - 1; d >= 0; d--) {
        chunk *= from->d[d];
        int chunk_ends = d == 0 || (from->d[d - 1] != 1 && fst[d - 1] != chunk * base);
        if (!chunk_ends)
            continue;
        while (vd >= 0 && (vchunk < chunk || to->d[vd] == 1)) {
            tst[vd] = vchunk * base;
            vchunk *= to->d[vd];
            vd--;
        }
        if (vchunk != chunk)
            return 0;
        if (d > 0) {
            base = fst[d - 1];
            chunk = 1;
            vchunk = 1;
        }
    }
    return vd == -1;
}

int64_t sn_pass_extent(const sn_shape *s, const int64_t *st) {
    int64_t e = 1;
    for (int k = 0; k < s->ndim; k++)
        e += (s->d[k] - 1) * st[k];
    return e;
}

/* ---------------------------------------------------------------- groups */

int32_t sn_pass_groups_renumber(sn_ir_graph *g) {
    int32_t maxg = -1;
    for (int32_t i = 0; i < g->nnodes; i++)
        if (sn_pass_live(&g->nodes[i]) && g->nodes[i].group > maxg)
            maxg = g->nodes[i].group;
    if (maxg < 0)
        return 0;
    int32_t *last = malloc((size_t)(maxg + 1) * sizeof *last);
    if (!last)
        return -1;
    for (int32_t k = 0; k <= maxg; k++)
        last[k] = -1;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (sn_pass_live(n) && n->group >= 0)
            last[n->group] = i;
    }
    /* a group's new id = how many groups end before it; ends are distinct node indices */
    int32_t *newid = malloc((size_t)(maxg + 1) * sizeof *newid);
    int32_t *byend = malloc((size_t)g->nnodes * sizeof *byend);
    if (!newid || !byend) {
        free(last);
        free(newid);
        free(byend);
        return -1;
    }
    for (int32_t i = 0; i < g->nnodes; i++)
        byend[i] = -1;
    for (int32_t k = 0; k <= maxg; k++)
        if (last[k] >= 0)
            byend[last[k]] = k;
    int32_t next = 0;
    for (int32_t i = 0; i < g->nnodes; i++)
        if (byend[i] >= 0)
            newid[byend[i]] = next++;
    for (int32_t i = 0; i < g->nnodes; i++) {
        sn_ir_node *n = &g->nodes[i];
        if (!sn_pass_live(n))
            continue;
        if (n->group >= 0)
            n->group = newid[n->group];
    }
    free(last);
    free(newid);
    free(byend);
    return next;
}
