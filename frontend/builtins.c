/* frontend/builtins.c — the model language's built-in functions and tensor ops.
 *
 * Every built-in's signature is written in the language itself (sn_lang_prelude below, parsed
 * at load time like any file), so binding, defaults and keyword arguments work the same for
 * built-ins and blocks. Each C function receives its arguments bound in signature order.
 *
 * Tensor built-ins map onto IR ops (ir/ir.h); sn_ir_add's shape checks are the source of
 * truth, and its message is reported at the call's location. Sizes are validated here first
 * so that no shape arithmetic can overflow (LANG_MAX_DIM, LANG_MAX_NUMEL).
 */
#include "frontend/lang_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The signatures. `...` = any number of positional arguments, passed as one list. */
const char sn_lang_prelude[] =
    "builtin len(v)\n"
    "builtin min(...)\n"
    "builtin max(...)\n"
    "builtin int(v)\n"
    "builtin float(v)\n"
    "builtin round(v)\n"
    "builtin ceil(v)\n"
    "builtin floor(v)\n"
    "builtin abs(v)\n"
    "builtin gcd(a, b)\n"
    "builtin range(a, b = none, step = 1)\n"
    "builtin make_divisible(x, divisor)\n"
    "builtin assert(cond, message = \"assertion failed\")\n"
    "builtin shape(x)\n"
    "builtin channels(x)\n"
    "builtin conv2d(x, c2, k = 1, s = 1, p = 0, g = 1, d = 1, bias = true, init = \"default\", "
    "frozen = false)\n"
    "builtin batchnorm2d(x, eps = 0.00001)\n"
    "builtin silu(x)\n"
    "builtin sigmoid(x)\n"
    "builtin relu(x)\n"
    "builtin exp(x)\n"
    "builtin sqrt(x)\n"
    "builtin concat(xs, dim = 1)\n"
    "builtin split(x, sizes, dim = 1)\n"
    "builtin chunk(x, n, dim = 1)\n"
    "builtin slice(x, dim, start = 0, end = none, step = 1)\n"
    "builtin reshape(x, dims)\n"
    "builtin transpose(x, dim0, dim1)\n"
    "builtin permute(x, dims)\n"
    "builtin upsample(x, size = none, scale_factor = 2, mode = \"nearest\")\n"
    "builtin maxpool2d(x, k, s = none, p = 0)\n"
    "builtin softmax(x, dim)\n"
    "builtin sum(x, dim)\n"
    "builtin matmul(a, b)\n"
    "builtin make_anchors(feats, offset = 0.5)\n";

/* ---------------------------------------------------------------- helpers */

#define ERR(c, i, ...) sn_lang_eerr((c)->E, (c)->F, (c)->argloc[i], __VA_ARGS__)

int64_t sn_lang_numel(const int64_t *d, int n) {
    int64_t ne = 1;
    for (int i = 0; i < n; i++) {
        if (d[i] < 0 || d[i] > LANG_MAX_NUMEL)
            return -1;
        if (d[i] != 0 && ne > LANG_MAX_NUMEL / d[i])
            return -1;
        ne *= d[i];
    }
    return ne;
}

const sn_shape *sn_lang_shape(Elab *E, int32_t t) { return &E->g->nodes[t].shape; }

static int tensor_arg(CallCtx *c, Value *a, int i, int32_t *t) {
    *t = -1;
    if (a[i].k != VAL_TENSOR)
        return ERR(c, i, "expected a tensor, got %s", sn_lang_type_name(&a[i]));
    *t = a[i].u.t;
    return 0;
}

static int tensor_rank(CallCtx *c, Value *a, int i, int rank, int32_t *t) {
    if (tensor_arg(c, a, i, t))
        return -1;
    const sn_shape *s = sn_lang_shape(c->E, *t);
    if (s->ndim != rank) {
        char buf[96];
        return ERR(c, i, "expected a %d-d tensor, got shape %s", rank,
                   sn_shape_str(s, buf, sizeof buf));
    }
    return 0;
}

static int int_arg(CallCtx *c, Value *a, int i, int64_t lo, int64_t hi, int64_t *v) {
    *v = 0;
    if (a[i].k != VAL_INT)
        return ERR(c, i, "expected an int, got %s", sn_lang_type_name(&a[i]));
    if (a[i].u.i < lo || a[i].u.i > hi)
        return ERR(c, i, "value %lld is out of range [%lld, %lld]", (long long)a[i].u.i,
                   (long long)lo, (long long)hi);
    *v = a[i].u.i;
    return 0;
}

/* An int, or a list of two ints (h, w). */
static int pair_arg(CallCtx *c, Value *a, int i, int64_t lo, int64_t hi, int64_t v[2]) {
    v[0] = v[1] = 0;
    if (a[i].k == VAL_LIST) {
        VList *l = a[i].u.l;
        if (l->n != 2)
            return ERR(c, i, "expected an int or a list of two ints");
        for (int j = 0; j < 2; j++) {
            if (l->v[j].k != VAL_INT)
                return ERR(c, i, "expected a list of two ints");
            if (l->v[j].u.i < lo || l->v[j].u.i > hi)
                return ERR(c, i, "value %lld is out of range [%lld, %lld]", (long long)l->v[j].u.i,
                           (long long)lo, (long long)hi);
            v[j] = l->v[j].u.i;
        }
        return 0;
    }
    if (int_arg(c, a, i, lo, hi, &v[0]))
        return -1;
    v[1] = v[0];
    return 0;
}

static int bool_arg(CallCtx *c, Value *a, int i, bool *v) {
    *v = false;
    if (a[i].k != VAL_BOOL)
        return ERR(c, i, "expected a bool, got %s", sn_lang_type_name(&a[i]));
    *v = a[i].u.b;
    return 0;
}

static int num_arg(CallCtx *c, Value *a, int i, double *v) {
    *v = 0;
    if (a[i].k == VAL_INT)
        *v = (double)a[i].u.i;
    else if (a[i].k == VAL_FLOAT)
        *v = a[i].u.f;
    else
        return ERR(c, i, "expected a number, got %s", sn_lang_type_name(&a[i]));
    return 0;
}

/* Normalises a possibly negative axis against rank. */
static int axis_arg(CallCtx *c, Value *a, int i, int rank, int *axis) {
    *axis = 0;
    int64_t v;
    if (int_arg(c, a, i, -rank, rank - 1, &v))
        return -1;
    *axis = (int)(v < 0 ? v + rank : v);
    return 0;
}

static Value vint(int64_t i) { return (Value){.k = VAL_INT, .u.i = i}; }
static Value vfloat(double f) { return (Value){.k = VAL_FLOAT, .u.f = f}; }
static Value vtensor(int32_t t) { return (Value){.k = VAL_TENSOR, .u.t = t}; }

int32_t sn_lang_node(CallCtx *c, sn_op op, const int32_t *in, int nin, const int64_t *ia, int nia,
                     const double *fa, int nfa, const sn_shape *shape) {
    Elab *E = c->E;
    if (E->g->nnodes >= LANG_MAX_NODES) {
        sn_lang_eerr(E, c->F, c->loc, "the graph is too large (more than %d nodes)",
                     LANG_MAX_NODES);
        E->abort = true;
        return -1;
    }
    char err[256] = "";
    int32_t n =
        sn_ir_add(E->g, op, in, nin, ia, nia, fa, nfa, shape, SN_DTYPE_F32, err, sizeof err);
    if (n < 0) {
        sn_lang_eerr(E, c->F, c->loc, "%s", err[0] ? err : "cannot build this op");
        return -1;
    }
    const sn_shape *s = &E->g->nodes[n].shape;
    if (sn_lang_numel(s->d, s->ndim) < 0) {
        sn_lang_eerr(E, c->F, c->loc, "tensor too large (more than 2^42 elements)");
        return -1;
    }
    if (c->path && c->path[0])
        E->g->nodes[n].name = sn_ir_str(E->g, c->path);
    return n;
}

int32_t sn_lang_param(CallCtx *c, const char *leaf, const sn_shape *shape, sn_ir_init init) {
    Elab *E = c->E;
    const char *name = c->path && c->path[0] ? sn_lang_fmt(E->A, "%s.%s", c->path, leaf) : leaf;
    if (!name) {
        E->abort = true;
        return sn_lang_eerr(E, c->F, c->loc, "out of memory");
    }
    int r = sn_lang_set_add(&E->pnames, E->A, name); /* parameter names must be unique */
    if (r < 0) {
        E->abort = true;
        return sn_lang_eerr(E, c->F, c->loc, "out of memory");
    }
    if (r > 0)
        return sn_lang_eerr(E, c->F, c->loc,
                            "parameter '%s' is defined twice (give each module instance its own "
                            "name with 'as')",
                            name);
    int64_t ia = init;
    const char *save = c->path;
    c->path = NULL;
    int32_t n = sn_lang_node(c, SN_OP_PARAM, NULL, 0, &ia, 1, NULL, 0, shape);
    c->path = save;
    if (n >= 0)
        E->g->nodes[n].name = sn_ir_str(E->g, name);
    return n;
}

/* ---------------------------------------------------------------- scalar built-ins */

static int b_len(CallCtx *c, Value *a, Value *out) {
    if (a[0].k == VAL_LIST)
        *out = vint(a[0].u.l->n);
    else if (a[0].k == VAL_STR)
        *out = vint((int64_t)strlen(a[0].u.s));
    else
        return ERR(c, 0, "len() needs a list or a string, got %s", sn_lang_type_name(&a[0]));
    return 0;
}

static int minmax(CallCtx *c, Value *a, Value *out, bool is_max) {
    VList *l = a[0].u.l;
    if (l->n == 1 && l->v[0].k == VAL_LIST)
        l = l->v[0].u.l;
    if (l->n == 0)
        return sn_lang_eerr(c->E, c->F, c->loc, "%s() of nothing", is_max ? "max" : "min");
    Value best = l->v[0];
    for (int i = 0; i < l->n; i++) {
        const Value *v = &l->v[i];
        if (v->k != VAL_INT && v->k != VAL_FLOAT)
            return sn_lang_eerr(c->E, c->F, c->loc, "%s() needs numbers, got %s",
                                is_max ? "max" : "min", sn_lang_type_name(v));
        double x = v->k == VAL_INT ? (double)v->u.i : v->u.f;
        double y = best.k == VAL_INT ? (double)best.u.i : best.u.f;
        if (v->k == VAL_INT && best.k == VAL_INT) {
            if (is_max ? v->u.i > best.u.i : v->u.i < best.u.i)
                best = *v;
        } else if (is_max ? x > y : x < y) {
            best = *v;
        }
    }
    *out = best;
    return 0;
}
static int b_min(CallCtx *c, Value *a, Value *out) { return minmax(c, a, out, false); }
static int b_max(CallCtx *c, Value *a, Value *out) { return minmax(c, a, out, true); }

static int to_int(CallCtx *c, int i, double x, Value *out) {
    if (!(x > -9.2e18 && x < 9.2e18))
        return ERR(c, i, "cannot convert %g to an int", x);
    *out = vint((int64_t)x);
    return 0;
}

static int b_int(CallCtx *c, Value *a, Value *out) {
    if (a[0].k == VAL_INT)
        return *out = a[0], 0;
    if (a[0].k == VAL_BOOL)
        return *out = vint(a[0].u.b), 0;
    if (a[0].k == VAL_FLOAT)
        return to_int(c, 0, trunc(a[0].u.f), out);
    return ERR(c, 0, "int() needs a number, got %s", sn_lang_type_name(&a[0]));
}

static int b_float(CallCtx *c, Value *a, Value *out) {
    double x;
    if (num_arg(c, a, 0, &x))
        return -1;
    *out = vfloat(x);
    return 0;
}

/* Python's round(): half to even, like rint in the default rounding mode. */
static int b_round(CallCtx *c, Value *a, Value *out) {
    double x;
    if (a[0].k == VAL_INT)
        return *out = a[0], 0;
    if (num_arg(c, a, 0, &x))
        return -1;
    return to_int(c, 0, nearbyint(x), out);
}

static int b_ceil(CallCtx *c, Value *a, Value *out) {
    double x;
    if (a[0].k == VAL_INT)
        return *out = a[0], 0;
    if (num_arg(c, a, 0, &x))
        return -1;
    return to_int(c, 0, ceil(x), out);
}

static int b_floor(CallCtx *c, Value *a, Value *out) {
    double x;
    if (a[0].k == VAL_INT)
        return *out = a[0], 0;
    if (num_arg(c, a, 0, &x))
        return -1;
    return to_int(c, 0, floor(x), out);
}

static int b_abs(CallCtx *c, Value *a, Value *out) {
    if (a[0].k == VAL_INT) {
        if (a[0].u.i == INT64_MIN)
            return ERR(c, 0, "integer overflow");
        *out = vint(a[0].u.i < 0 ? -a[0].u.i : a[0].u.i);
        return 0;
    }
    double x;
    if (num_arg(c, a, 0, &x))
        return -1;
    *out = vfloat(fabs(x));
    return 0;
}

static int b_gcd(CallCtx *c, Value *a, Value *out) {
    int64_t x, y;
    if (int_arg(c, a, 0, -INT64_MAX, INT64_MAX, &x) || int_arg(c, a, 1, -INT64_MAX, INT64_MAX, &y))
        return -1;
    x = x < 0 ? -x : x;
    y = y < 0 ? -y : y;
    while (y) {
        int64_t t = x % y;
        x = y;
        y = t;
    }
    *out = vint(x);
    return 0;
}

static int b_range(CallCtx *c, Value *a, Value *out) {
    int64_t lo = 0, hi, step;
    const int64_t big = (int64_t)1 << 40;
    if (a[1].k == VAL_NONE) {
        if (int_arg(c, a, 0, -big, big, &hi))
            return -1;
    } else if (int_arg(c, a, 0, -big, big, &lo) || int_arg(c, a, 1, -big, big, &hi)) {
        return -1;
    }
    if (int_arg(c, a, 2, -big, big, &step))
        return -1;
    if (step == 0)
        return ERR(c, 2, "range() step must not be zero");
    int64_t n = step > 0 ? (hi > lo ? (hi - lo + step - 1) / step : 0)
                         : (lo > hi ? (lo - hi - step - 1) / -step : 0);
    if (n > LANG_MAX_LIST)
        return sn_lang_eerr(c->E, c->F, c->loc, "range of %lld elements is too long (at most %d)",
                            (long long)n, LANG_MAX_LIST);
    VList *l = sn_lang_list_new(c->E, c->F, c->loc, (int)n);
    if (!l)
        return -1;
    for (int64_t i = 0; i < n; i++)
        l->v[i] = vint(lo + i * step);
    l->depth = 1;
    *out = (Value){.k = VAL_LIST, .u.l = l};
    return 0;
}

/* Ultralytics' make_divisible: ceil(x / divisor) * divisor. */
static int b_make_divisible(CallCtx *c, Value *a, Value *out) {
    double x, d;
    if (num_arg(c, a, 0, &x) || num_arg(c, a, 1, &d))
        return -1;
    if (d == 0)
        return ERR(c, 1, "division by zero");
    return to_int(c, 0, ceil(x / d) * d, out);
}

static int b_assert(CallCtx *c, Value *a, Value *out) {
    bool ok;
    if (bool_arg(c, a, 0, &ok))
        return -1;
    if (a[1].k != VAL_STR)
        return ERR(c, 1, "the message must be a string");
    if (!ok)
        return sn_lang_eerr(c->E, c->F, c->loc, "%s", a[1].u.s);
    *out = (Value){.k = VAL_NONE};
    return 0;
}

static int b_shape(CallCtx *c, Value *a, Value *out) {
    int32_t t;
    if (tensor_arg(c, a, 0, &t))
        return -1;
    const sn_shape *s = sn_lang_shape(c->E, t);
    VList *l = sn_lang_list_new(c->E, c->F, c->loc, s->ndim);
    if (!l)
        return -1;
    for (int i = 0; i < s->ndim; i++)
        l->v[i] = vint(s->d[i]);
    l->depth = 1;
    *out = (Value){.k = VAL_LIST, .u.l = l};
    return 0;
}

static int b_channels(CallCtx *c, Value *a, Value *out) {
    int32_t t;
    if (tensor_arg(c, a, 0, &t))
        return -1;
    const sn_shape *s = sn_lang_shape(c->E, t);
    if (s->ndim < 2)
        return ERR(c, 0, "channels() needs a tensor of rank 2 or more");
    *out = vint(s->d[1]);
    return 0;
}

/* ---------------------------------------------------------------- tensor ops */

/* conv2d(x, c2, k, s, p, g, d, bias, init, frozen): a leaf module with `weight`
 * [c2, C/g, kh, kw] (+ `bias` [c2]). */
static int b_conv2d(CallCtx *c, Value *a, Value *out) {
    int32_t x;
    int64_t c2, k[2], s[2], p[2], g, d[2];
    bool bias, frozen;
    if (tensor_rank(c, a, 0, 4, &x) || int_arg(c, a, 1, 1, LANG_MAX_DIM, &c2) ||
        pair_arg(c, a, 2, 1, 64, k) || pair_arg(c, a, 3, 1, 64, s) || pair_arg(c, a, 4, 0, 64, p) ||
        int_arg(c, a, 5, 1, LANG_MAX_DIM, &g) || pair_arg(c, a, 6, 1, 64, d) ||
        bool_arg(c, a, 7, &bias) || bool_arg(c, a, 9, &frozen))
        return -1;
    sn_ir_init winit = SN_IR_INIT_CONV_WEIGHT;
    if (a[8].k != VAL_STR || (strcmp(a[8].u.s, "default") && strcmp(a[8].u.s, "arange")))
        return ERR(c, 8, "init must be \"default\" or \"arange\"");
    if (strcmp(a[8].u.s, "arange") == 0)
        winit = SN_IR_INIT_ARANGE;
    int64_t c1 = sn_lang_shape(c->E, x)->d[1];
    if (c1 % g)
        return ERR(c, 5, "groups %lld do not divide the %lld input channels", (long long)g,
                   (long long)c1);
    if (c2 % g)
        return ERR(c, 5, "groups %lld do not divide the %lld output channels", (long long)g,
                   (long long)c2);
    sn_shape ws = {4, {c2, c1 / g, k[0], k[1]}};
    int32_t w = sn_lang_param(c, "weight", &ws, winit);
    if (w < 0)
        return -1;
    if (frozen)
        c->E->g->nodes[w].flags |= SN_IR_NODE_FROZEN;
    int32_t in[3] = {x, w, -1};
    int nin = 2;
    if (bias) {
        sn_shape bs = {1, {c2}};
        if ((in[2] = sn_lang_param(c, "bias", &bs, SN_IR_INIT_CONV_BIAS)) < 0)
            return -1;
        nin = 3;
    }
    int64_t ia[7] = {s[0], s[1], p[0], p[1], d[0], d[1], g};
    int32_t n = sn_lang_node(c, SN_OP_CONV2D, in, nin, ia, 7, NULL, 0, NULL);
    if (n < 0)
        return -1;
    *out = vtensor(n);
    return 0;
}

/* batchnorm2d(x, eps): a leaf module with weight, bias, running_mean, running_var [C]. */
static int b_batchnorm2d(CallCtx *c, Value *a, Value *out) {
    int32_t x;
    double eps;
    if (tensor_arg(c, a, 0, &x) || num_arg(c, a, 1, &eps))
        return -1;
    const sn_shape *xs = sn_lang_shape(c->E, x);
    if (xs->ndim < 2)
        return ERR(c, 0, "batchnorm2d needs a tensor with a channel dimension");
    if (!(eps > 0 && eps < 1))
        return ERR(c, 1, "eps must be in (0, 1)");
    sn_shape cs = {1, {xs->d[1]}};
    static const char *const leaf[4] = {"weight", "bias", "running_mean", "running_var"};
    static const sn_ir_init init[4] = {SN_IR_INIT_BN_WEIGHT, SN_IR_INIT_BN_BIAS, SN_IR_INIT_BN_MEAN,
                                       SN_IR_INIT_BN_VAR};
    int32_t in[5] = {x};
    for (int i = 0; i < 4; i++)
        if ((in[i + 1] = sn_lang_param(c, leaf[i], &cs, init[i])) < 0)
            return -1;
    int32_t n = sn_lang_node(c, SN_OP_BATCHNORM, in, 5, NULL, 0, &eps, 1, NULL);
    if (n < 0)
        return -1;
    *out = vtensor(n);
    return 0;
}

static int unary_op(CallCtx *c, Value *a, Value *out, sn_op op) {
    int32_t x;
    if (tensor_arg(c, a, 0, &x))
        return -1;
    int32_t n = sn_lang_node(c, op, &x, 1, NULL, 0, NULL, 0, NULL);
    if (n < 0)
        return -1;
    *out = vtensor(n);
    return 0;
}
static int b_silu(CallCtx *c, Value *a, Value *out) { return unary_op(c, a, out, SN_OP_SILU); }
static int b_sigmoid(CallCtx *c, Value *a, Value *out) {
    return unary_op(c, a, out, SN_OP_SIGMOID);
}
static int b_relu(CallCtx *c, Value *a, Value *out) { return unary_op(c, a, out, SN_OP_RELU); }
static int b_exp(CallCtx *c, Value *a, Value *out) { return unary_op(c, a, out, SN_OP_EXP); }
static int b_sqrt(CallCtx *c, Value *a, Value *out) { return unary_op(c, a, out, SN_OP_SQRT); }

static int b_concat(CallCtx *c, Value *a, Value *out) {
    if (a[0].k == VAL_TENSOR)
        return *out = a[0], 0; /* concat of one tensor */
    if (a[0].k != VAL_LIST)
        return ERR(c, 0, "concat() needs a list of tensors, got %s", sn_lang_type_name(&a[0]));
    VList *l = a[0].u.l;
    if (l->n < 1 || l->n > 64)
        return ERR(c, 0, "concat() needs 1 to 64 tensors, got %d", l->n);
    int32_t in[64];
    for (int i = 0; i < l->n; i++) {
        if (l->v[i].k != VAL_TENSOR)
            return ERR(c, 0, "concat() element %d is %s, not a tensor", i,
                       sn_lang_type_name(&l->v[i]));
        in[i] = l->v[i].u.t;
    }
    int axis;
    if (axis_arg(c, a, 1, sn_lang_shape(c->E, in[0])->ndim, &axis))
        return -1;
    int64_t ia = axis;
    int32_t n = sn_lang_node(c, SN_OP_CONCAT, in, l->n, &ia, 1, NULL, 0, NULL);
    if (n < 0)
        return -1;
    *out = vtensor(n);
    return 0;
}

static int32_t slice_node(CallCtx *c, int32_t x, int axis, int64_t start, int64_t end,
                          int64_t step) {
    int64_t ia[4] = {axis, start, end, step};
    return sn_lang_node(c, SN_OP_SLICE, &x, 1, ia, 4, NULL, 0, NULL);
}

/* Slices x along axis into pieces of the given sizes (in order). */
static int split_sizes(CallCtx *c, int32_t x, int axis, const int64_t *sz, int n, Value *out) {
    VList *l = sn_lang_list_new(c->E, c->F, c->loc, n);
    if (!l)
        return -1;
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        int32_t t = slice_node(c, x, axis, at, at + sz[i], 1);
        if (t < 0)
            return -1;
        l->v[i] = vtensor(t);
        at += sz[i];
    }
    l->depth = 1;
    *out = (Value){.k = VAL_LIST, .u.l = l};
    return 0;
}

/* split(x, sizes, dim): sizes is a list (summing to the dimension) or one chunk size, as
 * torch.split. Returns a list of tensors (SLICE nodes). */
static int b_split(CallCtx *c, Value *a, Value *out) {
    int32_t x;
    int axis;
    if (tensor_arg(c, a, 0, &x))
        return -1;
    const sn_shape *xs = sn_lang_shape(c->E, x);
    if (axis_arg(c, a, 2, xs->ndim, &axis))
        return -1;
    int64_t dim = xs->d[axis], sz[64];
    int n = 0;
    if (a[1].k == VAL_LIST) {
        VList *l = a[1].u.l;
        if (l->n < 1 || l->n > 64)
            return ERR(c, 1, "split() needs 1 to 64 sizes");
        int64_t total = 0;
        for (int i = 0; i < l->n; i++) {
            if (l->v[i].k != VAL_INT || l->v[i].u.i < 1 || l->v[i].u.i > LANG_MAX_NUMEL)
                return ERR(c, 1, "split() sizes must be positive ints");
            sz[n++] = l->v[i].u.i;
            total += l->v[i].u.i;
        }
        if (total != dim)
            return ERR(c, 1, "split() sizes sum to %lld but dimension %d has size %lld",
                       (long long)total, axis, (long long)dim);
    } else {
        int64_t chunk;
        if (int_arg(c, a, 1, 1, LANG_MAX_NUMEL, &chunk))
            return -1;
        for (int64_t at = 0; at < dim; at += chunk) {
            if (n == 64)
                return ERR(c, 1, "split() into more than 64 pieces");
            sz[n++] = at + chunk <= dim ? chunk : dim - at;
        }
    }
    return split_sizes(c, x, axis, sz, n, out);
}

/* chunk(x, n, dim): torch.chunk — pieces of ceil(size / n). */
static int b_chunk(CallCtx *c, Value *a, Value *out) {
    int32_t x;
    int axis;
    int64_t k;
    if (tensor_arg(c, a, 0, &x) || int_arg(c, a, 1, 1, 64, &k))
        return -1;
    const sn_shape *xs = sn_lang_shape(c->E, x);
    if (axis_arg(c, a, 2, xs->ndim, &axis))
        return -1;
    int64_t dim = xs->d[axis], each = (dim + k - 1) / k, sz[64];
    int n = 0;
    for (int64_t at = 0; at < dim; at += each)
        sz[n++] = at + each <= dim ? each : dim - at;
    return split_sizes(c, x, axis, sz, n, out);
}

/* slice(x, dim, start, end, step): Python slice rules (negative counts from the end; clamped). */
static int b_slice(CallCtx *c, Value *a, Value *out) {
    int32_t x;
    int axis;
    int64_t start, end, step;
    if (tensor_arg(c, a, 0, &x))
        return -1;
    const sn_shape *xs = sn_lang_shape(c->E, x);
    if (axis_arg(c, a, 1, xs->ndim, &axis))
        return -1;
    int64_t dim = xs->d[axis];
    if (int_arg(c, a, 2, -LANG_MAX_NUMEL, LANG_MAX_NUMEL, &start))
        return -1;
    if (a[3].k == VAL_NONE)
        end = dim;
    else if (int_arg(c, a, 3, -LANG_MAX_NUMEL, LANG_MAX_NUMEL, &end))
        return -1;
    if (int_arg(c, a, 4, 1, LANG_MAX_NUMEL, &step))
        return -1;
    if (start < 0)
        start += dim;
    if (end < 0)
        end += dim;
    start = start < 0 ? 0 : start > dim ? dim : start;
    end = end < 0 ? 0 : end > dim ? dim : end;
    if (end <= start)
        return sn_lang_eerr(c->E, c->F, c->loc, "slice() is empty");
    int32_t n = slice_node(c, x, axis, start, end, step);
    if (n < 0)
        return -1;
    *out = vtensor(n);
    return 0;
}

/* reshape(x, dims): one dimension may be -1 (inferred). */
static int b_reshape(CallCtx *c, Value *a, Value *out) {
    int32_t x;
    if (tensor_arg(c, a, 0, &x))
        return -1;
    if (a[1].k != VAL_LIST)
        return ERR(c, 1, "reshape() needs a list of dimensions");
    VList *l = a[1].u.l;
    if (l->n < 1 || l->n > SN_MAX_DIMS)
        return ERR(c, 1, "reshape() needs 1 to %d dimensions", SN_MAX_DIMS);
    const sn_shape *xs = sn_lang_shape(c->E, x);
    int64_t ne = sn_lang_numel(xs->d, xs->ndim), d[SN_MAX_DIMS], known = 1;
    int infer = -1;
    for (int i = 0; i < l->n; i++) {
        if (l->v[i].k != VAL_INT)
            return ERR(c, 1, "reshape() dimensions must be ints");
        d[i] = l->v[i].u.i;
        if (d[i] == -1 && infer < 0) {
            infer = i;
            continue;
        }
        if (d[i] < 1 || d[i] > LANG_MAX_NUMEL)
            return ERR(c, 1, "bad dimension %lld in reshape()", (long long)d[i]);
        if (known > LANG_MAX_NUMEL / d[i])
            return ERR(c, 1, "reshape() to a too large shape");
        known *= d[i];
    }
    if (infer >= 0) {
        if (ne % known)
            goto mismatch;
        d[infer] = ne / known;
        known = ne;
    }
    if (known != ne)
        goto mismatch;
    int32_t n = sn_lang_node(c, SN_OP_RESHAPE, &x, 1, d, l->n, NULL, 0, NULL);
    if (n < 0)
        return -1;
    *out = vtensor(n);
    return 0;
mismatch:;
    char buf[96];
    return ERR(c, 1, "cannot reshape a tensor of shape %s (%lld elements) to %s",
               sn_shape_str(xs, buf, sizeof buf), (long long)ne, sn_lang_repr(c->E->A, &a[1]));
}

static int permute_node(CallCtx *c, int32_t x, const int64_t *perm, int n, Value *out) {
    int32_t t = sn_lang_node(c, SN_OP_PERMUTE, &x, 1, perm, n, NULL, 0, NULL);
    if (t < 0)
        return -1;
    *out = vtensor(t);
    return 0;
}

static int b_transpose(CallCtx *c, Value *a, Value *out) {
    int32_t x;
    int d0, d1;
    if (tensor_arg(c, a, 0, &x))
        return -1;
    int rank = sn_lang_shape(c->E, x)->ndim;
    if (axis_arg(c, a, 1, rank, &d0) || axis_arg(c, a, 2, rank, &d1))
        return -1;
    int64_t perm[SN_MAX_DIMS];
    for (int i = 0; i < rank; i++)
        perm[i] = i;
    perm[d0] = d1;
    perm[d1] = d0;
    return permute_node(c, x, perm, rank, out);
}

static int b_permute(CallCtx *c, Value *a, Value *out) {
    int32_t x;
    if (tensor_arg(c, a, 0, &x))
        return -1;
    int rank = sn_lang_shape(c->E, x)->ndim;
    if (a[1].k != VAL_LIST || a[1].u.l->n != rank)
        return ERR(c, 1, "permute() needs a list of %d axes", rank);
    int64_t perm[SN_MAX_DIMS];
    bool seen[SN_MAX_DIMS] = {false};
    for (int i = 0; i < rank; i++) {
        Value *v = &a[1].u.l->v[i];
        if (v->k != VAL_INT || v->u.i < -rank || v->u.i >= rank)
            return ERR(c, 1, "bad axis in permute()");
        perm[i] = v->u.i < 0 ? v->u.i + rank : v->u.i;
        if (seen[perm[i]])
            return ERR(c, 1, "permute() repeats axis %lld", (long long)perm[i]);
        seen[perm[i]] = true;
    }
    return permute_node(c, x, perm, rank, out);
}

/* upsample(x, size, scale_factor, mode): nn.Upsample(None, 2, "nearest"). */
static int b_upsample(CallCtx *c, Value *a, Value *out) {
    int32_t x;
    if (tensor_rank(c, a, 0, 4, &x))
        return -1;
    if (a[1].k != VAL_NONE)
        return ERR(c, 1, "upsample() supports only size = none (use scale_factor)");
    if (a[3].k != VAL_STR || strcmp(a[3].u.s, "nearest") != 0)
        return ERR(c, 3, "upsample() supports only mode = \"nearest\"");
    Value sf = a[2];
    if (sf.k == VAL_FLOAT && sf.u.f == floor(sf.u.f) && sf.u.f >= 1 && sf.u.f <= 64)
        sf = vint((int64_t)sf.u.f);
    a[2] = sf;
    int64_t s[2];
    if (pair_arg(c, a, 2, 1, 64, s))
        return -1;
    const sn_shape *xs = sn_lang_shape(c->E, x);
    int64_t od[4] = {xs->d[0], xs->d[1], xs->d[2] * s[0], xs->d[3] * s[1]};
    if (od[2] > LANG_MAX_DIM || od[3] > LANG_MAX_DIM || sn_lang_numel(od, 4) < 0)
        return sn_lang_eerr(c->E, c->F, c->loc, "upsample() result is too large");
    int32_t n = sn_lang_node(c, SN_OP_UPSAMPLE, &x, 1, s, 2, NULL, 0, NULL);
    if (n < 0)
        return -1;
    *out = vtensor(n);
    return 0;
}

/* maxpool2d(x, k, s, p): nn.MaxPool2d(k, stride = s or k, padding = p), padding is -inf. */
static int b_maxpool2d(CallCtx *c, Value *a, Value *out) {
    int32_t x;
    int64_t k, s, p;
    if (tensor_rank(c, a, 0, 4, &x) || int_arg(c, a, 1, 1, 64, &k))
        return -1;
    if (a[2].k == VAL_NONE)
        s = k;
    else if (int_arg(c, a, 2, 1, 64, &s))
        return -1;
    if (int_arg(c, a, 3, 0, k / 2, &p))
        return -1;
    int64_t ia[3] = {k, s, p};
    int32_t n = sn_lang_node(c, SN_OP_MAXPOOL2D, &x, 1, ia, 3, NULL, 0, NULL);
    if (n < 0)
        return -1;
    *out = vtensor(n);
    return 0;
}

static int axis_op(CallCtx *c, Value *a, Value *out, sn_op op) {
    int32_t x;
    int axis;
    if (tensor_arg(c, a, 0, &x) || axis_arg(c, a, 1, sn_lang_shape(c->E, x)->ndim, &axis))
        return -1;
    int64_t ia = axis;
    int32_t n = sn_lang_node(c, op, &x, 1, &ia, 1, NULL, 0, NULL);
    if (n < 0)
        return -1;
    *out = vtensor(n);
    return 0;
}
static int b_softmax(CallCtx *c, Value *a, Value *out) { return axis_op(c, a, out, SN_OP_SOFTMAX); }
static int b_sum(CallCtx *c, Value *a, Value *out) { return axis_op(c, a, out, SN_OP_REDUCE_SUM); }

static int b_matmul(CallCtx *c, Value *a, Value *out) {
    int32_t x, y;
    if (tensor_arg(c, a, 0, &x) || tensor_arg(c, a, 1, &y))
        return -1;
    const sn_shape *xs = sn_lang_shape(c->E, x), *ys = sn_lang_shape(c->E, y);
    if (xs->ndim >= 2 && ys->ndim == xs->ndim) { /* guard the output size before the IR sees it */
        int64_t od[SN_MAX_DIMS];
        for (int i = 0; i < xs->ndim; i++)
            od[i] = xs->d[i];
        od[xs->ndim - 1] = ys->d[ys->ndim - 1];
        if (sn_lang_numel(od, xs->ndim) < 0)
            return sn_lang_eerr(c->E, c->F, c->loc, "matmul() result is too large");
    }
    int32_t in[2] = {x, y};
    int32_t n = sn_lang_node(c, SN_OP_MATMUL, in, 2, NULL, 0, NULL, 0, NULL);
    if (n < 0)
        return -1;
    *out = vtensor(n);
    return 0;
}

/* make_anchors(feats, offset) → [points (1, 2, A), strides (1, 1, A)], as Ultralytics'
 * make_anchors: per level, (x + offset, y + offset) row-major over (y, x), in grid units;
 * a level's stride is the input height / the level's height. */
static int b_make_anchors(CallCtx *c, Value *a, Value *out) {
    if (a[0].k != VAL_LIST)
        return ERR(c, 0, "make_anchors() needs a list of feature maps");
    VList *l = a[0].u.l;
    int maxl = (SN_IR_MAX_IA - 2) / 3;
    if (l->n < 1 || l->n > maxl)
        return ERR(c, 0, "make_anchors() needs 1 to %d feature maps", maxl);
    double offset;
    if (num_arg(c, a, 1, &offset))
        return -1;
    int64_t ia[SN_IR_MAX_IA] = {0, l->n};
    for (int i = 0; i < l->n; i++) {
        if (l->v[i].k != VAL_TENSOR || sn_lang_shape(c->E, l->v[i].u.t)->ndim != 4)
            return ERR(c, 0, "make_anchors() element %d is not a 4-d tensor", i);
        const sn_shape *s = sn_lang_shape(c->E, l->v[i].u.t);
        int64_t h = s->d[2], w = s->d[3];
        if (c->E->height % h || c->E->width % w || c->E->height / h != c->E->width / w)
            return ERR(c, 0, "feature map %d (%lldx%lld) does not divide the %dx%d input evenly", i,
                       (long long)h, (long long)w, c->E->height, c->E->width);
        ia[2 + 3 * i] = h;
        ia[3 + 3 * i] = w;
        ia[4 + 3 * i] = c->E->height / h;
    }
    int nia = 2 + 3 * l->n;
    VList *r = sn_lang_list_new(c->E, c->F, c->loc, 2);
    if (!r)
        return -1;
    for (int what = 0; what < 2; what++) {
        ia[0] = what;
        int32_t n = sn_lang_node(c, SN_OP_ANCHORS, NULL, 0, ia, nia, &offset, 1, NULL);
        if (n < 0)
            return -1;
        r->v[what] = vtensor(n);
    }
    r->depth = 1;
    *out = (Value){.k = VAL_LIST, .u.l = r};
    return 0;
}

/* x op y where either may be a number (it becomes a scalar CONST). */
int sn_lang_tensor_binary(CallCtx *c, sn_op op, const Value *x, const Value *y, Value *out) {
    int32_t in[2];
    const Value *v[2] = {x, y};
    for (int i = 0; i < 2; i++) {
        if (v[i]->k == VAL_TENSOR) {
            in[i] = v[i]->u.t;
        } else {
            double s = v[i]->k == VAL_INT ? (double)v[i]->u.i : v[i]->u.f;
            const char *save = c->path;
            c->path = NULL;
            in[i] = sn_lang_node(c, SN_OP_CONST, NULL, 0, NULL, 0, &s, 1, &(sn_shape){0, {0}});
            c->path = save;
            if (in[i] < 0)
                return -1;
        }
    }
    const sn_shape *a = sn_lang_shape(c->E, in[0]), *b = sn_lang_shape(c->E, in[1]);
    int rank = a->ndim > b->ndim ? a->ndim : b->ndim;
    int64_t od[SN_MAX_DIMS];
    for (int i = 0; i < rank; i++) {
        int ia = i - (rank - a->ndim), ib = i - (rank - b->ndim);
        int64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
        od[i] = da > db ? da : db;
    }
    if (sn_lang_numel(od, rank) < 0)
        return sn_lang_eerr(c->E, c->F, c->loc, "result is too large");
    int32_t n = sn_lang_node(c, op, in, 2, NULL, 0, NULL, 0, NULL);
    if (n < 0)
        return -1;
    *out = vtensor(n);
    return 0;
}

const Builtin sn_lang_builtins[] = {
    {"len", b_len, false},
    {"min", b_min, false},
    {"max", b_max, false},
    {"int", b_int, false},
    {"float", b_float, false},
    {"round", b_round, false},
    {"ceil", b_ceil, false},
    {"floor", b_floor, false},
    {"abs", b_abs, false},
    {"gcd", b_gcd, false},
    {"range", b_range, false},
    {"make_divisible", b_make_divisible, false},
    {"assert", b_assert, false},
    {"shape", b_shape, false},
    {"channels", b_channels, false},
    {"conv2d", b_conv2d, true},
    {"batchnorm2d", b_batchnorm2d, true},
    {"silu", b_silu, false},
    {"sigmoid", b_sigmoid, false},
    {"relu", b_relu, false},
    {"exp", b_exp, false},
    {"sqrt", b_sqrt, false},
    {"concat", b_concat, false},
    {"split", b_split, false},
    {"chunk", b_chunk, false},
    {"slice", b_slice, false},
    {"reshape", b_reshape, false},
    {"transpose", b_transpose, false},
    {"permute", b_permute, false},
    {"upsample", b_upsample, false},
    {"maxpool2d", b_maxpool2d, false},
    {"softmax", b_softmax, false},
    {"sum", b_sum, false},
    {"matmul", b_matmul, false},
    {"make_anchors", b_make_anchors, false},
};
const int sn_lang_nbuiltins = (int)(sizeof sn_lang_builtins / sizeof *sn_lang_builtins);
