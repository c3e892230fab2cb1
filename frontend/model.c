/* frontend/model.c — the model part of frontend.h: options, zoo names, load and free.
 *
 * A load runs lex → parse (with `use`) → check → elaborate inside one arena, which is freed
 * before returning; only the sn_fe_model (graph + layer table) outlives it.
 */
#include "frontend/lang_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SN_SOURCE_DIR
#define SN_SOURCE_DIR "."
#endif

void sn_fe_options_default(sn_fe_options *o) {
    memset(o, 0, sizeof *o);
    o->scale = NULL;
    o->nc = 0;
    o->batch = 1;
    o->height = 640;
    o->width = 640;
    o->diag = NULL;
}

static bool is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* $SINTER_MODELS, else the source tree's models/, else <exe>/../share/sinter/models. */
static bool models_dir(char *out, size_t n) {
    const char *env = getenv("SINTER_MODELS");
    if (env && env[0]) {
        snprintf(out, n, "%s", env);
        return true;
    }
    if (is_dir(SN_SOURCE_DIR "/models")) {
        snprintf(out, n, "%s", SN_SOURCE_DIR "/models");
        return true;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            static const char rel[] = "/../share/sinter/models";
            size_t dl = (size_t)(slash - exe);
            if (dl + sizeof rel <= n) {
                memcpy(out, exe, dl);
                memcpy(out + dl, rel, sizeof rel);
                if (is_dir(out))
                    return true;
            }
        }
    }
    return false;
}

/* Ultralytics' rule: the scale letter follows the version digits — "yolov8n" → ("yolov8",
 * "n"), "yolov5nu" → ("yolov5u", "n"), "yolo11x" → ("yolo11", "x"). A name without a scale
 * ("yolov8") gives scale "". */
static void split_zoo(const char *name, char *base, size_t bn, char *scale, size_t sn) {
    size_t len = strlen(name);
    snprintf(base, bn, "%s", name);
    scale[0] = 0;
    for (size_t i = len; i > 1; i--) {
        char c = name[i - 1];
        if (strchr("nslmx", c) && name[i - 2] >= '0' && name[i - 2] <= '9') {
            snprintf(base, bn, "%.*s%s", (int)(i - 1), name, name + i);
            snprintf(scale, sn, "%c", c);
            return;
        }
    }
}

sn_status sn_fe_resolve(const char *model, char *path, size_t pathlen, char *scale,
                        size_t scalelen) {
    if (!model || !model[0] || !path || pathlen == 0 || !scale || scalelen == 0)
        return SN_ERR_INVALID;
    if (is_file(model)) {
        if ((size_t)snprintf(path, pathlen, "%s", model) >= pathlen)
            return SN_ERR_INVALID;
        scale[0] = 0;
        return SN_OK;
    }
    if (strchr(model, '/') || strlen(model) > 64)
        return SN_ERR_INVALID;
    char dir[PATH_MAX];
    if (!models_dir(dir, sizeof dir))
        return SN_ERR_INVALID;
    char base[80], sc[8];
    split_zoo(model, base, sizeof base, sc, sizeof sc);
    /* try "<base>.sn" with the scale split off, then the name as given */
    for (int attempt = 0; attempt < 2; attempt++) {
        const char *b = attempt == 0 ? base : model;
        char cand[PATH_MAX + 96];
        snprintf(cand, sizeof cand, "%s/%s.sn", dir, b);
        if (is_file(cand)) {
            if ((size_t)snprintf(path, pathlen, "%s", cand) >= pathlen)
                return SN_ERR_INVALID;
            if ((size_t)snprintf(scale, scalelen, "%s", attempt == 0 ? sc : "") >= scalelen)
                return SN_ERR_INVALID;
            return SN_OK;
        }
    }
    return SN_ERR_INVALID;
}

void sn_fe_model_free(sn_fe_model *m) {
    if (!m)
        return;
    sn_ir_graph_free(m->graph);
    free(m->layers);
    free(m);
}

sn_status sn_fe_model_load(const char *model, const sn_fe_options *opt, sn_fe_model **out) {
    sn_fe_options defaults;
    if (out)
        *out = NULL;
    if (!opt) {
        sn_fe_options_default(&defaults);
        opt = &defaults;
    }
    FILE *diag = opt->diag ? opt->diag : stderr;
    if (!model || !out) {
        fprintf(diag, "error: no model given\n");
        return SN_ERR_INVALID;
    }
    if (opt->batch < 1 || opt->batch > 4096) {
        fprintf(diag, "error: batch %d is out of range (1 to 4096)\n", opt->batch);
        return SN_ERR_INVALID;
    }
    if (opt->height < 32 || opt->width < 32 || opt->height > 16384 || opt->width > 16384 ||
        opt->height % 32 || opt->width % 32) {
        fprintf(diag, "error: input size %dx%d must be multiples of 32 from 32 to 16384\n",
                opt->height, opt->width);
        return SN_ERR_INVALID;
    }
    if (opt->nc > 100000) {
        fprintf(diag, "error: nc %d is too large\n", opt->nc);
        return SN_ERR_INVALID;
    }
    char path[PATH_MAX], zscale[8];
    if (sn_fe_resolve(model, path, sizeof path, zscale, sizeof zscale) != SN_OK) {
        fprintf(diag,
                "error: unknown model '%s' (not a file, and not a zoo name such as yolov8n, "
                "yolo11s or yolov5nu)\n",
                model);
        return SN_ERR_INVALID;
    }
    const char *scale = opt->scale && opt->scale[0] ? opt->scale : zscale;

    LArena A = {0};
    Diag D = {.out = diag};
    Prog P = {.D = &D, .A = &A};
    sn_status st = SN_ERR_INVALID;
    sn_fe_model *m = NULL;
    if (!sn_lang_parse_prelude(&P, sn_lang_prelude)) {
        fprintf(diag, "error: internal: the built-in signatures do not parse\n");
        goto done;
    }
    const char *why;
    int f = sn_lang_src_add(&D, &A, path, &why);
    if (f < 0) {
        fprintf(diag, "error: cannot read '%s': %s\n", path, why);
        st = A.failed ? SN_ERR_NOMEM : SN_ERR_IO;
        goto done;
    }
    P.main_file = f;
    bool parsed = sn_lang_parse_file(&P, f, true);
    if (!parsed || D.nerr)
        goto done;
    if (!sn_lang_check(&P) || D.nerr)
        goto done;
    m = calloc(1, sizeof *m);
    if (!m) {
        st = SN_ERR_NOMEM;
        goto done;
    }
    st = sn_lang_elab(&P, opt, scale, m);
    if (st == SN_OK && D.nerr)
        st = SN_ERR_INVALID;
    if (st == SN_OK) {
        size_t pl = strlen(path);
        if (pl >= sizeof m->path)
            pl = sizeof m->path - 1;
        memcpy(m->path, path, pl);
        m->path[pl] = 0;
        m->batch = opt->batch;
        m->height = opt->height;
        m->width = opt->width;
        *out = m;
        m = NULL;
    }
done:
    if (st != SN_OK && A.failed && D.nerr == 0)
        fprintf(diag, "error: out of memory while loading '%s'\n", path);
    if (m) {
        sn_ir_graph_free(m->graph);
        free(m->layers);
        free(m);
    }
    sn_lang_arena_free(&A);
    return st;
}
