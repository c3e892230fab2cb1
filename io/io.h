/* io/io.h — the files users bring: safetensors and .npy tensors, Ultralytics .pt checkpoints,
 * and weights bound to a graph by Ultralytics state_dict names (or generated: random weights
 * with realistic statistics).
 * The one public header of the io module; it depends on ir/ (weights bind to graph PARAMs)
 * and base/ (files, escaping). Every reader validates fully before trusting a byte; every
 * writer is atomic (base/base.h: sn_write_atomic). Errors name the path and the tensor. */
#ifndef SN_IO_H
#define SN_IO_H

#include "ir/ir.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- tensors */

typedef struct sn_io_tensor {
    char *name;     /* owned */
    sn_dtype dtype; /* as stored in the file */
    sn_shape shape;
    void *data; /* owned; numel * sn_dtype_size(dtype) bytes, host byte order */
} sn_io_tensor;

typedef struct sn_io_tensors {
    sn_io_tensor *t;
    int n;
} sn_io_tensors;

/* Frees every name and data array and the list; leaves *ts empty. NULL is fine. */
void sn_io_tensors_free(sn_io_tensors *ts);
/* Converts n elements of any float dtype to f32 / from f32 (host order; src and dst may be
 * unaligned for 2-byte dtypes). f16/bf16 → f32 is exact. f32 → f16/bf16 rounds to nearest,
 * ties to even; out of range gives ±inf, tiny values f16 subnormals or ±0; NaN stays NaN
 * (quiet, sign and leading payload bits kept). I32 is accepted too: to f32 by value, from
 * f32 rounding toward zero, saturating, NaN → 0. */
void sn_io_to_f32(sn_dtype t, const void *src, float *dst, int64_t n);
void sn_io_from_f32(sn_dtype t, const float *src, void *dst, int64_t n);

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
sn_status sn_io_safetensors_read(const char *path, sn_io_tensors *out, char *err, size_t errlen);
/* The same from memory; `name` stands for the path in messages. The data is copied. */
sn_status sn_io_safetensors_parse(const void *buf, size_t len, const char *name, sn_io_tensors *out,
                                  char *err, size_t errlen);
/* Writes atomically (temp file + rename): a failure leaves any existing file untouched.
 * Dtypes F32/F16/BF16; names non-empty, unique and not "__metadata__". The header holds
 * {"__metadata__":{"format":"pt"}} and the tensors sorted by name, in that order in the
 * data too, and is padded with spaces so the data starts at a multiple of 8. */
sn_status sn_io_safetensors_write(const char *path, const sn_io_tensors *ts, char *err,
                                  size_t errlen);
/* The same with more "__metadata__" entries after "format" (safetensors' metadata values are
 * strings): meta[2k] is a key, meta[2k+1] its value, k < nmeta; keys non-empty, unique and
 * not "format", keys and values valid UTF-8 (else SN_ERR_INVALID, nothing written). */
sn_status sn_io_safetensors_write_meta(const char *path, const sn_io_tensors *ts,
                                       const char *const *meta, int nmeta, char *err,
                                       size_t errlen);
/* The same bytes into *buf (malloc'ed; the caller frees it). */
sn_status sn_io_safetensors_encode(const sn_io_tensors *ts, void **buf, size_t *len, char *err,
                                   size_t errlen);

/* .npy: float32 / float16, C order, little-endian. Read converts to f32.
 * Reading accepts format versions 1.0, 2.0 and 3.0, descr '<f4' and '<f2' (float64, numpy's
 * default, is refused with a hint to convert), fortran_order False (True only for rank <= 1,
 * where it means the same), at most SN_MAX_DIMS dims, and exactly numel elements after the
 * header. *data is malloc'ed (at least one float, even when numel is 0). Writing
 * produces version 1.0 exactly as numpy's np.save does, dtype F32 ('<f4') or F16 ('<f2'),
 * atomically. */
sn_status sn_io_npy_read(const char *path, sn_shape *shape, float **data, char *err, size_t errlen);
sn_status sn_io_npy_parse(const void *buf, size_t len, const char *name, sn_shape *shape,
                          float **data, char *err, size_t errlen);
sn_status sn_io_npy_write(const char *path, const sn_shape *shape, const float *data,
                          sn_dtype dtype, char *err, size_t errlen);
sn_status sn_io_npy_encode(const sn_shape *shape, const float *data, sn_dtype dtype, void **buf,
                           size_t *len, char *err, size_t errlen);

/* ---------------------------------------------------------------- weights */

/* Binds a safetensors file to the graph's PARAMs by name, casting to f32. Every missing,
 * extra or mis-shaped tensor is named in err (several per message); `num_batches_tracked`
 * entries are accepted and ignored.
 * The whole file is checked against the graph before anything is bound, so on a mismatch
 * (SN_ERR_INVALID) or a bad file the graph is unchanged. Only an allocation failure while
 * binding (SN_ERR_NOMEM) can leave some PARAMs bound; callers discard the graph on error. */
sn_status sn_io_weights_load(sn_ir_graph *g, const char *path, char *err, size_t errlen);
/* Deterministic random weights with realistic statistics (see sn_ir_init and weights.c):
 * drawn per PARAM from (seed, its name, shape, init kind), then calibrated without data so
 * activations stay at unit scale through the whole network for an input image in [0, 1):
 * BatchNorm running stats are set to their input's estimated per-channel statistics, and the
 * weights of convs not followed by a BatchNorm are scaled to unit output spread. The same seed
 * gives the same bits on every IEEE-754 platform and at every input size. Fills every live
 * PARAM (allocating its data); a PARAM whose data cannot be allocated is left without data. */
void sn_io_weights_random(sn_ir_graph *g, uint64_t seed);
/* Parses a --weights argument: "random" (seed 0), "random:SEED" (SEED a decimal uint64) or a
 * path to a .safetensors file (write "./random" for a file named "random"). */
sn_status sn_io_weights_apply(sn_ir_graph *g, const char *spec, char *err, size_t errlen);
/* Writes every PARAM of g (f32, or dtype: F32, F16 or BF16) to a safetensors file,
 * atomically. Every PARAM must have data. */
sn_status sn_io_weights_save(const sn_ir_graph *g, const char *path, sn_dtype dtype, char *err,
                             size_t errlen);

/* ---------------------------------------------------------------- labels */

/* Detection labels for one batch, as Ultralytics' collate gives them to the loss: one row per
 * box, (batch_idx, cls, cx, cy, w, h), the box normalised to the image (0..1). */
typedef struct sn_io_labels {
    float *rows; /* n × 6, owned */
    int64_t n;
} sn_io_labels;

/* Reads a text file of such rows (whitespace-separated numbers, one box per line; blank lines
 * and lines starting with '#' are skipped). Checked, each error naming path:line: exactly 6
 * numbers, all finite; batch_idx an integer in [0, batch); cls an integer in [0, nc); cx, cy,
 * w, h in [0, 1] and w, h > 0. */
sn_status sn_io_labels_read(const char *path, int batch, int nc, sn_io_labels *out, char *err,
                            size_t errlen);
void sn_io_labels_free(sn_io_labels *l);

/* ---------------------------------------------------------------- Ultralytics .pt */

/* What an Ultralytics checkpoint says about its model, beyond the weights. */
typedef struct sn_io_pt_meta {
    int nc;       /* classes (the model's `nc`, else its yaml's); 0 when not said */
    char **names; /* nnames class names, by class id (`names`); an id the file skips
                     gets ""; NULL when the file has none */
    int nnames;
    char family[32];     /* model family as Sinter's zoo names it: "yolov8", "yolo11",
                            "yolov5u" (from yaml_file: "yolov8n.yaml" → "yolov8"; else from
                            the yaml's blocks); "" when unknown */
    char scale[8];       /* "n" … "x" (the yaml's `scale`, else yaml_file's); "" when unknown */
    char yaml_file[256]; /* the yaml's `yaml_file` as stored; "" when absent */
    char source[24];     /* where the weights came from: "model", "ema" (a training
                            checkpoint, whose `model` is None), "state_dict" (a plain one, or
                            the checkpoint's state_dict / model_state_dict), "module" (a
                            torch.save'd module) */
} sn_io_pt_meta;

/* Reads a .pt file as torch.save writes it (torch >= 1.6: a zip holding data.pkl and one
 * entry per storage) without Python: the pickle goes through a restricted unpickler that
 * executes nothing and knows only an allow-list of globals (OrderedDict, set, torch.Size,
 * torch's tensor/parameter rebuild and storage types, the classes of torch.nn.modules and
 * ultralytics.nn modules and Ultralytics' argument namespaces, as plain records); any other
 * global is refused with an error naming it ('os.system'). Legacy (non-zip) files and
 * TorchScript archives are refused with a hint.
 *
 * The weights: from an Ultralytics checkpoint dict, its `model` entry, or `ema` when `model`
 * is None (training checkpoints); from a pickled module, its state_dict(); from a plain
 * state_dict (torch.save(model.state_dict())), its tensors. Names are exactly torch's
 * state_dict() names ("model.0.conv.weight"), in state_dict order; every tensor comes back
 * f32 (f16/bf16 exactly, f64 rounded), contiguous; int64 `num_batches_tracked` entries are left
 * out, any other non-float tensor is an error. meta (may be NULL) gets nc, names, family and
 * scale when the file has a model (zeros and "" for a plain state_dict). weights may be NULL
 * (metadata only). On error nothing is returned (both emptied) and err names the path.
 * SN_ERR_UNSUPPORTED for legacy files, big-endian files, or a build without libzip. */
sn_status sn_io_pt_read(const char *path, sn_io_tensors *weights, sn_io_pt_meta *meta, char *err,
                        size_t errlen);
/* The same from memory; `name` stands for the path in messages. */
sn_status sn_io_pt_parse(const void *buf, size_t len, const char *name, sn_io_tensors *weights,
                         sn_io_pt_meta *meta, char *err, size_t errlen);
/* Frees the names; leaves *m zeroed. NULL is fine. */
void sn_io_pt_meta_free(sn_io_pt_meta *m);

#ifdef __cplusplus
}
#endif
#endif /* SN_IO_H */
