/* ir/text.c — the IR's text form: printer and parser. They round-trip exactly:
 * print(parse(print(g))) == print(g), byte for byte, and parse(print(g)) equals g (nodes, attrs,
 * names, provenance, flags, groups, CONST data, inputs/outputs order).
 *
 * The printer writes one statement per line:
 *
 *   inputs %0
 *   %0:f32[1,3,64,64] = input "images"
 *   %1:f32[16,3,3,3] = param {init=0} "model.0.conv.weight"
 *   %2:f32[] = const {value=0.5}
 *   %3:f32[4] = const {value=0} [1, 2.5, -3, 4]
 *   %4:f32[1,16,32,32] = conv2d(%0, %1) {stride_h=2, stride_w=2, pad_h=1, pad_w=1, dil_h=1,
 *        dil_w=1, groups=1} "model.0.conv" @"models/yolov8.sn:12:5"          (one line)
 *   %5:f16[1,16,32,32] = cast(%4) {dtype=f16} dead group=3
 *   %6:f32[1,2,84] = anchors {what=0, nlevels=2, levels=[8,8,8,4,5,16], offset=0.5}
 *   %7:f32[1,16,32,32] = relu(%4) buf=0 offset=16384 stride=[32768,1024,32,1]
 *   buf 0 = arena f32 elems=32768 index=0 at=0
 *   arena_bytes 131072
 *   outputs %4, %6
 *
 * Grammar (tokens may be separated by spaces or tabs; a statement ends at the newline):
 *
 *   file    = { [ stmt ] [ comment ] NEWLINE }          comment = "#" … end of line
 *   stmt    = "inputs" [ refs ] | "outputs" [ refs ] | node | buf | "arena_bytes" INT
 *   refs    = ref { "," ref }
 *   ref     = "%" INT
 *   node    = ref ":" type "=" OPNAME [ "(" [ refs ] ")" ] [ attrs ] [ data ]
 *             [ STRING ] [ "@" STRING ] { flag }
 *   type    = DTYPE "[" [ INT { "," INT } ] "]"        DTYPE = f32 | f16 | bf16 | i32
 *   attrs   = "{" [ attr { "," attr } ] "}"
 *   attr    = NAME "=" ( INT | FLOAT | DTYPE | "[" [ INT { "," INT } ] "]" )
 *   data    = "[" [ FLOAT { "," FLOAT } ] "]"           (CONST only)
 *   flag    = "dead" | "frozen" | "mixed" | "group" "=" INT | "flags" "=" INT
 *           | "buf" "=" INT | "offset" "=" INT | "stride" "=" "[" INT { "," INT } "]"
 *   buf     = "buf" INT "=" ( "arena" | "input" | "output" | "const" ) DTYPE
 *             "elems" "=" INT "index" "=" INT "at" "=" INT
 *   STRING  = '"' { char | "\\" ( '"' | "\\" | "n" | "t" | "x" HEX HEX ) } '"'
 *
 * Node annotations (passes/ → codegen/) print only when not the defaults set by sn_ir_add:
 * buf=N when buf != -1, offset=N when non-zero, stride=[…] when not contiguous row-major.
 * The storage plan (graph->bufs, dense "buf K" lines) and arena_bytes print when present.
 *
 * Rules: nodes are numbered densely in order (%N is the N-th node); inputs refer to earlier
 * nodes. Attribute names are the op table's; each appears once; int attrs take INT (the
 * "dtype" attr of cast takes a DTYPE name), float attrs take FLOAT (C strtod syntax, inf and
 * nan included), a variadic list ("dims", "perm", "levels") takes "[…]". The first STRING is
 * the node's name, the "@" one its provenance. "inputs" sets graph->inputs (it must list INPUT
 * nodes); without it, INPUT nodes are the inputs in node order. "outputs" sets
 * graph->outputs and marks those nodes SN_IR_NODE_OUTPUT.
 *
 * CONST data: printed as data only when some element differs from the value attribute
 * (bitwise); otherwise the parser fills every element with the value. PARAM data is never
 * printed (weights are bound separately). Floats are printed with the fewest digits that read
 * back to the same value (%.Ng, N ≤ 9 for f32 data, ≤ 17 for f64 attrs).
 *
 * The parser checks each live node's declared type against shape inference; DEAD nodes are
 * taken as declared. It does not run the verifier. Errors: "<name>:line:col: error: …".
 */
#include "ir/ir_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- printer */

static void fmt_double(char *buf, size_t n, double v) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v || (isnan(v)))
            return;
    }
}

static void fmt_float(char *buf, size_t n, float v) {
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, n, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v || isnan(v))
            return;
    }
}

static void print_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc(c, out);
        } else if (c == '\n') {
            fputs("\\n", out);
        } else if (c == '\t') {
            fputs("\\t", out);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\x%02x", c);
        } else {
            fputc(c, out);
        }
    }
    fputc('"', out);
}

static void print_refs(FILE *out, const int32_t *r, int32_t n) {
    for (int32_t i = 0; i < n; i++)
        fprintf(out, "%s%%%d", i ? ", " : "", (int)r[i]);
}

static int const_uniform(const sn_ir_node *n) {
    if (!n->data)
        return 1;
    float v = (float)n->fa[0];
    int64_t ne = sn_shape_numel(&n->shape);
    for (int64_t i = 0; i < ne; i++)
        if (memcmp(&n->data[i], &v, sizeof v) != 0)
            return 0;
    return 1;
}

static const char *const buf_kinds[4] = {"arena", "input", "output", "const"};

void sn_ir_print(const sn_ir_graph *g, FILE *out) {
    char buf[64];
    fputs("inputs", out);
    if (g->ninputs)
        fputc(' ', out);
    print_refs(out, g->inputs, g->ninputs);
    fputc('\n', out);
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        const sn_op_info *info = &sn_ir_op_info[n->op];
        fprintf(out, "%%%d:%s%s = %s", (int)i, sn_dtype_name(n->dtype),
                sn_shape_str(&n->shape, buf, sizeof buf), info->name);
        if (n->nin || info->max_inputs > 0) {
            fputc('(', out);
            print_refs(out, n->in, n->nin);
            fputc(')', out);
        }
        sn_ir_attrs at;
        sn_ir_op_attrs(n->op, &at);
        if (at.nint || at.nfloat) {
            int first = 1;
            fputc(' ', out);
            fputc('{', out);
            int fixed = at.variadic ? at.nint - 1 : at.nint;
            for (int k = 0; k < fixed && k < n->nia; k++) {
                fprintf(out, "%s%s=", first ? "" : ", ", at.ints[k]);
                first = 0;
                if (n->op == SN_OP_CAST && n->ia[k] >= 0 && n->ia[k] < SN_DTYPE_COUNT)
                    fputs(sn_dtype_name((sn_dtype)n->ia[k]), out);
                else
                    fprintf(out, "%lld", (long long)n->ia[k]);
            }
            if (at.variadic) {
                fprintf(out, "%s%s=[", first ? "" : ", ", at.ints[at.nint - 1]);
                first = 0;
                for (int k = fixed; k < n->nia; k++)
                    fprintf(out, k > fixed ? ",%lld" : "%lld", (long long)n->ia[k]);
                fputc(']', out);
            }
            for (int k = 0; k < at.nfloat; k++) {
                fmt_double(buf, sizeof buf, n->fa[k]);
                fprintf(out, "%s%s=%s", first ? "" : ", ", at.floats[k], buf);
                first = 0;
            }
            fputc('}', out);
        }
        if (n->op == SN_OP_CONST && !const_uniform(n)) {
            int64_t ne = sn_shape_numel(&n->shape);
            fputs(" [", out);
            for (int64_t e = 0; e < ne; e++) {
                fmt_float(buf, sizeof buf, n->data[e]);
                fprintf(out, e ? ", %s" : "%s", buf);
            }
            fputc(']', out);
        }
        if (n->name) {
            fputc(' ', out);
            print_string(out, sn_ir_str_get(g, n->name));
        }
        if (n->src) {
            fputs(" @", out);
            print_string(out, sn_ir_str_get(g, n->src));
        }
        if (n->flags & SN_IR_NODE_DEAD)
            fputs(" dead", out);
        if (n->flags & SN_IR_NODE_FROZEN)
            fputs(" frozen", out);
        if (n->flags & SN_IR_NODE_MIXED)
            fputs(" mixed", out);
        if (n->group != -1)
            fprintf(out, " group=%d", (int)n->group);
        if (n->buf != -1)
            fprintf(out, " buf=%d", (int)n->buf);
        if (n->offset != 0)
            fprintf(out, " offset=%lld", (long long)n->offset);
        if (!sn_ir_strides_contiguous(n)) {
            fputs(" stride=[", out);
            for (int k = 0; k < n->shape.ndim; k++)
                fprintf(out, k ? ",%lld" : "%lld", (long long)n->stride[k]);
            fputc(']', out);
        }
        uint32_t other = n->flags & ~(uint32_t)(SN_IR_NODE_DEAD | SN_IR_NODE_FROZEN |
                                                SN_IR_NODE_MIXED | SN_IR_NODE_OUTPUT);
        if (other)
            fprintf(out, " flags=%u", (unsigned)other);
        fputc('\n', out);
    }
    for (int32_t k = 0; k < g->nbufs; k++) {
        const sn_ir_buf *b = &g->bufs[k];
        fprintf(out, "buf %d = %s %s elems=%lld index=%d at=%lld\n", (int)k,
                (unsigned)b->kind < 4 ? buf_kinds[b->kind] : "?", sn_dtype_name(b->dtype),
                (long long)b->elems, (int)b->index, (long long)b->arena_offset);
    }
    if (g->arena_bytes)
        fprintf(out, "arena_bytes %lld\n", (long long)g->arena_bytes);
    fputs("outputs", out);
    if (g->noutputs)
        fputc(' ', out);
    print_refs(out, g->outputs, g->noutputs);
    fputc('\n', out);
}

/* ---------------------------------------------------------------- parser */

typedef struct parser {
    const char *name;
    const char *p; /* cursor */
    const char *line_start;
    int line;
    char *err;
    size_t errlen;
    int failed;
    sn_ir_graph *g;
} parser;

static int perr(parser *ps, const char *at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int perr(parser *ps, const char *at, const char *fmt, ...) {
    if (ps->failed)
        return 0;
    ps->failed = 1;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sn_errf(ps->err, ps->errlen, "%s:%d:%d: error: %s", ps->name, ps->line,
            (int)(at - ps->line_start) + 1, msg);
    return 0;
}

static void skip_ws(parser *ps) {
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r')
        ps->p++;
    if (*ps->p == '#')
        while (*ps->p && *ps->p != '\n')
            ps->p++;
}

static int at_eol(parser *ps) {
    skip_ws(ps);
    return *ps->p == '\n' || *ps->p == 0;
}

static int accept(parser *ps, char c) {
    skip_ws(ps);
    if (*ps->p == c) {
        ps->p++;
        return 1;
    }
    return 0;
}

static const char *tok_desc(const char *p, char *buf, size_t n) {
    if (*p == 0)
        return "end of input";
    if (*p == '\n')
        return "end of line";
    size_t k = 0;
    while (p[k] && p[k] != '\n' && p[k] != ' ' && k < 16)
        k++;
    if (k == 0)
        k = 1;
    snprintf(buf, n, "'%.*s'", (int)k, p);
    return buf;
}

static int expect(parser *ps, char c) {
    if (accept(ps, c))
        return 1;
    char b[32];
    return perr(ps, ps->p, "expected '%c', found %s", c, tok_desc(ps->p, b, sizeof b));
}

static int is_ident_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* NAME: [A-Za-z_][A-Za-z0-9_]*; returns its length (0 if none) */
static size_t peek_ident(parser *ps) {
    skip_ws(ps);
    const char *p = ps->p;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
        return 0;
    size_t k = 0;
    while (is_ident_char(p[k]))
        k++;
    return k;
}

static int ident_is(parser *ps, size_t len, const char *word) {
    return len == strlen(word) && strncmp(ps->p, word, len) == 0;
}

static int parse_int(parser *ps, int64_t *out) {
    skip_ws(ps);
    const char *s = ps->p;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || (*s != '-' && *s != '+' && (*s < '0' || *s > '9'))) {
        char b[32];
        return perr(ps, s, "expected an integer, found %s", tok_desc(s, b, sizeof b));
    }
    if (errno == ERANGE)
        return perr(ps, s, "integer out of range");
    if (*end == '.' || *end == 'e' || *end == 'E' || is_ident_char(*end))
        return perr(ps, s, "expected an integer, found '%.*s'", (int)(end - s + 1), s);
    ps->p = end;
    *out = v;
    return 1;
}

static int parse_double(parser *ps, double *out) {
    skip_ws(ps);
    const char *s = ps->p;
    char *end;
    double v = strtod(s, &end);
    if (end == s || is_ident_char(*end)) {
        char b[32];
        return perr(ps, s, "expected a number, found %s", tok_desc(s, b, sizeof b));
    }
    ps->p = end;
    *out = v;
    return 1;
}

static int parse_float(parser *ps, float *out) {
    skip_ws(ps);
    const char *s = ps->p;
    char *end;
    float v = strtof(s, &end);
    if (end == s || is_ident_char(*end)) {
        char b[32];
        return perr(ps, s, "expected a number, found %s", tok_desc(s, b, sizeof b));
    }
    ps->p = end;
    *out = v;
    return 1;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* STRING → malloc'ed, NUL-terminated text (an embedded \x00 is rejected). */
static char *parse_string(parser *ps) {
    skip_ws(ps);
    const char *s = ps->p;
    if (*s != '"') {
        char b[32];
        perr(ps, s, "expected a string, found %s", tok_desc(s, b, sizeof b));
        return NULL;
    }
    size_t cap = 32, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        perr(ps, s, "out of memory");
        return NULL;
    }
    const char *p = s + 1;
    for (;;) {
        char c = *p;
        if (c == 0 || c == '\n') {
            free(buf);
            perr(ps, s, "unterminated string");
            return NULL;
        }
        p++;
        if (c == '"')
            break;
        if (c == '\\') {
            char e = *p++;
            if (e == '"' || e == '\\')
                c = e;
            else if (e == 'n')
                c = '\n';
            else if (e == 't')
                c = '\t';
            else if (e == 'x' && hexval(p[0]) >= 0 && hexval(p[1]) >= 0 &&
                     (hexval(p[0]) | hexval(p[1])) != 0) {
                c = (char)(hexval(p[0]) * 16 + hexval(p[1]));
                p += 2;
            } else {
                free(buf);
                perr(ps, p - 2, "bad escape in string (use \\\" \\\\ \\n \\t \\xHH)");
                return NULL;
            }
        }
        if (len + 2 > cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                perr(ps, s, "out of memory");
                return NULL;
            }
            buf = nb;
        }
        buf[len++] = c;
    }
    buf[len] = 0;
    ps->p = p;
    return buf;
}

static int parse_ref(parser *ps, int32_t *out) {
    skip_ws(ps);
    const char *at = ps->p;
    if (!expect(ps, '%'))
        return 0;
    int64_t v = 0;
    if (*ps->p < '0' || *ps->p > '9') {
        char b[32];
        return perr(ps, ps->p, "expected a node number after '%%', found %s",
                    tok_desc(ps->p, b, sizeof b));
    }
    if (!parse_int(ps, &v))
        return 0;
    if (v > INT32_MAX)
        return perr(ps, at, "node number %lld too large", (long long)v);
    *out = (int32_t)v;
    return 1;
}

/* "[" [ INT { "," INT } ] "]" — max entries */
static int parse_int_list(parser *ps, int64_t *vals, int max, int *count, const char *what) {
    *count = 0;
    if (!expect(ps, '['))
        return 0;
    if (accept(ps, ']'))
        return 1;
    do {
        skip_ws(ps);
        if (*count >= max)
            return perr(ps, ps->p, "too many entries in %s (at most %d)", what, max);
        if (!parse_int(ps, &vals[*count]))
            return 0;
        (*count)++;
    } while (accept(ps, ','));
    return expect(ps, ']');
}

/* A line-level list of refs after "inputs"/"outputs": appended to *arr. */
static int parse_ref_line(parser *ps, int32_t **arr, int32_t *n, const char ***pos) {
    if (at_eol(ps))
        return 1;
    do {
        skip_ws(ps);
        const char *at = ps->p;
        int32_t r;
        if (!parse_ref(ps, &r))
            return 0;
        int32_t *na = realloc(*arr, (size_t)(*n + 1) * sizeof *na);
        const char **np = realloc(*pos, (size_t)(*n + 1) * sizeof *np);
        if (na)
            *arr = na;
        if (np)
            *pos = np;
        if (!na || !np)
            return perr(ps, at, "out of memory");
        (*arr)[*n] = r;
        (*pos)[*n] = at;
        (*n)++;
    } while (accept(ps, ','));
    return 1;
}

static int append_raw(parser *ps, const char *at, sn_ir_node *tmpl) {
    sn_ir_graph *g = ps->g;
    if (g->nnodes == g->cap) {
        int32_t ncap = g->cap ? g->cap * 2 : 64;
        sn_ir_node *nn = realloc(g->nodes, (size_t)ncap * sizeof *nn);
        if (!nn)
            return perr(ps, at, "out of memory");
        g->nodes = nn;
        g->cap = ncap;
    }
    g->nodes[g->nnodes++] = *tmpl;
    return 1;
}

static int parse_node(parser *ps) {
    sn_ir_graph *g = ps->g;
    const char *start = ps->p;
    sn_ir_node n;
    memset(&n, 0, sizeof n);
    n.group = -1;
    n.buf = -1;
    int32_t idx;
    char b1[128], b2[128];
    if (!parse_ref(ps, &idx))
        return 0;
    if (idx != g->nnodes)
        return perr(ps, start, "expected %%%d here (nodes are numbered in order), found %%%d",
                    (int)g->nnodes, (int)idx);
    if (!expect(ps, ':'))
        return 0;
    /* type */
    size_t len = peek_ident(ps);
    const char *type_at = ps->p;
    char word[32];
    if (len == 0 || len >= sizeof word) {
        char b[32];
        return perr(ps, ps->p, "expected a dtype (f32, f16, bf16, i32), found %s",
                    tok_desc(ps->p, b, sizeof b));
    }
    memcpy(word, ps->p, len);
    word[len] = 0;
    if (sn_dtype_parse(word, &n.dtype) != SN_OK)
        return perr(ps, ps->p, "unknown dtype '%s' (f32, f16, bf16, i32)", word);
    ps->p += len;
    int64_t dims[SN_MAX_DIMS + 1];
    int nd;
    if (!parse_int_list(ps, dims, SN_MAX_DIMS, &nd, "a shape"))
        return 0;
    n.shape.ndim = nd;
    for (int k = 0; k < nd; k++) {
        if (dims[k] < 1)
            return perr(ps, type_at, "shape dimension %d is %lld (need >= 1)", k,
                        (long long)dims[k]);
        n.shape.d[k] = dims[k];
    }
    sn_ir_contiguous_strides(&n.shape, n.stride);
    if (!expect(ps, '='))
        return 0;
    /* op */
    len = peek_ident(ps);
    const char *op_at = ps->p;
    if (len == 0 || len >= sizeof word) {
        char b[32];
        return perr(ps, ps->p, "expected an op name, found %s", tok_desc(ps->p, b, sizeof b));
    }
    memcpy(word, ps->p, len);
    word[len] = 0;
    n.op = sn_ir_op_from_name(word);
    if (n.op == SN_OP_COUNT)
        return perr(ps, op_at, "unknown op '%s'", word);
    ps->p += len;
    const char *opn = sn_ir_op_info[n.op].name;
    /* inputs */
    int32_t in[SN_IR_MAX_IN];
    if (accept(ps, '(')) {
        if (!accept(ps, ')')) {
            do {
                skip_ws(ps);
                const char *at = ps->p;
                if (n.nin >= SN_IR_MAX_IN)
                    return perr(ps, at, "too many inputs (at most %d)", SN_IR_MAX_IN);
                if (!parse_ref(ps, &in[n.nin]))
                    return 0;
                if (in[n.nin] >= idx)
                    return perr(ps, at, "input %%%d is not an earlier node", (int)in[n.nin]);
                n.nin++;
            } while (accept(ps, ','));
            if (!expect(ps, ')'))
                return 0;
        }
    }
    /* attrs */
    sn_ir_attrs at;
    sn_ir_op_attrs(n.op, &at);
    int fixed = at.variadic ? at.nint - 1 : at.nint;
    int seen_i[SN_IR_MAX_IA] = {0}, seen_f[SN_IR_MAX_FA] = {0};
    int64_t list[SN_IR_MAX_IA];
    int nlist = 0;
    const char *attrs_at = NULL;
    skip_ws(ps);
    if (*ps->p == '{') {
        attrs_at = ps->p;
        ps->p++;
        if (!accept(ps, '}')) {
            do {
                len = peek_ident(ps);
                const char *a_at = ps->p;
                if (len == 0 || len >= sizeof word) {
                    char b[32];
                    return perr(ps, ps->p, "expected an attribute name, found %s",
                                tok_desc(ps->p, b, sizeof b));
                }
                memcpy(word, ps->p, len);
                word[len] = 0;
                ps->p += len;
                if (!expect(ps, '='))
                    return 0;
                int found = 0;
                for (int k = 0; k < at.nint && !found; k++) {
                    if (strcmp(word, at.ints[k]) != 0)
                        continue;
                    found = 1;
                    if (seen_i[k])
                        return perr(ps, a_at, "%s: attribute '%s' given twice", opn, word);
                    seen_i[k] = 1;
                    if (at.variadic && k == at.nint - 1) {
                        if (!parse_int_list(ps, list, SN_IR_MAX_IA - fixed, &nlist, word))
                            return 0;
                    } else if (n.op == SN_OP_CAST && peek_ident(ps)) {
                        size_t l2 = peek_ident(ps);
                        char dt[32];
                        snprintf(dt, sizeof dt, "%.*s", (int)(l2 < 31 ? l2 : 31), ps->p);
                        sn_dtype t;
                        if (sn_dtype_parse(dt, &t) != SN_OK)
                            return perr(ps, ps->p, "unknown dtype '%s'", dt);
                        n.ia[k] = t;
                        ps->p += l2;
                    } else if (!parse_int(ps, &n.ia[k])) {
                        return 0;
                    }
                }
                for (int k = 0; k < at.nfloat && k < SN_IR_MAX_FA && !found; k++) {
                    if (strcmp(word, at.floats[k]) != 0)
                        continue;
                    found = 1;
                    if (seen_f[k])
                        return perr(ps, a_at, "%s: attribute '%s' given twice", opn, word);
                    seen_f[k] = 1;
                    if (!parse_double(ps, &n.fa[k]))
                        return 0;
                }
                if (!found)
                    return perr(ps, a_at, "%s has no attribute '%s' (it has: %s)", opn, word,
                                sn_ir_op_info[n.op].attrs[0] ? sn_ir_op_info[n.op].attrs : "none");
            } while (accept(ps, ','));
            if (!expect(ps, '}'))
                return 0;
        }
    }
    for (int k = 0; k < at.nint; k++)
        if (!seen_i[k])
            return perr(ps, attrs_at ? attrs_at : op_at, "%s: missing attribute '%s'", opn,
                        at.ints[k]);
    for (int k = 0; k < at.nfloat; k++)
        if (!seen_f[k])
            return perr(ps, attrs_at ? attrs_at : op_at, "%s: missing attribute '%s'", opn,
                        at.floats[k]);
    n.nia = at.variadic ? fixed + nlist : at.nint;
    for (int k = 0; k < nlist; k++)
        n.ia[fixed + k] = list[k];
    /* data (CONST) */
    float *data = NULL;
    int64_t ne = sn_shape_numel(&n.shape);
    skip_ws(ps);
    if (*ps->p == '[') {
        const char *d_at = ps->p;
        if (n.op != SN_OP_CONST)
            return perr(ps, d_at, "only const nodes carry data");
        data = malloc((size_t)(ne ? ne : 1) * sizeof *data);
        if (!data)
            return perr(ps, d_at, "out of memory");
        ps->p++;
        int64_t cnt = 0;
        if (!accept(ps, ']')) {
            do {
                float v = 0.0f;
                if (!parse_float(ps, &v)) {
                    free(data);
                    return 0;
                }
                if (cnt < ne)
                    data[cnt] = v;
                cnt++;
            } while (accept(ps, ','));
            if (!expect(ps, ']')) {
                free(data);
                return 0;
            }
        }
        if (cnt != ne) {
            free(data);
            return perr(ps, d_at, "const data has %lld values but the shape %s has %lld",
                        (long long)cnt, sn_shape_str(&n.shape, b1, sizeof b1), (long long)ne);
        }
    } else if (n.op == SN_OP_CONST) {
        data = malloc((size_t)(ne ? ne : 1) * sizeof *data);
        if (!data)
            return perr(ps, op_at, "out of memory");
        for (int64_t e = 0; e < ne; e++)
            data[e] = (float)n.fa[0];
    }
    n.data = data;
    /* name, src, flags */
    skip_ws(ps);
    if (*ps->p == '"') {
        char *s = parse_string(ps);
        if (!s)
            goto fail;
        n.name = sn_ir_str(g, s);
        free(s);
    }
    if (accept(ps, '@')) {
        char *s = parse_string(ps);
        if (!s)
            goto fail;
        n.src = sn_ir_str(g, s);
        free(s);
    }
    while (!at_eol(ps)) {
        len = peek_ident(ps);
        const char *f_at = ps->p;
        if (ident_is(ps, len, "dead")) {
            n.flags |= SN_IR_NODE_DEAD;
            ps->p += len;
        } else if (ident_is(ps, len, "frozen")) {
            n.flags |= SN_IR_NODE_FROZEN;
            ps->p += len;
        } else if (ident_is(ps, len, "mixed")) {
            n.flags |= SN_IR_NODE_MIXED;
            ps->p += len;
        } else if (ident_is(ps, len, "stride")) {
            ps->p += len;
            int64_t st[SN_MAX_DIMS];
            int cnt = 0;
            if (!expect(ps, '=') || !parse_int_list(ps, st, SN_MAX_DIMS, &cnt, "stride"))
                goto fail;
            if (cnt != n.shape.ndim) {
                perr(ps, f_at, "stride has %d entries but the shape has rank %d", cnt,
                     (int)n.shape.ndim);
                goto fail;
            }
            for (int k = 0; k < cnt; k++)
                n.stride[k] = st[k];
        } else if (ident_is(ps, len, "group") || ident_is(ps, len, "flags") ||
                   ident_is(ps, len, "buf") || ident_is(ps, len, "offset")) {
            int is_group = ident_is(ps, len, "group"), is_buf = ident_is(ps, len, "buf");
            int is_offset = ident_is(ps, len, "offset");
            ps->p += len;
            int64_t v = 0;
            if (!expect(ps, '=') || !parse_int(ps, &v))
                goto fail;
            if (is_offset) {
                n.offset = v;
            } else if (is_buf) {
                if (v < -1 || v > INT32_MAX) {
                    perr(ps, f_at, "buf %lld out of range", (long long)v);
                    goto fail;
                }
                n.buf = (int32_t)v;
            } else if (is_group) {
                if (v < -1 || v > INT32_MAX) {
                    perr(ps, f_at, "group %lld out of range", (long long)v);
                    goto fail;
                }
                n.group = (int32_t)v;
            } else {
                if (v < 0 || v > UINT32_MAX) {
                    perr(ps, f_at, "flags %lld out of range", (long long)v);
                    goto fail;
                }
                n.flags |= (uint32_t)v & ~(uint32_t)SN_IR_NODE_OUTPUT;
            }
        } else {
            char b[32];
            perr(ps, f_at,
                 "unexpected %s (expected a name string, @\"src\", dead, frozen, mixed, group=, "
                 "buf=, "
                 "offset=, stride= or end of line)",
                 tok_desc(f_at, b, sizeof b));
            goto fail;
        }
    }
    if (n.nin) {
        n.in = sn_ir_arena_alloc(g, (size_t)n.nin * sizeof *n.in);
        if (!n.in) {
            perr(ps, start, "out of memory");
            goto fail;
        }
        memcpy(n.in, in, (size_t)n.nin * sizeof *in);
    }
    if (!append_raw(ps, start, &n))
        goto fail;
    /* the declared type must be what inference gives (live nodes only) */
    if (!(n.flags & SN_IR_NODE_DEAD)) {
        sn_shape s;
        sn_dtype t;
        char ierr[400];
        if (sn_ir_infer_node(g, &g->nodes[idx], &s, &t, ierr, sizeof ierr) != SN_OK) {
            g->nodes[idx].data = NULL;
            g->nnodes--;
            free(data);
            return perr(ps, op_at, "%s", ierr);
        }
        if (!sn_shape_eq(&s, &n.shape) || t != n.dtype) {
            g->nodes[idx].data = NULL;
            g->nnodes--;
            free(data);
            return perr(ps, type_at, "declared type %s%s but %s gives %s%s", sn_dtype_name(n.dtype),
                        sn_shape_str(&n.shape, b1, sizeof b1), opn, sn_dtype_name(t),
                        sn_shape_str(&s, b2, sizeof b2));
        }
    }
    return 1;
fail:
    free(data);
    return 0;
}

/* keyword "=" INT, the keyword fixed */
static int parse_kv(parser *ps, const char *key, int64_t *v) {
    size_t len = peek_ident(ps);
    if (!ident_is(ps, len, key)) {
        char b[32];
        return perr(ps, ps->p, "expected '%s=', found %s", key, tok_desc(ps->p, b, sizeof b));
    }
    ps->p += len;
    return expect(ps, '=') && parse_int(ps, v);
}

/* "buf" INT "=" KIND DTYPE "elems=" INT "index=" INT "at=" INT  (after the "buf" keyword) */
static int parse_buf_line(parser *ps) {
    sn_ir_graph *g = ps->g;
    skip_ws(ps);
    const char *at = ps->p;
    int64_t k = 0, elems = 0, index = 0, off = 0;
    if (!parse_int(ps, &k))
        return 0;
    if (k != g->nbufs)
        return perr(ps, at, "expected buf %d here (bufs are numbered in order), found %lld",
                    (int)g->nbufs, (long long)k);
    if (!expect(ps, '='))
        return 0;
    size_t len = peek_ident(ps);
    int kind = -1;
    for (int i = 0; i < 4; i++)
        if (ident_is(ps, len, buf_kinds[i]))
            kind = i;
    if (kind < 0) {
        char b[32];
        return perr(ps, ps->p, "expected a buffer kind (arena, input, output, const), found %s",
                    tok_desc(ps->p, b, sizeof b));
    }
    ps->p += len;
    len = peek_ident(ps);
    char dt[16];
    snprintf(dt, sizeof dt, "%.*s", (int)(len < 15 ? len : 15), ps->p);
    sn_dtype t;
    if (len == 0 || sn_dtype_parse(dt, &t) != SN_OK)
        return perr(ps, ps->p, "expected a dtype (f32, f16, bf16, i32)");
    ps->p += len;
    if (!parse_kv(ps, "elems", &elems) || !parse_kv(ps, "index", &index) ||
        !parse_kv(ps, "at", &off))
        return 0;
    if (index < INT32_MIN || index > INT32_MAX)
        return perr(ps, at, "buf index %lld out of range", (long long)index);
    sn_ir_buf *nb = realloc(g->bufs, (size_t)(g->nbufs + 1) * sizeof *nb);
    if (!nb)
        return perr(ps, at, "out of memory");
    g->bufs = nb;
    sn_ir_buf *b = &g->bufs[g->nbufs++];
    memset(b, 0, sizeof *b);
    b->kind = (sn_ir_buf_kind)kind;
    b->dtype = t;
    b->elems = elems;
    b->index = (int32_t)index;
    b->arena_offset = off;
    return 1;
}

sn_ir_graph *sn_ir_parse(const char *text, const char *name, char *err, size_t errlen) {
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.name = name ? name : "<ir>";
    ps.p = text;
    ps.line_start = text;
    ps.line = 1;
    ps.err = err;
    ps.errlen = errlen;
    ps.g = sn_ir_graph_new();
    int32_t *ins = NULL, *outs = NULL, nins = 0, nouts = 0;
    const char **ins_at = NULL, **outs_at = NULL;
    int have_inputs = 0;
    int inputs_line = 0, outputs_line = 0;
    const char *inputs_ls = NULL, *outputs_ls = NULL;
    if (!ps.g) {
        sn_errf(err, errlen, "%s: out of memory", ps.name);
        return NULL;
    }
    while (!ps.failed) {
        skip_ws(&ps);
        if (*ps.p == 0)
            break;
        if (*ps.p != '\n') {
            size_t len = peek_ident(&ps);
            if (ident_is(&ps, len, "inputs")) {
                if (have_inputs) {
                    perr(&ps, ps.p, "a second 'inputs' line");
                    break;
                }
                have_inputs = 1;
                inputs_line = ps.line;
                inputs_ls = ps.line_start;
                ps.p += len;
                if (!parse_ref_line(&ps, &ins, &nins, &ins_at))
                    break;
            } else if (ident_is(&ps, len, "outputs")) {
                if (outputs_line) {
                    perr(&ps, ps.p, "a second 'outputs' line");
                    break;
                }
                outputs_line = ps.line;
                outputs_ls = ps.line_start;
                ps.p += len;
                if (!parse_ref_line(&ps, &outs, &nouts, &outs_at))
                    break;
            } else if (ident_is(&ps, len, "buf")) {
                ps.p += len;
                if (!parse_buf_line(&ps))
                    break;
            } else if (ident_is(&ps, len, "arena_bytes")) {
                ps.p += len;
                int64_t v = 0;
                if (!parse_int(&ps, &v))
                    break;
                ps.g->arena_bytes = v;
            } else if (*ps.p == '%') {
                if (!parse_node(&ps))
                    break;
            } else {
                char b[32];
                perr(&ps, ps.p,
                     "expected a node (%%N:type = op …), 'inputs' or 'outputs', found %s",
                     tok_desc(ps.p, b, sizeof b));
                break;
            }
            if (!at_eol(&ps)) {
                char b[32];
                perr(&ps, ps.p, "unexpected %s at end of statement", tok_desc(ps.p, b, sizeof b));
                break;
            }
        }
        if (*ps.p == '\n') {
            ps.p++;
            ps.line++;
            ps.line_start = ps.p;
        }
    }
    sn_ir_graph *g = ps.g;
    /* resolve inputs/outputs (refs may point forward from an early line) */
    if (!ps.failed && have_inputs) {
        ps.line = inputs_line;
        ps.line_start = inputs_ls;
        for (int32_t k = 0; k < nins && !ps.failed; k++)
            if (ins[k] >= g->nnodes || g->nodes[ins[k]].op != SN_OP_INPUT)
                perr(&ps, ins_at[k], "%%%d is not an input node", (int)ins[k]);
        if (!ps.failed) {
            free(g->inputs);
            g->inputs = ins;
            g->ninputs = nins;
            ins = NULL;
        }
    } else if (!ps.failed) {
        for (int32_t i = 0; i < g->nnodes; i++)
            if (g->nodes[i].op == SN_OP_INPUT) {
                int32_t *na = realloc(g->inputs, (size_t)(g->ninputs + 1) * sizeof *na);
                if (!na) {
                    sn_errf(err, errlen, "%s: out of memory", ps.name);
                    ps.failed = 1;
                    break;
                }
                g->inputs = na;
                g->inputs[g->ninputs++] = i;
            }
    }
    if (!ps.failed && outputs_line) {
        ps.line = outputs_line;
        ps.line_start = outputs_ls;
        for (int32_t k = 0; k < nouts && !ps.failed; k++)
            if (outs[k] >= g->nnodes)
                perr(&ps, outs_at[k], "%%%d does not exist", (int)outs[k]);
        if (!ps.failed) {
            g->outputs = outs;
            g->noutputs = nouts;
            outs = NULL;
            for (int32_t k = 0; k < g->noutputs; k++)
                g->nodes[g->outputs[k]].flags |= SN_IR_NODE_OUTPUT;
        }
    }
    free(ins);
    free(outs);
    free(ins_at);
    free(outs_at);
    if (ps.failed) {
        sn_ir_graph_free(g);
        return NULL;
    }
    return g;
}
