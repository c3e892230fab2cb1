/* cli/opts.c — what the commands share: option parsing, model loading, the memory check,
 * number formatting. */
#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int sn_cli_parse_size(const char *s, int *h, int *w) {
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (errno || end == s || a <= 0 || a > 16384)
        return -1;
    long b = a;
    if (*end == 'x' || *end == 'X') {
        const char *p = end + 1;
        b = strtol(p, &end, 10);
        if (errno || end == p || b <= 0 || b > 16384)
            return -1;
    }
    if (*end)
        return -1;
    *h = (int)a;
    *w = (int)b;
    return 0;
}

static int parse_int(const char *cmd, const char *opt, const char *v, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "sinter %s: error: %s expects an integer in [%d, %d], got '%s'\n", cmd, opt,
                lo, hi, sn_cli_show(v));
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int parse_double(const char *cmd, const char *opt, const char *v, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x) || x < 0) {
        fprintf(stderr, "sinter %s: error: %s expects a finite number >= 0, got '%s'\n", cmd, opt,
                sn_cli_show(v));
        return -1;
    }
    *out = x;
    return 0;
}

/* Is `opt` one of the space-separated names in `allowed`? */
static int allowed_has(const char *allowed, const char *opt) {
    size_t n = strlen(opt);
    for (const char *p = allowed; (p = strstr(p, opt)) != NULL; p += n)
        if ((p == allowed || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
            return 1;
    return 0;
}

int sn_cli_help(int argc, char **argv, const char *help) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help, stdout);
            return 1;
        }
    return 0;
}

int sn_cli_parse(int argc, char **argv, const char *cmd, const char *allowed, sn_cli_opts *o) {
    memset(o, 0, sizeof *o);
    o->batch = 1;
    o->iters = 0;
    o->lr = o->momentum = o->weight_decay = NAN;
    o->conf = o->iou = NAN;
    o->plots = 1;
    o->workers = -1;
    const char *seen[64];
    int nseen = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == 0) {
            if (o->model) {
                fprintf(stderr, "sinter %s: error: unexpected argument '%s'\n", cmd,
                        sn_cli_show(a));
                return -1;
            }
            o->model = a;
            continue;
        }
        if (!allowed_has(allowed, a)) {
            fprintf(stderr, "sinter %s: error: unknown option '%s' (see sinter %s --help)\n", cmd,
                    sn_cli_show(a), cmd);
            return -1;
        }
        /* A repeated option is a mistake (which value was meant?), not "the last one wins". */
        for (int j = 0; j < nseen; j++)
            if (!strcmp(seen[j], a)) {
                fprintf(stderr, "sinter %s: error: %s given twice\n", cmd, a);
                return -1;
            }
        if (nseen < (int)(sizeof seen / sizeof seen[0]))
            seen[nseen++] = a;
        /* flags */
        if (!strcmp(a, "--eager")) {
            o->eager = 1;
            continue;
        }
        if (!strcmp(a, "--fused")) {
            o->fused = 1;
            continue;
        }
        if (!strcmp(a, "--json")) {
            o->json = 1;
            continue;
        }
        if (!strcmp(a, "--check-finite")) {
            o->check_finite = 1;
            continue;
        }
        if (!strcmp(a, "--save-json") || !strcmp(a, "--plots") || !strcmp(a, "--no-plots")) {
            if (!strcmp(a, "--save-json"))
                o->save_json = 1;
            else
                o->plots = !strcmp(a, "--plots");
            continue;
        }
        if (!strcmp(a, "--agnostic-nms") || !strcmp(a, "--save-txt") || !strcmp(a, "--save-conf") ||
            !strcmp(a, "--nosave")) {
            *(!strcmp(a, "--agnostic-nms") ? &o->agnostic
              : !strcmp(a, "--save-txt")   ? &o->save_txt
              : !strcmp(a, "--save-conf")  ? &o->save_conf
                                           : &o->nosave) = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "sinter %s: error: %s needs a value\n", cmd, a);
            return -1;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--weights"))
            o->weights = v;
        else if (!strcmp(a, "--input"))
            o->input = v;
        else if (!strcmp(a, "--output"))
            o->output = v;
        else if (!strcmp(a, "--backend"))
            o->backend = v;
        else if (!strcmp(a, "--dump"))
            o->dump_dir = v;
        else if (!strcmp(a, "--dtype"))
            o->dtype = v;
        else if (!strcmp(a, "--scale"))
            o->scale = v;
        else if (!strcmp(a, "--images"))
            o->images = v;
        else if (!strcmp(a, "--labels"))
            o->labels = v;
        else if (!strcmp(a, "--optimizer"))
            o->optimizer = v;
        else if (!strcmp(a, "--grads"))
            o->grads = v;
        else if (!strcmp(a, "--ema"))
            o->ema = v;
        else if (!strcmp(a, "--source"))
            o->source = v;
        else if (!strcmp(a, "--project"))
            o->project = v;
        else if (!strcmp(a, "--name"))
            o->name = v;
        else if (!strcmp(a, "--data"))
            o->data = v;
        else if (!strcmp(a, "--split"))
            o->split = v;
        else if (!strcmp(a, "--conf") || !strcmp(a, "--iou")) {
            double *d = !strcmp(a, "--conf") ? &o->conf : &o->iou;
            if (parse_double(cmd, a, v, d))
                return -1;
            if (*d > 1) {
                fprintf(stderr, "sinter %s: error: %s must be in [0, 1], got '%s'\n", cmd, a,
                        sn_cli_show(v));
                return -1;
            }
        } else if (!strcmp(a, "--max-det")) {
            if (parse_int(cmd, a, v, 1, 100000, &o->max_det))
                return -1;
        } else if (!strcmp(a, "--classes")) {
            const char *p = v;
            while (*p) {
                char num[16];
                size_t k = strcspn(p, ",");
                if (k == 0 || k >= sizeof num || o->nclasses >= 64) {
                    fprintf(stderr,
                            "sinter %s: error: --classes expects 0,2,… (at most 64), got "
                            "'%s'\n",
                            cmd, sn_cli_show(v));
                    return -1;
                }
                memcpy(num, p, k);
                num[k] = 0;
                if (parse_int(cmd, a, num, 0, 100000, &o->classes[o->nclasses++]))
                    return -1;
                p += k + (p[k] == ',');
            }
        } else if (!strcmp(a, "--accumulate")) {
            if (parse_int(cmd, a, v, 1, 1024, &o->accumulate))
                return -1;
        } else if (!strcmp(a, "--steps")) {
            if (parse_int(cmd, a, v, 1, 1000000, &o->steps))
                return -1;
        } else if (!strcmp(a, "--lr")) {
            if (parse_double(cmd, a, v, &o->lr))
                return -1;
        } else if (!strcmp(a, "--momentum")) {
            if (parse_double(cmd, a, v, &o->momentum))
                return -1;
        } else if (!strcmp(a, "--weight-decay")) {
            if (parse_double(cmd, a, v, &o->weight_decay))
                return -1;
        } else if (!strcmp(a, "--arch")) {
            const char *p = !strncmp(v, "sm_", 3) ? v + 3 : v;
            if (parse_int(cmd, a, p, 50, 200, &o->arch))
                return -1;
        } else if (!strcmp(a, "--nc")) {
            if (parse_int(cmd, a, v, 1, 100000, &o->nc))
                return -1;
        } else if (!strcmp(a, "--batch")) {
            if (parse_int(cmd, a, v, 1, 4096, &o->batch))
                return -1;
        } else if (!strcmp(a, "--workers")) {
            if (parse_int(cmd, a, v, 0, 2, &o->workers))
                return -1;
        } else if (!strcmp(a, "--threads")) {
            if (parse_int(cmd, a, v, 1, 1024, &o->threads))
                return -1;
        } else if (!strcmp(a, "--iters")) {
            if (parse_int(cmd, a, v, 1, 1000000, &o->iters))
                return -1;
        } else if (!strcmp(a, "--imgsz")) {
            if (sn_cli_parse_size(v, &o->height, &o->width)) {
                fprintf(stderr, "sinter %s: error: --imgsz expects S or HxW, got '%s'\n", cmd,
                        sn_cli_show(v));
                return -1;
            }
            if (o->height % 32 || o->width % 32) {
                fprintf(stderr,
                        "sinter %s: error: --imgsz %dx%d: height and width must be multiples "
                        "of 32 (the largest stride)\n",
                        cmd, o->height, o->width);
                return -1;
            }
        } else {
            fprintf(stderr, "sinter %s: error: unhandled option '%s'\n", cmd, sn_cli_show(a));
            return -1;
        }
    }
    if (o->dtype && strcmp(o->dtype, "f32") && strcmp(o->dtype, "f16") &&
        strcmp(o->dtype, "bf16")) {
        fprintf(stderr, "sinter %s: error: --dtype must be f32, f16 or bf16, got '%s'\n", cmd,
                sn_cli_show(o->dtype));
        return -1;
    }
    return 0;
}

sn_status sn_cli_load(const sn_cli_opts *o, sn_fe_model **m) {
    sn_model_options mo = {.model = o->model,
                           .scale = o->scale,
                           .nc = o->nc,
                           .batch = o->batch,
                           .height = o->height,
                           .width = o->width};
    return sn_eng_load(&mo, stderr, m);
}

sn_status sn_cli_output_check(const char *out, const char *const *inputs, int n, char *err,
                              size_t errlen) {
    enum { MAXIN = 8 };
    char model[MAXIN][4096], scale[16];
    const char *in[MAXIN];
    if (n > MAXIN)
        n = MAXIN;
    for (int i = 0; i < n; i++) {
        struct stat st;
        in[i] = inputs[i];
        if (in[i] && stat(in[i], &st) != 0 &&
            sn_fe_resolve(in[i], model[i], sizeof model[i], scale, sizeof scale) == SN_OK)
            in[i] = model[i]; /* a zoo name: its model file */
    }
    return sn_output_check(out, in, n, err, errlen);
}

const char *sn_cli_best_backend(void) { return sn_rt_cuda_available() ? "cuda" : "cpu"; }

int sn_cli_build(const sn_cli_opts *o, const char *cmd, int allow_ref, sn_eng_build *b) {
    memset(b, 0, sizeof *b);
    const char *name = o->backend ? o->backend : sn_cli_best_backend();
    b->backend = sn_cg_backend_find(name);
    int is_ref = allow_ref && !strcmp(name, "ref");
    if (!b->backend && !is_ref) {
        fprintf(stderr, "sinter %s: error: --backend must be one of %s%s, got '%s'\n", cmd,
                allow_ref ? "ref, " : "", sn_cg_backend_names(), sn_cli_show(name));
        return 2;
    }
    b->dtype = SN_DTYPE_F32;
    if (o->dtype && (sn_dtype_parse(o->dtype, &b->dtype) != SN_OK || b->dtype == SN_DTYPE_I32)) {
        fprintf(stderr, "sinter %s: error: --dtype must be f32, f16 or bf16, got '%s'\n", cmd,
                sn_cli_show(o->dtype));
        return 2;
    }
    if (is_ref && b->dtype != SN_DTYPE_F32) {
        fprintf(stderr,
                "sinter %s: error: the ref backend computes in f32 (double sums) only; "
                "--dtype %s is not offered\n",
                cmd, sn_dtype_name(b->dtype));
        return 2;
    }
    if (b->backend && !(b->backend->dtypes & SN_CG_DTYPE_BIT(b->dtype))) {
        char err[256];
        sn_cg_target t;
        sn_cg_backend_target(b->backend, &t, b->dtype, 0, err, sizeof err);
        fprintf(stderr, "sinter %s: error: %s\n", cmd, err);
        return 2;
    }
    b->eager = o->eager;
    b->arch = o->arch;
    b->threads = o->threads;
    b->dump_dir = o->dump_dir;
    return 0;
}

const char *sn_cli_commas(int64_t v, char *buf, size_t n) {
    char tmp[32];
    int len = snprintf(tmp, sizeof tmp, "%lld", (long long)(v < 0 ? -v : v));
    size_t j = 0;
    if (v < 0 && j + 1 < n)
        buf[j++] = '-';
    for (int i = 0; i < len && j + 2 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[j++] = ',';
        buf[j++] = tmp[i];
    }
    buf[j] = 0;
    return buf;
}

/* Bytes this process may still allocate: MemAvailable + SwapFree from /proc/meminfo, capped
 * by the cgroup's memory.max − memory.current when there is one. -1 when unknown. */
static double memory_available(void) {
    double avail = -1, swap = 0;
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            unsigned long long kb;
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
                avail = (double)kb * 1024.0;
            else if (sscanf(line, "SwapFree: %llu kB", &kb) == 1)
                swap = (double)kb * 1024.0;
        }
        fclose(f);
    }
    if (avail >= 0)
        avail += swap;
    unsigned long long max = 0, cur = 0;
    f = fopen("/sys/fs/cgroup/memory.max", "r");
    if (f) {
        if (fscanf(f, "%llu", &max) != 1)
            max = 0; /* "max": no limit */
        fclose(f);
    }
    f = fopen("/sys/fs/cgroup/memory.current", "r");
    if (f) {
        if (fscanf(f, "%llu", &cur) != 1)
            cur = 0;
        fclose(f);
    }
    if (max > 0 && max >= cur && (avail < 0 || (double)(max - cur) < avail))
        avail = (double)(max - cur);
    return avail;
}

/* "1.5 GiB" */
static const char *human_bytes(double b, char *buf, size_t n) {
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (b >= 1024.0 && u < 5) {
        b /= 1024.0;
        u++;
    }
    snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
    return buf;
}

/* Parses SINTER_MEMORY_LIMIT: bytes with an optional K/M/G/T suffix (powers of 1024), or 0 /
 * "none" for no check. Returns -2 when unset, -1 for "none", else the limit. */
static double memory_limit_env(const char *cmd, int *bad) {
    const char *v = getenv("SINTER_MEMORY_LIMIT");
    *bad = 0;
    if (!v || !*v)
        return -2;
    if (!strcmp(v, "none") || !strcmp(v, "0"))
        return -1;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    const char *suf = "KMGTP";
    const char *s = *end ? strchr(suf, *end) : NULL;
    if (s) {
        for (const char *q = suf; q <= s; q++)
            x *= 1024.0;
        end++;
        if (*end == 'i' && end[1] == 'B')
            end += 2;
        else if (*end == 'B')
            end++;
    }
    if (errno || end == v || *end || !(x > 0)) {
        fprintf(stderr,
                "sinter %s: error: SINTER_MEMORY_LIMIT='%s': expected bytes with an optional "
                "K/M/G/T suffix, or 'none'\n",
                cmd, sn_cli_show(v));
        *bad = 1;
    }
    return x;
}

const char *sn_cli_show(const char *s) {
    static char ring[4][1024];
    static int next;
    char *b = ring[next++ & 3];
    return sn_escape(s, b, sizeof ring[0]);
}

sn_status sn_cli_check_memory(const char *cmd, const sn_fe_model *m, int copies) {
    sn_ir_mem est;
    sn_ir_mem_estimate(m->graph, &est);
    /* The weights are held twice while a backend packs them (graph data + the packed blob);
     * each compiled copy (bench builds eager and fused) needs the largest step at least. */
    double need = 2.0 * est.weight_bytes + copies * est.step_bytes;
    int bad;
    double limit = memory_limit_env(cmd, &bad);
    if (bad)
        return SN_ERR_INVALID;
    if (limit == -1)
        return SN_OK;
    const char *what = "available";
    if (limit == -2)
        limit = memory_available();
    else
        what = "SINTER_MEMORY_LIMIT";
    if (limit < 0 || need <= limit)
        return SN_OK;
    const sn_ir_graph *g = m->graph;
    int big_w = est.param_bytes >= est.step_bytes && est.largest_param >= 0;
    const sn_ir_node *n = &g->nodes[big_w ? est.largest_param : est.largest_step];
    char b1[32], b2[32], b3[32], nm[256], src[256];
    sn_escape(sn_ir_str_get(g, n->name), nm, sizeof nm);
    sn_escape(sn_ir_str_get(g, n->src), src, sizeof src);
    fprintf(stderr,
            "sinter %s: error: %s (batch %d, %dx%d) needs at least %s of memory, more than the "
            "%s %s; the largest layer is %s%s%s%s%s (%s, %s)\n"
            "  (set SINTER_MEMORY_LIMIT=none to try anyway, or a size such as 64G)\n",
            cmd, m->name, m->batch, m->height, m->width, human_bytes(need, b1, sizeof b1), what,
            human_bytes(limit, b2, sizeof b2), sn_ir_op_info[n->op].name, *nm ? " " : "", nm,
            *src ? " at " : "", src, big_w ? "weights" : "output and inputs",
            human_bytes(big_w ? est.param_bytes : est.step_bytes, b3, sizeof b3));
    return SN_ERR_NOMEM;
}
