/* io/dataset.c — Ultralytics' dataset layout (io/io.h): data.yaml read with libyaml as
 * ultralytics/data/utils.py: check_det_dataset reads it (path, train/val/test, names, nc),
 * image lists as data/base.py: get_img_files makes them (a directory searched recursively, a
 * txt list, or a list of those; sorted), and img2label_paths (the last /images/ → /labels/,
 * the extension → .txt). */
#include "base/base.h"
#include "io/io.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#ifdef SN_HAVE_YAML
#include <yaml.h>
#endif

/* data/utils.py: IMG_FORMATS */
static const char *const img_formats[] = {"avif", "bmp", "dng", "heic", "heif", "jp2",  "jpeg",
                                          "jpg",  "mpo", "png", "tif",  "tiff", "webp", "pfm"};

int sn_io_is_image_name(const char *p) {
    const char *dot = strrchr(p, '.');
    if (!dot)
        return 0;
    for (size_t i = 0; i < sizeof img_formats / sizeof img_formats[0]; i++)
        if (!strcasecmp(dot + 1, img_formats[i]))
            return 1;
    return 0;
}

sn_status sn_io_img2label(const char *img, char *out, size_t n) {
    const char *sa = "/images/";
    const char *cut = NULL;
    for (const char *p = img; (p = strstr(p, sa)) != NULL; p++)
        cut = p;
    size_t len = strlen(img);
    if (len + 8 >= n)
        return SN_ERR_INVALID;
    if (cut) {
        size_t k = (size_t)(cut - img);
        memcpy(out, img, k);
        memcpy(out + k, "/labels/", 8);
        strcpy(out + k + 8, cut + 8);
    } else {
        strcpy(out, img);
    }
    char *dot = strrchr(out, '.');
    if (dot)
        *dot = 0;
    strcat(out, ".txt");
    return SN_OK;
}

/* ---------------------------------------------------------------- lists of strings */

int sn_io_strings_add(sn_io_strings *l, const char *s, size_t n) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v)
            return 0;
        l->v = v;
        l->cap = cap;
    }
    char *c = malloc(n + 1);
    if (!c)
        return 0;
    memcpy(c, s, n);
    c[n] = 0;
    l->v[l->n++] = c;
    return 1;
}

void sn_io_strings_free(sn_io_strings *l) {
    if (!l)
        return;
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

void sn_io_data_free(sn_io_data *d) {
    if (!d)
        return;
    free(d->yaml);
    free(d->root);
    for (int i = 0; i < SN_IO_NSPLITS; i++)
        sn_io_strings_free(&d->split[i]);
    sn_io_strings_free(&d->names);
    memset(d, 0, sizeof *d);
}

const char *const sn_io_split_names[SN_IO_NSPLITS] = {"train", "val", "test"};

/* ---------------------------------------------------------------- data.yaml */

#ifdef SN_HAVE_YAML
static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key) {
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key))
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

static const char *scalar(yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* a YAML null: an empty plain scalar, ~, null */
static int is_null(yaml_node_t *n) {
    const char *s = scalar(n);
    return !n || (s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                  (!*s || !strcmp(s, "~") || !strcasecmp(s, "null")));
}

static int parse_int(const char *s, long *v) {
    char *e;
    errno = 0;
    double d = strtod(s, &e); /* '10' or 10.0, not 1.9 (check_det_dataset) */
    if (e == s || *e || errno || d != (double)(long)d || d < 0 || d > 1e6)
        return 0;
    *v = (long)d;
    return 1;
}
#endif

/* root + "/" + rel, or rel when it is absolute */
static char *join(const char *root, const char *rel) {
    if (rel[0] == '/' || !root || !*root)
        return strdup(rel);
    size_t n = strlen(root) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", root, root[strlen(root) - 1] == '/' ? "" : "/", rel);
    return p;
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

sn_status sn_io_data_read(const char *path, sn_io_data *d, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    char *text = NULL;
    size_t len = 0;
    sn_status st = sn_read_file(path, &text, &len, err, errlen);
    if (st != SN_OK)
        return st;
    st = sn_io_data_parse(text, len, path, d, err, errlen);
    free(text);
    return st;
}

sn_status sn_io_data_parse(const void *text, size_t len, const char *path, sn_io_data *d, char *err,
                           size_t errlen) {
    memset(d, 0, sizeof *d);
#ifndef SN_HAVE_YAML
    (void)text, (void)len, (void)path;
    return sn_fail(err, errlen, SN_ERR_UNSUPPORTED,
                   "data.yaml: this build has no libyaml (libyaml-dev; scripts/bootstrap.sh)");
#else
    char shown[SN_SHOWN];
    sn_escape(path, shown, sizeof shown);
    sn_status st;
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        st = sn_fail(err, errlen, SN_ERR_INVALID, "%s:%zu:%zu: YAML: %s", shown,
                     parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                     parser.problem ? parser.problem : "cannot parse");
        yaml_parser_delete(&parser);
        return st;
    }
    yaml_parser_delete(&parser);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        st = sn_fail(err, errlen, SN_ERR_INVALID, "%s: not a YAML mapping (key: value lines)",
                     shown);
        goto done;
    }
    d->yaml = strdup(path);
    /* names: a list, or a {int: name} map; nc: an integer; one of them is required */
    yaml_node_t *names = map_get(&doc, root, "names"), *ncn = map_get(&doc, root, "nc");
    long nc = -1;
    if (ncn && !is_null(ncn) && (!scalar(ncn) || !parse_int(scalar(ncn), &nc))) {
        st = sn_fail(err, errlen, SN_ERR_INVALID, "%s: 'nc: %s' must be an integer", shown,
                     scalar(ncn) ? sn_escape(scalar(ncn), (char[64]){0}, 64) : "(not a number)");
        goto done;
    }
    if (names && !is_null(names)) {
        if (names->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = names->data.sequence.items.start;
                 it < names->data.sequence.items.top; it++) {
                const char *s = scalar(yaml_document_get_node(&doc, *it));
                if (!s) {
                    st = sn_fail(err, errlen, SN_ERR_INVALID, "%s: 'names' must list strings",
                                 shown);
                    goto done;
                }
                if (!sn_io_strings_add(&d->names, s, strlen(s)))
                    goto nomem;
            }
        } else if (names->type == YAML_MAPPING_NODE) {
            /* {0: person, 1: car}: the keys must be 0 … n-1 */
            int n = (int)(names->data.mapping.pairs.top - names->data.mapping.pairs.start);
            for (int i = 0; i < n; i++)
                if (!sn_io_strings_add(&d->names, "", 0))
                    goto nomem;
            for (yaml_node_pair_t *p = names->data.mapping.pairs.start;
                 p < names->data.mapping.pairs.top; p++) {
                const char *k = scalar(yaml_document_get_node(&doc, p->key));
                const char *v = scalar(yaml_document_get_node(&doc, p->value));
                long id;
                if (!k || !v || !parse_int(k, &id) || id >= n) {
                    st = sn_fail(err, errlen, SN_ERR_INVALID,
                                 "%s: 'names' as a map needs the keys 0 … %d (class ids) and "
                                 "string values",
                                 shown, n - 1);
                    goto done;
                }
                free(d->names.v[id]);
                if (!(d->names.v[id] = strdup(v)))
                    goto nomem;
            }
        } else {
            st = sn_fail(err, errlen, SN_ERR_INVALID, "%s: 'names' must be a list or a map", shown);
            goto done;
        }
        if (nc >= 0 && nc != d->names.n) {
            st = sn_fail(err, errlen, SN_ERR_INVALID,
                         "%s: 'names' length %d and 'nc: %ld' must match", shown, d->names.n, nc);
            goto done;
        }
    } else if (nc >= 0) {
        for (long i = 0; i < nc; i++) {
            char s[32];
            int k = snprintf(s, sizeof s, "class_%ld", i);
            if (!sn_io_strings_add(&d->names, s, (size_t)k))
                goto nomem;
        }
    } else {
        st = sn_fail(err, errlen, SN_ERR_INVALID,
                     "%s: key missing: either 'names' or 'nc' is required in a data.yaml", shown);
        goto done;
    }
    d->nc = d->names.n;
    if (d->nc < 1) {
        st = sn_fail(err, errlen, SN_ERR_INVALID, "%s: no classes ('names' is empty)", shown);
        goto done;
    }
    /* path: the dataset root; absent = the yaml's folder; relative: to the working directory
     * when it exists there, else to the yaml's folder (Ultralytics: its datasets_dir) */
    char *slash = strrchr(path, '/');
    char ydir[4096];
    snprintf(ydir, sizeof ydir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (slash == path)
        snprintf(ydir, sizeof ydir, "/");
    const char *p = scalar(map_get(&doc, root, "path"));
    if (p && *p && !is_null(map_get(&doc, root, "path"))) {
        d->root = exists(p) || p[0] == '/' ? strdup(p) : join(ydir, p);
    } else {
        d->root = strdup(ydir);
    }
    if (!d->root)
        goto nomem;
    /* train / val / test: a string or a list of strings, each joined to the root */
    for (int k = 0; k < SN_IO_NSPLITS; k++) {
        yaml_node_t *v = map_get(&doc, root, sn_io_split_names[k]);
        if (!v || is_null(v))
            continue;
        yaml_node_item_t *a = NULL, *b = NULL;
        if (v->type == YAML_SEQUENCE_NODE) {
            a = v->data.sequence.items.start;
            b = v->data.sequence.items.top;
        }
        for (int i = 0; v->type == YAML_SEQUENCE_NODE ? a + i < b : i < 1; i++) {
            const char *s =
                scalar(v->type == YAML_SEQUENCE_NODE ? yaml_document_get_node(&doc, a[i]) : v);
            if (!s) {
                st = sn_fail(err, errlen, SN_ERR_INVALID,
                             "%s: '%s' must be a path or a list of paths", shown,
                             sn_io_split_names[k]);
                goto done;
            }
            char *x = join(d->root, s);
            if (x && !exists(x) && !strncmp(s, "../", 3)) {
                free(x);
                x = join(d->root, s + 3);
            }
            if (!x || !sn_io_strings_add(&d->split[k], x, strlen(x))) {
                free(x);
                goto nomem;
            }
            free(x);
        }
    }
    st = SN_OK;
    goto done;
nomem:
    st = sn_fail(err, errlen, SN_ERR_NOMEM, "%s: out of memory", shown);
done:
    yaml_document_delete(&doc);
    if (st != SN_OK)
        sn_io_data_free(d);
    return st;
#endif
}

/* ---------------------------------------------------------------- image lists */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* glob.glob(dir + "/" + "**" + "/" + "*.*", recursive=True): files with a dot in the name, hidden
 * ones left out */
static int walk(const char *dir, sn_io_strings *out, int depth) {
    if (depth > 32)
        return 1;
    DIR *dp = opendir(dir);
    if (!dp)
        return 1;
    struct dirent *e;
    int ok = 1;
    while (ok && (e = readdir(dp))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
            continue;
        struct stat st;
        if (stat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            ok = walk(p, out, depth + 1);
        else if (strchr(e->d_name, '.') && sn_io_is_image_name(e->d_name))
            ok = sn_io_strings_add(out, p, strlen(p));
    }
    closedir(dp);
    return ok;
}

sn_status sn_io_data_images(const sn_io_data *d, const char *split, sn_io_strings *out, char *err,
                            size_t errlen) {
    memset(out, 0, sizeof *out);
    char shown[SN_SHOWN], ss[64];
    sn_escape(d->yaml, shown, sizeof shown);
    sn_escape(split, ss, sizeof ss);
    int k = -1;
    for (int i = 0; i < SN_IO_NSPLITS; i++)
        if (!strcmp(split, sn_io_split_names[i]))
            k = i;
    if (k < 0)
        return sn_fail(err, errlen, SN_ERR_INVALID, "split '%s': expected train, val or test", ss);
    if (d->split[k].n == 0)
        return sn_fail(err, errlen, SN_ERR_INVALID, "%s: key missing: '%s' (the %s images)", shown,
                       ss, ss);
    for (int i = 0; i < d->split[k].n; i++) {
        const char *src = d->split[k].v[i];
        char sh[SN_SHOWN];
        sn_escape(src, sh, sizeof sh);
        struct stat st;
        if (stat(src, &st) != 0) {
            sn_io_strings_free(out);
            return sn_fail(err, errlen, SN_ERR_IO, "%s: '%s: %s' does not exist", shown, ss, sh);
        }
        if (S_ISDIR(st.st_mode)) {
            if (!walk(src, out, 0))
                goto nomem;
            continue;
        }
        /* a txt list: one image path a line; "./x" is relative to the list's folder */
        char *text = NULL;
        size_t len = 0;
        sn_status s = sn_read_file(src, &text, &len, err, errlen);
        if (s != SN_OK) {
            sn_io_strings_free(out);
            return s;
        }
        const char *slash = strrchr(src, '/');
        int plen = slash ? (int)(slash - src) : 1;
        const char *pdir = slash ? src : ".";
        char *q = text;
        if (len >= 3 && !memcmp(q, "\xef\xbb\xbf", 3))
            q += 3;
        while (*q) {
            size_t n = strcspn(q, "\r\n");
            char line[4096];
            while (n && (*q == ' ' || *q == '\t'))
                q++, n--;
            while (n && (q[n - 1] == ' ' || q[n - 1] == '\t'))
                n--;
            int ln = 0;
            if (n >= 2 && q[0] == '.' && q[1] == '/')
                ln = snprintf(line, sizeof line, "%.*s/%.*s", plen, pdir, (int)(n - 2), q + 2);
            else
                ln = snprintf(line, sizeof line, "%.*s", (int)n, q);
            if (ln > 0 && ln < (int)sizeof line && sn_io_is_image_name(line) &&
                !sn_io_strings_add(out, line, (size_t)ln)) {
                free(text);
                goto nomem;
            }
            q += n;
            q += strspn(q, "\r\n");
        }
        free(text);
    }
    if (out->n == 0)
        return sn_fail(err, errlen, SN_ERR_INVALID, "%s: no images found in '%s' (%s)", shown, ss,
                       "jpg, jpeg, png, bmp, webp, tif, …");
    qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
    return SN_OK;
nomem:
    sn_io_strings_free(out);
    return sn_fail(err, errlen, SN_ERR_NOMEM, "out of memory");
}
