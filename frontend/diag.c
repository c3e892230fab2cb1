/* frontend/diag.c — the model language's support code: the load arena, string interning,
 * source files and diagnostics.
 *
 * Diagnostics follow chibicc: "path:line:col: error: message", then the source line, then a
 * caret under the column (tabs in the line are repeated in the caret's indent, so the caret
 * lines up in any tab width). At most LANG_MAX_ERRORS errors are printed; the next one prints
 * "too many errors" once and the rest are dropped (callers stop at sn_lang_too_many).
 */
#include "frontend/lang_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- arena */

struct LArenaBlock {
    LArenaBlock *next;
    size_t used, cap;
    _Alignas(16) unsigned char mem[];
};

void *sn_lang_alloc(LArena *A, size_t n) {
    if (A->failed)
        return NULL;
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    LArenaBlock *b = A->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ((size_t)64 << 10) ? n : ((size_t)64 << 10);
        if (A->total + cap > LANG_MAX_ARENA) {
            A->failed = true;
            return NULL;
        }
        b = malloc(sizeof *b + cap);
        if (!b) {
            A->failed = true;
            return NULL;
        }
        b->used = 0;
        b->cap = cap;
        b->next = A->head;
        A->head = b;
        A->total += cap;
    }
    void *p = b->mem + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *sn_lang_strdup(LArena *A, const char *s, size_t n) {
    char *p = sn_lang_alloc(A, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *sn_lang_fmt(LArena *A, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = sn_lang_alloc(A, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void sn_lang_arena_free(LArena *A) {
    LArenaBlock *b = A->head;
    while (b) {
        LArenaBlock *next = b->next;
        free(b);
        b = next;
    }
    A->head = NULL;
    A->total = 0;
}

bool sn_lang_grow(LArena *A, void **items, int *cap, int n, size_t elem) {
    int ncap = *cap ? *cap * 2 : 8;
    if (ncap <= n || ncap > (1 << 26))
        return A->failed = true, false;
    void *p = sn_lang_alloc(A, (size_t)ncap * elem);
    if (!p)
        return false;
    if (n)
        memcpy(p, *items, (size_t)n * elem);
    *items = p;
    *cap = ncap;
    return true;
}

/* ---------------------------------------------------------------- interning */

static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* The slot of s[0..n) in I: the slot holding it, or the empty slot where it belongs (the
 * table first grows to keep it at most half full). NULL on out-of-memory. */
static const char **intern_slot(Interner *I, LArena *A, const char *s, size_t n) {
    if (I->count * 2 >= I->cap) {
        int ncap = I->cap ? I->cap * 2 : 256;
        const char **ns = sn_lang_alloc(A, (size_t)ncap * sizeof *ns);
        if (!ns)
            return NULL;
        for (int i = 0; i < I->cap; i++) {
            const char *e = I->slots[i];
            if (!e)
                continue;
            uint32_t h = hash_bytes(e, strlen(e)) & (uint32_t)(ncap - 1);
            while (ns[h])
                h = (h + 1) & (uint32_t)(ncap - 1);
            ns[h] = e;
        }
        I->slots = ns;
        I->cap = ncap;
    }
    uint32_t h = hash_bytes(s, n) & (uint32_t)(I->cap - 1);
    while (I->slots[h]) {
        const char *e = I->slots[h];
        if (strncmp(e, s, n) == 0 && e[n] == 0)
            break;
        h = (h + 1) & (uint32_t)(I->cap - 1);
    }
    return &I->slots[h];
}

const char *sn_lang_intern(Interner *I, LArena *A, const char *s, size_t n) {
    const char **slot = intern_slot(I, A, s, n);
    if (!slot)
        return NULL;
    if (*slot)
        return *slot;
    char *p = sn_lang_strdup(A, s, n);
    if (!p)
        return NULL;
    *slot = p;
    I->count++;
    return p;
}

int sn_lang_set_add(Interner *I, LArena *A, const char *s) {
    const char **slot = intern_slot(I, A, s, strlen(s));
    if (!slot)
        return -1;
    if (*slot)
        return 1;
    *slot = s;
    I->count++;
    return 0;
}

/* ---------------------------------------------------------------- sources */

/* The last two components of a path: "/x/y/models/yolov8.sn" → "models/yolov8.sn". Keeps
 * provenance (which ends up in generated kernels and their cache keys) independent of where
 * the tree is checked out. */
static const char *short_name(const char *path) {
    const char *last = strrchr(path, '/');
    if (!last)
        return path;
    const char *q = last;
    while (q > path && q[-1] != '/')
        q--;
    return q;
}

int sn_lang_src_add(Diag *D, LArena *A, const char *path, const char **why) {
    *why = NULL;
    if (D->nfiles >= LANG_MAX_FILES) {
        *why = "too many files";
        return -1;
    }
    /* Open first, then check what was opened (no race with a rename between the two), and
     * never block: a FIFO opened without O_NONBLOCK waits for a writer forever. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        *why = strerror(errno);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > LANG_MAX_FILE_BYTES) {
        *why = !S_ISREG(st.st_mode) ? "not a regular file" : "file too large (over 1 MiB)";
        close(fd);
        return -1;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        *why = strerror(errno);
        close(fd);
        return -1;
    }
    char *buf = sn_lang_alloc(A, LANG_MAX_FILE_BYTES + 2);
    if (!buf) {
        fclose(f);
        *why = "out of memory";
        return -1;
    }
    size_t n = fread(buf, 1, LANG_MAX_FILE_BYTES + 1, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        *why = "read error";
        return -1;
    }
    if (n > LANG_MAX_FILE_BYTES) {
        *why = "file too large (over 1 MiB)";
        return -1;
    }
    buf[n] = 0;
    Src *s = sn_lang_alloc(A, sizeof *s);
    char *p = sn_lang_strdup(A, path, strlen(path));
    if (!s || !p) {
        *why = "out of memory";
        return -1;
    }
    s->path = p;
    s->prov = (char *)short_name(p);
    s->text = buf;
    s->len = n;
    D->files[D->nfiles] = s;
    return D->nfiles++;
}

const char *sn_lang_loc_prov(Diag *D, LArena *A, Loc loc) {
    if (loc.file < 0 || loc.file >= D->nfiles)
        return "";
    return sn_lang_fmt(A, "%s:%d:%d", D->files[loc.file]->prov, loc.line, loc.col);
}

/* ---------------------------------------------------------------- diagnostics */

#define LANG_SHOWN_LINE 300 /* bytes of a source line shown under a diagnostic */

/* Prints src[0..n) escaped (sn_escape_n: control characters and invalid UTF-8 become
 * \xNN or \uNNNN) with its tabs kept; with `blank`, prints what lines up under it instead: a
 * tab for each tab and a space for each character shown. */
static void put_src(FILE *out, const char *src, size_t n, bool blank) {
    char buf[4 * LANG_SHOWN_LINE + 8]; /* an escape is at most 4 characters per byte */
    while (n > 0) {
        const char *tab = memchr(src, '\t', n);
        size_t k = tab ? (size_t)(tab - src) : n;
        sn_escape_n(src, k, buf, sizeof buf);
        for (const char *c = buf; *c; c++)
            if (!blank)
                fputc(*c, out);
            else if ((*c & 0xc0) != 0x80) /* not a UTF-8 continuation byte */
                fputc(' ', out);
        if (tab) {
            fputc('\t', out);
            k++;
        }
        src += k;
        n -= k;
    }
}

static void print_line(Diag *D, Loc loc) {
    const Src *s = D->files[loc.file];
    const char *p = s->text, *end = s->text + s->len;
    for (int line = 1; line < loc.line && p < end; p++)
        if (*p == '\n')
            line++;
    const char *q = p;
    while (q < end && *q != '\n')
        q++;
    size_t n = (size_t)(q - p);
    if (n > 0 && p[n - 1] == '\r')
        n--; /* a CRLF file */
    if (n > LANG_SHOWN_LINE)
        n = LANG_SHOWN_LINE; /* keep pathological lines readable */
    fputs("    ", D->out);
    put_src(D->out, p, n, false);
    fputc('\n', D->out);
    fputs("    ", D->out);
    put_src(D->out, p, loc.col > 1 && (size_t)(loc.col - 1) < n ? (size_t)(loc.col - 1) : n, true);
    fputs("^\n", D->out);
}

static void emit(Diag *D, Loc loc, const char *kind, const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 0)))
#endif
    ;
static void emit(Diag *D, Loc loc, const char *kind, const char *fmt, va_list ap) {
    /* The message quotes names and text from the file: shown escaped, as the path is. */
    char msg[1024], shown[4 * sizeof msg], path[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    sn_escape(msg, shown, sizeof shown);
    if (loc.file >= 0 && loc.file < D->nfiles) {
        fprintf(D->out, "%s:%d:%d: %s: %s\n",
                sn_escape(D->files[loc.file]->path, path, sizeof path), loc.line, loc.col, kind,
                shown);
        print_line(D, loc);
    } else {
        fprintf(D->out, "%s: %s\n", kind, shown);
    }
}

static bool count_error(Diag *D) {
    if (D->nerr >= LANG_MAX_ERRORS) {
        if (!D->capped) {
            fprintf(D->out, "error: too many errors (%d); stopping\n", LANG_MAX_ERRORS);
            D->capped = true;
        }
        D->nerr++;
        return false;
    }
    D->nerr++;
    return true;
}

void sn_lang_verror(Diag *D, Loc loc, const char *kind, const char *fmt, va_list ap) {
    if (strcmp(kind, "error") == 0 && !count_error(D))
        return;
    if (strcmp(kind, "note") == 0 && D->nerr > LANG_MAX_ERRORS)
        return;
    emit(D, loc, kind, fmt, ap);
}

void sn_lang_error(Diag *D, Loc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sn_lang_verror(D, loc, "error", fmt, ap);
    va_end(ap);
}

void sn_lang_note(Diag *D, Loc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sn_lang_verror(D, loc, "note", fmt, ap);
    va_end(ap);
}

void sn_lang_error_plain(Diag *D, const char *fmt, ...) {
    if (!count_error(D))
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(D, (Loc){.file = -1}, "error", fmt, ap);
    va_end(ap);
}
