/* tests/detect/nms_tool.c — runs engine/nms.c on a .npy prediction for the parity script:
 *   nms_tool PRED.npy OUT.npy conf iou max_det agnostic multi_label in_h in_w img_h img_w [cls…]
 * PRED is (B, 4 + nc, A); OUT is (B, max_det, 6): x1 y1 x2 y2 conf cls per kept detection
 * (scaled back to img_h x img_w when img_h > 0), rows past the kept ones all -1. */
#include "engine/engine.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc < 12) {
        fprintf(stderr, "usage: nms_tool PRED.npy OUT.npy conf iou max_det agnostic multi_label "
                        "in_h in_w img_h img_w [classes…]\n");
        return 2;
    }
    sn_shape s;
    float *p = NULL;
    char err[512];
    if (sn_io_npy_read(argv[1], &s, &p, err, sizeof err) != SN_OK || s.ndim != 3) {
        fprintf(stderr, "nms_tool: %s\n", err);
        return 1;
    }
    sn_nms_options o;
    sn_nms_options_default(&o);
    o.conf = strtof(argv[3], NULL);
    o.iou = strtof(argv[4], NULL);
    o.max_det = atoi(argv[5]);
    o.agnostic = atoi(argv[6]);
    o.multi_label = atoi(argv[7]);
    int in_h = atoi(argv[8]), in_w = atoi(argv[9]), img_h = atoi(argv[10]), img_w = atoi(argv[11]);
    int cls[64], ncls = 0;
    for (int i = 12; i < argc && ncls < 64; i++)
        cls[ncls++] = atoi(argv[i]);
    if (ncls) {
        o.classes = cls;
        o.nclasses = ncls;
    }
    int64_t B = s.d[0], A = s.d[2];
    int nc = (int)s.d[1] - 4;
    sn_shape os = {3, {B, o.max_det, 6}};
    float *y = malloc((size_t)(B * o.max_det * 6) * sizeof *y);
    sn_det *d = malloc((size_t)o.max_det * sizeof *d);
    for (int64_t b = 0; b < B; b++) {
        int n = 0;
        if (sn_nms(p + b * (4 + nc) * A, A, nc, &o, d, &n) != SN_OK)
            return 1;
        if (img_h > 0)
            sn_scale_boxes(d, n, in_h, in_w, img_h, img_w);
        for (int i = 0; i < o.max_det; i++) {
            float *r = y + (b * o.max_det + i) * 6;
            for (int k = 0; k < 6; k++)
                r[k] = -1.f;
            if (i < n) {
                for (int k = 0; k < 4; k++)
                    r[k] = d[i].box[k];
                r[4] = d[i].conf;
                r[5] = (float)d[i].cls;
            }
        }
    }
    if (sn_io_npy_write(argv[2], &os, y, SN_DTYPE_F32, err, sizeof err) != SN_OK) {
        fprintf(stderr, "nms_tool: %s\n", err);
        return 1;
    }
    free(p), free(y), free(d);
    return 0;
}
