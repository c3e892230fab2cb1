/* tests/api/test_params.c — the program's parameter table (codegen: sn_cg_program.params) and
 * the weights as persistent state (engine: slot 0 of sn_eng_compiled.state), on yolov8n at
 * 64×64, cpu, eager and fused:
 *  - the pieces lie inside the blob, in order, without overlap, each named;
 *  - every conv weight of the model is in the table under its Ultralytics name (eager: as a
 *    parameter); a plain 1-D piece of a parameter holds exactly the bound values (the cpu
 *    backend packs every piece today, so none is plain there);
 *  - the state's slot 0 reads back exactly the program's blob. */
#include "engine/engine.h"

#include "api_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int eager, sn_rt_device *dev, const char *cache) {
    sn_model_options mo = {.model = "yolov8n", .batch = 1, .height = 64, .width = 64};
    sn_fe_model *m = NULL;
    char err[2048];
    if (sn_eng_load(&mo, stderr, &m) != SN_OK) {
        CHECK(0, "load");
        return;
    }
    CHECK(sn_io_weights_apply(m->graph, "random:3", err, sizeof err) == SN_OK, "%s", err);
    sn_ir_graph *g = sn_ir_graph_clone(m->graph);
    sn_eng_build b = {
        .backend = &sn_cg_backend_cpu, .dtype = SN_DTYPE_F32, .eager = eager, .cache_dir = cache};
    sn_eng_compiled c;
    sn_status st = sn_eng_compile(g, &b, dev, &c, err, sizeof err);
    CHECK(st == SN_OK, "compile: %s", err);
    if (st == SN_OK) {
        const sn_cg_program *p = c.prog;
        int64_t end = 0;
        int nparam = 0, plain1d = 0;
        for (int i = 0; i < p->nparams; i++) {
            const sn_cg_param *q = &p->params[i];
            CHECK(q->name && *q->name, "piece %d unnamed", i);
            CHECK(q->offset >= end && q->offset + q->bytes <= p->weight_bytes,
                  "piece %d (%s) at %lld+%lld overlaps or leaves the %lld-byte blob", i, q->name,
                  (long long)q->offset, (long long)q->bytes, (long long)p->weight_bytes);
            end = q->offset + q->bytes;
            nparam += q->is_param;
        }
        const sn_ir_graph *mg = m->graph;
        int params = 0, convs = 0;
        for (int32_t n = 0; n < mg->nnodes; n++) {
            const sn_ir_node *pn = &mg->nodes[n];
            if (pn->op != SN_OP_PARAM)
                continue;
            params++;
            const char *name = sn_ir_str_get(mg, pn->name);
            int found = 0;
            for (int i = 0; i < p->nparams; i++) {
                const sn_cg_param *q = &p->params[i];
                if (strcmp(q->name, name) || (eager && !q->is_param))
                    continue;
                found = 1;
                if (q->plain && pn->shape.ndim == 1) {
                    plain1d++;
                    CHECK(q->bytes == pn->shape.d[0] * 4 &&
                              !memcmp(p->weights + q->offset, pn->data, (size_t)q->bytes),
                          "%s: plain piece differs from the bound values", name);
                }
            }
            if (pn->shape.ndim == 4) { /* conv weights: named pieces in both plans */
                convs++;
                CHECK(found, "%s: conv weight %s is not in the table", eager ? "eager" : "fused",
                      name);
            }
        }
        printf("%s: %d pieces (%d of them parameters, %d plain 1-D checked) for %d model "
               "parameters (%d conv weights), blob %lld bytes\n",
               eager ? "eager" : "fused", p->nparams, nparam, plain1d, params, convs,
               (long long)p->weight_bytes);
        for (int i = 0; i < p->nparams && i < 6; i++)
            printf("  %-32s %s %s %lld+%lld\n", p->params[i].name,
                   p->params[i].is_param ? "param" : "const",
                   p->params[i].plain ? "plain" : "packed", (long long)p->params[i].offset,
                   (long long)p->params[i].bytes);
        CHECK(p->nparams > 0 && convs > 0, "nothing checked");
        uint8_t *back = malloc((size_t)p->weight_bytes + 1);
        CHECK(c.state && sn_rt_state_count(c.state) == 1 &&
                  sn_rt_state_bytes(c.state, 0) == p->weight_bytes,
              "state slot 0 is not the blob");
        CHECK(c.state &&
                  sn_rt_state_copy(c.state, 0, 0, 0, back, p->weight_bytes, err, sizeof err) ==
                      SN_OK &&
                  !memcmp(back, p->weights, (size_t)p->weight_bytes),
              "state slot 0 does not read back the blob");
        free(back);
    }
    sn_eng_compiled_free(&c);
    sn_ir_graph_free(g);
    sn_fe_model_free(m);
}

int main(int argc, char **argv) {
    sn_rt_device *dev = NULL;
    char err[1024];
    if (sn_rt_device_open("cpu", 2, &dev, err, sizeof err) != SN_OK) {
        fprintf(stderr, "FAIL: %s\n", err);
        return 1;
    }
    check(1, dev, argc > 1 ? argv[1] : NULL);
    check(0, dev, argc > 1 ? argv[1] : NULL);
    sn_rt_device_close(dev);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
