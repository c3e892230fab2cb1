/* cli/main.c — the `sinter` command: dispatch, shared option parsing, help texts. */
#include "cli/cli.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: sinter COMMAND [options]\n"
    "\n"
    "Sinter compiles YOLO detection models (YOLOv8, YOLO11, YOLOv5u) written in its model\n"
    "language into fused kernels (LLVM on the CPU, NVRTC on CUDA GPUs) and runs them.\n"
    "\n"
    "commands:\n"
    "  info MODEL     layer table, parameters and GFLOPs (like Ultralytics' model.info)\n"
    "  run MODEL      run a model on a .npy input, write the output .npy\n"
    "  compile MODEL  compile a model and report kernels, compile times, cache, memory\n"
    "  bench MODEL    eager vs fused throughput, side by side\n"
    "  weights MODEL  write a model's weights (random or converted) to safetensors\n"
    "  cache          show or clear the kernel cache (stats | clear | path)\n"
    "\n"
    "MODEL is a model file (models/yolov8.sn) or a zoo name: yolov8n … yolov8x,\n"
    "yolo11n … yolo11x, yolov5nu … yolov5xu (file + scale, as Ultralytics resolves them).\n"
    "`sinter COMMAND --help` documents each command.\n";

static const struct {
    const char *name;
    int (*fn)(int, char **);
} commands[] = {
    {"info", sn_cmd_info},   {"run", sn_cmd_run},     {"compile", sn_cmd_compile},
    {"bench", sn_cmd_bench}, {"cache", sn_cmd_cache}, {"weights", sn_cmd_weights},
};

int sn_cli_parse_size(const char *s, int *h, int *w) {
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (errno || end == s || a <= 0 || a > 16384)
        return -1;
    long b = a;
    if (*end == 'x' || *end == 'X') {
        const char *p = end + 1;
        b = strtol(p, &end, 10);
        if (errno || end == p || b <= 0 || b > 16384)
            return -1;
    }
    if (*end)
        return -1;
    *h = (int)a;
    *w = (int)b;
    return 0;
}

static int parse_int(const char *cmd, const char *opt, const char *v, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "sinter %s: error: %s expects an integer in [%d, %d], got '%s'\n", cmd, opt,
                lo, hi, v);
        return -1;
    }
    *out = (int)x;
    return 0;
}

/* Is `opt` one of the space-separated names in `allowed`? */
static int allowed_has(const char *allowed, const char *opt) {
    size_t n = strlen(opt);
    for (const char *p = allowed; (p = strstr(p, opt)) != NULL; p += n)
        if ((p == allowed || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
            return 1;
    return 0;
}

int sn_cli_help(int argc, char **argv, const char *help) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help, stdout);
            return 1;
        }
    return 0;
}

int sn_cli_parse(int argc, char **argv, const char *cmd, const char *allowed, sn_cli_opts *o) {
    memset(o, 0, sizeof *o);
    o->batch = 1;
    o->iters = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == 0) {
            if (o->model) {
                fprintf(stderr, "sinter %s: error: unexpected argument '%s'\n", cmd, a);
                return -1;
            }
            o->model = a;
            continue;
        }
        if (!allowed_has(allowed, a)) {
            fprintf(stderr, "sinter %s: error: unknown option '%s' (see sinter %s --help)\n", cmd,
                    a, cmd);
            return -1;
        }
        /* flags */
        if (!strcmp(a, "--eager")) {
            o->eager = 1;
            continue;
        }
        if (!strcmp(a, "--fused")) {
            o->fused = 1;
            continue;
        }
        if (!strcmp(a, "--json")) {
            o->json = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "sinter %s: error: %s needs a value\n", cmd, a);
            return -1;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--weights"))
            o->weights = v;
        else if (!strcmp(a, "--input"))
            o->input = v;
        else if (!strcmp(a, "--output"))
            o->output = v;
        else if (!strcmp(a, "--backend"))
            o->backend = v;
        else if (!strcmp(a, "--dump"))
            o->dump_dir = v;
        else if (!strcmp(a, "--dtype"))
            o->dtype = v;
        else if (!strcmp(a, "--scale"))
            o->scale = v;
        else if (!strcmp(a, "--arch")) {
            const char *p = !strncmp(v, "sm_", 3) ? v + 3 : v;
            if (parse_int(cmd, a, p, 50, 200, &o->arch))
                return -1;
        } else if (!strcmp(a, "--nc")) {
            if (parse_int(cmd, a, v, 1, 100000, &o->nc))
                return -1;
        } else if (!strcmp(a, "--batch")) {
            if (parse_int(cmd, a, v, 1, 4096, &o->batch))
                return -1;
        } else if (!strcmp(a, "--threads")) {
            if (parse_int(cmd, a, v, 1, 1024, &o->threads))
                return -1;
        } else if (!strcmp(a, "--iters")) {
            if (parse_int(cmd, a, v, 1, 1000000, &o->iters))
                return -1;
        } else if (!strcmp(a, "--imgsz")) {
            if (sn_cli_parse_size(v, &o->height, &o->width)) {
                fprintf(stderr, "sinter %s: error: --imgsz expects S or HxW, got '%s'\n", cmd, v);
                return -1;
            }
            if (o->height % 32 || o->width % 32) {
                fprintf(stderr,
                        "sinter %s: error: --imgsz %dx%d: height and width must be multiples "
                        "of 32 (the largest stride)\n",
                        cmd, o->height, o->width);
                return -1;
            }
        } else {
            fprintf(stderr, "sinter %s: error: unhandled option '%s'\n", cmd, a);
            return -1;
        }
    }
    if (o->dtype && strcmp(o->dtype, "f32") && strcmp(o->dtype, "f16") &&
        strcmp(o->dtype, "bf16")) {
        fprintf(stderr, "sinter %s: error: --dtype must be f32, f16 or bf16, got '%s'\n", cmd,
                o->dtype);
        return -1;
    }
    return 0;
}

sn_status sn_cli_load(const sn_cli_opts *o, sn_fe_model **m) {
    sn_fe_options fo;
    sn_fe_options_default(&fo);
    if (o->scale)
        fo.scale = o->scale;
    if (o->nc > 0)
        fo.nc = o->nc;
    if (o->batch > 0)
        fo.batch = o->batch;
    if (o->height > 0) {
        fo.height = o->height;
        fo.width = o->width;
    }
    fo.diag = stderr;
    return sn_fe_model_load(o->model, &fo, m);
}

const char *sn_cli_commas(int64_t v, char *buf, size_t n) {
    char tmp[32];
    int len = snprintf(tmp, sizeof tmp, "%lld", (long long)(v < 0 ? -v : v));
    size_t j = 0;
    if (v < 0 && j + 1 < n)
        buf[j++] = '-';
    for (int i = 0; i < len && j + 2 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[j++] = ',';
        buf[j++] = tmp[i];
    }
    buf[j] = 0;
    return buf;
}

/* The process's start on sn_rt_now's clock, so `compile_s` counts from process start (exec,
 * dynamic loading) to ready-to-run: /proc/self/stat's start time (clock ticks since boot)
 * against CLOCK_BOOTTIME. Falls back to main()'s start. */
double sn_cli_t0;

static double process_age(void) {
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return 0;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    /* fields after ')': 3 state … 22 starttime */
    unsigned long long start = 0;
    int field = 2;
    for (char *q = p + 1; *q && field < 22; q++)
        if (*q == ' ') {
            field++;
            if (field == 22)
                start = strtoull(q + 1, NULL, 10);
        }
    long hz = sysconf(_SC_CLK_TCK);
    struct timespec ts;
    if (!start || hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts))
        return 0;
    double age = (double)ts.tv_sec + ts.tv_nsec * 1e-9 - (double)start / (double)hz;
    return age > 0 && age < 60 ? age : 0;
}

int main(int argc, char **argv) {
    sn_cli_t0 = sn_rt_now() - process_age();
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("sinter %s\n", SN_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 2, argv + 2);
    fprintf(stderr, "sinter: error: unknown command '%s'\n\n%s", argv[1], usage);
    return 2;
}
