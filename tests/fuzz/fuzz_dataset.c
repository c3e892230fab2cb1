/* libFuzzer target: a dataset's files — data.yaml (libyaml) and label files (cls cx cy w h).
 * The first byte picks the reader (even: a label file with nc = 1 + byte / 2 % 100; odd: a
 * data.yaml), the rest is the file. Properties: no crash / overread / leak; a refusal carries a
 * message naming the source and leaves nothing behind; accepted labels have integer classes in
 * [0, nc), coordinates at most 1.01 and no duplicate rows; an accepted data.yaml has nc >= 1
 * names, none NULL, and a root. */
#include "io/io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef SN_FUZZ_ENTRY
#define SN_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

int SN_FUZZ_ENTRY(const uint8_t *data, size_t size);

int SN_FUZZ_ENTRY(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    char err[512];
    err[0] = '\0';
    if (data[0] % 2 == 0) {
        int nc = 1 + data[0] / 2 % 100, dups;
        sn_io_labels l;
        if (sn_io_dataset_labels_parse(data + 1, size - 1, "fuzz", nc, &l, &dups, err,
                                       sizeof err) != SN_OK) {
            if (strncmp(err, "fuzz", 4) != 0 && strcmp(err, "out of memory") != 0)
                abort();
            if (l.rows || l.n)
                abort();
            return 0;
        }
        for (int64_t i = 0; i < l.n; i++) {
            const float *r = l.rows + 5 * i;
            if (r[0] != floorf(r[0]) || r[0] < 0 || r[0] >= nc || dups < 0)
                abort();
            for (int j = 1; j < 5; j++)
                if (!(r[j] <= 1.01f + 1e-6f) || !(r[j] >= -0.01f - 1e-6f))
                    abort();
            if (i && !memcmp(r, r - 5, 5 * sizeof *r))
                abort();
        }
        sn_io_labels_free(&l);
        return 0;
    }
    sn_io_data d;
    if (sn_io_data_parse(data + 1, size - 1, "fuzz/data.yaml", &d, err, sizeof err) != SN_OK) {
        if (strncmp(err, "fuzz/data.yaml", 14) != 0 && strncmp(err, "data.yaml", 9) != 0)
            abort();
        if (d.names.n || d.root)
            abort();
        return 0;
    }
    if (d.nc < 1 || d.names.n != d.nc || !d.root)
        abort();
    for (int i = 0; i < d.nc; i++)
        if (!d.names.v[i])
            abort();
    sn_io_data_free(&d);
    return 0;
}
