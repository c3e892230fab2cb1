/* passes/pipeline.c — the pass order, as one plain list, and the driver that runs it.
 *
 * Algorithm: run each pass of `pipeline` in order; after each, run the verifier (o->verify)
 * and, with o->dump_dir, write "NN-<pass>.ir" (sn_pass_dump: the IR plus groups, buffers,
 * offsets and strides); "00-input.ir" holds the graph as it came in. The first failure stops
 * the pipeline and its message names the pass.
 */
#include "passes/passes_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static sn_status infer_shapes(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t errlen) {
    (void)o;
    for (int32_t i = 0; i < g->nnodes; i++) {
        if (!sn_pass_live(&g->nodes[i]))
            continue;
        sn_status st = sn_ir_infer(g, i, err, errlen);
        if (st != SN_OK)
            return st;
    }
    return SN_OK;
}

static const sn_pass_info pipeline[] = {
    {"infer-shapes", infer_shapes},       /* shapes and dtypes from the inputs */
    {"fold-bn", sn_pass_fold_bn},         /* conv + batchnorm -> conv (inference) */
    {"simplify", sn_pass_simplify},       /* identities, constants, CSE, dead code */
    {"fuse", sn_pass_fuse},               /* groups = kernels */
    {"views", sn_pass_views},             /* slice/permute/reshape views, concat in place */
    {"layout", sn_pass_layout_assign},    /* NCHW / NHWC strides of base buffers */
    {"autocast", sn_pass_autocast},       /* f16/bf16 storage as node dtypes (o->autocast) */
    {"plan-memory", sn_pass_plan_memory}, /* buffers, liveness, arena offsets */
};

const sn_pass_info *sn_pass_list(int *n) {
    if (n)
        *n = (int)(sizeof pipeline / sizeof pipeline[0]);
    return pipeline;
}

const sn_pass_info *sn_pass_find(const char *name) {
    for (size_t i = 0; name && i < sizeof pipeline / sizeof pipeline[0]; i++)
        if (strcmp(pipeline[i].name, name) == 0)
            return &pipeline[i];
    return NULL;
}

void sn_pass_options_default(sn_pass_options *o, int eager) {
    memset(o, 0, sizeof *o);
    o->fold_bn = !eager;
    o->fuse = !eager;
    o->concat_in_place = !eager;
    o->layout = SN_PASS_LAYOUT_NCHW;
    o->autocast = SN_DTYPE_F32;
    o->dump_dir = NULL;
    o->verify = 1;
}

static sn_status dump_to(const sn_ir_graph *g, const char *dir, int idx, const char *name,
                         char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%02d-%s.ir", dir, idx, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        sn_errf(err, errlen, "--dump: cannot write %s: %s", path, strerror(errno));
        return SN_ERR_IO;
    }
    /* A full disk shows as a failed write inside sn_pass_dump (the stream's error flag), in
     * the final flush, or in fclose: any of them fails the dump. */
    errno = 0;
    sn_pass_dump(g, f);
    int bad = fflush(f) != 0 || ferror(f);
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        sn_errf(err, errlen, "--dump: cannot write %s: %s", path, strerror(e ? e : EIO));
        return SN_ERR_IO;
    }
    return SN_OK;
}

sn_status sn_pass_run(sn_ir_graph *g, const sn_pass_info *p, const sn_pass_options *o, char *err,
                      size_t errlen) {
    char msg[1024] = "";
    sn_status st = p->run(g, o, msg, sizeof msg);
    if (st != SN_OK) {
        sn_errf(err, errlen, "pass %s: %s", p->name, msg[0] ? msg : sn_status_str(st));
        return st;
    }
    if (o->verify)
        return sn_ir_verify(g, p->name, err, errlen);
    return SN_OK;
}

sn_status sn_pass_run_all(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t errlen) {
    int n;
    const sn_pass_info *list = sn_pass_list(&n);
    sn_status st;
    if (o->dump_dir && (st = dump_to(g, o->dump_dir, 0, "input", err, errlen)) != SN_OK)
        return st;
    for (int i = 0; i < n; i++) {
        if ((st = sn_pass_run(g, &list[i], o, err, errlen)) != SN_OK)
            return st;
        if (o->dump_dir &&
            (st = dump_to(g, o->dump_dir, i + 1, list[i].name, err, errlen)) != SN_OK)
            return st;
    }
    return SN_OK;
}
