/* runtime/cuda.c — the CUDA backend, on the driver API.
 *
 * libcuda.so.1 is opened with dlopen and every entry point is fetched through
 * cuGetProcAddress at one ABI version (SN_CU_ABI_VERSION), so the binary links no CUDA
 * library and runs on machines without a GPU; sn_rt_cuda_available() then answers 0 quietly.
 *
 * A device holds the primary context of its GPU and one non-blocking stream. A plan holds:
 *   - one device allocation laid out as arena | inputs | outputs | GEMM workspace (each
 *     piece 256-byte aligned); the weights live in the bound state's slots (cuMemAlloc each);
 *   - the modules its kernel steps use (identical images loaded once) and each step's
 *     function, looked up, loaded and checked (block size, dynamic shared memory opt-in above
 *     48 KiB) at creation;
 *   - each step's parameter block: device pointers base + offset, passed to cuLaunchKernel as
 *     void *params[] (kernel ABI: extern "C" __global__ void k(T0 *a0, T1 *a1, …));
 *   - a CUDA graph of all the steps, captured once at creation; sn_rt_plan_execute replays it
 *     (cuGraphLaunch) and waits for the stream.
 * Inputs and outputs are copied outside the graph, so the graph never refers to host memory.
 */
#include "runtime/cuda_int.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

sn_cu_api sn_cu;

/* ---------------------------------------------------------------- loading */

void *sn_cu_dlopen_any(const char *const *names, int n, char *why, size_t whylen) {
    const char *dirs[4] = {NULL, "/usr/local/cuda/lib64", getenv("CUDA_HOME"), getenv("CUDA_PATH")};
    if (why && whylen)
        why[0] = '\0';
    for (int d = 0; d < 4; d++) {
        if (d > 0 && (!dirs[d] || !*dirs[d]))
            continue;
        for (int i = 0; i < n; i++) {
            char path[4096];
            if (d == 0)
                snprintf(path, sizeof path, "%s", names[i]);
            else if (d == 1)
                snprintf(path, sizeof path, "%s/%s", dirs[d], names[i]);
            else
                snprintf(path, sizeof path, "%s/lib64/%s", dirs[d], names[i]);
            void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
            if (h)
                return h;
            const char *e = dlerror();
            if (why && whylen && d == 0 && i == 0 && e)
                snprintf(why, whylen, "%s", e);
        }
    }
    return NULL;
}

typedef sn_cu_result (*get_proc_v2_fn)(const char *sym, void **pfn, int ver,
                                       unsigned long long flags, int *status);
typedef sn_cu_result (*get_proc_v1_fn)(const char *sym, void **pfn, int ver,
                                       unsigned long long flags);

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static sn_status load_status = SN_ERR_DEVICE;
static char load_msg[512];

static void load_driver(void) {
    const char *over = getenv("SINTER_LIBCUDA"); /* tests point this at the toolkit's stub */
    const char *names[1] = {over && *over ? over : "libcuda.so.1"};
    char why[300];
    void *lib = dlopen(names[0], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        snprintf(why, sizeof why, "%s", e ? e : "not found");
        snprintf(load_msg, sizeof load_msg,
                 "CUDA driver not available: dlopen(\"%s\") failed: %s (no NVIDIA driver "
                 "installed?)",
                 names[0], why);
        return;
    }
    get_proc_v2_fn gp2 = NULL;
    get_proc_v1_fn gp1 = NULL;
    void *sym = dlsym(lib, "cuGetProcAddress_v2");
    memcpy(&gp2, &sym, sizeof sym);
    if (!gp2) {
        sym = dlsym(lib, "cuGetProcAddress");
        memcpy(&gp1, &sym, sizeof sym);
    }
    if (!gp1 && !gp2) {
        snprintf(load_msg, sizeof load_msg,
                 "CUDA driver %s has no cuGetProcAddress (a driver for CUDA 12 or newer is "
                 "needed)",
                 names[0]);
        dlclose(lib);
        return;
    }
    static const struct {
        const char *name;
        size_t offset;
    } entries[] = {
#define E(sym, field) {sym, offsetof(sn_cu_api, field)}
        E("cuInit", Init),
        E("cuDriverGetVersion", DriverGetVersion),
        E("cuGetErrorName", GetErrorName),
        E("cuDeviceGetCount", DeviceGetCount),
        E("cuDeviceGet", DeviceGet),
        E("cuDeviceGetName", DeviceGetName),
        E("cuDeviceGetAttribute", DeviceGetAttribute),
        E("cuDeviceTotalMem", DeviceTotalMem),
        E("cuDevicePrimaryCtxRetain", DevicePrimaryCtxRetain),
        E("cuDevicePrimaryCtxRelease", DevicePrimaryCtxRelease),
        E("cuCtxSetCurrent", CtxSetCurrent),
        E("cuStreamCreate", StreamCreate),
        E("cuStreamDestroy", StreamDestroy),
        E("cuStreamSynchronize", StreamSynchronize),
        E("cuMemAlloc", MemAlloc),
        E("cuMemFree", MemFree),
        E("cuMemcpyHtoDAsync", MemcpyHtoDAsync),
        E("cuMemcpyDtoHAsync", MemcpyDtoHAsync),
        E("cuMemsetD8Async", MemsetD8Async),
        E("cuModuleLoadData", ModuleLoadData),
        E("cuModuleUnload", ModuleUnload),
        E("cuModuleGetFunction", ModuleGetFunction),
        E("cuFuncGetAttribute", FuncGetAttribute),
        E("cuFuncSetAttribute", FuncSetAttribute),
        E("cuLaunchKernel", LaunchKernel),
        E("cuStreamBeginCapture", StreamBeginCapture),
        E("cuStreamEndCapture", StreamEndCapture),
        E("cuGraphInstantiateWithFlags", GraphInstantiateWithFlags),
        E("cuGraphLaunch", GraphLaunch),
        E("cuGraphExecDestroy", GraphExecDestroy),
        E("cuGraphDestroy", GraphDestroy),
        E("cuEventCreate", EventCreate),
        E("cuEventDestroy", EventDestroy),
        E("cuEventRecord", EventRecord),
        E("cuEventSynchronize", EventSynchronize),
        E("cuEventElapsedTime", EventElapsedTime),
#undef E
    };
    sn_cu_api api;
    memset(&api, 0, sizeof api);
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        void *fn = NULL;
        int qstatus = 0;
        sn_cu_result r =
            gp2 ? gp2(entries[i].name, &fn, SN_CU_ABI_VERSION, SN_CU_GET_PROC_ADDRESS_DEFAULT,
                      &qstatus)
                : gp1(entries[i].name, &fn, SN_CU_ABI_VERSION, SN_CU_GET_PROC_ADDRESS_DEFAULT);
        if (r != SN_CUDA_SUCCESS || !fn) {
            snprintf(load_msg, sizeof load_msg,
                     "cuGetProcAddress(\"%s\", %d) failed: CUresult %d%s (driver %s)",
                     entries[i].name, SN_CU_ABI_VERSION, r,
                     r == SN_CUDA_ERROR_STUB_LIBRARY ? " = CUDA_ERROR_STUB_LIBRARY" : "", names[0]);
            dlclose(lib);
            return;
        }
        memcpy((char *)&api + entries[i].offset, &fn, sizeof fn);
    }
    sn_cu = api;
    load_status = SN_OK;
    /* lib stays open for the life of the process. */
}

sn_status sn_cu_load(char *err, size_t errlen) {
    pthread_once(&load_once, load_driver);
    if (load_status != SN_OK)
        return sn_fail(err, errlen, load_status, "%s", load_msg);
    return SN_OK;
}

const char *sn_cu_error_name(sn_cu_result r) {
    static _Thread_local char buf[32];
    const char *s = NULL;
    if (sn_cu.GetErrorName && sn_cu.GetErrorName(r, &s) == SN_CUDA_SUCCESS && s)
        return s;
    snprintf(buf, sizeof buf, "CUresult %d", r);
    return buf;
}

sn_status sn_cu_fail(sn_cu_result r, const char *call, char *err, size_t errlen) {
    return sn_fail(err, errlen, SN_ERR_DEVICE, "%s failed: %s", call, sn_cu_error_name(r));
}

static pthread_once_t avail_once = PTHREAD_ONCE_INIT;
static int avail;

static void probe(void) {
    int n = 0;
    avail = sn_cu_load(NULL, 0) == SN_OK && sn_cu.Init(0) == SN_CUDA_SUCCESS &&
            sn_cu.DeviceGetCount(&n) == SN_CUDA_SUCCESS && n > 0;
}

int sn_rt_cuda_available(void) {
    pthread_once(&avail_once, probe);
    return avail;
}

/* ---------------------------------------------------------------- device */

typedef struct cu_device {
    int ordinal;
    sn_cu_device dev;
    sn_cu_context ctx; /* primary, retained */
    sn_cu_stream stream;
    int smem_optin;  /* max dynamic + static shared bytes per block */
    sn_lt_handle lt; /* created with the first GEMM plan */
    pthread_mutex_t mu;
} cu_device;

typedef struct cu_step {
    sn_rt_step_kind kind;
    const char *entry; /* into the plan's name copies, for messages */
    sn_cu_function fn;
    unsigned grid[3], block[3], smem;
    int nargs;
    sn_cu_ptr vals[SN_RT_MAX_ARGS];
    void *params[SN_RT_MAX_ARGS];
    sn_lt_gemm *gemm;
} cu_step;

typedef struct cu_plan {
    sn_cu_module *mods;
    int nmods;
    sn_cu_ptr mem;
    sn_cu_ptr arena, ws;
    const sn_rt_state *state; /* bound: SN_RT_BUF_WEIGHTS arguments point into its slots */
    size_t ws_bytes;
    sn_cu_ptr *in, *out;
    cu_step *steps;
    int nsteps;
    char *names; /* entry names, NUL-separated */
    sn_cu_graph graph;
    sn_cu_graph_exec exec;
    sn_cu_event ev0, ev1;
} cu_plan;

/* GEMM workspace offered to cuBLASLt's heuristic; the plan allocates what the chosen
 * algorithms need. */
#define LT_MAX_WORKSPACE ((size_t)32 << 20)

static size_t round256(size_t n) { return (n + 255) & ~(size_t)255; }

static void cu_plan_free(sn_rt_plan *p) {
    cu_plan *cp = p->impl;
    if (!cp)
        return;
    cu_device *cd = p->dev->impl;
    sn_cu.CtxSetCurrent(cd->ctx);
    /* Nothing of this plan may still run when its memory goes. */
    sn_cu.StreamSynchronize(cd->stream);
    if (cp->exec)
        sn_cu.GraphExecDestroy(cp->exec);
    if (cp->graph)
        sn_cu.GraphDestroy(cp->graph);
    if (cp->ev0)
        sn_cu.EventDestroy(cp->ev0);
    if (cp->ev1)
        sn_cu.EventDestroy(cp->ev1);
    for (int i = 0; cp->steps && i < cp->nsteps; i++)
        sn_lt_gemm_free(cp->steps[i].gemm);
    for (int i = 0; i < cp->nmods; i++)
        if (cp->mods[i])
            sn_cu.ModuleUnload(cp->mods[i]);
    if (cp->mem)
        sn_cu.MemFree(cp->mem);
    free(cp->mods);
    free(cp->in);
    free(cp->out);
    free(cp->steps);
    free(cp->names);
    free(cp);
    p->impl = NULL;
}

static sn_cu_ptr resolve(const cu_plan *cp, sn_rt_argref a) {
    switch (a.buf) {
    case SN_RT_BUF_ARENA:
        return cp->arena + (sn_cu_ptr)a.offset;
    case SN_RT_BUF_WEIGHTS:
        return (sn_cu_ptr)cp->state->slots[a.index].mem + (sn_cu_ptr)a.offset;
    case SN_RT_BUF_INPUT:
        return cp->in[a.index] + (sn_cu_ptr)a.offset;
    case SN_RT_BUF_OUTPUT:
        return cp->out[a.index] + (sn_cu_ptr)a.offset;
    }
    return 0;
}

/* Records every step on the stream; the caller captures. */
static sn_status record_steps(sn_rt_plan *p, char *err, size_t errlen) {
    sn_status st = SN_OK;
    cu_plan *cp = p->impl;
    cu_device *cd = p->dev->impl;
    for (int i = 0; i < cp->nsteps; i++) {
        cu_step *s = &cp->steps[i];
        if (s->kind == SN_RT_STEP_KERNEL) {
            SN_CU_CHECK(LaunchKernel,
                        (s->fn, s->grid[0], s->grid[1], s->grid[2], s->block[0], s->block[1],
                         s->block[2], s->smem, cd->stream, s->params, NULL));
        } else if (s->kind == SN_RT_STEP_GEMM) {
            st = sn_lt_gemm_launch(cd->lt, s->gemm, cp->ws, cp->ws_bytes, cd->stream, err, errlen);
            if (st != SN_OK)
                goto fail;
        }
    }
    return SN_OK;
fail:
    return st;
}

static sn_status cu_plan_new(sn_rt_plan *p, const sn_rt_plan_desc *desc, char *err, size_t errlen) {
    sn_status st = SN_OK;
    cu_device *cd = p->dev->impl;
    cu_plan *cp = calloc(1, sizeof *cp);
    if (!cp)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "cuda plan: out of memory");
    p->impl = cp;
    uint64_t *ihash = NULL;
    int *owner = NULL;
    int capturing = 0;
    char serr[1024];
    SN_CU_CHECK(CtxSetCurrent, (cd->ctx));

    /* Steps that cannot run here are refused before anything is allocated. */
    int ngemm = 0;
    size_t names_len = 1;
    for (int i = 0; i < desc->nsteps; i++) {
        const sn_rt_step *s = &desc->steps[i];
        if (s->kind == SN_RT_STEP_ALLREDUCE) {
            st = sn_fail(err, errlen, SN_ERR_UNSUPPORTED,
                         "plan step %d: SN_RT_STEP_ALLREDUCE (NCCL all-reduce for data-"
                         "parallel training) is not supported yet",
                         i);
            goto fail;
        }
        if (s->kind == SN_RT_STEP_HOST) {
            st = sn_fail(err, errlen, SN_ERR_UNSUPPORTED,
                         "plan step %d (%s): a host step (a CPU function) in a CUDA plan", i,
                         s->entry ? s->entry : "?");
            goto fail;
        }
        if (s->kind == SN_RT_STEP_KERNEL) {
            if (s->grid[0] == 0 || s->block[0] == 0) {
                st = sn_fail(err, errlen, SN_ERR_INVALID,
                             "plan step %d (%s): empty launch grid %ux%ux%u block %ux%ux%u", i,
                             s->entry, s->grid[0], s->grid[1], s->grid[2], s->block[0], s->block[1],
                             s->block[2]);
                goto fail;
            }
            names_len += strlen(s->entry) + 1;
        }
        ngemm += s->kind == SN_RT_STEP_GEMM;
    }

    cp->nsteps = desc->nsteps;
    cp->steps = calloc((size_t)desc->nsteps + 1, sizeof *cp->steps);
    cp->mods = calloc((size_t)desc->nimages + 1, sizeof *cp->mods);
    cp->nmods = desc->nimages;
    cp->in = calloc((size_t)desc->ninputs + 1, sizeof *cp->in);
    cp->out = calloc((size_t)desc->noutputs + 1, sizeof *cp->out);
    cp->names = malloc(names_len);
    ihash = calloc((size_t)desc->nimages + 1, sizeof *ihash);
    owner = calloc((size_t)desc->nimages + 1, sizeof *owner);
    if (!cp->steps || !cp->mods || !cp->in || !cp->out || !cp->names || !ihash || !owner) {
        st = sn_fail(err, errlen, SN_ERR_NOMEM, "cuda plan: out of memory");
        goto fail;
    }

    /* Device memory: one allocation. With GEMM steps it ends in a LT_MAX_WORKSPACE
     * workspace, the most cuBLASLt's heuristic is allowed to ask for; the steps run one
     * after another on one stream, so they share it. */
    size_t off = 0, o_arena, o_ws;
    cp->state = p->state;
    o_arena = off;
    off += round256((size_t)desc->arena_bytes);
    size_t *o_in = calloc((size_t)desc->ninputs + (size_t)desc->noutputs + 1, sizeof *o_in);
    if (!o_in) {
        st = sn_fail(err, errlen, SN_ERR_NOMEM, "cuda plan: out of memory");
        goto fail;
    }
    for (int i = 0; i < desc->ninputs; i++) {
        o_in[i] = off;
        off += round256((size_t)desc->input_bytes[i]);
    }
    for (int i = 0; i < desc->noutputs; i++) {
        o_in[desc->ninputs + i] = off;
        off += round256((size_t)desc->output_bytes[i]);
    }
    o_ws = off;
    cp->ws_bytes = ngemm ? LT_MAX_WORKSPACE : 0;
    off += cp->ws_bytes;
    sn_cu_result mr = sn_cu.MemAlloc(&cp->mem, off ? off : 256);
    if (mr != SN_CUDA_SUCCESS) {
        free(o_in);
        st = sn_fail(err, errlen, SN_ERR_NOMEM,
                     "cuMemAlloc(&cp->mem, %zu) failed: %s (arena %lld bytes)", off,
                     sn_cu_error_name(mr), (long long)desc->arena_bytes);
        goto fail;
    }
    cp->arena = cp->mem + o_arena;
    cp->ws = cp->mem + o_ws;
    for (int i = 0; i < desc->ninputs; i++)
        cp->in[i] = cp->mem + o_in[i];
    for (int i = 0; i < desc->noutputs; i++)
        cp->out[i] = cp->mem + o_in[desc->ninputs + i];
    free(o_in);
    /* runtime.h: plan memory starts zeroed. */
    SN_CU_CHECK(MemsetD8Async, (cp->mem, 0, off ? off : 256, cd->stream));
    SN_CU_CHECK(StreamSynchronize, (cd->stream));

    /* Modules: each distinct image used by a kernel step, once. */
    for (int i = 0; i < desc->nimages; i++) {
        ihash[i] = XXH3_64bits(desc->images[i], desc->image_sizes[i]);
        owner[i] = -1;
    }
    for (int si = 0; si < desc->nsteps; si++) {
        const sn_rt_step *s = &desc->steps[si];
        if (s->kind != SN_RT_STEP_KERNEL || owner[s->module] >= 0)
            continue;
        int m = s->module;
        for (int o = 0; o < desc->nimages && owner[m] < 0; o++)
            if (o != m && owner[o] == o && ihash[o] == ihash[m] &&
                desc->image_sizes[o] == desc->image_sizes[m] &&
                memcmp(desc->images[o], desc->images[m], desc->image_sizes[m]) == 0)
                owner[m] = o;
        if (owner[m] >= 0)
            continue;
        sn_cu_result r = sn_cu.ModuleLoadData(&cp->mods[m], desc->images[m]);
        if (r != SN_CUDA_SUCCESS) {
            st = sn_fail(err, errlen, SN_ERR_DEVICE,
                         "cuModuleLoadData(&mod, image %d) failed: %s (kernel %s, %zu bytes; "
                         "compiled for another GPU?)",
                         m, sn_cu_error_name(r), s->entry, desc->image_sizes[m]);
            goto fail;
        }
        owner[m] = m;
    }

    /* The launch list. */
    char *nq = cp->names;
    for (int si = 0; si < desc->nsteps; si++) {
        const sn_rt_step *s = &desc->steps[si];
        cu_step *cs = &cp->steps[si];
        cs->kind = s->kind;
        cs->nargs = s->nargs;
        for (int a = 0; a < s->nargs; a++) {
            cs->vals[a] = resolve(cp, s->args[a]);
            cs->params[a] = &cs->vals[a];
        }
        if (s->kind == SN_RT_STEP_GEMM) {
            pthread_mutex_lock(&cd->mu);
            if (!cd->lt)
                st = sn_lt_open(&cd->lt, err, errlen);
            pthread_mutex_unlock(&cd->mu);
            if (st != SN_OK)
                goto fail;
            sn_cu_ptr ptrs[4] = {cs->vals[0], cs->vals[1], cs->vals[2],
                                 s->gemm.bias ? cs->vals[3] : 0};
            st = sn_lt_gemm_new(cd->lt, &s->gemm, ptrs, cp->ws_bytes, &cs->gemm, serr, sizeof serr);
            if (st != SN_OK) {
                st =
                    sn_fail(err, errlen, st, "plan step %d: gemm %lldx%lldx%lld: %s", si,
                            (long long)s->gemm.m, (long long)s->gemm.n, (long long)s->gemm.k, serr);
                goto fail;
            }
            continue;
        }
        /* SN_RT_STEP_KERNEL */
        size_t nl = strlen(s->entry);
        memcpy(nq, s->entry, nl + 1);
        cs->entry = nq;
        nq += nl + 1;
        for (int d = 0; d < 3; d++) {
            cs->grid[d] = s->grid[d] ? s->grid[d] : 1;
            cs->block[d] = s->block[d] ? s->block[d] : 1;
        }
        cs->smem = s->smem;
        sn_cu_module mod = cp->mods[owner[s->module]];
        sn_cu_result r = sn_cu.ModuleGetFunction(&cs->fn, mod, s->entry);
        if (r != SN_CUDA_SUCCESS) {
            st = sn_fail(err, errlen, SN_ERR_DEVICE,
                         "cuModuleGetFunction(&fn, mod, \"%s\") failed: %s (plan step %d, "
                         "image %d)",
                         s->entry, sn_cu_error_name(r), si, (int)s->module);
            goto fail;
        }
        /* Querying an attribute also loads the function now (CUDA's lazy loading would
         * otherwise load it during capture). */
        int maxthreads = 0, static_smem = 0;
        SN_CU_CHECK(FuncGetAttribute,
                    (&maxthreads, SN_CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, cs->fn));
        SN_CU_CHECK(FuncGetAttribute,
                    (&static_smem, SN_CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, cs->fn));
        uint64_t threads = (uint64_t)cs->block[0] * cs->block[1] * cs->block[2];
        if (threads > (uint64_t)maxthreads) {
            st = sn_fail(err, errlen, SN_ERR_INVALID,
                         "plan step %d (%s): block %ux%ux%u = %llu threads, the kernel allows "
                         "%d (registers)",
                         si, s->entry, cs->block[0], cs->block[1], cs->block[2],
                         (unsigned long long)threads, maxthreads);
            goto fail;
        }
        if ((int64_t)cs->smem + static_smem > cd->smem_optin) {
            st = sn_fail(err, errlen, SN_ERR_INVALID,
                         "plan step %d (%s): %u bytes of dynamic + %d of static shared memory, "
                         "the device allows %d per block",
                         si, s->entry, cs->smem, static_smem, cd->smem_optin);
            goto fail;
        }
        if (cs->smem > 48 * 1024)
            SN_CU_CHECK(
                FuncSetAttribute,
                (cs->fn, SN_CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int)cs->smem));
    }

    /* Capture the whole plan once. */
    SN_CU_CHECK(StreamBeginCapture, (cd->stream, SN_CU_STREAM_CAPTURE_MODE_RELAXED));
    capturing = 1;
    st = record_steps(p, err, errlen);
    capturing = 0;
    sn_cu_graph g = NULL;
    sn_cu_result er = sn_cu.StreamEndCapture(cd->stream, &g);
    if (st != SN_OK) {
        if (g)
            sn_cu.GraphDestroy(g);
        goto fail;
    }
    if (er != SN_CUDA_SUCCESS) {
        st = sn_cu_fail(er, "cuStreamEndCapture(cd->stream, &g)", err, errlen);
        goto fail;
    }
    cp->graph = g;
    SN_CU_CHECK(GraphInstantiateWithFlags, (&cp->exec, cp->graph, 0));
    SN_CU_CHECK(EventCreate, (&cp->ev0, SN_CU_EVENT_DEFAULT));
    SN_CU_CHECK(EventCreate, (&cp->ev1, SN_CU_EVENT_DEFAULT));
    free(ihash);
    free(owner);
    return SN_OK;
fail:
    if (capturing) {
        sn_cu_graph g2 = NULL;
        sn_cu.StreamEndCapture(cd->stream, &g2);
        if (g2)
            sn_cu.GraphDestroy(g2);
    }
    free(ihash);
    free(owner);
    cu_plan_free(p);
    return st;
}

static sn_status cu_set_inputs(sn_rt_plan *p, const void *const *inputs, char *err, size_t errlen) {
    sn_status st = SN_OK;
    cu_plan *cp = p->impl;
    cu_device *cd = p->dev->impl;
    SN_CU_CHECK(CtxSetCurrent, (cd->ctx));
    for (int i = 0; i < p->ninputs; i++)
        if (p->input_bytes[i])
            SN_CU_CHECK(MemcpyHtoDAsync,
                        (cp->in[i], inputs[i], (size_t)p->input_bytes[i], cd->stream));
    /* The caller may reuse its buffers as soon as this returns. */
    SN_CU_CHECK(StreamSynchronize, (cd->stream));
fail:
    return st;
}

static sn_status cu_execute(sn_rt_plan *p, char *err, size_t errlen) {
    sn_status st = SN_OK;
    cu_plan *cp = p->impl;
    cu_device *cd = p->dev->impl;
    SN_CU_CHECK(CtxSetCurrent, (cd->ctx));
    SN_CU_CHECK(GraphLaunch, (cp->exec, cd->stream));
    SN_CU_CHECK(StreamSynchronize, (cd->stream));
fail:
    return st;
}

static sn_status cu_get_outputs(sn_rt_plan *p, void *const *outputs, char *err, size_t errlen) {
    sn_status st = SN_OK;
    cu_plan *cp = p->impl;
    cu_device *cd = p->dev->impl;
    SN_CU_CHECK(CtxSetCurrent, (cd->ctx));
    for (int i = 0; i < p->noutputs; i++)
        if (p->output_bytes[i])
            SN_CU_CHECK(MemcpyDtoHAsync,
                        (outputs[i], cp->out[i], (size_t)p->output_bytes[i], cd->stream));
    SN_CU_CHECK(StreamSynchronize, (cd->stream));
fail:
    return st;
}

static sn_status cu_mem_alloc(sn_rt_device *d, int64_t bytes, uint64_t *mem, char *err,
                              size_t errlen) {
    sn_status st = SN_OK;
    cu_device *cd = d->impl;
    sn_cu_ptr q = 0;
    size_t n = bytes > 0 ? (size_t)bytes : 256;
    SN_CU_CHECK(CtxSetCurrent, (cd->ctx));
    SN_CU_CHECK(MemAlloc, (&q, n));
    *mem = q;
    SN_CU_CHECK(MemsetD8Async, (q, 0, n, cd->stream));
    SN_CU_CHECK(StreamSynchronize, (cd->stream));
fail:
    if (st != SN_OK && q) {
        sn_cu.MemFree(q);
        *mem = 0;
    }
    return st;
}

static void cu_mem_free(sn_rt_device *d, uint64_t mem) {
    cu_device *cd = d->impl;
    if (!mem)
        return;
    sn_cu.CtxSetCurrent(cd->ctx);
    sn_cu.StreamSynchronize(cd->stream); /* nothing may still read it */
    sn_cu.MemFree((sn_cu_ptr)mem);
}

static sn_status cu_mem_copy(sn_rt_device *d, int write, uint64_t mem, int64_t offset, void *host,
                             int64_t bytes, char *err, size_t errlen) {
    sn_status st = SN_OK;
    cu_device *cd = d->impl;
    sn_cu_ptr q = (sn_cu_ptr)mem + (sn_cu_ptr)offset;
    SN_CU_CHECK(CtxSetCurrent, (cd->ctx));
    if (write)
        SN_CU_CHECK(MemcpyHtoDAsync, (q, host, (size_t)bytes, cd->stream));
    else
        SN_CU_CHECK(MemcpyDtoHAsync, (host, q, (size_t)bytes, cd->stream));
    SN_CU_CHECK(StreamSynchronize, (cd->stream));
fail:
    return st;
}

static sn_status cu_time(sn_rt_plan *p, int iters, double *seconds, char *err, size_t errlen) {
    sn_status st = SN_OK;
    cu_plan *cp = p->impl;
    cu_device *cd = p->dev->impl;
    float ms = 0;
    SN_CU_CHECK(CtxSetCurrent, (cd->ctx));
    SN_CU_CHECK(EventRecord, (cp->ev0, cd->stream));
    for (int i = 0; i < iters; i++)
        SN_CU_CHECK(GraphLaunch, (cp->exec, cd->stream));
    SN_CU_CHECK(EventRecord, (cp->ev1, cd->stream));
    SN_CU_CHECK(EventSynchronize, (cp->ev1));
    SN_CU_CHECK(EventElapsedTime, (&ms, cp->ev0, cp->ev1));
    *seconds = (double)ms * 1e-3 / iters;
fail:
    return st;
}

static void cu_close(sn_rt_device *d) {
    cu_device *cd = d->impl;
    if (!cd)
        return;
    if (cd->ctx) {
        sn_cu.CtxSetCurrent(cd->ctx);
        if (cd->lt)
            sn_lt_close(cd->lt);
        if (cd->stream)
            sn_cu.StreamDestroy(cd->stream);
        sn_cu.DevicePrimaryCtxRelease(cd->dev);
    }
    pthread_mutex_destroy(&cd->mu);
    free(cd);
}

static sn_status cu_image_check(sn_rt_device *d, const void *image, size_t len, const char *entry,
                                char *err, size_t errlen) {
    cu_device *cd = d->impl;
    sn_status st = SN_OK;
    sn_cu_module mod = NULL;
    sn_cu_function fn = NULL;
    /* PTX must be NUL-terminated text (runtime.h: sn_rt_nvrtc_compile); a CUBIN is an ELF. */
    const unsigned char *b = image;
    if (len < 4 || (memcmp(b,
                           "\x7f"
                           "ELF",
                           4) != 0 &&
                    b[len - 1] != 0))
        return sn_fail(err, errlen, SN_ERR_DEVICE,
                       "kernel image of %zu bytes is neither a CUBIN nor NUL-terminated PTX", len);
    SN_CU_CHECK(CtxSetCurrent, (cd->ctx));
    SN_CU_CHECK(ModuleLoadData, (&mod, image));
    SN_CU_CHECK(ModuleGetFunction, (&fn, mod, entry));
    int maxthreads = 0; /* loads the function now, as plan_new does (CUDA's lazy loading) */
    SN_CU_CHECK(FuncGetAttribute, (&maxthreads, SN_CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, fn));
fail:
    if (mod)
        sn_cu.ModuleUnload(mod);
    return st;
}

static const sn_rt_backend cuda_backend = {
    .name = "cuda",
    .close = cu_close,
    .plan_new = cu_plan_new,
    .plan_free = cu_plan_free,
    .set_inputs = cu_set_inputs,
    .execute = cu_execute,
    .get_outputs = cu_get_outputs,
    .mem_alloc = cu_mem_alloc,
    .mem_free = cu_mem_free,
    .mem_copy = cu_mem_copy,
    .time = cu_time,
    .image_check = cu_image_check,
};

sn_status sn_rt_cuda_open(int ordinal, sn_rt_device *d, char *err, size_t errlen) {
    sn_status st = sn_cu_load(err, errlen);
    if (st != SN_OK)
        return st;
    cu_device *cd = calloc(1, sizeof *cd);
    if (!cd)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "cuda device: out of memory");
    pthread_mutex_init(&cd->mu, NULL);
    cd->ordinal = ordinal;
    int count = 0, major = 0, minor = 0;
    char name[200] = "";
    SN_CU_CHECK(Init, (0));
    SN_CU_CHECK(DeviceGetCount, (&count));
    if (ordinal >= count) {
        st = sn_fail(err, errlen, SN_ERR_DEVICE, "cuda:%d: the machine has %d CUDA device%s",
                     ordinal, count, count == 1 ? "" : "s");
        goto fail;
    }
    SN_CU_CHECK(DeviceGet, (&cd->dev, ordinal));
    SN_CU_CHECK(DeviceGetName, (name, (int)sizeof name, cd->dev));
    SN_CU_CHECK(DeviceGetAttribute,
                (&major, SN_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, cd->dev));
    SN_CU_CHECK(DeviceGetAttribute,
                (&minor, SN_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, cd->dev));
    SN_CU_CHECK(
        DeviceGetAttribute,
        (&cd->smem_optin, SN_CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, cd->dev));
    SN_CU_CHECK(DevicePrimaryCtxRetain, (&cd->ctx, cd->dev));
    SN_CU_CHECK(CtxSetCurrent, (cd->ctx));
    SN_CU_CHECK(StreamCreate, (&cd->stream, SN_CU_STREAM_NON_BLOCKING));
    d->be = &cuda_backend;
    d->kind = SN_RT_CUDA;
    d->sm = major * 10 + minor;
    d->impl = cd;
    snprintf(d->name, sizeof d->name, "cuda:%d %s (sm_%d)", ordinal, name, d->sm);
    return SN_OK;
fail:
    d->impl = NULL;
    if (cd->ctx) {
        if (cd->stream)
            sn_cu.StreamDestroy(cd->stream);
        sn_cu.DevicePrimaryCtxRelease(cd->dev);
    }
    pthread_mutex_destroy(&cd->mu);
    free(cd);
    return st;
}
