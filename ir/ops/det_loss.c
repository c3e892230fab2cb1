/* ir/ops/det_loss.c — DET_LOSS and DET_LOSS_GRAD: Ultralytics 8.4's v8DetectionLoss (YOLOv8 /
 * YOLO11 detection training) as one op, and its gradient as another. Both compute in double
 * and round once, at the end. The definition, read off ultralytics/utils/{loss,tal,metrics}.py
 * of 8.4 (checked against 8.4.190 by tests/parity/det_loss_oracle.py):
 *
 * Inputs. pred [B, no, A], no = 4*reg_max + nc: the head's channels concatenated over the levels
 * as Detect.forward_head gives them ("boxes" then "scores"): channel k*reg_max + i is bin i of
 * side k (k = 0..3: left, top, right, bottom), channel 4*reg_max + c the logit of class c.
 * targets [B, cap, 5]: per image up to cap rows (cls, x1, y1, x2, y2) in input pixels. anchors
 * [1, 2, A] (grid units, x+0.5 and y+0.5) and strides [1, 1, A]: the ANCHORS op's what=0 and
 * what=1. ia: nc, reg_max (>= 2: the DFL branch; Ultralytics' reg_max 1 L1 branch is not
 * defined here). fa: the gains hyp.box, hyp.cls, hyp.dfl (7.5, 0.5, 1.5).
 *
 * Which rows are boxes. Ultralytics pads each image's rows with zeros (class 0, box 0,0,0,0)
 * and keeps a row where mask_gt = x1+y1+x2+y2 > 0. Here a row with cls < 0 is padding too,
 * and a row counts only when cls >= 0 and x1+y1+x2+y2 > 0 (summed in double): a real box whose
 * coordinates sum to <= 0 (the empty box at the origin, or one wholly at negative coordinates)
 * is dropped, exactly as Ultralytics drops it. Padding may sit anywhere among the rows. A row
 * that is not padding with cls >= nc (or NaN) is an index error in Ultralytics; a ref rule
 * cannot fail on data, so every output is NaN then. The class is trunc(cls) (torch .long()).
 *
 * The task-aligned assigner (TaskAlignedAssigner, topk 10, alpha 0.5, beta 6, eps 1e-9), per
 * image, on the predictions without their gradient:
 *  1. pd_box[a] = (ax - d0, ay - d1, ax + d2, ay + d3) * stride[a] in pixels, d_k = Σ_i i *
 *     softmax_i(side k's bins); pd_score[a][c] = sigmoid(class logit). Anchors in pixels:
 *     (ax, ay) * stride[a].
 *  2. Candidates: a row's box (x1,y1,x2,y2) as centre and size, each side under stride_val
 *     widened to stride_val about the centre, back to corners; an anchor is a candidate when
 *     it lies strictly inside by more than 1e-9 on all four sides. stride_val is Ultralytics'
 *     `stride[1] if len(stride) > 1 else stride[0]`: the stride of the second level, read
 *     from the strides input as the second run of equal values (the first, for one level).
 *  3. For candidates: overlap = max(CIoU(gt, pd_box), 0) and align = sqrt(pd_score[label]) *
 *     overlap^6 (torch computes pow(0.5) as sqrt); 0 elsewhere.
 *  4. Each row's 10 largest align values over all A anchors (torch.topk): a candidate among
 *     them is positive. Ties (align is 0 at every non-candidate and wherever CIoU <= 0) are
 *     broken as torch.topk on the CPU breaks them: libstdc++'s std::partial_sort of (value,
 *     index) pairs with the comparator "greater, NaN first" when 10*64 <= A, else
 *     std::nth_element; both are reproduced below step by step (topk_select), so the selected
 *     set is torch's exactly for equal values. A needs >= 10 anchors (torch.topk refuses fewer).
 *  5. An anchor positive for several rows keeps only the row with the largest overlap over
 *     ALL rows (torch.max: the first of equal maxima) — which may be a row it was not positive
 *     for, or a row that is not a box when all overlaps are 0 (Ultralytics' behaviour; such an
 *     anchor ends up foreground with target score 0, so it adds nothing but is kept as such).
 *  6. Target score of a foreground anchor assigned row g: align[g][a] * max_pos_overlap[g] /
 *     (max_pos_align[g] + 1e-9), the maxima over g's final positive anchors; one-hot at g's
 *     class (max(trunc(cls), 0)). target_scores_sum S = max(Σ scores, 1) over the whole batch.
 *
 * The loss, with S: cls = Σ over all (b, a, c) BCE-with-logits(logit, target score) / S;
 * box = Σ_fg (1 - CIoU(pred box, target box)) * score / S (boxes in grid units: pred box from
 * the expectation, target pixels / stride); dfl = Σ_fg score * mean_k DFL_k / S with DFL_k =
 * -(wl log p_k[tl] + wr log p_k[tl+1]), t = clamp(target distance, 0, reg_max - 1 - 0.01),
 * tl = trunc(t), wl = tl + 1 - t, wr = 1 - wl. CIoU is bbox_iou(xywh=False, CIoU=True,
 * eps=1e-7): heights get +eps, v = 4/pi^2 (atan(w2/h2) - atan(w1/h1))^2, its alpha taken
 * without gradient. Output [3] = (box * box_gain, cls * cls_gain, dfl * dfl_gain) * B: the
 * first value v8DetectionLoss.loss returns, whose sum is what training backpropagates.
 *
 * DET_LOSS_GRAD: inputs det_loss's, then dloss [3]; result dpred [B, no, A] = the gradient of
 * Σ dloss[i] * det_loss[i] with the assigner's outputs (foreground, rows, scores, S) held
 * constant, as autograd gives it in Ultralytics: torch's conventions at the kinks (min/max
 * ties split the gradient in halves; clamp(0) passes it only above 0).
 *
 * Not modelled: AMP (Ultralytics then rounds the target scores to the logits' f16 for BCE),
 * class_weights (None unless a trainer sets them), topk2 (E2E heads only), reg_max 1.
 * Exactness: torch's double pow and sigmoid differ from libm's by an ulp at times, so two
 * align values within an ulp of each other could order differently; equal values cannot. */
#include "ir/ir_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DL_TOPK 10
#define DL_BETA 6.0
#define DL_EPS 1e-9     /* the assigner's eps (candidates, score normalisation) */
#define DL_IOU_EPS 1e-7 /* bbox_iou's eps */

static const double dl_pi = 3.14159265358979323846;

/* ---------------------------------------------------------------- shape rules */

static int det_check(const sn_ir_node *n, const sn_ir_node *const *x, const char *opn, char *err,
                     size_t errlen) {
    const sn_shape *ps = &x[0]->shape, *ts = &x[1]->shape, *as = &x[2]->shape, *ss = &x[3]->shape;
    static const char *names[5] = {"pred", "targets", "anchors", "strides", "dloss"};
    char b1[128], b2[128];
    for (int i = 0; i < n->nin; i++)
        if (x[i]->dtype != SN_DTYPE_F32) {
            sn_errf(err, errlen, "%s: %s must be f32, got %s", opn, names[i],
                    sn_dtype_name(x[i]->dtype));
            return 0;
        }
    int64_t nc = n->ia[0], R = n->ia[1];
    if (nc < 1 || R < 2) {
        sn_errf(err, errlen, "%s: nc %lld must be >= 1 and reg_max %lld >= 2", opn, (long long)nc,
                (long long)R);
        return 0;
    }
    if (ps->ndim != 3 || ts->ndim != 3) {
        sn_errf(err, errlen, "%s: pred %s must be [B,no,A] and targets %s [B,cap,5]", opn,
                SN_SHAPE_STR(ps, b1), SN_SHAPE_STR(ts, b2));
        return 0;
    }
    if (ps->d[1] != 4 * R + nc) {
        sn_errf(err, errlen, "%s: pred %s has %lld channels, but 4*reg_max + nc = 4*%lld + %lld",
                opn, SN_SHAPE_STR(ps, b1), (long long)ps->d[1], (long long)R, (long long)nc);
        return 0;
    }
    if (ts->d[0] != ps->d[0] || ts->d[2] != 5) {
        sn_errf(err, errlen, "%s: targets %s must be [B,cap,5] with pred's B (pred %s)", opn,
                SN_SHAPE_STR(ts, b1), SN_SHAPE_STR(ps, b2));
        return 0;
    }
    int64_t A = ps->d[2];
    sn_shape want_a = {3, {1, 2, A}}, want_s = {3, {1, 1, A}};
    if (!sn_shape_eq(as, &want_a) || !sn_shape_eq(ss, &want_s)) {
        sn_errf(err, errlen, "%s: anchors %s and strides %s must be [1,2,%lld] and [1,1,%lld]", opn,
                SN_SHAPE_STR(as, b1), SN_SHAPE_STR(ss, b2), (long long)A, (long long)A);
        return 0;
    }
    if (A < DL_TOPK) {
        sn_errf(err, errlen, "%s: %lld anchors, fewer than the assigner's topk %d", opn,
                (long long)A, DL_TOPK);
        return 0;
    }
    for (int i = 0; i < 3; i++)
        if (!isfinite(n->fa[i])) {
            sn_errf(err, errlen, "%s: gain %d is %g (must be finite)", opn, i, n->fa[i]);
            return 0;
        }
    return 1;
}

sn_status sn_ir_shape_det_loss(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                               sn_dtype *dtype, char *err, size_t errlen) {
    if (!det_check(n, x, "det_loss", err, errlen))
        return SN_ERR_INVALID;
    shape->ndim = 1;
    shape->d[0] = 3;
    *dtype = SN_DTYPE_F32;
    return SN_OK;
}

sn_status sn_ir_shape_det_loss_grad(const sn_ir_node *n, const sn_ir_node *const *x,
                                    sn_shape *shape, sn_dtype *dtype, char *err, size_t errlen) {
    if (!det_check(n, x, "det_loss_grad", err, errlen))
        return SN_ERR_INVALID;
    sn_shape three = {1, {3}};
    char b1[128];
    if (!sn_shape_eq(&x[4]->shape, &three)) {
        sn_errf(err, errlen, "det_loss_grad: dloss %s must be [3] (det_loss's result)",
                SN_SHAPE_STR(&x[4]->shape, b1));
        return SN_ERR_INVALID;
    }
    *shape = x[0]->shape;
    *dtype = SN_DTYPE_F32;
    return SN_OK;
}

/* ---------------------------------------------------------------- torch.topk's selection */

/* libstdc++'s selection algorithms as torch.topk (aten/src/ATen/native/TopKImpl.h) calls them
 * on (value, index) pairs, largest first with NaN largest; written after libstdc++'s
 * stl_heap.h / stl_algo.h so that among equal values the same indices are chosen. */
typedef struct dl_pair {
    double v;
    int64_t i;
} dl_pair;

static int dl_before(const dl_pair *x, const dl_pair *y) {
    return (isnan(x->v) && !isnan(y->v)) || x->v > y->v;
}

static void dl_swap(dl_pair *a, dl_pair *b) {
    dl_pair t = *a;
    *a = *b;
    *b = t;
}

static void dl_adjust_heap(dl_pair *f, int64_t hole, int64_t len, dl_pair value) {
    const int64_t top = hole;
    int64_t second = hole;
    while (second < (len - 1) / 2) {
        second = 2 * (second + 1);
        if (dl_before(&f[second], &f[second - 1]))
            second--;
        f[hole] = f[second];
        hole = second;
    }
    if ((len & 1) == 0 && second == (len - 2) / 2) {
        second = 2 * (second + 1);
        f[hole] = f[second - 1];
        hole = second - 1;
    }
    int64_t parent = (hole - 1) / 2; /* __push_heap */
    while (hole > top && dl_before(&f[parent], &value)) {
        f[hole] = f[parent];
        hole = parent;
        parent = (hole - 1) / 2;
    }
    f[hole] = value;
}

static void dl_heap_select(dl_pair *f, int64_t middle, int64_t last) {
    if (middle >= 2) /* __make_heap */
        for (int64_t parent = (middle - 2) / 2;; parent--) {
            dl_adjust_heap(f, parent, middle, f[parent]);
            if (parent == 0)
                break;
        }
    for (int64_t i = middle; i < last; i++)
        if (dl_before(&f[i], &f[0])) { /* __pop_heap(first, middle, i) */
            dl_pair v = f[i];
            f[i] = f[0];
            dl_adjust_heap(f, 0, middle, v);
        }
}

static void dl_insertion_sort(dl_pair *f, int64_t first, int64_t last) {
    if (first == last)
        return;
    for (int64_t i = first + 1; i < last; i++) {
        dl_pair v = f[i];
        if (dl_before(&v, &f[first])) {
            memmove(&f[first + 1], &f[first], (size_t)(i - first) * sizeof *f);
            f[first] = v;
        } else { /* __unguarded_linear_insert */
            int64_t j = i;
            while (dl_before(&v, &f[j - 1])) {
                f[j] = f[j - 1];
                j--;
            }
            f[j] = v;
        }
    }
}

static void dl_median_to_first(dl_pair *f, int64_t r, int64_t a, int64_t b, int64_t c) {
    int64_t s;
    if (dl_before(&f[a], &f[b]))
        s = dl_before(&f[b], &f[c]) ? b : dl_before(&f[a], &f[c]) ? c : a;
    else
        s = dl_before(&f[a], &f[c]) ? a : dl_before(&f[b], &f[c]) ? c : b;
    dl_swap(&f[r], &f[s]);
}

static int64_t dl_partition(dl_pair *f, int64_t first, int64_t last, int64_t pivot) {
    for (;;) {
        while (dl_before(&f[first], &f[pivot]))
            first++;
        last--;
        while (dl_before(&f[pivot], &f[last]))
            last--;
        if (!(first < last))
            return first;
        dl_swap(&f[first], &f[last]);
        first++;
    }
}

/* std::nth_element(first, nth, last): libstdc++'s __introselect. */
static void dl_introselect(dl_pair *f, int64_t first, int64_t nth, int64_t last) {
    int depth = 0;
    for (int64_t n = last - first; n > 1; n >>= 1)
        depth++;
    depth *= 2; /* std::__lg(last - first) * 2 */
    while (last - first > 3) {
        if (depth == 0) {
            dl_heap_select(f + first, nth + 1 - first, last - first);
            dl_swap(&f[first], &f[nth]);
            return;
        }
        depth--;
        int64_t mid = first + (last - first) / 2;
        dl_median_to_first(f, first, first + 1, mid, last - 1);
        int64_t cut = dl_partition(f, first + 1, last, first);
        if (cut <= nth)
            first = cut;
        else
            last = cut;
    }
    dl_insertion_sort(f, first, last);
}

/* The set torch.topk(v, k) selects (in q[0..k), any order); q has n >= k slots. */
static void topk_select(const double *v, int64_t n, int64_t k, dl_pair *q) {
    for (int64_t j = 0; j < n; j++)
        q[j] = (dl_pair){v[j], j};
    if (k * 64 <= n)
        dl_heap_select(q, k, n); /* std::partial_sort; its final sort_heap only orders */
    else
        dl_introselect(q, 0, k - 1, n);
}

/* ---------------------------------------------------------------- boxes */

/* Ultralytics' bbox_iou(b1, b2, xywh=False, CIoU=True) for xyxy boxes; with g, also its
 * gradient with respect to b1 (alpha held constant, as Ultralytics computes it under
 * torch.no_grad; torch's derivatives at ties and at the clamp). With alpha: its value is
 * *alpha when fixed, else computed and stored there. */
static double ciou(const double *b1, const double *b2, double *alpha_io, int fixed, double *g) {
    const double eps = DL_IOU_EPS;
    double w1 = b1[2] - b1[0], h1 = b1[3] - b1[1] + eps;
    double w2 = b2[2] - b2[0], h2 = b2[3] - b2[1] + eps;
    double ix = fmin(b1[2], b2[2]) - fmax(b1[0], b2[0]);
    double iy = fmin(b1[3], b2[3]) - fmax(b1[1], b2[1]);
    double cix = ix > 0 ? ix : 0.0, ciy = iy > 0 ? iy : 0.0;
    double inter = cix * ciy;
    double uni = w1 * h1 + w2 * h2 - inter + eps;
    double iou = inter / uni;
    double cw = fmax(b1[2], b2[2]) - fmin(b1[0], b2[0]);
    double ch = fmax(b1[3], b2[3]) - fmin(b1[1], b2[1]);
    double c2 = cw * cw + ch * ch + eps;
    double ex = b2[0] + b2[2] - b1[0] - b1[2], ey = b2[1] + b2[3] - b1[1] - b1[3];
    double rho2 = (ex * ex + ey * ey) / 4;
    double r1 = w1 / h1, da = atan(w2 / h2) - atan(r1);
    double kv = 4 / (dl_pi * dl_pi), v = kv * (da * da);
    double alpha = fixed ? *alpha_io : v / (1 - iou + v + eps);
    if (alpha_io && !fixed)
        *alpha_io = alpha;
    if (g) {
        /* d(min(p, q))/dp = 1, 1/2 at a tie, 0; max likewise; clamp(0): 1 above 0 only */
#define DL_LESS(p, q) ((p) < (q) ? 1.0 : (p) == (q) ? 0.5 : 0.0)
        double d_ix[4] = {-DL_LESS(b2[0], b1[0]), 0, DL_LESS(b1[2], b2[2]), 0};
        double d_iy[4] = {0, -DL_LESS(b2[1], b1[1]), 0, DL_LESS(b1[3], b2[3])};
        double d_cw[4] = {-DL_LESS(b1[0], b2[0]), 0, DL_LESS(b2[2], b1[2]), 0};
        double d_ch[4] = {0, -DL_LESS(b1[1], b2[1]), 0, DL_LESS(b2[3], b1[3])};
#undef DL_LESS
        double d_w1[4] = {-1, 0, 1, 0}, d_h1[4] = {0, -1, 0, 1};
        double dv_dr = kv * 2 * da * (-1 / (1 + r1 * r1));
        for (int k = 0; k < 4; k++) {
            double dinter = (ix > 0 ? d_ix[k] * ciy : 0.0) + (iy > 0 ? d_iy[k] * cix : 0.0);
            double duni = d_w1[k] * h1 + w1 * d_h1[k] - dinter;
            double diou = dinter / uni - iou * duni / uni;
            double dc2 = 2 * cw * d_cw[k] + 2 * ch * d_ch[k];
            double drho2 = -(k % 2 == 0 ? ex : ey) / 2;
            double dq = drho2 / c2 - rho2 * dc2 / (c2 * c2);
            double dr = d_w1[k] / h1 - w1 * d_h1[k] / (h1 * h1);
            g[k] = diou - dq - alpha * dv_dr * dr;
        }
    }
    return iou - (rho2 / c2 + v * alpha);
}

/* Side k's bin distribution at anchor a of image b (pred in double): softmax into p[0..R),
 * returns its expectation Σ i p_i (bbox_decode's softmax(3).matmul(proj)). */
static double dfl_side(const sn_ir_det_dims *d, const double *pred, int64_t b, int64_t a, int k,
                       double *p) {
    int64_t R = d->reg_max, no = 4 * R + d->nc;
    const double *x = pred + (b * no + k * R) * d->A + a;
    double m = x[0];
    for (int64_t i = 1; i < R; i++)
        m = x[i * d->A] > m ? x[i * d->A] : m;
    double s = 0;
    for (int64_t i = 0; i < R; i++)
        s += p[i] = exp(x[i * d->A] - m);
    double e = 0;
    for (int64_t i = 0; i < R; i++) {
        p[i] /= s;
        e += p[i] * (double)i;
    }
    return e;
}

/* The predicted box of anchor a in grid units (dist2bbox, xyxy); p gets the 4 sides' bins. */
static void pred_box(const sn_ir_det_dims *d, const double *pred, const float *anchors, int64_t b,
                     int64_t a, double *box, double *dist, double *p) {
    for (int k = 0; k < 4; k++)
        dist[k] = dfl_side(d, pred, b, a, k, p + k * d->reg_max);
    double ax = anchors[a], ay = anchors[d->A + a];
    box[0] = ax - dist[0];
    box[1] = ay - dist[1];
    box[2] = ax + dist[2];
    box[3] = ay + dist[3];
}

/* ---------------------------------------------------------------- the assigner */

void sn_ir_det_assign_free(sn_ir_det_assign *as) {
    free(as->gt);
    free(as->cls);
    free(as->score);
    free(as->box);
    memset(as, 0, sizeof *as);
}

/* A row's state: 0 padding or not a box (mask_gt false), 1 a box; *bad set for a class that
 * is not padding and not below nc. */
static int row_valid(const float *row, int64_t nc, int *bad, int64_t *label) {
    double cls = row[0];
    if (cls < 0) {
        *label = 0;
        return 0;
    }
    if (!(cls < (double)nc)) {
        *bad = 1;
        *label = 0;
        return 0;
    }
    *label = (int64_t)cls;
    return (double)row[1] + row[2] + row[3] + row[4] > 0;
}

sn_status sn_ir_det_assign_run(const sn_ir_det_dims *d, const double *pred, const float *targets,
                               const float *anchors, const float *strides, sn_ir_det_assign *as) {
    int64_t B = d->B, A = d->A, cap = d->cap, R = d->reg_max, nc = d->nc, no = 4 * R + nc;
    memset(as, 0, sizeof *as);
    as->gt = malloc((size_t)(B * A) * sizeof *as->gt);
    as->cls = malloc((size_t)(B * A) * sizeof *as->cls);
    as->score = malloc((size_t)(B * A) * sizeof *as->score);
    as->box = malloc((size_t)(B * A * 4) * sizeof *as->box);
    double *pdb = malloc((size_t)(A * 4) * sizeof *pdb); /* predicted boxes, pixels */
    double *ovl = malloc((size_t)(cap * A) * sizeof *ovl);
    double *aln = malloc((size_t)(cap * A) * sizeof *aln);
    unsigned char *cand = malloc((size_t)(cap * A)), *pos = malloc((size_t)(cap * A));
    double *pa = malloc((size_t)cap * sizeof *pa), *po = malloc((size_t)cap * sizeof *po);
    int64_t *label = malloc((size_t)cap * sizeof *label);
    unsigned char *valid = malloc((size_t)cap);
    dl_pair *q = malloc((size_t)A * sizeof *q);
    double *p = malloc((size_t)(4 * R) * sizeof *p);
    sn_status st = SN_OK;
    if (!as->gt || !as->cls || !as->score || !as->box || !pdb || !ovl || !aln || !cand || !pos ||
        !pa || !po || !label || !valid || !q || !p) {
        sn_ir_det_assign_free(as);
        st = SN_ERR_NOMEM;
        goto done;
    }
    /* stride_val: the second level's stride (levels are runs of equal strides), else the first */
    double sv = strides[0];
    for (int64_t a = 1; a < A; a++)
        if (strides[a] != strides[0]) {
            sv = strides[a];
            break;
        }
    double ssum = 0;
    for (int64_t b = 0; b < B; b++) {
        const float *tg = targets + b * cap * 5;
        for (int64_t a = 0; a < A; a++) {
            double box[4], dist[4];
            pred_box(d, pred, anchors, b, a, box, dist, p);
            for (int k = 0; k < 4; k++)
                pdb[a * 4 + k] = box[k] * strides[a];
        }
        memset(cand, 0, (size_t)(cap * A));
        memset(pos, 0, (size_t)(cap * A));
        for (int64_t g = 0; g < cap * A; g++)
            ovl[g] = aln[g] = 0.0;
        for (int64_t g = 0; g < cap; g++) {
            const float *row = tg + g * 5;
            valid[g] = (unsigned char)row_valid(row, nc, &as->bad_label, &label[g]);
            if (!valid[g])
                continue;
            double gb[4] = {row[1], row[2], row[3], row[4]};
            /* select_candidates_in_gts: xyxy -> xywh, small sides widened, -> xyxy */
            double cx = (gb[0] + gb[2]) / 2, cy = (gb[1] + gb[3]) / 2;
            double w = gb[2] - gb[0], h = gb[3] - gb[1];
            w = w < sv ? sv : w;
            h = h < sv ? sv : h;
            double lx = cx - w / 2, ly = cy - h / 2, rx = cx + w / 2, ry = cy + h / 2;
            const double *logit = pred + (b * no + 4 * R + label[g]) * A;
            for (int64_t a = 0; a < A; a++) {
                double px = (double)anchors[a] * strides[a];
                double py = (double)anchors[A + a] * strides[a];
                if (!(px - lx > DL_EPS && py - ly > DL_EPS && rx - px > DL_EPS && ry - py > DL_EPS))
                    continue;
                cand[g * A + a] = 1;
                double ov = ciou(gb, pdb + a * 4, NULL, 0, NULL);
                ov = ov < 0 ? 0.0 : ov;
                double score = 1 / (1 + exp(-logit[a]));
                ovl[g * A + a] = ov;
                aln[g * A + a] = sqrt(score) * pow(ov, DL_BETA);
            }
            /* select_topk_candidates: the 10 largest, where candidates */
            topk_select(aln + g * A, A, DL_TOPK, q);
            for (int j = 0; j < DL_TOPK; j++)
                pos[g * A + q[j].i] = cand[g * A + q[j].i];
        }
        /* select_highest_overlaps: an anchor of several rows keeps the first largest overlap */
        for (int64_t a = 0; a < A; a++) {
            int n = 0;
            for (int64_t g = 0; g < cap; g++)
                n += pos[g * A + a];
            if (n <= 1)
                continue;
            int64_t best = 0;
            for (int64_t g = 1; g < cap; g++)
                if (ovl[g * A + a] > ovl[best * A + a])
                    best = g;
            for (int64_t g = 0; g < cap; g++)
                pos[g * A + a] = g == best;
        }
        /* the normalisation: maxima over each row's final positives */
        for (int64_t g = 0; g < cap; g++) {
            pa[g] = po[g] = 0.0;
            for (int64_t a = 0; a < A; a++)
                if (pos[g * A + a]) {
                    pa[g] = aln[g * A + a] > pa[g] ? aln[g * A + a] : pa[g];
                    po[g] = ovl[g * A + a] > po[g] ? ovl[g * A + a] : po[g];
                }
        }
        for (int64_t a = 0; a < A; a++) {
            int64_t e = b * A + a, g = 0;
            while (g < cap && !pos[g * A + a])
                g++;
            if (g == cap) {
                as->gt[e] = -1;
                as->cls[e] = 0;
                as->score[e] = 0.0;
                continue;
            }
            const float *row = tg + g * 5;
            as->gt[e] = (int32_t)g;
            as->cls[e] = (int32_t)label[g];
            as->score[e] = aln[g * A + a] * po[g] / (pa[g] + DL_EPS);
            for (int k = 0; k < 4; k++)
                as->box[e * 4 + k] = row[1 + k] / (double)strides[a];
            ssum += as->score[e];
        }
    }
    as->score_sum = ssum > 1 ? ssum : 1.0;
done:
    free(pdb);
    free(ovl);
    free(aln);
    free(cand);
    free(pos);
    free(pa);
    free(po);
    free(label);
    free(valid);
    free(q);
    free(p);
    return st;
}

/* ---------------------------------------------------------------- the loss and its gradient */

sn_status sn_ir_det_loss_eval(const sn_ir_det_dims *d, const double *pred, const float *anchors,
                              const sn_ir_det_assign *as, double *alpha, int alpha_fixed,
                              const double *dloss, double loss[3], double *dpred) {
    int64_t B = d->B, A = d->A, R = d->reg_max, nc = d->nc, no = 4 * R + nc;
    double S = as->score_sum, sbox = 0, scls = 0, sdfl = 0;
    double cb = 0, cc = 0, cd = 0;
    if (dpred) {
        cb = dloss[0] * d->gain[0] * (double)B / S;
        cc = dloss[1] * d->gain[1] * (double)B / S;
        cd = dloss[2] * d->gain[2] * (double)B / S;
    }
    double *pp = malloc((size_t)(4 * R) * sizeof *pp);
    if (!pp)
        return SN_ERR_NOMEM;
    double tmax = (double)(R - 1) - 0.01;
    for (int64_t b = 0; b < B; b++) {
        /* classification: every class, every anchor (rows of pred are contiguous along A) */
        for (int64_t c = 0; c < nc; c++) {
            const double *xr = pred + (b * no + 4 * R + c) * A;
            double *dr = dpred ? dpred + (b * no + 4 * R + c) * A : NULL;
            for (int64_t a = 0; a < A; a++) {
                int64_t e = b * A + a;
                double x = xr[a];
                double t = as->gt[e] >= 0 && c == as->cls[e] ? as->score[e] : 0.0;
                scls += (x > 0 ? x : 0.0) - x * t + log1p(exp(-fabs(x)));
                if (dr)
                    dr[a] = cc * (1 / (1 + exp(-x)) - t);
            }
        }
        if (dpred)
            for (int64_t i = 0; i < 4 * R * A; i++)
                dpred[b * no * A + i] = 0.0;
        for (int64_t a = 0; a < A; a++) {
            int64_t e = b * A + a;
            if (as->gt[e] < 0)
                continue;
            double w = as->score[e], box[4], dist[4], gb[4];
            const double *tb = as->box + e * 4;
            pred_box(d, pred, anchors, b, a, box, dist, pp);
            double iou =
                ciou(box, tb, alpha ? alpha + e : NULL, alpha && alpha_fixed, dpred ? gb : NULL);
            sbox += (1.0 - iou) * w;
            double ax = anchors[a], ay = anchors[A + a];
            double tdist[4] = {ax - tb[0], ay - tb[1], tb[2] - ax, tb[3] - ay};
            double dfl = 0;
            for (int k = 0; k < 4; k++) {
                double t = tdist[k] > tmax ? tmax : tdist[k] > 0 ? tdist[k] : 0.0;
                int64_t tl = (int64_t)t, tr = tl + 1;
                double wl = (double)tr - t, wr = 1 - wl;
                const double *x = pred + (b * no + k * R) * A + a, *pk = pp + k * R;
                double m = x[0];
                for (int64_t i = 1; i < R; i++)
                    m = x[i * A] > m ? x[i * A] : m;
                double s = 0;
                for (int64_t i = 0; i < R; i++)
                    s += exp(x[i * A] - m);
                double lse = m + log(s);
                dfl += -((x[tl * A] - lse) * wl + (x[tr * A] - lse) * wr);
                if (!dpred)
                    continue;
                /* box: through pred_box's side k (x1 = ax - d0, y1 = ay - d1, x2 = ax + d2, …) */
                double dd = -cb * w * (k < 2 ? -gb[k] : gb[k]);
                for (int64_t i = 0; i < R; i++) {
                    double gi = dd * pk[i] * ((double)i - dist[k]);
                    gi += cd * w / 4 *
                          ((wl + wr) * pk[i] - (i == tl ? wl : 0.0) - (i == tr ? wr : 0.0));
                    dpred[(b * no + k * R + i) * A + a] = gi;
                }
            }
            sdfl += dfl / 4 * w;
        }
    }
    free(pp);
    double l[3] = {sbox / S, scls / S, sdfl / S};
    for (int i = 0; i < 3; i++)
        loss[i] = as->bad_label ? NAN : l[i] * d->gain[i] * (double)B;
    if (dpred && as->bad_label)
        for (int64_t i = 0; i < B * no * A; i++)
            dpred[i] = NAN;
    return SN_OK;
}

/* ---------------------------------------------------------------- ref rules */

sn_status sn_ir_det_loss_compute(int grad, const int64_t *ia, const double *fa, const sn_shape *ps,
                                 const float *pred_f, int64_t cap, const float *targets,
                                 const float *anchors, const float *strides, const float *dloss,
                                 float *y) {
    sn_ir_det_dims d = {ps->d[0], ps->d[2], cap, ia[0], ia[1], {fa[0], fa[1], fa[2]}};
    int64_t np = sn_shape_numel(ps);
    double *pred = malloc((size_t)np * sizeof *pred);
    double *dpred = grad ? malloc((size_t)np * sizeof *dpred) : NULL;
    if (!pred || (grad && !dpred)) {
        free(pred);
        free(dpred);
        return SN_ERR_NOMEM;
    }
    for (int64_t i = 0; i < np; i++)
        pred[i] = pred_f[i];
    sn_ir_det_assign as;
    sn_status st = sn_ir_det_assign_run(&d, pred, targets, anchors, strides, &as);
    if (st == SN_OK) {
        double loss[3], dl[3] = {0, 0, 0};
        if (grad)
            for (int i = 0; i < 3; i++)
                dl[i] = dloss[i];
        st = sn_ir_det_loss_eval(&d, pred, anchors, &as, NULL, 0, dl, loss, dpred);
        for (int64_t i = 0; st == SN_OK && i < (grad ? np : 3); i++)
            y[i] = (float)(grad ? dpred[i] : loss[i]);
        sn_ir_det_assign_free(&as);
    }
    free(pred);
    free(dpred);
    return st;
}

static sn_status det_ref(const sn_ir_ref_args *r, int grad) {
    return sn_ir_det_loss_compute(grad, r->n->ia, r->n->fa, r->xs[0], r->x[0], r->xs[1]->d[1],
                                  r->x[1], r->x[2], r->x[3], grad ? r->x[4] : NULL, r->y);
}

sn_status sn_ir_ref_det_loss(const sn_ir_ref_args *r) { return det_ref(r, 0); }

sn_status sn_ir_ref_det_loss_grad(const sn_ir_ref_args *r) { return det_ref(r, 1); }

/* ---------------------------------------------------------------- derivative
 * The gradient of dy · det_loss with respect to pred: DET_LOSS_GRAD (the assignment held
 * constant, as Ultralytics computes it on detached predictions); targets and anchors get none. */
sn_status sn_ir_vjp_det_loss(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                             size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    const sn_ir_node n = g->nodes[node];
    int32_t in[5] = {n.in[0], n.in[1], n.in[2], n.in[3], dy};
    dx[0] = sn_gb_op(&b, SN_OP_DET_LOSS_GRAD, in, 5, n.ia, 2, n.fa, 3);
    dx[1] = dx[2] = dx[3] = -1;
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}
