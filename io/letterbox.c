/* io/letterbox.c — Ultralytics' LetterBox and the predictor's tensor, byte for byte: the
 * geometry (data/augment.py: LetterBox.get_params), cv2.resize with INTER_LINEAR, the border
 * of 114, then BGR → RGB, CHW, / 255.
 *
 * The resize is OpenCV's own fixed-point algorithm for 8-bit images (imgproc/src/resize.cpp:
 * cv::hal::resize, resizeGeneric_, HResizeLinear, VResizeLinear's uchar specialisation,
 * resizeAreaFast_), restated without its SIMD since every vector path there computes the
 * same integers as its scalar one:
 *  1. scale_x = 1 / (dw / sw) in double (cv::resize passes inv_scale = dw / sw).
 *  2. Exactly 2 in both directions: INTER_AREA's fast path, each output the mean of a 2 × 2
 *     block, (a + b + c + d + 2) >> 2.
 *  3. Otherwise per output column fx = (float)((dx + 0.5) * scale_x - 0.5), sx = floor(fx),
 *     fx -= sx (float); sx < 0 gives sx = 0, fx = 0 and sx >= sw - 1 gives sx = sw - 1,
 *     fx = 0; weights a0 = round((1 - fx) * 2048), a1 = round(fx * 2048) rounded to nearest
 *     even (saturate_cast<short>). A row's horizontal pass: h = src[sx] * a0 + src[sx + 1] *
 *     a1 in int (src[sx] * 2048 where fx was clamped).
 *  4. Rows likewise, but sy is not clamped: rows clip(sy) and clip(sy + 1) with weights from
 *     the unclamped fy, so the top and bottom rows blend a row with itself.
 *  5. out = ((b0 * (h0 >> 4)) >> 16) + ((b1 * (h1 >> 4)) >> 16) + 2 >> 2, which cannot
 *     exceed 255.
 * tests/tensorio/image_parity.py compares the result with cv2.resize on many sizes. */
#include "io/io_int.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- rounding */

/* Python's round() and cvRound: to nearest, ties to even, whatever the FPU's mode. */
static double round_even(double x) {
    double f = floor(x), d = x - f;
    if (d > 0.5 || (d == 0.5 && fmod(f, 2.0) != 0.0))
        return f + 1.0;
    return f;
}

/* saturate_cast<short>(v) for the weights, v in [0, 2048]: cvRound of a float. */
static int weight(float v) {
    float f = floorf(v), d = v - f;
    if (d > 0.5f || (d == 0.5f && fmodf(f, 2.0f) != 0.0f))
        f += 1.0f;
    return (int)f;
}

/* ---------------------------------------------------------------- cv2.resize, INTER_LINEAR */

/* One output coordinate of step 3/4: source index (unclamped) and the two weights. */
static void coeff(int d, double scale, int *s, int *w0, int *w1) {
    float f = (float)((d + 0.5) * scale - 0.5);
    int i = (int)floorf(f);
    f -= (float)i;
    *s = i;
    *w0 = weight((1.0f - f) * 2048.0f);
    *w1 = weight(f * 2048.0f);
}

static int clip_row(int y, int h) { return y < 0 ? 0 : y >= h ? h - 1 : y; }

/* The exact halving (step 2). */
static void resize_half(const sn_io_image *in, uint8_t *dst, size_t dstride, int dh, int dw) {
    int c = in->c;
    size_t sstride = (size_t)in->w * c;
    for (int y = 0; y < dh; y++) {
        const uint8_t *s0 = in->data + (size_t)(2 * y) * sstride, *s1 = s0 + sstride;
        uint8_t *d = dst + (size_t)y * dstride;
        for (int x = 0; x < dw; x++)
            for (int k = 0; k < c; k++) {
                size_t i = (size_t)(2 * x) * c + k;
                d[x * c + k] = (uint8_t)((s0[i] + s0[i + c] + s1[i] + s1[i + c] + 2) >> 2);
            }
    }
}

/* Steps 3–5 into dst (dh rows of dw × c bytes, dstride apart). */
static sn_status resize_linear(const sn_io_image *in, uint8_t *dst, size_t dstride, int dh,
                               int dw) {
    int sw = in->w, sh = in->h, c = in->c;
    double scale_x = 1.0 / ((double)dw / sw), scale_y = 1.0 / ((double)dh / sh);
    if (fabs(scale_x - 2.0) < DBL_EPSILON && fabs(scale_y - 2.0) < DBL_EPSILON) {
        resize_half(in, dst, dstride, dh, dw);
        return SN_OK;
    }
    size_t row = (size_t)dw * c;
    int *xofs = malloc((size_t)dw * 3 * sizeof *xofs);
    int32_t *hbuf = malloc(2 * row * sizeof *hbuf);
    if (!xofs || !hbuf) {
        free(xofs);
        free(hbuf);
        return SN_ERR_NOMEM;
    }
    int *xa = xofs + dw; /* a0, a1 per column */
    for (int x = 0; x < dw; x++) {
        int sx, a0, a1;
        coeff(x, scale_x, &sx, &a0, &a1);
        if (sx < 0) /* left of the first pixel centre: that pixel */
            sx = 0, a0 = 2048, a1 = 0;
        if (sx >= sw - 1) /* right of the last one: that one */
            sx = sw - 1, a0 = 2048, a1 = 0;
        xofs[x] = sx;
        xa[2 * x] = a0;
        xa[2 * x + 1] = a1;
    }
    /* the horizontal pass of two source rows, kept while the next output row needs them */
    int32_t *hp[2] = {hbuf, hbuf + row};
    int held[2] = {-1, -1};
    for (int y = 0; y < dh; y++) {
        int sy, b0, b1;
        coeff(y, scale_y, &sy, &b0, &b1);
        int want[2] = {clip_row(sy, sh), clip_row(sy + 1, sh)};
        if (held[0] != want[0] && held[1] == want[0]) { /* moving down: the lower row is reused */
            int32_t *t = hp[0];
            hp[0] = hp[1], hp[1] = t;
            held[1] = held[0], held[0] = want[0];
        }
        for (int k = 0; k < 2; k++) {
            if (held[k] == want[k] || (k == 1 && want[1] == want[0]))
                continue;
            const uint8_t *s = in->data + (size_t)want[k] * sw * c;
            int32_t *d = hp[k];
            for (int x = 0; x < dw; x++) {
                const uint8_t *p = s + (size_t)xofs[x] * c;
                int a0 = xa[2 * x], a1 = xa[2 * x + 1];
                for (int ch = 0; ch < c; ch++)
                    d[x * c + ch] = p[ch] * a0 + (a1 ? p[ch + c] * a1 : 0);
            }
            held[k] = want[k];
        }
        const int32_t *h0 = hp[0], *h1 = want[1] == want[0] ? hp[0] : hp[1];
        uint8_t *d = dst + (size_t)y * dstride;
        for (size_t i = 0; i < row; i++)
            d[i] = (uint8_t)((((b0 * (h0[i] >> 4)) >> 16) + ((b1 * (h1[i] >> 4)) >> 16) + 2) >> 2);
    }
    free(xofs);
    free(hbuf);
    return SN_OK;
}

static sn_status resize_into(const sn_io_image *in, uint8_t *dst, size_t dstride, int dh, int dw) {
    if (dh == in->h && dw == in->w) {
        for (int y = 0; y < dh; y++)
            memcpy(dst + (size_t)y * dstride, in->data + (size_t)y * dw * in->c,
                   (size_t)dw * in->c);
        return SN_OK;
    }
    return resize_linear(in, dst, dstride, dh, dw);
}

static int image_ok(const sn_io_image *img) {
    return img && img->data && img->h >= 1 && img->w >= 1 && img->h <= SN_IO_IMAGE_MAX_SIDE &&
           img->w <= SN_IO_IMAGE_MAX_SIDE && (int64_t)img->h * img->w <= SN_IO_IMAGE_MAX_PIXELS &&
           (img->c == 1 || img->c == 3 || img->c == 4);
}

sn_status sn_io_image_resize(const sn_io_image *in, int new_h, int new_w, sn_io_image *out) {
    memset(out, 0, sizeof *out);
    if (!image_ok(in))
        return SN_ERR_INVALID;
    sn_status s = sn_io_image_new(out, new_h, new_w, in->c);
    if (s != SN_OK)
        return s;
    s = resize_into(in, out->data, (size_t)new_w * in->c, new_h, new_w);
    if (s != SN_OK)
        sn_io_image_free(out);
    return s;
}

/* ---------------------------------------------------------------- LetterBox */

static sn_status plan(int h, int w, int new_h, int new_w, int auto_, int stride, int scaleup,
                      sn_io_letterbox_info *info) {
    memset(info, 0, sizeof *info);
    if (h < 1 || w < 1 || new_h < 1 || new_w < 1 || h > SN_IO_IMAGE_MAX_SIDE ||
        w > SN_IO_IMAGE_MAX_SIDE || new_h > SN_IO_IMAGE_MAX_SIDE || new_w > SN_IO_IMAGE_MAX_SIDE ||
        (auto_ && stride < 1))
        return SN_ERR_INVALID;
    /* r = min(new_shape[0] / shape[0], new_shape[1] / shape[1]) */
    double rh = (double)new_h / h, rw = (double)new_w / w;
    double r = rw < rh ? rw : rh;
    if (!scaleup && r > 1.0) /* only scale down (the validator's LetterBox) */
        r = 1.0;
    /* new_unpad = max(round(shape[1] * r), 1), max(round(shape[0] * r), 1) */
    double uw = round_even(w * r), uh = round_even(h * r);
    int unpad_w = uw < 1 ? 1 : (int)uw, unpad_h = uh < 1 ? 1 : (int)uh;
    int dw = new_w - unpad_w, dh = new_h - unpad_h;
    if (auto_) { /* np.mod: the result has the sign of the stride */
        dw = ((dw % stride) + stride) % stride;
        dh = ((dh % stride) + stride) % stride;
    }
    /* center: dw /= 2; top, bottom = round(dh - 0.1), round(dh + 0.1) */
    double hw = dw / 2.0, hh = dh / 2.0;
    info->ratio = r;
    info->unpad_w = unpad_w;
    info->unpad_h = unpad_h;
    info->top = (int)round_even(hh - 0.1);
    info->bottom = (int)round_even(hh + 0.1);
    info->left = (int)round_even(hw - 0.1);
    info->right = (int)round_even(hw + 0.1);
    info->out_w = unpad_w + info->left + info->right;
    info->out_h = unpad_h + info->top + info->bottom;
    if (info->top < 0 || info->left < 0 || info->bottom < 0 || info->right < 0 ||
        info->out_w > SN_IO_IMAGE_MAX_SIDE || info->out_h > SN_IO_IMAGE_MAX_SIDE ||
        (int64_t)info->out_w * info->out_h > SN_IO_IMAGE_MAX_PIXELS)
        return SN_ERR_INVALID;
    return SN_OK;
}

sn_status sn_io_letterbox_plan(int h, int w, int new_h, int new_w, int auto_, int stride,
                               sn_io_letterbox_info *info) {
    return plan(h, w, new_h, new_w, auto_, stride, 1, info);
}

static sn_status letterbox(const sn_io_image *in, int new_h, int new_w, int auto_, int stride,
                           int scaleup, sn_io_image *out, sn_io_letterbox_info *info) {
    memset(out, 0, sizeof *out);
    sn_io_letterbox_info li;
    if (!image_ok(in))
        return SN_ERR_INVALID;
    sn_status s = plan(in->h, in->w, new_h, new_w, auto_, stride, scaleup, &li);
    if (info)
        *info = li;
    if (s != SN_OK)
        return s;
    s = sn_io_image_new(out, li.out_h, li.out_w, in->c);
    if (s != SN_OK)
        return s;
    int c = in->c;
    size_t stride_b = (size_t)li.out_w * c;
    memset(out->data, 114, (size_t)li.out_h * stride_b);
    s = resize_into(in, out->data + (size_t)li.top * stride_b + (size_t)li.left * c, stride_b,
                    li.unpad_h, li.unpad_w);
    if (s != SN_OK)
        sn_io_image_free(out);
    return s;
}

sn_status sn_io_letterbox(const sn_io_image *in, int new_h, int new_w, int auto_, int stride,
                          sn_io_image *out, sn_io_letterbox_info *info) {
    return letterbox(in, new_h, new_w, auto_, stride, 1, out, info);
}

sn_status sn_io_letterbox_val(const sn_io_image *in, int new_h, int new_w, sn_io_image *out,
                              sn_io_letterbox_info *info) {
    return letterbox(in, new_h, new_w, 0, 32, 0, out, info);
}

/* ---------------------------------------------------------------- the tensor */

void sn_io_image_to_tensor(const sn_io_image *img, float *dst) {
    SN_ASSERT(img && img->c == 3);
    float lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = (float)v / 255.0f; /* torch's div_(255) on f32, the CPU kernel: a true division */
    size_t hw = (size_t)img->h * img->w;
    for (int ch = 0; ch < 3; ch++) {
        const uint8_t *s = img->data + (2 - ch); /* RGB plane ch is BGR channel 2 - ch */
        float *d = dst + ch * hw;
        for (size_t i = 0; i < hw; i++)
            d[i] = lut[s[3 * i]];
    }
}
