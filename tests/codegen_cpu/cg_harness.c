/* tests/codegen_cpu/cg_harness.c — see cg_harness.h. */
#include "tests/codegen_cpu/cg_harness.h"

#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

int cgt_failures;

/* ---------------------------------------------------------------- data */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

float cgt_rand(float lo, float hi) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    uint64_t r = rng * 2685821657736338717ull;
    double u = (double)(r >> 11) / 9007199254740992.0;
    return (float)(lo + (hi - lo) * u);
}

void cgt_fill(float *p, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; i++)
        p[i] = cgt_rand(lo, hi);
}

sn_shape cgt_shape(int nd, const int64_t *d) {
    sn_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = nd;
    for (int i = 0; i < nd; i++)
        s.d[i] = d[i];
    return s;
}

void cgt_random_params(sn_ir_graph *g) {
    for (int32_t i = 0; i < g->nnodes; i++) {
        sn_ir_node *n = &g->nodes[i];
        if (n->op != SN_OP_PARAM || n->data)
            continue;
        float *d = sn_ir_node_data(g, i);
        int64_t ne = sn_shape_numel(&n->shape);
        switch ((sn_ir_init)n->ia[0]) {
        case SN_IR_INIT_CONV_WEIGHT: {
            int64_t fan = ne / n->shape.d[0];
            float b = 1.7f / sqrtf((float)fan);
            cgt_fill(d, ne, -b, b);
            break;
        }
        case SN_IR_INIT_BN_WEIGHT:
            cgt_fill(d, ne, 0.5f, 1.5f);
            break;
        case SN_IR_INIT_BN_VAR:
            cgt_fill(d, ne, 0.5f, 2.0f);
            break;
        case SN_IR_INIT_ARANGE:
            for (int64_t k = 0; k < ne; k++)
                d[k] = (float)k;
            break;
        default:
            cgt_fill(d, ne, -0.5f, 0.5f);
            break;
        }
    }
}

int32_t cgt_add_node(sn_ir_graph *g, sn_op op, const int32_t *in, int nin, const int64_t *ia,
                     int nia, const double *fa, int nfa) {
    char err[256] = "";
    int32_t n = sn_ir_add(g, op, in, nin, ia, nia, fa, nfa, NULL, SN_DTYPE_F32, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "sn_ir_add(%s): %s\n", sn_ir_op_info[op].name, err);
        exit(2);
    }
    return n;
}

int32_t cgt_input(sn_ir_graph *g, sn_shape s) {
    static int k;
    char name[32];
    snprintf(name, sizeof name, "x%d", k++);
    return sn_ir_input(g, name, &s);
}

int32_t cgt_param(sn_ir_graph *g, sn_shape s, sn_ir_init init) {
    static int k;
    char name[32];
    snprintf(name, sizeof name, "p%d", k++);
    return sn_ir_param(g, name, &s, init);
}

int32_t cgt_un(sn_ir_graph *g, sn_op op, int32_t x) {
    return cgt_add_node(g, op, &x, 1, NULL, 0, NULL, 0);
}

int32_t cgt_bin(sn_ir_graph *g, sn_op op, int32_t a, int32_t b) {
    int32_t in[2] = {a, b};
    return cgt_add_node(g, op, in, 2, NULL, 0, NULL, 0);
}

int32_t cgt_bn(sn_ir_graph *g, int32_t x, int32_t *p) {
    sn_shape c = cgt_shape(1, &g->nodes[x].shape.d[1]);
    int32_t in[5] = {x, cgt_param(g, c, SN_IR_INIT_BN_WEIGHT), cgt_param(g, c, SN_IR_INIT_BN_BIAS),
                     cgt_param(g, c, SN_IR_INIT_BN_MEAN), cgt_param(g, c, SN_IR_INIT_BN_VAR)};
    if (p)
        memcpy(p, in + 1, 4 * sizeof *p);
    double eps = 1e-3;
    return cgt_add_node(g, SN_OP_BATCHNORM, in, 5, NULL, 0, &eps, 1);
}

/* ---------------------------------------------------------------- the hand planner */

static int is_leaf_op(sn_op op) {
    return op == SN_OP_PARAM || op == SN_OP_CONST || op == SN_OP_ANCHORS;
}

void cgt_plan(sn_ir_graph *g, int nhwc) {
    free(g->bufs);
    g->bufs = calloc((size_t)g->nnodes + 1, sizeof *g->bufs);
    g->nbufs = 0;
    int64_t arena = 0;
    for (int32_t i = 0; i < g->nnodes; i++) {
        sn_ir_node *n = &g->nodes[i];
        if (n->flags & SN_IR_NODE_DEAD)
            continue;
        sn_ir_buf *b = &g->bufs[g->nbufs];
        b->dtype = SN_DTYPE_F32;
        b->elems = sn_shape_numel(&n->shape);
        n->offset = 0;
        /* contiguous strides */
        int64_t st = 1;
        for (int k = n->shape.ndim - 1; k >= 0; k--) {
            n->stride[k] = st;
            st *= n->shape.d[k];
        }
        int out = -1;
        for (int k = 0; k < g->noutputs; k++)
            if (g->outputs[k] == i)
                out = k;
        if (n->op == SN_OP_INPUT) {
            b->kind = SN_IR_BUF_INPUT;
            for (int k = 0; k < g->ninputs; k++)
                if (g->inputs[k] == i)
                    b->index = k;
        } else if (is_leaf_op(n->op)) {
            b->kind = SN_IR_BUF_CONST;
            b->index = i;
        } else {
            if (n->group < 0)
                n->group = i;
            if (out >= 0) {
                b->kind = SN_IR_BUF_OUTPUT;
                b->index = out;
            } else {
                b->kind = SN_IR_BUF_ARENA;
                b->arena_offset = arena;
                arena += (b->elems * 4 + 63) / 64 * 64;
                if (nhwc && n->shape.ndim == 4) {
                    int64_t C = n->shape.d[1], H = n->shape.d[2], W = n->shape.d[3];
                    n->stride[0] = C * H * W;
                    n->stride[1] = 1;
                    n->stride[2] = W * C;
                    n->stride[3] = C;
                }
            }
        }
        n->buf = g->nbufs++;
    }
    g->arena_bytes = arena;
}

/* ---------------------------------------------------------------- JIT */

/* One LLJIT per distinct object: kernel names are unique within a program only, so two
 * programs may define one name differently. Loaded objects are cached by spec. */
typedef struct loaded {
    char *spec;
    LLVMOrcLLJITRef jit;
    void *addr;
} loaded;
static loaded *lds;
static int nlds, caplds;

static int jit_err(LLVMErrorRef e, const char *what) {
    if (!e)
        return 0;
    char *m = LLVMGetErrorMessage(e);
    fprintf(stderr, "jit: %s: %s\n", what, m);
    LLVMDisposeErrorMessage(m);
    return 1;
}

void cgt_jit_reset(void) {
    for (int i = 0; i < nlds; i++) {
        jit_err(LLVMOrcDisposeLLJIT(lds[i].jit), "dispose");
        free(lds[i].spec);
    }
    nlds = 0;
}

void *cgt_jit_find(const char *spec) {
    for (int i = 0; i < nlds; i++)
        if (strcmp(lds[i].spec, spec) == 0)
            return lds[i].addr;
    return NULL;
}

void *cgt_jit_load(const void *obj, size_t len, const char *name, const char *spec) {
    void *have = cgt_jit_find(spec);
    if (have)
        return have;
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    LLVMOrcLLJITRef jit = NULL;
    if (jit_err(LLVMOrcCreateLLJIT(&jit, NULL), "create"))
        return NULL;
    LLVMOrcDefinitionGeneratorRef gen = NULL;
    if (jit_err(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
                    &gen, LLVMOrcLLJITGetGlobalPrefix(jit), NULL, NULL),
                "process symbols"))
        return NULL;
    LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(jit), gen);
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(obj, len, name);
    if (jit_err(LLVMOrcLLJITAddObjectFile(jit, LLVMOrcLLJITGetMainJITDylib(jit), buf), "add"))
        return NULL;
    LLVMOrcExecutorAddress addr = 0;
    if (jit_err(LLVMOrcLLJITLookup(jit, &addr, name), name))
        return NULL;
    if (nlds == caplds) {
        caplds = caplds ? caplds * 2 : 64;
        lds = realloc(lds, (size_t)caplds * sizeof *lds);
    }
    lds[nlds].spec = strdup(spec);
    lds[nlds].jit = jit;
    lds[nlds].addr = (void *)(uintptr_t)addr;
    return lds[nlds++].addr;
}

const sn_cg_target *cgt_target(void) {
    static sn_cg_target t;
    static int have;
    if (!have) {
        char err[256] = "";
        if (sn_cg_target_host_cpu(&t, err, sizeof err) != SN_OK) {
            fprintf(stderr, "host target: %s\n", err);
            exit(1);
        }
        have = 1;
    }
    return &t;
}

/* ---------------------------------------------------------------- running */

typedef void (*kfn)(void **args, int64_t begin, int64_t end);

/* SN_CGT_BISECT=1: the ref value of every group root (a clone of g with all roots marked as
 * outputs), compared after each kernel, so the first kernel that goes wrong is named. */
typedef struct bisect {
    int n;
    int32_t *root; /* per kernel (launch order) */
    float **val;   /* ref values, logical order */
} bisect;

static void bisect_prepare(const sn_ir_graph *g, float **in, bisect *b) {
    memset(b, 0, sizeof *b);
    sn_ir_graph *gc = sn_ir_graph_clone(g);
    int32_t maxg = -1;
    for (int32_t i = 0; i < g->nnodes; i++)
        if (!(g->nodes[i].flags & SN_IR_NODE_DEAD) && g->nodes[i].group > maxg)
            maxg = g->nodes[i].group;
    int32_t *first = malloc(sizeof(int32_t) * (size_t)(maxg + 2));
    int32_t *last = malloc(sizeof(int32_t) * (size_t)(maxg + 2));
    for (int32_t k = 0; k <= maxg; k++)
        first[k] = last[k] = -1;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if ((n->flags & SN_IR_NODE_DEAD) || n->group < 0)
            continue;
        if (first[n->group] < 0)
            first[n->group] = i;
        last[n->group] = i;
    }
    b->root = malloc(sizeof(int32_t) * (size_t)(maxg + 2));
    for (int32_t i = 0; i < g->nnodes; i++)
        for (int32_t k = 0; k <= maxg; k++)
            if (first[k] == i)
                b->root[b->n++] = last[k];
    int nout0 = gc->noutputs;
    for (int k = 0; k < b->n; k++)
        sn_ir_mark_output(gc, b->root[k]);
    float **outs = calloc((size_t)gc->noutputs + 1, sizeof *outs);
    for (int k = 0; k < gc->noutputs; k++)
        outs[k] = malloc((size_t)sn_shape_numel(&gc->nodes[gc->outputs[k]].shape) * 4);
    char err[256];
    if (sn_ir_ref_run(gc, (const float *const *)in, outs, err, sizeof err)) {
        fprintf(stderr, "bisect: ref: %s\n", err);
        b->n = 0;
    }
    b->val = calloc((size_t)b->n + 1, sizeof *b->val);
    for (int k = 0; k < b->n; k++)
        b->val[k] = outs[nout0 + k];
    for (int k = 0; k < nout0; k++)
        free(outs[k]);
    free(outs);
    free(first);
    free(last);
    sn_ir_graph_free(gc);
}

static void bisect_check(const sn_ir_graph *g, const bisect *b, int k, const char *kname,
                         float *arena, float **out) {
    if (k >= b->n)
        return;
    const sn_ir_node *n = &g->nodes[b->root[k]];
    const sn_ir_buf *bf = &g->bufs[n->buf];
    const float *base = bf->kind == SN_IR_BUF_OUTPUT
                            ? out[bf->index]
                            : (const float *)((const char *)arena + bf->arena_offset);
    int64_t ne = sn_shape_numel(&n->shape);
    double num = 0, den = 0, worst = 0;
    for (int64_t e = 0; e < ne; e++) {
        int64_t r = e, off = n->offset;
        for (int d = n->shape.ndim - 1; d >= 0; d--) {
            off += (r % n->shape.d[d]) * n->stride[d];
            r /= n->shape.d[d];
        }
        double got = base[off], want = b->val[k][e], diff = got - want;
        if (isnan(got))
            diff = INFINITY;
        num += diff * diff;
        den += want * want;
        if (fabs(diff) > worst)
            worst = fabs(diff);
    }
    double rel = den > 0 ? sqrt(num / den) : sqrt(num);
    if (rel > 1e-6 || getenv("SN_CGT_BISECT_ALL"))
        fprintf(stderr, "  bisect: kernel %d %s (node %%%d): rel L2 %.3g, max abs %.3g\n", k, kname,
                b->root[k], rel, worst);
}

static void bisect_free(bisect *b) {
    for (int k = 0; k < b->n; k++)
        free(b->val[k]);
    free(b->val);
    free(b->root);
}

static double rel_l2(const float *got, const float *ref, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)got[i] - (double)ref[i];
        if (isnan(got[i]) || isinf(got[i]))
            return INFINITY;
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    if (getenv("SN_CGT_WORST")) {
        int64_t wi = 0;
        double wd = -1;
        for (int64_t i = 0; i < n; i++)
            if (fabs((double)got[i] - ref[i]) > wd) {
                wd = fabs((double)got[i] - ref[i]);
                wi = i;
            }
        fprintf(stderr, "  worst element %lld of %lld: got %.9g want %.9g\n", (long long)wi,
                (long long)n, got[wi], ref[wi]);
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static const char *fclass(float v) { return isnan(v) ? "NaN" : isinf(v) ? "Inf" : "finite"; }

/* By class: each element ref gives as NaN, +Inf or -Inf must be the same (a sign of Inf
 * included), the finite ones by relative L2 over them. Counts ref's non-finite elements into
 * *nf. */
static double class_l2(const float *got, const float *ref, int64_t n, const char *what, int out,
                       int64_t *nf) {
    double num = 0, den = 0;
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < n; i++) {
        int same = isnan(ref[i])   ? isnan(got[i])
                   : isinf(ref[i]) ? got[i] == ref[i]
                                   : isfinite(got[i]);
        if (!isfinite(ref[i]))
            (*nf)++;
        if (!same) {
            if (first < 0)
                first = i;
            bad++;
            continue;
        }
        if (isfinite(ref[i])) {
            double d = (double)got[i] - (double)ref[i];
            num += d * d;
            den += (double)ref[i] * ref[i];
        }
    }
    if (bad) {
        fprintf(stderr,
                "%s: output %d: %lld of %lld elements differ in class from ref, first %lld: got %g "
                "(%s) want %g (%s)\n",
                what, out, (long long)bad, (long long)n, (long long)first, got[first],
                fclass(got[first]), ref[first], fclass(ref[first]));
        return INFINITY;
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static double run_compare(sn_ir_graph *g, const sn_ir_graph *refg, const char *what, int splits,
                          double tol, cgt_edit_fn edit, int64_t *nonfinite);

double cgt_run_compare(sn_ir_graph *g, const char *what, int splits, double tol) {
    return run_compare(g, g, what, splits, tol, NULL, NULL);
}

double cgt_run_compare_ref(sn_ir_graph *g, const sn_ir_graph *refg, const char *what, int splits,
                           double tol) {
    return run_compare(g, refg, what, splits, tol, NULL, NULL);
}

double cgt_run_compare_nonfinite(sn_ir_graph *g, const sn_ir_graph *refg, const char *what,
                                 int splits, double tol, cgt_edit_fn edit, int64_t *nonfinite) {
    int64_t nf = 0;
    double r = run_compare(g, refg, what, splits, tol, edit, &nf);
    if (nonfinite)
        *nonfinite = nf;
    return r;
}

/* nonfinite: NULL for the plain comparison (any NaN/Inf fails), else compare by class and
 * count ref's non-finite elements there. */
static double run_compare(sn_ir_graph *g, const sn_ir_graph *refg, const char *what, int splits,
                          double tol, cgt_edit_fn edit, int64_t *nonfinite) {
    char err[1024] = "";
    sn_cg_program *p = NULL;
    sn_status st = sn_cg_lower(g, cgt_target(), &p, err, sizeof err);
    if (st) {
        fprintf(stderr, "%s: lower: %s: %s\n", what, sn_status_str(st), err);
        cgt_failures++;
        return INFINITY;
    }
    float **in = calloc((size_t)p->ninputs + 1, sizeof *in);
    float **out = calloc((size_t)p->noutputs + 1, sizeof *out);
    float **ref = calloc((size_t)p->noutputs + 1, sizeof *ref);
    for (int i = 0; i < p->ninputs; i++) {
        in[i] = malloc((size_t)p->input_bytes[i]);
        cgt_fill(in[i], p->input_bytes[i] / 4, -1.0f, 1.0f);
        if (edit)
            edit(i, in[i], p->input_bytes[i] / 4);
    }
    for (int i = 0; i < p->noutputs; i++) {
        out[i] = malloc((size_t)p->output_bytes[i]);
        ref[i] = malloc((size_t)p->output_bytes[i]);
        for (int64_t k = 0; k < p->output_bytes[i] / 4; k++)
            out[i][k] = NAN;
    }
    size_t ab = (size_t)((p->arena_bytes + 63) / 64 * 64 + 64);
    float *arena = aligned_alloc(64, ab);
    for (size_t k = 0; k < ab / 4; k++)
        arena[k] = NAN;
    double worst = 0;
    bisect bis = {0};
    if (getenv("SN_CGT_BISECT"))
        bisect_prepare(g, in, &bis);
    for (int si = 0; si < p->nsteps && worst < INFINITY; si++) {
        const sn_cg_step *ps = &p->steps[si];
        int ki = ps->kernel;
        kfn fn = ps->host; /* a host step: a function of Sinter's own */
        const sn_cg_arg *kargs = ps->args;
        int nargs = ps->nargs;
        int64_t T = ps->tasks;
        const char *kname = ps->name;
        if (ps->kind == SN_RT_STEP_KERNEL) {
            sn_cg_kernel *k = &p->kernels[ki];
            void *addr = cgt_jit_find(k->spec);
            if (!addr) {
                void *obj = NULL;
                size_t len = 0;
                st = sn_cg_cpu_compile(k, cgt_target(), 0, &obj, &len, err, sizeof err);
                if (st) {
                    fprintf(stderr, "%s: compile %s: %s\n", what, k->name, err);
                    worst = INFINITY;
                    break;
                }
                addr = cgt_jit_load(obj, len, k->name, k->spec);
                free(obj);
            }
            memcpy(&fn, &addr, sizeof fn); /* object → function pointer (POSIX guarantees it) */
            if (!addr) {
                worst = INFINITY;
                break;
            }
            kargs = k->args;
            nargs = k->nargs;
            T = k->tasks;
            kname = k->name;
        } else if (ps->kind != SN_RT_STEP_HOST) {
            fprintf(stderr, "%s: step %d (%s): a library step the harness does not run\n", what, si,
                    ps->name);
            worst = INFINITY;
            break;
        }
        void *args[SN_CG_MAX_ARGS];
        for (int a = 0; a < nargs; a++) {
            const sn_cg_arg *ar = &kargs[a];
            char *base = NULL;
            switch (ar->kind) {
            case SN_CG_ARG_ARENA:
                base = (char *)arena;
                break;
            case SN_CG_ARG_WEIGHTS:
                base = (char *)p->weights;
                break;
            case SN_CG_ARG_INPUT:
                base = (char *)in[ar->index];
                break;
            case SN_CG_ARG_OUTPUT:
                base = (char *)out[ar->index];
                break;
            }
            args[a] = base + ar->offset;
        }
        /* uneven split of [0, tasks) */
        int64_t at = 0;
        for (int s = 0; s < splits && at < T; s++) {
            int64_t len_s = s == splits - 1 ? T - at : (T - at) / (splits - s) + (s & 1);
            if (len_s <= 0)
                continue;
            if (at + len_s > T)
                len_s = T - at;
            fn(args, at, at + len_s);
            at += len_s;
        }
        if (at < T)
            fn(args, at, T);
        if (bis.n && ps->kind == SN_RT_STEP_KERNEL)
            bisect_check(g, &bis, ki, kname, arena, out);
        (void)kname;
    }
    if (bis.n)
        for (int ki = 0; ki < p->nkernels; ki++)
            if (g->bufs[g->nodes[bis.root[ki]].buf].kind == SN_IR_BUF_OUTPUT) {
                fprintf(stderr, "  after the run:");
                bisect_check(g, &bis, ki, p->kernels[ki].name, arena, out);
            }
    bisect_free(&bis);
    if (worst < INFINITY) {
        st = sn_ir_ref_run(refg, (const float *const *)in, ref, err, sizeof err);
        if (st) {
            fprintf(stderr, "%s: ref: %s\n", what, err);
            worst = INFINITY;
        } else {
            for (int i = 0; i < p->noutputs; i++) {
                int64_t n = p->output_bytes[i] / 4;
                double e = nonfinite ? class_l2(out[i], ref[i], n, what, i, nonfinite)
                                     : rel_l2(out[i], ref[i], n);
                if (e > worst)
                    worst = e;
            }
        }
    }
    if (!(worst <= tol)) {
        fprintf(stderr, "%s: FAIL rel L2 %.3g (tol %.1g), %d kernels:", what, worst, tol,
                p->nkernels);
        for (int ki = 0; ki < p->nkernels; ki++)
            fprintf(stderr, " %s", p->kernels[ki].name);
        fprintf(stderr, "\n");
        cgt_failures++;
    } else {
        printf("ok   %-44s rel L2 %.2e  (%d kernels: %s%s)\n", what, worst, p->nkernels,
               p->nkernels ? p->kernels[0].name : "", p->nkernels > 1 ? ", …" : "");
    }
    for (int i = 0; i < p->ninputs; i++)
        free(in[i]);
    for (int i = 0; i < p->noutputs; i++) {
        free(out[i]);
        free(ref[i]);
    }
    free(in);
    free(out);
    free(ref);
    free(arena);
    sn_cg_program_free(p);
    return worst;
}

int cgt_report(const char *name) {
    cgt_jit_reset();
    if (cgt_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, cgt_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}
