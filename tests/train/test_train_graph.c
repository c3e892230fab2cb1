/* tests/train/test_train_graph.c — the training graph (passes/train.h) of each zoo family at
 * 64x64, batch 2, random weights:
 *   - its outputs: the loss, one gradient per trainable PARAM (every PARAM but the BatchNorm
 *     running statistics and the frozen DFL conv), two running statistics per BatchNorm, each
 *     with its PARAM's shape; no BATCHNORM op is left;
 *   - ref runs it: a finite loss, finite gradients, running statistics that moved;
 *   - with the probe loss (a fixed random linear functional of the head's features: smooth, unlike
 *     the detection loss, whose target scores move with the predictions but are not
 *     differentiated, as in Ultralytics), the gradient of a handful of weights (backbone conv, a
 *     BatchNorm weight, a head bias, a class-branch weight) equals central finite differences
 *     of the total through the whole network, BatchNorm's batch statistics included. The
 *     detection loss's own gradient is checked against Ultralytics (tests/ir/det_loss_*) and the
 *     whole step against PyTorch (train_parity.py). */
#include "engine/engine.h"
#include "passes/train.h"
#include "tests/common/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double run_total(sn_ir_graph *g, const float *const *ins, float **outs) {
    char err[512];
    if (sn_ir_ref_run(g, ins, outs, err, sizeof err) != SN_OK) {
        fprintf(stderr, "ref: %s\n", err);
        return NAN;
    }
    return (double)outs[0][0] + outs[0][1] + outs[0][2];
}

static void family(const char *model) {
    sn_model_options mo = {.model = model, .batch = 2, .height = 96, .width = 96};
    sn_fe_model *m = NULL;
    char err[1024];
    CHECKF(sn_eng_load(&mo, stderr, &m) == SN_OK, "%s: load", model);
    if (!m)
        return;
    sn_io_weights_random(m->graph, 3);
    int nparam = 0, nbn = 0, nfrozen = 0;
    for (int32_t i = 0; i < m->graph->nnodes; i++) {
        const sn_ir_node *n = &m->graph->nodes[i];
        if (n->op == SN_OP_BATCHNORM)
            nbn++;
        if (n->op != SN_OP_PARAM)
            continue;
        if (n->flags & SN_IR_NODE_FROZEN)
            nfrozen++;
        else if (n->ia[0] != SN_IR_INIT_BN_MEAN && n->ia[0] != SN_IR_INIT_BN_VAR)
            nparam++;
    }
    sn_ir_graph *g = sn_ir_graph_clone(m->graph);
    sn_train_options to;
    sn_train_options_default(&to);
    to.cap = 4;
    sn_train_info info;
    sn_status st = sn_train_build(g, &to, &info, err, sizeof err);
    CHECKF(st == SN_OK, "%s: %s", model, err);
    if (st != SN_OK) {
        sn_ir_graph_free(g);
        sn_fe_model_free(m);
        return;
    }
    CHECK(info.nc == 80 && info.reg_max == 16);
    CHECK(nfrozen == 1);
    CHECKF(info.nbn == nbn && info.nout == 1 + nparam + 2 * nbn,
           "%s: %d outputs for %d params and %d BatchNorms", model, info.nout, nparam, nbn);
    for (int32_t i = 0; i < g->nnodes; i++)
        CHECKF(g->nodes[i].op != SN_OP_BATCHNORM, "%s: a BATCHNORM is left", model);
    for (int k = 1; k < info.nout; k++) {
        int32_t p = sn_ir_find_param(m->graph, info.out[k].name);
        CHECKF(p >= 0 && sn_shape_eq(&m->graph->nodes[p].shape, &g->nodes[g->outputs[k]].shape),
               "%s: output %d (%s)", model, k, info.out[k].name);
        CHECK(info.out[k].kind == (k <= nparam ? SN_TRAIN_OUT_GRAD : SN_TRAIN_OUT_RUNNING));
    }
    /* inputs: the images, and targets with boxes of several sizes; image 1 has none */
    float *x = malloc(2 * 3 * 96 * 96 * sizeof *x);
    fill_uniform(x, 2 * 3 * 96 * 96, 0.f, 1.f);
    float tg[2 * 4 * 5];
    for (int r = 0; r < 8; r++) {
        tg[r * 5] = -1.f;
        tg[r * 5 + 1] = tg[r * 5 + 2] = tg[r * 5 + 3] = tg[r * 5 + 4] = 0.f;
    }
    const float boxes[3][5] = {{3, 4, 6, 60, 58}, {17, 30, 10, 42, 20}, {0, 8, 40, 12, 44}};
    memcpy(tg, boxes, sizeof boxes);
    const float *ins[2] = {x, tg};
    float **outs = calloc((size_t)info.nout, sizeof *outs);
    for (int k = 0; k < info.nout; k++)
        outs[k] = malloc((size_t)sn_shape_numel(&g->nodes[g->outputs[k]].shape) * sizeof(float));
    double total = run_total(g, ins, outs);
    CHECKF(isfinite(total) && total > 0, "%s: total loss %g", model, total);
    printf("%s: loss box %.5f cls %.5f dfl %.5f (x batch)\n", model, outs[0][0], outs[0][1],
           outs[0][2]);
    int finite = 1, moved = 0;
    for (int k = 1; k < info.nout; k++) {
        int32_t p = sn_ir_find_param(m->graph, info.out[k].name);
        int64_t n = sn_shape_numel(&g->nodes[g->outputs[k]].shape);
        for (int64_t i = 0; i < n; i++) {
            finite &= isfinite(outs[k][i]) != 0;
            if (info.out[k].kind == SN_TRAIN_OUT_RUNNING &&
                outs[k][i] != m->graph->nodes[p].data[i])
                moved = 1;
        }
    }
    CHECKF(finite, "%s: a gradient or statistic is not finite", model);
    CHECKF(moved, "%s: no running statistic moved", model);
    /* finite differences of the probe on a few weights: the first conv, a BatchNorm weight, the
     * box branch's last bias, the class branch's last weight */
    for (int k = 0; k < info.nout; k++)
        free(outs[k]);
    free(outs);
    sn_train_info_free(&info);
    sn_ir_graph_free(g);
    g = sn_ir_graph_clone(m->graph);
    to.probe_seed = 5;
    st = sn_train_build(g, &to, &info, err, sizeof err);
    CHECKF(st == SN_OK, "%s: probe: %s", model, err);
    outs = calloc((size_t)info.nout, sizeof *outs);
    for (int k = 0; k < info.nout; k++)
        outs[k] = malloc((size_t)sn_shape_numel(&g->nodes[g->outputs[k]].shape) * sizeof(float));
    const char *probe[4] = {"model.0.conv.weight", "model.1.bn.weight", NULL, NULL};
    char b3[96], c3[96];
    int last = 0;
    for (int k = 1; k < info.nout; k++)
        if (strstr(info.out[k].name, ".cv3.2.2.weight") ||
            strstr(info.out[k].name, ".cv3.2.2.bias"))
            sscanf(info.out[k].name, "model.%d.", &last);
    snprintf(b3, sizeof b3, "model.%d.cv2.0.2.bias", last);
    snprintf(c3, sizeof c3, "model.%d.cv3.1.2.weight", last);
    probe[2] = b3;
    probe[3] = c3;
    run_total(g, ins, outs); /* the gradients, once */
    /* the forward alone for the differences: a clone whose only output is the loss */
    sn_ir_graph *fg = sn_ir_graph_clone(g);
    for (int k = 1; k < fg->noutputs; k++)
        fg->nodes[fg->outputs[k]].flags &= ~SN_IR_NODE_OUTPUT;
    fg->noutputs = 1;
    for (int q = 0; q < 4; q++) {
        int k = 1;
        while (k < info.nout && strcmp(info.out[k].name, probe[q]))
            k++;
        CHECKF(k < info.nout, "%s: no gradient for %s", model, probe[q]);
        if (k >= info.nout)
            continue;
        int32_t tp = -1;
        for (int32_t i = 0; i < fg->nnodes; i++)
            if (fg->nodes[i].op == SN_OP_PARAM &&
                !strcmp(sn_ir_str_get(fg, fg->nodes[i].name), probe[q]))
                tp = i;
        int64_t n = sn_shape_numel(&fg->nodes[tp].shape);
        for (int e = 0; e < 2; e++) {
            int64_t i = (int64_t)(rnd_u64() % (uint64_t)n);
            float *w = &fg->nodes[tp].data[i], v = *w;
            double an = outs[k][i];
            /* at several step sizes: a right gradient agrees at one of them (large steps see
             * curvature, small ones f32 rounding); a wrong one (a lost factor, a wrong index)
             * at none */
            static const float steps[4] = {1e-2f, 3e-3f, 1e-3f, 3e-4f};
            double fd[4];
            int ok = 0;
            for (int s = 0; s < 4; s++) {
                float h = steps[s] * fmaxf(fabsf(v), 0.05f);
                *w = v + h;
                double hp = (double)*w - v, lp = run_total(fg, ins, outs);
                *w = v - h;
                double hm = v - (double)*w, lm = run_total(fg, ins, outs);
                *w = v;
                fd[s] = (lp - lm) / (hp + hm);
                ok |= fabs(fd[s] - an) <= 2e-2 * fabs(an) + 1e-6;
            }
            CHECKF(ok,
                   "%s: d probe / d %s[%lld]: autodiff %.6g, finite differences %.6g %.6g %.6g "
                   "%.6g",
                   model, probe[q], (long long)i, an, fd[0], fd[1], fd[2], fd[3]);
        }
    }
    sn_ir_graph_free(fg);
    for (int k = 0; k < info.nout; k++)
        free(outs[k]);
    free(outs);
    free(x);
    sn_train_info_free(&info);
    sn_ir_graph_free(g);
    sn_fe_model_free(m);
}

int main(int argc, char **argv) {
    (void)argc, (void)argv;
    rnd_seed(11);
    family("yolov8n");
    family("yolo11n");
    family("yolov5nu");
    return check_report("train_graph");
}
