/* tests/passes/test_passes_zoo.c — the whole pipeline on the real models (yolov8n, yolo11n,
 * yolov5nu), fused (NCHW and NHWC) and eager:
 *  - at 640x640 (shapes only): every pass verifies; the group contract holds; the memory
 *    plan never overlaps two buffers that are live together; peak < naive sum; fused yolov8n
 *    has well under half as many groups as compute ops;
 *  - at 128x128 with random weights: the buffer-level simulation of the plan reads back every
 *    value exactly, and the pipeline (fold-bn, simplify) keeps the ref output (rel L2 1e-5).
 * Exits 77 (skipped) when the model files are not in the tree. */
#include "frontend/frontend.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

static char err[1024];

static sn_fe_model *load(const char *name, int hw) {
    sn_fe_options fo;
    sn_fe_options_default(&fo);
    fo.height = fo.width = hw;
    sn_fe_model *m = NULL;
    sn_status st = sn_fe_model_load(name, &fo, &m);
    CHECKF(st == SN_OK && m, "%s: cannot load (%s)", name, sn_status_str(st));
    return st == SN_OK ? m : NULL;
}

static void run_mode(const char *name, const sn_ir_graph *g0, int eager, sn_pass_layout layout,
                     int sim) {
    char what[128];
    snprintf(what, sizeof what, "%s %s%s", name, eager ? "eager" : "fused",
             layout == SN_PASS_LAYOUT_NHWC ? " nhwc" : "");
    sn_ir_graph *g = sn_ir_graph_clone(g0);
    int ops = sn_ir_count_ops(g);
    sn_pass_options o;
    sn_pass_options_default(&o, eager);
    o.layout = layout;
    sn_status st = sn_pass_run_all(g, &o, err, sizeof err);
    CHECKF(st == SN_OK, "%s: %s", what, err);
    if (st != SN_OK) {
        sn_ir_graph_free(g);
        return;
    }
    tl_check_groups(g, what);
    tl_check_memory(g, what);
    sn_pass_stats s;
    sn_pass_stats_get(g, &s);
    printf("%-22s %dx%d: %4d compute ops -> %4d groups, %3d views, %2d concats in place, "
           "peak %10lld B, naive %10lld B\n",
           what, (int)g0->nodes[g0->inputs[0]].shape.d[2], (int)g0->nodes[g0->inputs[0]].shape.d[3],
           ops, s.groups, s.views, s.inplace_concats, (long long)s.peak_bytes,
           (long long)s.naive_bytes);
    CHECKF(s.peak_bytes < s.naive_bytes, "%s: peak %lld not below naive %lld", what,
           (long long)s.peak_bytes, (long long)s.naive_bytes);
    if (!eager)
        CHECKF(2 * s.groups < ops, "%s: %d groups for %d ops", what, s.groups, ops);
    if (sim) {
        tl_check_sim(g, what);
        /* the passes keep the model's output */
        int64_t nx = sn_shape_numel(&g0->nodes[g0->inputs[0]].shape);
        int64_t no = sn_shape_numel(&g0->nodes[g0->outputs[0]].shape);
        float *x = malloc((size_t)nx * sizeof *x), *a = malloc((size_t)no * sizeof *a),
              *b = malloc((size_t)no * sizeof *b);
        fill_uniform(x, nx, 0, 1);
        const float *ins[1] = {x};
        float *oa[1] = {a}, *ob[1] = {b};
        CHECKF(sn_ir_ref_run(g0, ins, oa, err, sizeof err) == SN_OK, "%s", err);
        CHECKF(sn_ir_ref_run(g, ins, ob, err, sizeof err) == SN_OK, "%s", err);
        double e = rel_l2f(b, a, no);
        CHECKF(e <= 1e-5, "%s: the passes changed the output: rel L2 %g", what, e);
        free(x);
        free(a);
        free(b);
    }
    sn_ir_graph_free(g);
}

int main(void) {
    char path[1024], scale[16];
    if (sn_fe_resolve("yolov8n", path, sizeof path, scale, sizeof scale) != SN_OK) {
        printf("test_passes_zoo: model files not found; skipped\n");
        return 77;
    }
    static const char *const zoo[] = {"yolov8n", "yolo11n", "yolov5nu"};
    /* Ultralytics' fused parameter counts (reference/yolo-spec.md §4) */
    static const int64_t fused_params[] = {3151904, 2616248, 2649200};
    for (int z = 0; z < 3; z++) {
        sn_fe_model *m = load(zoo[z], 640);
        if (m) {
            sn_ir_graph *f = sn_ir_graph_clone(m->graph);
            sn_pass_options o;
            sn_pass_options_default(&o, 0);
            CHECKF(sn_pass_fold_bn(f, &o, err, sizeof err) == SN_OK, "%s", err);
            CHECKF(sn_ir_count_params(f) == fused_params[z], "%s: fused params %lld, want %lld",
                   zoo[z], (long long)sn_ir_count_params(f), (long long)fused_params[z]);
            sn_ir_graph_free(f);
            run_mode(zoo[z], m->graph, 0, SN_PASS_LAYOUT_NCHW, 0);
            run_mode(zoo[z], m->graph, 0, SN_PASS_LAYOUT_NHWC, 0);
            run_mode(zoo[z], m->graph, 1, SN_PASS_LAYOUT_NCHW, 0);
            sn_fe_model_free(m);
        }
        m = load(zoo[z], 128);
        if (m) {
            rnd_seed(11);
            tl_fill_params(m->graph);
            run_mode(zoo[z], m->graph, 0, SN_PASS_LAYOUT_NCHW, 1);
            run_mode(zoo[z], m->graph, 0, SN_PASS_LAYOUT_NHWC, 1);
            run_mode(zoo[z], m->graph, 1, SN_PASS_LAYOUT_NCHW, 1);
            sn_fe_model_free(m);
        }
    }
    return check_report("test_passes_zoo");
}
