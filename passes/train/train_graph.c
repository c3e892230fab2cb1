/* passes/train/train_graph.c — an inference model graph rewritten into one training step
 * (passes/train.h): BatchNorm in training mode, the Detect head's features into the loss,
 * autodiff for every trainable PARAM. */
#include "passes/passes_int.h"
#include "passes/train.h"

#include <stdlib.h>
#include <string.h>

void sn_train_options_default(sn_train_options *o) {
    o->cap = 8;
    o->bn_momentum = 0.03;
    o->gains[0] = 7.5;
    o->gains[1] = 0.5;
    o->gains[2] = 1.5;
    o->probe_seed = 0;
}

/* The probe loss (sn_train_options.probe_seed): (Σ r·feats, 0, 0), r uniform in [-1, 1). */
static int32_t probe_loss(sn_ir_gb *b, int32_t feats, uint64_t seed) {
    sn_shape fs = b->g->nodes[feats].shape;
    int32_t r = sn_gb_zeros(b, &fs);
    if (r < 0)
        return -1;
    float *d = sn_ir_node_data(b->g, r);
    uint64_t x = seed;
    for (int64_t i = 0; i < sn_shape_numel(&fs); i++) {
        x ^= x >> 12, x ^= x << 25, x ^= x >> 27; /* xorshift64* */
        d[i] = (float)((double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 4503599627370496.0 - 1.0);
    }
    int32_t s = sn_gb_bin(b, SN_OP_MUL, feats, r);
    for (int k = fs.ndim - 1; k >= 0; k--)
        s = sn_gb_sum(b, s, k);
    sn_shape one = {1, {1}}, three = {1, {3}};
    int32_t z = sn_gb_zeros(b, &(sn_shape){1, {2}});
    int32_t parts[2] = {sn_gb_reshape(b, s, &one), z};
    int64_t ax = 0;
    int32_t l = sn_gb_op(b, SN_OP_CONCAT, parts, 2, &ax, 1, NULL, 0);
    return sn_gb_reshape(b, l, &three);
}

void sn_train_info_free(sn_train_info *info) {
    if (!info)
        return;
    for (int i = 0; i < info->nout; i++)
        free(info->out[i].name);
    free(info->out);
    memset(info, 0, sizeof *info);
}

static int is_running_stat(const sn_ir_node *n) {
    return n->op == SN_OP_PARAM &&
           (n->ia[0] == SN_IR_INIT_BN_MEAN || n->ia[0] == SN_IR_INIT_BN_VAR);
}

/* BATCHNORM node i in training mode; appends its new running statistics to run[] (mean, var). */
static sn_status bn_train(sn_ir_gb *b, int32_t i, double mom, int32_t *run) {
    sn_ir_graph *g = b->g;
    const sn_ir_node n = g->nodes[i];
    int32_t before = g->nnodes;
    int32_t x = n.in[0], w = n.in[1], bias = n.in[2], rm = n.in[3], rv = n.in[4];
    sn_shape xs = g->nodes[x].shape;
    int r = xs.ndim;
    int64_t C = xs.d[1], M = sn_shape_numel(&xs) / C;
    if (M < 2)
        return sn_fail(b->err, b->errlen, SN_ERR_INVALID,
                       "batchnorm at %s: training needs more than one value per channel (got "
                       "%lld); use a larger batch",
                       sn_ir_str_get(g, n.src), (long long)M);
    sn_shape cs = {1, {C}};
    int32_t s = sn_gb_un(b, SN_OP_BN_STATS, x);
    int32_t mean = sn_gb_reshape(b, sn_gb_slice(b, s, 0, 0, 1), &cs);
    int32_t var = sn_gb_reshape(b, sn_gb_slice(b, s, 0, 1, 2), &cs);
    int32_t inv =
        sn_gb_un(b, SN_OP_RECIP,
                 sn_gb_un(b, SN_OP_SQRT, sn_gb_bin(b, SN_OP_ADD, var, sn_gb_scalar(b, n.fa[0]))));
    int32_t xc = sn_gb_bin(b, SN_OP_SUB, x, sn_gb_chan(b, mean, r));
    int32_t y =
        sn_gb_bin(b, SN_OP_ADD,
                  sn_gb_bin(b, SN_OP_MUL, xc, sn_gb_chan(b, sn_gb_bin(b, SN_OP_MUL, inv, w), r)),
                  sn_gb_chan(b, bias, r));
    int32_t keep = sn_gb_scalar(b, 1.0 - mom);
    run[0] = sn_gb_bin(b, SN_OP_ADD, sn_gb_bin(b, SN_OP_MUL, rm, keep),
                       sn_gb_bin(b, SN_OP_MUL, mean, sn_gb_scalar(b, mom)));
    run[1] =
        sn_gb_bin(b, SN_OP_ADD, sn_gb_bin(b, SN_OP_MUL, rv, keep),
                  sn_gb_bin(b, SN_OP_MUL, var, sn_gb_scalar(b, mom * (double)M / (double)(M - 1))));
    if (y < 0 || run[0] < 0 || run[1] < 0)
        return SN_ERR_INVALID;
    for (int32_t k = before; k < g->nnodes; k++)
        g->nodes[k].src = n.src;
    sn_pass_replace_uses(g, i, y);
    g->nodes[i].flags |= SN_IR_NODE_DEAD;
    return SN_OK;
}

/* The Detect head: its anchors (points, strides) and the (B, 4·reg_max + nc, A) concat its
 * decode splits into box distribution and class logits. */
static sn_status find_head(const sn_ir_graph *g, int32_t *feats, int32_t *pts, int32_t *str,
                           int *reg_max, int *nc, char *err, size_t errlen) {
    *feats = *pts = *str = -1;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (!sn_pass_live(n) || n->op != SN_OP_ANCHORS)
            continue;
        int32_t *slot = n->ia[0] == 0 ? pts : str;
        if (*slot >= 0)
            return sn_fail(err, errlen, SN_ERR_UNSUPPORTED,
                           "training: the model has more than one Detect head");
        *slot = i;
    }
    if (*pts < 0 || *str < 0)
        return sn_fail(err, errlen, SN_ERR_UNSUPPORTED,
                       "training: the model has no Detect head "
                       "(no anchors)");
    int64_t A = g->nodes[*pts].shape.d[2], B = g->nodes[g->inputs[0]].shape.d[0];
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (!sn_pass_live(n) || n->op != SN_OP_CONCAT || n->ia[0] != 2 || n->shape.ndim != 3 ||
            n->shape.d[0] != B || n->shape.d[2] != A)
            continue;
        /* the box part: a slice [0, 4·reg_max) along dim 1 */
        for (int32_t j = i + 1; j < g->nnodes; j++) {
            const sn_ir_node *s = &g->nodes[j];
            if (sn_pass_live(s) && s->op == SN_OP_SLICE && s->in[0] == i && s->ia[0] == 1 &&
                s->ia[1] == 0 && s->ia[2] % 4 == 0 && s->ia[2] < n->shape.d[1]) {
                if (*feats >= 0 && *feats != i)
                    return sn_fail(err, errlen, SN_ERR_UNSUPPORTED,
                                   "training: two candidates for the Detect head's features");
                *feats = i;
                *reg_max = (int)(s->ia[2] / 4);
                *nc = (int)(n->shape.d[1] - s->ia[2]);
            }
        }
    }
    if (*feats < 0)
        return sn_fail(err, errlen, SN_ERR_UNSUPPORTED,
                       "training: no Detect head features (B, 4*reg_max + nc, %lld) found",
                       (long long)A);
    return SN_OK;
}

static int add_out(sn_train_info *info, sn_train_out_kind kind, const char *name) {
    sn_train_out *o = realloc(info->out, ((size_t)info->nout + 1) * sizeof *o);
    if (!o)
        return 0;
    info->out = o;
    o[info->nout].kind = kind;
    o[info->nout].name = name ? strdup(name) : NULL;
    if (name && !o[info->nout].name)
        return 0;
    info->nout++;
    return 1;
}

sn_status sn_train_build(sn_ir_graph *g, const sn_train_options *o, sn_train_info *info, char *err,
                         size_t errlen) {
    memset(info, 0, sizeof *info);
    if (g->ninputs != 1 || g->nodes[g->inputs[0]].shape.ndim != 4)
        return sn_fail(err, errlen, SN_ERR_INVALID, "training: the model needs one image input");
    if (o->cap < 1)
        return sn_fail(err, errlen, SN_ERR_INVALID, "training: box capacity %d < 1", o->cap);
    int32_t feats, pts, str;
    sn_status st = find_head(g, &feats, &pts, &str, &info->reg_max, &info->nc, err, errlen);
    if (st != SN_OK)
        return st;
    sn_ir_gb b = {g, err, errlen};
    int32_t n0 = g->nnodes;
    int32_t *run = malloc(((size_t)n0 * 2 + 1) * sizeof *run);
    char **runname = calloc((size_t)n0 * 2 + 1, sizeof *runname);
    int32_t *wrt = NULL, *grads = NULL;
    int nrun = 0, nwrt = 0;
    st = SN_ERR_NOMEM;
    if (!run || !runname)
        goto out;
    /* 1. the loss on the head's features */
    int64_t B = g->nodes[g->inputs[0]].shape.d[0];
    sn_shape ts = {3, {B, o->cap, 5}};
    int32_t targets = sn_ir_input(g, "targets", &ts);
    int64_t ia[2] = {info->nc, info->reg_max};
    int32_t lin[4] = {feats, targets, pts, str};
    int32_t loss = targets < 0          ? -1
                   : o->probe_seed != 0 ? probe_loss(&b, feats, o->probe_seed)
                                        : sn_gb_op(&b, SN_OP_DET_LOSS, lin, 4, ia, 2, o->gains, 3);
    if (loss < 0) {
        st = SN_ERR_INVALID;
        goto out;
    }
    /* 2. BatchNorm in training mode */
    for (int32_t i = 0; i < n0; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (!sn_pass_live(n) || n->op != SN_OP_BATCHNORM)
            continue;
        for (int k = 0; k < 2; k++) {
            runname[nrun + k] = strdup(sn_ir_str_get(g, g->nodes[n->in[3 + k]].name));
            if (!runname[nrun + k])
                goto out;
        }
        if ((st = bn_train(&b, i, o->bn_momentum, run + nrun)) != SN_OK)
            goto out;
        nrun += 2;
        info->nbn++;
    }
    /* 3. back into topological order; the outputs carry the nodes we hold across it */
    for (int32_t k = 0; k < g->noutputs; k++)
        g->nodes[g->outputs[k]].flags &= ~SN_IR_NODE_OUTPUT;
    g->noutputs = 0;
    sn_ir_mark_output(g, loss);
    for (int i = 0; i < nrun; i++)
        sn_ir_mark_output(g, run[i]);
    if (g->noutputs != 1 + nrun)
        goto out;
    if ((st = sn_pass_toposort(g, err, errlen)) != SN_OK)
        goto out;
    loss = g->outputs[0];
    for (int i = 0; i < nrun; i++)
        run[i] = g->outputs[1 + i];
    /* 4. the gradients of every trainable PARAM */
    st = SN_ERR_NOMEM;
    int32_t total = sn_gb_sum(&b, loss, 0);
    sn_shape one = {1, {1}};
    double v1 = 1.0;
    int32_t seed = total < 0 ? -1
                             : sn_ir_add(g, SN_OP_CONST, NULL, 0, NULL, 0, &v1, 1, &one,
                                         SN_DTYPE_F32, err, errlen);
    wrt = malloc(((size_t)g->nnodes + 1) * sizeof *wrt);
    grads = malloc(((size_t)g->nnodes + 1) * sizeof *grads);
    if (seed < 0 || !wrt || !grads)
        goto out;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (sn_pass_live(n) && n->op == SN_OP_PARAM && !is_running_stat(n) &&
            !(n->flags & SN_IR_NODE_FROZEN))
            wrt[nwrt++] = i;
    }
    if ((st = sn_train_autodiff(g, total, seed, wrt, nwrt, grads, err, errlen)) != SN_OK)
        goto out;
    /* 5. the outputs: loss, gradients, running statistics; the decode tail goes */
    st = SN_ERR_NOMEM;
    for (int32_t k = 0; k < g->noutputs; k++)
        g->nodes[g->outputs[k]].flags &= ~SN_IR_NODE_OUTPUT;
    g->noutputs = 0;
    sn_ir_mark_output(g, loss);
    if (!add_out(info, SN_TRAIN_OUT_LOSS, NULL))
        goto out;
    for (int i = 0; i < nwrt; i++) {
        int32_t gr = grads[i];
        if (gr < 0) { /* the loss does not depend on it: a zero gradient */
            sn_shape ps = g->nodes[wrt[i]].shape;
            if ((gr = sn_gb_zeros(&b, &ps)) < 0)
                goto out;
        }
        sn_ir_mark_output(g, gr);
        if (!add_out(info, SN_TRAIN_OUT_GRAD, sn_ir_str_get(g, g->nodes[wrt[i]].name)))
            goto out;
    }
    for (int i = 0; i < nrun; i++) {
        sn_ir_mark_output(g, run[i]);
        if (!add_out(info, SN_TRAIN_OUT_RUNNING, runname[i]))
            goto out;
    }
    if (g->noutputs != info->nout)
        goto out;
    sn_ir_graph_compact(g);
    st = sn_ir_verify(g, "train", err, errlen);
out:
    if (st == SN_ERR_NOMEM && err && !*err)
        sn_errf(err, errlen, "training: out of memory");
    for (int i = 0; runname && i < 2 * n0; i++)
        free(runname[i]);
    free(runname);
    free(run);
    free(wrt);
    free(grads);
    if (st != SN_OK)
        sn_train_info_free(info);
    return st;
}
