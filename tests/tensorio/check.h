/* tests/tensorio/check.h — what the tensorio tests share beyond tests/common: float bits,
 * and file helpers that stop the test when its own setup fails. */
#ifndef SN_TEST_TIO_CHECK_H
#define SN_TEST_TIO_CHECK_H

#include "frontend/frontend.h"
#include "io/io.h"
#include "tests/common/check_ir.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float bitsf(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Entries of a directory other than . and .., or -1 when it cannot be opened. */
static inline int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* write_file / read_file that exit on failure (test setup, not the code under test) */
static inline void put_file(const char *path, const void *p, size_t n) {
    if (write_file(path, p, n)) {
        perror(path);
        exit(2);
    }
}
static inline unsigned char *slurp(const char *path, size_t *n) {
    char *b = read_file(path, n);
    if (!b) {
        perror(path);
        exit(2);
    }
    return (unsigned char *)b;
}

#endif
