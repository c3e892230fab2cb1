/* tests/common/check.h — what every test executable shares: checks that count failures and a
 * summary line, deterministic random data, poisoned buffers, error measures, temp directories
 * and whole files. Plain C, no Sinter module (the runtime's tests use it too); link
 * sn_test_common. Module-specific helpers stay in each tests/<topic>/ folder. */
#ifndef SN_TEST_COMMON_CHECK_H
#define SN_TEST_COMMON_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- checks */

/* Failed checks so far, in the whole executable (every file of a test shares one count). */
extern int check_failures;

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

/* the string s must contain sub */
#define CHECK_HAS(s, sub) CHECKF(strstr((s), (sub)) != NULL, "'%s' lacks '%s'", (s), (sub))

/* Prints "NAME: all checks passed" (stdout) or "NAME: N check(s) failed" (stderr); the exit
 * status for main: 0 or 1. */
int check_report(const char *name);

/* ---------------------------------------------------------------- data */

/* xorshift64*: deterministic "random" test data, never all zeros. One stream per executable,
 * starting from a fixed state; rnd_seed restarts it (0 counts as 1). */
void rnd_seed(uint64_t s);
uint64_t rnd_u64(void);
double rnd_unit(void);                                      /* uniform in [-1, 1) */
void fill_random(float *p, int64_t n);                      /* rnd_unit() each */
void fill_uniform(float *p, int64_t n, float lo, float hi); /* uniform in [lo, hi) */

/* NaN everywhere, so that elements the code under test leaves unwritten show. */
void poison(float *p, int64_t n);
float *poisoned(int64_t n); /* malloc'ed and poisoned */

/* s (may be NULL) contains sub */
int has_substr(const char *s, const char *sub);

/* Relative L2 error ||got - want|| / ||want|| (plain ||got - want|| when want is all zeros);
 * INFINITY when got holds a NaN or an infinity. */
double rel_l2(const float *got, const double *want, int64_t n);
double rel_l2f(const float *got, const float *want, int64_t n);

/* Every element within tol (absolute + relative: |got - want| <= tol * (1 + |want|)); NaN
 * matches NaN and an infinity itself. Reports the first mismatch, labelled what. */
int close_arrays(const float *got, const double *want, int64_t n, double tol, const char *what);

/* ---------------------------------------------------------------- files */

/* A fresh directory $TMPDIR/sn_TAG_XXXXXX (or under /tmp); malloc'ed path. Exits on failure
 * (test setup, not the code under test). */
char *make_temp_dir(const char *tag);
/* Removes a file or a directory tree (links are removed, not followed). */
void rm_tree(const char *path);
/* A whole file, malloc'ed with a '\0' after it; *len (may be NULL) gets its size. NULL when
 * the file cannot be read. */
char *read_file(const char *path, size_t *len);
/* Writes n bytes to path (created or truncated). 0 on success, -1 on failure. */
int write_file(const char *path, const void *p, size_t n);

#endif
