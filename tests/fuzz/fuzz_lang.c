/* libFuzzer target: the model language. The bytes become a temp .sn file loaded with default
 * options (diagnostics to /dev/null). Properties: no crash, no leak, and a load either fails
 * with no model or succeeds with a graph. */
#include "frontend/frontend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SN_FUZZ_ENTRY
#define SN_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

int SN_FUZZ_ENTRY(const uint8_t *data, size_t size);

static char path[512];
static FILE *devnull;

static void cleanup(void) {
    if (path[0])
        unlink(path);
    if (devnull)
        fclose(devnull);
}

int SN_FUZZ_ENTRY(const uint8_t *data, size_t size) {
    if (!path[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/sn_fuzz_XXXXXX.sn", t && *t ? t : "/tmp");
        int fd = mkstemps(path, 3);
        if (fd < 0)
            abort();
        close(fd);
        devnull = fopen("/dev/null", "w");
        atexit(cleanup);
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    sn_fe_options o;
    sn_fe_options_default(&o);
    o.diag = devnull;
    sn_fe_model *m = NULL;
    sn_status s = sn_fe_model_load(path, &o, &m);
    if (s != SN_OK) {
        if (m)
            abort();
        return 0;
    }
    if (!m || !m->graph)
        abort();
    sn_fe_model_free(m);
    return 0;
}
