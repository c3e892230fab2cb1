/* passes/dump.c — the IR plus what the passes decided, as text (for --dump and goldens).
 *
 * Layout: sn_ir_print's text, then comment lines (the IR parser skips them, so a dump reads
 * back as the graph):
 *   # node %7 group=3 root buf=2 offset=0 stride=[409600,1,2560,16]
 *   # group 3: conv2d+silu+add → %42 (model.4.m.0.cv2.conv)
 *   # live buf5=[0,1] buf8=[1,2] …      (arena buffers: first writing .. last reading group)
 *   # arena_bytes 5242880 naive_bytes 9437184 groups 12 views 4 inplace 2
 */
#include "passes/passes_int.h"

#include <stdlib.h>
#include <string.h>

int64_t sn_pass_naive_bytes(const sn_ir_graph *g) {
    int64_t total = 0;
    for (int32_t k = 0; k < g->nbufs; k++)
        if (g->bufs[k].kind == SN_IR_BUF_ARENA)
            total += (g->bufs[k].elems * (int64_t)sn_dtype_size(g->bufs[k].dtype) + 63) / 64 * 64;
    return total;
}

void sn_pass_stats_get(const sn_ir_graph *g, sn_pass_stats *s) {
    memset(s, 0, sizeof *s);
    uint8_t *role = malloc((size_t)g->nnodes + 1);
    if (role && sn_pass_roles(g, role) != SN_OK) {
        free(role);
        role = NULL;
    }
    int32_t maxg = -1;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (!sn_pass_live(n))
            continue;
        if (!sn_pass_is_leaf(n))
            s->ir_ops++;
        if (n->group > maxg)
            maxg = n->group;
        if (role && role[i] == SN_PASS_ROLE_VIEW)
            s->views++;
        if (role && role[i] == SN_PASS_ROLE_INPLACE)
            s->inplace_concats++;
    }
    s->groups = maxg + 1;
    if (maxg < 0)
        s->views = s->inplace_concats = 0; /* before fuse nothing is decided */
    s->peak_bytes = g->arena_bytes;
    s->naive_bytes = sn_pass_naive_bytes(g);
    free(role);
}

void sn_pass_dump(const sn_ir_graph *g, FILE *f) {
    sn_ir_print(g, f);
    int32_t n = g->nnodes;
    /* groups: members in node order, the root is the last member */
    int32_t maxg = -1;
    for (int32_t i = 0; i < n; i++)
        if (sn_pass_live(&g->nodes[i]) && g->nodes[i].group > maxg)
            maxg = g->nodes[i].group;
    int32_t *root = malloc(((size_t)maxg + 2) * sizeof *root);
    if (root) {
        for (int32_t k = 0; k <= maxg; k++)
            root[k] = -1;
        for (int32_t i = 0; i < n; i++)
            if (sn_pass_live(&g->nodes[i]) && g->nodes[i].group >= 0)
                root[g->nodes[i].group] = i;
        for (int32_t k = 0; k <= maxg; k++) {
            if (root[k] < 0)
                continue;
            fprintf(f, "# group %d: ", (int)k);
            int first = 1;
            const char *name = "";
            for (int32_t i = 0; i <= root[k]; i++) {
                const sn_ir_node *nd = &g->nodes[i];
                if (!sn_pass_live(nd) || nd->group != k)
                    continue;
                fprintf(f, "%s%s", first ? "" : "+", sn_ir_op_info[nd->op].name);
                first = 0;
                if (!*name)
                    name = sn_ir_str_get(g, nd->name);
                if (!*name)
                    name = sn_ir_str_get(g, nd->src);
            }
            fprintf(f, " \xe2\x86\x92 %%%d", (int)root[k]);
            if (*name)
                fprintf(f, " (%s)", name);
            fputc('\n', f);
        }
        free(root);
    }
    /* buffers with their live ranges (recomputed here: first writer .. last reader) */
    int32_t *first = malloc(((size_t)g->nbufs + 1) * sizeof *first);
    int32_t *last = malloc(((size_t)g->nbufs + 1) * sizeof *last);
    if (first && last) {
        for (int32_t b = 0; b < g->nbufs; b++) {
            first[b] = INT32_MAX;
            last[b] = -1;
        }
        for (int32_t j = 0; j < n; j++) {
            const sn_ir_node *nd = &g->nodes[j];
            if (!sn_pass_live(nd) || nd->group < 0)
                continue;
            int32_t gj = nd->group;
            if (nd->buf >= 0 && nd->buf < g->nbufs) {
                if (gj < first[nd->buf])
                    first[nd->buf] = gj;
                if (gj > last[nd->buf])
                    last[nd->buf] = gj;
            }
            for (int k = 0; k < nd->nin; k++) {
                const sn_ir_node *x = &g->nodes[nd->in[k]];
                if (x->group == gj || x->buf < 0 || x->buf >= g->nbufs)
                    continue;
                if (gj < first[x->buf])
                    first[x->buf] = gj;
                if (gj > last[x->buf])
                    last[x->buf] = gj;
            }
        }
        int any = 0;
        for (int32_t b = 0; b < g->nbufs; b++) {
            if (g->bufs[b].kind != SN_IR_BUF_ARENA || last[b] < 0)
                continue;
            fprintf(f, "%s buf%d=[%d,%d]", any ? "" : "# live", (int)b, (int)first[b],
                    (int)last[b]);
            if (++any % 8 == 0) {
                fputc('\n', f);
                any = 0;
            }
        }
        if (any)
            fputc('\n', f);
    }
    free(first);
    free(last);
    sn_pass_stats s;
    sn_pass_stats_get(g, &s);
    fprintf(f, "# arena_bytes %lld naive_bytes %lld groups %d views %d inplace %d\n",
            (long long)g->arena_bytes, (long long)s.naive_bytes, s.groups, s.views,
            s.inplace_concats);
}
