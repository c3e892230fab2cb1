/* tests/tensorio/image_tool.c — Sinter's image path, step by step, into .npy files, for
 * image_parity.py to compare with cv2 and Ultralytics. Pixels are written as f32 (exact for
 * bytes).
 *
 * usage: image_tool decode IMAGE OUT.npy                        (h, w, 3) BGR
 *        image_tool letterbox IMAGE NEW_H NEW_W AUTO STRIDE OUT.npy   (H, W, 3) BGR
 *        image_tool tensor IMAGE NEW_H NEW_W AUTO STRIDE OUT.npy      (1, 3, H, W) RGB / 255
 *        image_tool resize IN.npy NEW_H NEW_W OUT.npy          IN (h, w, c) of bytes
 *        image_tool plan H W NEW_H NEW_W AUTO STRIDE             the letterbox geometry only
 *        image_tool batch FILE        one command a line, its words separated by tabs
 * Each command prints one line: "OK" (letterbox, tensor and plan add ratio unpad_w unpad_h top
 * bottom left right) or "ERR <message>". Exit status 0 unless the usage is wrong (2) or,
 * outside batch, the command failed (3). */
#include "io/io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sn_status save_image(const sn_io_image *img, const char *path, char *err, size_t errlen) {
    size_t n = (size_t)img->h * img->w * img->c;
    float *f = malloc(n * sizeof *f);
    if (!f)
        return SN_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        f[i] = img->data[i];
    sn_shape s = {.ndim = 3, .d = {img->h, img->w, img->c}};
    sn_status st = sn_io_npy_write(path, &s, f, SN_DTYPE_F32, err, errlen);
    free(f);
    return st;
}

static sn_status load_image(const char *path, sn_io_image *img, char *err, size_t errlen) {
    sn_shape s;
    float *f;
    sn_status st = sn_io_npy_read(path, &s, &f, err, errlen);
    if (st != SN_OK)
        return st;
    if (s.ndim != 3 ||
        (st = sn_io_image_new(img, (int)s.d[0], (int)s.d[1], (int)s.d[2])) != SN_OK) {
        free(f);
        snprintf(err, errlen, "%s: want (h, w, c) with 1 <= c <= 4", path);
        return SN_ERR_INVALID;
    }
    size_t n = (size_t)img->h * img->w * img->c;
    for (size_t i = 0; i < n; i++)
        img->data[i] = (uint8_t)f[i];
    free(f);
    return SN_OK;
}

/* One command; its result line goes to stdout. Returns 0 (done), 2 (usage) or 3 (failed). */
static int command(int argc, char **argv) {
    char err[1024] = "";
    char info[256] = "";
    sn_status st = SN_ERR_INVALID;
    sn_io_image img = {0}, out = {0};
    if (argc == 3 && !strcmp(argv[0], "decode")) {
        if ((st = sn_io_image_read(argv[1], &img, err, sizeof err)) == SN_OK)
            st = save_image(&img, argv[2], err, sizeof err);
    } else if (argc == 7 && (!strcmp(argv[0], "letterbox") || !strcmp(argv[0], "tensor"))) {
        sn_io_letterbox_info li;
        if ((st = sn_io_image_read(argv[1], &img, err, sizeof err)) == SN_OK &&
            (st = sn_io_letterbox(&img, atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]),
                                  &out, &li)) != SN_OK)
            snprintf(err, sizeof err, "letterbox refused: %s", sn_status_str(st));
        if (st == SN_OK) {
            snprintf(info, sizeof info, " %.17g %d %d %d %d %d %d", li.ratio, li.unpad_w,
                     li.unpad_h, li.top, li.bottom, li.left, li.right);
            if (!strcmp(argv[0], "letterbox")) {
                st = save_image(&out, argv[6], err, sizeof err);
            } else {
                float *t = malloc((size_t)3 * out.h * out.w * sizeof *t);
                if (!t) {
                    st = SN_ERR_NOMEM;
                } else {
                    sn_io_image_to_tensor(&out, t);
                    sn_shape s = {.ndim = 4, .d = {1, 3, out.h, out.w}};
                    st = sn_io_npy_write(argv[6], &s, t, SN_DTYPE_F32, err, sizeof err);
                    free(t);
                }
            }
        }
    } else if (argc == 7 && !strcmp(argv[0], "plan")) {
        sn_io_letterbox_info li;
        st = sn_io_letterbox_plan(atoi(argv[1]), atoi(argv[2]), atoi(argv[3]), atoi(argv[4]),
                                  atoi(argv[5]), atoi(argv[6]), &li);
        if (st == SN_OK)
            snprintf(info, sizeof info, " %.17g %d %d %d %d %d %d", li.ratio, li.unpad_w,
                     li.unpad_h, li.top, li.bottom, li.left, li.right);
    } else if (argc == 5 && !strcmp(argv[0], "resize")) {
        if ((st = load_image(argv[1], &img, err, sizeof err)) == SN_OK) {
            if ((st = sn_io_image_resize(&img, atoi(argv[2]), atoi(argv[3]), &out)) != SN_OK)
                snprintf(err, sizeof err, "resize refused: %s", sn_status_str(st));
            else
                st = save_image(&out, argv[4], err, sizeof err);
        }
    } else {
        fprintf(stderr, "image_tool: bad command (see the usage in image_tool.c)\n");
        return 2;
    }
    sn_io_image_free(&img);
    sn_io_image_free(&out);
    if (st == SN_OK)
        printf("OK%s\n", info);
    else
        printf("ERR %s\n", err[0] ? err : sn_status_str(st));
    fflush(stdout);
    return st == SN_OK ? 0 : 3;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "batch")) {
        FILE *f = fopen(argv[2], "r");
        if (!f) {
            perror(argv[2]);
            return 2;
        }
        char line[8192];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n")] = 0;
            if (!line[0])
                continue;
            char *words[16];
            int n = 0;
            for (char *w = strtok(line, "\t"); w && n < 16; w = strtok(NULL, "\t"))
                words[n++] = w;
            if (command(n, words) == 2) {
                fclose(f);
                return 2;
            }
        }
        fclose(f);
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: see tests/tensorio/image_tool.c\n");
        return 2;
    }
    return command(argc - 1, argv + 1);
}
