/* tests/runtime/test_rt_driver.c — the CUDA driver loader where no usable driver is:
 *   test_rt_driver none   — libcuda cannot be opened ($SINTER_LIBCUDA names no file)
 *   test_rt_driver stub   — $SINTER_LIBCUDA is the toolkit's stub libcuda (loads, but every
 *                           call fails with CUDA_ERROR_STUB_LIBRARY)
 * Either way sn_rt_cuda_available() is 0 without a word on stdout/stderr, "auto" opens the
 * CPU, and "cuda" fails with a clean message. */
#include "check.h"

static char err[2048];

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "none";
    const char *lib = getenv("SINTER_LIBCUDA");
    printf("mode %s, SINTER_LIBCUDA=%s\n", mode, lib ? lib : "(unset)");
    CHECK(sn_rt_cuda_available() == 0);
    CHECK(sn_rt_cuda_available() == 0);
    sn_rt_device *d = NULL;
    CHECK_OK(sn_rt_device_open("auto", 1, &d, err, sizeof err));
    CHECK(d && sn_rt_device_kind(d) == SN_RT_CPU);
    sn_rt_device_close(d);
    d = NULL;
    sn_status st = sn_rt_device_open("cuda", 0, &d, err, sizeof err);
    printf("open cuda: %d: %s\n", (int)st, err);
    CHECK(st == SN_ERR_DEVICE && d == NULL);
    if (strcmp(mode, "stub") == 0)
        CHECKF(has_substr(err, "STUB") || has_substr(err, "cuGetProcAddress") ||
                   has_substr(err, "cuInit"),
               "%s", err);
    else
        CHECKF(has_substr(err, "dlopen"), "%s", err);
    st = sn_rt_device_open("cuda:3", 0, &d, err, sizeof err);
    CHECK(st == SN_ERR_DEVICE && d == NULL);
    return check_report("test_rt_driver");
}
