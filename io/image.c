/* io/image.c — JPEG and PNG files decoded to the BGR pixels cv2.imdecode(bytes,
 * cv2.IMREAD_COLOR) gives, EXIF orientation included (io.h: sn_io_image_read says what comes
 * out for each kind of file).
 *
 * Ultralytics 8.4 reads every image through OpenCV (opencv-python 5.1, which bundles
 * libjpeg-turbo and libpng). Matching its pixels means asking the same libraries the same
 * things, so each choice below follows imgcodecs (grfmt_jpeg.cpp, grfmt_png.cpp, exif.cpp,
 * loadsave.cpp):
 *  - JPEG: libjpeg-turbo's defaults (JDCT_ISLOW, fancy upsampling, block smoothing), output
 *    straight to JCS_EXT_BGR, or JCS_CMYK converted by cv2's formula. The data comes through a
 *    source manager that suspends at the end of the buffer, as cv2's does, so a file that ends
 *    before the decoder is done fails here exactly where it fails there (libjpeg's own memory
 *    source would instead pad it with a fake EOI and grey pixels). Warnings (corrupt data that
 *    libjpeg recovers from) are not errors, as in cv2.
 *  - PNG: libpng with cv2's transforms: strip 16 to 8 bits (the high byte), strip alpha,
 *    palette to RGB, low-bit gray to 8 bits, BGR order or gray to RGB, interlace handling.
 *  - EXIF: cv2's ExifReader reads the orientation from IFD0 of the APP1 segments that start
 *    with "Exif\0\0" or of PNG's eXIf chunk (exif_orientation says exactly how), and
 *    loadsave.cpp applies it after decoding.
 *
 * Hostile input: both libraries report errors through longjmp, caught here; every size is
 * checked against SN_IO_IMAGE_MAX_PIXELS before pixels are allocated; a progressive JPEG may
 * have at most SN_IO_JPEG_MAX_SCANS scans (libjpeg-turbo's advice against scan floods). */
#include "io/io_int.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef SN_HAVE_JPEG
#include <jpeglib.h>
#endif
#ifdef SN_HAVE_PNG
#include <png.h>
#endif

/* Real progressive JPEGs have about ten scans; thousands of tiny ones only burn time. */
#define SN_IO_JPEG_MAX_SCANS 1000

/* ---------------------------------------------------------------- images */

static int size_ok(int64_t h, int64_t w) {
    return h >= 1 && w >= 1 && h <= SN_IO_IMAGE_MAX_SIDE && w <= SN_IO_IMAGE_MAX_SIDE &&
           h * w <= SN_IO_IMAGE_MAX_PIXELS;
}

sn_status sn_io_image_new(sn_io_image *img, int h, int w, int c) {
    memset(img, 0, sizeof *img);
    if (!size_ok(h, w) || c < 1 || c > 4)
        return SN_ERR_INVALID;
    img->data = malloc((size_t)h * (size_t)w * (size_t)c);
    if (!img->data)
        return SN_ERR_NOMEM;
    img->h = h;
    img->w = w;
    img->c = c;
    return SN_OK;
}

void sn_io_image_free(sn_io_image *img) {
    if (!img)
        return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

/* ---------------------------------------------------------------- EXIF orientation */

/* The orientation cv2 finds in EXIF data that starts with its TIFF header, or -1 when it
 * finds none. OpenCV 5.1's ExifReader, as observed (tests/tensorio/image_parity.py builds such
 * files): the byte order is little-endian only for "II" (anything else reads as big-endian),
 * then 42 and the offset of IFD0, whose entries are 12 bytes (tag, type, count, value). The
 * entries are read in order and the first orientation (0x0112) counts, its value the u16 at
 * entry + 8 whatever its type and count say. Reading stops (no orientation) at an entry that
 * runs past the data, or at one of the tags ExifReader decodes whose value lies past it:
 * strings (ImageDescription, Make, Model, Software, DateTime, Copyright) of more than 4 bytes
 * at their offset, rationals (XResolution, YResolution 1; WhitePoint 2; YCbCrCoefficients 3;
 * PrimaryChromaticities, ReferenceBlackWhite 6) at theirs. Other tags are not looked at. */
static int exif_orientation(const uint8_t *p, size_t n) {
    int le = n >= 2 && p[0] == 'I' && p[1] == 'I';
#define EXIF_U16(o) (le ? p[o] | p[(o) + 1] << 8 : p[o] << 8 | p[(o) + 1])
#define EXIF_U32(o)                                                                                \
    (le ? (uint32_t)EXIF_U16((o) + 2) << 16 | EXIF_U16(o)                                          \
        : (uint32_t)EXIF_U16(o) << 16 | EXIF_U16((o) + 2))
    if (n < 8 || EXIF_U16(2) != 42)
        return -1;
    uint64_t off = EXIF_U32(4);
    if (off + 2 > n)
        return -1;
    unsigned count = (unsigned)EXIF_U16(off);
    off += 2;
    for (unsigned i = 0; i < count; i++, off += 12) {
        if (off + 2 > n)
            return -1;
        int rationals = 0;
        switch (EXIF_U16(off)) {
        case 0x0112: /* Orientation */
            return off + 10 > n ? -1 : EXIF_U16(off + 8);
        case 0x0128: /* ResolutionUnit */
        case 0x0213: /* YCbCrPositioning */
            if (off + 10 > n)
                return -1;
            break;
        case 0x010E: /* ImageDescription */
        case 0x010F: /* Make */
        case 0x0110: /* Model */
        case 0x0131: /* Software */
        case 0x0132: /* DateTime */
        case 0x8298: /* Copyright */ {
            if (off + 8 > n)
                return -1;
            uint64_t size = EXIF_U32(off + 4), at = 8;
            if (size > 4) {
                if (off + 12 > n)
                    return -1;
                at = EXIF_U32(off + 8);
            }
            if (at > n || at + size > n)
                return -1;
            break;
        }
        case 0x011A: /* XResolution */
        case 0x011B: /* YResolution */
            rationals = 1;
            break;
        case 0x013E: /* WhitePoint */
            rationals = 2;
            break;
        case 0x0211: /* YCbCrCoefficients */
            rationals = 3;
            break;
        case 0x013F: /* PrimaryChromaticities */
        case 0x0214: /* ReferenceBlackWhite */
            rationals = 6;
            break;
        default:
            break;
        }
        if (rationals && (off + 12 > n || (uint64_t)EXIF_U32(off + 8) + 8u * rationals > n))
            return -1;
    }
    return -1;
#undef EXIF_U16
#undef EXIF_U32
}

/* Applies an EXIF orientation as cv2's ApplyExifOrientation does (flip and transpose):
 * 2 flip left-right, 3 flip both, 4 flip top-bottom, 5 transpose, 6 transpose then flip
 * left-right, 7 transpose then flip both, 8 transpose then flip top-bottom. */
static sn_status orient(sn_io_image *img, int o) {
    if (o <= 1 || o > 8)
        return SN_OK;
    int transpose = o >= 5;
    int flip_lr = o == 2 || o == 3 || o == 6 || o == 7;
    int flip_tb = o == 3 || o == 4 || o == 7 || o == 8;
    int oh = transpose ? img->w : img->h, ow = transpose ? img->h : img->w, c = img->c;
    sn_io_image r;
    sn_status s = sn_io_image_new(&r, oh, ow, c);
    if (s != SN_OK)
        return s;
    for (int y = 0; y < oh; y++) {
        int ty = flip_tb ? oh - 1 - y : y;
        uint8_t *d = r.data + (size_t)y * ow * c;
        for (int x = 0; x < ow; x++, d += c) {
            int tx = flip_lr ? ow - 1 - x : x;
            int sy = transpose ? tx : ty, sx = transpose ? ty : tx;
            memcpy(d, img->data + ((size_t)sy * img->w + sx) * c, (size_t)c);
        }
    }
    sn_io_image_free(img);
    *img = r;
    return SN_OK;
}

/* ---------------------------------------------------------------- JPEG */

#ifdef SN_HAVE_JPEG
/* Everything the decode touches between setjmp and longjmp lives here, not in locals of the
 * function that called setjmp (whose non-volatile locals would be indeterminate after it). */
typedef struct jpeg_job {
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr jerr;
    struct jpeg_source_mgr src;
    struct jpeg_progress_mgr progress;
    jmp_buf jb;
    sn_status st;
    char msg[JMSG_LENGTH_MAX + 64];
    sn_io_image *out;
    int orientation; /* as exif_orientation gives it; -1 for none */
    int complete;    /* every scanline read: what follows (the EOI) no longer matters */
} jpeg_job;

static void jpeg_on_error(j_common_ptr c) {
    jpeg_job *j = c->client_data;
    char m[JMSG_LENGTH_MAX];
    c->err->format_message(c, m);
    snprintf(j->msg, sizeof j->msg, "JPEG: %s", m);
    j->st = SN_ERR_INVALID;
    longjmp(j->jb, 1);
}
/* Warnings and trace messages: cv2 goes on after a warning, and nothing is printed. */
static void jpeg_on_message(j_common_ptr c, int level) {
    (void)c;
    (void)level;
}
static void jpeg_stop(jpeg_job *j, sn_status st, const char *msg) {
    snprintf(j->msg, sizeof j->msg, "%s", msg);
    j->st = st;
    longjmp(j->jb, 1);
}
static void jpeg_on_progress(j_common_ptr c) {
    jpeg_job *j = c->client_data;
    if (j->d.input_scan_number > SN_IO_JPEG_MAX_SCANS) {
        snprintf(j->msg, sizeof j->msg, "JPEG: more than %d scans (a scan flood?)",
                 SN_IO_JPEG_MAX_SCANS);
        j->st = SN_ERR_INVALID;
        longjmp(j->jb, 1);
    }
}

/* The source: the whole file is in the buffer; past its end the decoder suspends (fill
 * returns FALSE), which makes jpeg_read_header / jpeg_start_decompress / jpeg_read_scanlines
 * report that they could not finish. */
static void src_nop(j_decompress_ptr d) { (void)d; }
static boolean src_fill(j_decompress_ptr d) {
    (void)d;
    return FALSE;
}
static void src_skip(j_decompress_ptr d, long n) {
    struct jpeg_source_mgr *s = d->src;
    if (n <= 0)
        return;
    size_t k = (size_t)n < s->bytes_in_buffer ? (size_t)n : s->bytes_in_buffer;
    s->next_input_byte += k;
    s->bytes_in_buffer -= k;
}

/* cv2's icvCvt_CMYK2BGR_8u_C4C3R: per pixel c, m, y, k → B, G, R. */
static void cmyk_to_bgr(const uint8_t *s, uint8_t *d, int w) {
    for (int i = 0; i < w; i++, s += 4, d += 3) {
        int k = s[3];
        d[2] = (uint8_t)(k - ((255 - s[0]) * k >> 8));
        d[1] = (uint8_t)(k - ((255 - s[1]) * k >> 8));
        d[0] = (uint8_t)(k - ((255 - s[2]) * k >> 8));
    }
}

static void jpeg_run(jpeg_job *j, const uint8_t *buf, size_t len) {
    struct jpeg_decompress_struct *d = &j->d;
    d->err = jpeg_std_error(&j->jerr);
    j->jerr.error_exit = jpeg_on_error;
    j->jerr.emit_message = jpeg_on_message;
    d->client_data = j; /* kept by jpeg_create_decompress, whose own errors need it */
    jpeg_create_decompress(d);
    j->src.init_source = src_nop;
    j->src.fill_input_buffer = src_fill;
    j->src.skip_input_data = src_skip;
    j->src.resync_to_restart = jpeg_resync_to_restart;
    j->src.term_source = src_nop;
    j->src.next_input_byte = buf;
    j->src.bytes_in_buffer = len;
    d->src = &j->src;
    j->progress.progress_monitor = jpeg_on_progress;
    d->progress = &j->progress;
    jpeg_save_markers(d, JPEG_APP0 + 1, 0xffff);

    if (jpeg_read_header(d, TRUE) != JPEG_HEADER_OK)
        jpeg_stop(j, SN_ERR_INVALID, "JPEG: the file ends inside its header (truncated?)");
    if (!size_ok(d->image_height, d->image_width)) {
        snprintf(j->msg, sizeof j->msg,
                 "JPEG: %u x %u pixels is over Sinter's limit (%d a side, %lld in all)",
                 (unsigned)d->image_width, (unsigned)d->image_height, SN_IO_IMAGE_MAX_SIDE,
                 (long long)SN_IO_IMAGE_MAX_PIXELS);
        j->st = SN_ERR_INVALID;
        longjmp(j->jb, 1);
    }
    int cmyk = d->num_components == 4;
    d->out_color_space = cmyk ? JCS_CMYK : JCS_EXT_BGR;
    /* cv2 reads every APP1 segment that starts with "Exif\0\0"; the first orientation wins */
    for (jpeg_saved_marker_ptr m = d->marker_list; m && j->orientation < 0; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && !memcmp(m->data, "Exif\0\0", 6))
            j->orientation = exif_orientation(m->data + 6, m->data_length - 6);

    if (!jpeg_start_decompress(d))
        jpeg_stop(j, SN_ERR_INVALID, "JPEG: the file ends early (truncated?)");
    int w = (int)d->output_width, h = (int)d->output_height;
    if ((int)d->output_components != (cmyk ? 4 : 3))
        jpeg_stop(j, SN_ERR_INVALID, "JPEG: unexpected number of output components");
    sn_status s = sn_io_image_new(j->out, h, w, 3);
    if (s != SN_OK)
        jpeg_stop(j, s, s == SN_ERR_NOMEM ? "out of memory for the pixels" : "bad image size");
    JSAMPARRAY cmyk_row =
        cmyk ? (*d->mem->alloc_sarray)((j_common_ptr)d, JPOOL_IMAGE, (JDIMENSION)w * 4, 1) : NULL;
    while (d->output_scanline < d->output_height) {
        uint8_t *row = j->out->data + (size_t)d->output_scanline * (size_t)w * 3;
        JSAMPROW dst = cmyk ? cmyk_row[0] : row;
        if (jpeg_read_scanlines(d, &dst, 1) != 1)
            jpeg_stop(j, SN_ERR_INVALID, "JPEG: the file ends early (truncated?)");
        if (cmyk)
            cmyk_to_bgr(cmyk_row[0], row, w);
    }
    j->complete = 1;
    (void)jpeg_finish_decompress(d); /* cv2 ignores what it says (a missing EOI) too */
}

static sn_status jpeg_decode(const uint8_t *buf, size_t len, const char *shown, sn_io_image *out,
                             char *err, size_t errlen) {
    jpeg_job *j = calloc(1, sizeof *j);
    if (!j)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "%s: out of memory", shown);
    j->out = out;
    j->orientation = -1;
    if (setjmp(j->jb) == 0)
        jpeg_run(j, buf, len);
    jpeg_destroy_decompress(&j->d);
    sn_status s = SN_OK;
    if (!j->complete) {
        sn_io_image_free(out);
        s = sn_fail(err, errlen, j->st, "%s: %s", shown, j->msg);
    } else if ((s = orient(out, j->orientation)) != SN_OK) {
        sn_io_image_free(out);
        s = sn_fail(err, errlen, s, "%s: out of memory", shown);
    }
    free(j);
    return s;
}
#endif

/* ---------------------------------------------------------------- PNG */

#ifdef SN_HAVE_PNG
typedef struct png_job {
    const uint8_t *p;
    size_t n, pos;
    sn_status st;
    char msg[256];
    sn_io_image *out;
    png_bytep *rows;
    int orientation; /* as exif_orientation gives it; -1 for none */
} png_job;

static void png_on_error(png_structp png, png_const_charp msg) {
    png_job *j = png_get_error_ptr(png);
    if (!j->msg[0])
        snprintf(j->msg, sizeof j->msg, "PNG: %s", msg);
    png_longjmp(png, 1);
}
static void png_on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}
static void png_on_read(png_structp png, png_bytep dst, size_t n) {
    png_job *j = png_get_io_ptr(png);
    if (n > j->n - j->pos)
        png_error(png, "the file ends early (truncated?)");
    memcpy(dst, j->p + j->pos, n);
    j->pos += n;
}
static void png_stop(png_structp png, png_job *j, sn_status st, const char *msg) {
    snprintf(j->msg, sizeof j->msg, "%s", msg);
    j->st = st;
    png_longjmp(png, 1);
}

static void png_run(png_structp png, png_infop info, png_job *j) {
    png_set_read_fn(png, j, png_on_read);
    png_set_user_limits(png, SN_IO_IMAGE_MAX_SIDE, SN_IO_IMAGE_MAX_SIDE);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, type;
    png_get_IHDR(png, info, &w, &h, &depth, &type, NULL, NULL, NULL);
    if (!size_ok(h, w)) {
        snprintf(j->msg, sizeof j->msg,
                 "PNG: %u x %u pixels is over Sinter's limit (%d a side, %lld in all)", (unsigned)w,
                 (unsigned)h, SN_IO_IMAGE_MAX_SIDE, (long long)SN_IO_IMAGE_MAX_PIXELS);
        png_longjmp(png, 1);
    }
    /* cv2's transforms for IMREAD_COLOR, in its order */
    if (depth == 16)
        png_set_strip_16(png);
    png_set_strip_alpha(png);
    if (type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if ((type & PNG_COLOR_MASK_COLOR) == 0 && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (type & PNG_COLOR_MASK_COLOR)
        png_set_bgr(png);
    else
        png_set_gray_to_rgb(png);
    (void)png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3 || png_get_channels(png, info) != 3)
        png_stop(png, j, SN_ERR_INVALID, "PNG: unexpected layout after conversion to BGR");
    sn_status s = sn_io_image_new(j->out, (int)h, (int)w, 3);
    if (s != SN_OK)
        png_stop(png, j, s, s == SN_ERR_NOMEM ? "out of memory for the pixels" : "bad image size");
    j->rows = malloc((size_t)h * sizeof *j->rows);
    if (!j->rows)
        png_stop(png, j, SN_ERR_NOMEM, "out of memory for the rows");
    for (png_uint_32 y = 0; y < h; y++)
        j->rows[y] = j->out->data + (size_t)y * w * 3;
    png_read_image(png, j->rows);
    /* the chunks after the image data up to IEND: cv2 refuses a file that ends before IEND,
     * and honours an eXIf chunk there too (libpng keeps the first eXIf and drops one with a
     * bad CRC or byte order, as in cv2) */
    png_read_end(png, info);
#ifdef PNG_eXIf_SUPPORTED
    png_uint_32 exif_len = 0;
    png_bytep exif = NULL;
    if (png_get_eXIf_1(png, info, &exif_len, &exif) && exif)
        j->orientation = exif_orientation(exif, exif_len);
#endif
}

static sn_status png_decode(const uint8_t *buf, size_t len, const char *shown, sn_io_image *out,
                            char *err, size_t errlen) {
    png_job *j = calloc(1, sizeof *j);
    if (!j)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "%s: out of memory", shown);
    j->p = buf;
    j->n = len;
    j->st = SN_ERR_INVALID;
    j->out = out;
    j->orientation = -1;
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, j, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        free(j);
        return sn_fail(err, errlen, SN_ERR_NOMEM, "%s: out of memory", shown);
    }
    int ok = 0;
    if (setjmp(png_jmpbuf(png)) == 0) {
        png_run(png, info, j);
        ok = 1;
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(j->rows);
    sn_status s = SN_OK;
    if (!ok) {
        sn_io_image_free(out);
        s = sn_fail(err, errlen, j->st, "%s: %s", shown, j->msg);
    } else if ((s = orient(out, j->orientation)) != SN_OK) {
        sn_io_image_free(out);
        s = sn_fail(err, errlen, s, "%s: out of memory", shown);
    }
    free(j);
    return s;
}
#endif

/* ---------------------------------------------------------------- entry points */

sn_status sn_io_image_decode(const void *buf, size_t len, const char *name, sn_io_image *out,
                             char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    char shown[SN_SHOWN];
    sn_escape(name, shown, sizeof shown);
    const uint8_t *p = buf;
    if (len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) {
#ifdef SN_HAVE_JPEG
        return jpeg_decode(p, len, shown, out, err, errlen);
#else
        return sn_fail(err, errlen, SN_ERR_UNSUPPORTED,
                       "%s: a JPEG file, but Sinter was built without libjpeg", shown);
#endif
    }
    if (len >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8)) {
#ifdef SN_HAVE_PNG
        return png_decode(p, len, shown, out, err, errlen);
#else
        return sn_fail(err, errlen, SN_ERR_UNSUPPORTED,
                       "%s: a PNG file, but Sinter was built without libpng", shown);
#endif
    }
    return sn_fail(err, errlen, len ? SN_ERR_UNSUPPORTED : SN_ERR_INVALID, "%s: %s", shown,
                   len ? "not a JPEG or PNG image (Sinter reads those two)" : "empty file");
}

sn_status sn_io_image_read(const char *path, sn_io_image *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    char *buf;
    size_t len;
    sn_status s = sn_read_file(path, &buf, &len, err, errlen);
    if (s != SN_OK)
        return s;
    s = sn_io_image_decode(buf, len, path, out, err, errlen);
    free(buf);
    return s;
}
