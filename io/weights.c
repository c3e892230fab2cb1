/* frontend/weights.c — binding weights to a graph's PARAMs: from safetensors, at random, and
 * back to safetensors.
 *
 * Loading checks the whole file against the graph first (a sorted merge of PARAM names and
 * tensor names) and only then binds, so a mismatched file changes nothing and its error lists
 * everything that is wrong, not the first thing.
 *
 * Random weights, in two steps:
 * 1. Draw. Each PARAM gets its own splitmix64 stream seeded from (seed, FNV-1a of its name);
 *    floats are made from the top 24 bits of each draw with one rounding:
 *      conv weight  U(-a, a), a = sqrt(3 / fan_in) (Var = 1 / fan_in), fan_in = numel / dim 0
 *      conv bias    U(-0.1, 0.1)
 *      BN weight    U(1.6, 2.4) before an activation, else U(0.8, 1.2)
 *                                    BN bias  U(-0.1, 0.1)
 *      BN mean      U(-0.1, 0.1)     BN var   U(0.5, 1.5)     (both rescaled in step 2)
 *      ARANGE       0, 1, 2, …       (the DFL's fixed projection)
 * 2. Calibrate (see calibrate()): per-channel statistics are propagated from an input image
 *    uniform in [0, 1), and each BN's running stats are set to its input's estimated
 *    statistics (jittered by the drawn values), as training would have left them; convs
 *    without a BN after them are scaled to unit output spread. Every BN output is then about
 *    N(bias, (2 +- 0.4)^2 / U(0.5, 1.5)). A BN scale around 2 rather than 1 keeps SiLU out of
 *    the range where it amplifies scale errors (d log rms(silu) / d log scale is about 1.12 at
 *    unit scale, about 1.02 at 3), so the estimates' small errors do not compound with depth:
 *    measured with the ref evaluator at 320 and 640 on v8/11/v5u n…x, every BN output stays
 *    within 0.7-1.2x of its design scale and the outputs are finite and spread (class
 *    sigmoids about 0.5 +- 0.2, boxes of every size).
 * Only IEEE-exact double operations (+ - * / sqrt, no FMA contraction, no libm
 * transcendental) are used, so the same seed gives the same bits on every IEEE-754 platform;
 * and no rule depends on the spatial size, so a model built at 320 and at 640 gets the same
 * weights.
 */
#include "io/io_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WEIGHTS_MAX_LISTED 20

/* ---------------------------------------------------------------- loading */

typedef struct param_ref {
    const char *name;
    int32_t node;
} param_ref;

static int cmp_param(const void *a, const void *b) {
    return strcmp(((const param_ref *)a)->name, ((const param_ref *)b)->name);
}

static int ignored_name(const char *s) {
    static const char suffix[] = "num_batches_tracked";
    size_t n = strlen(s), k = sizeof suffix - 1;
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Collects the live PARAMs sorted by name. Returns NULL (and *n = -1) on out-of-memory. */
static param_ref *collect_params(const sn_ir_graph *g, int *n) {
    int cnt = 0;
    for (int32_t i = 0; i < g->nnodes; i++)
        cnt += g->nodes[i].op == SN_OP_PARAM && !(g->nodes[i].flags & SN_IR_NODE_DEAD);
    param_ref *p = malloc((size_t)(cnt ? cnt : 1) * sizeof *p);
    if (!p) {
        *n = -1;
        return NULL;
    }
    int k = 0;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *nd = &g->nodes[i];
        if (nd->op != SN_OP_PARAM || (nd->flags & SN_IR_NODE_DEAD))
            continue;
        p[k].name = sn_ir_str_get(g, nd->name);
        p[k].node = i;
        k++;
    }
    if (k > 1)
        qsort(p, (size_t)k, sizeof *p, cmp_param);
    *n = k;
    return p;
}

/* The error text, built line by line into err; lines past WEIGHTS_MAX_LISTED are counted. */
typedef struct report {
    char *err;
    size_t errlen, used;
    int listed, unlisted;
} report;

static void rep_line(report *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void rep_line(report *r, const char *fmt, ...) {
    if (r->listed >= WEIGHTS_MAX_LISTED) {
        r->unlisted++;
        return;
    }
    r->listed++;
    if (!r->err || r->used + 1 >= r->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(r->err + r->used, r->errlen - r->used, fmt, ap);
    va_end(ap);
    if (k > 0)
        r->used += (size_t)k < r->errlen - r->used ? (size_t)k : r->errlen - r->used - 1;
}

/* Compares names as people read them: digit runs by value, so "model.2.x" < "model.10.x". */
static int natural_cmp(const char *a, const char *b) {
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            const char *ea = a, *eb = b;
            while (*a == '0')
                a++;
            while (*b == '0')
                b++;
            const char *da = a, *db = b;
            while (*a >= '0' && *a <= '9')
                a++;
            while (*b >= '0' && *b <= '9')
                b++;
            if (a - da != b - db)
                return a - da < b - db ? -1 : 1; /* more digits: larger */
            int c = strncmp(da, db, (size_t)(a - da));
            if (c)
                return c;
            if (a - ea != b - eb)
                return a - ea < b - eb ? -1 : 1; /* "02" after "2" */
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return *a ? 1 : *b ? -1 : 0;
}

/* One line of the mismatch report: kind 0 mis-shaped, 1 missing, 2 extra. */
typedef struct problem {
    int kind;
    const char *name;
    const sn_shape *model, *file;
} problem;

static int cmp_problem(const void *x, const void *y) {
    const problem *a = x, *b = y;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return natural_cmp(a->name, b->name);
}

/* Writes the mismatch error: a summary line (so even a short buffer says how much is wrong),
 * a hint when most of the model is unmatched, then up to WEIGHTS_MAX_LISTED problems —
 * mis-shaped first (the most telling), then missing, then extra, each in natural name order —
 * and a count of the rest. */
static void report_mismatch(const sn_ir_graph *g, const char *path, const param_ref *pr, int np,
                            const sn_io_index *ix, const char *used, const sn_io_entry *const *bind,
                            int missing, int extra, int misshaped, int ignored, char *err,
                            size_t errlen) {
    report r = {err, errlen, 0, 0, 0};
    if (err && errlen) {
        int k = snprintf(err, errlen,
                         "%s: the weights do not fit the model: %d missing, %d extra, %d "
                         "mis-shaped (the model has %d parameter tensors, the file %d)",
                         path, missing, extra, misshaped, np, ix->n - ignored);
        r.used = k < 0 ? 0 : (size_t)k < errlen ? (size_t)k : errlen - 1;
    }
    if (missing + misshaped > np / 2 && np > 0) {
        rep_line(&r, "\n  (are these the weights of another model or scale?)");
        r.listed = 0;
    }
    int total = missing + extra + misshaped, n = 0;
    problem *pb = malloc((size_t)(total ? total : 1) * sizeof *pb);
    if (!pb)
        return; /* the summary line is there */
    for (int i = 0, j = 0; i < np; i++) {
        while (j < ix->n && strcmp(ix->e[j].name, pr[i].name) < 0)
            j++;
        int match = j < ix->n && used[j] && strcmp(ix->e[j].name, pr[i].name) == 0;
        if (match && bind[i])
            continue;
        if (n < total)
            pb[n++] = (problem){match ? 0 : 1, pr[i].name, &g->nodes[pr[i].node].shape,
                                match ? &ix->e[j].shape : NULL};
    }
    for (int j = 0; j < ix->n; j++) {
        if (used[j] || ix->e[j].skip || ignored_name(ix->e[j].name))
            continue;
        if (n < total)
            pb[n++] = (problem){2, ix->e[j].name, NULL, &ix->e[j].shape};
    }
    qsort(pb, (size_t)n, sizeof *pb, cmp_problem);
    char a[160], b[160], nb[SN_SHOWN_NAME];
    for (int k = 0; k < n; k++) {
        sn_escape(pb[k].name, nb, sizeof nb);
        if (pb[k].model)
            sn_shape_str(pb[k].model, a, sizeof a);
        if (pb[k].file)
            sn_shape_str(pb[k].file, b, sizeof b);
        if (pb[k].kind == 0)
            rep_line(&r, "\n  mis-shaped %s: model %s, file %s", nb, a, b);
        else if (pb[k].kind == 1)
            rep_line(&r, "\n  missing    %s %s", nb, a);
        else
            rep_line(&r, "\n  extra      %s %s", nb, b);
    }
    if (r.unlisted) {
        int more = r.unlisted;
        r.listed = 0;
        rep_line(&r, "\n  ... and %d more", more);
    }
    free(pb);
}

sn_status sn_io_weights_load(sn_ir_graph *g, const char *path, char *err, size_t errlen) {
    char shown[SN_SHOWN], nb[SN_SHOWN_NAME];
    sn_escape(path, shown, sizeof shown);
    char *buf;
    size_t len;
    sn_status s = sn_read_file(path, &buf, &len, err, errlen);
    if (s != SN_OK)
        return s;
    sn_io_index ix;
    /* .pt checkpoints (torch.save output, pt.c) become the same index as a safetensors file */
    if (sn_io_pt_sniff(buf, len))
        s = sn_io_pt_index(buf, len, path, &ix, err, errlen);
    else
        s = sn_io_st_index(buf, len, path, &ix, err, errlen);
    if (s != SN_OK) {
        free(buf);
        return s;
    }
    int np;
    param_ref *pr = collect_params(g, &np);
    char *used = calloc((size_t)(ix.n ? ix.n : 1), 1);
    const sn_io_entry **bind = calloc((size_t)(np > 0 ? np : 1), sizeof *bind);
    if (!pr || !used || !bind) {
        sn_errf(err, errlen, "%s: out of memory", shown);
        s = SN_ERR_NOMEM;
        goto done;
    }
    /* Match: both lists are sorted by name, names in the index are unique. Duplicate PARAM
     * names (a verifier violation) would simply bind the same tensor twice. */
    int missing = 0, extra = 0, misshaped = 0, ignored = 0;
    for (int i = 0, j = 0; i < np; i++) {
        while (j < ix.n && strcmp(ix.e[j].name, pr[i].name) < 0)
            j++;
        int jj = j; /* stays on a match so a duplicate PARAM name finds it again */
        if (jj < ix.n && strcmp(ix.e[jj].name, pr[i].name) == 0 && !ix.e[jj].skip) {
            used[jj] = 1;
            if (sn_shape_eq(&ix.e[jj].shape, &g->nodes[pr[i].node].shape))
                bind[i] = &ix.e[jj];
            else
                misshaped++;
        } else {
            missing++;
        }
    }
    for (int j = 0; j < ix.n; j++) {
        if (used[j])
            continue;
        if (ix.e[j].skip || ignored_name(ix.e[j].name))
            ignored++;
        else
            extra++;
    }
    if (missing || extra || misshaped) {
        report_mismatch(g, shown, pr, np, &ix, used, bind, missing, extra, misshaped, ignored, err,
                        errlen);
        s = SN_ERR_INVALID;
        goto done;
    }
    for (int i = 0; i < np; i++) {
        const sn_io_entry *e = bind[i];
        float *d = sn_ir_node_data(g, pr[i].node);
        if (!d) {
            sn_errf(err, errlen, "%s: out of memory binding '%s'", shown,
                    sn_escape(pr[i].name, nb, sizeof nb));
            s = SN_ERR_NOMEM;
            goto done;
        }
        sn_io_le_to_f32(e->dtype, e->data, d, e->numel);
    }
    s = SN_OK;
done:
    free(bind);
    free(used);
    free(pr);
    sn_io_index_free(&ix);
    free(buf);
    return s;
}

/* ---------------------------------------------------------------- random weights */

/* Bit-identical results need every double operation rounded on its own: no a*b+c fused into
 * an FMA (GCC in ISO C mode does not contract; clang honours this pragma). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t fnv1a64(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* U(lo, hi) from the top 24 bits: u = k / 2^24 exactly, then one rounding to float. */
static float uniform(uint64_t *st, double lo, double hi) {
    double u = (double)(splitmix64(st) >> 40) * (1.0 / 16777216.0);
    double span = hi - lo;
    double t = span * u;
    return (float)(lo + t);
}

/* exp(x) in plain IEEE arithmetic (libm's exp may differ in the last bit between platforms,
 * and these values end up in the weights): Cody–Waite reduction, degree-13 Taylor, exact
 * scaling. Relative error < 1e-15 on [-700, 700]. */
static double det_exp(double x) {
    if (x > 700)
        x = 700;
    if (x < -700)
        x = -700;
    double n = floor(x * 1.4426950408889634 + 0.5);
    double r = x - n * 0.693147180369123816490; /* ln2 high part: n * hi is exact */
    r = r - n * 1.90821492927058770002e-10;     /* ln2 low part */
    double p = 1.0 / 6227020800.0;              /* 1/13! */
    static const double inv_fact[13] = {1.0 / 479001600.0,
                                        1.0 / 39916800.0,
                                        1.0 / 3628800.0,
                                        1.0 / 362880.0,
                                        1.0 / 40320.0,
                                        1.0 / 5040.0,
                                        1.0 / 720.0,
                                        1.0 / 120.0,
                                        1.0 / 24.0,
                                        1.0 / 6.0,
                                        0.5,
                                        1.0,
                                        1.0};
    for (int k = 0; k < 13; k++) {
        double pr = p * r;
        p = pr + inv_fact[k];
    }
    return ldexp(p, (int)n);
}

/* Per-channel statistics of a tensor's values (channel = dim 1; one "channel" for rank < 2):
 * mean and variance over the other dims. `prob` marks softmax rows (seen through reshape and
 * permute), so a matmul with them is a weighted average rather than a sum. */
typedef struct chstats {
    int64_t c;
    double *m, *v;
    int prob;
} chstats;

static int64_t channels_of(const sn_ir_node *n) { return n->shape.ndim >= 2 ? n->shape.d[1] : 1; }

static int chs_alloc(chstats *s, int64_t c) {
    s->c = c > 0 ? c : 1;
    s->m = calloc((size_t)s->c, sizeof *s->m);
    s->v = calloc((size_t)s->c, sizeof *s->v);
    s->prob = 0;
    return s->m && s->v;
}

static void chs_free(chstats *s) {
    free(s->m);
    free(s->v);
    s->m = s->v = NULL;
}

static int chs_uniform(chstats *s, int64_t c, double m, double v) {
    if (!chs_alloc(s, c))
        return 0;
    for (int64_t k = 0; k < s->c; k++)
        s->m[k] = m, s->v[k] = v;
    return 1;
}

/* Tensor-wide mean and variance (channels weighted equally). */
static void chs_collapse(const chstats *s, double *m, double *v) {
    double sm = 0, sq = 0;
    for (int64_t k = 0; k < s->c; k++) {
        sm += s->m[k];
        sq += s->v[k] + s->m[k] * s->m[k];
    }
    *m = sm / (double)s->c;
    *v = sq / (double)s->c - *m * *m;
    if (*v < 0)
        *v = 0;
}

/* s's channel k when broadcast to `c` channels, or its tensor-wide value if counts differ. */
static void chs_at(const chstats *s, int64_t c, int64_t k, double *m, double *v) {
    if (s->c == c) {
        *m = s->m[k];
        *v = s->v[k];
    } else {
        chs_collapse(s, m, v);
    }
}

static void data_stats(const float *d, int64_t n, double *m, double *v) {
    *m = 0;
    *v = 1;
    if (!d || n <= 0)
        return;
    double s = 0, q = 0;
    for (int64_t k = 0; k < n; k++) {
        s += d[k];
        q += (double)d[k] * d[k];
    }
    *m = s / (double)n;
    *v = q / (double)n - *m * *m;
    if (*v < 0)
        *v = 0;
}

/* Mean and variance of f(X) for X ~ N(m, v): trapezoid over +-7 sd, step 0.1 (spectrally
 * accurate for these smooth integrands). */
static void unary_stats(sn_op op, double m, double v, double *om, double *ov) {
    static double w[141];
    static int ready;
    if (!ready) { /* the Gaussian weights, computed once (det_exp: same bits everywhere) */
        for (int k = 0; k < 141; k++)
            w[k] = det_exp(-0.5 * ((k - 70) * 0.1) * ((k - 70) * 0.1));
        ready = 1;
    }
    double sd = sqrt(v > 0 ? v : 0), e1 = 0, e2 = 0, ws = 0;
    for (int k = 0; k < 141; k++) {
        double t = m + sd * ((k - 70) * 0.1), f;
        switch (op) {
        case SN_OP_SILU:
            f = t / (1.0 + det_exp(-t));
            break;
        case SN_OP_SIGMOID:
            f = 1.0 / (1.0 + det_exp(-t));
            break;
        case SN_OP_RELU:
            f = t > 0 ? t : 0;
            break;
        case SN_OP_NEG:
            f = -t;
            break;
        case SN_OP_EXP:
            f = det_exp(t < 30 ? t : 30);
            break;
        case SN_OP_SQRT:
            f = sqrt(fabs(t));
            break;
        case SN_OP_RECIP:
            f = 1.0 / (fabs(t) > 1e-3 ? t : 1e-3);
            break;
        default:
            f = t;
            break;
        }
        e1 += w[k] * f;
        e2 += w[k] * f * f;
        ws += w[k];
    }
    *om = e1 / ws;
    *ov = e2 / ws - *om * *om;
    if (*ov < 0)
        *ov = 0;
}

static int is_param_init(const sn_ir_graph *g, int32_t k, int init) {
    const sn_ir_node *n = &g->nodes[k];
    return n->op == SN_OP_PARAM && n->nia > 0 && n->ia[0] == init && n->data;
}

/* Data-free calibration. Static random weights cannot keep activations at unit scale through
 * 20-60 Conv-BN-SiLU layers with residual sums and concats: the second moment changes by a
 * factor per layer that depends on the scale itself (SiLU keeps 25 % of it near 0 and 50 %
 * far out), so it either decays to the bias floor or explodes, and each channel carries a
 * random offset (the weights' sum times the input's mean). A trained network avoids this
 * because each BN's running statistics match its actual input. This pass does the same
 * without data: it propagates per-channel mean and variance estimates through the graph in
 * order, from an input image uniform in [0, 1), and at each BatchNorm sets
 *     running_mean[c] = m[c] + u[c] * sd[c]      (u[c] the drawn U(-0.1, 0.1) value)
 *     running_var[c]  = var[c] * r[c]            (r[c] the drawn U(0.5, 1.5) value)
 * so every BN output is about N(bias, weight^2 / r): unit scale everywhere, SiLU in its
 * non-linear range, the input's signal intact. The weights of convs not followed by a BN (the
 * detect head's last 1x1s) are scaled so their outputs have standard deviation HEAD_STD.
 * Conv statistics are exact for the mean (ignoring zero padding) and unbiased over random
 * weights for the variance; ops that mix channels otherwise (reshape, matmul) fall back to
 * tensor-wide values. Every rule is independent of the spatial size wherever it can reach a
 * BN, so a model built at 320 and at 640 gets the same weights. */
#define HEAD_STD 1.0

/* Mean and variance of the max of n = side^2 independent standard normals, side = 1 … 32:
 * the moments of the density n phi(z) Phi(z)^(n-1), integrated numerically (step 1e-4 over
 * [-10, 12]). */
static const double max_of_normals[32][2] = {
    {0.000000, 1.000000}, {1.029375, 0.491715}, {1.485013, 0.357353}, {1.765991, 0.295010},
    {1.965315, 0.258511}, {2.118123, 0.234246}, {2.241190, 0.216774}, {2.343733, 0.203486},
    {2.431331, 0.192974}, {2.507594, 0.184405}, {2.574989, 0.177254}, {2.635271, 0.171173},
    {2.689730, 0.165923}, {2.739339, 0.161331}, {2.784852, 0.157272}, {2.826863, 0.153650},
    {2.865847, 0.150392}, {2.902191, 0.147441}, {2.936213, 0.144752}, {2.968178, 0.142288},
    {2.998310, 0.140019}, {3.026796, 0.137921}, {3.053800, 0.135972}, {3.079462, 0.134157},
    {3.103901, 0.132460}, {3.127224, 0.130868}, {3.149523, 0.129372}, {3.170881, 0.127961},
    {3.191371, 0.126629}, {3.211056, 0.125367}, {3.229995, 0.124171}, {3.248240, 0.123033},
};

static void calibrate(sn_ir_graph *g) {
    int32_t nn = g->nnodes;
    chstats *st = calloc((size_t)(nn ? nn : 1), sizeof *st);
    int32_t *pool_base = malloc((size_t)(nn ? nn : 1) * sizeof *pool_base);
    int64_t *pool_side = calloc((size_t)(nn ? nn : 1), sizeof *pool_side);
    char *feeds_bn = calloc((size_t)(nn ? nn : 1), 1);
    if (!st || !pool_base || !pool_side || !feeds_bn)
        goto done;
    for (int32_t i = 0; i < nn; i++)
        pool_base[i] = -1;
    for (int32_t i = 0; i < nn; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->op == SN_OP_BATCHNORM && !(n->flags & SN_IR_NODE_DEAD) && n->nin > 0)
            feeds_bn[n->in[0]] = 1;
    }
    for (int32_t i = 0; i < nn; i++) {
        sn_ir_node *n = &g->nodes[i];
        if (n->flags & SN_IR_NODE_DEAD)
            continue;
        int64_t oc = channels_of(n);
        chstats *r = &st[i];
        const chstats *a = n->nin > 0 ? &st[n->in[0]] : NULL,
                      *b = n->nin > 1 ? &st[n->in[1]] : NULL;
        double am = 0, av = 1, bm = 0, bv = 1;
        int ok = 1;
        switch (n->op) {
        case SN_OP_INPUT: /* an image scaled to [0, 1) */
            ok = chs_uniform(r, oc, 0.5, 1.0 / 12.0);
            break;
        case SN_OP_PARAM:
        case SN_OP_CONST:
            if (n->data)
                data_stats(n->data, sn_shape_numel(&n->shape), &am, &av);
            else if (n->op == SN_OP_CONST)
                am = n->fa[0], av = 0;
            ok = chs_uniform(r, 1, am, av);
            break;
        case SN_OP_CONV2D: {
            sn_ir_node *w = &g->nodes[n->in[1]];
            if (!w->data || w->shape.ndim != 4 || n->nia < 7 || n->ia[6] < 1) {
                ok = chs_uniform(r, oc, 0, 1);
                break;
            }
            int64_t o = w->shape.d[0], cg = w->shape.d[1], kk = w->shape.d[2] * w->shape.d[3];
            int64_t groups = n->ia[6], og = o / groups, cin = cg * groups;
            if (!(ok = chs_alloc(r, o)))
                break;
            for (int64_t oi = 0; oi < o; oi++) {
                double sm = 0, sv = 0;
                const float *wr = w->data + oi * cg * kk;
                for (int64_t ci = 0; ci < cg; ci++) {
                    double xm, xv, ws = 0, wq = 0;
                    chs_at(a, cin, (oi / og) * cg + ci, &xm, &xv);
                    for (int64_t t = 0; t < kk; t++) {
                        ws += wr[ci * kk + t];
                        wq += (double)wr[ci * kk + t] * wr[ci * kk + t];
                    }
                    sm += ws * xm;
                    sv += wq * xv;
                }
                r->m[oi] = sm;
                r->v[oi] = sv;
            }
            if (!feeds_bn[i] && is_param_init(g, n->in[1], SN_IR_INIT_CONV_WEIGHT)) {
                /* a head conv: scale its weights so the output spread is HEAD_STD */
                double cm, cv;
                chs_collapse(r, &cm, &cv);
                double tot = cv + cm * cm;
                if (tot > 1e-20) {
                    double s = HEAD_STD / sqrt(tot);
                    int64_t wn = sn_shape_numel(&w->shape);
                    for (int64_t k = 0; k < wn; k++)
                        w->data[k] = (float)(w->data[k] * s);
                    for (int64_t oi = 0; oi < o; oi++)
                        r->m[oi] *= s, r->v[oi] *= s * s;
                }
            }
            if (n->nin > 2) {
                const sn_ir_node *bn = &g->nodes[n->in[2]];
                for (int64_t oi = 0; oi < o; oi++)
                    if (bn->data && sn_shape_numel(&bn->shape) == o)
                        r->m[oi] += bn->data[oi];
            }
            break;
        }
        case SN_OP_BATCHNORM: {
            int32_t wi = n->in[1], bi = n->in[2], mi = n->in[3], vi = n->in[4];
            float *mean = g->nodes[mi].data, *var = g->nodes[vi].data;
            const float *gw = g->nodes[wi].data, *gb = g->nodes[bi].data;
            int sized = mean && var && gw && gb;
            for (int k = 1; k < 5 && sized; k++)
                sized = sn_shape_numel(&g->nodes[n->in[k]].shape) == oc;
            if (!sized || !(ok = chs_alloc(r, oc))) {
                if (ok)
                    ok = chs_uniform(r, oc, 0, 1);
                break;
            }
            int set =
                is_param_init(g, mi, SN_IR_INIT_BN_MEAN) && is_param_init(g, vi, SN_IR_INIT_BN_VAR);
            double eps = n->fa[0];
            for (int64_t k = 0; k < oc; k++) {
                double xm, xv;
                chs_at(a, oc, k, &xm, &xv);
                if (set) { /* (a floor keeps running_var > 0 for a constant input) */
                    double fv = xv > 1e-6 ? xv : 1e-6;
                    mean[k] = (float)(xm + (double)mean[k] * sqrt(fv));
                    var[k] = (float)(fv * (double)var[k]);
                }
                double inv = 1.0 / sqrt((double)var[k] + eps);
                r->m[k] = (double)gw[k] * (xm - (double)mean[k]) * inv + (double)gb[k];
                r->v[k] = (double)gw[k] * gw[k] * xv * inv * inv;
            }
            break;
        }
        case SN_OP_SILU:
        case SN_OP_SIGMOID:
        case SN_OP_RELU:
        case SN_OP_NEG:
        case SN_OP_EXP:
        case SN_OP_SQRT:
        case SN_OP_RECIP:
            if (!(ok = chs_alloc(r, oc)))
                break;
            for (int64_t k = 0; k < oc; k++) {
                chs_at(a, oc, k, &am, &av);
                unary_stats(n->op, am, av, &r->m[k], &r->v[k]);
            }
            break;
        case SN_OP_ADD:
        case SN_OP_SUB:
        case SN_OP_MUL:
        case SN_OP_DIV:
        case SN_OP_POW:
        case SN_OP_MAX2:
            if (!(ok = chs_alloc(r, oc)))
                break;
            for (int64_t k = 0; k < oc; k++) {
                chs_at(a, oc, k, &am, &av);
                chs_at(b, oc, k, &bm, &bv);
                double m, v;
                if (n->op == SN_OP_ADD || n->op == SN_OP_SUB) {
                    m = n->op == SN_OP_ADD ? am + bm : am - bm;
                    v = av + bv;
                } else if (n->op == SN_OP_MUL) {
                    m = am * bm;
                    v = (av + am * am) * (bv + bm * bm) - m * m;
                } else if (n->op == SN_OP_DIV) {
                    double d = fabs(bm) > 1e-6 ? bm : 1e-6;
                    m = am / d;
                    v = av / (d * d);
                } else {
                    m = am;
                    v = av;
                }
                r->m[k] = m;
                r->v[k] = v > 0 ? v : 0;
            }
            break;
        case SN_OP_CONCAT: {
            int64_t ax = n->nia > 0 ? n->ia[0] : 1;
            if (ax == 1 && n->shape.ndim >= 2) {
                if (!(ok = chs_alloc(r, oc)))
                    break;
                int64_t at = 0;
                for (int k = 0; k < n->nin && ok; k++) {
                    const sn_ir_node *x = &g->nodes[n->in[k]];
                    int64_t xc = channels_of(x);
                    for (int64_t c = 0; c < xc && at < oc; c++, at++)
                        chs_at(&st[n->in[k]], xc, c, &r->m[at], &r->v[at]);
                }
            } else { /* along another axis: each channel is a numel-weighted mix */
                double tot = 0, sm = 0, sq = 0;
                for (int k = 0; k < n->nin; k++) {
                    double wgt = (double)sn_shape_numel(&g->nodes[n->in[k]].shape), m, v;
                    chs_collapse(&st[n->in[k]], &m, &v);
                    sm += wgt * m;
                    sq += wgt * (v + m * m);
                    tot += wgt;
                }
                double m = tot > 0 ? sm / tot : 0, v = tot > 0 ? sq / tot - m * m : 1;
                ok = chs_uniform(r, oc, m, v > 0 ? v : 0);
            }
            break;
        }
        case SN_OP_SLICE: {
            if (!(ok = chs_alloc(r, oc)))
                break;
            int64_t ax = n->ia[0], start = n->ia[1], step = n->ia[3] > 0 ? n->ia[3] : 1;
            int64_t ic = channels_of(&g->nodes[n->in[0]]);
            for (int64_t k = 0; k < oc; k++) {
                int64_t src = ax == 1 ? start + k * step : k;
                chs_at(a, ic, src < ic ? src : ic - 1, &r->m[k], &r->v[k]);
            }
            break;
        }
        case SN_OP_CAST:
        case SN_OP_UPSAMPLE:
            if (!(ok = chs_alloc(r, oc)))
                break;
            for (int64_t k = 0; k < oc; k++)
                chs_at(a, oc, k, &r->m[k], &r->v[k]);
            break;
        case SN_OP_MAXPOOL2D: {
            /* The max over a side x side window. Its mean is that of the max of side^2
             * independent normals (neighbours nearly are independent under random weights;
             * measured), but its variance over images is larger than theirs — overlapping,
             * correlated windows move together, which a BN sees as per-channel offsets — so
             * it is taken halfway to the input's (measured on yolov8n/yolo11n SPPF). Stride-1
             * pools of pools (SPPF) widen the window of the first pool's input: k then k
             * gives 2k - 1. The max of an activation's output is the activation of the max
             * of its input, so the order statistic is taken on the pre-activation Gaussian
             * where there is one. */
            const sn_ir_node *x = &g->nodes[n->in[0]];
            int64_t k = n->nia > 0 ? n->ia[0] : 1;
            int32_t base = n->in[0];
            int64_t side = k;
            if (x->op == SN_OP_MAXPOOL2D && x->nia > 1 && x->ia[1] == 1 &&
                pool_base[n->in[0]] >= 0) {
                base = pool_base[n->in[0]];
                side = pool_side[n->in[0]] + k - 1;
            }
            pool_base[i] = base;
            pool_side[i] = side;
            int64_t si = side < 1 ? 1 : side > 32 ? 32 : side;
            double e = max_of_normals[si - 1][0], d = max_of_normals[si - 1][1];
            const sn_ir_node *bn = &g->nodes[base];
            int act = (bn->op == SN_OP_SILU || bn->op == SN_OP_RELU || bn->op == SN_OP_SIGMOID) &&
                      st[bn->in[0]].m != NULL;
            const chstats *src = act ? &st[bn->in[0]] : &st[base];
            if (!(ok = chs_alloc(r, oc)))
                break;
            for (int64_t c = 0; c < oc; c++) {
                chs_at(src, oc, c, &am, &av);
                double sd = sqrt(av), mm = am + sd * e, mv = av * 0.5 * (d + 1.0);
                if (act)
                    unary_stats(bn->op, mm, mv, &r->m[c], &r->v[c]);
                else
                    r->m[c] = mm, r->v[c] = mv;
            }
            break;
        }
        case SN_OP_RESHAPE:
        case SN_OP_PERMUTE:
            chs_collapse(a, &am, &av);
            ok = chs_uniform(r, oc, am, av);
            r->prob = a->prob;
            break;
        case SN_OP_SOFTMAX: {
            int64_t ax = n->nia > 0 ? n->ia[0] : n->shape.ndim - 1;
            double k = ax >= 0 && ax < n->shape.ndim ? (double)n->shape.d[ax] : 1.0;
            ok = chs_uniform(r, oc, 1.0 / k, 1.0 / (k * k));
            r->prob = 1;
            break;
        }
        case SN_OP_REDUCE_SUM: {
            int64_t ax = n->nia > 0 ? n->ia[0] : 0;
            const sn_ir_node *x = &g->nodes[n->in[0]];
            double k = ax >= 0 && ax < x->shape.ndim ? (double)x->shape.d[ax] : 1.0;
            chs_collapse(a, &am, &av);
            ok = chs_uniform(r, oc, k * am, k * av);
            break;
        }
        case SN_OP_MATMUL: {
            chs_collapse(a, &am, &av);
            chs_collapse(b, &bm, &bv);
            if (a->prob || b->prob) { /* a weighted average of the other operand's values */
                double m = a->prob ? bm : am, v = a->prob ? bv : av;
                ok = chs_uniform(r, oc, m, 0.25 * v);
            } else {
                const sn_ir_node *x = &g->nodes[n->in[0]];
                double k = x->shape.ndim ? (double)x->shape.d[x->shape.ndim - 1] : 1.0;
                double v = k * ((av + am * am) * (bv + bm * bm) - am * am * bm * bm);
                ok = chs_uniform(r, oc, k * am * bm, v > 0 ? v : 0);
            }
            break;
        }
        default: /* ANCHORS and anything new: values we cannot describe; unit stats */
            ok = chs_uniform(r, oc, 0, 1);
            break;
        }
        if (!ok)
            goto done;                       /* out of memory: the weights stay merely random */
        for (int64_t k = 0; k < r->c; k++) { /* never let one odd value poison the rest */
            if (!(fabs(r->m[k]) < 1e15))
                r->m[k] = 0;
            if (!(r->v[k] >= 0 && r->v[k] < 1e30))
                r->v[k] = 1;
        }
    }
done:
    if (st)
        for (int32_t i = 0; i < nn; i++)
            chs_free(&st[i]);
    free(st);
    free(pool_base);
    free(pool_side);
    free(feeds_bn);
}

/* For each node: 1 when it is the weight of a BatchNorm whose output is used other than by an
 * activation (SiLU, sigmoid, ReLU). BNs before an activation get the gain-2 weights the
 * comment at the top explains; a BN with no activation after it (YOLO11's attention qkv,
 * proj and pe, PSA's second ffn conv) gets gain 1: a gain of 2 there only inflates the
 * attention logits, and softmax turns their f32 rounding into large relative errors in the
 * attention weights. Returns NULL on out-of-memory (every BN then gets gain 2). */
static unsigned char *bn_weight_unactivated(const sn_ir_graph *g) {
    unsigned char *bad = calloc((size_t)g->nnodes + 1, 1);
    unsigned char *act = calloc((size_t)g->nnodes + 1, 1);
    if (!bad || !act) {
        free(bad);
        free(act);
        return NULL;
    }
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->flags & SN_IR_NODE_DEAD)
            continue;
        int is_act = n->op == SN_OP_SILU || n->op == SN_OP_SIGMOID || n->op == SN_OP_RELU;
        for (int k = 0; k < n->nin; k++)
            if (g->nodes[n->in[k]].op == SN_OP_BATCHNORM && !is_act)
                bad[n->in[k]] = 1;
    }
    for (int32_t o = 0; o < g->noutputs; o++)
        bad[g->outputs[o]] = 1;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->op == SN_OP_BATCHNORM && !(n->flags & SN_IR_NODE_DEAD) && n->nin > 1 && bad[i])
            act[n->in[1]] = 1;
    }
    free(bad);
    return act;
}

void sn_io_weights_random(sn_ir_graph *g, uint64_t seed) {
    uint64_t mixed = seed;
    mixed = splitmix64(&mixed);
    unsigned char *unactivated = bn_weight_unactivated(g);
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].op != SN_OP_PARAM || (g->nodes[i].flags & SN_IR_NODE_DEAD))
            continue;
        float *d = sn_ir_node_data(g, i);
        if (!d)
            continue;
        const sn_ir_node *nd = &g->nodes[i];
        int64_t n = sn_shape_numel(&nd->shape);
        int init = nd->nia > 0 ? (int)nd->ia[0] : SN_IR_INIT_CONV_WEIGHT;
        uint64_t st = mixed ^ fnv1a64(sn_ir_str_get(g, nd->name));
        double lo, hi;
        switch (init) {
        case SN_IR_INIT_ARANGE:
            for (int64_t k = 0; k < n; k++)
                d[k] = (float)k;
            continue;
        case SN_IR_INIT_CONV_BIAS:
            lo = -0.1;
            hi = 0.1;
            break;
        case SN_IR_INIT_BN_WEIGHT:
            if (unactivated && unactivated[i]) {
                lo = 0.8;
                hi = 1.2;
            } else {
                lo = 1.6;
                hi = 2.4;
            }
            break;
        case SN_IR_INIT_BN_BIAS:
            lo = -0.1;
            hi = 0.1;
            break;
        case SN_IR_INIT_BN_MEAN:
            lo = -0.1;
            hi = 0.1;
            break;
        case SN_IR_INIT_BN_VAR:
            lo = 0.5;
            hi = 1.5;
            break;
        case SN_IR_INIT_CONV_WEIGHT:
        default: {
            int64_t out = nd->shape.ndim > 0 ? nd->shape.d[0] : 1;
            int64_t fan_in = out > 0 ? n / out : 1;
            if (fan_in < 1)
                fan_in = 1;
            hi = sqrt(3.0 / (double)fan_in); /* Var = 1 / fan_in; sqrt is correctly rounded */
            lo = -hi;
            break;
        }
        }
        for (int64_t k = 0; k < n; k++)
            d[k] = uniform(&st, lo, hi);
    }
    free(unactivated);
    calibrate(g);
}

sn_status sn_io_weights_apply(sn_ir_graph *g, const char *spec, char *err, size_t errlen) {
    if (!spec || !*spec) {
        sn_errf(err, errlen,
                "--weights: empty (give \"random\", \"random:SEED\" or a "
                ".safetensors or .pt path)");
        return SN_ERR_INVALID;
    }
    if (strcmp(spec, "random") == 0) {
        sn_io_weights_random(g, 0);
        return SN_OK;
    }
    if (strncmp(spec, "random:", 7) == 0) {
        const char *p = spec + 7;
        uint64_t v = 0;
        int ok = *p != '\0';
        for (; ok && *p; p++) {
            if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
                ok = 0;
            else
                v = v * 10 + (uint64_t)(*p - '0');
        }
        if (!ok) {
            char shown[SN_SHOWN];
            sn_errf(err, errlen, "--weights %s: the seed must be a decimal integer in [0, 2^64)",
                    sn_escape(spec, shown, sizeof shown));
            return SN_ERR_INVALID;
        }
        sn_io_weights_random(g, v);
        return SN_OK;
    }
    return sn_io_weights_load(g, spec, err, errlen);
}

/* ---------------------------------------------------------------- saving */

sn_status sn_io_weights_save(const sn_ir_graph *g, const char *path, sn_dtype dtype, char *err,
                             size_t errlen) {
    char shown[SN_SHOWN], nb[SN_SHOWN_NAME];
    sn_escape(path, shown, sizeof shown);
    if (dtype != SN_DTYPE_F32 && dtype != SN_DTYPE_F16 && dtype != SN_DTYPE_BF16) {
        sn_errf(err, errlen, "%s: weights are saved as f32, f16 or bf16, not %s", shown,
                sn_dtype_name(dtype));
        return SN_ERR_INVALID;
    }
    int np;
    param_ref *pr = collect_params(g, &np);
    sn_io_tensors ts = {NULL, 0};
    sn_status s = SN_OK;
    if (!pr || !(ts.t = calloc((size_t)(np ? np : 1), sizeof *ts.t))) {
        sn_errf(err, errlen, "%s: out of memory", shown);
        free(pr);
        return SN_ERR_NOMEM;
    }
    /* f32: the tensors borrow the graph's arrays (nothing is copied); else converted copies */
    for (int i = 0; i < np; i++) {
        const sn_ir_node *nd = &g->nodes[pr[i].node];
        if (!nd->data) {
            sn_errf(err, errlen, "%s: parameter '%s' has no data (load or randomise weights first)",
                    shown, sn_escape(pr[i].name, nb, sizeof nb));
            s = SN_ERR_INVALID;
            break;
        }
        sn_io_tensor *t = &ts.t[ts.n];
        t->name = (char *)pr[i].name; /* borrowed; never freed here */
        t->dtype = dtype;
        t->shape = nd->shape;
        if (dtype == SN_DTYPE_F32) {
            t->data = nd->data;
        } else {
            int64_t n = sn_shape_numel(&nd->shape);
            t->data = malloc((size_t)(n ? n : 1) * 2);
            if (!t->data) {
                sn_errf(err, errlen, "%s: out of memory", shown);
                s = SN_ERR_NOMEM;
                break;
            }
            sn_io_from_f32(dtype, nd->data, t->data, n);
        }
        ts.n++;
    }
    if (s == SN_OK)
        s = sn_io_safetensors_write(path, &ts, err, errlen);
    if (dtype != SN_DTYPE_F32)
        for (int i = 0; i < ts.n; i++)
            free(ts.t[i].data);
    free(ts.t);
    free(pr);
    return s;
}
