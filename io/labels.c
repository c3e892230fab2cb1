/* io/labels.c — detection labels as text rows (batch_idx cls cx cy w h), checked line by line
 * (io/io.h). */
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

static sn_status bad(char *err, size_t errlen, const char *path, int64_t line, const char *what,
                     double v) {
    char shown[SN_SHOWN];
    sn_escape(path, shown, sizeof shown);
    return sn_fail(err, errlen, SN_ERR_INVALID, "%s:%lld: %s (got %g)", shown, (long long)line,
                   what, v);
}

sn_status sn_io_labels_read(const char *path, int batch, int nc, sn_io_labels *out, char *err,
                            size_t errlen) {
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    sn_status st = sn_read_file(path, &text, &len, err, errlen);
    if (st != SN_OK)
        return st;
    char shown[SN_SHOWN];
    sn_escape(path, shown, sizeof shown);
    int64_t cap = 0, lineno = 0;
    char *p = text, *end = text + len;
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
        double v[7];
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
            if (k < 7)
                v[k] = d;
            k++;
            q = e;
            while (*q == ' ' || *q == '\t' || *q == '\r')
                q++;
        }
        if (k != 6) {
            st = sn_fail(err, errlen, SN_ERR_INVALID,
                         "%s:%lld: %d numbers; a label row is batch_idx cls cx cy w h (6)", shown,
                         (long long)lineno, k);
            goto fail;
        }
        for (int j = 0; j < 6; j++)
            if (!isfinite(v[j])) {
                st = bad(err, errlen, path, lineno, "a value is not finite", v[j]);
                goto fail;
            }
        if (v[0] != floor(v[0]) || v[0] < 0 || v[0] >= batch) {
            char what[80];
            snprintf(what, sizeof what, "batch_idx must be an integer in [0, %d)", batch);
            st = bad(err, errlen, path, lineno, what, v[0]);
            goto fail;
        }
        if (v[1] != floor(v[1]) || v[1] < 0 || v[1] >= nc) {
            char what[80];
            snprintf(what, sizeof what, "class must be an integer in [0, %d)", nc);
            st = bad(err, errlen, path, lineno, what, v[1]);
            goto fail;
        }
        for (int j = 2; j < 6; j++)
            if (v[j] < 0 || v[j] > 1 || (j >= 4 && v[j] == 0)) {
                static const char *const nm[4] = {"cx", "cy", "w", "h"};
                char what[96];
                snprintf(what, sizeof what, "%s must be in %s (normalised to the image)", nm[j - 2],
                         j >= 4 ? "(0, 1]" : "[0, 1]");
                st = bad(err, errlen, path, lineno, what, v[j]);
                goto fail;
            }
        if (out->n == cap) {
            cap = cap ? 2 * cap : 64;
            float *r = realloc(out->rows, (size_t)cap * 6 * sizeof *r);
            if (!r) {
                st = sn_fail(err, errlen, SN_ERR_NOMEM, "%s: out of memory", shown);
                goto fail;
            }
            out->rows = r;
        }
        for (int j = 0; j < 6; j++)
            out->rows[out->n * 6 + j] = (float)v[j];
        out->n++;
    }
    free(text);
    return SN_OK;
fail:
    free(text);
    sn_io_labels_free(out);
    return st;
}
