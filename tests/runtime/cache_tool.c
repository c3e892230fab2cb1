/* tests/runtime/cache_tool.c — forges kernel cache entries for tests/runtime/cache_cli.sh
 * (cache_forge.h says how):
 *   cache_tool swap A.snk B.snk    A and B trade payloads, headers resealed
 *   cache_tool junk E.snk          the object after the payload's entry name becomes junk
 *   cache_tool unnamed E.snk       the payload's entry name no longer names a symbol */
#include "cache_forge.h"

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "swap"))
        return forge_swap(argv[2], argv[3]) ? 1 : 0;
    if (argc != 3 || (strcmp(argv[1], "junk") && strcmp(argv[1], "unnamed"))) {
        fprintf(stderr, "usage: cache_tool swap A B | junk E | unnamed E\n");
        return 2;
    }
    size_t n;
    uint8_t *buf = forge_read(argv[2], &n);
    if (!buf)
        return 1;
    /* the driver's payload: the entry symbol's name, a NUL, the image */
    size_t off = forge_payload_off(buf);
    const uint8_t *nul = memchr(buf + off, 0, n - off);
    int rc = 1;
    if (nul && !strcmp(argv[1], "junk")) {
        rc = forge_junk(argv[2], (size_t)(nul - (buf + off)) + 1) ? 1 : 0;
    } else if (nul && nul > buf + off) {
        buf[off] = 'Z'; /* same length, no such symbol */
        rc = forge_write_sealed(argv[2], buf, n) ? 1 : 0;
    }
    free(buf);
    return rc;
}
