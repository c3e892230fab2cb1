/* frontend/tensor_int.h — what the frontend's file code (tensorio.c, weights.c, files.c)
 * shares. Nothing outside frontend/ includes this. Internal names use the `sn_fe_tio_` prefix
 * so they never collide with the language files' internals. */
#ifndef SN_FE_TENSOR_INT_H
#define SN_FE_TENSOR_INT_H

#include "frontend/frontend.h"

#include <stdarg.h>

/* Size of the buffers that hold a path or name escaped for a message (sn_fe_escape); longer
 * ones are cut with "...". */
#define SN_FE_SHOWN 512
#define SN_FE_SHOWN_NAME 256 /* the same for a tensor name */

/* The valid UTF-8 sequence at s[0..n): its length (1..4) and code point, or 0 when invalid
 * (overlong forms, surrogates, values past U+10FFFF, a truncated sequence). */
size_t sn_fe_tio_utf8(const uint8_t *s, size_t n, uint32_t *cp);

/* ---------------------------------------------------------------- atomic file writing
 *
 * A file written in pieces: begin creates "<dir>/.sn.<hash of name>.<pid>.XXXXXX" next to the
 * destination (removing stale temps of the same destination first), write appends, commit
 * fsyncs, renames over the destination and fsyncs the directory (best effort). Any failure —
 * and abort — unlinks the temp file, so the destination is either the complete new content or
 * exactly what it was before. A destination that is a character device or a FIFO is opened
 * and written directly (direct = 1; no temp, no rename); a directory or another kind of file
 * is refused. Errors name the destination path (escaped) and strerror. After a failed write
 * or commit the handle is already aborted. */
typedef struct sn_fe_tio_atomic {
    int fd;      /* -1 when closed */
    int direct;  /* writing a device or FIFO in place */
    char *path;  /* destination (owned copy) */
    char *shown; /* the destination escaped for messages (owned) */
    char *tmp;   /* temp file path (owned); NULL when direct */
} sn_fe_tio_atomic;

sn_status sn_fe_tio_atomic_begin(sn_fe_tio_atomic *a, const char *path, char *err, size_t errlen);
sn_status sn_fe_tio_atomic_write(sn_fe_tio_atomic *a, const void *p, size_t n, char *err,
                                 size_t errlen);
sn_status sn_fe_tio_atomic_commit(sn_fe_tio_atomic *a, char *err, size_t errlen);
void sn_fe_tio_atomic_abort(sn_fe_tio_atomic *a);

/* ---------------------------------------------------------------- safetensors index
 *
 * The validated header of a safetensors buffer, without copying any tensor data: what
 * sn_fe_safetensors_parse copies from and what sn_fe_weights_load binds from (so loading a
 * large file holds the file once, not twice). */
typedef struct sn_fe_tio_entry {
    char *name;     /* owned, NUL-terminated, valid UTF-8 */
    sn_dtype dtype; /* F32 / F16 / BF16; meaningless when skip */
    int skip;       /* an I64 "...num_batches_tracked": validated, never returned */
    sn_shape shape;
    int64_t numel;
    const uint8_t *data; /* into the buffer; little-endian; possibly unaligned */
    uint64_t nbytes;
} sn_fe_tio_entry;

typedef struct sn_fe_tio_index {
    sn_fe_tio_entry *e; /* sorted by name (strcmp), names unique */
    int n;
} sn_fe_tio_index;

/* Validates the whole buffer (see sn_fe_safetensors_parse for the rules). `what` names the
 * source in messages (the path). On error *out is empty. */
sn_status sn_fe_tio_st_index(const void *buf, size_t len, const char *what, sn_fe_tio_index *out,
                             char *err, size_t errlen);
void sn_fe_tio_index_free(sn_fe_tio_index *ix);

/* Little-endian file bytes of dtype t → f32 (host order). Handles unaligned src. */
void sn_fe_tio_le_to_f32(sn_dtype t, const uint8_t *src, float *dst, int64_t n);

/* Writes safetensors whose tensors are given as host-order arrays of their dtype: the engine
 * behind sn_fe_safetensors_write/encode and sn_fe_weights_save. `emit` receives the bytes in
 * order and returns 0 on success; nonzero stops writing (its error is already in err). */
typedef int (*sn_fe_tio_emit)(void *ctx, const void *p, size_t n, char *err, size_t errlen);
sn_status sn_fe_tio_st_emit(const sn_fe_tensors *ts, const char *what, sn_fe_tio_emit emit,
                            void *ctx, char *err, size_t errlen);

#endif /* SN_FE_TENSOR_INT_H */
