/* Every file in tests/bad/tensors/ (listed in its EXPECT manifest, made by gen.py) is refused
 * with SN_ERR_INVALID and an error naming the file's path and containing the expected
 * substring (the tensor's name where one is involved). Files in the folder but missing from
 * the manifest fail the test, so the manifest cannot silently fall behind. */
#include "check.h"

#define BAD SN_SOURCE_DIR "/tests/bad/tensors"

int main(void) {
    FILE *m = fopen(BAD "/EXPECT", "r");
    if (!m) {
        perror(BAD "/EXPECT");
        return 1;
    }
    char line[256], err[2048];
    int files = 0;
    static char listed[256][256];
    while (fgets(line, sizeof line, m)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *tab = strchr(line, '\t');
        CHECKF(tab != NULL, "bad manifest line: %s", line);
        if (!tab)
            continue;
        *tab = '\0';
        const char *name = line, *want = tab + 1;
        if (files < 256)
            snprintf(listed[files], sizeof listed[files], "%s", name);
        files++;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", BAD, name);
        sn_status s;
        err[0] = '\0';
        size_t nl = strlen(name);
        if (nl > 12 && strcmp(name + nl - 12, ".safetensors") == 0) {
            sn_io_tensors ts = {(sn_io_tensor *)1, 7};
            s = sn_io_safetensors_read(path, &ts, err, sizeof err);
            CHECKF(ts.n == 0 && ts.t == NULL, "%s: output not emptied", name);
            sn_io_tensors_free(&ts);
        } else {
            float *d = (float *)1;
            sn_shape sh;
            s = sn_io_npy_read(path, &sh, &d, err, sizeof err);
            CHECKF(d == NULL, "%s: data not NULL", name);
            if (s == SN_OK)
                free(d);
        }
        CHECKF(s == SN_ERR_INVALID, "%s: status %d (%s)", name, (int)s, err);
        CHECKF(strncmp(err, path, strlen(path)) == 0,
               "%s: message does not start with the path: %s", name, err);
        CHECKF(strstr(err, want) != NULL, "%s: message lacks '%s': %s", name, want, err);
    }
    fclose(m);
    CHECK(files >= 50);
    /* every bad file is in the manifest */
    DIR *d = opendir(BAD);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t nl = strlen(e->d_name);
        int tensor = (nl > 4 && !strcmp(e->d_name + nl - 4, ".npy")) ||
                     (nl > 12 && !strcmp(e->d_name + nl - 12, ".safetensors"));
        if (!tensor)
            continue;
        int found = 0;
        for (int i = 0; i < files && i < 256; i++)
            found |= !strcmp(listed[i], e->d_name);
        CHECKF(found, "%s is not in EXPECT", e->d_name);
    }
    if (d)
        closedir(d);
    printf("%d bad files checked\n", files);
    return check_report("tio_bad");
}
