/* passes/memplan.c — the memory plan: buffers, liveness, arena offsets.
 *
 * Algorithm:
 *  1. Placement (sn_pass_place, keeping the strides layout chose) gives every stored value its
 *     base: the node owning its storage. Buffers, in this order: one INPUT buffer per graph
 *     input, one OUTPUT buffer per graph output (the base of an output is the output node:
 *     outputs are never views or claimed), one CONST buffer per PARAM/CONST/ANCHORS node,
 *     then one ARENA buffer per remaining base (a kernel output, or an in-place concat that
 *     its producers write into). Views and in-place producers share their base's buffer.
 *     A buffer holds extent(base shape, base strides) elements.
 *  2. Liveness over group execution order: an arena buffer is live from the first group that
 *     writes into it to the last group that reads any value stored in it (views included, so
 *     a view extends its base's life). Intervals are inclusive: a group's inputs and output
 *     are live together.
 *  3. Offsets: greedy by size, best fit — buffers sorted by size (largest first; ties by
 *     first use, then index); each goes into the smallest gap, among the buffers already
 *     placed whose intervals overlap its own, that holds it, else above them all. Sizes and
 *     offsets are 64-byte aligned; graph->arena_bytes is the peak (highest end).
 * Plan-memory needs fuse to have run: every compute node that is not a view or an in-place
 * concat must have a group.
 */
#include "passes/passes_int.h"

#include <stdlib.h>
#include <string.h>

#define ALIGN 64

typedef struct abuf {
    int32_t id;    /* index into graph->bufs */
    int64_t bytes; /* aligned */
    int32_t first, last;
    int64_t off;
} abuf;

static int cmp_size(const void *a, const void *b) {
    const abuf *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

typedef struct range {
    int64_t lo, hi;
} range;

static int cmp_range(const void *a, const void *b) {
    const range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Best-fit offsets; returns the peak, or -1 on out-of-memory. */
static int64_t assign_offsets(abuf *bs, int32_t nb) {
    qsort(bs, (size_t)nb, sizeof *bs, cmp_size);
    range *rs = malloc(((size_t)nb + 1) * sizeof *rs);
    if (!rs)
        return -1;
    int64_t peak = 0;
    for (int32_t i = 0; i < nb; i++) {
        int32_t nr = 0;
        for (int32_t j = 0; j < i; j++)
            if (bs[j].first <= bs[i].last && bs[i].first <= bs[j].last)
                rs[nr++] = (range){bs[j].off, bs[j].off + bs[j].bytes};
        qsort(rs, (size_t)nr, sizeof *rs, cmp_range);
        int64_t at = 0, best = -1, best_gap = 0;
        for (int32_t r = 0; r < nr; r++) {
            int64_t gap = rs[r].lo - at;
            if (gap >= bs[i].bytes && (best < 0 || gap < best_gap)) {
                best = at;
                best_gap = gap;
            }
            if (rs[r].hi > at)
                at = rs[r].hi;
        }
        bs[i].off = best >= 0 ? best : at;
        if (bs[i].off + bs[i].bytes > peak)
            peak = bs[i].off + bs[i].bytes;
    }
    free(rs);
    return peak;
}

static int64_t align_up(int64_t v) { return (v + ALIGN - 1) / ALIGN * ALIGN; }

sn_status sn_pass_plan_memory(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t errlen) {
    (void)o;
    int32_t n = g->nnodes;
    sn_status st = SN_ERR_NOMEM;
    int32_t *base = malloc(((size_t)n + 1) * sizeof *base);
    int32_t *bufof = malloc(((size_t)n + 1) * sizeof *bufof);
    uint8_t *role = malloc((size_t)n + 1);
    sn_ir_buf *bufs = NULL;
    abuf *ab = NULL;
    if (!base || !bufof || !role)
        goto out;
    if ((st = sn_pass_roles(g, role)) != SN_OK)
        goto out;
    for (int32_t i = 0; i < n; i++) {
        const sn_ir_node *nd = &g->nodes[i];
        if ((role[i] == SN_PASS_ROLE_ROOT || role[i] == SN_PASS_ROLE_INTERNAL) && nd->group < 0) {
            sn_errf(err, errlen, "plan-memory: %%%d (%s) has no group; run fuse and views first",
                    (int)i, sn_ir_op_info[nd->op].name);
            st = SN_ERR_INVALID;
            goto out;
        }
    }
    if ((st = sn_pass_place(g, NULL, base, NULL, err, errlen)) != SN_OK)
        goto out;
    st = SN_ERR_NOMEM;

    /* 1. buffers */
    int32_t nb = g->ninputs + g->noutputs;
    for (int32_t i = 0; i < n; i++) {
        bufof[i] = -1;
        if (base[i] == i && !sn_pass_is_output(&g->nodes[i]) && g->nodes[i].op != SN_OP_INPUT)
            nb++;
    }
    bufs = calloc((size_t)nb + 1, sizeof *bufs);
    ab = calloc((size_t)nb + 1, sizeof *ab);
    if (!bufs || !ab)
        goto out;
    int32_t b = 0;
    for (int32_t k = 0; k < g->ninputs; k++) {
        int32_t x = g->inputs[k];
        bufs[b] = (sn_ir_buf){SN_IR_BUF_INPUT, k, g->nodes[x].dtype,
                              sn_shape_numel(&g->nodes[x].shape), 0};
        bufof[x] = b++;
    }
    for (int32_t k = 0; k < g->noutputs; k++) {
        int32_t x = g->outputs[k];
        const sn_ir_node *xn = &g->nodes[x];
        bufs[b] =
            (sn_ir_buf){SN_IR_BUF_OUTPUT, k, xn->dtype, sn_pass_extent(&xn->shape, xn->stride), 0};
        if (bufof[x] < 0)
            bufof[x] = b; /* listed twice: the first buffer is the one written */
        b++;
    }
    for (int32_t i = 0; i < n; i++) {
        const sn_ir_node *nd = &g->nodes[i];
        if (base[i] != i || bufof[i] >= 0)
            continue;
        if (role[i] == SN_PASS_ROLE_LEAF)
            bufs[b] = (sn_ir_buf){SN_IR_BUF_CONST, i, nd->dtype, sn_shape_numel(&nd->shape), 0};
        else /* in its node's dtype (f16/bf16 where autocast stored it so) */
            bufs[b] = (sn_ir_buf){SN_IR_BUF_ARENA, -1, nd->dtype,
                                  sn_pass_extent(&nd->shape, nd->stride), 0};
        bufof[i] = b++;
    }
    nb = b;
    for (int32_t i = 0; i < n; i++)
        g->nodes[i].buf = base[i] >= 0 ? bufof[base[i]] : -1;

    /* 2. liveness */
    int32_t *first = malloc(((size_t)nb + 1) * sizeof *first);
    int32_t *last = malloc(((size_t)nb + 1) * sizeof *last);
    if (!first || !last) {
        free(first);
        free(last);
        goto out;
    }
    for (int32_t k = 0; k < nb; k++) {
        first[k] = INT32_MAX;
        last[k] = -1;
    }
    for (int32_t j = 0; j < n; j++) {
        const sn_ir_node *nd = &g->nodes[j];
        if (!sn_pass_live(nd) || nd->group < 0)
            continue;
        int32_t gj = nd->group;
        if (nd->buf >= 0) {
            if (gj < first[nd->buf])
                first[nd->buf] = gj;
            if (gj > last[nd->buf])
                last[nd->buf] = gj;
        }
        for (int k = 0; k < nd->nin; k++) {
            const sn_ir_node *xn = &g->nodes[nd->in[k]];
            if (xn->group == gj || xn->buf < 0)
                continue;
            if (gj < first[xn->buf])
                first[xn->buf] = gj;
            if (gj > last[xn->buf])
                last[xn->buf] = gj;
        }
    }

    /* 3. offsets */
    int32_t na = 0;
    for (int32_t k = 0; k < nb; k++) {
        if (bufs[k].kind != SN_IR_BUF_ARENA)
            continue;
        ab[na].id = k;
        ab[na].bytes = align_up(bufs[k].elems * (int64_t)sn_dtype_size(bufs[k].dtype));
        ab[na].first = first[k] == INT32_MAX ? 0 : first[k];
        ab[na].last = last[k] < ab[na].first ? ab[na].first : last[k];
        na++;
    }
    free(first);
    free(last);
    int64_t peak = assign_offsets(ab, na);
    if (peak < 0)
        goto out;
    for (int32_t k = 0; k < na; k++)
        bufs[ab[k].id].arena_offset = ab[k].off;
    free(g->bufs);
    g->bufs = bufs;
    g->nbufs = nb;
    g->arena_bytes = peak;
    bufs = NULL;
    st = SN_OK;
out:
    if (st == SN_ERR_NOMEM)
        sn_errf(err, errlen, "plan-memory: out of memory");
    free(base);
    free(bufof);
    free(role);
    free(bufs);
    free(ab);
    return st;
}
