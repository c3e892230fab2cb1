/* engine/runs.c — what the model commands (run, detect, val) share around a run: the MODEL
 * argument (a zoo name or model file, or an Ultralytics .pt that brings its model) and the run
 * folder PROJECT/NAME{,2,…} (Ultralytics' increment_path). */
#include "engine/engine.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int is_pt(const char *p) {
    size_t n = strlen(p);
    return n > 3 && !strcasecmp(p + n - 3, ".pt");
}

sn_status sn_eng_model_arg(const char *arg, char *model, size_t n, const char **weights,
                           sn_io_pt_meta *meta, char *err, size_t errlen) {
    memset(meta, 0, sizeof *meta);
    char shown[SN_SHOWN], wshown[SN_SHOWN];
    sn_escape(arg, shown, sizeof shown);
    if (!is_pt(arg)) {
        if ((size_t)snprintf(model, n, "%s", arg) >= n)
            return sn_fail(err, errlen, SN_ERR_INVALID, "MODEL %s: path too long", shown);
        /* --weights W.pt: the checkpoint's classes and names (none in a plain state_dict) */
        return *weights && is_pt(*weights) ? sn_io_pt_read(*weights, NULL, meta, err, errlen)
                                           : SN_OK;
    }
    if (*weights) {
        sn_escape(*weights, wshown, sizeof wshown);
        return sn_fail(err, errlen, SN_ERR_INVALID,
                       "MODEL %s is a checkpoint that brings its own weights; --weights %s goes "
                       "with a zoo name or model file",
                       shown, wshown);
    }
    sn_status st = sn_io_pt_read(arg, NULL, meta, err, errlen);
    if (st != SN_OK)
        return st;
    if (!meta->family[0] || !meta->scale[0]) {
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
