/* engine/train.c — the trainer of include/sinter.h: Ultralytics' training step on a model.
 *
 * The model graph from the frontend keeps the weights of record (its PARAMs' data). A training
 * graph built from it (passes/train.h: BatchNorm in training mode, v8DetectionLoss, autodiff)
 * gives the loss, every trainable PARAM's gradient and the new running statistics; the
 * optimizer then updates the weights of record here, with Ultralytics' parameter groups and
 * torch's update formulas, and the training graph's PARAMs are refreshed before each step.
 * The targets input holds `cap` boxes per image; a batch with more boxes in one image
 * rebuilds the training graph at the next power of two.
 *
 * The graph runs on ref, or compiled for the session's backend (the CPU; CUDA has no kernels
 * for the backward ops yet): one plan for forward, loss and backward, whose weights blob is
 * packed again from the weights of record before each step (codegen only, no compile). */
#include "passes/train.h"
#include "engine/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { GROUP_DECAY, GROUP_NO_DECAY, GROUP_BIAS }; /* Ultralytics' g[0], g[1], g[2] */

struct sn_trainer {
    sn_session *s;
    sn_fe_model *m; /* the weights of record */
    sn_trainer_options o;
    int adamw;
    int64_t B, H, W;
    int cap;              /* boxes per image the training graph takes */
    sn_ir_graph *tg;      /* the training graph (NULL until the first step) */
    sn_ir_graph *pg;      /* compiled: tg after the passes (its PARAMs refreshed each step) */
    sn_eng_compiled comp; /* compiled: the plan of pg */
    int32_t *pparam;      /* compiled: per pg node, the model graph's PARAM of its name, or -1 */
    int eager;
    sn_train_info info;   /* its outputs */
    int32_t *tparam;      /* per tg node: the model graph's PARAM of the same name, or -1 */
    float **out;          /* per tg output: its values */
    int32_t *mparam;      /* per tg output: the model graph's PARAM it is about, or -1 */
    float **buf1, **buf2; /* per model node: momentum buffer / Adam moments (lazily made) */
    float **acc;          /* per model node: gradients summed since the last update */
    float **ema;          /* per model node (every PARAM): the EMA of the weights, or NULL */
    float *targets;       /* [B, cap, 5] */
    int64_t iters;        /* forward/backward passes so far */
    int64_t steps;        /* optimizer steps so far (= EMA updates) */
    int64_t last_step;    /* the iteration of the last optimizer step (-1 before) */
    int did_step;         /* the last sn_trainer_step ended with an optimizer step */
    double grad_norm;
    char err[4096];
};

void sn_trainer_options_default(sn_trainer_options *o) {
    o->optimizer = "SGD";
    o->lr = 0.01;
    o->momentum = 0.937;
    o->weight_decay = 0.0005;
    o->max_norm = 10.0;
    o->accumulate = 1;
    o->ema = 0;
}

const char *sn_trainer_error(const sn_trainer *t) { return t ? t->err : "out of memory"; }
double sn_trainer_grad_norm(const sn_trainer *t) { return t->grad_norm; }

void sn_trainer_stats_get(const sn_trainer *t, sn_trainer_stats *out) {
    memset(out, 0, sizeof *out);
    if (!t->pg)
        return;
    const sn_eng_compiled *c = &t->comp;
    out->ir_ops = c->ir_ops;
    out->kernels = c->kernels;
    out->host_steps = c->library_steps;
    out->arena_bytes = c->peak_bytes;
    out->weight_bytes = c->weight_bytes;
    out->compile_s = c->t_passes + c->t_codegen + c->t_compile + c->t_plan;
}
int sn_trainer_stepped(const sn_trainer *t) { return t->did_step; }

static void drop_graph(sn_trainer *t) {
    if (t->tg && t->out)
        for (int i = 0; i < t->info.nout; i++)
            free(t->out[i]);
    free(t->out);
    free(t->mparam);
    free(t->tparam);
    free(t->targets);
    free(t->pparam);
    sn_eng_compiled_free(&t->comp);
    sn_ir_graph_free(t->pg);
    sn_train_info_free(&t->info);
    sn_ir_graph_free(t->tg);
    t->pg = NULL;
    t->pparam = NULL;
    t->out = NULL;
    t->mparam = t->tparam = NULL;
    t->targets = NULL;
    t->tg = NULL;
}

void sn_trainer_free(sn_trainer *t) {
    if (!t)
        return;
    drop_graph(t);
    if (t->m)
        for (int32_t i = 0; i < t->m->graph->nnodes; i++) {
            free(t->buf1[i]);
            free(t->buf2[i]);
            free(t->acc[i]);
            if (t->ema)
                free(t->ema[i]);
        }
    free(t->buf1);
    free(t->buf2);
    free(t->acc);
    free(t->ema);
    sn_fe_model_free(t->m);
    free(t);
}

sn_status sn_trainer_set(sn_trainer *t, double lr, double momentum, double weight_decay) {
    if (!(lr >= 0) || !(momentum >= 0 && momentum < 1) || !(weight_decay >= 0))
        return sn_fail(t->err, sizeof t->err, SN_ERR_INVALID,
                       "lr %g, momentum %g, weight decay %g: need lr >= 0, 0 <= momentum < 1, "
                       "decay >= 0",
                       lr, momentum, weight_decay);
    t->o.lr = lr;
    t->o.momentum = momentum;
    t->o.weight_decay = weight_decay;
    return SN_OK;
}

sn_status sn_trainer_new(sn_session *s, const sn_model_options *mo, const sn_trainer_options *opt,
                         sn_trainer **out) {
    *out = NULL;
    s->err[0] = 0;
    sn_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return sn_fail(s->err, sizeof s->err, SN_ERR_NOMEM, "out of memory");
    t->s = s;
    sn_trainer_options_default(&t->o);
    if (opt)
        t->o = *opt;
    sn_status st = SN_OK;
    if (s->backend && s->backend->library_step != sn_cg_backend_cpu.library_step) {
        st = sn_fail(s->err, sizeof s->err, SN_ERR_UNSUPPORTED,
                     "training runs on the ref and cpu backends for now (the %s backend has no "
                     "kernels for the backward ops and the loss yet)",
                     s->backend->name);
        goto fail;
    }
    t->eager = mo->eager;
    const char *opn = t->o.optimizer ? t->o.optimizer : "SGD";
    if (!strcmp(opn, "AdamW"))
        t->adamw = 1;
    else if (strcmp(opn, "SGD")) {
        st = sn_fail(s->err, sizeof s->err, SN_ERR_INVALID,
                     "optimizer must be SGD or AdamW, got '%.32s'", opn);
        goto fail;
    }
    if (t->o.accumulate < 1)
        t->o.accumulate = 1;
    t->last_step = -1;
    if (!(t->o.max_norm > 0)) {
        st = sn_fail(s->err, sizeof s->err, SN_ERR_INVALID, "max_norm %g must be > 0",
                     t->o.max_norm);
        goto fail;
    }
    if ((st = sn_trainer_set(t, t->o.lr, t->o.momentum, t->o.weight_decay)) != SN_OK) {
        snprintf(s->err, sizeof s->err, "%s", t->err);
        goto fail;
    }
    if ((st = sn_eng_load_model(s, mo, &t->m)) != SN_OK)
        goto fail;
    st = sn_io_weights_apply(t->m->graph, mo->weights ? mo->weights : "random:0", s->err,
                             sizeof s->err);
    if (st != SN_OK)
        goto fail;
    const sn_shape *is = &t->m->graph->nodes[t->m->graph->inputs[0]].shape;
    t->B = is->d[0];
    t->H = is->d[2];
    t->W = is->d[3];
    const sn_ir_graph *mg = t->m->graph;
    t->buf1 = calloc((size_t)mg->nnodes, sizeof *t->buf1);
    t->buf2 = calloc((size_t)mg->nnodes, sizeof *t->buf2);
    t->acc = calloc((size_t)mg->nnodes, sizeof *t->acc);
    if (!t->buf1 || !t->buf2 || !t->acc) {
        st = sn_fail(s->err, sizeof s->err, SN_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (t->o.ema) { /* ModelEMA: a copy of every PARAM (BatchNorm statistics included) */
        t->ema = calloc((size_t)mg->nnodes, sizeof *t->ema);
        for (int32_t i = 0; t->ema && i < mg->nnodes; i++) {
            const sn_ir_node *n = &mg->nodes[i];
            if (n->op != SN_OP_PARAM || !n->data)
                continue;
            size_t bytes = (size_t)sn_shape_numel(&n->shape) * sizeof(float);
            if (!(t->ema[i] = malloc(bytes)))
                break;
            memcpy(t->ema[i], n->data, bytes);
        }
        int ok = t->ema != NULL;
        for (int32_t i = 0; ok && i < mg->nnodes; i++)
            ok = mg->nodes[i].op != SN_OP_PARAM || !mg->nodes[i].data || t->ema[i];
        if (!ok) {
            st = sn_fail(s->err, sizeof s->err, SN_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    *out = t;
    return SN_OK;
fail:
    sn_trainer_free(t);
    return st;
}

/* The training graph for `cap` boxes per image, from the weights of record. */
static sn_status build(sn_trainer *t, int cap) {
    drop_graph(t);
    const sn_ir_graph *mg = t->m->graph;
    t->tg = sn_ir_graph_clone(mg);
    if (!t->tg)
        return sn_fail(t->err, sizeof t->err, SN_ERR_NOMEM, "out of memory");
    sn_train_options to;
    sn_train_options_default(&to);
    to.cap = cap;
    sn_status st = sn_train_build(t->tg, &to, &t->info, t->err, sizeof t->err);
    if (st != SN_OK) {
        sn_ir_graph_free(t->tg);
        t->tg = NULL;
        return st;
    }
    t->cap = cap;
    sn_ir_graph *g = t->tg;
    t->tparam = malloc((size_t)g->nnodes * sizeof *t->tparam);
    t->out = calloc((size_t)t->info.nout, sizeof *t->out);
    t->mparam = malloc((size_t)t->info.nout * sizeof *t->mparam);
    t->targets = malloc((size_t)(t->B * cap * 5) * sizeof *t->targets);
    if (!t->tparam || !t->out || !t->mparam || !t->targets)
        goto nomem;
    for (int32_t i = 0; i < g->nnodes; i++)
        t->tparam[i] = g->nodes[i].op == SN_OP_PARAM
                           ? sn_ir_find_param(mg, sn_ir_str_get(g, g->nodes[i].name))
                           : -1;
    if (t->s->backend) { /* one plan: forward, loss, backward */
        sn_eng_build b = {.backend = t->s->backend,
                          .eager = t->eager,
                          .dtype = SN_DTYPE_F32,
                          .arch = t->s->arch,
                          .threads = t->s->threads,
                          .cache_dir = t->s->cache_dir};
        if (!(t->pg = sn_ir_graph_clone(g)))
            goto nomem;
        st = sn_eng_compile(t->pg, &b, t->s->dev, &t->comp, t->err, sizeof t->err);
        if (st != SN_OK) {
            drop_graph(t);
            return st;
        }
        if (!(t->pparam = malloc((size_t)t->pg->nnodes * sizeof *t->pparam)))
            goto nomem;
        for (int32_t i = 0; i < t->pg->nnodes; i++) {
            const sn_ir_node *n = &t->pg->nodes[i];
            t->pparam[i] = n->op == SN_OP_PARAM && !(n->flags & SN_IR_NODE_DEAD) && n->data
                               ? sn_ir_find_param(mg, sn_ir_str_get(t->pg, n->name))
                               : -1;
        }
    }
    for (int k = 0; k < t->info.nout; k++) {
        const sn_shape *os = &g->nodes[g->outputs[k]].shape;
        t->out[k] = malloc((size_t)sn_shape_numel(os) * sizeof(float));
        t->mparam[k] = t->info.out[k].name ? sn_ir_find_param(mg, t->info.out[k].name) : -1;
        if (!t->out[k])
            goto nomem;
        SN_ASSERT(t->info.out[k].kind == SN_TRAIN_OUT_LOSS || t->mparam[k] >= 0);
    }
    return SN_OK;
nomem:
    drop_graph(t);
    return sn_fail(t->err, sizeof t->err, SN_ERR_NOMEM, "out of memory");
}

/* Ultralytics' batch → the targets input: per image its boxes in label order as (cls, x1, y1,
 * x2, y2) in input pixels (xywh scaled, then xywh2xyxy, as v8DetectionLoss.preprocess does);
 * the rest of the image's rows are padding, all zeros with cls -1. */
static sn_status fill_targets(sn_trainer *t, const float *labels, int64_t n) {
    int64_t rows = t->B * t->cap;
    for (int64_t r = 0; r < rows; r++) {
        float *q = t->targets + r * 5;
        q[0] = -1.f;
        q[1] = q[2] = q[3] = q[4] = 0.f;
    }
    int *used = calloc((size_t)t->B, sizeof *used);
    if (!used)
        return sn_fail(t->err, sizeof t->err, SN_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        const float *l = labels + i * 6;
        int64_t b = (int64_t)l[0];
        float *q = t->targets + (b * t->cap + used[b]++) * 5;
        float cx = l[2] * (float)t->W, cy = l[3] * (float)t->H;
        float hw = l[4] * (float)t->W / 2.f, hh = l[5] * (float)t->H / 2.f;
        q[0] = l[1];
        q[1] = cx - hw;
        q[2] = cy - hh;
        q[3] = cx + hw;
        q[4] = cy + hh;
    }
    free(used);
    return SN_OK;
}

static int group_of(const sn_ir_graph *g, int32_t p) {
    if (strstr(sn_ir_str_get(g, g->nodes[p].name), "bias"))
        return GROUP_BIAS;
    return g->nodes[p].ia[0] == SN_IR_INIT_BN_WEIGHT ? GROUP_NO_DECAY : GROUP_DECAY;
}

/* torch.optim.SGD (nesterov, dampening 0) and torch.optim.AdamW (eps 1e-8) on one tensor. */
static void update(sn_trainer *t, float *p, const float *g, float *b1, float *b2, int64_t n,
                   double coef, double wd) {
    double lr = t->o.lr, mom = t->o.momentum;
    if (!t->adamw) {
        for (int64_t i = 0; i < n; i++) {
            double d = (double)(float)(g[i] * coef) + wd * p[i];
            double buf = t->steps == 0 ? d : mom * b1[i] + d;
            b1[i] = (float)buf;
            p[i] = (float)(p[i] - lr * (d + mom * buf));
        }
        return;
    }
    double beta2 = 0.999, step = (double)(t->steps + 1);
    double bc1 = 1.0 - pow(mom, step), bc2 = 1.0 - pow(beta2, step);
    for (int64_t i = 0; i < n; i++) {
        double gi = (double)(float)(g[i] * coef);
        double pi = p[i] * (1.0 - lr * wd);
        double m = mom * b1[i] + (1.0 - mom) * gi;
        double v = beta2 * b2[i] + (1.0 - beta2) * gi * gi;
        b1[i] = (float)m;
        b2[i] = (float)v;
        p[i] = (float)(pi - lr / bc1 * m / (sqrt(v) / sqrt(bc2) + 1e-8));
    }
}

sn_status sn_trainer_step(sn_trainer *t, const float *images, const float *labels, int64_t nlabels,
                          double loss[4]) {
    t->err[0] = 0;
    if (!images || (nlabels > 0 && !labels) || nlabels < 0)
        return sn_fail(t->err, sizeof t->err, SN_ERR_INVALID,
                       "sn_trainer_step: no images or "
                       "labels");
    /* the labels: checked, and the box capacity they need */
    int64_t *per = calloc((size_t)t->B, sizeof *per), most = 0;
    if (!per)
        return sn_fail(t->err, sizeof t->err, SN_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < nlabels; i++) {
        const float *l = labels + i * 6;
        int ok = l[0] >= 0 && l[0] < (float)t->B && l[0] == floorf(l[0]) && l[1] >= 0 &&
                 l[1] < (float)t->m->nc && l[1] == floorf(l[1]);
        for (int j = 2; j < 6; j++)
            ok = ok && l[j] >= 0 && l[j] <= 1;
        if (!ok) {
            free(per);
            return sn_fail(t->err, sizeof t->err, SN_ERR_INVALID,
                           "label %lld (%g %g %g %g %g %g) is not batch_idx in [0, %lld), cls "
                           "in [0, %d), a box in [0, 1]",
                           (long long)i, l[0], l[1], l[2], l[3], l[4], l[5], (long long)t->B,
                           t->m->nc);
        }
        int64_t c = ++per[(int64_t)l[0]];
        most = c > most ? c : most;
    }
    free(per);
    int cap = t->tg ? t->cap : 1;
    while (cap < most)
        cap *= 2;
    sn_status st = SN_OK;
    if (!t->tg || cap != t->cap)
        if ((st = build(t, cap)) != SN_OK)
            return st;
    if ((st = fill_targets(t, labels, nlabels)) != SN_OK)
        return st;
    /* the weights of record into the training graph */
    sn_ir_graph *g = t->tg, *mg = t->m->graph;
    for (int32_t i = 0; !t->pg && i < g->nnodes; i++)
        if (t->tparam[i] >= 0)
            memcpy(g->nodes[i].data, mg->nodes[t->tparam[i]].data,
                   (size_t)sn_shape_numel(&g->nodes[i].shape) * sizeof(float));
    const float *ins[2] = {images, t->targets};
    if (t->pg) { /* compiled: the weights of record into the plan's blob, then one run */
        for (int32_t i = 0; i < t->pg->nnodes; i++)
            if (t->pparam[i] >= 0) {
                int64_t n = sn_shape_numel(&t->pg->nodes[i].shape);
                const float *w = mg->nodes[t->pparam[i]].data;
                for (int64_t j = 0; j < n; j++) /* the packing assumes finite weights */
                    if (!isfinite(w[j]))
                        return sn_fail(t->err, sizeof t->err, SN_ERR_INVALID,
                                       "step %lld: weight %s[%lld] is not finite (%g)",
                                       (long long)t->iters + 1,
                                       sn_ir_str_get(t->pg, t->pg->nodes[i].name), (long long)j,
                                       (double)w[j]);
                memcpy(t->pg->nodes[i].data, w, (size_t)n * sizeof(float));
            }
        st = sn_eng_repack_weights(&t->comp, t->pg, t->err, sizeof t->err);
        if (st == SN_OK)
            st = sn_rt_plan_run(t->comp.plan, (const void *const *)ins, (void *const *)t->out,
                                t->err, sizeof t->err);
    } else {
        st = sn_ir_ref_run(g, ins, t->out, t->err, sizeof t->err);
    }
    if (st != SN_OK)
        return st;
    const float *l = t->out[0];
    double total = (double)l[0] + l[1] + l[2];
    for (int k = 0; k < 3; k++)
        loss[k] = l[k] / (double)t->B;
    loss[3] = total;
    if (!isfinite(total))
        return sn_fail(t->err, sizeof t->err, SN_ERR_INVALID,
                       "step %lld: the loss is not finite (box %g, cls %g, dfl %g); the weights "
                       "are unchanged",
                       (long long)t->iters + 1, loss[0], loss[1], loss[2]);
    /* the running statistics follow every forward; the gradients add up until the update */
    for (int k = 0; k < t->info.nout; k++) {
        int32_t p = t->mparam[k];
        int64_t n = sn_shape_numel(&g->nodes[g->outputs[k]].shape);
        if (t->info.out[k].kind == SN_TRAIN_OUT_RUNNING)
            memcpy(mg->nodes[p].data, t->out[k], (size_t)n * sizeof(float));
        if (t->info.out[k].kind != SN_TRAIN_OUT_GRAD)
            continue;
        if (!t->acc[p] && !(t->acc[p] = calloc((size_t)n, sizeof(float))))
            return sn_fail(t->err, sizeof t->err, SN_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; i < n; i++)
            t->acc[p][i] += t->out[k][i];
    }
    int64_t it = t->iters++;
    t->did_step = 0;
    /* Ultralytics: an optimizer step once ni - last_opt_step >= accumulate */
    if (it - t->last_step < t->o.accumulate)
        return SN_OK;
    t->last_step = it;
    /* clip_grad_norm_(max_norm): the total 2-norm of every gradient */
    double sq = 0;
    for (int k = 0; k < t->info.nout; k++)
        if (t->info.out[k].kind == SN_TRAIN_OUT_GRAD) {
            const float *a = t->acc[t->mparam[k]];
            int64_t n = sn_shape_numel(&g->nodes[g->outputs[k]].shape);
            for (int64_t i = 0; i < n; i++)
                sq += (double)a[i] * a[i];
        }
    t->grad_norm = sqrt(sq);
    if (!isfinite(t->grad_norm))
        return sn_fail(t->err, sizeof t->err, SN_ERR_INVALID,
                       "step %lld: a gradient is not finite; the weights are unchanged",
                       (long long)it + 1);
    double coef = t->o.max_norm / (t->grad_norm + 1e-6);
    if (coef > 1.0)
        coef = 1.0;
    for (int k = 0; k < t->info.nout; k++) {
        if (t->info.out[k].kind != SN_TRAIN_OUT_GRAD)
            continue;
        int32_t p = t->mparam[k];
        int64_t n = sn_shape_numel(&g->nodes[g->outputs[k]].shape);
        if (!t->buf1[p])
            t->buf1[p] = calloc((size_t)n, sizeof(float));
        if (t->adamw && !t->buf2[p])
            t->buf2[p] = calloc((size_t)n, sizeof(float));
        if (!t->buf1[p] || (t->adamw && !t->buf2[p]))
            return sn_fail(t->err, sizeof t->err, SN_ERR_NOMEM, "out of memory");
        double wd = group_of(mg, p) == GROUP_DECAY ? t->o.weight_decay : 0.0;
        update(t, mg->nodes[p].data, t->acc[p], t->buf1[p], t->buf2[p], n, coef, wd);
        memset(t->acc[p], 0, (size_t)n * sizeof(float));
    }
    t->steps++;
    t->did_step = 1;
    if (t->ema) {
        /* ModelEMA.update: d = 0.9999 (1 - e^(-updates / 2000)), then torch's
         * _foreach_lerp_(ema, model, w) with w = 1 - d rounded to f32: e + w (m - e) below
         * w = 0.5, m - (1 - w)(m - e) from there, each with one rounding (fma), as torch's CPU
         * lerp computes it */
        float w = (float)(1.0 - 0.9999 * (1.0 - exp(-(double)t->steps / 2000.0)));
        for (int32_t i = 0; i < mg->nnodes; i++)
            if (t->ema[i]) {
                int64_t n = sn_shape_numel(&mg->nodes[i].shape);
                float *e = t->ema[i];
                const float *m = mg->nodes[i].data;
                for (int64_t j = 0; j < n; j++)
                    e[j] =
                        w < 0.5f ? fmaf(w, m[j] - e[j], e[j]) : fmaf(w - 1.0f, m[j] - e[j], m[j]);
            }
    }
    return SN_OK;
}

sn_status sn_trainer_save(sn_trainer *t, const char *path) {
    t->err[0] = 0;
    return sn_io_weights_save(t->m->graph, path, SN_DTYPE_F32, t->err, sizeof t->err);
}

sn_status sn_trainer_save_grads(sn_trainer *t, const char *path) {
    t->err[0] = 0;
    if (!t->tg || t->iters == 0)
        return sn_fail(t->err, sizeof t->err, SN_ERR_INVALID, "no step has run yet");
    sn_io_tensors ts = {0};
    ts.t = calloc((size_t)t->info.nout, sizeof *ts.t);
    if (!ts.t)
        return sn_fail(t->err, sizeof t->err, SN_ERR_NOMEM, "out of memory");
    for (int k = 0; k < t->info.nout; k++)
        if (t->info.out[k].kind == SN_TRAIN_OUT_GRAD) {
            sn_io_tensor *x = &ts.t[ts.n++];
            x->name = t->info.out[k].name;
            x->dtype = SN_DTYPE_F32;
            x->shape = t->tg->nodes[t->tg->outputs[k]].shape;
            x->data = t->out[k];
        }
    sn_status st = sn_io_safetensors_write(path, &ts, t->err, sizeof t->err);
    free(ts.t); /* names and data belong to the trainer */
    return st;
}

sn_status sn_trainer_save_ema(sn_trainer *t, const char *path) {
    t->err[0] = 0;
    if (!t->ema)
        return sn_fail(t->err, sizeof t->err, SN_ERR_INVALID,
                       "the trainer keeps no EMA "
                       "(sn_trainer_options.ema)");
    const sn_ir_graph *mg = t->m->graph;
    sn_io_tensors ts = {0};
    ts.t = calloc((size_t)mg->nnodes, sizeof *ts.t);
    if (!ts.t)
        return sn_fail(t->err, sizeof t->err, SN_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < mg->nnodes; i++)
        if (t->ema[i]) {
            sn_io_tensor *x = &ts.t[ts.n++];
            x->name = (char *)sn_ir_str_get(mg, mg->nodes[i].name);
            x->dtype = SN_DTYPE_F32;
            x->shape = mg->nodes[i].shape;
            x->data = t->ema[i];
        }
    sn_status st = sn_io_safetensors_write(path, &ts, t->err, sizeof t->err);
    free(ts.t); /* names and data belong to the graph and the trainer */
    return st;
}
