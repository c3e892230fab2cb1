/* Escaping user data for messages (sn_escape): control characters, C1, bidi controls and
 * invalid UTF-8 become \xNN / \uNNNN; printable text (non-ASCII included) is untouched; a cut
 * never splits an escape or a character. And the messages that echo tensor names and paths
 * (safetensors, .npy, weights, model-language diagnostics with their caret) use it. */
#include "check.h"

static char err[2048];

static void check_esc(const char *in, const char *want) {
    char buf[256];
    const char *got = sn_escape(in, buf, sizeof buf);
    CHECK(got == buf);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "escape: got '%s', want '%s'\n", got, want);
        CHECK(0);
    }
    /* escaping is idempotent: the result only holds printable text */
    char again[256];
    CHECK(strcmp(sn_escape(buf, again, sizeof again), buf) == 0);
}

/* No byte that a terminal would act on: C0 controls but tab and newline, and DEL. */
static int printable(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
            return 0;
    return 1;
}

static void escapes(void) {
    check_esc("model.0.conv.weight", "model.0.conv.weight");
    check_esc("back\\slash 'q' %s", "back\\slash 'q' %s");
    check_esc("h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80",
              "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80");
    check_esc("a\x1b[31mb", "a\\x1b[31mb");
    check_esc("t\tn\nr\r\x7f", "t\\x09n\\x0ar\\x0d\\x7f");
    check_esc("\xc2\x9b"
              "c1",
              "\\u009bc1");
    check_esc("rtl\xe2\x80\xae"
              "x",
              "rtl\\u202ex");
    check_esc("bad\xff\xfe", "bad\\xff\\xfe");
    check_esc("overlong\xc0\xaf", "overlong\\xc0\\xaf");
    check_esc("surrogate\xed\xa0\x80", "surrogate\\xed\\xa0\\x80");
    check_esc("cut\xe2\x9c", "cut\\xe2\\x9c");
    check_esc("", "");
    char buf[32];
    CHECK(strcmp(sn_escape(NULL, buf, sizeof buf), "") == 0);
    CHECK(strcmp(sn_escape_n("a\0b", 3, buf, sizeof buf), "a\\x00b") == 0);
    /* cuts: at a unit boundary, marked with "..." */
    char small[10];
    sn_escape("abcdefghijklmnop", small, sizeof small);
    CHECK(strcmp(small, "abcdef...") == 0);
    sn_escape("abcde\x1b"
              "fgh",
              small, sizeof small);
    CHECK(strcmp(small, "abcde...") == 0);
    sn_escape("abcdefgh\xc3\xa9", small, sizeof small);
    CHECK(strcmp(small, "abcdef...") == 0);
    sn_escape("abcdefghi", small, sizeof small); /* exactly fits */
    CHECK(strcmp(small, "abcdefghi") == 0);
    CHECK(strcmp(sn_escape("abc", small, 0), "") == 0);
}

/* A safetensors file whose only tensor has an ESC and a bidi override in its name, and an
 * unsupported dtype, so the error names it. */
static void messages(const char *dir) {
    static const char hdr[] =
        "{\"evil\\u001b[31mred\\u202e\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    size_t hl = sizeof hdr - 1;
    unsigned char buf[256];
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(hl >> (8 * i));
    memcpy(buf + 8, hdr, hl);
    buf[8 + hl] = 0;
    char path[600];
    snprintf(path, sizeof path, "%s/esc\x1b]0;title\x07.safetensors", dir);
    put_file(path, buf, 8 + hl + 1);
    sn_io_tensors ts;
    CHECK(sn_io_safetensors_read(path, &ts, err, sizeof err) == SN_ERR_INVALID);
    CHECK_HAS(err, "evil\\x1b[31mred\\u202e");
    CHECK_HAS(err, "esc\\x1b]0;title\\x07.safetensors");
    CHECK(printable(err) && !strstr(err, "\xe2\x80\xae"));
    /* a missing file: the path in the message is escaped */
    char missing[600];
    snprintf(missing, sizeof missing,
             "%s/no\x1b"
             "such.npy",
             dir);
    sn_shape sh;
    float *x = NULL;
    CHECK(sn_io_npy_read(missing, &sh, &x, err, sizeof err) == SN_ERR_IO);
    CHECK_HAS(err, "no\\x1bsuch.npy");
    CHECK(printable(err));
    /* writing: a tensor name that is not UTF-8 is refused, and shown escaped */
    float one = 1;
    sn_io_tensor t = {"bad\xff\x1b", SN_DTYPE_F32, {1, {1}}, &one};
    sn_io_tensors w = {&t, 1};
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    CHECK(sn_io_safetensors_write(path, &w, err, sizeof err) == SN_ERR_INVALID);
    CHECK_HAS(err, "bad\\xff\\x1b");
    CHECK(printable(err));
    /* --weights random:SEED with junk in it */
    CHECK(sn_io_weights_apply(NULL, "random:1\x1b", err, sizeof err) == SN_ERR_INVALID);
    CHECK_HAS(err, "random:1\\x1b");
}

/* Model-language diagnostics: the source line escaped, the caret under the escaped byte. */
static void diagnostics(const char *dir) {
    char path[600], log[600];
    snprintf(path, sizeof path, "%s/m.sn", dir);
    snprintf(log, sizeof log, "%s/diag.txt", dir);
    static const char src[] = "model m\n\tfoo \xc3\xa9\x1b bar\n";
    put_file(path, src, sizeof src - 1);
    FILE *f = fopen(log, "w+");
    CHECK(f != NULL);
    sn_fe_options o;
    sn_fe_options_default(&o);
    o.diag = f;
    sn_fe_model *m = NULL;
    CHECK(sn_fe_model_load(path, &o, &m) != SN_OK && m == NULL);
    fclose(f);
    size_t n;
    char *text = (char *)slurp(log, &n);
    CHECK(printable(text));
    CHECK_HAS(text, "m.sn:2:8: error:");
    /* the line, then the caret under '\' of "\x1b": tab, "foo é" = 5 columns */
    CHECK_HAS(text, "    \tfoo \xc3\xa9\\x1b bar\n    \t     ^\n");
    free(text);
}

int main(void) {
    char *dir = make_temp_dir("tio_escape");
    escapes();
    messages(dir);
    diagnostics(dir);
    rm_tree(dir);
    free(dir);
    return check_report("tio_escape");
}
