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

/* ---------------------------------------------------------------- half precision
 * IEEE binary16 and bfloat16, rounded to nearest even. NaN stays NaN (quiet, the top payload
 * bits kept), overflow becomes ±Inf, values below half the smallest subnormal become ±0. */
uint16_t sn_f32_to_f16(float f);
float sn_f16_to_f32(uint16_t h);
uint16_t sn_f32_to_bf16(float f);
float sn_bf16_to_f32(uint16_t h);

#ifdef __cplusplus
}
#endif
#endif /* SN_BASE_H */
