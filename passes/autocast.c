/* passes/autocast.c — mixed precision as a fact of the IR: node dtypes.
 *
 * With o->autocast F16 or BF16 (a backend that computes in half precision stores its
 * intermediates in it), every compute node becomes a mixed-precision node
 * (SN_IR_NODE_MIXED: float inputs of any dtype, computed in f32) whose dtype is the dtype its
 * value is stored in:
 *   - a value stored in the arena — a group's escaping value (ROOT) or an in-place concat's
 *     buffer (INPLACE) — takes o->autocast, unless its storage is a graph output's or input's
 *     buffer (a producer writing into the output concat), which keeps that buffer's f32;
 *   - a value that never leaves its kernel (INTERNAL) and every graph output stay f32;
 *   - views (SLICE, PERMUTE, RESHAPE outside a group) take their input's dtype by inference.
 * PARAMs, CONSTs and INPUTs keep their dtypes (weights stay f32; the kernels read them so).
 * plan-memory then gives each arena buffer its base node's dtype, and the ref evaluator
 * rounds exactly the values the kernels round. Runs after fuse, views and layout (it needs the
 * groups and the storage of each value); with o->autocast F32 it changes nothing. */
#include "passes/passes_int.h"

#include <stdlib.h>

sn_status sn_pass_autocast(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t errlen) {
    if (o->autocast == SN_DTYPE_F32)
        return SN_OK;
    if (o->autocast != SN_DTYPE_F16 && o->autocast != SN_DTYPE_BF16)
        return sn_fail(err, errlen, SN_ERR_INVALID, "autocast to %s: only f16 and bf16",
                       sn_dtype_name(o->autocast));
    int32_t n = g->nnodes;
    uint8_t *role = malloc((size_t)n + 1);
    int32_t *base = malloc(((size_t)n + 1) * sizeof *base);
    sn_status st = SN_ERR_NOMEM;
    if (!role || !base)
        goto out;
    if ((st = sn_pass_roles(g, role)) != SN_OK)
        goto out;
    if ((st = sn_pass_place(g, NULL, base, NULL, err, errlen)) != SN_OK)
        goto out;
    for (int32_t i = 0; i < n; i++) {
        sn_ir_node *nd = &g->nodes[i];
        if (!sn_pass_live(nd) || role[i] == SN_PASS_ROLE_LEAF)
            continue;
        if (role[i] != SN_PASS_ROLE_VIEW) {
            sn_dtype t = SN_DTYPE_F32;
            if ((role[i] == SN_PASS_ROLE_ROOT || role[i] == SN_PASS_ROLE_INPLACE) && base[i] >= 0 &&
                !sn_pass_is_output(&g->nodes[base[i]]) && g->nodes[base[i]].op != SN_OP_INPUT)
                t = o->autocast;
            nd->flags |= SN_IR_NODE_MIXED;
            nd->dtype = t;
        }
        if ((st = sn_ir_infer(g, i, err, errlen)) != SN_OK)
            goto out;
    }
    st = SN_OK;
out:
    free(role);
    free(base);
    return st;
}
