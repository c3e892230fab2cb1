/* cli/val.c — `sinter val`: Ultralytics' `yolo val` on a dataset (engine/val_run.c does the
 * work, engine/val_report.c the table, JSON and plots); this file reads the arguments. */
#include "cli/cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: sinter val MODEL|W.pt --data data.yaml [--split val] [--imgsz 640] [--batch 32]\n"
    "                  [--conf 0.001] [--iou 0.7] [--max-det 300] [--weights W] [--backend B]\n"
    "                  [--dtype D] [--project runs/val] [--name exp] [--save-json]\n"
    "                  [--plots|--no-plots] [--json]\n"
    "\n"
    "Ultralytics' val on a dataset in its layout (data.yaml: path, train/val/test as a folder,\n"
    "a txt list of images or a list of those, names, nc; labels/ beside images/, rows\n"
    "'cls cx cy w h' normalised): rectangular batches, multi-label NMS, and its metrics exactly\n"
    "(P, R, mAP50, mAP50-95 with 101-point interpolation). Prints its table (on stderr with\n"
    "--json, which prints the metrics as one JSON document on stdout) and writes metrics.json,\n"
    "with --save-json predictions.json (COCO: image_id, category_id, bbox x y w h, score), and\n"
    "the PR, F1, P and R curves and confusion matrices as PNG to PROJECT/NAME (exp, exp2, …).\n"
    "Images that cannot be read are left out, counted, and make the exit status 1.\n";

int sn_cmd_val(int argc, char **argv) {
    if (sn_cli_help(argc, argv, help))
        return 0;
    sn_cli_opts o;
    if (sn_cli_parse(argc, argv, "val",
                     "--data --split --weights --imgsz --conf --iou --max-det --batch --backend "
                     "--dtype --project --name --save-json --plots --no-plots --json --threads "
                     "--nc --scale",
                     &o))
        return 2;
    if (!o.model || !o.data) {
        fprintf(stderr, "sinter val: error: MODEL and --data are required\n%s", help);
        return 2;
    }
    if (o.height != o.width) {
        fprintf(stderr, "sinter val: error: --imgsz is one size (the long side), got %dx%d\n",
                o.height, o.width);
        return 2;
    }
    char err[4096], model[4096], dir[4096] = "";
    const char *weights = o.weights;
    sn_io_pt_meta meta;
    sn_session *s = NULL;
    sn_val_result r = {0};
    int rc = 1;
    if (sn_eng_model_arg(o.model, model, sizeof model, &weights, &meta, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter val: error: %s\n", err);
        return 1;
    }
    sn_session_options so = {.backend = o.backend, .threads = o.threads};
    if (sn_session_new(&so, &s) != SN_OK) {
        fprintf(stderr, "sinter val: error: %s\n", sn_session_error(s));
        goto done;
    }
    sn_model_options mo = {.model = model,
                           .scale = o.scale,
                           .nc = o.nc > 0 ? o.nc : meta.nc,
                           .weights = weights,
                           .dtype = o.dtype};
    sn_val_options vo;
    sn_val_options_default(&vo);
    vo.data = o.data;
    if (o.split)
        vo.split = o.split;
    if (o.height > 0)
        vo.imgsz = o.height;
    for (int i = 0; i < argc; i++) /* sn_cli_parse's default batch is 1: a given one counts */
        if (!strcmp(argv[i], "--batch"))
            vo.batch = o.batch;
    if (vo.batch > 64) {
        fprintf(stderr, "sinter val: error: --batch %d: at most 64 images per batch\n", vo.batch);
        goto done;
    }
    if (!isnan(o.conf))
        vo.conf = (float)o.conf;
    if (!isnan(o.iou))
        vo.iou = (float)o.iou;
    if (o.max_det > 0)
        vo.max_det = o.max_det;
    vo.save_json = o.save_json;
    vo.log = stderr;
    vo.progress = 1;
    if (sn_val_run(s, &mo, &vo, &r, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter val: error: %s\n", err);
        goto done;
    }
    /* names: the checkpoint's, else the dataset's */
    sn_val_names nm = {meta.names ? meta.names : r.data.names.v,
                       meta.names ? meta.nnames : r.data.names.n};
    sn_val_print_table(&r, &nm, o.json ? stderr : stdout);
    if (sn_eng_run_dir(o.project ? o.project : "runs/val", o.name ? o.name : "exp", dir, sizeof dir,
                       err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter val: error: %s\n", err);
        goto done;
    }
    char path[4200];
    char *doc = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&doc, &len);
    if (!f) {
        fprintf(stderr, "sinter val: error: out of memory\n");
        goto done;
    }
    sn_val_write_json(&r, &nm, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/metrics.json", dir);
    sn_status st = sn_write_atomic(path, doc, len, err, sizeof err);
    if (st == SN_OK && o.json)
        fwrite(doc, 1, len, stdout);
    free(doc);
    if (st == SN_OK && r.pred_json) {
        snprintf(path, sizeof path, "%s/predictions.json", dir);
        st = sn_write_atomic(path, r.pred_json, r.pred_json_len, err, sizeof err);
    }
    if (st == SN_OK && o.plots)
        st = sn_val_plot(&r, &nm, dir, err, sizeof err);
    if (st != SN_OK) {
        fprintf(stderr, "sinter val: error: %s\n", err);
        goto done;
    }
    double n = r.images ? r.images : 1;
    fprintf(stderr,
            "Speed: %.1fms preprocess, %.1fms inference, %.1fms postprocess per image (%d batch "
            "shape%s compiled in %.1fs)\n",
            r.t_pre * 1e3 / n, r.t_inf * 1e3 / n, r.t_post * 1e3 / n, r.shapes,
            r.shapes == 1 ? "" : "s", r.t_compile);
    fprintf(stderr, "Results saved to %s\n", sn_cli_show(dir));
    if (r.broken) {
        fprintf(stderr, "sinter val: error: %d of %d images could not be read\n", r.broken,
                r.listed);
        goto done;
    }
    rc = 0;
done:
    sn_val_result_free(&r);
    sn_io_pt_meta_free(&meta);
    sn_session_free(s);
    return rc;
}
