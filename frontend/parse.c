/* frontend/parse.c — recursive-descent parser of the model language (docs/language.md).
 *
 * Each grammar rule is written as a comment above its function. Errors are reported at the
 * offending token; the statement (or item) is then skipped up to the next NEWLINE at the same
 * brace level, so one run reports many syntax errors. Nesting is bounded by
 * LANG_MAX_PARSE_DEPTH, so no input can exhaust the C stack.
 */
#include "frontend/lang_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct Parser {
    Prog *P;
    Diag *D;
    LArena *A;
    Tok *tok;
    int ntok, pos;
    int file;
    bool is_main, prelude;
    int depth;
    bool oom;
} Parser;

static Tok *peek(Parser *p) { return &p->tok[p->pos]; }
static Tok *peek2(Parser *p) { return &p->tok[p->pos + 1 < p->ntok ? p->pos + 1 : p->pos]; }
static Tok *next(Parser *p) {
    Tok *t = &p->tok[p->pos];
    if (t->kind != TK_EOF)
        p->pos++;
    return t;
}

static bool is_punct(Tok *t, const char *s) {
    return t->kind == TK_PUNCT && strcmp(t->text, s) == 0;
}
static bool is_kw(Tok *t, const char *s) {
    return t->kind == TK_KEYWORD && strcmp(t->text, s) == 0;
}
static bool is_ident(Tok *t, const char *s) {
    return t->kind == TK_IDENT && strcmp(t->text, s) == 0;
}

static const char *tok_desc(Parser *p, Tok *t) {
    switch (t->kind) {
    case TK_EOF:
        return "end of file";
    case TK_NEWLINE:
        return "end of line";
    case TK_INT:
    case TK_FLOAT:
        return "a number";
    case TK_STR:
        return "a string";
    case TK_IDENT:
    case TK_KEYWORD:
    case TK_PUNCT:
        return sn_lang_fmt(p->A, "'%s'", t->text);
    case TK_ERROR:
        return "an invalid token";
    }
    return "?";
}

static void *perr(Parser *p, Tok *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void *perr(Parser *p, Tok *t, const char *fmt, ...) {
    if (t->kind == TK_ERROR)
        return NULL; /* the lexer reported it */
    va_list ap;
    va_start(ap, fmt);
    sn_lang_verror(p->D, t->loc, "error", fmt, ap);
    va_end(ap);
    return NULL;
}

static bool expect_punct(Parser *p, const char *s, const char *context) {
    if (is_punct(peek(p), s)) {
        next(p);
        return true;
    }
    perr(p, peek(p), "expected '%s' %s, found %s", s, context, tok_desc(p, peek(p)));
    return false;
}

static void skip_newlines(Parser *p) {
    while (peek(p)->kind == TK_NEWLINE)
        next(p);
}

/* Error recovery: skip to the end of the current line (consuming the NEWLINE), or stop before
 * a '}' that closes the enclosing braces. */
static void sync(Parser *p) {
    int braces = 0;
    for (;;) {
        Tok *t = peek(p);
        if (t->kind == TK_EOF)
            return;
        if (t->kind == TK_NEWLINE && braces == 0) {
            next(p);
            return;
        }
        if (is_punct(t, "{"))
            braces++;
        if (is_punct(t, "}")) {
            if (braces == 0)
                return;
            braces--;
        }
        next(p);
    }
}

static bool enter(Parser *p, Tok *t) {
    if (++p->depth > LANG_MAX_PARSE_DEPTH) {
        perr(p, t, "nesting too deep (more than %d levels)", LANG_MAX_PARSE_DEPTH);
        p->depth--;
        return false;
    }
    return true;
}
#define LEAVE(p, v) return ((p)->depth--, (v))

static Expr *new_expr(Parser *p, ExprKind k, Loc loc) {
    Expr *e = sn_lang_alloc(p->A, sizeof *e);
    if (!e) {
        p->oom = true;
        return NULL;
    }
    e->kind = k;
    e->loc = loc;
    return e;
}

static Expr *expr(Parser *p);

/* path = IDENT { "." IDENT | "[" expr "]" } */
static Path *path(Parser *p) {
    Path *pa = sn_lang_alloc(p->A, sizeof *pa);
    if (!pa)
        return NULL;
    int cap = 0;
    Tok *t = peek(p);
    pa->loc = t->loc;
    if (t->kind != TK_IDENT)
        return perr(p, t, "expected a module name after 'as', found %s", tok_desc(p, t));
    next(p);
    PathSeg s = {.name = t->text, .loc = t->loc};
    if (!LANG_PUSH(p->A, pa->seg, pa->n, cap, s))
        return NULL;
    for (;;) {
        t = peek(p);
        if (is_punct(t, ".")) {
            next(p);
            Tok *id = peek(p);
            if (id->kind != TK_IDENT)
                return perr(p, id, "expected a name after '.', found %s", tok_desc(p, id));
            next(p);
            s = (PathSeg){.name = id->text, .loc = id->loc};
        } else if (is_punct(t, "[")) {
            next(p);
            Expr *ix = expr(p);
            if (!ix || !expect_punct(p, "]", "after the index"))
                return NULL;
            s = (PathSeg){.index = ix, .loc = t->loc};
        } else {
            return pa;
        }
        if (!LANG_PUSH(p->A, pa->seg, pa->n, cap, s))
            return NULL;
    }
}

/* call = IDENT "(" [ arg { "," arg } [","] ] ")" [ "as" path ]
 * arg  = [ IDENT "=" ] expr */
static Expr *call(Parser *p) {
    Tok *id = next(p);
    Expr *e = new_expr(p, EX_CALL, id->loc);
    if (!e)
        return NULL;
    e->name = id->text;
    Tok *open = next(p); /* ( */
    int cap = 0;
    bool seen_kw = false;
    skip_newlines(p);
    while (!is_punct(peek(p), ")")) {
        Tok *t = peek(p);
        Arg a = {.loc = t->loc};
        if (t->kind == TK_IDENT && is_punct(peek2(p), "=")) {
            a.kw = t->text;
            next(p);
            next(p);
            seen_kw = true;
        } else if (seen_kw) {
            return perr(p, t, "positional argument after a keyword argument");
        }
        a.value = expr(p);
        if (!a.value)
            return NULL;
        if (!LANG_PUSH(p->A, e->args, e->nargs, cap, a))
            return NULL;
        if (e->nargs > 64)
            return perr(p, t, "too many arguments (at most 64)");
        if (is_punct(peek(p), ",")) {
            next(p);
            continue;
        }
        if (!is_punct(peek(p), ")")) {
            Tok *t2 = peek(p);
            perr(p, t2, "expected ',' or ')' in the arguments of '%s', found %s", e->name,
                 tok_desc(p, t2));
            if (t2->kind != TK_ERROR && t2->loc.line != open->loc.line)
                sn_lang_note(p->D, open->loc, "the '(' opened here is not closed");
            return NULL;
        }
    }
    next(p); /* ) */
    if (is_kw(peek(p), "as")) {
        next(p);
        e->as = path(p);
        if (!e->as)
            return NULL;
    }
    return e;
}

/* primary = INT | FLOAT | STRING | "true" | "false" | "none" | call | IDENT
 *         | "(" expr ")" | "[" [ expr { "," expr } [","] ] "]" */
static Expr *primary(Parser *p) {
    Tok *t = peek(p);
    Expr *e;
    switch (t->kind) {
    case TK_INT:
        next(p);
        if (!(e = new_expr(p, EX_INT, t->loc)))
            return NULL;
        e->ival = t->ival;
        return e;
    case TK_FLOAT:
        next(p);
        if (!(e = new_expr(p, EX_FLOAT, t->loc)))
            return NULL;
        e->fval = t->fval;
        return e;
    case TK_STR:
        next(p);
        if (!(e = new_expr(p, EX_STR, t->loc)))
            return NULL;
        e->name = t->text;
        return e;
    case TK_KEYWORD:
        if (is_kw(t, "true") || is_kw(t, "false")) {
            next(p);
            if (!(e = new_expr(p, EX_BOOL, t->loc)))
                return NULL;
            e->ival = is_kw(t, "true");
            return e;
        }
        if (is_kw(t, "none")) {
            next(p);
            return new_expr(p, EX_NONE, t->loc);
        }
        break;
    case TK_IDENT:
        if (is_punct(peek2(p), "("))
            return call(p);
        next(p);
        if (!(e = new_expr(p, EX_NAME, t->loc)))
            return NULL;
        e->name = t->text;
        return e;
    case TK_PUNCT:
        if (is_punct(t, "(")) {
            next(p);
            e = expr(p);
            if (!e || !expect_punct(p, ")", "to close '('"))
                return NULL;
            return e;
        }
        if (is_punct(t, "[")) {
            next(p);
            if (!(e = new_expr(p, EX_LIST, t->loc)))
                return NULL;
            int cap = 0;
            while (!is_punct(peek(p), "]")) {
                Expr *it = expr(p);
                if (!it || !LANG_PUSH(p->A, e->items, e->nitems, cap, it))
                    return NULL;
                if (is_punct(peek(p), ",")) {
                    next(p);
                    continue;
                }
                if (!is_punct(peek(p), "]"))
                    return perr(p, peek(p), "expected ',' or ']' in a list, found %s",
                                tok_desc(p, peek(p)));
            }
            next(p);
            return e;
        }
        break;
    default:
        break;
    }
    return perr(p, t, "expected an expression, found %s", tok_desc(p, t));
}

/* postfix = primary { "[" expr "]" } */
static Expr *postfix(Parser *p) {
    Expr *e = primary(p);
    while (e && is_punct(peek(p), "[")) {
        Tok *t = next(p);
        Expr *ix = new_expr(p, EX_INDEX, t->loc);
        if (!ix)
            return NULL;
        ix->a = e;
        ix->b = expr(p);
        if (!ix->b || !expect_punct(p, "]", "after the index"))
            return NULL;
        e = ix;
    }
    return e;
}

static Expr *unary(Parser *p);

/* power = postfix [ "**" unary ]          (right-associative; -2 ** 2 = -(2 ** 2)) */
static Expr *power(Parser *p) {
    Expr *e = postfix(p);
    if (e && is_punct(peek(p), "**")) {
        Tok *t = next(p);
        Expr *b = new_expr(p, EX_BINARY, t->loc);
        if (!b)
            return NULL;
        b->op = BIN_POW;
        b->a = e;
        b->b = unary(p);
        return b->b ? b : NULL;
    }
    return e;
}

/* unary = ("-" | "+") unary | power */
static Expr *unary(Parser *p) {
    Tok *t = peek(p);
    if (!enter(p, t))
        return NULL;
    if (is_punct(t, "-") || is_punct(t, "+")) {
        next(p);
        Expr *e = new_expr(p, is_punct(t, "-") ? EX_NEG : EX_POS, t->loc);
        if (!e)
            LEAVE(p, NULL);
        e->a = unary(p);
        LEAVE(p, e->a ? e : NULL);
    }
    Expr *e = power(p);
    LEAVE(p, e);
}

static Expr *binary(Parser *p, Tok *t, BinOp op, Expr *a, Expr *b) {
    if (!a || !b)
        return NULL;
    Expr *e = new_expr(p, EX_BINARY, t->loc);
    if (!e)
        return NULL;
    e->op = op;
    e->a = a;
    e->b = b;
    return e;
}

/* term = unary { ("*" | "/" | "//" | "%") unary } */
static Expr *term(Parser *p) {
    Expr *e = unary(p);
    for (;;) {
        Tok *t = peek(p);
        BinOp op;
        if (is_punct(t, "*"))
            op = BIN_MUL;
        else if (is_punct(t, "/"))
            op = BIN_DIV;
        else if (is_punct(t, "//"))
            op = BIN_FLOORDIV;
        else if (is_punct(t, "%"))
            op = BIN_MOD;
        else
            return e;
        if (!e)
            return NULL;
        next(p);
        e = binary(p, t, op, e, unary(p));
    }
}

/* arith = term { ("+" | "-") term } */
static Expr *arith(Parser *p) {
    Expr *e = term(p);
    for (;;) {
        Tok *t = peek(p);
        BinOp op;
        if (is_punct(t, "+"))
            op = BIN_ADD;
        else if (is_punct(t, "-"))
            op = BIN_SUB;
        else
            return e;
        if (!e)
            return NULL;
        next(p);
        e = binary(p, t, op, e, term(p));
    }
}

static bool cmp_op(Parser *p, BinOp *op) {
    Tok *t = peek(p);
    if (is_punct(t, "=="))
        *op = BIN_EQ;
    else if (is_punct(t, "!="))
        *op = BIN_NE;
    else if (is_punct(t, "<"))
        *op = BIN_LT;
    else if (is_punct(t, "<="))
        *op = BIN_LE;
    else if (is_punct(t, ">"))
        *op = BIN_GT;
    else if (is_punct(t, ">="))
        *op = BIN_GE;
    else if (is_kw(t, "in"))
        *op = BIN_IN;
    else if (is_kw(t, "not") && is_kw(peek2(p), "in"))
        *op = BIN_NOTIN;
    else
        return false;
    return true;
}

/* comparison = arith [ ("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") arith ]
 * Comparisons do not chain. */
static Expr *comparison(Parser *p) {
    Expr *e = arith(p);
    BinOp op;
    if (!e || !cmp_op(p, &op))
        return e;
    Tok *t = next(p);
    if (op == BIN_NOTIN)
        next(p);
    e = binary(p, t, op, e, arith(p));
    if (e && cmp_op(p, &op))
        return perr(p, peek(p), "comparisons do not chain; combine them with 'and'");
    return e;
}

/* not_expr = "not" not_expr | comparison */
static Expr *not_expr(Parser *p) {
    Tok *t = peek(p);
    if (is_kw(t, "not")) {
        if (!enter(p, t))
            return NULL;
        next(p);
        Expr *e = new_expr(p, EX_NOT, t->loc);
        if (!e)
            LEAVE(p, NULL);
        e->a = not_expr(p);
        LEAVE(p, e->a ? e : NULL);
    }
    return comparison(p);
}

/* operand { kw operand }, left-associative, as `kind` nodes */
static Expr *logic_chain(Parser *p, const char *kw, ExprKind kind, Expr *(*operand)(Parser *)) {
    Expr *e = operand(p);
    while (e && is_kw(peek(p), kw)) {
        Tok *t = next(p);
        Expr *b = operand(p);
        if (!b)
            return NULL;
        Expr *n = new_expr(p, kind, t->loc);
        if (!n)
            return NULL;
        n->a = e;
        n->b = b;
        e = n;
    }
    return e;
}

/* and_expr = not_expr { "and" not_expr } */
static Expr *and_expr(Parser *p) { return logic_chain(p, "and", EX_AND, not_expr); }

/* or_expr = and_expr { "or" and_expr } */
static Expr *or_expr(Parser *p) { return logic_chain(p, "or", EX_OR, and_expr); }

/* expr = or_expr [ "?" expr ":" expr ] */
static Expr *expr(Parser *p) {
    Tok *start = peek(p);
    if (!enter(p, start))
        return NULL;
    Expr *e = or_expr(p);
    if (e && is_punct(peek(p), "?")) {
        Tok *t = next(p);
        Expr *c = new_expr(p, EX_COND, t->loc);
        if (!c)
            LEAVE(p, NULL);
        c->a = e;
        c->b = expr(p);
        if (!c->b || !expect_punct(p, ":", "in 'a ? b : c'"))
            LEAVE(p, NULL);
        c->c = expr(p);
        LEAVE(p, c->c ? c : NULL);
    }
    LEAVE(p, e);
}

/* ---------------------------------------------------------------- statements */

static bool stmt_list(Parser *p, StmtList *out);

/* brace_body = [NEWLINE] "{" stmts "}" */
static bool brace_body(Parser *p, StmtList *out, const char *what) {
    skip_newlines(p);
    if (!expect_punct(p, "{", what))
        return false;
    if (!stmt_list(p, out))
        return false;
    if (!is_punct(peek(p), "}")) {
        perr(p, peek(p), "expected '}' %s, found %s", "to close the block", tok_desc(p, peek(p)));
        return false;
    }
    next(p);
    return true;
}

static Stmt *new_stmt(Parser *p, StmtKind k, Loc loc) {
    Stmt *s = sn_lang_alloc(p->A, sizeof *s);
    if (!s) {
        p->oom = true;
        return NULL;
    }
    s->kind = k;
    s->loc = loc;
    return s;
}

/* if_stmt = "if" expr brace_body [ "else" ( if_stmt | brace_body ) ] */
static Stmt *if_stmt(Parser *p) {
    Tok *t = next(p);
    Stmt *s = new_stmt(p, ST_IF, t->loc);
    if (!s || !(s->value = expr(p)))
        return NULL;
    if (!brace_body(p, &s->body, "after the 'if' condition"))
        return NULL;
    /* allow "}\nelse" as well as "} else" */
    int save = p->pos;
    skip_newlines(p);
    if (!is_kw(peek(p), "else")) {
        p->pos = save;
        return s;
    }
    next(p);
    if (is_kw(peek(p), "if")) {
        if (!enter(p, peek(p)))
            return NULL;
        Stmt *nested = if_stmt(p);
        p->depth--;
        if (!nested)
            return NULL;
        int cap = 0;
        if (!LANG_PUSH(p->A, s->orelse.items, s->orelse.n, cap, nested))
            return NULL;
        return s;
    }
    if (!brace_body(p, &s->orelse, "after 'else'"))
        return NULL;
    return s;
}

/* stmt = if_stmt
 *      | "for" IDENT "in" expr brace_body
 *      | "return" expr
 *      | IDENT { "," IDENT } "=" expr
 *      | call                                (evaluated for its effect, e.g. assert) */
static Stmt *stmt(Parser *p) {
    Tok *t = peek(p);
    if (!enter(p, t))
        return NULL;
    Stmt *s = NULL;
    if (is_kw(t, "if")) {
        s = if_stmt(p);
    } else if (is_kw(t, "for")) {
        next(p);
        Tok *v = peek(p);
        if (v->kind != TK_IDENT)
            LEAVE(p, perr(p, v, "expected a loop variable after 'for', found %s", tok_desc(p, v)));
        next(p);
        if (!is_kw(peek(p), "in"))
            LEAVE(p, perr(p, peek(p), "expected 'in' after the loop variable, found %s",
                          tok_desc(p, peek(p))));
        next(p);
        s = new_stmt(p, ST_FOR, t->loc);
        if (!s)
            LEAVE(p, NULL);
        s->targets = sn_lang_alloc(p->A, sizeof *s->targets);
        s->target_locs = sn_lang_alloc(p->A, sizeof *s->target_locs);
        if (!s->targets || !s->target_locs)
            LEAVE(p, NULL);
        s->targets[0] = v->text;
        s->target_locs[0] = v->loc;
        s->ntargets = 1;
        if (!(s->value = expr(p)) || !brace_body(p, &s->body, "after the 'for' header"))
            s = NULL;
    } else if (is_kw(t, "return")) {
        next(p);
        s = new_stmt(p, ST_RETURN, t->loc);
        if (s && !(s->value = expr(p)))
            s = NULL;
    } else if (t->kind == TK_IDENT && (is_punct(peek2(p), "=") || is_punct(peek2(p), ","))) {
        s = new_stmt(p, ST_ASSIGN, t->loc);
        if (!s)
            LEAVE(p, NULL);
        int cap = 0, lcap = 0, nl = 0;
        for (;;) {
            Tok *id = peek(p);
            if (id->kind != TK_IDENT)
                LEAVE(p, perr(p, id, "expected a name to assign to, found %s", tok_desc(p, id)));
            next(p);
            for (int i = 0; i < s->ntargets; i++)
                if (s->targets[i] == id->text)
                    LEAVE(p, perr(p, id, "'%s' appears twice on the left of '='", id->text));
            if (!LANG_PUSH(p->A, s->targets, s->ntargets, cap, id->text) ||
                !LANG_PUSH(p->A, s->target_locs, nl, lcap, id->loc))
                LEAVE(p, NULL);
            if (s->ntargets > 64)
                LEAVE(p, perr(p, id, "too many names on the left of '='"));
            if (is_punct(peek(p), ",")) {
                next(p);
                continue;
            }
            break;
        }
        if (!expect_punct(p, "=", "after the names"))
            LEAVE(p, NULL);
        if (!(s->value = expr(p)))
            s = NULL;
    } else if (t->kind == TK_IDENT && is_punct(peek2(p), "(")) {
        Expr *e = expr(p);
        if (!e)
            LEAVE(p, NULL);
        if (e->kind != EX_CALL)
            LEAVE(p, perr(p, t,
                          "this expression has no effect (expected an assignment, 'if', 'for' or "
                          "'return')"));
        s = new_stmt(p, ST_EXPR, t->loc);
        if (s)
            s->value = e;
    } else {
        LEAVE(p, perr(p, t, "expected a statement, found %s", tok_desc(p, t)));
    }
    LEAVE(p, s);
}

/* stmts = { NEWLINE | stmt ( NEWLINE | before "}" ) } */
static bool stmt_list(Parser *p, StmtList *out) {
    int cap = 0;
    bool ok = true;
    for (;;) {
        skip_newlines(p);
        Tok *t = peek(p);
        if (is_punct(t, "}") || t->kind == TK_EOF)
            return ok && !p->oom;
        if (sn_lang_too_many(p->D) || p->oom)
            return false;
        Stmt *s = stmt(p);
        if (s && !(peek(p)->kind == TK_NEWLINE || is_punct(peek(p), "}"))) {
            perr(p, peek(p), "expected the end of the statement, found %s", tok_desc(p, peek(p)));
            s = NULL;
        }
        if (!s) {
            ok = false;
            sync(p);
            continue;
        }
        if (!LANG_PUSH(p->A, out->items, out->n, cap, s))
            return false;
    }
}

/* ---------------------------------------------------------------- items */

/* params = [ param { "," param } [","] ]
 * param  = IDENT [ ":" ("ch" | "rep") ] [ "=" expr ] */
static bool params(Parser *p, Decl *d) {
    int cap = 0;
    skip_newlines(p);
    while (!is_punct(peek(p), ")")) {
        Tok *t = peek(p);
        if (is_punct(t, ".") && p->prelude) { /* builtin f(...) */
            next(p), next(p), next(p);
            d->variadic = true;
            continue;
        }
        if (t->kind != TK_IDENT) {
            perr(p, t, "expected a parameter name, found %s", tok_desc(p, t));
            return false;
        }
        next(p);
        Param pa = {.name = t->text, .loc = t->loc};
        for (int i = 0; i < d->nparams; i++)
            if (d->params[i].name == t->text) {
                perr(p, t, "duplicate parameter '%s'", t->text);
                return false;
            }
        if (is_punct(peek(p), ":")) {
            next(p);
            Tok *r = peek(p);
            if (is_ident(r, "ch"))
                pa.role = ROLE_CH;
            else if (is_ident(r, "rep"))
                pa.role = ROLE_REP;
            else {
                perr(p, r, "unknown parameter role %s (expected 'ch' or 'rep')", tok_desc(p, r));
                return false;
            }
            next(p);
            for (int i = 0; pa.role == ROLE_REP && i < d->nparams; i++)
                if (d->params[i].role == ROLE_REP) {
                    perr(p, r, "only one parameter can have the role 'rep'");
                    return false;
                }
        }
        if (is_punct(peek(p), "=")) {
            next(p);
            if (!(pa.def = expr(p)))
                return false;
        }
        if (!LANG_PUSH(p->A, d->params, d->nparams, cap, pa))
            return false;
        if (d->nparams > 16) {
            perr(p, t, "too many parameters (at most 16)");
            return false;
        }
        skip_newlines(p);
        if (is_punct(peek(p), ",")) {
            next(p);
            skip_newlines(p);
            continue;
        }
        if (!is_punct(peek(p), ")")) {
            perr(p, peek(p), "expected ',' or ')' in the parameters, found %s",
                 tok_desc(p, peek(p)));
            return false;
        }
    }
    next(p);
    return true;
}

static Decl *decl_head(Parser *p, DeclKind k, const char *what) {
    Tok *kw = next(p);
    (void)kw;
    Tok *id = peek(p);
    if (id->kind != TK_IDENT)
        return perr(p, id, "expected the %s's name, found %s", what, tok_desc(p, id));
    next(p);
    Decl *d = sn_lang_alloc(p->A, sizeof *d);
    if (!d)
        return NULL;
    d->kind = k;
    d->name = id->text;
    d->loc = id->loc;
    if (!expect_punct(p, "(", "before the parameters"))
        return NULL;
    if (!params(p, d))
        return NULL;
    return d;
}

/* use = "use" STRING */
static bool use_item(Parser *p) {
    next(p);
    Tok *t = peek(p);
    if (t->kind != TK_STR) {
        perr(p, t, "expected a file name in quotes after 'use', found %s", tok_desc(p, t));
        return false;
    }
    next(p);
    const char *cur = p->D->files[p->file]->path;
    const char *slash = strrchr(cur, '/');
    const char *path = t->text[0] == '/' || !slash
                           ? t->text
                           : sn_lang_fmt(p->A, "%.*s/%s", (int)(slash - cur), cur, t->text);
    if (!path)
        return false;
    /* each file is read once (a file used twice, or a cycle, is not an error) */
    char *real = realpath(path, NULL);
    for (int i = 0; i < p->D->nfiles; i++) {
        char *other = realpath(p->D->files[i]->path, NULL);
        bool same = real && other && strcmp(real, other) == 0;
        free(other);
        if (same) {
            free(real);
            return true;
        }
    }
    free(real);
    const char *why;
    int f = sn_lang_src_add(p->D, p->A, path, &why);
    if (f < 0) {
        perr(p, t, "cannot read '%s': %s", path, why);
        return false;
    }
    return sn_lang_parse_file(p->P, f, false);
}

/* model      = "model" IDENT "{" { model_line } "}"
 * model_line = IDENT "=" expr
 *            | "scales" "{" { IDENT "=" expr NEWLINE } "}"
 *            | "layers" "{" { layer NEWLINE } "}"
 * layer      = INT ":" unary unary call        (index: from repeats module(args)) */
static bool model_item(Parser *p) {
    Tok *kw = next(p);
    Tok *id = peek(p);
    if (id->kind != TK_IDENT) {
        perr(p, id, "expected the model's name, found %s", tok_desc(p, id));
        return false;
    }
    next(p);
    if (!p->is_main) {
        perr(p, kw, "a model can only be defined in the file being loaded, not in a 'use'd file");
        return false;
    }
    if (p->P->model) {
        perr(p, kw, "a second model in one file (the first is '%s')", p->P->model->name);
        return false;
    }
    ModelDecl *m = sn_lang_alloc(p->A, sizeof *m);
    if (!m)
        return false;
    m->name = id->text;
    m->loc = id->loc;
    p->P->model = m;
    skip_newlines(p);
    if (!expect_punct(p, "{", "after the model's name"))
        return false;
    bool ok = true, seen_layers = false;
    int pcap = 0, scap = 0, lcap = 0;
    for (;;) {
        skip_newlines(p);
        Tok *t = peek(p);
        if (is_punct(t, "}")) {
            next(p);
            break;
        }
        if (t->kind == TK_EOF) {
            perr(p, t, "expected '}' to close model '%s'", m->name);
            return false;
        }
        if (sn_lang_too_many(p->D) || p->oom)
            return false;
        if ((is_ident(t, "scales") || is_ident(t, "layers")) && !is_punct(peek2(p), "=")) {
            bool scales = is_ident(t, "scales");
            next(p);
            if (scales && m->has_scales) {
                perr(p, t, "a second 'scales' table");
                ok = false;
            }
            if (!scales && seen_layers) {
                perr(p, t, "a second 'layers' table");
                ok = false;
            }
            if (scales)
                m->has_scales = true, m->scales_loc = t->loc;
            else
                seen_layers = true, m->layers_loc = t->loc;
            skip_newlines(p);
            if (!expect_punct(p, "{", scales ? "after 'scales'" : "after 'layers'")) {
                ok = false;
                sync(p);
                continue;
            }
            for (;;) {
                skip_newlines(p);
                Tok *r = peek(p);
                if (is_punct(r, "}")) {
                    next(p);
                    break;
                }
                if (r->kind == TK_EOF) {
                    perr(p, r, "expected '}' to close the '%s' table",
                         scales ? "scales" : "layers");
                    return false;
                }
                if (sn_lang_too_many(p->D) || p->oom)
                    return false;
                bool row_ok = false;
                if (scales) {
                    if (r->kind != TK_IDENT) {
                        perr(p, r, "expected a scale name (like 'n'), found %s", tok_desc(p, r));
                    } else {
                        next(p);
                        ScaleRow row = {.name = r->text, .loc = r->loc};
                        for (int i = 0; i < m->nscales; i++)
                            if (m->scales[i].name == r->text)
                                perr(p, r, "scale '%s' defined twice", r->text);
                        if (m->nscales >= 64)
                            perr(p, r, "too many scales (at most 64)");
                        if (m->nscales < 64 && expect_punct(p, "=", "after the scale name") &&
                            (row.value = expr(p)))
                            row_ok = LANG_PUSH(p->A, m->scales, m->nscales, scap, row);
                    }
                } else {
                    if (r->kind != TK_INT) {
                        perr(p, r,
                             "expected a layer line 'index: from repeats module(args)', found %s",
                             tok_desc(p, r));
                    } else {
                        next(p);
                        LayerLine L = {.loc = r->loc,
                                       .index = r->ival > INT_MAX ? INT_MAX : (int)r->ival};
                        if (expect_punct(p, ":", "after the layer index") && (L.from = unary(p)) &&
                            (L.repeats = unary(p))) {
                            Tok *c = peek(p);
                            if (c->kind != TK_IDENT || !is_punct(peek2(p), "(")) {
                                perr(p, c,
                                     "expected the layer's module call, like 'Conv(64, 3, 2)', "
                                     "found %s",
                                     tok_desc(p, c));
                            } else if ((L.call = call(p))) {
                                row_ok = m->nlayers < LANG_MAX_LAYERS
                                             ? LANG_PUSH(p->A, m->layers, m->nlayers, lcap, L)
                                             : (perr(p, r, "too many layers (at most %d)",
                                                     LANG_MAX_LAYERS),
                                                false);
                            }
                        }
                    }
                }
                if (row_ok && !(peek(p)->kind == TK_NEWLINE || is_punct(peek(p), "}"))) {
                    perr(p, peek(p), "expected the end of the line, found %s",
                         tok_desc(p, peek(p)));
                    row_ok = false;
                }
                if (!row_ok) {
                    ok = false;
                    sync(p);
                }
            }
            continue;
        }
        if (t->kind == TK_IDENT && is_punct(peek2(p), "=")) {
            Stmt *s = stmt(p);
            if (s && !(peek(p)->kind == TK_NEWLINE || is_punct(peek(p), "}"))) {
                perr(p, peek(p), "expected the end of the line, found %s", tok_desc(p, peek(p)));
                s = NULL;
            }
            if (!s || !LANG_PUSH(p->A, m->props.items, m->props.n, pcap, s)) {
                ok = false;
                sync(p);
            }
            continue;
        }
        perr(p, t, "expected 'name = value', 'scales { … }' or 'layers { … }' in a model, found %s",
             tok_desc(p, t));
        ok = false;
        sync(p);
    }
    if (!seen_layers) {
        perr(p, kw, "model '%s' has no 'layers' table", m->name);
        ok = false;
    }
    return ok;
}

/* file = { NEWLINE | item NEWLINE }
 * item = use | fn | block | model
 * fn    = "fn" IDENT "(" params ")" "=" expr
 * block = "block" IDENT "(" params ")" brace_body */
static bool parse_items(Parser *p) {
    bool ok = true;
    for (;;) {
        skip_newlines(p);
        Tok *t = peek(p);
        if (t->kind == TK_EOF)
            break;
        if (sn_lang_too_many(p->D) || p->oom)
            return false;
        bool item_ok = false;
        if (is_kw(t, "use") && !p->prelude) {
            item_ok = use_item(p);
        } else if (is_kw(t, "fn") && !p->prelude) {
            Decl *d = decl_head(p, DECL_FN, "function");
            if (d && expect_punct(p, "=", "after the function's parameters (fn f(x) = expr)") &&
                (d->expr = expr(p)))
                item_ok = sn_lang_decl_add(p->P, d);
        } else if (is_kw(t, "block") && !p->prelude) {
            Decl *d = decl_head(p, DECL_BLOCK, "block");
            if (d && brace_body(p, &d->body, "to open the block's body"))
                item_ok = sn_lang_decl_add(p->P, d);
        } else if (is_kw(t, "model") && !p->prelude) {
            item_ok = model_item(p);
        } else if (is_ident(t, "builtin") && p->prelude) {
            Decl *d = decl_head(p, DECL_BUILTIN, "builtin");
            if (d) {
                for (int i = 0; i < sn_lang_nbuiltins; i++)
                    if (strcmp(sn_lang_builtins[i].name, d->name) == 0)
                        d->builtin = &sn_lang_builtins[i];
                item_ok = d->builtin && sn_lang_decl_add(p->P, d);
            }
        } else {
            perr(p, t, "expected 'use', 'fn', 'block' or 'model' at the top level, found %s",
                 tok_desc(p, t));
        }
        if (item_ok && !(peek(p)->kind == TK_NEWLINE || peek(p)->kind == TK_EOF)) {
            perr(p, peek(p), "expected the end of the line, found %s", tok_desc(p, peek(p)));
            item_ok = false;
        }
        if (!item_ok) {
            ok = false;
            sync(p);
            /* an unmatched '}' at the top level: skip it */
            if (is_punct(peek(p), "}"))
                next(p);
        }
    }
    return ok && !p->oom;
}

bool sn_lang_parse_file(Prog *P, int file, bool is_main) {
    int ntok = 0;
    int before = P->D->nerr;
    Tok *toks = sn_lang_lex(P->D, P->A, &P->I, file, &ntok);
    if (!toks) {
        sn_lang_error_plain(P->D, "out of memory while reading %s", P->D->files[file]->path);
        return false;
    }
    Parser p = {
        .P = P, .D = P->D, .A = P->A, .tok = toks, .ntok = ntok, .file = file, .is_main = is_main};
    bool ok = parse_items(&p);
    if (p.oom || P->A->failed) {
        sn_lang_error_plain(P->D, "out of memory while parsing %s", P->D->files[file]->path);
        ok = false;
    }
    return ok && P->D->nerr == before;
}

bool sn_lang_parse_prelude(Prog *P, const char *text) {
    Src *s = sn_lang_alloc(P->A, sizeof *s);
    if (!s || P->D->nfiles >= LANG_MAX_FILES)
        return false;
    s->path = "<builtins>";
    s->prov = "<builtins>";
    s->text = (char *)text;
    s->len = strlen(text);
    int file = P->D->nfiles++;
    P->D->files[file] = s;
    int ntok = 0;
    Tok *toks = sn_lang_lex(P->D, P->A, &P->I, file, &ntok);
    if (!toks)
        return false;
    Parser p = {
        .P = P, .D = P->D, .A = P->A, .tok = toks, .ntok = ntok, .file = file, .prelude = true};
    return parse_items(&p);
}

/* ---------------------------------------------------------------- declarations table */

Decl *sn_lang_decl_find(Prog *P, const char *name) {
    if (!P->decls_cap || !name)
        return NULL;
    size_t h = sn_lang_ptr_hash(name) & (size_t)(P->decls_cap - 1);
    for (Decl *d = P->decls[h]; d; d = d->next_same)
        if (d->name == name)
            return d;
    return NULL;
}

bool sn_lang_decl_add(Prog *P, Decl *d) {
    if (!P->decls_cap) {
        P->decls_cap = 256;
        P->decls = sn_lang_alloc(P->A, (size_t)P->decls_cap * sizeof *P->decls);
        if (!P->decls)
            return false;
    }
    Decl *old = sn_lang_decl_find(P, d->name);
    if (old) {
        if (old->kind == DECL_BUILTIN)
            sn_lang_error(P->D, d->loc, "'%s' is a built-in; choose another name", d->name);
        else
            sn_lang_error(P->D, d->loc, "redefinition of '%s'", d->name);
        if (old->kind != DECL_BUILTIN)
            sn_lang_note(P->D, old->loc, "'%s' was first defined here", d->name);
        return false;
    }
    size_t h = sn_lang_ptr_hash(d->name) & (size_t)(P->decls_cap - 1);
    d->next_same = P->decls[h];
    P->decls[h] = d;
    P->ndecls++;
    return LANG_PUSH(P->A, P->order, P->norder, P->order_cap, d);
}
