/* runtime/cache.c — the kernel cache.
 *
 * Two levels: an in-process hash map (key → payload copy) in front of a directory shared by
 * every Sinter process of the user. On disk an entry is one file
 *
 *     <dir>/<first two hex digits of the key>/<32 hex digits>.snk
 *
 * holding a 48-byte little-endian header followed by the body:
 *
 *     0  magic "SINTERKC"    16 key.lo          32 body length (16 + payload length)
 *     8  format version (2)  24 key.hi          40 XXH3-64 of the body
 *     12 header size (48)
 *     48 body: key.lo, key.hi again — what the payload is — then the payload
 *
 * The header's key says where the entry is filed, the body's what it holds: both must equal
 * the key asked for, so a payload moved under another key's name (even with its header
 * rewritten and its checksum recomputed) is caught. Version 1 entries (no key in the body)
 * are stale: a plain miss, deleted and rewritten.
 *
 * A writer writes a unique temp file (mkstemp; the name carries the writer's pid) in the same
 * shard directory, fsyncs it and renames it over the final name: rename is atomic, so a reader
 * sees either no entry or a whole one — never a torn write, whatever number of processes write
 * the same key at once (they write identical bytes; the last rename wins). A reader still
 * trusts nothing: an entry whose magic, key, length or checksum does not match (a crash on a
 * filesystem without ordered rename, a disk error, a hand edit) is counted as corrupt, deleted
 * (only when the name still refers to the regular file that was read), and reported as a miss,
 * so the caller recompiles and overwrites it. Entry paths are opened without blocking and
 * fstat'ed before any read, which is bounded by the file's size and the format's maximum; a
 * path that is not a regular file is never read, deleted or replaced.
 *
 * A writer killed between mkstemp and rename leaves its temp file: open removes those older
 * than an hour, or older than a minute whose writer's pid is gone; clear removes them all.
 */
#include "runtime/runtime_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define CACHE_MAGIC "SINTERKC"
#define CACHE_VERSION 2u
#define CACHE_HDR 48
#define CACHE_ID 16 /* the key at the head of the body */
#define CACHE_EXT ".snk"
#define CACHE_TMP ".tmp-"
#define CACHE_TMP_STALE_S (60 * 60) /* a temp file this old has no live writer */
#define CACHE_TMP_ORPHAN_S 60       /* … nor one this old whose writer's pid is gone */

typedef struct map_slot {
    sn_rt_key key;
    void *data; /* NULL = empty slot */
    size_t len;
} map_slot;

struct sn_rt_cache {
    char dir[4096];
    pthread_mutex_t mu;
    map_slot *slots; /* open addressing, power-of-two capacity, load ≤ 1/2 */
    size_t cap, used;
    sn_rt_cache_stats st;
};

/* ---------------------------------------------------------------- keys */

sn_rt_key sn_rt_key_of(const void *const *parts, const size_t *lens, int nparts) {
    XXH3_state_t *s = XXH3_createState();
    sn_rt_key k = {0, 0};
    if (!s)
        return k; /* out of memory: an all-zero key only ever misses into recompiling */
    XXH3_128bits_reset(s);
    for (int i = 0; i < nparts; i++) {
        /* Length-prefix every part so ("ab", "c") and ("a", "bc") differ. */
        uint8_t lb[8];
        uint64_t l = lens[i];
        for (int b = 0; b < 8; b++)
            lb[b] = (uint8_t)(l >> (8 * b));
        XXH3_128bits_update(s, lb, sizeof lb);
        if (lens[i])
            XXH3_128bits_update(s, parts[i], lens[i]);
    }
    XXH128_hash_t h = XXH3_128bits_digest(s);
    XXH3_freeState(s);
    k.lo = h.low64;
    k.hi = h.high64;
    return k;
}

void sn_rt_key_hex(sn_rt_key k, char out[33]) {
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)k.hi, (unsigned long long)k.lo);
}

static int key_eq(sn_rt_key a, sn_rt_key b) { return a.lo == b.lo && a.hi == b.hi; }

/* ---------------------------------------------------------------- the in-process map */

static map_slot *map_find(sn_rt_cache *c, sn_rt_key k) {
    if (!c->cap)
        return NULL;
    for (size_t i = (size_t)k.lo & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
        if (!c->slots[i].data)
            return NULL;
        if (key_eq(c->slots[i].key, k))
            return &c->slots[i];
    }
}

/* Takes ownership of data (also on failure, where it is freed). */
static void map_put(sn_rt_cache *c, sn_rt_key k, void *data, size_t len) {
    map_slot *s = map_find(c, k);
    if (s) {
        free(s->data);
        s->data = data;
        s->len = len;
        return;
    }
    if ((c->used + 1) * 2 > c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        map_slot *ns = calloc(ncap, sizeof *ns);
        if (!ns) {
            free(data); /* the map is only an accelerator */
            return;
        }
        for (size_t i = 0; i < c->cap; i++) {
            if (!c->slots[i].data)
                continue;
            size_t j = (size_t)c->slots[i].key.lo & (ncap - 1);
            while (ns[j].data)
                j = (j + 1) & (ncap - 1);
            ns[j] = c->slots[i];
        }
        free(c->slots);
        c->slots = ns;
        c->cap = ncap;
    }
    size_t j = (size_t)k.lo & (c->cap - 1);
    while (c->slots[j].data)
        j = (j + 1) & (c->cap - 1);
    c->slots[j].key = k;
    c->slots[j].data = data;
    c->slots[j].len = len;
    c->used++;
}

/* Linear probing: deleting shifts later members of the probe run back into the hole. */
static void map_del(sn_rt_cache *c, sn_rt_key k) {
    map_slot *s = map_find(c, k);
    if (!s)
        return;
    free(s->data);
    size_t mask = c->cap - 1, hole = (size_t)(s - c->slots);
    for (size_t i = (hole + 1) & mask; c->slots[i].data; i = (i + 1) & mask) {
        size_t home = (size_t)c->slots[i].key.lo & mask;
        /* slot i may move to the hole when its home is not in (hole, i] (cyclically) */
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            c->slots[hole] = c->slots[i];
            hole = i;
        }
    }
    c->slots[hole].data = NULL;
    c->used--;
}

static void map_clear(sn_rt_cache *c) {
    for (size_t i = 0; i < c->cap; i++)
        free(c->slots[i].data);
    free(c->slots);
    c->slots = NULL;
    c->cap = c->used = 0;
}

static void *dup_bytes(const void *p, size_t n) {
    void *q = malloc(n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

/* ---------------------------------------------------------------- entry files */

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void entry_path(const sn_rt_cache *c, sn_rt_key k, char *shard, size_t ns, char *path,
                       size_t np) {
    char hex[33];
    sn_rt_key_hex(k, hex);
    snprintf(shard, ns, "%s/%.2s", c->dir, hex);
    snprintf(path, np, "%s/%.2s/%s%s", c->dir, hex, hex, CACHE_EXT);
}

static int read_all(int fd, uint8_t *buf, size_t n) {
    size_t off = 0;
    while (off < n) {
        ssize_t r = read(fd, buf + off, n - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        off += (size_t)r;
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t n) {
    const uint8_t *p = buf;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, p + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

typedef enum {
    ENTRY_OK,
    ENTRY_MISSING,
    ENTRY_BAD,    /* corrupt or another key's: deleted, counted corrupt */
    ENTRY_STALE,  /* an older format version: deleted, a plain miss */
    ENTRY_FOREIGN /* not a regular file: left alone, counted corrupt */
} entry_result;

/* Reads and verifies the entry file for k. On ENTRY_OK *data is a malloc'd payload. Never
 * blocks on a FIFO or reads a device: the file is opened with O_NONBLOCK and fstat'ed before
 * any read, and every read is bounded by the file's size and the format's maximum. */
static entry_result entry_read(const char *path, sn_rt_key k, void **data, size_t *len,
                               struct stat *st) {
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT ? ENTRY_MISSING : ENTRY_FOREIGN;
    entry_result res = ENTRY_BAD;
    uint8_t *buf = NULL;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        res = ENTRY_FOREIGN;
        goto done;
    }
    uint8_t h[CACHE_HDR];
    if (st->st_size < CACHE_HDR || read_all(fd, h, CACHE_HDR) != 0 ||
        memcmp(h, CACHE_MAGIC, 8) != 0)
        goto done;
    if (get_u32(h + 8) != CACHE_VERSION) {
        res = get_u32(h + 8) < CACHE_VERSION ? ENTRY_STALE : ENTRY_BAD;
        goto done;
    }
    uint64_t blen = get_u64(h + 32);
    if (get_u32(h + 12) != CACHE_HDR || get_u64(h + 16) != k.lo || get_u64(h + 24) != k.hi ||
        blen < CACHE_ID || blen - CACHE_ID > SN_RT_CACHE_MAX_PAYLOAD ||
        blen != (uint64_t)st->st_size - CACHE_HDR)
        goto done;
    buf = malloc(blen);
    if (!buf || read_all(fd, buf, blen) != 0)
        goto done;
    if (XXH3_64bits(buf, blen) != get_u64(h + 40))
        goto done;
    if (get_u64(buf) != k.lo || get_u64(buf + 8) != k.hi)
        goto done; /* another key's payload under this key's header */
    size_t plen = blen - CACHE_ID;
    memmove(buf, buf + CACHE_ID, plen);
    *data = buf;
    *len = plen;
    buf = NULL;
    res = ENTRY_OK;
done:
    free(buf);
    close(fd);
    return res;
}

/* Deletes path when it is (still) a regular file — the one described by was, when given —
 * so a concurrent writer's fresh entry, and anything that is not a file, survive. */
static void unlink_regular(const char *path, const struct stat *was) {
    struct stat now;
    if (lstat(path, &now) == 0 && S_ISREG(now.st_mode) &&
        (!was || (now.st_ino == was->st_ino && now.st_dev == was->st_dev)))
        unlink(path);
}

sn_status sn_rt_cache_get(sn_rt_cache *c, sn_rt_key k, void **data, size_t *len) {
    *data = NULL;
    *len = 0;
    pthread_mutex_lock(&c->mu);
    map_slot *s = map_find(c, k);
    if (s) {
        void *copy = dup_bytes(s->data, s->len);
        size_t n = s->len;
        if (copy)
            c->st.hits++;
        pthread_mutex_unlock(&c->mu);
        if (!copy)
            return SN_ERR_NOMEM;
        *data = copy;
        *len = n;
        return SN_OK;
    }
    pthread_mutex_unlock(&c->mu);

    char shard[4200], path[4300];
    entry_path(c, k, shard, sizeof shard, path, sizeof path);
    void *buf;
    size_t n;
    struct stat fst;
    entry_result r = entry_read(path, k, &buf, &n, &fst);
    if (r == ENTRY_BAD || r == ENTRY_STALE)
        unlink_regular(path, &fst);
    pthread_mutex_lock(&c->mu);
    if (r != ENTRY_OK) {
        c->st.misses++;
        if (r == ENTRY_BAD || r == ENTRY_FOREIGN)
            c->st.corrupt++;
        pthread_mutex_unlock(&c->mu);
        return SN_ERR_IO;
    }
    c->st.hits++;
    void *copy = dup_bytes(buf, n);
    if (copy)
        map_put(c, k, copy, n);
    pthread_mutex_unlock(&c->mu);
    *data = buf;
    *len = n;
    return SN_OK;
}

void sn_rt_cache_evict(sn_rt_cache *c, sn_rt_key k) {
    pthread_mutex_lock(&c->mu);
    map_del(c, k);
    c->st.corrupt++;
    pthread_mutex_unlock(&c->mu);
    char shard[4200], path[4300];
    entry_path(c, k, shard, sizeof shard, path, sizeof path);
    unlink_regular(path, NULL);
}

sn_status sn_rt_cache_put(sn_rt_cache *c, sn_rt_key k, const void *data, size_t len, char *err,
                          size_t errlen) {
    if (len > SN_RT_CACHE_MAX_PAYLOAD)
        return sn_fail(err, errlen, SN_ERR_INVALID,
                       "kernel cache: a %zu-byte payload is over the format's maximum", len);
    void *copy = dup_bytes(data, len);
    if (!copy)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "kernel cache: out of memory");
    pthread_mutex_lock(&c->mu);
    map_put(c, k, copy, len);
    pthread_mutex_unlock(&c->mu);

    char shard[4200], path[4300], tmp[4400];
    entry_path(c, k, shard, sizeof shard, path, sizeof path);
    struct stat pst;
    if (lstat(path, &pst) == 0 && !S_ISREG(pst.st_mode))
        return sn_fail(err, errlen, SN_ERR_IO,
                       "kernel cache: %s is not a regular file; left in place, the kernel "
                       "is not cached",
                       path);
    if (sn_rt_mkdirs(shard) != 0)
        return sn_fail(err, errlen, SN_ERR_IO, "kernel cache: cannot create %s: %s", shard,
                       strerror(errno));
    char hex[33];
    sn_rt_key_hex(k, hex);
    snprintf(tmp, sizeof tmp, "%s/" CACHE_TMP "%s-%ld-XXXXXX", shard, hex, (long)getpid());
    int fd = mkstemp(tmp);
    if (fd < 0)
        return sn_fail(err, errlen, SN_ERR_IO, "kernel cache: cannot create %s: %s", tmp,
                       strerror(errno));
    uint8_t h[CACHE_HDR], id[CACHE_ID];
    put_u64(id, k.lo);
    put_u64(id + 8, k.hi);
    XXH3_state_t *xs = XXH3_createState();
    if (!xs) {
        close(fd);
        unlink(tmp);
        return sn_fail(err, errlen, SN_ERR_NOMEM, "kernel cache: out of memory");
    }
    XXH3_64bits_reset(xs);
    XXH3_64bits_update(xs, id, sizeof id);
    if (len)
        XXH3_64bits_update(xs, data, len);
    memcpy(h, CACHE_MAGIC, 8);
    put_u32(h + 8, CACHE_VERSION);
    put_u32(h + 12, CACHE_HDR);
    put_u64(h + 16, k.lo);
    put_u64(h + 24, k.hi);
    put_u64(h + 32, (uint64_t)(CACHE_ID + len));
    put_u64(h + 40, XXH3_64bits_digest(xs));
    XXH3_freeState(xs);
    const char *what = "write";
    int ok = write_all(fd, h, sizeof h) == 0 && write_all(fd, id, sizeof id) == 0 &&
             write_all(fd, data, len) == 0;
    if (ok && (what = "fsync", fsync(fd) != 0))
        ok = 0;
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        what = "close";
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        what = "rename";
        e = errno;
    }
    if (!ok) {
        unlink(tmp);
        return sn_fail(err, errlen, SN_ERR_IO, "kernel cache: %s %s: %s", what, tmp, strerror(e));
    }
    return SN_OK;
}

/* ---------------------------------------------------------------- walking the directory */

static int is_shard_name(const char *s) {
    for (int i = 0; i < 2; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[2] == '\0';
}

static int has_suffix(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

enum { WALK_ENTRIES = 1, WALK_TEMPS = 2, WALK_RM_SHARDS = 4 };

/* Calls fn on every regular file that is an entry (WALK_ENTRIES) or a writer's temp file
 * (WALK_TEMPS) of the cache directory; name is the file's own name. Only names Sinter writes
 * are touched, so a cache dir pointed at the wrong place loses nothing. */
static sn_status walk(const char *dir, int what,
                      void (*fn)(const char *path, const char *name, const struct stat *st,
                                 void *ctx),
                      void *ctx, char *err, size_t errlen) {
    DIR *d = opendir(dir);
    if (!d)
        return sn_fail(err, errlen, SN_ERR_IO, "kernel cache: cannot read %s: %s", dir,
                       strerror(errno));
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!is_shard_name(de->d_name))
            continue;
        char shard[4400];
        snprintf(shard, sizeof shard, "%s/%s", dir, de->d_name);
        DIR *sd = opendir(shard);
        if (!sd)
            continue;
        struct dirent *fe;
        while ((fe = readdir(sd))) {
            int entry = has_suffix(fe->d_name, CACHE_EXT) && fe->d_name[0] != '.';
            int tmp = strncmp(fe->d_name, CACHE_TMP, strlen(CACHE_TMP)) == 0;
            if (!(entry && (what & WALK_ENTRIES)) && !(tmp && (what & WALK_TEMPS)))
                continue;
            char path[4700];
            snprintf(path, sizeof path, "%s/%s", shard, fe->d_name);
            struct stat st;
            if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
                fn(path, fe->d_name, &st, ctx);
        }
        closedir(sd);
        if (what & WALK_RM_SHARDS)
            rmdir(shard); /* fails harmlessly when not empty */
    }
    closedir(d);
    return SN_OK;
}

/* A temp file is stale when no writer can still rename it: older than an hour, or older than
 * a minute with its writer's pid (".tmp-<key>-<pid>-XXXXXX") gone. The minute covers a pid of
 * another pid namespace sharing the directory, whose writer looks gone from here. */
static int temp_is_stale(const char *name, const struct stat *st, time_t now) {
    double age = difftime(now, st->st_mtime);
    if (age > CACHE_TMP_STALE_S)
        return 1;
    const char *p = name + strlen(CACHE_TMP);
    if (strlen(p) < 34 || p[32] != '-')
        return 0;
    char *end;
    long pid = strtol(p + 33, &end, 10);
    if (end == p + 33 || *end != '-' || pid <= 0)
        return 0;
    return age > CACHE_TMP_ORPHAN_S && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static void sweep_one(const char *path, const char *name, const struct stat *st, void *ctx) {
    if (temp_is_stale(name, st, time(NULL)) && unlink(path) == 0)
        ++*(int64_t *)ctx;
}

/* ---------------------------------------------------------------- open / close */

sn_status sn_rt_cache_open(const char *dir, sn_rt_cache **out, char *err, size_t errlen) {
    *out = NULL;
    sn_rt_cache *c = calloc(1, sizeof *c);
    if (!c)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "kernel cache: out of memory");
    if (dir && *dir)
        snprintf(c->dir, sizeof c->dir, "%s", dir);
    else
        sn_rt_default_cache_dir(c->dir, sizeof c->dir);
    size_t n = strlen(c->dir);
    while (n > 1 && c->dir[n - 1] == '/')
        c->dir[--n] = '\0';
    if (sn_rt_mkdirs(c->dir) != 0) {
        int e = errno;
        sn_status st = sn_fail(err, errlen, SN_ERR_IO,
                               "kernel cache: cannot create directory %s: %s", c->dir, strerror(e));
        free(c);
        return st;
    }
    pthread_mutex_init(&c->mu, NULL);
    walk(c->dir, WALK_TEMPS, sweep_one, &c->st.temps_removed, NULL, 0);
    *out = c;
    return SN_OK;
}

void sn_rt_cache_close(sn_rt_cache *c) {
    if (!c)
        return;
    map_clear(c);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

const char *sn_rt_cache_dir(const sn_rt_cache *c) { return c->dir; }

sn_rt_cache_stats sn_rt_cache_stats_get(const sn_rt_cache *c) {
    sn_rt_cache_stats s;
    pthread_mutex_lock((pthread_mutex_t *)&c->mu);
    s = c->st;
    pthread_mutex_unlock((pthread_mutex_t *)&c->mu);
    return s;
}

/* ---------------------------------------------------------------- scan / clear */

static void scan_one(const char *path, const char *name, const struct stat *st, void *ctx) {
    (void)path;
    sn_rt_cache_stats *s = ctx;
    if (name[0] == '.') {
        s->temps++;
        return;
    }
    s->entries++;
    s->bytes += (int64_t)st->st_size;
}

sn_status sn_rt_cache_scan(sn_rt_cache *c, sn_rt_cache_stats *st) {
    sn_rt_cache_stats s = sn_rt_cache_stats_get(c);
    s.entries = s.bytes = s.temps = 0;
    sn_status r = walk(c->dir, WALK_ENTRIES | WALK_TEMPS, scan_one, &s, NULL, 0);
    pthread_mutex_lock(&c->mu);
    c->st.entries = s.entries;
    c->st.bytes = s.bytes;
    c->st.temps = s.temps;
    pthread_mutex_unlock(&c->mu);
    if (st)
        *st = s;
    return r;
}

static void clear_one(const char *path, const char *name, const struct stat *st, void *ctx) {
    (void)name;
    (void)st;
    if (unlink(path) != 0 && errno != ENOENT)
        ++*(int *)ctx;
}

sn_status sn_rt_cache_clear(sn_rt_cache *c, char *err, size_t errlen) {
    pthread_mutex_lock(&c->mu);
    map_clear(c);
    c->st.entries = c->st.bytes = c->st.temps = 0;
    pthread_mutex_unlock(&c->mu);
    int failed = 0;
    sn_status r =
        walk(c->dir, WALK_ENTRIES | WALK_TEMPS | WALK_RM_SHARDS, clear_one, &failed, err, errlen);
    if (r == SN_OK && failed)
        return sn_fail(err, errlen, SN_ERR_IO,
                       "kernel cache: %d entries in %s could not be deleted", failed, c->dir);
    return r;
}
