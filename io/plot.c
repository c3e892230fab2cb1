/* io/plot.c — the validator's plots as PNG, drawn with cairo in the manner of Ultralytics'
 * matplotlib figures (utils/metrics.py: plot_pr_curve, plot_mc_curve, ConfusionMatrix.plot):
 * curves on [0, 1]² with a legend per class under 21 classes (grey lines without one) and the
 * mean in bold blue; the confusion matrix as a "Blues" heat map with its counts or column
 * fractions written in the cells under 30 classes. Alike, not pixel-equal. */
#include "base/base.h"
#include "io/io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SN_HAVE_CAIRO
sn_status sn_io_plot_curves(const char *path, const sn_io_curves *p, char *err, size_t errlen) {
    (void)path, (void)p;
    return sn_fail(err, errlen, SN_ERR_UNSUPPORTED, "this build has no cairo (libcairo2-dev)");
}
sn_status sn_io_plot_matrix(const char *path, const char *title, const double *m, int n,
                            const char *const *labels, int normalize, char *err, size_t errlen) {
    (void)path, (void)title, (void)m, (void)n, (void)labels, (void)normalize;
    return sn_fail(err, errlen, SN_ERR_UNSUPPORTED, "this build has no cairo (libcairo2-dev)");
}
#else
#include <cairo.h>

typedef struct membuf {
    unsigned char *p;
    size_t n, cap;
    int failed;
} membuf;

static cairo_status_t mem_write(void *closure, const unsigned char *data, unsigned int len) {
    membuf *m = closure;
    if (m->n + len > m->cap) {
        size_t cap = m->cap ? m->cap : 65536;
        while (cap < m->n + len)
            cap *= 2;
        unsigned char *q = realloc(m->p, cap);
        if (!q) {
            m->failed = 1;
            return CAIRO_STATUS_WRITE_ERROR;
        }
        m->p = q;
        m->cap = cap;
    }
    memcpy(m->p + m->n, data, len);
    m->n += len;
    return CAIRO_STATUS_SUCCESS;
}

/* the surface as a PNG file, atomically; frees cr and the surface */
static sn_status finish(cairo_surface_t *s, cairo_t *cr, const char *path, char *err,
                        size_t errlen) {
    cairo_destroy(cr);
    membuf m = {0};
    cairo_status_t cs = cairo_surface_write_to_png_stream(s, mem_write, &m);
    cairo_surface_destroy(s);
    if (cs != CAIRO_STATUS_SUCCESS || m.failed) {
        free(m.p);
        return sn_fail(err, errlen, SN_ERR_NOMEM, "PNG: %s", cairo_status_to_string(cs));
    }
    sn_status st = sn_write_atomic(path, m.p, m.n, err, errlen);
    free(m.p);
    return st;
}

/* a white W × H canvas with the sans-serif face; NULL when out of memory */
static cairo_t *canvas(int W, int H, cairo_surface_t **s) {
    *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(*s);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        cairo_destroy(cr);
        cairo_surface_destroy(*s);
        return NULL;
    }
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    return cr;
}

static void text(cairo_t *cr, double x, double y, double size, const char *s, double ax, double ay,
                 double angle) {
    cairo_text_extents_t te;
    cairo_save(cr);
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &te);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, angle);
    cairo_move_to(cr, -te.x_bearing - ax * te.width, -te.y_bearing - ay * te.height);
    cairo_show_text(cr, s);
    cairo_restore(cr);
}

/* matplotlib's tab10 cycle */
static const uint32_t tab10[10] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                   0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};

static void set_rgb(cairo_t *cr, uint32_t c) {
    cairo_set_source_rgb(cr, ((c >> 16) & 255) / 255.0, ((c >> 8) & 255) / 255.0,
                         (c & 255) / 255.0);
}

sn_status sn_io_plot_curves(const char *path, const sn_io_curves *p, char *err, size_t errlen) {
    const int W = 1350, H = 900;
    const double L = 100, T = 60, PW = 850, PH = 760; /* the axes */
    cairo_surface_t *s;
    cairo_t *cr = canvas(W, H, &s);
    if (!cr)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "out of memory");
    int legend = p->labels && p->n > 0 && p->n < 21;
    cairo_rectangle(cr, L, T, PW, PH);
    cairo_save(cr);
    cairo_clip(cr);
    for (int c = 0; c < p->n + 1; c++) {
        const double *y = c < p->n ? p->y + (size_t)c * p->npts : p->mean;
        if (!y)
            continue;
        if (c == p->n) {
            cairo_set_line_width(cr, 4);
            set_rgb(cr, 0x0000ff);
        } else {
            cairo_set_line_width(cr, 1.5);
            set_rgb(cr, legend ? tab10[c % 10] : 0x808080);
        }
        for (int i = 0; i < p->npts; i++) {
            double px = L + p->x[i] * PW, py = T + (1 - y[i]) * PH;
            if (i)
                cairo_line_to(cr, px, py);
            else
                cairo_move_to(cr, px, py);
        }
        cairo_stroke(cr);
    }
    cairo_restore(cr);
    /* the frame, ticks and labels */
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1.2);
    cairo_rectangle(cr, L, T, PW, PH);
    cairo_stroke(cr);
    for (int k = 0; k <= 5; k++) {
        char t[16];
        snprintf(t, sizeof t, "%.1f", k * 0.2);
        double xx = L + k * 0.2 * PW, yy = T + PH - k * 0.2 * PH;
        cairo_move_to(cr, xx, T + PH);
        cairo_line_to(cr, xx, T + PH + 7);
        cairo_move_to(cr, L, yy);
        cairo_line_to(cr, L - 7, yy);
        cairo_stroke(cr);
        text(cr, xx, T + PH + 12, 18, t, 0.5, 0, 0);
        text(cr, L - 12, yy, 18, t, 1, 0.5, 0);
    }
    text(cr, L + PW / 2, T + PH + 42, 20, p->xlabel, 0.5, 0, 0);
    text(cr, L - 62, T + PH / 2, 20, p->ylabel, 0.5, 0.5, -M_PI / 2);
    text(cr, L + PW / 2, T - 40, 22, p->title, 0.5, 0, 0);
    /* the legend, right of the axes */
    double ly = T + 10;
    for (int c = 0; c < p->n + 1; c++) {
        const char *lab = c < p->n ? (legend ? p->labels[c] : NULL) : p->mean_label;
        if (!lab || (c == p->n && !p->mean))
            continue;
        set_rgb(cr, c < p->n ? tab10[c % 10] : 0x0000ff);
        cairo_set_line_width(cr, c < p->n ? 2 : 4);
        cairo_move_to(cr, L + PW + 25, ly + 9);
        cairo_line_to(cr, L + PW + 60, ly + 9);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text(cr, L + PW + 70, ly + 9, 16, lab, 0, 0.5, 0);
        ly += 28;
    }
    return finish(s, cr, path, err, errlen);
}

/* matplotlib's "Blues" at v in [0, 1] (its 9 anchor colours, linear between) */
static void blues(double v, double *r, double *g, double *b) {
    static const uint32_t a[9] = {0xf7fbff, 0xdeebf7, 0xc6dbef, 0x9ecae1, 0x6baed6,
                                  0x4292c6, 0x2171b5, 0x08519c, 0x08306b};
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    double t = v * 8;
    int i = (int)t;
    if (i > 7)
        i = 7;
    t -= i;
    uint32_t c0 = a[i], c1 = a[i + 1];
    *r = (((c0 >> 16) & 255) * (1 - t) + ((c1 >> 16) & 255) * t) / 255;
    *g = (((c0 >> 8) & 255) * (1 - t) + ((c1 >> 8) & 255) * t) / 255;
    *b = ((c0 & 255) * (1 - t) + (c1 & 255) * t) / 255;
}

sn_status sn_io_plot_matrix(const char *path, const char *title, const double *m, int n,
                            const char *const *labels, int normalize, char *err, size_t errlen) {
    const int W = 1200, H = 1000;
    const double L = 220, T = 70, S = 700; /* the square of cells */
    double *a = malloc((size_t)n * (size_t)n * sizeof *a);
    if (!a)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "out of memory");
    double vmax = 0;
    for (int j = 0; j < n; j++) { /* normalised: each column (true class) sums to 1 */
        double col = 0;
        for (int i = 0; i < n; i++)
            col += m[(size_t)i * n + j];
        for (int i = 0; i < n; i++) {
            double v = m[(size_t)i * n + j] / (normalize ? col + 1e-9 : 1);
            a[(size_t)i * n + j] = v < 0.005 ? NAN : v; /* not annotated: would read 0.00 */
            if (v >= 0.005 && v > vmax)
                vmax = v;
        }
    }
    cairo_surface_t *s;
    cairo_t *cr = canvas(W, H, &s);
    if (!cr) {
        free(a);
        return sn_fail(err, errlen, SN_ERR_NOMEM, "out of memory");
    }
    double cs = S / n, vtop = normalize ? 1.0 : (vmax > 0 ? vmax : 1);
    double fs = fmax(6, 15 - 0.1 * n) * 1.3;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double v = a[(size_t)i * n + j], r = 1, g = 1, b = 1;
            if (!isnan(v))
                blues(v / vtop, &r, &g, &b);
            cairo_set_source_rgb(cr, r, g, b);
            cairo_rectangle(cr, L + j * cs, T + i * cs, cs + 0.5, cs + 0.5);
            cairo_fill(cr);
            if (n < 30 && !isnan(v)) {
                char t[32];
                snprintf(t, sizeof t, normalize ? "%.2f" : "%.0f", v);
                double c = v > 0.45 * vtop ? 1 : 0;
                cairo_set_source_rgb(cr, c, c, c);
                text(cr, L + (j + 0.5) * cs, T + (i + 0.5) * cs, fmin(20, cs * 0.3), t, 0.5, 0.5,
                     0);
            }
        }
    cairo_set_source_rgb(cr, 0, 0, 0);
    if (labels && n < 99)
        for (int k = 0; k < n; k++) {
            text(cr, L + (k + 0.5) * cs, T + S + 8, fmin(fs, cs * 0.8), labels[k], 1, 0.5,
                 -M_PI / 2);
            text(cr, L - 8, T + (k + 0.5) * cs, fmin(fs, cs * 0.8), labels[k], 1, 0.5, 0);
        }
    text(cr, L + S / 2, H - 40, 20, "True", 0.5, 1, 0);
    text(cr, 30, T + S / 2, 20, "Predicted", 0.5, 0.5, -M_PI / 2);
    text(cr, L + S / 2, 20, 22, title, 0.5, 0, 0);
    /* the colour bar */
    for (int k = 0; k < 200; k++) {
        double r, g, b;
        blues(1 - k / 199.0, &r, &g, &b);
        cairo_set_source_rgb(cr, r, g, b);
        cairo_rectangle(cr, L + S + 40, T + k * S / 200, 30, S / 200 + 1);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (int k = 0; k <= 4; k++) {
        char t[32];
        snprintf(t, sizeof t, normalize ? "%.2f" : "%.0f", vtop * k / 4);
        text(cr, L + S + 78, T + S - k * S / 4, 16, t, 0, 0.5, 0);
    }
    free(a);
    return finish(s, cr, path, err, errlen);
}
#endif
