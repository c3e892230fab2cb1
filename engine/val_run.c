/* engine/val_run.c — `sinter val`: Ultralytics 8.4's DetectionValidator over a dataset
 * (engine/engine.h: sn_val_run).
 *
 *  1. the dataset (data/utils.py: check_det_dataset, data/base.py: get_img_files, data/utils.py:
 *     verify_image_label): data.yaml, the split's images, each image's label file; a broken
 *     image is counted and left out, a bad label file is an error naming file:line;
 *  2. rectangular batches (data/base.py: set_rectangle, rect=True, stride 32, pad 0.5): images
 *     sorted by aspect ratio h/w, batch i's shape ceil(s · imgsz / 32 + 0.5) · 32 with s from
 *     the batch's extreme ratios. Sinter compiles a model for one input size, so each distinct
 *     batch shape is one compile (kernels through the cache; consecutive batches mostly share
 *     a shape, and only the current one is held);
 *  3. per image (load_image, LetterBox(scaleup=False)): the long side resized to imgsz
 *     (ceil, cv2 INTER_LINEAR) when it is not, then padded to the batch shape (114);
 *  4. the model, NMS (conf 0.001, iou 0.7, multi_label, max_det 300, raised to the most labels
 *     in one image as _check_max_det does), and the labels taken to the letterboxed input in
 *     float32 as the dataset's transforms take them; detections and labels matched there
 *     (engine/val.c), the COCO predictions scaled back to the original image (scale_boxes with
 *     the ratio_pad). */
#include "engine/engine.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void sn_val_options_default(sn_val_options *o) {
    memset(o, 0, sizeof *o);
    o->split = "val";
    o->imgsz = 640;
    o->batch = 32;
    o->conf = 0.001f;
    o->iou = 0.7f;
    o->max_det = 300;
}

void sn_val_result_free(sn_val_result *r) {
    if (!r)
        return;
    sn_val_metrics_free(&r->m);
    sn_io_data_free(&r->data);
    free(r->pred_json);
    memset(r, 0, sizeof *r);
}

typedef struct item {
    const char *path;
    int h, w;         /* original, EXIF applied */
    sn_io_labels lab; /* n × 5: cls cx cy w h */
    int ok;
} item;

static int by_ar(const void *a, const void *b) { /* ar = h / w ascending; equal: file order */
    const item *x = *(item *const *)a, *y = *(item *const *)b;
    double ax = (double)x->h / x->w, ay = (double)y->h / y->w;
    if (ax != ay)
        return ax < ay ? -1 : 1;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* label files in the labels folders that no image of the split names (Ultralytics would
 * never read them: a mismatch between images and labels worth saying) */
static int orphan_labels(item *it, int n) {
    sn_io_strings dirs = {0}, have = {0};
    char lp[4096];
    for (int i = 0; i < n; i++) {
        if (sn_io_img2label(it[i].path, lp, sizeof lp) != SN_OK)
            continue;
        sn_io_strings_add(&have, lp, strlen(lp));
        char *sl = strrchr(lp, '/');
        size_t dl = sl ? (size_t)(sl - lp) : 0;
        int seen = 0;
        for (int k = 0; k < dirs.n && !seen; k++)
            seen = strlen(dirs.v[k]) == dl && !strncmp(dirs.v[k], lp, dl);
        if (!seen && sl)
            sn_io_strings_add(&dirs, lp, dl);
    }
    qsort(have.v, (size_t)have.n, sizeof *have.v, cmp_str);
    int orphans = 0;
    for (int k = 0; k < dirs.n; k++) {
        DIR *d = opendir(dirs.v[k]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            size_t l = strlen(e->d_name);
            if (e->d_name[0] == '.' || l < 5 || strcmp(e->d_name + l - 4, ".txt"))
                continue;
            snprintf(lp, sizeof lp, "%s/%s", dirs.v[k], e->d_name);
            const char *key = lp;
            orphans += !bsearch(&key, have.v, (size_t)have.n, sizeof *have.v, cmp_str);
        }
        if (d)
            closedir(d);
    }
    sn_io_strings_free(&dirs);
    sn_io_strings_free(&have);
    return orphans;
}

/* data/converter.py: coco80_to_coco91_class */
static const int coco91[80] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 13, 14, 15, 16, 17,
                               18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32, 33, 34, 35, 36,
                               37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53,
                               54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73,
                               74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90};

static int ends_with(const char *s, const char *t) {
    size_t a = strlen(s), b = strlen(t);
    return a >= b && !strcmp(s + a - b, t);
}

/* the bar (engine/progress.c) under the table's header, as Ultralytics' validator draws it */
static void progress(FILE *log, int done, int total, double t0) {
    char desc[128];
    snprintf(desc, sizeof desc, "%22s%11s%11s%11s%11s%11s%11s", "Class", "Images", "Instances",
             "Box(P", "R", "mAP50", "mAP50-95)");
    sn_progress_draw(log, desc, done, total, t0);
}

/* one image's predictions as COCO json rows (pred_to_json), boxes scaled back as scale_boxes
 * does with the ratio_pad: minus the padding, divided by the resize's gains (resized / original
 * height for y, width for x), clipped to the image */
static void json_preds(FILE *f, int *first, const char *path, const sn_det *d, int n,
                       const sn_io_letterbox_info *li, int rh, int rw, int h0, int w0,
                       int is_coco) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char stem[1024], fname[1024], id[1100];
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot)
        *dot = 0;
    int numeric = stem[0] != 0;
    for (const char *p = stem; *p; p++)
        numeric &= *p >= '0' && *p <= '9';
    sn_json_escape(base, fname, sizeof fname);
    if (numeric)
        snprintf(id, sizeof id, "%lld", strtoll(stem, NULL, 10));
    else {
        char e[1060];
        snprintf(id, sizeof id, "\"%s\"", sn_json_escape(stem, e, sizeof e));
    }
    float gx = (float)((double)rw / w0), gy = (float)((double)rh / h0);
    float px = (float)li->left, py = (float)li->top;
    for (int k = 0; k < n; k++) {
        float b[4];
        for (int j = 0; j < 4; j++) {
            b[j] = (d[k].box[j] - (j % 2 ? py : px)) / (j % 2 ? gy : gx);
            float hi = (float)(j % 2 ? h0 : w0);
            b[j] = b[j] < 0.f ? 0.f : b[j] > hi ? hi : b[j];
        }
        float cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2, bw = b[2] - b[0], bh = b[3] - b[1];
        cx -= bw / 2;
        cy -= bh / 2;
        int cat = is_coco && d[k].cls < 80 ? coco91[d[k].cls] : d[k].cls + 1;
        fprintf(f,
                "%s\n  {\"image_id\": %s, \"file_name\": \"%s\", \"category_id\": %d, \"bbox\": "
                "[%.3f, %.3f, %.3f, %.3f], \"score\": %.5f}",
                *first ? "" : ",", id, fname, cat, (double)cx, (double)cy, (double)bw, (double)bh,
                (double)d[k].conf);
        *first = 0;
    }
}

sn_status sn_val_run(sn_session *s, const sn_model_options *mo_in, const sn_val_options *vo,
                     sn_val_result *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    FILE *log = vo->log;
    sn_status st = sn_io_data_read(vo->data, &r->data, err, errlen);
    if (st != SN_OK)
        return st;
    sn_io_strings files = {0};
    item *it = NULL;
    item **ord = NULL;
    sn_exec *e = NULL;
    sn_val_stats *stats = NULL;
    float *x = NULL, *y = NULL;
    sn_det *dets = NULL;
    int *lcls = NULL;
    float *lbox = NULL;
    FILE *jf = NULL;
    char *jbuf = NULL;
    size_t jlen = 0;
    if ((st = sn_io_data_images(&r->data, vo->split, &files, err, errlen)) != SN_OK)
        goto done;
    const int n = files.n, nc_data = r->data.nc;
    it = calloc((size_t)n, sizeof *it);
    ord = calloc((size_t)n, sizeof *ord);
    if (!it || !ord)
        goto nomem;
    /* 1. scan: image shapes, label files (Ultralytics' label cache) */
    int bad_labels = 0, max_labels = 0;
    char first_err[1024] = "";
    for (int i = 0; i < n; i++) {
        char lp[4096], e1[1024];
        it[i].path = files.v[i];
        sn_io_image img;
        if (sn_io_image_read(files.v[i], &img, e1, sizeof e1) != SN_OK) {
            if (log)
                fprintf(log, "%s: WARNING ignoring corrupt image: %s\n", vo->split, e1);
            r->broken++;
            continue;
        }
        it[i].h = img.h;
        it[i].w = img.w;
        sn_io_image_free(&img);
        struct stat sb;
        if (sn_io_img2label(files.v[i], lp, sizeof lp) != SN_OK || stat(lp, &sb) != 0) {
            r->backgrounds++; /* no label file: an image without boxes */
            it[i].ok = 1;
            continue;
        }
        int dups = 0;
        if (sn_io_dataset_labels_read(lp, nc_data, &it[i].lab, &dups, e1, sizeof e1) != SN_OK) {
            if (log && bad_labels >= 1 && bad_labels < 10) /* the first one is err */
                fprintf(log, "%s: error: %s\n", vo->split, e1);
            if (!bad_labels)
                snprintf(first_err, sizeof first_err, "%s", e1);
            bad_labels++;
            continue;
        }
        if (dups && log) {
            char sh[SN_SHOWN];
            fprintf(log, "%s: WARNING %s: %d duplicate labels removed\n", vo->split,
                    sn_escape(files.v[i], sh, sizeof sh), dups);
        }
        r->empty += it[i].lab.n == 0;
        r->backgrounds += it[i].lab.n == 0;
        if (it[i].lab.n > max_labels)
            max_labels = (int)it[i].lab.n;
        it[i].ok = 1;
    }
    r->orphans = orphan_labels(it, n);
    r->listed = n;
    if (log) {
        char sh[SN_SHOWN];
        const sn_io_strings *src = NULL;
        for (int k = 0; k < SN_IO_NSPLITS; k++)
            if (!strcmp(vo->split, sn_io_split_names[k]))
                src = &r->data.split[k];
        fprintf(log, "%s: Scanning %s%s... %d images, %d backgrounds (no labels), %d corrupt%s",
                vo->split, sn_escape(src && src->n ? src->v[0] : "", sh, sizeof sh),
                src && src->n > 1 ? " …" : "", n - r->broken, r->backgrounds, r->broken,
                r->orphans ? "" : "\n");
        if (r->orphans)
            fprintf(log, ", %d label files without an image\n", r->orphans);
    }
    if (bad_labels) {
        st = sn_fail(err, errlen, SN_ERR_INVALID, "%s%s", first_err,
                     bad_labels > 1 ? " (and more bad label files above)" : "");
        goto done;
    }
    int nvalid = 0;
    for (int i = 0; i < n; i++)
        if (it[i].ok)
            ord[nvalid++] = &it[i];
    if (nvalid == 0) {
        st = sn_fail(err, errlen, SN_ERR_INVALID, "%s: none of the %d images could be read",
                     vo->split, n);
        goto done;
    }
    /* 2. rectangular batches */
    qsort(ord, (size_t)nvalid, sizeof *ord, by_ar);
    const int imgsz = vo->imgsz, B = vo->batch < nvalid ? vo->batch : nvalid;
    /* the model: nc from the options, else the dataset's */
    sn_model_options mo = *mo_in;
    if (mo.nc <= 0)
        mo.nc = nc_data;
    int max_det = vo->max_det; /* _check_max_det: the default is raised, a given one kept */
    if (max_labels > max_det) {
        int raise = max_det == 300;
        if (log)
            fprintf(log,
                    "WARNING images hold up to %d labels but max_det is %d: recall is capped; "
                    "%s\n",
                    max_labels, max_det, raise ? "max_det raised to match" : "max_det kept");
        if (raise)
            max_det = max_labels;
    }
    sn_nms_options no;
    sn_nms_options_default(&no);
    no.conf = vo->conf;
    no.iou = vo->iou;
    no.max_det = max_det;
    no.multi_label = 1;
    dets = malloc((size_t)max_det * sizeof *dets);
    lcls = malloc((size_t)(max_labels + 1) * sizeof *lcls);
    lbox = malloc((size_t)(max_labels + 1) * 4 * sizeof *lbox);
    if (!dets || !lcls || !lbox)
        goto nomem;
    const char *val_src = r->data.split[1].n == 1 ? r->data.split[1].v[0] : "";
    int is_coco = !strcmp(vo->split, "val") && strstr(val_src, "coco") &&
                  (ends_with(val_src, "/val2017.txt") || ends_with(val_src, "/test-dev2017.txt"));
    int jfirst = 1;
    if (vo->save_json) {
        if (!(jf = open_memstream(&jbuf, &jlen)))
            goto nomem;
        fputc('[', jf);
    }
    int cur_h = 0, cur_w = 0, model_nc = 0;
    int64_t A = 0;
    double t0 = sn_rt_now();
    int nb = (nvalid + B - 1) / B;
    progress(vo->progress ? log : NULL, 0, nb, t0);
    for (int bi = 0; bi < nb; bi++) {
        int i0 = bi * B, cnt = nvalid - i0 < B ? nvalid - i0 : B;
        double mini = 1e300, maxi = 0;
        for (int k = 0; k < cnt; k++) {
            double ar = (double)ord[i0 + k]->h / ord[i0 + k]->w;
            mini = ar < mini ? ar : mini;
            maxi = ar > maxi ? ar : maxi;
        }
        double sh = 1, sw = 1;
        if (maxi < 1)
            sh = maxi;
        else if (mini > 1)
            sw = 1 / mini;
        int bh = (int)ceil(sh * imgsz / 32 + 0.5) * 32, bw = (int)ceil(sw * imgsz / 32 + 0.5) * 32;
        if (bh != cur_h || bw != cur_w) {
            sn_exec_free(e);
            e = NULL;
            mo.batch = B;
            mo.height = bh;
            mo.width = bw;
            double tc = sn_rt_now();
            if (sn_compile(s, &mo, &e) != SN_OK) {
                st = sn_fail(err, errlen, SN_ERR_INVALID, "%s", sn_session_error(s));
                goto done;
            }
            r->t_compile += sn_rt_now() - tc;
            r->shapes++;
            int64_t od[8];
            sn_exec_output_shape(e, od);
            if (!stats) {
                model_nc = (int)od[1] - 4;
                r->model_nc = model_nc;
                if ((st = sn_val_stats_new(model_nc, &stats)) != SN_OK) {
                    st = sn_fail(err, errlen, st,
                                 "out of memory for the metrics of %d classes (the confusion "
                                 "matrix is (nc + 1)² counts)",
                                 model_nc);
                    goto done;
                }
                if (model_nc < nc_data && log)
                    fprintf(log,
                            "WARNING skipping labels of classes the model (nc=%d) cannot "
                            "predict\n",
                            model_nc);
            }
            A = od[2];
            free(x), free(y);
            x = malloc((size_t)B * 3 * (size_t)bh * (size_t)bw * sizeof *x);
            y = malloc((size_t)B * (size_t)(4 + model_nc) * (size_t)A * sizeof *y);
            if (!x || !y)
                goto nomem;
            cur_h = bh;
            cur_w = bw;
        }
        double ta = sn_rt_now();
        size_t per = (size_t)3 * bh * bw;
        memset(x, 0, (size_t)B * per * sizeof *x);
        sn_io_letterbox_info *lis = malloc((size_t)cnt * sizeof *lis);
        int *rw = malloc((size_t)cnt * 2 * sizeof *rw);
        if (!lis || !rw) {
            free(lis), free(rw);
            goto nomem;
        }
        for (int k = 0; k < cnt; k++) {
            item *im = ord[i0 + k];
            sn_io_image img, rs, lb;
            char e1[1024];
            im->ok = 0;
            if (sn_io_image_read(im->path, &img, e1, sizeof e1) != SN_OK) {
                if (log)
                    fprintf(log, "\n%s: error: %s\n", vo->split, e1);
                r->broken++;
                continue;
            }
            /* load_image: long side to imgsz (w, h = min(ceil(w0 · r), imgsz), …) */
            double rr = (double)imgsz / (img.h > img.w ? img.h : img.w);
            int h = img.h, w = img.w;
            if (rr != 1.0) {
                w = (int)fmin(ceil(img.w * rr), imgsz);
                h = (int)fmin(ceil(img.h * rr), imgsz);
                if (sn_io_image_resize(&img, h, w, &rs) != SN_OK) {
                    sn_io_image_free(&img);
                    r->broken++;
                    continue;
                }
                sn_io_image_free(&img);
                img = rs;
            }
            sn_status ls = sn_io_letterbox_val(&img, bh, bw, &lb, &lis[k]);
            sn_io_image_free(&img);
            if (ls != SN_OK) {
                r->broken++;
                continue;
            }
            sn_io_image_to_tensor(&lb, x + (size_t)k * per);
            sn_io_image_free(&lb);
            rw[2 * k] = h;
            rw[2 * k + 1] = w;
            im->ok = 1;
        }
        double tb = sn_rt_now();
        if (sn_exec_run(e, x, y) != SN_OK) {
            free(lis), free(rw);
            st = sn_fail(err, errlen, SN_ERR_INVALID, "%s", sn_session_error(s));
            goto done;
        }
        double tc = sn_rt_now();
        for (int k = 0; k < cnt && st == SN_OK; k++) {
            item *im = ord[i0 + k];
            if (!im->ok)
                continue;
            int nd = 0;
            if ((st = sn_nms(y + (size_t)k * (size_t)(4 + model_nc) * (size_t)A, A, model_nc, &no,
                             dets, &nd)) != SN_OK)
                break;
            /* labels → the letterboxed input, float32 in the dataset transforms' order:
             * xywh → xyxy, × (w, h) of the loaded image, × ratio, + pad; Format: → xywh,
             * × 1/(batch w, h); _prepare_batch: → xyxy, × (batch w, h) */
            const sn_io_letterbox_info *L = &lis[k];
            float rh = (float)rw[2 * k], rwf = (float)rw[2 * k + 1], ratio = (float)L->ratio;
            float iw = (float)(1.0 / bw), ih = (float)(1.0 / bh);
            int nl = 0;
            for (int64_t q = 0; q < im->lab.n; q++) {
                const float *row = im->lab.rows + q * 5;
                int c = (int)row[0];
                if (c >= model_nc)
                    continue;
                float hw = row[3] / 2, hh = row[4] / 2;
                float x1 = (row[1] - hw) * rwf, y1 = (row[2] - hh) * rh;
                float x2 = (row[1] + hw) * rwf, y2 = (row[2] + hh) * rh;
                x1 = x1 * ratio + (float)L->left, x2 = x2 * ratio + (float)L->left;
                y1 = y1 * ratio + (float)L->top, y2 = y2 * ratio + (float)L->top;
                float cx = (x1 + x2) / 2 * iw, cy = (y1 + y2) / 2 * ih;
                float ww = (x2 - x1) * iw, hh2 = (y2 - y1) * ih;
                float *b = lbox + 4 * nl;
                b[0] = (cx - ww / 2) * (float)bw;
                b[1] = (cy - hh2 / 2) * (float)bh;
                b[2] = (cx + ww / 2) * (float)bw;
                b[3] = (cy + hh2 / 2) * (float)bh;
                lcls[nl++] = c;
            }
            if ((st = sn_val_stats_add(stats, dets, nd, lcls, lbox, nl, vo->conf)) != SN_OK)
                break;
            if (jf)
                json_preds(jf, &jfirst, im->path, dets, nd, L, rw[2 * k], rw[2 * k + 1], im->h,
                           im->w, is_coco);
        }
        free(lis), free(rw);
        if (st != SN_OK) {
            snprintf(err, errlen, "%s", st == SN_ERR_NOMEM ? "out of memory" : "bad detections");
            goto done;
        }
        double td = sn_rt_now();
        r->t_pre += tb - ta;
        r->t_inf += tc - tb;
        r->t_post += td - tc;
        progress(vo->progress ? log : NULL, bi + 1, nb, t0);
    }
    r->images = sn_val_stats_images(stats);
    if ((st = sn_val_metrics_compute(stats, &r->m)) != SN_OK)
        goto nomem;
    if (jf) {
        fputs(jfirst ? "]\n" : "\n]\n", jf);
        fclose(jf);
        jf = NULL;
        r->pred_json = jbuf;
        r->pred_json_len = jlen;
    }
    st = SN_OK;
    goto done;
nomem:
    st = sn_fail(err, errlen, SN_ERR_NOMEM, "out of memory");
done:
    if (jf) {
        fclose(jf);
        free(jbuf);
    }
    for (int i = 0; it && i < n; i++)
        sn_io_labels_free(&it[i].lab);
    free(it), free(ord), free(x), free(y), free(dets), free(lcls), free(lbox);
    sn_io_strings_free(&files);
    sn_exec_free(e);
    sn_val_stats_free(stats);
    if (st != SN_OK) {
        sn_val_metrics_free(&r->m);
        free(r->pred_json);
        r->pred_json = NULL;
    }
    return st;
}
