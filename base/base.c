/* base/base.c — status strings, error formatting, assertions, f16/bf16 conversion. */
#include "base/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sn_status_str(sn_status s) {
    switch (s) {
    case SN_OK:
        return "ok";
    case SN_ERR_INVALID:
        return "invalid input";
    case SN_ERR_IO:
        return "i/o error";
    case SN_ERR_NOMEM:
        return "out of memory";
    case SN_ERR_COMPILE:
        return "compile error";
    case SN_ERR_DEVICE:
        return "device error";
    case SN_ERR_UNSUPPORTED:
        return "unsupported";
    }
    return "unknown status";
}

void sn_assert_fail(const char *cond, const char *file, int line) {
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, cond);
    fflush(stderr);
    abort();
}

void sn_errf(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

sn_status sn_fail(char *err, size_t errlen, sn_status st, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* ---------------------------------------------------------------- half precision */

uint16_t sn_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) /* NaN: keep the top payload bits, force quiet (never becomes inf) */
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x47800000u)
        return (uint16_t)(sign | 0x7c00u); /* >= 65536 (and inf) */
    if (ax >= 0x38800000u) {               /* f16 normal: >= 2^-14 */
        uint32_t h = ((((ax >> 23) - 127 + 15) << 10) | ((ax >> 13) & 0x3ffu));
        uint32_t rem = ax & 0x1fffu;
        /* ties to even; a carry may ripple into the exponent, up to inf: both correct */
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
            h++;
        return (uint16_t)(sign | h);
    }
    if (ax <= 0x33000000u)
        return sign; /* <= 2^-25: rounds to ±0 (2^-25 is a tie → even 0) */
    /* f16 subnormal: value / 2^-24 = significand >> (126 - exp), rounded to nearest even */
    uint32_t e = ax >> 23;                     /* 102 … 112 */
    uint32_t m = (ax & 0x7fffffu) | 0x800000u; /* 24-bit significand */
    uint32_t shift = 126 - e;                  /* 14 … 24 */
    uint32_t h = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u)))
        h++; /* may become 0x400: smallest normal */
    return (uint16_t)(sign | h);
}

float sn_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
    if (e == 0x1f) {
        x = sign | 0x7f800000u | (m << 13); /* inf / NaN, payload kept */
    } else if (e == 0) {
        uint32_t sh = 0; /* subnormal m × 2^-24: normalise */
        if (m == 0) {
            x = sign;
        } else {
            while (!(m & 0x400u)) {
                m <<= 1;
                sh++;
            }
            x = sign | ((113 - sh) << 23) | ((m & 0x3ffu) << 13);
        }
    } else {
        x = sign | ((e + 112) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

uint16_t sn_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x0040u); /* quiet NaN */
    x += 0x7fffu + ((x >> 16) & 1u); /* round to nearest even; overflow to inf is correct */
    return (uint16_t)(x >> 16);
}

float sn_bf16_to_f32(uint16_t h) {
    uint32_t x = (uint32_t)h << 16;
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* ---------------------------------------------------------------- strings */

void sn_str_printf(sn_str *s, const char *fmt, ...) {
    if (s->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = s->cap - s->len;
        int n = vsnprintf(s->p ? s->p + s->len : NULL, s->p ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            s->oom = 1;
            return;
        }
        if (s->p && (size_t)n < room) {
            s->len += (size_t)n;
            return;
        }
        size_t ncap = s->cap ? s->cap * 2 : 256;
        while (ncap < s->len + (size_t)n + 1)
            ncap *= 2;
        char *np = realloc(s->p, ncap);
        if (!np) {
            s->oom = 1;
            return;
        }
        s->p = np;
        s->cap = ncap;
    }
}

char *sn_str_take(sn_str *s) {
    char *p = s->oom ? NULL : s->p;
    if (s->oom)
        free(s->p);
    if (p == NULL && !s->oom)
        p = calloc(1, 1);
    s->p = NULL;
    s->len = s->cap = 0;
    s->oom = 0;
    return p;
}
