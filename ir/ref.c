/* ir/ref.c — the ref evaluator's driver: plain C semantics of every op, the oracle of every
 * backend. Each op's own computation is its ref rule (sn_ir_op_info[op].ref, ir/ops/); this
 * file knows no op.
 *
 * Algorithm: mark the nodes the outputs depend on (walking backwards), count each needed
 * node's uses by needed nodes, then evaluate in index order. Every value is stored as f32;
 * convolutions, matmuls and reductions accumulate in double; elementwise ops compute in
 * double and round once. A node whose dtype is f16/bf16 has its values rounded to that
 * precision (round-to-nearest-even; i32 truncates toward zero), so CAST is "round and store
 * back as f32". A buffer is freed as soon as its last consumer has run, so peak memory is the
 * live set, not the whole graph. PARAM/CONST values are read in place (not copied) when f32;
 * otherwise a leaf's values reach its rule as x[0].
 *
 * The rules' loops are written so the innermost one walks contiguous memory; nothing else is
 * optimised.
 */
#include "ir/ir_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- dtype rounding */

float sn_ir_round_dtype(float v, sn_dtype t) {
    switch (t) {
    case SN_DTYPE_F16:
        return sn_f16_to_f32(sn_f32_to_f16(v));
    case SN_DTYPE_BF16:
        return sn_bf16_to_f32(sn_f32_to_bf16(v));
    case SN_DTYPE_I32:
        if (isnan(v))
            return 0.0f;
        if (v >= 2147483647.0f)
            return 2147483647.0f;
        if (v <= -2147483648.0f)
            return -2147483648.0f;
        return truncf(v);
    default:
        return v;
    }
}

/* ---------------------------------------------------------------- the driver */

/* The first non-finite value of v (n elements) into *nf, for node i. Returns 1 if one was found. */
static int find_nonfinite(const float *v, int64_t n, int32_t i, sn_ir_ref_nonfinite *nf) {
    int64_t first = -1, nan = 0, inf = 0;
    for (int64_t e = 0; e < n; e++) {
        if (isnan(v[e]))
            nan++;
        else if (isinf(v[e]))
            inf++;
        else
            continue;
        if (first < 0)
            first = e;
    }
    if (first < 0)
        return 0;
    nf->node = i;
    nf->index = first;
    nf->value = v[first];
    nf->nan = nan;
    nf->inf = inf;
    return 1;
}

static sn_status ref_run(const sn_ir_graph *g, const float *const *inputs, float *const *outputs,
                         sn_ir_ref_nonfinite *nf, char *err, size_t errlen) {
    int32_t nn = g->nnodes;
    sn_status st = SN_OK;
    unsigned char *need = calloc((size_t)nn + 1, 1);
    unsigned char *owned = calloc((size_t)nn + 1, 1);
    int32_t *uses = calloc((size_t)nn + 1, sizeof *uses);
    float **vals = calloc((size_t)nn + 1, sizeof *vals);
    if (!need || !owned || !uses || !vals) {
        sn_errf(err, errlen, "ref: out of memory");
        st = SN_ERR_NOMEM;
        goto done;
    }
    for (int32_t k = 0; k < g->noutputs; k++) {
        if (g->outputs[k] < 0 || g->outputs[k] >= nn) {
            sn_errf(err, errlen, "ref: output %d refers to %%%d, which does not exist", (int)k,
                    (int)g->outputs[k]);
            st = SN_ERR_INVALID;
            goto done;
        }
        need[g->outputs[k]] = 1;
    }
    for (int32_t i = nn - 1; i >= 0; i--) {
        const sn_ir_node *n = &g->nodes[i];
        if (!need[i])
            continue;
        if (n->flags & SN_IR_NODE_DEAD) {
            sn_errf(err, errlen, "ref: node %%%d (%s) is needed but marked dead", (int)i,
                    sn_ir_op_info[n->op].name);
            st = SN_ERR_INVALID;
            goto done;
        }
        for (int j = 0; j < n->nin; j++) {
            if (n->in[j] < 0 || n->in[j] >= i) {
                sn_errf(err, errlen, "ref: node %%%d (%s): input %d refers to %%%d", (int)i,
                        sn_ir_op_info[n->op].name, j, (int)n->in[j]);
                st = SN_ERR_INVALID;
                goto done;
            }
            need[n->in[j]] = 1;
            uses[n->in[j]]++;
        }
    }

    for (int32_t i = 0; i < nn; i++) {
        if (!need[i])
            continue;
        const sn_ir_node *n = &g->nodes[i];
        const char *opn = sn_ir_op_info[n->op].name;
        int64_t ne = sn_shape_numel(&n->shape);
        const float *leaf = NULL;

        if (n->op == SN_OP_INPUT) {
            int32_t k = 0;
            while (k < g->ninputs && g->inputs[k] != i)
                k++;
            if (k == g->ninputs || !inputs || !inputs[k]) {
                sn_errf(err, errlen, "ref: no data for input %%%d \"%s\"", (int)i,
                        sn_ir_str_get(g, n->name));
                st = SN_ERR_INVALID;
                goto done;
            }
            leaf = inputs[k];
        } else if (n->op == SN_OP_PARAM || n->op == SN_OP_CONST) {
            if (!n->data) {
                sn_errf(err, errlen, "ref: %s %%%d \"%s\" has no data (weights not bound?)", opn,
                        (int)i, sn_ir_str_get(g, n->name));
                st = SN_ERR_INVALID;
                goto done;
            }
            leaf = n->data;
        }

        if (leaf && n->dtype == SN_DTYPE_F32) {
            vals[i] = (float *)leaf; /* borrowed, never written */
        } else {
            float *y = malloc((size_t)(ne ? ne : 1) * sizeof *y);
            if (!y) {
                sn_errf(err, errlen, "ref: out of memory for %%%d (%s, %lld elements)", (int)i, opn,
                        (long long)ne);
                st = SN_ERR_NOMEM;
                goto done;
            }
            vals[i] = y;
            owned[i] = 1;
            sn_ir_ref_args r;
            memset(&r, 0, sizeof r);
            r.n = n;
            r.y = y;
            r.x[0] = leaf;
            r.xs[0] = &n->shape;
            for (int j = 0; j < n->nin; j++) {
                r.x[j] = vals[n->in[j]];
                r.xs[j] = &g->nodes[n->in[j]].shape;
            }
            if (sn_ir_op_info[n->op].ref(&r) != SN_OK) {
                sn_errf(err, errlen, "ref: %%%d (%s) failed (out of memory)", (int)i, opn);
                st = SN_ERR_NOMEM;
                goto done;
            }
            if (n->dtype != SN_DTYPE_F32)
                for (int64_t e = 0; e < ne; e++)
                    y[e] = sn_ir_round_dtype(y[e], n->dtype);
        }
        if (nf && nf->node < 0)
            find_nonfinite(vals[i], ne, i, nf);

        for (int32_t k = 0; k < g->noutputs; k++)
            if (g->outputs[k] == i && outputs && outputs[k])
                memcpy(outputs[k], vals[i], (size_t)ne * sizeof(float));
        for (int j = 0; j < n->nin; j++) {
            int32_t p = n->in[j];
            if (--uses[p] == 0 && owned[p]) {
                free(vals[p]);
                vals[p] = NULL;
                owned[p] = 0;
            }
        }
        if (uses[i] == 0 && owned[i]) { /* an output nothing else reads */
            free(vals[i]);
            vals[i] = NULL;
            owned[i] = 0;
        }
    }

done:
    if (vals && owned)
        for (int32_t i = 0; i < nn; i++)
            if (owned[i])
                free(vals[i]);
    free(need);
    free(owned);
    free(uses);
    free(vals);
    return st;
}

sn_status sn_ir_ref_run(const sn_ir_graph *g, const float *const *inputs, float *const *outputs,
                        char *err, size_t errlen) {
    return ref_run(g, inputs, outputs, NULL, err, errlen);
}

sn_status sn_ir_ref_run_checked(const sn_ir_graph *g, const float *const *inputs,
                                float *const *outputs, sn_ir_ref_nonfinite *first, char *err,
                                size_t errlen) {
    memset(first, 0, sizeof *first);
    first->node = -1;
    return ref_run(g, inputs, outputs, first, err, errlen);
}
