/* tests/api/test_api.c — include/sinter.h as an outside program uses it. Built twice: in the
 * tree (ctest api_weights_swap, also under ASan) and against the *installed* library by
 * tests/api/install_test.sh (find_package(Sinter)).
 *
 * Checks, on yolov8n at 64×64 with random weights: the compiled backend (cpu; cuda when a GPU
 * is present) against ref; weights swapped in a compiled exec (A then B) give exactly what a
 * fresh compile with B gives, without a kernel compiled; a failed swap keeps the old weights;
 * parameters read back by Ultralytics name; errors name what failed. */
#include <sinter.h>

#include "api_check.h"
#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t numel(const int64_t *d, int r) {
    int64_t n = 1;
    for (int i = 0; i < r; i++)
        n *= d[i];
    return n;
}

/* max |a - b| / max |b| */
static double rel_err(const float *a, const float *b, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > num || d != d)
            num = d;
        if (fabs(b[i]) > den)
            den = fabs(b[i]);
    }
    return num / (den > 0 ? den : 1);
}

static sn_exec *compile(sn_session *s, const char *weights) {
    sn_model_options mo = {.model = "yolov8n", .height = 64, .width = 64, .weights = weights};
    sn_exec *e = NULL;
    sn_status st = sn_compile(s, &mo, &e);
    CHECK(st == SN_OK, "sn_compile(%s, %s): %s", sn_session_backend(s), weights,
          sn_session_error(s));
    return e;
}

static float *run(sn_session *s, sn_exec *e, const float *x, int64_t n) {
    float *y = calloc((size_t)n, sizeof *y);
    sn_status st = sn_exec_run(e, x, y);
    CHECK(st == SN_OK, "sn_exec_run: %s", sn_session_error(s));
    return y;
}

int main(int argc, char **argv) {
    const char *backend = argc > 1 ? argv[1] : "cpu";
    const char *cache = argc > 2 ? argv[2] : NULL;
    printf("sinter %s, backend %s\n", sn_version(), backend);

    sn_session *ref = NULL, *s = NULL;
    sn_session_options ro = {.backend = "ref"};
    sn_session_options so = {.backend = backend, .cache_dir = cache};
    if (sn_session_new(&ro, &ref) != SN_OK || sn_session_new(&so, &s) != SN_OK) {
        fprintf(stderr, "FAIL: sn_session_new: %s / %s\n", sn_session_error(ref),
                sn_session_error(s));
        return 1;
    }
    sn_exec *ea = compile(s, "random:1"), *ra = compile(ref, "random:1");
    sn_exec *rb = compile(ref, "random:2");
    if (!ea || !ra || !rb)
        return 1;
    int64_t din[8], dout[8];
    int ri = sn_exec_input_shape(ea, din), ro_ = sn_exec_output_shape(ea, dout);
    CHECK(ri == 4 && din[0] == 1 && din[1] == 3 && din[2] == 64 && din[3] == 64, "input shape");
    CHECK(ro_ == 3 && dout[0] == 1 && dout[1] == 84 && dout[2] == 84, "output (1, 84, 84)");
    int64_t nin = numel(din, ri), nout = numel(dout, ro_);
    float *x = malloc((size_t)nin * sizeof *x);
    for (int64_t i = 0; i < nin; i++)
        x[i] = (float)((i * 7919) % 1000) / 1000.0f;

    /* compiled vs ref, weights A */
    float *ya = run(s, ea, x, nout), *ya_ref = run(ref, ra, x, nout);
    double e1 = rel_err(ya, ya_ref, nout);
    printf("%s vs ref, weights A: max rel err %.3g\n", backend, e1);
    CHECK(e1 < 1e-4, "%s vs ref (A): %g", backend, e1);

    /* swap to B in the compiled exec: exactly a fresh compile with B */
    CHECK(sn_exec_load_weights(ea, "random:2") == SN_OK, "load_weights: %s", sn_session_error(s));
    float *yb_swap = run(s, ea, x, nout);
    sn_exec *eb = compile(s, "random:2");
    float *yb_fresh = eb ? run(s, eb, x, nout) : NULL;
    float *yb_ref = run(ref, rb, x, nout);
    CHECK(yb_fresh && !memcmp(yb_swap, yb_fresh, (size_t)nout * sizeof(float)),
          "swapped A→B differs from a fresh compile with B");
    CHECK(memcmp(yb_swap, ya, (size_t)nout * sizeof(float)) != 0, "B gave A's output");
    double e2 = rel_err(yb_swap, yb_ref, nout);
    printf("%s after swap to B vs ref B: max rel err %.3g; identical to a fresh compile: %s\n",
           backend, e2, yb_fresh && !memcmp(yb_swap, yb_fresh, (size_t)nout * 4) ? "yes" : "no");
    CHECK(e2 < 1e-4, "%s vs ref (B): %g", backend, e2);

    /* a failed swap keeps B */
    sn_status st = sn_exec_load_weights(ea, "/nonexistent/w.safetensors");
    CHECK(st != SN_OK && strstr(sn_session_error(s), "/nonexistent/w.safetensors"),
          "missing weights file: status %d, '%s'", (int)st, sn_session_error(s));
    float *yb_again = run(s, ea, x, nout);
    CHECK(!memcmp(yb_again, yb_swap, (size_t)nout * sizeof(float)), "failed swap changed output");

    /* parameters read back by name */
    int np = sn_exec_num_weights(ea);
    const char *w0 = sn_exec_weight_name(ea, 0);
    CHECK(np > 100 && w0, "num_weights %d", np);
    int64_t n0 = sn_exec_weight_numel(ea, "model.0.conv.weight");
    CHECK(n0 == 16 * 3 * 3 * 3, "model.0.conv.weight numel %lld", (long long)n0);
    if (n0 > 0) {
        float *wa = malloc((size_t)n0 * sizeof *wa), *wb = malloc((size_t)n0 * sizeof *wb);
        CHECK(sn_exec_read_weight(ea, "model.0.conv.weight", wa, n0) == SN_OK, "read_weight");
        CHECK(sn_exec_read_weight(rb, "model.0.conv.weight", wb, n0) == SN_OK, "read_weight");
        CHECK(!memcmp(wa, wb, (size_t)n0 * sizeof *wa), "state after swap is B's");
        CHECK(sn_exec_read_weight(ea, "model.0.conv.weight", wa, n0 - 1) == SN_ERR_INVALID,
              "wrong count accepted");
        free(wa);
        free(wb);
    }
    CHECK(sn_exec_weight_numel(ea, "model.99.nope") == -1, "unknown name");

    /* errors name what failed */
    sn_model_options bad = {.model = "yolov8n", .height = 50, .width = 64};
    sn_exec *eb2 = NULL;
    CHECK(sn_compile(s, &bad, &eb2) != SN_OK && eb2 == NULL && *sn_session_error(s),
          "imgsz 50 accepted");
    printf("imgsz 50: %s\n", sn_session_error(s));
    sn_model_options f16 = {.model = "yolov8n", .height = 64, .width = 64, .dtype = "f16"};
    if (!strcmp(backend, "cpu"))
        CHECK(sn_compile(s, &f16, &eb2) == SN_ERR_UNSUPPORTED, "cpu f16: %s", sn_session_error(s));
    sn_session *bs = NULL;
    sn_session_options bo = {.backend = "tpu"};
    CHECK(sn_session_new(&bo, &bs) == SN_ERR_INVALID && strstr(sn_session_error(bs), "tpu"),
          "unknown backend");
    sn_session_free(bs);

    /* the trainer: two steps on ref (2 images, one without boxes), a finite loss that the step
     * lowers; the same two steps compiled for the cpu give ref's losses; cuda cannot train yet */
    {
        sn_model_options tm = {
            .model = "yolov8n", .batch = 2, .height = 64, .width = 64, .weights = "random:1"};
        sn_trainer_options to;
        sn_trainer_options_default(&to);
        to.lr = 0.001;
        float *img = malloc(2 * 3 * 64 * 64 * sizeof *img);
        for (int i = 0; img && i < 2 * 3 * 64 * 64; i++)
            img[i] = (float)((i * 37) % 251) / 251.f;
        const float labels[2 * 6] = {0, 3, 0.5f, 0.5f, 0.4f, 0.3f, 0, 7, 0.3f, 0.6f, 0.1f, 0.2f};
        double l[2][2][4] = {{{0}}}; /* [ref, backend][step] */
        sn_session *ss[2] = {ref, strcmp(backend, "cpu") ? NULL : s};
        for (int k = 0; k < 2 && img; k++) {
            sn_trainer *t = NULL;
            if (!ss[k])
                continue;
            CHECK(sn_trainer_new(ss[k], &tm, &to, &t) == SN_OK, "trainer %d: %s", k,
                  sn_session_error(ss[k]));
            if (!t)
                continue;
            CHECK(sn_trainer_step(t, img, labels, 2, l[k][0]) == SN_OK, "step: %s",
                  sn_trainer_error(t));
            CHECK(l[k][0][3] > 0 && l[k][0][3] < 1e9 && sn_trainer_grad_norm(t) > 0, "loss %g",
                  l[k][0][3]);
            CHECK(sn_trainer_step(t, img, labels, 2, l[k][1]) == SN_OK, "step 2: %s",
                  sn_trainer_error(t));
            CHECK(l[k][1][3] < l[k][0][3], "the step lowers the loss: %g then %g", l[k][0][3],
                  l[k][1][3]);
            const float cls80[6] = {0, 80, 0.5f, 0.5f, 0.1f, 0.1f};
            CHECK(sn_trainer_step(t, img, cls80, 1, l[k][1] + 2) == SN_ERR_INVALID &&
                      strstr(sn_trainer_error(t), "cls"),
                  "class 80 refused: %s", sn_trainer_error(t));
            sn_trainer_free(t);
        }
        if (ss[1])
            for (int j = 0; j < 2; j++)
                CHECK(fabs(l[1][j][3] - l[0][j][3]) <= 1e-4 * fabs(l[0][j][3]),
                      "cpu step %d loss %.6f, ref %.6f", j + 1, l[1][j][3], l[0][j][3]);
        free(img);
        if (strcmp(backend, "ref") && strcmp(backend, "cpu")) {
            sn_trainer *tc = NULL;
            CHECK(sn_trainer_new(s, &tm, &to, &tc) == SN_ERR_UNSUPPORTED && !tc, "%s trainer: %s",
                  backend, sn_session_error(s));
        }
        printf("trainer: loss %.4f then %.4f (ref); %.4f then %.4f (%s)\n", l[0][0][3], l[0][1][3],
               l[1][0][3], l[1][1][3], backend);
    }

    free(x), free(ya), free(ya_ref), free(yb_swap), free(yb_fresh), free(yb_ref), free(yb_again);
    sn_exec_free(ea), sn_exec_free(eb), sn_exec_free(ra), sn_exec_free(rb);
    sn_session_free(s), sn_session_free(ref);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
