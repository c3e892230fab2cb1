/* frontend/files.c — reading whole files and writing them atomically.
 *
 * Atomic write: the new content goes to a temp file created with mkstemp in the destination's
 * own directory (rename is only atomic within one file system), is fsync'ed, given the mode
 * the destination should have, and renamed over the destination; then the directory is
 * fsync'ed so the rename itself is durable. Every failure path unlinks the temp file, so a
 * reader of `path` sees the old file or the complete new one, never a torn one, and no temp
 * files are left behind.
 */
#include "frontend/tensor_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- reading */

sn_status sn_fe_read_file(const char *path, char **data, size_t *len, char *err, size_t errlen) {
    *data = NULL;
    if (len)
        *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sn_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return SN_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        sn_errf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return SN_ERR_IO;
    }
    if (S_ISDIR(st.st_mode)) {
        sn_errf(err, errlen, "%s: is a directory, not a file", path);
        close(fd);
        return SN_ERR_IO;
    }
    /* Regular files: read their size in one allocation. Pipes and devices report 0 (or
     * nonsense): grow as we go. The file may also change size while we read. */
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size >= (uint64_t)SIZE_MAX) {
        sn_errf(err, errlen, "%s: file too large to read", path);
        close(fd);
        return SN_ERR_NOMEM;
    }
    char *buf = malloc(cap);
    if (!buf) {
        sn_errf(err, errlen, "%s: out of memory reading %zu bytes", path, cap);
        close(fd);
        return SN_ERR_NOMEM;
    }
    size_t n = 0;
    for (;;) {
        if (n + 1 >= cap) {
            size_t ncap = cap < SIZE_MAX / 2 ? cap * 2 : SIZE_MAX;
            char *nb = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!nb) {
                sn_errf(err, errlen, "%s: out of memory reading the file", path);
                free(buf);
                close(fd);
                return SN_ERR_NOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            sn_errf(err, errlen, "%s: read failed: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return SN_ERR_IO;
        }
        if (r == 0)
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

sn_status sn_fe_tio_atomic_begin(sn_fe_tio_atomic *a, const char *path, char *err, size_t errlen) {
    a->fd = -1;
    a->path = NULL;
    a->tmp = NULL;
    if (!path || !*path) {
        sn_errf(err, errlen, "cannot write: empty path");
        return SN_ERR_INVALID;
    }
    size_t plen = strlen(path);
    if (path[plen - 1] == '/') {
        sn_errf(err, errlen, "%s: cannot write: the path names a directory", path);
        return SN_ERR_IO;
    }
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0; /* including the '/' */
    const char *base = path + dirlen;
    static const char suffix[] = ".tmp.XXXXXX";
    a->path = dup_str(path);
    a->tmp = malloc(dirlen + 1 + strlen(base) + sizeof suffix);
    if (!a->path || !a->tmp) {
        sn_errf(err, errlen, "%s: out of memory", path);
        sn_fe_tio_atomic_abort(a);
        return SN_ERR_NOMEM;
    }
    memcpy(a->tmp, path, dirlen);
    a->tmp[dirlen] = '.';
    strcpy(a->tmp + dirlen + 1, base);
    strcat(a->tmp, suffix);
    a->fd = mkstemp(a->tmp);
    if (a->fd < 0) {
        int e = errno;
        sn_errf(err, errlen, "%s: cannot create a temp file in its directory: %s", path,
                strerror(e));
        free(a->tmp); /* mkstemp failed: nothing to unlink */
        a->tmp = NULL;
        sn_fe_tio_atomic_abort(a);
        return SN_ERR_IO;
    }
    (void)fcntl(a->fd, F_SETFD, FD_CLOEXEC);
    return SN_OK;
}

void sn_fe_tio_atomic_abort(sn_fe_tio_atomic *a) {
    if (a->fd >= 0)
        close(a->fd);
    if (a->tmp)
        unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    a->fd = -1;
    a->tmp = NULL;
    a->path = NULL;
}

sn_status sn_fe_tio_atomic_write(sn_fe_tio_atomic *a, const void *p, size_t n, char *err,
                                 size_t errlen) {
    const char *c = p;
    while (n > 0) {
        size_t chunk = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        ssize_t w = write(a->fd, c, chunk);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            sn_errf(err, errlen, "%s: write failed: %s", a->path, strerror(errno));
            sn_fe_tio_atomic_abort(a);
            return SN_ERR_IO;
        }
        if (w == 0) { /* should not happen for regular files; never spin */
            sn_errf(err, errlen, "%s: write failed: no progress", a->path);
            sn_fe_tio_atomic_abort(a);
            return SN_ERR_IO;
        }
        c += w;
        n -= (size_t)w;
    }
    return SN_OK;
}

sn_status sn_fe_tio_atomic_commit(sn_fe_tio_atomic *a, char *err, size_t errlen) {
    /* A replaced file keeps its permissions; a new one gets what open(2) would give it. */
    struct stat st;
    mode_t mode = stat(a->path, &st) == 0 && S_ISREG(st.st_mode) ? (st.st_mode & 07777)
                                                                 : (0666 & ~current_umask());
    if (fchmod(a->fd, mode) != 0 || fsync(a->fd) != 0) {
        sn_errf(err, errlen, "%s: cannot sync the temp file: %s", a->path, strerror(errno));
        sn_fe_tio_atomic_abort(a);
        return SN_ERR_IO;
    }
    int fd = a->fd;
    a->fd = -1;
    if (close(fd) != 0) {
        sn_errf(err, errlen, "%s: write failed: %s", a->path, strerror(errno));
        sn_fe_tio_atomic_abort(a);
        return SN_ERR_IO;
    }
    if (rename(a->tmp, a->path) != 0) {
        sn_errf(err, errlen, "%s: cannot replace the file: %s", a->path, strerror(errno));
        sn_fe_tio_atomic_abort(a);
        return SN_ERR_IO;
    }
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
    free(a->tmp);
    a->tmp = NULL;
    free(a->path);
    a->path = NULL;
    return SN_OK;
}

sn_status sn_fe_write_atomic(const char *path, const void *data, size_t len, char *err,
                             size_t errlen) {
    sn_fe_tio_atomic a;
    sn_status s = sn_fe_tio_atomic_begin(&a, path, err, errlen);
    if (s != SN_OK)
        return s;
    s = sn_fe_tio_atomic_write(&a, data, len, err, errlen);
    if (s != SN_OK)
        return s;
    return sn_fe_tio_atomic_commit(&a, err, errlen);
}
