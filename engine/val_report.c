/* engine/val_report.c — what `sinter val` shows and writes: Ultralytics' table
 * (DetectionValidator.print_results: "%22s" + "%11i" * 2 + "%11.3g" * 4, an `all` row, then a
 * row per class with labels when there is more than one class), the metrics as one JSON
 * document, predictions.json, and the plots (BoxPR_curve.png, BoxF1_curve.png, BoxP_curve.png,
 * BoxR_curve.png, confusion_matrix.png, confusion_matrix_normalized.png). */
#include "engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *name_of(const sn_val_names *nm, int c, char *buf, size_t n) {
    if (nm && c < nm->n && nm->v[c] && nm->v[c][0])
        return nm->v[c];
    snprintf(buf, n, "%d", c);
    return buf;
}

void sn_val_print_table(const sn_val_result *r, const sn_val_names *nm, FILE *f) {
    const sn_val_metrics *m = &r->m;
    fprintf(f, "%22s%11s%11s%11s%11s%11s%11s\n", "Class", "Images", "Instances", "Box(P", "R",
            "mAP50", "mAP50-95)");
    fprintf(f, "%22s%11d%11lld%11.3g%11.3g%11.3g%11.3g\n", "all", r->images,
            (long long)m->instances, m->mp, m->mr, m->map50, m->map);
    if (m->instances == 0)
        fprintf(f, "WARNING no labels found in the set, cannot compute metrics without labels\n");
    if (r->model_nc > 1)
        for (int i = 0; i < m->nclass; i++) {
            const sn_val_class *k = &m->cls[i];
            char b[16], sh[256];
            sn_escape(name_of(nm, k->cls, b, sizeof b), sh, sizeof sh);
            fprintf(f, "%22s%11lld%11lld%11.3g%11.3g%11.3g%11.3g\n", sh, (long long)k->images,
                    (long long)k->instances, k->p, k->r, k->ap50, k->ap);
        }
}

void sn_val_write_json(const sn_val_result *r, const sn_val_names *nm, FILE *f) {
    const sn_val_metrics *m = &r->m;
    double n = r->images ? r->images : 1;
    fprintf(f,
            "{\"mAP50\": %.6f, \"mAP50-95\": %.6f, \"precision\": %.6f, \"recall\": %.6f, "
            "\"fitness\": %.6f, \"mAP75\": %.6f,\n \"images\": %d, \"instances\": %lld, "
            "\"broken_images\": %d, \"backgrounds\": %d, \"orphan_labels\": %d,\n \"speed_ms\": "
            "{\"preprocess\": %.3f, \"inference\": %.3f, \"postprocess\": %.3f},\n \"classes\": [",
            m->map50, m->map, m->mp, m->mr, m->fitness, m->map75, r->images,
            (long long)m->instances, r->broken, r->backgrounds, r->orphans, r->t_pre * 1e3 / n,
            r->t_inf * 1e3 / n, r->t_post * 1e3 / n);
    for (int i = 0; i < m->nclass; i++) {
        const sn_val_class *k = &m->cls[i];
        char b[16], e[512];
        sn_json_escape(name_of(nm, k->cls, b, sizeof b), e, sizeof e);
        fprintf(f,
                "%s\n  {\"class\": %d, \"name\": \"%s\", \"images\": %lld, \"instances\": %lld, "
                "\"precision\": %.6f, \"recall\": %.6f, \"mAP50\": %.6f, \"mAP50-95\": %.6f}",
                i ? "," : "", k->cls, e, (long long)k->images, (long long)k->instances, k->p, k->r,
                k->ap50, k->ap);
    }
    fprintf(f, "%s]}\n", m->nclass ? "\n " : "");
}

static sn_status curve(const char *dir, const char *file, const char *title, const char *xl,
                       const char *yl, const sn_val_metrics *m, const double *y,
                       const char *const *labels, double *mean, char *err, size_t errlen) {
    char path[4200], ml[96];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    for (int i = 0; i < SN_VAL_NPX; i++) {
        mean[i] = 0;
        for (int c = 0; c < m->nclass; c++)
            mean[i] += y[(size_t)c * SN_VAL_NPX + i];
        mean[i] /= m->nclass;
    }
    if (y == m->prec) {
        snprintf(ml, sizeof ml, "all classes %.3f mAP@0.5", m->map50);
    } else { /* smoothed, as plot_mc_curve labels it */
        double sm[SN_VAL_NPX];
        int best = 0;
        for (int i = 0; i < SN_VAL_NPX; i++) {
            double acc = 0;
            for (int t = -50; t <= 50; t++) {
                int k = i + t < 0 ? 0 : i + t >= SN_VAL_NPX ? SN_VAL_NPX - 1 : i + t;
                acc += mean[k] / 101;
            }
            sm[i] = acc;
            if (sm[i] > sm[best])
                best = i;
        }
        memcpy(mean, sm, sizeof sm);
        snprintf(ml, sizeof ml, "all classes %.2f at %.3f", sm[best], m->px[best]);
    }
    sn_io_curves p = {.title = title,
                      .xlabel = xl,
                      .ylabel = yl,
                      .n = m->nclass,
                      .npts = SN_VAL_NPX,
                      .x = m->px,
                      .y = y,
                      .labels = labels,
                      .mean = mean,
                      .mean_label = ml};
    return sn_io_plot_curves(path, &p, err, errlen);
}

sn_status sn_val_plot(const sn_val_result *r, const sn_val_names *nm, const char *dir, char *err,
                      size_t errlen) {
    const sn_val_metrics *m = &r->m;
    int nc = m->nc;
    sn_status st = SN_OK;
    char **lab = calloc((size_t)(nc + 1) + (size_t)m->nclass, sizeof *lab);
    char *store = malloc((size_t)(nc + 1 + m->nclass) * 96);
    double *mean = malloc(SN_VAL_NPX * sizeof *mean);
    if (!lab || !store || !mean) {
        free(lab), free(store), free(mean);
        return sn_fail(err, errlen, SN_ERR_NOMEM, "out of memory");
    }
    for (int c = 0; c <= nc; c++) { /* the matrix: every class, then background */
        char b[16];
        lab[c] = store + (size_t)c * 96;
        snprintf(lab[c], 96, "%s", c < nc ? name_of(nm, c, b, sizeof b) : "background");
    }
    char **cl = lab + nc + 1; /* the curves: classes with labels, "name 0.912" for PR */
    for (int i = 0; i < m->nclass; i++) {
        char b[16];
        cl[i] = store + (size_t)(nc + 1 + i) * 96;
        snprintf(cl[i], 96, "%s %.3f", name_of(nm, m->cls[i].cls, b, sizeof b), m->cls[i].ap50);
    }
    if (m->nclass) {
        st = curve(dir, "BoxPR_curve.png", "Precision-Recall Curve", "Recall", "Precision", m,
                   m->prec, (const char *const *)cl, mean, err, errlen);
        for (int i = 0; i < m->nclass; i++) { /* the metric curves: names alone */
            char b[16];
            snprintf(cl[i], 96, "%s", name_of(nm, m->cls[i].cls, b, sizeof b));
        }
        if (st == SN_OK)
            st = curve(dir, "BoxF1_curve.png", "F1-Confidence Curve", "Confidence", "F1", m,
                       m->f1_curve, (const char *const *)cl, mean, err, errlen);
        if (st == SN_OK)
            st = curve(dir, "BoxP_curve.png", "Precision-Confidence Curve", "Confidence",
                       "Precision", m, m->p_curve, (const char *const *)cl, mean, err, errlen);
        if (st == SN_OK)
            st = curve(dir, "BoxR_curve.png", "Recall-Confidence Curve", "Confidence", "Recall", m,
                       m->r_curve, (const char *const *)cl, mean, err, errlen);
    }
    for (int norm = 1; norm >= 0 && st == SN_OK; norm--) {
        char path[4200];
        snprintf(path, sizeof path, "%s/confusion_matrix%s.png", dir, norm ? "_normalized" : "");
        st = sn_io_plot_matrix(path, norm ? "Confusion Matrix Normalized" : "Confusion Matrix",
                               m->cm, nc + 1, (const char *const *)lab, norm, err, errlen);
    }
    free(lab), free(store), free(mean);
    return st;
}
