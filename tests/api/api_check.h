/* tests/api/api_check.h — the CHECK of the API tests (plain C, no Sinter header: test_api.c
 * is also built outside the tree, against the installed library). */
#ifndef SN_TESTS_API_CHECK_H
#define SN_TESTS_API_CHECK_H

#include <stdio.h>

static int failures;
#define CHECK(c, ...)                                                                              \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #c);                           \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#endif
