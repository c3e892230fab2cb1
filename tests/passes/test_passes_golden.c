/* tests/passes/test_passes_golden.c — before/after goldens for every pass.
 *
 * For each golden/<case>.in.ir (text IR, parsed with sn_ir_parse) and each mode (fused NCHW,
 * fused NHWC, eager), the pipeline runs pass by pass; after each pass the dump
 * (sn_pass_dump) is appended to the expected text under a "### after <pass>" header, and the
 * pass is run a second time to check that it changes nothing. The whole text must equal
 * golden/<case>.<mode>.out. UPDATE_GOLDENS=1 rewrites the .out files instead (review the
 * diff). After the last pass the plan is checked (groups, memory, buffer simulation). */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

#ifndef SN_SOURCE_DIR
#define SN_SOURCE_DIR "."
#endif
#define GOLDEN_DIR SN_SOURCE_DIR "/tests/passes/golden"

static const char *const cases[] = {"fold_bn", "simplify", "c2f_sppf", "detect", "attention"};

typedef struct mode {
    const char *name;
    int eager;
    sn_pass_layout layout;
} mode;

static const mode modes[] = {
    {"fused", 0, SN_PASS_LAYOUT_NCHW},
    {"nhwc", 0, SN_PASS_LAYOUT_NHWC},
    {"eager", 1, SN_PASS_LAYOUT_NCHW},
};

static void first_diff(const char *want, const char *got, const char *what) {
    int line = 1;
    const char *a = want, *b = got;
    while (*a && *a == *b) {
        if (*a == '\n')
            line++;
        a++;
        b++;
    }
    const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
    fprintf(stderr, "%s: first difference at line %d:\n  want: %.*s\n  got:  %.*s\n", what, line,
            (int)(ea ? ea - a : (long)strlen(a)), a, (int)(eb ? eb - b : (long)strlen(b)), b);
}

static void run_case(const char *cname, const mode *m, int update) {
    char path[1024], what[256], err[1024];
    snprintf(what, sizeof what, "%s.%s", cname, m->name);
    snprintf(path, sizeof path, "%s/%s.in.ir", GOLDEN_DIR, cname);
    char *text = read_file(path, NULL);
    CHECKF(text != NULL, "cannot read %s", path);
    if (!text)
        return;
    sn_ir_graph *g = sn_ir_parse(text, path, err, sizeof err);
    free(text);
    CHECKF(g != NULL, "%s", err);
    if (!g)
        return;
    rnd_seed(7);
    tl_fill_params(g);

    sn_pass_options o;
    sn_pass_options_default(&o, m->eager);
    o.layout = m->layout;
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    int n;
    const sn_pass_info *ps = sn_pass_list(&n);
    for (int i = 0; i < n; i++) {
        sn_status st = sn_pass_run(g, &ps[i], &o, err, sizeof err);
        CHECKF(st == SN_OK, "%s: %s", what, err);
        if (st != SN_OK)
            break;
        char *d1 = tl_dump(g);
        fprintf(f, "### after %s\n%s", ps[i].name, d1);
        st = sn_pass_run(g, &ps[i], &o, err, sizeof err);
        CHECKF(st == SN_OK, "%s: %s (second run)", what, err);
        char *d2 = tl_dump(g);
        CHECKF(strcmp(d1, d2) == 0, "%s: pass %s run twice differs from once", what, ps[i].name);
        free(d1);
        free(d2);
    }
    fclose(f);

    tl_check_groups(g, what);
    tl_check_memory(g, what);
    tl_check_sim(g, what);

    snprintf(path, sizeof path, "%s/%s.%s.out", GOLDEN_DIR, cname, m->name);
    if (update) {
        FILE *w = fopen(path, "w");
        CHECKF(w != NULL, "cannot write %s", path);
        if (w) {
            fputs(out, w);
            fclose(w);
            printf("wrote %s\n", path);
        }
    } else {
        char *want = read_file(path, NULL);
        CHECKF(want != NULL, "missing golden %s (run with UPDATE_GOLDENS=1)", path);
        if (want && strcmp(want, out) != 0) {
            first_diff(want, out, what);
            CHECKF(0, "%s differs from %s", what, path);
        }
        free(want);
    }
    free(out);
    sn_ir_graph_free(g);
}

int main(void) {
    const char *u = getenv("UPDATE_GOLDENS");
    int update = u && *u && strcmp(u, "0") != 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++)
            run_case(cases[c], &modes[m], update);
    return check_report("test_passes_golden");
}
