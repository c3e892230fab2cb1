/* .npy: files made by numpy (tests/tensorio/data/gen.py) read back right and are reproduced
 * byte for byte; round trips through files; every strict prefix of a valid file is refused. */
#include "check.h"

#define DATA SN_SOURCE_DIR "/tests/tensorio/data/"

static char err[1024];

static float *read_ok(const char *path, sn_shape *s) {
    float *d = NULL;
    sn_status st = sn_io_npy_read(path, s, &d, err, sizeof err);
    CHECKF(st == SN_OK, "%s", err);
    return d;
}

/* encode(shape, data, dtype) must equal the numpy-written file exactly */
static void same_bytes(const char *path, const sn_shape *s, const float *d, sn_dtype dt) {
    size_t n;
    unsigned char *f = slurp(path, &n);
    void *enc;
    size_t elen;
    CHECKF(sn_io_npy_encode(s, d, dt, &enc, &elen, err, sizeof err) == SN_OK, "%s", err);
    CHECKF(elen == n && memcmp(enc, f, n) == 0, "%s: encoded bytes differ from numpy's", path);
    free(enc);
    free(f);
}

static void numpy_files(void) {
    sn_shape s;
    float *d;

    d = read_ok(DATA "f32_2x3.npy", &s);
    sn_shape want = SHAPE(2, 3);
    CHECK(sn_shape_eq(&s, &want));
    if (d) {
        CHECK(d[0] == 0.5f && d[1] == -1.0f && d[2] == 2.0f && d[3] == 3.25f && d[5] == 1e-3f);
        CHECK(d[4] == 0.0f && signbit(d[4]));
        same_bytes(DATA "f32_2x3.npy", &s, d, SN_DTYPE_F32);
    }
    free(d);

    const char *vers[] = {DATA "f32_v2.npy", DATA "f32_v3.npy"};
    for (int v = 0; v < 2; v++) {
        d = read_ok(vers[v], &s);
        CHECK(sn_shape_eq(&s, &want) && d && d[3] == 3.25f && d[5] == 1e-3f);
        free(d);
    }

    d = read_ok(DATA "f16_5.npy", &s);
    want = SHAPE(5);
    CHECK(sn_shape_eq(&s, &want));
    if (d) {
        CHECK(d[0] == 1.0f && d[1] == -2.0f && d[2] == 65504.0f);
        CHECK(fbits(d[3]) == 0x33800000u); /* 6e-8 → the smallest f16 subnormal */
        CHECK(fbits(d[4]) == 0x3eaa8000u); /* 0.333 → f16 0x3554 */
        same_bytes(DATA "f16_5.npy", &s, d, SN_DTYPE_F16);
    }
    free(d);

    d = read_ok(DATA "f32_scalar.npy", &s);
    CHECK(s.ndim == 0 && d && d[0] == 7.5f);
    if (d)
        same_bytes(DATA "f32_scalar.npy", &s, d, SN_DTYPE_F32);
    free(d);

    d = read_ok(DATA "f32_empty.npy", &s);
    want = SHAPE(0, 3);
    CHECK(sn_shape_eq(&s, &want) && d != NULL); /* numel 0 still gives a buffer */
    if (d)
        same_bytes(DATA "f32_empty.npy", &s, d, SN_DTYPE_F32);
    free(d);

    d = read_ok(DATA "f32_long0.npy", &s);
    want = SHAPE(123456, 0);
    CHECK(sn_shape_eq(&s, &want) && d != NULL);
    if (d)
        same_bytes(DATA "f32_long0.npy", &s, d, SN_DTYPE_F32);
    free(d);

    d = read_ok(DATA "f32_fortran1d.npy", &s); /* fortran order means nothing at rank 1 */
    want = SHAPE(3);
    CHECK(sn_shape_eq(&s, &want) && d && d[0] == 1 && d[1] == 2 && d[2] == 3);
    free(d);

    d = NULL;
    CHECK(sn_io_npy_read(DATA "f64_2x2.npy", &s, &d, err, sizeof err) == SN_ERR_INVALID);
    CHECK_HAS(err, "f64_2x2.npy");
    CHECK_HAS(err, "'<f8' is not supported");
    CHECK(d == NULL);
}

static void round_trips(const char *dir) {
    char path[600];
    snprintf(path, sizeof path, "%s/x.npy", dir);
    sn_shape shapes[] = {SHAPE(1, 3, 64, 64), SHAPE(2, 1, 3, 1, 2, 5), SHAPE(7), shape0(),
                         SHAPE(4, 0, 2)};
    uint32_t x = 99;
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        int64_t n = sn_shape_numel(&shapes[i]);
        float *v = malloc((size_t)(n ? n : 1) * 4);
        for (int64_t k = 0; k < n; k++) {
            x = x * 1664525u + 1013904223u;
            v[k] = ((float)(x >> 8) / 16777216.0f - 0.5f) * 100.0f;
        }
        for (int f16 = 0; f16 < 2; f16++) {
            sn_dtype dt = f16 ? SN_DTYPE_F16 : SN_DTYPE_F32;
            CHECKF(sn_io_npy_write(path, &shapes[i], v, dt, err, sizeof err) == SN_OK, "%s", err);
            sn_shape s;
            float *back = read_ok(path, &s);
            CHECK(sn_shape_eq(&s, &shapes[i]));
            if (back) {
                int bad = 0;
                for (int64_t k = 0; k < n; k++) {
                    float want = v[k];
                    if (f16) { /* exactly the f16 rounding */
                        uint16_t h;
                        sn_io_from_f32(SN_DTYPE_F16, &v[k], &h, 1);
                        sn_io_to_f32(SN_DTYPE_F16, &h, &want, 1);
                    }
                    bad += fbits(back[k]) != fbits(want);
                }
                CHECKF(bad == 0, "shape %zu f16 %d: %d values differ", i, f16, bad);
            }
            free(back);
            /* the header is aligned and the file is what encode gives */
            size_t fn;
            unsigned char *fb = slurp(path, &fn);
            CHECK(fn >= 10 && (10 + (fb[8] | (fb[9] << 8))) % 64 == 0);
            void *enc;
            size_t elen;
            CHECK(sn_io_npy_encode(&shapes[i], v, dt, &enc, &elen, err, sizeof err) == SN_OK);
            CHECK(elen == fn && memcmp(enc, fb, fn) == 0);
            /* every strict prefix is refused, naming the source */
            for (size_t k = 0; k < fn && k < 400; k++) {
                unsigned char *c = malloc(k ? k : 1);
                memcpy(c, fb, k);
                float *dd = NULL;
                sn_shape ss;
                err[0] = '\0';
                CHECK(sn_io_npy_parse(c, k, "pre", &ss, &dd, err, sizeof err) == SN_ERR_INVALID);
                CHECK(dd == NULL && strncmp(err, "pre: ", 5) == 0);
                free(c);
            }
            free(enc);
            free(fb);
        }
        free(v);
    }
    CHECK(count_entries(dir) == 1);
    /* refusals: bf16 is not a numpy dtype; a bad shape */
    float one = 1;
    sn_shape s1 = SHAPE(1);
    CHECK(sn_io_npy_write(path, &s1, &one, SN_DTYPE_BF16, err, sizeof err) == SN_ERR_INVALID);
    CHECK_HAS(err, path);
    sn_shape neg = SHAPE(-2);
    CHECK(sn_io_npy_write(path, &neg, &one, SN_DTYPE_F32, err, sizeof err) == SN_ERR_INVALID);
    CHECK_HAS(err, "invalid shape");
    /* a missing file */
    snprintf(path, sizeof path, "%s/none.npy", dir);
    float *d = NULL;
    sn_shape s;
    CHECK(sn_io_npy_read(path, &s, &d, err, sizeof err) == SN_ERR_IO);
    CHECK_HAS(err, path);
    CHECK_HAS(err, "No such file");
}

static void header_variants(void) {
    /* hand-written headers numpy would also accept: double quotes, no trailing comma, other
     * key order, no padding or newline, Python 2 longs, spaces inside the tuple */
    const char *hdrs[] = {
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,)}",
        "{'shape': ( 2 , ), 'fortran_order': False, 'descr': '<f4'}\n",
        "{'descr':'<f4','fortran_order':False,'shape':(2L,),}   \n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2)}",
    };
    for (size_t i = 0; i < sizeof hdrs / sizeof *hdrs; i++) {
        size_t hl = strlen(hdrs[i]);
        unsigned char buf[256];
        memcpy(buf, "\x93NUMPY\x01\x00", 8);
        buf[8] = (unsigned char)hl;
        buf[9] = 0;
        memcpy(buf + 10, hdrs[i], hl);
        float v[2] = {3.0f, -4.0f};
        memcpy(buf + 10 + hl, v, 8);
        sn_shape s;
        float *d = NULL;
        CHECKF(sn_io_npy_parse(buf, 18 + hl, "h", &s, &d, err, sizeof err) == SN_OK, "%zu: %s", i,
               err);
        CHECK(sn_shape_numel(&s) == 2 && d && d[0] == 3.0f && d[1] == -4.0f);
        free(d);
    }
}

int main(void) {
    char *dir = make_temp_dir("tio");
    numpy_files();
    round_trips(dir);
    header_variants();
    rm_tree(dir);
    free(dir);
    return check_report("tio_npy");
}
