/* engine/runs.c — what the image commands (detect, val) share around a run: the MODEL argument
 * (a zoo name or model file, or an Ultralytics .pt that brings its model) and the run folder
 * PROJECT/NAME{,2,…} (Ultralytics' increment_path). */
#include "engine/engine.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

sn_status sn_eng_model_arg(const char *arg, char *model, size_t n, const char **weights,
                           sn_io_pt_meta *meta, char *err, size_t errlen) {
    memset(meta, 0, sizeof *meta);
    size_t ml = strlen(arg);
    if (!(ml > 3 && !strcasecmp(arg + ml - 3, ".pt"))) {
        snprintf(model, n, "%s", arg);
        return SN_OK;
    }
    sn_status st = sn_io_pt_read(arg, NULL, meta, err, errlen);
    if (st != SN_OK)
        return st;
    if (!meta->family[0] || !meta->scale[0]) {
        char shown[SN_SHOWN];
        sn_escape(arg, shown, sizeof shown);
        st = sn_fail(err, errlen, SN_ERR_INVALID,
                     "%s does not say which model it holds (family '%s', scale '%s'); give MODEL "
                     "and --weights %s",
                     shown, meta->family, meta->scale, shown);
        sn_io_pt_meta_free(meta);
        return st;
    }
    if (!strcmp(meta->family, "yolov5u"))
        snprintf(model, n, "yolov5%su", meta->scale);
    else
        snprintf(model, n, "%s%s", meta->family, meta->scale);
    *weights = arg;
    return SN_OK;
}

sn_status sn_eng_run_dir(const char *project, const char *name, char *dir, size_t n, char *err,
                         size_t errlen) {
    char p[4096];
    if (snprintf(p, sizeof p, "%s", project) >= (int)sizeof p)
        return sn_fail(err, errlen, SN_ERR_INVALID, "--project: path too long");
    for (char *s = p + 1; *s; s++) /* mkdir -p */
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0777);
            *s = '/';
        }
    mkdir(p, 0777);
    for (int k = 1; k < 10000; k++) {
        int len = k == 1 ? snprintf(dir, n, "%s/%s", project, name)
                         : snprintf(dir, n, "%s/%s%d", project, name, k);
        if (len < 0 || (size_t)len >= n)
            return sn_fail(err, errlen, SN_ERR_INVALID, "--project/--name: path too long");
        if (mkdir(dir, 0777) == 0)
            return SN_OK;
        if (errno != EEXIST)
            break;
    }
    char shown[SN_SHOWN];
    sn_escape(dir, shown, sizeof shown);
    return sn_fail(err, errlen, SN_ERR_IO, "cannot make %s: %s", shown, strerror(errno));
}
