/* tests/common/check.c — see check.h. */
#include "tests/common/check.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int check_failures;

int check_report(const char *name) {
    if (check_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

/* ---------------------------------------------------------------- data */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

void rnd_seed(uint64_t s) { rng_state = s ? s : 1; }

uint64_t rnd_u64(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

double rnd_unit(void) { return (double)(rnd_u64() >> 11) / 9007199254740992.0 * 2.0 - 1.0; }

void fill_random(float *p, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)rnd_unit();
}

void fill_uniform(float *p, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; i++)
        p[i] = lo + (hi - lo) * ((float)rnd_unit() * 0.5f + 0.5f);
}

void poison(float *p, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        p[i] = NAN;
}

float *poisoned(int64_t n) {
    float *p = malloc((size_t)(n ? n : 1) * sizeof *p);
    if (p)
        poison(p, n);
    return p;
}

int has_substr(const char *s, const char *sub) { return s && strstr(s, sub) != NULL; }

static double rel_l2_of(double num, double den) {
    if (!isfinite(num))
        return INFINITY;
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

double rel_l2(const float *got, const double *want, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)got[i] - want[i];
        num += d * d;
        den += want[i] * want[i];
    }
    return rel_l2_of(num, den);
}

double rel_l2f(const float *got, const float *want, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)got[i] - (double)want[i];
        num += d * d;
        den += (double)want[i] * (double)want[i];
    }
    return rel_l2_of(num, den);
}

int close_arrays(const float *got, const double *want, int64_t n, double tol, const char *what) {
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

/* ---------------------------------------------------------------- files */

char *make_temp_dir(const char *tag) {
    const char *t = getenv("TMPDIR");
    char *p = malloc(4096);
    if (!p) {
        perror("make_temp_dir");
        exit(2);
    }
    snprintf(p, 4096, "%s/sn_%s_XXXXXX", t && *t ? t : "/tmp", tag);
    if (!mkdtemp(p)) {
        perror("mkdtemp");
        exit(2);
    }
    return p;
}

void rm_tree(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (snprintf(p, sizeof p, "%s/%s", path, e->d_name) >= (int)sizeof p)
            continue;
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(path);
}

char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0)
        buf = malloc((size_t)n + 1);
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!buf)
        return NULL;
    buf[got] = '\0';
    if (len)
        *len = got;
    return buf;
}

int write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}
