/* tests/passes/testlib.c — see testlib.h. */
#include "testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- random data */

void tl_fill_params(sn_ir_graph *g) {
    for (int32_t i = 0; i < g->nnodes; i++) {
        sn_ir_node *n = &g->nodes[i];
        if (n->op != SN_OP_PARAM || (n->flags & SN_IR_NODE_DEAD))
            continue;
        int64_t ne = sn_shape_numel(&n->shape);
        float *d = sn_ir_node_data(g, i);
        n = &g->nodes[i];
        switch ((sn_ir_init)n->ia[0]) {
        case SN_IR_INIT_CONV_WEIGHT: {
            int64_t fan = ne / (n->shape.d[0] ? n->shape.d[0] : 1);
            float a = (float)(1.7 / sqrt((double)(fan ? fan : 1)));
            fill_uniform(d, ne, -a, a);
            break;
        }
        case SN_IR_INIT_CONV_BIAS:
            fill_uniform(d, ne, -0.2f, 0.2f);
            break;
        case SN_IR_INIT_BN_WEIGHT:
            fill_uniform(d, ne, 0.5f, 1.5f);
            break;
        case SN_IR_INIT_BN_BIAS:
            fill_uniform(d, ne, -0.3f, 0.3f);
            break;
        case SN_IR_INIT_BN_MEAN:
            fill_uniform(d, ne, -0.3f, 0.3f);
            break;
        case SN_IR_INIT_BN_VAR:
            fill_uniform(d, ne, 0.5f, 1.5f);
            break;
        case SN_IR_INIT_ARANGE:
            for (int64_t e = 0; e < ne; e++)
                d[e] = (float)e;
            break;
        }
    }
}

/* ---------------------------------------------------------------- building */

int32_t tl_op(tl_b *b, sn_op op, const int32_t *in, int nin, const int64_t *ia, int nia,
              const double *fa, int nfa) {
    int32_t r =
        sn_ir_add(b->g, op, in, nin, ia, nia, fa, nfa, NULL, SN_DTYPE_F32, b->err, sizeof b->err);
    CHECKF(r >= 0, "%s", b->err);
    if (r < 0)
        abort();
    return r;
}

static int32_t param(tl_b *b, const char *name, sn_shape s, sn_ir_init init) {
    int32_t r = sn_ir_param(b->g, name, &s, init);
    CHECK(r >= 0);
    if (r < 0)
        abort();
    return r;
}

static sn_shape shape_of(tl_b *b, int32_t x) { return b->g->nodes[x].shape; }

static int32_t conv_g(tl_b *b, int32_t x, int cout, int k, int s, int groups, int bias,
                      const char *wname, const char *bname, const char *node_name) {
    sn_shape xs = shape_of(b, x);
    int32_t w =
        param(b, wname, (sn_shape){4, {cout, xs.d[1] / groups, k, k}}, SN_IR_INIT_CONV_WEIGHT);
    int32_t in[3] = {x, w, -1};
    if (bias)
        in[2] = param(b, bname, (sn_shape){1, {cout}}, SN_IR_INIT_CONV_BIAS);
    int64_t ia[7] = {s, s, k / 2, k / 2, 1, 1, groups};
    int32_t c = tl_op(b, SN_OP_CONV2D, in, bias ? 3 : 2, ia, 7, NULL, 0);
    sn_ir_set_name(b->g, c, node_name);
    return c;
}

int32_t tl_conv_raw(tl_b *b, int32_t x, int cout, int k, int s, int groups, int bias,
                    const char *path) {
    char wn[320], bn[320];
    snprintf(wn, sizeof wn, "%s.weight", path);
    snprintf(bn, sizeof bn, "%s.bias", path);
    return conv_g(b, x, cout, k, s, groups, bias, wn, bn, path);
}

static int32_t conv_bn(tl_b *b, int32_t x, int cout, int k, int s, int groups, const char *path,
                       int act) {
    char wn[256], cn[256], pn[4][256];
    snprintf(wn, sizeof wn, "%s.conv.weight", path);
    snprintf(cn, sizeof cn, "%s.conv", path);
    int32_t c = conv_g(b, x, cout, k, s, groups, 0, wn, NULL, cn);
    static const char *const what[4] = {"weight", "bias", "running_mean", "running_var"};
    static const sn_ir_init init[4] = {SN_IR_INIT_BN_WEIGHT, SN_IR_INIT_BN_BIAS, SN_IR_INIT_BN_MEAN,
                                       SN_IR_INIT_BN_VAR};
    int32_t in[5] = {c};
    for (int i = 0; i < 4; i++) {
        snprintf(pn[i], sizeof pn[i], "%s.bn.%s", path, what[i]);
        in[1 + i] = param(b, pn[i], (sn_shape){1, {cout}}, init[i]);
    }
    double eps = 1e-3;
    int32_t y = tl_op(b, SN_OP_BATCHNORM, in, 5, NULL, 0, &eps, 1);
    char bnn[256];
    snprintf(bnn, sizeof bnn, "%s.bn", path);
    sn_ir_set_name(b->g, y, bnn);
    if (act)
        y = tl_op(b, SN_OP_SILU, &y, 1, NULL, 0, NULL, 0);
    return y;
}

int32_t tl_conv(tl_b *b, int32_t x, int cout, int k, int s, const char *path, int act) {
    return conv_bn(b, x, cout, k, s, 1, path, act);
}

int32_t tl_slice(tl_b *b, int32_t x, int axis, int64_t start, int64_t end) {
    int64_t ia[4] = {axis, start, end, 1};
    return tl_op(b, SN_OP_SLICE, &x, 1, ia, 4, NULL, 0);
}

int32_t tl_concat(tl_b *b, const int32_t *xs, int n, int axis) {
    int64_t ia = axis;
    return tl_op(b, SN_OP_CONCAT, xs, n, &ia, 1, NULL, 0);
}

int32_t tl_reshape(tl_b *b, int32_t x, int nd, const int64_t *dims) {
    return tl_op(b, SN_OP_RESHAPE, &x, 1, dims, nd, NULL, 0);
}

int32_t tl_permute(tl_b *b, int32_t x, int nd, const int64_t *perm) {
    return tl_op(b, SN_OP_PERMUTE, &x, 1, perm, nd, NULL, 0);
}

static int32_t binop(tl_b *b, sn_op op, int32_t x, int32_t y) {
    int32_t in[2] = {x, y};
    return tl_op(b, op, in, 2, NULL, 0, NULL, 0);
}

int32_t tl_c2f(tl_b *b, int32_t x, int cout, int n, int shortcut, const char *path) {
    char p[256];
    int c = cout / 2;
    snprintf(p, sizeof p, "%s.cv1", path);
    int32_t y = tl_conv(b, x, 2 * c, 1, 1, p, 1);
    int32_t parts[16];
    int np = 0;
    parts[np++] = tl_slice(b, y, 1, 0, c);
    parts[np++] = tl_slice(b, y, 1, c, 2 * c);
    int32_t cur = parts[1];
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s.m.%d.cv1", path, i);
        int32_t t = tl_conv(b, cur, c, 3, 1, p, 1);
        snprintf(p, sizeof p, "%s.m.%d.cv2", path, i);
        t = tl_conv(b, t, c, 3, 1, p, 1);
        if (shortcut)
            t = binop(b, SN_OP_ADD, cur, t);
        parts[np++] = t;
        cur = t;
    }
    int32_t cat = tl_concat(b, parts, np, 1);
    snprintf(p, sizeof p, "%s.cv2", path);
    return tl_conv(b, cat, cout, 1, 1, p, 1);
}

int32_t tl_sppf(tl_b *b, int32_t x, int cout, const char *path) {
    char p[256];
    int c = (int)shape_of(b, x).d[1] / 2;
    snprintf(p, sizeof p, "%s.cv1", path);
    int32_t y[4];
    y[0] = tl_conv(b, x, c, 1, 1, p, 1);
    int64_t ia[3] = {5, 1, 2};
    for (int i = 1; i < 4; i++)
        y[i] = tl_op(b, SN_OP_MAXPOOL2D, &y[i - 1], 1, ia, 3, NULL, 0);
    int32_t cat = tl_concat(b, y, 4, 1);
    snprintf(p, sizeof p, "%s.cv2", path);
    return tl_conv(b, cat, cout, 1, 1, p, 1);
}

int32_t tl_attention(tl_b *b, int32_t x, int nh, const char *path) {
    char p[256];
    sn_shape xs = shape_of(b, x);
    int64_t C = xs.d[1], H = xs.d[2], W = xs.d[3], N = H * W;
    int64_t hd = C / nh, kd = hd / 2;
    int64_t h = C + 2 * kd * nh;
    snprintf(p, sizeof p, "%s.attn.qkv", path);
    int32_t qkv = tl_conv(b, x, (int)h, 1, 1, p, 0);
    int32_t r = tl_reshape(b, qkv, 4, (int64_t[]){1, nh, 2 * kd + hd, N});
    int32_t q = tl_slice(b, r, 2, 0, kd);
    int32_t k = tl_slice(b, r, 2, kd, 2 * kd);
    int32_t v = tl_slice(b, r, 2, 2 * kd, 2 * kd + hd);
    int32_t qt = tl_permute(b, q, 4, (int64_t[]){0, 1, 3, 2});
    int32_t a = binop(b, SN_OP_MATMUL, qt, k);
    int32_t sc = sn_ir_scalar(b->g, 1.0 / sqrt((double)kd));
    a = binop(b, SN_OP_MUL, a, sc);
    int64_t ax = 3;
    a = tl_op(b, SN_OP_SOFTMAX, &a, 1, &ax, 1, NULL, 0);
    int32_t at = tl_permute(b, a, 4, (int64_t[]){0, 1, 3, 2});
    int32_t o = binop(b, SN_OP_MATMUL, v, at);
    int32_t o4 = tl_reshape(b, o, 4, (int64_t[]){1, C, H, W});
    int32_t v4 = tl_reshape(b, v, 4, (int64_t[]){1, C, H, W});
    snprintf(p, sizeof p, "%s.attn.pe", path);
    int32_t pe = conv_bn(b, v4, (int)C, 3, 1, (int)C, p, 0);
    int32_t s = binop(b, SN_OP_ADD, o4, pe);
    snprintf(p, sizeof p, "%s.attn.proj", path);
    int32_t pr = tl_conv(b, s, (int)C, 1, 1, p, 0);
    return binop(b, SN_OP_ADD, x, pr);
}

int32_t tl_detect(tl_b *b, const int32_t *feats, int nl, const int *strides, int nc,
                  const char *path) {
    char p[256];
    int no = 64 + nc;
    int32_t flat[8];
    int64_t A = 0, lv[3 * 8];
    for (int i = 0; i < nl; i++) {
        sn_shape fs = shape_of(b, feats[i]);
        int c3 = fs.d[1] > nc ? (int)fs.d[1] : nc;
        snprintf(p, sizeof p, "%s.cv2.%d.0", path, i);
        int32_t bx = tl_conv(b, feats[i], 16, 3, 1, p, 1);
        snprintf(p, sizeof p, "%s.cv2.%d.1", path, i);
        bx = tl_conv(b, bx, 16, 3, 1, p, 1);
        snprintf(p, sizeof p, "%s.cv2.%d.2", path, i);
        bx = tl_conv_raw(b, bx, 64, 1, 1, 1, 1, p);
        snprintf(p, sizeof p, "%s.cv3.%d.0", path, i);
        int32_t cl = tl_conv(b, feats[i], c3, 3, 1, p, 1);
        snprintf(p, sizeof p, "%s.cv3.%d.1", path, i);
        cl = tl_conv(b, cl, c3, 3, 1, p, 1);
        snprintf(p, sizeof p, "%s.cv3.%d.2", path, i);
        cl = tl_conv_raw(b, cl, nc, 1, 1, 1, 1, p);
        int32_t cat = tl_concat(b, (int32_t[]){bx, cl}, 2, 1);
        flat[i] = tl_reshape(b, cat, 3, (int64_t[]){1, no, fs.d[2] * fs.d[3]});
        lv[3 * i] = fs.d[2];
        lv[3 * i + 1] = fs.d[3];
        lv[3 * i + 2] = strides[i];
        A += fs.d[2] * fs.d[3];
    }
    int32_t xcat = tl_concat(b, flat, nl, 2);
    int32_t box = tl_slice(b, xcat, 1, 0, 64);
    int32_t cls = tl_slice(b, xcat, 1, 64, no);
    /* DFL */
    int32_t d = tl_reshape(b, box, 4, (int64_t[]){1, 4, 16, A});
    d = tl_permute(b, d, 4, (int64_t[]){0, 2, 1, 3});
    int64_t ax = 1;
    d = tl_op(b, SN_OP_SOFTMAX, &d, 1, &ax, 1, NULL, 0);
    snprintf(p, sizeof p, "%s.dfl.conv.weight", path);
    int32_t dw = param(b, p, (sn_shape){4, {1, 16, 1, 1}}, SN_IR_INIT_ARANGE);
    b->g->nodes[dw].flags |= SN_IR_NODE_FROZEN;
    int64_t cia[7] = {1, 1, 0, 0, 1, 1, 1};
    d = tl_op(b, SN_OP_CONV2D, (int32_t[]){d, dw}, 2, cia, 7, NULL, 0);
    snprintf(p, sizeof p, "%s.dfl.conv", path);
    sn_ir_set_name(b->g, d, p);
    int32_t dist = tl_reshape(b, d, 3, (int64_t[]){1, 4, A});
    /* anchors and decode */
    int64_t aia[2 + 3 * 8];
    aia[0] = 0;
    aia[1] = nl;
    memcpy(aia + 2, lv, (size_t)(3 * nl) * sizeof *lv);
    double off = 0.5;
    int32_t anc = sn_ir_add(b->g, SN_OP_ANCHORS, NULL, 0, aia, 2 + 3 * nl, &off, 1, NULL,
                            SN_DTYPE_F32, b->err, sizeof b->err);
    CHECKF(anc >= 0, "%s", b->err);
    aia[0] = 1;
    int32_t str = sn_ir_add(b->g, SN_OP_ANCHORS, NULL, 0, aia, 2 + 3 * nl, &off, 1, NULL,
                            SN_DTYPE_F32, b->err, sizeof b->err);
    CHECKF(str >= 0, "%s", b->err);
    int32_t lt = tl_slice(b, dist, 1, 0, 2), rb = tl_slice(b, dist, 1, 2, 4);
    int32_t x1y1 = binop(b, SN_OP_SUB, anc, lt);
    int32_t x2y2 = binop(b, SN_OP_ADD, anc, rb);
    int32_t two = sn_ir_scalar(b->g, 2.0);
    int32_t c = binop(b, SN_OP_DIV, binop(b, SN_OP_ADD, x1y1, x2y2), two);
    int32_t wh = binop(b, SN_OP_SUB, x2y2, x1y1);
    int32_t dbox = binop(b, SN_OP_MUL, tl_concat(b, (int32_t[]){c, wh}, 2, 1), str);
    int32_t sig = tl_op(b, SN_OP_SIGMOID, &cls, 1, NULL, 0, NULL, 0);
    return tl_concat(b, (int32_t[]){dbox, sig}, 2, 1);
}

sn_ir_graph *tl_mini_yolo(int hw, int data) {
    tl_b b = {sn_ir_graph_new(), ""};
    int32_t x = sn_ir_input(b.g, "images", &(sn_shape){4, {1, 3, hw, hw}});
    int32_t l0 = tl_conv(&b, x, 8, 3, 2, "model.0", 1);
    int32_t l1 = tl_conv(&b, l0, 16, 3, 2, "model.1", 1);
    int32_t l2 = tl_c2f(&b, l1, 16, 1, 1, "model.2");
    int32_t l3 = tl_conv(&b, l2, 32, 3, 2, "model.3", 1);
    int32_t l4 = tl_c2f(&b, l3, 32, 2, 1, "model.4");
    int32_t l5 = tl_conv(&b, l4, 64, 3, 2, "model.5", 1);
    int32_t l6 = tl_sppf(&b, l5, 64, "model.6");
    int32_t l7 = tl_attention(&b, l6, 2, "model.7");
    int64_t up[2] = {2, 2};
    int32_t l8 = tl_op(&b, SN_OP_UPSAMPLE, &l7, 1, up, 2, NULL, 0);
    int32_t l9 = tl_concat(&b, (int32_t[]){l8, l4}, 2, 1);
    int32_t l10 = tl_c2f(&b, l9, 32, 1, 0, "model.10");
    int32_t l11 = tl_conv(&b, l10, 32, 3, 2, "model.11", 1);
    int32_t l12 = tl_concat(&b, (int32_t[]){l11, l7}, 2, 1);
    int32_t l13 = tl_c2f(&b, l12, 64, 1, 0, "model.13");
    int32_t out = tl_detect(&b, (int32_t[]){l10, l13}, 2, (int[]){8, 16}, 4, "model.14");
    sn_ir_mark_output(b.g, out);
    if (data)
        tl_fill_params(b.g);
    CHECKF(sn_ir_verify(b.g, "build", b.err, sizeof b.err) == SN_OK, "%s", b.err);
    return b.g;
}

/* ---------------------------------------------------------------- reference values */

float **tl_ref_all(const sn_ir_graph *g, float **inputs_out) {
    sn_ir_graph *c = sn_ir_graph_clone(g);
    CHECK(c != NULL);
    int32_t n = g->nnodes;
    float **vals = calloc((size_t)n + 1, sizeof *vals);
    int32_t *which = malloc(((size_t)n + 1) * sizeof *which);
    free(c->outputs);
    c->outputs = NULL;
    c->noutputs = 0;
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        c->nodes[i].flags &= ~SN_IR_NODE_OUTPUT;
        if (c->nodes[i].flags & SN_IR_NODE_DEAD)
            continue;
        sn_ir_mark_output(c, i);
        vals[i] = malloc((size_t)sn_shape_numel(&g->nodes[i].shape) * sizeof(float) + 4);
        which[k++] = i;
    }
    int64_t nin_total = 0;
    for (int32_t j = 0; j < g->ninputs; j++)
        nin_total += sn_shape_numel(&g->nodes[g->inputs[j]].shape);
    float *inp = malloc((size_t)(nin_total ? nin_total : 1) * sizeof *inp);
    fill_uniform(inp, nin_total, -1, 1);
    const float **ins = malloc(((size_t)g->ninputs + 1) * sizeof *ins);
    int64_t at = 0;
    for (int32_t j = 0; j < g->ninputs; j++) {
        ins[j] = inp + at;
        at += sn_shape_numel(&g->nodes[g->inputs[j]].shape);
    }
    float **outs = malloc(((size_t)k + 1) * sizeof *outs);
    for (int32_t j = 0; j < k; j++)
        outs[j] = vals[which[j]];
    char err[512];
    sn_status st = sn_ir_ref_run(c, (const float *const *)ins, outs, err, sizeof err);
    CHECKF(st == SN_OK, "%s", err);
    free(outs);
    free(ins);
    free(which);
    sn_ir_graph_free(c);
    if (inputs_out)
        *inputs_out = inp;
    else
        free(inp);
    return vals;
}

void tl_ref_free(const sn_ir_graph *g, float **vals, float *inputs) {
    for (int32_t i = 0; i < g->nnodes; i++)
        free(vals[i]);
    free(vals);
    free(inputs);
}

/* ---------------------------------------------------------------- checkers */

static int is_leaf(const sn_ir_node *n) {
    return n->op == SN_OP_INPUT || (sn_ir_op_info[n->op].flags & SN_OPF_LEAF);
}
static int is_view_op(sn_op op) {
    return op == SN_OP_SLICE || op == SN_OP_PERMUTE || op == SN_OP_RESHAPE;
}
static int live(const sn_ir_node *n) { return !(n->flags & SN_IR_NODE_DEAD); }

/* Is x's value available before group k runs? */
static int ready_before(const sn_ir_graph *g, int32_t x, int32_t k) {
    const sn_ir_node *n = &g->nodes[x];
    if (is_leaf(n))
        return 1;
    if (n->group >= 0)
        return n->group < k;
    for (int j = 0; j < n->nin; j++)
        if (!ready_before(g, n->in[j], k))
            return 0;
    return 1;
}

void tl_check_groups(const sn_ir_graph *g, const char *what) {
    int32_t n = g->nnodes, G = 0;
    for (int32_t i = 0; i < n; i++)
        if (live(&g->nodes[i]) && g->nodes[i].group >= G)
            G = g->nodes[i].group + 1;
    int32_t *root = malloc(((size_t)G + 1) * sizeof *root);
    int32_t *anchors = calloc((size_t)G + 1, sizeof *anchors);
    for (int32_t k = 0; k < G; k++)
        root[k] = -1;
    for (int32_t i = 0; i < n; i++) {
        const sn_ir_node *nd = &g->nodes[i];
        if (!live(nd))
            continue;
        if (is_leaf(nd))
            CHECKF(nd->group == -1, "%s: leaf %%%d has a group", what, (int)i);
        if (!is_leaf(nd) && !is_view_op(nd->op) && nd->op != SN_OP_CONCAT)
            CHECKF(nd->group >= 0, "%s: compute node %%%d has no group", what, (int)i);
        if (nd->group >= 0) {
            root[nd->group] = i;
            if (sn_ir_op_info[nd->op].kind == SN_OP_KIND_OUT_EWISE_FUSABLE)
                anchors[nd->group]++;
        }
    }
    int32_t prev_root = -1;
    for (int32_t k = 0; k < G; k++) {
        CHECKF(root[k] >= 0, "%s: group %d is empty", what, (int)k);
        CHECKF(root[k] > prev_root, "%s: group %d is out of execution order", what, (int)k);
        prev_root = root[k];
        CHECKF(anchors[k] <= 1, "%s: group %d has %d anchors", what, (int)k, (int)anchors[k]);
    }
    for (int32_t j = 0; j < n; j++) {
        const sn_ir_node *nd = &g->nodes[j];
        if (!live(nd))
            continue;
        for (int q = 0; q < nd->nin; q++) {
            int32_t x = nd->in[q];
            const sn_ir_node *xn = &g->nodes[x];
            if (xn->group >= 0 && xn->group != nd->group)
                CHECKF(root[xn->group] == x,
                       "%s: %%%d (group %d) is read by %%%d outside its group but is not "
                       "its group's root %%%d",
                       what, (int)x, (int)xn->group, (int)j, (int)root[xn->group]);
            if (nd->group >= 0 && xn->group != nd->group)
                CHECKF(ready_before(g, x, nd->group),
                       "%s: group %d reads %%%d before it is computed", what, (int)nd->group,
                       (int)x);
        }
        if (nd->group >= 0 && anchors[nd->group] == 1) {
            CHECKF(sn_ir_op_info[nd->op].kind <= SN_OP_KIND_BROADCAST ||
                       sn_ir_op_info[nd->op].kind == SN_OP_KIND_OUT_EWISE_FUSABLE,
                   "%s: anchored group %d holds %%%d (%s)", what, (int)nd->group, (int)j,
                   sn_ir_op_info[nd->op].name);
            CHECKF(sn_shape_eq(&nd->shape, &g->nodes[root[nd->group]].shape),
                   "%s: anchored group %d: %%%d's shape differs from the root's", what,
                   (int)nd->group, (int)j);
        }
    }
    for (int32_t k = 0; k < g->noutputs; k++) {
        const sn_ir_node *o = &g->nodes[g->outputs[k]];
        CHECKF(o->group < 0 || root[o->group] == g->outputs[k],
               "%s: output %%%d is not its group's root", what, (int)g->outputs[k]);
    }
    free(root);
    free(anchors);
}

static int64_t extent(const sn_ir_node *n) {
    int64_t e = n->offset + 1;
    for (int k = 0; k < n->shape.ndim; k++)
        e += (n->shape.d[k] - 1) * n->stride[k];
    return e;
}

static int64_t bytes_of(const sn_ir_buf *b) {
    return (b->elems * (int64_t)sn_dtype_size(b->dtype) + 63) / 64 * 64;
}

void tl_check_memory(const sn_ir_graph *g, const char *what) {
    int32_t n = g->nnodes, nb = g->nbufs;
    CHECKF(g->bufs && nb > 0, "%s: no buffers", what);
    if (!g->bufs)
        return;
    int32_t *first = malloc(((size_t)nb + 1) * sizeof *first);
    int32_t *last = malloc(((size_t)nb + 1) * sizeof *last);
    for (int32_t b = 0; b < nb; b++) {
        first[b] = INT32_MAX;
        last[b] = -1;
    }
    /* roots: who escapes its group */
    uint8_t *esc = calloc((size_t)n + 1, 1);
    for (int32_t j = 0; j < n; j++) {
        const sn_ir_node *nd = &g->nodes[j];
        if (!live(nd))
            continue;
        for (int q = 0; q < nd->nin; q++)
            if (g->nodes[nd->in[q]].group != nd->group || nd->group < 0)
                esc[nd->in[q]] = 1;
    }
    for (int32_t i = 0; i < n; i++) {
        const sn_ir_node *nd = &g->nodes[i];
        if (!live(nd))
            continue;
        int stored = esc[i] || (nd->flags & SN_IR_NODE_OUTPUT) || nd->group < 0;
        if (!stored) {
            CHECKF(nd->buf == -1, "%s: group-internal %%%d has buf %d", what, (int)i, (int)nd->buf);
            continue;
        }
        CHECKF(nd->buf >= 0 && nd->buf < nb, "%s: stored %%%d has buf %d", what, (int)i,
               (int)nd->buf);
        if (nd->buf < 0 || nd->buf >= nb)
            continue;
        CHECKF(nd->offset >= 0 && extent(nd) <= g->bufs[nd->buf].elems,
               "%s: %%%d (offset %lld, extent %lld) overflows buf %d (%lld elems)", what, (int)i,
               (long long)nd->offset, (long long)extent(nd), (int)nd->buf,
               (long long)g->bufs[nd->buf].elems);
        for (int k = 0; k < nd->shape.ndim; k++)
            CHECKF(nd->stride[k] >= 0, "%s: %%%d has a negative stride", what, (int)i);
    }
    for (int32_t k = 0; k < g->noutputs; k++) {
        const sn_ir_node *o = &g->nodes[g->outputs[k]];
        CHECKF(o->buf >= 0 && g->bufs[o->buf].kind == SN_IR_BUF_OUTPUT &&
                   g->bufs[o->buf].index == k && o->offset == 0,
               "%s: output %d is not in its OUTPUT buffer", what, (int)k);
        int64_t acc = 1;
        for (int d = o->shape.ndim - 1; d >= 0; d--) {
            CHECKF(o->shape.d[d] == 1 || o->stride[d] == acc, "%s: output %d is not contiguous",
                   what, (int)k);
            acc *= o->shape.d[d];
        }
    }
    for (int32_t k = 0; k < g->ninputs; k++) {
        const sn_ir_node *x = &g->nodes[g->inputs[k]];
        CHECKF(x->buf >= 0 && g->bufs[x->buf].kind == SN_IR_BUF_INPUT && g->bufs[x->buf].index == k,
               "%s: input %d is not in its INPUT buffer", what, (int)k);
    }
    /* liveness, independently of memplan.c */
    for (int32_t j = 0; j < n; j++) {
        const sn_ir_node *nd = &g->nodes[j];
        if (!live(nd) || nd->group < 0)
            continue;
        int32_t gj = nd->group;
        if (nd->buf >= 0) {
            if (gj < first[nd->buf])
                first[nd->buf] = gj;
            if (gj > last[nd->buf])
                last[nd->buf] = gj;
        }
        for (int q = 0; q < nd->nin; q++) {
            const sn_ir_node *x = &g->nodes[nd->in[q]];
            if (x->group == gj || x->buf < 0)
                continue;
            if (gj < first[x->buf])
                first[x->buf] = gj;
            if (gj > last[x->buf])
                last[x->buf] = gj;
        }
    }
    int64_t naive = 0;
    for (int32_t a = 0; a < nb; a++) {
        const sn_ir_buf *A = &g->bufs[a];
        if (A->kind != SN_IR_BUF_ARENA)
            continue;
        naive += bytes_of(A);
        CHECKF(A->arena_offset % 64 == 0, "%s: buf %d offset not 64-aligned", what, (int)a);
        CHECKF(A->arena_offset >= 0 && A->arena_offset + bytes_of(A) <= g->arena_bytes,
               "%s: buf %d lies outside the arena", what, (int)a);
        for (int32_t c = a + 1; c < nb; c++) {
            const sn_ir_buf *B = &g->bufs[c];
            if (B->kind != SN_IR_BUF_ARENA)
                continue;
            int live_overlap = first[a] <= last[c] && first[c] <= last[a];
            int mem_overlap = A->arena_offset < B->arena_offset + bytes_of(B) &&
                              B->arena_offset < A->arena_offset + bytes_of(A);
            CHECKF(!(live_overlap && mem_overlap),
                   "%s: bufs %d [%d,%d] and %d [%d,%d] are live together and overlap", what, (int)a,
                   (int)first[a], (int)last[a], (int)c, (int)first[c], (int)last[c]);
        }
    }
    CHECKF(g->arena_bytes <= naive, "%s: peak %lld > naive %lld", what, (long long)g->arena_bytes,
           (long long)naive);
    free(first);
    free(last);
    free(esc);
}

/* ---------------------------------------------------------------- simulation */

typedef struct sim {
    const sn_ir_graph *g;
    float *arena;
    float **outs;
    const float *inputs;
    int64_t *in_at;
} sim;

static float *sim_base(sim *s, int32_t b) {
    const sn_ir_buf *bf = &s->g->bufs[b];
    switch (bf->kind) {
    case SN_IR_BUF_ARENA:
        return s->arena + bf->arena_offset / 4;
    case SN_IR_BUF_OUTPUT:
        return s->outs[bf->index];
    case SN_IR_BUF_INPUT:
        return (float *)(s->inputs + s->in_at[bf->index]);
    case SN_IR_BUF_CONST:
        return s->g->nodes[bf->index].data;
    }
    return NULL;
}

/* visits every logical index of node x in row-major order: f(elem address, flat index) */
static int sim_access(sim *s, int32_t x, const float *want, float *write) {
    const sn_ir_node *n = &s->g->nodes[x];
    float *base = sim_base(s, n->buf);
    if (!base)
        return 0;
    int64_t ne = sn_shape_numel(&n->shape), idx[SN_MAX_DIMS] = {0};
    int bad = 0;
    for (int64_t e = 0; e < ne; e++) {
        int64_t at = n->offset;
        for (int k = 0; k < n->shape.ndim; k++)
            at += idx[k] * n->stride[k];
        if (write)
            base[at] = write[e];
        else if (memcmp(&base[at], &want[e], sizeof(float)) != 0)
            bad++;
        for (int k = n->shape.ndim - 1; k >= 0; k--) {
            if (++idx[k] < n->shape.d[k])
                break;
            idx[k] = 0;
        }
    }
    return bad == 0;
}

/* x read back right; views and in-place concats also their sources (same live buffer) */
static int sim_check(sim *s, float **vals, int32_t x) {
    const sn_ir_node *n = &s->g->nodes[x];
    if (n->buf < 0 || !sim_access(s, x, vals[x], NULL))
        return 0;
    if (n->group >= 0 || is_leaf(n))
        return 1;
    for (int q = 0; q < n->nin; q++)
        if (!sim_check(s, vals, n->in[q]))
            return 0;
    return 1;
}

void tl_check_sim(const sn_ir_graph *g, const char *what) {
    float *inputs = NULL;
    float **vals = tl_ref_all(g, &inputs);
    sim s = {g, NULL, NULL, inputs, NULL};
    s.arena = malloc((size_t)g->arena_bytes + 64);
    uint32_t poison = 0x7fc0deadu;
    for (int64_t i = 0; i < g->arena_bytes / 4; i++)
        memcpy(&s.arena[i], &poison, 4);
    s.outs = calloc((size_t)g->noutputs + 1, sizeof *s.outs);
    s.in_at = calloc((size_t)g->ninputs + 1, sizeof *s.in_at);
    for (int32_t k = 1; k < g->ninputs; k++)
        s.in_at[k] = s.in_at[k - 1] + sn_shape_numel(&g->nodes[g->inputs[k - 1]].shape);
    for (int32_t b = 0; b < g->nbufs; b++)
        if (g->bufs[b].kind == SN_IR_BUF_OUTPUT) {
            int64_t ne = g->bufs[b].elems;
            s.outs[g->bufs[b].index] = malloc((size_t)ne * 4 + 4);
            for (int64_t i = 0; i < ne; i++)
                memcpy(&s.outs[g->bufs[b].index][i], &poison, 4);
        }
    int32_t G = 0;
    for (int32_t i = 0; i < g->nnodes; i++)
        if (live(&g->nodes[i]) && g->nodes[i].group >= G)
            G = g->nodes[i].group + 1;
    int32_t *root = malloc(((size_t)G + 1) * sizeof *root);
    for (int32_t i = 0; i < g->nnodes; i++)
        if (live(&g->nodes[i]) && g->nodes[i].group >= 0)
            root[g->nodes[i].group] = i;
    int reported = 0;
    for (int32_t k = 0; k < G; k++) {
        for (int32_t j = 0; j <= root[k]; j++) {
            const sn_ir_node *nd = &g->nodes[j];
            if (!live(nd) || nd->group != k)
                continue;
            for (int q = 0; q < nd->nin; q++) {
                int32_t x = nd->in[q];
                if (g->nodes[x].group == k)
                    continue;
                int ok = sim_check(&s, vals, x);
                if (!ok && reported++ < 5)
                    CHECKF(0, "%s: group %d (%%%d) reads %%%d wrongly through buf %d", what, (int)k,
                           (int)j, (int)x, (int)g->nodes[x].buf);
            }
        }
        const sn_ir_node *r = &g->nodes[root[k]];
        CHECKF(r->buf >= 0, "%s: group %d's root %%%d has no buffer", what, (int)k, (int)root[k]);
        if (r->buf >= 0)
            sim_access(&s, root[k], NULL, vals[root[k]]);
    }
    for (int32_t k = 0; k < g->noutputs; k++) {
        int32_t o = g->outputs[k];
        CHECKF(sim_check(&s, vals, o), "%s: output %d reads back wrongly", what, (int)k);
    }
    for (int32_t k = 0; k < g->noutputs; k++)
        free(s.outs[k]);
    free(s.outs);
    free(s.in_at);
    free(s.arena);
    free(root);
    tl_ref_free(g, vals, inputs);
}

/* ---------------------------------------------------------------- text */

char *tl_dump(const sn_ir_graph *g) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sn_pass_dump(g, f);
    fclose(f);
    return buf;
}
