/* tests/lang/check.h — model loading shared by the language tests (checks: tests/common). */
#ifndef SN_TEST_LANG_CHECK_H
#define SN_TEST_LANG_CHECK_H

#include "frontend/frontend.h"
#include "io/io.h"
#include "tests/common/check_ir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loads a model with the given overrides; diagnostics to stderr. NULL on failure. */
static inline sn_fe_model *load(const char *model, const char *scale, int nc, int batch, int h,
                                int w) {
    sn_fe_options o;
    sn_fe_options_default(&o);
    o.scale = scale;
    o.nc = nc;
    if (batch)
        o.batch = batch;
    if (h)
        o.height = h;
    if (w)
        o.width = w;
    sn_fe_model *m = NULL;
    sn_status s = sn_fe_model_load(model, &o, &m);
    if (s != SN_OK) {
        fprintf(stderr, "load %s: %s\n", model, sn_status_str(s));
        return NULL;
    }
    return m;
}

/* Loads model text (written to a temp file); diagnostics into diag (may be NULL). */
static inline sn_status load_text(const char *text, sn_fe_model **m, char *diag, size_t n) {
    char path[] = "/tmp/sn_lang_test_XXXXXX.sn";
    int fd = mkstemps(path, 3);
    if (fd < 0)
        return SN_ERR_IO;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    FILE *d = tmpfile();
    sn_fe_options o;
    sn_fe_options_default(&o);
    o.diag = d;
    o.height = o.width = 64;
    *m = NULL;
    sn_status s = sn_fe_model_load(path, &o, m);
    if (diag && n) {
        rewind(d);
        size_t k = fread(diag, 1, n - 1, d);
        diag[k] = 0;
    }
    fclose(d);
    remove(path);
    return s;
}

#endif
