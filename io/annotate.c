/* io/annotate.c — detections drawn on an image as Ultralytics' Annotator draws them
 * (utils/plotting.py): its 20-colour palette by class, line width max(round((h + w) / 2 ·
 * 0.003), 2), the label "name 0.87" on a filled box of the class colour above the box (inside
 * it when there is no room), white text on dark colours and dark text on light ones. Drawn with
 * cairo; the text is cairo's sans-serif, not Ultralytics' Arial, so labels look alike, not
 * pixel-equal. */
#include "base/base.h"
#include "io/io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SN_HAVE_CAIRO
sn_status sn_io_annotate(uint8_t *bgr, int w, int h, const sn_io_box *d, int n,
                         const char *const *names, int nnames, char *err, size_t errlen) {
    (void)bgr, (void)w, (void)h, (void)d, (void)n, (void)names, (void)nnames;
    return sn_fail(err, errlen, SN_ERR_UNSUPPORTED,
                   "this build has no cairo (libcairo2-dev): boxes cannot be drawn");
}
#else
#include <cairo.h>

/* ultralytics/utils/plotting.py: Colors.hexs */
static const uint32_t palette[20] = {0xFF3838, 0xFF9D97, 0xFF701F, 0xFFB21D, 0xCFD231,
                                     0x48F90A, 0x92CC17, 0x3DDB86, 0x1A9334, 0x00D4BB,
                                     0x2C99A8, 0x00C2FF, 0x344593, 0x6473FF, 0x0018EC,
                                     0x8438FF, 0x520085, 0xCB38FF, 0xFF95C8, 0xFF37C7};

static void rgb_of(int cls, double *r, double *g, double *b) {
    uint32_t c = palette[(unsigned)cls % 20u];
    *r = ((c >> 16) & 255) / 255.0;
    *g = ((c >> 8) & 255) / 255.0;
    *b = (c & 255) / 255.0;
}

sn_status sn_io_annotate(uint8_t *bgr, int w, int h, const sn_io_box *d, int n,
                         const char *const *names, int nnames, char *err, size_t errlen) {
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return sn_fail(err, errlen, SN_ERR_NOMEM, "annotate: cannot make a %dx%d surface", w, h);
    }
    cairo_surface_flush(s);
    unsigned char *px = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < h; y++) {
        uint32_t *row = (uint32_t *)(void *)(px + (size_t)y * (size_t)stride);
        const uint8_t *src = bgr + (size_t)y * (size_t)w * 3;
        for (int x = 0; x < w; x++)
            row[x] = (uint32_t)src[3 * x + 2] << 16 | (uint32_t)src[3 * x + 1] << 8 | src[3 * x];
    }
    cairo_surface_mark_dirty(s);
    cairo_t *cr = cairo_create(s);
    double lw = fmax(nearbyint((w + h) / 2.0 * 0.003), 2.0);
    double fs = fmax(lw * 5.5, 11.0); /* text height, as Ultralytics scales its font with lw */
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, fs);
    cairo_set_line_width(cr, lw);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
    for (int i = n - 1; i >= 0; i--) { /* the best detection drawn last, on top */
        double r, g, b;
        rgb_of(d[i].cls, &r, &g, &b);
        double x1 = d[i].box[0], y1 = d[i].box[1], x2 = d[i].box[2], y2 = d[i].box[3];
        cairo_set_source_rgb(cr, r, g, b);
        cairo_rectangle(cr, x1 + lw / 2, y1 + lw / 2, fmax(x2 - x1 - lw, 0), fmax(y2 - y1 - lw, 0));
        cairo_stroke(cr);
        char label[160];
        if (d[i].cls >= 0 && d[i].cls < nnames && names && names[d[i].cls])
            snprintf(label, sizeof label, "%.120s %.2f", names[d[i].cls], d[i].conf);
        else
            snprintf(label, sizeof label, "%d %.2f", d[i].cls, d[i].conf);
        cairo_text_extents_t te;
        cairo_text_extents(cr, label, &te);
        double th = fs * 1.25, tw = te.x_advance + fs * 0.5;
        double ty = y1 - th >= 0 ? y1 - th : y1; /* above the box, or inside it at the top */
        cairo_rectangle(cr, x1, ty, tw, th);
        cairo_fill(cr);
        /* Ultralytics: dark text on its light palette entries */
        double lum = 0.299 * r + 0.587 * g + 0.114 * b;
        if (lum > 0.6)
            cairo_set_source_rgb(cr, 0.06, 0.06, 0.06);
        else
            cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_move_to(cr, x1 + fs * 0.25, ty + th - fs * 0.3);
        cairo_show_text(cr, label);
    }
    cairo_destroy(cr);
    cairo_surface_flush(s);
    for (int y = 0; y < h; y++) {
        const uint32_t *row = (const uint32_t *)(const void *)(px + (size_t)y * (size_t)stride);
        uint8_t *dst = bgr + (size_t)y * (size_t)w * 3;
        for (int x = 0; x < w; x++) {
            dst[3 * x] = (uint8_t)(row[x] & 255);
            dst[3 * x + 1] = (uint8_t)((row[x] >> 8) & 255);
            dst[3 * x + 2] = (uint8_t)((row[x] >> 16) & 255);
        }
    }
    cairo_surface_destroy(s);
    return SN_OK;
}
#endif /* SN_HAVE_CAIRO */
