/* io/pt.c — Ultralytics .pt checkpoints (and any torch.save of a state_dict or a module),
 * read without Python.
 *
 * The container (torch.save since torch 1.6) is a zip of stored entries under one folder:
 *   <archive>/data.pkl        the pickled object (protocol 2)
 *   <archive>/data/<key>      one entry per storage: its elements, raw, little-endian
 *   <archive>/byteorder       "little" (absent in old files: little)
 *   <archive>/version, .format_version, .storage_alignment, .data/serialization_id
 * libzip reads the zip (from the buffer; sizes, CRCs and the central directory are its
 * checks). Only stored entries are read, as torch writes them, so an entry's size never
 * exceeds the file's.
 *
 * The pickle goes through the restricted unpickler (pickle.c). What it gives is then read as
 * torch would: a trainer checkpoint is a dict whose `model` (None in training checkpoints)
 * or else `ema` is a pickled DetectionModel; its weights are the state_dict() of that module
 * tree, rebuilt here by the walk torch's Module.state_dict does: per module its _parameters,
 * then its persistent _buffers, then each child in _modules with "<name>." added to the
 * prefix. A plain state_dict (an OrderedDict of tensors) is read as it is. Tensors come out
 * contiguous, f32/f16/bf16 as stored (f64 as f32); `num_batches_tracked` (int64) is left out.
 */
#include "io/io_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef SN_HAVE_LIBZIP
#include <zip.h>
#endif

enum {
    PT_MAX_DEPTH = 64,        /* module nesting (DetectionModel: 4) */
    PT_MAX_VISITS = 1 << 20,  /* modules visited: shared children cannot blow the walk up */
    PT_MAX_TENSORS = 1 << 20, /* weights in one file */
    PT_MAX_NAME = 1024,       /* a state_dict name */
    PT_MAX_CLASSES = 1 << 16, /* class ids in `names` */
};

static int is_zip(const void *buf, size_t len) {
    return len >= 4 && memcmp(buf, "PK\x03\x04", 4) == 0;
}

/* PROTO 2, LONG1 of 10 bytes: torch's legacy magic number, the first thing such files hold */
static const uint8_t legacy_magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
                                       0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

static int is_legacy(const void *buf, size_t len) {
    return len >= sizeof legacy_magic && memcmp(buf, legacy_magic, sizeof legacy_magic) == 0;
}

int sn_io_pt_sniff(const void *buf, size_t len) { return is_zip(buf, len) || is_legacy(buf, len); }

void sn_io_pt_meta_free(sn_io_pt_meta *m) {
    if (!m)
        return;
    for (int i = 0; i < m->nnames; i++)
        free(m->names[i]);
    free(m->names);
    memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------------- the module walk */

typedef struct pt_item {
    char *name; /* owned */
    const sn_io_pk_tensor *t;
} pt_item;

typedef struct walk {
    const char *what; /* escaped path */
    char *err;
    size_t errlen;
    sn_status st;
    pt_item *v;
    int n, cap;
    long visits;
} walk;

static int wfail(walk *w, sn_status st, const char *fmt, ...) SN_PRINTF(3, 4);
static int wfail(walk *w, sn_status st, const char *fmt, ...) {
    if (w->st != SN_OK)
        return -1;
    w->st = st;
    if (w->err && w->errlen) {
        int k = snprintf(w->err, w->errlen, "%s: ", w->what);
        if (k >= 0 && (size_t)k < w->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(w->err + k, w->errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

static int add_item(walk *w, const char *prefix, const char *key, const sn_io_pkv *t) {
    char nb[SN_SHOWN_NAME];
    if (t->kind != SN_IO_PK_TENSOR)
        return wfail(w, SN_ERR_INVALID, "'%s%s' is not a tensor", prefix,
                     sn_escape(key, nb, sizeof nb));
    if (w->n >= PT_MAX_TENSORS)
        return wfail(w, SN_ERR_INVALID, "more than %d tensors", PT_MAX_TENSORS);
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 256;
        pt_item *v = realloc(w->v, (size_t)cap * sizeof *v);
        if (!v)
            return wfail(w, SN_ERR_NOMEM, "out of memory");
        w->v = v;
        w->cap = cap;
    }
    size_t np = strlen(prefix), nk = strlen(key);
    char *name = malloc(np + nk + 1);
    if (!name)
        return wfail(w, SN_ERR_NOMEM, "out of memory");
    memcpy(name, prefix, np);
    memcpy(name + np, key, nk + 1);
    w->v[w->n++] = (pt_item){name, t->u.t};
    return 0;
}

/* A key of _parameters/_buffers/_modules: a non-empty str without '.' or NUL (torch refuses
 * such names when they are registered). */
static const char *member_key(walk *w, const sn_io_pkv *k, const char *prefix) {
    if (k->kind != SN_IO_PK_STR || k->u.s.n == 0 || strlen(k->u.s.p) != k->u.s.n ||
        strchr(k->u.s.p, '.')) {
        char nb[SN_SHOWN_NAME];
        wfail(w, SN_ERR_INVALID, "module '%s': a member name that is not a plain string",
              sn_escape(prefix, nb, sizeof nb));
        return NULL;
    }
    return k->u.s.p;
}

static int in_set(const sn_io_pkv *set, const char *s) {
    if (!set || (set->kind != SN_IO_PK_SET && set->kind != SN_IO_PK_LIST))
        return 0;
    for (uint32_t i = 0; i < set->u.c.n; i++)
        if (set->u.c.v[i]->kind == SN_IO_PK_STR && strcmp(set->u.c.v[i]->u.s.p, s) == 0)
            return 1;
    return 0;
}

static int is_module(const sn_io_pkv *v) {
    const sn_io_pkv *st = sn_io_pk_state(v);
    return st && sn_io_pk_get(st, "_modules");
}

/* torch's Module.state_dict: _parameters, persistent _buffers, then the children. */
static int walk_module(walk *w, const sn_io_pkv *m, char *prefix, size_t plen, int depth) {
    char nb[SN_SHOWN_NAME];
    if (depth > PT_MAX_DEPTH)
        return wfail(w, SN_ERR_INVALID, "modules nested deeper than %d", PT_MAX_DEPTH);
    if (++w->visits > PT_MAX_VISITS)
        return wfail(w, SN_ERR_INVALID, "more than %d modules", PT_MAX_VISITS);
    const sn_io_pkv *st = sn_io_pk_state(m);
    if (!st)
        return wfail(w, SN_ERR_INVALID, "module '%s' has no state",
                     sn_escape(prefix, nb, sizeof nb));
    const sn_io_pkv *params = sn_io_pk_get(st, "_parameters");
    const sn_io_pkv *bufs = sn_io_pk_get(st, "_buffers");
    const sn_io_pkv *nonp = sn_io_pk_get(st, "_non_persistent_buffers_set");
    const sn_io_pkv *mods = sn_io_pk_get(st, "_modules");
    const sn_io_pkv *lists[2] = {params, bufs};
    for (int l = 0; l < 2; l++) {
        const sn_io_pkv *d = lists[l];
        if (!d || d->kind == SN_IO_PK_NONE)
            continue;
        if (d->kind != SN_IO_PK_DICT)
            return wfail(w, SN_ERR_INVALID, "module '%s': %s is not a dict",
                         sn_escape(prefix, nb, sizeof nb), l ? "_buffers" : "_parameters");
        for (uint32_t i = 0; i + 1 < d->u.c.n; i += 2) {
            const char *key = member_key(w, d->u.c.v[i], prefix);
            if (!key)
                return -1;
            if (d->u.c.v[i + 1]->kind == SN_IO_PK_NONE || (l == 1 && in_set(nonp, key)))
                continue;
            if (add_item(w, prefix, key, d->u.c.v[i + 1]))
                return -1;
        }
    }
    if (!mods || mods->kind != SN_IO_PK_DICT)
        return wfail(w, SN_ERR_INVALID, "module '%s': _modules is not a dict",
                     sn_escape(prefix, nb, sizeof nb));
    for (uint32_t i = 0; i + 1 < mods->u.c.n; i += 2) {
        const char *key = member_key(w, mods->u.c.v[i], prefix);
        if (!key)
            return -1;
        const sn_io_pkv *child = mods->u.c.v[i + 1];
        if (child->kind == SN_IO_PK_NONE)
            continue;
        size_t nk = strlen(key);
        if (plen + nk + 2 > PT_MAX_NAME)
            return wfail(w, SN_ERR_INVALID, "a module name longer than %d bytes", PT_MAX_NAME);
        memcpy(prefix + plen, key, nk);
        prefix[plen + nk] = '.';
        prefix[plen + nk + 1] = '\0';
        int r = walk_module(w, child, prefix, plen + nk + 1, depth + 1);
        prefix[plen] = '\0';
        if (r)
            return -1;
    }
    return 0;
}

/* A dict of str → tensor (a state_dict): 1 when d is one (and not empty). */
static int is_state_dict(const sn_io_pkv *d) {
    if (!d || d->kind != SN_IO_PK_DICT || d->u.c.n == 0)
        return 0;
    for (uint32_t i = 0; i + 1 < d->u.c.n; i += 2)
        if (d->u.c.v[i]->kind != SN_IO_PK_STR || d->u.c.v[i + 1]->kind != SN_IO_PK_TENSOR)
            return 0;
    return 1;
}

static int walk_state_dict(walk *w, const sn_io_pkv *d) {
    for (uint32_t i = 0; i + 1 < d->u.c.n; i += 2) {
        const sn_io_pkv *k = d->u.c.v[i];
        if (strlen(k->u.s.p) != k->u.s.n || k->u.s.n == 0 || k->u.s.n >= PT_MAX_NAME)
            return wfail(w, SN_ERR_INVALID,
                         "a state_dict name that is empty, too long or "
                         "holds a NUL");
        if (add_item(w, "", k->u.s.p, d->u.c.v[i + 1]))
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- metadata */

static void copy_str(char *dst, size_t n, const sn_io_pkv *v) {
    if (v && v->kind == SN_IO_PK_STR && strlen(v->u.s.p) < n)
        memcpy(dst, v->u.s.p, v->u.s.n + 1);
}

/* Ultralytics' family and scale from a model yaml's stem (nn/tasks.py yaml_model_load and
 * guess_model_scale): the first digit run followed by one of n s m l x; that letter is the
 * scale and the family is the stem without it ("yolov8n" → yolov8 n, "yolov5nu" → yolov5u
 * n, "yolo11x" → yolo11 x). */
static void family_from_file(const char *yaml_file, char *family, size_t fn, char *scale,
                             size_t sn) {
    const char *base = strrchr(yaml_file, '/');
    base = base ? base + 1 : yaml_file;
    char stem[256];
    size_t k = strcspn(base, ".");
    if (k >= sizeof stem)
        return;
    memcpy(stem, base, k);
    stem[k] = '\0';
    for (size_t i = 0; i < k; i++) {
        if (stem[i] < '0' || stem[i] > '9')
            continue;
        size_t j = i;
        while (j < k && stem[j] >= '0' && stem[j] <= '9')
            j++;
        if (j < k && strchr("nslmx", stem[j])) {
            if (k < fn) {
                memcpy(family, stem, j);
                memcpy(family + j, stem + j + 1, k - j); /* with the NUL */
            }
            if (!*scale && sn > 1) {
                scale[0] = stem[j];
                scale[1] = '\0';
            }
            return;
        }
        i = j;
    }
}

/* Without a yaml file name: the family from the yaml's blocks (C3k2: YOLO11; C2f: YOLOv8;
 * C3: YOLOv5u). */
static void family_from_yaml(const sn_io_pkv *yaml, char *family, size_t fn) {
    static const char *const block[][2] = {
        {"C3k2", "yolo11"}, {"C2f", "yolov8"}, {"C3", "yolov5u"}};
    const char *parts[2] = {"backbone", "head"};
    for (size_t b = 0; b < sizeof block / sizeof block[0]; b++)
        for (int p = 0; p < 2; p++) {
            const sn_io_pkv *l = sn_io_pk_get(yaml, parts[p]);
            if (!l || l->kind != SN_IO_PK_LIST)
                continue;
            for (uint32_t i = 0; i < l->u.c.n; i++) {
                const sn_io_pkv *row = l->u.c.v[i];
                if (row->kind == SN_IO_PK_LIST && row->u.c.n >= 3 &&
                    row->u.c.v[2]->kind == SN_IO_PK_STR &&
                    strcmp(row->u.c.v[2]->u.s.p, block[b][0]) == 0) {
                    if (strlen(block[b][1]) < fn)
                        strcpy(family, block[b][1]);
                    return;
                }
            }
        }
}

/* names: {id: str} (ids 0 … n-1) or [str, …]. */
static int read_names(walk *w, const sn_io_pkv *v, sn_io_pt_meta *m) {
    if (!v || (v->kind != SN_IO_PK_DICT && v->kind != SN_IO_PK_LIST))
        return 0;
    int isdict = v->kind == SN_IO_PK_DICT, step = isdict ? 2 : 1;
    int64_t n = 0;
    for (uint32_t i = 0; i < v->u.c.n; i += (uint32_t)step) {
        int64_t id = i;
        if (isdict) {
            const sn_io_pkv *k = v->u.c.v[i];
            if (k->kind != SN_IO_PK_INT || k->u.i < 0 || k->u.i >= PT_MAX_CLASSES)
                return wfail(w, SN_ERR_INVALID,
                             "names: a class id that is not an int in "
                             "[0, %d)",
                             PT_MAX_CLASSES);
            id = k->u.i;
        }
        if (i + (uint32_t)step - 1 >= v->u.c.n ||
            v->u.c.v[i + (uint32_t)step - 1]->kind != SN_IO_PK_STR)
            return wfail(w, SN_ERR_INVALID, "names: a class name that is not a string");
        if (!isdict && id >= PT_MAX_CLASSES)
            return wfail(w, SN_ERR_INVALID, "names: more than %d classes", PT_MAX_CLASSES);
        n = id + 1 > n ? id + 1 : n;
    }
    if (n == 0)
        return 0;
    if (!(m->names = calloc((size_t)n, sizeof *m->names)))
        return wfail(w, SN_ERR_NOMEM, "out of memory");
    m->nnames = (int)n;
    for (uint32_t i = 0; i < v->u.c.n; i += (uint32_t)step) {
        int64_t id = isdict ? v->u.c.v[i]->u.i : (int64_t)i;
        free(m->names[id]); /* a later duplicate id wins, as in a dict */
        if (!(m->names[id] = strdup(v->u.c.v[i + (uint32_t)step - 1]->u.s.p)))
            return wfail(w, SN_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < m->nnames; i++)
        if (!m->names[i] && !(m->names[i] = strdup("")))
            return wfail(w, SN_ERR_NOMEM, "out of memory");
    return 0;
}

static int read_meta(walk *w, const sn_io_pkv *model, sn_io_pt_meta *m) {
    const sn_io_pkv *st = sn_io_pk_state(model);
    const sn_io_pkv *yaml = sn_io_pk_get(st, "yaml");
    const sn_io_pkv *nc = sn_io_pk_get(st, "nc");
    if (!nc || nc->kind != SN_IO_PK_INT)
        nc = sn_io_pk_get(yaml, "nc");
    if (nc && nc->kind == SN_IO_PK_INT && nc->u.i > 0 && nc->u.i < PT_MAX_CLASSES)
        m->nc = (int)nc->u.i;
    if (read_names(w, sn_io_pk_get(st, "names"), m))
        return -1;
    copy_str(m->scale, sizeof m->scale, sn_io_pk_get(yaml, "scale"));
    copy_str(m->yaml_file, sizeof m->yaml_file, sn_io_pk_get(yaml, "yaml_file"));
    if (m->yaml_file[0])
        family_from_file(m->yaml_file, m->family, sizeof m->family, m->scale, sizeof m->scale);
    if (!m->family[0] && yaml)
        family_from_yaml(yaml, m->family, sizeof m->family);
    return 0;
}

/* Picks what holds the weights. Sets *module or *sd, and meta->source. */
static int pick(walk *w, const sn_io_pkv *root, const sn_io_pkv **module, const sn_io_pkv **sd,
                sn_io_pt_meta *m) {
    *module = *sd = NULL;
    if (is_module(root)) {
        *module = root;
        strcpy(m->source, "module");
        return 0;
    }
    if (root->kind != SN_IO_PK_DICT)
        return wfail(w, SN_ERR_INVALID,
                     "the pickled object is neither a checkpoint dict, a state_dict nor a "
                     "module");
    const char *keys[] = {"model", "ema", "state_dict", "model_state_dict"};
    for (int k = 0; k < 4; k++) {
        const sn_io_pkv *v = sn_io_pk_get(root, keys[k]);
        if (is_module(v) || is_state_dict(v)) {
            *(is_module(v) ? module : sd) = v;
            strcpy(m->source, keys[k]);
            return 0;
        }
    }
    if (is_state_dict(root)) {
        *sd = root;
        strcpy(m->source, "state_dict");
        return 0;
    }
    if (sn_io_pk_get(root, "model") || sn_io_pk_get(root, "ema"))
        return wfail(w, SN_ERR_INVALID,
                     "no weights: the checkpoint's `model` and `ema` are both empty (None)");
    for (uint32_t i = 0; i + 1 < root->u.c.n; i += 2)
        if (root->u.c.v[i]->kind != SN_IO_PK_STR || root->u.c.v[i + 1]->kind != SN_IO_PK_TENSOR) {
            char nb[SN_SHOWN_NAME];
            const sn_io_pkv *k = root->u.c.v[i];
            return wfail(w, SN_ERR_INVALID,
                         "no weights: a dict without `model` or `ema` (an Ultralytics "
                         "checkpoint) and not a state_dict of tensors (entry '%s' is not a "
                         "tensor)",
                         k->kind == SN_IO_PK_STR ? sn_escape(k->u.s.p, nb, sizeof nb) : "?");
        }
    return wfail(w, SN_ERR_INVALID, "no weights: an empty dict");
}

/* ---------------------------------------------------------------- the zip */

/* The weights of one file: entries in state_dict order, their bytes in `block`. */
typedef struct pt_out {
    sn_io_entry *e;
    int n;
    uint8_t *block;
} pt_out;

static void out_free(pt_out *o) {
    for (int i = 0; i < o->n; i++)
        free(o->e[i].name);
    free(o->e);
    free(o->block);
    memset(o, 0, sizeof *o);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const sn_io_entry *)a)->name, ((const sn_io_entry *)b)->name);
}

/* One tensor to copy out: its entry and its view. */
typedef struct pt_job {
    sn_io_entry *e;
    const sn_io_pk_tensor *t;
} pt_job;

static int cmp_job_storage(const void *a, const void *b) {
    const pt_job *x = a, *y = b;
    int c = strcmp(x->t->storage->u.st.key, y->t->storage->u.st.key);
    return c ? c : (x->e > y->e) - (x->e < y->e);
}

/* The sn_dtype a storage type becomes, or -1 (not a float weight). */
static int weight_dtype(sn_io_pk_dtype d) {
    switch (d) {
    case SN_IO_PKD_F32:
    case SN_IO_PKD_F64:
        return SN_DTYPE_F32;
    case SN_IO_PKD_F16:
        return SN_DTYPE_F16;
    case SN_IO_PKD_BF16:
        return SN_DTYPE_BF16;
    default:
        return -1;
    }
}

/* Copies tensor t's elements from its storage bytes (esz each, little-endian) to dst in C
 * order; f64 becomes f32. The view was checked against the storage by the unpickler. */
static void gather(const uint8_t *src, size_t esz, const sn_io_pk_tensor *t, int64_t numel,
                   uint8_t *dst) {
    int64_t idx[SN_IO_PK_MAX_NDIM] = {0};
    int contiguous = 1;
    int64_t expect = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->size[d] != 1 && t->stride[d] != expect)
            contiguous = 0;
        expect *= t->size[d];
    }
    if (contiguous && esz != 8) {
        memcpy(dst, src + (size_t)t->offset * esz, (size_t)numel * esz);
        return;
    }
    for (int64_t k = 0; k < numel; k++) {
        int64_t off = t->offset;
        for (int d = 0; d < t->ndim; d++)
            off += idx[d] * t->stride[d];
        const uint8_t *s = src + (size_t)off * esz;
        if (esz == 8) { /* f64 → f32 */
            uint64_t u = 0;
            for (int b = 7; b >= 0; b--)
                u = (u << 8) | s[b];
            double x;
            memcpy(&x, &u, 8);
            float f = (float)x;
            uint32_t fb;
            memcpy(&fb, &f, 4);
            for (int b = 0; b < 4; b++)
                dst[4 * k + b] = (uint8_t)(fb >> (8 * b));
        } else {
            memcpy(dst + (size_t)k * esz, s, esz);
        }
        for (int d = t->ndim - 1; d >= 0; d--) {
            if (++idx[d] < t->size[d])
                break;
            idx[d] = 0;
        }
    }
}

#ifdef SN_HAVE_LIBZIP

/* Reads stored entry `name` whole (malloc'ed, NUL-terminated). Returns 1 when absent, 0 on
 * success, -1 on error (in w). */
static int zip_entry(walk *w, zip_t *za, const char *name, uint8_t **data, size_t *n,
                     size_t file_len) {
    char nb[SN_SHOWN_NAME];
    *data = NULL;
    *n = 0;
    zip_int64_t i = zip_name_locate(za, name, ZIP_FL_ENC_RAW);
    if (i < 0)
        return 1;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW, &st) != 0 ||
        !(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_METHOD))
        return wfail(w, SN_ERR_INVALID, "zip entry '%s': %s", sn_escape(name, nb, sizeof nb),
                     zip_strerror(za));
    if (st.comp_method != ZIP_CM_STORE ||
        ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE))
        return wfail(w, SN_ERR_INVALID,
                     "zip entry '%s' is compressed or encrypted (torch.save stores entries "
                     "as they are)",
                     sn_escape(name, nb, sizeof nb));
    if (st.size > file_len)
        return wfail(w, SN_ERR_INVALID, "zip entry '%s' claims %llu bytes, more than the file",
                     sn_escape(name, nb, sizeof nb), (unsigned long long)st.size);
    uint8_t *b = malloc((size_t)st.size + 1);
    if (!b)
        return wfail(w, SN_ERR_NOMEM, "out of memory reading '%s'", sn_escape(name, nb, sizeof nb));
    zip_file_t *f = zip_fopen_index(za, (zip_uint64_t)i, 0);
    if (!f) {
        free(b);
        return wfail(w, SN_ERR_INVALID, "zip entry '%s': %s", sn_escape(name, nb, sizeof nb),
                     zip_strerror(za));
    }
    zip_int64_t got = zip_fread(f, b, st.size);
    uint8_t extra;
    /* reading past the end makes libzip check the CRC */
    zip_int64_t more = got == (zip_int64_t)st.size ? zip_fread(f, &extra, 1) : -1;
    if (got != (zip_int64_t)st.size || more != 0) {
        wfail(w, SN_ERR_INVALID, "zip entry '%s': %s", sn_escape(name, nb, sizeof nb),
              got < 0 || more < 0 ? zip_file_strerror(f) : "shorter than its size");
        zip_fclose(f);
        free(b);
        return -1;
    }
    zip_fclose(f);
    b[st.size] = '\0';
    *data = b;
    *n = (size_t)st.size;
    return 0;
}

/* The float tensors the walk found (w->v), into o: entries in state_dict order, each
 * storage read once and its tensors gathered. num_batches_tracked (int64) is skipped. */
static int copy_out(walk *w, zip_t *za, const char *prefix, size_t len, pt_out *o) {
    char name[512], nb[SN_SHOWN_NAME], nb2[SN_SHOWN_NAME];
    uint64_t total = 0;
    int nout = 0;
    for (int i = 0; i < w->n; i++) {
        const sn_io_pk_tensor *t = w->v[i].t;
        int dt = weight_dtype(t->storage->u.st.dtype);
        if (dt < 0) {
            if (ends_with(w->v[i].name, "num_batches_tracked"))
                continue;
            return wfail(w, SN_ERR_INVALID, "tensor '%s' holds %s elements (weights are float)",
                         sn_escape(w->v[i].name, nb, sizeof nb),
                         sn_io_pk_dtype_name(t->storage->u.st.dtype));
        }
        if (t->ndim > SN_MAX_DIMS)
            return wfail(w, SN_ERR_INVALID, "tensor '%s' has %d dimensions (at most %d)",
                         sn_escape(w->v[i].name, nb, sizeof nb), t->ndim, SN_MAX_DIMS);
        int64_t numel = 1;
        for (int d = 0; d < t->ndim; d++)
            numel *= t->size[d]; /* bounded by the unpickler's checks */
        total += (uint64_t)numel * sn_dtype_size((sn_dtype)dt);
        nout++;
    }
    if (nout == 0)
        return wfail(w, SN_ERR_INVALID, "no float tensors");
    /* Views may share a storage; never let them multiply the file many times over. */
    if (total > 4 * (uint64_t)len + (1u << 20))
        return wfail(w, SN_ERR_INVALID, "the tensors (%llu bytes) are far larger than the file",
                     (unsigned long long)total);
    o->block = malloc(total ? (size_t)total : 1);
    o->e = calloc((size_t)nout, sizeof *o->e);
    pt_job *jobs = malloc((size_t)nout * sizeof *jobs);
    if (!o->block || !o->e || !jobs) {
        free(jobs);
        return wfail(w, SN_ERR_NOMEM, "out of memory");
    }
    uint64_t off = 0;
    for (int i = 0; i < w->n; i++) {
        const sn_io_pk_tensor *t = w->v[i].t;
        int dt = weight_dtype(t->storage->u.st.dtype);
        if (dt < 0)
            continue;
        sn_io_entry *e = &o->e[o->n];
        e->name = w->v[i].name; /* moved */
        w->v[i].name = NULL;
        e->dtype = (sn_dtype)dt;
        e->shape.ndim = t->ndim;
        e->numel = 1;
        for (int d = 0; d < t->ndim; d++)
            e->numel *= (e->shape.d[d] = t->size[d]);
        e->nbytes = (uint64_t)e->numel * sn_dtype_size(e->dtype);
        e->data = o->block + off;
        off += e->nbytes;
        jobs[o->n++] = (pt_job){e, t};
    }
    qsort(jobs, (size_t)o->n, sizeof *jobs, cmp_job_storage);
    for (int i = 0, j; i < o->n && w->st == SN_OK; i = j) {
        const sn_io_pkv *stv = jobs[i].t->storage;
        size_t esz = sn_io_pk_dtype_size(stv->u.st.dtype), sn;
        uint8_t *sdata;
        snprintf(name, sizeof name, "%s/data/%s", prefix, stv->u.st.key);
        int r = zip_entry(w, za, name, &sdata, &sn, len);
        if (r == 1)
            wfail(w, SN_ERR_INVALID, "storage '%s' is missing from the zip",
                  sn_escape(name, nb, sizeof nb));
        if (r)
            break;
        for (j = i; j < o->n && strcmp(jobs[j].t->storage->u.st.key, stv->u.st.key) == 0; j++) {
            const sn_io_pk_tensor *t = jobs[j].t;
            sn_io_entry *e = jobs[j].e;
            if (t->storage->u.st.dtype != stv->u.st.dtype) {
                wfail(w, SN_ERR_INVALID, "storage '%s' is used with two element types",
                      sn_escape(name, nb, sizeof nb));
                break;
            }
            if (e->numel == 0)
                continue;
            /* the view fits the storage's declared numel (the unpickler checked); the entry
             * must hold that many elements */
            int64_t need = t->offset + 1;
            for (int d = 0; d < t->ndim; d++)
                need += (t->size[d] - 1) * t->stride[d];
            if ((uint64_t)need > sn / esz) {
                wfail(w, SN_ERR_INVALID, "tensor '%s' needs %lld elements of '%s', which holds %zu",
                      sn_escape(e->name, nb, sizeof nb), (long long)need,
                      sn_escape(name, nb2, sizeof nb2), sn / esz);
                break;
            }
            gather(sdata, esz, t, e->numel, (uint8_t *)e->data);
        }
        free(sdata);
    }
    free(jobs);
    return w->st == SN_OK ? 0 : -1;
}

/* The archive folder: the one "<archive>/data.pkl" at the top. */
static int find_archive(walk *w, zip_t *za, char *prefix, size_t pn) {
    zip_int64_t n = zip_get_num_entries(za, 0);
    int found = 0, script = 0;
    for (zip_int64_t i = 0; i < n; i++) {
        const char *nm = zip_get_name(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        if (!nm)
            continue;
        const char *slash = strchr(nm, '/');
        if (!slash)
            continue;
        if (strcmp(slash, "/constants.pkl") == 0 || strncmp(slash, "/code/", 6) == 0)
            script = 1;
        if (strcmp(slash, "/data.pkl") != 0)
            continue;
        if (found++)
            return wfail(w, SN_ERR_INVALID, "more than one data.pkl in the zip");
        size_t k = (size_t)(slash - nm);
        if (k + 1 > pn)
            return wfail(w, SN_ERR_INVALID, "the archive folder's name is too long");
        memcpy(prefix, nm, k);
        prefix[k] = '\0';
    }
    if (script) /* its data.pkl pickles TorchScript classes (__torch__.…) */
        return wfail(w, SN_ERR_INVALID,
                     "a TorchScript archive (torch.jit.save), not a torch.save checkpoint: "
                     "save the weights with torch.save(model.state_dict(), f)");
    if (!found)
        return wfail(w, SN_ERR_INVALID, "a zip without <archive>/data.pkl: not a torch.save file");
    return 0;
}

/* Reads <archive>/byteorder (when present) and data.pkl into *pk / *root. */
static int load_pickle(walk *w, zip_t *za, const char *prefix, const char *path, size_t len,
                       sn_io_pickle **pk, const sn_io_pkv **root) {
    char name[512], nb[SN_SHOWN_NAME];
    uint8_t *b;
    size_t n;
    snprintf(name, sizeof name, "%s/byteorder", prefix);
    int r = zip_entry(w, za, name, &b, &n, len);
    if (r < 0)
        return -1;
    if (r == 0 && strcmp((char *)b, "little") != 0) {
        wfail(w, SN_ERR_UNSUPPORTED, "byte order '%s' (only little-endian files are read)",
              sn_escape((char *)b, nb, sizeof nb));
        free(b);
        return -1;
    }
    free(b);
    snprintf(name, sizeof name, "%s/data.pkl", prefix);
    if ((r = zip_entry(w, za, name, &b, &n, len)) != 0)
        return r < 0 ? -1 : wfail(w, SN_ERR_INVALID, "no %s", name);
    size_t wl = strlen(path) + strlen(name) + 3;
    char *what = malloc(wl);
    if (!what) {
        free(b);
        return wfail(w, SN_ERR_NOMEM, "out of memory");
    }
    snprintf(what, wl, "%s: %s", path, name);
    sn_status s = sn_io_pickle_load(b, n, what, pk, root, w->err, w->errlen);
    free(what);
    free(b);
    if (s != SN_OK)
        w->st = s;
    return s == SN_OK ? 0 : -1;
}

static int pt_zip(walk *w, const void *buf, size_t len, const char *path, pt_out *o,
                  sn_io_pt_meta *meta) {
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY, &ze) : NULL;
    if (!za) {
        wfail(w, SN_ERR_INVALID, "not a readable zip: %s", zip_error_strerror(&ze));
        zip_source_free(src);
        zip_error_fini(&ze);
        return -1;
    }
    zip_error_fini(&ze);
    sn_io_pickle *pk = NULL;
    const sn_io_pkv *root, *module, *sd;
    char prefix[256], pbuf[PT_MAX_NAME] = "";
    int rc = find_archive(w, za, prefix, sizeof prefix) ||
             load_pickle(w, za, prefix, path, len, &pk, &root) ||
             pick(w, root, &module, &sd, meta) ||
             (module ? walk_module(w, module, pbuf, 0, 0) || read_meta(w, module, meta)
                     : walk_state_dict(w, sd)) ||
             copy_out(w, za, prefix, len, o);
    sn_io_pickle_free(pk);
    zip_discard(za);
    return rc ? -1 : 0;
}

#else /* no libzip */

static int pt_zip(walk *w, const void *buf, size_t len, const char *path, pt_out *o,
                  sn_io_pt_meta *meta) {
    (void)buf, (void)len, (void)path, (void)o, (void)meta;
    (void)pick, (void)walk_module, (void)walk_state_dict, (void)read_meta, (void)gather;
    (void)cmp_job_storage, (void)weight_dtype, (void)ends_with;
    return wfail(w, SN_ERR_UNSUPPORTED,
                 "this Sinter was built without libzip (libzip-dev), so it cannot read .pt "
                 "files; convert with a Sinter that has it (sinter export W.pt --output "
                 "W.safetensors)");
}

#endif

/* The weights and metadata of a .pt buffer. Names unique (checked); entries in state_dict
 * order. */
static sn_status pt_load(const void *buf, size_t len, const char *path, pt_out *o,
                         sn_io_pt_meta *meta, char *err, size_t errlen) {
    char shown[SN_SHOWN], nb[SN_SHOWN_NAME];
    walk w = {sn_escape(path, shown, sizeof shown), err, errlen, SN_OK, NULL, 0, 0, 0};
    const uint8_t *b = buf;
    memset(o, 0, sizeof *o);
    memset(meta, 0, sizeof *meta);
    if (!is_zip(buf, len)) {
        if (is_legacy(buf, len) || (len >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5))
            wfail(&w, SN_ERR_UNSUPPORTED,
                  "a legacy (non-zip) torch.save file, written by torch < 1.6 or with "
                  "_use_new_zipfile_serialization=False: re-save it with a current torch "
                  "(torch.save(torch.load(f, weights_only=False), f))");
        else
            wfail(&w, SN_ERR_INVALID,
                  "not a .pt checkpoint (torch.save zip): it does not "
                  "start with PK\\x03\\x04");
        return w.st;
    }
    if (pt_zip(&w, buf, len, path, o, meta) == 0) {
        /* unique names */
        sn_io_entry *sorted = malloc((size_t)o->n * sizeof *sorted);
        if (!sorted) {
            wfail(&w, SN_ERR_NOMEM, "out of memory");
        } else {
            memcpy(sorted, o->e, (size_t)o->n * sizeof *sorted);
            qsort(sorted, (size_t)o->n, sizeof *sorted, cmp_entry);
            for (int i = 1; i < o->n && w.st == SN_OK; i++)
                if (strcmp(sorted[i - 1].name, sorted[i].name) == 0)
                    wfail(&w, SN_ERR_INVALID, "tensor '%s' appears twice",
                          sn_escape(sorted[i].name, nb, sizeof nb));
            free(sorted);
        }
    }
    for (int i = 0; i < w.n; i++)
        free(w.v[i].name);
    free(w.v);
    if (w.st != SN_OK) {
        out_free(o);
        sn_io_pt_meta_free(meta);
    }
    return w.st;
}

/* ---------------------------------------------------------------- API */

sn_status sn_io_pt_index(const void *buf, size_t len, const char *what, sn_io_index *out, char *err,
                         size_t errlen) {
    sn_io_pt_meta meta;
    pt_out o;
    memset(out, 0, sizeof *out);
    sn_status s = pt_load(buf, len, what, &o, &meta, err, errlen);
    if (s != SN_OK)
        return s;
    sn_io_pt_meta_free(&meta);
    qsort(o.e, (size_t)o.n, sizeof *o.e, cmp_entry);
    out->e = o.e;
    out->n = o.n;
    out->own = o.block;
    return SN_OK;
}

sn_status sn_io_pt_parse(const void *buf, size_t len, const char *name, sn_io_tensors *weights,
                         sn_io_pt_meta *meta, char *err, size_t errlen) {
    char shown[SN_SHOWN];
    sn_io_pt_meta mm;
    pt_out o;
    if (weights) {
        weights->t = NULL;
        weights->n = 0;
    }
    if (meta)
        memset(meta, 0, sizeof *meta);
    name = name ? name : "<memory>";
    sn_status s = pt_load(buf, len, name, &o, &mm, err, errlen);
    if (s != SN_OK)
        return s;
    if (weights) {
        sn_io_tensors ts = {calloc((size_t)o.n, sizeof(sn_io_tensor)), 0};
        if (!ts.t)
            s = SN_ERR_NOMEM;
        for (int i = 0; s == SN_OK && i < o.n; i++) {
            sn_io_tensor *t = &ts.t[ts.n];
            t->dtype = SN_DTYPE_F32;
            t->shape = o.e[i].shape;
            t->data = malloc((size_t)(o.e[i].numel ? o.e[i].numel : 1) * sizeof(float));
            if (!t->data) {
                s = SN_ERR_NOMEM;
                break;
            }
            sn_io_le_to_f32(o.e[i].dtype, o.e[i].data, t->data, o.e[i].numel);
            t->name = o.e[i].name; /* moved */
            o.e[i].name = NULL;
            ts.n++;
        }
        if (s != SN_OK) {
            sn_io_tensors_free(&ts);
            sn_errf(err, errlen, "%s: out of memory", sn_escape(name, shown, sizeof shown));
        } else {
            *weights = ts;
        }
    }
    out_free(&o);
    if (s == SN_OK && meta)
        *meta = mm;
    else
        sn_io_pt_meta_free(&mm);
    return s;
}

sn_status sn_io_pt_read(const char *path, sn_io_tensors *weights, sn_io_pt_meta *meta, char *err,
                        size_t errlen) {
    char *buf;
    size_t len;
    if (weights) {
        weights->t = NULL;
        weights->n = 0;
    }
    if (meta)
        memset(meta, 0, sizeof *meta);
    sn_status s = sn_read_file(path, &buf, &len, err, errlen);
    if (s != SN_OK)
        return s;
    s = sn_io_pt_parse(buf, len, path, weights, meta, err, errlen);
    free(buf);
    return s;
}
