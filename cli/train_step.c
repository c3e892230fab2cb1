/* cli/train_step.c — `sinter train-step`: Ultralytics' training step on one batch, through the
 * trainer of include/sinter.h. */
#include "cli/cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char help[] =
    "usage: sinter train-step MODEL --images X.npy --labels L.txt --output W2.safetensors\n"
    "                         [--weights W] [--optimizer SGD|AdamW] [--lr 0.01]\n"
    "                         [--momentum 0.937] [--weight-decay 0.0005] [--steps 1]\n"
    "                         [--accumulate N] [--grads G.safetensors] [--ema E.safetensors]\n"
    "                         [--backend cpu|ref] [--eager] [--threads N] [--nc N]\n"
    "                         [--scale S] [--json]\n"
    "\n"
    "Runs Ultralytics' training step STEPS times on one batch: forward in training mode\n"
    "(BatchNorm on batch statistics), v8DetectionLoss, backward, gradients clipped to a total\n"
    "norm of 10, the optimizer update with Ultralytics' parameter groups (conv weights with\n"
    "weight decay; BatchNorm weights and biases without; the DFL conv frozen), BatchNorm\n"
    "running statistics with momentum 0.03. Prints the loss items per step.\n"
    "  --images X.npy  (B, 3, H, W) float32 in [0, 1]; H and W multiples of 32\n"
    "  --labels L.txt  one box per line: batch_idx cls cx cy w h (normalised to the image)\n"
    "  --output W2     the weights and running statistics after the last step (safetensors,\n"
    "                  Ultralytics names), written only when every step succeeded\n"
    "  --grads G       the last step's gradients (before clipping), one per parameter\n"
    "  --accumulate N  the optimizer steps every N-th step on the sum of N gradients\n"
    "                  (Ultralytics' nominal batch; the loss is not divided by N)\n"
    "  --ema E         also keep Ultralytics' ModelEMA and write it after the last step\n"
    "  --optimizer     SGD (momentum, Nesterov, L2 decay) or AdamW (decoupled decay,\n"
    "                  betas (momentum, 0.999)); --weight-decay is applied as given\n"
    "  --backend       cpu (default): the step compiled as one plan (fused; --eager: one\n"
    "                  kernel per op); ref: the reference evaluator. CUDA training is not\n"
    "                  built yet\n";

/* the process's peak resident memory */
static double peak_rss_mb(void) {
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss / 1024.0 : 0.0;
}

int sn_cmd_train_step(int argc, char **argv) {
    if (sn_cli_help(argc, argv, help))
        return 0;
    sn_cli_opts o;
    if (sn_cli_parse(argc, argv, "train-step",
                     "--weights --images --labels --output --grads --optimizer --lr --momentum "
                     "--weight-decay --steps --backend --nc --scale --json --threads --accumulate "
                     "--ema --eager",
                     &o))
        return 2;
    if (!o.model || !o.images || !o.labels || !o.output) {
        fprintf(stderr,
                "sinter train-step: error: MODEL, --images, --labels and --output are "
                "required\n%s",
                help);
        return 2;
    }
    const char *inputs[4] = {o.model, o.images, o.labels, o.weights};
    char err[4096];
    if (sn_cli_output_check(o.output, inputs, 4, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter train-step: error: --output %s\n", err);
        return 1;
    }
    if (o.grads && sn_cli_output_check(o.grads, inputs, 4, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter train-step: error: --grads %s\n", err);
        return 1;
    }
    if (o.ema && sn_cli_output_check(o.ema, inputs, 4, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter train-step: error: --ema %s\n", err);
        return 1;
    }
    if ((o.grads && !strcmp(o.grads, o.output)) || (o.ema && !strcmp(o.ema, o.output)) ||
        (o.grads && o.ema && !strcmp(o.grads, o.ema))) {
        fprintf(stderr, "sinter train-step: error: --output, --grads and --ema must be "
                        "different files\n");
        return 1;
    }
    sn_shape is;
    float *x = NULL;
    if (sn_io_npy_read(o.images, &is, &x, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter train-step: error: %s\n", err);
        return 1;
    }
    char sb[64];
    if (is.ndim != 4 || is.d[0] < 1 || is.d[0] > 4096 || is.d[1] != 3 || is.d[2] % 32 ||
        is.d[3] % 32 || is.d[2] < 32 || is.d[3] < 32) {
        fprintf(stderr,
                "sinter train-step: error: %s: images of shape %s; expected (B, 3, H, W) with "
                "1 <= B <= 4096 and H, W multiples of 32\n",
                sn_cli_show(o.images), sn_shape_str(&is, sb, sizeof sb));
        free(x);
        return 1;
    }
    int64_t n = sn_shape_numel(&is);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) {
            fprintf(stderr, "sinter train-step: error: %s: element %lld is not finite (%g)\n",
                    sn_cli_show(o.images), (long long)i, x[i]);
            free(x);
            return 1;
        }
    int rc = 1;
    sn_session *s = NULL;
    sn_trainer *t = NULL;
    sn_io_labels lab = {0};
    sn_session_options so = {.backend = o.backend ? o.backend : "cpu", .threads = o.threads};
    if (sn_session_new(&so, &s) != SN_OK) {
        fprintf(stderr, "sinter train-step: error: %s\n", sn_session_error(s));
        goto done;
    }
    sn_model_options mo = {.model = o.model,
                           .scale = o.scale,
                           .nc = o.nc,
                           .batch = (int)is.d[0],
                           .height = (int)is.d[2],
                           .width = (int)is.d[3],
                           .weights = o.weights,
                           .eager = o.eager};
    sn_trainer_options to;
    sn_trainer_options_default(&to);
    if (o.optimizer)
        to.optimizer = o.optimizer;
    if (!isnan(o.lr))
        to.lr = o.lr;
    if (!isnan(o.momentum))
        to.momentum = o.momentum;
    if (!isnan(o.weight_decay))
        to.weight_decay = o.weight_decay;
    to.accumulate = o.accumulate > 0 ? o.accumulate : 1;
    to.ema = o.ema != NULL;
    if (sn_trainer_new(s, &mo, &to, &t) != SN_OK) {
        fprintf(stderr, "sinter train-step: error: %s\n", sn_session_error(s));
        goto done;
    }
    int nc = o.nc > 0 ? o.nc : 80;
    if (sn_io_labels_read(o.labels, (int)is.d[0], nc, &lab, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter train-step: error: %s\n", err);
        goto done;
    }
    int steps = o.steps > 0 ? o.steps : 1;
    if (o.json)
        printf("{\"steps\": [");
    for (int k = 0; k < steps; k++) {
        double l[4], t0 = sn_rt_now();
        if (sn_trainer_step(t, x, lab.rows, lab.n, l) != SN_OK) {
            if (o.json)
                printf("]}\n");
            fprintf(stderr, "sinter train-step: error: %s\n", sn_trainer_error(t));
            goto done;
        }
        double ms = (sn_rt_now() - t0) * 1e3; /* the first step includes compiling it */
        int up = sn_trainer_stepped(t);
        if (o.json)
            printf("%s\n  {\"step\": %d, \"box\": %.9g, \"cls\": %.9g, \"dfl\": %.9g, "
                   "\"total\": %.9g, \"optimizer_step\": %s, \"grad_norm\": %.9g, \"ms\": %.3f}",
                   k ? "," : "", k + 1, l[0], l[1], l[2], l[3], up ? "true" : "false",
                   sn_trainer_grad_norm(t), ms);
        else if (up)
            printf("step %d/%d  box %.6f  cls %.6f  dfl %.6f  total %.6f  grad_norm %.4f\n", k + 1,
                   steps, l[0], l[1], l[2], l[3], sn_trainer_grad_norm(t));
        else
            printf("step %d/%d  box %.6f  cls %.6f  dfl %.6f  total %.6f  (accumulating)\n", k + 1,
                   steps, l[0], l[1], l[2], l[3]);
        fflush(stdout);
    }
    sn_trainer_stats ts;
    sn_trainer_stats_get(t, &ts);
    if (o.json)
        printf("\n], \"peak_rss_mb\": %.1f, \"plan\": {\"ir_ops\": %d, \"kernels\": %d, "
               "\"host_steps\": %d, \"arena_bytes\": %lld, \"weight_bytes\": %lld, "
               "\"compile_s\": %.3f}}\n",
               peak_rss_mb(), ts.ir_ops, ts.kernels, ts.host_steps, (long long)ts.arena_bytes,
               (long long)ts.weight_bytes, ts.compile_s);
    else if (ts.kernels)
        fprintf(stderr,
                "plan: %d IR ops -> %d kernels + %d host steps; arena %.1f MB (activations "
                "saved for backward included), weights %.1f MB; built in %.2f s\n",
                ts.ir_ops, ts.kernels, ts.host_steps, (double)ts.arena_bytes / 1e6,
                (double)ts.weight_bytes / 1e6, ts.compile_s);
    if (o.grads && sn_trainer_save_grads(t, o.grads) != SN_OK) {
        fprintf(stderr, "sinter train-step: error: %s\n", sn_trainer_error(t));
        goto done;
    }
    if (o.ema && sn_trainer_save_ema(t, o.ema) != SN_OK) {
        fprintf(stderr, "sinter train-step: error: %s\n", sn_trainer_error(t));
        goto done;
    }
    if (sn_trainer_save(t, o.output) != SN_OK) {
        fprintf(stderr, "sinter train-step: error: %s\n", sn_trainer_error(t));
        goto done;
    }
    rc = 0;
done:
    sn_io_labels_free(&lab);
    sn_trainer_free(t);
    sn_session_free(s);
    free(x);
    return rc;
}
