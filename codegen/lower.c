/* codegen/lower.c — the program builder: fusion groups → backend-neutral group descriptions
 * (codegen_int.h) → the backend's renderer → a program (kernels in launch order, the packed
 * weights blob, argument locations).
 *
 * Algorithm:
 *   1. Collect the groups: every live node with node->group >= 0, grouped by id; groups are
 *      launched in the order of their first node (the graph is topologically ordered, and
 *      the fuse pass only groups nodes so that this order is a valid schedule).
 *   2. Describe each group (describe_group): find the anchor (conv2d, matmul, maxpool,
 *      softmax, reduce_sum; an upsample or concat alone in its group; a reshape that no
 *      strides express), at most one, first in the group; the index space; one op per node
 *      (concat and upsample members of a pointwise group become index-transforming tree
 *      nodes; a view op reading a group input folds into the strides of the value it
 *      reads); group inputs as vals (a value outside the group, located through its
 *      buf/offset/strides annotations, or a PARAM/CONST packed into the weights blob, or a
 *      literal when every element of a CONST is equal); the root, and any other member
 *      used outside the group, as output vals.
 *   3. Hand the group to the backend's renderer, then keep kernel names unique per program:
 *      the same name with a different spec gets "_1", "_2", ….
 */
#include "codegen/codegen_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- small helpers */

int sn_cg_val_finite(const sn_cg_val *v) {
    int64_t n = v->data ? sn_shape_numel(&v->shape) : 0;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v->data[i]))
            return 0;
    return 1;
}

const char *sn_cg_anchor_name(sn_cg_anchor a) {
    static const char *const names[SN_CG_ANCHOR_COUNT] = {
        "pointwise", "conv2d",     "matmul", "maxpool", "upsample",
        "softmax",   "reduce_sum", "concat", "reshape", "host"};
    return (unsigned)a < SN_CG_ANCHOR_COUNT ? names[a] : "?";
}

/* ---------------------------------------------------------------- the lowering context */

typedef struct wpiece {
    int32_t node, tag;
    size_t bytes;
    int64_t offset;
} wpiece;

struct sn_cg_lower_ctx {
    const sn_ir_graph *g;
    const sn_cg_target *t;
    sn_cg_program *p;
    int kcap;
    uint8_t *blob;
    size_t blob_len, blob_cap;
    wpiece *pieces;
    int npieces, pcap;
    float **owned; /* synthesized data (BN scale/shift, anchors) */
    int nowned, ocap;
    int weights_only; /* sn_cg_lower_weights: render only the groups that pack weights */
};

int64_t sn_cg_weights_add(sn_cg_lower_ctx *c, int32_t node, int32_t tag, const void *data,
                          size_t bytes) {
    if (node >= 0)
        for (int i = 0; i < c->npieces; i++)
            if (c->pieces[i].node == node && c->pieces[i].tag == tag && c->pieces[i].bytes == bytes)
                return c->pieces[i].offset;
    size_t off = (c->blob_len + 63) & ~(size_t)63;
    size_t need = off + bytes;
    if (need > c->blob_cap) {
        size_t ncap = c->blob_cap ? c->blob_cap : 1 << 16;
        while (ncap < need)
            ncap *= 2;
        uint8_t *nb = realloc(c->blob, ncap);
        if (!nb)
            return -1;
        c->blob = nb;
        c->blob_cap = ncap;
    }
    memset(c->blob + c->blob_len, 0, off - c->blob_len);
    if (bytes)
        memcpy(c->blob + off, data, bytes);
    c->blob_len = need;
    if (node >= 0) {
        if (c->npieces == c->pcap) {
            int ncap = c->pcap ? c->pcap * 2 : 64;
            wpiece *np = realloc(c->pieces, (size_t)ncap * sizeof *np);
            if (!np)
                return -1;
            c->pieces = np;
            c->pcap = ncap;
        }
        c->pieces[c->npieces++] = (wpiece){node, tag, bytes, (int64_t)off};
    }
    return (int64_t)off;
}

/* The program's parameter table from the blob's pieces (sn_cg_param). A piece's tag is 0
 * when it was packed plain (pack_plain: numel f32 values as they are). */
static sn_status param_table(sn_cg_lower_ctx *c) {
    sn_cg_program *p = c->p;
    p->params = calloc((size_t)c->npieces + 1, sizeof *p->params);
    if (!p->params)
        return SN_ERR_NOMEM;
    for (int i = 0; i < c->npieces; i++) {
        const wpiece *w = &c->pieces[i];
        const sn_ir_node *n = &c->g->nodes[w->node];
        sn_cg_param *q = &p->params[p->nparams];
        q->name = strdup(sn_ir_str_get(c->g, n->name));
        if (!q->name)
            return SN_ERR_NOMEM;
        p->nparams++;
        q->is_param = n->op == SN_OP_PARAM;
        q->plain = w->tag == 0 && w->bytes == (size_t)sn_shape_numel(&n->shape) * sizeof(float);
        q->offset = w->offset;
        q->bytes = (int64_t)w->bytes;
    }
    return SN_OK;
}

static float *ctx_own(sn_cg_lower_ctx *c, size_t n) {
    if (c->nowned == c->ocap) {
        int ncap = c->ocap ? c->ocap * 2 : 16;
        float **no = realloc(c->owned, (size_t)ncap * sizeof *no);
        if (!no)
            return NULL;
        c->owned = no;
        c->ocap = ncap;
    }
    float *d = calloc(n ? n : 1, sizeof(float));
    if (d)
        c->owned[c->nowned++] = d;
    return d;
}

/* ---------------------------------------------------------------- values */

static int is_leaf(const sn_ir_node *n) {
    return (sn_ir_op_info[n->op].flags & SN_OPF_LEAF) != 0 && n->op != SN_OP_INPUT;
}

/* The IR ops the renderers implement (every backend renders this same set). Lowering refuses
 * any other op by name before rendering, so an op that ir/ops.def has gained but codegen has
 * not (training's gradient ops, say) fails clearly instead of being rendered as another. */
static const unsigned char has_kernel[SN_OP_COUNT] = {
    [SN_OP_INPUT] = 1,
    [SN_OP_PARAM] = 1,
    [SN_OP_CONST] = 1,
    [SN_OP_CONV2D] = 1,
    [SN_OP_BATCHNORM] = 1,
    [SN_OP_SILU] = 1,
    [SN_OP_SIGMOID] = 1,
    [SN_OP_RELU] = 1,
    [SN_OP_NEG] = 1,
    [SN_OP_EXP] = 1,
    [SN_OP_SQRT] = 1,
    [SN_OP_RECIP] = 1,
    [SN_OP_ADD] = 1,
    [SN_OP_SUB] = 1,
    [SN_OP_MUL] = 1,
    [SN_OP_DIV] = 1,
    [SN_OP_POW] = 1,
    [SN_OP_MAX2] = 1,
    [SN_OP_CAST] = 1,
    [SN_OP_CONCAT] = 1,
    [SN_OP_SLICE] = 1,
    [SN_OP_RESHAPE] = 1,
    [SN_OP_PERMUTE] = 1,
    [SN_OP_UPSAMPLE] = 1,
    [SN_OP_MAXPOOL2D] = 1,
    [SN_OP_SOFTMAX] = 1,
    [SN_OP_REDUCE_SUM] = 1,
    [SN_OP_MATMUL] = 1,
    [SN_OP_ANCHORS] = 1,
    [SN_OP_BN_STATS] = 1,
    [SN_OP_CONV2D_GRAD_INPUT] = 1,
    [SN_OP_CONV2D_GRAD_WEIGHT] = 1,
    [SN_OP_MAXPOOL2D_GRAD] = 1,
    [SN_OP_DET_LOSS] = 1,
    [SN_OP_DET_LOSS_GRAD] = 1,
};

static int is_view_op(sn_op op) {
    return op == SN_OP_SLICE || op == SN_OP_PERMUTE || op == SN_OP_RESHAPE || op == SN_OP_CAST;
}

static int is_pointwise_op(sn_op op) {
    uint32_t f = sn_ir_op_info[op].flags;
    return (f & (SN_OPF_UNARY | SN_OPF_BINARY)) != 0 || op == SN_OP_BATCHNORM;
}

/* A stride-1 conv's input gradient is a conv: of dy, with the weights' in and out channels
 * swapped (per group) and the kernel flipped, padded k-1-pad (lower gives the renderers that
 * conv, see conv_grad_input_weights). */
static int grad_input_is_conv(const sn_ir_node *n) {
    return n->op == SN_OP_CONV2D_GRAD_INPUT && n->ia[0] == 1 && n->ia[1] == 1 && n->ia[4] == 1 &&
           n->ia[5] == 1;
}

static int anchor_of(const sn_ir_node *n, sn_cg_anchor *a) {
    switch (n->op) {
    case SN_OP_CONV2D:
        *a = SN_CG_ANCHOR_CONV2D;
        return 1;
    case SN_OP_CONV2D_GRAD_INPUT:
        *a = grad_input_is_conv(n) ? SN_CG_ANCHOR_CONV2D : SN_CG_ANCHOR_HOST;
        return 1;
    case SN_OP_BN_STATS:
    case SN_OP_CONV2D_GRAD_WEIGHT:
    case SN_OP_MAXPOOL2D_GRAD:
    case SN_OP_DET_LOSS:
    case SN_OP_DET_LOSS_GRAD:
        *a = SN_CG_ANCHOR_HOST;
        return 1;
    case SN_OP_MATMUL:
        *a = SN_CG_ANCHOR_MATMUL;
        return 1;
    case SN_OP_MAXPOOL2D:
        *a = SN_CG_ANCHOR_MAXPOOL;
        return 1;
    case SN_OP_UPSAMPLE:
        *a = SN_CG_ANCHOR_UPSAMPLE;
        return 1;
    case SN_OP_SOFTMAX:
        *a = SN_CG_ANCHOR_SOFTMAX;
        return 1;
    case SN_OP_REDUCE_SUM:
        *a = SN_CG_ANCHOR_REDUCE_SUM;
        return 1;
    case SN_OP_CONCAT:
        *a = SN_CG_ANCHOR_CONCAT;
        return 1;
    default:
        return 0;
    }
}

/* ANCHORS: make_anchors' points (1,2,A) or strides (1,1,A), computed on the host. */
static float *anchors_data(sn_cg_lower_ctx *c, const sn_ir_node *n) {
    float *d = ctx_own(c, (size_t)sn_shape_numel(&n->shape));
    if (!d)
        return NULL;
    int64_t what = n->ia[0], nl = n->ia[1], a = 0, total = 0;
    for (int64_t l = 0; l < nl; l++)
        total += n->ia[2 + 3 * l] * n->ia[3 + 3 * l];
    for (int64_t l = 0; l < nl; l++) {
        int64_t h = n->ia[2 + 3 * l], w = n->ia[3 + 3 * l], st = n->ia[4 + 3 * l];
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++, a++) {
                if (what == 0) {
                    d[a] = (float)((double)x + n->fa[0]);
                    d[total + a] = (float)((double)y + n->fa[0]);
                } else {
                    d[a] = (float)st;
                }
            }
    }
    return d;
}

static const float *leaf_data(sn_cg_lower_ctx *c, int32_t ni) {
    const sn_ir_node *n = &c->g->nodes[ni];
    if (n->op == SN_OP_ANCHORS)
        return anchors_data(c, n);
    return n->data;
}

/* 1 when every element of a CONST is equal (it becomes a literal). */
static int const_uniform(const sn_ir_node *n, float *v) {
    if (n->op != SN_OP_CONST || !n->data)
        return 0;
    int64_t ne = sn_shape_numel(&n->shape);
    for (int64_t i = 1; i < ne; i++)
        if (memcmp(&n->data[i], &n->data[0], sizeof(float)) != 0)
            return 0;
    *v = n->data[0];
    return 1;
}

/* Packs a leaf's f32 data plain (contiguous row-major) and returns its blob offset. */
static int64_t pack_plain(sn_cg_lower_ctx *c, int32_t ni, const float *data) {
    const sn_ir_node *n = &c->g->nodes[ni];
    return sn_cg_weights_add(c, ni, 0, data, (size_t)sn_shape_numel(&n->shape) * sizeof(float));
}

/* The storage of node ni's value as a val (not yet added to a group). pack: 0 = leave a
 * weight unpacked (the renderer packs it). */
static sn_status make_val(sn_cg_lower_ctx *c, int32_t ni, int pack, sn_cg_val *v, char *err,
                          size_t errlen) {
    const sn_ir_graph *g = c->g;
    const sn_ir_node *n = &g->nodes[ni];
    memset(v, 0, sizeof *v);
    v->node = ni;
    v->shape = n->shape;
    if (is_leaf(n)) {
        const float *d = leaf_data(c, ni);
        if (!d) {
            sn_errf(err, errlen, "node %%%d (%s): no data for a %s", ni, sn_ir_str_get(g, n->name),
                    sn_ir_op_info[n->op].name);
            return n->op == SN_OP_ANCHORS ? SN_ERR_NOMEM : SN_ERR_INVALID;
        }
        v->is_weight = 1;
        v->data = d;
        v->dtype = SN_DTYPE_F32;
        sn_ir_contiguous_strides(&n->shape, v->stride);
        v->loc.kind = SN_CG_ARG_WEIGHTS;
        v->loc.offset = -1;
        if (pack) {
            int64_t off = pack_plain(c, ni, d);
            if (off < 0)
                return SN_ERR_NOMEM;
            v->loc.offset = off;
        }
        return SN_OK;
    }
    if (n->buf < 0 || n->buf >= g->nbufs) {
        sn_errf(err, errlen, "node %%%d (%s): value has no storage (run plan-memory first)", ni,
                sn_ir_op_info[n->op].name);
        return SN_ERR_INVALID;
    }
    const sn_ir_buf *b = &g->bufs[n->buf];
    /* intermediates in the dtype plan-memory stored them in (f16/bf16 where the autocast pass
     * made them so), so element offsets scale by its size */
    v->dtype = b->dtype;
    memcpy(v->stride, n->stride, sizeof v->stride);
    int64_t es = (int64_t)sn_dtype_size(b->dtype);
    switch (b->kind) {
    case SN_IR_BUF_ARENA:
        v->loc.kind = SN_CG_ARG_ARENA;
        v->loc.index = 0;
        v->loc.offset = b->arena_offset + n->offset * es;
        break;
    case SN_IR_BUF_INPUT:
        v->loc.kind = SN_CG_ARG_INPUT;
        v->loc.index = b->index;
        v->loc.offset = n->offset * es;
        break;
    case SN_IR_BUF_OUTPUT:
        v->loc.kind = SN_CG_ARG_OUTPUT;
        v->loc.index = b->index;
        v->loc.offset = n->offset * es;
        break;
    case SN_IR_BUF_CONST: {
        /* a view of a PARAM/CONST: the owner is packed plain, f32 */
        int32_t owner = b->index;
        if (owner < 0 || owner >= g->nnodes || !is_leaf(&g->nodes[owner])) {
            sn_errf(err, errlen, "node %%%d: const buffer names node %%%d, not a leaf", ni, owner);
            return SN_ERR_INVALID;
        }
        const float *d = leaf_data(c, owner);
        if (!d)
            return SN_ERR_NOMEM;
        int64_t off = pack_plain(c, owner, d);
        if (off < 0)
            return SN_ERR_NOMEM;
        v->dtype = SN_DTYPE_F32;
        v->loc.kind = SN_CG_ARG_WEIGHTS;
        v->loc.offset = off + n->offset * 4;
        break;
    }
    }
    return SN_OK;
}

/* Strides for a reshape of (os, ost) into ns without a copy; 0 when impossible (numpy's
 * _attempt_nocopy_reshape, size-1 dims dropped first). */
static int reshape_strides(const sn_shape *os, const int64_t *ost, const sn_shape *ns,
                           int64_t *nst) {
    int64_t od[SN_MAX_DIMS], ostr[SN_MAX_DIMS];
    int ond = 0;
    for (int i = 0; i < os->ndim; i++)
        if (os->d[i] != 1) {
            od[ond] = os->d[i];
            ostr[ond++] = ost[i];
        }
    int nnd = ns->ndim;
    const int64_t *nd = ns->d;
    for (int i = 0; i < nnd; i++)
        nst[i] = 0;
    int oi = 0, oj = 1, ni = 0, nj = 1;
    while (ni < nnd && oi < ond) {
        int64_t np = nd[ni], op = od[oi];
        while (np != op) {
            if (np < op) {
                if (nj >= nnd)
                    return 0;
                np *= nd[nj++];
            } else {
                if (oj >= ond)
                    return 0;
                op *= od[oj++];
            }
        }
        for (int ok = oi; ok < oj - 1; ok++)
            if (ostr[ok] != od[ok + 1] * ostr[ok + 1])
                return 0;
        nst[nj - 1] = ostr[oj - 1];
        for (int nk = nj - 1; nk > ni; nk--)
            nst[nk - 1] = nst[nk] * nd[nk];
        ni = nj++;
        oi = oj++;
    }
    /* size-1 dims left over: any stride (0 keeps broadcasting detection honest) */
    for (int i = 0; i < nnd; i++)
        if (nd[i] == 1)
            nst[i] = 0;
    return 1;
}

/* Applies the view op `n` (SLICE/PERMUTE/RESHAPE/CAST) to v in place. 0 when the result is
 * not expressible by strides (a reshape that needs a copy). */
static int apply_view(const sn_ir_node *n, sn_cg_val *v) {
    sn_cg_val o = *v;
    switch (n->op) {
    case SN_OP_SLICE: {
        int64_t ax = n->ia[0], start = n->ia[1], step = n->ia[3];
        int64_t es = v->is_weight ? 4 : (int64_t)sn_dtype_size(v->dtype);
        o.loc.offset += start * v->stride[ax] * es;
        o.stride[ax] = v->stride[ax] * step;
        break;
    }
    case SN_OP_PERMUTE:
        for (int i = 0; i < n->nia; i++)
            o.stride[i] = v->stride[n->ia[i]];
        break;
    case SN_OP_RESHAPE:
        if (!reshape_strides(&v->shape, v->stride, &n->shape, o.stride))
            return 0;
        break;
    case SN_OP_CAST:
        break;
    default:
        return 0;
    }
    o.shape = n->shape;
    o.data = NULL; /* data describes the unviewed leaf only */
    if (n->op == SN_OP_CAST && v->data)
        o.data = v->data;
    *v = o;
    return 1;
}

/* ---------------------------------------------------------------- describing a group */

typedef struct gbuild {
    sn_cg_lower_ctx *c;
    sn_cg_group *grp;
    int32_t op_of[SN_CG_MAX_NODES]; /* node position → op index */
} gbuild;

static int node_pos(const sn_cg_group *grp, int32_t ni) {
    for (int i = 0; i < grp->nnodes; i++)
        if (grp->nodes[i] == ni)
            return i;
    return -1;
}

static int val_eq(const sn_cg_val *a, const sn_cg_val *b) {
    return a->node == b->node && a->loc.kind == b->loc.kind && a->loc.index == b->loc.index &&
           a->loc.offset == b->loc.offset && sn_shape_eq(&a->shape, &b->shape) &&
           memcmp(a->stride, b->stride, sizeof(int64_t) * (size_t)a->shape.ndim) == 0 &&
           a->is_weight == b->is_weight;
}

/* Adds an input val (deduplicated); returns its index or -1 when full. */
static int add_in_val(sn_cg_group *grp, const sn_cg_val *v) {
    for (int i = 0; i < grp->nin; i++)
        if (val_eq(&grp->vals[i], v) && v->loc.offset >= 0)
            return i;
    if (grp->nvals >= SN_CG_MAX_ARGS)
        return -1;
    grp->vals[grp->nvals] = *v;
    grp->nin = ++grp->nvals;
    return grp->nvals - 1;
}

/* Aligns val strides to the shape `sp` of the index the operand is evaluated at (numpy
 * broadcasting, right-aligned). 0 when the val does not broadcast into it. */
static int align_opnd(const sn_shape *sp, const sn_cg_val *v, sn_cg_opnd *o) {
    int lead = sp->ndim - v->shape.ndim;
    if (lead < 0) {
        /* leading 1s of the val beyond the shape's rank are fine */
        for (int i = 0; i < -lead; i++)
            if (v->shape.d[i] != 1)
                return 0;
    }
    int varying = 0, chan_only = 1, full = 1;
    for (int k = 0; k < sp->ndim; k++) {
        int j = k - lead;
        int64_t st = 0, ext = 1;
        if (j >= 0 && j < v->shape.ndim) {
            ext = v->shape.d[j];
            st = ext == 1 ? 0 : v->stride[j];
        }
        if (ext != 1 && ext != sp->d[k])
            return 0;
        o->stride[k] = st;
        if (ext != sp->d[k])
            full = 0;
        if (ext != 1) {
            varying++;
            if (k != 1)
                chan_only = 0;
        }
    }
    for (int k = sp->ndim; k < SN_MAX_DIMS; k++)
        o->stride[k] = 0;
    o->kind = SN_CG_OPND_INPUT;
    if (varying == 0)
        o->bcast = SN_CG_BCAST_SCALAR;
    else if (full)
        o->bcast = SN_CG_BCAST_FULL;
    else if (chan_only && sp->ndim >= 2)
        o->bcast = SN_CG_BCAST_CHANNEL;
    else
        o->bcast = SN_CG_BCAST_GENERAL;
    return 1;
}

#define UNSUP(...)                                                                                 \
    do {                                                                                           \
        sn_errf(err, errlen, __VA_ARGS__);                                                         \
        return SN_ERR_UNSUPPORTED;                                                                 \
    } while (0)

/* The shape of the index operand `slot` of op `op` is evaluated at. */
static const sn_shape *eval_shape(const sn_ir_graph *g, const sn_cg_op *op, int slot) {
    if (op->op == SN_OP_CONCAT || op->op == SN_OP_UPSAMPLE)
        return &g->nodes[g->nodes[op->node].in[slot]].shape;
    return &op->shape;
}

/* An operand for input slot `slot` of group node ni (op `op`). */
static sn_status make_opnd(gbuild *b, const sn_cg_op *op, int slot, sn_cg_opnd *o, char *err,
                           size_t errlen) {
    sn_cg_group *grp = b->grp;
    const sn_ir_graph *g = b->c->g;
    int32_t ni = op->node;
    int32_t src = g->nodes[ni].in[slot];
    const sn_shape *es = eval_shape(g, op, slot);
    memset(o, 0, sizeof *o);
    int p = node_pos(grp, src);
    if (p >= 0) {
        if (b->op_of[p] < 0)
            UNSUP("group %d: node %%%d reads %%%d of the same group before it is computed", grp->id,
                  ni, src);
        if (!sn_shape_eq(&g->nodes[src].shape, es))
            UNSUP("group %d: member %%%d is broadcast into %%%d (members never are)", grp->id, src,
                  ni);
        o->kind = SN_CG_OPND_PREV;
        o->ref = b->op_of[p];
        return SN_OK;
    }
    float lit;
    if (const_uniform(&g->nodes[src], &lit)) {
        o->kind = SN_CG_OPND_SCALAR;
        o->scalar = lit;
        return SN_OK;
    }
    sn_cg_val v;
    sn_status st = make_val(b->c, src, 1, &v, err, errlen);
    if (st)
        return st;
    int vi = add_in_val(grp, &v);
    if (vi < 0)
        UNSUP("group %d: more than %d arguments", grp->id, SN_CG_MAX_ARGS);
    if (!align_opnd(es, &grp->vals[vi], o))
        UNSUP("group %d: node %%%d's input %%%d does not broadcast into its shape", grp->id, ni,
              src);
    o->ref = vi;
    return SN_OK;
}

/* BATCHNORM as x*scale+shift: scale/shift synthesized from the four [C] params. */
static sn_status bn_opnds(gbuild *b, const sn_cg_op *op, sn_cg_opnd *scale, sn_cg_opnd *shift,
                          char *err, size_t errlen) {
    sn_cg_group *grp = b->grp;
    const sn_ir_graph *g = b->c->g;
    int32_t ni = op->node;
    const sn_ir_node *n = &g->nodes[ni];
    const float *p[4];
    int64_t ch = n->shape.ndim >= 2 ? n->shape.d[1] : 0;
    for (int i = 0; i < 4; i++) {
        const sn_ir_node *q = &g->nodes[n->in[1 + i]];
        if (!is_leaf(q) || !q->data || sn_shape_numel(&q->shape) != ch)
            UNSUP("group %d: batchnorm %%%d needs PARAM/CONST [C] statistics", grp->id, ni);
        p[i] = q->data;
    }
    float *sc = ctx_own(b->c, (size_t)ch), *sh = ctx_own(b->c, (size_t)ch);
    if (!sc || !sh)
        return SN_ERR_NOMEM;
    for (int64_t i = 0; i < ch; i++) {
        double s = (double)p[0][i] / sqrt((double)p[3][i] + n->fa[0]);
        sc[i] = (float)s;
        sh[i] = (float)((double)p[1][i] - (double)p[2][i] * s);
    }
    sn_cg_opnd *outs[2] = {scale, shift};
    float *datas[2] = {sc, sh};
    for (int i = 0; i < 2; i++) {
        /* shape [C,1,…] so that, right-aligned, C lands on dim 1 */
        sn_cg_val v;
        memset(&v, 0, sizeof v);
        v.node = ni;
        v.is_weight = 1;
        v.data = datas[i];
        v.dtype = SN_DTYPE_F32;
        v.shape.ndim = op->shape.ndim - 1;
        for (int k = 0; k < v.shape.ndim; k++) {
            v.shape.d[k] = k == 0 ? ch : 1;
            v.stride[k] = k == 0 ? 1 : 0;
        }
        v.loc.kind = SN_CG_ARG_WEIGHTS;
        v.loc.offset = sn_cg_weights_add(b->c, ni, 1 + i, datas[i], (size_t)ch * sizeof(float));
        if (v.loc.offset < 0)
            return SN_ERR_NOMEM;
        int vi = add_in_val(grp, &v);
        if (vi < 0)
            UNSUP("group %d: more than %d arguments", grp->id, SN_CG_MAX_ARGS);
        memset(outs[i], 0, sizeof *outs[i]);
        if (!align_opnd(&op->shape, &grp->vals[vi], outs[i]))
            UNSUP("group %d: batchnorm %%%d channel vector does not fit", grp->id, ni);
        outs[i]->ref = vi;
    }
    return SN_OK;
}

/* Whether node ni's value is needed outside the group. */
static int used_outside(const sn_ir_graph *g, const sn_cg_group *grp, int32_t ni) {
    if (g->nodes[ni].flags & SN_IR_NODE_OUTPUT)
        return 1;
    for (int32_t j = ni + 1; j < g->nnodes; j++) {
        const sn_ir_node *m = &g->nodes[j];
        if (m->flags & SN_IR_NODE_DEAD)
            continue;
        if (m->group == grp->id)
            continue;
        for (int k = 0; k < m->nin; k++)
            if (m->in[k] == ni)
                return 1;
    }
    return 0;
}

static sn_status add_store(gbuild *b, int opi, char *err, size_t errlen) {
    sn_cg_group *grp = b->grp;
    sn_cg_op *op = &grp->ops[opi];
    sn_cg_val v;
    sn_status st = make_val(b->c, op->node, 1, &v, err, errlen);
    if (st)
        return st;
    if (v.is_weight || v.loc.kind == SN_CG_ARG_WEIGHTS || v.loc.kind == SN_CG_ARG_INPUT)
        UNSUP("group %d: node %%%d is stored to a read-only buffer", grp->id, op->node);
    if (grp->nvals >= SN_CG_MAX_ARGS)
        UNSUP("group %d: more than %d arguments", grp->id, SN_CG_MAX_ARGS);
    grp->vals[grp->nvals] = v;
    op->store = grp->nvals++;
    return SN_OK;
}

/* The weight operand of a stride-1 conv's input gradient as the conv that computes it reads
 * it: w [O,C/g,KH,KW] → w' [C,O/g,KH,KW], w'[gi·Cg + c][o][kh][kw] = w[gi·Og + o][c][KH-1-kh]
 * [KW-1-kw]. Not the PARAM's own layout, so the val belongs to no node (node -1: packed on
 * its own, never shared with the forward conv's packing of the same weights). */
static sn_status conv_grad_input_weights(sn_cg_lower_ctx *c, const sn_ir_node *n, sn_cg_val *v) {
    int64_t O = v->shape.d[0], Cg = v->shape.d[1], KH = v->shape.d[2], KW = v->shape.d[3];
    int64_t G = n->ia[6], Og = O / G;
    float *t = ctx_own(c, (size_t)(O * Cg * KH * KW));
    if (!t)
        return SN_ERR_NOMEM;
    for (int64_t gi = 0; gi < G; gi++)
        for (int64_t ci = 0; ci < Cg; ci++)
            for (int64_t o = 0; o < Og; o++)
                for (int64_t kh = 0; kh < KH; kh++)
                    for (int64_t kw = 0; kw < KW; kw++)
                        t[(((gi * Cg + ci) * Og + o) * KH + kh) * KW + kw] =
                            v->data[(((gi * Og + o) * Cg + ci) * KH + (KH - 1 - kh)) * KW +
                                    (KW - 1 - kw)];
    v->data = t;
    v->node = -1;
    v->shape = (sn_shape){.ndim = 4, .d = {G * Cg, Og, KH, KW}};
    sn_ir_contiguous_strides(&v->shape, v->stride);
    return SN_OK;
}

static sn_status describe_group(sn_cg_lower_ctx *c, int32_t gid, const int32_t *nodes, int nnodes,
                                sn_cg_group *grp, char *err, size_t errlen) {
    const sn_ir_graph *g = c->g;
    memset(grp, 0, sizeof *grp);
    grp->graph = g;
    grp->target = c->t;
    grp->id = gid;
    grp->anchor = SN_CG_ANCHOR_POINTWISE;
    grp->anchor_node = -1;
    if (nnodes > SN_CG_MAX_NODES || nnodes > SN_CG_MAX_OPS)
        UNSUP("group %d: %d nodes (at most %d)", gid, nnodes, SN_CG_MAX_OPS);
    grp->nnodes = nnodes;
    memcpy(grp->nodes, nodes, (size_t)nnodes * sizeof *nodes);

    gbuild b = {.c = c, .grp = grp};
    for (int i = 0; i < nnodes; i++)
        b.op_of[i] = -1;

    /* the anchor: conv/matmul/maxpool/softmax/reduce always; upsample and concat when alone */
    int apos = -1;
    for (int i = 0; i < nnodes; i++) {
        const sn_ir_node *n = &g->nodes[nodes[i]];
        sn_cg_anchor a;
        int tree_member = (n->op == SN_OP_CONCAT || n->op == SN_OP_UPSAMPLE) && nnodes > 1;
        if (!tree_member && anchor_of(n, &a)) {
            if (apos >= 0)
                UNSUP("group %d: two anchors (%%%d %s and %%%d %s)", gid, nodes[apos],
                      sn_ir_op_info[g->nodes[nodes[apos]].op].name, nodes[i],
                      sn_ir_op_info[n->op].name);
            apos = i;
            grp->anchor = a;
        } else if (!tree_member && !is_pointwise_op(n->op) && !is_view_op(n->op)) {
            UNSUP("group %d: node %%%d: %s cannot be rendered as a kernel", gid, nodes[i],
                  sn_ir_op_info[n->op].name);
        }
    }
    if (apos > 0)
        UNSUP("group %d: node %%%d comes before the anchor %%%d (no prologue fusion)", gid,
              nodes[0], nodes[apos]);

    /* a lone reshape that is no view: a row-major copy */
    if (apos < 0 && nnodes == 1 && g->nodes[nodes[0]].op == SN_OP_RESHAPE) {
        sn_cg_val v;
        sn_status st = make_val(c, g->nodes[nodes[0]].in[0], 1, &v, err, errlen);
        if (st)
            return st;
        if (!apply_view(&g->nodes[nodes[0]], &v)) {
            grp->anchor = SN_CG_ANCHOR_RESHAPE;
            apos = 0;
        }
    }

    int32_t last = nodes[nnodes - 1];
    grp->space = apos >= 0 ? g->nodes[nodes[apos]].shape : g->nodes[last].shape;

    for (int i = 0; i < nnodes; i++) {
        int32_t ni = nodes[i];
        const sn_ir_node *n = &g->nodes[ni];
        int opi = grp->nops++;
        sn_cg_op *op = &grp->ops[opi];
        memset(op, 0, sizeof *op);
        op->op = n->op;
        op->node = ni;
        op->shape = n->shape;
        op->store = -1;
        if (i == apos) {
            grp->anchor_node = ni;
            grp->nattr = n->nia;
            memcpy(grp->attr, n->ia, sizeof grp->attr);
            if (n->nin > SN_CG_MAX_ARGS)
                UNSUP("group %d: %s %%%d has %d inputs (at most %d)", gid,
                      sn_ir_op_info[n->op].name, ni, n->nin, SN_CG_MAX_ARGS);
            grp->nanchor_in = n->nin;
            for (int k = 0; k < n->nin; k++) {
                int32_t src = n->in[k];
                if (node_pos(grp, src) >= 0)
                    UNSUP("group %d: anchor %%%d reads %%%d of its own group", gid, ni, src);
                int is_w = grp->anchor == SN_CG_ANCHOR_CONV2D && k >= 1;
                sn_cg_val v;
                sn_status st = make_val(c, src, !is_w, &v, err, errlen);
                if (st)
                    return st;
                if (is_w && !v.is_weight)
                    UNSUP("group %d: conv2d %%%d weight/bias %%%d is not a PARAM/CONST", gid, ni,
                          src);
                if (is_w && n->op == SN_OP_CONV2D_GRAD_INPUT &&
                    (st = conv_grad_input_weights(c, n, &v)) != SN_OK)
                    return st;
                if (!is_w && k == 0 && v.is_weight && grp->anchor == SN_CG_ANCHOR_CONV2D)
                    UNSUP("group %d: conv2d %%%d of a constant input", gid, ni);
                int vi = add_in_val(grp, &v);
                if (vi < 0)
                    UNSUP("group %d: more than %d arguments", gid, SN_CG_MAX_ARGS);
                grp->anchor_in[k] = vi;
            }
            if (grp->anchor == SN_CG_ANCHOR_CONV2D && n->op == SN_OP_CONV2D_GRAD_INPUT) {
                /* the conv that gives dx: of dy [N,O,OH,OW], weights [C,O/g,KH,KW] */
                const sn_shape *ys = &g->nodes[n->in[0]].shape, *ws = &g->nodes[n->in[1]].shape;
                sn_cg_conv *cv = &grp->conv;
                grp->anchor_in[2] = -1;
                grp->nanchor_in = 3;
                op->op = SN_OP_CONV2D;
                *cv = (sn_cg_conv){.n = ys->d[0],
                                   .c = ys->d[1],
                                   .h = ys->d[2],
                                   .w = ys->d[3],
                                   .o = n->shape.d[1],
                                   .oh = n->shape.d[2],
                                   .ow = n->shape.d[3],
                                   .kh = ws->d[2],
                                   .kw = ws->d[3],
                                   .sh = 1,
                                   .sw = 1,
                                   .ph = ws->d[2] - 1 - n->ia[2],
                                   .pw = ws->d[3] - 1 - n->ia[3],
                                   .dh = 1,
                                   .dw = 1,
                                   .groups = n->ia[6]};
            } else if (grp->anchor == SN_CG_ANCHOR_CONV2D) {
                if (n->nin < 3)
                    grp->anchor_in[2] = -1;
                grp->nanchor_in = 3;
                const sn_shape *xs = &g->nodes[n->in[0]].shape, *ws = &g->nodes[n->in[1]].shape;
                sn_cg_conv *cv = &grp->conv;
                cv->n = xs->d[0];
                cv->c = xs->d[1];
                cv->h = xs->d[2];
                cv->w = xs->d[3];
                cv->o = n->shape.d[1];
                cv->oh = n->shape.d[2];
                cv->ow = n->shape.d[3];
                cv->kh = ws->d[2];
                cv->kw = ws->d[3];
                cv->sh = n->ia[0];
                cv->sw = n->ia[1];
                cv->ph = n->ia[2];
                cv->pw = n->ia[3];
                cv->dh = n->ia[4];
                cv->dw = n->ia[5];
                cv->groups = n->ia[6];
            } else if (grp->anchor == SN_CG_ANCHOR_MAXPOOL) {
                const sn_shape *xs = &g->nodes[n->in[0]].shape;
                sn_cg_conv *cv = &grp->conv;
                cv->n = xs->d[0];
                cv->c = cv->o = cv->groups = xs->d[1];
                cv->h = xs->d[2];
                cv->w = xs->d[3];
                cv->oh = n->shape.d[2];
                cv->ow = n->shape.d[3];
                cv->kh = cv->kw = n->ia[0];
                cv->sh = cv->sw = n->ia[1];
                cv->ph = cv->pw = n->ia[2];
                cv->dh = cv->dw = 1;
            } else if (grp->anchor == SN_CG_ANCHOR_CONCAT) {
                int64_t ax = n->ia[0], at = 0;
                for (int k = 0; k < n->nin; k++) {
                    grp->concat_start[k] = at;
                    at += g->nodes[n->in[k]].shape.d[ax];
                }
            } else if (grp->anchor == SN_CG_ANCHOR_RESHAPE) {
                grp->nanchor_in = 1;
            }
        } else if (is_view_op(n->op)) {
            /* folded into the strides of the value it reads */
            int32_t src = n->in[0];
            int p = node_pos(grp, src);
            sn_cg_val v;
            if (p >= 0) {
                const sn_cg_op *pop = &grp->ops[b.op_of[p]];
                if (n->op == SN_OP_CAST) {
                    op->nin = 1;
                    op->in[0].kind = SN_CG_OPND_PREV;
                    op->in[0].ref = b.op_of[p];
                    b.op_of[i] = opi;
                    continue;
                }
                if (!is_view_op(pop->op) || pop->in[0].kind != SN_CG_OPND_INPUT)
                    UNSUP("group %d: %s %%%d of a value computed in the group", gid,
                          sn_ir_op_info[n->op].name, ni);
                v = grp->vals[pop->in[0].ref];
            } else {
                sn_status st = make_val(c, src, 1, &v, err, errlen);
                if (st)
                    return st;
            }
            if (!apply_view(n, &v))
                UNSUP("group %d: reshape %%%d needs a copy inside a fused group", gid, ni);
            int vi = add_in_val(grp, &v);
            if (vi < 0)
                UNSUP("group %d: more than %d arguments", gid, SN_CG_MAX_ARGS);
            op->nin = 1;
            if (!align_opnd(&op->shape, &grp->vals[vi], &op->in[0]))
                UNSUP("group %d: %%%d does not fit its own shape", gid, ni);
            op->in[0].ref = vi;
        } else if (n->op == SN_OP_BATCHNORM) {
            op->nin = 3;
            sn_status st = make_opnd(&b, op, 0, &op->in[0], err, errlen);
            if (!st)
                st = bn_opnds(&b, op, &op->in[1], &op->in[2], err, errlen);
            if (st)
                return st;
        } else {
            if (n->nin > SN_CG_OP_MAX_IN)
                UNSUP("group %d: %s %%%d has %d inputs (at most %d in a fused group)", gid,
                      sn_ir_op_info[n->op].name, ni, n->nin, SN_CG_OP_MAX_IN);
            if (n->op == SN_OP_CONCAT) {
                int64_t ax = n->ia[0], at = 0;
                op->attr[0] = ax;
                for (int k = 0; k < n->nin; k++) {
                    op->start[k] = at;
                    at += g->nodes[n->in[k]].shape.d[ax];
                }
                op->start[n->nin] = at;
            } else if (n->op == SN_OP_UPSAMPLE) {
                op->attr[0] = n->ia[0];
                op->attr[1] = n->ia[1];
            }
            op->nin = n->nin;
            for (int k = 0; k < n->nin; k++) {
                sn_status st = make_opnd(&b, op, k, &op->in[k], err, errlen);
                if (st)
                    return st;
            }
        }
        b.op_of[i] = opi;
        if (apos >= 0 && i != apos && !sn_shape_eq(&n->shape, &grp->space))
            UNSUP("group %d: epilogue node %%%d's shape differs from the anchor's", gid, ni);
    }
    grp->nin = grp->nvals;

    /* stores: the root always, any other member that escapes */
    for (int i = 0; i < grp->nops; i++) {
        if (i != grp->nops - 1 && !used_outside(g, grp, grp->ops[i].node))
            continue;
        if (i != grp->nops - 1 && !sn_shape_eq(&grp->ops[i].shape, &grp->space))
            UNSUP("group %d: member %%%d escapes the group with a shape of its own", gid,
                  grp->ops[i].node);
        sn_status st = add_store(&b, i, err, errlen);
        if (st)
            return st;
        sn_cg_val *ov = &grp->vals[grp->ops[i].store];
        sn_cg_opnd tmp;
        if (!align_opnd(&grp->space, ov, &tmp))
            UNSUP("group %d: output %%%d does not fit the index space", gid, grp->ops[i].node);
    }
    return SN_OK;
}

/* ---------------------------------------------------------------- names and comments */

static const char *epi_name(sn_op op) {
    switch (op) {
    case SN_OP_BATCHNORM:
        return "bn";
    case SN_OP_SLICE:
    case SN_OP_RESHAPE:
    case SN_OP_CAST:
        return NULL;
    default:
        return sn_ir_op_info[op].name;
    }
}

void sn_cg_group_basename(const sn_cg_group *g, char *buf, size_t n) {
    sn_str s = {0};
    int first = 0;
    switch (g->anchor) {
    case SN_CG_ANCHOR_CONV2D: {
        const sn_cg_conv *cv = &g->conv;
        int dw = cv->groups > 1 && cv->groups == cv->c && cv->groups == cv->o;
        sn_str_printf(&s, "%sconv%lldx%lld", dw ? "dw" : "", (long long)cv->kh, (long long)cv->kw);
        if (cv->sh > 1 || cv->sw > 1) {
            if (cv->sh == cv->sw)
                sn_str_printf(&s, "s%lld", (long long)cv->sh);
            else
                sn_str_printf(&s, "s%lldx%lld", (long long)cv->sh, (long long)cv->sw);
        }
        if (cv->dh > 1 || cv->dw > 1)
            sn_str_printf(&s, "d%lld", (long long)cv->dh);
        if (cv->groups > 1 && !dw)
            sn_str_printf(&s, "g%lld", (long long)cv->groups);
        first = 1;
        break;
    }
    case SN_CG_ANCHOR_MAXPOOL:
        sn_str_printf(&s, "maxpool%lld", (long long)g->conv.kh);
        if (g->conv.sh > 1)
            sn_str_printf(&s, "s%lld", (long long)g->conv.sh);
        first = 1;
        break;
    case SN_CG_ANCHOR_UPSAMPLE:
        sn_str_printf(&s, "upsample%lld", (long long)g->attr[0]);
        first = 1;
        break;
    case SN_CG_ANCHOR_POINTWISE:
        break;
    default:
        sn_str_printf(&s, "%s", sn_cg_anchor_name(g->anchor));
        first = 1;
        break;
    }
    int named = first;
    for (int i = first; i < g->nops && s.len < 64; i++) {
        const char *en = epi_name(g->ops[i].op);
        if (!en)
            continue;
        sn_str_printf(&s, "%s%s", named ? "_" : "", en);
        named = 1;
    }
    if (!named)
        sn_str_printf(&s, "%s", g->nops ? sn_ir_op_info[g->ops[0].op].name : "copy");
    /* index space: 4-D → CxHxW (batch shown when > 1); else the dims without leading 1s */
    const sn_shape *sp = &g->space;
    int k0 = 0;
    if (sp->ndim == 4 && sp->d[0] == 1)
        k0 = 1;
    else
        while (k0 < sp->ndim - 1 && sp->d[k0] == 1)
            k0++;
    for (int k = k0; k < sp->ndim; k++)
        sn_str_printf(&s, "%s%lld", k == k0 ? "_" : "x", (long long)sp->d[k]);
    char *p = sn_str_take(&s);
    snprintf(buf, n, "%s", p ? p : "kernel");
    free(p);
}

char *sn_cg_group_comment(const sn_cg_group *g) {
    sn_str s = {0};
    const sn_ir_graph *gr = g->graph;
    for (int i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &gr->nodes[g->nodes[i]];
        const char *src = sn_ir_str_get(gr, n->src);
        char sb[96];
        sn_shape_str(&n->shape, sb, sizeof sb);
        sn_str_printf(&s, "%%%d %s %s%s%s\n", g->nodes[i], sn_ir_op_info[n->op].name, sb,
                      *src ? " " : "", src);
    }
    return sn_str_take(&s);
}

/* Replaces whole-word occurrences of `from` by `to` in *text (reallocating). */
static sn_status replace_word(char **text, const char *from, const char *to) {
    if (!*text)
        return SN_OK;
    sn_str s = {0};
    size_t fl = strlen(from);
    const char *p = *text;
    for (;;) {
        const char *q = strstr(p, from);
        while (q) {
            int lb = q > *text && (q[-1] == '_' || (q[-1] >= '0' && q[-1] <= '9') ||
                                   ((q[-1] | 32) >= 'a' && (q[-1] | 32) <= 'z'));
            char a = q[fl];
            int rb = a == '_' || (a >= '0' && a <= '9') || ((a | 32) >= 'a' && (a | 32) <= 'z');
            if (!lb && !rb)
                break;
            q = strstr(q + 1, from);
        }
        if (!q)
            break;
        sn_str_printf(&s, "%.*s%s", (int)(q - p), p, to);
        p = q + fl;
    }
    sn_str_printf(&s, "%s", p);
    char *r = sn_str_take(&s);
    if (!r)
        return SN_ERR_NOMEM;
    free(*text);
    *text = r;
    return SN_OK;
}

sn_status sn_cg_rename_text(sn_cg_kernel *k, const char *name) {
    char old[sizeof k->name];
    snprintf(old, sizeof old, "%s", k->name);
    sn_status st = replace_word(&k->spec, old, name);
    if (!st)
        st = replace_word(&k->source, old, name);
    if (st)
        return st;
    snprintf(k->name, sizeof k->name, "%s", name);
    return SN_OK;
}

/* ---------------------------------------------------------------- the program */

void sn_cg_target_cuda(sn_cg_target *t, int sm, sn_dtype dtype) {
    memset(t, 0, sizeof *t);
    t->backend = &sn_cg_backend_cuda;
    t->sm = sm;
    t->dtype = dtype;
}

static void kernel_free(sn_cg_kernel *k) {
    free(k->source);
    free(k->spec);
    free(k->comment);
    free(k->impl);
}

void sn_cg_program_free(sn_cg_program *p) {
    if (!p)
        return;
    for (int i = 0; i < p->nkernels; i++)
        kernel_free(&p->kernels[i]);
    free(p->kernels);
    free(p->steps);
    for (int i = 0; i < p->nparams; i++)
        free(p->params[i].name);
    free(p->params);
    free(p->weights);
    free(p->input_bytes);
    free(p->output_bytes);
    free(p);
}

static sn_status unique_name(sn_cg_lower_ctx *c, sn_cg_kernel *k) {
    sn_cg_program *p = c->p;
    char base[sizeof k->name], cand[sizeof k->name];
    snprintf(base, sizeof base, "%s", k->name);
    snprintf(cand, sizeof cand, "%s", base);
    for (int suffix = 1;; suffix++) {
        int clash = 0;
        for (int i = 0; i < p->nkernels; i++) {
            const sn_cg_kernel *o = &p->kernels[i];
            if (strcmp(o->name, cand) != 0)
                continue;
            /* same name: fine when it is the same kernel (spec equal up to the name) */
            if (strcmp(cand, base) == 0 && o->spec && k->spec && strcmp(o->spec, k->spec) == 0)
                return SN_OK;
            if (strcmp(cand, base) != 0) {
                /* compare k's spec renamed to cand */
                sn_cg_kernel tmp = *k;
                tmp.spec = k->spec ? strdup(k->spec) : NULL;
                tmp.source = NULL;
                if (k->spec && !tmp.spec)
                    return SN_ERR_NOMEM;
                sn_status st = replace_word(&tmp.spec, base, cand);
                int same = !st && tmp.spec && o->spec && strcmp(tmp.spec, o->spec) == 0;
                free(tmp.spec);
                if (st)
                    return st;
                if (same)
                    break; /* reuse this suffixed name */
            }
            clash = 1;
            break;
        }
        if (!clash)
            break;
        snprintf(cand, sizeof cand, "%.100s_%d", base, suffix);
    }
    if (strcmp(cand, base) == 0)
        return SN_OK;
    return c->t->backend->rename(k, cand);
}

static sn_status lower(const sn_ir_graph *g, const sn_cg_target *t, int weights_only,
                       sn_cg_program **out, char *err, size_t errlen);

sn_status sn_cg_lower(const sn_ir_graph *g, const sn_cg_target *t, sn_cg_program **out, char *err,
                      size_t errlen) {
    return lower(g, t, 0, out, err, errlen);
}

sn_status sn_cg_lower_weights(const sn_ir_graph *g, const sn_cg_target *t, uint8_t **weights,
                              int64_t *bytes, char *err, size_t errlen) {
    sn_cg_program *p = NULL;
    *weights = NULL;
    *bytes = 0;
    sn_status st = lower(g, t, 1, &p, err, errlen);
    if (st == SN_OK) {
        *weights = p->weights;
        *bytes = p->weight_bytes;
        p->weights = NULL;
    }
    sn_cg_program_free(p);
    return st;
}

static sn_status lower(const sn_ir_graph *g, const sn_cg_target *t, int weights_only,
                       sn_cg_program **out, char *err, size_t errlen) {
    *out = NULL;
    if (!g->bufs && g->nnodes > 0) {
        sn_errf(err, errlen, "sn_cg_lower: the graph has no memory plan (run the passes)");
        return SN_ERR_INVALID;
    }
    sn_status st = SN_OK;
    sn_cg_lower_ctx c;
    memset(&c, 0, sizeof c);
    c.g = g;
    c.t = t;
    c.weights_only = weights_only;
    c.p = calloc(1, sizeof *c.p);
    int32_t *order = NULL, *members = NULL, *first = NULL, *count = NULL, *start = NULL;
    sn_cg_group *grp = malloc(sizeof *grp);
    if (!c.p || !grp) {
        st = SN_ERR_NOMEM;
        goto done;
    }
    c.p->arena_bytes = g->arena_bytes;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (!(n->flags & SN_IR_NODE_DEAD) && !has_kernel[n->op]) {
            sn_errf(err, errlen, "op %s (node %%%d) has no kernel on backend %s",
                    sn_ir_op_info[n->op].name, (int)i, t->backend->name);
            st = SN_ERR_UNSUPPORTED;
            goto done;
        }
    }

    /* inputs/outputs cross the API as f32 NCHW contiguous */
    c.p->ninputs = g->ninputs;
    c.p->noutputs = g->noutputs;
    c.p->input_bytes = calloc((size_t)g->ninputs + 1, sizeof(int64_t));
    c.p->output_bytes = calloc((size_t)g->noutputs + 1, sizeof(int64_t));
    if (!c.p->input_bytes || !c.p->output_bytes) {
        st = SN_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < g->ninputs; i++)
        c.p->input_bytes[i] = sn_shape_numel(&g->nodes[g->inputs[i]].shape) * 4;
    for (int i = 0; i < g->noutputs; i++)
        c.p->output_bytes[i] = sn_shape_numel(&g->nodes[g->outputs[i]].shape) * 4;

    /* groups in order of their first node */
    int32_t maxid = -1;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (!(n->flags & SN_IR_NODE_DEAD) && n->group > maxid)
            maxid = n->group;
    }
    int32_t ng = maxid + 1;
    first = malloc(((size_t)ng + 1) * sizeof *first);
    count = calloc((size_t)ng + 1, sizeof *count);
    start = malloc(((size_t)ng + 1) * sizeof *start);
    order = malloc(((size_t)ng + 1) * sizeof *order);
    members = malloc(((size_t)g->nnodes + 1) * sizeof *members);
    if (!first || !count || !start || !order || !members) {
        st = SN_ERR_NOMEM;
        goto done;
    }
    for (int32_t i = 0; i < ng; i++)
        first[i] = -1;
    /* launch order = group id order, which the passes number as an execution order (a group
     * runs after every group it reads); not the order of the groups' first nodes, which
     * differs when groups interleave (a fused group whose first member comes before a smaller
     * group it reads, as in BatchNorm's backward) */
    int norder = 0;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if ((n->flags & SN_IR_NODE_DEAD) || n->group < 0)
            continue;
        if (first[n->group] < 0)
            first[n->group] = i;
        count[n->group]++;
    }
    for (int32_t k = 0; k < ng; k++)
        if (first[k] >= 0)
            order[norder++] = k;
    int32_t at = 0;
    for (int i = 0; i < norder; i++) {
        start[order[i]] = at;
        at += count[order[i]];
        count[order[i]] = 0;
    }
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if ((n->flags & SN_IR_NODE_DEAD) || n->group < 0)
            continue;
        members[start[n->group] + count[n->group]++] = i;
    }

    c.p->kernels = calloc((size_t)norder + 1, sizeof *c.p->kernels);
    c.p->steps = calloc((size_t)norder + 1, sizeof *c.p->steps);
    if (!c.p->kernels || !c.p->steps) {
        st = SN_ERR_NOMEM;
        goto done;
    }
    for (int gi = 0; gi < norder; gi++) {
        int32_t id = order[gi];
        st = describe_group(&c, id, members + start[id], count[id], grp, err, errlen);
        if (st)
            goto done;
        grp->index = gi;
        sn_cg_step *s = &c.p->steps[c.p->nsteps];
        int lib = t->backend->library_step ? t->backend->library_step(&c, grp, s, err, errlen) : 0;
        if (lib < 0) {
            st = SN_ERR_INVALID;
            goto done;
        }
        if (lib) {
            c.p->nsteps++;
            continue;
        }
        /* only a conv anchor's renderer packs weights (its own layout); every other group's
         * weights are plain pieces describe_group has already added */
        if (c.weights_only && grp->anchor != SN_CG_ANCHOR_CONV2D)
            continue;
        memset(s, 0, sizeof *s);
        s->kind = SN_RT_STEP_KERNEL;
        s->kernel = c.p->nkernels;
        c.p->nsteps++;
        sn_cg_kernel *k = &c.p->kernels[c.p->nkernels];
        memset(k, 0, sizeof *k);
        k->nargs = grp->nvals;
        for (int i = 0; i < grp->nvals; i++)
            k->args[i] = grp->vals[i].loc;
        k->nops = grp->nnodes;
        k->comment = sn_cg_group_comment(grp);
        if (!k->comment) {
            st = SN_ERR_NOMEM;
            goto done;
        }
        st = t->backend->render(&c, grp, k, err, errlen);
        if (st) {
            kernel_free(k);
            goto done;
        }
        for (int i = 0; i < k->nargs; i++)
            if (k->args[i].kind == SN_CG_ARG_WEIGHTS && k->args[i].offset < 0) {
                sn_errf(err, errlen, "group %d: renderer left argument %d unpacked", id, i);
                kernel_free(k);
                st = SN_ERR_INVALID;
                goto done;
            }
        if (c.weights_only) { /* the packing was the point; the kernel is not kept */
            kernel_free(k);
            memset(k, 0, sizeof *k);
            continue;
        }
        st = unique_name(&c, k);
        c.p->nkernels++;
        if (st)
            goto done;
    }
    st = param_table(&c);
    if (st)
        goto done;
    c.p->weights = c.blob;
    c.p->weight_bytes = (int64_t)c.blob_len;
    c.blob = NULL;
    if (!c.p->weights) {
        c.p->weights = calloc(1, 64);
        if (!c.p->weights)
            st = SN_ERR_NOMEM;
    }
done:
    if (st == SN_ERR_NOMEM && err && errlen && !err[0])
        sn_errf(err, errlen, "sn_cg_lower: out of memory");
    free(first);
    free(count);
    free(start);
    free(order);
    free(members);
    free(grp);
    free(c.blob);
    free(c.pieces);
    for (int i = 0; i < c.nowned; i++)
        free(c.owned[i]);
    free(c.owned);
    if (st) {
        sn_cg_program_free(c.p);
        return st;
    }
    *out = c.p;
    return SN_OK;
}
