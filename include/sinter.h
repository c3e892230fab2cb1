/* sinter.h — Sinter's embedding API: compile a YOLO model and run it from C.
 *
 * Sinter is a JIT graph compiler for YOLO detection models. A model (a zoo name such as
 * "yolov8n", or a model file in Sinter's model language) is lowered to a graph IR, fused, and
 * compiled at run time for a backend — "cpu" (LLVM), "cuda" (NVRTC) — through an on-disk
 * kernel cache; or evaluated by "ref", the plain-C reference evaluator every compiled path is
 * tested against.
 *
 *     sn_session *s;
 *     sn_session_options so = {.backend = "cpu"};
 *     if (sn_session_new(&so, &s) != SN_OK) ...             // sn_session_error(s) says why
 *     sn_exec *e;
 *     sn_model_options mo = {.model = "yolov8n", .weights = "yolov8n.safetensors"};
 *     if (sn_compile(s, &mo, &e) != SN_OK) ...
 *     float *x = ..., *y = ...;                              // sn_exec_input/output_shape
 *     sn_exec_run(e, x, y);                                  // y: (B, 4+nc, anchors)
 *     sn_exec_free(e);
 *     sn_session_free(s);
 *
 * Conventions:
 *  - Every call returns an sn_status; on failure the session keeps a message that names what
 *    failed (the file and line of a model file, the tensor of a weights file, the option) —
 *    sn_session_error. Nothing is printed.
 *  - Handles are opaque. A session owns its device and its kernel cache handle; execs borrow
 *    the session and must be freed before it. One thread at a time per session.
 *  - Tensors cross the API as float32, NCHW, contiguous, whatever the backend computes in.
 *  - The input is (B, 3, H, W) RGB in [0, 1]; the output is Ultralytics' decoded Detect
 *    output (B, 4+nc, anchors): cx, cy, w, h in input pixels, then the class scores.
 *  - Weights are safetensors keyed by Ultralytics state_dict names
 *    ("model.0.conv.weight"), f32/f16/bf16, an Ultralytics .pt checkpoint (read without
 *    Python, nothing in it executed), or "random[:SEED]".
 *
 * Link with `find_package(Sinter)` → `Sinter::sinter`, or `pkg-config --libs sinter`.
 */
#ifndef SINTER_H
#define SINTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SINTER_VERSION_MAJOR 0
#define SINTER_VERSION_MINOR 1

#include "sinter_status.h"

/* "ok", "invalid input", … */
const char *sn_status_str(sn_status s);
/* "0.1.0" */
const char *sn_version(void);

/* ---------------------------------------------------------------- sessions */

typedef struct sn_session sn_session;

typedef struct sn_session_options {
    const char *backend;   /* "ref", "cpu" or "cuda"; NULL = cuda when a GPU is present, else
                            * cpu */
    int threads;           /* cpu worker threads; 0 = the cores this process may use */
    const char *cache_dir; /* kernel cache; NULL = $SINTER_CACHE_DIR, else
                            * $XDG_CACHE_HOME/sinter */
    int arch;              /* cuda: compute capability × 10 to compile for; 0 = the device's */
} sn_session_options;

/* Opens the backend's device. opts may be NULL (all defaults). On failure *out is still a
 * session (or NULL when out of memory) whose sn_session_error says why; free it. */
sn_status sn_session_new(const sn_session_options *opts, sn_session **out);
void sn_session_free(sn_session *s);
/* "cpu", "cuda", "ref" */
const char *sn_session_backend(const sn_session *s);
/* The message of the last failed call on s or one of its execs ("" when none). */
const char *sn_session_error(const sn_session *s);

/* ---------------------------------------------------------------- compiled models */

typedef struct sn_exec sn_exec;

typedef struct sn_model_options {
    const char *model;   /* zoo name ("yolov8n", "yolo11s", "yolov5nu") or a .sn file */
    const char *scale;   /* "n", "s", …; NULL = from the zoo name, else the model's first */
    int nc;              /* classes; 0 = the model's default (80) */
    int batch;           /* 0 = 1 */
    int height, width;   /* input size, multiples of 32; 0 = 640 */
    const char *weights; /* .safetensors or .pt path, or "random[:SEED]"; NULL = "random:0" */
    const char *dtype;   /* "f32" (NULL), "f16", "bf16" — where the backend offers it */
    int eager;           /* 1: one kernel per op (no fusion, no BatchNorm folding) */
} sn_model_options;

/* Loads the model, binds its weights and compiles it (kernels through the cache). */
sn_status sn_compile(sn_session *s, const sn_model_options *o, sn_exec **out);
void sn_exec_free(sn_exec *e);

/* The input's and output's shapes: writes up to 8 dims, returns the rank. */
int sn_exec_input_shape(const sn_exec *e, int64_t dims[8]);
int sn_exec_output_shape(const sn_exec *e, int64_t dims[8]);

/* One forward pass: input holds the input's numel floats, output receives the output's. */
sn_status sn_exec_run(sn_exec *e, const float *input, float *output);

/* Replaces the weights (a .safetensors or .pt path, or "random[:SEED]") without compiling:
 * the next run gives exactly what a fresh sn_compile with these weights gives. Weights of
 * another model or size are refused; on any error the old weights stay. */
sn_status sn_exec_load_weights(sn_exec *e, const char *weights);

/* The model's parameters (its state), by Ultralytics state_dict name, as bound — before
 * BatchNorm folding or layout changes. */
int sn_exec_num_weights(const sn_exec *e);
/* The i-th parameter's name, NULL past the end. */
const char *sn_exec_weight_name(const sn_exec *e, int i);
/* Element count of the named parameter; -1 when there is none. */
int64_t sn_exec_weight_numel(const sn_exec *e, const char *name);
/* Copies the named parameter (n floats, n = its numel) into data. */
sn_status sn_exec_read_weight(sn_exec *e, const char *name, float *data, int64_t n);

/* ---------------------------------------------------------------- training
 *
 * A trainer runs Ultralytics' training step on a model: forward in training mode (BatchNorm
 * on batch statistics), v8DetectionLoss, backward, the gradients clipped to a total norm of
 * max_norm, then the optimizer update with Ultralytics' parameter groups (conv/linear weights
 * with weight decay; BatchNorm weights and every bias without; the DFL conv frozen) and the
 * BatchNorm running statistics (momentum 0.03, unbiased batch variance). Learning rate,
 * momentum and decay may change between steps (sn_trainer_set) without any rebuild. */
typedef struct sn_trainer sn_trainer;

typedef struct sn_trainer_options {
    const char *optimizer; /* "SGD" (default: momentum, Nesterov, coupled L2 decay) or "AdamW"
                            * (decoupled decay, betas (momentum, 0.999), eps 1e-8) */
    double lr;             /* 0.01 */
    double momentum;       /* 0.937 */
    double weight_decay;   /* 0.0005, applied as given (no scaling by batch size) */
    double max_norm;       /* gradient clipping: 10 */
    int accumulate;        /* gradient accumulation: the optimizer steps every N-th call of
                            * sn_trainer_step, on the sum of the N gradients (as Ultralytics'
                            * trainer: the loss is not divided by N); 1 = every call */
    int ema;               /* 1: keep Ultralytics' ModelEMA of the weights (and BatchNorm
                            * statistics): after each optimizer step, v = d v + (1 - d) w with
                            * d = 0.9999 (1 - exp(-steps / 2000)) */
} sn_trainer_options;

void sn_trainer_options_default(sn_trainer_options *o);

/* A trainer for model m (its batch and size fix the step's; weights as sn_compile takes them;
 * m->eager: one kernel per op). The step runs on the session's backend: ref, or the cpu, where
 * it is compiled as one plan at the first step (and again when a batch needs more boxes per
 * image than the plan holds); a cuda session gets SN_ERR_UNSUPPORTED (no CUDA kernels for the
 * backward ops yet). */
sn_status sn_trainer_new(sn_session *s, const sn_model_options *m, const sn_trainer_options *o,
                         sn_trainer **out);
void sn_trainer_free(sn_trainer *t);
/* Changes lr, momentum and weight decay for the next steps (optimizer and max_norm stay). */
sn_status sn_trainer_set(sn_trainer *t, double lr, double momentum, double weight_decay);

/* One step on images (B, 3, H, W) float32 in [0, 1] and nlabels label rows of 6 floats
 * (batch_idx, cls, cx, cy, w, h; the box normalised to the image), Ultralytics' batch layout.
 * loss receives (box, cls, dfl) — Ultralytics' loss items — and their sum times the batch
 * size, the value the gradients are of. A loss that is not finite fails the step
 * (SN_ERR_INVALID, naming it) and leaves the weights as they were. */
sn_status sn_trainer_step(sn_trainer *t, const float *images, const float *labels, int64_t nlabels,
                          double loss[4]);
/* The last optimizer step's total gradient norm, before clipping (0 before the first). */
double sn_trainer_grad_norm(const sn_trainer *t);
/* 1 when the last sn_trainer_step ended with an optimizer step (always, without accumulation). */
int sn_trainer_stepped(const sn_trainer *t);
/* Writes the weights and BatchNorm running statistics (Ultralytics names, f32 safetensors),
 * atomically. */
sn_status sn_trainer_save(sn_trainer *t, const char *path);
/* Writes the last sn_trainer_step's gradients (before accumulation and clipping), one tensor per
 * trainable parameter. */
sn_status sn_trainer_save_grads(sn_trainer *t, const char *path);
/* Writes the EMA weights (options.ema), every parameter and BatchNorm statistic, f32. */
sn_status sn_trainer_save_ema(sn_trainer *t, const char *path);
const char *sn_trainer_error(const sn_trainer *t);

/* What the compiled step is (zeros on ref, or before the first step). */
typedef struct sn_trainer_stats {
    int ir_ops;          /* compute ops of the training graph (forward, loss, backward) */
    int kernels;         /* generated kernels of its plan */
    int host_steps;      /* steps run by functions of Sinter's own (backward ops, the loss) */
    int64_t arena_bytes; /* the plan's memory for every intermediate, saved activations too */
    int64_t weight_bytes;
    double compile_s; /* passes + codegen + compile + plan of the last build */
} sn_trainer_stats;
void sn_trainer_stats_get(const sn_trainer *t, sn_trainer_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* SINTER_H */
