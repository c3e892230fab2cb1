/* tests/lang/test_lang_zoo.c — the zoo models against Ultralytics' published numbers
 * (reference/yolo-spec.md §1.4, §3, §4): parameter counts (exact), fused counts, conv GFLOPs
 * (±0.1), state_dict key counts, sample key names and shapes, per-layer parameter counts and
 * resolved arguments, output shapes, provenance, and the IR verifier. */
#include "check.h"

#include <math.h>

/* What the state_dict of the model would hold. */
typedef struct Counts {
    int64_t params; /* as model.parameters(): no running statistics */
    int64_t fused;  /* after folding BN: each BN of C channels → −4C + C */
    int64_t keys;   /* state_dict entries: PARAM tensors + num_batches_tracked per BN */
    double gflops;  /* 2 × conv MACs */
} Counts;

static Counts count(const sn_fe_model *m) {
    const sn_ir_graph *g = m->graph;
    Counts c = {0};
    c.params = sn_ir_count_params(g);
    c.fused = c.params;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->op == SN_OP_PARAM)
            c.keys++;
        if (n->op == SN_OP_BATCHNORM) {
            int64_t ch = g->nodes[n->in[1]].shape.d[0];
            c.fused += -2 * ch + ch; /* weight+bias (2C, counted) go; the conv gains a bias (C) */
            c.keys++;
        }
    }
    c.gflops = 2.0 * (double)sn_ir_count_conv_macs(g) / 1e9;
    return c;
}

static void expect_counts(const char *name, int nc, int64_t params, int64_t fused, double gflops,
                          int64_t keys) {
    sn_fe_model *m = load(name, NULL, nc, 0, 0, 0);
    CHECKF(m, "%s", name);
    if (!m)
        return;
    Counts c = count(m);
    CHECKF(c.params == params, "%s nc=%d: params %lld, want %lld", name, nc, (long long)c.params,
           (long long)params);
    if (fused >= 0)
        CHECKF(c.fused == fused, "%s: fused params %lld, want %lld", name, (long long)c.fused,
               (long long)fused);
    if (gflops >= 0)
        CHECKF(fabs(c.gflops - gflops) <= 0.1, "%s: GFLOPs %.3f, want %.1f ± 0.1", name, c.gflops,
               gflops);
    if (keys >= 0)
        CHECKF(c.keys == keys, "%s: state_dict keys %lld, want %lld", name, (long long)c.keys,
               (long long)keys);
    char err[512];
    CHECKF(sn_ir_verify(m->graph, "frontend", err, sizeof err) == SN_OK, "%s: verify: %s", name,
           err);
    printf(
        "%-9s nc=%-2d params %11lld  fused %11lld  GFLOPs %7.3f  keys %4lld  layers %d  nodes %d\n",
        m->name, m->nc, (long long)c.params, (long long)c.fused, c.gflops, (long long)c.keys,
        m->nlayers, m->graph->nnodes);
    sn_fe_model_free(m);
}

static void expect_param(const sn_fe_model *m, const char *name, sn_shape want) {
    int32_t p = sn_ir_find_param(m->graph, name);
    CHECKF(p >= 0, "%s: no parameter '%s'", m->name, name);
    if (p < 0)
        return;
    char a[96], b[96];
    CHECKF(sn_shape_eq(&m->graph->nodes[p].shape, &want), "%s: %s has shape %s, want %s", m->name,
           name, sn_shape_str(&m->graph->nodes[p].shape, a, sizeof a),
           sn_shape_str(&want, b, sizeof b));
}

#define S(...)                                                                                     \
    ((sn_shape){(int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), {__VA_ARGS__}})

static void expect_layer_params(const char *name, const int64_t *want, int n) {
    sn_fe_model *m = load(name, NULL, 0, 0, 0, 0);
    CHECK(m);
    if (!m)
        return;
    CHECKF(m->nlayers == n, "%s: %d layers, want %d", name, m->nlayers, n);
    for (int i = 0; i < n && i < m->nlayers; i++)
        CHECKF(m->layers[i].params == want[i], "%s layer %d (%s %s): params %lld, want %lld", name,
               i, m->layers[i].module, m->layers[i].args, (long long)m->layers[i].params,
               (long long)want[i]);
    sn_fe_model_free(m);
}

static void test_counts(void) {
    /* reference/yolo-spec.md §4 */
    expect_counts("yolov8n", 0, 3157200, 3151904, 8.7, 355);
    expect_counts("yolov8s", 0, 11166560, 11156544, 28.6, 355);
    expect_counts("yolov8m", 0, 25902640, -1, -1, -1);
    expect_counts("yolov8l", 0, 43691520, -1, -1, -1);
    expect_counts("yolov8x", 0, 68229648, -1, -1, -1);
    expect_counts("yolo11n", 0, 2624080, 2616248, 6.5, 499);
    expect_counts("yolo11s", 0, 9458752, 9443760, 21.5, 499);
    expect_counts("yolo11m", 0, 20114688, -1, -1, -1);
    expect_counts("yolo11l", 0, 25372160, -1, -1, -1);
    expect_counts("yolo11x", 0, 56966176, -1, -1, -1);
    expect_counts("yolov5nu", 0, 2654816, 2649200, 7.7, 427);
    expect_counts("yolov5su", 0, 9153152, 9142496, 24.0, 427);
    /* nc = 1 variants */
    expect_counts("yolov8n", 1, 3011043, -1, -1, 355);
    expect_counts("yolo11n", 1, 2590035, -1, -1, 499);
    expect_counts("yolov5nu", 1, 2508659, -1, -1, 427);
    /* yolov5m/l/x u: the spec gives no exact numbers; they must build and verify */
    const char *more[] = {"yolov5mu", "yolov5lu", "yolov5xu"};
    for (int i = 0; i < 3; i++) {
        sn_fe_model *m = load(more[i], NULL, 0, 0, 0, 0);
        CHECKF(m, "%s", more[i]);
        if (!m)
            continue;
        char err[512];
        CHECKF(sn_ir_verify(m->graph, "frontend", err, sizeof err) == SN_OK, "%s: %s", more[i],
               err);
        Counts c = count(m);
        printf("%-9s nc=%-2d params %11lld  GFLOPs %7.3f  (no reference)\n", m->name, m->nc,
               (long long)c.params, c.gflops);
        sn_fe_model_free(m);
    }
}

static void test_layers(void) {
    /* §1.4 parse_model logs */
    static const int64_t v8n[] = {464,    4672,   7360,   18560,  49664,  73984,  197632, 295424,
                                  460288, 164608, 0,      0,      148224, 0,      0,      37248,
                                  36992,  0,      123648, 147712, 0,      493056, 897664};
    static const int64_t v8s[] = {928,     18560,  29056,  73984,  197632, 295424,  788480, 1180672,
                                  1838080, 656896, 0,      0,      591360, 0,       0,      148224,
                                  147712,  0,      493056, 590336, 0,      1969152, 2147008};
    static const int64_t y11n[] = {464,    4672,   6640,   36992, 26080,  147712, 87040,  295424,
                                   346112, 164608, 249728, 0,     0,      111296, 0,      0,
                                   32096,  36992,  0,      86720, 147712, 0,      378880, 464912};
    static const int64_t y11s[] = {928,    18560,   26080,   147712, 103360,  590336,
                                   346112, 1180672, 1380352, 656896, 990976,  0,
                                   0,      443776,  0,       0,      127680,  147712,
                                   0,      345472,  590336,  0,      1511424, 850368};
    static const int64_t v5nu[] = {
        1760,  4672, 4800, 18560, 29184, 73984, 156928, 295424, 296448, 164608, 33024,  0,     0,
        90880, 8320, 0,    0,     22912, 36992, 0,      74496,  147712, 0,      296448, 897664};
    expect_layer_params("yolov8n", v8n, 23);
    expect_layer_params("yolov8s", v8s, 23);
    expect_layer_params("yolo11n", y11n, 24);
    expect_layer_params("yolo11s", y11s, 24);
    expect_layer_params("yolov5nu", v5nu, 25);

    sn_fe_model *m = load("yolov8n", NULL, 0, 0, 0, 0);
    CHECK(m);
    if (!m)
        return;
    CHECK(strcmp(m->name, "yolov8n") == 0 && strcmp(m->scale, "n") == 0 && m->nc == 80);
    CHECK(strcmp(m->layers[0].module, "Conv") == 0 &&
          strcmp(m->layers[0].args, "[3, 16, 3, 2]") == 0);
    CHECKF(strcmp(m->layers[2].args, "[32, 32, 1, True]") == 0, "%s", m->layers[2].args);
    CHECKF(strcmp(m->layers[4].args, "[64, 64, 2, True]") == 0, "%s", m->layers[4].args);
    CHECKF(strcmp(m->layers[9].args, "[256, 256, 5]") == 0, "%s", m->layers[9].args);
    CHECKF(strcmp(m->layers[10].args, "[None, 2, 'nearest']") == 0, "%s", m->layers[10].args);
    CHECKF(strcmp(m->layers[11].args, "[1]") == 0 && m->layers[11].nfrom == 2 &&
               m->layers[11].from[0] == -1 && m->layers[11].from[1] == 6,
           "%s", m->layers[11].args);
    CHECKF(strcmp(m->layers[12].args, "[384, 128, 1]") == 0, "%s", m->layers[12].args);
    CHECKF(strcmp(m->layers[22].module, "Detect") == 0 &&
               strcmp(m->layers[22].args, "[80, [64, 128, 256]]") == 0,
           "%s", m->layers[22].args);
    CHECK(m->layers[22].nfrom == 3 && m->layers[22].from[0] == 15 && m->layers[22].from[2] == 21);
    CHECK(m->layers[4].repeats == 2 && m->layers[8].repeats == 1);
    sn_fe_model_free(m);

    m = load("yolo11n", NULL, 0, 0, 0, 0);
    CHECK(m);
    if (m) {
        CHECKF(strcmp(m->layers[2].args, "[32, 64, 1, False, 0.25]") == 0, "%s", m->layers[2].args);
        CHECKF(strcmp(m->layers[10].args, "[256, 256, 1]") == 0, "%s", m->layers[10].args);
        CHECKF(strcmp(m->layers[23].args, "[80, [64, 128, 256], legacy=False]") == 0, "%s",
               m->layers[23].args);
        sn_fe_model_free(m);
    }
    m = load("yolo11m", NULL, 0, 0, 0, 0); /* c3k forced true at m/l/x; C2PSA n = 1 */
    CHECK(m);
    if (m) {
        CHECKF(strcmp(m->layers[2].args, "[128, 256, 1, True, 0.25]") == 0, "%s",
               m->layers[2].args);
        CHECKF(strcmp(m->layers[10].args, "[512, 512, 1]") == 0, "%s", m->layers[10].args);
        sn_fe_model_free(m);
    }
    m = load("yolov5xu", NULL, 0, 0, 0, 0); /* 3 × 1.33 = 3.99 → 4; 9 × 1.33 = 11.97 → 12 */
    CHECK(m);
    if (m) {
        CHECK(m->layers[2].repeats == 4 && m->layers[6].repeats == 12 && m->layers[4].repeats == 8);
        sn_fe_model_free(m);
    }
}

static void test_keys(void) {
    sn_fe_model *m = load("yolov8n", NULL, 0, 0, 0, 0);
    CHECK(m);
    if (!m)
        return;
    expect_param(m, "model.0.conv.weight", S(16, 3, 3, 3));
    expect_param(m, "model.0.bn.weight", S(16));
    expect_param(m, "model.0.bn.running_mean", S(16));
    expect_param(m, "model.1.conv.weight", S(32, 16, 3, 3));
    expect_param(m, "model.2.cv1.conv.weight", S(32, 32, 1, 1));
    expect_param(m, "model.2.cv1.bn.running_var", S(32));
    expect_param(m, "model.2.cv2.conv.weight", S(32, 48, 1, 1));
    expect_param(m, "model.2.m.0.cv1.conv.weight", S(16, 16, 3, 3));
    expect_param(m, "model.2.m.0.cv2.conv.weight", S(16, 16, 3, 3));
    expect_param(m, "model.4.m.1.cv2.conv.weight", S(32, 32, 3, 3));
    expect_param(m, "model.8.cv2.conv.weight", S(256, 384, 1, 1));
    expect_param(m, "model.9.cv1.conv.weight", S(128, 256, 1, 1));
    expect_param(m, "model.9.cv2.conv.weight", S(256, 512, 1, 1));
    expect_param(m, "model.12.cv1.conv.weight", S(128, 384, 1, 1));
    expect_param(m, "model.15.cv2.conv.weight", S(64, 96, 1, 1));
    expect_param(m, "model.21.m.0.cv2.conv.weight", S(128, 128, 3, 3));
    expect_param(m, "model.22.cv2.0.0.conv.weight", S(64, 64, 3, 3));
    expect_param(m, "model.22.cv2.1.0.conv.weight", S(64, 128, 3, 3));
    expect_param(m, "model.22.cv2.2.0.conv.weight", S(64, 256, 3, 3));
    expect_param(m, "model.22.cv2.0.1.conv.weight", S(64, 64, 3, 3));
    expect_param(m, "model.22.cv2.0.2.weight", S(64, 64, 1, 1));
    expect_param(m, "model.22.cv2.0.2.bias", S(64));
    expect_param(m, "model.22.cv3.0.0.conv.weight", S(80, 64, 3, 3));
    expect_param(m, "model.22.cv3.2.0.conv.weight", S(80, 256, 3, 3));
    expect_param(m, "model.22.cv3.0.1.conv.weight", S(80, 80, 3, 3));
    expect_param(m, "model.22.cv3.0.2.weight", S(80, 80, 1, 1));
    expect_param(m, "model.22.cv3.0.2.bias", S(80));
    expect_param(m, "model.22.dfl.conv.weight", S(1, 16, 1, 1));
    int32_t dfl = sn_ir_find_param(m->graph, "model.22.dfl.conv.weight");
    if (dfl >= 0) {
        CHECK(m->graph->nodes[dfl].flags & SN_IR_NODE_FROZEN);
        CHECK(m->graph->nodes[dfl].ia[0] == SN_IR_INIT_ARANGE);
    }
    int32_t w0 = sn_ir_find_param(m->graph, "model.0.conv.weight");
    if (w0 >= 0)
        CHECK(m->graph->nodes[w0].ia[0] == SN_IR_INIT_CONV_WEIGHT &&
              !(m->graph->nodes[w0].flags & SN_IR_NODE_FROZEN));
    CHECK(sn_ir_find_param(m->graph, "model.0.conv.bias") < 0);
    CHECK(sn_ir_find_param(m->graph, "model.0.bn.num_batches_tracked") < 0);
    /* BN eps is Ultralytics' 1e-3; every node has provenance; ops carry their module path */
    int bn = 0, nosrc = 0;
    for (int32_t i = 0; i < m->graph->nnodes; i++) {
        const sn_ir_node *n = &m->graph->nodes[i];
        if (n->op == SN_OP_BATCHNORM) {
            bn++;
            CHECK(fabs(n->fa[0] - 1e-3) < 1e-12);
        }
        if (!n->src)
            nosrc++;
    }
    CHECK(bn == 57);
    CHECKF(nosrc == 0, "%d nodes without provenance", nosrc);
    const sn_ir_node *c0 = NULL;
    for (int32_t i = 0; i < m->graph->nnodes && !c0; i++)
        if (m->graph->nodes[i].op == SN_OP_CONV2D)
            c0 = &m->graph->nodes[i];
    CHECK(c0 && strcmp(sn_ir_str_get(m->graph, c0->name), "model.0.conv") == 0);
    CHECKF(c0 && strstr(sn_ir_str_get(m->graph, c0->src), "models/yolov8.sn:") ==
                     sn_ir_str_get(m->graph, c0->src),
           "%s", c0 ? sn_ir_str_get(m->graph, c0->src) : "");
    CHECK(m->graph->ninputs == 1 &&
          strcmp(sn_ir_str_get(m->graph, m->graph->nodes[m->graph->inputs[0]].name), "images") ==
              0);
    sn_fe_model_free(m);

    m = load("yolo11n", NULL, 0, 0, 0, 0);
    CHECK(m);
    if (!m)
        return;
    expect_param(m, "model.2.m.0.cv1.conv.weight", S(8, 16, 3, 3));  /* Bottleneck e = 0.5 */
    expect_param(m, "model.6.m.0.cv1.conv.weight", S(32, 64, 1, 1)); /* C3k */
    expect_param(m, "model.6.m.0.cv3.conv.weight", S(64, 64, 1, 1));
    expect_param(m, "model.6.m.0.m.0.cv1.conv.weight", S(32, 32, 3, 3));
    expect_param(m, "model.6.m.0.m.1.cv2.conv.weight", S(32, 32, 3, 3));
    expect_param(m, "model.10.cv1.conv.weight", S(256, 256, 1, 1));
    expect_param(m, "model.10.cv2.conv.weight", S(256, 256, 1, 1));
    expect_param(m, "model.10.m.0.attn.qkv.conv.weight", S(256, 128, 1, 1));
    expect_param(m, "model.10.m.0.attn.proj.conv.weight", S(128, 128, 1, 1));
    expect_param(m, "model.10.m.0.attn.pe.conv.weight", S(128, 1, 3, 3));
    expect_param(m, "model.10.m.0.attn.pe.bn.running_var", S(128));
    expect_param(m, "model.10.m.0.ffn.0.conv.weight", S(256, 128, 1, 1));
    expect_param(m, "model.10.m.0.ffn.1.conv.weight", S(128, 256, 1, 1));
    expect_param(m, "model.23.cv2.0.0.conv.weight", S(64, 64, 3, 3));
    expect_param(m, "model.23.cv3.0.0.0.conv.weight", S(64, 1, 3, 3));
    expect_param(m, "model.23.cv3.0.0.1.conv.weight", S(80, 64, 1, 1));
    expect_param(m, "model.23.cv3.0.1.0.conv.weight", S(80, 1, 3, 3));
    expect_param(m, "model.23.cv3.0.1.1.conv.weight", S(80, 80, 1, 1));
    expect_param(m, "model.23.cv3.0.2.weight", S(80, 80, 1, 1));
    expect_param(m, "model.23.cv3.0.2.bias", S(80));
    expect_param(m, "model.23.cv3.2.0.0.conv.weight", S(256, 1, 3, 3));
    expect_param(m, "model.23.dfl.conv.weight", S(1, 16, 1, 1));
    sn_fe_model_free(m);

    m = load("yolov5nu", NULL, 0, 0, 0, 0);
    CHECK(m);
    if (!m)
        return;
    expect_param(m, "model.0.conv.weight", S(16, 3, 6, 6));
    expect_param(m, "model.2.m.0.cv1.conv.weight", S(16, 16, 1, 1));
    expect_param(m, "model.2.m.0.cv2.conv.weight", S(16, 16, 3, 3));
    expect_param(m, "model.2.cv3.conv.weight", S(32, 32, 1, 1));
    expect_param(m, "model.24.cv2.0.0.conv.weight", S(64, 64, 3, 3));
    expect_param(m, "model.24.cv3.0.0.conv.weight", S(80, 64, 3, 3));
    expect_param(m, "model.24.dfl.conv.weight", S(1, 16, 1, 1));
    sn_fe_model_free(m);
}

static void expect_output(const char *name, int batch, int h, int w, sn_shape want) {
    sn_fe_model *m = load(name, NULL, 0, batch, h, w);
    CHECK(m);
    if (!m)
        return;
    CHECK(m->graph->noutputs == 1);
    const sn_shape *s = &m->graph->nodes[m->graph->outputs[0]].shape;
    char a[96], b[96];
    CHECKF(sn_shape_eq(s, &want), "%s %dx%dx%d: output %s, want %s", name, batch, h, w,
           sn_shape_str(s, a, sizeof a), sn_shape_str(&want, b, sizeof b));
    const sn_shape *in = &m->graph->nodes[m->graph->inputs[0]].shape;
    CHECK(sn_shape_eq(in, &S(batch, 3, h, w)));
    CHECK(m->batch == batch && m->height == h && m->width == w);
    sn_fe_model_free(m);
}

static void test_outputs(void) {
    expect_output("yolov8n", 1, 640, 640, S(1, 84, 8400));
    expect_output("yolov8n", 2, 384, 640, S(2, 84, 5040));
    expect_output("yolo11n", 1, 640, 640, S(1, 84, 8400));
    expect_output("yolo11s", 2, 384, 640, S(2, 84, 5040));
    expect_output("yolov5nu", 1, 640, 640, S(1, 84, 8400));
    expect_output("yolov5su", 2, 384, 640, S(2, 84, 5040));
    sn_fe_model *m = load("yolov8n", NULL, 3, 1, 320, 320);
    CHECK(m && sn_shape_eq(&m->graph->nodes[m->graph->outputs[0]].shape, &S(1, 7, 2100)));
    sn_fe_model_free(m);
}

static void test_resolve(void) {
    char path[1024], scale[8];
    CHECK(sn_fe_resolve("yolov8n", path, sizeof path, scale, sizeof scale) == SN_OK);
    CHECK(strstr(path, "models/yolov8.sn") && strcmp(scale, "n") == 0);
    CHECK(sn_fe_resolve("yolo11x", path, sizeof path, scale, sizeof scale) == SN_OK);
    CHECK(strstr(path, "models/yolo11.sn") && strcmp(scale, "x") == 0);
    CHECK(sn_fe_resolve("yolov5su", path, sizeof path, scale, sizeof scale) == SN_OK);
    CHECK(strstr(path, "models/yolov5u.sn") && strcmp(scale, "s") == 0);
    CHECK(sn_fe_resolve("yolov8", path, sizeof path, scale, sizeof scale) == SN_OK &&
          scale[0] == 0);
    CHECK(sn_fe_resolve("yolov9n", path, sizeof path, scale, sizeof scale) == SN_ERR_INVALID);
    CHECK(sn_fe_resolve("nonsense", path, sizeof path, scale, sizeof scale) == SN_ERR_INVALID);
    CHECK(sn_fe_resolve(SN_SOURCE_DIR "/models/yolov8.sn", path, sizeof path, scale,
                        sizeof scale) == SN_OK &&
          scale[0] == 0);

    /* a file path takes the model's first scale unless one is given */
    sn_fe_model *m = load(SN_SOURCE_DIR "/models/yolov8.sn", NULL, 0, 0, 0, 0);
    CHECK(m && strcmp(m->scale, "n") == 0 && strcmp(m->name, "yolov8n") == 0);
    sn_fe_model_free(m);
    m = load(SN_SOURCE_DIR "/models/yolov5u.sn", "s", 0, 0, 0, 0);
    CHECK(m && strcmp(m->name, "yolov5su") == 0 && sn_ir_count_params(m->graph) == 9153152);
    sn_fe_model_free(m);
    m = load("yolov8n", "s", 0, 0, 0, 0); /* an explicit scale wins over the zoo name */
    CHECK(m && strcmp(m->name, "yolov8s") == 0);
    sn_fe_model_free(m);

    sn_fe_options o;
    sn_fe_options_default(&o);
    CHECK(o.batch == 1 && o.height == 640 && o.width == 640 && o.nc == 0 && !o.scale && !o.diag);
    FILE *d = tmpfile();
    o.diag = d;
    m = (sn_fe_model *)1;
    CHECK(sn_fe_model_load("yolov9n", &o, &m) == SN_ERR_INVALID && m == NULL);
    o.height = 650;
    CHECK(sn_fe_model_load("yolov8n", &o, &m) == SN_ERR_INVALID && m == NULL);
    o.height = 640;
    o.scale = "q";
    CHECK(sn_fe_model_load("yolov8n", &o, &m) == SN_ERR_INVALID && m == NULL);
    char buf[4096];
    rewind(d);
    buf[fread(buf, 1, sizeof buf - 1, d)] = 0;
    CHECKF(
        strstr(buf, "yolov8.sn:7:5: error: unknown scale 'q' (model 'yolov8' has n, s, m, l, x)"),
        "%s", buf);
    fclose(d);
}

int main(void) {
    test_counts();
    test_layers();
    test_keys();
    test_outputs();
    test_resolve();
    return check_report("test_lang_zoo");
}
