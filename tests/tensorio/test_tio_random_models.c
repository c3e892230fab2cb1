/* Random weights on whole zoo models (n scale, 256x256): the ref forward on an input image
 * uniform in [0, 1) is finite and non-degenerate — class scores spread around 0.5 rather than
 * stuck at 0.5 (vanished activations) or at 0/1 (exploded ones), and boxes of many sizes. */
#include "check.h"

static void check_model(const char *name) {
    sn_fe_options o;
    sn_fe_options_default(&o);
    o.height = o.width = 256;
    sn_fe_model *m = NULL;
    CHECKF(sn_fe_model_load(name, &o, &m) == SN_OK, "%s does not load", name);
    if (!m)
        return;
    sn_ir_graph *g = m->graph;
    sn_io_weights_random(g, 0);
    const sn_ir_node *out = &g->nodes[g->outputs[0]];
    CHECK(out->shape.ndim == 3 && out->shape.d[1] == 4 + m->nc);
    int64_t nin = sn_shape_numel(&g->nodes[g->inputs[0]].shape), nout = sn_shape_numel(&out->shape);
    float *x = malloc((size_t)nin * 4), *y = malloc((size_t)nout * 4);
    uint64_t s = 2024;
    for (int64_t k = 0; k < nin; k++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[k] = (float)((double)(s >> 40) / 16777216.0);
    }
    for (int64_t k = 0; k < nout; k++)
        y[k] = NAN; /* poisoned */
    const float *ins[1] = {x};
    float *outs[1] = {y};
    char err[512];
    CHECKF(sn_ir_ref_run(g, ins, outs, err, sizeof err) == SN_OK, "%s: %s", name, err);
    int64_t C = out->shape.d[1], A = out->shape.d[2], bad = 0, mid = 0;
    double cm = 0, cq = 0, wm = 0, wq = 0;
    for (int64_t k = 0; k < nout; k++)
        bad += !isfinite(y[k]);
    for (int64_t c = 4; c < C; c++)
        for (int64_t a = 0; a < A; a++) {
            double v = y[c * A + a];
            cm += v;
            cq += v * v;
            mid += v > 0.02 && v < 0.98;
        }
    for (int64_t c = 2; c < 4; c++)
        for (int64_t a = 0; a < A; a++) {
            double v = y[c * A + a];
            wm += v;
            wq += v * v;
            CHECK(v >= 0); /* widths and heights */
        }
    double n = (double)((C - 4) * A), csd = sqrt(cq / n - (cm / n) * (cm / n));
    double wsd = sqrt(wq / (2.0 * A) - (wm / (2.0 * A)) * (wm / (2.0 * A)));
    printf("%s: class score mean %.3f sd %.3f, %.0f%% in (0.02, 0.98); box w/h mean %.1f sd %.1f\n",
           name, cm / n, csd, 100.0 * mid / n, wm / (2.0 * A), wsd);
    CHECKF(bad == 0, "%s: %lld non-finite outputs", name, (long long)bad);
    CHECKF(csd > 0.08 && csd < 0.35, "%s: class score sd %g", name, csd);
    CHECKF(mid > 0.7 * n, "%s: class scores saturated", name);
    CHECKF(wsd > 10.0, "%s: box sizes all alike (sd %g)", name, wsd);
    free(x);
    free(y);
    sn_fe_model_free(m);
}

int main(void) {
    check_model("yolov8n");
    check_model("yolo11n");
    check_model("yolov5nu");
    return check_report("tio_random_models");
}
