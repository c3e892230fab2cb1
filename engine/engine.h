/* engine/engine.h — the engine's internal interface, for cli/ (which also prints what a
 * compile measured) and for the public API (engine/api.c, include/sinter.h).
 *
 * The engine drives the modules: model file (frontend) → weights (frontend/io) → the pass
 * pipeline (passes) → codegen (a row of the backend table) → kernel cache and compile jobs
 * (runtime) → a plan (runtime). The pass order itself lives in passes/pipeline.c. */
#ifndef SN_ENGINE_H
#define SN_ENGINE_H

#include "codegen/codegen.h"
#include "frontend/frontend.h"
#include "io/io.h"
#include "runtime/runtime.h"
#include "sinter.h"

#include <stdio.h>

/* Loads o->model at o's scale, nc, batch (as given: the frontend refuses one outside
 * 1..4096) and size (0 = 640; one of height/width given = square); diagnostics go to diag.
 * o->weights, dtype and eager are not looked at. */
sn_status sn_eng_load(const sn_model_options *o, FILE *diag, sn_fe_model **m);

/* A session (include/sinter.h), shared by api.c and train.c. */
struct sn_session {
    const sn_cg_backend *backend; /* NULL: ref */
    sn_rt_device *dev;
    int threads, arch;
    char *cache_dir;
    char err[4096];
};

/* sn_eng_load for a session: batch 0 = 1, the frontend's diagnostics captured into s->err. */
sn_status sn_eng_load_model(sn_session *s, const sn_model_options *o, sn_fe_model **m);

typedef struct sn_eng_build {
    const sn_cg_backend *backend; /* a row of the backend table */
    int eager;
    sn_dtype dtype;
    int arch; /* cuda: sm; 0 = the device's */
    int threads;
    const char *dump_dir;
    const char *cache_dir; /* NULL = default */
} sn_eng_build;

typedef struct sn_eng_compiled {
    sn_cg_program *prog;
    sn_cg_target target;
    sn_rt_device *dev;  /* borrowed from the caller, or NULL (compile only) */
    sn_rt_state *state; /* the weights (slot 0), bound by plan; NULL when compile only */
    sn_rt_plan *plan;   /* NULL when compile only */
    int ir_ops;         /* compute ops before passes */
    int kernels;
    int library_steps; /* GEMM steps (cuBLASLt) in place of kernels */
    int unique_images;
    int64_t hits, misses, corrupt;
    int64_t peak_bytes; /* arena */
    int64_t weight_bytes;
    double t_passes, t_codegen, t_compile, t_plan; /* seconds */
    double t_ready;                                /* sn_rt_now() when the plan was ready to run */
} sn_eng_compiled;

/* Compiles g (consumed: the passes edit it) for b. dev may be NULL for compile-only. An
 * unsupported dtype for the backend is an error (the row's capabilities). */
sn_status sn_eng_compile(sn_ir_graph *g, const sn_eng_build *b, sn_rt_device *dev,
                         sn_eng_compiled *out, char *err, size_t errlen);
void sn_eng_compiled_free(sn_eng_compiled *c);

/* Binds new weights to a compiled plan without compiling a kernel: g (consumed) is the same
 * model with the new weights bound; it goes through the same passes and codegen, and its
 * packed weights replace the plan's once every kernel is found unchanged (same count, names
 * and specs, same blob size). On any error the plan keeps its old weights. */
sn_status sn_eng_rebind_weights(sn_eng_compiled *c, sn_ir_graph *g, const sn_eng_build *b,
                                char *err, size_t errlen);
/* For g already through the passes — the graph c was compiled from, with new PARAM values (a
 * trainer's updated weights, which must be finite): only the weights blob is made again
 * (sn_cg_lower_weights: no kernel rendered but the packing convs') and copied in. */
sn_status sn_eng_repack_weights(sn_eng_compiled *c, const sn_ir_graph *g, char *err, size_t errlen);

/* ---------------------------------------------------------------- detections (engine/nms.c) */

typedef struct sn_nms_options {
    float conf, iou;    /* 0.25, 0.7 (Ultralytics' predict defaults) */
    int max_det;        /* 300 */
    int max_nms;        /* 30000 */
    int max_wh;         /* 7680: the per-class box offset */
    int agnostic;       /* one NMS over all classes */
    int multi_label;    /* every class above conf, not only the best */
    const int *classes; /* keep only these classes (NULL: all) */
    int nclasses;
} sn_nms_options;
void sn_nms_options_default(sn_nms_options *o);

typedef struct sn_det {
    float box[4]; /* x1 y1 x2 y2 */
    float conf;
    int cls;
} sn_det;

/* Ultralytics' non_max_suppression for one image of the Detect output: pred is (4 + nc, A)
 * row-major (cx cy w h in input pixels, then class scores). Writes up to o->max_det
 * detections to out, in score order. SN_ERR_NOMEM only. */
sn_status sn_nms(const float *pred, int64_t A, int nc, const sn_nms_options *o, sn_det *out,
                 int *nout);
/* Ultralytics' scale_boxes + clip_boxes: boxes on the (in_h, in_w) letterboxed input back to
 * the original (img_h, img_w) image. */
void sn_scale_boxes(sn_det *d, int n, int in_h, int in_w, int img_h, int img_w);

/* ---------------------------------------------------------------- runs (engine/runs.c) */

/* The MODEL argument of run, detect and val: a zoo name or model file (copied to model), or an
 * Ultralytics .pt checkpoint, whose family and scale give model ("yolov8n", "yolov5nu"), its nc
 * and names go to meta and the file itself becomes *weights (a *weights given too is refused:
 * which weights were meant?). With a zoo name or model file and *weights a .pt, that
 * checkpoint's nc and names go to meta (none from a plain state_dict); meta is zeroed
 * otherwise. The caller frees it (sn_io_pt_meta_free). Errors: the .pt reader's, a .pt that
 * does not say which model it holds, a MODEL longer than n. */
sn_status sn_eng_model_arg(const char *arg, char *model, size_t n, const char **weights,
                           sn_io_pt_meta *meta, char *err, size_t errlen);
/* Makes PROJECT/NAME, or NAME2, NAME3, … when it exists (Ultralytics' increment_path; PROJECT
 * made with its parents), its path in dir. */
sn_status sn_eng_run_dir(const char *project, const char *name, char *dir, size_t n, char *err,
                         size_t errlen);

/* ---------------------------------------------------------------- progress (engine/progress.c) */

/* The progress bar of val and detect on log (NULL: nothing), as tqdm draws Ultralytics' bars:
 * "DESC: 45% |#########           | 9/20 [1.2s]", seconds since t0 (sn_rt_now's clock). On a
 * terminal each call redraws it in place and done == total ends the line; on anything else
 * only done == total writes it, once. */
void sn_progress_draw(FILE *log, const char *desc, int done, int total, double t0);
/* Erases a bar being drawn on a terminal (nothing elsewhere), so a line can be printed above
 * it before it is drawn again. */
void sn_progress_clear(FILE *log);
/* Whether log is a terminal: where a bar is redrawn in place. */
int sn_progress_tty(FILE *log);

/* ---------------------------------------------------------------- validation (engine/val.c) */

enum {
    SN_VAL_NIOU = 10, /* IoU thresholds 0.50:0.05:0.95 */
    SN_VAL_NPX = 1000 /* points of the confidence and PR curves */
};

/* What one validation accumulates: per detection its correctness at each IoU threshold, score
 * and class; per label its class; per class the images that hold it; the confusion matrix. */
typedef struct sn_val_stats sn_val_stats;
sn_status sn_val_stats_new(int nc, sn_val_stats **out);
void sn_val_stats_free(sn_val_stats *s);
int sn_val_stats_images(const sn_val_stats *s);
/* One image, as DetectionValidator.update_metrics takes it: d[0..nd) its detections in NMS
 * order (descending score), labels lcls[i] with boxes lbox[4i..4i+4) (x1 y1 x2 y2) in the same
 * pixels as the detections' boxes (Ultralytics: the letterboxed input's). Detections are matched
 * to labels as match_predictions does; the confusion matrix counts detections with score >
 * cm_conf (the validator passes its conf). Classes outside [0, nc): SN_ERR_INVALID. */
sn_status sn_val_stats_add(sn_val_stats *s, const sn_det *d, int nd, const int *lcls,
                           const float *lbox, int nl, float cm_conf);

/* One class that has labels (Ultralytics' ap_class_index). */
typedef struct sn_val_class {
    int cls;
    int64_t images, instances; /* images holding it, its labels */
    double p, r, f1;           /* at the max-mean-F1 confidence */
    double ap50, ap75, ap;     /* ap: the mean over the 10 thresholds */
} sn_val_class;

/* ap_per_class and Metric's means, exactly as Ultralytics computes them. */
typedef struct sn_val_metrics {
    int nc, images;
    int64_t instances;
    double mp, mr, map50, map75, map, fitness; /* fitness: mAP50-95 (Metric.fitness in 8.4) */
    int nclass;                                /* classes with labels */
    sn_val_class *cls;                         /* nclass, ascending class id */
    double *ap;                                /* nclass × 10 */
    double px[SN_VAL_NPX];                     /* 0 … 1 */
    double *p_curve, *r_curve, *f1_curve;      /* nclass × 1000, by confidence px */
    double *prec;                              /* nclass × 1000: precision at recall px, IoU 0.5 */
    int best;                                  /* the index of px the P, R, F1 are taken at */
    double *cm; /* (nc + 1) × (nc + 1) [predicted][true], last: background */
} sn_val_metrics;
sn_status sn_val_metrics_compute(const sn_val_stats *s, sn_val_metrics *m);
void sn_val_metrics_free(sn_val_metrics *m);

/* ---------------------------------------------------------------- `sinter val` (engine/val_run.c)
 */

typedef struct sn_val_options {
    const char *data;  /* data.yaml */
    const char *split; /* "val" (train, val or test) */
    int imgsz;         /* 640: a multiple of 32 */
    int batch;         /* 32 */
    float conf, iou;   /* 0.001, 0.7 */
    int max_det;       /* 300 */
    int save_json;     /* keep the COCO predictions (pred_json) */
    FILE *log;         /* the scan, warnings, the progress bar; NULL: silent */
    int progress;      /* draw the progress bar on log */
} sn_val_options;
void sn_val_options_default(sn_val_options *o);

typedef struct sn_val_result {
    sn_val_metrics m;
    sn_io_data data; /* the data.yaml read (names, root) */
    int listed;      /* images the split lists */
    int images;      /* images validated */
    int broken;      /* images that could not be read: left out */
    int backgrounds; /* images without labels: no label file, or an empty one */
    int empty;       /* images with an empty label file */
    int orphans;     /* label files in the labels folders no image of the split names */
    int model_nc;    /* the model's classes */
    int shapes;      /* batch shapes compiled */
    double t_pre, t_inf, t_post, t_compile; /* seconds in all */
    char *pred_json;                        /* with save_json: predictions.json's text */
    size_t pred_json_len;
} sn_val_result;

/* Ultralytics' DetectionValidator on a dataset: the split's images in rectangular batches,
 * the model compiled (through s) once per batch shape from mo (batch, height, width set here;
 * nc 0 = the dataset's), NMS, the metrics. A broken image is counted (r->broken) and left out;
 * a bad label file, data.yaml or split is an error naming it. On error r holds nothing to free
 * but what sn_val_result_free frees. */
sn_status sn_val_run(sn_session *s, const sn_model_options *mo, const sn_val_options *vo,
                     sn_val_result *r, char *err, size_t errlen);
void sn_val_result_free(sn_val_result *r);

/* Class names for the report: v[c] for class c (NULL or "" shows the number). */
typedef struct sn_val_names {
    char **v;
    int n;
} sn_val_names;
/* Ultralytics' table: header, the `all` row, a row per class with labels (more than one
 * class). Names are escaped for the terminal. */
void sn_val_print_table(const sn_val_result *r, const sn_val_names *names, FILE *f);
/* The metrics as one JSON document: mAP50, mAP50-95, precision, recall, fitness, mAP75,
 * counts, speed per image (ms), and per class its id, name, images, instances, precision,
 * recall, mAP50, mAP50-95. */
void sn_val_write_json(const sn_val_result *r, const sn_val_names *names, FILE *f);
/* The PR, F1, P and R curves (BoxPR_curve.png, …; when some class has labels) and the
 * confusion matrices (confusion_matrix.png, confusion_matrix_normalized.png) into dir. */
sn_status sn_val_plot(const sn_val_result *r, const sn_val_names *names, const char *dir, char *err,
                      size_t errlen);

#endif
