/* frontend/elab.c — elaboration: runs a checked model and builds its IR graph.
 *
 * Algorithm:
 *   1. Pick the scale row; bind scale, depth, width, max_channels in the model frame; run the
 *      model's `name = value` lines in order (`nc` is replaced by the caller's nc if given).
 *   2. Add the INPUT "images" [B, 3, H, W].
 *   3. For each layer line i: resolve `from` (-1 = previous layer; negative = relative), scale
 *      the repeats (n > 1 → max(rint(n·depth), 1)), bind the call — the layer input goes to the
 *      block's first parameter, the repeats to its `rep` parameter, the explicit arguments to
 *      the remaining parameters in order, and arguments bound to a `ch` parameter become
 *      make_divisible(min(c2, max_channels)·width, 8) unless equal to nc — and run the block
 *      with module prefix "model.<i>". Every node the layer creates gets the layer line as
 *      provenance.
 *   4. The last layer's tensor is the graph's one output.
 *
 * Blocks run like Python functions: one flat scope per call, values by reference (lists are
 * immutable, so sharing is safe). `Block(...) as p` runs the block under prefix "<prefix>.p";
 * without `as`, under the caller's prefix. An error unwinds the current layer only (reported
 * once at the innermost location, with the call stack as notes); later layers that use a
 * failed layer are skipped silently, so one run reports one error per broken layer.
 */
#include "frontend/lang_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int eval(Elab *E, Frame *F, Expr *e, Value *out);

/* ---------------------------------------------------------------- errors */

int sn_lang_eerr(Elab *E, Frame *F, Loc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sn_lang_verror(E->D, loc, "error", fmt, ap);
    va_end(ap);
    int shown = 0, total = 0;
    for (Frame *f = F; f && f->decl; f = f->caller)
        total++;
    for (Frame *f = F; f && f->decl; f = f->caller) {
        if (shown == 4 && total > 5) {
            Frame *last = f;
            while (last->caller && last->caller->decl)
                last = last->caller;
            sn_lang_note(E->D, last->call_loc, "… %d more calls, outermost here", total - shown);
            break;
        }
        if (f->decl->kind == DECL_FN || !f->prefix[0])
            sn_lang_note(E->D, f->call_loc, "in %s '%s', called here",
                         f->decl->kind == DECL_FN ? "function" : "block", f->decl->name);
        else
            sn_lang_note(E->D, f->call_loc, "in block '%s' (%s), called here", f->decl->name,
                         f->prefix);
        shown++;
    }
    return -1;
}

static int oom(Elab *E, Frame *F, Loc loc) {
    if (!E->abort)
        sn_lang_eerr(E, F, loc, "out of memory (the model is too large)");
    E->abort = true;
    return -1;
}

const char *sn_lang_type_name(const Value *v) {
    switch (v->k) {
    case VAL_NONE:
        return "none";
    case VAL_BOOL:
        return "bool";
    case VAL_INT:
        return "int";
    case VAL_FLOAT:
        return "float";
    case VAL_STR:
        return "string";
    case VAL_LIST:
        return "list";
    case VAL_TENSOR:
        return "tensor";
    }
    return "?";
}

/* ---------------------------------------------------------------- values */

VList *sn_lang_list_new(Elab *E, Frame *F, Loc loc, int n) {
    if (n < 0 || n > LANG_MAX_LIST) {
        sn_lang_eerr(E, F, loc, "list too long (more than %d elements)", LANG_MAX_LIST);
        return NULL;
    }
    E->steps += n;
    if (E->steps > LANG_MAX_STEPS) {
        if (!E->abort)
            sn_lang_eerr(E, F, loc, "evaluation limit reached (%d steps): an endless loop?",
                         LANG_MAX_STEPS);
        E->abort = true;
        return NULL;
    }
    VList *l = sn_lang_alloc(E->A, sizeof *l + (size_t)n * sizeof(Value));
    if (!l) {
        oom(E, F, loc);
        return NULL;
    }
    l->n = n;
    l->depth = 1;
    return l;
}

int sn_lang_list_seal(Elab *E, Frame *F, Loc loc, VList *l) {
    int d = 1;
    for (int i = 0; i < l->n; i++)
        if (l->v[i].k == VAL_LIST && l->v[i].u.l->depth + 1 > d)
            d = l->v[i].u.l->depth + 1;
    if (d > LANG_MAX_LIST_DEPTH)
        return sn_lang_eerr(E, F, loc, "lists nested too deeply (more than %d levels)",
                            LANG_MAX_LIST_DEPTH);
    l->depth = d;
    return 0;
}

static void repr_into(char **buf, size_t *len, size_t *cap, LArena *A, const Value *v);

static void put(char **buf, size_t *len, size_t *cap, LArena *A, const char *s) {
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        size_t ncap = (*cap + n + 1) * 2;
        char *nb = sn_lang_alloc(A, ncap);
        if (!nb)
            return;
        if (*len)
            memcpy(nb, *buf, *len);
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

static void repr_into(char **buf, size_t *len, size_t *cap, LArena *A, const Value *v) {
    char tmp[64];
    switch (v->k) {
    case VAL_NONE:
        put(buf, len, cap, A, "None");
        return;
    case VAL_BOOL:
        put(buf, len, cap, A, v->u.b ? "True" : "False");
        return;
    case VAL_INT:
        snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i);
        put(buf, len, cap, A, tmp);
        return;
    case VAL_FLOAT:
        snprintf(tmp, sizeof tmp, "%.15g", v->u.f);
        if (!strpbrk(tmp, ".eninf"))
            strcat(tmp, ".0");
        put(buf, len, cap, A, tmp);
        return;
    case VAL_STR:
        put(buf, len, cap, A, "'");
        put(buf, len, cap, A, v->u.s);
        put(buf, len, cap, A, "'");
        return;
    case VAL_TENSOR:
        put(buf, len, cap, A, "<tensor>");
        return;
    case VAL_LIST:
        put(buf, len, cap, A, "[");
        for (int i = 0; i < v->u.l->n; i++) {
            if (i)
                put(buf, len, cap, A, ", ");
            if (*len > 400) {
                put(buf, len, cap, A, "...");
                break;
            }
            repr_into(buf, len, cap, A, &v->u.l->v[i]);
        }
        put(buf, len, cap, A, "]");
        return;
    }
}

const char *sn_lang_repr(LArena *A, const Value *v) {
    char *buf = NULL;
    size_t len = 0, cap = 0;
    put(&buf, &len, &cap, A, "");
    repr_into(&buf, &len, &cap, A, v);
    return buf ? buf : "?";
}

/* ---------------------------------------------------------------- frames */

static Frame *frame_new(Elab *E, Frame *caller, Decl *d, Loc call_loc, const char *prefix) {
    Frame *f = sn_lang_alloc(E->A, sizeof *f);
    if (!f)
        return NULL;
    f->caller = caller;
    f->decl = d;
    f->call_loc = call_loc;
    f->prefix = prefix;
    return f;
}

static Value *frame_get(Frame *F, const char *name) {
    if (!F->nslots) {
        for (int i = 0; i < F->nvars; i++)
            if (F->names[i] == name)
                return &F->vals[i];
        return NULL;
    }
    uint32_t mask = (uint32_t)F->nslots - 1;
    for (uint32_t h = sn_lang_ptr_hash(name) & mask;; h = (h + 1) & mask) {
        int32_t s = F->slots[h];
        if (!s)
            return NULL;
        if (F->names[s - 1] == name)
            return &F->vals[s - 1];
    }
}

/* Past 8 variables a frame keeps a hash index, so lookups stay O(1) in huge blocks. */
static bool frame_index(Elab *E, Frame *F) {
    if (F->nvars < 8 || F->nvars * 2 < F->nslots)
        return true;
    int ns = F->nslots ? F->nslots * 2 : 32;
    while (ns < F->nvars * 2)
        ns *= 2;
    int32_t *slots = sn_lang_alloc(E->A, (size_t)ns * sizeof *slots);
    if (!slots)
        return false;
    for (int i = 0; i < F->nvars; i++) {
        uint32_t h = sn_lang_ptr_hash(F->names[i]) & (uint32_t)(ns - 1);
        while (slots[h])
            h = (h + 1) & (uint32_t)(ns - 1);
        slots[h] = i + 1;
    }
    F->slots = slots;
    F->nslots = ns;
    return true;
}

static int frame_set(Elab *E, Frame *F, Loc loc, const char *name, Value v) {
    Value *p = frame_get(F, name);
    if (p) {
        *p = v;
        return 0;
    }
    int cap = F->cap, n = F->nvars;
    if (!LANG_PUSH(E->A, F->names, n, cap, name))
        return oom(E, F, loc);
    n = F->nvars;
    cap = F->cap;
    if (!LANG_PUSH(E->A, F->vals, n, cap, v))
        return oom(E, F, loc);
    F->nvars = n;
    F->cap = cap;
    if (F->nslots) { /* add to the index (rebuilt below when it gets too full) */
        uint32_t mask = (uint32_t)F->nslots - 1, h = sn_lang_ptr_hash(name) & mask;
        while (F->slots[h])
            h = (h + 1) & mask;
        F->slots[h] = n;
    }
    if (!frame_index(E, F))
        return oom(E, F, loc);
    return 0;
}

/* ---------------------------------------------------------------- operators */

static bool is_num(const Value *v) { return v->k == VAL_INT || v->k == VAL_FLOAT; }
static double num(const Value *v) { return v->k == VAL_INT ? (double)v->u.i : v->u.f; }

/* Equality; *work counts the elements compared (charged as evaluation steps). */
static bool value_eq(const Value *a, const Value *b, int64_t *work) {
    ++*work;
    if (is_num(a) && is_num(b)) {
        if (a->k == VAL_INT && b->k == VAL_INT)
            return a->u.i == b->u.i;
        return num(a) == num(b);
    }
    if (a->k != b->k)
        return false;
    switch (a->k) {
    case VAL_NONE:
        return true;
    case VAL_BOOL:
        return a->u.b == b->u.b;
    case VAL_STR:
        return strcmp(a->u.s, b->u.s) == 0;
    case VAL_TENSOR:
        return a->u.t == b->u.t;
    case VAL_LIST:
        if (a->u.l->n != b->u.l->n)
            return false;
        for (int i = 0; i < a->u.l->n; i++) /* depth bounded by LANG_MAX_LIST_DEPTH */
            if (!value_eq(&a->u.l->v[i], &b->u.l->v[i], work))
                return false;
        return true;
    default:
        return false;
    }
}

static const char *const binop_text[] = {
    "+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", "in", "not in"};

static int type_err(Elab *E, Frame *F, Expr *e, const Value *a, const Value *b) {
    return sn_lang_eerr(E, F, e->loc, "unsupported operand types for '%s': %s and %s",
                        binop_text[e->op], sn_lang_type_name(a), sn_lang_type_name(b));
}

static int float_result(Elab *E, Frame *F, Expr *e, double r, Value *out) {
    if (!isfinite(r))
        return sn_lang_eerr(E, F, e->loc, "the result of '%s' is not a finite number",
                            binop_text[e->op]);
    *out = (Value){.k = VAL_FLOAT, .u.f = r};
    return 0;
}

static int int_pow(Elab *E, Frame *F, Expr *e, int64_t b, int64_t x, Value *out) {
    int64_t r = 1;
    for (int64_t i = 0; i < x; i++) {
        if (__builtin_mul_overflow(r, b, &r))
            return sn_lang_eerr(E, F, e->loc, "integer overflow in '**'");
        if (r == 0 || r == 1)
            break; /* stays 0 or 1 */
        if (r == -1) {
            r = (x - i - 1) % 2 ? 1 : -1;
            break;
        }
    }
    *out = (Value){.k = VAL_INT, .u.i = r};
    return 0;
}

static int binop(Elab *E, Frame *F, Expr *e, const Value *a, const Value *b, Value *out) {
    BinOp op = e->op;
    if (a->k == VAL_TENSOR || b->k == VAL_TENSOR) {
        static const sn_op ops[] = {[BIN_ADD] = SN_OP_ADD,
                                    [BIN_SUB] = SN_OP_SUB,
                                    [BIN_MUL] = SN_OP_MUL,
                                    [BIN_DIV] = SN_OP_DIV,
                                    [BIN_POW] = SN_OP_POW};
        bool ok_op =
            op == BIN_ADD || op == BIN_SUB || op == BIN_MUL || op == BIN_DIV || op == BIN_POW;
        bool ok_a = a->k == VAL_TENSOR || is_num(a), ok_b = b->k == VAL_TENSOR || is_num(b);
        if (!ok_op || !ok_a || !ok_b)
            return type_err(E, F, e, a, b);
        CallCtx c = {.E = E, .F = F, .loc = e->loc, .path = F->prefix};
        return sn_lang_tensor_binary(&c, ops[op], a, b, out);
    }
    switch (op) {
    case BIN_EQ:
    case BIN_NE: {
        int64_t work = 0;
        *out = (Value){.k = VAL_BOOL, .u.b = value_eq(a, b, &work) == (op == BIN_EQ)};
        E->steps += work;
        return 0;
    }
    case BIN_LT:
    case BIN_LE:
    case BIN_GT:
    case BIN_GE: {
        int cmp;
        if (is_num(a) && is_num(b)) {
            if (a->k == VAL_INT && b->k == VAL_INT)
                cmp = (a->u.i > b->u.i) - (a->u.i < b->u.i);
            else
                cmp = (num(a) > num(b)) - (num(a) < num(b));
        } else if (a->k == VAL_STR && b->k == VAL_STR) {
            cmp = strcmp(a->u.s, b->u.s);
            cmp = (cmp > 0) - (cmp < 0);
        } else {
            return type_err(E, F, e, a, b);
        }
        bool r = op == BIN_LT   ? cmp < 0
                 : op == BIN_LE ? cmp <= 0
                 : op == BIN_GT ? cmp > 0
                                : cmp >= 0;
        *out = (Value){.k = VAL_BOOL, .u.b = r};
        return 0;
    }
    case BIN_IN:
    case BIN_NOTIN: {
        bool found = false;
        if (b->k == VAL_LIST) {
            int64_t work = 0;
            for (int i = 0; i < b->u.l->n && !found; i++)
                found = value_eq(a, &b->u.l->v[i], &work);
            E->steps += work;
        } else if (b->k == VAL_STR && a->k == VAL_STR) {
            found = strstr(b->u.s, a->u.s) != NULL;
        } else {
            return type_err(E, F, e, a, b);
        }
        *out = (Value){.k = VAL_BOOL, .u.b = found == (op == BIN_IN)};
        return 0;
    }
    default:
        break;
    }
    /* arithmetic */
    if (op == BIN_ADD && a->k == VAL_LIST && b->k == VAL_LIST) {
        int64_t n = (int64_t)a->u.l->n + b->u.l->n;
        VList *l = sn_lang_list_new(E, F, e->loc, n > LANG_MAX_LIST ? -1 : (int)n);
        if (!l)
            return -1;
        memcpy(l->v, a->u.l->v, (size_t)a->u.l->n * sizeof(Value));
        memcpy(l->v + a->u.l->n, b->u.l->v, (size_t)b->u.l->n * sizeof(Value));
        l->depth = a->u.l->depth > b->u.l->depth ? a->u.l->depth : b->u.l->depth;
        *out = (Value){.k = VAL_LIST, .u.l = l};
        return 0;
    }
    if (op == BIN_MUL &&
        ((a->k == VAL_LIST && b->k == VAL_INT) || (a->k == VAL_INT && b->k == VAL_LIST))) {
        const Value *lv = a->k == VAL_LIST ? a : b;
        int64_t times = a->k == VAL_INT ? a->u.i : b->u.i;
        if (times < 0)
            times = 0;
        int64_t n = lv->u.l->n * (times > LANG_MAX_LIST ? (int64_t)LANG_MAX_LIST + 1 : times);
        VList *l = sn_lang_list_new(E, F, e->loc, n > LANG_MAX_LIST ? -1 : (int)n);
        if (!l)
            return -1;
        for (int64_t i = 0; i < times && lv->u.l->n; i++)
            memcpy(l->v + i * lv->u.l->n, lv->u.l->v, (size_t)lv->u.l->n * sizeof(Value));
        l->depth = lv->u.l->depth;
        *out = (Value){.k = VAL_LIST, .u.l = l};
        return 0;
    }
    if (op == BIN_ADD && a->k == VAL_STR && b->k == VAL_STR) {
        if (strlen(a->u.s) + strlen(b->u.s) > 4096)
            return sn_lang_eerr(E, F, e->loc, "string too long");
        const char *s = sn_lang_fmt(E->A, "%s%s", a->u.s, b->u.s);
        if (!s)
            return oom(E, F, e->loc);
        *out = (Value){.k = VAL_STR, .u.s = s};
        return 0;
    }
    if (!is_num(a) || !is_num(b))
        return type_err(E, F, e, a, b);
    if (a->k == VAL_INT && b->k == VAL_INT) {
        int64_t x = a->u.i, y = b->u.i, r;
        switch (op) {
        case BIN_ADD:
            if (__builtin_add_overflow(x, y, &r))
                goto overflow;
            break;
        case BIN_SUB:
            if (__builtin_sub_overflow(x, y, &r))
                goto overflow;
            break;
        case BIN_MUL:
            if (__builtin_mul_overflow(x, y, &r))
                goto overflow;
            break;
        case BIN_DIV:
            if (y == 0)
                return sn_lang_eerr(E, F, e->loc, "division by zero");
            return float_result(E, F, e, (double)x / (double)y, out);
        case BIN_FLOORDIV:
        case BIN_MOD:
            if (y == 0)
                return sn_lang_eerr(E, F, e->loc, "division by zero");
            if (x == INT64_MIN && y == -1)
                goto overflow;
            r = op == BIN_FLOORDIV ? x / y : x % y;
            if (op == BIN_FLOORDIV && (x % y != 0) && ((x < 0) != (y < 0)))
                r--;
            if (op == BIN_MOD && r != 0 && ((r < 0) != (y < 0)))
                r += y;
            break;
        case BIN_POW:
            if (y >= 0)
                return int_pow(E, F, e, x, y, out);
            if (x == 0)
                return sn_lang_eerr(E, F, e->loc, "division by zero (0 to a negative power)");
            return float_result(E, F, e, pow((double)x, (double)y), out);
        default:
            return type_err(E, F, e, a, b);
        }
        *out = (Value){.k = VAL_INT, .u.i = r};
        return 0;
    overflow:
        return sn_lang_eerr(E, F, e->loc, "integer overflow in '%s'", binop_text[op]);
    }
    double x = num(a), y = num(b);
    switch (op) {
    case BIN_ADD:
        return float_result(E, F, e, x + y, out);
    case BIN_SUB:
        return float_result(E, F, e, x - y, out);
    case BIN_MUL:
        return float_result(E, F, e, x * y, out);
    case BIN_DIV:
        if (y == 0)
            return sn_lang_eerr(E, F, e->loc, "division by zero");
        return float_result(E, F, e, x / y, out);
    case BIN_FLOORDIV:
    case BIN_MOD:
        if (y == 0)
            return sn_lang_eerr(E, F, e->loc, "division by zero");
        return float_result(E, F, e, op == BIN_FLOORDIV ? floor(x / y) : x - floor(x / y) * y, out);
    case BIN_POW:
        if (x == 0 && y < 0)
            return sn_lang_eerr(E, F, e->loc, "division by zero (0 to a negative power)");
        if (x < 0 && y != floor(y))
            return sn_lang_eerr(E, F, e->loc, "negative number to a fractional power");
        return float_result(E, F, e, pow(x, y), out);
    default:
        return type_err(E, F, e, a, b);
    }
}

/* ---------------------------------------------------------------- calls */

static int exec_list(Elab *E, Frame *F, StmtList *L, Value *ret);

/* "cv2[i][0]" with i = 1 → "cv2.1.0", joined to the frame's prefix. */
static const char *render_path(Elab *E, Frame *F, Path *p) {
    char buf[512];
    size_t n = 0;
    buf[0] = 0;
    if (F->prefix[0])
        n = (size_t)snprintf(buf, sizeof buf, "%s", F->prefix);
    for (int i = 0; i < p->n && n < sizeof buf; i++) {
        PathSeg *s = &p->seg[i];
        if (s->name) {
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? "." : "", s->name);
            continue;
        }
        Value v;
        if (eval(E, F, s->index, &v))
            return NULL;
        if (v.k != VAL_INT || v.u.i < 0) {
            sn_lang_eerr(E, F, s->loc, "a module index must be a non-negative int, got %s",
                         sn_lang_repr(E->A, &v));
            return NULL;
        }
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%lld", n ? "." : "", (long long)v.u.i);
    }
    if (n >= sizeof buf - 1) {
        sn_lang_eerr(E, F, p->loc, "module path too long");
        return NULL;
    }
    const char *r = sn_lang_strdup(E->A, buf, n);
    if (!r)
        oom(E, F, p->loc);
    return r;
}

/* Runs decl d with its parameters partly bound (have[i]); fills defaults, checks that every
 * parameter is bound, then runs the body. `path` is the module path for the callee. */
static int call_decl(Elab *E, Frame *F, Loc loc, Decl *d, Value *vals, bool *have, Loc *locs,
                     const char *path, bool has_as, Value *out) {
    if (d->kind == DECL_BUILTIN && d->variadic) {
        CallCtx c = {.E = E, .F = F, .loc = loc, .path = path, .has_as = has_as};
        c.argloc[0] = loc;
        return d->builtin->fn(&c, vals, out);
    }
    if (E->call_depth >= LANG_MAX_CALL_DEPTH)
        return sn_lang_eerr(E, F, loc,
                            "call depth limit (%d) reached calling '%s': unbounded recursion?",
                            LANG_MAX_CALL_DEPTH, d->name);
    Frame *nf = frame_new(E, F, d, loc, d->kind == DECL_BLOCK ? path : F->prefix);
    if (!nf)
        return oom(E, F, loc);
    E->call_depth++;
    int rc = 0;
    for (int i = 0; i < d->nparams && rc == 0; i++) {
        Param *pa = &d->params[i];
        if (!have[i]) {
            if (!pa->def) {
                rc = sn_lang_eerr(E, F, loc, "missing argument '%s' in the call to '%s'", pa->name,
                                  d->name);
                break;
            }
            rc = eval(E, nf, pa->def, &vals[i]);
            locs[i] = loc;
        }
        if (rc == 0)
            rc = frame_set(E, nf, loc, pa->name, vals[i]);
    }
    if (rc == 0) {
        switch (d->kind) {
        case DECL_BUILTIN: {
            CallCtx c = {.E = E, .F = F, .loc = loc, .path = path, .has_as = has_as};
            for (int i = 0; i < d->nparams && i < 16; i++)
                c.argloc[i] = locs[i];
            rc = d->builtin->fn(&c, vals, out);
            break;
        }
        case DECL_FN:
            rc = eval(E, nf, d->expr, out);
            break;
        case DECL_BLOCK: {
            int r = exec_list(E, nf, &d->body, out);
            if (r == 0)
                rc = sn_lang_eerr(E, nf, d->loc, "block '%s' ended without 'return'", d->name);
            else
                rc = r < 0 ? -1 : 0;
            break;
        }
        }
    }
    E->call_depth--;
    return rc;
}

static int eval_call(Elab *E, Frame *F, Expr *e, Value *out) {
    Decl *d = e->callee;
    if (!d)
        return sn_lang_eerr(E, F, e->loc, "unknown block or function '%s'", e->name);
    int np = d->variadic ? 1 : d->nparams;
    Value *vals = calloc((size_t)(np ? np : 1), sizeof *vals);
    bool *have = calloc((size_t)(np ? np : 1), sizeof *have);
    Loc *locs = calloc((size_t)(np ? np : 1), sizeof *locs);
    int rc = -1;
    if (!vals || !have || !locs) {
        oom(E, F, e->loc);
        goto done;
    }
    if (d->variadic) {
        VList *l = sn_lang_list_new(E, F, e->loc, e->nargs);
        if (!l)
            goto done;
        for (int i = 0; i < e->nargs; i++)
            if (eval(E, F, e->args[i].value, &l->v[i]))
                goto done;
        if (sn_lang_list_seal(E, F, e->loc, l))
            goto done;
        vals[0] = (Value){.k = VAL_LIST, .u.l = l};
        have[0] = true;
    } else {
        int pos = 0;
        for (int i = 0; i < e->nargs; i++) {
            Arg *a = &e->args[i];
            int k = -1;
            if (a->kw) {
                for (int j = 0; j < d->nparams; j++)
                    if (d->params[j].name == a->kw)
                        k = j;
            } else {
                k = pos++;
            }
            if (k < 0 || k >= d->nparams || have[k]) { /* sn_lang_check reports these first */
                sn_lang_eerr(E, F, a->loc, "bad argument in the call to '%s'", d->name);
                goto done;
            }
            if (eval(E, F, a->value, &vals[k]))
                goto done;
            have[k] = true;
            locs[k] = a->value->loc;
        }
    }
    const char *path = F->prefix;
    if (e->as && !(path = render_path(E, F, e->as)))
        goto done;
    rc = call_decl(E, F, e->loc, d, vals, have, locs, path, e->as != NULL, out);
done:
    free(vals);
    free(have);
    free(locs);
    return rc;
}

/* ---------------------------------------------------------------- expressions */

static int need_bool(Elab *E, Frame *F, Expr *e, const Value *v, const char *what) {
    if (v->k != VAL_BOOL)
        return sn_lang_eerr(E, F, e->loc, "%s must be a bool (true or false), got %s", what,
                            sn_lang_type_name(v));
    return 0;
}

static int eval_inner(Elab *E, Frame *F, Expr *e, Value *out) {
    Value a, b;
    switch (e->kind) {
    case EX_INT:
        *out = (Value){.k = VAL_INT, .u.i = e->ival};
        return 0;
    case EX_FLOAT:
        *out = (Value){.k = VAL_FLOAT, .u.f = e->fval};
        return 0;
    case EX_STR:
        *out = (Value){.k = VAL_STR, .u.s = e->name};
        return 0;
    case EX_BOOL:
        *out = (Value){.k = VAL_BOOL, .u.b = e->ival != 0};
        return 0;
    case EX_NONE:
        *out = (Value){.k = VAL_NONE};
        return 0;
    case EX_NAME: {
        Value *v = frame_get(F, e->name);
        if (!v)
            return sn_lang_eerr(E, F, e->loc, "'%s' is used before it is assigned", e->name);
        *out = *v;
        return 0;
    }
    case EX_LIST: {
        VList *l = sn_lang_list_new(E, F, e->loc, e->nitems);
        if (!l)
            return -1;
        for (int i = 0; i < e->nitems; i++)
            if (eval(E, F, e->items[i], &l->v[i]))
                return -1;
        if (sn_lang_list_seal(E, F, e->loc, l))
            return -1;
        *out = (Value){.k = VAL_LIST, .u.l = l};
        return 0;
    }
    case EX_NEG:
    case EX_POS:
        if (eval(E, F, e->a, &a))
            return -1;
        if (e->kind == EX_POS && (is_num(&a) || a.k == VAL_TENSOR))
            return *out = a, 0;
        if (a.k == VAL_INT) {
            if (a.u.i == INT64_MIN)
                return sn_lang_eerr(E, F, e->loc, "integer overflow in '-'");
            return *out = (Value){.k = VAL_INT, .u.i = -a.u.i}, 0;
        }
        if (a.k == VAL_FLOAT)
            return *out = (Value){.k = VAL_FLOAT, .u.f = -a.u.f}, 0;
        if (a.k == VAL_TENSOR) {
            CallCtx c = {.E = E, .F = F, .loc = e->loc, .path = F->prefix};
            int32_t n = sn_lang_node(&c, SN_OP_NEG, &a.u.t, 1, NULL, 0, NULL, 0, NULL);
            if (n < 0)
                return -1;
            return *out = (Value){.k = VAL_TENSOR, .u.t = n}, 0;
        }
        return sn_lang_eerr(E, F, e->loc, "bad operand type for unary '%c': %s",
                            e->kind == EX_NEG ? '-' : '+', sn_lang_type_name(&a));
    case EX_NOT:
        if (eval(E, F, e->a, &a) || need_bool(E, F, e->a, &a, "the operand of 'not'"))
            return -1;
        return *out = (Value){.k = VAL_BOOL, .u.b = !a.u.b}, 0;
    case EX_AND:
    case EX_OR:
        if (eval(E, F, e->a, &a) ||
            need_bool(E, F, e->a, &a,
                      e->kind == EX_AND ? "an operand of 'and'" : "an operand of 'or'"))
            return -1;
        if (a.u.b == (e->kind == EX_OR))
            return *out = a, 0; /* short circuit */
        if (eval(E, F, e->b, &b) ||
            need_bool(E, F, e->b, &b,
                      e->kind == EX_AND ? "an operand of 'and'" : "an operand of 'or'"))
            return -1;
        return *out = b, 0;
    case EX_COND:
        if (eval(E, F, e->a, &a) || need_bool(E, F, e->a, &a, "the condition of '?:'"))
            return -1;
        return eval(E, F, a.u.b ? e->b : e->c, out);
    case EX_BINARY:
        if (eval(E, F, e->a, &a) || eval(E, F, e->b, &b))
            return -1;
        return binop(E, F, e, &a, &b, out);
    case EX_INDEX: {
        if (eval(E, F, e->a, &a) || eval(E, F, e->b, &b))
            return -1;
        if (a.k == VAL_TENSOR)
            return sn_lang_eerr(E, F, e->loc, "a tensor cannot be indexed; use slice() or split()");
        if (a.k != VAL_LIST)
            return sn_lang_eerr(E, F, e->loc, "%s cannot be indexed (only lists can)",
                                sn_lang_type_name(&a));
        if (b.k != VAL_INT)
            return sn_lang_eerr(E, F, e->b->loc, "a list index must be an int, got %s",
                                sn_lang_type_name(&b));
        int64_t i = b.u.i, n = a.u.l->n;
        if (i < -n || i >= n)
            return sn_lang_eerr(E, F, e->b->loc,
                                "index %lld is out of range for a list of length %lld",
                                (long long)i, (long long)n);
        *out = a.u.l->v[i < 0 ? i + n : i];
        return 0;
    }
    case EX_CALL:
        return eval_call(E, F, e, out);
    }
    return sn_lang_eerr(E, F, e->loc, "internal error: bad expression");
}

static int eval(Elab *E, Frame *F, Expr *e, Value *out) {
    if (E->abort)
        return -1;
    if (++E->steps > LANG_MAX_STEPS) {
        sn_lang_eerr(E, F, e->loc, "evaluation limit reached (%d steps): an endless loop?",
                     LANG_MAX_STEPS);
        E->abort = true;
        return -1;
    }
    if (E->eval_depth >= LANG_MAX_EVAL_DEPTH) {
        sn_lang_eerr(E, F, e->loc, "evaluation nested too deeply");
        E->abort = true;
        return -1;
    }
    E->eval_depth++;
    int rc = eval_inner(E, F, e, out);
    E->eval_depth--;
    return rc;
}

/* ---------------------------------------------------------------- statements */

/* Returns 0 (fell through), 1 (returned, *ret set) or -1 (error). */
static int exec_stmt(Elab *E, Frame *F, Stmt *s, Value *ret) {
    Value v;
    switch (s->kind) {
    case ST_ASSIGN:
        if (eval(E, F, s->value, &v))
            return -1;
        if (s->ntargets == 1)
            return frame_set(E, F, s->loc, s->targets[0], v);
        if (v.k != VAL_LIST)
            return sn_lang_eerr(E, F, s->value->loc, "cannot unpack %s into %d names",
                                sn_lang_type_name(&v), s->ntargets);
        if (v.u.l->n != s->ntargets)
            return sn_lang_eerr(E, F, s->value->loc, "cannot unpack a list of %d into %d names",
                                v.u.l->n, s->ntargets);
        for (int i = 0; i < s->ntargets; i++)
            if (frame_set(E, F, s->loc, s->targets[i], v.u.l->v[i]))
                return -1;
        return 0;
    case ST_IF:
        if (eval(E, F, s->value, &v) || need_bool(E, F, s->value, &v, "an 'if' condition"))
            return -1;
        return exec_list(E, F, v.u.b ? &s->body : &s->orelse, ret);
    case ST_FOR: {
        if (eval(E, F, s->value, &v))
            return -1;
        if (v.k != VAL_LIST)
            return sn_lang_eerr(E, F, s->value->loc,
                                "'for' needs a list (such as range(n)), got %s",
                                sn_lang_type_name(&v));
        VList *l = v.u.l;
        for (int i = 0; i < l->n; i++) {
            if (++E->steps > LANG_MAX_STEPS) {
                sn_lang_eerr(E, F, s->loc, "evaluation limit reached (%d steps): an endless loop?",
                             LANG_MAX_STEPS);
                E->abort = true;
                return -1;
            }
            if (frame_set(E, F, s->loc, s->targets[0], l->v[i]))
                return -1;
            int r = exec_list(E, F, &s->body, ret);
            if (r)
                return r;
        }
        return 0;
    }
    case ST_RETURN:
        if (eval(E, F, s->value, ret))
            return -1;
        return 1;
    case ST_EXPR:
        return eval(E, F, s->value, &v);
    }
    return -1;
}

static int exec_list(Elab *E, Frame *F, StmtList *L, Value *ret) {
    if (E->eval_depth >= LANG_MAX_EVAL_DEPTH) {
        if (!E->abort)
            sn_lang_eerr(E, F, L->n ? L->items[0]->loc : (Loc){-1, 0, 0},
                         "evaluation nested too deeply");
        E->abort = true;
        return -1;
    }
    E->eval_depth++;
    int r = 0;
    for (int i = 0; i < L->n && r == 0; i++) {
        if (E->abort) {
            r = -1;
            break;
        }
        r = exec_stmt(E, F, L->items[i], ret);
    }
    E->eval_depth--;
    return r;
}

/* ---------------------------------------------------------------- the model */

typedef struct ScaleVals {
    double depth, width, max_channels;
} ScaleVals;

static int scale_ch(Elab *E, Frame *F, Loc loc, const ScaleVals *sv, Value *v) {
    if (v->k != VAL_INT)
        return sn_lang_eerr(E, F, loc, "a channel argument (role 'ch') must be an int, got %s",
                            sn_lang_type_name(v));
    if (v->u.i == E->nc)
        return 0; /* Ultralytics: c2 == nc is left as is */
    if (v->u.i < 1 || v->u.i > LANG_MAX_DIM)
        return sn_lang_eerr(E, F, loc, "channel count %lld is out of range", (long long)v->u.i);
    double x = fmin((double)v->u.i, sv->max_channels) * sv->width;
    double c = ceil(x / 8) * 8;
    if (!(c >= 8 && c <= (double)LANG_MAX_DIM))
        return sn_lang_eerr(E, F, loc, "scaled channel count %g is out of range", c);
    v->u.i = (int64_t)c;
    return 0;
}

static void copy_trunc(char *dst, size_t n, const char *src) {
    size_t len = strlen(src);
    if (len < n) {
        memcpy(dst, src, len + 1);
        return;
    }
    memcpy(dst, src, n - 4);
    memcpy(dst + n - 4, "...", 4);
}

/* Elaborates one layer; *out is its value. Returns 0, -1 (error reported) or 1 (skipped: an
 * input layer failed). */
static int run_layer(Elab *E, Frame *MF, const ScaleVals *sv, LayerLine *L, int i, Value *outs,
                     bool *failed, sn_fe_layer *row, Value *out) {
    Value fv, rv;
    if (eval(E, MF, L->from, &fv))
        return -1;
    int nfrom = 0, from[16];
    if (fv.k == VAL_INT) {
        from[nfrom++] = fv.u.i < INT32_MIN   ? INT32_MIN
                        : fv.u.i > INT32_MAX ? INT32_MAX
                                             : (int)fv.u.i;
    } else if (fv.k == VAL_LIST && fv.u.l->n >= 1 && fv.u.l->n <= 16) {
        for (int k = 0; k < fv.u.l->n; k++) {
            Value *x = &fv.u.l->v[k];
            if (x->k != VAL_INT)
                return sn_lang_eerr(E, MF, L->from->loc, "'from' entries must be ints");
            from[nfrom++] = x->u.i < INT32_MIN   ? INT32_MIN
                            : x->u.i > INT32_MAX ? INT32_MAX
                                                 : (int)x->u.i;
        }
    } else {
        return sn_lang_eerr(E, MF, L->from->loc,
                            "'from' must be a layer index or a list of 1 to 16 indices");
    }
    Value input;
    VList *il = nfrom > 1 || fv.k == VAL_LIST ? sn_lang_list_new(E, MF, L->from->loc, nfrom) : NULL;
    if ((nfrom > 1 || fv.k == VAL_LIST) && !il)
        return -1;
    bool skip = false;
    for (int k = 0; k < nfrom; k++) {
        int f = from[k], src = f < 0 ? i + f : f;
        Value v;
        if (f >= i)
            return sn_lang_eerr(
                E, MF, L->from->loc,
                "layer %d cannot take its input from layer %d, which comes after it", i, f);
        if (src == -1 && f == -1 && i == 0) {
            v = (Value){.k = VAL_TENSOR, .u.t = E->g->inputs[0]};
        } else if (src < 0) {
            return sn_lang_eerr(E, MF, L->from->loc,
                                "'from' %d of layer %d refers to before the first layer", f, i);
        } else {
            if (failed[src])
                skip = true;
            v = outs[src];
        }
        if (il)
            il->v[k] = v;
        else
            input = v;
    }
    if (il) {
        if (sn_lang_list_seal(E, MF, L->from->loc, il))
            return -1;
        input = (Value){.k = VAL_LIST, .u.l = il};
    }
    if (eval(E, MF, L->repeats, &rv))
        return -1;
    if (rv.k != VAL_INT || rv.u.i < 1 || rv.u.i > 1000000)
        return sn_lang_eerr(E, MF, L->repeats->loc,
                            "repeats must be an int from 1 to 1000000, got %s",
                            sn_lang_repr(E->A, &rv));
    int64_t n = rv.u.i;
    if (n > 1) {
        double r = nearbyint((double)n * sv->depth);
        n = r > 1 ? (int64_t)r : 1;
    }
    if (skip)
        return 1;

    Expr *call = L->call;
    Decl *d = call->callee;
    if (!d)
        return -1;
    if (d->variadic || d->nparams == 0)
        return sn_lang_eerr(E, MF, call->loc, "'%s' cannot be a layer: it takes no input",
                            call->name);
    int np = d->nparams, rep = -1;
    for (int k = 0; k < np; k++)
        if (d->params[k].role == ROLE_REP)
            rep = k;
    if (n > 1 && rep < 0)
        return sn_lang_eerr(
            E, MF, L->repeats->loc,
            "layer %d repeats %lld times, but '%s' has no parameter with the role 'rep'", i,
            (long long)n, d->name);
    Value vals[16];
    bool have[16] = {false};
    Loc locs[16];
    vals[0] = input;
    have[0] = true;
    locs[0] = L->from->loc;
    if (rep >= 0) {
        vals[rep] = (Value){.k = VAL_INT, .u.i = n};
        have[rep] = true;
        locs[rep] = L->repeats->loc;
    }
    /* explicit arguments: positional ones fill the parameters after the input, skipping `rep` */
    Value posv[64], kwv[64];
    const char *kwn[64];
    int npos = 0, nkw = 0, next = 1;
    for (int k = 0; k < call->nargs && k < 64; k++) {
        Arg *a = &call->args[k];
        int slot = -1;
        Value v;
        if (eval(E, MF, a->value, &v))
            return -1;
        if (a->kw) {
            for (int j = 1; j < np; j++)
                if (d->params[j].name == a->kw)
                    slot = j;
        } else {
            while (next < np && next == rep)
                next++;
            slot = next < np ? next++ : -1;
        }
        if (slot < 0 || slot == rep || have[slot]) /* sn_lang_check reports these first */
            return sn_lang_eerr(E, MF, a->loc, "bad argument for layer '%s'", d->name);
        if (d->params[slot].role == ROLE_CH && scale_ch(E, MF, a->value->loc, sv, &v))
            return -1;
        vals[slot] = v;
        have[slot] = true;
        locs[slot] = a->value->loc;
        if (a->kw)
            kwn[nkw] = a->kw, kwv[nkw++] = v;
        else
            posv[npos++] = v;
    }

    /* the resolved arguments as parse_model logs them: [c1, c2, n, …] or [nc, [ch…]] */
    char args[1024];
    size_t alen = 0;
    args[0] = 0;
#define ARGS_PUT(...)                                                                              \
    do {                                                                                           \
        if (alen < sizeof args)                                                                    \
            alen += (size_t)snprintf(args + alen, sizeof args - alen, __VA_ARGS__);                \
        if (alen >= sizeof args)                                                                   \
            alen = sizeof args - 1;                                                                \
    } while (0)
    bool has_ch = false;
    for (int k = 0; k < np; k++)
        has_ch |= d->params[k].role == ROLE_CH;
    const char *sep = "";
    ARGS_PUT("[");
    if (d->kind == DECL_BLOCK && has_ch && input.k == VAL_TENSOR) {
        const sn_shape *s = sn_lang_shape(E, input.u.t);
        ARGS_PUT("%lld", (long long)(s->ndim > 1 ? s->d[1] : 0));
        sep = ", ";
    }
    for (int k = 1, j = 0; k < np; k++) {
        if (k == rep) {
            ARGS_PUT("%s%lld", sep, (long long)n);
        } else if (j < npos) {
            ARGS_PUT("%s%s", sep, sn_lang_repr(E->A, &posv[j++]));
        } else {
            break;
        }
        sep = ", ";
    }
    if (d->kind == DECL_BLOCK && input.k == VAL_LIST) {
        ARGS_PUT("%s[", sep);
        for (int k = 0; k < input.u.l->n; k++) {
            const Value *x = &input.u.l->v[k];
            const sn_shape *s = x->k == VAL_TENSOR ? sn_lang_shape(E, x->u.t) : NULL;
            ARGS_PUT("%s%lld", k ? ", " : "", (long long)(s && s->ndim > 1 ? s->d[1] : 0));
        }
        ARGS_PUT("]");
        sep = ", ";
    }
    for (int k = 0; k < nkw; k++) {
        ARGS_PUT("%s%s=%s", sep, kwn[k], sn_lang_repr(E->A, &kwv[k]));
        sep = ", ";
    }
    ARGS_PUT("]");
#undef ARGS_PUT

    const char *prefix = sn_lang_fmt(E->A, "model.%d", i);
    if (!prefix)
        return oom(E, MF, L->loc);
    int rc = call_decl(E, MF, call->loc, d, vals, have, locs, prefix, false, out);

    row->index = i;
    row->nfrom = nfrom;
    memcpy(row->from, from, sizeof(int) * (size_t)nfrom);
    row->repeats = (int)n;
    copy_trunc(row->module, sizeof row->module, d->name);
    copy_trunc(row->args, sizeof row->args, args);
    return rc;
}

static int bind_scale(Elab *E, Frame *MF, ModelDecl *M, const char *want, ScaleVals *sv,
                      const char **chosen) {
    sv->depth = sv->width = 1.0;
    sv->max_channels = INFINITY;
    *chosen = "";
    if (!M->has_scales || M->nscales == 0) {
        if (want && want[0])
            return sn_lang_eerr(E, MF, M->loc, "unknown scale '%s': model '%s' has no scales table",
                                want, M->name);
        return 0;
    }
    ScaleRow *row = NULL;
    if (!want || !want[0]) {
        row = &M->scales[0];
    } else {
        for (int i = 0; i < M->nscales; i++)
            if (strcmp(M->scales[i].name, want) == 0)
                row = &M->scales[i];
    }
    if (!row) {
        char names[256] = "";
        size_t k = 0;
        for (int i = 0; i < M->nscales && k < sizeof names - 8; i++)
            k += (size_t)snprintf(names + k, sizeof names - k, "%s%s", i ? ", " : "",
                                  M->scales[i].name);
        return sn_lang_eerr(E, MF, M->scales_loc, "unknown scale '%s' (model '%s' has %s)", want,
                            M->name, names);
    }
    Value v;
    if (eval(E, MF, row->value, &v))
        return -1;
    if (v.k != VAL_LIST || v.u.l->n < 2 || v.u.l->n > 3 || !is_num(&v.u.l->v[0]) ||
        !is_num(&v.u.l->v[1]) || (v.u.l->n == 3 && v.u.l->v[2].k != VAL_INT))
        return sn_lang_eerr(E, MF, row->value->loc,
                            "a scale row is [depth, width] or [depth, width, max_channels]");
    sv->depth = num(&v.u.l->v[0]);
    sv->width = num(&v.u.l->v[1]);
    if (v.u.l->n == 3)
        sv->max_channels = (double)v.u.l->v[2].u.i;
    if (!(sv->depth > 0 && sv->depth <= 100 && sv->width > 0 && sv->width <= 100 &&
          sv->max_channels >= 1))
        return sn_lang_eerr(E, MF, row->value->loc, "scale values out of range");
    *chosen = row->name;
    return 0;
}

sn_status sn_lang_elab(Prog *P, const sn_fe_options *o, const char *want_scale, sn_fe_model *m) {
    ModelDecl *M = P->model;
    Diag *D = P->D;
    if (!M) {
        sn_lang_error_plain(D, "%s: no model defined (expected 'model NAME { … }')",
                            D->files[P->main_file]->path);
        return SN_ERR_INVALID;
    }
    Elab E0 = {
        .P = P, .D = D, .A = P->A, .batch = o->batch, .height = o->height, .width = o->width};
    Elab *E = &E0;
    Frame *MF = frame_new(E, NULL, NULL, M->loc, "");
    if (!MF)
        return SN_ERR_NOMEM;
    int before = D->nerr;

    ScaleVals sv;
    const char *scale;
    if (bind_scale(E, MF, M, want_scale, &sv, &scale))
        return SN_ERR_INVALID;
    const char *kw_scale = sn_lang_intern(&P->I, P->A, "scale", 5);
    const char *kw_depth = sn_lang_intern(&P->I, P->A, "depth", 5);
    const char *kw_width = sn_lang_intern(&P->I, P->A, "width", 5);
    const char *kw_maxc = sn_lang_intern(&P->I, P->A, "max_channels", 12);
    const char *kw_nc = sn_lang_intern(&P->I, P->A, "nc", 2);
    if (!kw_scale || !kw_depth || !kw_width || !kw_maxc || !kw_nc)
        return SN_ERR_NOMEM;
    Value maxc = isinf(sv.max_channels) ? (Value){.k = VAL_NONE}
                                        : (Value){.k = VAL_INT, .u.i = (int64_t)sv.max_channels};
    if (frame_set(E, MF, M->loc, kw_scale, (Value){.k = VAL_STR, .u.s = scale}) ||
        frame_set(E, MF, M->loc, kw_depth, (Value){.k = VAL_FLOAT, .u.f = sv.depth}) ||
        frame_set(E, MF, M->loc, kw_width, (Value){.k = VAL_FLOAT, .u.f = sv.width}) ||
        frame_set(E, MF, M->loc, kw_maxc, maxc))
        return SN_ERR_NOMEM;
    for (int i = 0; i < M->props.n; i++) {
        Stmt *s = M->props.items[i];
        if (s->ntargets == 1 && s->targets[0] == kw_nc && o->nc > 0) {
            if (frame_set(E, MF, s->loc, kw_nc, (Value){.k = VAL_INT, .u.i = o->nc}))
                return SN_ERR_NOMEM;
            continue;
        }
        Value ignored;
        if (exec_stmt(E, MF, s, &ignored) < 0 && (E->abort || sn_lang_too_many(D)))
            return SN_ERR_INVALID;
    }
    if (D->nerr != before)
        return SN_ERR_INVALID;
    Value *ncv = frame_get(MF, kw_nc);
    if (!ncv) {
        if (o->nc <= 0) {
            sn_lang_error(D, M->loc, "model '%s' does not set 'nc' (the number of classes)",
                          M->name);
            return SN_ERR_INVALID;
        }
        if (frame_set(E, MF, M->loc, kw_nc, (Value){.k = VAL_INT, .u.i = o->nc}))
            return SN_ERR_NOMEM;
        ncv = frame_get(MF, kw_nc);
    }
    if (ncv->k != VAL_INT || ncv->u.i < 1 || ncv->u.i > 100000) {
        sn_lang_error(D, M->loc, "'nc' must be an int from 1 to 100000, got %s",
                      sn_lang_repr(P->A, ncv));
        return SN_ERR_INVALID;
    }
    E->nc = (int)ncv->u.i;

    E->g = sn_ir_graph_new();
    if (!E->g)
        return SN_ERR_NOMEM;
    sn_shape is = {4, {o->batch, 3, o->height, o->width}};
    int32_t in = sn_ir_input(E->g, "images", &is);
    if (in < 0) {
        sn_ir_graph_free(E->g);
        return SN_ERR_NOMEM;
    }
    sn_ir_set_src(E->g, in, sn_lang_loc_prov(D, P->A, M->loc));

    int nl = M->nlayers;
    Value *outs = sn_lang_alloc(P->A, sizeof(Value) * (size_t)(nl ? nl : 1));
    bool *failed = sn_lang_alloc(P->A, sizeof(bool) * (size_t)(nl ? nl : 1));
    m->layers = calloc((size_t)(nl ? nl : 1), sizeof *m->layers);
    if (!outs || !failed || !m->layers) {
        sn_ir_graph_free(E->g);
        return SN_ERR_NOMEM;
    }
    m->nlayers = nl;
    for (int i = 0; i < nl && !E->abort && !sn_lang_too_many(D); i++) {
        LayerLine *L = &M->layers[i];
        if (L->index != i)
            sn_lang_error(D, L->loc, "layer index %d is out of order: expected %d", L->index, i);
        int32_t n0 = E->g->nnodes;
        int rc = run_layer(E, MF, &sv, L, i, outs, failed, &m->layers[i], &outs[i]);
        failed[i] = rc != 0;
        const char *prov = sn_lang_loc_prov(D, P->A, L->loc);
        int64_t params = 0;
        for (int32_t k = n0; k < E->g->nnodes; k++) {
            sn_ir_node *nd = &E->g->nodes[k];
            if (prov && !nd->src)
                nd->src = sn_ir_str(E->g, prov);
            if (nd->op == SN_OP_PARAM &&
                !(nd->ia[0] == SN_IR_INIT_BN_MEAN || nd->ia[0] == SN_IR_INIT_BN_VAR))
                params += sn_shape_numel(&nd->shape);
        }
        m->layers[i].params = params;
        if (rc == 0 && outs[i].k != VAL_TENSOR && outs[i].k != VAL_LIST) {
            sn_lang_error(D, L->call->loc, "layer %d produced %s; a layer must produce a tensor", i,
                          sn_lang_type_name(&outs[i]));
            failed[i] = true;
        }
    }
    if (D->nerr == before && nl == 0)
        sn_lang_error(D, M->layers_loc, "model '%s' has no layers", M->name);
    if (D->nerr == before && nl > 0 && outs[nl - 1].k != VAL_TENSOR)
        sn_lang_error(D, M->layers[nl - 1].call->loc,
                      "the last layer must produce a tensor (the model's output), got %s",
                      sn_lang_type_name(&outs[nl - 1]));
    if (D->nerr != before || E->abort) {
        if (D->nerr == before)
            sn_lang_error_plain(D, "elaboration stopped");
        sn_ir_graph_free(E->g);
        return SN_ERR_INVALID;
    }
    sn_ir_mark_output(E->g, outs[nl - 1].u.t);
    m->graph = E->g;
    m->nc = E->nc;
    snprintf(m->scale, sizeof m->scale, "%s", scale);
    /* "yolov8" + "n" → "yolov8n"; "yolov5u" + "n" → "yolov5nu" (the scale goes after the digits) */
    const char *name = M->name;
    size_t len = strlen(name), at = len;
    for (size_t k = len; k > 0; k--)
        if (name[k - 1] >= '0' && name[k - 1] <= '9') {
            at = k;
            break;
        }
    snprintf(m->name, sizeof m->name, "%.*s%s%s", (int)at, name, scale, name + at);
    return SN_OK;
}
