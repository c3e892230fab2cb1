/* cli/info.c — `sinter info`: the layer table and summary, like Ultralytics' model.info(). */
#include "cli/cli.h"
#include "passes/passes.h"

#include <stdio.h>
#include <string.h>

static const char info_help[] =
    "usage: sinter info MODEL [--nc N] [--imgsz S|HxW] [--scale S] [--fused] [--json]\n"
    "\n"
    "Prints the layer table (index, from, repeats, params, module, arguments) and a summary:\n"
    "layers, parameters, gradients (parameters less frozen ones: DFL's fixed conv) and GFLOPs\n"
    "at the image size (default 640). GFLOPs count convolution multiply-adds x 2, as\n"
    "Ultralytics (thop) counts; unfused figures add thop's BatchNorm term (8 FLOPs/element).\n"
    "  --fused   counts after folding BatchNorm into the convolutions (as model.fuse())\n"
    "  --json    one JSON object: model, parameters, gradients, gflops, layers, table\n";

/* thop's BatchNorm term, per output element, after Ultralytics doubles MACs into FLOPs.
 * With 8, unfused GFLOPs round to Ultralytics' published figures (v8n 8.9, v8s 28.8, 11n 6.6,
 * 11s 21.7, v5nu 7.8, v8m 79.3; reference/yolo-spec.md §4). */
#define SN_BN_FLOPS_PER_ELEM 8

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

int sn_cmd_info(int argc, char **argv) {
    if (sn_cli_help(argc, argv, info_help))
        return 0;
    sn_cli_opts o;
    if (sn_cli_parse(argc, argv, "info", "--nc --imgsz --scale --fused --json", &o))
        return 2;
    if (!o.model) {
        fprintf(stderr, "sinter info: error: no MODEL given\n%s", info_help);
        return 2;
    }
    sn_fe_model *m = NULL;
    if (sn_cli_load(&o, &m) != SN_OK)
        return 1;
    sn_ir_graph *g = m->graph;

    int64_t frozen = 0, bn_elems = 0;
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->op == SN_OP_PARAM && (n->flags & SN_IR_NODE_FROZEN))
            frozen += sn_shape_numel(&n->shape);
        if (n->op == SN_OP_BATCHNORM)
            bn_elems += sn_shape_numel(&n->shape);
    }
    if (o.fused) {
        char err[1024];
        sn_pass_options po;
        sn_pass_options_default(&po, 0);
        if (sn_pass_fold_bn(g, &po, err, sizeof err) != SN_OK) {
            fprintf(stderr, "sinter info: error: %s\n", err);
            sn_fe_model_free(m);
            return 1;
        }
        sn_ir_graph_compact(g);
        bn_elems = 0;
    }
    int64_t params = sn_ir_count_params(g);
    double gflops =
        (2.0 * (double)sn_ir_count_conv_macs(g) + (double)SN_BN_FLOPS_PER_ELEM * (double)bn_elems) /
        1e9;
    char b1[32], b2[32];

    if (o.json) {
        printf("{\"model\": ");
        json_str(stdout, m->name);
        printf(", \"file\": ");
        json_str(stdout, m->path);
        printf(", \"scale\": ");
        json_str(stdout, m->scale);
        printf(", \"nc\": %d, \"imgsz\": [%d, %d], \"batch\": %d, \"fused\": %s, "
               "\"layers\": %d, \"parameters\": %lld, \"gradients\": %lld, \"gflops\": %.4f, "
               "\"table\": [",
               m->nc, m->height, m->width, m->batch, o.fused ? "true" : "false", m->nlayers,
               (long long)params, (long long)(o.fused ? 0 : params - frozen), gflops);
        for (int i = 0; i < m->nlayers; i++) {
            const sn_fe_layer *l = &m->layers[i];
            printf("%s{\"index\": %d, \"from\": [", i ? ", " : "", l->index);
            for (int j = 0; j < l->nfrom; j++)
                printf("%s%d", j ? ", " : "", l->from[j]);
            printf("], \"n\": %d, \"params\": %lld, \"module\": ", l->repeats,
                   (long long)l->params);
            json_str(stdout, l->module);
            printf(", \"arguments\": ");
            json_str(stdout, l->args);
            printf("}");
        }
        printf("]}\n");
    } else {
        printf("%4s %18s %3s %11s  %-10s %s\n", "", "from", "n", "params", "module", "arguments");
        for (int i = 0; i < m->nlayers; i++) {
            const sn_fe_layer *l = &m->layers[i];
            char from[96] = "";
            if (l->nfrom == 1)
                snprintf(from, sizeof from, "%d", l->from[0]);
            else {
                size_t k = 0;
                k += (size_t)snprintf(from + k, sizeof from - k, "[");
                for (int j = 0; j < l->nfrom && k < sizeof from; j++)
                    k += (size_t)snprintf(from + k, sizeof from - k, "%s%d", j ? ", " : "",
                                          l->from[j]);
                if (k < sizeof from)
                    snprintf(from + k, sizeof from - k, "]");
            }
            printf("%4d %18s %3d %11s  %-10s %s\n", l->index, from, l->repeats,
                   sn_cli_commas(l->params, b1, sizeof b1), l->module, l->args);
        }
        printf("%s summary%s: %d layers, %s parameters, %s gradients, %.1f GFLOPs (%dx%d)\n",
               m->name, o.fused ? " (fused)" : "", m->nlayers, sn_cli_commas(params, b1, sizeof b1),
               sn_cli_commas(o.fused ? 0 : params - frozen, b2, sizeof b2), gflops, m->height,
               m->width);
    }
    sn_fe_model_free(m);
    return 0;
}
