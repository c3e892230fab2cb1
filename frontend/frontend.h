/* frontend/frontend.h — the model language and the files users bring (weights, tensors).
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

/* ---------------------------------------------------------------- tensors */

typedef struct sn_fe_tensor {
    char *name;     /* owned */
    sn_dtype dtype; /* as stored in the file */
    sn_shape shape;
    void *data; /* owned; numel * sn_dtype_size(dtype) bytes, host byte order */
} sn_fe_tensor;

typedef struct sn_fe_tensors {
    sn_fe_tensor *t;
    int n;
} sn_fe_tensors;

/* Frees every name and data array and the list; leaves *ts empty. NULL is fine. */
void sn_fe_tensors_free(sn_fe_tensors *ts);
/* Converts n elements of any float dtype to f32 / from f32 (host order; src and dst may be
 * unaligned for 2-byte dtypes). f16/bf16 → f32 is exact. f32 → f16/bf16 rounds to nearest,
 * ties to even; out of range gives ±inf, tiny values f16 subnormals or ±0; NaN stays NaN
 * (quiet, sign and leading payload bits kept). I32 is accepted too: to f32 by value, from
 * f32 rounding toward zero, saturating, NaN → 0. */
void sn_fe_to_f32(sn_dtype t, const void *src, float *dst, int64_t n);
void sn_fe_from_f32(sn_dtype t, const float *src, void *dst, int64_t n);

/* safetensors: F32, F16, BF16 (others are rejected by name). Errors name the path and, for a
 * bad entry, the tensor. Reading validates the header fully (offsets in bounds, sizes equal
 * shape × dtype, no overlap) before trusting it.
 *
 * The rules, exactly: an 8-byte little-endian header length N with N <= 100 MB and
 * 8 + N <= file size; the header is strict JSON (RFC 8259, UTF-8, nesting depth <= 64) whose
 * top level is an object starting at the header's first byte, followed only by whitespace.
 * Its keys are unique. "__metadata__", if present, must be an object (its contents are
 * checked as JSON and ignored). Every other key is a tensor: an object with exactly "dtype"
 * (string), "shape" (array of at most SN_MAX_DIMS non-negative integers) and "data_offsets"
 * ([begin, end] integers, begin <= end, relative to the end of the header, end within the
 * file, end - begin == numel × dtype size); non-empty ranges never overlap (gaps are allowed).
 * dtype I64 is accepted only for names ending in "num_batches_tracked" (BatchNorm's counter):
 * such entries are validated and then left out of the result. Tensors come back sorted by
 * name. */
sn_status sn_fe_safetensors_read(const char *path, sn_fe_tensors *out, char *err, size_t errlen);
/* The same from memory; `name` stands for the path in messages. The data is copied. */
sn_status sn_fe_safetensors_parse(const void *buf, size_t len, const char *name, sn_fe_tensors *out,
                                  char *err, size_t errlen);
/* Writes atomically (temp file + rename): a failure leaves any existing file untouched.
 * Dtypes F32/F16/BF16; names non-empty, unique and not "__metadata__". The header holds
 * {"__metadata__":{"format":"pt"}} and the tensors sorted by name, in that order in the
 * data too, and is padded with spaces so the data starts at a multiple of 8. */
sn_status sn_fe_safetensors_write(const char *path, const sn_fe_tensors *ts, char *err,
                                  size_t errlen);
/* The same bytes into *buf (malloc'ed; the caller frees it). */
sn_status sn_fe_safetensors_encode(const sn_fe_tensors *ts, void **buf, size_t *len, char *err,
                                   size_t errlen);

/* .npy: float32 / float16, C order, little-endian. Read converts to f32.
 * Reading accepts format versions 1.0, 2.0 and 3.0, descr '<f4' and '<f2' (float64, numpy's
 * default, is refused with a hint to convert), fortran_order False (True only for rank <= 1,
 * where it means the same), at most SN_MAX_DIMS dims, and exactly numel elements after the
 * header. *data is malloc'ed (at least one float, even when numel is 0). Writing
 * produces version 1.0 exactly as numpy's np.save does, dtype F32 ('<f4') or F16 ('<f2'),
 * atomically. */
sn_status sn_fe_npy_read(const char *path, sn_shape *shape, float **data, char *err, size_t errlen);
sn_status sn_fe_npy_parse(const void *buf, size_t len, const char *name, sn_shape *shape,
                          float **data, char *err, size_t errlen);
sn_status sn_fe_npy_write(const char *path, const sn_shape *shape, const float *data,
                          sn_dtype dtype, char *err, size_t errlen);
sn_status sn_fe_npy_encode(const sn_shape *shape, const float *data, sn_dtype dtype, void **buf,
                           size_t *len, char *err, size_t errlen);

/* ---------------------------------------------------------------- weights */

/* Binds a safetensors file to the graph's PARAMs by name, casting to f32. Every missing,
 * extra or mis-shaped tensor is named in err (several per message); `num_batches_tracked`
 * entries are accepted and ignored.
 * The whole file is checked against the graph before anything is bound, so on a mismatch
 * (SN_ERR_INVALID) or a bad file the graph is unchanged. Only an allocation failure while
 * binding (SN_ERR_NOMEM) can leave some PARAMs bound; callers discard the graph on error. */
sn_status sn_fe_weights_load(sn_ir_graph *g, const char *path, char *err, size_t errlen);
/* Deterministic random weights with realistic statistics (see sn_ir_init and weights.c):
 * drawn per PARAM from (seed, its name, shape, init kind), then calibrated without data so
 * activations stay at unit scale through the whole network for an input image in [0, 1):
 * BatchNorm running stats are set to their input's estimated per-channel statistics, and the
 * weights of convs not followed by a BatchNorm are scaled to unit output spread. The same seed
 * gives the same bits on every IEEE-754 platform and at every input size. Fills every live
 * PARAM (allocating its data); a PARAM whose data cannot be allocated is left without data. */
void sn_fe_weights_random(sn_ir_graph *g, uint64_t seed);
/* Parses a --weights argument: "random" (seed 0), "random:SEED" (SEED a decimal uint64) or a
 * path to a .safetensors file (write "./random" for a file named "random"). */
sn_status sn_fe_weights_apply(sn_ir_graph *g, const char *spec, char *err, size_t errlen);
/* Writes every PARAM of g (f32, or dtype: F32, F16 or BF16) to a safetensors file,
 * atomically. Every PARAM must have data. */
sn_status sn_fe_weights_save(const sn_ir_graph *g, const char *path, sn_dtype dtype, char *err,
                             size_t errlen);

/* ---------------------------------------------------------------- files */

/* Writes len bytes to path atomically (temp file ".sn.<hash>.<pid>.XXXXXX" in the same
 * directory + fsync + rename; stale temps of the same destination, left by a killed writer,
 * are removed first). On any failure the temp file is removed and an existing file at path is
 * left untouched. A new file gets mode 0666 & ~umask; a replaced file keeps its mode. A path
 * naming a character device or a FIFO (/dev/null, a named pipe) is written directly, without
 * creating, truncating or replacing it; a directory or other kind of file is refused. Errors
 * name the path and strerror. Every writer in this header (.npy, safetensors, weights) works
 * this way. */
sn_status sn_fe_write_atomic(const char *path, const void *data, size_t len, char *err,
                             size_t errlen);
/* Reads a whole regular file (NUL-terminated for convenience); *len excludes the NUL. *data
 * is malloc'ed; on error it is NULL. The open never blocks (O_NONBLOCK), and anything but a
 * regular file (FIFO, device, socket, directory) is refused before reading, so at most the
 * file's size is read. Errors name the path. All readers in this header use it. */
sn_status sn_fe_read_file(const char *path, char **data, size_t *len, char *err, size_t errlen);
/* Checks, before any work, that a command may write `out`: refused (SN_ERR_INVALID) when it
 * is the same file (st_dev and st_ino, so hard links and symlinks count) as one of the n
 * `inputs`: paths, or model names resolved as sn_fe_resolve does (NULL entries, names that
 * resolve to nothing and specs such as "random:0" are skipped); and (SN_ERR_IO)
 * when it is a directory or a file that is neither regular, a character device nor a FIFO.
 * A path that does not exist yet is fine. */
sn_status sn_fe_output_check(const char *out, const char *const *inputs, int n, char *err,
                             size_t errlen);

/* ---------------------------------------------------------------- showing user data */

/* Copies n bytes of s into buf as text safe to print on a terminal: control characters
 * (C0, DEL, C1), bidi and line-separator controls and U+FEFF become \xNN (below 0x80) or
 * \uNNNN, each byte of invalid UTF-8 becomes \xNN; everything else, printable non-ASCII
 * included, is copied unchanged. A result longer than buflen - 1 is cut at a character
 * boundary and ends in "...". Returns buf (or "" when buflen is 0). Use it on every path,
 * tensor name or source text echoed in a message. */
const char *sn_fe_escape_n(const char *s, size_t n, char *buf, size_t buflen);
/* The same for a NUL-terminated s (NULL gives ""). */
const char *sn_fe_escape(const char *s, char *buf, size_t buflen);

#ifdef __cplusplus
}
#endif
#endif /* SN_FRONTEND_H */
