/* tests/val/val_metrics_tool.c — engine/val.c's metrics on detections and labels from a text
 * file, for the parity script and the exact-predictions test:
 *   val_metrics_tool CASES.txt [cm_conf]
 * CASES.txt: a line "nc N", then per image a line "image", its labels "l cls x1 y1 x2 y2" and
 * its detections "d x1 y1 x2 y2 conf cls" (in NMS order). Prints one JSON document: the means,
 * per class P, R, AP50, AP50-95, images and instances, the AP per threshold, the confusion
 * matrix. */
#include "engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAXN = 100000 };
static sn_det dets[MAXN];
static int lcls[MAXN];
static float lbox[4 * MAXN];

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: val_metrics_tool CASES.txt [cm_conf]\n");
        return 2;
    }
    float cm_conf = argc > 2 ? strtof(argv[2], NULL) : 0.001f;
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    char line[512];
    int nc = 0, nd = 0, nl = 0, open_img = 0;
    sn_val_stats *s = NULL;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "nc ", 3)) {
            nc = atoi(line + 3);
            if (sn_val_stats_new(nc, &s) != SN_OK)
                return 1;
        } else if (!strncmp(line, "image", 5) || line[0] == 0) {
            if (open_img && sn_val_stats_add(s, dets, nd, lcls, lbox, nl, cm_conf) != SN_OK) {
                fprintf(stderr, "val_metrics_tool: a class out of range\n");
                return 1;
            }
            open_img = 1;
            nd = nl = 0;
        } else if (line[0] == 'l' && nl < MAXN) {
            float *b = lbox + 4 * nl;
            if (sscanf(line + 1, "%d %f %f %f %f", &lcls[nl], &b[0], &b[1], &b[2], &b[3]) != 5)
                return 1;
            nl++;
        } else if (line[0] == 'd' && nd < MAXN) {
            sn_det *d = &dets[nd];
            if (sscanf(line + 1, "%f %f %f %f %f %d", &d->box[0], &d->box[1], &d->box[2],
                       &d->box[3], &d->conf, &d->cls) != 6)
                return 1;
            nd++;
        }
    }
    fclose(f);
    if (!s)
        return 1;
    if (open_img && sn_val_stats_add(s, dets, nd, lcls, lbox, nl, cm_conf) != SN_OK)
        return 1;
    sn_val_metrics m;
    if (sn_val_metrics_compute(s, &m) != SN_OK)
        return 1;
    printf("{\"images\": %d, \"instances\": %lld, \"mp\": %.17g, \"mr\": %.17g, \"map50\": %.17g, "
           "\"map75\": %.17g, \"map\": %.17g, \"fitness\": %.17g, \"best\": %d,\n \"classes\": [",
           m.images, (long long)m.instances, m.mp, m.mr, m.map50, m.map75, m.map, m.fitness,
           m.best);
    for (int c = 0; c < m.nclass; c++) {
        const sn_val_class *k = &m.cls[c];
        printf("%s\n  {\"cls\": %d, \"images\": %lld, \"instances\": %lld, \"p\": %.17g, \"r\": "
               "%.17g, \"ap50\": %.17g, \"ap\": %.17g, \"all_ap\": [",
               c ? "," : "", k->cls, (long long)k->images, (long long)k->instances, k->p, k->r,
               k->ap50, k->ap);
        for (int t = 0; t < SN_VAL_NIOU; t++)
            printf("%s%.17g", t ? ", " : "", m.ap[(size_t)c * SN_VAL_NIOU + t]);
        printf("]}");
    }
    printf("],\n \"confusion\": [");
    for (int i = 0; i <= nc; i++) {
        printf("%s[", i ? ", " : "");
        for (int j = 0; j <= nc; j++)
            printf("%s%.0f", j ? ", " : "", m.cm[(size_t)i * (nc + 1) + j]);
        printf("]");
    }
    printf("]}\n");
    sn_val_metrics_free(&m);
    sn_val_stats_free(s);
    return 0;
}
