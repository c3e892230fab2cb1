/* tests/runtime/test_rt_cache.c — the kernel cache: keys, round trips, corrupt and torn
 * entries (detected, deleted, counted, recompiled), well-formed entries holding another key's
 * payload, eviction, entries that are not regular files (a FIFO must not block), old-format
 * entries, stale temp files of killed writers, scan/clear, the directory defaults, and two
 * processes hammering one directory. */
#include "cache_forge.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char err[1024];

/* Deterministic payload for key number j: size and bytes derived from j. */
static size_t payload(int j, unsigned char **out) {
    size_t n = (size_t)(j * 7919 % 65536) + (j % 3 == 0 ? 200000 : 17);
    unsigned char *p = malloc(n);
    uint32_t x = 2166136261u ^ (uint32_t)j;
    for (size_t i = 0; i < n; i++) {
        x = x * 16777619u + 7u;
        p[i] = (unsigned char)(x >> 24);
    }
    *out = p;
    return n;
}

static sn_rt_key key_for(int j) {
    char src[64];
    int n = snprintf(src, sizeof src, "__global__ void k%d() {}", j);
    const char *comp = "NVRTC 13.0", *target = "sm_90";
    const void *parts[3] = {src, comp, target};
    size_t lens[3] = {(size_t)n, strlen(comp), strlen(target)};
    return sn_rt_key_of(parts, lens, 3);
}

static void entry_file(const char *dir, sn_rt_key k, char *path, size_t n) {
    char hex[33];
    sn_rt_key_hex(k, hex);
    snprintf(path, n, "%s/%.2s/%s.snk", dir, hex, hex);
}

static void test_keys(void) {
    const void *p1[2] = {"ab", "c"}, *p2[2] = {"a", "bc"};
    size_t l1[2] = {2, 1}, l2[2] = {1, 2};
    sn_rt_key a = sn_rt_key_of(p1, l1, 2), b = sn_rt_key_of(p2, l2, 2),
              a2 = sn_rt_key_of(p1, l1, 2);
    CHECK(a.lo == a2.lo && a.hi == a2.hi);
    CHECK(a.lo != b.lo || a.hi != b.hi); /* part boundaries matter */
    char hex[33];
    sn_rt_key_hex(a, hex);
    CHECK(strlen(hex) == 32);
    for (int i = 0; i < 32; i++)
        CHECK((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'));
}

/* c serves payloads 0..5 intact. */
static void expect_payloads(sn_rt_cache *c) {
    for (int j = 0; j < 6; j++) {
        void *d = NULL;
        size_t n = 0;
        unsigned char *p;
        size_t len = payload(j, &p);
        CHECK(sn_rt_cache_get(c, key_for(j), &d, &n) == SN_OK && n == len &&
              memcmp(d, p, len) == 0);
        free(d);
        free(p);
    }
}

static void test_round_trip(const char *dir) {
    sn_rt_cache *c;
    CHECK_OK(sn_rt_cache_open(dir, &c, err, sizeof err));
    if (!c)
        return;
    CHECK(strcmp(sn_rt_cache_dir(c), dir) == 0);
    void *d;
    size_t n;
    CHECK(sn_rt_cache_get(c, key_for(1), &d, &n) == SN_ERR_IO && d == NULL);
    for (int j = 0; j < 6; j++) {
        unsigned char *p;
        size_t len = payload(j, &p);
        CHECK_OK(sn_rt_cache_put(c, key_for(j), p, len, err, sizeof err));
        free(p);
    }
    CHECK_OK(sn_rt_cache_put(c, key_for(100), "", 0, err, sizeof err)); /* empty payload */
    /* Served from the map in this handle … */
    expect_payloads(c);
    sn_rt_cache_stats s = sn_rt_cache_stats_get(c);
    CHECK(s.hits == 6 && s.misses == 1 && s.corrupt == 0);
    sn_rt_cache_close(c);

    /* … and from disk in a fresh one. */
    CHECK_OK(sn_rt_cache_open(dir, &c, err, sizeof err));
    expect_payloads(c);
    CHECK(sn_rt_cache_get(c, key_for(100), &d, &n) == SN_OK && n == 0);
    free(d);
    sn_rt_cache_stats sc;
    CHECK_OK(sn_rt_cache_scan(c, &sc));
    CHECK(sc.entries == 7);
    CHECK(sc.bytes > 200000);
    CHECK(sc.hits == 7 && sc.corrupt == 0);
    sn_rt_cache_close(c);
}

/* Damage the entry of key j with fn, then: a fresh handle misses, counts it corrupt, deletes
 * the file; "recompiling" (put) and reading back work. */
static void damage_and_recover(const char *dir, int j, const char *what,
                               void (*fn)(const char *path, sn_rt_key k)) {
    char path[8192];
    sn_rt_key k = key_for(j);
    entry_file(dir, k, path, sizeof path);
    struct stat st;
    CHECKF(stat(path, &st) == 0, "%s: entry %s missing before damage", what, path);
    fn(path, k);
    sn_rt_cache *c;
    CHECK_OK(sn_rt_cache_open(dir, &c, err, sizeof err));
    if (!c)
        return;
    void *d = (void *)1;
    size_t n = 1;
    CHECKF(sn_rt_cache_get(c, k, &d, &n) == SN_ERR_IO && d == NULL && n == 0,
           "%s: damaged entry was loaded", what);
    sn_rt_cache_stats s = sn_rt_cache_stats_get(c);
    CHECKF(s.corrupt == 1 && s.misses == 1, "%s: corrupt %lld misses %lld", what,
           (long long)s.corrupt, (long long)s.misses);
    CHECKF(stat(path, &st) != 0 && errno == ENOENT, "%s: damaged entry not deleted", what);
    /* the recompile path */
    unsigned char *p;
    size_t len = payload(j, &p);
    CHECK_OK(sn_rt_cache_put(c, k, p, len, err, sizeof err));
    sn_rt_cache_close(c);
    CHECK_OK(sn_rt_cache_open(dir, &c, err, sizeof err));
    CHECKF(sn_rt_cache_get(c, k, &d, &n) == SN_OK && n == len && memcmp(d, p, len) == 0,
           "%s: recompiled entry not read back", what);
    CHECK(sn_rt_cache_stats_get(c).corrupt == 0);
    free(d);
    free(p);
    sn_rt_cache_close(c);
}

static void truncate_half(const char *path, sn_rt_key k) {
    (void)k;
    struct stat st;
    stat(path, &st);
    CHECK(truncate(path, st.st_size / 2) == 0);
}

static void truncate_header(const char *path, sn_rt_key k) {
    (void)k;
    CHECK(truncate(path, 20) == 0);
}

static void flip_byte_at(const char *path, off_t off) {
    int fd = open(path, O_RDWR);
    unsigned char b = 0;
    CHECK(fd >= 0 && pread(fd, &b, 1, off) == 1);
    b ^= 0x10;
    CHECK(pwrite(fd, &b, 1, off) == 1);
    close(fd);
}

static void flip_payload(const char *path, sn_rt_key k) {
    (void)k;
    struct stat st;
    stat(path, &st);
    flip_byte_at(path, 48 + (st.st_size - 48) / 3);
}

static void flip_magic(const char *path, sn_rt_key k) {
    (void)k;
    flip_byte_at(path, 2);
}

static void flip_length(const char *path, sn_rt_key k) {
    (void)k;
    flip_byte_at(path, 33);
}

/* Another key's (valid) entry under this key's name. */
static void other_entry(const char *path, sn_rt_key k) {
    (void)k;
    char dir[4200], other[8192];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    *strrchr(dir, '/') = '\0';
    entry_file(dir, key_for(4), other, sizeof other);
    FILE *in = fopen(other, "rb"), *out = fopen(path, "wb");
    CHECK(in && out);
    int ch;
    while (in && out && (ch = fgetc(in)) != EOF)
        fputc(ch, out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}

/* Two entries trade payloads, each header resealed (valid magic, key, length, checksum): both
 * are caught as corrupt, deleted, and recompiled. */
static void test_swapped_pair(const char *dir) {
    char pa[8192], pb[8192];
    entry_file(dir, key_for(2), pa, sizeof pa);
    entry_file(dir, key_for(4), pb, sizeof pb);
    CHECK(forge_swap(pa, pb) == 0);
    sn_rt_cache *c;
    CHECK_OK(sn_rt_cache_open(dir, &c, err, sizeof err));
    if (!c)
        return;
    for (int j = 2; j <= 4; j += 2) {
        void *d = (void *)1;
        size_t n = 1;
        CHECKF(sn_rt_cache_get(c, key_for(j), &d, &n) == SN_ERR_IO && d == NULL,
               "key %d: another key's payload was loaded (%zu bytes)", j, n);
        free(d);
    }
    sn_rt_cache_stats s = sn_rt_cache_stats_get(c);
    CHECKF(s.corrupt == 2 && s.misses == 2 && s.hits == 0, "corrupt %lld misses %lld",
           (long long)s.corrupt, (long long)s.misses);
    struct stat st;
    CHECK(stat(pa, &st) != 0 && stat(pb, &st) != 0);
    for (int j = 2; j <= 4; j += 2) { /* recompiled */
        unsigned char *p;
        size_t len = payload(j, &p);
        CHECK_OK(sn_rt_cache_put(c, key_for(j), p, len, err, sizeof err));
        free(p);
    }
    sn_rt_cache_close(c);
    CHECK_OK(sn_rt_cache_open(dir, &c, err, sizeof err));
    expect_payloads(c);
    CHECK(sn_rt_cache_stats_get(c).corrupt == 0);
    sn_rt_cache_close(c);
}

/* An entry of the previous format version is a plain miss: deleted, not counted corrupt. */
static void test_old_version(const char *dir) {
    char path[8192];
    entry_file(dir, key_for(1), path, sizeof path);
    unsigned char v = 1; /* version 1: the format before the key in the body */
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0 && pwrite(fd, &v, 1, 8) == 1);
    close(fd);
    sn_rt_cache *c;
    CHECK_OK(sn_rt_cache_open(dir, &c, err, sizeof err));
    if (!c)
        return;
    void *d;
    size_t n;
    CHECK(sn_rt_cache_get(c, key_for(1), &d, &n) == SN_ERR_IO);
    sn_rt_cache_stats s = sn_rt_cache_stats_get(c);
    CHECKF(s.corrupt == 0 && s.misses == 1, "corrupt %lld misses %lld", (long long)s.corrupt,
           (long long)s.misses);
    struct stat st;
    CHECK(stat(path, &st) != 0);
    unsigned char *p;
    size_t len = payload(1, &p);
    CHECK_OK(sn_rt_cache_put(c, key_for(1), p, len, err, sizeof err));
    free(p);
    sn_rt_cache_close(c);
}

/* evict drops an entry from the map and the directory and counts it; the map keeps serving
 * every other key (deletion from its open addressing). */
static void test_evict(const char *dir) {
    sn_rt_cache *c;
    CHECK_OK(sn_rt_cache_open(dir, &c, err, sizeof err));
    if (!c)
        return;
    for (int j = 300; j < 400; j++)
        CHECK_OK(sn_rt_cache_put(c, key_for(j), &j, sizeof j, err, sizeof err));
    for (int j = 300; j < 400; j += 3)
        sn_rt_cache_evict(c, key_for(j));
    CHECK(sn_rt_cache_stats_get(c).corrupt == 34);
    for (int j = 300; j < 400; j++) {
        void *d = NULL;
        size_t n = 0;
        sn_status st = sn_rt_cache_get(c, key_for(j), &d, &n);
        char path[8192];
        entry_file(dir, key_for(j), path, sizeof path);
        struct stat fst;
        if (j % 3 == 0)
            CHECKF(st == SN_ERR_IO && stat(path, &fst) != 0, "key %d not evicted", j);
        else
            CHECKF(st == SN_OK && n == sizeof j && !memcmp(d, &j, sizeof j), "key %d lost", j);
        free(d);
    }
    sn_rt_cache_close(c);
}

/* A FIFO (and a symlink to a device) where an entry belongs: get misses at once (open must
 * not block), counts it corrupt, and neither get nor put deletes or replaces it. Runs in a
 * child that gets one second. */
static int fifo_child(const char *fifo, const char *link, sn_rt_key kf, sn_rt_key kl,
                      const char *dir) {
    int before = check_failures;
    sn_rt_cache *c;
    CHECK_OK(sn_rt_cache_open(dir, &c, err, sizeof err));
    if (!c)
        return 1;
    void *d;
    size_t n;
    CHECK(sn_rt_cache_get(c, kf, &d, &n) == SN_ERR_IO);
    CHECK(sn_rt_cache_get(c, kl, &d, &n) == SN_ERR_IO);
    CHECK(sn_rt_cache_stats_get(c).corrupt == 2);
    CHECK(sn_rt_cache_put(c, kf, "x", 1, err, sizeof err) == SN_ERR_IO &&
          has_substr(err, "not a regular file"));
    struct stat st;
    CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    sn_rt_cache_close(c);
    return check_failures != before;
}

static void test_fifo(const char *dir) {
    char fifo[8192], link[8192], hex[33], shard[8192];
    sn_rt_key kf = key_for(200), kl = key_for(201);
    entry_file(dir, kf, fifo, sizeof fifo);
    entry_file(dir, kl, link, sizeof link);
    sn_rt_key_hex(kf, hex);
    snprintf(shard, sizeof shard, "%s/%.2s", dir, hex);
    mkdir(shard, 0777);
    sn_rt_key_hex(kl, hex);
    snprintf(shard, sizeof shard, "%s/%.2s", dir, hex);
    mkdir(shard, 0777);
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(symlink("/dev/zero", link) == 0);
    pid_t kid = fork();
    CHECK(kid >= 0);
    if (kid == 0)
        _exit(fifo_child(fifo, link, kf, kl, dir));
    int status = 0, done = 0;
    struct timespec nap = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 100 && !done; i++) { /* one second */
        done = waitpid(kid, &status, WNOHANG) == kid;
        if (!done)
            nanosleep(&nap, NULL);
    }
    if (!done) {
        kill(kid, SIGKILL);
        waitpid(kid, &status, 0);
    }
    CHECKF(done, "a FIFO entry blocked the cache for over a second");
    CHECKF(!done || (WIFEXITED(status) && WEXITSTATUS(status) == 0), "FIFO checks failed");
    unlink(fifo);
    unlink(link);
}

/* Temp files of writers killed mid-write: open removes the stale ones (an hour old, or a
 * minute old with the writer's pid gone) and keeps those a live writer may still rename; scan
 * counts what is left, clear removes them. */
static void test_stale_temps(const char *dir) {
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    CHECK(dead > 0 && waitpid(dead, NULL, 0) == dead);
    char hex[33], shard[8192];
    sn_rt_key_hex(key_for(0), hex);
    snprintf(shard, sizeof shard, "%s/%.2s", dir, hex);
    mkdir(shard, 0777);
    struct {
        long pid;  /* 0: a name without a pid */
        int age_s; /* mtime this long ago */
        int stale;
    } t[] = {{0, 2 * 3600, 1},
             {(long)dead, 300, 1},
             {(long)getpid(), 300, 0},
             {0, 300, 0},
             {(long)dead, 0, 0}};
    enum { NT = sizeof t / sizeof t[0] };
    char path[NT][8400];
    for (int i = 0; i < NT; i++) {
        if (t[i].pid)
            snprintf(path[i], sizeof path[i], "%s/.tmp-%s-%ld-abc%03d", shard, hex, t[i].pid, i);
        else
            snprintf(path[i], sizeof path[i], "%s/.tmp-%s-abc%03d", shard, hex, i);
        FILE *f = fopen(path[i], "w");
        CHECK(f != NULL);
        if (f) {
            fputs("torn", f);
            fclose(f);
        }
        struct timespec ts[2] = {{time(NULL) - t[i].age_s, 0}, {time(NULL) - t[i].age_s, 0}};
        CHECK(utimensat(AT_FDCWD, path[i], ts, 0) == 0);
    }
    sn_rt_cache *c;
    CHECK_OK(sn_rt_cache_open(dir, &c, err, sizeof err));
    if (!c)
        return;
    int kept = 0;
    for (int i = 0; i < NT; i++) {
        struct stat st;
        int exists = stat(path[i], &st) == 0;
        kept += exists;
        CHECKF(exists == !t[i].stale, "temp %d (pid %ld, %d s old): %s", i, t[i].pid, t[i].age_s,
               exists ? "stale, not removed" : "removed while its writer may live");
    }
    sn_rt_cache_stats s;
    CHECK_OK(sn_rt_cache_scan(c, &s));
    CHECKF(s.temps_removed == 2 && s.temps == kept, "removed %lld, left %lld",
           (long long)s.temps_removed, (long long)s.temps);
    sn_rt_cache_close(c);
}

static void test_scan_clear(const char *dir) {
    sn_rt_cache *c;
    CHECK_OK(sn_rt_cache_open(dir, &c, err, sizeof err));
    if (!c)
        return;
    /* A stray file that is not ours survives clear. */
    char stray[8192];
    snprintf(stray, sizeof stray, "%s/README", dir);
    FILE *f = fopen(stray, "w");
    fputs("keep me\n", f);
    fclose(f);
    /* A temp file of a crashed writer does not count as an entry, and clear removes it. */
    char hex[33], tmp[8192];
    sn_rt_key_hex(key_for(0), hex);
    snprintf(tmp, sizeof tmp, "%s/%.2s/.tmp-%s-abcdef", dir, hex, hex);
    f = fopen(tmp, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("torn", f);
        fclose(f);
    }
    sn_rt_cache_stats s;
    CHECK_OK(sn_rt_cache_scan(c, &s));
    CHECK(s.entries == 7);
    CHECK_OK(sn_rt_cache_clear(c, err, sizeof err));
    CHECK_OK(sn_rt_cache_scan(c, &s));
    CHECK(s.entries == 0 && s.bytes == 0);
    void *d;
    size_t n;
    CHECK(sn_rt_cache_get(c, key_for(0), &d, &n) == SN_ERR_IO); /* map cleared too */
    struct stat st;
    CHECK(stat(stray, &st) == 0);
    CHECK(stat(tmp, &st) != 0);
    sn_rt_cache_close(c);
}

static void test_default_dir(const char *base) {
    char want[4200];
    snprintf(want, sizeof want, "%s/env_dir", base);
    setenv("SINTER_CACHE_DIR", want, 1);
    sn_rt_cache *c;
    CHECK_OK(sn_rt_cache_open(NULL, &c, err, sizeof err));
    if (c) {
        CHECK(strcmp(sn_rt_cache_dir(c), want) == 0);
        struct stat st;
        CHECK(stat(want, &st) == 0 && S_ISDIR(st.st_mode));
        sn_rt_cache_close(c);
    }
    unsetenv("SINTER_CACHE_DIR");
    char xdg[4200];
    snprintf(xdg, sizeof xdg, "%s/xdg", base);
    setenv("XDG_CACHE_HOME", xdg, 1);
    snprintf(want, sizeof want, "%s/xdg/sinter", base);
    CHECK_OK(sn_rt_cache_open(NULL, &c, err, sizeof err));
    if (c) {
        CHECK(strcmp(sn_rt_cache_dir(c), want) == 0);
        sn_rt_cache_close(c);
    }
    unsetenv("XDG_CACHE_HOME");
    /* An uncreatable directory is a clean error. */
    CHECK(sn_rt_cache_open("/proc/sinter_cannot_exist", &c, err, sizeof err) == SN_ERR_IO &&
          c == NULL && has_substr(err, "/proc/sinter_cannot_exist"));
}

/* One process of the concurrency test: 400 rounds over 24 keys, a fresh handle every round so
 * every get goes to disk; a hit must be exactly the payload, never anything corrupt. Returns
 * the number of problems. */
static int hammer(const char *dir, int who) {
    int bad = 0, hits = 0;
    for (int i = 0; i < 400; i++) {
        int j = (i * 5 + who * 11) % 24;
        sn_rt_cache *c;
        char e[512];
        if (sn_rt_cache_open(dir, &c, e, sizeof e) != SN_OK) {
            fprintf(stderr, "hammer %d: open: %s\n", who, e);
            return 1000;
        }
        unsigned char *p;
        size_t len = payload(j, &p);
        void *d;
        size_t n;
        if (sn_rt_cache_get(c, key_for(j), &d, &n) == SN_OK) {
            hits++;
            if (n != len || memcmp(d, p, len) != 0) {
                fprintf(stderr, "hammer %d: key %d: wrong payload (%zu bytes, want %zu)\n", who, j,
                        n, len);
                bad++;
            }
            free(d);
        }
        /* Every round also writes, so writers race readers and each other. */
        if (sn_rt_cache_put(c, key_for(j), p, len, e, sizeof e) != SN_OK) {
            fprintf(stderr, "hammer %d: put: %s\n", who, e);
            bad++;
        }
        if (sn_rt_cache_stats_get(c).corrupt) {
            fprintf(stderr, "hammer %d: key %d: corrupt entry seen\n", who, j);
            bad++;
        }
        free(p);
        sn_rt_cache_close(c);
    }
    if (hits < 100) {
        fprintf(stderr, "hammer %d: only %d hits\n", who, hits);
        bad++;
    }
    return bad;
}

static void test_two_processes(const char *dir) {
    pid_t kids[2];
    for (int w = 0; w < 2; w++) {
        kids[w] = fork();
        CHECK(kids[w] >= 0);
        if (kids[w] == 0)
            _exit(hammer(dir, w) ? 1 : 0);
    }
    for (int w = 0; w < 2; w++) {
        int status = 0;
        CHECK(waitpid(kids[w], &status, 0) == kids[w]);
        CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "process %d failed", w);
    }
    /* Afterwards every entry is whole. */
    sn_rt_cache *c;
    CHECK_OK(sn_rt_cache_open(dir, &c, err, sizeof err));
    if (!c)
        return;
    for (int j = 0; j < 24; j++) {
        unsigned char *p;
        size_t len = payload(j, &p);
        void *d;
        size_t n;
        CHECKF(sn_rt_cache_get(c, key_for(j), &d, &n) == SN_OK && n == len &&
                   memcmp(d, p, len) == 0,
               "key %d after the race", j);
        free(d);
        free(p);
    }
    sn_rt_cache_stats s;
    CHECK_OK(sn_rt_cache_scan(c, &s));
    CHECK(s.entries == 24 && s.corrupt == 0);
    sn_rt_cache_close(c);
}

int main(void) {
    char *base = make_temp_dir("cache");
    char dir[4200], race[4200], ev[4200];
    snprintf(dir, sizeof dir, "%s/kc", base);
    snprintf(ev, sizeof ev, "%s/evict", base);
    snprintf(race, sizeof race, "%s/race", base);
    test_keys();
    test_round_trip(dir);
    damage_and_recover(dir, 0, "truncated", truncate_half);
    damage_and_recover(dir, 1, "header only", truncate_header);
    damage_and_recover(dir, 2, "flipped payload byte", flip_payload);
    damage_and_recover(dir, 3, "flipped magic", flip_magic);
    damage_and_recover(dir, 5, "flipped length", flip_length);
    damage_and_recover(dir, 100, "another key's entry", other_entry);
    test_swapped_pair(dir);
    test_old_version(dir);
    test_evict(ev);
    test_fifo(dir);
    test_stale_temps(dir);
    test_scan_clear(dir);
    test_default_dir(base);
    test_two_processes(race);
    rm_tree(base);
    free(base);
    return check_report("test_rt_cache");
}
