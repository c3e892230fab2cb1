/* tests/runtime/test_rt_nvrtc.c — NVRTC without a GPU: half/bf16 and mma.sync inline PTX
 * compile to CUBIN for sm_80 and sm_90; an architecture NVRTC cannot target falls back to
 * PTX; a syntax error is a clean SN_ERR_COMPILE naming a file that holds the source and
 * the log. Exits 77 (skipped) when NVRTC cannot be loaded. */
#include "check.h"

#include <sys/stat.h>

static char err[4096];

static const char *good_src =
    "#include <cuda_fp16.h>\n"
    "#include <cuda_bf16.h>\n"
    "extern \"C\" __global__ void axpy_h(const __half *x, __half *y, float a, int n) {\n"
    "    int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
    "    if (i < n) y[i] = __float2half(a * __half2float(x[i]) + __half2float(y[i]));\n"
    "}\n"
    "extern \"C\" __global__ void scale_bf(__nv_bfloat16 *y, int n) {\n"
    "    int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
    "    if (i < n) y[i] = __float2bfloat16(2.0f * __bfloat162float(y[i]));\n"
    "}\n"
    /* one warp computes a 16×8 tile with m16n8k16 (sm_80+) */
    "extern \"C\" __global__ void mma_tile(const unsigned *a, const unsigned *b, float *d) {\n"
    "    unsigned lane = threadIdx.x;\n"
    "    unsigned a0 = a[lane * 4 + 0], a1 = a[lane * 4 + 1], a2 = a[lane * 4 + 2],\n"
    "             a3 = a[lane * 4 + 3], b0 = b[lane * 2], b1 = b[lane * 2 + 1];\n"
    "    float c0 = 0.f, c1 = 0.f, c2 = 0.f, c3 = 0.f;\n"
    "    asm volatile(\"mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 \"\n"
    "                 \"{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\\n\"\n"
    "                 : \"+f\"(c0), \"+f\"(c1), \"+f\"(c2), \"+f\"(c3)\n"
    "                 : \"r\"(a0), \"r\"(a1), \"r\"(a2), \"r\"(a3), \"r\"(b0), \"r\"(b1));\n"
    "    d[lane * 4 + 0] = c0; d[lane * 4 + 1] = c1; d[lane * 4 + 2] = c2; d[lane * 4 + 3] = c3;\n"
    "}\n";

static const char *bad_src = "extern \"C\" __global__ void broken(float *y) {\n"
                             "    y[0] = 1.0f +;\n"
                             "}\n";

int main(void) {
    const char *ver = sn_rt_nvrtc_version();
    if (!ver) {
        void *img;
        size_t len;
        int ptx;
        sn_status st =
            sn_rt_nvrtc_compile(good_src, "x", 90, NULL, 0, &img, &len, &ptx, err, sizeof err);
        printf("NVRTC not available (%d: %s): skipped\n", (int)st, err);
        return 77;
    }
    printf("%s\n", ver);
    CHECK(strncmp(ver, "NVRTC ", 6) == 0);
    CHECK(sn_rt_nvrtc_version() == ver); /* stable */

    char *base = make_temp_dir("nvrtc");
    setenv("SINTER_CACHE_DIR", base, 1);

    const int sms[2] = {80, 90};
    for (int i = 0; i < 2; i++) {
        void *img = NULL;
        size_t len = 0;
        int ptx = -1;
        CHECK_OK(sn_rt_nvrtc_compile(good_src, "good", sms[i], NULL, 0, &img, &len, &ptx, err,
                                     sizeof err));
        CHECKF(img && len > 1000 && ptx == 0, "sm_%d: %zu bytes, ptx %d", sms[i], len, ptx);
        CHECK(img && memcmp(img,
                            "\x7f"
                            "ELF",
                            4) == 0); /* a CUBIN is an ELF file */
        printf("sm_%d: CUBIN of %zu bytes\n", sms[i], len);
        free(img);
    }

    /* Caller options are appended; a caller architecture replaces ours. */
    {
        const char *opts[2] = {"-lineinfo", "--gpu-architecture=compute_80"};
        void *img = NULL;
        size_t len = 0;
        int ptx = -1;
        CHECK_OK(
            sn_rt_nvrtc_compile(good_src, "opts", 90, opts, 2, &img, &len, &ptx, err, sizeof err));
        CHECK(img && ptx == 1 && len > 0 && ((char *)img)[len - 1] == '\0' &&
              has_substr(img, ".target sm_80"));
        free(img);
    }

    /* An architecture newer than this NVRTC knows: PTX for the newest one it has. */
    {
        void *img = NULL;
        size_t len = 0;
        int ptx = -1;
        CHECK_OK(sn_rt_nvrtc_compile(good_src, "future", 990, NULL, 0, &img, &len, &ptx, err,
                                     sizeof err));
        CHECK(img && ptx == 1 && has_substr(img, ".entry mma_tile"));
        free(img);
        /* one older than it supports: a clean error */
        CHECK(sn_rt_nvrtc_compile(good_src, "ancient", 20, NULL, 0, &img, &len, &ptx, err,
                                  sizeof err) == SN_ERR_UNSUPPORTED &&
              img == NULL);
        CHECKF(has_substr(err, "sm_20"), "%s", err);
    }

    /* A syntax error. */
    {
        void *img = (void *)1;
        size_t len = 1;
        int ptx = -1;
        sn_status st = sn_rt_nvrtc_compile(bad_src, "broken_kernel", 90, NULL, 0, &img, &len, &ptx,
                                           err, sizeof err);
        printf("syntax error: %s\n", err);
        CHECK(st == SN_ERR_COMPILE && img == NULL && len == 0);
        CHECKF(has_substr(err, "NVRTC_ERROR_COMPILATION"), "%s", err);
        const char *at = strstr(err, "source and log: ");
        CHECKF(at != NULL, "%s", err);
        if (at) {
            const char *path = at + strlen("source and log: ");
            char want_dir[4200];
            snprintf(want_dir, sizeof want_dir, "%s/failed/broken_kernel.", base);
            CHECKF(strncmp(path, want_dir, strlen(want_dir)) == 0, "log at %s", path);
            FILE *f = fopen(path, "r");
            CHECK(f != NULL);
            if (f) {
                char buf[16384];
                size_t n = fread(buf, 1, sizeof buf - 1, f);
                buf[n] = '\0';
                fclose(f);
                CHECK(has_substr(buf, "y[0] = 1.0f +;")); /* the source */
                CHECK(has_substr(buf, "error"));          /* the log */
                CHECK(has_substr(buf, "--gpu-architecture=sm_90"));
            }
        }
    }

    rm_tree(base);
    free(base);
    return check_report("test_rt_nvrtc");
}
