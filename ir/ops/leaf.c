/* ir/ops/leaf.c — INPUT, PARAM, CONST: values that come from outside the graph's ops (a graph
 * input, loaded or random weights, a constant). Their shape and dtype are the node's own; the
 * ref driver hands their values in as x[0]. sn_ir_ref_copy also serves every op whose values
 * pass through unchanged in row-major order (RESHAPE; CAST, whose rounding the driver does). */
#include "ir/ir_int.h"

#include <string.h>

sn_status sn_ir_shape_leaf(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                           sn_dtype *dtype, char *err, size_t errlen) {
    (void)x, (void)err, (void)errlen;
    *shape = n->shape;
    *dtype = n->dtype;
    return SN_OK;
}

sn_status sn_ir_shape_param(const sn_ir_node *n, const sn_ir_node *const *x, sn_shape *shape,
                            sn_dtype *dtype, char *err, size_t errlen) {
    if (n->ia[0] < 0 || n->ia[0] > SN_IR_INIT_ARANGE) {
        sn_errf(err, errlen, "param: unknown init kind %lld", (long long)n->ia[0]);
        return SN_ERR_INVALID;
    }
    return sn_ir_shape_leaf(n, x, shape, dtype, err, errlen);
}

sn_status sn_ir_ref_copy(const sn_ir_ref_args *r) {
    memcpy(r->y, r->x[0], (size_t)sn_shape_numel(&r->n->shape) * sizeof *r->y);
    return SN_OK;
}
