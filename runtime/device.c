/* runtime/device.c — device open/close, plan validation, and dispatch through the backend
 * function table (runtime_int.h: sn_rt_backend). Everything here is backend-independent: a
 * plan description is checked once, here, so the backends can trust it. */
#include "runtime/runtime_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- devices */

int sn_rt_device_present(const char *name) {
    if (name && !strncmp(name, "cuda", 4))
        return sn_rt_cuda_available();
    return 1;
}

sn_status sn_rt_device_open(const char *name, int threads, sn_rt_device **out, char *err,
                            size_t errlen) {
    *out = NULL;
    if (!name || !*name)
        name = "auto";
    int want_cuda = 0, ordinal = 0;
    if (strcmp(name, "cpu") == 0) {
        want_cuda = 0;
    } else if (strcmp(name, "auto") == 0) {
        want_cuda = sn_rt_cuda_available();
    } else if (strncmp(name, "cuda", 4) == 0) {
        want_cuda = 1;
        if (name[4] == ':') {
            char *end;
            long o = strtol(name + 5, &end, 10);
            if (end == name + 5 || *end || o < 0 || o > 1024)
                return sn_fail(err, errlen, SN_ERR_INVALID, "device \"%s\": expected cuda:N", name);
            ordinal = (int)o;
        } else if (name[4]) {
            return sn_fail(err, errlen, SN_ERR_INVALID,
                           "unknown device \"%s\" (cpu, cuda, cuda:N, auto)", name);
        }
    } else {
        return sn_fail(err, errlen, SN_ERR_INVALID,
                       "unknown device \"%s\" (cpu, cuda, cuda:N, auto)", name);
    }
    sn_rt_device *d = calloc(1, sizeof *d);
    if (!d)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "device: out of memory");
    sn_status st = want_cuda ? sn_rt_cuda_open(ordinal, d, err, errlen)
                             : sn_rt_cpu_open(threads, d, err, errlen);
    if (st != SN_OK) {
        free(d);
        return st;
    }
    *out = d;
    return SN_OK;
}

void sn_rt_device_close(sn_rt_device *d) {
    if (!d)
        return;
    d->be->close(d);
    free(d);
}

sn_rt_kind sn_rt_device_kind(const sn_rt_device *d) { return d->kind; }

const char *sn_rt_device_name(const sn_rt_device *d) { return d->name; }

int sn_rt_device_sm(const sn_rt_device *d) { return d->sm; }

sn_status sn_rt_image_check(sn_rt_device *d, const void *image, size_t len, const char *entry,
                            char *err, size_t errlen) {
    if (!image || !len || !entry || !*entry)
        return sn_fail(err, errlen, SN_ERR_INVALID, "empty image or entry name");
    return d->be->image_check ? d->be->image_check(d, image, len, entry, err, errlen) : SN_OK;
}

/* ---------------------------------------------------------------- plan validation */

static int64_t buf_size(const sn_rt_plan_desc *desc, sn_rt_argref a) {
    switch (a.buf) {
    case SN_RT_BUF_ARENA:
        return desc->arena_bytes;
    case SN_RT_BUF_WEIGHTS:
        if (desc->state)
            return sn_rt_state_bytes(desc->state, a.index);
        return a.index == 0 ? desc->weight_bytes : -1;
    case SN_RT_BUF_INPUT:
        return a.index >= 0 && a.index < desc->ninputs ? desc->input_bytes[a.index] : -1;
    case SN_RT_BUF_OUTPUT:
        return a.index >= 0 && a.index < desc->noutputs ? desc->output_bytes[a.index] : -1;
    }
    return -1;
}

static const char *buf_name(sn_rt_buf b) {
    switch (b) {
    case SN_RT_BUF_ARENA:
        return "arena";
    case SN_RT_BUF_WEIGHTS:
        return "weights";
    case SN_RT_BUF_INPUT:
        return "input";
    case SN_RT_BUF_OUTPUT:
        return "output";
    }
    return "?";
}

/* Bytes spanned by a rows × cols row-major matrix with leading dimension ld, batch items
 * `stride` elements apart. */
static int64_t matrix_span(int64_t rows, int64_t cols, int64_t ld, int64_t batch, int64_t stride,
                           int esize) {
    return ((rows - 1) * ld + cols + (batch - 1) * stride) * esize;
}

sn_status sn_rt_gemm_check(const sn_rt_plan_desc *desc, int i, char *err, size_t errlen) {
    const sn_rt_step *s = &desc->steps[i];
    const sn_rt_gemm *g = &s->gemm;
    if (g->m < 1 || g->n < 1 || g->k < 1)
        return sn_fail(err, errlen, SN_ERR_INVALID, "plan step %d: gemm %lldx%lldx%lld", i,
                       (long long)g->m, (long long)g->n, (long long)g->k);
    if ((unsigned)g->ab_type > SN_RT_BF16 || (unsigned)g->d_type > SN_RT_BF16 ||
        (g->d_type != SN_RT_F32 && g->d_type != g->ab_type))
        return sn_fail(err, errlen, SN_ERR_UNSUPPORTED,
                       "plan step %d: gemm types (A/B %d, D %d): D must be f32 or the type "
                       "of A and B",
                       i, (int)g->ab_type, (int)g->d_type);
    if ((unsigned)g->bias > SN_RT_GEMM_BIAS_M)
        return sn_fail(err, errlen, SN_ERR_INVALID, "plan step %d: gemm bias %d", i, (int)g->bias);
    int64_t batch = g->batch > 1 ? g->batch : 1;
    if (g->stride_a < 0 || g->stride_b < 0 || g->stride_d < 0 || (batch > 1 && g->stride_d == 0))
        return sn_fail(err, errlen, SN_ERR_INVALID,
                       "plan step %d: gemm batch strides (D's must be > 0 when batched)", i);
    int need = g->bias ? 4 : 3;
    if (s->nargs < need)
        return sn_fail(err, errlen, SN_ERR_INVALID,
                       "plan step %d: gemm takes %d arguments (A, B, D%s), has %d", i, need,
                       g->bias ? ", bias" : "", s->nargs);
    int64_t ar = g->trans_a ? g->k : g->m, ac = g->trans_a ? g->m : g->k;
    int64_t br = g->trans_b ? g->n : g->k, bc = g->trans_b ? g->k : g->n;
    struct {
        const char *what;
        int64_t ld, cols, span;
    } mats[4] = {
        {"A", g->lda, ac,
         matrix_span(ar, ac, g->lda, batch, g->stride_a, sn_rt_dtype_size(g->ab_type))},
        {"B", g->ldb, bc,
         matrix_span(br, bc, g->ldb, batch, g->stride_b, sn_rt_dtype_size(g->ab_type))},
        {"D", g->ldd, g->n,
         matrix_span(g->m, g->n, g->ldd, batch, g->stride_d, sn_rt_dtype_size(g->d_type))},
        {"bias", 1, 1, (g->bias == SN_RT_GEMM_BIAS_M ? g->m : g->n) * sn_rt_dtype_size(g->d_type)},
    };
    for (int a = 0; a < need; a++) {
        if (mats[a].ld < mats[a].cols)
            return sn_fail(err, errlen, SN_ERR_INVALID,
                           "plan step %d: gemm leading dimension of %s is %lld < %lld", i,
                           mats[a].what, (long long)mats[a].ld, (long long)mats[a].cols);
        int64_t size = buf_size(desc, s->args[a]);
        if (s->args[a].offset + mats[a].span > size)
            return sn_fail(err, errlen, SN_ERR_INVALID,
                           "plan step %d: gemm %s needs %lld bytes at offset %lld of %s, "
                           "which has %lld",
                           i, mats[a].what, (long long)mats[a].span, (long long)s->args[a].offset,
                           buf_name(s->args[a].buf), (long long)size);
    }
    return SN_OK;
}

static sn_status desc_check(const sn_rt_plan_desc *desc, char *err, size_t errlen) {
#define BAD(...) return sn_fail(err, errlen, SN_ERR_INVALID, __VA_ARGS__)
    if (desc->nimages < 0 || desc->nsteps < 0 || desc->ninputs < 0 || desc->noutputs < 0)
        BAD("plan: negative count");
    if ((desc->nimages && (!desc->images || !desc->image_sizes)) ||
        (desc->nsteps && !desc->steps) || (desc->ninputs && !desc->input_bytes) ||
        (desc->noutputs && !desc->output_bytes))
        BAD("plan: missing array");
    if (desc->arena_bytes < 0 || desc->weight_bytes < 0 || (desc->weight_bytes && !desc->weights))
        BAD("plan: bad arena or weights size");
    if (desc->state && desc->weight_bytes)
        BAD("plan: weights given beside a state (they belong in one of its slots)");
    for (int i = 0; i < desc->nimages; i++)
        if (!desc->images[i] || desc->image_sizes[i] == 0)
            BAD("plan: image %d is empty", i);
    for (int i = 0; i < desc->ninputs; i++)
        if (desc->input_bytes[i] < 0)
            BAD("plan: input %d has negative size", i);
    for (int i = 0; i < desc->noutputs; i++)
        if (desc->output_bytes[i] < 0)
            BAD("plan: output %d has negative size", i);
    for (int i = 0; i < desc->nsteps; i++) {
        const sn_rt_step *s = &desc->steps[i];
        if (s->nargs < 0 || s->nargs > SN_RT_MAX_ARGS)
            BAD("plan step %d: %d arguments (at most %d)", i, s->nargs, SN_RT_MAX_ARGS);
        for (int a = 0; a < s->nargs; a++) {
            sn_rt_argref r = s->args[a];
            int64_t size = buf_size(desc, r);
            if (size < 0)
                BAD("plan step %d (%s): argument %d refers to %s %d, which does not exist", i,
                    s->entry ? s->entry : "?", a, buf_name(r.buf), (int)r.index);
            if (r.offset < 0 || r.offset > size)
                BAD("plan step %d (%s): argument %d offset %lld outside %s (%lld bytes)", i,
                    s->entry ? s->entry : "?", a, (long long)r.offset, buf_name(r.buf),
                    (long long)size);
        }
        switch (s->kind) {
        case SN_RT_STEP_KERNEL:
            if (s->module < 0 || s->module >= desc->nimages)
                BAD("plan step %d: module %d of %d", i, (int)s->module, desc->nimages);
            if (!s->entry || !*s->entry)
                BAD("plan step %d: no entry name", i);
            if (s->tasks < 0)
                BAD("plan step %d (%s): negative task count", i, s->entry);
            break;
        case SN_RT_STEP_GEMM: {
            sn_status st = sn_rt_gemm_check(desc, i, err, errlen);
            if (st != SN_OK)
                return st;
            break;
        }
        case SN_RT_STEP_HOST:
            if (!s->host)
                BAD("plan step %d (%s): a host step without its function", i,
                    s->entry ? s->entry : "?");
            if (s->tasks < 0)
                BAD("plan step %d (%s): negative task count", i, s->entry ? s->entry : "?");
            break;
        case SN_RT_STEP_ALLREDUCE:
            break; /* the backends say it is not supported yet */
        default:
            BAD("plan step %d: unknown kind %d", i, (int)s->kind);
        }
    }
    return SN_OK;
#undef BAD
}

/* ---------------------------------------------------------------- state */

sn_status sn_rt_state_new(sn_rt_device *d, sn_rt_state **out, char *err, size_t errlen) {
    *out = calloc(1, sizeof **out);
    if (!*out)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "state: out of memory");
    (*out)->dev = d;
    return SN_OK;
}

void sn_rt_state_free(sn_rt_state *s) {
    if (!s)
        return;
    for (int i = 0; i < s->nslots; i++)
        s->dev->be->mem_free(s->dev, s->slots[i].mem);
    free(s->slots);
    free(s);
}

sn_status sn_rt_state_add(sn_rt_state *s, const char *name, int64_t bytes, int *slot, char *err,
                          size_t errlen) {
    *slot = -1;
    if (bytes < 0 || !name || strlen(name) >= sizeof s->slots[0].name)
        return sn_fail(err, errlen, SN_ERR_INVALID, "state: bad slot '%.64s' (%lld bytes)",
                       name ? name : "(null)", (long long)bytes);
    if (sn_rt_state_find(s, name) >= 0)
        return sn_fail(err, errlen, SN_ERR_INVALID, "state: a slot named '%s' exists", name);
    if (s->nslots == s->cap) {
        int ncap = s->cap ? 2 * s->cap : 4;
        sn_rt_slot *ns = realloc(s->slots, (size_t)ncap * sizeof *ns);
        if (!ns)
            return sn_fail(err, errlen, SN_ERR_NOMEM, "state: out of memory");
        s->slots = ns;
        s->cap = ncap;
    }
    sn_rt_slot *q = &s->slots[s->nslots];
    memset(q, 0, sizeof *q);
    snprintf(q->name, sizeof q->name, "%s", name);
    q->bytes = bytes;
    sn_status st = s->dev->be->mem_alloc(s->dev, bytes, &q->mem, err, errlen);
    if (st != SN_OK)
        return st;
    *slot = s->nslots++;
    return SN_OK;
}

int sn_rt_state_find(const sn_rt_state *s, const char *name) {
    for (int i = 0; name && i < s->nslots; i++)
        if (!strcmp(s->slots[i].name, name))
            return i;
    return -1;
}

int sn_rt_state_count(const sn_rt_state *s) { return s->nslots; }

int64_t sn_rt_state_bytes(const sn_rt_state *s, int slot) {
    return slot >= 0 && slot < s->nslots ? s->slots[slot].bytes : -1;
}

sn_status sn_rt_state_copy(sn_rt_state *s, int slot, int write, int64_t offset, void *host,
                           int64_t bytes, char *err, size_t errlen) {
    int64_t size = sn_rt_state_bytes(s, slot);
    if (size < 0)
        return sn_fail(err, errlen, SN_ERR_INVALID, "state: no slot %d", slot);
    if (offset < 0 || bytes < 0 || offset > size || bytes > size - offset)
        return sn_fail(err, errlen, SN_ERR_INVALID,
                       "state: range [%lld, +%lld) outside slot %s (%lld bytes)", (long long)offset,
                       (long long)bytes, s->slots[slot].name, (long long)size);
    if (!bytes)
        return SN_OK;
    return s->dev->be->mem_copy(s->dev, write, s->slots[slot].mem, offset, host, bytes, err,
                                errlen);
}

/* ---------------------------------------------------------------- plans */

sn_status sn_rt_plan_new(sn_rt_device *d, const sn_rt_plan_desc *desc, sn_rt_plan **out, char *err,
                         size_t errlen) {
    *out = NULL;
    sn_status st = desc_check(desc, err, errlen);
    if (st != SN_OK)
        return st;
    sn_rt_plan *p = calloc(1, sizeof *p);
    if (!p)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "plan: out of memory");
    p->dev = d;
    p->ninputs = desc->ninputs;
    p->noutputs = desc->noutputs;
    p->input_bytes = calloc((size_t)desc->ninputs + 1, sizeof(int64_t));
    p->output_bytes = calloc((size_t)desc->noutputs + 1, sizeof(int64_t));
    if (!p->input_bytes || !p->output_bytes) {
        free(p->input_bytes);
        free(p->output_bytes);
        free(p);
        return sn_fail(err, errlen, SN_ERR_NOMEM, "plan: out of memory");
    }
    if (desc->ninputs)
        memcpy(p->input_bytes, desc->input_bytes, (size_t)desc->ninputs * sizeof(int64_t));
    if (desc->noutputs)
        memcpy(p->output_bytes, desc->output_bytes, (size_t)desc->noutputs * sizeof(int64_t));
    p->state = desc->state;
    if (!p->state) { /* a state of the plan's own, holding desc->weights in slot 0 */
        int slot = 0;
        p->own_state = 1;
        st = sn_rt_state_new(d, &p->state, err, errlen);
        if (st == SN_OK)
            st = sn_rt_state_add(p->state, "weights", desc->weight_bytes, &slot, err, errlen);
        if (st == SN_OK && desc->weight_bytes)
            st = sn_rt_state_copy(p->state, 0, 1, 0, (void *)desc->weights, desc->weight_bytes, err,
                                  errlen);
    }
    if (st == SN_OK)
        st = d->be->plan_new(p, desc, err, errlen);
    if (st != SN_OK) {
        if (p->own_state)
            sn_rt_state_free(p->state);
        free(p->input_bytes);
        free(p->output_bytes);
        free(p);
        return st;
    }
    *out = p;
    return SN_OK;
}

void sn_rt_plan_free(sn_rt_plan *p) {
    if (!p)
        return;
    p->dev->be->plan_free(p);
    if (p->own_state)
        sn_rt_state_free(p->state);
    free(p->input_bytes);
    free(p->output_bytes);
    free(p);
}

sn_status sn_rt_plan_set_inputs(sn_rt_plan *p, const void *const *inputs, char *err,
                                size_t errlen) {
    for (int i = 0; i < p->ninputs; i++)
        if (p->input_bytes[i] && (!inputs || !inputs[i]))
            return sn_fail(err, errlen, SN_ERR_INVALID, "plan: input %d is NULL", i);
    return p->dev->be->set_inputs(p, inputs, err, errlen);
}

sn_status sn_rt_plan_execute(sn_rt_plan *p, char *err, size_t errlen) {
    return p->dev->be->execute(p, err, errlen);
}

sn_status sn_rt_plan_get_outputs(sn_rt_plan *p, void *const *outputs, char *err, size_t errlen) {
    for (int i = 0; i < p->noutputs; i++)
        if (p->output_bytes[i] && (!outputs || !outputs[i]))
            return sn_fail(err, errlen, SN_ERR_INVALID, "plan: output %d is NULL", i);
    return p->dev->be->get_outputs(p, outputs, err, errlen);
}

sn_rt_state *sn_rt_plan_state(sn_rt_plan *p) { return p->state; }

sn_status sn_rt_plan_run(sn_rt_plan *p, const void *const *inputs, void *const *outputs, char *err,
                         size_t errlen) {
    sn_status st = sn_rt_plan_set_inputs(p, inputs, err, errlen);
    if (st == SN_OK)
        st = sn_rt_plan_execute(p, err, errlen);
    if (st == SN_OK)
        st = sn_rt_plan_get_outputs(p, outputs, err, errlen);
    return st;
}

sn_status sn_rt_plan_time(sn_rt_plan *p, int iters, double *seconds, char *err, size_t errlen) {
    *seconds = 0;
    if (iters < 1)
        iters = 1;
    if (p->dev->be->time)
        return p->dev->be->time(p, iters, seconds, err, errlen);
    double t0 = sn_rt_now();
    for (int i = 0; i < iters; i++) {
        sn_status st = p->dev->be->execute(p, err, errlen);
        if (st != SN_OK)
            return st;
    }
    *seconds = (sn_rt_now() - t0) / iters;
    return SN_OK;
}
