/* engine/nms.c — Ultralytics 8.4's non_max_suppression and scale_boxes for one image, exact:
 * the same candidates, the same float32 arithmetic, the same order and ties as
 * ultralytics/utils/nms.py with torchvision's CPU nms, and utils/ops.py's scale_boxes and
 * clip_boxes (engine/engine.h: sn_nms, sn_scale_boxes).
 *
 * Steps (nms.py: non_max_suppression, the non-end-to-end branch):
 *  1. candidates: anchors whose largest class score > conf (amax over classes);
 *  2. boxes xywh → xyxy: wh / 2 then xy ∓ it (float32, utils/ops.py: xywh2xyxy);
 *  3. best class (torch.max: the first of equal maxima) with score > conf — or, multi_label,
 *     every (anchor, class) with score > conf, anchor-major then class;
 *  4. an optional class filter; more than max_nms rows: the max_nms highest scores (torch's
 *     argsort is not stable: we keep the lower index first among equal scores);
 *  5. class offset: boxes + cls · max_wh (7680; 0 when agnostic), float32;
 *  6. torchvision.ops.nms on CPU: rows stably sorted by score, descending; a row suppresses
 *     every later one whose IoU with it exceeds iou, IoU = inter / (area_i + area_j − inter)
 *     in float32 with areas (x2 − x1)(y2 − y1);
 *  7. the first max_det kept, with their boxes without the offset. */
#include "engine/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sn_nms_options_default(sn_nms_options *o) {
    memset(o, 0, sizeof *o);
    o->conf = 0.25f;
    o->iou = 0.7f;
    o->max_det = 300;
    o->max_nms = 30000;
    o->max_wh = 7680;
}

typedef struct cand {
    float box[4], off[4], conf, area;
    int cls;
    int64_t anchor;
} cand;

/* score descending; equal scores keep their order (stable) */
static int by_score(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->conf != y->conf)
        return x->conf < y->conf ? 1 : -1;
    return (x->anchor > y->anchor) - (x->anchor < y->anchor);
}

static int wanted(const sn_nms_options *o, int c) {
    if (!o->classes)
        return 1;
    for (int i = 0; i < o->nclasses; i++)
        if (o->classes[i] == c)
            return 1;
    return 0;
}

sn_status sn_nms(const float *pred, int64_t A, int nc, const sn_nms_options *o, sn_det *out,
                 int *nout) {
    *nout = 0;
    int multi = o->multi_label && nc > 1;
    int64_t cap = 0, n = 0;
    cand *c = NULL;
    for (int64_t a = 0; a < A; a++) {
        float best = pred[4 * A + a];
        int bc = 0, nan = isnan(best);
        for (int k = 1; k < nc; k++) {
            float s = pred[(4 + k) * A + a];
            nan |= isnan(s);
            if (s > best) {
                best = s;
                bc = k;
            }
        }
        if (nan) /* amax is NaN: not a candidate */
            continue;
        if (!(best > o->conf))
            continue;
        float cx = pred[a], cy = pred[A + a], hw = pred[2 * A + a] / 2.f,
              hh = pred[3 * A + a] / 2.f;
        float box[4] = {cx - hw, cy - hh, cx + hw, cy + hh};
        for (int k = multi ? 0 : bc; k < (multi ? nc : bc + 1); k++) {
            float s = pred[(4 + k) * A + a];
            if (!(s > o->conf) || !wanted(o, k))
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                cand *nc_ = realloc(c, (size_t)cap * sizeof *c);
                if (!nc_) {
                    free(c);
                    return SN_ERR_NOMEM;
                }
                c = nc_;
            }
            cand *q = &c[n++];
            memcpy(q->box, box, sizeof box);
            q->conf = s;
            q->cls = k;
            q->anchor = a * (multi ? nc : 1) + (multi ? k : 0);
        }
    }
    if (n == 0) {
        free(c);
        return SN_OK;
    }
    qsort(c, (size_t)n, sizeof *c, by_score);
    if (o->max_nms > 0 && n > o->max_nms)
        n = o->max_nms;
    for (int64_t i = 0; i < n; i++) {
        float off = o->agnostic ? 0.f : (float)c[i].cls * (float)o->max_wh;
        for (int k = 0; k < 4; k++)
            c[i].off[k] = c[i].box[k] + off;
        c[i].area = (c[i].off[2] - c[i].off[0]) * (c[i].off[3] - c[i].off[1]);
    }
    unsigned char *gone = calloc((size_t)n, 1);
    if (!gone) {
        free(c);
        return SN_ERR_NOMEM;
    }
    int kept = 0;
    for (int64_t i = 0; i < n && kept < o->max_det; i++) {
        if (gone[i])
            continue;
        const cand *p = &c[i];
        out[kept++] = (sn_det){{p->box[0], p->box[1], p->box[2], p->box[3]}, p->conf, p->cls};
        for (int64_t j = i + 1; j < n; j++) {
            if (gone[j])
                continue;
            const cand *q = &c[j];
            float xx1 = fmaxf(p->off[0], q->off[0]), yy1 = fmaxf(p->off[1], q->off[1]);
            float xx2 = fminf(p->off[2], q->off[2]), yy2 = fminf(p->off[3], q->off[3]);
            float w = fmaxf(0.f, xx2 - xx1), h = fmaxf(0.f, yy2 - yy1);
            float inter = w * h;
            float ovr = inter / (p->area + q->area - inter);
            if ((double)ovr > (double)o->iou)
                gone[j] = 1;
        }
    }
    free(gone);
    free(c);
    *nout = kept;
    return SN_OK;
}

/* utils/ops.py: scale_boxes (ratio_pad None, padding) then clip_boxes, in float32 */
void sn_scale_boxes(sn_det *d, int n, int in_h, int in_w, int img_h, int img_w) {
    double gain = fmin((double)in_h / img_h, (double)in_w / img_w);
    double nh = fmax(nearbyint(img_h * gain), 1.0), nw = fmax(nearbyint(img_w * gain), 1.0);
    float gy = (float)(nh / img_h), gx = (float)(nw / img_w);
    float px = (float)nearbyint((in_w - nw) / 2 - 0.1),
          py = (float)nearbyint((in_h - nh) / 2 - 0.1);
    for (int i = 0; i < n; i++) {
        float *b = d[i].box;
        b[0] = (b[0] - px) / gx;
        b[1] = (b[1] - py) / gy;
        b[2] = (b[2] - px) / gx;
        b[3] = (b[3] - py) / gy;
        b[0] = fminf(fmaxf(b[0], 0.f), (float)img_w);
        b[1] = fminf(fmaxf(b[1], 0.f), (float)img_h);
        b[2] = fminf(fmaxf(b[2], 0.f), (float)img_w);
        b[3] = fminf(fmaxf(b[3], 0.f), (float)img_h);
    }
}
