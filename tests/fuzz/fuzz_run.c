/* libFuzzer target: `sinter run` end to end — the command itself (sn_cmd_run), on the model
 * tests/fuzz/tiny_run.sn, with a fuzzed input tensor and fuzzed weights, on ref and on the
 * cpu backend (fused or eager).
 *
 * Input layout (every field optional: a short input reads as zeros):
 *   byte 0   mode: bit 0 raw .npy input (else a structured one), bit 1 raw safetensors
 *            weights (else structured), bit 2 eager, bit 3 skip the cpu backend,
 *            bits 4-5 the weights' dtype (f32, f16, bf16, f32)
 *   structured input:   batch (0-3), channels (byte % 5), height and width (each one of
 *                       0, 16, 32, 64, 48, 96 px), a seed, then patches
 *   raw input:          u16 length, then that many bytes of .npy file
 *   structured weights: a seed (random:SEED), then patches
 *   raw weights:        u16 length, then that many bytes of safetensors file
 *   patches:            a count (byte % 9), then per patch u32 element index (modulo the
 *                       input's size, or over all weights in order) and a value code:
 *                       NaN, +Inf, -Inf, -1, 0, a subnormal, 100, -100
 *
 * Properties, each an abort() when broken:
 *   1. run never crashes and exits 0 (ran), 1 (refused with a message) or 2 (usage);
 *   2. ref and cpu accept and refuse the same inputs;
 *   3. where both ran: the same output shape, NaN/Inf in the same places (Winograd may turn
 *      an Inf into a NaN, so the class is not compared), and the finite values within 1e-3
 *      of the output's largest finite magnitude. Values stay bounded (|v| <= 100 besides the
 *      specials), so a difference is a backend's, not f32 overflow against ref's doubles. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "cli/cli.h"
#include "frontend/frontend.h"
#include "runtime/runtime.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SN_FUZZ_ENTRY
#define SN_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif
#ifndef SN_FUZZ_RUN_MODEL
#error "SN_FUZZ_RUN_MODEL: the path of tests/fuzz/tiny_run.sn"
#endif

int SN_FUZZ_ENTRY(const uint8_t *data, size_t size);

typedef struct reader {
    const uint8_t *p;
    size_t n, at;
} reader;

static unsigned u8(reader *r) { return r->at < r->n ? r->p[r->at++] : 0; }
static unsigned u16(reader *r) { return u8(r) | u8(r) << 8; }
static uint32_t u32(reader *r) { return (uint32_t)u16(r) | (uint32_t)u16(r) << 16; }

static float special(unsigned code) {
    static const float v[8] = {NAN, INFINITY, -INFINITY, -1.0f, 0.0f, 1e-40f, 100.0f, -100.0f};
    return v[code % 8];
}

/* Applies the patches at r to v (n floats); n == 0 ignores them. */
static void patch(reader *r, float *v, int64_t n) {
    unsigned count = u8(r) % 9;
    for (unsigned i = 0; i < count; i++) {
        uint32_t at = u32(r);
        float x = special(u8(r));
        if (n > 0)
            v[at % (uint64_t)n] = x;
    }
}

static char dir[64];
static int have_cpu;

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* The scratch directory (inputs, weights, outputs, kernel cache) goes with the process. */
static void cleanup(void) { nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS); }

static void setup(void) {
    if (dir[0])
        return;
    snprintf(dir, sizeof dir, "/tmp/sinter-fuzz-run-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    atexit(cleanup);
    char cache[96];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    setenv("SINTER_CACHE_DIR", cache, 1);
    setenv("SINTER_MEMORY_LIMIT", "2G", 1);
    sn_rt_device *d = NULL;
    char err[256];
    have_cpu = sn_rt_device_open("cpu", 1, &d, err, sizeof err) == SN_OK;
    sn_rt_device_close(d);
}

static int write_file(const char *path, const uint8_t *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* A raw file: u16 length, then that many bytes (as many as there are). */
static int raw_file(reader *r, const char *path) {
    unsigned len = u16(r);
    if (len > r->n - r->at)
        len = (unsigned)(r->n - r->at);
    int rc = write_file(path, r->p + r->at, len);
    r->at += len;
    return rc;
}

/* The input: raw bytes, or a shape and seeded values in [0, 1) with patches. */
static int make_input(reader *r, int raw, const char *path) {
    if (raw)
        return raw_file(r, path);
    static const int sizes[6] = {0, 16, 32, 64, 48, 96};
    sn_shape s = {4, {0}};
    for (int k = 0; k < 4; k++) /* one statement each: the reads happen in this order */
        s.d[k] = k == 0 ? (int64_t)(u8(r) % 4) : k == 1 ? (int64_t)(u8(r) % 5) : sizes[u8(r) % 6];
    int64_t n = sn_shape_numel(&s);
    float *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v)
        return -1;
    uint32_t seed = u8(r) * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)(seed >> 8) / 16777216.0f;
    }
    patch(r, v, n);
    char err[512];
    sn_status st = sn_io_npy_write(path, &s, v, SN_DTYPE_F32, err, sizeof err);
    free(v);
    return st == SN_OK ? 0 : -1;
}

/* The weights: raw bytes, or random:SEED with patches over all parameters in order. */
static int make_weights(reader *r, int raw, sn_dtype dt, const char *path) {
    if (raw)
        return raw_file(r, path);
    sn_fe_options o;
    sn_fe_options_default(&o);
    o.height = o.width = 64;
    FILE *quiet = fopen("/dev/null", "w");
    o.diag = quiet;
    sn_fe_model *m = NULL;
    sn_status st = sn_fe_model_load(SN_FUZZ_RUN_MODEL, &o, &m);
    if (quiet)
        fclose(quiet);
    if (st != SN_OK)
        abort(); /* the fixed model must load */
    char spec[32], err[512];
    snprintf(spec, sizeof spec, "random:%u", u8(r));
    if (sn_io_weights_apply(m->graph, spec, err, sizeof err) != SN_OK)
        abort();
    /* Patches index the concatenation of every PARAM, in graph order. */
    int64_t total = 0;
    for (int32_t i = 0; i < m->graph->nnodes; i++)
        if (m->graph->nodes[i].op == SN_OP_PARAM)
            total += sn_shape_numel(&m->graph->nodes[i].shape);
    unsigned count = u8(r) % 9;
    for (unsigned k = 0; k < count; k++) {
        int64_t at = (int64_t)(u32(r) % (uint64_t)total);
        float x = special(u8(r));
        for (int32_t i = 0; i < m->graph->nnodes; i++) {
            sn_ir_node *n = &m->graph->nodes[i];
            if (n->op != SN_OP_PARAM)
                continue;
            int64_t ne = sn_shape_numel(&n->shape);
            if (at < ne) {
                n->data[at] = x;
                break;
            }
            at -= ne;
        }
    }
    st = sn_io_weights_save(m->graph, path, dt, err, sizeof err);
    sn_fe_model_free(m);
    return st == SN_OK ? 0 : -1;
}

static int run(const char *in, const char *w, const char *out, const char *backend, int eager) {
    char model[] = SN_FUZZ_RUN_MODEL;
    char *argv[12] = {model,       "--input",   (char *)in,      "--weights", (char *)w, "--output",
                      (char *)out, "--backend", (char *)backend, "--threads", "1",       NULL};
    int argc = 11;
    if (eager)
        argv[argc++] = "--eager";
    unlink(out);
    return sn_cmd_run(argc, argv);
}

static void compare(const char *a_path, const char *b_path) {
    sn_shape sa, sb;
    float *a = NULL, *b = NULL;
    char err[512];
    if (sn_io_npy_read(a_path, &sa, &a, err, sizeof err) != SN_OK ||
        sn_io_npy_read(b_path, &sb, &b, err, sizeof err) != SN_OK || !sn_shape_eq(&sa, &sb))
        abort();
    int64_t n = sn_shape_numel(&sa);
    double scale = 0, diff = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isfinite(a[i]) != isfinite(b[i])) {
            fprintf(stderr, "fuzz_run: element %lld: ref %g, cpu %g\n", (long long)i, a[i], b[i]);
            abort();
        }
        if (isfinite(a[i])) {
            scale = fmax(scale, fabs(a[i]));
            diff = fmax(diff, fabs((double)a[i] - b[i]));
        }
    }
    if (diff > 1e-3 * fmax(scale, 1e-6)) {
        fprintf(stderr, "fuzz_run: max difference %g of max magnitude %g\n", diff, scale);
        abort();
    }
    free(a);
    free(b);
}

int SN_FUZZ_ENTRY(const uint8_t *data, size_t size) {
    setup();
    reader r = {data, size, 0};
    unsigned mode = u8(&r);
    static const sn_dtype dts[4] = {SN_DTYPE_F32, SN_DTYPE_F16, SN_DTYPE_BF16, SN_DTYPE_F32};
    char in[96], w[96], yr[96], yc[96];
    snprintf(in, sizeof in, "%s/x.npy", dir);
    snprintf(w, sizeof w, "%s/w.safetensors", dir);
    snprintf(yr, sizeof yr, "%s/y_ref.npy", dir);
    snprintf(yc, sizeof yc, "%s/y_cpu.npy", dir);
    if (make_input(&r, mode & 1, in) || make_weights(&r, mode & 2, dts[(mode >> 4) & 3], w))
        return 0;
    int rc_ref = run(in, w, yr, "ref", 0);
    if (rc_ref < 0 || rc_ref > 2)
        abort();
    if (!have_cpu || (mode & 8))
        return 0;
    int rc_cpu = run(in, w, yc, "cpu", (mode & 4) != 0);
    if (rc_cpu < 0 || rc_cpu > 2 || (rc_ref == 0) != (rc_cpu == 0)) {
        fprintf(stderr, "fuzz_run: ref exit %d, cpu exit %d\n", rc_ref, rc_cpu);
        abort();
    }
    if (rc_ref == 0)
        compare(yr, yc);
    return 0;
}
