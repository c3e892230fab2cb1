/* tests/codegen_cpu/test_cg_cpu_models.c — whole zoo graphs at 128×128 through the pass
 * pipeline (NHWC) and the CPU codegen, fused and eager, against the ref evaluator run on the
 * graph before the passes (so BN folding, fusion, views and the memory plan are all under
 * test). Random weights. */
#include "frontend/frontend.h"
#include "io/io.h"
#include "passes/passes.h"
#include "tests/codegen_cpu/cg_harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* f32 end to end vs the double-accumulating ref over ~100 layers. yolo11n's attention
 * (C2PSA) is the exception: with random weights its logits reach ~1e4, and softmax turns the
 * f32 rounding of q·k (rel 2e-6, abs 2e-2) into ~5e-4 relative error on its output — the
 * same on any f32 backend; per kernel everything stays at f32 rounding (SN_CGT_BISECT=1
 * shows it). */
#define TOL 1e-4
#define TOL_ATTENTION 2e-3

/* What a NaN/Inf case poisons (test_nonfinite); NULL: nothing. */
typedef struct poison {
    const char *what;
    const char *param; /* a PARAM's state_dict name, element `at` set to `value`; or NULL: */
    int64_t at;
    float value; /* … the input pixel (channel 1, row 20, col 37) set to `value` */
} poison;

static const poison *cur_poison;

static void poison_input(int i, float *x, int64_t n) {
    (void)i;
    (void)n;
    x[64 * 64 + 20 * 64 + 37] = cur_poison->value;
}

static void model_case(const char *name, int size, int eager, const poison *ps) {
    sn_fe_options fo;
    sn_fe_options_default(&fo);
    fo.height = fo.width = size;
    sn_fe_model *m = NULL;
    if (sn_fe_model_load(name, &fo, &m) != SN_OK) {
        CGT_CHECK(0, "%s: model load failed", name);
        return;
    }
    sn_io_weights_random(m->graph, 1234);
    if (ps && ps->param) {
        int32_t p = sn_ir_find_param(m->graph, ps->param);
        CGT_CHECK(p >= 0, "%s: no param %s", name, ps->param);
        if (p >= 0)
            sn_ir_node_data(m->graph, p)[ps->at] = ps->value;
    }
    sn_ir_graph *ref = sn_ir_graph_clone(m->graph);
    sn_pass_options po;
    sn_pass_options_default(&po, eager);
    po.layout = SN_PASS_LAYOUT_NHWC;
    char err[1024] = "";
    if (sn_pass_run_all(m->graph, &po, err, sizeof err) != SN_OK) {
        CGT_CHECK(0, "%s: passes: %s", name, err);
    } else if (ps) {
        char what[128];
        snprintf(what, sizeof what, "%s @%d %s %s", name, size, ps->what,
                 eager ? "eager" : "fused");
        cur_poison = ps;
        int64_t nf = 0;
        cgt_run_compare_nonfinite(m->graph, ref, what, 3, TOL, ps->param ? NULL : poison_input,
                                  &nf);
        CGT_CHECK(nf > 0, "%s: ref has no NaN/Inf output: the case tests nothing", what);
    } else {
        char what[96];
        snprintf(what, sizeof what, "%s @%d %s", name, size, eager ? "eager" : "fused");
        cgt_run_compare_ref(m->graph, ref, what, 3, strstr(name, "yolo11") ? TOL_ATTENTION : TOL);
    }
    sn_ir_graph_free(ref);
    sn_fe_model_free(m);
}

/* NaN / ±Inf through yolov8n at 64×64, fused and eager, equal to ref by class (every element
 * ref gives as NaN, +Inf or -Inf exactly that on the backend): a NaN / +Inf / -Inf pixel, a
 * NaN weight in a 3x3 conv (Winograd-shaped), a negative BN running_var (folded into the
 * conv: NaN weights). With the network's receptive field every output element turns
 * non-finite in ref; the old codegen gave "no detections" (finite) instead. */
static int test_nonfinite(void) {
    static const poison ps[] = {
        {"NaN pixel", NULL, 0, NAN},
        {"+Inf pixel", NULL, 0, INFINITY},
        {"-Inf pixel", NULL, 0, -INFINITY},
        {"NaN weight (model.2.m.0.cv1)", "model.2.m.0.cv1.conv.weight", 40, NAN},
        {"running_var < 0 (model.4.cv1.bn)", "model.4.cv1.bn.running_var", 3, -0.5f},
    };
    for (int eager = 0; eager < 2; eager++)
        for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
            model_case("yolov8n", 64, eager, &ps[i]);
    return cgt_report("test_cg_cpu_models nonfinite");
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "nonfinite") == 0)
        return test_nonfinite();
    const char *models[] = {"yolov8n", "yolo11n", "yolov5nu"};
    int size = argc > 1 ? atoi(argv[1]) : 128;
    for (int i = 0; i < 3; i++)
        for (int eager = 0; eager < 2; eager++)
            model_case(models[i], size, eager, NULL);
    return cgt_report("test_cg_cpu_models");
}
