/* cli/detect.c — `sinter detect`: Ultralytics' `yolo predict` on images — letterbox, the
 * compiled model, NMS, boxes scaled back — writing annotated images (and labels) to
 * PROJECT/NAME{,2,…}/ as Ultralytics does. */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char help[] =
    "usage: sinter detect MODEL|W.pt --source IMG|DIR|GLOB [--weights W] [--imgsz 640]\n"
    "                     [--conf 0.25] [--iou 0.7] [--max-det 300] [--batch 1]\n"
    "                     [--classes 0,2] [--agnostic-nms] [--backend B] [--dtype D]\n"
    "                     [--project runs/detect] [--name exp] [--save-txt] [--save-conf]\n"
    "                     [--nosave] [--json] [--threads N] [--workers 0|1|2]\n"
    "\n"
    "Ultralytics' predict on images (JPEG, PNG): each image letterboxed to imgsz (pad 114,\n"
    "OpenCV's bilinear resize), the model run in batches, NMS as Ultralytics does it, boxes\n"
    "scaled back to the image. Writes the annotated images to PROJECT/NAME (exp, exp2, … —\n"
    "never over an earlier run) and with --save-txt one labels/<image>.txt per image (cls cx cy\n"
    "w h [conf], normalised). MODEL is a zoo name or model file; an Ultralytics .pt checkpoint\n"
    "brings its own model, classes and names. --json prints every detection on stdout.\n"
    "\n"
    "stderr gets a line per image as Ultralytics prints it, and on a terminal a progress bar\n"
    "below them (not when --json prints to that terminal too). Decoding runs ahead of\n"
    "inference and writing behind it on helper threads (--workers 2, the default; 1: decoding\n"
    "only; 0: all on one thread, one step at a time); the output is the same either way.\n"
    "--threads N: inference threads (default: all cores).\n";

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* IMG, DIR (its images, sorted) or a GLOB (sorted, as Ultralytics' LoadImagesAndVideos). */
static int list_source(const char *src, sn_io_strings *out) {
    struct stat st;
    if (stat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
        DIR *d = opendir(src);
        if (!d) {
            fprintf(stderr, "sinter detect: error: %s: %s\n", sn_cli_show(src), strerror(errno));
            return 0;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || !sn_io_is_image_name(e->d_name))
                continue;
            char p[4096];
            if (snprintf(p, sizeof p, "%s/%s", src, e->d_name) >= (int)sizeof p)
                continue; /* a path too long to open */
            if (!sn_io_strings_add(out, p, strlen(p))) {
                closedir(d);
                return 0;
            }
        }
        closedir(d);
    } else if (stat(src, &st) == 0) {
        if (!sn_io_strings_add(out, src, strlen(src)))
            return 0;
    } else {
        glob_t g;
        if (glob(src, 0, NULL, &g) == 0) {
            for (size_t i = 0; i < g.gl_pathc; i++)
                if (sn_io_is_image_name(g.gl_pathv[i]) &&
                    !sn_io_strings_add(out, g.gl_pathv[i], strlen(g.gl_pathv[i]))) {
                    globfree(&g);
                    return 0;
                }
            globfree(&g);
        }
    }
    if (out->n == 0) {
        fprintf(stderr, "sinter detect: error: --source %s: no images (%s)\n", sn_cli_show(src),
                "jpg, jpeg, png, bmp, webp, tif");
        return 0;
    }
    qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
    return 1;
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* ---------------------------------------------------------------- the pipeline
 *
 * Three stages over batches k = 0, 1, …: prepare (decode + letterbox into the batch's input
 * tensor), infer (the compiled plan), post (NMS, boxes scaled back, the log line, --json,
 * labels, the annotated image). With --workers 2 (the default) each stage has its own thread —
 * batch k+1 is decoded and batch k-1 written while batch k runs — with 1 only the decoding
 * runs ahead, with 0 the three run one after another on one thread. A batch moves through a
 * ring of SLOTS slots, each stage taking them in order, so every stage sees the batches in the
 * order of the sequential path; and only post prints, so what is printed and written is the
 * same whatever the threads. */
enum { SLOTS = 3, MAXB = 64 };
enum { SLOT_FREE, SLOT_READY, SLOT_RAN }; /* waiting for prepare, infer, post */

typedef struct det_slot {
    int i0, nb; /* images src[i0 .. i0+nb) */
    float *x, *y;
    sn_io_image img[MAXB]; /* the decoded originals (ok[b]), annotated by post */
    int ok[MAXB];
    char *err[MAXB]; /* why image b could not be read (ok[b] == 0) */
    double t_pre, t_inf;
} det_slot;

typedef struct det_run {
    /* set before the stages start, read-only after */
    const sn_cli_opts *o;
    const sn_io_strings *src;
    const sn_io_pt_meta *meta;
    sn_nms_options no;
    sn_exec *e;
    int B, h, w, nc, nbatch, bar;
    int64_t A;
    size_t per;
    const char *dir;
    double t0;
    /* post's own */
    sn_det *dets;
    sn_io_box *boxes;
    int first_json, nfail, done;
    double t_pre, t_inf, t_post;
    /* shared, under mu */
    det_slot slot[SLOTS];
    int state[SLOTS];
    int end;    /* batches that are to go through post: nbatch, or the one whose inference failed */
    int stop;   /* every stage ends: post failed, or the run is over */
    int failed; /* post failed (reported) */
    int nslots; /* workers + 1 */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} det_run;

/* Waits until batch k's slot is in state want; 0 when the stage is to end instead. */
static int slot_wait(det_run *r, int k, int want) {
    pthread_mutex_lock(&r->mu);
    while (!r->stop && k < r->end && r->state[k % r->nslots] != want)
        pthread_cond_wait(&r->cv, &r->mu);
    int go = !r->stop && k < r->end;
    pthread_mutex_unlock(&r->mu);
    return go;
}

static void slot_set(det_run *r, int k, int state) {
    pthread_mutex_lock(&r->mu);
    r->state[k % r->nslots] = state;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* decode + letterbox batch k into its slot; a failed image is zeros and its error kept */
static void stage_prepare(det_run *r, int k) {
    det_slot *sl = &r->slot[k % r->nslots];
    double t0 = sn_rt_now();
    sl->i0 = k * r->B;
    sl->nb = r->src->n - sl->i0 < r->B ? r->src->n - sl->i0 : r->B;
    for (int b = 0; b < r->B; b++) {
        const char *path = b < sl->nb ? r->src->v[sl->i0 + b] : NULL;
        char err[4096];
        sn_io_letterbox_info li;
        sn_io_image lb;
        sl->ok[b] = 0;
        if (path) {
            sn_status ist = sn_io_image_read(path, &sl->img[b], err, sizeof err);
            if (ist == SN_OK &&
                (ist = sn_io_letterbox(&sl->img[b], r->h, r->w, 0, 32, &lb, &li)) != SN_OK) {
                char shown[SN_SHOWN]; /* not sn_cli_show: its buffers belong to post */
                sn_escape(path, shown, sizeof shown);
                snprintf(err, sizeof err, "%s: letterbox: %s", shown, sn_status_str(ist));
            }
            if (ist == SN_OK) {
                sl->ok[b] = 1;
                sn_io_image_to_tensor(&lb, sl->x + (size_t)b * r->per);
                sn_io_image_free(&lb);
                continue;
            }
            sn_io_image_free(&sl->img[b]);
            sl->err[b] = strdup(err); /* NULL: post says "out of memory" */
        }
        memset(sl->x + (size_t)b * r->per, 0, r->per * sizeof *sl->x);
    }
    sl->t_pre = sn_rt_now() - t0;
}

static sn_status stage_infer(det_run *r, int k) {
    det_slot *sl = &r->slot[k % r->nslots];
    double t0 = sn_rt_now();
    sn_status st = sn_exec_run(r->e, sl->x, sl->y);
    sl->t_inf = sn_rt_now() - t0;
    return st;
}

/* a line on stderr above the progress bar */
static void line_begin(det_run *r) {
    if (r->bar)
        sn_progress_clear(stderr);
}

static void bar_draw(det_run *r) {
    if (r->bar)
        sn_progress_draw(stderr, "detect", r->done, r->src->n, r->t0);
}

/* one image read: its log line, --json entry, labels and annotated image; 0 on a failure that
 * ends the run (reported) */
static int post_image(det_run *r, det_slot *sl, int b) {
    const sn_cli_opts *o = r->o;
    const sn_io_pt_meta *meta = r->meta;
    const char *path = r->src->v[sl->i0 + b];
    sn_io_image *img = &sl->img[b];
    sn_det *dets = r->dets;
    char err[4096];
    int n = 0, nc = r->nc;
    if (sn_nms(sl->y + (size_t)b * (size_t)(4 + nc) * (size_t)r->A, r->A, nc, &r->no, dets, &n) !=
        SN_OK) {
        line_begin(r);
        fprintf(stderr, "sinter detect: error: out of memory\n");
        return 0;
    }
    sn_scale_boxes(dets, n, r->h, r->w, img->h, img->w);
    /* "image 1/3 path: 640x480 2 0s, 1 5, 12.3ms" as Ultralytics prints it */
    line_begin(r);
    fprintf(stderr, "image %d/%d %s: %dx%d ", sl->i0 + b + 1, r->src->n, sn_cli_show(path), r->h,
            r->w);
    int counted[4096] = {0}, any = 0;
    for (int k = 0; k < n; k++)
        if (dets[k].cls >= 0 && dets[k].cls < 4096)
            counted[dets[k].cls]++;
    for (int c = 0; c < nc && c < 4096; c++)
        if (counted[c]) {
            const char *nm =
                c < meta->nnames && meta->names && meta->names[c][0] ? meta->names[c] : NULL;
            char num[16];
            snprintf(num, sizeof num, "%d", c);
            fprintf(stderr, "%s%d %s%s", any ? ", " : "", counted[c], nm ? sn_cli_show(nm) : num,
                    counted[c] > 1 ? "s" : "");
            any = 1;
        }
    fprintf(stderr, "%s, %.1fms\n", any ? "" : "(no detections)", sl->t_inf * 1e3 / sl->nb);
    for (int k = 0; k < n; k++) {
        memcpy(r->boxes[k].box, dets[k].box, sizeof r->boxes[k].box);
        r->boxes[k].conf = dets[k].conf;
        r->boxes[k].cls = dets[k].cls;
    }
    if (o->json) { /* one document: per image its path and every detection */
        char im[1024];
        sn_json_escape(path, im, sizeof im);
        printf("%s\n  {\"path\": \"%s\", \"detections\": [", r->first_json ? "" : ",", im);
        for (int k = 0; k < n; k++) {
            char nm[256], num[16];
            snprintf(num, sizeof num, "%d", dets[k].cls);
            sn_json_escape(dets[k].cls < meta->nnames && meta->names && meta->names[dets[k].cls][0]
                               ? meta->names[dets[k].cls]
                               : num,
                           nm, sizeof nm);
            printf("%s\n    {\"xyxy\": [%.3f, %.3f, %.3f, %.3f], \"conf\": %.6f, "
                   "\"cls\": %d, \"name\": \"%s\"}",
                   k ? "," : "", dets[k].box[0], dets[k].box[1], dets[k].box[2], dets[k].box[3],
                   dets[k].conf, dets[k].cls, nm);
        }
        printf("%s]}", n ? "\n  " : "");
        r->first_json = 0;
    }
    int ok = 1;
    if (o->save_txt) {
        char lp[4400], stem[1024];
        snprintf(stem, sizeof stem, "%s", base_name(path));
        char *dot = strrchr(stem, '.');
        if (dot)
            *dot = 0;
        if (snprintf(lp, sizeof lp, "%s/labels/%s.txt", r->dir, stem) >= (int)sizeof lp) {
            line_begin(r);
            fprintf(stderr, "sinter detect: error: %s: path too long\n", sn_cli_show(path));
            return 0;
        }
        char *txt = NULL;
        size_t tl = 0;
        FILE *f = open_memstream(&txt, &tl);
        for (int k = 0; f && k < n; k++) {
            const float *bx = dets[k].box;
            float w = (float)img->w, h = (float)img->h;
            fprintf(f, "%d %.6g %.6g %.6g %.6g", dets[k].cls, (bx[0] + bx[2]) / 2 / w,
                    (bx[1] + bx[3]) / 2 / h, (bx[2] - bx[0]) / w, (bx[3] - bx[1]) / h);
            if (o->save_conf)
                fprintf(f, " %.6g", dets[k].conf);
            fputc('\n', f);
        }
        if (f)
            fclose(f);
        if (!txt || sn_write_atomic(lp, txt, tl, err, sizeof err) != SN_OK) {
            line_begin(r);
            fprintf(stderr, "sinter detect: error: %s\n", txt ? err : "out of memory");
            ok = 0;
        }
        free(txt);
    }
    if (!o->nosave) {
        char op[4400];
        if (snprintf(op, sizeof op, "%s/%s", r->dir, base_name(path)) >= (int)sizeof op) {
            line_begin(r);
            fprintf(stderr, "sinter detect: error: %s: path too long\n", sn_cli_show(path));
            return 0;
        }
        const char *const *names = (const char *const *)meta->names;
        if (sn_io_annotate(img->data, img->w, img->h, r->boxes, n, names, meta->nnames, err,
                           sizeof err) != SN_OK ||
            sn_io_image_write(op, img->data, img->w, img->h, err, sizeof err) != SN_OK) {
            line_begin(r);
            fprintf(stderr, "sinter detect: error: %s\n", err);
            ok = 0;
        }
    }
    return ok;
}

/* batch k's images in order, each read or failed; 0 when the run is to end */
static int stage_post(det_run *r, int k) {
    det_slot *sl = &r->slot[k % r->nslots];
    double t0 = sn_rt_now();
    int ok = 1;
    for (int b = 0; b < sl->nb && ok; b++) {
        if (sl->ok[b]) {
            ok = post_image(r, sl, b);
        } else { /* the other images still run; the failures are counted */
            const char *msg = sl->err[b] ? sl->err[b] : "out of memory";
            line_begin(r);
            fprintf(stderr, "sinter detect: error: %s\n", msg);
            r->nfail++;
            if (r->o->json) {
                char im[1024], em[1200];
                sn_json_escape(r->src->v[sl->i0 + b], im, sizeof im);
                sn_json_escape(msg, em, sizeof em);
                printf("%s\n  {\"path\": \"%s\", \"error\": \"%s\"}", r->first_json ? "" : ",", im,
                       em);
                r->first_json = 0;
            }
        }
        r->done++;
        bar_draw(r);
    }
    for (int b = 0; b < sl->nb; b++) {
        sn_io_image_free(&sl->img[b]);
        free(sl->err[b]);
        sl->err[b] = NULL;
    }
    r->t_pre += sl->t_pre;
    r->t_inf += sl->t_inf;
    r->t_post += sn_rt_now() - t0;
    if (!ok) {
        pthread_mutex_lock(&r->mu);
        r->stop = r->failed = 1;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
    return ok;
}

static void *prepare_thread(void *arg) {
    det_run *r = arg;
    for (int k = 0; k < r->nbatch && slot_wait(r, k, SLOT_FREE); k++) {
        stage_prepare(r, k);
        slot_set(r, k, SLOT_READY);
    }
    return NULL;
}

static void *post_thread(void *arg) {
    det_run *r = arg;
    for (int k = 0; k < r->nbatch && slot_wait(r, k, SLOT_RAN); k++) {
        stage_post(r, k);
        slot_set(r, k, SLOT_FREE);
    }
    return NULL;
}

/* Runs every batch through the three stages with r->o->workers helper threads (-1: 2).
 * Returns 0 when inference failed (after every earlier batch went through post: the error is
 * in the session), 1 otherwise (r->failed says whether post failed). A helper that cannot
 * start leaves its stage to this thread. */
static int run_pipeline(det_run *r, sn_session *s) {
    int workers = r->o->workers < 0 ? 2 : r->o->workers;
    pthread_t tp, tq;
    int have_p = 0, have_q = 0, ok = 1;
    r->end = r->nbatch;
    if (workers >= 1 && !(have_p = !pthread_create(&tp, NULL, prepare_thread, r)))
        workers = 0;
    if (workers >= 2 && !(have_q = !pthread_create(&tq, NULL, post_thread, r)))
        workers = 1;
    for (int k = 0; k < r->nbatch; k++) {
        if (!have_p)
            stage_prepare(r, k);
        else if (!slot_wait(r, k, SLOT_READY))
            break;
        if (stage_infer(r, k) != SN_OK) {
            pthread_mutex_lock(&r->mu);
            r->end = k; /* the batches before it still go through post */
            pthread_cond_broadcast(&r->cv);
            pthread_mutex_unlock(&r->mu);
            ok = 0;
            break;
        }
        if (have_q) {
            slot_set(r, k, SLOT_RAN);
        } else {
            if (!stage_post(r, k))
                break;
            slot_set(r, k, SLOT_FREE);
        }
    }
    if (have_q)
        pthread_join(tq, NULL);
    pthread_mutex_lock(&r->mu); /* post is done: the decoder may end */
    r->stop = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (have_p)
        pthread_join(tp, NULL);
    if (!ok)
        fprintf(stderr, "sinter detect: error: %s\n", sn_session_error(s));
    return ok;
}

int sn_cmd_detect(int argc, char **argv) {
    if (sn_cli_help(argc, argv, help))
        return 0;
    sn_cli_opts o;
    if (sn_cli_parse(argc, argv, "detect",
                     "--source --weights --imgsz --conf --iou --max-det --batch --classes "
                     "--agnostic-nms --backend --dtype --project --name --save-txt --save-conf "
                     "--nosave --json --threads --workers --nc --scale",
                     &o))
        return 2;
    if (!o.model || !o.source) {
        fprintf(stderr, "sinter detect: error: MODEL and --source are required\n%s", help);
        return 2;
    }
    char err[4096];
    int rc = 1;
    sn_io_strings src = {0};
    sn_session *s = NULL;
    sn_exec *e = NULL;
    sn_io_pt_meta meta = {0};
    det_run r;
    memset(&r, 0, sizeof r);
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    char model[4096] = "", dir[4096] = "";
    const char *weights = o.weights;
    /* an Ultralytics checkpoint as MODEL: its family, scale, classes and names */
    if (sn_eng_model_arg(o.model, model, sizeof model, &weights, &meta, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter detect: error: %s\n", err);
        goto done;
    }
    if (o.nc <= 0 && meta.nc > 0)
        o.nc = meta.nc;
    if (!list_source(o.source, &src))
        goto done;
    int imgsz_h = o.height > 0 ? o.height : 640, imgsz_w = o.width > 0 ? o.width : 640;
    int B = o.batch > 0 ? o.batch : 1;
    if (B > MAXB) {
        fprintf(stderr, "sinter detect: error: --batch %d: at most %d images per batch\n", B, MAXB);
        goto done;
    }
    if (B > src.n)
        B = src.n;
    sn_session_options so = {.backend = o.backend, .threads = o.threads};
    if (sn_session_new(&so, &s) != SN_OK) {
        fprintf(stderr, "sinter detect: error: %s\n", sn_session_error(s));
        goto done;
    }
    sn_model_options mo = {.model = model,
                           .scale = o.scale,
                           .nc = o.nc,
                           .batch = B,
                           .height = imgsz_h,
                           .width = imgsz_w,
                           .weights = weights,
                           .dtype = o.dtype};
    if (sn_compile(s, &mo, &e) != SN_OK) {
        fprintf(stderr, "sinter detect: error: %s\n", sn_session_error(s));
        goto done;
    }
    int64_t od[8];
    sn_exec_output_shape(e, od);
    r.o = &o;
    r.src = &src;
    r.meta = &meta;
    r.e = e;
    r.B = B;
    r.h = imgsz_h;
    r.w = imgsz_w;
    r.nc = (int)od[1] - 4;
    r.A = od[2];
    r.per = (size_t)3 * imgsz_h * imgsz_w;
    r.nbatch = (src.n + B - 1) / B;
    r.first_json = 1;
    r.dir = dir;
    /* a bar under the per-image lines where it can be redrawn in place: a terminal, and more
     * than one image (the per-image lines alone go to a file or a pipe, as Ultralytics' do);
     * not where --json's document goes to that terminal too, whose lines it would erase */
    r.bar = src.n > 1 && sn_progress_tty(stderr) && !(o.json && isatty(fileno(stdout)));
    sn_nms_options_default(&r.no);
    if (!isnan(o.conf))
        r.no.conf = (float)o.conf;
    if (!isnan(o.iou))
        r.no.iou = (float)o.iou;
    if (o.max_det > 0)
        r.no.max_det = o.max_det;
    r.no.agnostic = o.agnostic;
    r.no.classes = o.nclasses ? o.classes : NULL;
    r.no.nclasses = o.nclasses;
    r.nslots = (o.workers < 0 ? 2 : o.workers) + 1;
    for (int k = 0; k < r.nslots; k++) {
        r.slot[k].x = malloc((size_t)B * r.per * sizeof(float));
        r.slot[k].y = malloc((size_t)B * (size_t)(4 + r.nc) * (size_t)r.A * sizeof(float));
        if (!r.slot[k].x || !r.slot[k].y) {
            fprintf(stderr, "sinter detect: error: out of memory\n");
            goto done;
        }
    }
    r.dets = malloc((size_t)r.no.max_det * sizeof *r.dets);
    r.boxes = malloc((size_t)r.no.max_det * sizeof *r.boxes);
    if (!r.dets || !r.boxes) {
        fprintf(stderr, "sinter detect: error: out of memory\n");
        goto done;
    }
    if (!o.nosave || o.save_txt) {
        if (sn_eng_run_dir(o.project ? o.project : "runs/detect", o.name ? o.name : "exp", dir,
                           sizeof dir, err, sizeof err) != SN_OK) {
            fprintf(stderr, "sinter detect: error: %s\n", err);
            goto done;
        }
        if (o.save_txt) {
            char lp[4200];
            if (snprintf(lp, sizeof lp, "%s/labels", dir) < (int)sizeof lp)
                mkdir(lp, 0777);
        }
    }
    if (o.json)
        printf("[");
    r.t0 = sn_rt_now();
    bar_draw(&r);
    if (!run_pipeline(&r, s) || r.failed)
        goto done;
    if (o.json)
        printf("\n]\n");
    fprintf(stderr,
            "Speed: %.1fms preprocess, %.1fms inference, %.1fms postprocess per image at shape "
            "(%d, 3, %d, %d)\n",
            r.t_pre * 1e3 / src.n, r.t_inf * 1e3 / src.n, r.t_post * 1e3 / src.n, B, imgsz_h,
            imgsz_w);
    if (dir[0])
        fprintf(stderr, "Results saved to %s\n", sn_cli_show(dir));
    if (r.nfail) {
        fprintf(stderr, "sinter detect: error: %d of %d images could not be read\n", r.nfail,
                src.n);
        goto done;
    }
    rc = 0;
done:
    for (int k = 0; k < SLOTS; k++) {
        for (int b = 0; b < MAXB; b++) {
            sn_io_image_free(&r.slot[k].img[b]);
            free(r.slot[k].err[b]);
        }
        free(r.slot[k].x), free(r.slot[k].y);
    }
    free(r.dets), free(r.boxes);
    pthread_cond_destroy(&r.cv);
    pthread_mutex_destroy(&r.mu);
    sn_io_strings_free(&src);
    sn_io_pt_meta_free(&meta);
    sn_exec_free(e);
    sn_session_free(s);
    return rc;
}
