/* io/image_write.c — BGR 8-bit images out: JPEG (libjpeg-turbo, quality 95 as cv2.imwrite) or
 * PNG (libpng), by the path's extension, encoded in memory and written atomically. */
#include "base/base.h"
#include "io/io.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

#ifdef SN_HAVE_JPEG
#include <jpeglib.h>

struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
};
static void jerr_exit(j_common_ptr c) { longjmp(((struct jerr *)(void *)c->err)->jb, 1); }

static sn_status write_jpeg(const char *path, const uint8_t *bgr, int w, int h, char *err,
                            size_t errlen) {
    struct jpeg_compress_struct c;
    struct jerr je;
    unsigned char *mem = NULL;
    unsigned long len = 0;
    uint8_t *row = malloc((size_t)w * 3);
    if (!row)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "%s: out of memory", path);
    c.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jerr_exit;
    if (setjmp(je.jb)) {
        jpeg_destroy_compress(&c);
        free(mem);
        free(row);
        return sn_fail(err, errlen, SN_ERR_IO, "%s: JPEG encoding failed", path);
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        const uint8_t *src = bgr + (size_t)c.next_scanline * (size_t)w * 3;
        for (int x = 0; x < w; x++) {
            row[3 * x] = src[3 * x + 2];
            row[3 * x + 1] = src[3 * x + 1];
            row[3 * x + 2] = src[3 * x];
        }
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    sn_status st = sn_write_atomic(path, mem, (size_t)len, err, errlen);
    free(mem);
    return st;
}

#endif /* SN_HAVE_JPEG */

#ifdef SN_HAVE_PNG
#include <png.h>

typedef struct membuf {
    unsigned char *p;
    size_t n, cap;
    int oom;
} membuf;

static void png_mem_write(png_structp png, png_bytep data, png_size_t n) {
    membuf *m = png_get_io_ptr(png);
    if (m->oom)
        return;
    if (m->n + n > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 65536;
        while (cap < m->n + n)
            cap *= 2;
        unsigned char *q = realloc(m->p, cap);
        if (!q) {
            m->oom = 1;
            return;
        }
        m->p = q;
        m->cap = cap;
    }
    memcpy(m->p + m->n, data, n);
    m->n += n;
}
static void png_mem_flush(png_structp png) { (void)png; }

static sn_status write_png(const char *path, const uint8_t *bgr, int w, int h, char *err,
                           size_t errlen) {
    membuf m = {0};
    uint8_t *row = malloc((size_t)w * 3);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!row || !png || !info) {
        png_destroy_write_struct(&png, &info);
        free(row);
        return sn_fail(err, errlen, SN_ERR_NOMEM, "%s: out of memory", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(row);
        free(m.p);
        return sn_fail(err, errlen, SN_ERR_IO, "%s: PNG encoding failed", path);
    }
    png_set_write_fn(png, &m, png_mem_write, png_mem_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) {
        const uint8_t *src = bgr + (size_t)y * (size_t)w * 3;
        for (int x = 0; x < w; x++) {
            row[3 * x] = src[3 * x + 2];
            row[3 * x + 1] = src[3 * x + 1];
            row[3 * x + 2] = src[3 * x];
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    if (m.oom) {
        free(m.p);
        return sn_fail(err, errlen, SN_ERR_NOMEM, "%s: out of memory", path);
    }
    sn_status st = sn_write_atomic(path, m.p, m.n, err, errlen);
    free(m.p);
    return st;
}

#endif /* SN_HAVE_PNG */

sn_status sn_io_image_write(const char *path, const uint8_t *bgr, int w, int h, char *err,
                            size_t errlen) {
    if (w < 1 || h < 1)
        return sn_fail(err, errlen, SN_ERR_INVALID, "%s: empty image %dx%d", path, w, h);
    if (ends_with(path, ".png"))
#ifdef SN_HAVE_PNG
        return write_png(path, bgr, w, h, err, errlen);
#else
        return sn_fail(err, errlen, SN_ERR_UNSUPPORTED, "%s: this build has no libpng", path);
#endif
    if (ends_with(path, ".jpg") || ends_with(path, ".jpeg"))
#ifdef SN_HAVE_JPEG
        return write_jpeg(path, bgr, w, h, err, errlen);
#else
        return sn_fail(err, errlen, SN_ERR_UNSUPPORTED, "%s: this build has no libjpeg", path);
#endif
    return sn_fail(err, errlen, SN_ERR_INVALID, "%s: write .jpg, .jpeg or .png", path);
}
