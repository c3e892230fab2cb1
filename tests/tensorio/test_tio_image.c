/* tests/tensorio/test_tio_image.c — images without Python: the decoders on small checked-in
 * fixtures (data/images, written by gen.py: exact pixels for PNG, approximate for JPEG),
 * EXIF orientations, hostile and truncated files (every prefix and many bit flips of each good
 * file must fail cleanly or decode, never crash), sizes past the limits refused, the
 * letterbox geometry and resize values worked out by hand, and the tensor layout. Exact
 * agreement with cv2 and Ultralytics is image_parity.py's (ctest parity_image). */
#include "io/io.h"
#include "tests/common/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DATA SN_TIO_IMAGE_DATA

static char *fixture(const char *name) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", DATA, name);
    return path;
}

/* the BGR bytes of pixel (y, x) */
static const uint8_t *px(const sn_io_image *img, int y, int x) {
    return img->data + ((size_t)y * img->w + x) * img->c;
}

static int is_bgr(const sn_io_image *img, int y, int x, int r, int g, int b) {
    const uint8_t *p = px(img, y, x);
    return p[0] == b && p[1] == g && p[2] == r;
}

static int near_bgr(const sn_io_image *img, int y, int x, int r, int g, int b, int tol) {
    const uint8_t *p = px(img, y, x);
    return abs(p[0] - b) <= tol && abs(p[1] - g) <= tol && abs(p[2] - r) <= tol;
}

/* reads a fixture that must decode; exits the test when it does not */
static sn_io_image must_read(const char *name) {
    sn_io_image img;
    char err[512];
    sn_status s = sn_io_image_read(fixture(name), &img, err, sizeof err);
    if (s != SN_OK) {
        fprintf(stderr, "%s: %s\n", name, err);
        exit(1);
    }
    CHECK(img.c == 3 && img.data);
    return img;
}

/* reads a fixture that must be refused with status st and a message naming the file and
 * containing `says` (may be NULL) */
static void must_refuse(const char *name, sn_status st, const char *says) {
    sn_io_image img;
    char err[512] = "";
    sn_status s = sn_io_image_read(fixture(name), &img, err, sizeof err);
    CHECKF(s == st, "%s: status %s, want %s (%s)", name, sn_status_str(s), sn_status_str(st), err);
    CHECK(img.data == NULL && img.h == 0 && img.w == 0);
    CHECK_HAS(err, name);
    if (says)
        CHECK_HAS(err, says);
}

/* ---------------------------------------------------------------- PNG */

/* px3x2.png: rows (255,0,0) (0,255,0) (0,0,255) / (10,20,30) (40,50,60) (70,80,90), RGB */
static const int PX[2][3][3] = {{{255, 0, 0}, {0, 255, 0}, {0, 0, 255}},
                                {{10, 20, 30}, {40, 50, 60}, {70, 80, 90}}};

/* where pixel (y, x) of the upright image comes from in px3x2 for each EXIF orientation */
static void oriented_src(int o, int oh, int ow, int y, int x, int *sy, int *sx) {
    int t = o >= 5, lr = o == 2 || o == 3 || o == 6 || o == 7, tb = o == 3 || o == 4 || o >= 7;
    int ty = tb ? oh - 1 - y : y, tx = lr ? ow - 1 - x : x;
    *sy = t ? tx : ty;
    *sx = t ? ty : tx;
}

static void test_png(void) {
#ifdef SN_HAVE_PNG
    sn_io_image img = must_read("px3x2.png");
    CHECK(img.h == 2 && img.w == 3);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++)
            CHECKF(is_bgr(&img, y, x, PX[y][x][0], PX[y][x][1], PX[y][x][2]), "px3x2 (%d,%d)", y,
                   x);
    sn_io_image_free(&img);
    img = must_read("px3x2_i.png"); /* Adam7 */
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++)
            CHECK(is_bgr(&img, y, x, PX[y][x][0], PX[y][x][1], PX[y][x][2]));
    sn_io_image_free(&img);

    /* EXIF orientations 2..8, by hand: 6 turns 90° clockwise, so the bottom-left source
     * pixel (10,20,30) comes to the top-left */
    for (int o = 2; o <= 8; o++) {
        char name[64];
        snprintf(name, sizeof name, "px3x2_o%d.png", o);
        img = must_read(name);
        int oh = o >= 5 ? 3 : 2, ow = o >= 5 ? 2 : 3;
        CHECKF(img.h == oh && img.w == ow, "%s: %dx%d", name, img.h, img.w);
        for (int y = 0; y < oh && img.h == oh; y++)
            for (int x = 0; x < ow; x++) {
                int sy, sx;
                oriented_src(o, oh, ow, y, x, &sy, &sx);
                CHECKF(is_bgr(&img, y, x, PX[sy][sx][0], PX[sy][sx][1], PX[sy][sx][2]),
                       "%s (%d,%d)", name, y, x);
            }
        if (o == 6)
            CHECK(is_bgr(&img, 0, 0, 10, 20, 30) && is_bgr(&img, 0, 1, 255, 0, 0));
        if (o == 8)
            CHECK(is_bgr(&img, 0, 0, 0, 0, 255) && is_bgr(&img, 2, 1, 10, 20, 30));
        sn_io_image_free(&img);
    }

    img = must_read("gray1x1.png"); /* gray copied to B, G, R */
    CHECK(img.h == 1 && img.w == 1 && is_bgr(&img, 0, 0, 77, 77, 77));
    sn_io_image_free(&img);
    img = must_read("pal2x2_trns.png"); /* palette expanded, transparency ignored */
    CHECK(img.h == 2 && img.w == 2);
    CHECK(is_bgr(&img, 0, 0, 1, 2, 3) && is_bgr(&img, 0, 1, 200, 100, 50));
    CHECK(is_bgr(&img, 1, 0, 200, 100, 50) && is_bgr(&img, 1, 1, 1, 2, 3));
    sn_io_image_free(&img);
    img = must_read("rgba16_2x1.png"); /* 16 bits: the high byte; alpha dropped */
    CHECK(img.h == 1 && img.w == 2);
    CHECK(is_bgr(&img, 0, 0, 0x12, 0xAB, 0xFF) && is_bgr(&img, 0, 1, 0x00, 0x01, 0x80));
    sn_io_image_free(&img);

    must_refuse("trunc.png", SN_ERR_INVALID, "PNG");
    must_refuse("no_iend.png", SN_ERR_INVALID, "truncated");
    must_refuse("bad_crc.png", SN_ERR_INVALID, "PNG");
    must_refuse("huge.png", SN_ERR_INVALID, "limit");
    must_refuse("wide.png", SN_ERR_INVALID, "PNG");
#endif
}

/* ---------------------------------------------------------------- JPEG */

static void test_jpeg(void) {
#ifdef SN_HAVE_JPEG
    /* 16 x 8, left half red, right half blue (lossy: within a few levels away from the edge) */
    sn_io_image img = must_read("rb16x8.jpg");
    CHECK(img.h == 8 && img.w == 16);
    CHECK(near_bgr(&img, 0, 0, 255, 0, 0, 8) && near_bgr(&img, 7, 3, 255, 0, 0, 8));
    CHECK(near_bgr(&img, 0, 15, 0, 0, 255, 8) && near_bgr(&img, 4, 12, 0, 0, 255, 8));
    sn_io_image_free(&img);
    img = must_read("rb16x8_o6.jpg"); /* turned 90° clockwise: red on top, blue below */
    CHECK(img.h == 16 && img.w == 8);
    if (img.h == 16) {
        CHECK(near_bgr(&img, 0, 0, 255, 0, 0, 8) && near_bgr(&img, 3, 7, 255, 0, 0, 8));
        CHECK(near_bgr(&img, 15, 0, 0, 0, 255, 8) && near_bgr(&img, 12, 5, 0, 0, 255, 8));
    }
    sn_io_image_free(&img);
    img = must_read("rb16x8_prog.jpg"); /* progressive, 4:2:0 */
    CHECK(img.h == 8 && img.w == 16);
    CHECK(near_bgr(&img, 0, 0, 255, 0, 0, 12) && near_bgr(&img, 7, 15, 0, 0, 255, 12));
    sn_io_image_free(&img);
    img = must_read("one1x1.jpg");
    CHECK(img.h == 1 && img.w == 1 && near_bgr(&img, 0, 0, 30, 160, 220, 4));
    sn_io_image_free(&img);
    img = must_read("gray8x8.jpg");
    CHECK(img.h == 8 && img.w == 8 && is_bgr(&img, 3, 5, 90, 90, 90));
    sn_io_image_free(&img);
    img = must_read("cmyk8x8.jpg"); /* c=0 m=255 y=255 k=0 (PIL stores it inverted): red */
    CHECK(img.h == 8 && img.w == 8 && near_bgr(&img, 2, 2, 255, 0, 0, 4));
    sn_io_image_free(&img);

    must_refuse("trunc.jpg", SN_ERR_INVALID, "truncated");
    must_refuse("header_only.jpg", SN_ERR_INVALID, "JPEG");
    must_refuse("huge.jpg", SN_ERR_INVALID, "limit");
    must_refuse("scan_flood.jpg", SN_ERR_INVALID, "scans");
#endif
}

static void test_not_images(void) {
    must_refuse("garbage.bin", SN_ERR_UNSUPPORTED, "not a JPEG or PNG");
    must_refuse("gif.gif", SN_ERR_UNSUPPORTED, "not a JPEG or PNG");
    must_refuse("empty.jpg", SN_ERR_INVALID, "empty");
    must_refuse("no_such_file.png", SN_ERR_IO, "cannot open");
}

/* Every prefix and 300 single-byte changes of each good file: an error or an image, never a
 * crash (the ASan build runs this too). A prefix that decodes must keep the full size. */
static void test_hostile(void) {
    static const char *good[] = {
        "px3x2.png",  "px3x2_o6.png",  "px3x2_i.png",     "pal2x2_trns.png", "rgba16_2x1.png",
        "rb16x8.jpg", "rb16x8_o6.jpg", "rb16x8_prog.jpg", "one1x1.jpg",      "cmyk8x8.jpg"};
    rnd_seed(12);
    for (size_t f = 0; f < sizeof good / sizeof *good; f++) {
        size_t n;
        char *buf = read_file(fixture(good[f]), &n);
        CHECK(buf != NULL);
        if (!buf)
            continue;
        sn_io_image full;
        char err[512];
        if (sn_io_image_decode(buf, n, good[f], &full, err, sizeof err) != SN_OK) {
            /* built without this codec */
            CHECK_HAS(err, "built without");
            free(buf);
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            sn_io_image img;
            char *cut = malloc(k ? k : 1); /* exactly k bytes, so ASan sees any over-read */
            memcpy(cut, buf, k);
            sn_status s = sn_io_image_decode(cut, k, good[f], &img, err, sizeof err);
            if (s == SN_OK)
                CHECKF(img.h == full.h && img.w == full.w, "%s cut to %zu", good[f], k);
            else
                CHECKF(img.data == NULL && has_substr(err, good[f]), "%s cut to %zu: %s", good[f],
                       k, err);
            sn_io_image_free(&img);
            free(cut);
        }
        for (int t = 0; t < 300; t++) {
            char *bad = malloc(n);
            memcpy(bad, buf, n);
            size_t at = (size_t)(rnd_u64() % n);
            bad[at] = (char)(t % 3 == 0 ? 0xFF : t % 3 == 1 ? 0x00 : (int)(rnd_u64() & 0xFF));
            sn_io_image img;
            if (sn_io_image_decode(bad, n, good[f], &img, err, sizeof err) == SN_OK)
                CHECK(img.h >= 1 && img.w >= 1 && img.c == 3 && img.data);
            sn_io_image_free(&img);
            free(bad);
        }
        sn_io_image_free(&full);
        free(buf);
    }
}

/* ---------------------------------------------------------------- geometry */

static void plan_is(int h, int w, int nh, int nw, int auto_, int stride, double ratio, int uw,
                    int uh, int top, int bottom, int left, int right) {
    sn_io_letterbox_info li;
    sn_status s = sn_io_letterbox_plan(h, w, nh, nw, auto_, stride, &li);
    CHECKF(s == SN_OK && li.ratio == ratio && li.unpad_w == uw && li.unpad_h == uh &&
               li.top == top && li.bottom == bottom && li.left == left && li.right == right &&
               li.out_w == uw + left + right && li.out_h == uh + top + bottom,
           "%dx%d -> %dx%d auto %d: ratio %.17g unpad %dx%d pad t%d b%d l%d r%d", h, w, nh, nw,
           auto_, li.ratio, li.unpad_w, li.unpad_h, li.top, li.bottom, li.left, li.right);
}

static void test_plan(void) {
    /* h w → new_h new_w, auto, stride: ratio, unpad w h, top bottom left right */
    plan_is(480, 640, 640, 640, 0, 32, 1.0, 640, 480, 80, 80, 0, 0);
    plan_is(480, 640, 640, 640, 1, 32, 1.0, 640, 480, 0, 0, 0, 0); /* 160 % 32 = 0 */
    plan_is(720, 1280, 640, 640, 0, 32, 0.5, 640, 360, 140, 140, 0, 0);
    plan_is(720, 1280, 640, 640, 1, 32, 0.5, 640, 360, 12, 12, 0, 0); /* 280 % 32 = 24 */
    /* 333 · 0.64 = 213.12; dh = 427, 213.5: round(213.4) = 213, round(213.6) = 214 */
    plan_is(333, 1000, 640, 640, 0, 32, 0.64, 640, 213, 213, 214, 0, 0);
    plan_is(333, 1000, 640, 640, 1, 32, 0.64, 640, 213, 5, 6, 0, 0); /* 427 % 32 = 11 */
    plan_is(17, 640, 640, 640, 0, 32, 1.0, 640, 17, 311, 312, 0, 0);
    plan_is(1, 1, 640, 640, 0, 32, 640.0, 640, 640, 0, 0, 0, 0);
    /* 5 · 0.5 = 2.5 rounds to even: 2; then dw = 98 */
    plan_is(2, 5, 1, 100, 0, 32, 0.5, 2, 1, 0, 0, 49, 49);
    /* dw = 1: round(0.4) = 0 left, round(0.6) = 1 right; dw = 5: 2 and 3 */
    plan_is(2, 3, 2, 4, 0, 32, 1.0, 3, 2, 0, 0, 0, 1);
    plan_is(2, 3, 2, 8, 0, 32, 1.0, 3, 2, 0, 0, 2, 3);
    /* a thin image keeps one row: 3000 · (640/3000) = 640, 1 · 0.2133 rounds to 0 → 1 */
    plan_is(1, 3000, 640, 640, 0, 32, 640.0 / 3000.0, 640, 1, 319, 320, 0, 0);
    /* rectangular target, stride 1 with auto: no padding at all */
    plan_is(500, 375, 640, 480, 1, 1, 1.28, 480, 640, 0, 0, 0, 0);

    sn_io_letterbox_info li;
    CHECK(sn_io_letterbox_plan(0, 10, 640, 640, 0, 32, &li) == SN_ERR_INVALID);
    CHECK(sn_io_letterbox_plan(10, 10, 0, 640, 0, 32, &li) == SN_ERR_INVALID);
    CHECK(sn_io_letterbox_plan(10, 10, 640, 640, 1, 0, &li) == SN_ERR_INVALID);
    CHECK(sn_io_letterbox_plan(10, 10, 70000, 640, 0, 32, &li) == SN_ERR_INVALID);
    CHECK(sn_io_letterbox_plan(10, 10, 640, 640, 0, 0, &li) == SN_OK); /* stride unused */
}

/* ---------------------------------------------------------------- resize and letterbox */

static sn_io_image make(int h, int w, int c, const uint8_t *bytes) {
    sn_io_image img;
    CHECK(sn_io_image_new(&img, h, w, c) == SN_OK);
    memcpy(img.data, bytes, (size_t)h * w * c);
    return img;
}

static void test_resize(void) {
    /* 1 x 2 → 1 x 4, one channel: weights (2048, 0) (1536, 512) (512, 1536) (2048, 0) of
     * pixels 0 and 1; e.g. 255 · 512 = 130560, >> 4 = 8160, · 2048 >> 16 = 255, + 2 >> 2 = 64 */
    sn_io_image in = make(1, 2, 1, (const uint8_t[]){0, 255}), out;
    CHECK(sn_io_image_resize(&in, 1, 4, &out) == SN_OK);
    CHECK(out.data[0] == 0 && out.data[1] == 64 && out.data[2] == 191 && out.data[3] == 255);
    sn_io_image_free(&out);
    sn_io_image_free(&in);
    in = make(1, 2, 1, (const uint8_t[]){0, 100});
    CHECK(sn_io_image_resize(&in, 1, 4, &out) == SN_OK);
    CHECK(out.data[0] == 0 && out.data[1] == 25 && out.data[2] == 75 && out.data[3] == 100);
    sn_io_image_free(&out);
    sn_io_image_free(&in);

    /* an exact halving: the 2 × 2 mean rounded half up, (0 + 0 + 1 + 1 + 2) >> 2 = 1 */
    in = make(2, 2, 3, (const uint8_t[]){0, 10, 1, 0, 20, 2, 1, 30, 3, 1, 41, 4});
    CHECK(sn_io_image_resize(&in, 1, 1, &out) == SN_OK);
    CHECK(out.data[0] == 1 && out.data[1] == 25 && out.data[2] == 3); /* 101/4, 10/4 */
    sn_io_image_free(&out);

    /* the same size copies */
    CHECK(sn_io_image_resize(&in, 2, 2, &out) == SN_OK);
    CHECK(!memcmp(out.data, in.data, 12));
    sn_io_image_free(&out);
    CHECK(sn_io_image_resize(&in, 0, 2, &out) == SN_ERR_INVALID && out.data == NULL);
    sn_io_image_free(&in);

    /* a constant image stays constant through any resize */
    CHECK(sn_io_image_new(&in, 7, 5, 3) == SN_OK);
    memset(in.data, 201, 7 * 5 * 3);
    CHECK(sn_io_image_resize(&in, 33, 2, &out) == SN_OK);
    int same = 1;
    for (int i = 0; i < 33 * 2 * 3; i++)
        same &= out.data[i] == 201;
    CHECK(same);
    sn_io_image_free(&out);

    /* letterbox: 7 x 5 → 16 x 16: ratio 16/7, unpad 11 x 16, padding 2 left and 3 right of 114 */
    sn_io_letterbox_info li;
    CHECK(sn_io_letterbox(&in, 16, 16, 0, 32, &out, &li) == SN_OK);
    CHECK(out.h == 16 && out.w == 16 && out.c == 3 && li.unpad_w == 11 && li.unpad_h == 16);
    CHECK(li.left == 2 && li.right == 3 && li.top == 0 && li.bottom == 0);
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++) {
            int v = x < 2 || x >= 13 ? 114 : 201;
            CHECKF(is_bgr(&out, y, x, v, v, v), "letterbox (%d,%d)", y, x);
        }
    sn_io_image_free(&out);
    /* auto: the padding is 5 mod 32 = 5, the same here */
    CHECK(sn_io_letterbox(&in, 16, 16, 1, 32, &out, NULL) == SN_OK && out.w == 16);
    sn_io_image_free(&out);
    CHECK(sn_io_letterbox(&in, 16, 16, 1, 4, &out, &li) == SN_OK); /* 5 mod 4 = 1 */
    CHECK(out.h == 16 && out.w == 12 && li.left == 0 && li.right == 1);
    sn_io_image_free(&out);
    /* 1 x 1 → 640 x 640: no padding, every pixel the one pixel */
    sn_io_image one = make(1, 1, 3, (const uint8_t[]){9, 99, 250});
    CHECK(sn_io_letterbox(&one, 640, 640, 0, 32, &out, &li) == SN_OK);
    CHECK(out.h == 640 && out.w == 640 && li.top == 0 && li.left == 0 && li.ratio == 640.0);
    CHECK(is_bgr(&out, 0, 0, 250, 99, 9) && is_bgr(&out, 639, 639, 250, 99, 9) &&
          is_bgr(&out, 320, 17, 250, 99, 9));
    sn_io_image_free(&out);
    sn_io_image_free(&one);
    sn_io_image_free(&in);
}

static void test_tensor(void) {
    /* 1 x 2 BGR (1, 2, 3) (250, 251, 255) → planes R, G, B, each v / 255 */
    sn_io_image img = make(1, 2, 3, (const uint8_t[]){1, 2, 3, 250, 251, 255});
    float *t = poisoned(8);
    sn_io_image_to_tensor(&img, t);
    const float want[6] = {3 / 255.0f, 1.0f, 2 / 255.0f, 251 / 255.0f, 1 / 255.0f, 250 / 255.0f};
    for (int i = 0; i < 6; i++)
        CHECKF(t[i] == want[i], "t[%d] = %.9g, want %.9g", i, t[i], want[i]);
    CHECK(isnan(t[6]) && isnan(t[7])); /* nothing past 3 × h × w */
    /* the division, not a multiplication by 1/255: 1/255 rounds differently for some v */
    volatile float v = 3.0f;
    CHECK(t[0] == v / 255.0f);
    free(t);
    sn_io_image_free(&img);
}

static void test_limits(void) {
    sn_io_image img;
    CHECK(sn_io_image_new(&img, 1 << 15, 1 << 15, 3) == SN_ERR_INVALID && img.data == NULL);
    CHECK(sn_io_image_new(&img, 70000, 1, 3) == SN_ERR_INVALID);
    CHECK(sn_io_image_new(&img, 1, 1, 5) == SN_ERR_INVALID);
    CHECK(sn_io_image_new(&img, 16384, 16384, 1) == SN_OK || img.data == NULL); /* at the limit */
    sn_io_image_free(&img);
    sn_io_image_free(NULL);
}

int main(void) {
    test_png();
    test_jpeg();
    test_not_images();
    test_hostile();
    test_plan();
    test_resize();
    test_tensor();
    test_limits();
    return check_report("tio_image");
}
