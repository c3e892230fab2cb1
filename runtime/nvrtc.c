/* runtime/nvrtc.c — CUDA C → CUBIN (or PTX) with NVRTC, loaded by dlopen.
 *
 * NVRTC is a host library: this works on machines without a GPU, which is how CI compiles
 * every generated kernel. Options, in order:
 *     --gpu-architecture=sm_XX   (CUBIN; when this NVRTC cannot target sm_XX, compute_YY for
 *                                 the newest YY ≤ XX it supports, giving PTX for the driver to
 *                                 JIT; a caller option naming an architecture replaces ours)
 *     -default-device --std=c++17
 *     -I<dir with cuda_fp16.h>   ($CUDA_HOME/include, $CUDA_PATH/include,
 *                                 /usr/local/cuda/include, or next to libnvrtc; none found →
 *                                 NVRTC's built-in headers)
 *     the caller's options
 * On failure the source, the options and NVRTC's log are written to one file (util.c:
 * sn_rt_write_failure) and err names it.
 */
#define _GNU_SOURCE
#include "runtime/cuda_int.h"

#include <dlfcn.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct nvrtc_api {
    sn_nvrtc_result (*Version)(int *major, int *minor);
    const char *(*GetErrorString)(sn_nvrtc_result r);
    sn_nvrtc_result (*GetNumSupportedArchs)(int *n);
    sn_nvrtc_result (*GetSupportedArchs)(int *archs);
    sn_nvrtc_result (*CreateProgram)(sn_nvrtc_program *p, const char *src, const char *name,
                                     int nheaders, const char *const *headers,
                                     const char *const *include_names);
    sn_nvrtc_result (*DestroyProgram)(sn_nvrtc_program *p);
    sn_nvrtc_result (*CompileProgram)(sn_nvrtc_program p, int nopts, const char *const *opts);
    sn_nvrtc_result (*GetProgramLogSize)(sn_nvrtc_program p, size_t *n);
    sn_nvrtc_result (*GetProgramLog)(sn_nvrtc_program p, char *log);
    sn_nvrtc_result (*GetPTXSize)(sn_nvrtc_program p, size_t *n);
    sn_nvrtc_result (*GetPTX)(sn_nvrtc_program p, char *ptx);
    sn_nvrtc_result (*GetCUBINSize)(sn_nvrtc_program p, size_t *n);
    sn_nvrtc_result (*GetCUBIN)(sn_nvrtc_program p, char *cubin);
} nvrtc_api;

static nvrtc_api nv;
static pthread_once_t nv_once = PTHREAD_ONCE_INIT;
static int nv_ok;
static char nv_msg[512];
static char nv_version[32];
static int nv_archs[64], nv_narchs;
static char nv_include[4096]; /* "" = rely on NVRTC's built-in headers */

#define SN_NVRTC_CHECK(fn, args)                                                                   \
    do {                                                                                           \
        sn_nvrtc_result r_ = nv.fn args;                                                           \
        if (r_ != SN_NVRTC_SUCCESS) {                                                              \
            st = sn_fail(err, errlen, SN_ERR_COMPILE, "%s failed: %s", "nvrtc" #fn #args,          \
                         nv.GetErrorString(r_));                                                   \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

static int has_fp16_header(const char *dir) {
    char p[4200];
    snprintf(p, sizeof p, "%s/cuda_fp16.h", dir);
    return access(p, R_OK) == 0;
}

static void find_include_dir(void *lib_sym) {
    const char *envs[2] = {"CUDA_HOME", "CUDA_PATH"};
    char dir[4096];
    for (int i = 0; i < 2; i++) {
        const char *e = getenv(envs[i]);
        if (e && *e) {
            snprintf(dir, sizeof dir, "%s/include", e);
            if (has_fp16_header(dir)) {
                snprintf(nv_include, sizeof nv_include, "%s", dir);
                return;
            }
        }
    }
    if (has_fp16_header("/usr/local/cuda/include")) {
        snprintf(nv_include, sizeof nv_include, "/usr/local/cuda/include");
        return;
    }
    /* Next to the library: <root>/lib64/libnvrtc.so → <root>/include, or the
     * targets/<arch>/include layout of the toolkit packages. */
    Dl_info info;
    if (lib_sym && dladdr(lib_sym, &info) && info.dli_fname) {
        char lib[4096];
        snprintf(lib, sizeof lib, "%s", info.dli_fname);
        char *libdir = dirname(lib);
        const char *rel[3] = {"../include", "../../include", "../targets/x86_64-linux/include"};
        for (int i = 0; i < 3; i++) {
            snprintf(dir, sizeof dir, "%s/%s", libdir, rel[i]);
            char real[4096];
            if (realpath(dir, real) && has_fp16_header(real)) {
                snprintf(nv_include, sizeof nv_include, "%s", real);
                return;
            }
        }
    }
    nv_include[0] = '\0';
}

static void load_nvrtc(void) {
    static const char *const names[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"};
    char why[300];
    void *lib = sn_cu_dlopen_any(names, 3, why, sizeof why);
    if (!lib) {
        snprintf(nv_msg, sizeof nv_msg,
                 "NVRTC not available: dlopen(\"libnvrtc.so.13\") failed: %s", why);
        return;
    }
    static const struct {
        const char *name;
        size_t offset;
    } entries[] = {
#define E(sym, field) {sym, offsetof(nvrtc_api, field)}
        E("nvrtcVersion", Version),
        E("nvrtcGetErrorString", GetErrorString),
        E("nvrtcGetNumSupportedArchs", GetNumSupportedArchs),
        E("nvrtcGetSupportedArchs", GetSupportedArchs),
        E("nvrtcCreateProgram", CreateProgram),
        E("nvrtcDestroyProgram", DestroyProgram),
        E("nvrtcCompileProgram", CompileProgram),
        E("nvrtcGetProgramLogSize", GetProgramLogSize),
        E("nvrtcGetProgramLog", GetProgramLog),
        E("nvrtcGetPTXSize", GetPTXSize),
        E("nvrtcGetPTX", GetPTX),
        E("nvrtcGetCUBINSize", GetCUBINSize),
        E("nvrtcGetCUBIN", GetCUBIN),
#undef E
    };
    nvrtc_api api;
    memset(&api, 0, sizeof api);
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        void *fn = dlsym(lib, entries[i].name);
        if (!fn) {
            snprintf(nv_msg, sizeof nv_msg, "NVRTC library has no %s", entries[i].name);
            dlclose(lib);
            return;
        }
        memcpy((char *)&api + entries[i].offset, &fn, sizeof fn);
    }
    nv = api;
    int major = 0, minor = 0;
    if (nv.Version(&major, &minor) != SN_NVRTC_SUCCESS) {
        snprintf(nv_msg, sizeof nv_msg, "nvrtcVersion(&major, &minor) failed");
        return;
    }
    snprintf(nv_version, sizeof nv_version, "NVRTC %d.%d", major, minor);
    int n = 0;
    if (nv.GetNumSupportedArchs(&n) == SN_NVRTC_SUCCESS && n > 0 &&
        n <= (int)(sizeof nv_archs / sizeof nv_archs[0]) &&
        nv.GetSupportedArchs(nv_archs) == SN_NVRTC_SUCCESS)
        nv_narchs = n;
    void *vsym;
    memcpy(&vsym, &nv.Version, sizeof vsym);
    find_include_dir(vsym);
    nv_ok = 1;
}

const char *sn_rt_nvrtc_version(void) {
    pthread_once(&nv_once, load_nvrtc);
    return nv_ok ? nv_version : NULL;
}

/* The log's first line that says "error", for the one-line message. */
static void first_error(const char *log, char *out, size_t n) {
    out[0] = '\0';
    const char *p = log ? strstr(log, "error") : NULL;
    if (!p)
        return;
    const char *b = p;
    while (b > log && b[-1] != '\n')
        b--;
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - b) : strlen(b);
    if (len >= n)
        len = n - 1;
    memcpy(out, b, len);
    out[len] = '\0';
}

static int is_arch_option(const char *o) {
    return strncmp(o, "--gpu-architecture", 18) == 0 || strncmp(o, "-arch", 5) == 0;
}

sn_status sn_rt_nvrtc_compile(const char *source, const char *name, int sm,
                              const char *const *options, int noptions, void **image, size_t *len,
                              int *is_ptx, char *err, size_t errlen) {
    sn_status st = SN_OK;
    *image = NULL;
    *len = 0;
    *is_ptx = 0;
    pthread_once(&nv_once, load_nvrtc);
    if (!nv_ok)
        return sn_fail(err, errlen, SN_ERR_UNSUPPORTED, "%s", nv_msg);
    if (!source || noptions < 0 || (noptions && !options))
        return sn_fail(err, errlen, SN_ERR_INVALID, "nvrtc: bad arguments");
    if (!name || !*name)
        name = "kernel";

    /* Architecture. */
    char arch[64] = "";
    int user_arch = 0, ptx = 0;
    for (int i = 0; i < noptions; i++)
        if (is_arch_option(options[i])) {
            user_arch = 1;
            ptx = strstr(options[i], "compute_") != NULL;
        }
    if (!user_arch) {
        int supported = nv_narchs == 0, best = 0;
        for (int i = 0; i < nv_narchs; i++) {
            if (nv_archs[i] == sm)
                supported = 1;
            if (nv_archs[i] <= sm && nv_archs[i] > best)
                best = nv_archs[i];
        }
        if (supported) {
            snprintf(arch, sizeof arch, "--gpu-architecture=sm_%d", sm);
        } else if (best) {
            snprintf(arch, sizeof arch, "--gpu-architecture=compute_%d", best);
            ptx = 1;
        } else {
            return sn_fail(err, errlen, SN_ERR_UNSUPPORTED,
                           "%s cannot compile for sm_%d (oldest supported: sm_%d)", nv_version, sm,
                           nv_narchs ? nv_archs[0] : 0);
        }
    }

    const char **opts = calloc((size_t)noptions + 4, sizeof *opts);
    char inc[4200];
    if (!opts)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "nvrtc: out of memory");
    int no = 0;
    if (arch[0])
        opts[no++] = arch;
    opts[no++] = "-default-device";
    opts[no++] = "--std=c++17";
    if (nv_include[0]) {
        snprintf(inc, sizeof inc, "-I%s", nv_include);
        opts[no++] = inc;
    }
    for (int i = 0; i < noptions; i++)
        opts[no++] = options[i];

    sn_nvrtc_program prog = NULL;
    char *log = NULL;
    SN_NVRTC_CHECK(CreateProgram, (&prog, source, name, 0, NULL, NULL));
    sn_nvrtc_result cr = nv.CompileProgram(prog, no, opts);
    size_t loglen = 0;
    if (nv.GetProgramLogSize(prog, &loglen) == SN_NVRTC_SUCCESS && loglen > 0 &&
        (log = malloc(loglen + 1)) != NULL) {
        if (nv.GetProgramLog(prog, log) != SN_NVRTC_SUCCESS)
            log[0] = '\0';
        log[loglen] = '\0';
    }
    if (cr != SN_NVRTC_SUCCESS) {
        /* Source, options and log in one file; the log goes in a comment with any comment
         * terminator defused, so the file still compiles as it was given. */
        size_t optlen = 64;
        for (int i = 0; i < no; i++)
            optlen += strlen(opts[i]) + 1;
        char *hdr = malloc(optlen + 256);
        char *clean = strdup(log ? log : "");
        for (char *q = clean; q && (q = strstr(q, "*/")) != NULL;)
            q[1] = '\\';
        if (hdr) {
            int h = snprintf(hdr, optlen + 256,
                             "// %s: compiling %s failed (%s)\n// options:", nv_version, name,
                             nv.GetErrorString(cr));
            for (int i = 0; i < no; i++)
                h += snprintf(hdr + h, optlen + 256 - (size_t)h, " %s", opts[i]);
            snprintf(hdr + h, optlen + 256 - (size_t)h, "\n");
        }
        const char *parts[5] = {hdr ? hdr : "", source, "\n\n/* NVRTC log:\n", clean ? clean : "",
                                "*/\n"};
        char path[4400], first[300];
        first_error(log, first, sizeof first);
        if (sn_rt_write_failure(name, "cu", parts, 5, path, sizeof path) == 0)
            st = sn_fail(err, errlen, SN_ERR_COMPILE,
                         "nvrtcCompileProgram(%s, %s) failed: %s%s%s; source and log: %s", name,
                         arch[0] ? arch + 19 : "caller's arch", nv.GetErrorString(cr),
                         first[0] ? ": " : "", first, path);
        else
            st = sn_fail(err, errlen, SN_ERR_COMPILE,
                         "nvrtcCompileProgram(%s) failed: %s%s%s (could not write the log "
                         "file)",
                         name, nv.GetErrorString(cr), first[0] ? ": " : "", first);
        free(hdr);
        free(clean);
        goto fail;
    }

    size_t n = 0;
    if (!ptx) {
        SN_NVRTC_CHECK(GetCUBINSize, (prog, &n));
        if (n == 0)
            ptx = 1; /* a caller's virtual architecture */
    }
    if (ptx) {
        SN_NVRTC_CHECK(GetPTXSize, (prog, &n)); /* includes the terminating NUL */
    }
    char *out = malloc(n ? n : 1);
    if (!out) {
        st = sn_fail(err, errlen, SN_ERR_NOMEM, "nvrtc: out of memory (%zu bytes)", n);
        goto fail;
    }
    sn_nvrtc_result gr = ptx ? nv.GetPTX(prog, out) : nv.GetCUBIN(prog, out);
    if (gr != SN_NVRTC_SUCCESS) {
        free(out);
        st = sn_fail(err, errlen, SN_ERR_COMPILE, "%s(prog, out) failed: %s",
                     ptx ? "nvrtcGetPTX" : "nvrtcGetCUBIN", nv.GetErrorString(gr));
        goto fail;
    }
    *image = out;
    *len = n;
    *is_ptx = ptx;
fail:
    if (prog)
        nv.DestroyProgram(&prog);
    free(log);
    free(opts);
    return st;
}
