/* tests/runtime/check.h — tiny assertion and data helpers shared by the runtime tests. */
#ifndef SN_TEST_RT_CHECK_H
#define SN_TEST_RT_CHECK_H

#include "runtime/runtime.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;

#define CHECK(c)                                                                              \
    do {                                                                                      \
        if (!(c)) {                                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);             \
            check_failures++;                                                                 \
        }                                                                                     \
    } while (0)

/* CHECK with a printf-style explanation */
#define CHECKF(c, ...)                                                                        \
    do {                                                                                      \
        if (!(c)) {                                                                           \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #c);             \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fputc('\n', stderr);                                                              \
            check_failures++;                                                                 \
        }                                                                                     \
    } while (0)

/* A runtime call that must succeed; prints err otherwise. */
#define CHECK_OK(call)                                                                        \
    do {                                                                                      \
        err[0] = '\0';                                                                        \
        sn_rt_status st_ = (call);                                                            \
        CHECKF(st_ == SN_RT_OK, "%s -> %d: %s", #call, (int)st_, err);                        \
    } while (0)

static inline int check_report(const char *name)
{
    if (check_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

/* xorshift64*: deterministic "random" test data, never all zeros */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static inline double rnd_unit(void)
{ /* uniform in [-1, 1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    uint64_t v = rng_state * 2685821657736338717ull;
    return (double)(v >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}
static inline void fill_random(float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)rnd_unit();
}
static inline void poison(float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = NAN;
}
static inline int has_substr(const char *s, const char *sub)
{
    return s && strstr(s, sub) != NULL;
}

/* Relative L2 error of got against want. */
static inline double rel_l2(const float *got, const double *want, int64_t n)
{
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)got[i] - want[i];
        num += d * d;
        den += want[i] * want[i];
    }
    if (isnan(num))
        return INFINITY;
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* A fresh directory under $TMPDIR (or /tmp); malloc'd path. */
static inline char *make_temp_dir(const char *tag)
{
    const char *t = getenv("TMPDIR");
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/sn_rt_%s_XXXXXX", t && *t ? t : "/tmp", tag);
    if (!mkdtemp(p)) {
        perror("mkdtemp");
        exit(1);
    }
    return p;
}

#endif
