/* tests/ir/det_loss_parity.c — DET_LOSS and DET_LOSS_GRAD against Ultralytics itself: for each
 * case, tests/parity/det_loss_oracle.py (run by the oracle venv's python) makes a random
 * problem and writes pred, targets, Ultralytics' loss vector and d loss.sum() / d pred; this
 * program runs the ops' ref rules through the IR (inputs, ANCHORS, det_loss, det_loss_grad;
 * sn_ir_ref_run) and compares: each loss item to rel 1e-5, the gradient's box channels and its
 * class channels each to rel L2 1e-5 (f32 results against the f64 oracle, stored as f32), and
 * the assigner's foreground (and, where the rows are Ultralytics' own, its row per anchor)
 * exactly; and the internal double entry point (ir/ir_int.h) against the oracle's unrounded
 * f64 values: loss items to rel 1e-11, the gradient to rel L2 1e-10, which sees definition
 * details (an eps of 1e-7) that f32 cannot.
 * usage: det_loss_parity [SCRIPT]. The venv: $SN_ORACLE_VENV, else the build's SN_ORACLE_VENV
 * (default .venv-oracle in the source tree). Without it: "skipped: …", exit 77. */
#include "io/io.h"
#include "ir/ir_int.h"
#include "tests/common/check_ir.h"

#include <math.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SN_ORACLE_VENV
#define SN_ORACLE_VENV ".venv-oracle"
#endif
#ifndef SN_SOURCE_DIR
#define SN_SOURCE_DIR "."
#endif

static char err[512];

typedef struct pcase {
    int seed, imgsz, batch, nc, reg_max;
    const char *opts; /* more oracle arguments */
    int same_rows;    /* targets.npy rows are Ultralytics' own (gt indices comparable) */
} pcase;

static const pcase cases[] = {
    {1, 320, 4, 80, 16, "--mode random", 1},
    {2, 320, 4, 80, 16, "--mode near", 1},
    {3, 320, 4, 80, 16, "--mode near --extra-pad 3 --mix-pad", 0},
    {4, 320, 4, 80, 16, "--mode random --extra-pad 2", 1},
    /* A = 84 < 640: torch.topk's nth_element path */
    {5, 64, 4, 3, 16, "--mode near", 1},
    {6, 64, 4, 80, 8, "--mode random", 1},
    /* zero-width, zero-height and point boxes, and (0,0,0,0) rows that are not padding */
    {7, 320, 4, 80, 16, "--mode near --degenerate", 1},
};

/* dir/name as f32; NULL (a failed check) unless its shape is want (when given). */
static float *load(const char *dir, const char *name, const sn_shape *want, sn_shape *got) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    sn_shape s;
    float *d = NULL;
    if (sn_io_npy_read(path, got ? got : &s, &d, err, sizeof err) != SN_OK) {
        CHECKF(0, "%s", err);
        return NULL;
    }
    if (got)
        s = *got;
    if (want && !sn_shape_eq(&s, want)) {
        char b1[64], b2[64];
        CHECKF(0, "%s has shape %s, want %s", name, sn_shape_str(&s, b1, sizeof b1),
               sn_shape_str(want, b2, sizeof b2));
        free(d);
        return NULL;
    }
    return d;
}

/* n little-endian doubles from dir/name (malloc'ed), or NULL (a failed check). */
static double *read_f64(const char *dir, const char *name, int64_t n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len = 0;
    char *raw = read_file(path, &len);
    CHECKF(raw && len == (size_t)n * sizeof(double), "%s: %zu bytes, want %lld doubles", path, len,
           (long long)n);
    double *d = raw && len == (size_t)n * sizeof(double) ? malloc(len) : NULL;
    if (d)
        memcpy(d, raw, len);
    free(raw);
    return d;
}

/* Relative L2 error of got against want over n elements at stride-separated rows: the
 * channels [c0, c1) of a [B, no, A] tensor. */
static double rel_l2_channels(const float *got, const float *want, int64_t B, int64_t no, int64_t A,
                              int64_t c0, int64_t c1) {
    double num = 0, den = 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = c0; c < c1; c++)
            for (int64_t a = 0; a < A; a++) {
                int64_t i = (b * no + c) * A + a;
                double dlt = (double)got[i] - want[i];
                num += dlt * dlt;
                den += (double)want[i] * want[i];
            }
    return isfinite(num) ? sqrt(num / (den > 0 ? den : 1)) : INFINITY;
}

static int run_case(const char *python, const char *script, const pcase *pc) {
    char *dir = make_temp_dir("det_loss_parity");
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "'%s' '%s' '%s' --seed %d --imgsz %d --batch %d --nc %d --reg-max %d %s", python,
             script, dir, pc->seed, pc->imgsz, pc->batch, pc->nc, pc->reg_max, pc->opts);
    int rc = system(cmd);
    if (rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 77) {
        rm_tree(dir);
        free(dir);
        return 77;
    }
    CHECKF(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "oracle failed: %s", cmd);
    int64_t B = pc->batch, nc = pc->nc, R = pc->reg_max, no = 4 * R + nc, A = 0;
    static const int64_t strides[3] = {8, 16, 32};
    int64_t ia[2][11];
    for (int w = 0; w < 2; w++) {
        ia[w][0] = w, ia[w][1] = 3;
        for (int l = 0; l < 3; l++) {
            int64_t hw = pc->imgsz / strides[l];
            ia[w][2 + 3 * l] = hw, ia[w][3 + 3 * l] = hw, ia[w][4 + 3 * l] = strides[l];
        }
    }
    for (int l = 0; l < 3; l++)
        A += (pc->imgsz / strides[l]) * (pc->imgsz / strides[l]);
    sn_shape ps = SHAPE(B, no, A);
    sn_shape ts, s3 = SHAPE(3), sba = SHAPE(B, A);
    float *pred = load(dir, "pred.npy", &ps, NULL), *tg = load(dir, "targets.npy", NULL, &ts);
    float *want_loss = load(dir, "loss.npy", &s3, NULL);
    float *want_grad = load(dir, "grad.npy", &ps, NULL);
    float *want_fg = load(dir, "fg.npy", &sba, NULL), *want_gt = load(dir, "gt.npy", &sba, NULL);
    if (!pred || !tg || !want_loss || !want_grad || !want_fg || !want_gt)
        goto out;
    int64_t cap = ts.d[1];

    /* the graph: pred, targets -> anchors, strides -> det_loss, det_loss_grad(dloss = 1) */
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t xp = inp(g, ps), xt = inp(g, ts);
    double half = 0.5, one = 1.0, gains[3] = {7.5, 0.5, 1.5};
    int32_t an = sn_ir_add(g, SN_OP_ANCHORS, NULL, 0, ia[0], 11, &half, 1, NULL, SN_DTYPE_F32, err,
                           sizeof err);
    int32_t sn = sn_ir_add(g, SN_OP_ANCHORS, NULL, 0, ia[1], 11, &half, 1, NULL, SN_DTYPE_F32, err,
                           sizeof err);
    int32_t dl =
        sn_ir_add(g, SN_OP_CONST, NULL, 0, NULL, 0, &one, 1, &s3, SN_DTYPE_F32, err, sizeof err);
    int64_t attrs[2] = {nc, R};
    int32_t loss = sn_ir_add(g, SN_OP_DET_LOSS, (int32_t[]){xp, xt, an, sn}, 4, attrs, 2, gains, 3,
                             NULL, SN_DTYPE_F32, err, sizeof err);
    CHECKF(loss >= 0, "%s", err);
    int32_t grad = sn_ir_add(g, SN_OP_DET_LOSS_GRAD, (int32_t[]){xp, xt, an, sn, dl}, 5, attrs, 2,
                             gains, 3, NULL, SN_DTYPE_F32, err, sizeof err);
    CHECKF(grad >= 0, "%s", err);
    if (loss < 0 || grad < 0) {
        sn_ir_graph_free(g);
        goto out;
    }
    sn_ir_mark_output(g, loss);
    sn_ir_mark_output(g, grad);
    CHECKF(sn_ir_verify(g, "det_loss_parity", err, sizeof err) == SN_OK, "%s", err);
    float got_loss[3], *got_grad = poisoned(B * no * A);
    poison(got_loss, 3);
    sn_status st = sn_ir_ref_run(g, (const float *const[]){pred, tg},
                                 (float *const[]){got_loss, got_grad}, err, sizeof err);
    CHECKF(st == SN_OK, "%s", err);

    const char *item[3] = {"box", "cls", "dfl"};
    double worst = 0;
    for (int i = 0; i < 3; i++) {
        double rel = fabs((double)got_loss[i] - want_loss[i]) / fabs((double)want_loss[i]);
        worst = rel > worst || isnan(rel) ? rel : worst;
        CHECKF(rel <= 1e-5, "seed %d: %s loss %.9g, Ultralytics %.9g (rel %.3g)", pc->seed, item[i],
               got_loss[i], want_loss[i], rel);
    }
    double eb = rel_l2_channels(got_grad, want_grad, B, no, A, 0, 4 * R);
    double ec = rel_l2_channels(got_grad, want_grad, B, no, A, 4 * R, no);
    CHECKF(eb <= 1e-5 && ec <= 1e-5, "seed %d: gradient rel L2 box channels %.3g, cls %.3g",
           pc->seed, eb, ec);

    /* the assignment itself, through the internal entry point */
    sn_ir_det_dims d = {B, A, cap, nc, R, {7.5, 0.5, 1.5}};
    double *pd = malloc((size_t)(B * no * A) * sizeof *pd);
    float *anc = malloc((size_t)(3 * A) * sizeof *anc);
    int64_t p = 0, nfg = 0, fg_bad = 0, gt_bad = 0;
    for (int64_t i = 0; i < B * no * A; i++)
        pd[i] = pred[i];
    for (int l = 0; l < 3; l++) {
        int64_t hw = pc->imgsz / strides[l];
        for (int64_t y = 0; y < hw; y++)
            for (int64_t x = 0; x < hw; x++, p++)
                anc[p] = (float)x + 0.5f, anc[A + p] = (float)y + 0.5f,
                anc[2 * A + p] = (float)strides[l];
    }
    sn_ir_det_assign as;
    CHECK(sn_ir_det_assign_run(&d, pd, tg, anc, anc + 2 * A, &as) == SN_OK);
    for (int64_t e = 0; as.gt && e < B * A; e++) {
        nfg += as.gt[e] >= 0;
        fg_bad += (as.gt[e] >= 0) != (want_fg[e] != 0);
        gt_bad += pc->same_rows && as.gt[e] != (int32_t)want_gt[e];
    }
    /* in double, against the unrounded oracle */
    double *l64 = read_f64(dir, "loss.f64", 3), *g64 = read_f64(dir, "grad.f64", B * no * A);
    double *dp = malloc((size_t)(B * no * A) * sizeof *dp), l[3], e64l = 0, num = 0, den = 0;
    CHECK(sn_ir_det_loss_eval(&d, pd, anc, &as, NULL, 0, (double[]){1, 1, 1}, l, dp) == SN_OK);
    for (int i = 0; l64 && i < 3; i++) {
        double rel = fabs(l[i] - l64[i]) / fabs(l64[i]);
        e64l = rel > e64l || isnan(rel) ? rel : e64l;
    }
    for (int64_t i = 0; g64 && i < B * no * A; i++)
        num += (dp[i] - g64[i]) * (dp[i] - g64[i]), den += g64[i] * g64[i];
    double e64g = sqrt(num / den);
    CHECKF(l64 && g64 && e64l <= 1e-11 && e64g <= 1e-10,
           "seed %d: in double, loss rel %.3g, gradient rel L2 %.3g", pc->seed, e64l, e64g);
    free(l64);
    free(g64);
    free(dp);
    CHECKF(fg_bad == 0 && gt_bad == 0,
           "seed %d: %lld anchors' foreground, %lld anchors' rows differ", pc->seed,
           (long long)fg_bad, (long long)gt_bad);
    printf("seed %d imgsz %d nc %d reg_max %d cap %lld: fg %lld; loss worst rel %.2g; gradient "
           "rel L2 box %.2g cls %.2g; in double: loss %.2g gradient %.2g\n",
           pc->seed, pc->imgsz, pc->nc, pc->reg_max, (long long)cap, (long long)nfg, worst, eb, ec,
           e64l, e64g);
    sn_ir_det_assign_free(&as);
    free(pd);
    free(anc);
    free(got_grad);
    sn_ir_graph_free(g);
out:
    free(pred);
    free(tg);
    free(want_loss);
    free(want_grad);
    free(want_fg);
    free(want_gt);
    rm_tree(dir);
    free(dir);
    return 0;
}

int main(int argc, char **argv) {
    const char *venv = getenv("SN_ORACLE_VENV");
    if (!venv || !*venv)
        venv = SN_ORACLE_VENV;
    char python[1024];
    snprintf(python, sizeof python, "%s/bin/python", venv);
    if (access(python, X_OK) != 0) {
        printf("skipped: no oracle venv at %s (scripts/oracle_venv.sh makes one; or set "
               "SN_ORACLE_VENV)\n",
               venv);
        return 77;
    }
    const char *script = argc > 1 ? argv[1] : SN_SOURCE_DIR "/tests/parity/det_loss_oracle.py";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (run_case(python, script, &cases[i]) == 77) {
            printf("skipped: %s cannot import torch and ultralytics\n", python);
            return 77;
        }
    return check_report("det_loss_parity");
}
