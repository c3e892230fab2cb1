/* tests/codegen_cpu/cg_harness.h — what the CPU codegen tests share: a tiny LLJIT loader
 * (kept in the tests so they do not depend on the runtime), a hand memory planner for
 * eager/fused test graphs, and a runner that executes a program and compares it with the
 * ref evaluator. */
#ifndef SN_TEST_CG_HARNESS_H
#define SN_TEST_CG_HARNESS_H

#include "codegen/codegen.h"
#include "ir/ir.h"

#include <stdint.h>
#include <stdio.h>

extern int cgt_failures;

#define CGT_CHECK(c, ...)                                                                          \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #c);                  \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            cgt_failures++;                                                                        \
        }                                                                                          \
    } while (0)

/* Deterministic random floats in [lo, hi). */
float cgt_rand(float lo, float hi);
void cgt_fill(float *p, int64_t n, float lo, float hi);
/* Gives every PARAM/CONST without data random data (conv weights scaled by fan-in). */
void cgt_random_params(sn_ir_graph *g);

/* Shape literal: CGT_SHAPE(1, 16, 8, 8). */
sn_shape cgt_shape(int nd, const int64_t *d);
#define CGT_SHAPE(...)                                                                             \
    cgt_shape((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

/* Graph builders for the op cases (exit(2) when sn_ir_add refuses). */
int32_t cgt_add_node(sn_ir_graph *g, sn_op op, const int32_t *in, int nin, const int64_t *ia,
                     int nia, const double *fa, int nfa);
int32_t cgt_input(sn_ir_graph *g, sn_shape s); /* named x0, x1, … */
int32_t cgt_param(sn_ir_graph *g, sn_shape s, sn_ir_init init);
int32_t cgt_un(sn_ir_graph *g, sn_op op, int32_t x);
int32_t cgt_bin(sn_ir_graph *g, sn_op op, int32_t a, int32_t b);
/* BATCHNORM (eps 1e-3) of x over its dim 1 with fresh PARAMs; p (may be NULL) gets weight,
 * bias, running_mean, running_var. */
int32_t cgt_bn(sn_ir_graph *g, int32_t x, int32_t *p);

/* Hand memory plan: every live compute node in its own group (unless group already >= 0),
 * graph inputs/outputs contiguous NCHW in INPUT/OUTPUT buffers, leaves in CONST buffers,
 * everything else its own ARENA buffer, NHWC strides for 4-D values when nhwc. Group-internal
 * nodes (same group as a later user) still get storage; lower never reads it. */
void cgt_plan(sn_ir_graph *g, int nhwc);

/* Lowers g for the host CPU, compiles and JITs every kernel, runs it with the task range
 * cut into `splits` pieces (uneven), and compares every output with sn_ir_ref_run by
 * relative L2. Returns the worst relative error (or +inf when something failed: lowering,
 * compiling, NaNs left in an output). Inputs are random. `what` names the case. */
double cgt_run_compare(sn_ir_graph *g, const char *what, int splits, double tol);
/* The same, with the reference computed on refg (e.g. the graph before the passes). */
double cgt_run_compare_ref(sn_ir_graph *g, const sn_ir_graph *refg, const char *what, int splits,
                           double tol);

/* NaN/Inf cases: an edit of input `i` (n floats) after the random fill, e.g. a NaN pixel. */
typedef void (*cgt_edit_fn)(int i, float *x, int64_t n);
/* cgt_run_compare_ref with the inputs edited by `edit` (may be NULL) and the outputs compared
 * by class: every element ref gives as NaN, +Inf or -Inf must be exactly that (a wrong class
 * counts as +inf error), the finite ones by relative L2 <= tol. *nonfinite (may be NULL) gets
 * how many output elements ref gives as NaN/Inf, so a case can check that it tests one. */
double cgt_run_compare_nonfinite(sn_ir_graph *g, const sn_ir_graph *refg, const char *what,
                                 int splits, double tol, cgt_edit_fn edit, int64_t *nonfinite);

/* The host CPU target (cached). */
const sn_cg_target *cgt_target(void);

/* JIT: loads an object file (one LLJIT each) and returns the address of `name` (NULL on
 * failure, message on stderr); cached by spec. Objects stay loaded until cgt_jit_reset. */
void *cgt_jit_load(const void *obj, size_t len, const char *name, const char *spec);
void *cgt_jit_find(const char *spec);
void cgt_jit_reset(void);

int cgt_report(const char *name);

#endif
