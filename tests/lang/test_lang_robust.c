/* tests/lang/test_lang_robust.c — mutated model files never crash the loader.
 *
 * Deterministic mutations of the zoo files (truncation, byte flips, deleted / duplicated /
 * swapped lines, inserted tokens) are written to a temp dir next to a (sometimes mutated) copy
 * of blocks.sn and loaded. Every load must either succeed with a graph the verifier accepts,
 * or fail with a diagnostic and no model. Run it under ASan/UBSan (SN_SANITIZE) to also catch
 * memory errors and leaks; the libFuzzer target in tests/fuzz/ explores further. */
#include "check.h"

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

static size_t below(size_t n) { return n ? (size_t)(rnd_u64() % n) : 0; }

/* Line boundaries of buf: starts[i] .. starts[i+1]. */
static int lines(const char *buf, size_t len, size_t *starts, int max) {
    int n = 0;
    starts[n++] = 0;
    for (size_t i = 0; i < len && n < max - 1; i++)
        if (buf[i] == '\n')
            starts[n++] = i + 1;
    starts[n] = len;
    return n;
}

static const char *const tokens[] = {
    "(", ")",   "[",           "]",    "{",     "}",       ",",    ":",   "=",  "==",     "-1",
    "0", "1e9", "99999999999", "none", "true",  "as",      "m[i]", "for", "if", "return", "\"",
    "#", ";",   "\n",          "x",    "Conv(", "concat(", "**",   "//",  "?",  "not"};

/* One random mutation of src into out (capacity cap); returns the new length. */
static size_t mutate(const char *src, size_t len, char *out, size_t cap) {
    static size_t st[8192];
    int nl = lines(src, len, st, 8192);
    size_t n = 0;
#define PUT(p, k)                                                                                  \
    do {                                                                                           \
        size_t k_ = (k);                                                                           \
        if (n + k_ < cap)                                                                          \
            memcpy(out + n, (p), k_), n += k_;                                                     \
    } while (0)
    switch (below(7)) {
    case 0: /* truncate */
        PUT(src, below(len + 1));
        break;
    case 1: /* flip bytes */
        PUT(src, len);
        for (int k = 0, m = 1 + (int)below(8); k < m && n; k++)
            out[below(n)] = (char)below(256);
        break;
    case 2: { /* delete a line */
        int d = (int)below((size_t)nl);
        for (int i = 0; i < nl; i++)
            if (i != d)
                PUT(src + st[i], st[i + 1] - st[i]);
        break;
    }
    case 3: { /* duplicate a line */
        int d = (int)below((size_t)nl);
        for (int i = 0; i < nl; i++) {
            PUT(src + st[i], st[i + 1] - st[i]);
            if (i == d)
                PUT(src + st[i], st[i + 1] - st[i]);
        }
        break;
    }
    case 4: { /* swap two lines */
        int a = (int)below((size_t)nl), b = (int)below((size_t)nl);
        for (int i = 0; i < nl; i++) {
            int j = i == a ? b : i == b ? a : i;
            PUT(src + st[j], st[j + 1] - st[j]);
        }
        break;
    }
    case 5: { /* insert a token */
        size_t at = below(len + 1);
        const char *t = tokens[below(sizeof tokens / sizeof *tokens)];
        PUT(src, at);
        PUT(t, strlen(t));
        PUT(src + at, len - at);
        break;
    }
    default: { /* replace a number with another */
        PUT(src, len);
        for (int tries = 0; tries < 50 && n; tries++) {
            size_t at = below(n);
            if (out[at] >= '0' && out[at] <= '9') {
                out[at] = "0123456789"[below(10)];
                break;
            }
        }
        break;
    }
    }
#undef PUT
    return n;
}

int main(void) {
    const char *models[] = {SN_SOURCE_DIR "/models/yolov8.sn", SN_SOURCE_DIR "/models/yolo11.sn",
                            SN_SOURCE_DIR "/models/yolov5u.sn"};
    rnd_seed(0x2545F4914F6CDD1Dull);
    size_t blen;
    char *blocks = read_file(SN_SOURCE_DIR "/models/blocks.sn", &blen);
    CHECK(blocks);
    if (!blocks)
        return check_report("test_lang_robust");
    char dir[] = "/tmp/sn_lang_robust_XXXXXX";
    CHECK(mkdtemp(dir));
    char bpath[256], mpath[256];
    snprintf(bpath, sizeof bpath, "%s/blocks.sn", dir);
    snprintf(mpath, sizeof mpath, "%s/model.sn", dir);
    size_t cap = 1 << 18;
    char *buf = malloc(cap);
    FILE *devnull = fopen("/dev/null", "w");
    int ok = 0, failed = 0;
    for (int it = 0; it < 600; it++) {
        size_t mlen;
        char *src = read_file(models[it % 3], &mlen);
        CHECK(src);
        if (!src)
            break;
        bool mutate_blocks = it % 4 == 3;
        if (mutate_blocks) {
            size_t n = mutate(blocks, blen, buf, cap);
            write_file(bpath, buf, n);
            write_file(mpath, src, mlen);
        } else {
            write_file(bpath, blocks, blen);
            size_t n = mutate(src, mlen, buf, cap);
            if (it % 5 == 0)
                n = mutate(buf, n, buf + cap / 2, cap / 2), memmove(buf, buf + cap / 2, n);
            write_file(mpath, buf, n);
        }
        free(src);
        sn_fe_options o;
        sn_fe_options_default(&o);
        o.diag = devnull;
        o.height = o.width = 128;
        sn_fe_model *m = NULL;
        sn_status s = sn_fe_model_load(mpath, &o, &m);
        if (s == SN_OK) {
            CHECKF(m && m->graph && m->graph->noutputs == 1, "iteration %d", it);
            char err[512];
            if (m)
                CHECKF(sn_ir_verify(m->graph, "frontend", err, sizeof err) == SN_OK,
                       "iteration %d: %s", it, err);
            sn_fe_model_free(m);
            ok++;
        } else {
            CHECKF(m == NULL, "iteration %d", it);
            failed++;
        }
    }
    printf("%d mutants loaded, %d rejected\n", ok, failed);
    remove(bpath);
    remove(mpath);
    rmdir(dir);
    fclose(devnull);
    free(buf);
    free(blocks);
    return check_report("test_lang_robust");
}
