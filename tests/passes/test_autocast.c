/* tests/passes/test_autocast.c — the autocast pass on the real models (yolov8n, yolo11n,
 * yolov5nu at 128x128), fused and eager, f16 and bf16: after the whole pipeline
 *  - every live compute node that is not a view is mixed-precision (SN_IR_NODE_MIXED);
 *  - its dtype is the storage dtype: f16/bf16 exactly when its storage is an arena buffer,
 *    f32 when it stays inside a kernel or is (or writes into) a graph output;
 *  - every arena buffer has the autocast dtype, the outputs f32, PARAMs f32;
 *  - the arena is about half the f32 plan's (2-byte elements, per-buffer alignment aside);
 *  - the graph verifies and prints/parses back identically (the "mixed" flag round-trips);
 *  - autocast F32 changes nothing (no node is marked). */
#include "frontend/frontend.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

static char err[1024];

static void one(const char *name, int eager, sn_dtype dt) {
    char what[96];
    snprintf(what, sizeof what, "%s %s %s", name, eager ? "eager" : "fused", sn_dtype_name(dt));
    sn_fe_options fo;
    sn_fe_options_default(&fo);
    fo.height = fo.width = 128;
    sn_fe_model *m = NULL;
    if (sn_fe_model_load(name, &fo, &m) != SN_OK) {
        CHECKF(0, "%s: cannot load", what);
        return;
    }
    sn_ir_graph *g32 = sn_ir_graph_clone(m->graph), *g = sn_ir_graph_clone(m->graph);
    sn_pass_options o;
    sn_pass_options_default(&o, eager);
    o.layout = SN_PASS_LAYOUT_NHWC;
    CHECKF(sn_pass_run_all(g32, &o, err, sizeof err) == SN_OK, "%s f32: %s", what, err);
    for (int32_t i = 0; i < g32->nnodes; i++)
        CHECKF(!(g32->nodes[i].flags & SN_IR_NODE_MIXED), "%s: f32 plan marks %%%d", what, i);
    o.autocast = dt;
    sn_status st = sn_pass_run_all(g, &o, err, sizeof err);
    CHECKF(st == SN_OK, "%s: %s", what, err);
    if (st == SN_OK) {
        int narrow = 0;
        for (int32_t i = 0; i < g->nnodes; i++) {
            const sn_ir_node *n = &g->nodes[i];
            if (n->flags & SN_IR_NODE_DEAD)
                continue;
            int leaf = n->nin == 0,
                view = n->group < 0 &&
                       (n->op == SN_OP_SLICE || n->op == SN_OP_RESHAPE || n->op == SN_OP_PERMUTE);
            if (leaf) {
                CHECKF(n->op == SN_OP_INPUT || n->dtype == SN_DTYPE_F32, "%s: leaf %%%d", what, i);
                continue;
            }
            if (!view && n->op != SN_OP_CONCAT)
                CHECKF(n->flags & SN_IR_NODE_MIXED, "%s: %%%d (%s) not mixed", what, i,
                       sn_ir_op_info[n->op].name);
            sn_dtype want = SN_DTYPE_F32;
            if (n->buf >= 0 && g->bufs[n->buf].kind == SN_IR_BUF_ARENA)
                want = dt;
            CHECKF(n->dtype == want, "%s: %%%d (%s) is %s, its storage wants %s", what, i,
                   sn_ir_op_info[n->op].name, sn_dtype_name(n->dtype), sn_dtype_name(want));
            narrow += n->dtype == dt;
        }
        CHECKF(narrow > 10, "%s: only %d narrow values", what, narrow);
        for (int32_t b = 0; b < g->nbufs; b++)
            CHECKF(g->bufs[b].dtype == (g->bufs[b].kind == SN_IR_BUF_ARENA ? dt : SN_DTYPE_F32),
                   "%s: buffer %d is %s", what, b, sn_dtype_name(g->bufs[b].dtype));
        CHECKF(g->arena_bytes * 2 <= g32->arena_bytes + 64 * g->nbufs &&
                   g->arena_bytes * 2 >= g32->arena_bytes - 64 * g->nbufs,
               "%s: arena %lld bytes, f32 %lld", what, (long long)g->arena_bytes,
               (long long)g32->arena_bytes);
        CHECKF(sn_ir_verify(g, "test", err, sizeof err) == SN_OK, "%s: %s", what, err);
        /* the text form keeps the flag and the dtypes */
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        sn_ir_print(g, f);
        fclose(f);
        sn_ir_graph *back = sn_ir_parse(text, what, err, sizeof err);
        CHECKF(back != NULL, "%s: parse back: %s", what, err);
        if (back) {
            for (int32_t i = 0; i < g->nnodes && i < back->nnodes; i++)
                CHECKF(back->nodes[i].dtype == g->nodes[i].dtype &&
                           (back->nodes[i].flags & SN_IR_NODE_MIXED) ==
                               (g->nodes[i].flags & SN_IR_NODE_MIXED),
                       "%s: %%%d differs after printing and parsing", what, i);
            sn_ir_graph_free(back);
        }
        free(text);
    }
    sn_ir_graph_free(g);
    sn_ir_graph_free(g32);
    sn_fe_model_free(m);
}

int main(void) {
    static const char *const models[] = {"yolov8n", "yolo11n", "yolov5nu"};
    for (int k = 0; k < 3; k++)
        for (int eager = 0; eager < 2; eager++) {
            one(models[k], eager, SN_DTYPE_F16);
            one(models[k], eager, SN_DTYPE_BF16);
        }
    return check_report("passes_autocast");
}
