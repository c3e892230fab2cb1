/* io/io.h — the files users bring: safetensors and .npy tensors, Ultralytics .pt checkpoints,
 * weights bound to a graph by Ultralytics state_dict names (or generated: random weights with
 * realistic statistics), and images (JPEG, PNG) made into input tensors exactly as
 * Ultralytics' predictor makes them.
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

/* ---------------------------------------------------------------- datasets
 *
 * Ultralytics' dataset layout: a data.yaml (`path`, `train`/`val`/`test`, `names`, `nc`), image
 * files listed from a folder or a txt list, and one label file per image found by
 * img2label_paths. */

/* A list of strings (owned). */
typedef struct sn_io_strings {
    char **v;
    int n, cap;
} sn_io_strings;
void sn_io_strings_free(sn_io_strings *l);
/* Appends a copy of s[0..n); 0 when out of memory. */
int sn_io_strings_add(sn_io_strings *l, const char *s, size_t n);

enum { SN_IO_NSPLITS = 3 };
extern const char *const sn_io_split_names[SN_IO_NSPLITS]; /* "train", "val", "test" */

typedef struct sn_io_data {
    char *yaml;                         /* the file as given */
    char *root;                         /* `path`: absent = the yaml's folder; relative = to the
                                           working directory where it exists there, else to the
                                           yaml's folder */
    sn_io_strings split[SN_IO_NSPLITS]; /* each source joined to root (a "../x" that does not
                                          exist tried as "x", as Ultralytics does) */
    sn_io_strings names;                /* class names by id; from `nc` alone: class_0, … */
    int nc;
} sn_io_data;

/* Reads a data.yaml (libyaml) as Ultralytics' check_det_dataset: `names` a list or a {id: name}
 * map with ids 0 … n-1, `nc` an integer (10 or 10.0), both given must agree, one of them is
 * required. Errors name the file and the key (a YAML syntax error: file:line:col).
 * SN_ERR_UNSUPPORTED in a build without libyaml. */
sn_status sn_io_data_read(const char *path, sn_io_data *d, char *err, size_t errlen);
/* The same from memory; path names it in messages and anchors a relative or absent `path`. */
sn_status sn_io_data_parse(const void *text, size_t len, const char *path, sn_io_data *d, char *err,
                           size_t errlen);
void sn_io_data_free(sn_io_data *d);
/* The images of a split as Ultralytics' get_img_files lists them: each source a folder
 * (searched recursively, hidden entries left out) or a txt file of image paths (one a line;
 * "./x" relative to the txt's folder); files with an image extension only (IMG_FORMATS), sorted
 * by byte order. A missing key or source, or no images, is an error naming the file and key. */
sn_status sn_io_data_images(const sn_io_data *d, const char *split, sn_io_strings *out, char *err,
                            size_t errlen);
/* Has the name an Ultralytics image extension (jpg, png, …; any case)? */
int sn_io_is_image_name(const char *path);
/* img2label_paths: the last "/images/" replaced by "/labels/", the text after the last '.'
 * replaced by "txt". SN_ERR_INVALID when out (n bytes) is too small. */
sn_status sn_io_img2label(const char *img, char *out, size_t n);
/* One image's label file, rows cls cx cy w h normalised (5 floats each in out->rows), checked
 * as Ultralytics' verify_image_label: an integer class in [0, nc), coordinates at most 1.01 and
 * not negative (down to -0.01 for cx, cy); blank lines skipped, a UTF-8 BOM ignored. Errors
 * name path:line. Duplicate rows are dropped as Ultralytics drops them (the unique rows, sorted)
 * and counted in *dups. A missing file is sn_read_file's SN_ERR_IO: callers check first (a
 * missing label file is an image without boxes). */
sn_status sn_io_dataset_labels_read(const char *path, int nc, sn_io_labels *out, int *dups,
                                    char *err, size_t errlen);
/* The same from memory; `name` stands for the path in messages. */
sn_status sn_io_dataset_labels_parse(const void *buf, size_t len, const char *name, int nc,
                                     sn_io_labels *out, int *dups, char *err, size_t errlen);

/* ---------------------------------------------------------------- images
 *
 * Images in, exactly as Ultralytics 8.4's predictor takes them: its loader reads a file with
 * cv2.imdecode(bytes, cv2.IMREAD_COLOR) (ultralytics/utils/patches.py: imread), then
 * BasePredictor.pre_transform letterboxes each image (data/augment.py: LetterBox) and
 * BasePredictor.preprocess makes the tensor (BGR → RGB, HWC → CHW, float32, / 255). Each step
 * here gives the same bytes (the decode, the letterbox) and the same floats (the tensor);
 * tests/tensorio/image_parity.py checks that against cv2 and Ultralytics themselves. */

/* An 8-bit image as cv2 holds it: h rows top to bottom, w pixels each, c interleaved
 * channels (3: B, G, R), row stride w × c, no padding. */
typedef struct sn_io_image {
    int h, w, c;
    uint8_t *data; /* owned; h × w × c bytes */
} sn_io_image;

/* Largest image decoded or made (h × w), so a hostile header (a 65535 × 65535 JPEG of a few
 * bytes) is refused before anything is allocated; either side must also be at most
 * SN_IO_IMAGE_MAX_SIDE. (cv2 allows up to 2^30 pixels; 2^28 is 16384 × 16384.) */
#define SN_IO_IMAGE_MAX_PIXELS ((int64_t)1 << 28)
#define SN_IO_IMAGE_MAX_SIDE 65535

/* Decodes a JPEG or PNG file (recognised by its first bytes, not its name) into 3-channel
 * BGR, giving the pixels cv2.imdecode(bytes, cv2.IMREAD_COLOR) gives:
 *  - JPEG: libjpeg-turbo with its defaults (JDCT_ISLOW, fancy upsampling, block smoothing):
 *    baseline, progressive, any chroma subsampling, grayscale (copied to B, G and R) and
 *    CMYK/YCCK (converted as cv2 does: B = k - (255 - y) k / 256, likewise G from m, R from c,
 *    with an arithmetic shift). The EXIF orientation is applied as cv2 applies it: 2 flips
 *    left-right, 3 rotates 180°, 4 flips top-bottom, 5 transposes, 6 rotates 90° clockwise,
 *    7 transposes across the other diagonal, 8 rotates 90° counter-clockwise; other values do
 *    nothing. It is read as OpenCV 5.1 reads it: tag 0x0112 in IFD0 of the APP1 segments that
 *    start with "Exif\0\0", the first one found winning, with cv2's quirks on malformed
 *    EXIF (io/image.c: exif_orientation).
 *    A file that ends before the decoder is done (truncated, or without the EOI where the
 *    last scanline still needs bytes) is refused as cv2.imdecode refuses it (Ultralytics'
 *    reader; cv2.imread on the path would pad it with grey instead); corrupt entropy data
 *    that libjpeg recovers from is accepted with its recovery, as cv2 accepts it.
 *  - PNG: libpng; 1, 2, 4, 8 and 16-bit gray, gray + alpha, RGB, RGBA and palette images,
 *    interlaced or not. Alpha and tRNS are dropped (not composited), 16-bit samples keep their
 *    high byte, gray is copied to B, G and R, palettes are expanded; no gamma is applied. The
 *    file must run to IEND (cv2 refuses it otherwise); an eXIf chunk, before or after the
 *    image data, is honoured like JPEG's EXIF. CRC errors in ancillary chunks only drop them.
 *    An APNG gives its default image (IDAT); where that image is not the animation's first
 *    frame, cv2 5.1 gives the first frame instead (not copied here).
 * Anything else (other formats, 12-bit JPEG, CRC errors in critical PNG chunks, images over
 * the limits above) is refused with a message naming the file: SN_ERR_UNSUPPORTED for a
 * format Sinter does not read (or was built without), SN_ERR_INVALID for a bad file,
 * SN_ERR_NOMEM, or sn_read_file's errors. *out is empty on error. */
sn_status sn_io_image_read(const char *path, sn_io_image *out, char *err, size_t errlen);
/* The same from memory; `name` stands for the path in messages. */
sn_status sn_io_image_decode(const void *buf, size_t len, const char *name, sn_io_image *out,
                             char *err, size_t errlen);
/* An image of h × w × c bytes (1 <= c <= 4), uninitialised; SN_ERR_INVALID past the limits
 * above, SN_ERR_NOMEM when the allocation fails. */
sn_status sn_io_image_new(sn_io_image *img, int h, int w, int c);
/* Frees the pixels; leaves *img empty. NULL is fine. */
void sn_io_image_free(sn_io_image *img);

/* cv2.resize(in, (new_w, new_h), interpolation=cv2.INTER_LINEAR), bit for bit (OpenCV's
 * imgproc/src/resize.cpp, 8-bit path): source x = (dx + 0.5) · sw/dw - 0.5 in float, its
 * fraction turned into two 11-bit weights (round to nearest even), clamped at the edges; a
 * horizontal pass in int; a vertical pass with weights b0, b1 over horizontal results r0, r1:
 *     ((b0 · (r0 >> 4)) >> 16) + ((b1 · (r1 >> 4)) >> 16) + 2 >> 2
 * and an exact halving in both directions done as OpenCV does it, the mean of each 2 × 2
 * block rounded half up (io/letterbox.c has the details). c is 1, 3 or 4. The same size
 * copies. SN_ERR_INVALID for a bad image or size, SN_ERR_NOMEM. */
sn_status sn_io_image_resize(const sn_io_image *in, int new_h, int new_w, sn_io_image *out);

/* Where LetterBox put the image: scale it by ratio to unpad_w × unpad_h, then pad top,
 * bottom, left and right with 114. A box maps back to the original image as
 * x = (x' - left) / ratio, y = (y' - top) / ratio. */
typedef struct sn_io_letterbox_info {
    double ratio;         /* min(new_h / h, new_w / w) */
    int unpad_w, unpad_h; /* max(round(w · ratio), 1), max(round(h · ratio), 1); round half even */
    int top, bottom, left, right;
    int out_w, out_h; /* unpad_w + left + right, unpad_h + top + bottom */
} sn_io_letterbox_info;

/* The geometry of Ultralytics' LetterBox(new_shape=(new_h, new_w), auto=auto_, stride,
 * scaleup=True, center=True, scale_fill=False) for an h × w image, exactly: padding
 * dw = new_w - unpad_w (with auto_, dw mod stride: the smallest stride multiple), halved,
 * left = round(dw/2 - 0.1), right = round(dw/2 + 0.1) in double, round half even; likewise
 * top and bottom. Without auto_ the output is new_h × new_w. The predictor passes auto_ only
 * for a PyTorch model with rect on and images of one shape; Sinter's compiled models have a
 * fixed input size, so auto_ = 0 is theirs. SN_ERR_INVALID for sizes below 1 or past the
 * limits, or stride < 1 with auto_. */
sn_status sn_io_letterbox_plan(int h, int w, int new_h, int new_w, int auto_, int stride,
                               sn_io_letterbox_info *info);
/* LetterBox itself: sn_io_letterbox_plan, then sn_io_image_resize when the size changes
 * (cv2.resize INTER_LINEAR), then the border of 114 (cv2.copyMakeBorder, BORDER_CONSTANT).
 * Byte for byte what LetterBox(...)(image=in) returns. *out is a new image; info may be NULL. */
sn_status sn_io_letterbox(const sn_io_image *in, int new_h, int new_w, int auto_, int stride,
                          sn_io_image *out, sn_io_letterbox_info *info);

/* The validator's images (data/base.py: load_image, then LetterBox(scaleup=False) to the
 * batch's rect_shape): sn_io_letterbox with auto_ off and the ratio at most 1 (an image is
 * never scaled up, only padded). */
sn_status sn_io_letterbox_val(const sn_io_image *in, int new_h, int new_w, sn_io_image *out,
                              sn_io_letterbox_info *info);

/* BasePredictor.preprocess after the letterbox: channels reversed (BGR → RGB), HWC → CHW,
 * each byte v as (float)v / 255.0f (float32 division, as torch's div_(255) on the CPU;
 * torch on CUDA multiplies by the float reciprocal instead, one ulp off for 126 of the 256
 * values). Writes 3 × h × w floats to dst: one image of a (B, 3, h, w) batch, so image b
 * goes to dst + b · 3 · h · w. img must have 3 channels. */
void sn_io_image_to_tensor(const sn_io_image *img, float *dst);

/* ---------------------------------------------------------------- images out */

/* A detection to draw: x1 y1 x2 y2 in the image's pixels, score, class. */
typedef struct sn_io_box {
    float box[4];
    float conf;
    int cls;
} sn_io_box;

/* Draws d[0..n) on a BGR 8-bit image (w × h, rows of 3·w bytes) in place, as Ultralytics'
 * Annotator does: the class colour from its palette, line width max(round((w + h) / 2 · 0.003),
 * 2), a "name 0.87" label (names[cls], or the class number). Needs cairo. */
sn_status sn_io_annotate(uint8_t *bgr, int w, int h, const sn_io_box *d, int n,
                         const char *const *names, int nnames, char *err, size_t errlen);
/* Writes a BGR 8-bit image as JPEG (quality 95, as cv2.imwrite) or PNG by the path's extension,
 * atomically. */
sn_status sn_io_image_write(const char *path, const uint8_t *bgr, int w, int h, char *err,
                            size_t errlen);
/* ---------------------------------------------------------------- plots (PNG, cairo) */

/* Curves over x in [0, 1] (Ultralytics' PR and metric-confidence curves). */
typedef struct sn_io_curves {
    const char *title, *xlabel, *ylabel;
    int n, npts;               /* curves, points each */
    const double *x;           /* npts */
    const double *y;           /* n × npts, in [0, 1] */
    const char *const *labels; /* n legend entries (drawn under 21 curves), or NULL */
    const double *mean;        /* npts: the bold blue curve, or NULL */
    const char *mean_label;
} sn_io_curves;
sn_status sn_io_plot_curves(const char *path, const sn_io_curves *p, char *err, size_t errlen);
/* An n × n matrix m[pred][true] as a heat map (Ultralytics' confusion_matrix.png): normalize
 * divides each column by its sum; cells under 0.005 are left blank; labels (n, or NULL) are
 * written under 99 classes. */
sn_status sn_io_plot_matrix(const char *path, const char *title, const double *m, int n,
                            const char *const *labels, int normalize, char *err, size_t errlen);

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
