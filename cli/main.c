/* cli/main.c — the `sinter` command: the command table, dispatch and the top-level help. */
#include "cli/cli.h"
#include "runtime/runtime.h"

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
    "  export W.pt    convert an Ultralytics .pt checkpoint to safetensors (+ nc, names)\n"
    "  detect MODEL   Ultralytics' predict on images: annotated images, labels, JSON\n"
    "  val MODEL      Ultralytics' val on a dataset (data.yaml): mAP50, mAP50-95, P, R\n"
    "  train-step MODEL  run training steps on one batch (.npy images, label rows)\n"
    "  cache          show or clear the kernel cache (stats | clear | path)\n"
    "\n"
    "MODEL is a model file (models/yolov8.sn) or a zoo name: yolov8n … yolov8x,\n"
    "yolo11n … yolo11x, yolov5nu … yolov5xu (file + scale, as Ultralytics resolves them).\n"
    "`sinter COMMAND --help` documents each command.\n";

static const struct {
    const char *name;
    int (*fn)(int, char **);
} commands[] = {
    {"info", sn_cmd_info},       {"run", sn_cmd_run},
    {"compile", sn_cmd_compile}, {"bench", sn_cmd_bench},
    {"cache", sn_cmd_cache},     {"weights", sn_cmd_weights},
    {"export", sn_cmd_export},   {"train-step", sn_cmd_train_step},
    {"detect", sn_cmd_detect},   {"val", sn_cmd_val},
};

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
    fprintf(stderr, "sinter: error: unknown command '%s'\n\n%s", sn_cli_show(argv[1]), usage);
    return 2;
}
