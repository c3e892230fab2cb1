/* engine/val.c — Ultralytics 8.4's detection metrics, exact (engine/engine.h: sn_val_*):
 *
 *  - per image (models/yolo/detect/val.py: DetectionValidator._process_batch and
 *    engine/validator.py: match_predictions, the greedy scipy-free path): IoU of every label
 *    with every detection as utils/metrics.py: box_iou in float32 (eps 1e-7), zeroed where the
 *    classes differ; detections in NMS order (descending score) each claim, per IoU threshold
 *    0.50:0.05:0.95 (torch.linspace in float32), the unclaimed label of highest IoU (the first
 *    of equal ones) and are correct where that IoU >= the threshold;
 *  - the confusion matrix (ConfusionMatrix.process_batch, IoU > 0.45, detections above conf,
 *    greedy one-to-one in descending score, class-agnostic);
 *  - over the dataset (utils/metrics.py: ap_per_class, compute_ap, smooth, Metric): detections
 *    sorted by score, per class with labels the cumulative TP/FP, recall and precision curves
 *    sampled at 1000 confidences with np.interp (reproduced with numpy's own search and slope
 *    rules), AP per IoU threshold as the trapezoid of the precision envelope interpolated at
 *    101 recall points, and P, R, F1 per class at the confidence where the mean F1 over
 *    classes, smoothed by a 101-wide box filter, is highest.
 * The one difference: numpy's argsort of the scores is a quicksort whose order among equal
 * scores is its own; here equal scores keep their order of arrival (image order, then NMS
 * order). Only equal scores in one class with different outcomes can tell them apart. */
#include "engine/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* torch.linspace(0.5, 0.95, 10) in float32 */
static const float iouv[SN_VAL_NIOU] = {0.5f,  0.55f, 0.6f,  0.65f, 0.7f,
                                        0.75f, 0.8f,  0.85f, 0.9f,  0.95f};

struct sn_val_stats {
    int nc;
    int64_t np, cap_p;
    uint16_t *tp; /* bit t: correct at iouv[t] */
    float *conf;
    int *pcls;
    int64_t nt, cap_t;
    int *tcls;
    int64_t *nt_image; /* images holding class c */
    int images;
    double *cm; /* (nc + 1)², [predicted][true], the last row/column background */
};

sn_status sn_val_stats_new(int nc, sn_val_stats **out) {
    *out = NULL;
    if (nc < 1)
        return SN_ERR_INVALID;
    sn_val_stats *s = calloc(1, sizeof *s);
    if (!s)
        return SN_ERR_NOMEM;
    s->nc = nc;
    s->nt_image = calloc((size_t)nc, sizeof *s->nt_image);
    s->cm = calloc((size_t)(nc + 1) * (size_t)(nc + 1), sizeof *s->cm);
    if (!s->nt_image || !s->cm) {
        sn_val_stats_free(s);
        return SN_ERR_NOMEM;
    }
    *out = s;
    return SN_OK;
}

void sn_val_stats_free(sn_val_stats *s) {
    if (!s)
        return;
    free(s->tp), free(s->conf), free(s->pcls), free(s->tcls), free(s->nt_image), free(s->cm);
    free(s);
}

int sn_val_stats_images(const sn_val_stats *s) { return s->images; }

/* box_iou(box1, box2) for one pair, float32 in torch's order */
static float box_iou1(const float *a, const float *b) {
    float w = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
    float h = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    w = w < 0.f ? 0.f : w;
    h = h < 0.f ? 0.f : h;
    float inter = w * h;
    float a1 = (a[2] - a[0]) * (a[3] - a[1]), a2 = (b[2] - b[0]) * (b[3] - b[1]);
    return inter / (a1 + a2 - inter + 1e-7f);
}

static int grow(void **p, int64_t n, size_t elem) {
    void *q = realloc(*p, (size_t)n * elem);
    if (!q)
        return 0;
    *p = q;
    return 1;
}

/* ConfusionMatrix.process_batch (detect): conf filter, greedy one-to-one at IoU > 0.45 */
static sn_status confusion_add(sn_val_stats *s, const sn_det *d, int nd, const int *lcls,
                               const float *lbox, int nl, float conf) {
    int nc = s->nc;
    double *m = s->cm;
    if (nl == 0) {
        for (int j = 0; j < nd; j++)
            if (d[j].conf > conf)
                m[(size_t)d[j].cls * (nc + 1) + nc] += 1;
        return SN_OK;
    }
    if (nd == 0) {
        for (int i = 0; i < nl; i++)
            m[(size_t)nc * (nc + 1) + lcls[i]] += 1;
        return SN_OK;
    }
    int *keep = malloc((size_t)nd * sizeof *keep),
        *gt_match = malloc((size_t)nl * sizeof *gt_match);
    float *iou = malloc((size_t)nl * (size_t)nd * sizeof *iou);
    unsigned char *used = calloc((size_t)nd, 1);
    if (!keep || !gt_match || !iou || !used) {
        free(keep), free(gt_match), free(iou), free(used);
        return SN_ERR_NOMEM;
    }
    int nk = 0;
    for (int j = 0; j < nd; j++)
        if (d[j].conf > conf)
            keep[nk++] = j;
    for (int i = 0; i < nl; i++) {
        gt_match[i] = -1;
        for (int j = 0; j < nk; j++)
            iou[(size_t)i * nk + j] = box_iou1(lbox + 4 * i, d[keep[j]].box);
    }
    const float thr = 0.45f;
    /* candidates (some IoU > 0.45) in descending score, stable: NMS order is already by
     * descending score, so a stable sort keeps it */
    for (int j = 0; j < nk; j++) {
        int any = 0;
        for (int i = 0; i < nl; i++)
            any |= iou[(size_t)i * nk + j] > thr;
        used[j] = (unsigned char)any;
    }
    int *order = keep; /* reuse: indices 0..nk into keep, sorted by score, stable */
    int *cand = malloc((size_t)(nk ? nk : 1) * sizeof *cand);
    if (!cand) {
        free(keep), free(gt_match), free(iou), free(used);
        return SN_ERR_NOMEM;
    }
    int ncand = 0;
    for (int j = 0; j < nk; j++)
        if (used[j])
            cand[ncand++] = j;
    for (int a = 1; a < ncand; a++) { /* insertion sort: stable, by descending score */
        int v = cand[a], b = a;
        while (b > 0 && d[order[cand[b - 1]]].conf < d[order[v]].conf) {
            cand[b] = cand[b - 1];
            b--;
        }
        cand[b] = v;
    }
    for (int c = 0; c < ncand; c++) {
        int j = cand[c], gi = 0;
        for (int i = 1; i < nl; i++)
            if (iou[(size_t)i * nk + j] > iou[(size_t)gi * nk + j])
                gi = i;
        if (iou[(size_t)gi * nk + j] > thr) {
            gt_match[gi] = j;
            for (int k = 0; k < nk; k++)
                iou[(size_t)gi * nk + k] = 0.f;
        }
    }
    memset(used, 0, (size_t)nd);
    for (int i = 0; i < nl; i++) {
        if (gt_match[i] >= 0) {
            m[(size_t)d[order[gt_match[i]]].cls * (nc + 1) + lcls[i]] += 1;
            used[gt_match[i]] = 1;
        } else {
            m[(size_t)nc * (nc + 1) + lcls[i]] += 1;
        }
    }
    for (int j = 0; j < nk; j++)
        if (!used[j])
            m[(size_t)d[order[j]].cls * (nc + 1) + nc] += 1;
    free(cand), free(keep), free(gt_match), free(iou), free(used);
    return SN_OK;
}

sn_status sn_val_stats_add(sn_val_stats *s, const sn_det *d, int nd, const int *lcls,
                           const float *lbox, int nl, float cm_conf) {
    for (int j = 0; j < nd; j++)
        if (d[j].cls < 0 || d[j].cls >= s->nc)
            return SN_ERR_INVALID;
    for (int i = 0; i < nl; i++)
        if (lcls[i] < 0 || lcls[i] >= s->nc)
            return SN_ERR_INVALID;
    if (s->np + nd > s->cap_p) {
        int64_t cap = s->cap_p ? s->cap_p : 1024;
        while (cap < s->np + nd)
            cap *= 2;
        if (!grow((void **)&s->tp, cap, sizeof *s->tp) ||
            !grow((void **)&s->conf, cap, sizeof *s->conf) ||
            !grow((void **)&s->pcls, cap, sizeof *s->pcls))
            return SN_ERR_NOMEM;
        s->cap_p = cap;
    }
    if (s->nt + nl > s->cap_t) {
        int64_t cap = s->cap_t ? s->cap_t : 1024;
        while (cap < s->nt + nl)
            cap *= 2;
        if (!grow((void **)&s->tcls, cap, sizeof *s->tcls))
            return SN_ERR_NOMEM;
        s->cap_t = cap;
    }
    uint16_t *tp = s->tp + s->np;
    for (int j = 0; j < nd; j++) {
        tp[j] = 0;
        s->conf[s->np + j] = d[j].conf;
        s->pcls[s->np + j] = d[j].cls;
    }
    if (nl && nd) { /* match_predictions */
        float *iou = malloc((size_t)nl * (size_t)nd * sizeof *iou);
        uint16_t *matched = calloc((size_t)nl, sizeof *matched);
        if (!iou || !matched) {
            free(iou), free(matched);
            return SN_ERR_NOMEM;
        }
        for (int i = 0; i < nl; i++)
            for (int j = 0; j < nd; j++)
                iou[(size_t)i * nd + j] =
                    lcls[i] == d[j].cls ? box_iou1(lbox + 4 * i, d[j].box) : 0.f;
        for (int j = 0; j < nd; j++) {
            int any = 0;
            for (int i = 0; i < nl; i++)
                any |= iou[(size_t)i * nd + j] >= iouv[0];
            if (!any)
                continue;
            for (int t = 0; t < SN_VAL_NIOU; t++) {
                int k = 0;
                float best = (matched[0] >> t & 1) ? 0.f : iou[j];
                for (int i = 1; i < nl; i++) {
                    float a = (matched[i] >> t & 1) ? 0.f : iou[(size_t)i * nd + j];
                    if (a > best) {
                        best = a;
                        k = i;
                    }
                }
                if (best >= iouv[t]) {
                    tp[j] |= (uint16_t)(1u << t);
                    matched[k] |= (uint16_t)(1u << t);
                }
            }
        }
        free(iou), free(matched);
    }
    sn_status st = confusion_add(s, d, nd, lcls, lbox, nl, cm_conf);
    if (st != SN_OK)
        return st;
    s->np += nd;
    for (int i = 0; i < nl; i++) {
        s->tcls[s->nt + i] = lcls[i];
        int seen = 0;
        for (int k = 0; k < i; k++)
            seen |= lcls[k] == lcls[i];
        if (!seen)
            s->nt_image[lcls[i]]++;
    }
    s->nt += nl;
    s->images++;
    return SN_OK;
}

/* ---------------------------------------------------------------- ap_per_class */

/* numpy's interp (numpy/_core/src/multiarray/compiled_base.c: arr_interp) at one x: j is the
 * last index with xp[j] <= x (binary_search_with_guess finds that one for any guess) */
static double np_interp(double x, const double *xp, const double *fp, int64_t n, double left,
                        double right) {
    if (n == 1)
        return x < xp[0] ? left : x > xp[0] ? right : fp[0];
    if (isnan(x))
        return x;
    if (x > xp[n - 1])
        return right;
    if (x < xp[0])
        return left;
    int64_t lo = 0, hi = n; /* first index with xp > x */
    while (lo < hi) {
        int64_t mid = lo + ((hi - lo) >> 1);
        if (x >= xp[mid])
            lo = mid + 1;
        else
            hi = mid;
    }
    int64_t j = lo - 1;
    if (j == n - 1 || xp[j] == x)
        return fp[j];
    double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    double r = slope * (x - xp[j]) + fp[j];
    if (isnan(r)) {
        r = slope * (x - xp[j + 1]) + fp[j + 1];
        if (isnan(r) && fp[j] == fp[j + 1])
            r = fp[j];
    }
    return r;
}

static double ap_x(int i) { return i == 100 ? 1.0 : (double)i * (1.0 / 100); }

/* compute_ap: AP and, for the PR plot, the envelope sampled at px (may be NULL) */
static double compute_ap(const double *recall, const double *precision, int64_t n, double *mrec,
                         double *mpre, const double *px, double *prec_out, int npx) {
    mrec[0] = 0.0;
    mpre[0] = 1.0;
    for (int64_t i = 0; i < n; i++) {
        mrec[i + 1] = recall[i];
        mpre[i + 1] = precision[i];
    }
    mrec[n + 1] = n ? recall[n - 1] : 1.0;
    mpre[n + 1] = 0.0;
    mrec[n + 2] = 1.0;
    mpre[n + 2] = 0.0;
    for (int64_t i = n + 1; i >= 0; i--) /* the envelope: maximum from the right */
        if (mpre[i + 1] > mpre[i])
            mpre[i] = mpre[i + 1];
    double ap = 0, prev = 0;
    for (int i = 0; i <= 100; i++) { /* np.trapezoid(np.interp(x, mrec, mpre), x) */
        double y = np_interp(ap_x(i), mrec, mpre, n + 3, mpre[0], mpre[n + 2]);
        if (i)
            ap += (ap_x(i) - ap_x(i - 1)) * (y + prev) / 2.0;
        prev = y;
    }
    if (prec_out)
        for (int i = 0; i < npx; i++)
            prec_out[i] = np_interp(px[i], mrec, mpre, n + 3, mpre[0], mpre[n + 2]);
    return ap;
}

static const float *sort_conf;
static int by_conf(const void *a, const void *b) {
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    if (sort_conf[i] != sort_conf[j])
        return sort_conf[i] < sort_conf[j] ? 1 : -1;
    return (i > j) - (i < j);
}

void sn_val_metrics_free(sn_val_metrics *m) {
    if (!m)
        return;
    free(m->cls), free(m->ap), free(m->p_curve), free(m->r_curve), free(m->f1_curve);
    free(m->prec), free(m->cm);
    memset(m, 0, sizeof *m);
}

sn_status sn_val_metrics_compute(const sn_val_stats *s, sn_val_metrics *m) {
    memset(m, 0, sizeof *m);
    const int NPX = SN_VAL_NPX;
    int nc = s->nc;
    m->nc = nc;
    m->images = s->images;
    m->instances = s->nt;
    for (int i = 0; i < NPX; i++)
        m->px[i] = i == NPX - 1 ? 1.0 : (double)i * (1.0 / (NPX - 1));
    m->cm = malloc((size_t)(nc + 1) * (size_t)(nc + 1) * sizeof *m->cm);
    int64_t *nt = calloc((size_t)nc, sizeof *nt),
            *order = malloc((size_t)(s->np + 1) * sizeof *order);
    if (!m->cm || !nt || !order) {
        free(nt), free(order);
        sn_val_metrics_free(m);
        return SN_ERR_NOMEM;
    }
    memcpy(m->cm, s->cm, (size_t)(nc + 1) * (size_t)(nc + 1) * sizeof *m->cm);
    for (int64_t i = 0; i < s->nt; i++)
        nt[s->tcls[i]]++;
    int nu = 0; /* np.unique(target_cls): the classes with labels, ascending */
    for (int c = 0; c < nc; c++)
        nu += nt[c] > 0;
    m->nclass = nu;
    size_t cur = (size_t)(nu ? nu : 1) * NPX;
    m->cls = calloc((size_t)(nu ? nu : 1), sizeof *m->cls);
    m->ap = calloc((size_t)(nu ? nu : 1) * SN_VAL_NIOU, sizeof *m->ap);
    m->p_curve = calloc(cur, sizeof(double));
    m->r_curve = calloc(cur, sizeof(double));
    m->f1_curve = calloc(cur, sizeof(double));
    m->prec = calloc(cur, sizeof(double));
    /* per class work arrays: at most np predictions */
    int64_t cap = s->np + 3;
    double *rec = malloc((size_t)cap * SN_VAL_NIOU * sizeof *rec),
           *pre = malloc((size_t)cap * SN_VAL_NIOU * sizeof *pre),
           *xp = malloc((size_t)cap * sizeof *xp), *mrec = malloc((size_t)cap * sizeof *mrec),
           *mpre = malloc((size_t)cap * sizeof *mpre);
    if (!m->cls || !m->ap || !m->p_curve || !m->r_curve || !m->f1_curve || !m->prec || !rec ||
        !pre || !xp || !mrec || !mpre) {
        free(nt), free(order), free(rec), free(pre), free(xp), free(mrec), free(mpre);
        sn_val_metrics_free(m);
        return SN_ERR_NOMEM;
    }
    for (int64_t i = 0; i < s->np; i++)
        order[i] = i;
    sort_conf = s->conf;
    qsort(order, (size_t)s->np, sizeof *order, by_conf);
    const double eps = 1e-16;
    int ci = 0;
    for (int c = 0; c < nc; c++) {
        if (!nt[c])
            continue;
        sn_val_class *k = &m->cls[ci];
        k->cls = c;
        k->instances = nt[c];
        k->images = s->nt_image[c];
        int64_t n = 0, tpc[SN_VAL_NIOU] = {0}, fpc[SN_VAL_NIOU] = {0};
        for (int64_t q = 0; q < s->np; q++) {
            int64_t i = order[q];
            if (s->pcls[i] != c)
                continue;
            for (int t = 0; t < SN_VAL_NIOU; t++) {
                int hit = s->tp[i] >> t & 1;
                tpc[t] += hit;
                fpc[t] += !hit;
                rec[t * cap + n] = (double)tpc[t] / ((double)nt[c] + eps);
                pre[t * cap + n] = (double)tpc[t] / (double)(tpc[t] + fpc[t]);
            }
            xp[n] = -(double)s->conf[i];
            n++;
        }
        if (n == 0) {
            ci++;
            continue;
        }
        double *pc = m->p_curve + (size_t)ci * NPX, *rc = m->r_curve + (size_t)ci * NPX;
        for (int i = 0; i < NPX; i++) {
            rc[i] = np_interp(-m->px[i], xp, rec, n, 0.0, rec[n - 1]);
            pc[i] = np_interp(-m->px[i], xp, pre, n, 1.0, pre[n - 1]);
        }
        for (int t = 0; t < SN_VAL_NIOU; t++)
            m->ap[(size_t)ci * SN_VAL_NIOU + t] =
                compute_ap(rec + t * cap, pre + t * cap, n, mrec, mpre, m->px,
                           t == 0 ? m->prec + (size_t)ci * NPX : NULL, NPX);
        ci++;
    }
    /* F1 per class; the mean over classes smoothed (box filter of 101: round(1000 · 0.1 · 2)
     * // 2 + 1, ends padded with the end values); its argmax picks P, R, F1 */
    double mean[SN_VAL_NPX] = {0}, sm[SN_VAL_NPX];
    for (int c = 0; c < nu; c++)
        for (int i = 0; i < NPX; i++) {
            double p = m->p_curve[(size_t)c * NPX + i], r = m->r_curve[(size_t)c * NPX + i];
            double f = 2 * p * r / (p + r + eps);
            m->f1_curve[(size_t)c * NPX + i] = f;
            mean[i] += f;
        }
    int best = 0;
    if (nu) {
        for (int i = 0; i < NPX; i++)
            mean[i] /= nu;
        const int nf = 101, h = nf / 2;
        for (int i = 0; i < NPX; i++) {
            double acc = 0;
            for (int t = -h; t <= h; t++) {
                int k = i + t;
                acc += mean[k < 0 ? 0 : k >= NPX ? NPX - 1 : k] * (1.0 / nf);
            }
            sm[i] = acc;
        }
        for (int i = 1; i < NPX; i++)
            if (sm[i] > sm[best])
                best = i;
    }
    m->best = best;
    double sp = 0, sr = 0, s50 = 0, s75 = 0, sall = 0;
    for (int c = 0; c < nu; c++) {
        sn_val_class *k = &m->cls[c];
        k->p = m->p_curve[(size_t)c * NPX + best];
        k->r = m->r_curve[(size_t)c * NPX + best];
        k->f1 = m->f1_curve[(size_t)c * NPX + best];
        double a = 0;
        for (int t = 0; t < SN_VAL_NIOU; t++)
            a += m->ap[(size_t)c * SN_VAL_NIOU + t];
        k->ap50 = m->ap[(size_t)c * SN_VAL_NIOU];
        k->ap75 = m->ap[(size_t)c * SN_VAL_NIOU + 5];
        k->ap = a / SN_VAL_NIOU;
        sp += k->p, sr += k->r, s50 += k->ap50, s75 += k->ap75, sall += a;
    }
    if (nu) {
        m->mp = sp / nu;
        m->mr = sr / nu;
        m->map50 = s50 / nu;
        m->map75 = s75 / nu;
        m->map = sall / (nu * SN_VAL_NIOU);
    }
    m->fitness = m->map; /* Metric.fitness: weights [0, 0, 0, 1] */
    free(nt), free(order), free(rec), free(pre), free(xp), free(mrec), free(mpre);
    return SN_OK;
}
