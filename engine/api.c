/* engine/api.c — include/sinter.h: sessions and compiled models over the engine.
 *
 * A session is a backend row (or ref), its device and the cache directory. An exec keeps the
 * model as loaded with its weights bound (the graph before passes: what ref evaluates and
 * what the parameters are read back from) and, for a compiled backend, the program and plan
 * of sn_eng_compile. Frontend diagnostics are captured into the session's error text. */
#include "engine/engine.h"
#include "sinter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sn_exec {
    sn_session *s;
    sn_fe_model *m; /* weights bound; the graph before passes */
    sn_eng_build b;
    sn_eng_compiled c;
};

const char *sn_version(void) { return SN_VERSION; }

sn_status sn_eng_load(const sn_model_options *o, FILE *diag, sn_fe_model **m) {
    sn_fe_options fo;
    sn_fe_options_default(&fo);
    if (o->scale)
        fo.scale = o->scale;
    if (o->nc > 0)
        fo.nc = o->nc;
    fo.batch = o->batch;
    if (o->height > 0 || o->width > 0) {
        fo.height = o->height > 0 ? o->height : o->width;
        fo.width = o->width > 0 ? o->width : o->height;
    }
    fo.diag = diag;
    return sn_fe_model_load(o->model, &fo, m);
}

sn_status sn_session_new(const sn_session_options *opts, sn_session **out) {
    sn_session_options o = {0};
    if (opts)
        o = *opts;
    sn_session *s = calloc(1, sizeof *s);
    *out = s;
    if (!s)
        return SN_ERR_NOMEM;
    s->threads = o.threads;
    s->arch = o.arch;
    if (o.cache_dir && !(s->cache_dir = strdup(o.cache_dir)))
        return sn_fail(s->err, sizeof s->err, SN_ERR_NOMEM, "out of memory");
    const char *name = o.backend ? o.backend : (sn_rt_cuda_available() ? "cuda" : "cpu");
    if (!strcmp(name, "ref"))
        return SN_OK;
    s->backend = sn_cg_backend_find(name);
    if (!s->backend) {
        snprintf(s->err, sizeof s->err, "unknown backend '%.64s' (ref, %s)", name,
                 sn_cg_backend_names());
        return SN_ERR_INVALID;
    }
    return sn_rt_device_open(s->backend->device, s->threads, &s->dev, s->err, sizeof s->err);
}

void sn_session_free(sn_session *s) {
    if (!s)
        return;
    sn_rt_device_close(s->dev);
    free(s->cache_dir);
    free(s);
}

const char *sn_session_backend(const sn_session *s) {
    return s->backend ? s->backend->name : "ref";
}

const char *sn_session_error(const sn_session *s) { return s ? s->err : "out of memory"; }

/* The model as o asks for it, diagnostics captured into s->err. */
sn_status sn_eng_load_model(sn_session *s, const sn_model_options *o, sn_fe_model **m) {
    sn_model_options lo = *o;
    if (lo.batch <= 0)
        lo.batch = 1;
    char *diag = NULL;
    size_t dlen = 0;
    FILE *f = open_memstream(&diag, &dlen);
    sn_status st = sn_eng_load(&lo, f ? f : stderr, m);
    if (f)
        fclose(f);
    if (st != SN_OK) {
        snprintf(s->err, sizeof s->err, "%s", diag && *diag ? diag : sn_status_str(st));
        size_t n = strlen(s->err);
        if (n && s->err[n - 1] == '\n')
            s->err[n - 1] = 0;
    }
    free(diag);
    return st;
}

sn_status sn_compile(sn_session *s, const sn_model_options *o, sn_exec **out) {
    *out = NULL;
    s->err[0] = 0;
    if (!o || !o->model)
        return sn_fail(s->err, sizeof s->err, SN_ERR_INVALID, "sn_compile: no model given");
    sn_exec *e = calloc(1, sizeof *e);
    if (!e)
        return sn_fail(s->err, sizeof s->err, SN_ERR_NOMEM, "out of memory");
    e->s = s;
    e->b.backend = s->backend;
    e->b.dtype = SN_DTYPE_F32;
    e->b.eager = o->eager;
    e->b.arch = s->arch;
    e->b.threads = s->threads;
    e->b.cache_dir = s->cache_dir;
    sn_status st = SN_OK;
    if (o->dtype &&
        (sn_dtype_parse(o->dtype, &e->b.dtype) != SN_OK || e->b.dtype == SN_DTYPE_I32)) {
        st = sn_fail(s->err, sizeof s->err, SN_ERR_INVALID,
                     "dtype must be f32, f16 or bf16, got '%.32s'", o->dtype);
        goto done;
    }
    if (!s->backend && e->b.dtype != SN_DTYPE_F32) {
        st = sn_fail(s->err, sizeof s->err, SN_ERR_UNSUPPORTED,
                     "the ref backend computes in f32 only, not %s", sn_dtype_name(e->b.dtype));
        goto done;
    }
    st = sn_eng_load_model(s, o, &e->m);
    if (st == SN_OK)
        st = sn_io_weights_apply(e->m->graph, o->weights ? o->weights : "random:0", s->err,
                                 sizeof s->err);
    if (st == SN_OK && s->backend) {
        sn_ir_graph *g = sn_ir_graph_clone(e->m->graph); /* the passes consume it */
        if (!g)
            st = sn_fail(s->err, sizeof s->err, SN_ERR_NOMEM, "out of memory");
        else
            st = sn_eng_compile(g, &e->b, s->dev, &e->c, s->err, sizeof s->err);
        sn_ir_graph_free(g);
    }
done:
    if (st != SN_OK) {
        sn_exec_free(e);
        return st;
    }
    *out = e;
    return SN_OK;
}

void sn_exec_free(sn_exec *e) {
    if (!e)
        return;
    sn_eng_compiled_free(&e->c);
    sn_fe_model_free(e->m);
    free(e);
}

static int shape_of(const sn_exec *e, int32_t node, int64_t dims[8]) {
    const sn_shape *sh = &e->m->graph->nodes[node].shape;
    for (int i = 0; i < sh->ndim && i < 8; i++)
        dims[i] = sh->d[i];
    return sh->ndim;
}

int sn_exec_input_shape(const sn_exec *e, int64_t dims[8]) {
    return shape_of(e, e->m->graph->inputs[0], dims);
}

int sn_exec_output_shape(const sn_exec *e, int64_t dims[8]) {
    return shape_of(e, e->m->graph->outputs[0], dims);
}

sn_status sn_exec_run(sn_exec *e, const float *input, float *output) {
    sn_session *s = e->s;
    s->err[0] = 0;
    if (!input || !output)
        return sn_fail(s->err, sizeof s->err, SN_ERR_INVALID,
                       "sn_exec_run: input or output is NULL");
    if (!e->c.plan) {
        const float *ins[1] = {input};
        float *outs[1] = {output};
        return sn_ir_ref_run(e->m->graph, ins, outs, s->err, sizeof s->err);
    }
    const void *ins[1] = {input};
    void *outs[1] = {output};
    return sn_rt_plan_run(e->c.plan, ins, outs, s->err, sizeof s->err);
}

sn_status sn_exec_load_weights(sn_exec *e, const char *weights) {
    sn_session *s = e->s;
    s->err[0] = 0;
    if (!weights)
        return sn_fail(s->err, sizeof s->err, SN_ERR_INVALID,
                       "sn_exec_load_weights: no weights given");
    sn_ir_graph *g = sn_ir_graph_clone(e->m->graph), *g2 = NULL;
    if (!g)
        return sn_fail(s->err, sizeof s->err, SN_ERR_NOMEM, "out of memory");
    sn_status st = sn_io_weights_apply(g, weights, s->err, sizeof s->err);
    if (st == SN_OK && e->c.plan) {
        g2 = sn_ir_graph_clone(g);
        st = g2 ? sn_eng_rebind_weights(&e->c, g2, &e->b, s->err, sizeof s->err)
                : sn_fail(s->err, sizeof s->err, SN_ERR_NOMEM, "out of memory");
    }
    sn_ir_graph_free(g2);
    if (st != SN_OK) {
        sn_ir_graph_free(g);
        return st;
    }
    sn_ir_graph_free(e->m->graph);
    e->m->graph = g;
    return SN_OK;
}

/* The i-th PARAM node, or -1. */
static int32_t param_node(const sn_exec *e, int i) {
    const sn_ir_graph *g = e->m->graph;
    for (int32_t n = 0; n < g->nnodes; n++)
        if (g->nodes[n].op == SN_OP_PARAM && i-- == 0)
            return n;
    return -1;
}

static int32_t param_named(const sn_exec *e, const char *name) {
    const sn_ir_graph *g = e->m->graph;
    for (int32_t n = 0; name && n < g->nnodes; n++)
        if (g->nodes[n].op == SN_OP_PARAM && !strcmp(sn_ir_str_get(g, g->nodes[n].name), name))
            return n;
    return -1;
}

int sn_exec_num_weights(const sn_exec *e) {
    int k = 0;
    while (param_node(e, k) >= 0)
        k++;
    return k;
}

const char *sn_exec_weight_name(const sn_exec *e, int i) {
    int32_t n = i >= 0 ? param_node(e, i) : -1;
    return n < 0 ? NULL : sn_ir_str_get(e->m->graph, e->m->graph->nodes[n].name);
}

int64_t sn_exec_weight_numel(const sn_exec *e, const char *name) {
    int32_t n = param_named(e, name);
    return n < 0 ? -1 : sn_shape_numel(&e->m->graph->nodes[n].shape);
}

sn_status sn_exec_read_weight(sn_exec *e, const char *name, float *data, int64_t n) {
    sn_session *s = e->s;
    s->err[0] = 0;
    int32_t node = param_named(e, name);
    if (node < 0)
        return sn_fail(s->err, sizeof s->err, SN_ERR_INVALID, "no parameter named '%.200s'",
                       name ? name : "(null)");
    const sn_ir_node *p = &e->m->graph->nodes[node];
    int64_t numel = sn_shape_numel(&p->shape);
    if (n != numel || !data || !p->data) {
        snprintf(s->err, sizeof s->err, "%.200s holds %lld values, asked for %lld", name,
                 (long long)numel, (long long)n);
        return SN_ERR_INVALID;
    }
    memcpy(data, p->data, (size_t)n * sizeof *data);
    return SN_OK;
}
