/* io/io_int.h — what io's files (tensorio.c, weights.c, pickle.c, pt.c) share. Nothing outside io/
 * includes this. */
#ifndef SN_IO_INT_H
#define SN_IO_INT_H

#include "io/io.h"

#include <stdarg.h>

/* ---------------------------------------------------------------- safetensors index
 *
 * The validated header of a safetensors buffer, without copying any tensor data: what
 * sn_io_safetensors_parse copies from and what sn_io_weights_load binds from (so loading a
 * large file holds the file once, not twice). */
typedef struct sn_io_entry {
    char *name;     /* owned, NUL-terminated, valid UTF-8 */
    sn_dtype dtype; /* F32 / F16 / BF16; meaningless when skip */
    int skip;       /* an I64 "...num_batches_tracked": validated, never returned */
    sn_shape shape;
    int64_t numel;
    const uint8_t *data; /* into the buffer; little-endian; possibly unaligned */
    uint64_t nbytes;
} sn_io_entry;

typedef struct sn_io_index {
    sn_io_entry *e; /* sorted by name (strcmp), names unique */
    int n;
    void *own; /* what the entries' data points into when the index owns it (a .pt's
                  tensors), else NULL; freed by sn_io_index_free */
} sn_io_index;

/* Validates the whole buffer (see sn_io_safetensors_parse for the rules). `what` names the
 * source in messages (the path). On error *out is empty. */
sn_status sn_io_st_index(const void *buf, size_t len, const char *what, sn_io_index *out, char *err,
                         size_t errlen);
void sn_io_index_free(sn_io_index *ix);

/* ---------------------------------------------------------------- restricted unpickler
 *
 * pickle.c: Python pickles (protocols 2-5, the opcodes torch.save writes) turned into a tree
 * of inert values. Nothing is executed and nothing is imported: a GLOBAL must name an entry
 * of the allow-list (pickle.c: allowed[]), each of which stands for a fixed meaning (a dict
 * constructor, torch's tensor rebuild, a storage type, or a class whose instances become
 * plain records holding their arguments and state). Anything else is refused, naming the
 * global. The loader itself never recurses; values may share children (the memo) and may
 * even form cycles, so consumers bound their depth (pt.c does). */

enum { SN_IO_PK_MAX_NDIM = 16 };

typedef enum sn_io_pk_kind {
    SN_IO_PK_NONE,
    SN_IO_PK_BOOL,    /* u.i: 0 or 1 */
    SN_IO_PK_INT,     /* u.i */
    SN_IO_PK_BIGINT,  /* an integer beyond int64: kept as a placeholder, never read */
    SN_IO_PK_FLOAT,   /* u.f */
    SN_IO_PK_STR,     /* u.s: bytes as pickled (UTF-8 for str), NUL-terminated copy */
    SN_IO_PK_BYTES,   /* u.s */
    SN_IO_PK_TUPLE,   /* u.c.v[0..n) */
    SN_IO_PK_LIST,    /* u.c.v[0..n) */
    SN_IO_PK_DICT,    /* u.c.v: key, value, key, value … in insertion order (dict and
                         OrderedDict); a key set twice appears twice, the last one counts */
    SN_IO_PK_SET,     /* u.c.v[0..n) (set, frozenset) */
    SN_IO_PK_GLOBAL,  /* u.g: an allowed global */
    SN_IO_PK_OBJ,     /* u.o: an instance of an allowed class, as a record */
    SN_IO_PK_STORAGE, /* u.st: a torch storage (a persistent id) */
    SN_IO_PK_TENSOR,  /* u.t: torch._utils._rebuild_tensor_v2's arguments, validated */
} sn_io_pk_kind;

/* What an allowed global means. */
typedef enum sn_io_pk_global {
    SN_IO_PKG_DICT,           /* collections.OrderedDict: called → an empty DICT */
    SN_IO_PKG_SET,            /* builtins.set / frozenset: called with a list → SET */
    SN_IO_PKG_SIZE,           /* torch.Size: called with a tuple → that TUPLE */
    SN_IO_PKG_ENCODE,         /* _codecs.encode(str, 'latin1') → BYTES (protocol 2's bytes) */
    SN_IO_PKG_REBUILD_TENSOR, /* torch._utils._rebuild_tensor_v2 → TENSOR */
    SN_IO_PKG_REBUILD_PARAM,  /* torch._utils._rebuild_parameter(_with_state) → its tensor */
    SN_IO_PKG_STORAGE,        /* torch.FloatStorage … (u.g.dtype): a storage type */
    SN_IO_PKG_CLASS,          /* a class whose instances are records (modules, namespaces) */
} sn_io_pk_global;

/* Element types of torch storages. */
typedef enum sn_io_pk_dtype {
    SN_IO_PKD_F32,
    SN_IO_PKD_F16,
    SN_IO_PKD_BF16,
    SN_IO_PKD_F64,
    SN_IO_PKD_I64,
    SN_IO_PKD_I32,
    SN_IO_PKD_I16,
    SN_IO_PKD_I8,
    SN_IO_PKD_U8,
    SN_IO_PKD_BOOL,
} sn_io_pk_dtype;
/* Bytes per element and the name torch gives the type ("HalfStorage"). */
size_t sn_io_pk_dtype_size(sn_io_pk_dtype d);
const char *sn_io_pk_dtype_name(sn_io_pk_dtype d);

typedef struct sn_io_pkv sn_io_pkv;

typedef struct sn_io_pk_tensor {
    const sn_io_pkv *storage;                                   /* a STORAGE */
    int64_t offset;                                             /* in elements */
    int ndim;                                                   /* <= SN_IO_PK_MAX_NDIM */
    int64_t size[SN_IO_PK_MAX_NDIM], stride[SN_IO_PK_MAX_NDIM]; /* >= 0 */
    /* Checked: offset + sum((size - 1) * stride) < the storage's numel when numel > 0,
     * numel and that extent fit in int64 with room for 8-byte elements. */
} sn_io_pk_tensor;

struct sn_io_pkv {
    sn_io_pk_kind kind;
    union {
        int64_t i;
        double f;
        struct {
            char *p;
            size_t n;
        } s;
        struct {
            sn_io_pkv **v;
            uint32_t n, cap;
        } c;
        struct {
            sn_io_pk_global what;
            sn_io_pk_dtype dtype; /* SN_IO_PKG_STORAGE */
            char *name;           /* "module.name" */
        } g;
        struct {
            const sn_io_pkv *cls;   /* a GLOBAL of kind SN_IO_PKG_CLASS */
            const sn_io_pkv *args;  /* a TUPLE */
            const sn_io_pkv *state; /* BUILD's state (its dict part), or NULL */
        } o;
        struct {
            sn_io_pk_dtype dtype;
            char *key; /* the storage's record name: <archive>/data/<key> */
            int64_t numel;
        } st;
        sn_io_pk_tensor *t;
    } u;
};

typedef struct sn_io_pickle sn_io_pickle; /* every value of one load; freed at once */

/* Loads a pickle. `what` names it in messages ("best.pt: data.pkl"). On success *root is the
 * value STOP returned and *out owns every value; on error both are NULL and err says which
 * byte, which opcode or which global. SN_ERR_INVALID for a bad or refused pickle,
 * SN_ERR_NOMEM. */
sn_status sn_io_pickle_load(const void *buf, size_t len, const char *what, sn_io_pickle **out,
                            const sn_io_pkv **root, char *err, size_t errlen);
void sn_io_pickle_free(sn_io_pickle *p);
/* The value of the last `key` (a str) in DICT d, or NULL (also when d is not a DICT). */
const sn_io_pkv *sn_io_pk_get(const sn_io_pkv *d, const char *key);
/* OBJ o's state when it is a DICT, else NULL. */
const sn_io_pkv *sn_io_pk_state(const sn_io_pkv *o);

/* ---------------------------------------------------------------- .pt checkpoints
 *
 * pt.c: the weights of a torch.save zip as an index (the bytes the entries point at belong to
 * the index: ix->own), so sn_io_weights_load binds a .pt exactly as a safetensors file. */

/* 1 when buf looks like torch.save output: a zip ("PK\x03\x04", torch >= 1.6) or a legacy
 * file (a pickle of torch's magic number 0x1950a86a20f9469cfc6c), which pt.c refuses by name. */
int sn_io_pt_sniff(const void *buf, size_t len);
sn_status sn_io_pt_index(const void *buf, size_t len, const char *what, sn_io_index *out, char *err,
                         size_t errlen);

/* Little-endian file bytes of dtype t → f32 (host order). Handles unaligned src. */
void sn_io_le_to_f32(sn_dtype t, const uint8_t *src, float *dst, int64_t n);

/* Writes safetensors whose tensors are given as host-order arrays of their dtype: the engine
 * behind sn_io_safetensors_write(_meta)/encode and sn_io_weights_save; meta as
 * sn_io_safetensors_write_meta takes it (NULL, 0: none). `emit` receives the bytes in
 * order and returns 0 on success; nonzero stops writing (its error is already in err). */
typedef int (*sn_io_emit)(void *ctx, const void *p, size_t n, char *err, size_t errlen);
sn_status sn_io_st_emit(const sn_io_tensors *ts, const char *const *meta, int nmeta,
                        const char *what, sn_io_emit emit, void *ctx, char *err, size_t errlen);

#endif /* SN_IO_INT_H */
