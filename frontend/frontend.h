/* frontend/frontend.h — the model language. (The files users bring — weights, tensors — are
 * io/io.h; reading and writing files and escaping user text for messages are base/base.h.)
 *
 * The model language is specified in docs/language.md. Loading a model = lex → parse →
 * elaborate: blocks are expanded, the model's scale rules applied, and an ir graph is built
 * for one concrete (batch, height, width). Parameter names equal Ultralytics state_dict keys.
 *
 * Diagnostics for the language are written as
 *     models/yolov8.sn:42:17: error: unknown block 'C2ff'
 *         2:  -1  3  C2ff(128, true)
 *                    ^
 * and loading reports every error it finds (up to a limit), not just the first.
 */
#ifndef SN_FRONTEND_H
#define SN_FRONTEND_H

#include "ir/ir.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- models */

typedef struct sn_fe_options {
    const char *scale; /* "n", "s", …; NULL = from the zoo name, else the model's first scale */
    int nc;            /* number of classes; <= 0 = the model's default */
    int batch;         /* >= 1 */
    int height, width; /* input size in pixels; each divisible by 32 */
    FILE *diag;        /* where diagnostics go; NULL = stderr */
} sn_fe_options;

void sn_fe_options_default(sn_fe_options *o); /* batch 1, 640x640, nc/scale from the model */

/* One row of the model's layer table, as Ultralytics' parse_model log prints it. */
typedef struct sn_fe_layer {
    int index;
    int from[16];
    int nfrom;
    int repeats;     /* after depth scaling */
    char module[32]; /* "Conv", "C2f", "Detect", "upsample", … */
    char args[160];  /* resolved arguments, e.g. "[3, 16, 3, 2]" */
    int64_t params;  /* parameters named model.<index>.* */
} sn_fe_layer;

typedef struct sn_fe_model {
    sn_ir_graph *graph;  /* owned; one INPUT "images" [B,3,H,W], one output */
    sn_fe_layer *layers; /* owned */
    int nlayers;
    char name[64];  /* "yolov8n" */
    char path[512]; /* the model file */
    char scale[8];
    int nc;
    int batch, height, width;
} sn_fe_model;

/* MODEL is a path to a .sn file, or a zoo name ("yolov8n", "yolo11s", "yolov5nu"). On error
 * returns a status, prints diagnostics to o->diag and leaves *out NULL. */
sn_status sn_fe_model_load(const char *model, const sn_fe_options *o, sn_fe_model **out);
void sn_fe_model_free(sn_fe_model *m);

/* Resolves a zoo name to its model file and scale: "yolov8n" → "<models>/yolov8.sn", "n";
 * "yolov5nu" → "<models>/yolov5u.sn", "n". A name that is an existing file is returned as is
 * (scale ""). The models directory is $SINTER_MODELS, else the one this build was made from,
 * else <exe>/../share/sinter/models. Returns SN_ERR_INVALID for an unknown name. */
sn_status sn_fe_resolve(const char *model, char *path, size_t pathlen, char *scale,
                        size_t scalelen);

#ifdef __cplusplus
}
#endif
#endif /* SN_FRONTEND_H */
