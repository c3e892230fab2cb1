/* cli/weights.c — `sinter weights`: write a model's weights to a safetensors file. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const char weights_help[] =
    "usage: sinter weights MODEL --output W.safetensors [--weights random[:SEED]|FILE]\n"
    "                      [--dtype f32|f16|bf16] [--nc N] [--scale S]\n"
    "\n"
    "Writes every parameter of MODEL, keyed by Ultralytics state_dict names, to a safetensors\n"
    "file (atomically). With --weights FILE it converts FILE (checked against the model) to\n"
    "--dtype; with random[:SEED] (the default) it writes Sinter's deterministic random\n"
    "weights, e.g. to feed another implementation the same model.\n";

int sn_cmd_weights(int argc, char **argv) {
    if (sn_cli_help(argc, argv, weights_help))
        return 0;
    sn_cli_opts o;
    if (sn_cli_parse(argc, argv, "weights", "--output --weights --dtype --nc --scale", &o))
        return 2;
    if (!o.model || !o.output) {
        fprintf(stderr, "sinter weights: error: MODEL and --output are required\n%s", weights_help);
        return 2;
    }
    const char *inputs[2] = {o.model, o.weights}; /* never overwritten by --output */
    char oerr[2048];
    if (sn_cli_output_check(o.output, inputs, 2, oerr, sizeof oerr) != SN_OK) {
        fprintf(stderr, "sinter weights: error: --output %s\n", oerr);
        return 1;
    }
    sn_fe_model *m = NULL;
    if (sn_cli_load(&o, &m) != SN_OK)
        return 1;
    if (sn_cli_check_memory("weights", m, 0) != SN_OK) {
        sn_fe_model_free(m);
        return 1;
    }
    char err[4096];
    int rc = 1;
    sn_dtype dt = SN_DTYPE_F32;
    if (o.dtype)
        sn_dtype_parse(o.dtype, &dt);
    if (sn_io_weights_apply(m->graph, o.weights ? o.weights : "random:0", err, sizeof err) !=
            SN_OK ||
        sn_io_weights_save(m->graph, o.output, dt, err, sizeof err) != SN_OK)
        fprintf(stderr, "sinter weights: error: %s\n", err);
    else
        rc = 0;
    sn_fe_model_free(m);
    return rc;
}
