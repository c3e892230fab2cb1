/* tests/ir/test_det_loss.c — DET_LOSS and DET_LOSS_GRAD (ir/ops/det_loss.c): the analytic
 * gradient against central differences of the loss with the assignment held fixed, in double
 * through the internal entry point (ir/ir_int.h), so the check is tight (rel 1e-6); the ref
 * rules through the IR equal that double computation rounded once; handcrafted cases with
 * known answers (no boxes; one box met exactly by its one candidate; the padding rules; small
 * boxes widened to the second level's stride; gains; a class >= nc); shape errors that name
 * the op; the text form round-tripping three float attributes. Parity with Ultralytics itself
 * is det_loss_parity. */
#include "ir/ir_int.h"
#include "tests/common/check_ir.h"

#include <math.h>
#include <stdlib.h>

static char err[512];

/* A problem: sizes, levels (h, w, stride each), and its data. */
typedef struct prob {
    sn_ir_det_dims d;
    int nl;
    int64_t lv[3][3];
    double *pred;
    float *targets, *anchors; /* anchors: points [2, A] then strides [A] */
} prob;

static void prob_init(prob *p, int64_t B, int64_t cap, int64_t nc, int64_t R, int nl,
                      const int64_t (*lv)[3]) {
    memset(p, 0, sizeof *p);
    p->nl = nl;
    int64_t A = 0;
    for (int l = 0; l < nl; l++) {
        memcpy(p->lv[l], lv[l], sizeof p->lv[l]);
        A += lv[l][0] * lv[l][1];
    }
    p->d = (sn_ir_det_dims){B, A, cap, nc, R, {7.5, 0.5, 1.5}};
    int64_t np = B * (4 * R + nc) * A;
    p->pred = malloc((size_t)np * sizeof *p->pred);
    for (int64_t i = 0; i < np; i++)
        p->pred[i] = (float)(1.5 * rnd_unit());
    p->targets = malloc((size_t)(B * cap * 5) * sizeof *p->targets);
    for (int64_t i = 0; i < B * cap; i++) { /* padding unless set */
        float *r = p->targets + i * 5;
        r[0] = -1, r[1] = r[2] = r[3] = r[4] = 0;
    }
    p->anchors = malloc((size_t)(3 * A) * sizeof *p->anchors);
    int64_t a = 0;
    for (int l = 0; l < nl; l++)
        for (int64_t y = 0; y < lv[l][0]; y++)
            for (int64_t x = 0; x < lv[l][1]; x++, a++) {
                p->anchors[a] = (float)x + 0.5f;
                p->anchors[A + a] = (float)y + 0.5f;
                p->anchors[2 * A + a] = (float)lv[l][2];
            }
}

static void prob_free(prob *p) {
    free(p->pred);
    free(p->targets);
    free(p->anchors);
}

static void set_box(prob *p, int64_t b, int64_t row, float cls, float x1, float y1, float x2,
                    float y2) {
    float *r = p->targets + (b * p->d.cap + row) * 5;
    r[0] = cls, r[1] = x1, r[2] = y1, r[3] = x2, r[4] = y2;
}

static double *pred_at(prob *p, int64_t b, int64_t c, int64_t a) {
    return p->pred + (b * (4 * p->d.reg_max + p->d.nc) + c) * p->d.A + a;
}

/* Box logits at (b, a) whose decoded box is px (pixels, containing the anchor's centre): per
 * side, logit 40 (+ log of the weight) on the two bins around the distance, 0 elsewhere, so
 * the expectation is the distance to about e^-40. */
static void set_pred_box(prob *p, int64_t b, int64_t a, double x1, double y1, double x2,
                         double y2) {
    int64_t A = p->d.A, R = p->d.reg_max;
    double s = p->anchors[2 * A + a], ax = p->anchors[a], ay = p->anchors[A + a];
    double dist[4] = {ax - x1 / s, ay - y1 / s, x2 / s - ax, y2 / s - ay};
    for (int k = 0; k < 4; k++) {
        CHECK(dist[k] >= 0 && dist[k] < R - 1);
        int64_t f = (int64_t)dist[k];
        double r = dist[k] - (double)f;
        for (int64_t i = 0; i < R; i++)
            *pred_at(p, b, k * R + i, a) = 0.0;
        *pred_at(p, b, k * R + f, a) = r < 1 ? 40 + log(1 - r) : 0.0;
        if (r > 0)
            *pred_at(p, b, k * R + f + 1, a) = 40 + log(r);
    }
}

static sn_status assign(const prob *p, sn_ir_det_assign *as) {
    return sn_ir_det_assign_run(&p->d, p->pred, p->targets, p->anchors, p->anchors + 2 * p->d.A,
                                as);
}

/* The loss of p in double (assigned on p's own predictions); with dloss and dpred, the
 * gradient too. Returns the foreground count. */
static int64_t loss64(const prob *p, const double *dloss, double loss[3], double *dpred) {
    sn_ir_det_assign as;
    CHECK(assign(p, &as) == SN_OK);
    CHECK(sn_ir_det_loss_eval(&p->d, p->pred, p->anchors, &as, NULL, 0, dloss, loss, dpred) ==
          SN_OK);
    int64_t nfg = 0;
    for (int64_t e = 0; e < p->d.B * p->d.A; e++)
        nfg += as.gt[e] >= 0;
    sn_ir_det_assign_free(&as);
    return nfg;
}

/* ---------------------------------------------------------------- the IR path */

/* The graph pred, targets -> ANCHORS x2 -> det_loss, det_loss_grad (dloss an input). */
static sn_ir_graph *graph_of(const prob *p, int32_t *loss, int32_t *grad) {
    sn_ir_graph *g = sn_ir_graph_new();
    int64_t B = p->d.B, no = 4 * p->d.reg_max + p->d.nc;
    int32_t xp = inp(g, SHAPE(B, no, p->d.A)), xt = inp(g, SHAPE(B, p->d.cap, 5));
    int32_t xd = inp(g, SHAPE(3));
    int64_t ia[2 + 9];
    double off = 0.5;
    int32_t an[2];
    for (int w = 0; w < 2; w++) {
        ia[0] = w, ia[1] = p->nl;
        for (int l = 0; l < p->nl; l++)
            for (int k = 0; k < 3; k++)
                ia[2 + 3 * l + k] = p->lv[l][k];
        an[w] = sn_ir_add(g, SN_OP_ANCHORS, NULL, 0, ia, 2 + 3 * p->nl, &off, 1, NULL, SN_DTYPE_F32,
                          err, sizeof err);
        CHECKF(an[w] >= 0, "%s", err);
    }
    int64_t at[2] = {p->d.nc, p->d.reg_max};
    *loss = sn_ir_add(g, SN_OP_DET_LOSS, (int32_t[]){xp, xt, an[0], an[1]}, 4, at, 2, p->d.gain, 3,
                      NULL, SN_DTYPE_F32, err, sizeof err);
    CHECKF(*loss >= 0, "%s", err);
    *grad = sn_ir_add(g, SN_OP_DET_LOSS_GRAD, (int32_t[]){xp, xt, an[0], an[1], xd}, 5, at, 2,
                      p->d.gain, 3, NULL, SN_DTYPE_F32, err, sizeof err);
    CHECKF(*grad >= 0, "%s", err);
    sn_ir_mark_output(g, *loss);
    sn_ir_mark_output(g, *grad);
    CHECKF(sn_ir_verify(g, "test", err, sizeof err) == SN_OK, "%s", err);
    return g;
}

/* The ref rules' results for p (pred rounded to f32 first, which the caller has done). */
static void ref_run(const prob *p, const float *dloss, float loss[3], float *dpred) {
    int32_t nl, ng;
    sn_ir_graph *g = graph_of(p, &nl, &ng);
    int64_t np = p->d.B * (4 * p->d.reg_max + p->d.nc) * p->d.A;
    float *pf = malloc((size_t)np * sizeof *pf);
    for (int64_t i = 0; i < np; i++)
        pf[i] = (float)p->pred[i];
    poison(loss, 3);
    poison(dpred, np);
    sn_status st = sn_ir_ref_run(g, (const float *const[]){pf, p->targets, dloss},
                                 (float *const[]){loss, dpred}, err, sizeof err);
    CHECKF(st == SN_OK, "%s", err);
    free(pf);
    sn_ir_graph_free(g);
}

/* ---------------------------------------------------------------- finite differences */

/* ||got - want|| / ||want|| in double. */
static double rel_l2_64(const double *got, const double *want, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++)
        num += (got[i] - want[i]) * (got[i] - want[i]), den += want[i] * want[i];
    return sqrt(num / den);
}

/* Boxes of varied sizes in a 32x32 image with levels 4x4/8 and 2x2/16 (A = 20): a 3 px box
 * (widened), one under the second stride, one large, one as big as the image, one off the
 * grid's centres; image 1 has none (B >= 2), image 2 (B = 3) one box. */
static void fill_boxes(prob *p) {
    set_box(p, 0, 0, 0, 10.0f, 11.5f, 13.0f, 14.0f);
    set_box(p, 0, 1, 2, 3.25f, 17.0f, 14.5f, 30.0f);
    set_box(p, 0, 3, 1, 6.0f, 2.0f, 29.0f, 20.5f);
    set_box(p, 0, 4, 1, 0.0f, 0.0f, 32.0f, 32.0f);
    if (p->d.B > 2)
        set_box(p, 2, 2, 2, 17.5f, 5.0f, 27.0f, 26.0f);
}

static void test_finite_differences(int64_t B, int64_t R, uint64_t seed) {
    const int64_t lv[2][3] = {{4, 4, 8}, {2, 2, 16}};
    rnd_seed(seed);
    prob p;
    prob_init(&p, B, 5, 3, R, 2, lv);
    fill_boxes(&p);
    int64_t no = 4 * R + 3, np = B * no * p.d.A;
    sn_ir_det_assign as;
    CHECK(assign(&p, &as) == SN_OK);
    int64_t nfg = 0;
    for (int64_t e = 0; e < B * p.d.A; e++)
        nfg += as.gt[e] >= 0;
    CHECKF(nfg >= 6, "only %lld foreground anchors", (long long)nfg);
    double dl[3] = {0.7, 1.3, -0.9}, loss[3], lu[3], ld[3];
    double *g = calloc((size_t)np, sizeof *g), *fd = calloc((size_t)np, sizeof *fd);
    double *fd_live = calloc((size_t)np, sizeof *fd_live);
    double *alpha = calloc((size_t)(B * p.d.A), sizeof *alpha);
    CHECK(sn_ir_det_loss_eval(&p.d, p.pred, p.anchors, &as, alpha, 0, dl, loss, g) == SN_OK);
    const double h = 1e-5;
    double gmax = 0, gbox = 0;
    for (int64_t i = 0; i < np; i++) {
        double v0 = p.pred[i];
        for (int fixed = 1; fixed >= 0; fixed--) { /* CIoU's alpha frozen, then live */
            p.pred[i] = v0 + h;
            sn_ir_det_loss_eval(&p.d, p.pred, p.anchors, &as, fixed ? alpha : NULL, fixed, NULL, lu,
                                NULL);
            p.pred[i] = v0 - h;
            sn_ir_det_loss_eval(&p.d, p.pred, p.anchors, &as, fixed ? alpha : NULL, fixed, NULL, ld,
                                NULL);
            double *f = fixed ? fd : fd_live;
            f[i] = 0;
            for (int k = 0; k < 3; k++)
                f[i] += dl[k] * (lu[k] - ld[k]) / (2 * h);
        }
        p.pred[i] = v0;
        gmax = fabs(g[i]) > gmax ? fabs(g[i]) : gmax;
        if ((i / p.d.A) % no < 4 * R)
            gbox = fabs(g[i]) > gbox ? fabs(g[i]) : gbox;
    }
    double e = rel_l2_64(g, fd, np), e_live = rel_l2_64(g, fd_live, np), worst = 0;
    for (int64_t i = 0; i < np; i++)
        worst = fabs(g[i] - fd[i]) > worst ? fabs(g[i] - fd[i]) : worst;
    CHECKF(e <= 1e-6 && worst <= 1e-6 * gmax,
           "B %lld reg_max %lld: gradient vs central differences: rel L2 %.3g, worst %.3g of %.3g",
           (long long)B, (long long)R, e, worst, gmax);
    /* the loss itself moves with alpha: the held-constant gradient is not its derivative */
    CHECKF(e_live > 100 * e, "alpha live: rel L2 %.3g (frozen %.3g)", e_live, e);
    CHECKF(gbox > 1e-3 * gmax, "the box channels' gradient is %.3g", gbox);
    printf("B %lld reg_max %lld: %lld foreground; gradient vs central differences rel L2 %.2g "
           "(%.2g with CIoU's alpha not frozen)\n",
           (long long)B, (long long)R, (long long)nfg, e, e_live);
    free(fd_live);
    free(alpha);

    /* the ref rules through the IR: the double computation (pred in f32), rounded once */
    sn_ir_det_assign_free(&as);
    float lf[3], dlf[3] = {0.7f, 1.3f, -0.9f}, *gf = malloc((size_t)np * sizeof *gf);
    for (int k = 0; k < 3; k++)
        dl[k] = dlf[k];
    loss64(&p, dl, loss, g);
    ref_run(&p, dlf, lf, gf);
    int same = 1;
    for (int k = 0; k < 3; k++)
        same &= lf[k] == (float)loss[k];
    for (int64_t i = 0; i < np; i++)
        same &= gf[i] == (float)g[i];
    CHECKF(same, "the ref rules differ from the double computation rounded");
    free(gf);
    free(g);
    free(fd);
    prob_free(&p);
}

/* ---------------------------------------------------------------- known answers */

static double softplus(double x) { return (x > 0 ? x : 0) + log1p(exp(-fabs(x))); }

/* No boxes anywhere (every row padding, or Ultralytics' zero rows): box and dfl 0, cls the
 * sum of softplus over every class logit (target_scores_sum is clamped to 1), times gain and
 * B; the gradient is sigmoid in the class channels, 0 in the box channels. */
static void test_no_boxes(void) {
    const int64_t lv[2][3] = {{4, 4, 8}, {2, 2, 16}};
    prob p;
    prob_init(&p, 3, 2, 4, 4, 2, lv);
    set_box(&p, 1, 1, 0, 0, 0, 0, 0); /* Ultralytics' padding: class 0, box 0 */
    int64_t no = 16 + 4, A = p.d.A, np = 3 * no * A;
    for (int64_t i = 0; i < np; i++)
        p.pred[i] = (float)(p.pred[i] * 4);
    double sp = 0;
    for (int64_t b = 0; b < 3; b++)
        for (int64_t c = 16; c < no; c++)
            for (int64_t a = 0; a < A; a++)
                sp += softplus(*pred_at(&p, b, c, a));
    float loss[3], dl[3] = {1.0f, 2.0f, 3.0f}, *g = malloc((size_t)np * sizeof *g);
    ref_run(&p, dl, loss, g);
    CHECKF(loss[0] == 0.0f && loss[2] == 0.0f, "box %g dfl %g", loss[0], loss[2]);
    CHECKF(fabs(loss[1] - sp * 0.5 * 3) <= 1e-6 * sp, "cls %.9g, want %.9g", loss[1], sp * 0.5 * 3);
    double worst = 0;
    for (int64_t b = 0; b < 3; b++)
        for (int64_t c = 0; c < no; c++)
            for (int64_t a = 0; a < A; a++) {
                double x = *pred_at(&p, b, c, a);
                double want = c < 16 ? 0.0 : 2.0 * 0.5 * 3 / (1 + exp(-x));
                double e = fabs(g[(b * no + c) * A + a] - want);
                worst = e > worst ? e : worst;
            }
    CHECKF(worst <= 1e-6, "no boxes: gradient off by %.3g", worst);
    free(g);
    prob_free(&p);
}

/* One box whose one candidate anchor predicts it exactly: 1 level of 4x4 at stride 8, the box
 * (4,4,20,20) px holds only anchor (1,1) (a = 5), which decodes to that very box. Only the
 * eps of bbox_iou keeps CIoU from 1: heights 16 + 1e-7 px, union 256 + 2*16*1e-7 + 1e-7, so
 * the overlap is 256 / that; the target score is align * overlap / (align + 1e-9), align =
 * sqrt(sigmoid(x)) overlap^6; in grid units the box loss sees 4 / (4 + 5e-7); dfl is
 * -log(1 - 15 e^-40) = 0; the score sum is clamped to 1. */
static void setup_one(prob *p, int64_t cap) {
    const int64_t lv[1][3] = {{4, 4, 8}};
    prob_init(p, 1, cap, 2, 16, 1, lv);
    set_pred_box(p, 0, 5, 4, 4, 20, 20);
    set_pred_box(p, 0, 1, 4, 0, 20, 10); /* overlaps the box (-30,0,20,10) well: CIoU 0.2 */
}

static void check_one(prob *p, const char *what) {
    double sp = 0, loss[3], x = *pred_at(p, 0, 65, 5);
    for (int64_t c = 64; c < 66; c++)
        for (int64_t a = 0; a < 16; a++)
            sp += softplus(*pred_at(p, 0, c, a));
    double ov = 256 / (2 * 16 * (16 + 1e-7) - 256 + 1e-7);
    double am = sqrt(1 / (1 + exp(-x))) * pow(ov, 6), t = am * ov / (am + 1e-9);
    double want_cls = (sp - x * t) * 0.5, want_box = (1 - 4 / (4 + 5e-7)) * t * 7.5;
    int64_t nfg = loss64(p, NULL, loss, NULL);
    CHECKF(nfg == 1, "%s: %lld foreground anchors", what, (long long)nfg);
    CHECKF(fabs(loss[0] - want_box) <= 1e-13 && fabs(loss[2]) <= 1e-13,
           "%s: box %.6g (want %.6g), dfl %.3g", what, loss[0], want_box, loss[2]);
    CHECKF(fabs(loss[1] - want_cls) <= 1e-13 * want_cls, "%s: cls %.15g, want %.15g", what, loss[1],
           want_cls);
}

static void test_one_box(void) {
    prob p;
    setup_one(&p, 1);
    set_box(&p, 0, 0, 1, 4, 4, 20, 20);
    check_one(&p, "one box");
    sn_ir_det_assign as;
    CHECK(assign(&p, &as) == SN_OK);
    CHECK(as.gt[5] == 0 && as.cls[5] == 1 && fabs(as.score[5] - 1) < 1e-7);
    CHECK(as.score_sum == 1.0 && as.box[5 * 4 + 2] == 2.5);
    sn_ir_det_assign_free(&as);
    prob_free(&p);

    /* the padding rules: each extra row changes nothing */
    static const float extra[][5] = {
        {0, 0, 0, 0, 0},       /* Ultralytics' padding row: class 0, box 0 (sum 0) */
        {-1, 4, 4, 20, 20},    /* cls < 0: padding, whatever its box */
        {1, -10, -10, 2, 2},   /* a box whose coordinates sum to <= 0: dropped, as mask_gt */
        {1, -30, 0, 20, 10},   /* the same, over anchors (4,4), (12,4) (which predicts it) */
        {-0.5f, 0, 0, 32, 32}, /* cls in (-1, 0): padding (Ultralytics would say class 0) */
        {1.5f, 0, 0, 0, 0},    /* zero box, non-integer class */
    };
    for (size_t k = 0; k < sizeof extra / sizeof extra[0]; k++)
        for (int first = 0; first < 2; first++) {
            setup_one(&p, 2);
            set_box(&p, 0, first ? 1 : 0, 1, 4, 4, 20, 20);
            const float *e = extra[k];
            set_box(&p, 0, first ? 0 : 1, e[0], e[1], e[2], e[3], e[4]);
            char what[64];
            snprintf(what, sizeof what, "extra row %d %s", (int)k, first ? "first" : "last");
            check_one(&p, what);
            prob_free(&p);
        }

    /* a class at or past nc is an error: NaN */
    setup_one(&p, 2);
    set_box(&p, 0, 0, 1.9f, 4, 4, 20, 20); /* trunc: class 1, fine */
    check_one(&p, "class 1.9");
    set_box(&p, 0, 1, 2.0f, 0, 0, 0, 0);
    double loss[3];
    loss64(&p, NULL, loss, NULL);
    CHECKF(isnan(loss[0]) && isnan(loss[1]) && isnan(loss[2]), "class 2 of nc 2: %g %g %g", loss[0],
           loss[1], loss[2]);
    prob_free(&p);
}

/* 2 px boxes, widened for the candidate test to stride_val about their centre: the second
 * level's stride (16) with levels of stride 8 and 16, the only level's (8) with one. Every
 * candidate predicts a box overlapping the box well (CIoU > 0), so every candidate is in the
 * top 10: the foreground is exactly the candidates. */
static void check_fg(prob *p, const int64_t *want, int n, const char *what) {
    sn_ir_det_assign as;
    CHECK(assign(p, &as) == SN_OK);
    int64_t nfg = 0;
    for (int64_t a = 0; a < p->d.A; a++)
        nfg += as.gt[a] >= 0;
    CHECKF(nfg == n, "%s: %lld foreground, want %d", what, (long long)nfg, n);
    for (int i = 0; i < n; i++)
        CHECKF(as.gt[want[i]] == 0, "%s: anchor %lld not foreground", what, (long long)want[i]);
    sn_ir_det_assign_free(&as);
}

static void test_widening(void) {
    const int64_t lv[2][3] = {{4, 4, 8}, {2, 2, 16}};
    prob p;
    /* (7,7,9,9) about level 1's (8,8): to 16 px, (0,0,16,16) holds level 0's (4,4), (12,4),
     * (4,12), (12,12) too; widened to 8 px it would hold (8,8) alone */
    prob_init(&p, 1, 1, 2, 4, 2, lv);
    set_box(&p, 0, 0, 1, 7, 7, 9, 9);
    set_pred_box(&p, 0, 16, 7, 7, 9, 9);
    set_pred_box(&p, 0, 0, 4, 4, 9, 9);
    set_pred_box(&p, 0, 1, 7, 4, 12, 9);
    set_pred_box(&p, 0, 4, 4, 7, 9, 12);
    set_pred_box(&p, 0, 5, 7, 7, 12, 12);
    check_fg(&p, (int64_t[]){0, 1, 4, 5, 16}, 5, "two levels");
    prob_free(&p);
    /* (13,13,15,15) with one level: to 8 px, (10,10,18,18) holds (12,12), which the box itself
     * does not */
    prob_init(&p, 1, 1, 2, 4, 1, lv);
    set_box(&p, 0, 0, 1, 13, 13, 15, 15);
    set_pred_box(&p, 0, 5, 12, 12, 15, 15);
    check_fg(&p, (int64_t[]){5}, 1, "one level");
    prob_free(&p);
}

/* The gains scale their items exactly; the whole is multiplied by B. */
static void test_gains(void) {
    const int64_t lv[2][3] = {{4, 4, 8}, {2, 2, 16}};
    rnd_seed(7);
    prob p;
    prob_init(&p, 2, 5, 3, 4, 2, lv);
    fill_boxes(&p);
    double a[3], b[3];
    loss64(&p, NULL, a, NULL);
    p.d.gain[0] = p.d.gain[1] = p.d.gain[2] = 1.0;
    loss64(&p, NULL, b, NULL);
    const double gain[3] = {7.5, 0.5, 1.5};
    for (int k = 0; k < 3; k++)
        CHECKF(b[k] > 0 && fabs(a[k] - b[k] * gain[k]) <= 1e-15 * a[k], "item %d: %.17g vs %.17g",
               k, a[k], b[k] * gain[k]);
    prob_free(&p);
}

/* ---------------------------------------------------------------- shape errors, text */

static void refused(sn_ir_graph *g, sn_op op, const int32_t *in, int nin, const int64_t *ia,
                    const double *fa, int nfa, const char *want) {
    err[0] = 0;
    int32_t n = sn_ir_add(g, op, in, nin, ia, 2, fa, nfa, NULL, SN_DTYPE_F32, err, sizeof err);
    CHECKF(n < 0, "%s accepted (want '%s')", sn_ir_op_info[op].name, want);
    CHECK_HAS(err, want);
    CHECKF(strncmp(err, sn_ir_op_info[op].name, strlen(sn_ir_op_info[op].name)) == 0,
           "'%s' does not start with the op name", err);
}

static void test_shapes(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    /* A = 20: levels 4x4/8 and 2x2/16; nc 3, reg_max 4: no = 19 */
    int64_t lv[2][11] = {{0, 2, 4, 4, 8, 2, 2, 16}, {1, 2, 4, 4, 8, 2, 2, 16}};
    double off = 0.5, gains[3] = {7.5, 0.5, 1.5};
    int32_t an = sn_ir_add(g, SN_OP_ANCHORS, NULL, 0, lv[0], 8, &off, 1, NULL, SN_DTYPE_F32, err,
                           sizeof err);
    int32_t st = sn_ir_add(g, SN_OP_ANCHORS, NULL, 0, lv[1], 8, &off, 1, NULL, SN_DTYPE_F32, err,
                           sizeof err);
    int32_t p = inp(g, SHAPE(2, 19, 20)), t = inp(g, SHAPE(2, 6, 5)), dl = inp(g, SHAPE(3));
    int64_t ia[2] = {3, 4};
    int32_t l = sn_ir_add(g, SN_OP_DET_LOSS, (int32_t[]){p, t, an, st}, 4, ia, 2, gains, 3, NULL,
                          SN_DTYPE_F32, err, sizeof err);
    CHECKF(l >= 0, "%s", err);
    CHECK(l >= 0 && sn_shape_eq(&g->nodes[l].shape, &(sn_shape){1, {3}}) &&
          g->nodes[l].dtype == SN_DTYPE_F32);
    int32_t d = sn_ir_add(g, SN_OP_DET_LOSS_GRAD, (int32_t[]){p, t, an, st, dl}, 5, ia, 2, gains, 3,
                          NULL, SN_DTYPE_F32, err, sizeof err);
    CHECKF(d >= 0, "%s", err);
    CHECK(d >= 0 && sn_shape_eq(&g->nodes[d].shape, &g->nodes[p].shape));
    CHECK(sn_ir_op_info[SN_OP_DET_LOSS].flags & SN_OPF_DIFFERENTIABLE);
    CHECK(sn_ir_op_info[SN_OP_DET_LOSS].kind == SN_OP_KIND_OPAQUE);

    int32_t p2 = inp(g, SHAPE(19, 20)), t4 = inp(g, SHAPE(2, 6, 4)), t1 = inp(g, SHAPE(1, 6, 5));
    int32_t p18 = inp(g, SHAPE(2, 18, 20)), p21 = inp(g, SHAPE(2, 19, 21));
    int32_t dl4 = inp(g, SHAPE(4)), p9 = inp(g, SHAPE(2, 19, 9));
    int64_t lv9[11] = {0, 1, 3, 3, 8}, lv9s[11] = {1, 1, 3, 3, 8};
    int32_t an9 =
        sn_ir_add(g, SN_OP_ANCHORS, NULL, 0, lv9, 5, &off, 1, NULL, SN_DTYPE_F32, err, sizeof err);
    int32_t st9 =
        sn_ir_add(g, SN_OP_ANCHORS, NULL, 0, lv9s, 5, &off, 1, NULL, SN_DTYPE_F32, err, sizeof err);
    int32_t ph = sn_ir_add(g, SN_OP_INPUT, NULL, 0, NULL, 0, NULL, 0, &(sn_shape){3, {2, 19, 20}},
                           SN_DTYPE_F16, err, sizeof err);
    sn_op L = SN_OP_DET_LOSS, G = SN_OP_DET_LOSS_GRAD;
    refused(g, L, (int32_t[]){p2, t, an, st}, 4, ia, gains, 3,
            "det_loss: pred [19,20] must be [B,no,A] and targets [2,6,5] [B,cap,5]");
    refused(g, L, (int32_t[]){p, t4, an, st}, 4, ia, gains, 3,
            "det_loss: targets [2,6,4] must be [B,cap,5] with pred's B (pred [2,19,20])");
    refused(g, L, (int32_t[]){p, t1, an, st}, 4, ia, gains, 3, "targets [1,6,5] must be");
    refused(g, L, (int32_t[]){p18, t, an, st}, 4, ia, gains, 3,
            "det_loss: pred [2,18,20] has 18 channels, but 4*reg_max + nc = 4*4 + 3");
    refused(g, L, (int32_t[]){p, t, an, st}, 4, (int64_t[]){3, 3}, gains, 3, "= 4*3 + 3");
    refused(g, L, (int32_t[]){p21, t, an, st}, 4, ia, gains, 3,
            "det_loss: anchors [1,2,20] and strides [1,1,20] must be [1,2,21] and [1,1,21]");
    refused(g, L, (int32_t[]){p, t, st, an}, 4, ia, gains, 3, "anchors [1,1,20] and strides");
    refused(g, L, (int32_t[]){p, t, an, st}, 4, (int64_t[]){3, 1}, gains, 3,
            "det_loss: nc 3 must be >= 1 and reg_max 1 >= 2");
    refused(g, L, (int32_t[]){p9, t, an9, st9}, 4, ia, gains, 3,
            "det_loss: 9 anchors, fewer than the assigner's topk 10");
    refused(g, L, (int32_t[]){ph, t, an, st}, 4, ia, gains, 3, "det_loss: pred must be f32");
    refused(g, L, (int32_t[]){p, t, an, st}, 4, ia, (double[]){7.5, NAN, 1.5}, 3,
            "det_loss: gain 1 is nan");
    refused(g, L, (int32_t[]){p, t, an}, 3, ia, gains, 3, "det_loss: expects 4 inputs, got 3");
    refused(g, L, (int32_t[]){p, t, an, st}, 4, ia, gains, 2, "det_loss: expects 3 float");
    refused(g, G, (int32_t[]){p, t, an, st, dl4}, 5, ia, gains, 3,
            "det_loss_grad: dloss [4] must be [3]");
    refused(g, G, (int32_t[]){p18, t, an, st, dl}, 5, ia, gains, 3,
            "det_loss_grad: pred [2,18,20] has 18 channels");

    /* the text form keeps the three gains */
    sn_ir_mark_output(g, l);
    sn_ir_mark_output(g, d);
    char *t1s = NULL, *t2s = NULL;
    size_t n1 = 0, n2 = 0;
    FILE *f = open_memstream(&t1s, &n1);
    sn_ir_print(g, f);
    fclose(f);
    CHECK_HAS(t1s, "det_loss(%2, %3, %0, %1) {nc=3, reg_max=4, box=7.5, cls=0.5, dfl=1.5}");
    sn_ir_graph *g2 = sn_ir_parse(t1s, "det_loss", err, sizeof err);
    CHECKF(g2 != NULL, "%s", err);
    if (g2) {
        f = open_memstream(&t2s, &n2);
        sn_ir_print(g2, f);
        fclose(f);
        CHECKF(strcmp(t1s, t2s) == 0, "printed\n%s\nreprinted\n%s", t1s, t2s);
        CHECK(g2->nodes[l].fa[0] == 7.5 && g2->nodes[l].fa[1] == 0.5 && g2->nodes[l].fa[2] == 1.5);
        sn_ir_graph_free(g2);
    }
    free(t1s);
    free(t2s);
    sn_ir_graph_free(g);
}

int main(void) {
    test_finite_differences(2, 4, 1);
    test_finite_differences(3, 16, 2);
    test_finite_differences(2, 16, 3);
    test_no_boxes();
    test_one_box();
    test_widening();
    test_gains();
    test_shapes();
    return check_report("test_det_loss");
}
