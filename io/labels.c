/* io/labels.c — detection labels as text rows, checked line by line (io/io.h): the training
 * step's batch rows (batch_idx cls cx cy w h) and a dataset's per-image files (cls cx cy w h),
 * both through one reader of whitespace-separated numbers. */
#include "base/base.h"
#include "io/io.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void sn_io_labels_free(sn_io_labels *l) {
    if (!l)
        return;
    free(l->rows);
    l->rows = NULL;
    l->n = 0;
}

static sn_status bad(char *err, size_t errlen, const char *shown, int64_t line, const char *what,
                     double v) {
    return sn_fail(err, errlen, SN_ERR_INVALID, "%s:%lld: %s (got %g)", shown, (long long)line,
                   what, v);
}

/* Checks one row of ncols numbers (line `line` of the file shown as `shown`); SN_OK or the
 * error. */
typedef sn_status (*row_check)(const double *v, int nc, int batch, const char *shown, int64_t line,
                               char *err, size_t errlen);

/* Parses text[0..len) (NUL-terminated, edited in place; freed here) of the file `path` as rows
 * of exactly ncols finite numbers (blank lines and '#' lines skipped, a UTF-8 byte-order mark
 * ignored), each checked by `check`, into out (n × ncols floats). */
static sn_status parse_rows(char *text, size_t len, const char *path, int ncols, row_check check,
                            int nc, int batch, const char *row_name, sn_io_labels *out, char *err,
                            size_t errlen) {
    memset(out, 0, sizeof *out);
    sn_status st = SN_OK;
    char shown[SN_SHOWN];
    sn_escape(path, shown, sizeof shown);
    int64_t cap = 0, lineno = 0;
    char *p = text, *end = text + len;
    if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
        p += 3;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        lineno++;
        if (memchr(p, 0, (size_t)(le - p))) {
            st = sn_fail(err, errlen, SN_ERR_INVALID, "%s:%lld: a NUL byte: not a text file", shown,
                         (long long)lineno);
            goto fail;
        }
        *le = 0;
        char *q = p;
        p = le + 1;
        while (*q == ' ' || *q == '\t' || *q == '\r')
            q++;
        if (!*q || *q == '#')
            continue;
        double v[8];
        int k = 0;
        while (*q) {
            char *e;
            errno = 0;
            double d = strtod(q, &e);
            if (e == q) {
                st = sn_fail(err, errlen, SN_ERR_INVALID, "%s:%lld: expected a number in column %d",
                             shown, (long long)lineno, k + 1);
                goto fail;
            }
            if (k < 8)
                v[k] = d;
            k++;
            q = e;
            while (*q == ' ' || *q == '\t' || *q == '\r')
                q++;
        }
        if (k != ncols) {
            st = sn_fail(err, errlen, SN_ERR_INVALID, "%s:%lld: %d numbers; a label row is %s (%d)",
                         shown, (long long)lineno, k, row_name, ncols);
            goto fail;
        }
        for (int j = 0; j < ncols; j++)
            if (!isfinite(v[j])) {
                st = bad(err, errlen, shown, lineno, "a value is not finite", v[j]);
                goto fail;
            }
        if ((st = check(v, nc, batch, shown, lineno, err, errlen)) != SN_OK)
            goto fail;
        if (out->n == cap) {
            cap = cap ? 2 * cap : 64;
            float *r = realloc(out->rows, (size_t)cap * (size_t)ncols * sizeof *r);
            if (!r) {
                st = sn_fail(err, errlen, SN_ERR_NOMEM, "%s: out of memory", shown);
                goto fail;
            }
            out->rows = r;
        }
        for (int j = 0; j < ncols; j++)
            out->rows[out->n * ncols + j] = (float)v[j];
        out->n++;
    }
    free(text);
    return SN_OK;
fail:
    free(text);
    sn_io_labels_free(out);
    return st;
}

static sn_status class_check(double c, int nc, const char *shown, int64_t line, char *err,
                             size_t errlen) {
    if (c != floor(c) || c < 0 || c >= nc) {
        char what[80];
        snprintf(what, sizeof what, "class must be an integer in [0, %d)", nc);
        return bad(err, errlen, shown, line, what, c);
    }
    return SN_OK;
}

static sn_status batch_row(const double *v, int nc, int batch, const char *shown, int64_t line,
                           char *err, size_t errlen) {
    if (v[0] != floor(v[0]) || v[0] < 0 || v[0] >= batch) {
        char what[80];
        snprintf(what, sizeof what, "batch_idx must be an integer in [0, %d)", batch);
        return bad(err, errlen, shown, line, what, v[0]);
    }
    sn_status st = class_check(v[1], nc, shown, line, err, errlen);
    if (st != SN_OK)
        return st;
    for (int j = 2; j < 6; j++)
        if (v[j] < 0 || v[j] > 1 || (j >= 4 && v[j] == 0)) {
            static const char *const nm[4] = {"cx", "cy", "w", "h"};
            char what[96];
            snprintf(what, sizeof what, "%s must be in %s (normalised to the image)", nm[j - 2],
                     j >= 4 ? "(0, 1]" : "[0, 1]");
            return bad(err, errlen, shown, line, what, v[j]);
        }
    return SN_OK;
}

/* the file's text, or a copy of buf when path is NULL (name stands for it) */
static sn_status text_of(const char *path, const void *buf, size_t len, char **text, size_t *n,
                         char *err, size_t errlen) {
    if (path)
        return sn_read_file(path, text, n, err, errlen);
    *text = malloc(len + 1);
    if (!*text)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "out of memory");
    memcpy(*text, buf, len);
    (*text)[len] = 0;
    *n = len;
    return SN_OK;
}

sn_status sn_io_labels_read(const char *path, int batch, int nc, sn_io_labels *out, char *err,
                            size_t errlen) {
    char *text;
    size_t len;
    memset(out, 0, sizeof *out);
    sn_status st = text_of(path, NULL, 0, &text, &len, err, errlen);
    if (st != SN_OK)
        return st;
    return parse_rows(text, len, path, 6, batch_row, nc, batch, "batch_idx cls cx cy w h", out, err,
                      errlen);
}

/* Ultralytics' verify_image_label: coordinates at most 1.01, none below 0 (or, with w and h
 * >= 0, none below -0.01), an integer class below nc. */
static sn_status dataset_row(const double *v, int nc, int batch, const char *shown, int64_t line,
                             char *err, size_t errlen) {
    (void)batch;
    sn_status st = class_check(v[0], nc, shown, line, err, errlen);
    if (st != SN_OK)
        return st;
    for (int j = 1; j < 5; j++) {
        static const char *const nm[4] = {"cx", "cy", "w", "h"};
        char what[96];
        if (v[j] > 1.01) {
            snprintf(what, sizeof what, "%s is not normalised (at most 1.01)", nm[j - 1]);
            return bad(err, errlen, shown, line, what, v[j]);
        }
        if (v[j] < -0.01 || (v[j] < 0 && j >= 3)) {
            snprintf(what, sizeof what, "%s is negative", nm[j - 1]);
            return bad(err, errlen, shown, line, what, v[j]);
        }
    }
    return SN_OK;
}

/* rows in np.unique(lb, axis=0) order: lexicographic over the 5 floats */
static int row_cmp(const void *a, const void *b) {
    const float *x = a, *y = b;
    for (int j = 0; j < 5; j++)
        if (x[j] != y[j])
            return x[j] < y[j] ? -1 : 1;
    return 0;
}

static sn_status dataset_labels(const char *path, const void *buf, size_t blen, const char *name,
                                int nc, sn_io_labels *out, int *dups, char *err, size_t errlen) {
    *dups = 0;
    memset(out, 0, sizeof *out);
    char *text;
    size_t len;
    sn_status st = text_of(path, buf, blen, &text, &len, err, errlen);
    if (st != SN_OK)
        return st;
    st = parse_rows(text, len, path ? path : name, 5, dataset_row, nc, 0,
                    "cls cx cy w h, normalised", out, err, errlen);
    if (st != SN_OK || out->n < 2)
        return st;
    /* duplicate rows: Ultralytics keeps lb[np.unique(lb, axis=0, return_index=True)[1]], the
     * unique rows in sorted order (the file's order only when nothing repeats) */
    float *s = malloc((size_t)out->n * 5 * sizeof *s);
    if (!s) {
        sn_io_labels_free(out);
        return sn_fail(err, errlen, SN_ERR_NOMEM, "out of memory");
    }
    memcpy(s, out->rows, (size_t)out->n * 5 * sizeof *s);
    qsort(s, (size_t)out->n, 5 * sizeof *s, row_cmp);
    int64_t u = 0;
    for (int64_t i = 0; i < out->n; i++)
        if (u == 0 || row_cmp(s + (u - 1) * 5, s + i * 5))
            memmove(s + (u++) * 5, s + i * 5, 5 * sizeof *s);
    if (u < out->n) {
        *dups = (int)(out->n - u);
        memcpy(out->rows, s, (size_t)u * 5 * sizeof *s);
        out->n = u;
    }
    free(s);
    return SN_OK;
}

sn_status sn_io_dataset_labels_read(const char *path, int nc, sn_io_labels *out, int *dups,
                                    char *err, size_t errlen) {
    return dataset_labels(path, NULL, 0, NULL, nc, out, dups, err, errlen);
}

sn_status sn_io_dataset_labels_parse(const void *buf, size_t len, const char *name, int nc,
                                     sn_io_labels *out, int *dups, char *err, size_t errlen) {
    return dataset_labels(NULL, buf, len, name, nc, out, dups, err, errlen);
}
