/* frontend/check.c — static checks before anything runs.
 *
 * Every block, fn and the model are checked, used or not, so one run reports many mistakes:
 *   - each name is a parameter, assigned somewhere in the same block (Python-like scope: one
 *     scope per block, `if`/`for` do not open new ones), or a model variable;
 *   - each call names a block, fn or built-in; positional count, keyword names, duplicates
 *     and missing required arguments are checked against its parameters;
 *   - `as` names module instances only (blocks and built-ins, not fns);
 *   - a layer calls a block or a built-in; its repeats go to the `rep` parameter and its input
 *     to the first one, so neither may be given explicitly.
 * Unknown names come with a "did you mean" when a close spelling exists.
 */
#include "frontend/lang_int.h"

#include <string.h>

/* The names of one scope: a pointer hash set (names are interned). */
typedef struct Scope {
    const char **names; /* open addressing, NULL = empty */
    int n, cap;
} Scope;

typedef struct Checker {
    Prog *P;
    Diag *D;
    LArena *A;
    bool ok;
} Checker;

static bool scope_has(const Scope *s, const char *name) {
    if (!s->cap)
        return false;
    uint32_t mask = (uint32_t)s->cap - 1;
    for (uint32_t h = sn_lang_ptr_hash(name) & mask; s->names[h]; h = (h + 1) & mask)
        if (s->names[h] == name)
            return true;
    return false;
}

static void scope_add(Checker *C, Scope *s, const char *name) {
    if (!name || scope_has(s, name))
        return;
    if ((s->n + 1) * 2 > s->cap) {
        int ncap = s->cap ? s->cap * 2 : 32;
        const char **nn = sn_lang_alloc(C->A, (size_t)ncap * sizeof *nn);
        if (!nn)
            return;
        for (int i = 0; i < s->cap; i++) {
            if (!s->names[i])
                continue;
            uint32_t h = sn_lang_ptr_hash(s->names[i]) & (uint32_t)(ncap - 1);
            while (nn[h])
                h = (h + 1) & (uint32_t)(ncap - 1);
            nn[h] = s->names[i];
        }
        s->names = nn;
        s->cap = ncap;
    }
    uint32_t h = sn_lang_ptr_hash(name) & (uint32_t)(s->cap - 1);
    while (s->names[h])
        h = (h + 1) & (uint32_t)(s->cap - 1);
    s->names[h] = name;
    s->n++;
}

static void collect(Checker *C, Scope *s, StmtList *L, int depth) {
    if (depth > LANG_MAX_PARSE_DEPTH + 2)
        return;
    for (int i = 0; i < L->n; i++) {
        Stmt *st = L->items[i];
        if (st->kind == ST_ASSIGN || st->kind == ST_FOR)
            for (int k = 0; k < st->ntargets; k++)
                scope_add(C, s, st->targets[k]);
        collect(C, s, &st->body, depth + 1);
        collect(C, s, &st->orelse, depth + 1);
    }
}

/* Edit distance, for "did you mean". */
static int distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    int prev[65], cur[65];
    for (int j = 0; j <= lb; j++)
        prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int c = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < c)
                c = prev[j] + 1;
            if (cur[j - 1] + 1 < c)
                c = cur[j - 1] + 1;
            cur[j] = c;
        }
        memcpy(prev, cur, sizeof(int) * (size_t)(lb + 1));
    }
    return prev[lb];
}

static const char *suggest(Checker *C, const Scope *s, const char *name, bool callables) {
    const char *best = NULL;
    int bd = (int)strlen(name) <= 3 ? 1 : 2;
    bd++;
    if (s && !callables)
        for (int i = 0; i < s->cap; i++) {
            if (!s->names[i])
                continue;
            int d = distance(name, s->names[i]);
            if (d < bd || (d == bd && best && strcmp(s->names[i], best) < 0))
                bd = d, best = s->names[i];
        }
    if (callables)
        for (int i = 0; i < C->P->norder; i++) {
            int d = distance(name, C->P->order[i]->name);
            if (d < bd)
                bd = d, best = C->P->order[i]->name;
        }
    return best;
}

static void cerr(Checker *C, Loc loc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void cerr(Checker *C, Loc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sn_lang_verror(C->D, loc, "error", fmt, ap);
    va_end(ap);
    C->ok = false;
}

static const char *kind_name(const Decl *d) {
    return d->kind == DECL_BLOCK ? "block" : d->kind == DECL_FN ? "function" : "built-in";
}

static void check_expr(Checker *C, Scope *s, Expr *e, int depth);

/* layer: the call is a layer's module (input and repeats come from the table). */
static void check_call(Checker *C, Scope *s, Expr *e, int depth, bool layer) {
    Decl *d = sn_lang_decl_find(C->P, e->name);
    e->callee = d;
    for (int i = 0; i < e->nargs; i++)
        check_expr(C, s, e->args[i].value, depth + 1);
    if (e->as)
        for (int i = 0; i < e->as->n; i++)
            if (e->as->seg[i].index)
                check_expr(C, s, e->as->seg[i].index, depth + 1);
    if (!d) {
        const char *hint = suggest(C, NULL, e->name, true);
        if (scope_has(s, e->name))
            cerr(C, e->loc, "'%s' is a variable, not a block or function", e->name);
        else if (hint)
            cerr(C, e->loc, "unknown block or function '%s'; did you mean '%s'?", e->name, hint);
        else
            cerr(C, e->loc, "unknown block or function '%s'", e->name);
        return;
    }
    if (layer && d->kind == DECL_FN) {
        cerr(C, e->loc, "'%s' is a function; a layer must call a block or a built-in op", e->name);
        return;
    }
    if (e->as && layer) {
        cerr(C, e->as->loc, "a layer is named model.<index>; 'as' is not allowed here");
        return;
    }
    if (e->as && d->kind == DECL_FN) {
        cerr(C, e->as->loc, "'as' names a module instance, but '%s' is a function", e->name);
        return;
    }
    if (d->variadic) {
        if (layer)
            cerr(C, e->loc, "'%s' cannot be a layer", e->name);
        for (int i = 0; i < e->nargs; i++)
            if (e->args[i].kw)
                cerr(C, e->args[i].loc, "'%s' takes no keyword arguments", e->name);
        return;
    }
    int np = d->nparams, rep = -1;
    if (layer) {
        if (np == 0) {
            cerr(C, e->loc, "'%s' takes no parameters, so it cannot take a layer's input", e->name);
            return;
        }
        for (int k = 0; k < np; k++)
            if (d->params[k].role == ROLE_REP)
                rep = k;
    }
    bool given[16] = {false};
    if (layer) {
        given[0] = true;
        if (rep >= 0)
            given[rep] = true;
    }
    int next = layer ? 1 : 0;
    for (int i = 0; i < e->nargs; i++) {
        Arg *a = &e->args[i];
        int slot = -1;
        if (a->kw) {
            for (int k = 0; k < np; k++)
                if (d->params[k].name == a->kw)
                    slot = k;
            if (slot < 0) {
                cerr(C, a->loc, "%s '%s' has no parameter named '%s'", kind_name(d), d->name,
                     a->kw);
                continue;
            }
            if (layer && slot == 0) {
                cerr(C, a->loc, "'%s' is the layer's input; it comes from the 'from' column",
                     a->kw);
                continue;
            }
            if (slot == rep) {
                cerr(C, a->loc, "'%s' is set by the layer's repeats column", a->kw);
                continue;
            }
        } else {
            while (next < np && next == rep)
                next++;
            if (next >= np) {
                int max = np - (layer ? 1 : 0) - (rep >= 0 ? 1 : 0);
                cerr(C, a->loc, "too many arguments: %s '%s' takes at most %d%s", kind_name(d),
                     d->name, max, layer ? " besides the layer input" : "");
                return;
            }
            slot = next++;
        }
        if (given[slot]) {
            cerr(C, a->loc, "argument '%s' is given twice", d->params[slot].name);
            continue;
        }
        given[slot] = true;
    }
    for (int k = 0; k < np; k++)
        if (!given[k] && !d->params[k].def)
            cerr(C, e->loc, "missing argument '%s' in the call to %s '%s'", d->params[k].name,
                 kind_name(d), d->name);
}

static void check_expr(Checker *C, Scope *s, Expr *e, int depth) {
    if (!e || depth > 4 * LANG_MAX_PARSE_DEPTH || sn_lang_too_many(C->D))
        return;
    switch (e->kind) {
    case EX_NAME:
        if (!scope_has(s, e->name)) {
            Decl *d = sn_lang_decl_find(C->P, e->name);
            const char *hint = suggest(C, s, e->name, false);
            if (d)
                cerr(C, e->loc, "'%s' is a %s; call it with (…)", e->name, kind_name(d));
            else if (hint)
                cerr(C, e->loc, "unknown name '%s'; did you mean '%s'?", e->name, hint);
            else
                cerr(C, e->loc, "unknown name '%s'", e->name);
        }
        return;
    case EX_LIST:
        for (int i = 0; i < e->nitems; i++)
            check_expr(C, s, e->items[i], depth + 1);
        return;
    case EX_CALL:
        check_call(C, s, e, depth, false);
        return;
    default:
        check_expr(C, s, e->a, depth + 1);
        check_expr(C, s, e->b, depth + 1);
        check_expr(C, s, e->c, depth + 1);
        return;
    }
}

static void check_stmts(Checker *C, Scope *s, StmtList *L, int depth) {
    if (depth > LANG_MAX_PARSE_DEPTH + 2)
        return;
    for (int i = 0; i < L->n; i++) {
        Stmt *st = L->items[i];
        check_expr(C, s, st->value, 0);
        check_stmts(C, s, &st->body, depth + 1);
        check_stmts(C, s, &st->orelse, depth + 1);
    }
}

bool sn_lang_check(Prog *P) {
    Checker C = {.P = P, .D = P->D, .A = P->A, .ok = true};
    for (int i = 0; i < P->norder && !sn_lang_too_many(P->D); i++) {
        Decl *d = P->order[i];
        if (d->kind == DECL_BUILTIN)
            continue;
        Scope s = {0};
        for (int k = 0; k < d->nparams; k++)
            scope_add(&C, &s, d->params[k].name);
        if (d->kind == DECL_BLOCK)
            collect(&C, &s, &d->body, 0);
        for (int k = 0; k < d->nparams; k++)
            check_expr(&C, &s, d->params[k].def, 0);
        if (d->kind == DECL_BLOCK)
            check_stmts(&C, &s, &d->body, 0);
        else
            check_expr(&C, &s, d->expr, 0);
    }
    ModelDecl *M = P->model;
    if (M && !sn_lang_too_many(P->D)) {
        Scope s = {0};
        static const char *const vars[] = {"nc", "scale", "depth", "width", "max_channels"};
        for (size_t k = 0; k < sizeof vars / sizeof *vars; k++)
            scope_add(&C, &s, sn_lang_intern(&P->I, P->A, vars[k], strlen(vars[k])));
        Scope rows = {0}; /* scale rows see nothing but literals and fns */
        for (int k = 0; k < M->nscales; k++)
            check_expr(&C, &rows, M->scales[k].value, 0);
        collect(&C, &s, &M->props, 0);
        check_stmts(&C, &s, &M->props, 0);
        for (int k = 0; k < M->nlayers && !sn_lang_too_many(P->D); k++) {
            LayerLine *L = &M->layers[k];
            check_expr(&C, &s, L->from, 0);
            check_expr(&C, &s, L->repeats, 0);
            check_call(&C, &s, L->call, 0, true);
        }
    }
    return C.ok && !P->A->failed;
}
