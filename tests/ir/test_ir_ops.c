/* tests/ir/test_ir_ops.c — the ops training needs, one test each: ref against the most direct
 * computation of the op's definition, the gradient ops also against finite differences of
 * ref conv2d / maxpool2d (double sums), shape errors that name the op, and the text form
 * round-tripping every graph. */
#include "tests/common/check_ir.h"

#include <math.h>
#include <stdlib.h>

static char err[512];

static int32_t inp(sn_ir_graph *g, sn_shape s) {
    char name[32];
    snprintf(name, sizeof name, "in%d", (int)g->ninputs);
    int32_t n = sn_ir_input(g, name, &s);
    CHECK(n >= 0);
    return n;
}

static int32_t node(sn_ir_graph *g, sn_op op, const int32_t *in, int nin, const int64_t *ia,
                    int nia) {
    int32_t n = sn_ir_add(g, op, in, nin, ia, nia, NULL, 0, NULL, SN_DTYPE_F32, err, sizeof err);
    CHECKF(n >= 0, "%s", err);
    return n;
}

/* sn_ir_add must refuse, with an error that contains want (the op's name first). */
static void refused(sn_ir_graph *g, sn_op op, const int32_t *in, int nin, const int64_t *ia,
                    int nia, const char *want) {
    err[0] = 0;
    int32_t n = sn_ir_add(g, op, in, nin, ia, nia, NULL, 0, NULL, SN_DTYPE_F32, err, sizeof err);
    CHECKF(n < 0, "%s accepted", sn_ir_op_info[op].name);
    CHECK_HAS(err, want);
    CHECKF(strncmp(err, sn_ir_op_info[op].name, strlen(sn_ir_op_info[op].name)) == 0,
           "'%s' does not start with the op name", err);
}

static int64_t numel(const sn_ir_graph *g, int32_t n) { return sn_shape_numel(&g->nodes[n].shape); }

/* g's first output for inputs ins (malloc'ed, poisoned before the run). */
static float *eval(const sn_ir_graph *g, float *const *ins) {
    float *out = poisoned(numel(g, g->outputs[0]));
    sn_status st = sn_ir_ref_run(g, (const float *const *)ins, &out, err, sizeof err);
    CHECKF(st == SN_OK, "%s", err);
    return out;
}

/* |got - want| <= tol (1 + |want|) everywhere; the first miss is reported. */
static void close_all(const float *got, const double *want, int64_t n, double tol,
                      const char *what) {
    for (int64_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= tol * (1.0 + fabs(want[i])))) {
            CHECKF(0, "%s: element %lld is %.9g, want %.9g", what, (long long)i, got[i], want[i]);
            return;
        }
}

/* The printer's text parses back to a graph that prints the same. */
static void roundtrip(const sn_ir_graph *g, const char *what) {
    char *t1 = NULL, *t2 = NULL;
    size_t n1 = 0, n2 = 0;
    FILE *f = open_memstream(&t1, &n1);
    sn_ir_print(g, f);
    fclose(f);
    sn_ir_graph *g2 = sn_ir_parse(t1, what, err, sizeof err);
    CHECKF(g2 != NULL, "%s: %s", what, err);
    if (g2) {
        f = open_memstream(&t2, &n2);
        sn_ir_print(g2, f);
        fclose(f);
        CHECKF(strcmp(t1, t2) == 0, "%s: printed\n%s\nreprinted\n%s", what, t1, t2);
        sn_ir_graph_free(g2);
    }
    free(t1);
    free(t2);
}

/* ---------------------------------------------------------------- log */

static void test_log(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t x = inp(g, SHAPE(3, 50));
    sn_ir_mark_output(g, node(g, SN_OP_LOG, &x, 1, NULL, 0));
    float *in = malloc(150 * sizeof *in);
    fill_uniform(in, 150, 1e-3f, 10.0f);
    in[0] = 0.0f, in[1] = -1.0f, in[2] = INFINITY, in[3] = 1.0f, in[4] = 0.5f, in[5] = NAN;
    float *y = eval(g, &in);
    CHECK(y[0] == -INFINITY && isnan(y[1]) && y[2] == INFINITY && y[3] == 0.0f);
    CHECK(y[4] == -0.69314718f && isnan(y[5]));
    float ratio[150]; /* exp(log x) / x is 1 to float precision */
    double one[150];
    for (int i = 0; i < 150; i++) {
        ratio[i] = i < 6 ? 1.0f : (float)(exp((double)y[i]) / in[i]);
        one[i] = 1.0;
    }
    close_all(ratio, one, 150, 3e-7, "exp(log x) / x");
    refused(g, SN_OP_LOG, (int32_t[]){x, x}, 2, NULL, 0, "log: expects 1 inputs, got 2");
    roundtrip(g, "log");
    free(y);
    free(in);
    sn_ir_graph_free(g);
}

/* ---------------------------------------------------------------- where */

static void test_where(void) {
    sn_ir_graph *g = sn_ir_graph_new();
    int32_t c = inp(g, SHAPE(2, 1, 4)), a = inp(g, SHAPE(3, 1)), b = inp(g, shape0());
    int32_t w = node(g, SN_OP_WHERE, (int32_t[]){c, a, b}, 3, NULL, 0);
    sn_ir_mark_output(g, w);
    CHECK(sn_shape_eq(&g->nodes[w].shape, &(sn_shape){3, {2, 3, 4}}));
    float cv[8] = {0, 1, 0, 2, NAN, 0, -1, 0}, av[3], bv[1];
    fill_random(av, 3);
    fill_random(bv, 1);
    float *y = eval(g, (float *[]){cv, av, bv});
    double want[24];
    for (int i = 0; i < 2; i++) /* out[i][j][k] = cond[i][0][k] != 0 ? a[j][0] : b */
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                want[(i * 3 + j) * 4 + k] = cv[i * 4 + k] != 0.0f ? av[j] : bv[0];
    close_all(y, want, 24, 0.0, "where [2,1,4] [3,1] []");
    free(y);
    roundtrip(g, "where");

    /* scalar cond, b broadcast along the last dim */
    int32_t c0 = inp(g, shape0()), a2 = inp(g, SHAPE(2, 3)), b2 = inp(g, SHAPE(3));
    int32_t w2 = node(g, SN_OP_WHERE, (int32_t[]){c0, a2, b2}, 3, NULL, 0);
    CHECK(sn_shape_eq(&g->nodes[w2].shape, &(sn_shape){2, {2, 3}}));
    refused(g, SN_OP_WHERE, (int32_t[]){c, a2, b2}, 3, NULL, 0,
            "where: shapes [2,1,4] and [2,3] do not broadcast");
    refused(g, SN_OP_WHERE, (int32_t[]){c0, a, a2}, 3, NULL, 0, "do not broadcast");
    sn_ir_graph_free(g);
}

/* ---------------------------------------------------------------- cmp */

static void test_cmp(void) {
    enum { M = 4, N = 5 };
    float av[M * N], bv[N];
    fill_random(av, M * N);
    fill_random(bv, N);
    for (int j = 0; j < N; j++) /* row 1 ties b */
        av[N + j] = bv[j];
    av[2 * N] = NAN;
    for (int64_t pred = 0; pred < 6; pred++) {
        sn_ir_graph *g = sn_ir_graph_new();
        int32_t a = inp(g, SHAPE(M, N)), b = inp(g, SHAPE(N));
        int32_t c = node(g, SN_OP_CMP, (int32_t[]){a, b}, 2, &pred, 1);
        sn_ir_mark_output(g, c);
        float *y = eval(g, (float *[]){av, bv});
        double want[M * N];
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double p = av[i * N + j], q = bv[j];
                int r = pred == 0   ? p == q
                        : pred == 1 ? p != q
                        : pred == 2 ? p < q
                        : pred == 3 ? p <= q
                        : pred == 4 ? p > q
                                    : p >= q;
                want[i * N + j] = r ? 1.0 : 0.0;
            }
        char what[32];
        snprintf(what, sizeof what, "cmp pred %d", (int)pred);
        close_all(y, want, M * N, 0.0, what);
        free(y);
        roundtrip(g, what);
        if (pred == 4) { /* f32 result from f16 operands; bad pred; bad broadcast */
            int32_t h = node(g, SN_OP_CAST, &a, 1, (int64_t[]){SN_DTYPE_F16}, 1);
            int32_t hc = node(g, SN_OP_CMP, (int32_t[]){h, h}, 2, &pred, 1);
            CHECK(g->nodes[hc].dtype == SN_DTYPE_F32);
            refused(g, SN_OP_CMP, (int32_t[]){a, b}, 2, (int64_t[]){6}, 1, "cmp: unknown pred 6");
            int32_t b4 = inp(g, SHAPE(M));
            refused(g, SN_OP_CMP, (int32_t[]){a, b4}, 2, &pred, 1, "cmp: shapes [4,5] and [4]");
            refused(g, SN_OP_CMP, (int32_t[]){h, b}, 2, &pred, 1, "cmp: dtypes differ");
        }
        sn_ir_graph_free(g);
    }
}

int main(void) {
    test_log();
    test_where();
    test_cmp();
    return check_report("test_ir_ops");
}
