/* tests/snapshot/kernel_snapshot.c — the kernel snapshot: every kernel Sinter generates for
 * the zoo, hashed, against a checked-in list (kernels.txt). A refactor that must not change
 * generated code shows it by leaving this list byte-identical; a commit that changes kernels
 * on purpose regenerates the list and says why.
 *
 * For every zoo model (yolov8, yolo11, yolov5u at scales n–x, 640×640, batch 1, random:0
 * weights) and every build — cpu fused/eager, and cuda sm_80 / sm_90 × f32 / f16 / bf16 ×
 * fused/eager — the model goes through the pass pipeline and sn_cg_lower, and each kernel
 * contributes its name, spec, source (CUDA C; for the CPU the LLVM IR as built, before any
 * optimisation), launch shape and arguments to one XXH3-128 hash. One line per (model,
 * build): "yolov8n cuda-sm90-f16-fused 72 <hash>". The CPU target is fixed (AVX-512, 512-bit
 * vectors), so the list is the same on every machine.
 *
 *   kernel_snapshot FILE            compare with FILE; name each line that differs
 *   kernel_snapshot --quick FILE    the same for the n scales only (the default test run;
 *                                   the full comparison is labelled slow)
 *   kernel_snapshot --write FILE    regenerate FILE
 *   kernel_snapshot --list MODEL BUILD   one line per kernel (to find which one changed)
 */
#include "codegen/codegen.h"
#include "frontend/frontend.h"
#include "io/io.h"
#include "passes/passes.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const models[] = {
    "yolov8n", "yolov8s", "yolov8m",  "yolov8l",  "yolov8x",  "yolo11n",  "yolo11s",  "yolo11m",
    "yolo11l", "yolo11x", "yolov5nu", "yolov5su", "yolov5mu", "yolov5lu", "yolov5xu",
};

typedef struct build {
    char name[32];
    int cuda, sm, eager;
    sn_dtype dtype;
} build;

static int builds(build *b) {
    int n = 0;
    for (int eager = 0; eager < 2; eager++) {
        b[n] = (build){"", 0, 0, eager, SN_DTYPE_F32};
        snprintf(b[n].name, sizeof b[n].name, "cpu-%s", eager ? "eager" : "fused");
        n++;
    }
    static const int sms[2] = {80, 90};
    static const sn_dtype dts[3] = {SN_DTYPE_F32, SN_DTYPE_F16, SN_DTYPE_BF16};
    for (int s = 0; s < 2; s++)
        for (int d = 0; d < 3; d++)
            for (int eager = 0; eager < 2; eager++) {
                b[n] = (build){"", 1, sms[s], eager, dts[d]};
                snprintf(b[n].name, sizeof b[n].name, "cuda-sm%d-%s-%s", sms[s],
                         sn_dtype_name(dts[d]), eager ? "eager" : "fused");
                n++;
            }
    return n;
}

/* The CPU target every machine snapshots with. */
static void fixed_cpu_target(sn_cg_target *t) {
    memset(t, 0, sizeof *t);
    t->backend = &sn_cg_backend_cpu;
    t->dtype = SN_DTYPE_F32;
    snprintf(t->cpu_name, sizeof t->cpu_name, "skylake-avx512");
    snprintf(t->cpu_features, sizeof t->cpu_features,
             "+avx,+avx2,+fma,+f16c,+avx512f,+avx512bw,+avx512dq,+avx512vl");
    t->vector_bits = 512;
}

typedef struct hasher {
    const void *parts[64];
    size_t lens[64];
    int n;
    sn_rt_key acc;
} hasher;

static void put(hasher *h, const void *p, size_t len) {
    h->parts[h->n] = p;
    h->lens[h->n] = len;
    h->n++;
}
static void put_str(hasher *h, const char *s) { put(h, s ? s : "", s ? strlen(s) + 1 : 1); }

/* Folds the parts into the running hash (chained: acc = H(acc, parts…)). */
static sn_rt_key flush(hasher *h) {
    const void *parts[65];
    size_t lens[65];
    parts[0] = &h->acc;
    lens[0] = sizeof h->acc;
    for (int i = 0; i < h->n; i++) {
        parts[i + 1] = h->parts[i];
        lens[i + 1] = h->lens[i];
    }
    h->acc = sn_rt_key_of(parts, lens, h->n + 1);
    h->n = 0;
    return h->acc;
}

/* Lowers one model for one build; writes one line to out, or per-kernel lines when list. */
static int snapshot(const char *model, const build *b, FILE *out, int list) {
    sn_fe_options fo;
    sn_fe_options_default(&fo);
    sn_fe_model *m = NULL;
    char err[4096];
    if (sn_fe_model_load(model, &fo, &m) != SN_OK)
        return -1;
    int rc = -1;
    sn_cg_program *p = NULL;
    if (sn_io_weights_apply(m->graph, "random:0", err, sizeof err) != SN_OK)
        goto fail;
    sn_pass_options po;
    sn_pass_options_default(&po, b->eager);
    po.layout = SN_PASS_LAYOUT_NHWC;
    if (b->cuda)
        po.autocast = b->dtype;
    if (sn_pass_run_all(m->graph, &po, err, sizeof err) != SN_OK)
        goto fail;
    sn_cg_target t;
    if (b->cuda)
        sn_cg_target_cuda(&t, b->sm, b->dtype);
    else
        fixed_cpu_target(&t);
    if (sn_cg_lower(m->graph, &t, &p, err, sizeof err) != SN_OK)
        goto fail;
    hasher h;
    memset(&h, 0, sizeof h);
    for (int i = 0; i < p->nkernels; i++) {
        const sn_cg_kernel *k = &p->kernels[i];
        char *ir = NULL;
        if (!b->cuda && sn_cg_cpu_emit_ir(k, &t, &ir, err, sizeof err) != SN_OK)
            goto fail;
        hasher kh;
        memset(&kh, 0, sizeof kh);
        hasher *x = list ? &kh : &h; /* per kernel, or chained over the whole program */
        put_str(x, k->name);
        put_str(x, k->spec);
        put_str(x, b->cuda ? k->source : ir);
        put(x, &k->nargs, sizeof k->nargs);
        put(x, k->args, (size_t)k->nargs * sizeof k->args[0]);
        put(x, &k->tasks, sizeof k->tasks);
        put(x, k->grid, sizeof k->grid);
        put(x, k->block, sizeof k->block);
        put(x, &k->smem, sizeof k->smem);
        flush(x);
        free(ir);
        if (list) {
            char hex[33];
            sn_rt_key_hex(kh.acc, hex);
            fprintf(out, "%s %s %d %s %s\n", model, b->name, i, k->name, hex);
        }
    }
    /* library steps (cuBLASLt GEMMs), with their place in launch order; a program without
     * any hashes as it did before steps existed */
    int nlib = 0;
    for (int i = 0; i < p->nsteps; i++) {
        const sn_cg_step *s = &p->steps[i];
        if (s->kind == SN_RT_STEP_KERNEL)
            continue;
        nlib++;
        hasher kh;
        memset(&kh, 0, sizeof kh);
        hasher *x = list ? &kh : &h;
        put(x, &i, sizeof i);
        put_str(x, s->name);
        put(x, &s->gemm, sizeof s->gemm);
        put(x, &s->nargs, sizeof s->nargs);
        put(x, s->args, (size_t)s->nargs * sizeof s->args[0]);
        flush(x);
        if (list) {
            char hex[33];
            sn_rt_key_hex(kh.acc, hex);
            fprintf(out, "%s %s step%d %s %s\n", model, b->name, i, s->name, hex);
        }
    }
    if (!list) {
        char hex[33], count[32];
        sn_rt_key_hex(h.acc, hex);
        if (nlib)
            snprintf(count, sizeof count, "%d+%dgemm", p->nkernels, nlib);
        else
            snprintf(count, sizeof count, "%d", p->nkernels);
        fprintf(out, "%s %s %s %s\n", model, b->name, count, hex);
    }
    rc = 0;
fail:
    if (rc)
        fprintf(stderr, "kernel_snapshot: %s %s: %s\n", model, b->name, err);
    sn_cg_program_free(p);
    sn_fe_model_free(m);
    return rc;
}

/* "yolov8n", "yolov5nu": the n scale. */
static int is_n_scale(const char *m) {
    size_t n = strlen(m);
    return m[n - 1] == 'n' || (n > 2 && !strcmp(m + n - 2, "nu"));
}

/* quick: the n scale of each family only. */
static char *all_lines(int quick) {
    build b[16];
    int nb = builds(b);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "# model build kernels xxh3-128 (tests/snapshot/kernel_snapshot.c)\n");
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        for (int j = 0; j < nb && (!quick || is_n_scale(models[i])); j++)
            if (snapshot(models[i], &b[j], f, 0)) {
                fclose(f);
                free(buf);
                return NULL;
            }
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--list")) {
        build b[16];
        int nb = builds(b);
        for (int j = 0; j < nb; j++)
            if (!strcmp(b[j].name, argv[3]))
                return snapshot(argv[2], &b[j], stdout, 1) ? 1 : 0;
        fprintf(stderr, "kernel_snapshot: unknown build '%s'\n", argv[3]);
        return 2;
    }
    int write = argc == 3 && !strcmp(argv[1], "--write");
    int quick = argc == 3 && !strcmp(argv[1], "--quick");
    if (argc != 2 && !write && !quick) {
        fprintf(stderr, "usage: kernel_snapshot [--write|--quick] FILE | --list MODEL BUILD\n");
        return 2;
    }
    const char *path = argv[argc - 1];
    char *now = all_lines(quick);
    if (!now)
        return 1;
    if (write) {
        FILE *f = fopen(path, "w");
        int ok = f && fputs(now, f) >= 0;
        ok = f && fclose(f) == 0 && ok;
        free(now);
        if (!ok) {
            perror(path);
            return 1;
        }
        return 0;
    }
    char *want = NULL;
    size_t wlen = 0;
    char err[512];
    if (sn_read_file(path, &want, &wlen, err, sizeof err) != SN_OK) {
        fprintf(stderr, "kernel_snapshot: %s\n", err);
        free(now);
        return 1;
    }
    /* Line by line, so a failure names the (model, build) whose kernels changed. */
    int diffs = 0;
    char *sa = NULL, *sb = NULL;
    char *a = strtok_r(want, "\n", &sa);
    char *c = strtok_r(now, "\n", &sb);
    for (; a || c; a = strtok_r(NULL, "\n", &sa), c = strtok_r(NULL, "\n", &sb)) {
        /* --quick: skip the list's lines of the models it did not lower */
        while (quick && a && c && strncmp(a, c, strcspn(c, " ") + 1))
            a = strtok_r(NULL, "\n", &sa);
        if (quick && !c)
            break;
        if (a && c && !strcmp(a, c))
            continue;
        diffs++;
        printf("changed: %s\n     now: %s\n", a ? a : "(none)", c ? c : "(none)");
    }
    free(want);
    free(now);
    if (diffs) {
        printf("%d (model, build) lines differ from %s: a refactor changed generated kernels.\n"
               "If the change is meant, regenerate (kernel_snapshot --write %s) and say why in "
               "the commit; kernel_snapshot --list MODEL BUILD shows the kernels one by one.\n",
               diffs, path, path);
        return 1;
    }
    printf("%s: every kernel of the zoo%s unchanged\n", path, quick ? " (n scales)" : "");
    return 0;
}
