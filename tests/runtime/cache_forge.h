/* tests/runtime/cache_forge.h — kernel cache entry files forged as a hand edit, a bad copy or a
 * buggy writer would leave them: well-formed (magic, version, key, length and checksum all
 * valid) but holding the wrong thing. The layout is runtime/cache.c's; both versions are
 * understood (version 1: payload right after the 48-byte header; version 2: the key, then the
 * payload), so the tests that use these fail, rather than break, on the old format. */
#ifndef SN_TEST_RT_CACHE_FORGE_H
#define SN_TEST_RT_CACHE_FORGE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define FORGE_HDR 48

/* The whole file, malloc'd; NULL when unreadable or shorter than a header. */
static inline uint8_t *forge_read(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = size >= FORGE_HDR ? malloc((size_t)size) : NULL;
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *n = (size_t)size;
    return buf;
}

/* Rewrites the header's body length and checksum to fit the body, then writes the file. */
static inline int forge_write_sealed(const char *path, uint8_t *buf, size_t n) {
    uint64_t len = n - FORGE_HDR, sum = XXH3_64bits(buf + FORGE_HDR, n - FORGE_HDR);
    for (int i = 0; i < 8; i++) {
        buf[32 + i] = (uint8_t)(len >> (8 * i));
        buf[40 + i] = (uint8_t)(sum >> (8 * i));
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(buf, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Where the payload starts: after the header, and in version 2 after the body's key. */
static inline size_t forge_payload_off(const uint8_t *buf) {
    return buf[8] >= 2 ? FORGE_HDR + 16 : FORGE_HDR;
}

/* a and b trade bodies; each keeps its own header (its key), resealed. */
static inline int forge_swap(const char *a, const char *b) {
    size_t na, nb;
    uint8_t *fa = forge_read(a, &na), *fb = forge_read(b, &nb);
    uint8_t *xa = fa ? malloc(FORGE_HDR + nb - FORGE_HDR) : NULL;
    uint8_t *xb = fb ? malloc(FORGE_HDR + na - FORGE_HDR) : NULL;
    int rc = -1;
    if (xa && xb) {
        memcpy(xa, fa, FORGE_HDR);
        memcpy(xa + FORGE_HDR, fb + FORGE_HDR, nb - FORGE_HDR);
        memcpy(xb, fb, FORGE_HDR);
        memcpy(xb + FORGE_HDR, fa + FORGE_HDR, na - FORGE_HDR);
        rc = forge_write_sealed(a, xa, nb) || forge_write_sealed(b, xb, na) ? -1 : 0;
    }
    free(fa);
    free(fb);
    free(xa);
    free(xb);
    return rc;
}

/* The payload bytes from `skip` on replaced by junk (not an object file), resealed. */
static inline int forge_junk(const char *path, size_t skip) {
    size_t n;
    uint8_t *buf = forge_read(path, &n);
    if (!buf)
        return -1;
    uint32_t x = 12345;
    for (size_t i = forge_payload_off(buf) + skip; i < n; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    int rc = forge_write_sealed(path, buf, n);
    free(buf);
    return rc;
}

#endif
