/* tests/lang/test_lang_bad.c — the corpus of bad model files in tests/lang/bad/.
 *
 * Each file states what loading it must print, in header comments:
 *     # expect: bad_from.sn:7:9: error: layer 2 cannot take its input from layer 5
 *     # expect-errors: 3          (at least this many "error:" lines)
 *     # scale: q                  (load with this scale)
 * Loading must fail cleanly: a status other than SN_OK, no model, every expected substring in
 * the diagnostics, and no crash. Run with -v to print every file's diagnostics. */
#include "check.h"

#include <dirent.h>
#include <stdbool.h>

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_one(const char *dir, const char *file, bool verbose) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    CHECKF(f, "%s", path);
    if (!f)
        return;
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);

    char expects[16][600];
    int nexp = 0, min_errors = 1;
    char scale[16] = "";
    for (char *line = text; line && *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[600];
        if (len >= sizeof buf)
            len = sizeof buf - 1;
        memcpy(buf, line, len);
        buf[len] = 0;
        if (strncmp(buf, "# expect: ", 10) == 0 && nexp < 16)
            snprintf(expects[nexp++], 600, "%s", buf + 10);
        if (strncmp(buf, "# expect-errors: ", 17) == 0)
            min_errors = atoi(buf + 17);
        if (strncmp(buf, "# scale: ", 9) == 0)
            snprintf(scale, sizeof scale, "%.15s", buf + 9);
        line = end ? end + 1 : NULL;
    }
    CHECKF(nexp > 0, "%s: no '# expect:' line", file);

    FILE *d = tmpfile();
    sn_fe_options o;
    sn_fe_options_default(&o);
    o.diag = d;
    o.height = o.width = 64;
    if (scale[0])
        o.scale = scale;
    sn_fe_model *m = (sn_fe_model *)&o; /* must be reset to NULL */
    sn_status s = sn_fe_model_load(path, &o, &m);
    static char diag[1 << 16];
    rewind(d);
    size_t k = fread(diag, 1, sizeof diag - 1, d);
    diag[k] = 0;
    fclose(d);

    CHECKF(s != SN_OK, "%s: loaded without error", file);
    CHECKF(m == NULL, "%s: model not NULL after a failed load", file);
    if (s == SN_OK && m && m != (sn_fe_model *)&o)
        sn_fe_model_free(m);
    for (int i = 0; i < nexp; i++)
        CHECKF(strstr(diag, expects[i]), "%s: diagnostics lack \"%s\"; got:\n%s", file, expects[i],
               diag);
    int errors = 0;
    for (const char *p = diag; (p = strstr(p, "error:")); p += 6)
        errors++;
    CHECKF(errors >= min_errors, "%s: %d errors, want at least %d; got:\n%s", file, errors,
           min_errors, diag);
    CHECKF(errors <= 21 + 1, "%s: %d errors, more than the cap", file, errors);
    if (verbose)
        printf("==== %s (%d errors)\n%s", file, errors, diag);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : SN_SOURCE_DIR "/tests/lang/bad";
    bool verbose = argc > 2 && strcmp(argv[2], "-v") == 0;
    DIR *dp = opendir(dir);
    CHECKF(dp, "cannot open %s", dir);
    if (!dp)
        return check_report("test_lang_bad");
    char *names[512];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)) && n < 512) {
        size_t len = strlen(e->d_name);
        if (len > 3 && strcmp(e->d_name + len - 3, ".sn") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(dp);
    qsort(names, (size_t)n, sizeof *names, cmp);
    CHECKF(n >= 30, "only %d bad files", n);
    for (int i = 0; i < n; i++) {
        run_one(dir, names[i], verbose);
        free(names[i]);
    }
    printf("%d bad model files checked\n", n);
    return check_report("test_lang_bad");
}
