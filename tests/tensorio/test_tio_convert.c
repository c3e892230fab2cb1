/* f16 / bf16 / i32 <-> f32 conversions: known bit patterns, exhaustive f16 round trips, numpy's
 * own float16 casts as an oracle, the compiler's _Float16 as a second one where it exists, and
 * an independent double-arithmetic bf16 rounding oracle. */
#include "check.h"

#include <float.h>

static uint16_t to_f16(float f) {
    uint16_t h;
    sn_io_from_f32(SN_DTYPE_F16, &f, &h, 1);
    return h;
}
static float from_f16(uint16_t h) {
    float f;
    sn_io_to_f32(SN_DTYPE_F16, &h, &f, 1);
    return f;
}
static uint16_t to_bf16(float f) {
    uint16_t h;
    sn_io_from_f32(SN_DTYPE_BF16, &f, &h, 1);
    return h;
}
static float from_bf16(uint16_t h) {
    float f;
    sn_io_to_f32(SN_DTYPE_BF16, &h, &f, 1);
    return f;
}

static void known_f16(void) {
    static const struct {
        uint16_t h;
        uint32_t f;
    } pairs[] = {
        {0x0000, 0x00000000}, /* +0 */
        {0x8000, 0x80000000}, /* -0 */
        {0x3c00, 0x3f800000}, /* 1 */
        {0xc000, 0xc0000000}, /* -2 */
        {0x7bff, 0x477fe000}, /* 65504, the largest */
        {0x0400, 0x38800000}, /* 2^-14, smallest normal */
        {0x03ff, 0x387fc000}, /* largest subnormal 1023 * 2^-24 */
        {0x0001, 0x33800000}, /* 2^-24, smallest subnormal */
        {0x8001, 0xb3800000}, /* -2^-24 */
        {0x0200, 0x38000000}, /* 2^-15 */
        {0x3555, 0x3eaaa000}, /* 0.333251953125 */
        {0x7c00, 0x7f800000}, /* +inf */
        {0xfc00, 0xff800000}, /* -inf */
        {0x7e00, 0x7fc00000}, /* quiet NaN */
        {0xfe00, 0xffc00000}, /* negative quiet NaN */
        {0x7d00, 0x7fa00000}, /* signalling NaN: payload kept */
    };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        uint32_t got = fbits(from_f16(pairs[i].h));
        CHECKF(got == pairs[i].f, "f16 %04x -> %08x, want %08x", pairs[i].h, got, pairs[i].f);
    }
    static const struct {
        uint32_t f;
        uint16_t h;
    } down[] = {
        {0x3f800000, 0x3c00}, /* 1 */
        {0x477fe000, 0x7bff}, /* 65504 */
        {0x477fefff, 0x7bff}, /* just below 65520: rounds down */
        {0x477ff000, 0x7c00}, /* 65520: tie between 65504 (odd) and 65536 → even = inf */
        {0x47800000, 0x7c00}, /* 65536 */
        {0x4e6e6b28, 0x7c00}, /* 1e9 */
        {0xce6e6b28, 0xfc00}, /* -1e9 */
        {0x7f7fffff, 0x7c00}, /* FLT_MAX */
        {0x7f800000, 0x7c00}, /* inf */
        {0xff800000, 0xfc00}, /* -inf */
        {0x33800000, 0x0001}, /* 2^-24 */
        {0x33000000, 0x0000}, /* 2^-25: tie between 0 and 2^-24 → even 0 */
        {0xb3000000, 0x8000}, /* -2^-25 → -0 */
        {0x33000001, 0x0001}, /* just above 2^-25 → 2^-24 */
        {0x33c00000, 0x0002}, /* 3 * 2^-25 = 1.5 ulp: tie → even 2 */
        {0x34200000, 0x0002}, /* 2.5 * 2^-24: tie → even 2 */
        {0x34600000, 0x0004}, /* 3.5 * 2^-24: tie → even 4 */
        {0x32800000, 0x0000}, /* 2^-26 */
        {0x00000001, 0x0000}, /* f32 subnormal */
        {0x80000001, 0x8000}, {0x80000000, 0x8000}, /* -0 */
        {0x3f801000, 0x3c00},                       /* 1 + 2^-11: tie → even 0x3c00 */
        {0x3f803000, 0x3c02},                       /* 1 + 3 * 2^-11: tie → even 0x3c02 */
        {0x3f801001, 0x3c01},                       /* just above the tie */
        {0x387fe000, 0x0400}, /* 2^-14 - 2^-25 = 1023.5 * 2^-24: tie → even → smallest normal */
        {0x387fc000, 0x03ff}, /* largest subnormal exactly */
        {0x38800000, 0x0400}, /* smallest normal exactly */
        {0x7fc00000, 0x7e00}, /* NaN */
        {0xffc00000, 0xfe00}, /* -NaN: sign kept */
        {0x7f800001, 0x7e00}, /* signalling NaN with a low payload: stays NaN, quiet */
        {0x7fa00000, 0x7f00}, /* payload top bits kept */
    };
    for (size_t i = 0; i < sizeof down / sizeof *down; i++) {
        uint16_t got = to_f16(bitsf(down[i].f));
        CHECKF(got == down[i].h, "f32 %08x -> f16 %04x, want %04x", down[i].f, got, down[i].h);
    }
}

static void exhaustive_f16(void) {
    float prev = -INFINITY;
    int bad_rt = 0, bad_mono = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = from_f16((uint16_t)h);
        uint16_t back = to_f16(f);
        int nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        uint16_t want = nan ? (uint16_t)(h | 0x200) : (uint16_t)h; /* NaNs come back quiet */
        if (back != want && bad_rt++ < 5)
            fprintf(stderr, "f16 %04x -> %08x -> %04x\n", h, fbits(f), back);
        if (nan)
            CHECK(f != f);
        /* positive finite values are strictly increasing in their bit pattern */
        if (h < 0x7c00) {
            if (h > 0 && !(f > prev) && bad_mono++ < 5)
                fprintf(stderr, "not monotonic at %04x\n", h);
            prev = f;
        }
    }
    CHECKF(bad_rt == 0, "%d f16 values do not round-trip", bad_rt);
    CHECKF(bad_mono == 0, "%d monotonicity failures", bad_mono);
}

/* numpy's float32 -> float16 casts of tricky and random values (tests/tensorio/data/gen.py) */
static void numpy_oracle(void) {
    char err[512];
    sn_shape si, so;
    float *in = NULL, *out = NULL;
    CHECK(sn_io_npy_read(SN_SOURCE_DIR "/tests/tensorio/data/f16_cases_in.npy", &si, &in, err,
                         sizeof err) == SN_OK);
    /* the expected f16 bits: the raw data bytes of the '<f2' file */
    size_t n;
    unsigned char *raw = slurp(SN_SOURCE_DIR "/tests/tensorio/data/f16_cases_out.npy", &n);
    CHECK(sn_io_npy_read(SN_SOURCE_DIR "/tests/tensorio/data/f16_cases_out.npy", &so, &out, err,
                         sizeof err) == SN_OK);
    if (!in || !out) {
        free(in);
        free(out);
        free(raw);
        return;
    }
    int64_t cnt = sn_shape_numel(&si);
    CHECK(cnt > 1000 && sn_shape_eq(&si, &so) && n >= (size_t)cnt * 2);
    const unsigned char *bits = raw + n - (size_t)cnt * 2;
    int bad = 0;
    for (int64_t i = 0; i < cnt; i++) {
        uint16_t want = (uint16_t)(bits[2 * i] | (bits[2 * i + 1] << 8));
        uint16_t got = to_f16(in[i]);
        if (got != want && bad++ < 5)
            fprintf(stderr, "numpy: f32 %08x -> f16 %04x, numpy %04x\n", fbits(in[i]), got, want);
        /* and the f16 reader agrees with the exact widening */
        if (fbits(out[i]) != fbits(from_f16(want)) && bad++ < 5)
            fprintf(stderr, "npy f16 read of %04x gave %08x\n", want, fbits(out[i]));
    }
    CHECKF(bad == 0, "%d mismatches against numpy", bad);
    free(in);
    free(out);
    free(raw);
}

#if defined(__FLT16_MANT_DIG__) && !defined(__clang__)
/* The compiler's own conversion (libgcc __truncsfhf2 or F16C), round-to-nearest-even. */
__extension__ typedef _Float16 cc_f16;
static void compiler_oracle(void) {
    int bad = 0;
    uint64_t tested = 0;
    for (uint64_t u = 0; u < 0x100000000ull; u += 977) { /* a prime stride: all exponents */
        float f = bitsf((uint32_t)u);
        if (f != f)
            continue;
        cc_f16 c = (cc_f16)f;
        uint16_t want;
        memcpy(&want, &c, 2);
        uint16_t got = to_f16(f);
        tested++;
        if (got != want && bad++ < 5)
            fprintf(stderr, "_Float16: %08x -> %04x want %04x\n", (uint32_t)u, got, want);
    }
    /* every f32 within a few ulps of every f16 rounding boundary (midpoints) */
    for (uint32_t h = 0; h < 0x7c00; h++) {
        float a = from_f16((uint16_t)h), b = from_f16((uint16_t)(h + 1));
        float mid = (float)(((double)a + (double)b) / 2); /* exact: midpoints fit in f32 */
        for (int d = -3; d <= 3; d++) {
            for (int s = 0; s < 2; s++) {
                float f = bitsf((fbits(mid) + (uint32_t)d) ^ (s ? 0x80000000u : 0));
                cc_f16 c = (cc_f16)f;
                uint16_t want;
                memcpy(&want, &c, 2);
                uint16_t got = to_f16(f);
                tested++;
                if (got != want && bad++ < 5)
                    fprintf(stderr, "_Float16 boundary: %08x -> %04x want %04x\n", fbits(f), got,
                            want);
            }
        }
    }
    CHECKF(bad == 0, "%d mismatches against _Float16 (of %llu)", bad, (unsigned long long)tested);
}
#else
static void compiler_oracle(void) { printf("(no _Float16 in this compiler: oracle skipped)\n"); }
#endif

static void known_bf16(void) {
    static const struct {
        uint32_t f;
        uint16_t h;
    } down[] = {
        {0x3f800000, 0x3f80},                       /* 1 */
        {0x3f808000, 0x3f80},                       /* tie → even */
        {0x3f818000, 0x3f82},                       /* tie → even (up) */
        {0x3f808001, 0x3f81},                       /* above the tie */
        {0x3f807fff, 0x3f80},                       /* below the tie */
        {0x7f7fffff, 0x7f80},                       /* FLT_MAX rounds to inf */
        {0x7f7f7fff, 0x7f7f},                       /* stays finite */
        {0xff7fffff, 0xff80},                       /* -inf */
        {0x7f800000, 0x7f80},                       /* inf */
        {0x7fc00000, 0x7fc0},                       /* NaN */
        {0x7f800001, 0x7fc0},                       /* sNaN with low payload: must not become inf */
        {0xff800001, 0xffc0}, {0x00000001, 0x0000}, /* smallest f32 subnormal */
        {0x00008000, 0x0000},                       /* tie → even 0 */
        {0x00018000, 0x0002},                       /* subnormal tie → even */
        {0x80000000, 0x8000},                       /* -0 */
    };
    for (size_t i = 0; i < sizeof down / sizeof *down; i++) {
        uint16_t got = to_bf16(bitsf(down[i].f));
        CHECKF(got == down[i].h, "f32 %08x -> bf16 %04x, want %04x", down[i].f, got, down[i].h);
    }
    CHECK(fbits(from_bf16(0x3f80)) == 0x3f800000u);
    CHECK(fbits(from_bf16(0xc049)) == 0xc0490000u);
    CHECK(fbits(from_bf16(0x0001)) == 0x00010000u); /* subnormal: exact */
    CHECK(from_bf16(0x7fc1) != from_bf16(0x7fc1));  /* NaN */
    /* every bf16 round-trips exactly (NaNs come back quiet) */
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        uint16_t back = to_bf16(from_bf16((uint16_t)h));
        int nan = (h & 0x7f80) == 0x7f80 && (h & 0x7f);
        if (back != (nan ? (h | 0x40) : h) && bad++ < 5)
            fprintf(stderr, "bf16 %04x -> %04x\n", h, back);
    }
    CHECKF(bad == 0, "%d bf16 values do not round-trip", bad);
    /* an independent oracle in double arithmetic: the nearest of the two neighbours, ties to
     * the even one */
    bad = 0;
    for (uint64_t u = 0; u < 0x100000000ull; u += 1999) {
        uint32_t x = (uint32_t)u;
        float f = bitsf(x);
        if (f != f || isinf(f))
            continue;
        uint32_t lo = x & 0xffff0000u, hi = lo + 0x10000u; /* magnitudes around |f| */
        double dl = fabs((double)bitsf(lo)),
               dh = isinf(bitsf(hi)) ? INFINITY : fabs((double)bitsf(hi));
        double df = fabs((double)f);
        uint32_t want;
        if (isinf(dh)) {
            /* above the largest finite bf16: inf iff |f| >= max + ulp/2 */
            double half = ldexp(1.0, 127 - 8); /* half an ulp at the top binade */
            want = df >= (double)bitsf(0x7f7f0000u) + half ? hi : lo;
        } else if (df - dl < dh - df) {
            want = lo;
        } else if (df - dl > dh - df) {
            want = hi;
        } else {
            want = ((lo >> 16) & 1) ? hi : lo;
        }
        if (to_bf16(f) != (uint16_t)(want >> 16) && bad++ < 5)
            fprintf(stderr, "bf16 oracle: %08x -> %04x want %04x\n", x, to_bf16(f), want >> 16);
    }
    CHECKF(bad == 0, "%d bf16 oracle mismatches", bad);
}

static void misc(void) {
    /* i32 */
    float in[6] = {1.9f, -1.9f, 3e9f, -3e9f, NAN, 2147483520.0f};
    int32_t out[6];
    sn_io_from_f32(SN_DTYPE_I32, in, out, 6);
    CHECK(out[0] == 1 && out[1] == -1 && out[2] == INT32_MAX && out[3] == INT32_MIN &&
          out[4] == 0 && out[5] == 2147483520);
    int32_t iv[3] = {-7, 0, 16777217};
    float fv[3];
    sn_io_to_f32(SN_DTYPE_I32, iv, fv, 3);
    CHECK(fv[0] == -7.0f && fv[1] == 0.0f && fv[2] == 16777216.0f);
    /* unaligned source and destination for 2-byte dtypes */
    unsigned char buf[1 + 2 * 4];
    float src[4] = {1.0f, -2.0f, 0.5f, 65504.0f}, back[4];
    sn_io_from_f32(SN_DTYPE_F16, src, buf + 1, 4);
    CHECK(buf[1] == 0x00 && buf[2] == 0x3c); /* host order == little-endian on test hosts */
    sn_io_to_f32(SN_DTYPE_F16, buf + 1, back, 4);
    CHECK(memcmp(src, back, sizeof src) == 0);
    sn_io_from_f32(SN_DTYPE_BF16, src, buf + 1, 4);
    sn_io_to_f32(SN_DTYPE_BF16, buf + 1, back, 4);
    CHECK(back[0] == 1.0f && back[1] == -2.0f && back[2] == 0.5f && back[3] == 65536.0f);
    /* f32 is a copy, n = 0 touches nothing */
    float a[2] = {1, 2}, b[2] = {9, 9};
    sn_io_to_f32(SN_DTYPE_F32, a, b, 2);
    CHECK(b[0] == 1 && b[1] == 2);
    sn_io_to_f32(SN_DTYPE_F16, a, b, 0);
    CHECK(b[0] == 1 && b[1] == 2);
}

int main(void) {
    known_f16();
    exhaustive_f16();
    numpy_oracle();
    compiler_oracle();
    known_bf16();
    misc();
    return check_report("tio_convert");
}
