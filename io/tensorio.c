/* frontend/tensorio.c — tensors in files: float conversions, safetensors and .npy.
 *
 * Both readers work on a buffer holding the whole file and trust nothing in it: every length
 * is checked against the bytes actually present before it is used, all size arithmetic is
 * done in uint64 with explicit overflow checks, and the safetensors header is validated
 * completely (JSON syntax, field types, offsets, sizes, overlaps) before any tensor is copied.
 * The file readers are thin wrappers over the from-memory parsers, which the fuzz targets
 * (tests/fuzz/) drive directly.
 *
 * Byte order: files are little-endian; tensors in memory are in host order. Bytes are
 * assembled explicitly (p[0] | p[1] << 8 …), which compilers turn into plain loads on
 * little-endian hosts and which stays correct elsewhere.
 */
#include "io/io_int.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- small helpers */

#define SN_FE_STR_(x) #x
#define SN_FE_STR(x) SN_FE_STR_(x)

static uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t ld32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t ld64(const uint8_t *p) { return ld32(p) | ((uint64_t)ld32(p + 4) << 32); }
static void st16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void st32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void st64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int host_is_le(void) {
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* a*b (and a*b*c) in uint64 with overflow detection: returns 0 and leaves *r alone on
 * overflow. */
static int mul_ok(uint64_t a, uint64_t b, uint64_t *r) {
    if (a != 0 && b > UINT64_MAX / a)
        return 0;
    *r = a * b;
    return 1;
}

/* numel of a shape whose dims are known non-negative, or -1 when numel × 8 bytes would not fit
 * in int64 (so every later byte count fits too). A zero dim makes numel 0 whatever the
 * others are, but huge other dims are still refused: nothing downstream should ever see
 * them. */
static int64_t checked_numel(const sn_shape *s) {
    uint64_t n = 1, nz = 1;
    for (int i = 0; i < s->ndim; i++) {
        uint64_t d = (uint64_t)s->d[i];
        if (d == 0) {
            n = 0;
            continue;
        }
        if (!mul_ok(nz, d, &nz) || nz > (uint64_t)INT64_MAX / 8)
            return -1;
        n *= d;
    }
    return (int64_t)n;
}

static void shape_fmt(const sn_shape *s, char *buf, size_t n) {
    size_t k = 0;
    buf[0] = '\0';
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < s->ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ",%lld" : "%lld", (long long)s->d[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

/* ---------------------------------------------------------------- float conversions */

static int32_t f32_to_i32(float f) {
    if (f != f)
        return 0;
    if (f >= 2147483647.0f)
        return INT32_MAX;
    if (f <= -2147483648.0f)
        return INT32_MIN;
    return (int32_t)f;
}

void sn_io_to_f32(sn_dtype t, const void *src, float *dst, int64_t n) {
    const uint8_t *s = src;
    switch (t) {
    case SN_DTYPE_F32:
        memmove(dst, src, (size_t)n * 4);
        break;
    case SN_DTYPE_F16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = sn_f16_to_f32(h);
        }
        break;
    case SN_DTYPE_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = sn_bf16_to_f32(h);
        }
        break;
    case SN_DTYPE_I32:
        for (int64_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, s + 4 * i, 4);
            dst[i] = (float)v;
        }
        break;
    default:
        SN_ASSERT(!"sn_io_to_f32: bad dtype");
    }
}

void sn_io_from_f32(sn_dtype t, const float *src, void *dst, int64_t n) {
    uint8_t *d = dst;
    switch (t) {
    case SN_DTYPE_F32:
        memmove(dst, src, (size_t)n * 4);
        break;
    case SN_DTYPE_F16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = sn_f32_to_f16(src[i]);
            memcpy(d + 2 * i, &h, 2);
        }
        break;
    case SN_DTYPE_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = sn_f32_to_bf16(src[i]);
            memcpy(d + 2 * i, &h, 2);
        }
        break;
    case SN_DTYPE_I32:
        for (int64_t i = 0; i < n; i++) {
            int32_t v = f32_to_i32(src[i]);
            memcpy(d + 4 * i, &v, 4);
        }
        break;
    default:
        SN_ASSERT(!"sn_io_from_f32: bad dtype");
    }
}

void sn_io_le_to_f32(sn_dtype t, const uint8_t *src, float *dst, int64_t n) {
    switch (t) {
    case SN_DTYPE_F32:
        if (host_is_le()) {
            memcpy(dst, src, (size_t)n * 4);
        } else {
            for (int64_t i = 0; i < n; i++)
                dst[i] = bits_f32(ld32(src + 4 * i));
        }
        break;
    case SN_DTYPE_F16:
        for (int64_t i = 0; i < n; i++)
            dst[i] = sn_f16_to_f32(ld16(src + 2 * i));
        break;
    case SN_DTYPE_BF16:
        for (int64_t i = 0; i < n; i++)
            dst[i] = sn_bf16_to_f32(ld16(src + 2 * i));
        break;
    case SN_DTYPE_I32:
        for (int64_t i = 0; i < n; i++)
            dst[i] = (float)(int32_t)ld32(src + 4 * i);
        break;
    default:
        SN_ASSERT(!"sn_io_le_to_f32: bad dtype");
    }
}

/* Copies n elements of size esz from little-endian file bytes to host order (or back: the
 * operation is its own inverse). */
static void le_copy(void *dst, const void *src, size_t n, size_t esz) {
    if (host_is_le() || esz == 1) {
        memcpy(dst, src, n * esz);
        return;
    }
    const uint8_t *s = src;
    uint8_t *d = dst;
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; b < esz; b++)
            d[i * esz + b] = s[i * esz + esz - 1 - b];
}

void sn_io_tensors_free(sn_io_tensors *ts) {
    if (!ts)
        return;
    for (int i = 0; i < ts->n; i++) {
        free(ts->t[i].name);
        free(ts->t[i].data);
    }
    free(ts->t);
    ts->t = NULL;
    ts->n = 0;
}

/* ---------------------------------------------------------------- strict JSON (header)
 *
 * A recursive-descent reader for exactly RFC 8259, specialised to the safetensors header: the
 * top-level object is walked member by member, tensor entries are decoded into
 * sn_io_entry, and anything else ("__metadata__") is validated and skipped. No DOM, so
 * memory is bounded by the names kept; recursion is bounded by JSON_MAX_DEPTH. */

#define JSON_MAX_DEPTH 64
#define ST_MAX_HEADER (100u * 1000u * 1000u)

typedef struct jp {
    const uint8_t *s;
    size_t n, i;
    const char *what;   /* the path, for messages */
    const char *tensor; /* the entry being read, for messages; NULL outside entries */
    char *err;
    size_t errlen;
    int failed;
} jp;

static void jerr(jp *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void jerr(jp *p, const char *fmt, ...) {
    if (p->failed)
        return; /* keep the first, most precise message */
    p->failed = 1;
    if (!p->err || p->errlen == 0)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char nb[SN_SHOWN_NAME];
    if (p->tensor)
        snprintf(p->err, p->errlen, "%s: bad safetensors header at byte %zu (tensor '%s'): %s",
                 p->what, p->i, sn_escape(p->tensor, nb, sizeof nb), msg);
    else
        snprintf(p->err, p->errlen, "%s: bad safetensors header at byte %zu: %s", p->what, p->i,
                 msg);
}

static void jws(jp *p) {
    while (p->i < p->n) {
        uint8_t c = p->s[p->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->i++;
    }
}

static int jpeek(jp *p) { return p->i < p->n ? p->s[p->i] : -1; }

static int jexpect(jp *p, char c) {
    jws(p);
    if (jpeek(p) != (uint8_t)c) {
        if (p->i >= p->n)
            jerr(p, "expected '%c' but the header ends", c);
        else
            jerr(p, "expected '%c'", c);
        return 0;
    }
    p->i++;
    return 1;
}

/* Length of a valid UTF-8 sequence at s (n bytes available), or 0 when invalid (overlong,
 * surrogate, > U+10FFFF, truncated). */
static size_t utf8_len(const uint8_t *s, size_t n) {
    uint32_t cp;
    return sn_utf8_decode(s, n, &cp);
}

static int hex4(const uint8_t *s, uint32_t *v) {
    uint32_t r = 0;
    for (int k = 0; k < 4; k++) {
        uint8_t c = s[k];
        r <<= 4;
        if (c >= '0' && c <= '9')
            r |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            r |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            r |= (uint32_t)(c - 'A' + 10);
        else
            return 0;
    }
    *v = r;
    return 1;
}

static size_t put_utf8(uint8_t *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* string = '"' chars '"'. With out != NULL the decoded text is returned malloc'ed (the
 * decoded form is never longer than the source); *has_nul reports an escaped U+0000. */
static int jstring(jp *p, char **out, int *has_nul) {
    jws(p);
    if (out)
        *out = NULL;
    if (has_nul)
        *has_nul = 0;
    if (jpeek(p) != '"') {
        jerr(p, "expected a string");
        return 0;
    }
    p->i++;
    size_t start = p->i;
    uint8_t *o = NULL;
    size_t k = 0;
    if (out) {
        /* The decoded text is never longer than the source: find the closing quote (an
         * unterminated string is reported by the loop below) and allocate that much. */
        size_t end = start;
        while (end < p->n && p->s[end] != '"')
            end += p->s[end] == '\\' ? 2 : 1;
        if (end > p->n)
            end = p->n;
        o = malloc(end - start + 1);
        if (!o) {
            jerr(p, "out of memory");
            return 0;
        }
    }
    for (;;) {
        if (p->i >= p->n) {
            jerr(p, "unterminated string");
            goto fail;
        }
        uint8_t c = p->s[p->i];
        if (c == '"') {
            p->i++;
            break;
        }
        if (c < 0x20) {
            jerr(p, "control character 0x%02x in a string", c);
            goto fail;
        }
        if (c == '\\') {
            if (p->i + 1 >= p->n) {
                jerr(p, "unterminated escape");
                goto fail;
            }
            uint8_t e = p->s[p->i + 1];
            uint32_t cp = 0;
            p->i += 2;
            switch (e) {
            case '"':
                cp = '"';
                break;
            case '\\':
                cp = '\\';
                break;
            case '/':
                cp = '/';
                break;
            case 'b':
                cp = '\b';
                break;
            case 'f':
                cp = '\f';
                break;
            case 'n':
                cp = '\n';
                break;
            case 'r':
                cp = '\r';
                break;
            case 't':
                cp = '\t';
                break;
            case 'u': {
                if (p->n - p->i < 4 || !hex4(p->s + p->i, &cp)) {
                    jerr(p, "bad \\u escape");
                    goto fail;
                }
                p->i += 4;
                if (cp >= 0xdc00 && cp <= 0xdfff) {
                    jerr(p, "unpaired low surrogate \\u%04x", (unsigned)cp);
                    goto fail;
                }
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    uint32_t lo;
                    if (p->n - p->i < 6 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
                        !hex4(p->s + p->i + 2, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                        jerr(p, "unpaired high surrogate \\u%04x", (unsigned)cp);
                        goto fail;
                    }
                    p->i += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                if (cp == 0 && has_nul)
                    *has_nul = 1;
                break;
            }
            default:
                p->i -= 2;
                jerr(p, "bad escape '\\%c'", e >= 0x20 && e < 0x7f ? e : '?');
                goto fail;
            }
            if (o)
                k += put_utf8(o + k, cp);
            continue;
        }
        size_t l = utf8_len(p->s + p->i, p->n - p->i);
        if (l == 0) {
            jerr(p, "invalid UTF-8");
            goto fail;
        }
        if (o)
            memcpy(o + k, p->s + p->i, l);
        k += l;
        p->i += l;
    }
    if (o) {
        o[k] = '\0';
        *out = (char *)o;
    }
    return 1;
fail:
    free(o);
    return 0;
}

/* number, validated by the JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 * With v != NULL it must be a non-negative integer < 2^63 (no fraction, no exponent). */
static int jnumber(jp *p, uint64_t *v, const char *what) {
    jws(p);
    size_t st = p->i;
    int neg = 0, frac = 0;
    if (jpeek(p) == '-') {
        neg = 1;
        p->i++;
    }
    int c = jpeek(p);
    if (c < '0' || c > '9') {
        p->i = st;
        jerr(p, v ? "expected a non-negative integer for %s" : "expected a value%s", what);
        return 0;
    }
    uint64_t acc = 0;
    int big = 0;
    if (c == '0') {
        p->i++;
        c = jpeek(p);
        if (c >= '0' && c <= '9') {
            jerr(p, "leading zero in a number");
            return 0;
        }
    } else {
        while ((c = jpeek(p)) >= '0' && c <= '9') {
            if (acc > ((uint64_t)INT64_MAX - (uint64_t)(c - '0')) / 10)
                big = 1;
            else
                acc = acc * 10 + (uint64_t)(c - '0');
            p->i++;
        }
    }
    if (jpeek(p) == '.') {
        frac = 1;
        p->i++;
        if ((c = jpeek(p)) < '0' || c > '9') {
            jerr(p, "bad number: digits must follow '.'");
            return 0;
        }
        while ((c = jpeek(p)) >= '0' && c <= '9')
            p->i++;
    }
    if (jpeek(p) == 'e' || jpeek(p) == 'E') {
        frac = 1;
        p->i++;
        if (jpeek(p) == '+' || jpeek(p) == '-')
            p->i++;
        if ((c = jpeek(p)) < '0' || c > '9') {
            jerr(p, "bad number: digits must follow the exponent");
            return 0;
        }
        while ((c = jpeek(p)) >= '0' && c <= '9')
            p->i++;
    }
    if (!v)
        return 1;
    if (neg || frac || big) {
        p->i = st;
        jerr(p, "%s must be an integer in [0, 2^63)", what);
        return 0;
    }
    *v = acc;
    return 1;
}

static int jliteral(jp *p, const char *lit) {
    size_t l = strlen(lit);
    if (p->n - p->i < l || memcmp(p->s + p->i, lit, l) != 0) {
        jerr(p, "expected a value");
        return 0;
    }
    p->i += l;
    return 1;
}

/* Any JSON value, validated and skipped. depth counts the enclosing containers. */
static int jskip(jp *p, int depth) {
    jws(p);
    int c = jpeek(p);
    if (c == '{' || c == '[') {
        if (depth >= JSON_MAX_DEPTH) {
            jerr(p, "nesting deeper than %d", JSON_MAX_DEPTH);
            return 0;
        }
        int close = c == '{' ? '}' : ']';
        p->i++;
        jws(p);
        if (jpeek(p) == close) {
            p->i++;
            return 1;
        }
        for (;;) {
            if (c == '{') {
                if (!jstring(p, NULL, NULL) || !jexpect(p, ':'))
                    return 0;
            }
            if (!jskip(p, depth + 1))
                return 0;
            jws(p);
            int d = jpeek(p);
            if (d == ',') {
                p->i++;
                continue;
            }
            if (d == close) {
                p->i++;
                return 1;
            }
            jerr(p, "expected ',' or '%c'", close);
            return 0;
        }
    }
    if (c == '"')
        return jstring(p, NULL, NULL);
    if (c == 't')
        return jliteral(p, "true");
    if (c == 'f')
        return jliteral(p, "false");
    if (c == 'n')
        return jliteral(p, "null");
    if (c == -1) {
        jerr(p, "expected a value but the header ends");
        return 0;
    }
    return jnumber(p, NULL, "");
}

/* '[' uint (',' uint)* ']' or '[]': at most max entries. */
static int juint_array(jp *p, uint64_t *v, int max, int *count, const char *what) {
    if (!jexpect(p, '['))
        return 0;
    *count = 0;
    jws(p);
    if (jpeek(p) == ']') {
        p->i++;
        return 1;
    }
    for (;;) {
        uint64_t x;
        if (!jnumber(p, &x, what))
            return 0;
        if (*count >= max) {
            jerr(p, "%s has more than %d entries", what, max);
            return 0;
        }
        v[(*count)++] = x;
        jws(p);
        if (jpeek(p) == ',') {
            p->i++;
            continue;
        }
        if (jpeek(p) == ']') {
            p->i++;
            return 1;
        }
        jerr(p, "expected ',' or ']' in %s", what);
        return 0;
    }
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The safetensors dtypes Sinter does not read, so the message can say "not supported"
 * rather than "unknown". */
static const char *const st_other_dtypes[] = {
    "F64",  "I64",     "I32",     "I16",     "I8", "U64",     "U32",     "U16", "U8",
    "BOOL", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64"};

typedef struct st_raw {
    sn_io_entry e;
    uint64_t begin, end;
} st_raw;

/* tensor = '{' "dtype": string, "shape": [uint…], "data_offsets": [uint, uint] '}' (any order,
 * each exactly once, nothing else). Fills r (name already set). */
static int jtensor(jp *p, st_raw *r) {
    char *dtype = NULL;
    int have_dtype = 0, have_shape = 0, have_off = 0;
    uint64_t dims[SN_MAX_DIMS], off[2];
    int ndim = 0, noff = 0;
    jws(p);
    if (jpeek(p) != '{') {
        jerr(p, "a tensor entry must be an object");
        return 0;
    }
    p->i++;
    jws(p);
    if (jpeek(p) == '}') {
        jerr(p, "empty tensor entry: needs dtype, shape and data_offsets");
        return 0;
    }
    for (;;) {
        char *key;
        int nul;
        if (!jstring(p, &key, &nul))
            goto fail;
        if (!jexpect(p, ':')) {
            free(key);
            goto fail;
        }
        int ok;
        if (strcmp(key, "dtype") == 0 && !nul) {
            ok = !have_dtype;
            have_dtype = 1;
            if (ok)
                ok = jstring(p, &dtype, &nul);
            else
                jerr(p, "duplicate field 'dtype'");
        } else if (strcmp(key, "shape") == 0 && !nul) {
            ok = !have_shape;
            have_shape = 1;
            if (ok)
                ok = juint_array(p, dims, SN_MAX_DIMS, &ndim, "shape");
            else
                jerr(p, "duplicate field 'shape'");
        } else if (strcmp(key, "data_offsets") == 0 && !nul) {
            ok = !have_off;
            have_off = 1;
            if (ok)
                ok = juint_array(p, off, 2, &noff, "data_offsets");
            else
                jerr(p, "duplicate field 'data_offsets'");
            if (ok && noff != 2) {
                jerr(p, "data_offsets must hold exactly 2 integers");
                ok = 0;
            }
        } else {
            char kb[80];
            jerr(p, "unknown field '%s' (expected dtype, shape, data_offsets)",
                 sn_escape(key, kb, sizeof kb));
            ok = 0;
        }
        free(key);
        if (!ok)
            goto fail;
        jws(p);
        if (jpeek(p) == ',') {
            p->i++;
            continue;
        }
        if (jpeek(p) == '}') {
            p->i++;
            break;
        }
        jerr(p, "expected ',' or '}'");
        goto fail;
    }
    if (!have_dtype || !have_shape || !have_off) {
        jerr(p, "missing field '%s'",
             !have_dtype   ? "dtype"
             : !have_shape ? "shape"
                           : "data_offsets");
        goto fail;
    }
    /* dtype */
    size_t esz = 0;
    if (strcmp(dtype, "F32") == 0) {
        r->e.dtype = SN_DTYPE_F32;
        esz = 4;
    } else if (strcmp(dtype, "F16") == 0) {
        r->e.dtype = SN_DTYPE_F16;
        esz = 2;
    } else if (strcmp(dtype, "BF16") == 0) {
        r->e.dtype = SN_DTYPE_BF16;
        esz = 2;
    } else if (strcmp(dtype, "I64") == 0 && ends_with(r->e.name, "num_batches_tracked")) {
        r->e.skip = 1;
        r->e.dtype = SN_DTYPE_F32; /* unused */
        esz = 8;
    } else {
        int known = 0;
        for (size_t k = 0; k < sizeof st_other_dtypes / sizeof *st_other_dtypes; k++)
            known |= strcmp(dtype, st_other_dtypes[k]) == 0;
        char nb[SN_SHOWN_NAME], db[48];
        if (p->err && p->errlen)
            snprintf(p->err, p->errlen,
                     known ? "%s: tensor '%s' has dtype %s: Sinter reads F32, F16 and BF16"
                           : "%s: tensor '%s' has unknown dtype '%s' (Sinter reads F32, "
                             "F16 and BF16)",
                     p->what, sn_escape(r->e.name, nb, sizeof nb), sn_escape(dtype, db, sizeof db));
        p->failed = 1;
        goto fail;
    }
    free(dtype);
    dtype = NULL;
    r->e.shape.ndim = ndim;
    for (int k = 0; k < ndim; k++) {
        if (dims[k] > (uint64_t)INT64_MAX) { /* cannot happen: jnumber caps at 2^63-1 */
            jerr(p, "dimension too large");
            goto fail;
        }
        r->e.shape.d[k] = (int64_t)dims[k];
    }
    r->e.numel = checked_numel(&r->e.shape);
    char sb[160], nb[SN_SHOWN_NAME];
    shape_fmt(&r->e.shape, sb, sizeof sb);
    sn_escape(r->e.name, nb, sizeof nb);
    if (r->e.numel < 0) {
        if (p->err && p->errlen)
            snprintf(p->err, p->errlen, "%s: tensor '%s': shape %s is too large", p->what, nb, sb);
        p->failed = 1;
        goto fail;
    }
    r->e.nbytes = (uint64_t)r->e.numel * esz;
    r->begin = off[0];
    r->end = off[1];
    if (off[1] < off[0] || off[1] - off[0] != r->e.nbytes) {
        if (p->err && p->errlen)
            snprintf(p->err, p->errlen,
                     "%s: tensor '%s': data_offsets [%llu,%llu] do not hold shape %s of "
                     "%s (%llu bytes)",
                     p->what, nb, (unsigned long long)off[0], (unsigned long long)off[1], sb,
                     r->e.skip ? "I64" : sn_dtype_name(r->e.dtype),
                     (unsigned long long)r->e.nbytes);
        p->failed = 1;
        goto fail;
    }
    return 1;
fail:
    free(dtype);
    return 0;
}

static int cmp_entry_name(const void *a, const void *b) {
    return strcmp(((const st_raw *)a)->e.name, ((const st_raw *)b)->e.name);
}

static int cmp_begin(const void *a, const void *b) {
    const st_raw *x = *(const st_raw *const *)a, *y = *(const st_raw *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : 0;
}

static void raw_free(st_raw *r, int n) {
    for (int k = 0; k < n; k++)
        free(r[k].e.name);
    free(r);
}

void sn_io_index_free(sn_io_index *ix) {
    if (!ix)
        return;
    for (int k = 0; k < ix->n; k++)
        free(ix->e[k].name);
    free(ix->e);
    free(ix->own);
    ix->e = NULL;
    ix->n = 0;
    ix->own = NULL;
}

sn_status sn_io_st_index(const void *buf, size_t len, const char *what, sn_io_index *out, char *err,
                         size_t errlen) {
    const uint8_t *b = buf;
    out->e = NULL;
    out->n = 0;
    out->own = NULL;
    char wb[SN_SHOWN], nb[SN_SHOWN_NAME], nb2[SN_SHOWN_NAME];
    what = sn_escape(what ? what : "<memory>", wb, sizeof wb);
    if (len < 8) {
        sn_errf(err, errlen,
                "%s: not a safetensors file: %zu bytes, shorter than the 8-byte header "
                "length",
                what, len);
        return SN_ERR_INVALID;
    }
    uint64_t hlen = ld64(b);
    if (hlen > ST_MAX_HEADER) {
        sn_errf(err, errlen,
                "%s: not a safetensors file: header length %llu exceeds the 100 MB limit", what,
                (unsigned long long)hlen);
        return SN_ERR_INVALID;
    }
    if (hlen > len - 8) {
        sn_errf(err, errlen,
                "%s: truncated safetensors file: header length %llu but only %zu bytes "
                "follow",
                what, (unsigned long long)hlen, len - 8);
        return SN_ERR_INVALID;
    }
    if (hlen < 2 || b[8] != '{') {
        sn_errf(err, errlen, "%s: not a safetensors file: the header does not start with '{'",
                what);
        return SN_ERR_INVALID;
    }
    const uint8_t *data = b + 8 + hlen;
    uint64_t dlen = len - 8 - hlen;

    jp p = {b + 8, (size_t)hlen, 0, what, NULL, err, errlen, 0};
    st_raw *raw = NULL;
    int n = 0, cap = 0, have_meta = 0;
    p.i = 1;
    jws(&p);
    if (jpeek(&p) == '}') {
        p.i++;
    } else {
        for (;;) {
            char *key;
            int nul;
            if (!jstring(&p, &key, &nul))
                goto fail;
            if (!jexpect(&p, ':')) {
                free(key);
                goto fail;
            }
            if (strcmp(key, "__metadata__") == 0 && !nul) {
                free(key);
                if (have_meta) {
                    jerr(&p, "duplicate key '__metadata__'");
                    goto fail;
                }
                have_meta = 1;
                jws(&p);
                if (jpeek(&p) != '{') {
                    jerr(&p, "__metadata__ must be an object");
                    goto fail;
                }
                if (!jskip(&p, 1))
                    goto fail;
            } else {
                if (nul) {
                    jerr(&p, "a tensor name contains U+0000");
                    free(key);
                    goto fail;
                }
                if (n == cap) {
                    int ncap = cap ? cap * 2 : 64;
                    st_raw *nr = realloc(raw, (size_t)ncap * sizeof *nr);
                    if (!nr) {
                        free(key);
                        jerr(&p, "out of memory");
                        goto fail;
                    }
                    raw = nr;
                    cap = ncap;
                }
                memset(&raw[n], 0, sizeof raw[n]);
                raw[n].e.name = key;
                n++;
                p.tensor = key;
                if (!jtensor(&p, &raw[n - 1]))
                    goto fail;
                p.tensor = NULL;
            }
            jws(&p);
            if (jpeek(&p) == ',') {
                p.i++;
                continue;
            }
            if (jpeek(&p) == '}') {
                p.i++;
                break;
            }
            jerr(&p, p.i >= p.n ? "the header ends inside the top-level object"
                                : "expected ',' or '}'");
            goto fail;
        }
    }
    jws(&p);
    if (p.i != p.n) {
        jerr(&p, "unexpected bytes after the top-level object");
        goto fail;
    }

    /* names unique */
    if (n > 1)
        qsort(raw, (size_t)n, sizeof *raw, cmp_entry_name);
    for (int k = 1; k < n; k++) {
        if (strcmp(raw[k - 1].e.name, raw[k].e.name) == 0) {
            sn_errf(err, errlen, "%s: tensor '%s' appears twice in the header", what,
                    sn_escape(raw[k].e.name, nb, sizeof nb));
            goto fail_quiet;
        }
    }
    /* in bounds */
    for (int k = 0; k < n; k++) {
        if (raw[k].end > dlen) {
            sn_errf(err, errlen,
                    "%s: truncated safetensors file: tensor '%s' ends at data byte "
                    "%llu but the data holds %llu bytes",
                    what, sn_escape(raw[k].e.name, nb, sizeof nb), (unsigned long long)raw[k].end,
                    (unsigned long long)dlen);
            goto fail_quiet;
        }
        raw[k].e.data = data + raw[k].begin;
    }
    /* no overlaps between non-empty ranges */
    {
        st_raw **by = malloc((size_t)(n ? n : 1) * sizeof *by);
        if (!by) {
            sn_errf(err, errlen, "%s: out of memory", what);
            raw_free(raw, n);
            return SN_ERR_NOMEM;
        }
        int m = 0;
        for (int k = 0; k < n; k++)
            if (raw[k].e.nbytes)
                by[m++] = &raw[k];
        if (m > 1)
            qsort(by, (size_t)m, sizeof *by, cmp_begin);
        for (int k = 1; k < m; k++) {
            if (by[k]->begin < by[k - 1]->end) {
                sn_errf(err, errlen, "%s: tensors '%s' and '%s' overlap in the data", what,
                        sn_escape(by[k - 1]->e.name, nb, sizeof nb),
                        sn_escape(by[k]->e.name, nb2, sizeof nb2));
                free(by);
                goto fail_quiet;
            }
        }
        free(by);
    }
    out->e = malloc((size_t)(n ? n : 1) * sizeof *out->e);
    if (!out->e) {
        sn_errf(err, errlen, "%s: out of memory", what);
        raw_free(raw, n);
        return SN_ERR_NOMEM;
    }
    for (int k = 0; k < n; k++)
        out->e[k] = raw[k].e;
    out->n = n;
    free(raw);
    return SN_OK;
fail:
    if (!p.failed)
        jerr(&p, "invalid header");
fail_quiet:
    raw_free(raw, n);
    return SN_ERR_INVALID;
}

sn_status sn_io_safetensors_parse(const void *buf, size_t len, const char *name, sn_io_tensors *out,
                                  char *err, size_t errlen) {
    out->t = NULL;
    out->n = 0;
    if (!name)
        name = "<memory>";
    char wb[SN_SHOWN];
    sn_io_index ix;
    sn_status s = sn_io_st_index(buf, len, name, &ix, err, errlen);
    if (s != SN_OK)
        return s;
    int keep = 0;
    for (int k = 0; k < ix.n; k++)
        keep += !ix.e[k].skip;
    sn_io_tensor *t = calloc((size_t)(keep ? keep : 1), sizeof *t);
    if (!t)
        goto oom;
    out->t = t;
    for (int k = 0; k < ix.n; k++) {
        const sn_io_entry *e = &ix.e[k];
        if (e->skip)
            continue;
        sn_io_tensor *d = &out->t[out->n];
        d->data = malloc(e->nbytes ? (size_t)e->nbytes : 1);
        if (!d->data)
            goto oom;
        d->name = e->name; /* take ownership */
        ix.e[k].name = NULL;
        d->dtype = e->dtype;
        d->shape = e->shape;
        le_copy(d->data, e->data, (size_t)e->numel, sn_dtype_size(e->dtype));
        out->n++;
    }
    sn_io_index_free(&ix);
    return SN_OK;
oom:
    sn_errf(err, errlen, "%s: out of memory reading the tensors", sn_escape(name, wb, sizeof wb));
    sn_io_index_free(&ix);
    sn_io_tensors_free(out);
    return SN_ERR_NOMEM;
}

sn_status sn_io_safetensors_read(const char *path, sn_io_tensors *out, char *err, size_t errlen) {
    out->t = NULL;
    out->n = 0;
    char *buf;
    size_t len;
    sn_status s = sn_read_file(path, &buf, &len, err, errlen);
    if (s != SN_OK)
        return s;
    s = sn_io_safetensors_parse(buf, len, path, out, err, errlen);
    free(buf);
    return s;
}

/* ---------------------------------------------------------------- safetensors writing */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}
static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }
static void sb_fmt(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void sb_fmt(sbuf *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k > 0)
        sb_put(b, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

/* A JSON string literal for a UTF-8 name (validated by the caller). */
static void sb_json_str(sbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            char e[2] = {'\\', (char)*c};
            sb_put(b, e, 2);
        } else if (*c < 0x20) {
            sb_fmt(b, "\\u%04x", *c);
        } else {
            sb_put(b, (const char *)c, 1);
        }
    }
    sb_put(b, "\"", 1);
}

static int utf8_valid(const char *s) {
    const uint8_t *u = (const uint8_t *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t l = utf8_len(u + i, n - i);
        if (!l)
            return 0;
        i += l;
    }
    return 1;
}

static const char *st_dtype_name(sn_dtype t) {
    return t == SN_DTYPE_F32    ? "F32"
           : t == SN_DTYPE_F16  ? "F16"
           : t == SN_DTYPE_BF16 ? "BF16"
                                : NULL;
}

static int cmp_tensor_ptr(const void *a, const void *b) {
    return strcmp((*(const sn_io_tensor *const *)a)->name, (*(const sn_io_tensor *const *)b)->name);
}

sn_status sn_io_st_emit(const sn_io_tensors *ts, const char *const *meta, int nmeta,
                        const char *what, sn_io_emit emit, void *ctx, char *err, size_t errlen) {
    int n = ts->n;
    char wb[SN_SHOWN], tn[SN_SHOWN_NAME];
    what = sn_escape(what, wb, sizeof wb);
    if (n < 0) {
        sn_errf(err, errlen, "%s: negative tensor count", what);
        return SN_ERR_INVALID;
    }
    const sn_io_tensor **order = malloc((size_t)(n ? n : 1) * sizeof *order);
    if (!order) {
        sn_errf(err, errlen, "%s: out of memory", what);
        return SN_ERR_NOMEM;
    }
    for (int k = 0; k < n; k++) {
        const sn_io_tensor *t = &ts->t[k];
        if (!t->name || !*t->name || strcmp(t->name, "__metadata__") == 0 || !utf8_valid(t->name)) {
            sn_errf(err, errlen,
                    "%s: tensor %d has an invalid name ('%s'): names must be "
                    "non-empty UTF-8 and not __metadata__",
                    what, k, t->name ? sn_escape(t->name, tn, sizeof tn) : "(null)");
            free(order);
            return SN_ERR_INVALID;
        }
        if (!st_dtype_name(t->dtype)) {
            sn_errf(err, errlen,
                    "%s: tensor '%s': cannot write dtype %s (F32, F16, "
                    "BF16 only)",
                    what, sn_escape(t->name, tn, sizeof tn), sn_dtype_name(t->dtype));
            free(order);
            return SN_ERR_INVALID;
        }
        int bad = t->shape.ndim < 0 || t->shape.ndim > SN_MAX_DIMS;
        for (int d = 0; !bad && d < t->shape.ndim; d++)
            bad = t->shape.d[d] < 0;
        if (bad || checked_numel(&t->shape) < 0) {
            sn_errf(err, errlen, "%s: tensor '%s': invalid shape", what,
                    sn_escape(t->name, tn, sizeof tn));
            free(order);
            return SN_ERR_INVALID;
        }
        if (!t->data && checked_numel(&t->shape) > 0) {
            sn_errf(err, errlen, "%s: tensor '%s' has no data", what,
                    sn_escape(t->name, tn, sizeof tn));
            free(order);
            return SN_ERR_INVALID;
        }
        order[k] = t;
    }
    if (n > 1)
        qsort(order, (size_t)n, sizeof *order, cmp_tensor_ptr);
    for (int k = 1; k < n; k++) {
        if (strcmp(order[k]->name, order[k - 1]->name) == 0) {
            sn_errf(err, errlen, "%s: tensor '%s' is given twice", what,
                    sn_escape(order[k]->name, tn, sizeof tn));
            free(order);
            return SN_ERR_INVALID;
        }
    }
    for (int k = 0; k < nmeta; k++) {
        const char *key = meta[2 * k], *val = meta[2 * k + 1];
        int dup = !strcmp(key, "format");
        for (int j = 0; j < k; j++)
            dup |= !strcmp(key, meta[2 * j]);
        if (!*key || dup || !utf8_valid(key) || !utf8_valid(val)) {
            sn_errf(err, errlen,
                    "%s: metadata key '%s': keys must be non-empty, unique and not \"format\", "
                    "keys and values UTF-8",
                    what, sn_escape(key, tn, sizeof tn));
            free(order);
            return SN_ERR_INVALID;
        }
    }
    sbuf h = {0};
    sb_str(&h, "{\"__metadata__\":{\"format\":\"pt\"");
    for (int k = 0; k < nmeta; k++) {
        sb_put(&h, ",", 1);
        sb_json_str(&h, meta[2 * k]);
        sb_put(&h, ":", 1);
        sb_json_str(&h, meta[2 * k + 1]);
    }
    sb_put(&h, "}", 1);
    uint64_t off = 0;
    for (int k = 0; k < n; k++) {
        const sn_io_tensor *t = order[k];
        uint64_t nb = (uint64_t)checked_numel(&t->shape) * sn_dtype_size(t->dtype);
        sb_put(&h, ",", 1);
        sb_json_str(&h, t->name);
        sb_fmt(&h, ":{\"dtype\":\"%s\",\"shape\":[", st_dtype_name(t->dtype));
        for (int d = 0; d < t->shape.ndim; d++)
            sb_fmt(&h, d ? ",%lld" : "%lld", (long long)t->shape.d[d]);
        sb_fmt(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
               (unsigned long long)(off + nb));
        off += nb;
    }
    sb_put(&h, "}", 1);
    while (!h.oom && h.n % 8 != 0)
        sb_put(&h, " ", 1); /* 8 + N ≡ 0 (mod 8): aligned data */
    if (h.oom || h.n > ST_MAX_HEADER) {
        sn_errf(err, errlen, h.oom ? "%s: out of memory" : "%s: header too large", what);
        free(h.p);
        free(order);
        return h.oom ? SN_ERR_NOMEM : SN_ERR_INVALID;
    }
    uint8_t len8[8];
    st64(len8, h.n);
    sn_status s = SN_OK;
    if (emit(ctx, len8, 8, err, errlen) || emit(ctx, h.p, h.n, err, errlen))
        s = SN_ERR_IO;
    free(h.p);
    /* data: on little-endian hosts the arrays are the file bytes; else swap in chunks */
    enum { CHUNK = 1 << 16 };
    uint8_t *tmp = NULL;
    for (int k = 0; s == SN_OK && k < n; k++) {
        const sn_io_tensor *t = order[k];
        size_t esz = sn_dtype_size(t->dtype);
        size_t nb = (size_t)checked_numel(&t->shape) * esz;
        if (nb == 0)
            continue;
        if (host_is_le()) {
            if (emit(ctx, t->data, nb, err, errlen))
                s = SN_ERR_IO;
            continue;
        }
        if (!tmp && !(tmp = malloc(CHUNK))) {
            sn_errf(err, errlen, "%s: out of memory", what);
            s = SN_ERR_NOMEM;
            break;
        }
        for (size_t o = 0; s == SN_OK && o < nb; o += CHUNK) {
            size_t c = nb - o < CHUNK ? nb - o : CHUNK;
            le_copy(tmp, (const uint8_t *)t->data + o, c / esz, esz);
            if (emit(ctx, tmp, c, err, errlen))
                s = SN_ERR_IO;
        }
    }
    free(tmp);
    free(order);
    return s;
}

static int emit_atomic(void *ctx, const void *p, size_t n, char *err, size_t errlen) {
    return sn_atomic_write(ctx, p, n, err, errlen) != SN_OK;
}

static int emit_mem(void *ctx, const void *p, size_t n, char *err, size_t errlen) {
    sbuf *b = ctx;
    sb_put(b, p, n);
    if (b->oom)
        sn_errf(err, errlen, "out of memory");
    return b->oom;
}

sn_status sn_io_safetensors_write(const char *path, const sn_io_tensors *ts, char *err,
                                  size_t errlen) {
    return sn_io_safetensors_write_meta(path, ts, NULL, 0, err, errlen);
}

sn_status sn_io_safetensors_write_meta(const char *path, const sn_io_tensors *ts,
                                       const char *const *meta, int nmeta, char *err,
                                       size_t errlen) {
    sn_atomic_file a;
    sn_status s = sn_atomic_begin(&a, path, err, errlen);
    if (s != SN_OK)
        return s;
    s = sn_io_st_emit(ts, meta, nmeta, path, emit_atomic, &a, err, errlen);
    if (s != SN_OK) {
        sn_atomic_abort(&a); /* no-op when a write already aborted it */
        return s;
    }
    return sn_atomic_commit(&a, err, errlen);
}

sn_status sn_io_safetensors_encode(const sn_io_tensors *ts, void **buf, size_t *len, char *err,
                                   size_t errlen) {
    sbuf b = {0};
    *buf = NULL;
    *len = 0;
    sn_status s = sn_io_st_emit(ts, NULL, 0, "<memory>", emit_mem, &b, err, errlen);
    if (s != SN_OK) {
        free(b.p);
        return b.oom ? SN_ERR_NOMEM : s;
    }
    *buf = b.p;
    *len = b.n;
    return SN_OK;
}

/* ---------------------------------------------------------------- .npy
 *
 * File = "\x93NUMPY" major minor, a header length (u16 for 1.0, u32 for 2.0/3.0), and a
 * Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 640, 640), }
 * padded with spaces and a final '\n', then the raw array. The header is read with a tiny
 * parser for exactly this subset of Python literals (strings, True/False, tuples of ints),
 * never evaluated. */

typedef struct np {
    const uint8_t *s;
    size_t n, i;
} np;

static void nws(np *p) {
    while (p->i < p->n &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int nchar(np *p, char c) {
    nws(p);
    if (p->i < p->n && p->s[p->i] == (uint8_t)c) {
        p->i++;
        return 1;
    }
    return 0;
}

/* 'text' or "text" with no escapes (numpy never writes any); copies up to cap-1 bytes. */
static int nstr(np *p, char *out, size_t cap) {
    nws(p);
    if (p->i >= p->n || (p->s[p->i] != '\'' && p->s[p->i] != '"'))
        return 0;
    uint8_t q = p->s[p->i++];
    size_t k = 0;
    while (p->i < p->n && p->s[p->i] != q) {
        if (p->s[p->i] == '\\' || p->s[p->i] == '\n')
            return 0;
        if (k + 1 < cap)
            out[k++] = (char)p->s[p->i];
        else
            return 0; /* longer than anything we accept */
        p->i++;
    }
    if (p->i >= p->n)
        return 0;
    p->i++;
    out[k] = '\0';
    return 1;
}

static int nint(np *p, int64_t *v) {
    nws(p);
    if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
        return 0;
    uint64_t acc = 0;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
        if (acc > ((uint64_t)1 << 62) / 10)
            return 0; /* absurd: refused, never wraps */
        acc = acc * 10 + (uint64_t)(p->s[p->i] - '0');
        p->i++;
    }
    if (p->i < p->n && p->s[p->i] == 'L')
        p->i++; /* Python 2 long, as old numpy wrote */
    *v = (int64_t)acc;
    return 1;
}

/* '(' ')' | '(' int ',' ')' | '(' int (',' int)+ [','] ')' */
static const char *ntuple(np *p, sn_shape *s) {
    s->ndim = 0;
    if (!nchar(p, '('))
        return "shape must be a tuple";
    if (nchar(p, ')'))
        return NULL;
    for (;;) {
        int64_t v;
        if (!nint(p, &v))
            return "shape entries must be non-negative integers";
        if (s->ndim >= SN_MAX_DIMS)
            return "shape has more than SN_MAX_DIMS (" SN_FE_STR(SN_MAX_DIMS) ") dims";
        s->d[s->ndim++] = v;
        if (nchar(p, ')'))
            return s->ndim == 1 ? "shape (n) is not a tuple; write (n,)" : NULL;
        if (!nchar(p, ','))
            return "expected ',' or ')' in shape";
        if (nchar(p, ')'))
            return NULL;
    }
}

sn_status sn_io_npy_parse(const void *buf, size_t len, const char *name, sn_shape *shape,
                          float **data, char *err, size_t errlen) {
    const uint8_t *b = buf;
    *data = NULL;
    memset(shape, 0, sizeof *shape);
    char wb[SN_SHOWN];
    name = sn_escape(name ? name : "<memory>", wb, sizeof wb);
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
        sn_errf(err, errlen, "%s: not a .npy file (no \\x93NUMPY magic)", name);
        return SN_ERR_INVALID;
    }
    unsigned major = b[6], minor = b[7];
    size_t start;
    uint64_t hlen;
    if (major == 1 && minor == 0) {
        hlen = ld16(b + 8);
        start = 10;
    } else if ((major == 2 || major == 3) && minor == 0) {
        if (len < 12) {
            sn_errf(err, errlen, "%s: truncated .npy file", name);
            return SN_ERR_INVALID;
        }
        hlen = ld32(b + 8);
        start = 12;
    } else {
        sn_errf(err, errlen, "%s: unsupported .npy format version %u.%u (1.0, 2.0, 3.0)", name,
                major, minor);
        return SN_ERR_INVALID;
    }
    if (hlen > len - start) {
        sn_errf(err, errlen,
                "%s: truncated .npy file: header length %llu but only %zu bytes follow", name,
                (unsigned long long)hlen, len - start);
        return SN_ERR_INVALID;
    }
    np p = {b + start, (size_t)hlen, 0};
    char descr[16] = "";
    int have_descr = 0, have_fo = 0, have_shape = 0, fortran = 0;
    const char *why = NULL;
    if (!nchar(&p, '{')) {
        why = "the header is not a dict";
        goto bad;
    }
    while (!nchar(&p, '}')) {
        char key[32];
        if (!nstr(&p, key, sizeof key)) {
            why = "expected a quoted key";
            goto bad;
        }
        if (!nchar(&p, ':')) {
            why = "expected ':'";
            goto bad;
        }
        if (strcmp(key, "descr") == 0 && !have_descr) {
            have_descr = 1;
            if (!nstr(&p, descr, sizeof descr)) {
                why = "descr must be a simple dtype string such as '<f4'";
                goto bad;
            }
        } else if (strcmp(key, "fortran_order") == 0 && !have_fo) {
            have_fo = 1;
            nws(&p);
            if (p.n - p.i >= 4 && memcmp(p.s + p.i, "True", 4) == 0) {
                fortran = 1;
                p.i += 4;
            } else if (p.n - p.i >= 5 && memcmp(p.s + p.i, "False", 5) == 0) {
                p.i += 5;
            } else {
                why = "fortran_order must be True or False";
                goto bad;
            }
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            have_shape = 1;
            if ((why = ntuple(&p, shape)) != NULL)
                goto bad;
        } else {
            char kb[80];
            sn_errf(err, errlen, "%s: bad .npy header: unexpected or repeated key '%s'", name,
                    sn_escape(key, kb, sizeof kb));
            return SN_ERR_INVALID;
        }
        if (nchar(&p, ','))
            continue;
        if (nchar(&p, '}'))
            break;
        why = "expected ',' or '}'";
        goto bad;
    }
    nws(&p);
    if (p.i != p.n) {
        why = "unexpected text after the dict";
        goto bad;
    }
    if (!have_descr || !have_fo || !have_shape) {
        why = !have_descr ? "missing key 'descr'"
              : !have_fo  ? "missing key 'fortran_order'"
                          : "missing key 'shape'";
        goto bad;
    }
    size_t esz;
    if (strcmp(descr, "<f4") == 0)
        esz = 4;
    else if (strcmp(descr, "<f2") == 0)
        esz = 2;
    else {
        char db[80];
        sn_errf(err, errlen,
                "%s: .npy dtype '%s' is not supported: Sinter reads little-endian float32 "
                "('<f4') and float16 ('<f2')%s",
                name, sn_escape(descr, db, sizeof db),
                strcmp(descr, "<f8") == 0 ? "; convert with a.astype(np.float32)" : "");
        return SN_ERR_INVALID;
    }
    if (fortran && shape->ndim > 1) {
        sn_errf(err, errlen,
                "%s: Fortran-order .npy arrays are not supported; save a C-order array "
                "(np.ascontiguousarray)",
                name);
        return SN_ERR_INVALID;
    }
    int64_t numel = checked_numel(shape);
    char sb[160];
    shape_fmt(shape, sb, sizeof sb);
    if (numel < 0) {
        sn_errf(err, errlen, "%s: .npy shape %s is too large", name, sb);
        return SN_ERR_INVALID;
    }
    uint64_t need = (uint64_t)numel * esz, have = len - start - hlen;
    if (have != need) {
        sn_errf(err, errlen,
                have < need ? "%s: truncated .npy file: shape %s of '%s' needs %llu bytes "
                              "of data, the file holds %llu"
                            : "%s: bad .npy file: shape %s of '%s' needs %llu bytes of "
                              "data, but %llu follow the header",
                name, sb, descr, (unsigned long long)need, (unsigned long long)have);
        return SN_ERR_INVALID;
    }
    float *out = malloc((size_t)(numel ? numel : 1) * sizeof *out);
    if (!out) {
        sn_errf(err, errlen, "%s: out of memory for shape %s", name, sb);
        return SN_ERR_NOMEM;
    }
    sn_io_le_to_f32(esz == 4 ? SN_DTYPE_F32 : SN_DTYPE_F16, b + start + hlen, out, numel);
    *data = out;
    return SN_OK;
bad:
    sn_errf(err, errlen, "%s: bad .npy header: %s", name, why);
    memset(shape, 0, sizeof *shape);
    return SN_ERR_INVALID;
}

sn_status sn_io_npy_read(const char *path, sn_shape *shape, float **data, char *err,
                         size_t errlen) {
    *data = NULL;
    char *buf;
    size_t len;
    sn_status s = sn_read_file(path, &buf, &len, err, errlen);
    if (s != SN_OK)
        return s;
    s = sn_io_npy_parse(buf, len, path, shape, data, err, errlen);
    free(buf);
    return s;
}

/* The header numpy's np.save writes (format 1.0; numpy >= 1.23 layout): the dict with keys in
 * sorted order, spare spaces so the first dim can grow in place (21 digits), then spaces to
 * align the data to 64 bytes, then '\n'. */
static sn_status npy_header(const sn_shape *s, sn_dtype dtype, const char *what, uint8_t *hdr,
                            size_t cap, size_t *hlen, char *err, size_t errlen) {
    if (dtype != SN_DTYPE_F32 && dtype != SN_DTYPE_F16) {
        sn_errf(err, errlen, "%s: .npy files are written as f32 or f16, not %s", what,
                sn_dtype_name(dtype));
        return SN_ERR_INVALID;
    }
    int bad = s->ndim < 0 || s->ndim > SN_MAX_DIMS;
    for (int d = 0; !bad && d < s->ndim; d++)
        bad = s->d[d] < 0;
    if (bad || checked_numel(s) < 0) {
        sn_errf(err, errlen, "%s: invalid shape", what);
        return SN_ERR_INVALID;
    }
    char dict[256];
    size_t k =
        (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                         dtype == SN_DTYPE_F32 ? "<f4" : "<f2");
    for (int d = 0; d < s->ndim; d++)
        k += (size_t)snprintf(dict + k, sizeof dict - k, d ? ", %lld" : "%lld", (long long)s->d[d]);
    k += (size_t)snprintf(dict + k, sizeof dict - k, "%s), }", s->ndim == 1 ? "," : "");
    if (s->ndim > 0) {
        char first[24];
        int digits = snprintf(first, sizeof first, "%lld", (long long)s->d[0]);
        for (int sp = 0; sp < 21 - digits; sp++)
            dict[k++] = ' ';
    }
    size_t body = k + 1; /* + '\n' */
    size_t pad = 64 - ((10 + body) % 64);
    if (pad == 64)
        pad = 0;
    size_t total = 10 + k + pad + 1;
    SN_ASSERT(total <= cap && total - 10 <= 0xffff);
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    st16(hdr + 8, (uint16_t)(total - 10));
    memcpy(hdr + 10, dict, k);
    memset(hdr + 10 + k, ' ', pad);
    hdr[total - 1] = '\n';
    *hlen = total;
    (void)cap;
    return SN_OK;
}

static void npy_data(const float *src, sn_dtype dtype, uint8_t *dst, int64_t n) {
    if (dtype == SN_DTYPE_F32) {
        for (int64_t k = 0; k < n; k++)
            st32(dst + 4 * k, f32_bits(src[k]));
    } else {
        for (int64_t k = 0; k < n; k++)
            st16(dst + 2 * k, sn_f32_to_f16(src[k]));
    }
}

sn_status sn_io_npy_encode(const sn_shape *shape, const float *data, sn_dtype dtype, void **buf,
                           size_t *len, char *err, size_t errlen) {
    uint8_t hdr[384];
    size_t hlen;
    *buf = NULL;
    *len = 0;
    sn_status s = npy_header(shape, dtype, "<memory>", hdr, sizeof hdr, &hlen, err, errlen);
    if (s != SN_OK)
        return s;
    int64_t n = checked_numel(shape);
    size_t total = hlen + (size_t)n * sn_dtype_size(dtype);
    uint8_t *o = malloc(total);
    if (!o) {
        sn_errf(err, errlen, "out of memory");
        return SN_ERR_NOMEM;
    }
    memcpy(o, hdr, hlen);
    npy_data(data, dtype, o + hlen, n);
    *buf = o;
    *len = total;
    return SN_OK;
}

sn_status sn_io_npy_write(const char *path, const sn_shape *shape, const float *data,
                          sn_dtype dtype, char *err, size_t errlen) {
    uint8_t hdr[384];
    size_t hlen;
    char wb[SN_SHOWN];
    sn_status s = npy_header(shape, dtype, sn_escape(path, wb, sizeof wb), hdr, sizeof hdr, &hlen,
                             err, errlen);
    if (s != SN_OK)
        return s;
    sn_atomic_file a;
    if ((s = sn_atomic_begin(&a, path, err, errlen)) != SN_OK)
        return s;
    if ((s = sn_atomic_write(&a, hdr, hlen, err, errlen)) != SN_OK)
        return s;
    /* the data in chunks, so a large array is not duplicated in memory */
    int64_t n = checked_numel(shape);
    size_t esz = sn_dtype_size(dtype);
    enum { CH = 16384 };
    uint8_t *tmp = malloc(CH * 4);
    if (!tmp) {
        sn_errf(err, errlen, "%s: out of memory", wb);
        sn_atomic_abort(&a);
        return SN_ERR_NOMEM;
    }
    for (int64_t k = 0; k < n; k += CH) {
        int64_t c = n - k < CH ? n - k : CH;
        npy_data(data + k, dtype, tmp, c);
        if ((s = sn_atomic_write(&a, tmp, (size_t)c * esz, err, errlen)) != SN_OK) {
            free(tmp);
            return s;
        }
    }
    free(tmp);
    return sn_atomic_commit(&a, err, errlen);
}
