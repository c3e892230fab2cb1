/* base/base.h — what every module shares and nothing else: the one status type, error
 * formatting, internal assertions, and the one f32 ↔ f16/bf16 converter. The one public
 * header of the base module; it depends on nothing (the C library only).
 *
 * Errors travel as an sn_status return value plus a message written into a caller's
 * (char *err, size_t errlen) buffer; a message says what failed and names the thing the
 * user gave (the file, the tensor, the option). */
#ifndef SN_BASE_H
#define SN_BASE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status */

#include "sinter_status.h" /* sn_status: shared with the public API, include/ */

const char *sn_status_str(sn_status s);

#if defined(__GNUC__)
#define SN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SN_PRINTF(f, a)
#endif

/* snprintf into a caller's error buffer: does nothing when err is NULL or errlen is 0. Every
 * module that reports through (char *err, size_t errlen) formats with it. */
void sn_errf(char *err, size_t errlen, const char *fmt, ...) SN_PRINTF(3, 4);
/* sn_errf, then returns st: `return sn_fail(err, errlen, SN_ERR_IO, "%s: …", path);` */
sn_status sn_fail(char *err, size_t errlen, sn_status st, const char *fmt, ...) SN_PRINTF(4, 5);

/* Internal invariants: on in debug builds and tests (SN_ENABLE_ASSERT), off otherwise. */
#ifdef SN_ENABLE_ASSERT
#define SN_ASSERT(c)                                                                               \
    do {                                                                                           \
        if (!(c))                                                                                  \
            sn_assert_fail(#c, __FILE__, __LINE__);                                                \
    } while (0)
#else
#define SN_ASSERT(c) ((void)0)
#endif
void sn_assert_fail(const char *cond, const char *file, int line);

/* ---------------------------------------------------------------- strings */

/* A growing malloc'd string: sn_str_printf appends (snprintf-style); after an allocation
 * failure it stops appending and sn_str_take returns NULL. */
typedef struct sn_str {
    char *p;
    size_t len, cap;
    int oom;
} sn_str;
void sn_str_printf(sn_str *s, const char *fmt, ...) SN_PRINTF(2, 3);
/* Takes the buffer ("" when nothing was appended; NULL after out-of-memory); s is empty
 * afterwards. */
char *sn_str_take(sn_str *s);

/* ---------------------------------------------------------------- half precision
 * IEEE binary16 and bfloat16, rounded to nearest even. NaN stays NaN (quiet, the top payload
 * bits kept), overflow becomes ±Inf, values below half the smallest subnormal become ±0. */
uint16_t sn_f32_to_f16(float f);
float sn_f16_to_f32(uint16_t h);
uint16_t sn_f32_to_bf16(float f);
float sn_bf16_to_f32(uint16_t h);

/* ---------------------------------------------------------------- files */

/* Writes len bytes to path atomically (temp file ".sn.<hash>.<pid>.XXXXXX" in the same
 * directory + fsync + rename; stale temps of the same destination, left by a killed writer,
 * are removed first). On any failure the temp file is removed and an existing file at path is
 * left untouched. A new file gets mode 0666 & ~umask; a replaced file keeps its mode. A path
 * naming a character device or a FIFO (/dev/null, a named pipe) is written directly, without
 * creating, truncating or replacing it; a directory or other kind of file is refused. Errors
 * name the path and strerror. Every writer in this header (.npy, safetensors, weights) works
 * this way. */
sn_status sn_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);
/* Reads a whole regular file (NUL-terminated for convenience); *len excludes the NUL. *data
 * is malloc'ed; on error it is NULL. The open never blocks (O_NONBLOCK), and anything but a
 * regular file (FIFO, device, socket, directory) is refused before reading, so at most the
 * file's size is read. Errors name the path. All readers in this header use it. */
sn_status sn_read_file(const char *path, char **data, size_t *len, char *err, size_t errlen);
/* ---------------------------------------------------------------- showing user text */

/* Copies n bytes of s into buf as text safe to print on a terminal: control characters
 * (C0, DEL, C1), bidi and line-separator controls and U+FEFF become \xNN (below 0x80) or
 * \uNNNN, each byte of invalid UTF-8 becomes \xNN; everything else, printable non-ASCII
 * included, is copied unchanged. A result longer than buflen - 1 is cut at a character
 * boundary and ends in "...". Returns buf (or "" when buflen is 0). Use it on every path,
 * tensor name or source text echoed in a message. */
const char *sn_escape_n(const char *s, size_t n, char *buf, size_t buflen);
/* The same for a NUL-terminated s (NULL gives ""). */
const char *sn_escape(const char *s, char *buf, size_t buflen);
/* s as the content of a JSON string in out (n bytes): quotes, backslashes and control
 * characters escaped; cut short (at a byte) when out is too small. Returns out. */
const char *sn_json_escape(const char *s, char *out, size_t n);

/* The valid UTF-8 sequence at s[0..n): its length (1..4) and code point, or 0 when invalid
 * (overlong forms, surrogates, values past U+10FFFF, a truncated sequence). */
size_t sn_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);
/* Size of the buffers that hold a path or name escaped for a message (sn_escape); longer
 * ones are cut with "...". */
#define SN_SHOWN 512
#define SN_SHOWN_NAME 256 /* the same for a tensor name */

/* ---------------------------------------------------------------- atomic file writing
 *
 * A file written in pieces: begin creates "<dir>/.sn.<hash of name>.<pid>.XXXXXX" next to the
 * destination (removing stale temps of the same destination first), write appends, commit
 * fsyncs, renames over the destination and fsyncs the directory (best effort). Any failure —
 * and abort — unlinks the temp file, so the destination is either the complete new content or
 * exactly what it was before. A destination that is a character device or a FIFO is opened
 * and written directly (direct = 1; no temp, no rename); a directory or another kind of file
 * is refused. Errors name the destination path (escaped) and strerror. After a failed write
 * or commit the handle is already aborted. */
typedef struct sn_atomic_file {
    int fd;      /* -1 when closed */
    int direct;  /* writing a device or FIFO in place */
    char *path;  /* destination (owned copy) */
    char *shown; /* the destination escaped for messages (owned) */
    char *tmp;   /* temp file path (owned); NULL when direct */
} sn_atomic_file;

sn_status sn_atomic_begin(sn_atomic_file *a, const char *path, char *err, size_t errlen);
sn_status sn_atomic_write(sn_atomic_file *a, const void *p, size_t n, char *err, size_t errlen);
sn_status sn_atomic_commit(sn_atomic_file *a, char *err, size_t errlen);
void sn_atomic_abort(sn_atomic_file *a);

/* Checks, before any work, that a command may write `out`: refused (SN_ERR_INVALID) when it
 * is the same file (st_dev and st_ino, so hard links and symlinks count) as one of the n
 * `inputs` (paths; NULL entries and paths that do not exist are skipped); and (SN_ERR_IO)
 * when it is a directory or a file that is neither regular, a character device nor a FIFO.
 * A path that does not exist yet is fine. */
sn_status sn_output_check(const char *out, const char *const *inputs, int n, char *err,
                          size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* SN_BASE_H */
