/* io/pickle.c — a restricted unpickler: Python pickles as inert values, nothing executed.
 *
 * The machine is Python's own (Lib/pickle.py, _Unpickler): a stack, a stack of marks and a
 * memo, one opcode at a time. What differs is what an opcode may do:
 *  - GLOBAL / STACK_GLOBAL look the name up in allowed[] below, never in Python's modules; an
 *    unknown name stops the load with an error that names it ("os.system").
 *  - REDUCE, NEWOBJ and BUILD act only on allowed globals, each by its fixed meaning (see
 *    sn_io_pk_global): an OrderedDict becomes a DICT, _rebuild_tensor_v2 a validated TENSOR,
 *    a module class a record (OBJ) holding its arguments and later its __dict__.
 *  - BINPERSID accepts only torch's storage ids ('storage', type, key, location, numel).
 * Opcodes of protocols 2–5 that torch.save and Python's pickler write for dicts, lists,
 * tuples, sets, numbers, strings and bytes are read; the text opcodes of protocols 0–1 (INT,
 * STRING, PUT, GET, INST, OBJ, …), extensions and out-of-band buffers are refused by name.
 *
 * Hostile input: every length is checked against the bytes left before it is used; the
 * number of values is capped (PK_MAX_VALUES), so memory stays proportional to the input; the
 * loop never recurses, so nesting depth cannot exhaust the C stack; memo indices go through a
 * hash map, so a huge index costs nothing. Values live in blocks freed at once.
 */
#include "io/io_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    PK_MAX_VALUES = 1 << 22, /* about 40 times what a yolov8x training checkpoint needs */
    PK_MAX_NAME = 256,       /* a GLOBAL's module or name */
    PK_BLOCK = 1024,         /* values per arena block */
};

/* ---------------------------------------------------------------- the allow-list */

typedef struct allowed_global {
    const char *name; /* "module.name"; a name ending in '.' allows every class below it */
    sn_io_pk_global what;
    sn_io_pk_dtype dtype;
} allowed_global;

/* What Ultralytics checkpoints (8.x, trainer and stripped) and torch.save'd state_dicts and
 * modules use. Python 2-compatible pickles (protocol 2) spell builtins as __builtin__. */
static const allowed_global allowed[] = {
    {"collections.OrderedDict", SN_IO_PKG_DICT, 0},
    {"builtins.set", SN_IO_PKG_SET, 0},
    {"__builtin__.set", SN_IO_PKG_SET, 0},
    {"builtins.frozenset", SN_IO_PKG_SET, 0},
    {"__builtin__.frozenset", SN_IO_PKG_SET, 0},
    {"torch.Size", SN_IO_PKG_SIZE, 0},
    {"_codecs.encode", SN_IO_PKG_ENCODE, 0}, /* protocol 2's bytes: encode(str, 'latin1') */
    {"torch._utils._rebuild_tensor_v2", SN_IO_PKG_REBUILD_TENSOR, 0},
    {"torch._utils._rebuild_parameter", SN_IO_PKG_REBUILD_PARAM, 0},
    {"torch._utils._rebuild_parameter_with_state", SN_IO_PKG_REBUILD_PARAM, 0},
    {"torch.FloatStorage", SN_IO_PKG_STORAGE, SN_IO_PKD_F32},
    {"torch.HalfStorage", SN_IO_PKG_STORAGE, SN_IO_PKD_F16},
    {"torch.BFloat16Storage", SN_IO_PKG_STORAGE, SN_IO_PKD_BF16},
    {"torch.DoubleStorage", SN_IO_PKG_STORAGE, SN_IO_PKD_F64},
    {"torch.LongStorage", SN_IO_PKG_STORAGE, SN_IO_PKD_I64},
    {"torch.IntStorage", SN_IO_PKG_STORAGE, SN_IO_PKD_I32},
    {"torch.ShortStorage", SN_IO_PKG_STORAGE, SN_IO_PKD_I16},
    {"torch.CharStorage", SN_IO_PKG_STORAGE, SN_IO_PKD_I8},
    {"torch.ByteStorage", SN_IO_PKG_STORAGE, SN_IO_PKD_U8},
    {"torch.BoolStorage", SN_IO_PKG_STORAGE, SN_IO_PKD_BOOL},
    {"torch.UntypedStorage", SN_IO_PKG_STORAGE, SN_IO_PKD_U8},
    /* classes whose instances become records: modules (the model tree), the namespaces
     * Ultralytics keeps its arguments in, and torch.device (optimizer and loss state) */
    {"torch.nn.modules.", SN_IO_PKG_CLASS, 0},
    {"ultralytics.nn.modules.", SN_IO_PKG_CLASS, 0},
    {"ultralytics.nn.tasks.", SN_IO_PKG_CLASS, 0},
    {"ultralytics.utils.IterableSimpleNamespace", SN_IO_PKG_CLASS, 0},
    {"ultralytics.utils.loss.", SN_IO_PKG_CLASS, 0},
    {"ultralytics.utils.tal.", SN_IO_PKG_CLASS, 0},
    {"argparse.Namespace", SN_IO_PKG_CLASS, 0},
    {"types.SimpleNamespace", SN_IO_PKG_CLASS, 0},
    {"torch.device", SN_IO_PKG_CLASS, 0},
    {"datetime.datetime", SN_IO_PKG_CLASS, 0},
    {"datetime.date", SN_IO_PKG_CLASS, 0},
    {"datetime.timedelta", SN_IO_PKG_CLASS, 0},
    {"datetime.timezone", SN_IO_PKG_CLASS, 0},
    {"pathlib.PosixPath", SN_IO_PKG_CLASS, 0},
    {"pathlib.WindowsPath", SN_IO_PKG_CLASS, 0},
    /* numpy scalars and arrays in metrics of older Ultralytics versions: kept as inert records
     * (their bytes are never read) */
    {"numpy.core.multiarray.scalar", SN_IO_PKG_CLASS, 0},
    {"numpy._core.multiarray.scalar", SN_IO_PKG_CLASS, 0},
    {"numpy.core.multiarray._reconstruct", SN_IO_PKG_CLASS, 0},
    {"numpy._core.multiarray._reconstruct", SN_IO_PKG_CLASS, 0},
    {"numpy.dtype", SN_IO_PKG_CLASS, 0},
    {"numpy.ndarray", SN_IO_PKG_CLASS, 0},
};

static const allowed_global *find_allowed(const char *full) {
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        const char *a = allowed[i].name;
        size_t n = strlen(a);
        if (a[n - 1] == '.' ? strncmp(full, a, n) == 0 && full[n] != '\0' : strcmp(full, a) == 0)
            return &allowed[i];
    }
    return NULL;
}

static const struct {
    const char *name;
    size_t size;
} pk_dtypes[] = {
    [SN_IO_PKD_F32] = {"FloatStorage", 4},     [SN_IO_PKD_F16] = {"HalfStorage", 2},
    [SN_IO_PKD_BF16] = {"BFloat16Storage", 2}, [SN_IO_PKD_F64] = {"DoubleStorage", 8},
    [SN_IO_PKD_I64] = {"LongStorage", 8},      [SN_IO_PKD_I32] = {"IntStorage", 4},
    [SN_IO_PKD_I16] = {"ShortStorage", 2},     [SN_IO_PKD_I8] = {"CharStorage", 1},
    [SN_IO_PKD_U8] = {"ByteStorage", 1},       [SN_IO_PKD_BOOL] = {"BoolStorage", 1},
};

size_t sn_io_pk_dtype_size(sn_io_pk_dtype d) { return pk_dtypes[d].size; }
const char *sn_io_pk_dtype_name(sn_io_pk_dtype d) { return pk_dtypes[d].name; }

/* ---------------------------------------------------------------- values */

typedef struct pk_block {
    struct pk_block *next;
    int used;
    sn_io_pkv v[PK_BLOCK];
} pk_block;

struct sn_io_pickle {
    pk_block *blocks;
    int64_t nvalues;
};

static void value_release(sn_io_pkv *v) {
    switch (v->kind) {
    case SN_IO_PK_STR:
    case SN_IO_PK_BYTES:
        free(v->u.s.p);
        break;
    case SN_IO_PK_TUPLE:
    case SN_IO_PK_LIST:
    case SN_IO_PK_DICT:
    case SN_IO_PK_SET:
        free(v->u.c.v);
        break;
    case SN_IO_PK_GLOBAL:
        free(v->u.g.name);
        break;
    case SN_IO_PK_STORAGE:
        free(v->u.st.key);
        break;
    case SN_IO_PK_TENSOR:
        free(v->u.t);
        break;
    default:
        break;
    }
}

void sn_io_pickle_free(sn_io_pickle *p) {
    if (!p)
        return;
    for (pk_block *b = p->blocks, *next; b; b = next) {
        next = b->next;
        for (int i = 0; i < b->used; i++)
            value_release(&b->v[i]);
        free(b);
    }
    free(p);
}

const sn_io_pkv *sn_io_pk_get(const sn_io_pkv *d, const char *key) {
    if (!d || d->kind != SN_IO_PK_DICT)
        return NULL;
    size_t kn = strlen(key);
    for (uint32_t i = d->u.c.n; i >= 2; i -= 2) {
        const sn_io_pkv *k = d->u.c.v[i - 2];
        if (k->kind == SN_IO_PK_STR && k->u.s.n == kn && memcmp(k->u.s.p, key, kn) == 0)
            return d->u.c.v[i - 1];
    }
    return NULL;
}

const sn_io_pkv *sn_io_pk_state(const sn_io_pkv *o) {
    if (!o || o->kind != SN_IO_PK_OBJ || !o->u.o.state || o->u.o.state->kind != SN_IO_PK_DICT)
        return NULL;
    return o->u.o.state;
}

/* ---------------------------------------------------------------- the machine */

typedef struct memo_slot {
    uint32_t key;
    int used;
    sn_io_pkv *v;
} memo_slot;

typedef struct pk {
    const uint8_t *b;
    size_t n, i;      /* the pickle and the read position */
    size_t op_at;     /* where the current opcode starts (for messages) */
    const char *what; /* escaped */
    char *err;
    size_t errlen;
    sn_status st; /* the first error; SN_OK while all is well */
    sn_io_pickle *arena;
    sn_io_pkv **stack;
    size_t sp, scap;
    size_t *marks;
    size_t mp, mcap;
    memo_slot *memo;
    uint32_t mcount, mslots; /* entries and slots (a power of two) */
} pk;

static int fail(pk *p, sn_status st, const char *fmt, ...) SN_PRINTF(3, 4);
static int fail(pk *p, sn_status st, const char *fmt, ...) {
    if (p->st != SN_OK)
        return -1;
    p->st = st;
    if (p->err && p->errlen) {
        int k = snprintf(p->err, p->errlen, "%s: pickle byte %zu: ", p->what, p->op_at);
        if (k >= 0 && (size_t)k < p->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->err + k, p->errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

static int oom(pk *p) { return fail(p, SN_ERR_NOMEM, "out of memory"); }

static sn_io_pkv *new_value(pk *p, sn_io_pk_kind kind) {
    sn_io_pickle *a = p->arena;
    if (a->nvalues >= PK_MAX_VALUES) {
        fail(p, SN_ERR_INVALID, "more than %d values: refusing to go on", PK_MAX_VALUES);
        return NULL;
    }
    if (!a->blocks || a->blocks->used == PK_BLOCK) {
        pk_block *b = malloc(sizeof *b);
        if (!b) {
            oom(p);
            return NULL;
        }
        b->next = a->blocks;
        b->used = 0;
        a->blocks = b;
    }
    sn_io_pkv *v = &a->blocks->v[a->blocks->used++];
    memset(v, 0, sizeof *v);
    v->kind = kind;
    a->nvalues++;
    return v;
}

static int push(pk *p, sn_io_pkv *v) {
    if (!v)
        return -1;
    if (p->sp == p->scap) {
        size_t cap = p->scap ? 2 * p->scap : 64;
        sn_io_pkv **s = realloc(p->stack, cap * sizeof *s);
        if (!s)
            return oom(p);
        p->stack = s;
        p->scap = cap;
    }
    p->stack[p->sp++] = v;
    return 0;
}

/* The bottom of the current frame: the last mark, or 0. */
static size_t frame_base(const pk *p) { return p->mp ? p->marks[p->mp - 1] : 0; }

static sn_io_pkv *pop(pk *p) {
    if (p->sp <= frame_base(p)) {
        fail(p, SN_ERR_INVALID, "stack underflow");
        return NULL;
    }
    return p->stack[--p->sp];
}

static sn_io_pkv *top(pk *p) {
    if (p->sp <= frame_base(p)) {
        fail(p, SN_ERR_INVALID, "stack underflow");
        return NULL;
    }
    return p->stack[p->sp - 1];
}

/* Pops the last mark: the items above it are stack[*base .. sp). */
static int pop_mark(pk *p, size_t *base) {
    if (!p->mp)
        return fail(p, SN_ERR_INVALID, "no MARK on the stack");
    *base = p->marks[--p->mp];
    return 0;
}

static int container_add(pk *p, sn_io_pkv *c, sn_io_pkv *item) {
    if (c->u.c.n == c->u.c.cap) {
        uint32_t cap = c->u.c.cap ? 2 * c->u.c.cap : 4;
        sn_io_pkv **v = realloc(c->u.c.v, (size_t)cap * sizeof *v);
        if (!v)
            return oom(p);
        c->u.c.v = v;
        c->u.c.cap = cap;
    }
    c->u.c.v[c->u.c.n++] = item;
    return 0;
}

/* A container of kind k holding items[0..n). */
static sn_io_pkv *new_container(pk *p, sn_io_pk_kind k, sn_io_pkv *const *items, size_t n) {
    sn_io_pkv *v = new_value(p, k);
    if (!v)
        return NULL;
    if (n) {
        v->u.c.v = malloc(n * sizeof *v->u.c.v);
        if (!v->u.c.v) {
            oom(p);
            return NULL;
        }
        memcpy(v->u.c.v, items, n * sizeof *items);
        v->u.c.n = v->u.c.cap = (uint32_t)n;
    }
    return v;
}

static sn_io_pkv *new_bytes(pk *p, sn_io_pk_kind k, const uint8_t *s, size_t n) {
    sn_io_pkv *v = new_value(p, k);
    if (!v)
        return NULL;
    v->u.s.p = malloc(n + 1);
    if (!v->u.s.p) {
        oom(p);
        return NULL;
    }
    memcpy(v->u.s.p, s, n);
    v->u.s.p[n] = '\0';
    v->u.s.n = n;
    return v;
}

static sn_io_pkv *new_int(pk *p, int64_t i) {
    sn_io_pkv *v = new_value(p, SN_IO_PK_INT);
    if (v)
        v->u.i = i;
    return v;
}

/* ---- reading bytes */

static const uint8_t *take(pk *p, uint64_t n) {
    if (n > p->n - p->i) {
        fail(p, SN_ERR_INVALID, "truncated: the opcode needs %llu bytes, %zu are left",
             (unsigned long long)n, p->n - p->i);
        return NULL;
    }
    const uint8_t *r = p->b + p->i;
    p->i += (size_t)n;
    return r;
}

static int rd_le(pk *p, int nbytes, uint64_t *v) {
    const uint8_t *b = take(p, (uint64_t)nbytes);
    if (!b)
        return -1;
    *v = 0;
    for (int k = nbytes - 1; k >= 0; k--)
        *v = (*v << 8) | b[k];
    return 0;
}

/* A line ending in '\n' (GLOBAL's operands): printable ASCII, at most PK_MAX_NAME bytes. */
static int rd_line(pk *p, char *out) {
    size_t k = 0;
    for (;;) {
        if (p->i >= p->n)
            return fail(p, SN_ERR_INVALID, "truncated GLOBAL name");
        uint8_t c = p->b[p->i++];
        if (c == '\n')
            break;
        if (c < 0x20 || c > 0x7e || k + 1 >= PK_MAX_NAME)
            return fail(p, SN_ERR_INVALID, "GLOBAL name is not a short printable line");
        out[k++] = (char)c;
    }
    out[k] = '\0';
    return 0;
}

/* ---- memo */

static uint32_t memo_hash(uint32_t k) { return (k * 2654435761u) ^ (k >> 16); }

static memo_slot *memo_find(pk *p, uint32_t key) {
    if (!p->mslots)
        return NULL;
    for (uint32_t h = memo_hash(key) & (p->mslots - 1);; h = (h + 1) & (p->mslots - 1)) {
        if (!p->memo[h].used)
            return &p->memo[h];
        if (p->memo[h].key == key)
            return &p->memo[h];
    }
}

static int memo_put(pk *p, uint32_t key, sn_io_pkv *v) {
    if (2 * (p->mcount + 1) > p->mslots) {
        uint32_t ns = p->mslots ? 2 * p->mslots : 256;
        memo_slot *old = p->memo, *nm = calloc(ns, sizeof *nm);
        uint32_t os = p->mslots;
        if (!nm)
            return oom(p);
        p->memo = nm;
        p->mslots = ns;
        for (uint32_t i = 0; i < os; i++)
            if (old[i].used)
                *memo_find(p, old[i].key) = old[i];
        free(old);
    }
    memo_slot *s = memo_find(p, key);
    if (!s->used) {
        s->used = 1;
        s->key = key;
        p->mcount++;
    }
    s->v = v;
    return 0;
}

static int memo_get(pk *p, uint64_t key) {
    memo_slot *s = key <= UINT32_MAX ? memo_find(p, (uint32_t)key) : NULL;
    if (!s || !s->used)
        return fail(p, SN_ERR_INVALID, "memo entry %llu was never stored", (unsigned long long)key);
    return push(p, s->v);
}

/* ---- globals and their calls */

static int op_global(pk *p, const char *module, const char *name) {
    char full[2 * PK_MAX_NAME + 2], shown[SN_SHOWN];
    snprintf(full, sizeof full, "%s.%s", module, name);
    const allowed_global *a = find_allowed(full);
    if (!a)
        return fail(p, SN_ERR_INVALID,
                    "refusing the global '%s': not on Sinter's allow-list (Sinter reads "
                    "tensors, modules and plain data from Ultralytics checkpoints and executes "
                    "no code)",
                    sn_escape(full, shown, sizeof shown));
    sn_io_pkv *v = new_value(p, SN_IO_PK_GLOBAL);
    if (!v)
        return -1;
    v->u.g.what = a->what;
    v->u.g.dtype = a->dtype;
    if (!(v->u.g.name = strdup(full)))
        return oom(p);
    return push(p, v);
}

static int is_int(const sn_io_pkv *v) { return v->kind == SN_IO_PK_INT; }

/* a tuple of non-negative ints into out[0..*n) */
static int int_tuple(pk *p, const sn_io_pkv *t, int64_t *out, int *n, const char *what) {
    if (t->kind != SN_IO_PK_TUPLE)
        return fail(p, SN_ERR_INVALID, "_rebuild_tensor_v2: %s is not a tuple", what);
    if (t->u.c.n > SN_IO_PK_MAX_NDIM)
        return fail(p, SN_ERR_INVALID, "_rebuild_tensor_v2: %s has %u dimensions (at most %d)",
                    what, t->u.c.n, SN_IO_PK_MAX_NDIM);
    for (uint32_t k = 0; k < t->u.c.n; k++) {
        if (!is_int(t->u.c.v[k]) || t->u.c.v[k]->u.i < 0)
            return fail(p, SN_ERR_INVALID, "_rebuild_tensor_v2: %s[%u] is not an int >= 0", what,
                        k);
        out[k] = t->u.c.v[k]->u.i;
    }
    *n = (int)t->u.c.n;
    return 0;
}

/* _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks
 * [, metadata]): the view is checked against the storage so that readers can trust it. */
static sn_io_pkv *rebuild_tensor(pk *p, const sn_io_pkv *args) {
    if (args->u.c.n < 4) {
        fail(p, SN_ERR_INVALID, "_rebuild_tensor_v2 needs at least 4 arguments, got %u",
             args->u.c.n);
        return NULL;
    }
    const sn_io_pkv *const *a = (const sn_io_pkv *const *)args->u.c.v;
    if (a[0]->kind != SN_IO_PK_STORAGE || !is_int(a[1]) || a[1]->u.i < 0) {
        fail(p, SN_ERR_INVALID, "_rebuild_tensor_v2: expected (storage, offset >= 0, …)");
        return NULL;
    }
    sn_io_pk_tensor *t = calloc(1, sizeof *t);
    sn_io_pkv *v = t ? new_value(p, SN_IO_PK_TENSOR) : NULL;
    if (!v) {
        if (!t)
            oom(p);
        free(t);
        return NULL;
    }
    v->u.t = t;
    t->storage = a[0];
    t->offset = a[1]->u.i;
    int ns;
    if (int_tuple(p, a[2], t->size, &t->ndim, "size") ||
        int_tuple(p, a[3], t->stride, &ns, "stride"))
        return NULL;
    if (ns != t->ndim) {
        fail(p, SN_ERR_INVALID, "_rebuild_tensor_v2: %d sizes but %d strides", t->ndim, ns);
        return NULL;
    }
    /* numel and the last element's index, with 8 bytes per element still fitting */
    const uint64_t lim = (uint64_t)INT64_MAX / 8;
    if ((uint64_t)t->offset > lim) {
        fail(p, SN_ERR_INVALID, "_rebuild_tensor_v2: storage offset out of range");
        return NULL;
    }
    uint64_t numel = 1, last = (uint64_t)t->offset;
    int empty = 0;
    for (int d = 0; d < t->ndim; d++)
        empty |= t->size[d] == 0;
    for (int d = 0; d < t->ndim && !empty; d++) {
        uint64_t sz = (uint64_t)t->size[d], sd = (uint64_t)t->stride[d];
        if (numel > lim / sz || (sz - 1 && sd > (lim - last) / (sz - 1))) {
            fail(p, SN_ERR_INVALID, "_rebuild_tensor_v2: the tensor's extent overflows");
            return NULL;
        }
        numel *= sz;
        last += (sz - 1) * sd;
    }
    if (!empty && last >= (uint64_t)a[0]->u.st.numel) {
        fail(p, SN_ERR_INVALID,
             "_rebuild_tensor_v2: the view reaches element %llu of storage '%s', which has "
             "%lld",
             (unsigned long long)last, a[0]->u.st.key, (long long)a[0]->u.st.numel);
        return NULL;
    }
    return v;
}

/* _codecs.encode(text, 'latin1'): how protocol 2 pickles bytes. Each code point < 256 is
 * one byte. */
static sn_io_pkv *encode_latin1(pk *p, const sn_io_pkv *args) {
    const sn_io_pkv *t = args->u.c.n == 2 ? args->u.c.v[0] : NULL;
    const sn_io_pkv *enc = args->u.c.n == 2 ? args->u.c.v[1] : NULL;
    if (!t || t->kind != SN_IO_PK_STR || enc->kind != SN_IO_PK_STR ||
        (strcmp(enc->u.s.p, "latin1") != 0 && strcmp(enc->u.s.p, "latin-1") != 0)) {
        fail(p, SN_ERR_INVALID, "_codecs.encode: expected (str, 'latin1')");
        return NULL;
    }
    sn_io_pkv *v = new_bytes(p, SN_IO_PK_BYTES, (const uint8_t *)t->u.s.p, t->u.s.n);
    if (!v)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < t->u.s.n;) {
        uint32_t cp;
        size_t k = sn_utf8_decode((const uint8_t *)t->u.s.p + i, t->u.s.n - i, &cp);
        if (!k || cp > 255) {
            fail(p, SN_ERR_INVALID, "_codecs.encode: text that is not latin-1");
            return NULL;
        }
        v->u.s.p[o++] = (char)cp;
        i += k;
    }
    v->u.s.p[o] = '\0';
    v->u.s.n = o;
    return v;
}

static int op_reduce(pk *p) {
    sn_io_pkv *args = pop(p), *fn = args ? pop(p) : NULL;
    if (!fn)
        return -1;
    if (args->kind != SN_IO_PK_TUPLE)
        return fail(p, SN_ERR_INVALID, "REDUCE: the arguments are not a tuple");
    if (fn->kind != SN_IO_PK_GLOBAL)
        return fail(p, SN_ERR_INVALID, "REDUCE: calling something that is not a global");
    sn_io_pkv *const *a = args->u.c.v;
    uint32_t na = args->u.c.n;
    sn_io_pkv *r = NULL;
    switch (fn->u.g.what) {
    case SN_IO_PKG_DICT: /* OrderedDict() or OrderedDict([(k, v), …]) */
        if (!(r = new_value(p, SN_IO_PK_DICT)))
            return -1;
        if (na == 1 && a[0]->kind == SN_IO_PK_LIST) {
            for (uint32_t k = 0; k < a[0]->u.c.n; k++) {
                sn_io_pkv *kv = a[0]->u.c.v[k];
                if (kv->kind != SN_IO_PK_TUPLE || kv->u.c.n != 2)
                    return fail(p, SN_ERR_INVALID, "OrderedDict: an item is not a pair");
                if (container_add(p, r, kv->u.c.v[0]) || container_add(p, r, kv->u.c.v[1]))
                    return -1;
            }
        } else if (na != 0) {
            return fail(p, SN_ERR_INVALID, "OrderedDict: unexpected arguments");
        }
        break;
    case SN_IO_PKG_SET:
        if (na == 0)
            r = new_value(p, SN_IO_PK_SET);
        else if (na == 1 && (a[0]->kind == SN_IO_PK_LIST || a[0]->kind == SN_IO_PK_TUPLE))
            r = new_container(p, SN_IO_PK_SET, a[0]->u.c.v, a[0]->u.c.n);
        else
            return fail(p, SN_ERR_INVALID, "%s: expected a list", fn->u.g.name);
        break;
    case SN_IO_PKG_SIZE:
        if (na != 1 || a[0]->kind != SN_IO_PK_TUPLE)
            return fail(p, SN_ERR_INVALID, "torch.Size: expected a tuple");
        r = a[0];
        break;
    case SN_IO_PKG_REBUILD_TENSOR:
        r = rebuild_tensor(p, args);
        break;
    case SN_IO_PKG_ENCODE:
        r = encode_latin1(p, args);
        break;
    case SN_IO_PKG_REBUILD_PARAM:
        if (na < 1 || a[0]->kind != SN_IO_PK_TENSOR)
            return fail(p, SN_ERR_INVALID, "%s: expected a tensor", fn->u.g.name);
        r = a[0];
        break;
    case SN_IO_PKG_CLASS: /* torch.device('cpu'), datetime(…): a record of its arguments */
        if ((r = new_value(p, SN_IO_PK_OBJ))) {
            r->u.o.cls = fn;
            r->u.o.args = args;
        }
        break;
    case SN_IO_PKG_STORAGE:
        return fail(p, SN_ERR_INVALID, "REDUCE: %s is not called in torch checkpoints",
                    fn->u.g.name);
    }
    return push(p, r);
}

static int op_newobj(pk *p, int ex) {
    sn_io_pkv *kw = ex ? pop(p) : NULL;
    if (ex && !kw)
        return -1;
    sn_io_pkv *args = pop(p), *cls = args ? pop(p) : NULL;
    if (!cls)
        return -1;
    if (cls->kind != SN_IO_PK_GLOBAL || args->kind != SN_IO_PK_TUPLE)
        return fail(p, SN_ERR_INVALID, "NEWOBJ: expected a class and a tuple");
    if (cls->u.g.what == SN_IO_PKG_DICT) /* OrderedDict.__new__ */
        return push(p, new_value(p, SN_IO_PK_DICT));
    if (cls->u.g.what != SN_IO_PKG_CLASS)
        return fail(p, SN_ERR_INVALID, "NEWOBJ: %s is not a class", cls->u.g.name);
    sn_io_pkv *r = new_value(p, SN_IO_PK_OBJ);
    if (!r)
        return -1;
    r->u.o.cls = cls;
    r->u.o.args = args;
    return push(p, r);
}

/* BUILD: obj.__setstate__(state). A record keeps the state's dict part (state may be
 * (dict, slots)); anything else (an OrderedDict's __dict__, a tensor's) is dropped. */
static int op_build(pk *p) {
    sn_io_pkv *state = pop(p), *obj = state ? top(p) : NULL;
    if (!obj)
        return -1;
    if (obj->kind != SN_IO_PK_OBJ)
        return 0;
    if (state->kind == SN_IO_PK_TUPLE && state->u.c.n == 2)
        state = state->u.c.v[0]->kind == SN_IO_PK_NONE ? state->u.c.v[1] : state->u.c.v[0];
    obj->u.o.state = state;
    return 0;
}

/* BINPERSID: ('storage', storage type, key, location, numel) — torch's persistent ids. */
static int op_persid(pk *p) {
    sn_io_pkv *id = pop(p);
    if (!id)
        return -1;
    if (id->kind != SN_IO_PK_TUPLE || id->u.c.n != 5 || id->u.c.v[0]->kind != SN_IO_PK_STR ||
        strcmp(id->u.c.v[0]->u.s.p, "storage") != 0)
        return fail(p, SN_ERR_INVALID, "a persistent id that is not ('storage', …)");
    sn_io_pkv *const *a = id->u.c.v;
    if (a[1]->kind != SN_IO_PK_GLOBAL || a[1]->u.g.what != SN_IO_PKG_STORAGE)
        return fail(p, SN_ERR_INVALID, "storage: the type is not a torch storage type");
    if (a[2]->kind != SN_IO_PK_STR || a[2]->u.s.n == 0 || a[2]->u.s.n > 64 ||
        strlen(a[2]->u.s.p) != a[2]->u.s.n || strchr(a[2]->u.s.p, '/'))
        return fail(p, SN_ERR_INVALID, "storage: the key is not a short name");
    if (!is_int(a[4]) || a[4]->u.i < 0 || a[4]->u.i > INT64_MAX / 8)
        return fail(p, SN_ERR_INVALID, "storage '%s': bad element count", a[2]->u.s.p);
    sn_io_pkv *v = new_value(p, SN_IO_PK_STORAGE);
    if (!v)
        return -1;
    v->u.st.dtype = a[1]->u.g.dtype;
    v->u.st.numel = a[4]->u.i;
    if (!(v->u.st.key = strdup(a[2]->u.s.p)))
        return oom(p);
    return push(p, v);
}

/* ---- the loop */

/* Opcodes by byte. Text and extension opcodes are named in the refusal. */
static const char *refused_name(uint8_t op) {
    switch (op) {
    case 'I':
        return "INT";
    case 'L':
        return "LONG";
    case 'F':
        return "FLOAT";
    case 'S':
        return "STRING";
    case 'V':
        return "UNICODE";
    case 'P':
        return "PERSID";
    case 'p':
        return "PUT";
    case 'g':
        return "GET";
    case 'i':
        return "INST";
    case 'o':
        return "OBJ";
    case 0x82:
        return "EXT1";
    case 0x83:
        return "EXT2";
    case 0x84:
        return "EXT4";
    case 0x96:
        return "BYTEARRAY8";
    case 0x97:
        return "NEXT_BUFFER";
    case 0x98:
        return "READONLY_BUFFER";
    default:
        return NULL;
    }
}

static int step(pk *p, int *done) {
    p->op_at = p->i;
    const uint8_t *opb = take(p, 1);
    if (!opb)
        return -1;
    uint8_t op = *opb;
    uint64_t u, u2;
    const uint8_t *b;
    sn_io_pkv *v, *w;
    size_t base = 0;
    switch (op) {
    case 0x80: /* PROTO */
        if (!(b = take(p, 1)))
            return -1;
        if (*b < 2 || *b > 5)
            return fail(p, SN_ERR_INVALID, "pickle protocol %u (2 to 5 are read)", *b);
        return 0;
    case 0x95: /* FRAME: a length hint */
        if (rd_le(p, 8, &u))
            return -1;
        if (u > p->n - p->i)
            return fail(p, SN_ERR_INVALID, "FRAME of %llu bytes, %zu left", (unsigned long long)u,
                        p->n - p->i);
        return 0;
    case '.': /* STOP */
        *done = 1;
        return 0;
    case '(': /* MARK */
        if (p->mp == p->mcap) {
            size_t cap = p->mcap ? 2 * p->mcap : 32;
            size_t *m = realloc(p->marks, cap * sizeof *m);
            if (!m)
                return oom(p);
            p->marks = m;
            p->mcap = cap;
        }
        p->marks[p->mp++] = p->sp;
        return 0;
    case '0': /* POP */
        if (p->sp > frame_base(p))
            p->sp--;
        else if (p->mp) /* Python pops a mark when the frame is empty */
            p->mp--;
        else
            return fail(p, SN_ERR_INVALID, "POP on an empty stack");
        return 0;
    case '1': /* POP_MARK */
        if (pop_mark(p, &base))
            return -1;
        p->sp = base;
        return 0;
    case '2': /* DUP */
        return (v = top(p)) ? push(p, v) : -1;
    case 'N':
        return push(p, new_value(p, SN_IO_PK_NONE));
    case 0x88: /* NEWTRUE */
    case 0x89: /* NEWFALSE */
        if ((v = new_value(p, SN_IO_PK_BOOL)))
            v->u.i = op == 0x88;
        return push(p, v);
    case 'J': /* BININT: signed 4 bytes */
        if (rd_le(p, 4, &u))
            return -1;
        return push(p, new_int(p, (int64_t)(int32_t)(uint32_t)u));
    case 'K': /* BININT1 */
        if (rd_le(p, 1, &u))
            return -1;
        return push(p, new_int(p, (int64_t)u));
    case 'M': /* BININT2 */
        if (rd_le(p, 2, &u))
            return -1;
        return push(p, new_int(p, (int64_t)u));
    case 0x8a: /* LONG1: n bytes, two's complement little-endian */
    case 0x8b: /* LONG4 */
        if (rd_le(p, op == 0x8a ? 1 : 4, &u))
            return -1;
        if (u > (uint64_t)(p->n - p->i))
            return fail(p, SN_ERR_INVALID, "LONG of %llu bytes, %zu left", (unsigned long long)u,
                        p->n - p->i);
        if (u > 8) {
            take(p, u);
            return push(p, new_value(p, SN_IO_PK_BIGINT));
        }
        if (u == 0)
            return push(p, new_int(p, 0));
        if (rd_le(p, (int)u, &u2))
            return -1;
        if (u < 8 && (u2 >> (8 * u - 1)) & 1) /* sign-extend */
            u2 |= ~(uint64_t)0 << (8 * u);
        return push(p, new_int(p, (int64_t)u2));
    case 'G': /* BINFLOAT: big-endian double */
        if (!(b = take(p, 8)))
            return -1;
        u = 0;
        for (int k = 0; k < 8; k++)
            u = (u << 8) | b[k];
        if ((v = new_value(p, SN_IO_PK_FLOAT)))
            memcpy(&v->u.f, &u, 8);
        return push(p, v);
    case 'X':  /* BINUNICODE */
    case 0x8c: /* SHORT_BINUNICODE */
    case 0x8d: /* BINUNICODE8 */
    case 'T':  /* BINSTRING (Python 2 str) */
    case 'U':  /* SHORT_BINSTRING */
    case 'B':  /* BINBYTES */
    case 'C':  /* SHORT_BINBYTES */
    case 0x8e: /* BINBYTES8 */
        if (rd_le(p,
                  op == 0x8c || op == 'U' || op == 'C' ? 1
                  : op == 0x8d || op == 0x8e           ? 8
                                                       : 4,
                  &u))
            return -1;
        if (!(b = take(p, u)))
            return -1;
        return push(
            p, new_bytes(p, op == 'B' || op == 'C' || op == 0x8e ? SN_IO_PK_BYTES : SN_IO_PK_STR, b,
                         (size_t)u));
    case '}': /* EMPTY_DICT */
        return push(p, new_value(p, SN_IO_PK_DICT));
    case ']': /* EMPTY_LIST */
        return push(p, new_value(p, SN_IO_PK_LIST));
    case ')': /* EMPTY_TUPLE */
        return push(p, new_value(p, SN_IO_PK_TUPLE));
    case 0x8f: /* EMPTY_SET */
        return push(p, new_value(p, SN_IO_PK_SET));
    case 0x85: /* TUPLE1 */
    case 0x86: /* TUPLE2 */
    case 0x87: /* TUPLE3 */
        u = op - 0x84u;
        if (p->sp - frame_base(p) < u)
            return fail(p, SN_ERR_INVALID, "stack underflow");
        p->sp -= u;
        return push(p, new_container(p, SN_IO_PK_TUPLE, p->stack + p->sp, u));
    case 't':  /* TUPLE */
    case 'l':  /* LIST */
    case 0x91: /* FROZENSET */
        if (pop_mark(p, &base))
            return -1;
        v = new_container(p,
                          op == 't'   ? SN_IO_PK_TUPLE
                          : op == 'l' ? SN_IO_PK_LIST
                                      : SN_IO_PK_SET,
                          p->stack + base, p->sp - base);
        p->sp = base;
        return push(p, v);
    case 'd': /* DICT */
        if (pop_mark(p, &base))
            return -1;
        if ((p->sp - base) % 2)
            return fail(p, SN_ERR_INVALID, "DICT with an odd number of items");
        v = new_container(p, SN_IO_PK_DICT, p->stack + base, p->sp - base);
        p->sp = base;
        return push(p, v);
    case 's': /* SETITEM */
        if (!(w = pop(p)) || !(v = pop(p)) || !top(p))
            return -1;
        if (top(p)->kind != SN_IO_PK_DICT)
            return fail(p, SN_ERR_INVALID, "SETITEM on something that is not a dict");
        return container_add(p, top(p), v) || container_add(p, top(p), w) ? -1 : 0;
    case 'u':  /* SETITEMS */
    case 'e':  /* APPENDS */
    case 0x90: /* ADDITEMS */
        if (pop_mark(p, &base))
            return -1;
        if (base == 0 || base <= frame_base(p))
            return fail(p, SN_ERR_INVALID, "%s without a target",
                        op == 'u'   ? "SETITEMS"
                        : op == 'e' ? "APPENDS"
                                    : "ADDITEMS");
        v = p->stack[base - 1];
        if (v->kind != (op == 'u' ? SN_IO_PK_DICT : op == 'e' ? SN_IO_PK_LIST : SN_IO_PK_SET))
            return fail(p, SN_ERR_INVALID, "%s on a value of the wrong kind",
                        op == 'u'   ? "SETITEMS"
                        : op == 'e' ? "APPENDS"
                                    : "ADDITEMS");
        if (op == 'u' && (p->sp - base) % 2)
            return fail(p, SN_ERR_INVALID, "SETITEMS with an odd number of items");
        for (size_t k = base; k < p->sp; k++)
            if (container_add(p, v, p->stack[k]))
                return -1;
        p->sp = base;
        return 0;
    case 'a': /* APPEND */
        if (!(w = pop(p)) || !(v = top(p)))
            return -1;
        if (v->kind != SN_IO_PK_LIST)
            return fail(p, SN_ERR_INVALID, "APPEND on something that is not a list");
        return container_add(p, v, w);
    case 'c': { /* GLOBAL module\nname\n */
        char module[PK_MAX_NAME], name[PK_MAX_NAME];
        if (rd_line(p, module) || rd_line(p, name))
            return -1;
        return op_global(p, module, name);
    }
    case 0x93: /* STACK_GLOBAL */
        if (!(w = pop(p)) || !(v = pop(p)))
            return -1;
        if (v->kind != SN_IO_PK_STR || w->kind != SN_IO_PK_STR || v->u.s.n >= PK_MAX_NAME ||
            w->u.s.n >= PK_MAX_NAME || strlen(v->u.s.p) != v->u.s.n || strlen(w->u.s.p) != w->u.s.n)
            return fail(p, SN_ERR_INVALID, "STACK_GLOBAL: module and name must be short strings");
        return op_global(p, v->u.s.p, w->u.s.p);
    case 'R':
        return op_reduce(p);
    case 0x81: /* NEWOBJ */
    case 0x92: /* NEWOBJ_EX */
        return op_newobj(p, op == 0x92);
    case 'b':
        return op_build(p);
    case 'Q': /* BINPERSID */
        return op_persid(p);
    case 'q': /* BINPUT */
    case 'r': /* LONG_BINPUT */
        if (rd_le(p, op == 'q' ? 1 : 4, &u) || !(v = top(p)))
            return -1;
        return memo_put(p, (uint32_t)u, v);
    case 0x94: /* MEMOIZE */
        if (!(v = top(p)))
            return -1;
        return memo_put(p, p->mcount, v);
    case 'h': /* BINGET */
    case 'j': /* LONG_BINGET */
        if (rd_le(p, op == 'h' ? 1 : 4, &u))
            return -1;
        return memo_get(p, u);
    default:
        if (refused_name(op))
            return fail(p, SN_ERR_INVALID,
                        "opcode %s (0x%02x) is not read (a text-protocol or extension opcode "
                        "torch.save does not write)",
                        refused_name(op), op);
        return fail(p, SN_ERR_INVALID, "unknown opcode 0x%02x", op);
    }
}

sn_status sn_io_pickle_load(const void *buf, size_t len, const char *what, sn_io_pickle **out,
                            const sn_io_pkv **root, char *err, size_t errlen) {
    char shown[SN_SHOWN];
    pk p = {0};
    p.b = buf;
    p.n = len;
    p.what = sn_escape(what ? what : "<memory>", shown, sizeof shown);
    p.err = err;
    p.errlen = errlen;
    p.st = SN_OK;
    *out = NULL;
    *root = NULL;
    p.scap = 64; /* never NULL: frames address p.stack + base even when empty */
    p.arena = calloc(1, sizeof *p.arena);
    p.stack = malloc(p.scap * sizeof *p.stack);
    if (!p.arena || !p.stack) {
        free(p.arena);
        free(p.stack);
        return sn_fail(err, errlen, SN_ERR_NOMEM, "%s: out of memory", p.what);
    }
    int done = 0;
    while (!done && p.st == SN_OK)
        step(&p, &done);
    if (p.st == SN_OK && (p.sp != 1 || p.mp != 0)) {
        p.op_at = p.i - 1;
        fail(&p, SN_ERR_INVALID, "STOP with %zu values and %zu marks on the stack (1 and 0)", p.sp,
             p.mp);
    }
    if (p.st == SN_OK) {
        *root = p.stack[0];
        *out = p.arena;
    } else {
        sn_io_pickle_free(p.arena);
    }
    free(p.stack);
    free(p.marks);
    free(p.memo);
    return p.st;
}
