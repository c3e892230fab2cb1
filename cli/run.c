/* cli/run.c — `sinter run`: one forward pass on a .npy input. */
#include "cli/driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char run_help[] =
    "usage: sinter run MODEL --input X.npy --output Y.npy [--weights W] [--backend B]\n"
    "                  [--eager] [--dtype f32|f16|bf16] [--threads N] [--nc N] [--scale S]\n"
    "\n"
    "Runs one forward pass. Batch and image size come from the input's shape (B, 3, H, W),\n"
    "float32 or float16, H and W multiples of 32. The output is Ultralytics' decoded Detect\n"
    "output (B, 4+nc, anchors): cx, cy, w, h in input pixels, then class scores. It is\n"
    "written atomically: a failed run leaves no partial or stale file.\n"
    "  --weights W   a .safetensors file keyed by Ultralytics state_dict names, or\n"
    "                random[:SEED] (default random:0)\n"
    "  --backend B   ref (the plain-C reference evaluator), cpu (LLVM JIT) or cuda;\n"
    "                default: cuda when a GPU is present, else cpu\n"
    "  --eager       one kernel per IR op (no fusion, no BN folding)\n"
    "  --threads N   CPU worker threads (default: all cores)\n";

const char *sn_cli_best_backend(void) { return sn_rt_cuda_available() ? "cuda" : "cpu"; }

int sn_cmd_run(int argc, char **argv) {
    if (sn_cli_help(argc, argv, run_help))
        return 0;
    sn_cli_opts o;
    if (sn_cli_parse(argc, argv, "run",
                     "--weights --input --output --backend --eager --dtype --threads --nc "
                     "--scale",
                     &o))
        return 2;
    if (!o.model || !o.input || !o.output) {
        fprintf(stderr, "sinter run: error: MODEL, --input and --output are required\n%s",
                run_help);
        return 2;
    }
    const char *backend = o.backend ? o.backend : sn_cli_best_backend();
    if (strcmp(backend, "ref") && strcmp(backend, "cpu") && strcmp(backend, "cuda")) {
        fprintf(stderr, "sinter run: error: --backend must be ref, cpu or cuda, got '%s'\n",
                backend);
        return 2;
    }
    char err[4096];
    sn_shape ishape;
    float *x = NULL;
    if (sn_fe_npy_read(o.input, &ishape, &x, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter run: error: %s\n", err);
        return 1;
    }
    char sb[64];
    if (ishape.ndim != 4 || ishape.d[1] != 3 || ishape.d[2] % 32 || ishape.d[3] % 32 ||
        ishape.d[2] < 32 || ishape.d[3] < 32) {
        fprintf(stderr,
                "sinter run: error: %s: input shape %s; expected (B, 3, H, W) with H and W "
                "multiples of 32\n",
                o.input, sn_shape_str(&ishape, sb, sizeof sb));
        free(x);
        return 1;
    }
    o.batch = (int)ishape.d[0];
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
    sn_drv_compiled c;
    memset(&c, 0, sizeof c);
    if (sn_fe_weights_apply(m->graph, o.weights ? o.weights : "random:0", err, sizeof err) !=
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
    if (!strcmp(backend, "ref")) {
        const float *ins[1] = {x};
        float *outs[1] = {y};
        if (sn_ir_ref_run(m->graph, ins, outs, err, sizeof err) != SN_OK) {
            fprintf(stderr, "sinter run: error: %s\n", err);
            goto done;
        }
    } else {
        if (sn_rt_device_open(backend, o.threads, &dev, err, sizeof err) != SN_RT_OK) {
            fprintf(stderr, "sinter run: error: %s\n", err);
            goto done;
        }
        sn_drv_build b = sn_drv_build_of(&o, backend);
        if (sn_drv_compile(m->graph, &b, dev, &c, err, sizeof err) != SN_OK) {
            fprintf(stderr, "sinter run: error: %s\n", err);
            goto done;
        }
        const void *ins[1] = {x};
        void *outs[1] = {y};
        if (sn_rt_plan_run(c.plan, ins, outs, err, sizeof err) != SN_RT_OK) {
            fprintf(stderr, "sinter run: error: %s\n", err);
            goto done;
        }
    }
    if (sn_fe_npy_write(o.output, &oshape, y, SN_DTYPE_F32, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter run: error: %s\n", err);
        goto done;
    }
    rc = 0;
done:
    sn_drv_compiled_free(&c);
    sn_rt_device_close(dev);
    free(y);
    free(x);
    sn_fe_model_free(m);
    return rc;
}
