/* ir/grad.c — the node builders the derivative rules (the vjp column of ops.def) share.
 *
 * Every builder appends one or a few nodes and returns the last one's index, or -1 with the
 * reason in b->err. A builder given a -1 input returns -1 at once without touching err, so a
 * rule writes its formula straight through and checks only the final results. */
#include "ir/ir_int.h"

#include <stdlib.h>
#include <string.h>

int32_t sn_gb_op(sn_ir_gb *b, sn_op op, const int32_t *in, int nin, const int64_t *ia, int nia,
                 const double *fa, int nfa) {
    for (int i = 0; i < nin; i++)
        if (in[i] < 0)
            return -1;
    return sn_ir_add(b->g, op, in, nin, ia, nia, fa, nfa, NULL, SN_DTYPE_F32, b->err, b->errlen);
}

int32_t sn_gb_un(sn_ir_gb *b, sn_op op, int32_t x) {
    return sn_gb_op(b, op, &x, 1, NULL, 0, NULL, 0);
}

int32_t sn_gb_bin(sn_ir_gb *b, sn_op op, int32_t x, int32_t y) {
    int32_t in[2] = {x, y};
    return sn_gb_op(b, op, in, 2, NULL, 0, NULL, 0);
}

int32_t sn_gb_scalar(sn_ir_gb *b, double v) {
    int32_t s = sn_ir_scalar(b->g, v);
    if (s < 0)
        sn_errf(b->err, b->errlen, "out of memory");
    return s;
}

int32_t sn_gb_zeros(sn_ir_gb *b, const sn_shape *s) {
    double z = 0.0;
    return sn_ir_add(b->g, SN_OP_CONST, NULL, 0, NULL, 0, &z, 1, s, SN_DTYPE_F32, b->err,
                     b->errlen);
}

int32_t sn_gb_reshape(sn_ir_gb *b, int32_t x, const sn_shape *s) {
    if (x < 0)
        return -1;
    if (sn_shape_eq(&b->g->nodes[x].shape, s))
        return x;
    int64_t ia[SN_MAX_DIMS];
    for (int k = 0; k < s->ndim; k++)
        ia[k] = s->d[k];
    return sn_gb_op(b, SN_OP_RESHAPE, &x, 1, ia, s->ndim, NULL, 0);
}

int32_t sn_gb_slice(sn_ir_gb *b, int32_t x, int axis, int64_t start, int64_t end) {
    int64_t ia[4] = {axis, start, end, 1};
    return sn_gb_op(b, SN_OP_SLICE, &x, 1, ia, 4, NULL, 0);
}

int32_t sn_gb_sum(sn_ir_gb *b, int32_t x, int axis) {
    int64_t ia = axis;
    return sn_gb_op(b, SN_OP_REDUCE_SUM, &x, 1, &ia, 1, NULL, 0);
}

int32_t sn_gb_permute(sn_ir_gb *b, int32_t x, const int64_t *perm, int n) {
    return sn_gb_op(b, SN_OP_PERMUTE, &x, 1, perm, n, NULL, 0);
}

/* Sums dy (the shape of a broadcast result) down to `to`, the shape of one operand: the
 * leading dims `to` lacks and the dims where `to` has 1 and dy more are summed, then the result
 * takes `to`'s shape. */
int32_t sn_gb_unbroadcast(sn_ir_gb *b, int32_t dy, const sn_shape *to) {
    if (dy < 0)
        return -1;
    sn_shape ys = b->g->nodes[dy].shape;
    int lead = ys.ndim - to->ndim;
    int32_t r = dy;
    for (int k = 0; k < ys.ndim; k++) {
        int64_t want = k < lead ? 1 : to->d[k - lead];
        if (ys.d[k] != want)
            r = sn_gb_sum(b, r, k);
    }
    return sn_gb_reshape(b, r, to);
}

int32_t sn_gb_chan(sn_ir_gb *b, int32_t v, int r) {
    if (v < 0)
        return -1;
    sn_shape s = {r, {1}};
    for (int k = 0; k < r; k++)
        s.d[k] = 1;
    s.d[1] = sn_shape_numel(&b->g->nodes[v].shape);
    return sn_gb_reshape(b, v, &s);
}

/* Sums contributions c[0..n) (equal shapes) left to right. */
int32_t sn_gb_addn(sn_ir_gb *b, const int32_t *c, int n) {
    if (n <= 0)
        return -1;
    int32_t r = c[0];
    for (int i = 1; i < n; i++)
        r = sn_gb_bin(b, SN_OP_ADD, r, c[i]);
    return r;
}

sn_status sn_ir_vjp_none(sn_ir_graph *g, int32_t node, int32_t dy, int32_t *dx, char *err,
                         size_t errlen) {
    (void)dy, (void)dx;
    sn_errf(err, errlen, "%s has no derivative", sn_ir_op_info[g->nodes[node].op].name);
    return SN_ERR_UNSUPPORTED;
}
