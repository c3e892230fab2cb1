/* libFuzzer target: .npy parsing from memory. Properties: no crash / overread; refusals carry
 * a message naming the source; an accepted array re-encodes as f32 and parses back to the
 * same shape and bit-identical values. */
#include "frontend/frontend.h"
#include "io/io.h"

#include <stdlib.h>
#include <string.h>

#ifndef SN_FUZZ_ENTRY
#define SN_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

int SN_FUZZ_ENTRY(const uint8_t *data, size_t size);

int SN_FUZZ_ENTRY(const uint8_t *data, size_t size) {
    char err[512];
    sn_shape shape;
    float *v = NULL;
    err[0] = '\0';
    sn_status s = sn_io_npy_parse(data, size, "fuzz", &shape, &v, err, sizeof err);
    if (s != SN_OK) {
        if (strncmp(err, "fuzz: ", 6) != 0 || v != NULL)
            abort();
        return 0;
    }
    if (!v || shape.ndim < 0 || shape.ndim > SN_MAX_DIMS)
        abort();
    int64_t n = sn_shape_numel(&shape);
    if (n < 0)
        abort();
    void *enc;
    size_t elen;
    if (sn_io_npy_encode(&shape, v, SN_DTYPE_F32, &enc, &elen, err, sizeof err) != SN_OK)
        abort();
    sn_shape s2;
    float *v2 = NULL;
    if (sn_io_npy_parse(enc, elen, "re", &s2, &v2, err, sizeof err) != SN_OK)
        abort();
    if (!sn_shape_eq(&shape, &s2) || memcmp(v, v2, (size_t)n * sizeof(float)) != 0)
        abort();
    free(v2);
    free(enc);
    free(v);
    return 0;
}
