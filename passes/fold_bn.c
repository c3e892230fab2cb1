/* passes/fold_bn.c — fold inference BatchNorm into the convolution before it.
 *
 * Algorithm: for each BATCHNORM b whose input c is a CONV2D used only by b (and not a graph
 * output), with a weight (and optional bias) PARAM/CONST used only by c and per-channel
 * PARAM/CONST statistics:
 *     s[o]  = gamma[o] / sqrt(var[o] + eps)                 (double precision)
 *     w'[o] = w[o] * s[o]
 *     b'[o] = (bias[o] - mean[o]) * s[o] + beta[o]          (bias = 0 when absent)
 * w' and b' are new PARAMs named as in Ultralytics' fused model: "<conv path>.weight" and
 * "<conv path>.bias", conv path = the weight's name minus ".weight" (model.0.conv.weight →
 * model.0.conv.bias). c becomes conv2d(x, w', b'); b's uses move to c; b and the old weight,
 * bias and statistics die. When any of those tensors has no data (a shape-only graph, e.g.
 * for counting parameters), only shapes are folded: w' and b' carry no data. The new PARAMs
 * are appended, so the graph is re-sorted topologically, then compacted. A conv whose
 * weight is shared, or whose new names would collide with another PARAM, is left alone.
 * Only runs when o->fold_bn is set (inference).
 */
#include "passes/passes_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_tensor_leaf(const sn_ir_node *n) {
    return n->op == SN_OP_PARAM || n->op == SN_OP_CONST;
}

/* The conv path: the weight's name minus a trailing ".weight" (or the whole name). */
static void conv_path(const sn_ir_graph *g, const sn_ir_node *w, int32_t conv, char *out,
                      size_t n) {
    const char *wn = sn_ir_str_get(g, w->name);
    if (!*wn)
        wn = sn_ir_str_get(g, g->nodes[conv].name);
    size_t len = strlen(wn);
    if (len >= 7 && strcmp(wn + len - 7, ".weight") == 0)
        len -= 7;
    if (!*wn) {
        snprintf(out, n, "conv%d", (int)conv);
        return;
    }
    snprintf(out, n, "%.*s", (int)len, wn);
}

/* Is `name` free for a new PARAM, other than the nodes about to die (except1, except2)? */
static int name_free(const sn_ir_graph *g, const char *name, int32_t except1, int32_t except2) {
    for (int32_t i = 0; i < g->nnodes; i++) {
        const sn_ir_node *n = &g->nodes[i];
        if (n->op != SN_OP_PARAM || !sn_pass_live(n) || i == except1 || i == except2)
            continue;
        if (strcmp(sn_ir_str_get(g, n->name), name) == 0)
            return 0;
    }
    return 1;
}

sn_status sn_pass_fold_bn(sn_ir_graph *g, const sn_pass_options *o, char *err, size_t errlen) {
    if (!o->fold_bn)
        return SN_OK;
    int32_t *uses = malloc(((size_t)g->nnodes + 1) * sizeof *uses);
    if (!uses) {
        sn_errf(err, errlen, "fold-bn: out of memory");
        return SN_ERR_NOMEM;
    }
    sn_ir_use_counts(g, uses);
    int32_t n0 = g->nnodes, folded = 0;
    sn_status st = SN_OK;
    for (int32_t bi = 0; bi < n0; bi++) {
        if (g->nodes[bi].op != SN_OP_BATCHNORM || !sn_pass_live(&g->nodes[bi]))
            continue;
        int32_t c = g->nodes[bi].in[0];
        const sn_ir_node *cn = &g->nodes[c];
        if (cn->op != SN_OP_CONV2D || !sn_pass_live(cn) || uses[c] != 1 || sn_pass_is_output(cn))
            continue;
        int32_t w = cn->in[1], cb = cn->nin == 3 ? cn->in[2] : -1;
        if (!is_tensor_leaf(&g->nodes[w]) || uses[w] != 1 || sn_pass_is_output(&g->nodes[w]))
            continue;
        if (cb >= 0 &&
            (!is_tensor_leaf(&g->nodes[cb]) || uses[cb] != 1 || sn_pass_is_output(&g->nodes[cb])))
            continue;
        int ok = 1;
        for (int k = 1; k < 5; k++)
            if (!is_tensor_leaf(&g->nodes[g->nodes[bi].in[k]]))
                ok = 0;
        if (!ok)
            continue;

        char path[512], wname[600], bname[600];
        conv_path(g, &g->nodes[w], c, path, sizeof path);
        snprintf(wname, sizeof wname, "%s.weight", path);
        snprintf(bname, sizeof bname, "%s.bias", path);
        if (!name_free(g, wname, w, cb) || !name_free(g, bname, w, cb))
            continue;

        sn_shape bshape = {1, {g->nodes[w].shape.d[0]}};
        sn_shape wshape = g->nodes[w].shape;
        int32_t nw = sn_ir_param(g, wname, &wshape, SN_IR_INIT_CONV_WEIGHT);
        int32_t nb = nw >= 0 ? sn_ir_param(g, bname, &bshape, SN_IR_INIT_CONV_BIAS) : -1;
        if (nw < 0 || nb < 0) {
            sn_errf(err, errlen, "fold-bn: cannot add parameters for %s", path);
            st = SN_ERR_NOMEM;
            break;
        }
        /* node pointers are valid again only after the appends */
        const sn_ir_node *bn = &g->nodes[bi];
        const sn_ir_node *W = &g->nodes[w];
        const float *gam = g->nodes[bn->in[1]].data, *bet = g->nodes[bn->in[2]].data;
        const float *mean = g->nodes[bn->in[3]].data, *var = g->nodes[bn->in[4]].data;
        const float *bias = cb >= 0 ? g->nodes[cb].data : NULL;
        if (W->data && gam && bet && mean && var && (cb < 0 || bias)) {
            float *dw = sn_ir_node_data(g, nw), *db = sn_ir_node_data(g, nb);
            if (!dw || !db) {
                sn_errf(err, errlen, "fold-bn: out of memory");
                st = SN_ERR_NOMEM;
                break;
            }
            bn = &g->nodes[bi];
            W = &g->nodes[w];
            double eps = bn->fa[0];
            int64_t O = wshape.d[0], per = sn_shape_numel(&wshape) / (O ? O : 1);
            for (int64_t oc = 0; oc < O; oc++) {
                double s = (double)gam[oc] / sqrt((double)var[oc] + eps);
                for (int64_t e = 0; e < per; e++)
                    dw[oc * per + e] = (float)((double)W->data[oc * per + e] * s);
                double b0 = bias ? (double)bias[oc] : 0.0;
                db[oc] = (float)((b0 - (double)mean[oc]) * s + (double)bet[oc]);
            }
        }
        int32_t x = g->nodes[c].in[0];
        int32_t ins[3] = {x, nw, nb};
        if (sn_ir_set_inputs(g, c, ins, 3) != SN_OK) {
            sn_errf(err, errlen, "fold-bn: out of memory");
            st = SN_ERR_NOMEM;
            break;
        }
        g->nodes[bi].flags |= SN_IR_NODE_DEAD;
        sn_pass_replace_uses(g, bi, c);
        g->nodes[w].flags |= SN_IR_NODE_DEAD;
        if (cb >= 0)
            g->nodes[cb].flags |= SN_IR_NODE_DEAD;
        folded++;
    }
    free(uses);
    if (st != SN_OK)
        return st;
    if (!folded)
        return SN_OK;
    if ((st = sn_pass_toposort(g, err, errlen)) != SN_OK)
        return st;
    for (int32_t i = 0; i < g->nnodes; i++)
        if (sn_pass_live(&g->nodes[i]) && g->nodes[i].op == SN_OP_CONV2D &&
            sn_ir_infer(g, i, err, errlen) != SN_OK)
            return SN_ERR_INVALID;
    sn_ir_graph_compact(g);
    return SN_OK;
}
