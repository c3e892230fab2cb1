/* libFuzzer target: .pt checkpoints from memory (the zip through libzip, the restricted
 * unpickler, the module walk, the tensor copies). Properties checked on every input: no crash
 * or overread (ASan, UBSan); a refusal carries a message naming the source and returns
 * nothing; an accepted file gives sane tensors (names, shapes within SN_MAX_DIMS, every
 * element readable, names unique) and metadata without holes.
 *
 * An input starting "PKL:" is a pickle: the harness stores it as archive/data.pkl of a zip
 * that also holds storages archive/data/0 … data/15 (4 KiB each), so mutations reach the
 * unpickler and the module walk instead of dying at the zip's CRC check. The seed corpus
 * (corpus/pt) is tests/tensorio/pt's fixtures and the pickles of some of them. */
#include "frontend/frontend.h"
#include "io/io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef SN_FUZZ_HAVE_LIBZIP
#include <zip.h>

/* the pickle in a zip as torch.save lays one out (stored entries); NULL on failure */
static uint8_t *wrap(const uint8_t *pkl, size_t n, size_t *out_n) {
    static uint8_t storage[4096];
    for (size_t i = 0; i < sizeof storage; i++)
        storage[i] = (uint8_t)(i * 37 >> 3);
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_TRUNCATE, &ze) : NULL;
    zip_error_fini(&ze);
    if (!za) {
        zip_source_free(src);
        return NULL;
    }
    zip_source_keep(src);
    int ok = 1;
    for (int i = -1; i < 16 && ok; i++) {
        char name[64];
        if (i < 0)
            snprintf(name, sizeof name, "archive/data.pkl");
        else
            snprintf(name, sizeof name, "archive/data/%d", i);
        zip_source_t *e = i < 0 ? zip_source_buffer(za, pkl, n, 0)
                                : zip_source_buffer(za, storage, sizeof storage, 0);
        zip_int64_t k = e ? zip_file_add(za, name, e, ZIP_FL_ENC_UTF_8) : -1;
        if (k < 0) {
            zip_source_free(e);
            ok = 0;
        } else {
            ok = zip_set_file_compression(za, (zip_uint64_t)k, ZIP_CM_STORE, 0) == 0;
        }
    }
    uint8_t *buf = NULL;
    zip_stat_t st;
    if (!ok || zip_close(za) != 0) {
        zip_discard(za);
    } else if (zip_source_stat(src, &st) == 0 && zip_source_open(src) == 0) {
        buf = malloc(st.size ? st.size : 1);
        if (buf && zip_source_read(src, buf, st.size) != (zip_int64_t)st.size) {
            free(buf);
            buf = NULL;
        }
        zip_source_close(src);
        *out_n = st.size;
    }
    zip_source_free(src);
    return buf;
}
#endif

#ifndef SN_FUZZ_ENTRY
#define SN_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

int SN_FUZZ_ENTRY(const uint8_t *data, size_t size);

static int check_pt(const uint8_t *data, size_t size);

int SN_FUZZ_ENTRY(const uint8_t *data, size_t size) {
#ifdef SN_FUZZ_HAVE_LIBZIP
    if (size >= 4 && memcmp(data, "PKL:", 4) == 0) {
        size_t n = 0;
        uint8_t *z = wrap(data + 4, size - 4, &n);
        if (!z)
            abort(); /* the harness's own zip must always work */
        check_pt(z, n);
        free(z);
        return 0;
    }
#endif
    return check_pt(data, size);
}

static int check_pt(const uint8_t *data, size_t size) {
    char err[512];
    sn_io_tensors ts = {0};
    sn_io_pt_meta m;
    err[0] = '\0';
    sn_status s = sn_io_pt_parse(data, size, "fuzz", &ts, &m, err, sizeof err);
    if (s != SN_OK) {
        if (strncmp(err, "fuzz: ", 6) != 0)
            abort(); /* every error names its source */
        if (ts.n != 0 || ts.t != NULL || m.names != NULL || m.nnames != 0)
            abort();
        return 0;
    }
    for (int i = 0; i < ts.n; i++) {
        const sn_io_tensor *t = &ts.t[i];
        if (!t->name || !*t->name || !t->data || t->dtype != SN_DTYPE_F32 || t->shape.ndim < 0 ||
            t->shape.ndim > SN_MAX_DIMS)
            abort();
        for (int d = 0; d < t->shape.ndim; d++)
            if (t->shape.d[d] < 0)
                abort();
        for (int j = 0; j < i; j++)
            if (strcmp(ts.t[j].name, t->name) == 0)
                abort();         /* unique */
        volatile float sink = 0; /* touch every element: ASan checks the sizes */
        for (int64_t k = 0; k < sn_shape_numel(&t->shape); k++)
            sink += ((const float *)t->data)[k];
        (void)sink;
    }
    for (int i = 0; i < m.nnames; i++)
        if (!m.names[i])
            abort();
    if (strlen(m.family) >= sizeof m.family || strlen(m.scale) >= sizeof m.scale)
        abort();
    sn_io_pt_meta_free(&m);
    sn_io_tensors_free(&ts);
    return 0;
}
