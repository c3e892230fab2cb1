/* ir/shape.c — shape and dtype inference: what every op shares, then the op's own rule.
 *
 * sn_ir_infer_node computes a node's shape and dtype from its inputs and attributes without
 * touching the node, so the verifier can compare (invariant 3). It checks what the op table
 * states (arity, attribute counts) and that every input exists with a valid shape, then calls
 * the op's shape rule (sn_ir_op_info[op].shape, defined in ir/ops/), then checks the result.
 * Every error text starts with the op name: "conv2d: input has 32 channels but weight
 * expects 16 (groups 1)".
 *
 * Dtype: a rule starts from its (first) input's dtype (a leaf's own) and may change it (CAST,
 * ANCHORS, the weak-scalar rule of binary ops: ir/ops/binary.c).
 */
#include "ir/ir_int.h"

#include <stdlib.h>

#include <string.h>

static int shape_ok(const sn_shape *s, const char *opn, const char *what, char *err,
                    size_t errlen) {
    if (s->ndim < 0 || s->ndim > SN_MAX_DIMS) {
        sn_errf(err, errlen, "%s: %s has rank %d (at most %d)", opn, what, (int)s->ndim,
                SN_MAX_DIMS);
        return 0;
    }
    for (int i = 0; i < s->ndim; i++)
        if (s->d[i] < 1) {
            char b[128];
            sn_errf(err, errlen, "%s: %s shape %s has a dimension < 1", opn, what,
                    SN_SHAPE_STR(s, b));
            return 0;
        }
    return 1;
}

static int check_nia(const sn_ir_node *n, const char *opn, char *err, size_t errlen) {
    sn_ir_attrs at;
    sn_ir_op_attrs(n->op, &at);
    if (at.variadic) {
        if (n->nia < at.nint - 1 || n->nia > SN_IR_MAX_IA) {
            sn_errf(err, errlen, "%s: expects at least %d int attributes (%s), got %d", opn,
                    at.nint - 1, sn_ir_op_info[n->op].attrs, (int)n->nia);
            return 0;
        }
    } else if (n->nia != at.nint) {
        sn_errf(err, errlen, "%s: expects %d int attributes (%s), got %d", opn, at.nint,
                sn_ir_op_info[n->op].attrs, (int)n->nia);
        return 0;
    }
    return 1;
}

static int is_float(sn_dtype t) {
    return t == SN_DTYPE_F32 || t == SN_DTYPE_F16 || t == SN_DTYPE_BF16;
}

sn_status sn_ir_infer_node(const sn_ir_graph *g, const sn_ir_node *n, sn_shape *shape,
                           sn_dtype *dtype, char *err, size_t errlen) {
    if ((unsigned)n->op >= SN_OP_COUNT) {
        sn_errf(err, errlen, "unknown op %d", (int)n->op);
        return SN_ERR_INVALID;
    }
    const sn_op_info *info = &sn_ir_op_info[n->op];
    const char *opn = info->name;
    if (n->nin < info->min_inputs || n->nin > info->max_inputs) {
        if (info->min_inputs == info->max_inputs)
            sn_errf(err, errlen, "%s: expects %d inputs, got %d", opn, info->min_inputs,
                    (int)n->nin);
        else
            sn_errf(err, errlen, "%s: expects %d to %d inputs, got %d", opn, info->min_inputs,
                    info->max_inputs, (int)n->nin);
        return SN_ERR_INVALID;
    }
    if (!check_nia(n, opn, err, errlen))
        return SN_ERR_INVALID;
    const sn_ir_node *x[SN_IR_MAX_IN];
    sn_ir_node *xm = NULL; /* SN_IR_NODE_MIXED: the inputs as f32 */
    int mixed = (n->flags & SN_IR_NODE_MIXED) && n->nin > 0;
    if (mixed && !(xm = malloc((size_t)n->nin * sizeof *xm))) {
        sn_errf(err, errlen, "%s: out of memory", opn);
        return SN_ERR_NOMEM;
    }
    for (int i = 0; i < n->nin; i++) {
        if (n->in[i] < 0 || n->in[i] >= g->nnodes) {
            sn_errf(err, errlen, "%s: input %d refers to %%%d, which does not exist", opn, i,
                    (int)n->in[i]);
            return SN_ERR_INVALID;
        }
        x[i] = &g->nodes[n->in[i]];
        if (!shape_ok(&x[i]->shape, opn, "input", err, errlen)) {
            free(xm);
            return SN_ERR_INVALID;
        }
        if (mixed) {
            xm[i] = *x[i];
            if (is_float(xm[i].dtype))
                xm[i].dtype = SN_DTYPE_F32;
            x[i] = &xm[i];
        }
    }
    sn_shape s = {0, {0}};
    sn_dtype t = n->nin ? x[0]->dtype : n->dtype;
    sn_status st = info->shape(n, x, &s, &t, err, errlen);
    free(xm);
    if (st != SN_OK)
        return st;
    if (mixed) {
        if (!is_float(t) || !is_float(n->dtype)) {
            sn_errf(err, errlen, "%s: a mixed-precision node needs float dtypes, has %s", opn,
                    sn_dtype_name(n->dtype));
            return SN_ERR_INVALID;
        }
        t = n->dtype;
    }

    if ((unsigned)t >= SN_DTYPE_COUNT) {
        sn_errf(err, errlen, "%s: bad dtype %d", opn, (int)t);
        return SN_ERR_INVALID;
    }
    if (!shape_ok(&s, opn, "result", err, errlen))
        return SN_ERR_INVALID;
    *shape = s;
    *dtype = t;
    return SN_OK;
}

sn_status sn_ir_infer(sn_ir_graph *g, int32_t node, char *err, size_t errlen) {
    SN_ASSERT(node >= 0 && node < g->nnodes);
    sn_ir_node *n = &g->nodes[node];
    sn_shape s;
    sn_dtype t;
    sn_status st = sn_ir_infer_node(g, n, &s, &t, err, errlen);
    if (st != SN_OK)
        return st;
    if (n->nin == 0 && n->shape.ndim != 0 && !sn_shape_eq(&n->shape, &s)) {
        /* a leaf computed from attributes (ANCHORS) must agree with a shape given for it */
        char b1[128], b2[128];
        sn_errf(err, errlen, "%s: given shape %s but the attributes make %s",
                sn_ir_op_info[n->op].name, SN_SHAPE_STR(&n->shape, b1), SN_SHAPE_STR(&s, b2));
        return SN_ERR_INVALID;
    }
    n->shape = s;
    n->dtype = t;
    return SN_OK;
}
