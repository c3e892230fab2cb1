/* libFuzzer target: safetensors parsing from memory. Properties checked on every input:
 * no crash / overread (ASan, UBSan); a refusal always carries a message naming the source; an
 * accepted file gives sane tensors, and encoding them and parsing again gives the same tensors
 * (names, dtypes, shapes, bytes) — the writer's output is always readable. */
#include "frontend/frontend.h"
#include "io/io.h"

#include <stdlib.h>
#include <string.h>

#ifndef SN_FUZZ_ENTRY
#define SN_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

int SN_FUZZ_ENTRY(const uint8_t *data, size_t size);

static size_t nbytes(const sn_io_tensor *t) {
    return (size_t)sn_shape_numel(&t->shape) * sn_dtype_size(t->dtype);
}

int SN_FUZZ_ENTRY(const uint8_t *data, size_t size) {
    char err[512];
    sn_io_tensors ts = {0};
    err[0] = '\0';
    sn_status s = sn_io_safetensors_parse(data, size, "fuzz", &ts, err, sizeof err);
    if (s != SN_OK) {
        if (strncmp(err, "fuzz: ", 6) != 0)
            abort(); /* every error names its source */
        if (ts.n != 0 || ts.t != NULL)
            abort();
        return 0;
    }
    for (int i = 0; i < ts.n; i++) {
        const sn_io_tensor *t = &ts.t[i];
        if (!t->name || !t->data || t->shape.ndim < 0 || t->shape.ndim > SN_MAX_DIMS)
            abort();
        if (i && strcmp(ts.t[i - 1].name, t->name) >= 0)
            abort(); /* sorted, unique */
        for (int d = 0; d < t->shape.ndim; d++)
            if (t->shape.d[d] < 0)
                abort();
        volatile uint8_t sink = 0; /* touch every byte: ASan checks the sizes */
        for (size_t k = 0; k < nbytes(t); k++)
            sink ^= ((const uint8_t *)t->data)[k];
        (void)sink;
    }
    void *enc;
    size_t elen;
    s = sn_io_safetensors_encode(&ts, &enc, &elen, err, sizeof err);
    /* empty names are legal to read but not to write; everything else must encode */
    int has_empty = 0;
    for (int i = 0; i < ts.n; i++)
        has_empty |= ts.t[i].name[0] == '\0';
    if (s != SN_OK) {
        if (!has_empty)
            abort();
        sn_io_tensors_free(&ts);
        return 0;
    }
    sn_io_tensors back = {0};
    if (sn_io_safetensors_parse(enc, elen, "re", &back, err, sizeof err) != SN_OK)
        abort();
    if (back.n != ts.n)
        abort();
    for (int i = 0; i < ts.n; i++) {
        const sn_io_tensor *a = &ts.t[i], *b = &back.t[i];
        if (strcmp(a->name, b->name) || a->dtype != b->dtype ||
            !sn_shape_eq(&a->shape, &b->shape) || memcmp(a->data, b->data, nbytes(a)))
            abort();
    }
    sn_io_tensors_free(&back);
    free(enc);
    sn_io_tensors_free(&ts);
    return 0;
}
