/* ir/ops/log.c — LOG: the natural logarithm, elementwise, in double and rounded once.
 * log(0) = -Inf, log(x < 0) = NaN, log(+Inf) = +Inf (IEEE, as torch.log). Its shape rule is
 * the unary one (ops/unary.c). */
#include "ir/ir_int.h"

#include <math.h>

sn_status sn_ir_ref_log(const sn_ir_ref_args *r) {
    sn_ir_ref_map1(r, log);
    return SN_OK;
}

/* log' = 1 / x */
sn_status sn_ir_vjp_log(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                        size_t errlen) {
    sn_ir_gb b = {g, err, errlen};
    dx[0] = sn_gb_bin(&b, SN_OP_DIV, dy, g->nodes[node].in[0]);
    return dx[0] < 0 ? SN_ERR_INVALID : SN_OK;
}
