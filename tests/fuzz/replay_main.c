/* Replays fuzz inputs without libFuzzer: `fuzz_replay TARGET PATH…` runs TARGET's harness
 * (safetensors, npy, pt, lang, image, dataset, run) on each file, or on every file in each
 * directory. This is how CI runs the seed corpora as a regression test (ctest fuzz_corpus_replay),
 * and how a crash file from a fuzzing run is reproduced under a debugger. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int sn_fuzz_safetensors(const uint8_t *data, size_t size);
int sn_fuzz_npy(const uint8_t *data, size_t size);
int sn_fuzz_pt(const uint8_t *data, size_t size);
int sn_fuzz_lang(const uint8_t *data, size_t size);
int sn_fuzz_image(const uint8_t *data, size_t size);
int sn_fuzz_dataset(const uint8_t *data, size_t size);
#ifdef SN_FUZZ_HAVE_RUN
int sn_fuzz_run(const uint8_t *data, size_t size);
#endif

typedef int (*harness)(const uint8_t *, size_t);

static int run_file(harness h, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return -1;
    /* an exact-size copy so ASan catches reads past the end */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact)
        return -1;
    memcpy(exact, buf, n);
    free(buf);
    h(exact, n);
    free(exact);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s safetensors|npy|pt|lang|image|run PATH...\n", argv[0]);
        return 2;
    }
    harness h = NULL;
    if (!strcmp(argv[1], "safetensors"))
        h = sn_fuzz_safetensors;
    else if (!strcmp(argv[1], "npy"))
        h = sn_fuzz_npy;
    else if (!strcmp(argv[1], "pt"))
        h = sn_fuzz_pt;
    else if (!strcmp(argv[1], "lang"))
        h = sn_fuzz_lang;
    else if (!strcmp(argv[1], "image"))
        h = sn_fuzz_image;
    else if (!strcmp(argv[1], "dataset"))
        h = sn_fuzz_dataset;
#ifdef SN_FUZZ_HAVE_RUN
    else if (!strcmp(argv[1], "run"))
        h = sn_fuzz_run;
#endif
    if (!h) {
        fprintf(stderr, "%s: unknown or unavailable target '%s'\n", argv[0], argv[1]);
        return 2;
    }
    int files = 0, failed = 0;
    for (int i = 2; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            failed++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed += run_file(h, argv[i]) != 0;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
            if (stat(p, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            failed += run_file(h, p) != 0;
            files++;
        }
        if (d)
            closedir(d);
    }
    printf("%s: %d inputs replayed, %d unreadable\n", argv[1], files, failed);
    return failed || files == 0 ? 1 : 0;
}
