/* ir/ops/log.c — LOG: the natural logarithm, elementwise, in double and rounded once.
 * log(0) = -Inf, log(x < 0) = NaN, log(+Inf) = +Inf (IEEE, as torch.log). Its shape rule is
 * the unary one (ops/unary.c). */
#include "ir/ir_int.h"

#include <math.h>

sn_status sn_ir_ref_log(const sn_ir_ref_args *r) {
    sn_ir_ref_map1(r, log);
    return SN_OK;
}
