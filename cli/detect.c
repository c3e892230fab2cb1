/* cli/detect.c — `sinter detect`: Ultralytics' `yolo predict` on images — letterbox, the
 * compiled model, NMS, boxes scaled back — writing annotated images (and labels) to
 * PROJECT/NAME{,2,…}/ as Ultralytics does. */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char help[] =
    "usage: sinter detect MODEL|W.pt --source IMG|DIR|GLOB [--weights W] [--imgsz 640]\n"
    "                     [--conf 0.25] [--iou 0.7] [--max-det 300] [--batch 1]\n"
    "                     [--classes 0,2] [--agnostic-nms] [--backend B] [--dtype D]\n"
    "                     [--project runs/detect] [--name exp] [--save-txt] [--save-conf]\n"
    "                     [--nosave] [--json]\n"
    "\n"
    "Ultralytics' predict on images (JPEG, PNG): each image letterboxed to imgsz (pad 114,\n"
    "OpenCV's bilinear resize), the model run in batches, NMS as Ultralytics does it, boxes\n"
    "scaled back to the image. Writes the annotated images to PROJECT/NAME (exp, exp2, … —\n"
    "never over an earlier run) and with --save-txt one labels/<image>.txt per image (cls cx cy\n"
    "w h [conf], normalised). MODEL is a zoo name or model file; an Ultralytics .pt checkpoint\n"
    "brings its own model, classes and names. --json prints every detection.\n";

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

int sn_cmd_detect(int argc, char **argv) {
    if (sn_cli_help(argc, argv, help))
        return 0;
    sn_cli_opts o;
    if (sn_cli_parse(argc, argv, "detect",
                     "--source --weights --imgsz --conf --iou --max-det --batch --classes "
                     "--agnostic-nms --backend --dtype --project --name --save-txt --save-conf "
                     "--nosave --json --threads --nc --scale",
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
    float *x = NULL, *y = NULL;
    sn_det *dets = NULL;
    sn_io_box *boxes = NULL;
    char model[64] = "", dir[4096] = "";
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
    if (B > 64) {
        fprintf(stderr, "sinter detect: error: --batch %d: at most 64 images per batch\n", B);
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
    int nc = (int)od[1] - 4;
    int64_t A = od[2];
    sn_nms_options no;
    sn_nms_options_default(&no);
    if (!isnan(o.conf))
        no.conf = (float)o.conf;
    if (!isnan(o.iou))
        no.iou = (float)o.iou;
    if (o.max_det > 0)
        no.max_det = o.max_det;
    no.agnostic = o.agnostic;
    no.classes = o.nclasses ? o.classes : NULL;
    no.nclasses = o.nclasses;
    size_t per = (size_t)3 * imgsz_h * imgsz_w;
    x = calloc((size_t)B * per, sizeof *x);
    y = malloc((size_t)B * (size_t)(4 + nc) * (size_t)A * sizeof *y);
    dets = malloc((size_t)no.max_det * sizeof *dets);
    boxes = malloc((size_t)no.max_det * sizeof *boxes);
    if (!x || !y || !dets || !boxes) {
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
    double t_pre = 0, t_inf = 0, t_post = 0;
    if (o.json)
        printf("[");
    int first_json = 1, failed = 0, nfail = 0;
    for (int i0 = 0; i0 < src.n; i0 += B) {
        int nb = src.n - i0 < B ? src.n - i0 : B;
        sn_io_image img[64];
        double t0 = sn_rt_now();
        memset(x, 0, (size_t)B * per * sizeof *x);
        int okb[64];
        for (int b = 0; b < nb; b++) {
            sn_io_letterbox_info li;
            sn_io_image lb;
            okb[b] = 0;
            memset(&img[b], 0, sizeof img[b]);
            sn_status ist = sn_io_image_read(src.v[i0 + b], &img[b], err, sizeof err);
            if (ist == SN_OK &&
                (ist = sn_io_letterbox(&img[b], imgsz_h, imgsz_w, 0, 32, &lb, &li)) != SN_OK)
                snprintf(err, sizeof err, "%s: letterbox: %s", sn_cli_show(src.v[i0 + b]),
                         sn_status_str(ist));
            if (ist != SN_OK) { /* the other images still run; the failures are counted */
                fprintf(stderr, "sinter detect: error: %s\n", err);
                sn_io_image_free(&img[b]);
                nfail++;
                if (o.json) {
                    char im[1024], em[1200];
                    sn_json_escape(src.v[i0 + b], im, sizeof im);
                    sn_json_escape(err, em, sizeof em);
                    printf("%s\n  {\"path\": \"%s\", \"error\": \"%s\"}", first_json ? "" : ",", im,
                           em);
                    first_json = 0;
                }
                continue;
            }
            okb[b] = 1;
            sn_io_image_to_tensor(&lb, x + (size_t)b * per);
            sn_io_image_free(&lb);
        }
        double t1 = sn_rt_now();
        if (sn_exec_run(e, x, y) != SN_OK) {
            fprintf(stderr, "sinter detect: error: %s\n", sn_session_error(s));
            for (int k = 0; k < nb; k++)
                sn_io_image_free(&img[k]);
            goto done;
        }
        double t2 = sn_rt_now();
        for (int b = 0; b < nb; b++) {
            if (!okb[b])
                continue;
            const char *path = src.v[i0 + b];
            int n = 0;
            if (sn_nms(y + (size_t)b * (size_t)(4 + nc) * (size_t)A, A, nc, &no, dets, &n) !=
                SN_OK) {
                fprintf(stderr, "sinter detect: error: out of memory\n");
                failed = 1;
                break;
            }
            sn_scale_boxes(dets, n, imgsz_h, imgsz_w, img[b].h, img[b].w);
            /* "image 1/3 path: 640x480 2 0s, 1 5, 12.3ms" as Ultralytics prints it */
            fprintf(stderr, "image %d/%d %s: %dx%d ", i0 + b + 1, src.n, sn_cli_show(path), imgsz_h,
                    imgsz_w);
            int counted[4096] = {0}, any = 0;
            for (int k = 0; k < n; k++)
                if (dets[k].cls >= 0 && dets[k].cls < 4096)
                    counted[dets[k].cls]++;
            for (int c = 0; c < nc && c < 4096; c++)
                if (counted[c]) {
                    const char *nm =
                        c < meta.nnames && meta.names && meta.names[c][0] ? meta.names[c] : NULL;
                    char num[16];
                    snprintf(num, sizeof num, "%d", c);
                    fprintf(stderr, "%s%d %s%s", any ? ", " : "", counted[c],
                            nm ? sn_cli_show(nm) : num, counted[c] > 1 ? "s" : "");
                    any = 1;
                }
            fprintf(stderr, "%s, %.1fms\n", any ? "" : "(no detections)", (t2 - t1) * 1e3 / nb);
            for (int k = 0; k < n; k++) {
                memcpy(boxes[k].box, dets[k].box, sizeof boxes[k].box);
                boxes[k].conf = dets[k].conf;
                boxes[k].cls = dets[k].cls;
            }
            if (o.json) { /* one document: per image its path and every detection */
                char im[1024];
                sn_json_escape(path, im, sizeof im);
                printf("%s\n  {\"path\": \"%s\", \"detections\": [", first_json ? "" : ",", im);
                for (int k = 0; k < n; k++) {
                    char nm[256], num[16];
                    snprintf(num, sizeof num, "%d", dets[k].cls);
                    sn_json_escape(dets[k].cls < meta.nnames && meta.names &&
                                           meta.names[dets[k].cls][0]
                                       ? meta.names[dets[k].cls]
                                       : num,
                                   nm, sizeof nm);
                    printf("%s\n    {\"xyxy\": [%.3f, %.3f, %.3f, %.3f], \"conf\": %.6f, "
                           "\"cls\": %d, \"name\": \"%s\"}",
                           k ? "," : "", dets[k].box[0], dets[k].box[1], dets[k].box[2],
                           dets[k].box[3], dets[k].conf, dets[k].cls, nm);
                }
                printf("%s]}", n ? "\n  " : "");
                first_json = 0;
            }
            if (o.save_txt) {
                char lp[4400], stem[1024];
                snprintf(stem, sizeof stem, "%s", base_name(path));
                char *dot = strrchr(stem, '.');
                if (dot)
                    *dot = 0;
                if (snprintf(lp, sizeof lp, "%s/labels/%s.txt", dir, stem) >= (int)sizeof lp) {
                    fprintf(stderr, "sinter detect: error: %s: path too long\n", sn_cli_show(path));
                    failed = 1;
                    break;
                }
                char *txt = NULL;
                size_t tl = 0;
                FILE *f = open_memstream(&txt, &tl);
                for (int k = 0; f && k < n; k++) {
                    const float *bx = dets[k].box;
                    float w = (float)img[b].w, h = (float)img[b].h;
                    fprintf(f, "%d %.6g %.6g %.6g %.6g", dets[k].cls, (bx[0] + bx[2]) / 2 / w,
                            (bx[1] + bx[3]) / 2 / h, (bx[2] - bx[0]) / w, (bx[3] - bx[1]) / h);
                    if (o.save_conf)
                        fprintf(f, " %.6g", dets[k].conf);
                    fputc('\n', f);
                }
                if (f)
                    fclose(f);
                if (!txt || sn_write_atomic(lp, txt, tl, err, sizeof err) != SN_OK) {
                    fprintf(stderr, "sinter detect: error: %s\n", txt ? err : "out of memory");
                    failed = 1;
                }
                free(txt);
            }
            if (!o.nosave) {
                char op[4400];
                if (snprintf(op, sizeof op, "%s/%s", dir, base_name(path)) >= (int)sizeof op) {
                    fprintf(stderr, "sinter detect: error: %s: path too long\n", sn_cli_show(path));
                    failed = 1;
                    break;
                }
                const char *const *names = (const char *const *)meta.names;
                if (sn_io_annotate(img[b].data, img[b].w, img[b].h, boxes, n, names, meta.nnames,
                                   err, sizeof err) != SN_OK ||
                    sn_io_image_write(op, img[b].data, img[b].w, img[b].h, err, sizeof err) !=
                        SN_OK) {
                    fprintf(stderr, "sinter detect: error: %s\n", err);
                    failed = 1;
                }
            }
        }
        for (int k = 0; k < nb; k++)
            if (okb[k])
                sn_io_image_free(&img[k]);
        double t3 = sn_rt_now();
        t_pre += t1 - t0;
        t_inf += t2 - t1;
        t_post += t3 - t2;
        if (failed)
            goto done;
    }
    if (o.json)
        printf("\n]\n");
    fprintf(stderr,
            "Speed: %.1fms preprocess, %.1fms inference, %.1fms postprocess per image at shape "
            "(%d, 3, %d, %d)\n",
            t_pre * 1e3 / src.n, t_inf * 1e3 / src.n, t_post * 1e3 / src.n, B, imgsz_h, imgsz_w);
    if (dir[0])
        fprintf(stderr, "Results saved to %s\n", sn_cli_show(dir));
    if (nfail) {
        fprintf(stderr, "sinter detect: error: %d of %d images could not be read\n", nfail, src.n);
        goto done;
    }
    rc = 0;
done:
    sn_io_strings_free(&src);
    free(x), free(y), free(dets), free(boxes);
    sn_io_pt_meta_free(&meta);
    sn_exec_free(e);
    sn_session_free(s);
    return rc;
}
