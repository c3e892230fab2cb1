/* cli/export.c — `sinter export`: an Ultralytics .pt checkpoint to safetensors. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char export_help[] =
    "usage: sinter export W.pt --output W.safetensors [--dtype f32|f16|bf16]\n"
    "\n"
    "Converts a .pt file (an Ultralytics checkpoint such as yolov8n.pt or best.pt, a training\n"
    "checkpoint whose weights are its EMA, or a torch.save'd state_dict) to a safetensors\n"
    "file keyed by the same state_dict names, --dtype (default f32), atomically. The .pt is\n"
    "read without Python: nothing in it is executed. The model's class count, class names,\n"
    "family and scale go into the file's __metadata__ (nc, names as a JSON array, family,\n"
    "scale, yaml_file) and are printed. Any --weights option takes a .pt directly too.\n";

/* names as a JSON array of strings */
static char *names_json(const sn_io_pt_meta *m) {
    sn_str s = {0};
    sn_str_printf(&s, "[");
    for (int i = 0; i < m->nnames; i++) {
        sn_str_printf(&s, i ? ",\"" : "\"");
        for (const unsigned char *p = (const unsigned char *)m->names[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                sn_str_printf(&s, "\\%c", *p);
            else if (*p < 0x20)
                sn_str_printf(&s, "\\u%04x", *p);
            else
                sn_str_printf(&s, "%c", *p);
        }
        sn_str_printf(&s, "\"");
    }
    sn_str_printf(&s, "]");
    return sn_str_take(&s);
}

int sn_cmd_export(int argc, char **argv) {
    if (sn_cli_help(argc, argv, export_help))
        return 0;
    sn_cli_opts o;
    if (sn_cli_parse(argc, argv, "export", "--output --dtype", &o))
        return 2;
    if (!o.model || !o.output) {
        fprintf(stderr, "sinter export: error: W.pt and --output are required\n%s", export_help);
        return 2;
    }
    char err[4096];
    const char *inputs[1] = {o.model};
    if (sn_output_check(o.output, inputs, 1, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter export: error: --output %s\n", err);
        return 1;
    }
    sn_dtype dt = SN_DTYPE_F32;
    if (o.dtype)
        sn_dtype_parse(o.dtype, &dt);
    sn_io_tensors ts;
    sn_io_pt_meta meta;
    if (sn_io_pt_read(o.model, &ts, &meta, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter export: error: %s\n", err);
        return 1;
    }
    int rc = 1;
    char nc[16], *names = names_json(&meta);
    snprintf(nc, sizeof nc, "%d", meta.nc);
    const char *kv[12];
    int nkv = 0;
    if (meta.nc > 0) {
        kv[2 * nkv] = "nc";
        kv[2 * nkv++ + 1] = nc;
    }
    if (meta.nnames > 0 && names) {
        kv[2 * nkv] = "names";
        kv[2 * nkv++ + 1] = names;
    }
    const char *strs[][2] = {
        {"family", meta.family}, {"scale", meta.scale}, {"yaml_file", meta.yaml_file}};
    for (int i = 0; i < 3; i++)
        if (strs[i][1][0]) {
            kv[2 * nkv] = strs[i][0];
            kv[2 * nkv++ + 1] = strs[i][1];
        }
    /* the reader gives f32; other dtypes are converted copies */
    int oom = !names && meta.nnames > 0;
    for (int i = 0; dt != SN_DTYPE_F32 && !oom && i < ts.n; i++) {
        sn_io_tensor *t = &ts.t[i];
        int64_t n = sn_shape_numel(&t->shape);
        void *d = malloc((size_t)(n ? n : 1) * sn_dtype_size(dt));
        if (!(oom = !d)) {
            sn_io_from_f32(dt, t->data, d, n);
            free(t->data);
            t->data = d;
            t->dtype = dt;
        }
    }
    if (oom)
        fprintf(stderr, "sinter export: error: out of memory\n");
    else if (sn_io_safetensors_write_meta(o.output, &ts, kv, nkv, err, sizeof err) != SN_OK)
        fprintf(stderr, "sinter export: error: %s\n", err);
    else
        rc = 0;
    if (rc == 0) {
        int64_t params = 0;
        for (int i = 0; i < ts.n; i++)
            params += sn_shape_numel(&ts.t[i].shape);
        char pb[32];
        printf("%s: %d tensors, %s values from %s", sn_cli_show(o.output), ts.n,
               sn_cli_commas(params, pb, sizeof pb), meta.source);
        if (meta.family[0] || meta.scale[0])
            printf("; model %s%s%s", meta.family[0] ? meta.family : "?",
                   meta.scale[0] ? " scale " : "", meta.scale);
        if (meta.nc > 0)
            printf("; nc %d", meta.nc);
        printf("\n");
    }
    free(names);
    sn_io_pt_meta_free(&meta);
    sn_io_tensors_free(&ts);
    return rc;
}
