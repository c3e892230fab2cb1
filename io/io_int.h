/* io/io_int.h — what io's files (tensorio.c, weights.c) share. Nothing outside io/ includes
 * this. */
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
} sn_io_index;

/* Validates the whole buffer (see sn_io_safetensors_parse for the rules). `what` names the
 * source in messages (the path). On error *out is empty. */
sn_status sn_io_st_index(const void *buf, size_t len, const char *what, sn_io_index *out, char *err,
                         size_t errlen);
void sn_io_index_free(sn_io_index *ix);

/* Little-endian file bytes of dtype t → f32 (host order). Handles unaligned src. */
void sn_io_le_to_f32(sn_dtype t, const uint8_t *src, float *dst, int64_t n);

/* Writes safetensors whose tensors are given as host-order arrays of their dtype: the engine
 * behind sn_io_safetensors_write/encode and sn_io_weights_save. `emit` receives the bytes in
 * order and returns 0 on success; nonzero stops writing (its error is already in err). */
typedef int (*sn_io_emit)(void *ctx, const void *p, size_t n, char *err, size_t errlen);
sn_status sn_io_st_emit(const sn_io_tensors *ts, const char *what, sn_io_emit emit, void *ctx,
                        char *err, size_t errlen);

#endif /* SN_IO_INT_H */
