/* frontend/lex.c — the model language's tokenizer.
 *
 * Tokens: identifiers, keywords, integers, floats, strings ("…" or '…'), punctuators, and
 * NEWLINE. A line break ends a statement unless it is inside ( ) or [ ] (as in Python); ';'
 * also ends one. Runs of NEWLINEs collapse into one. '#' starts a comment to the end of the
 * line. The lexer never stops on a bad byte: it reports it and skips it.
 */
#include "frontend/lang_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const keywords[] = {"use",  "fn",    "block",  "model", "if", "else",
                                       "for",  "in",    "return", "and",   "or", "not",
                                       "true", "false", "none",   "as"};

/* Longest first, so "//" wins over "/". */
static const char *const puncts[] = {"**", "//", "==", "!=", "<=", ">=", "(", ")",
                                     "[",  "]",  "{",  "}",  ",",  ":",  "=", "<",
                                     ">",  "+",  "-",  "*",  "/",  "%",  "?", "."};

typedef struct Lexer {
    Diag *D;
    LArena *A;
    Interner *I;
    int file;
    const char *text, *end, *p, *line_start;
    int line;
    int depth; /* ( and [ nesting: newlines inside are not statement ends */
    Tok *toks;
    int n, cap;
} Lexer;

static Loc here(Lexer *L, const char *at) {
    return (Loc){L->file, L->line, (int)(at - L->line_start) + 1};
}

static bool push(Lexer *L, Tok t) { return LANG_PUSH(L->A, L->toks, L->n, L->cap, t); }

static bool push_newline(Lexer *L, Loc loc) {
    if (L->n == 0 || L->toks[L->n - 1].kind == TK_NEWLINE)
        return true;
    return push(L, (Tok){.kind = TK_NEWLINE, .loc = loc, .text = "newline"});
}

/* After a reported lexical error: a placeholder, so the parser does not report it again. */
static bool push_error(Lexer *L, Loc loc) {
    return push(L, (Tok){.kind = TK_ERROR, .loc = loc, .text = "an invalid token"});
}

static bool is_ident_start(int c) { return isalpha(c) || c == '_'; }
static bool is_ident_char(int c) { return isalnum(c) || c == '_'; }

/* number = digits [ "." digits ] [ ("e"|"E") ["+"|"-"] digits ] */
static bool lex_number(Lexer *L) {
    const char *s = L->p;
    Loc loc = here(L, s);
    const char *q = s;
    while (q < L->end && isdigit((unsigned char)*q))
        q++;
    bool is_float = false;
    if (q + 1 < L->end && *q == '.' && isdigit((unsigned char)q[1])) {
        is_float = true;
        q++;
        while (q < L->end && isdigit((unsigned char)*q))
            q++;
    }
    if (q < L->end && (*q == 'e' || *q == 'E')) {
        const char *r = q + 1;
        if (r < L->end && (*r == '+' || *r == '-'))
            r++;
        if (r < L->end && isdigit((unsigned char)*r)) {
            is_float = true;
            q = r;
            while (q < L->end && isdigit((unsigned char)*q))
                q++;
        }
    }
    L->p = q;
    if (q < L->end && is_ident_char((unsigned char)*q)) {
        while (L->p < L->end && is_ident_char((unsigned char)*L->p))
            L->p++;
        sn_lang_error(L->D, loc, "invalid number '%.*s'", (int)(L->p - s > 40 ? 40 : L->p - s), s);
        return push_error(L, loc);
    }
    Tok t = {.kind = is_float ? TK_FLOAT : TK_INT, .loc = loc, .text = "number"};
    if (is_float) {
        char buf[64];
        size_t len = (size_t)(q - s);
        if (len >= sizeof buf) {
            sn_lang_error(L->D, loc, "number too long");
            return push_error(L, loc);
        }
        memcpy(buf, s, len);
        buf[len] = 0;
        t.fval = strtod(buf, NULL);
    } else {
        int64_t v = 0;
        for (const char *r = s; r < q; r++) {
            int d = *r - '0';
            if (v > (INT64_MAX - d) / 10) {
                sn_lang_error(L->D, loc, "integer literal too large");
                return push_error(L, loc);
            }
            v = v * 10 + d;
        }
        t.ival = v;
    }
    return push(L, t);
}

static bool lex_string(Lexer *L) {
    char quote = *L->p;
    Loc loc = here(L, L->p);
    const char *q = L->p + 1;
    char *buf = sn_lang_alloc(L->A, 1024);
    if (!buf)
        return false;
    size_t n = 0;
    for (;;) {
        if (q >= L->end || *q == '\n') {
            sn_lang_error(L->D, loc, "unterminated string");
            L->p = q;
            return push_error(L, loc);
        }
        if (*q == quote)
            break;
        char c = *q++;
        if (c == '\\') {
            if (q >= L->end)
                continue;
            char e = *q++;
            switch (e) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case '\\':
                c = '\\';
                break;
            case '"':
                c = '"';
                break;
            case '\'':
                c = '\'';
                break;
            default:
                sn_lang_error(L->D, here(L, q - 2), "unknown escape '\\%c' in string",
                              isprint((unsigned char)e) ? e : '?');
                continue;
            }
        }
        if (c == 0) {
            sn_lang_error(L->D, here(L, q - 1), "NUL byte in string");
            continue;
        }
        if (n >= 1023) {
            sn_lang_error(L->D, loc, "string too long (over 1023 bytes)");
            while (q < L->end && *q != quote && *q != '\n')
                q++;
            if (q < L->end && *q == quote)
                q++;
            L->p = q;
            return push_error(L, loc);
        }
        buf[n++] = c;
    }
    L->p = q + 1;
    buf[n] = 0;
    return push(L, (Tok){.kind = TK_STR, .loc = loc, .text = buf});
}

Tok *sn_lang_lex(Diag *D, LArena *A, Interner *I, int file, int *ntok) {
    const Src *src = D->files[file];
    Lexer L = {.D = D,
               .A = A,
               .I = I,
               .file = file,
               .text = src->text,
               .end = src->text + src->len,
               .p = src->text,
               .line_start = src->text,
               .line = 1};
    while (L.p < L.end && !sn_lang_too_many(D)) {
        unsigned char c = (unsigned char)*L.p;
        if (c == '\n') {
            if (L.depth == 0 && !push_newline(&L, here(&L, L.p)))
                return NULL;
            L.p++;
            L.line++;
            L.line_start = L.p;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            L.p++;
            continue;
        }
        if (c == '#') {
            while (L.p < L.end && *L.p != '\n')
                L.p++;
            continue;
        }
        if (c == ';') {
            if (!push_newline(&L, here(&L, L.p)))
                return NULL;
            L.p++;
            continue;
        }
        if (isdigit(c)) {
            if (!lex_number(&L))
                return NULL;
            continue;
        }
        if (c == '"' || c == '\'') {
            if (!lex_string(&L))
                return NULL;
            continue;
        }
        if (is_ident_start(c)) {
            const char *s = L.p;
            while (L.p < L.end && is_ident_char((unsigned char)*L.p))
                L.p++;
            size_t len = (size_t)(L.p - s);
            Loc loc = here(&L, s);
            if (len > 128) {
                sn_lang_error(D, loc, "identifier too long (over 128 characters)");
                if (!push_error(&L, loc))
                    return NULL;
                continue;
            }
            const char *name = sn_lang_intern(I, A, s, len);
            if (!name)
                return NULL;
            TokKind k = TK_IDENT;
            for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
                if (strcmp(name, keywords[i]) == 0)
                    k = TK_KEYWORD;
            if (!push(&L, (Tok){.kind = k, .loc = loc, .text = name}))
                return NULL;
            continue;
        }
        const char *pn = NULL;
        for (size_t i = 0; i < sizeof puncts / sizeof *puncts; i++) {
            size_t len = strlen(puncts[i]);
            if ((size_t)(L.end - L.p) >= len && memcmp(L.p, puncts[i], len) == 0) {
                pn = puncts[i];
                break;
            }
        }
        if (pn) {
            Loc loc = here(&L, L.p);
            const char *name = sn_lang_intern(I, A, pn, strlen(pn));
            if (!name)
                return NULL;
            if (pn[0] == '(' || pn[0] == '[')
                L.depth++;
            if ((pn[0] == ')' || pn[0] == ']') && L.depth > 0)
                L.depth--;
            if (pn[0] == '{' || pn[0] == '}')
                L.depth = 0; /* recover from unbalanced ( [ */
            if (!push(&L, (Tok){.kind = TK_PUNCT, .loc = loc, .text = name}))
                return NULL;
            L.p += strlen(pn);
            continue;
        }
        Loc loc = here(&L, L.p);
        if (c >= 0x80) {
            while (L.p < L.end && (unsigned char)*L.p >= 0x80)
                L.p++;
            sn_lang_error(D, loc,
                          "invalid character (non-ASCII bytes outside a comment or string)");
            if (!push_error(&L, loc))
                return NULL;
        } else {
            if (isprint(c))
                sn_lang_error(D, loc, "invalid character '%c'", c);
            else
                sn_lang_error(D, loc, "invalid character (byte 0x%02x)", c);
            L.p++;
            if (!push_error(&L, loc))
                return NULL;
        }
    }
    Loc eof = here(&L, L.p);
    if (!push_newline(&L, eof))
        return NULL;
    if (!push(&L, (Tok){.kind = TK_EOF, .loc = eof, .text = "end of file"}))
        return NULL;
    *ntok = L.n;
    return L.toks;
}
