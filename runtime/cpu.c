/* runtime/cpu.c — the CPU backend.
 *
 * A plan owns one 64-byte aligned allocation laid out as
 *     arena | input 0 … | output 0 …     (each piece 64-byte aligned)
 * and binds to a state whose slots (plain host allocations) hold the weights, one LLJIT holding the
 * plan's object images (identical images are loaded once), and a launch list: per step the entry
 * point (looked up once, here) and its argument vector of resolved pointers. Executing a plan is a
 * loop over the steps, each one fn(args, begin, end) split over the device's thread pool; a step
 * starts only after the previous one has finished on every thread.
 *
 * Kernel ABI (codegen/codegen.h): void name(void **args, int64_t begin, int64_t end).
 */
#include "runtime/runtime_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

typedef struct cpu_device {
    sn_rt_pool *pool;
} cpu_device;

typedef struct cpu_step {
    sn_rt_step_kind kind;
    sn_rt_task_fn fn;
    int64_t tasks;
    void **args; /* into cpu_plan.argv */
    sn_rt_gemm gemm;
    float *a, *b, *d, *bias; /* GEMM operands */
} cpu_step;

typedef struct cpu_plan {
    sn_rt_jit *jit;
    uint8_t *mem;
    uint8_t *arena;
    const sn_rt_state *state; /* bound: SN_RT_BUF_WEIGHTS arguments point into its slots */
    uint8_t **in, **out;
    cpu_step *steps;
    int nsteps;
    void **argv;
} cpu_plan;

static int64_t round64(int64_t n) { return (n + 63) & ~(int64_t)63; }

/* ---------------------------------------------------------------- GEMM (f32 reference) */

static void gemm_rows(void **args, int64_t begin, int64_t end) {
    const cpu_step *s = args[0];
    const sn_rt_gemm *g = &s->gemm;
    const int64_t m = g->m, n = g->n, k = g->k;
    const float alpha = g->alpha != 0.0f ? g->alpha : 1.0f, beta = g->beta;
    float *acc = malloc((size_t)n * sizeof *acc);
    if (!acc)
        return; /* cannot happen for sane n; plan_new checked n */
    for (int64_t r = begin; r < end; r++) {
        const int64_t bi = r / m, i = r % m;
        const float *A = s->a + bi * g->stride_a;
        const float *B = s->b + bi * g->stride_b;
        float *D = s->d + bi * g->stride_d + i * g->ldd;
        for (int64_t j = 0; j < n; j++)
            acc[j] = 0.0f;
        for (int64_t kk = 0; kk < k; kk++) {
            const float av = g->trans_a ? A[kk * g->lda + i] : A[i * g->lda + kk];
            if (g->trans_b) {
                for (int64_t j = 0; j < n; j++)
                    acc[j] += av * B[j * g->ldb + kk];
            } else {
                const float *Bk = B + kk * g->ldb;
                for (int64_t j = 0; j < n; j++)
                    acc[j] += av * Bk[j];
            }
        }
        for (int64_t j = 0; j < n; j++) {
            float v = alpha * acc[j] + (beta != 0.0f ? beta * D[j] : 0.0f);
            if (g->bias == SN_RT_GEMM_BIAS_N)
                v += s->bias[j];
            else if (g->bias == SN_RT_GEMM_BIAS_M)
                v += s->bias[i];
            if (g->relu && v < 0.0f)
                v = 0.0f;
            D[j] = v;
        }
    }
    free(acc);
}

/* ---------------------------------------------------------------- plans */

static void cpu_plan_free(sn_rt_plan *p) {
    cpu_plan *cp = p->impl;
    if (!cp)
        return;
    sn_rt_jit_free(cp->jit);
    free(cp->mem);
    free(cp->in);
    free(cp->out);
    free(cp->steps);
    free(cp->argv);
    free(cp);
    p->impl = NULL;
}

static void *resolve(const cpu_plan *cp, sn_rt_argref a) {
    switch (a.buf) {
    case SN_RT_BUF_ARENA:
        return cp->arena + a.offset;
    case SN_RT_BUF_WEIGHTS:
        return (uint8_t *)(uintptr_t)cp->state->slots[a.index].mem + a.offset;
    case SN_RT_BUF_INPUT:
        return cp->in[a.index] + a.offset;
    case SN_RT_BUF_OUTPUT:
        return cp->out[a.index] + a.offset;
    }
    return NULL;
}

static sn_status cpu_plan_new(sn_rt_plan *p, const sn_rt_plan_desc *desc, char *err,
                              size_t errlen) {
    sn_status st = SN_OK;
    cpu_plan *cp = calloc(1, sizeof *cp);
    if (!cp)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "cpu plan: out of memory");
    p->impl = cp;
    int *jmod = NULL;
    uint64_t *ihash = NULL;

    /* Memory: one allocation, every piece 64-byte aligned. */
    cp->state = p->state;
    int64_t total = round64(desc->arena_bytes);
    for (int i = 0; i < desc->ninputs; i++)
        total += round64(desc->input_bytes[i]);
    for (int i = 0; i < desc->noutputs; i++)
        total += round64(desc->output_bytes[i]);
    cp->mem = sn_rt_aligned_alloc((size_t)total);
    cp->in = calloc((size_t)desc->ninputs + 1, sizeof *cp->in);
    cp->out = calloc((size_t)desc->noutputs + 1, sizeof *cp->out);
    cp->steps = calloc((size_t)desc->nsteps + 1, sizeof *cp->steps);
    cp->argv = calloc((size_t)desc->nsteps * SN_RT_MAX_ARGS + 1, sizeof *cp->argv);
    jmod = calloc((size_t)desc->nimages + 1, sizeof *jmod);
    ihash = calloc((size_t)desc->nimages + 1, sizeof *ihash);
    if (!cp->mem || !cp->in || !cp->out || !cp->steps || !cp->argv || !jmod || !ihash) {
        st = sn_fail(err, errlen, SN_ERR_NOMEM, "cpu plan: out of memory (%lld bytes of buffers)",
                     (long long)total);
        goto fail;
    }
    uint8_t *q = cp->mem;
    cp->arena = q;
    q += round64(desc->arena_bytes);
    for (int i = 0; i < desc->ninputs; i++) {
        cp->in[i] = q;
        q += round64(desc->input_bytes[i]);
    }
    for (int i = 0; i < desc->noutputs; i++) {
        cp->out[i] = q;
        q += round64(desc->output_bytes[i]);
    }
    memset(cp->mem, 0, (size_t)total); /* runtime.h: plan memory starts zeroed */

    /* Images: load each distinct one once, and only those some step uses. */
    int needs_jit = 0;
    for (int i = 0; i < desc->nsteps; i++)
        needs_jit |= desc->steps[i].kind == SN_RT_STEP_KERNEL;
    if (needs_jit && (st = sn_rt_jit_new(&cp->jit, err, errlen)) != SN_OK)
        goto fail;
    for (int i = 0; i < desc->nimages; i++) {
        jmod[i] = -1;
        ihash[i] = XXH3_64bits(desc->images[i], desc->image_sizes[i]);
    }
    for (int si = 0; si < desc->nsteps; si++) {
        const sn_rt_step *s = &desc->steps[si];
        if (s->kind != SN_RT_STEP_KERNEL || jmod[s->module] >= 0)
            continue;
        int m = s->module;
        for (int o = 0; o < desc->nimages && jmod[m] < 0; o++)
            if (o != m && jmod[o] >= 0 && ihash[o] == ihash[m] &&
                desc->image_sizes[o] == desc->image_sizes[m] &&
                memcmp(desc->images[o], desc->images[m], desc->image_sizes[m]) == 0)
                jmod[m] = jmod[o];
        if (jmod[m] < 0 &&
            (st = sn_rt_jit_add_object(cp->jit, desc->images[m], desc->image_sizes[m], &jmod[m],
                                       err, errlen)) != SN_OK)
            goto fail;
    }

    /* The launch list. */
    cp->nsteps = desc->nsteps;
    for (int si = 0; si < desc->nsteps; si++) {
        const sn_rt_step *s = &desc->steps[si];
        cpu_step *cs = &cp->steps[si];
        cs->kind = s->kind;
        cs->tasks = s->tasks;
        cs->args = cp->argv + (size_t)si * SN_RT_MAX_ARGS;
        for (int a = 0; a < s->nargs; a++)
            cs->args[a] = resolve(cp, s->args[a]);
        switch (s->kind) {
        case SN_RT_STEP_KERNEL: {
            void *addr;
            char lerr[1024];
            st = sn_rt_jit_lookup(cp->jit, jmod[s->module], s->entry, &addr, lerr, sizeof lerr);
            if (st != SN_OK) {
                st = sn_fail(err, errlen, st, "plan step %d: kernel %s (image %d): %s", si,
                             s->entry, (int)s->module, lerr);
                goto fail;
            }
            /* An object symbol's address is converted to a function pointer, as dlsym's
             * callers do (POSIX guarantees the round trip). */
            memcpy(&cs->fn, &addr, sizeof cs->fn);
            break;
        }
        case SN_RT_STEP_GEMM:
            if (s->gemm.ab_type != SN_RT_F32 || s->gemm.d_type != SN_RT_F32) {
                st = sn_fail(err, errlen, SN_ERR_UNSUPPORTED,
                             "plan step %d: the cpu GEMM step is f32 only", si);
                goto fail;
            }
            cs->gemm = s->gemm;
            cs->gemm.batch = s->gemm.batch > 1 ? s->gemm.batch : 1;
            cs->a = cs->args[0];
            cs->b = cs->args[1];
            cs->d = cs->args[2];
            cs->bias = s->gemm.bias ? cs->args[3] : NULL;
            cs->tasks = cs->gemm.batch * cs->gemm.m;
            cs->fn = gemm_rows;
            /* gemm_rows gets the step itself as its one argument. */
            cs->args[0] = cs;
            break;
        case SN_RT_STEP_HOST:
            cs->fn = s->host;
            break;
        case SN_RT_STEP_ALLREDUCE:
            st = sn_fail(err, errlen, SN_ERR_UNSUPPORTED,
                         "plan step %d: SN_RT_STEP_ALLREDUCE (NCCL all-reduce for data-"
                         "parallel training) is not supported yet",
                         si);
            goto fail;
        }
    }
    free(jmod);
    free(ihash);
    return SN_OK;
fail:
    free(jmod);
    free(ihash);
    cpu_plan_free(p);
    return st;
}

static sn_status cpu_set_inputs(sn_rt_plan *p, const void *const *inputs, char *err,
                                size_t errlen) {
    (void)err, (void)errlen;
    cpu_plan *cp = p->impl;
    for (int i = 0; i < p->ninputs; i++)
        if (p->input_bytes[i])
            memcpy(cp->in[i], inputs[i], (size_t)p->input_bytes[i]);
    return SN_OK;
}

static sn_status cpu_execute(sn_rt_plan *p, char *err, size_t errlen) {
    (void)err, (void)errlen;
    cpu_plan *cp = p->impl;
    cpu_device *cd = p->dev->impl;
    for (int i = 0; i < cp->nsteps; i++) {
        const cpu_step *s = &cp->steps[i];
        sn_rt_pool_run(cd->pool, s->fn, s->args, s->tasks);
    }
    return SN_OK;
}

static sn_status cpu_get_outputs(sn_rt_plan *p, void *const *outputs, char *err, size_t errlen) {
    (void)err, (void)errlen;
    cpu_plan *cp = p->impl;
    for (int i = 0; i < p->noutputs; i++)
        if (p->output_bytes[i])
            memcpy(outputs[i], cp->out[i], (size_t)p->output_bytes[i]);
    return SN_OK;
}

static sn_status cpu_mem_alloc(sn_rt_device *d, int64_t bytes, uint64_t *mem, char *err,
                               size_t errlen) {
    (void)d;
    void *q = sn_rt_aligned_alloc((size_t)bytes);
    if (!q)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "state: out of memory (%lld bytes)",
                       (long long)bytes);
    memset(q, 0, (size_t)round64(bytes));
    *mem = (uint64_t)(uintptr_t)q;
    return SN_OK;
}

static void cpu_mem_free(sn_rt_device *d, uint64_t mem) {
    (void)d;
    free((void *)(uintptr_t)mem);
}

static sn_status cpu_mem_copy(sn_rt_device *d, int write, uint64_t mem, int64_t offset, void *host,
                              int64_t bytes, char *err, size_t errlen) {
    (void)d, (void)err, (void)errlen;
    uint8_t *q = (uint8_t *)(uintptr_t)mem + offset;
    if (write)
        memcpy(q, host, (size_t)bytes);
    else
        memcpy(host, q, (size_t)bytes);
    return SN_OK;
}

/* ---------------------------------------------------------------- the device */

static void cpu_close(sn_rt_device *d) {
    cpu_device *cd = d->impl;
    if (cd)
        sn_rt_pool_free(cd->pool);
    free(cd);
}

/* A scratch JIT per check: linking is what fails on a bad object, and a plan's JIT must not
 * hold an image that never runs. */
static sn_status cpu_image_check(sn_rt_device *d, const void *image, size_t len, const char *entry,
                                 char *err, size_t errlen) {
    (void)d;
    sn_rt_jit *j = NULL;
    sn_status st = sn_rt_jit_new(&j, err, errlen);
    if (st == SN_ERR_UNSUPPORTED)
        return SN_OK; /* no LLVM: nothing could load it, plan_new says why */
    int module = -1;
    void *addr = NULL;
    if (st == SN_OK)
        st = sn_rt_jit_add_object(j, image, len, &module, err, errlen);
    if (st == SN_OK)
        st = sn_rt_jit_lookup(j, module, entry, &addr, err, errlen);
    sn_rt_jit_free(j);
    return st;
}

static const sn_rt_backend cpu_backend = {
    .name = "cpu",
    .close = cpu_close,
    .plan_new = cpu_plan_new,
    .plan_free = cpu_plan_free,
    .set_inputs = cpu_set_inputs,
    .execute = cpu_execute,
    .get_outputs = cpu_get_outputs,
    .mem_alloc = cpu_mem_alloc,
    .mem_free = cpu_mem_free,
    .mem_copy = cpu_mem_copy,
    .time = NULL, /* wall clock (device.c) */
    .image_check = cpu_image_check,
};

sn_status sn_rt_cpu_open(int threads, sn_rt_device *d, char *err, size_t errlen) {
    cpu_device *cd = calloc(1, sizeof *cd);
    if (!cd)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "cpu device: out of memory");
    sn_status st = sn_rt_pool_new(threads, &cd->pool, err, errlen);
    if (st != SN_OK) {
        free(cd);
        return st;
    }
    d->be = &cpu_backend;
    d->kind = SN_RT_CPU;
    d->sm = 0;
    d->impl = cd;
    int n = sn_rt_pool_threads(cd->pool);
    snprintf(d->name, sizeof d->name, "cpu (%d thread%s, %s)", n, n == 1 ? "" : "s",
             sn_rt_jit_host_cpu());
    return SN_OK;
}
