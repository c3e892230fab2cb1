/* libFuzzer target: JPEG and PNG decoding from memory, then the letterbox and the tensor.
 * Properties: no crash / overread / leak; a refusal carries a message naming the source and
 * leaves the image empty; an accepted image is 3-channel BGR within the size limits, letterboxes
 * to exactly 64 x 64 and to a stride-32 multiple with auto, and its tensor lies in [0, 1]. */
#include "io/io.h"

#include <stdlib.h>
#include <string.h>

#ifndef SN_FUZZ_ENTRY
#define SN_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

int SN_FUZZ_ENTRY(const uint8_t *data, size_t size);

int SN_FUZZ_ENTRY(const uint8_t *data, size_t size) {
    char err[512];
    sn_io_image img;
    err[0] = '\0';
    if (sn_io_image_decode(data, size, "fuzz", &img, err, sizeof err) != SN_OK) {
        if (strncmp(err, "fuzz: ", 6) != 0 || img.data != NULL || img.h || img.w)
            abort();
        return 0;
    }
    if (!img.data || img.c != 3 || img.h < 1 || img.w < 1 ||
        (int64_t)img.h * img.w > SN_IO_IMAGE_MAX_PIXELS)
        abort();
    if ((int64_t)img.h * img.w > 4096 * 4096) { /* the rest is about geometry, not size */
        sn_io_image_free(&img);
        return 0;
    }
    sn_io_image lb, lba;
    sn_io_letterbox_info li;
    if (sn_io_letterbox(&img, 64, 64, 0, 32, &lb, &li) != SN_OK || lb.h != 64 || lb.w != 64)
        abort();
    if (sn_io_letterbox(&img, 64, 64, 1, 32, &lba, &li) != SN_OK || lba.h > 64 || lba.w > 64 ||
        (lba.h != 64 && lba.w != 64))
        abort();
    float *t = malloc(sizeof(float) * 3 * 64 * 64);
    if (!t)
        abort();
    sn_io_image_to_tensor(&lb, t);
    for (int i = 0; i < 3 * 64 * 64; i++)
        if (!(t[i] >= 0.0f && t[i] <= 1.0f))
            abort();
    free(t);
    sn_io_image_free(&lba);
    sn_io_image_free(&lb);
    sn_io_image_free(&img);
    return 0;
}
