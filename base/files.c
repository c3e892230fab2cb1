/* base/files.c — reading whole files, writing them atomically, and showing user data in
 * messages.
 *
 * Reading: a file is opened with O_NONBLOCK (so a FIFO cannot block the open), fstat'ed, and
 * refused unless it is a regular file; at most its fstat size is read, so a device such as
 * /dev/zero or a file that grows while we read cannot exhaust memory.
 *
 * Atomic write: the new content goes to a temp file created with mkstemp in the destination's
 * own directory (rename is only atomic within one file system), is fsync'ed, given the mode
 * the destination should have, and renamed over the destination; then the directory is
 * fsync'ed so the rename itself is durable. Every failure path unlinks the temp file, so a
 * reader of `path` sees the old file or the complete new one, never a torn one.
 *
 * The temp name is ".sn.HHHHHHHH.PID.XXXXXX": HHHHHHHH is the FNV-1a hash of the
 * destination's name (so the name fits NAME_MAX whatever the destination's length), PID the
 * writer. A writer killed mid-write (kill -9) leaves its temp behind; the next write to the
 * same destination removes such temps when their writer is dead or they are over an hour old
 * (and old-style ".NAME.tmp.XXXXXX" temps over an hour old).
 *
 * A destination that is a character device or a FIFO (/dev/null, a named pipe) is written
 * directly: opened without O_CREAT or O_TRUNC, never renamed over. Directories and other
 * kinds of files are refused.
 */
#include "base/base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- escaping for messages */

/* Code points that move the cursor or reorder text when printed (C0/C1 controls, DEL, bidi
 * and line/paragraph separators, the zero-width no-break space). */
static int cp_hidden(uint32_t c) {
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x200e || c == 0x200f ||
           (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

size_t sn_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp) {
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* The shown form of the unit (a byte or a UTF-8 character) at s[0..n): its length in out
 * (at most 6 characters) and the bytes it consumes in *k. */
static size_t esc_unit(const unsigned char *s, size_t n, char out[8], size_t *k) {
    uint32_t cp;
    *k = sn_utf8_decode(s, n, &cp);
    if (*k == 0) { /* an invalid byte */
        *k = 1;
        return (size_t)snprintf(out, 8, "\\x%02x", s[0]);
    }
    if (cp_hidden(cp))
        return (size_t)snprintf(out, 8, cp < 0x80 ? "\\x%02x" : "\\u%04x", (unsigned)cp);
    memcpy(out, s, *k);
    return *k;
}

const char *sn_escape_n(const char *s, size_t n, char *buf, size_t buflen) {
    if (!buf || buflen == 0)
        return "";
    const unsigned char *u = (const unsigned char *)(s ? s : "");
    if (!s)
        n = 0;
    char unit[8];
    size_t total = 0, k;
    for (size_t i = 0; i < n && total < buflen; i += k)
        total += esc_unit(u + i, n - i, unit, &k);
    /* all of it when it fits, else as many whole units as leave room for "..." */
    size_t limit = total < buflen ? buflen - 1 : (buflen > 4 ? buflen - 4 : 0);
    size_t o = 0;
    for (size_t i = 0; i < n; i += k) {
        size_t ulen = esc_unit(u + i, n - i, unit, &k);
        if (o + ulen > limit)
            break;
        memcpy(buf + o, unit, ulen);
        o += ulen;
    }
    if (total >= buflen) {
        size_t dots = buflen - 1 - o < 3 ? buflen - 1 - o : 3;
        memcpy(buf + o, "...", dots);
        o += dots;
    }
    buf[o] = '\0';
    return buf;
}

const char *sn_escape(const char *s, char *buf, size_t buflen) {
    return sn_escape_n(s, s ? strlen(s) : 0, buf, buflen);
}

const char *sn_json_escape(const char *s, char *out, size_t n) {
    size_t k = 0;
    for (; s && *s && k + 7 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[k++] = '\\';
            out[k++] = (char)c;
        } else if (c < 0x20) {
            k += (size_t)snprintf(out + k, n - k, "\\u%04x", c);
        } else {
            out[k++] = (char)c;
        }
    }
    if (n)
        out[k] = 0;
    return out;
}

/* ---------------------------------------------------------------- reading */

sn_status sn_read_file(const char *path, char **data, size_t *len, char *err, size_t errlen) {
    *data = NULL;
    if (len)
        *len = 0;
    char shown[SN_SHOWN];
    sn_escape(path, shown, sizeof shown);
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        sn_errf(err, errlen, "%s: cannot open: %s", shown, strerror(errno));
        return SN_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        sn_errf(err, errlen, "%s: cannot stat: %s", shown, strerror(errno));
        close(fd);
        return SN_ERR_IO;
    }
    if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
        sn_errf(err, errlen, "%s: %s", shown,
                S_ISDIR(st.st_mode) ? "is a directory, not a file"
                                    : "not a regular file (a FIFO, device or socket); give a file");
        close(fd);
        return SN_ERR_IO;
    }
    /* Read at most the size fstat gave: a file growing under us is read as it was. */
    if (st.st_size < 0 || (uint64_t)st.st_size >= (uint64_t)SIZE_MAX) {
        sn_errf(err, errlen, "%s: file too large to read", shown);
        close(fd);
        return SN_ERR_NOMEM;
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        sn_errf(err, errlen, "%s: out of memory reading %zu bytes", shown, size + 1);
        close(fd);
        return SN_ERR_NOMEM;
    }
    size_t n = 0;
    while (n < size) {
        size_t chunk = size - n > ((size_t)1 << 30) ? ((size_t)1 << 30) : size - n;
        ssize_t r = read(fd, buf + n, chunk);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            sn_errf(err, errlen, "%s: read failed: %s", shown, strerror(errno));
            free(buf);
            close(fd);
            return SN_ERR_IO;
        }
        if (r == 0) /* the file shrank: what was read is the file */
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    if (len)
        *len = n;
    return SN_OK;
}

/* ---------------------------------------------------------------- output checks */

static int kind_written_directly(mode_t m) { return S_ISCHR(m) || S_ISFIFO(m); }

/* Why path (stat'ed as st) cannot be an output, or NULL when it can. */
static const char *unwritable_kind(const struct stat *st) {
    if (S_ISDIR(st->st_mode))
        return "is a directory; give a file name";
    if (!S_ISREG(st->st_mode) && !kind_written_directly(st->st_mode))
        return "is not a regular file, character device or FIFO; refusing to replace it";
    return NULL;
}

sn_status sn_output_check(const char *out, const char *const *inputs, int n, char *err,
                          size_t errlen) {
    if (!out || !*out) {
        sn_errf(err, errlen, "cannot write: empty output path");
        return SN_ERR_INVALID;
    }
    struct stat so;
    if (stat(out, &so) != 0)
        return SN_OK; /* a new file (or one the writer will report on) */
    char shown[SN_SHOWN], ishown[SN_SHOWN];
    sn_escape(out, shown, sizeof shown);
    const char *why = unwritable_kind(&so);
    if (why) {
        sn_errf(err, errlen, "%s: %s", shown, why);
        return SN_ERR_IO;
    }
    for (int i = 0; i < n; i++) {
        struct stat si;
        const char *in = inputs[i];
        if (!in || stat(in, &si) != 0)
            continue;
        if (si.st_dev == so.st_dev && si.st_ino == so.st_ino) {
            sn_errf(err, errlen, "%s: is the same file as the input %s; refusing to overwrite it",
                    shown, sn_escape(in, ishown, sizeof ishown));
            return SN_ERR_INVALID;
        }
    }
    return SN_OK;
}

/* ---------------------------------------------------------------- atomic writing */

/* The process umask without changing it (umask(2) can only be read by setting it, which
 * races with other threads creating files): Linux shows it in /proc/self/status. */
static mode_t current_umask(void) {
    mode_t m = 022;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return m;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Umask:", 6) == 0) {
            m = (mode_t)(strtoul(line + 6, NULL, 8) & 0777);
            break;
        }
    }
    fclose(f);
    return m;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

#define TEMP_STALE_SECONDS 3600

/* The ".sn.HHHHHHHH." prefix of the temps of destination name `base`. */
static void temp_prefix(const char *base, char out[16]) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)base; *p; p++)
        h = (h ^ *p) * 16777619u;
    snprintf(out, 16, ".sn.%08x.", (unsigned)h);
}

/* Is `name` one of base's temps that nobody will finish: ".sn.H.PID.XXXXXX" whose PID is
 * dead or that is over an hour old, or an old-style ".BASE.tmp.XXXXXX" over an hour old? */
static int temp_is_stale(const char *name, const char *prefix, const char *base, int dfd) {
    size_t pl = strlen(prefix), bl = strlen(base);
    int dead = 0;
    if (strncmp(name, prefix, pl) == 0) {
        char *end;
        long pid = strtol(name + pl, &end, 10);
        if (end == name + pl || pid <= 0 || *end != '.' || strlen(end + 1) != 6)
            return 0;
        dead = kill((pid_t)pid, 0) != 0 && errno == ESRCH;
    } else if (!(name[0] == '.' && strncmp(name + 1, base, bl) == 0 &&
                 strncmp(name + 1 + bl, ".tmp.", 5) == 0 && strlen(name + 1 + bl + 5) == 6)) {
        return 0;
    }
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
        return 0;
    return dead || time(NULL) - st.st_mtime > TEMP_STALE_SECONDS;
}

/* Removes base's stale temps from dir (best effort: errors are ignored). */
static void temps_clean(const char *dir, const char *prefix, const char *base) {
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (temp_is_stale(e->d_name, prefix, base, dirfd(d)))
            (void)unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

/* Opens an existing character device or FIFO for writing in place. */
static sn_status direct_begin(sn_atomic_file *a, char *err, size_t errlen) {
    /* O_NONBLOCK: a FIFO nobody reads fails at once (ENXIO) instead of blocking. */
    a->fd = open(a->path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat st;
    if (a->fd < 0) {
        int e = errno;
        sn_errf(err, errlen, "%s: cannot open for writing: %s", a->shown,
                e == ENXIO ? "a FIFO with no reader" : strerror(e));
        sn_atomic_abort(a);
        return SN_ERR_IO;
    }
    if (fstat(a->fd, &st) != 0 || !kind_written_directly(st.st_mode)) {
        sn_errf(err, errlen, "%s: changed while being opened; not written", a->shown);
        sn_atomic_abort(a);
        return SN_ERR_IO;
    }
    int fl = fcntl(a->fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(a->fd, F_SETFL, fl & ~O_NONBLOCK); /* writes wait for a slow reader */
    return SN_OK;
}

sn_status sn_atomic_begin(sn_atomic_file *a, const char *path, char *err, size_t errlen) {
    memset(a, 0, sizeof *a);
    a->fd = -1;
    if (!path || !*path) {
        sn_errf(err, errlen, "cannot write: empty path");
        return SN_ERR_INVALID;
    }
    a->path = dup_str(path);
    a->shown = malloc(SN_SHOWN);
    if (!a->path || !a->shown) {
        sn_errf(err, errlen, "out of memory");
        sn_atomic_abort(a);
        return SN_ERR_NOMEM;
    }
    sn_escape(path, a->shown, SN_SHOWN);
    size_t plen = strlen(path);
    struct stat st;
    const char *why = path[plen - 1] == '/' ? "cannot write: the path names a directory" : NULL;
    if (!why && stat(path, &st) == 0) {
        if (kind_written_directly(st.st_mode)) {
            a->direct = 1;
            return direct_begin(a, err, errlen);
        }
        why = unwritable_kind(&st);
    }
    if (why) {
        sn_errf(err, errlen, "%s: %s", a->shown, why);
        sn_atomic_abort(a);
        return SN_ERR_IO;
    }
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0; /* including the '/' */
    const char *base = path + dirlen;
    char prefix[16], tail[48];
    temp_prefix(base, prefix);
    snprintf(tail, sizeof tail, "%s%ld.XXXXXX", prefix, (long)getpid());
    a->tmp = malloc(dirlen + strlen(tail) + 2);
    if (!a->tmp) {
        sn_errf(err, errlen, "%s: out of memory", a->shown);
        sn_atomic_abort(a);
        return SN_ERR_NOMEM;
    }
    memcpy(a->tmp, path, dirlen);
    a->tmp[dirlen] = '\0';
    temps_clean(dirlen ? a->tmp : ".", prefix, base);
    strcpy(a->tmp + dirlen, tail);
    a->fd = mkstemp(a->tmp);
    if (a->fd < 0) {
        int e = errno;
        sn_errf(err, errlen, "%s: cannot create a temp file in its directory: %s", a->shown,
                strerror(e));
        free(a->tmp); /* mkstemp failed: nothing to unlink */
        a->tmp = NULL;
        sn_atomic_abort(a);
        return SN_ERR_IO;
    }
    (void)fcntl(a->fd, F_SETFD, FD_CLOEXEC);
    return SN_OK;
}

void sn_atomic_abort(sn_atomic_file *a) {
    if (a->fd >= 0)
        close(a->fd);
    if (a->tmp)
        unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    free(a->shown);
    a->fd = -1;
    a->tmp = NULL;
    a->path = NULL;
    a->shown = NULL;
}

sn_status sn_atomic_write(sn_atomic_file *a, const void *p, size_t n, char *err, size_t errlen) {
    const char *c = p;
    while (n > 0) {
        size_t chunk = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        ssize_t w = write(a->fd, c, chunk);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            sn_errf(err, errlen, "%s: write failed: %s", a->shown, strerror(errno));
            sn_atomic_abort(a);
            return SN_ERR_IO;
        }
        if (w == 0) { /* should not happen for regular files; never spin */
            sn_errf(err, errlen, "%s: write failed: no progress", a->shown);
            sn_atomic_abort(a);
            return SN_ERR_IO;
        }
        c += w;
        n -= (size_t)w;
    }
    return SN_OK;
}

/* Closes the handle's descriptor, reporting a failed close as a failed write. */
static sn_status close_fd(sn_atomic_file *a, char *err, size_t errlen) {
    int fd = a->fd;
    a->fd = -1;
    if (close(fd) != 0) {
        sn_errf(err, errlen, "%s: write failed: %s", a->shown, strerror(errno));
        sn_atomic_abort(a);
        return SN_ERR_IO;
    }
    return SN_OK;
}

sn_status sn_atomic_commit(sn_atomic_file *a, char *err, size_t errlen) {
    if (a->direct) { /* a device or FIFO: nothing to sync or rename */
        sn_status s = close_fd(a, err, errlen);
        if (s == SN_OK)
            sn_atomic_abort(a);
        return s;
    }
    /* A replaced file keeps its permissions; a new one gets what open(2) would give it. */
    struct stat st;
    mode_t mode = stat(a->path, &st) == 0 && S_ISREG(st.st_mode) ? (st.st_mode & 07777)
                                                                 : (0666 & ~current_umask());
    if (fchmod(a->fd, mode) != 0 || fsync(a->fd) != 0) {
        sn_errf(err, errlen, "%s: cannot sync the temp file: %s", a->shown, strerror(errno));
        sn_atomic_abort(a);
        return SN_ERR_IO;
    }
    sn_status s = close_fd(a, err, errlen);
    if (s != SN_OK)
        return s;
    if (rename(a->tmp, a->path) != 0) {
        sn_errf(err, errlen, "%s: cannot replace the file: %s", a->shown, strerror(errno));
        sn_atomic_abort(a);
        return SN_ERR_IO;
    }
    free(a->tmp); /* renamed: abort must not unlink it */
    a->tmp = NULL;
    /* The rename is done: make it durable (best effort; some file systems refuse). */
    char *slash = strrchr(a->path, '/');
    const char *dir = ".";
    if (slash == a->path) {
        dir = "/";
    } else if (slash) {
        *slash = '\0';
        dir = a->path;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    sn_atomic_abort(a);
    return SN_OK;
}

sn_status sn_write_atomic(const char *path, const void *data, size_t len, char *err,
                          size_t errlen) {
    sn_atomic_file a;
    sn_status s = sn_atomic_begin(&a, path, err, errlen);
    if (s != SN_OK)
        return s;
    s = sn_atomic_write(&a, data, len, err, errlen);
    if (s != SN_OK)
        return s;
    return sn_atomic_commit(&a, err, errlen);
}
