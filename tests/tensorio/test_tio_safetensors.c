/* safetensors: round trips in every dtype, the exact layout written, a hand-made file using
 * every JSON liberty the format allows, writer refusals, and robustness (every prefix of a
 * valid file and single-byte header mutations are refused or parsed sanely, never crash). */
#include "check.h"

static char err[1024];

static const sn_io_tensor *find(const sn_io_tensors *ts, const char *name) {
    for (int i = 0; i < ts->n; i++)
        if (strcmp(ts->t[i].name, name) == 0)
            return &ts->t[i];
    return NULL;
}

static size_t nbytes(const sn_io_tensor *t) {
    return (size_t)sn_shape_numel(&t->shape) * sn_dtype_size(t->dtype);
}

/* Invariants of any successful parse: sorted unique names, sane shapes, data present. */
static int tensors_sane(const sn_io_tensors *ts) {
    for (int i = 0; i < ts->n; i++) {
        const sn_io_tensor *t = &ts->t[i];
        if (!t->name || !t->data)
            return 0;
        if (i && strcmp(ts->t[i - 1].name, t->name) >= 0)
            return 0;
        if (t->shape.ndim < 0 || t->shape.ndim > SN_MAX_DIMS)
            return 0;
        for (int d = 0; d < t->shape.ndim; d++)
            if (t->shape.d[d] < 0)
                return 0;
        if (t->dtype != SN_DTYPE_F32 && t->dtype != SN_DTYPE_F16 && t->dtype != SN_DTYPE_BF16)
            return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- round trip */

typedef struct src_tensor {
    const char *name;
    sn_dtype dtype;
    sn_shape shape;
} src_tensor;

static sn_io_tensors make_set(void) {
    static const char *names[] = {
        "model.0.conv.weight",     "model.0.bn.weight", "z.bf", "scalar", "empty",
        "quote\"back\\slash\ttab", "\xc3\xbcn\xc3\xaf"};
    sn_dtype dts[] = {SN_DTYPE_F32, SN_DTYPE_F16, SN_DTYPE_BF16, SN_DTYPE_F32,
                      SN_DTYPE_F16, SN_DTYPE_F32, SN_DTYPE_F32};
    sn_shape shs[] = {SHAPE(4, 3, 3, 3), SHAPE(4), SHAPE(2, 3), shape0(),
                      SHAPE(0, 3),       SHAPE(1), SHAPE(2)};
    sn_io_tensors ts = {calloc(7, sizeof(sn_io_tensor)), 7};
    uint32_t x = 12345;
    for (int i = 0; i < 7; i++) {
        sn_io_tensor *t = &ts.t[i];
        t->name = strdup(names[i]);
        t->dtype = dts[i];
        t->shape = shs[i];
        size_t nb = nbytes(t);
        t->data = malloc(nb ? nb : 1);
        unsigned char *p = t->data;
        for (size_t k = 0; k < nb; k++) {
            x = x * 1103515245u + 12345u;
            p[k] = (unsigned char)(x >> 16);
        }
    }
    /* special values in the f32 weight: NaN, inf, -0, a subnormal */
    float *w = ts.t[0].data;
    w[0] = NAN;
    w[1] = -INFINITY;
    w[2] = -0.0f;
    w[3] = bitsf(0x00000123u);
    return ts;
}

static void check_same(const sn_io_tensors *a, const sn_io_tensors *b) {
    CHECK(a->n == b->n);
    for (int i = 0; i < a->n; i++) {
        const sn_io_tensor *x = &a->t[i], *y = find(b, x->name);
        CHECKF(y != NULL, "tensor '%s' lost", x->name);
        if (!y)
            continue;
        CHECKF(x->dtype == y->dtype && sn_shape_eq(&x->shape, &y->shape), "%s", x->name);
        CHECKF(memcmp(x->data, y->data, nbytes(x)) == 0, "data of '%s' differs", x->name);
    }
}

static void round_trip(const char *dir) {
    char path[600];
    snprintf(path, sizeof path, "%s/rt.safetensors", dir);
    sn_io_tensors ts = make_set(), back = {0};
    CHECKF(sn_io_safetensors_write(path, &ts, err, sizeof err) == SN_OK, "%s", err);
    CHECKF(sn_io_safetensors_read(path, &back, err, sizeof err) == SN_OK, "%s", err);
    check_same(&ts, &back);
    CHECK(tensors_sane(&back));
    CHECK(count_entries(dir) == 1); /* no temp file left */

    /* the layout: length, header, data at a multiple of 8, keys sorted, offsets contiguous */
    size_t n;
    unsigned char *f = slurp(path, &n);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++)
        hl |= (uint64_t)f[i] << (8 * i);
    CHECK((8 + hl) % 8 == 0 && 8 + hl <= n);
    char *h = malloc(hl + 1);
    memcpy(h, f + 8, hl);
    h[hl] = '\0';
    CHECK(strncmp(h, "{\"__metadata__\":{\"format\":\"pt\"},", 32) == 0);
    const char *order[] = {"\"empty\"",
                           "\"model.0.bn.weight\"",
                           "\"model.0.conv.weight\"",
                           "\"quote\\\"back\\\\slash\\u0009tab\"",
                           "\"scalar\"",
                           "\"z.bf\"",
                           "\"\xc3\xbcn\xc3\xaf\""};
    const char *prev = h;
    for (int i = 0; i < 7; i++) {
        const char *at = strstr(h, order[i]);
        CHECKF(at && at > prev, "key %s missing or out of order in %s", order[i], h);
        if (at)
            prev = at;
    }
    CHECK(strstr(h, "\"empty\":{\"dtype\":\"F16\",\"shape\":[0,3],\"data_offsets\":[0,0]}"));
    CHECK(strstr(h,
                 "\"model.0.bn.weight\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}"));
    CHECK(strstr(h, "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[444,448]}"));
    /* padding is spaces after the closing brace */
    size_t last = hl;
    while (last > 0 && h[last - 1] == ' ')
        last--;
    CHECK(last > 0 && h[last - 1] == '}' && hl - last < 8);
    /* the bn weight (first non-empty in order) starts the data */
    CHECK(memcmp(f + 8 + hl, find(&ts, "model.0.bn.weight")->data, 8) == 0);

    /* encode gives the same bytes; re-encoding what was read too */
    void *enc;
    size_t elen;
    CHECK(sn_io_safetensors_encode(&ts, &enc, &elen, err, sizeof err) == SN_OK);
    CHECK(elen == n && memcmp(enc, f, n) == 0);
    free(enc);
    CHECK(sn_io_safetensors_encode(&back, &enc, &elen, err, sizeof err) == SN_OK);
    CHECK(elen == n && memcmp(enc, f, n) == 0);
    free(enc);

    /* every strict prefix is refused (exact-size copies: ASan sees any overread) */
    int accepted = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned char *c = malloc(k ? k : 1);
        memcpy(c, f, k);
        sn_io_tensors t2 = {0};
        err[0] = '\0';
        sn_status s = sn_io_safetensors_parse(c, k, "prefix", &t2, err, sizeof err);
        if (s == SN_OK)
            accepted++;
        else
            CHECKF(strncmp(err, "prefix: ", 8) == 0, "%s", err);
        CHECK(t2.n == 0 && t2.t == NULL);
        free(c);
    }
    CHECKF(accepted == 0, "%d prefixes accepted", accepted);

    /* single-byte header mutations: refused with a message, or parsed into sane tensors */
    static const unsigned char subst[] = {'{', '}',  '[', ']', '"', ',',  ':',  '0',  '9',
                                          '-', '\\', 'u', 'e', ' ', 0x00, 0xff, 0xc3, 'F'};
    int ok = 0, refused = 0;
    unsigned char *c = malloc(n);
    for (size_t pos = 8; pos < 8 + hl; pos++) {
        for (size_t k = 0; k < sizeof subst; k++) {
            memcpy(c, f, n);
            c[pos] = subst[k];
            sn_io_tensors t2 = {0};
            err[0] = '\0';
            if (sn_io_safetensors_parse(c, n, "mut", &t2, err, sizeof err) == SN_OK) {
                ok++;
                CHECK(tensors_sane(&t2));
            } else {
                refused++;
                CHECK(strncmp(err, "mut: ", 5) == 0);
            }
            sn_io_tensors_free(&t2);
        }
    }
    free(c);
    CHECK(refused > 0 && ok > 0);
    /* a tiny or absent error buffer is fine */
    char small[8];
    sn_io_tensors none;
    CHECK(sn_io_safetensors_parse(f, 20, "x", &none, small, sizeof small) == SN_ERR_INVALID);
    CHECK(strlen(small) == 7);
    CHECK(sn_io_safetensors_parse(f, 20, "x", &none, NULL, 0) == SN_ERR_INVALID);
    CHECK(none.n == 0 && none.t == NULL);

    free(h);
    free(f);
    sn_io_tensors_free(&ts);
    sn_io_tensors_free(&back);
    sn_io_tensors_free(&back); /* twice is fine */
    unlink(path);
}

/* ---------------------------------------------------------------- a hand-made file */

static void hand_made(void) {
    /* every liberty: whitespace anywhere, fields in any order, escapes (including a surrogate
     * pair and "\/"), nested metadata of every JSON type, a gap before and between tensors,
     * an unaligned f32, an I64 counter (skipped), an empty tensor, a scalar, and trailing
     * whitespace of all four kinds. */
    const char *hdr =
        "{ \"__metadata__\" : {\"format\":\"pt\", \"n\":{\"a\":[1,-2.5e+3,0.5E-2,true,false,null,"
        "\"x\\\"y\",{},[]]}} ,\n"
        "  \"b\\u00e9\\ud83d\\ude00\\/name\" : { \"shape\":[ 2 ], \"data_offsets\":[10 , 14], "
        "\"dtype\":\"F16\" },\r\n"
        "\t\"a\": {\"dtype\":\"F32\",\"data_offsets\":[2,10],\"shape\":[2]},"
        "\"model.0.bn.num_batches_tracked\": {\"dtype\":\"I64\",\"shape\":[],"
        "\"data_offsets\":[16,24]},"
        "\"z\": {\"dtype\":\"BF16\",\"shape\":[0,5],\"data_offsets\":[14,14]},"
        "\"s\": {\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[24,28]}"
        "}  \n\t\r";
    size_t hl = strlen(hdr), n = 8 + hl + 28;
    unsigned char *f = calloc(1, n);
    for (int i = 0; i < 8; i++)
        f[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(f + 8, hdr, hl);
    unsigned char *d = f + 8 + hl;
    float a[2] = {1.5f, -3.0f}, s = 42.0f;
    memcpy(d + 2, a, 8); /* unaligned */
    d[10] = 0x00;        /* f16 1.0, -2.0 */
    d[11] = 0x3c;
    d[12] = 0x00;
    d[13] = 0xc0;
    d[16] = 7; /* the counter */
    memcpy(d + 24, &s, 4);
    sn_io_tensors ts = {0};
    CHECKF(sn_io_safetensors_parse(f, n, "hand", &ts, err, sizeof err) == SN_OK, "%s", err);
    CHECK(ts.n == 4 && tensors_sane(&ts));
    if (ts.n == 4) {
        CHECK(strcmp(ts.t[0].name, "a") == 0 && ts.t[0].dtype == SN_DTYPE_F32);
        CHECK(memcmp(ts.t[0].data, a, 8) == 0);
        CHECK(strcmp(ts.t[1].name, "b\xc3\xa9\xf0\x9f\x98\x80/name") == 0);
        float h[2];
        sn_io_to_f32(SN_DTYPE_F16, ts.t[1].data, h, 2);
        CHECK(h[0] == 1.0f && h[1] == -2.0f);
        CHECK(strcmp(ts.t[2].name, "s") == 0 && ts.t[2].shape.ndim == 0 &&
              *(float *)ts.t[2].data == 42.0f);
        CHECK(strcmp(ts.t[3].name, "z") == 0 && ts.t[3].dtype == SN_DTYPE_BF16 &&
              sn_shape_numel(&ts.t[3].shape) == 0 && ts.t[3].shape.d[1] == 5);
    }
    sn_io_tensors_free(&ts);
    /* the empty header */
    unsigned char e[10] = {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    CHECK(sn_io_safetensors_parse(e, 10, "e", &ts, err, sizeof err) == SN_OK && ts.n == 0);
    sn_io_tensors_free(&ts);
    free(f);
}

/* ---------------------------------------------------------------- writer refusals */

static void write_refusals(const char *dir) {
    char path[600];
    snprintf(path, sizeof path, "%s/bad.safetensors", dir);
    float v[4] = {1, 2, 3, 4};
    struct {
        const char *name;
        sn_dtype dt;
        sn_shape sh;
        void *data;
        const char *want;
    } cases[] = {
        {"x", SN_DTYPE_I32, SHAPE(2), v, "cannot write dtype i32"},
        {"", SN_DTYPE_F32, SHAPE(2), v, "invalid name"},
        {"__metadata__", SN_DTYPE_F32, SHAPE(2), v, "invalid name"},
        {"bad\xff", SN_DTYPE_F32, SHAPE(2), v, "invalid name"},
        {"x", SN_DTYPE_F32, SHAPE(1, 1, 1, 1, 1, 1), NULL, "has no data"},
        {"x", SN_DTYPE_F32, SHAPE(-1), v, "invalid shape"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sn_io_tensor t = {(char *)cases[i].name, cases[i].dt, cases[i].sh, cases[i].data};
        sn_io_tensors ts = {&t, 1};
        CHECKF(sn_io_safetensors_write(path, &ts, err, sizeof err) == SN_ERR_INVALID, "case %zu",
               i);
        CHECK_HAS(err, cases[i].want);
        CHECK_HAS(err, path);
        CHECK(access(path, F_OK) != 0);
    }
    sn_io_tensor two[2] = {{"dup", SN_DTYPE_F32, SHAPE(1), v}, {"dup", SN_DTYPE_F32, SHAPE(1), v}};
    sn_io_tensors ts = {two, 2};
    CHECK(sn_io_safetensors_write(path, &ts, err, sizeof err) == SN_ERR_INVALID);
    CHECK_HAS(err, "tensor 'dup' is given twice");
    CHECK(count_entries(dir) == 0);
    /* writing into a missing directory, or onto a directory */
    snprintf(path, sizeof path, "%s/no/such/dir/w.safetensors", dir);
    ts.n = 1;
    CHECK(sn_io_safetensors_write(path, &ts, err, sizeof err) == SN_ERR_IO);
    CHECK_HAS(err, path);
    CHECK_HAS(err, "No such file or directory");
    snprintf(path, sizeof path, "%s/adir", dir);
    mkdir(path, 0755);
    char inner[700];
    snprintf(inner, sizeof inner, "%s/keep", path);
    put_file(inner, "k", 1);
    CHECK(sn_io_safetensors_write(path, &ts, err, sizeof err) == SN_ERR_IO);
    CHECK_HAS(err, path);
    CHECK(count_entries(dir) == 1 && count_entries(path) == 1);
    rm_tree(path);
}

int main(void) {
    char *dir = make_temp_dir("tio");
    round_trip(dir);
    hand_made();
    write_refusals(dir);
    rm_tree(dir);
    free(dir);
    return check_report("tio_safetensors");
}
