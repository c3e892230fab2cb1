/* runtime/util.c — errors, the monotonic clock, aligned memory, directories and the files a
 * failed compile leaves behind. */
#define _GNU_SOURCE
#include "runtime/runtime_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double sn_rt_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void *sn_rt_aligned_alloc(size_t n) {
    size_t sz = (n + 63) & ~(size_t)63;
    if (sz == 0)
        sz = 64;
    if (sz < n)
        return NULL; /* overflow */
    void *p = NULL;
    if (posix_memalign(&p, 64, sz) != 0)
        return NULL;
    return p;
}

int sn_rt_mkdirs(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

const char *sn_rt_default_cache_dir(char *buf, size_t n) {
    const char *e = getenv("SINTER_CACHE_DIR");
    if (e && *e) {
        snprintf(buf, n, "%s", e);
        return buf;
    }
    e = getenv("XDG_CACHE_HOME");
    if (e && *e) {
        snprintf(buf, n, "%s/sinter", e);
        return buf;
    }
    e = getenv("HOME");
    if (e && *e) {
        snprintf(buf, n, "%s/.cache/sinter", e);
        return buf;
    }
    snprintf(buf, n, "/tmp/sinter-cache-%u", (unsigned)getuid());
    return buf;
}

int sn_rt_write_failure(const char *stem, const char *ext, const char *const *parts, int nparts,
                        char *path_out, size_t n) {
    static atomic_uint counter;
    char dir[4096];
    sn_rt_default_cache_dir(dir, sizeof dir);
    size_t dl = strlen(dir);
    snprintf(dir + dl, sizeof dir - dl, "/failed");
    if (sn_rt_mkdirs(dir) != 0) {
        snprintf(dir, sizeof dir, "/tmp/sinter-failed");
        if (sn_rt_mkdirs(dir) != 0)
            return -1;
    }
    /* Keep the file name tame whatever the kernel is called. */
    char safe[96];
    size_t j = 0;
    for (const char *s = stem && *stem ? stem : "kernel"; *s && j < sizeof safe - 1; s++)
        safe[j++] = (char)((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                                   (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'
                               ? *s
                               : '_');
    safe[j] = '\0';
    char path[4096 + 160];
    int fd = -1;
    for (int tries = 0; tries < 100 && fd < 0; tries++) {
        snprintf(path, sizeof path, "%s/%s.%ld.%u.%s", dir, safe, (long)getpid(),
                 atomic_fetch_add(&counter, 1), ext);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            return -1;
    }
    if (fd < 0)
        return -1;
    int ok = 1;
    for (int i = 0; i < nparts && ok; i++) {
        const char *s = parts[i] ? parts[i] : "";
        size_t len = strlen(s), off = 0;
        while (off < len) {
            ssize_t w = write(fd, s + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                ok = 0;
                break;
            }
            off += (size_t)w;
        }
    }
    close(fd);
    if (!ok)
        return -1;
    snprintf(path_out, n, "%s", path);
    return 0;
}

int sn_rt_ncores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int c = CPU_COUNT(&set);
        if (c > 0)
            return c;
    }
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
}

int sn_rt_dtype_size(sn_rt_dtype t) { return t == SN_RT_F32 ? 4 : 2; }
