/* cli/run.c — `sinter run`: one forward pass on a .npy input. */
#include "cli/cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char run_help[] =
    "usage: sinter run MODEL|W.pt --input X.npy --output Y.npy [--weights W] [--backend B]\n"
    "                  [--eager] [--dtype f32|f16|bf16] [--threads N] [--nc N] [--scale S]\n"
    "                  [--check-finite]\n"
    "\n"
    "Runs one forward pass. Batch and image size come from the input's shape (B, 3, H, W),\n"
    "float32 or float16, H and W multiples of 32. The output is Ultralytics' decoded Detect\n"
    "output (B, 4+nc, anchors): cx, cy, w, h in input pixels, then class scores. It is\n"
    "written atomically: a failed run leaves no partial or stale file.\n"
    "MODEL is a zoo name or model file; an Ultralytics .pt checkpoint as MODEL brings its\n"
    "model (family and scale), its weights and its classes (nc).\n"
    "  --weights W   a .safetensors file keyed by Ultralytics state_dict names, an\n"
    "                Ultralytics .pt checkpoint (its nc unless --nc is given), or\n"
    "                random[:SEED] (default random:0)\n"
    "  --backend B   ref (the plain-C reference evaluator), cpu (LLVM JIT) or cuda;\n"
    "                default: cuda when a GPU is present, else cpu\n"
    "  --eager       one kernel per IR op (no fusion, no BN folding)\n"
    "  --threads N   CPU worker threads (default: all cores)\n"
    "  --check-finite  also evaluate the model with ref, checking every op's output, and\n"
    "                fail naming the first op (and its model-file line) that produced a NaN\n"
    "                or Inf. Without it, a NaN/Inf in the output is only a warning.\n"
    "The input must match the model's input exactly: (B, 3, H, W) with B >= 1. A model that\n"
    "cannot fit in the available memory is refused before any work (SINTER_MEMORY_LIMIT=none\n"
    "or a size such as 64G overrides the check).\n";

/* A NaN or Inf in the output would read as "no detections" or as garbage boxes: say so. */
static void warn_nonfinite(const float *y, const sn_shape *s) {
    int64_t n = sn_shape_numel(s), nan = 0, inf = 0, first = -1;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(y[i])) {
            nan += isnan(y[i]) != 0;
            inf += isinf(y[i]) != 0;
            if (first < 0)
                first = i;
        }
    if (first < 0)
        return;
    int64_t a = s->d[2], r = s->d[1];
    fprintf(stderr,
            "sinter run: warning: the output holds %lld NaN and %lld Inf values (the first at "
            "[%lld, %lld, %lld]); --check-finite names the op that produced the first one\n",
            (long long)nan, (long long)inf, (long long)(first / (r * a)),
            (long long)(first / a % r), (long long)(first % a));
}

/* --check-finite: evaluates g with ref, checking every op's output, and fails naming the first
 * op that produced a NaN or Inf (an input or a weight that holds one is named as such). */
static sn_status check_finite(const sn_ir_graph *g, const float *x, const char *input) {
    const sn_ir_node *on = &g->nodes[g->outputs[0]];
    float *y = malloc((size_t)sn_shape_numel(&on->shape) * sizeof *y);
    if (!y) {
        fprintf(stderr, "sinter run: error: out of memory\n");
        return SN_ERR_NOMEM;
    }
    const float *ins[1] = {x};
    float *outs[1] = {y};
    sn_ir_ref_nonfinite nf;
    char err[1024];
    sn_status st = sn_ir_ref_run_checked(g, ins, outs, &nf, err, sizeof err);
    free(y);
    if (st != SN_OK) {
        fprintf(stderr, "sinter run: error: %s\n", err);
        return st;
    }
    if (nf.node < 0) {
        fprintf(stderr, "sinter run: check-finite: every op's output is finite (ref)\n");
        return SN_OK;
    }
    const sn_ir_node *n = &g->nodes[nf.node];
    char name[256], src[256], sb[64], what[1200];
    sn_escape(sn_ir_str_get(g, n->name), name, sizeof name);
    sn_escape(sn_ir_str_get(g, n->src), src, sizeof src);
    sn_shape_str(&n->shape, sb, sizeof sb);
    if (n->op == SN_OP_INPUT)
        snprintf(what, sizeof what, "the input %s %s holds", sn_cli_show(input), sb);
    else if (n->op == SN_OP_PARAM || n->op == SN_OP_CONST)
        snprintf(what, sizeof what, "the weight %s %s holds", *name ? name : "(unnamed)", sb);
    else
        snprintf(what, sizeof what,
                 "%s%s%s%s%s (op %%%d, output %s), whose inputs are all finite, produced", src,
                 *src ? ": " : "", sn_ir_op_info[n->op].name, *name ? " " : "", name, (int)nf.node,
                 sb);
    fprintf(stderr,
            "sinter run: error: check-finite: %s %lld NaN and %lld Inf values (the first, %g, at "
            "flat index %lld)\n",
            what, (long long)nf.nan, (long long)nf.inf, (double)nf.value, (long long)nf.index);
    return SN_ERR_INVALID;
}

int sn_cmd_run(int argc, char **argv) {
    if (sn_cli_help(argc, argv, run_help))
        return 0;
    sn_cli_opts o;
    if (sn_cli_parse(argc, argv, "run",
                     "--weights --input --output --backend --eager --dtype --threads --nc "
                     "--scale --check-finite",
                     &o))
        return 2;
    if (!o.model || !o.input || !o.output) {
        fprintf(stderr, "sinter run: error: MODEL, --input and --output are required\n%s",
                run_help);
        return 2;
    }
    const char *inputs[3] = {o.model, o.input, o.weights}; /* never overwritten by --output */
    char oerr[2048];
    if (sn_cli_output_check(o.output, inputs, 3, oerr, sizeof oerr) != SN_OK) {
        fprintf(stderr, "sinter run: error: --output %s\n", oerr);
        return 1;
    }
    sn_eng_build b;
    if (sn_cli_build(&o, "run", 1, &b))
        return 2;
    char err[4096], model[4096];
    /* a checkpoint (as MODEL or --weights) says its classes: --nc only overrides */
    sn_io_pt_meta meta;
    const char *weights = o.weights;
    if (sn_eng_model_arg(o.model, model, sizeof model, &weights, &meta, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter run: error: %s\n", err);
        return 1;
    }
    o.model = model;
    o.weights = weights;
    if (o.nc <= 0 && meta.nc > 0)
        o.nc = meta.nc;
    sn_io_pt_meta_free(&meta);
    sn_shape ishape;
    float *x = NULL;
    if (sn_io_npy_read(o.input, &ishape, &x, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter run: error: %s\n", err);
        return 1;
    }
    char sb[64];
    if (ishape.ndim != 4 || ishape.d[1] != 3 || ishape.d[2] % 32 || ishape.d[3] % 32 ||
        ishape.d[2] < 32 || ishape.d[3] < 32) {
        fprintf(stderr,
                "sinter run: error: %s: input shape %s; expected (B, 3, H, W) with H and W "
                "multiples of 32\n",
                sn_cli_show(o.input), sn_shape_str(&ishape, sb, sizeof sb));
        free(x);
        return 1;
    }
    if (ishape.d[0] < 1) {
        fprintf(stderr, "sinter run: error: %s: input shape %s holds no image (batch %lld)\n",
                sn_cli_show(o.input), sn_shape_str(&ishape, sb, sizeof sb), (long long)ishape.d[0]);
        free(x);
        return 1;
    }
    o.batch = ishape.d[0] > 1 << 20 ? 1 << 20 : (int)ishape.d[0]; /* the frontend refuses it */
    o.height = (int)ishape.d[2];
    o.width = (int)ishape.d[3];

    sn_fe_model *m = NULL;
    if (sn_cli_load(&o, &m) != SN_OK) {
        free(x);
        return 1;
    }
    int rc = 1;
    float *y = NULL;
    sn_rt_device *dev = NULL;
    sn_eng_compiled c;
    memset(&c, 0, sizeof c);
    /* The whole shape, not just what the model was built from: a model file may fix its own
     * input size, and whatever reads x below trusts the model's input shape. */
    const sn_shape *mshape = &m->graph->nodes[m->graph->inputs[0]].shape;
    if (!sn_shape_eq(mshape, &ishape)) {
        char mb[64];
        fprintf(stderr,
                "sinter run: error: %s: input shape %s does not match the model's input %s\n",
                sn_cli_show(o.input), sb, sn_shape_str(mshape, mb, sizeof mb));
        goto done;
    }
    if (sn_cli_check_memory("run", m, 1) != SN_OK)
        goto done;
    if (sn_io_weights_apply(m->graph, o.weights ? o.weights : "random:0", err, sizeof err) !=
        SN_OK) {
        fprintf(stderr, "sinter run: error: %s\n", err);
        goto done;
    }
    const sn_ir_node *on = &m->graph->nodes[m->graph->outputs[0]];
    sn_shape oshape = on->shape;
    y = malloc((size_t)sn_shape_numel(&oshape) * sizeof *y);
    if (!y) {
        fprintf(stderr, "sinter run: error: out of memory\n");
        goto done;
    }
    if (o.check_finite && check_finite(m->graph, x, o.input) != SN_OK)
        goto done;
    if (!b.backend) { /* ref */
        const float *ins[1] = {x};
        float *outs[1] = {y};
        if (sn_ir_ref_run(m->graph, ins, outs, err, sizeof err) != SN_OK) {
            fprintf(stderr, "sinter run: error: %s\n", err);
            goto done;
        }
    } else {
        if (sn_rt_device_open(b.backend->device, o.threads, &dev, err, sizeof err) != SN_OK) {
            fprintf(stderr, "sinter run: error: %s\n", err);
            goto done;
        }
        if (sn_eng_compile(m->graph, &b, dev, &c, err, sizeof err) != SN_OK) {
            fprintf(stderr, "sinter run: error: %s\n", err);
            goto done;
        }
        const void *ins[1] = {x};
        void *outs[1] = {y};
        if (sn_rt_plan_run(c.plan, ins, outs, err, sizeof err) != SN_OK) {
            fprintf(stderr, "sinter run: error: %s\n", err);
            goto done;
        }
    }
    warn_nonfinite(y, &oshape);
    if (sn_io_npy_write(o.output, &oshape, y, SN_DTYPE_F32, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter run: error: %s\n", err);
        goto done;
    }
    rc = 0;
done:
    sn_eng_compiled_free(&c);
    sn_rt_device_close(dev);
    free(y);
    free(x);
    sn_fe_model_free(m);
    return rc;
}
