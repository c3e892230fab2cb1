/* ir/graph.c — graphs, nodes, the string pool, the op table, dtype/shape helpers, counting.
 *
 * Memory: a graph owns (1) the node array (realloc'ed as it grows; node pointers are invalid
 * after any sn_ir_add), (2) the string pool (likewise), (3) a private arena holding each
 * node's input array, freed at once with the graph, and (4) per-node malloc'ed data for
 * PARAM/CONST values, freed when the node is compacted away or the graph is freed.
 */
#include "ir/ir_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- status / assert */

/* ---------------------------------------------------------------- dtypes and shapes */

static const char *const dtype_names[SN_DTYPE_COUNT] = {
#define SN_X_(id, str, size) str,
    SN_DTYPE_LIST(SN_X_)
#undef SN_X_
};
static const size_t dtype_sizes[SN_DTYPE_COUNT] = {
#define SN_X_(id, str, size) size,
    SN_DTYPE_LIST(SN_X_)
#undef SN_X_
};

const char *sn_dtype_name(sn_dtype t) {
    return (unsigned)t < SN_DTYPE_COUNT ? dtype_names[t] : "?";
}

size_t sn_dtype_size(sn_dtype t) { return (unsigned)t < SN_DTYPE_COUNT ? dtype_sizes[t] : 0; }

sn_status sn_dtype_parse(const char *name, sn_dtype *out) {
    for (int i = 0; name && i < SN_DTYPE_COUNT; i++)
        if (strcmp(name, dtype_names[i]) == 0) {
            *out = (sn_dtype)i;
            return SN_OK;
        }
    return SN_ERR_INVALID;
}

int64_t sn_shape_numel(const sn_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= s->d[i];
    return n;
}

int sn_shape_eq(const sn_shape *a, const sn_shape *b) {
    if (a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->d[i] != b->d[i])
            return 0;
    return 1;
}

char *sn_shape_str(const sn_shape *s, char *buf, size_t n) {
    size_t k = 0;
    if (n == 0)
        return buf;
    buf[0] = 0;
    k += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < s->ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ",%lld" : "%lld", (long long)s->d[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

/* ---------------------------------------------------------------- the op table */

const sn_op_info sn_ir_op_info[] = {
#define SN_IR_OP(id, nm, mn, mx, kind, attrs, flags, shape, ref, vjp)                              \
    [SN_OP_##id] = {nm, mn, mx, SN_OP_KIND_##kind, attrs, flags, shape, ref, vjp},
#include "ir/ops.def"
};
_Static_assert(sizeof sn_ir_op_info / sizeof sn_ir_op_info[0] == SN_OP_COUNT,
               "sn_ir_op_info has one row per op");

sn_op sn_ir_op_from_name(const char *name) {
    for (int i = 0; name && i < SN_OP_COUNT; i++)
        if (strcmp(name, sn_ir_op_info[i].name) == 0)
            return (sn_op)i;
    return SN_OP_COUNT;
}

void sn_ir_op_attrs(sn_op op, sn_ir_attrs *out) {
    memset(out, 0, sizeof *out);
    if ((unsigned)op >= SN_OP_COUNT)
        return;
    const char *p = sn_ir_op_info[op].attrs;
    int in_float = 0;
    while (*p) {
        size_t len = strcspn(p, ",;");
        char name[24];
        size_t cl = len < sizeof name - 1 ? len : sizeof name - 1;
        memcpy(name, p, cl);
        name[cl] = 0;
        if (cl > 0) {
            if (in_float) {
                if (out->nfloat < SN_IR_MAX_FA)
                    strcpy(out->floats[out->nfloat++], name);
            } else {
                if (name[cl - 1] == '*') {
                    name[cl - 1] = 0;
                    out->variadic = 1;
                }
                if (out->nint < SN_IR_MAX_IA)
                    strcpy(out->ints[out->nint++], name);
            }
        }
        p += len;
        if (*p == ';')
            in_float = 1;
        if (*p)
            p++;
    }
}

void sn_ir_contiguous_strides(const sn_shape *s, int64_t *stride) {
    int64_t acc = 1;
    for (int k = SN_MAX_DIMS - 1; k >= 0; k--) {
        if (k >= s->ndim) {
            stride[k] = 0;
            continue;
        }
        stride[k] = acc;
        acc *= s->d[k];
    }
}

int sn_ir_strides_contiguous(const sn_ir_node *n) {
    int64_t st[SN_MAX_DIMS];
    sn_ir_contiguous_strides(&n->shape, st);
    for (int k = 0; k < n->shape.ndim; k++)
        if (st[k] != n->stride[k])
            return 0;
    return 1;
}

/* ---------------------------------------------------------------- arena */

void *sn_ir_arena_alloc(sn_ir_graph *g, size_t n) {
    sn_ir_priv *pv = g->arena;
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    sn_ir_block *b = pv->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = pv->blocks;
        pv->blocks = b;
    }
    void *p = b->mem + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

/* ---------------------------------------------------------------- graphs */

sn_ir_graph *sn_ir_graph_new(void) {
    sn_ir_graph *g = calloc(1, sizeof *g);
    sn_ir_priv *pv = calloc(1, sizeof *pv);
    char *s = malloc(256);
    if (!g || !pv || !s) {
        free(g);
        free(pv);
        free(s);
        return NULL;
    }
    g->arena = pv;
    g->strings = s;
    g->strings[0] = 0;
    g->nstrings = 1;
    g->scap = 256;
    return g;
}

void sn_ir_graph_free(sn_ir_graph *g) {
    if (!g)
        return;
    for (int32_t i = 0; i < g->nnodes; i++)
        free(g->nodes[i].data);
    sn_ir_priv *pv = g->arena;
    if (pv) {
        for (sn_ir_block *b = pv->blocks, *nx; b; b = nx) {
            nx = b->next;
            free(b);
        }
        free(pv->strtab);
        free(pv);
    }
    free(g->bufs);
    free(g->nodes);
    free(g->strings);
    free(g->inputs);
    free(g->outputs);
    free(g);
}

static uint32_t str_hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int strtab_insert(sn_ir_priv *pv, const char *pool, uint32_t off) {
    if ((pv->strtab_count + 1) * 2 > pv->strtab_cap) {
        uint32_t ncap = pv->strtab_cap ? pv->strtab_cap * 2 : 256;
        uint32_t *nt = calloc(ncap, sizeof *nt);
        if (!nt)
            return -1;
        for (uint32_t i = 0; i < pv->strtab_cap; i++) {
            uint32_t o = pv->strtab[i];
            if (!o)
                continue;
            uint32_t h = str_hash(pool + o) & (ncap - 1);
            while (nt[h])
                h = (h + 1) & (ncap - 1);
            nt[h] = o;
        }
        free(pv->strtab);
        pv->strtab = nt;
        pv->strtab_cap = ncap;
    }
    uint32_t h = str_hash(pool + off) & (pv->strtab_cap - 1);
    while (pv->strtab[h])
        h = (h + 1) & (pv->strtab_cap - 1);
    pv->strtab[h] = off;
    pv->strtab_count++;
    return 0;
}

uint32_t sn_ir_str(sn_ir_graph *g, const char *s) {
    if (!s || !*s)
        return 0;
    sn_ir_priv *pv = g->arena;
    if (pv->strtab_cap) {
        uint32_t h = str_hash(s) & (pv->strtab_cap - 1);
        for (uint32_t o; (o = pv->strtab[h]) != 0; h = (h + 1) & (pv->strtab_cap - 1))
            if (strcmp(g->strings + o, s) == 0)
                return o;
    }
    size_t len = strlen(s) + 1;
    if (g->nstrings + len > g->scap) {
        size_t ncap = g->scap ? g->scap : 256;
        while (g->nstrings + len > ncap)
            ncap *= 2;
        char *ns = realloc(g->strings, ncap);
        if (!ns)
            return 0;
        g->strings = ns;
        g->scap = (uint32_t)ncap;
    }
    uint32_t off = g->nstrings;
    memcpy(g->strings + off, s, len);
    g->nstrings += (uint32_t)len;
    if (strtab_insert(pv, g->strings, off) != 0) {
        g->nstrings = off;
        return 0;
    }
    return off;
}

const char *sn_ir_str_get(const sn_ir_graph *g, uint32_t off) {
    if (off == 0 || off >= g->nstrings)
        return "";
    return g->strings + off;
}

sn_ir_graph *sn_ir_graph_clone(const sn_ir_graph *g) {
    sn_ir_graph *c = sn_ir_graph_new();
    if (!c)
        return NULL;
    /* strings: copy the pool as is (offsets stay valid) and rebuild the hash table */
    if (g->nstrings > c->scap) {
        char *ns = realloc(c->strings, g->scap);
        if (!ns)
            goto fail;
        c->strings = ns;
        c->scap = g->scap;
    }
    memcpy(c->strings, g->strings, g->nstrings);
    c->nstrings = g->nstrings;
    for (uint32_t o = 1; o < g->nstrings; o += (uint32_t)strlen(g->strings + o) + 1)
        if (strtab_insert(c->arena, c->strings, o) != 0)
            goto fail;
    if (g->nnodes) {
        c->nodes = malloc((size_t)g->nnodes * sizeof *c->nodes);
        if (!c->nodes)
            goto fail;
        c->cap = g->nnodes;
        for (int32_t i = 0; i < g->nnodes; i++) {
            sn_ir_node *d = &c->nodes[i];
            *d = g->nodes[i];
            d->in = NULL;
            d->data = NULL;
            c->nnodes = i + 1;
            if (g->nodes[i].nin) {
                d->in = sn_ir_arena_alloc(c, (size_t)d->nin * sizeof *d->in);
                if (!d->in)
                    goto fail;
                memcpy(d->in, g->nodes[i].in, (size_t)d->nin * sizeof *d->in);
            }
            if (g->nodes[i].data) {
                size_t bytes = (size_t)sn_shape_numel(&d->shape) * sizeof(float);
                d->data = malloc(bytes ? bytes : 1);
                if (!d->data)
                    goto fail;
                memcpy(d->data, g->nodes[i].data, bytes);
            }
        }
    }
    if (g->ninputs) {
        c->inputs = malloc((size_t)g->ninputs * sizeof *c->inputs);
        if (!c->inputs)
            goto fail;
        memcpy(c->inputs, g->inputs, (size_t)g->ninputs * sizeof *c->inputs);
        c->ninputs = g->ninputs;
    }
    if (g->noutputs) {
        c->outputs = malloc((size_t)g->noutputs * sizeof *c->outputs);
        if (!c->outputs)
            goto fail;
        memcpy(c->outputs, g->outputs, (size_t)g->noutputs * sizeof *c->outputs);
        c->noutputs = g->noutputs;
    }
    if (g->nbufs) {
        c->bufs = malloc((size_t)g->nbufs * sizeof *c->bufs);
        if (!c->bufs)
            goto fail;
        memcpy(c->bufs, g->bufs, (size_t)g->nbufs * sizeof *c->bufs);
        c->nbufs = g->nbufs;
    }
    c->arena_bytes = g->arena_bytes;
    return c;
fail:
    sn_ir_graph_free(c);
    return NULL;
}

/* ---------------------------------------------------------------- adding nodes */

static int append_i32(int32_t **arr, int32_t *n, int32_t v) {
    int32_t *na = realloc(*arr, (size_t)(*n + 1) * sizeof **arr);
    if (!na)
        return -1;
    na[*n] = v;
    *arr = na;
    (*n)++;
    return 0;
}

int32_t sn_ir_add(sn_ir_graph *g, sn_op op, const int32_t *in, int nin, const int64_t *ia, int nia,
                  const double *fa, int nfa, const sn_shape *shape, sn_dtype dtype, char *err,
                  size_t errlen) {
    if ((unsigned)op >= SN_OP_COUNT) {
        sn_errf(err, errlen, "unknown op %d", (int)op);
        return -1;
    }
    const char *opn = sn_ir_op_info[op].name;
    if (nin < 0 || nin > SN_IR_MAX_IN || (nin > 0 && !in)) {
        sn_errf(err, errlen, "%s: bad input count %d", opn, nin);
        return -1;
    }
    if (nia < 0 || nia > SN_IR_MAX_IA || (nia > 0 && !ia)) {
        sn_errf(err, errlen, "%s: bad int attribute count %d (at most %d)", opn, nia, SN_IR_MAX_IA);
        return -1;
    }
    if (nfa < 0 || nfa > SN_IR_MAX_FA || (nfa > 0 && !fa)) {
        sn_errf(err, errlen, "%s: bad float attribute count %d (at most %d)", opn, nfa,
                SN_IR_MAX_FA);
        return -1;
    }
    sn_ir_attrs at;
    sn_ir_op_attrs(op, &at);
    if (nfa != at.nfloat) {
        sn_errf(err, errlen, "%s: expects %d float attributes (%s), got %d", opn, at.nfloat,
                sn_ir_op_info[op].attrs, nfa);
        return -1;
    }
    for (int i = 0; i < nin; i++)
        if (in[i] < 0 || in[i] >= g->nnodes) {
            sn_errf(err, errlen, "%s: input %d refers to %%%d, which does not exist", opn, i,
                    (int)in[i]);
            return -1;
        }
    if ((unsigned)dtype >= SN_DTYPE_COUNT) {
        sn_errf(err, errlen, "%s: bad dtype %d", opn, (int)dtype);
        return -1;
    }
    if (g->nnodes == g->cap) {
        int32_t ncap = g->cap ? g->cap * 2 : 64;
        sn_ir_node *nn = realloc(g->nodes, (size_t)ncap * sizeof *nn);
        if (!nn) {
            sn_errf(err, errlen, "%s: out of memory", opn);
            return -1;
        }
        g->nodes = nn;
        g->cap = ncap;
    }
    int32_t idx = g->nnodes;
    sn_ir_node *n = &g->nodes[idx];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->dtype = dtype;
    n->group = -1;
    n->buf = -1;
    n->nin = nin;
    if (nin) {
        n->in = sn_ir_arena_alloc(g, (size_t)nin * sizeof *n->in);
        if (!n->in) {
            sn_errf(err, errlen, "%s: out of memory", opn);
            return -1;
        }
        memcpy(n->in, in, (size_t)nin * sizeof *in);
    }
    n->nia = nia;
    if (nia)
        memcpy(n->ia, ia, (size_t)nia * sizeof *ia);
    for (int i = 0; i < nfa; i++)
        n->fa[i] = fa[i];
    if ((sn_ir_op_info[op].flags & SN_OPF_LEAF) || op == SN_OP_INPUT) {
        if (shape) {
            n->shape = *shape;
        } else if (op != SN_OP_ANCHORS && op != SN_OP_CONST) {
            sn_errf(err, errlen, "%s: a shape is required", opn);
            return -1;
        }
    }
    g->nnodes = idx + 1;
    if (sn_ir_infer(g, idx, err, errlen) != SN_OK) {
        g->nnodes = idx; /* the arena bytes of n->in are simply left unused */
        return -1;
    }
    sn_ir_contiguous_strides(&g->nodes[idx].shape, g->nodes[idx].stride);
    if (op == SN_OP_CONST) {
        float *d = sn_ir_node_data(g, idx);
        if (!d) {
            g->nnodes = idx;
            sn_errf(err, errlen, "const: out of memory");
            return -1;
        }
        int64_t ne = sn_shape_numel(&g->nodes[idx].shape);
        for (int64_t i = 0; i < ne; i++)
            d[i] = (float)g->nodes[idx].fa[0];
    }
    if (op == SN_OP_INPUT && append_i32(&g->inputs, &g->ninputs, idx) != 0) {
        g->nnodes = idx;
        sn_errf(err, errlen, "input: out of memory");
        return -1;
    }
    return idx;
}

int32_t sn_ir_input(sn_ir_graph *g, const char *name, const sn_shape *shape) {
    int32_t n = sn_ir_add(g, SN_OP_INPUT, NULL, 0, NULL, 0, NULL, 0, shape, SN_DTYPE_F32, NULL, 0);
    if (n >= 0)
        sn_ir_set_name(g, n, name);
    return n;
}

int32_t sn_ir_param(sn_ir_graph *g, const char *name, const sn_shape *shape, sn_ir_init init) {
    int64_t ia = init;
    int32_t n = sn_ir_add(g, SN_OP_PARAM, NULL, 0, &ia, 1, NULL, 0, shape, SN_DTYPE_F32, NULL, 0);
    if (n >= 0)
        sn_ir_set_name(g, n, name);
    return n;
}

int32_t sn_ir_scalar(sn_ir_graph *g, double value) {
    sn_shape s = {0, {0}};
    return sn_ir_add(g, SN_OP_CONST, NULL, 0, NULL, 0, &value, 1, &s, SN_DTYPE_F32, NULL, 0);
}

void sn_ir_set_src(sn_ir_graph *g, int32_t node, const char *src) {
    SN_ASSERT(node >= 0 && node < g->nnodes);
    uint32_t off = sn_ir_str(g, src);
    g->nodes[node].src = off;
}

void sn_ir_set_name(sn_ir_graph *g, int32_t node, const char *name) {
    SN_ASSERT(node >= 0 && node < g->nnodes);
    uint32_t off = sn_ir_str(g, name);
    g->nodes[node].name = off;
}

sn_status sn_ir_set_inputs(sn_ir_graph *g, int32_t node, const int32_t *in, int nin) {
    SN_ASSERT(node >= 0 && node < g->nnodes);
    if (nin < 0 || nin > SN_IR_MAX_IN)
        return SN_ERR_INVALID;
    int32_t *a = NULL;
    if (nin > 0) {
        a = sn_ir_arena_alloc(g, (size_t)nin * sizeof *a);
        if (!a)
            return SN_ERR_NOMEM;
        memcpy(a, in, (size_t)nin * sizeof *a);
    }
    g->nodes[node].in = a;
    g->nodes[node].nin = nin;
    return SN_OK;
}

void sn_ir_mark_output(sn_ir_graph *g, int32_t node) {
    SN_ASSERT(node >= 0 && node < g->nnodes);
    if (append_i32(&g->outputs, &g->noutputs, node) != 0)
        return;
    g->nodes[node].flags |= SN_IR_NODE_OUTPUT;
}

float *sn_ir_node_data(sn_ir_graph *g, int32_t node) {
    SN_ASSERT(node >= 0 && node < g->nnodes);
    sn_ir_node *n = &g->nodes[node];
    if (!n->data) {
        size_t ne = (size_t)sn_shape_numel(&n->shape);
        n->data = calloc(ne ? ne : 1, sizeof(float));
    }
    return n->data;
}

/* ---------------------------------------------------------------- analysis helpers */

void sn_ir_use_counts(const sn_ir_graph *g, int32_t *uses) {
    memset(uses, 0, (size_t)g->nnodes * sizeof *uses);
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->flags & SN_IR_NODE_DEAD)
            continue;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] >= 0 && n->in[j] < g->nnodes)
                uses[n->in[j]]++;
    }
}

int32_t sn_ir_find_param(const sn_ir_graph *g, const char *name) {
    if (!name || !*name)
        return -1;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->op == SN_OP_PARAM && !(n->flags & SN_IR_NODE_DEAD) &&
            strcmp(sn_ir_str_get(g, n->name), name) == 0)
            return i;
    }
    return -1;
}

void sn_ir_graph_compact(sn_ir_graph *g) {
    int32_t nn = g->nnodes;
    if (nn == 0)
        return;
    int32_t *map = malloc((size_t)nn * sizeof *map);
    unsigned char *keep = calloc((size_t)nn, 1);
    if (!map || !keep) { /* compaction is an optimisation: on OOM leave the graph as is */
        free(map);
        free(keep);
        return;
    }
    for (int32_t k = 0; k < g->noutputs; k++) {
        SN_ASSERT(!(g->nodes[g->outputs[k]].flags & SN_IR_NODE_DEAD));
        keep[g->outputs[k]] = 1;
    }
    for (int32_t i = nn - 1; i >= 0; i--) {
        sn_ir_node *n = &g->nodes[i];
        if (n->flags & SN_IR_NODE_DEAD) {
            keep[i] = 0;
            continue;
        }
        if (n->op == SN_OP_INPUT)
            keep[i] = 1;
        if (!keep[i])
            continue;
        for (int j = 0; j < n->nin; j++) {
            SN_ASSERT(!(g->nodes[n->in[j]].flags & SN_IR_NODE_DEAD));
            keep[n->in[j]] = 1;
        }
    }
    int32_t m = 0;
    for (int32_t i = 0; i < nn; i++) {
        if (!keep[i]) {
            map[i] = -1;
            free(g->nodes[i].data);
            g->nodes[i].data = NULL;
            continue;
        }
        map[i] = m;
        sn_ir_node *n = &g->nodes[i];
        for (int j = 0; j < n->nin; j++)
            n->in[j] = map[n->in[j]];
        g->nodes[m++] = *n;
    }
    g->nnodes = m;
    int32_t k2 = 0;
    for (int32_t k = 0; k < g->ninputs; k++)
        if (map[g->inputs[k]] >= 0)
            g->inputs[k2++] = map[g->inputs[k]];
    g->ninputs = k2;
    for (int32_t k = 0; k < g->noutputs; k++)
        g->outputs[k] = map[g->outputs[k]];
    for (int32_t k = 0; k < g->nbufs; k++) /* CONST buffers name their node */
        if (g->bufs[k].kind == SN_IR_BUF_CONST && g->bufs[k].index >= 0 && g->bufs[k].index < nn)
            g->bufs[k].index = map[g->bufs[k].index];
    free(map);
    free(keep);
}

/* ---------------------------------------------------------------- counting */

int64_t sn_ir_count_params(const sn_ir_graph *g) {
    int64_t total = 0;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->op != SN_OP_PARAM || (n->flags & SN_IR_NODE_DEAD))
            continue;
        /* running statistics are buffers, not parameters (torch's model.parameters()) */
        if (n->nia >= 1 && (n->ia[0] == SN_IR_INIT_BN_MEAN || n->ia[0] == SN_IR_INIT_BN_VAR))
            continue;
        total += sn_shape_numel(&n->shape);
    }
    return total;
}

int sn_ir_count_ops(const sn_ir_graph *g) {
    int total = 0;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (!(n->flags & SN_IR_NODE_DEAD) && n->op != SN_OP_INPUT &&
            !(sn_ir_op_info[n->op].flags & SN_OPF_LEAF))
            total++;
    }
    return total;
}

int64_t sn_ir_count_conv_macs(const sn_ir_graph *g) {
    int64_t total = 0;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->op != SN_OP_CONV2D || (n->flags & SN_IR_NODE_DEAD) || n->nin < 2)
            continue;
        const sn_shape *w = &g->nodes[n->in[1]].shape;
        if (w->ndim != 4)
            continue;
        total += sn_shape_numel(&n->shape) * w->d[1] * w->d[2] * w->d[3];
    }
    return total;
}

void sn_ir_mem_estimate(const sn_ir_graph *g, sn_ir_mem *m) {
    memset(m, 0, sizeof *m);
    m->largest_param = m->largest_step = -1;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->flags & SN_IR_NODE_DEAD)
            continue;
        double bytes = (double)sn_shape_numel(&n->shape) * 4.0;
        if (n->op == SN_OP_PARAM || n->op == SN_OP_CONST) {
            m->weight_bytes += bytes;
            if (m->largest_param < 0 || bytes > m->param_bytes) {
                m->largest_param = i;
                m->param_bytes = bytes;
            }
            continue;
        }
        /* A step holds its output and its activation inputs at once. */
        double live = bytes;
        for (int j = 0; j < n->nin; j++) {
            const sn_ir_node *p = &g->nodes[n->in[j]];
            if (p->op != SN_OP_PARAM && p->op != SN_OP_CONST)
                live += (double)sn_shape_numel(&p->shape) * 4.0;
        }
        if (m->largest_step < 0 || live > m->step_bytes) {
            m->largest_step = i;
            m->step_bytes = live;
        }
    }
}
