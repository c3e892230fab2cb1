/* tests/lang/test_lang_ref.c — the zoo graphs run on ir's ref evaluator with random weights
 * and give plausible detections: every value finite, class scores in [0, 1], and for every
 * anchor the decoded box agrees with its anchor point and stride — the DFL expectation of
 * each side lies in [0, 15], so |cx / stride − ax| ≤ 7.5 and 0 ≤ w / stride ≤ 30. This
 * checks the anchor order (stride 8, 16, 32; row-major within a level) and the strides
 * end to end. Output parity with PyTorch is tests/parity's job. */
#include "check.h"

#include <math.h>

static void run(const char *name, int batch, int h, int w) {
    sn_fe_model *m = load(name, NULL, 0, batch, h, w);
    CHECK(m);
    if (!m)
        return;
    sn_ir_graph *g = m->graph;
    sn_io_weights_random(g, 1234);
    const sn_shape *is = &g->nodes[g->inputs[0]].shape, *os = &g->nodes[g->outputs[0]].shape;
    int64_t ni = sn_shape_numel(is), no = sn_shape_numel(os);
    float *in = malloc((size_t)ni * sizeof *in), *out = malloc((size_t)no * sizeof *out);
    uint64_t st = 88172645463325252ull;
    for (int64_t i = 0; i < ni; i++) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        in[i] = (float)(st >> 40) / (float)(1 << 24); /* [0, 1) like a normalised image */
    }
    for (int64_t i = 0; i < no; i++)
        out[i] = NAN; /* poison */
    char err[512] = "";
    const float *ins[1] = {in};
    float *outs[1] = {out};
    sn_status s = sn_ir_ref_run(g, ins, outs, err, sizeof err);
    CHECKF(s == SN_OK, "%s: ref: %s", name, err);
    int64_t A = os->d[2], nc = os->d[1] - 4, bad = 0, badbox = 0;
    for (int b = 0; b < batch && s == SN_OK; b++) {
        int64_t a = 0;
        for (int level = 0; level < 3; level++) {
            int stride = 8 << level, gh = h / stride, gw = w / stride;
            for (int y = 0; y < gh; y++)
                for (int x = 0; x < gw; x++, a++) {
                    const float *o = out + (int64_t)b * (4 + nc) * A;
                    double cx = o[0 * A + a] / stride, cy = o[1 * A + a] / stride;
                    double bw = o[2 * A + a] / stride, bh = o[3 * A + a] / stride;
                    if (!(fabs(cx - (x + 0.5)) <= 7.5 + 1e-3 &&
                          fabs(cy - (y + 0.5)) <= 7.5 + 1e-3 && bw >= -1e-3 && bw <= 30 + 1e-3 &&
                          bh >= -1e-3 && bh <= 30 + 1e-3)) {
                        if (badbox++ < 3)
                            fprintf(stderr,
                                    "%s: anchor %lld (level %d, y %d, x %d): box %g %g %g %g\n",
                                    name, (long long)a, level, y, x, cx, cy, bw, bh);
                    }
                    for (int64_t c = 0; c < nc; c++) {
                        float v = o[(4 + c) * A + a];
                        if (!(v >= 0 && v <= 1))
                            bad++;
                    }
                }
        }
        CHECK(a == A);
    }
    CHECKF(badbox == 0, "%s: %lld boxes disagree with their anchors", name, (long long)badbox);
    CHECKF(bad == 0, "%s: %lld class scores outside [0, 1]", name, (long long)bad);
    if (s == SN_OK)
        printf("%s %dx%dx%d: ok (first box %.1f %.1f %.1f %.1f, score %.3f)\n", name, batch, h, w,
               out[0], out[A], out[2 * A], out[3 * A], out[4 * A]);
    free(in);
    free(out);
    sn_fe_model_free(m);
}

int main(void) {
    run("yolov8n", 1, 128, 128);
    run("yolo11n", 2, 96, 128);
    run("yolov5nu", 1, 128, 96);
    return check_report("test_lang_ref");
}
