/* engine/compile.c — compile a graph for a backend through the kernel cache and build its plan.
 *
 * Steps: passes (the pipeline of passes/pipeline.c) → sn_cg_lower (render every group) →
 * per kernel: cache key = XXH3-128(spec or source, compiler id, target, options, Sinter
 * version); hit → the cached image; miss → compile (LLVM or NVRTC), store → the plan.
 * Misses compile in parallel on `threads` workers (each compile owns its LLVM context). */
#include "engine/engine.h"
#include "passes/passes.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct job {
    sn_cg_kernel *k;
    const sn_cg_target *t;
    const sn_eng_build *b;
    sn_rt_key key;
    void *image;
    size_t len;
    char entry[256]; /* the symbol the image defines */
    int hit;
    sn_status st;
    char err[2048];
} job;

typedef struct jobs {
    job *j;
    int n;
    int next;
    pthread_mutex_t mu;
} jobs;

static void compile_one(job *jb) {
    jb->st = jb->b->backend->compile(jb->k, jb->t, &jb->image, &jb->len, jb->err, sizeof jb->err);
}

static void *worker(void *arg) {
    jobs *js = arg;
    for (;;) {
        pthread_mutex_lock(&js->mu);
        int i = js->next++;
        pthread_mutex_unlock(&js->mu);
        if (i >= js->n)
            return NULL;
        if (!js->j[i].hit && js->j[i].k)
            compile_one(&js->j[i]);
    }
}

/* The text a kernel's binary follows from, without what only names it: the kernel's own name
 * becomes a placeholder and CUDA's opening provenance comment is dropped, so identical
 * kernels of different layers (or models) share one cache entry and one image. */
static char *canonical_text(const sn_cg_kernel *k, const char *text) {
    if (!text)
        text = "";
    if (!strncmp(text, "/*", 2)) {
        const char *end = strstr(text, "*/");
        if (end)
            text = end + 2;
    }
    size_t nl = strlen(k->name), n = strlen(text);
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *q = text; *q;) {
        if (nl && !strncmp(q, k->name, nl)) {
            memcpy(o, "@K@", 3);
            o += 3;
            q += nl;
        } else {
            *o++ = *q++;
        }
    }
    *o = 0;
    return out;
}

static sn_rt_key kernel_key(const sn_cg_kernel *k, const sn_cg_target *t, const sn_eng_build *b) {
    char target[4600];
    const char *compiler = b->backend->compiler_id();
    b->backend->target_id(t, target, sizeof target);
    const char *text = b->backend->key_text(k);
    char *canon = canonical_text(k, text);
    const char *version = "sinter " SN_VERSION " entry-v1";
    const void *parts[4] = {canon ? canon : k->name, compiler, target, version};
    size_t lens[4];
    for (int i = 0; i < 4; i++)
        lens[i] = strlen(parts[i]);
    sn_rt_key key = sn_rt_key_of(parts, lens, 4);
    free(canon);
    return key;
}

/* A cache entry's payload: the entry symbol's name, a NUL, then the image. */
static int payload_split(job *jb, const void *data, size_t len) {
    const char *nul = memchr(data, 0, len < sizeof jb->entry ? len : sizeof jb->entry);
    if (!nul || nul == (const char *)data)
        return -1;
    size_t nl = (size_t)(nul - (const char *)data);
    memcpy(jb->entry, data, nl + 1);
    jb->len = len - nl - 1;
    jb->image = malloc(jb->len + 1);
    if (!jb->image)
        return -1;
    memcpy(jb->image, nul + 1, jb->len);
    return 0;
}

/* Writes one --dump file; a failed write (a full disk) is an error naming the path. */
static sn_status write_text(const char *dir, const char *name, const char *ext, const char *text,
                            char *err, size_t errlen) {
    char path[1024], msg[1024];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, ext);
    if (sn_write_atomic(path, text ? text : "", text ? strlen(text) : 0, msg, sizeof msg) !=
        SN_OK) {
        snprintf(err, errlen, "--dump: %s", msg);
        return SN_ERR_IO;
    }
    return SN_OK;
}

/* The pass pipeline as b asks for it (dump_dir NULL: no --dump files). */
static sn_status run_passes(sn_ir_graph *g, const sn_eng_build *b, const char *dump_dir, char *err,
                            size_t errlen) {
    sn_pass_options po;
    sn_pass_options_default(&po, b->eager);
    po.dump_dir = dump_dir;
    po.layout = SN_PASS_LAYOUT_NHWC; /* both backends' kernels want channels innermost */
    if (b->backend->narrow_storage)
        po.autocast = b->dtype; /* f16/bf16 kernels keep their intermediates in that dtype */
    return sn_pass_run_all(g, &po, err, errlen);
}

sn_status sn_eng_compile(sn_ir_graph *g, const sn_eng_build *b, sn_rt_device *dev,
                         sn_eng_compiled *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    out->dev = dev;
    const sn_cg_backend *be = b->backend;
    out->ir_ops = sn_ir_count_ops(g);
    /* the target first: a dtype the backend does not offer fails before any work */
    int sm = b->arch ? b->arch : (dev ? sn_rt_device_sm(dev) : 0);
    sn_status st = sn_cg_backend_target(be, &out->target, b->dtype, sm, err, errlen);
    if (st != SN_OK)
        return st;
    const sn_cg_target t = out->target;
    if (b->dump_dir && mkdir(b->dump_dir, 0777) && errno != EEXIST) {
        snprintf(err, errlen, "--dump %s: %s", b->dump_dir, strerror(errno));
        return SN_ERR_IO;
    }

    double t0 = sn_rt_now();
    st = run_passes(g, b, b->dump_dir, err, errlen);
    if (st != SN_OK)
        return st;
    out->peak_bytes = g->arena_bytes;
    double t1 = sn_rt_now();
    out->t_passes = t1 - t0;

    st = sn_cg_lower(g, &t, &out->prog, err, errlen);
    if (st != SN_OK)
        return st;
    double t2 = sn_rt_now();
    out->t_codegen = t2 - t1;
    sn_cg_program *p = out->prog;
    out->kernels = p->nkernels;
    out->library_steps = p->nsteps - p->nkernels;
    out->weight_bytes = p->weight_bytes;

    sn_rt_cache *cache = NULL;
    char cerr[512];
    if (sn_rt_cache_open(b->cache_dir, &cache, cerr, sizeof cerr) != SN_OK) {
        fprintf(stderr, "sinter: warning: kernel cache unavailable (%s); compiling anyway\n", cerr);
        cache = NULL;
    }

    /* One job per distinct key, in first-use order. */
    job *js = calloc((size_t)p->nkernels + 1, sizeof *js);
    int *image_of = calloc((size_t)p->nkernels + 1, sizeof *image_of);
    if (!js || !image_of) {
        free(js);
        free(image_of);
        sn_rt_cache_close(cache);
        return SN_ERR_NOMEM;
    }
    int nj = 0;
    for (int i = 0; i < p->nkernels; i++) {
        sn_rt_key key = kernel_key(&p->kernels[i], &t, b);
        int found = -1;
        for (int j = 0; j < nj; j++)
            if (js[j].key.lo == key.lo && js[j].key.hi == key.hi)
                found = j;
        if (found < 0) {
            found = nj++;
            js[found].k = &p->kernels[i];
            js[found].t = &t;
            js[found].b = b;
            js[found].key = key;
            snprintf(js[found].entry, sizeof js[found].entry, "%s", p->kernels[i].name);
            void *data = NULL;
            size_t dlen = 0;
            if (cache && sn_rt_cache_get(cache, key, &data, &dlen) == SN_OK) {
                /* A hit the device cannot load (garbage object, missing symbol) is evicted
                 * and recompiled here, not left to fail the plan on every later run. */
                js[found].hit =
                    payload_split(&js[found], data, dlen) == 0 &&
                    (!dev || sn_rt_image_check(dev, js[found].image, js[found].len, js[found].entry,
                                               cerr, sizeof cerr) == SN_OK);
                if (!js[found].hit) {
                    fprintf(stderr,
                            "sinter: warning: kernel cache: the entry of %s does not load (%s); "
                            "recompiling it\n",
                            p->kernels[i].name, js[found].image ? cerr : "malformed payload");
                    sn_rt_cache_evict(cache, key);
                    free(js[found].image);
                    js[found].image = NULL;
                    js[found].len = 0;
                    snprintf(js[found].entry, sizeof js[found].entry, "%s", p->kernels[i].name);
                }
            }
            free(data);
        }
        image_of[i] = found;
    }
    jobs q = {js, nj, 0, PTHREAD_MUTEX_INITIALIZER};
    int nthreads = b->threads > 0 ? b->threads : 2;
    if (nthreads > 16)
        nthreads = 16;
    pthread_t th[16];
    int started = 0;
    for (int i = 1; i < nthreads; i++)
        if (!pthread_create(&th[started], NULL, worker, &q))
            started++;
    worker(&q);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);

    st = SN_OK;
    for (int j = 0; j < nj; j++) {
        if (js[j].hit) {
            out->hits++;
            continue;
        }
        out->misses++;
        if (js[j].st != SN_OK && st == SN_OK) {
            st = js[j].st;
            snprintf(err, errlen, "kernel %s: %s", js[j].k->name, js[j].err);
        } else if (js[j].st == SN_OK && cache) {
            size_t nl = strlen(js[j].entry) + 1;
            char *data = malloc(nl + js[j].len);
            if (data) {
                memcpy(data, js[j].entry, nl);
                memcpy(data + nl, js[j].image, js[j].len);
                if (sn_rt_cache_put(cache, js[j].key, data, nl + js[j].len, cerr, sizeof cerr) !=
                    SN_OK)
                    fprintf(stderr, "sinter: warning: %s\n", cerr);
                free(data);
            }
        }
    }
    if (cache) {
        sn_rt_cache_stats cs = sn_rt_cache_stats_get(cache);
        out->corrupt = cs.corrupt;
    }
    double t3 = sn_rt_now();
    out->t_compile = t3 - t2;
    out->unique_images = nj;

    if (st == SN_OK && dev) {
        const void **images = calloc((size_t)nj + 1, sizeof *images);
        size_t *sizes = calloc((size_t)nj + 1, sizeof *sizes);
        sn_rt_step *steps = calloc((size_t)p->nsteps + 1, sizeof *steps);
        if (!images || !sizes || !steps)
            st = SN_ERR_NOMEM;
        /* the weights: persistent state the plan binds to (slot 0), not plan memory */
        int slot = 0;
        if (st == SN_OK)
            st = sn_rt_state_new(dev, &out->state, err, errlen);
        if (st == SN_OK)
            st = sn_rt_state_add(out->state, "weights", p->weight_bytes, &slot, err, errlen);
        if (st == SN_OK)
            st = sn_rt_state_copy(out->state, slot, 1, 0, p->weights, p->weight_bytes, err, errlen);
        for (int j = 0; st == SN_OK && j < nj; j++) {
            images[j] = js[j].image;
            sizes[j] = js[j].len;
        }
        for (int i = 0; st == SN_OK && i < p->nsteps; i++) {
            const sn_cg_step *ps = &p->steps[i];
            sn_rt_step *s = &steps[i];
            if (ps->kind != SN_RT_STEP_KERNEL) { /* a library or host call: nothing compiled */
                s->kind = ps->kind;
                s->entry = ps->name;
                s->gemm = ps->gemm;
                s->host = ps->host;
                s->tasks = ps->tasks;
                s->nargs = ps->nargs;
                for (int a = 0; a < ps->nargs; a++)
                    s->args[a] =
                        (sn_rt_argref){ps->args[a].kind, ps->args[a].index, ps->args[a].offset};
                continue;
            }
            const sn_cg_kernel *k = &p->kernels[ps->kernel];
            s->kind = SN_RT_STEP_KERNEL;
            s->module = image_of[ps->kernel];
            s->entry = js[image_of[ps->kernel]].entry;
            s->nargs = k->nargs;
            for (int a = 0; a < k->nargs; a++)
                s->args[a] = (sn_rt_argref){k->args[a].kind, k->args[a].index, k->args[a].offset};
            s->tasks = k->tasks;
            memcpy(s->grid, k->grid, sizeof s->grid);
            memcpy(s->block, k->block, sizeof s->block);
            s->smem = k->smem;
        }
        if (st == SN_OK) {
            sn_rt_plan_desc d = {0};
            d.nimages = nj;
            d.images = images;
            d.image_sizes = sizes;
            d.nsteps = p->nsteps;
            d.steps = steps;
            d.arena_bytes = p->arena_bytes;
            d.state = out->state;
            d.ninputs = p->ninputs;
            d.noutputs = p->noutputs;
            d.input_bytes = p->input_bytes;
            d.output_bytes = p->output_bytes;
            st = sn_rt_plan_new(dev, &d, &out->plan, err, errlen);
        }
        free(images);
        free(sizes);
        free(steps);
    }
    out->t_ready = sn_rt_now();
    out->t_plan = out->t_ready - t3;
    /* --dump: every kernel's source with its provenance (CPU kernels rebuild their LLVM IR
     * text, so this costs a second code generation; it is not counted in the phases). */
    if (st == SN_OK && b->dump_dir) {
        for (int i = 0; st == SN_OK && i < p->nkernels; i++) {
            sn_cg_kernel *k = &p->kernels[i];
            char e2[512];
            if (be->fill_source)
                be->fill_source(k, &t, e2, sizeof e2); /* without it the file is empty */
            /* both sources open with their provenance and spec as comments of their own
             * language, so the file is the kernel as compiled (a .ll that llvm-as reads) */
            st = write_text(b->dump_dir, k->name, be->dump_ext, k->source, err, errlen);
        }
    }

    for (int j = 0; j < nj; j++)
        free(js[j].image);
    free(js);
    free(image_of);
    sn_rt_cache_close(cache);
    return st;
}

void sn_eng_compiled_free(sn_eng_compiled *c) {
    if (!c)
        return;
    sn_rt_plan_free(c->plan);
    sn_rt_state_free(c->state);
    sn_cg_program_free(c->prog);
    memset(c, 0, sizeof *c);
}

/* 1 when a and b hold the same kernels (names, specs, launch shapes, arguments) and the same
 * memory sizes: b's weights blob can then stand in for a's. */
static int same_program(const sn_cg_program *a, const sn_cg_program *b) {
    if (a->nkernels != b->nkernels || a->nsteps != b->nsteps ||
        a->weight_bytes != b->weight_bytes || a->arena_bytes != b->arena_bytes)
        return 0;
    for (int i = 0; i < a->nsteps; i++) /* GEMM descriptions and arguments included */
        if (memcmp(&a->steps[i], &b->steps[i], sizeof a->steps[i]))
            return 0;
    for (int i = 0; i < a->nkernels; i++) {
        const sn_cg_kernel *x = &a->kernels[i], *y = &b->kernels[i];
        if (strcmp(x->name, y->name) || strcmp(x->spec ? x->spec : "", y->spec ? y->spec : "") ||
            x->nargs != y->nargs || memcmp(x->args, y->args, sizeof x->args[0] * (size_t)x->nargs))
            return 0;
    }
    return 1;
}

sn_status sn_eng_repack_weights(sn_eng_compiled *c, const sn_ir_graph *g, char *err,
                                size_t errlen) {
    if (!c->prog)
        return sn_fail(err, errlen, SN_ERR_INVALID, "no compiled program to bind weights to");
    uint8_t *w = NULL;
    int64_t bytes = 0;
    sn_status st = sn_cg_lower_weights(g, &c->target, &w, &bytes, err, errlen);
    if (st == SN_OK && bytes != c->prog->weight_bytes)
        st = sn_fail(err, errlen, SN_ERR_INVALID,
                     "the new weights change the compiled program's weights layout (%lld bytes, "
                     "was %lld): compile again instead",
                     (long long)bytes, (long long)c->prog->weight_bytes);
    if (st == SN_OK && c->state)
        st = sn_rt_state_copy(c->state, 0, 1, 0, w, bytes, err, errlen);
    if (st == SN_OK) { /* the program keeps the blob the plan now holds */
        free(c->prog->weights);
        c->prog->weights = w;
        w = NULL;
    }
    free(w);
    return st;
}

sn_status sn_eng_rebind_weights(sn_eng_compiled *c, sn_ir_graph *g, const sn_eng_build *b,
                                char *err, size_t errlen) {
    if (!c->prog)
        return sn_fail(err, errlen, SN_ERR_INVALID, "no compiled program to bind weights to");
    sn_status st = run_passes(g, b, NULL, err, errlen);
    sn_cg_program *np = NULL;
    if (st == SN_OK)
        st = sn_cg_lower(g, &c->target, &np, err, errlen);
    if (st == SN_OK && !same_program(c->prog, np))
        st = sn_fail(err, errlen, SN_ERR_INVALID,
                     "the new weights change the compiled program (a different model, size or "
                     "batch?): compile again instead");
    if (st == SN_OK && c->state)
        st = sn_rt_state_copy(c->state, 0, 1, 0, np->weights, np->weight_bytes, err, errlen);
    if (st == SN_OK) { /* the program keeps the blob the plan now holds */
        uint8_t *w = c->prog->weights;
        c->prog->weights = np->weights;
        np->weights = w;
    }
    sn_cg_program_free(np);
    return st;
}
