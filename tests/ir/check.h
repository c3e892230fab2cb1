/* tests/ir/check.h — tiny assertion and data helpers shared by the ir tests. */
#ifndef SN_TEST_IR_CHECK_H
#define SN_TEST_IR_CHECK_H

#include "ir/ir.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                  \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

/* CHECK with a printf-style explanation */
#define CHECKF(c, ...)                                                                             \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #c);                  \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            check_failures++;                                                                      \
        }                                                                                          \
    } while (0)

static inline int check_report(const char *name) {
    if (check_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

static inline sn_shape shp(int nd, const int64_t *d) {
    sn_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = nd;
    for (int i = 0; i < nd; i++)
        s.d[i] = d[i];
    return s;
}
#define SHAPE(...)                                                                                 \
    shp((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})
static inline sn_shape shape0(void) {
    sn_shape s;
    memset(&s, 0, sizeof s);
    return s;
}

/* xorshift64*: deterministic "random" test data, never all zeros */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static inline double rnd_unit(void) { /* uniform in [-1, 1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    uint64_t v = rng_state * 2685821657736338717ull;
    return (double)(v >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}
static inline void fill_random(float *p, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)rnd_unit();
}
static inline float *poisoned(int64_t n) {
    float *p = malloc((size_t)(n ? n : 1) * sizeof *p);
    for (int64_t i = 0; i < n; i++)
        p[i] = NAN;
    return p;
}
static inline int has_substr(const char *s, const char *sub) {
    return strstr(s, sub) != NULL;
}

/* compares within tol (absolute + relative); reports the first mismatch */
static inline int close_arrays(const float *got, const double *want, int64_t n, double tol,
                               const char *what) {
    for (int64_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        int ok =
            (isnan(w) && isnan(g)) || (isinf(w) && g == w) || fabs(g - w) <= tol * (1.0 + fabs(w));
        if (!ok) {
            fprintf(stderr, "%s: element %lld: got %.9g want %.9g\n", what, (long long)i, g, w);
            return 0;
        }
    }
    return 1;
}

#endif
