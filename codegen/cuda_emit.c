/* codegen/cuda_emit.c — what every CUDA template shares: the prelude, the kernel signature,
 * the spec, index arithmetic, lane loads/stores and the epilogue emitter.
 *
 * The epilogue emitter is the one place that turns a group's ops (codegen_int.h: unary,
 * binary, BATCHNORM as x*scale+shift, CAST) into CUDA C. It works on a chunk of `vec` lanes
 * along one index-space dim:
 *   1. every distinct INPUT operand is loaded once before the lane loop — one scalar when it
 *      does not vary along the lanes (stride 0), one aligned vector access when the lanes are
 *      contiguous and aligned, else one scalar load per lane;
 *   2. an unrolled `for (v)` computes each op per lane into `t<j>` (register arrays indexed
 *      by the unrolled v only);
 *   3. stored ops are written back the same three ways.
 * A chunk that may run past the end of the lane dim gets a second, guarded per-lane path.
 */
#include "codegen/cuda_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- dtypes */

const char *sn_cg_cuda_stype(sn_dtype t) {
    switch (t) {
    case SN_DTYPE_F16:
        return "sn_half";
    case SN_DTYPE_BF16:
        return "sn_bf16";
    case SN_DTYPE_I32:
        return "int";
    default:
        return "float";
    }
}

int sn_cg_cuda_ssize(sn_dtype t) { return (t == SN_DTYPE_F16 || t == SN_DTYPE_BF16) ? 2 : 4; }

sn_dtype sn_cg_cuda_val_dtype(const sn_cg_group *g, int i) {
    const sn_cg_val *v = &g->vals[i];
    return v->is_weight ? SN_DTYPE_F32 : v->dtype;
}

/* ---------------------------------------------------------------- small text helpers */

void sn_cg_cuda_line(sn_cg_cuda_k *kc, int indent, const char *fmt, ...) {
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) {
        kc->src.oom = 1;
        return;
    }
    if ((size_t)n >= sizeof buf) {
        /* long line: format again into the heap */
        char *p = malloc((size_t)n + 1);
        if (!p) {
            kc->src.oom = 1;
            return;
        }
        va_start(ap, fmt);
        vsnprintf(p, (size_t)n + 1, fmt, ap);
        va_end(ap);
        sn_str_printf(&kc->src, "%*s%s\n", indent, "", p);
        free(p);
        return;
    }
    sn_str_printf(&kc->src, "%*s%s\n", indent, "", buf);
}

void sn_cg_cuda_float_lit(float f, char *buf, size_t n) {
    if (!isfinite(f)) {
        uint32_t u;
        memcpy(&u, &f, 4);
        snprintf(buf, n, "__int_as_float(0x%08x)", (unsigned)u);
        return;
    }
    char t[24]; /* "%.9g" of a finite float: at most 15 characters ("-1.17549435e-38") */
    snprintf(t, sizeof t, "%.9g", (double)f);
    int has = strpbrk(t, ".e") != NULL;
    snprintf(buf, n, "%s%sf", t, has ? "" : ".0");
}

static void int_lit(char *buf, size_t n, int64_t v) {
    if (v > 2147483647LL || v < -2147483647LL)
        snprintf(buf, n, "%lldLL", (long long)v);
    else
        snprintf(buf, n, "%lld", (long long)v);
}

void sn_cg_cuda_offset_expr(char *buf, size_t n, int ndim, const int64_t *extent,
                            const char *const *idx, const int64_t *stride) {
    size_t at = 0;
    buf[0] = 0;
    for (int k = 0; k < ndim; k++) {
        if (stride[k] == 0 || extent[k] == 1 || !idx[k])
            continue;
        char lit[32];
        int_lit(lit, sizeof lit, stride[k]);
        int w;
        if (stride[k] == 1)
            w = snprintf(buf + at, n - at, "%s%s", at ? " + " : "", idx[k]);
        else
            w = snprintf(buf + at, n - at, "%s%s * %s", at ? " + " : "", idx[k], lit);
        if (w < 0 || (size_t)w >= n - at)
            break;
        at += (size_t)w;
    }
    if (at == 0)
        snprintf(buf, n, "0");
}

void sn_cg_cuda_space_strides(const sn_cg_group *g, int vi, int64_t *stride) {
    const sn_cg_val *v = &g->vals[vi];
    const sn_shape *sp = &g->space;
    int lead = sp->ndim - v->shape.ndim;
    for (int k = 0; k < SN_MAX_DIMS; k++)
        stride[k] = 0;
    for (int k = 0; k < sp->ndim; k++) {
        int j = k - lead;
        if (j < 0 || j >= v->shape.ndim)
            continue;
        stride[k] = v->shape.d[j] == 1 ? 0 : v->stride[j];
    }
}

int sn_cg_cuda_vec_ok(const sn_cg_group *g, int vi, int ndim, const int64_t *extent,
                      const int64_t *stride, int lane_dim, int vec, int lane_aligned) {
    if (vec <= 1)
        return 1;
    if (!lane_aligned || lane_dim < 0 || stride[lane_dim] != 1)
        return 0;
    int sz = sn_cg_cuda_ssize(sn_cg_cuda_val_dtype(g, vi));
    const sn_cg_val *v = &g->vals[vi];
    if (v->loc.offset < 0 || v->loc.offset % ((int64_t)vec * sz) != 0)
        return 0;
    for (int k = 0; k < ndim; k++)
        if (k != lane_dim && extent[k] > 1 && stride[k] % vec != 0)
            return 0;
    return 1;
}

/* ---------------------------------------------------------------- the prelude */

static const char prelude_base[] =
    "/* Sinter CUDA prelude: storage types, conversions, loads/stores. No headers. */\n"
    "struct __align__(2) sn_half { unsigned short x; };\n"
    "struct __align__(2) sn_bf16 { unsigned short x; };\n"
    "__device__ __forceinline__ float sn_f(float v) { return v; }\n"
    "__device__ __forceinline__ float sn_f(int v) { return (float)v; }\n"
    "__device__ __forceinline__ float sn_f(sn_half v) {\n"
    "    float f;\n"
    "    asm(\"cvt.f32.f16 %0, %1;\" : \"=f\"(f) : \"h\"(v.x));\n"
    "    return f;\n"
    "}\n"
    "__device__ __forceinline__ float sn_f(sn_bf16 v) {\n"
    "    return __uint_as_float((unsigned)v.x << 16);\n"
    "}\n"
    "template <class T> struct sn_cvt;\n"
    "template <> struct sn_cvt<float> {\n"
    "    static __device__ __forceinline__ float to(float f) { return f; }\n"
    "};\n"
    "template <> struct sn_cvt<int> {\n"
    "    static __device__ __forceinline__ int to(float f) { return __float2int_rz(f); }\n"
    "};\n"
    "template <> struct sn_cvt<sn_half> {\n"
    "    static __device__ __forceinline__ sn_half to(float f) {\n"
    "        sn_half h;\n"
    "        asm(\"cvt.rn.f16.f32 %0, %1;\" : \"=h\"(h.x) : \"f\"(f));\n"
    "        return h;\n"
    "    }\n"
    "};\n"
    "template <> struct sn_cvt<sn_bf16> {\n"
    "    static __device__ __forceinline__ sn_bf16 to(float f) {\n"
    "        sn_bf16 h;\n"
    "        asm(\"cvt.rn.bf16.f32 %0, %1;\" : \"=h\"(h.x) : \"f\"(f));\n"
    "        return h;\n"
    "    }\n"
    "};\n"
    "template <class T> __device__ __forceinline__ float sn_ld(const T *p) {\n"
    "    return sn_f(*p);\n"
    "}\n"
    "template <class T> __device__ __forceinline__ void sn_st(T *p, float v) {\n"
    "    *p = sn_cvt<T>::to(v);\n"
    "}\n"
    "/* N elements as one 4/8/16-byte access (two 16-byte accesses for 32 bytes). p must be\n"
    " * aligned to the access size. */\n"
    "template <int B> struct sn_raw;\n"
    "template <> struct sn_raw<4> { typedef unsigned t; };\n"
    "template <> struct sn_raw<8> { typedef uint2 t; };\n"
    "template <> struct sn_raw<16> { typedef uint4 t; };\n"
    "template <int N, class T> __device__ __forceinline__ void sn_ldv(const T *p, "
    "float *v) {\n"
    "    constexpr int B = N * (int)sizeof(T);\n"
    "    if constexpr (B <= 16 && B >= 4) {\n"
    "        union { typename sn_raw<B>::t r; T e[N]; } u;\n"
    "        u.r = *(const typename sn_raw<B>::t *)p;\n"
    "#pragma unroll\n"
    "        for (int i = 0; i < N; ++i) v[i] = sn_f(u.e[i]);\n"
    "    } else if constexpr (B > 16) {\n"
    "        sn_ldv<N / 2>(p, v);\n"
    "        sn_ldv<N / 2>(p + N / 2, v + N / 2);\n"
    "    } else {\n"
    "#pragma unroll\n"
    "        for (int i = 0; i < N; ++i) v[i] = sn_f(p[i]);\n"
    "    }\n"
    "}\n"
    "template <int N, class T> __device__ __forceinline__ void sn_stv(T *p, "
    "const float *v) {\n"
    "    constexpr int B = N * (int)sizeof(T);\n"
    "    if constexpr (B <= 16 && B >= 4) {\n"
    "        union { typename sn_raw<B>::t r; T e[N]; } u;\n"
    "#pragma unroll\n"
    "        for (int i = 0; i < N; ++i) u.e[i] = sn_cvt<T>::to(v[i]);\n"
    "        *(typename sn_raw<B>::t *)p = u.r;\n"
    "    } else if constexpr (B > 16) {\n"
    "        sn_stv<N / 2>(p, v);\n"
    "        sn_stv<N / 2>(p + N / 2, v + N / 2);\n"
    "    } else {\n"
    "#pragma unroll\n"
    "        for (int i = 0; i < N; ++i) p[i] = sn_cvt<T>::to(v[i]);\n"
    "    }\n"
    "}\n"
    "__device__ __forceinline__ float sn_rnd_h(float f) {\n"
    "    return sn_f(sn_cvt<sn_half>::to(f));\n"
    "}\n"
    "__device__ __forceinline__ float sn_rnd_bf(float f) {\n"
    "    return sn_f(sn_cvt<sn_bf16>::to(f));\n"
    "}\n"
    "/* NaN-propagating relu and max (fmaxf drops a NaN operand), as ref: NaN in, NaN out */\n"
    "__device__ __forceinline__ float sn_relu(float x) { return x < 0.0f ? 0.0f : x; }\n"
    "__device__ __forceinline__ float sn_max(float a, float b) {\n"
    "    return (a > b || a != a) ? a : b;\n"
    "}\n"
    "__device__ __forceinline__ float sn_silu(float x) { return x / (1.0f + expf(-x)); }\n"
    "__device__ __forceinline__ float sn_sigmoid(float x) {\n"
    "    return 1.0f / (1.0f + expf(-x));\n"
    "}\n"
    "#define SN_NEG_INF __int_as_float(0xff800000)\n";

static const char prelude_gemm[] =
    "/* GEMM helpers: cp.async (16 bytes, zero-filled past src_bytes), ldmatrix, mma.sync. */\n"
    "#define SN_DYN_SHARED(name) extern __shared__ __align__(16) unsigned char name[]\n"
    "__device__ __forceinline__ unsigned sn_smem(const void *p) {\n"
    "    return (unsigned)__cvta_generic_to_shared(p);\n"
    "}\n"
    "__device__ __forceinline__ void sn_cp16(void *dst, const void *src, int src_bytes) "
    "{\n"
    "    asm volatile(\"cp.async.cg.shared.global [%0], [%1], 16, %2;\\n\"\n"
    "                 :: \"r\"(sn_smem(dst)), \"l\"(src), \"r\"(src_bytes) : \"memory\");\n"
    "}\n"
    "__device__ __forceinline__ void sn_cp_commit() {\n"
    "    asm volatile(\"cp.async.commit_group;\\n\" ::: \"memory\");\n"
    "}\n"
    "template <int N> __device__ __forceinline__ void sn_cp_wait() {\n"
    "    asm volatile(\"cp.async.wait_group %0;\\n\" :: \"n\"(N) : \"memory\");\n"
    "}\n"
    "__device__ __forceinline__ void sn_ldsm_x4(unsigned *r, const void *p) {\n"
    "    asm volatile(\"ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\\n\"\n"
    "                 : \"=r\"(r[0]), \"=r\"(r[1]), \"=r\"(r[2]), \"=r\"(r[3]) : "
    "\"r\"(sn_smem(p)));\n"
    "}\n"
    "__device__ __forceinline__ void sn_ldsm_x2(unsigned *r, const void *p) {\n"
    "    asm volatile(\"ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\\n\"\n"
    "                 : \"=r\"(r[0]), \"=r\"(r[1]) : \"r\"(sn_smem(p)));\n"
    "}\n"
    "/* d[4] += a[4] (16x16, row) * b[2] (16x8, col); f32 accumulators. */\n"
    "__device__ __forceinline__ void sn_mma(float *d, const unsigned *a, const unsigned "
    "*b, sn_half) {\n"
    "    asm(\"mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, \"\n"
    "        \"{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\\n\"\n"
    "        : \"+f\"(d[0]), \"+f\"(d[1]), \"+f\"(d[2]), \"+f\"(d[3])\n"
    "        : \"r\"(a[0]), \"r\"(a[1]), \"r\"(a[2]), \"r\"(a[3]), \"r\"(b[0]), \"r\"(b[1]));\n"
    "}\n"
    "__device__ __forceinline__ void sn_mma(float *d, const unsigned *a, const unsigned "
    "*b, sn_bf16) {\n"
    "    asm(\"mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, \"\n"
    "        \"{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\\n\"\n"
    "        : \"+f\"(d[0]), \"+f\"(d[1]), \"+f\"(d[2]), \"+f\"(d[3])\n"
    "        : \"r\"(a[0]), \"r\"(a[1]), \"r\"(a[2]), \"r\"(a[3]), \"r\"(b[0]), \"r\"(b[1]));\n"
    "}\n";

/* ---------------------------------------------------------------- begin / signature / finish */

static int64_t val_span(const sn_cg_val *v) {
    int64_t s = 0;
    for (int k = 0; k < v->shape.ndim; k++)
        s += (v->shape.d[k] - 1) * (v->stride[k] < 0 ? -v->stride[k] : v->stride[k]);
    return s + 1;
}

void sn_cg_cuda_begin(sn_cg_cuda_k *kc, int want_mma) {
    const sn_cg_group *g = kc->g;
    /* 32-bit index arithmetic unless some extent could overflow it (with headroom for the
     * intermediate products the templates form) */
    int64_t big = sn_shape_numel(&g->space);
    for (int i = 0; i < g->nvals; i++) {
        int64_t s = val_span(&g->vals[i]);
        int64_t ne = sn_shape_numel(&g->vals[i].shape);
        if (s > big)
            big = s;
        if (ne > big)
            big = ne;
    }
    kc->idx64 = big >= (1LL << 30);
    kc->ity = kc->idx64 ? "long long" : "int";

    sn_str_printf(&kc->src, "/* %s — Sinter, CUDA sm_%d, %s\n", kc->k->name, kc->t->sm,
                  sn_dtype_name(kc->t->dtype));
    sn_str_printf(&kc->src, " * fused IR ops:\n");
    const char *c = kc->k->comment ? kc->k->comment : "";
    while (*c) {
        const char *nl = strchr(c, '\n');
        size_t len = nl ? (size_t)(nl - c) : strlen(c);
        /* never let provenance text close the comment */
        sn_str_printf(&kc->src, " *   ");
        for (size_t i = 0; i < len; i++) {
            if (c[i] == '*' && i + 1 < len && c[i + 1] == '/')
                sn_str_printf(&kc->src, "* ");
            else
                sn_str_printf(&kc->src, "%c", c[i]);
        }
        sn_str_printf(&kc->src, "\n");
        c += len + (nl ? 1 : 0);
    }
    sn_str_printf(&kc->src, " */\n%s", prelude_base);
    if (want_mma)
        sn_str_printf(&kc->src, "%s", prelude_gemm);
}

static int loc_overlap(const sn_cg_val *a, const sn_cg_val *b, int sa, int sb) {
    if (a->loc.kind != b->loc.kind || a->loc.index != b->loc.index)
        return 0;
    if (a->loc.offset < 0 || b->loc.offset < 0)
        return 0;
    int64_t a0 = a->loc.offset, a1 = a0 + val_span(a) * sa;
    int64_t b0 = b->loc.offset, b1 = b0 + val_span(b) * sb;
    return a0 < b1 && b0 < a1;
}

void sn_cg_cuda_signature(sn_cg_cuda_k *kc, int threads, const int *override_dtype) {
    const sn_cg_group *g = kc->g;
    int restrict_ok = 1;
    for (int o = g->nin; o < g->nvals; o++)
        for (int i = 0; i < g->nin; i++)
            if (loc_overlap(&g->vals[o], &g->vals[i], sn_cg_cuda_ssize(sn_cg_cuda_val_dtype(g, o)),
                            sn_cg_cuda_ssize(sn_cg_cuda_val_dtype(g, i))))
                restrict_ok = 0;
    sn_str_printf(&kc->src, "\nextern \"C\" __global__ void __launch_bounds__(%d) %s(", threads,
                  kc->k->name);
    for (int i = 0; i < g->nvals; i++) {
        sn_dtype dt = sn_cg_cuda_val_dtype(g, i);
        if (override_dtype && override_dtype[i] >= 0)
            dt = (sn_dtype)override_dtype[i];
        int in = i < g->nin;
        sn_str_printf(&kc->src, "%s%s%s *%sa%d", i ? ", " : "", in ? "const " : "",
                      sn_cg_cuda_stype(dt), in && restrict_ok ? "__restrict__ " : "", i);
    }
    sn_str_printf(&kc->src, ") {\n    typedef %s sn_idx;\n", kc->ity);
}

sn_status sn_cg_cuda_finish(sn_cg_cuda_k *kc, sn_str *spec, char *err, size_t errlen) {
    sn_str_printf(&kc->src, "}\n");
    char *s = sn_str_take(&kc->src);
    char *p = sn_str_take(spec);
    if (!s || !p) {
        free(s);
        free(p);
        sn_errf(err, errlen, "group %d: out of memory rendering CUDA", kc->g->id);
        return SN_ERR_NOMEM;
    }
    free(kc->k->source);
    free(kc->k->spec);
    kc->k->source = s;
    kc->k->spec = p;
    return SN_OK;
}

sn_status sn_cg_cuda_launch(sn_cg_cuda_k *kc, sn_str *spec, const sn_cg_cuda_tune *tu, uint32_t gx,
                            uint32_t gy, uint32_t gz, uint32_t smem, char *err, size_t errlen) {
    kc->k->grid[0] = gx;
    kc->k->grid[1] = gy;
    kc->k->grid[2] = gz;
    kc->k->block[0] = (uint32_t)tu->threads;
    kc->k->block[1] = kc->k->block[2] = 1;
    kc->k->smem = smem;
    return sn_cg_cuda_finish(kc, spec, err, errlen);
}

/* ---------------------------------------------------------------- spec */

static void shape_txt(sn_str *s, const int64_t *d, int n) {
    sn_str_printf(s, "[");
    for (int k = 0; k < n; k++)
        sn_str_printf(s, "%s%lld", k ? "," : "", (long long)d[k]);
    sn_str_printf(s, "]");
}

void sn_cg_cuda_spec_begin(sn_cg_cuda_k *kc, sn_str *spec, const char *tmpl,
                           const sn_cg_cuda_tune *tu) {
    const sn_cg_group *g = kc->g;
    sn_str_printf(spec, "kernel %s\ntarget cuda sm_%d %s tf32=%d\n", kc->k->name, kc->t->sm,
                  sn_dtype_name(kc->t->dtype), kc->t->allow_tf32 ? 1 : 0);
    sn_str_printf(spec, "template %s", tmpl);
    if (tu->bm)
        sn_str_printf(spec, " bm=%d bn=%d bk=%d", tu->bm, tu->bn, tu->bk);
    if (tu->warps_m)
        sn_str_printf(spec, " warps=%dx%dx%d", tu->warps_m, tu->warps_n,
                      tu->warps_k ? tu->warps_k : 1);
    if (tu->tm)
        sn_str_printf(spec, " tm=%d tn=%d", tu->tm, tu->tn);
    if (tu->stages)
        sn_str_printf(spec, " stages=%d", tu->stages);
    if (tu->threads)
        sn_str_printf(spec, " threads=%d", tu->threads);
    if (tu->vec)
        sn_str_printf(spec, " vec=%d", tu->vec);
    if (tu->lpr)
        sn_str_printf(spec, " lpr=%d", tu->lpr);
    if (tu->max_blocks)
        sn_str_printf(spec, " max_blocks=%d", tu->max_blocks);
    sn_str_printf(spec, "\nanchor %s", sn_cg_anchor_name(g->anchor));
    for (int i = 0; i < g->nattr; i++)
        sn_str_printf(spec, " %lld", (long long)g->attr[i]);
    sn_str_printf(spec, "\nspace ");
    shape_txt(spec, g->space.d, g->space.ndim);
    sn_str_printf(spec, "\n");
    for (int i = 0; i < g->nvals; i++) {
        const sn_cg_val *v = &g->vals[i];
        sn_str_printf(spec, "val%d %s %s%s ", i, i < g->nin ? "in" : "out",
                      sn_dtype_name(sn_cg_cuda_val_dtype(g, i)), v->is_weight ? " weight" : "");
        shape_txt(spec, v->shape.d, v->shape.ndim);
        sn_str_printf(spec, " strides=");
        shape_txt(spec, v->stride, v->shape.ndim);
        sn_str_printf(spec, " align=%lld\n",
                      (long long)(v->loc.offset < 0 ? -1 : v->loc.offset % 16));
    }
    for (int j = 0; j < g->nops; j++) {
        const sn_cg_op *op = &g->ops[j];
        sn_str_printf(spec, "op%d %s", j, sn_ir_op_info[op->op].name);
        if (op->op == SN_OP_CAST && op->node >= 0)
            sn_str_printf(spec, ":%s", sn_dtype_name((sn_dtype)g->graph->nodes[op->node].ia[0]));
        for (int i = 0; i < op->nin; i++) {
            const sn_cg_opnd *o = &op->in[i];
            switch (o->kind) {
            case SN_CG_OPND_PREV:
                sn_str_printf(spec, " t%d", o->ref);
                break;
            case SN_CG_OPND_INPUT:
                sn_str_printf(spec, " val%d", o->ref);
                shape_txt(spec, o->stride, g->space.ndim);
                break;
            case SN_CG_OPND_SCALAR: {
                char lit[48];
                sn_cg_cuda_float_lit(o->scalar, lit, sizeof lit);
                sn_str_printf(spec, " %s", lit);
                break;
            }
            default:
                sn_str_printf(spec, " -");
                break;
            }
        }
        if (op->store >= 0)
            sn_str_printf(spec, " -> val%d", op->store);
        sn_str_printf(spec, "\n");
    }
}

/* ---------------------------------------------------------------- lane loads */

void sn_cg_cuda_load_lanes(sn_cg_cuda_k *kc, int indent, const char *var, int vi, const char *off,
                           int64_t lane_stride, int vec, int vector_ok, int declare) {
    if (declare)
        sn_cg_cuda_line(kc, indent, "float %s[%d];", var, vec);
    if (vec == 1) {
        sn_cg_cuda_line(kc, indent, "%s[0] = sn_ld(a%d + (%s));", var, vi, off);
    } else if (vector_ok) {
        sn_cg_cuda_line(kc, indent, "sn_ldv<%d>(a%d + (%s), %s);", vec, vi, off, var);
    } else if (lane_stride == 0) {
        sn_cg_cuda_line(kc, indent, "{ const float s_ = sn_ld(a%d + (%s));", vi, off);
        sn_cg_cuda_line(kc, indent, "  for (int v = 0; v < %d; ++v) %s[v] = s_; }", vec, var);
    } else {
        char ls[32];
        int_lit(ls, sizeof ls, lane_stride);
        sn_cg_cuda_line(kc, indent, "#pragma unroll");
        sn_cg_cuda_line(kc, indent,
                        "for (int v = 0; v < %d; ++v) %s[v] = sn_ld(a%d + (%s) + v * %s);", vec,
                        var, vi, off, ls);
    }
}

/* ---------------------------------------------------------------- SIMT tiles */

void sn_cg_cuda_acc_zero(sn_cg_cuda_k *kc) {
    sn_cg_cuda_line(kc, 4, "float acc[TM][TN];");
    sn_cg_cuda_line(kc, 4, "#pragma unroll");
    sn_cg_cuda_line(kc, 4, "for (int i = 0; i < TM; ++i)");
    sn_cg_cuda_line(kc, 8, "#pragma unroll");
    sn_cg_cuda_line(kc, 8, "for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;");
}

void sn_cg_cuda_float4_unpack(sn_cg_cuda_k *kc, int indent, const char *src, const char *dst) {
    sn_cg_cuda_line(kc, indent, "const float4 t4 = *(const float4 *)%s;", src);
    static const char comp[4] = {'x', 'y', 'z', 'w'};
    for (int q = 0; q < 4; q++)
        sn_cg_cuda_line(kc, indent, "%s%d] = t4.%c;", dst, q, comp[q]);
}

/* ---------------------------------------------------------------- the epilogue */

typedef struct epi_in {
    int val;
    int64_t stride[SN_MAX_DIMS];
} epi_in;

/* Distinct INPUT operands (val + strides). Returns their number. */
static int collect_inputs(const sn_cg_group *g, int first, epi_in *ins, int *opnd_in) {
    int n = 0;
    for (int j = first; j < g->nops; j++)
        for (int i = 0; i < g->ops[j].nin; i++) {
            const sn_cg_opnd *o = &g->ops[j].in[i];
            opnd_in[j * SN_CG_OP_MAX_IN + i] = -1;
            if (o->kind != SN_CG_OPND_INPUT)
                continue;
            int q;
            for (q = 0; q < n; q++)
                if (ins[q].val == o->ref &&
                    memcmp(ins[q].stride, o->stride, sizeof(int64_t) * SN_MAX_DIMS) == 0)
                    break;
            if (q == n) {
                ins[n].val = o->ref;
                memcpy(ins[n].stride, o->stride, sizeof ins[n].stride);
                n++;
            }
            opnd_in[j * SN_CG_OP_MAX_IN + i] = q;
        }
    return n;
}

/* mode: 0 = full path with hoisted loads (in<q> is a scalar when kind[q] == 0, an array
 * otherwise); 1 = per-lane path (in<q> a scalar loaded in the lane body). */
static void opnd_txt(const sn_cg_group *g, const sn_cg_opnd *o, int q, int mode, const int *in_kind,
                     char *buf, size_t n) {
    switch (o->kind) {
    case SN_CG_OPND_PREV:
        snprintf(buf, n, "t%d", o->ref);
        break;
    case SN_CG_OPND_INPUT:
        if (mode == 0 && in_kind[q] != 0)
            snprintf(buf, n, "in%d[v]", q);
        else
            snprintf(buf, n, "in%d", q);
        break;
    case SN_CG_OPND_SCALAR:
        sn_cg_cuda_float_lit(o->scalar, buf, n);
        break;
    default:
        snprintf(buf, n, "0.0f");
        break;
    }
    (void)g;
}

/* The cuda column of codegen/pointwise.def: each op's C expression, "%s" standing for the
 * operands a, b, c in order. */
static const char *const pointwise[SN_OP_COUNT] = {
#define SN_CG_PW(id, cuda, cpu) [SN_OP_##id] = cuda,
#include "codegen/pointwise.def"
};

/* fmt with each "%s" replaced by the next of a, b, c (no other conversions). */
static void subst(char *buf, size_t n, const char *fmt, const char *a, const char *b,
                  const char *c) {
    const char *arg[3] = {a, b, c};
    size_t k = 0;
    int next = 0;
    for (const char *p = fmt; *p && k + 1 < n; p++) {
        if (p[0] == '%' && p[1] == 's' && next < 3) {
            for (const char *q = arg[next++]; q && *q && k + 1 < n; q++)
                buf[k++] = *q;
            p++;
        } else {
            buf[k++] = *p;
        }
    }
    if (n)
        buf[k] = 0;
}

static sn_status op_txt(const sn_cg_group *g, int j, const char *a, const char *b, const char *c,
                        char *buf, size_t n) {
    const sn_cg_op *op = &g->ops[j];
    if ((unsigned)op->op < SN_OP_COUNT && pointwise[op->op]) {
        subst(buf, n, pointwise[op->op], a, b, c);
        return SN_OK;
    }
    switch (op->op) {
    case SN_OP_SLICE:
    case SN_OP_PERMUTE:
    case SN_OP_RESHAPE:
        snprintf(buf, n, "%s", a);
        break;
    case SN_OP_CAST: {
        sn_dtype to = op->node >= 0 ? (sn_dtype)g->graph->nodes[op->node].ia[0] : SN_DTYPE_F32;
        if (to == SN_DTYPE_F16)
            snprintf(buf, n, "sn_rnd_h(%s)", a);
        else if (to == SN_DTYPE_BF16)
            snprintf(buf, n, "sn_rnd_bf(%s)", a);
        else if (to == SN_DTYPE_I32)
            snprintf(buf, n, "truncf(%s)", a);
        else
            snprintf(buf, n, "%s", a);
        break;
    }
    default:
        return SN_ERR_UNSUPPORTED;
    }
    return SN_OK;
}

/* The body computing every op for lane v (declares const float t<j>). */
static sn_status emit_ops(sn_cg_cuda_k *kc, const sn_cg_cuda_epi *e, int ind, int mode,
                          const int *opnd_in, const int *in_kind, int store_arrays) {
    const sn_cg_group *g = kc->g;
    int anchored = g->anchor != SN_CG_ANCHOR_POINTWISE;
    for (int j = 0; j < g->nops; j++) {
        const sn_cg_op *op = &g->ops[j];
        char expr[1024];
        if (anchored && j == 0) {
            snprintf(expr, sizeof expr, "%s", e->anchor ? e->anchor : "0.0f");
        } else {
            char ot[3][96] = {"0.0f", "0.0f", "0.0f"};
            if (op->nin > 3)
                return SN_ERR_UNSUPPORTED;
            for (int i = 0; i < op->nin && i < 3; i++)
                opnd_txt(g, &op->in[i], opnd_in[j * SN_CG_OP_MAX_IN + i], mode, in_kind, ot[i],
                         sizeof ot[i]);
            sn_status st = op_txt(g, j, ot[0], ot[1], ot[2], expr, sizeof expr);
            if (st)
                return st;
        }
        sn_cg_cuda_line(kc, ind, "const float t%d = %s;", j, expr);
        if (op->store >= 0 && store_arrays)
            sn_cg_cuda_line(kc, ind, "r%d[v] = t%d;", j, j);
    }
    return SN_OK;
}

/* ---------------------------------------------------------------- tree mode
 *
 * A pointwise group with index transforms (CONCAT, UPSAMPLE) is evaluated from its root:
 * each op at an index vector (C expressions), its operands at the index the op maps them to.
 * Values are memoised per (op, index) within the current branch (a CONCAT's pieces are
 * branches: what is computed inside one is not visible after it). Everything happens per
 * lane with scalar loads; only the root's store is vectorised. */

static int has_transforms(const sn_cg_group *g) {
    if (g->anchor != SN_CG_ANCHOR_POINTWISE)
        return 0;
    for (int j = 0; j < g->nops; j++)
        if (g->ops[j].op == SN_OP_CONCAT || g->ops[j].op == SN_OP_UPSAMPLE)
            return 1;
    return 0;
}

#define TREE_MAX_MEMO 256
#define TREE_IDX 192

typedef struct tree_memo {
    int op;
    char key[SN_MAX_DIMS * TREE_IDX];
    int var;
} tree_memo;

typedef struct tree_ctx {
    sn_cg_cuda_k *kc;
    tree_memo memo[TREE_MAX_MEMO];
    int nmemo;
    int nvar;
    int depth;
    sn_status st;
} tree_ctx;

typedef struct tree_idx {
    char s[SN_MAX_DIMS][TREE_IDX];
} tree_idx;

static void idx_key(const tree_idx *idx, int nd, char *key, size_t n) {
    size_t at = 0;
    key[0] = 0;
    for (int k = 0; k < nd; k++) {
        int w = snprintf(key + at, n - at, "%s|", idx->s[k]);
        if (w < 0 || (size_t)w >= n - at)
            return;
        at += (size_t)w;
    }
}

static int tree_eval(tree_ctx *tc, int j, const tree_idx *idx, int ind);

/* The value of operand o of op j at idx (already mapped for that operand); a var number or,
 * for a literal, -1 with the text in lit. */
static int tree_opnd(tree_ctx *tc, const sn_cg_opnd *o, const sn_shape *es, const tree_idx *idx,
                     int ind, char *lit, size_t litn) {
    sn_cg_cuda_k *kc = tc->kc;
    switch (o->kind) {
    case SN_CG_OPND_PREV:
        return tree_eval(tc, o->ref, idx, ind);
    case SN_CG_OPND_SCALAR:
        sn_cg_cuda_float_lit(o->scalar, lit, litn);
        return -1;
    case SN_CG_OPND_INPUT: {
        const char *ip[SN_MAX_DIMS];
        for (int k = 0; k < es->ndim; k++)
            ip[k] = idx->s[k];
        char off[1024], key[SN_MAX_DIMS * TREE_IDX];
        sn_cg_cuda_offset_expr(off, sizeof off, es->ndim, es->d, ip, o->stride);
        snprintf(key, sizeof key, "a%d + (%.1000s)", o->ref, off);
        for (int m = tc->nmemo - 1; m >= 0; m--)
            if (tc->memo[m].op == -1 && strcmp(tc->memo[m].key, key) == 0)
                return tc->memo[m].var;
        int var = tc->nvar++;
        sn_cg_cuda_line(kc, ind, "const float u%d = sn_ld(%s);", var, key);
        if (tc->nmemo < TREE_MAX_MEMO) {
            tree_memo *m = &tc->memo[tc->nmemo++];
            m->op = -1;
            snprintf(m->key, sizeof m->key, "%s", key);
            m->var = var;
        }
        return var;
    }
    default:
        snprintf(lit, litn, "0.0f");
        return -1;
    }
}

static int tree_eval(tree_ctx *tc, int j, const tree_idx *idx, int ind) {
    sn_cg_cuda_k *kc = tc->kc;
    const sn_cg_group *g = kc->g;
    const sn_cg_op *op = &g->ops[j];
    const int nd = op->shape.ndim;
    char key[SN_MAX_DIMS * TREE_IDX];
    idx_key(idx, nd, key, sizeof key);
    for (int m = tc->nmemo - 1; m >= 0; m--)
        if (tc->memo[m].op == j && strcmp(tc->memo[m].key, key) == 0)
            return tc->memo[m].var;
    if (++tc->depth > 64) {
        tc->st = SN_ERR_UNSUPPORTED;
        tc->depth--;
        return 0;
    }
    int var;
    if (op->op == SN_OP_CONCAT) {
        int ax = (int)op->attr[0];
        var = tc->nvar++;
        sn_cg_cuda_line(kc, ind, "float u%d;", var);
        for (int k = 0; k < op->nin; k++) {
            if (k == op->nin - 1)
                sn_cg_cuda_line(kc, ind, "%s{", k ? "} else " : "");
            else
                sn_cg_cuda_line(kc, ind, "%sif (%s < %lld) {", k ? "} else " : "", idx->s[ax],
                                (long long)op->start[k + 1]);
            tree_idx sub = *idx;
            if (op->start[k]) {
                int w = snprintf(sub.s[ax], TREE_IDX, "(%s - %lld)", idx->s[ax],
                                 (long long)op->start[k]);
                if (w < 0 || w >= TREE_IDX)
                    tc->st = SN_ERR_UNSUPPORTED;
            }
            const sn_shape *es = &g->graph->nodes[g->graph->nodes[op->node].in[k]].shape;
            int saved = tc->nmemo;
            char lit[64];
            int v = tree_opnd(tc, &op->in[k], es, &sub, ind + 4, lit, sizeof lit);
            tc->nmemo = saved;
            if (v >= 0)
                sn_cg_cuda_line(kc, ind + 4, "u%d = u%d;", var, v);
            else
                sn_cg_cuda_line(kc, ind + 4, "u%d = %s;", var, lit);
        }
        sn_cg_cuda_line(kc, ind, "}");
    } else if (op->op == SN_OP_UPSAMPLE) {
        tree_idx sub = *idx;
        int w2 = snprintf(sub.s[2], TREE_IDX, "(%s / %lld)", idx->s[2], (long long)op->attr[0]);
        int w3 = snprintf(sub.s[3], TREE_IDX, "(%s / %lld)", idx->s[3], (long long)op->attr[1]);
        if (w2 < 0 || w2 >= TREE_IDX || w3 < 0 || w3 >= TREE_IDX)
            tc->st = SN_ERR_UNSUPPORTED;
        const sn_shape *es = &g->graph->nodes[g->graph->nodes[op->node].in[0]].shape;
        char lit[64];
        int v = tree_opnd(tc, &op->in[0], es, &sub, ind, lit, sizeof lit);
        var = tc->nvar++;
        if (v >= 0)
            sn_cg_cuda_line(kc, ind, "const float u%d = u%d;", var, v);
        else
            sn_cg_cuda_line(kc, ind, "const float u%d = %s;", var, lit);
    } else {
        char ot[3][96] = {"0.0f", "0.0f", "0.0f"};
        if (op->nin > 3) {
            tc->st = SN_ERR_UNSUPPORTED;
            tc->depth--;
            return 0;
        }
        for (int i = 0; i < op->nin; i++) {
            char lit[64];
            int v = tree_opnd(tc, &op->in[i], &op->shape, idx, ind, lit, sizeof lit);
            if (v >= 0)
                snprintf(ot[i], sizeof ot[i], "u%d", v);
            else
                snprintf(ot[i], sizeof ot[i], "%s", lit);
        }
        char expr[1024];
        sn_status st = op_txt(g, j, ot[0], ot[1], ot[2], expr, sizeof expr);
        if (st)
            tc->st = st;
        var = tc->nvar++;
        sn_cg_cuda_line(kc, ind, "const float u%d = %s;", var, expr);
    }
    tc->depth--;
    if (tc->nmemo < TREE_MAX_MEMO) {
        tree_memo *m = &tc->memo[tc->nmemo++];
        m->op = j;
        snprintf(m->key, sizeof m->key, "%s", key);
        m->var = var;
    }
    return var;
}

static sn_status emit_tree(sn_cg_cuda_k *kc, const sn_cg_cuda_epi *e) {
    const sn_cg_group *g = kc->g;
    const int nd = g->space.ndim;
    const int64_t *ext = g->space.d;
    const int vec = e->vec > 1 ? e->vec : 1;
    const int L = vec > 1 ? e->lane_dim : -1;
    const int root = g->nops - 1;
    if (g->anchor != SN_CG_ANCHOR_POINTWISE || e->full)
        return SN_ERR_UNSUPPORTED;
    for (int j = 0; j < g->nops - 1; j++)
        if (g->ops[j].store >= 0)
            return SN_ERR_UNSUPPORTED; /* lower: only the root */
    tree_ctx *tc = calloc(1, sizeof *tc);
    if (!tc)
        return SN_ERR_NOMEM;
    tc->kc = kc;
    int ind = e->indent;
    tree_idx idx;
    memset(&idx, 0, sizeof idx);
    for (int k = 0; k < nd; k++) {
        if (k == L)
            snprintf(idx.s[k], TREE_IDX, "(%s + v)", e->idx[k]);
        else
            snprintf(idx.s[k], TREE_IDX, "%s", e->idx[k]);
    }
    sn_cg_cuda_line(kc, ind, "{");
    ind += 4;
    sn_cg_cuda_line(kc, ind, "float r%d[%d];", root, vec);
    sn_cg_cuda_line(kc, ind, "#pragma unroll");
    sn_cg_cuda_line(kc, ind, "for (int v = 0; v < %d; ++v) {", vec);
    int var = tree_eval(tc, root, &idx, ind + 4);
    sn_cg_cuda_line(kc, ind + 4, "r%d[v] = u%d;", root, var);
    sn_cg_cuda_line(kc, ind, "}");
    int ov = g->ops[root].store;
    sn_status st = tc->st;
    free(tc);
    if (st)
        return st;
    if (ov >= 0) {
        int64_t os[SN_MAX_DIMS];
        char off[1024];
        sn_cg_cuda_space_strides(g, ov, os);
        sn_cg_cuda_offset_expr(off, sizeof off, nd, ext, e->idx, os);
        if (vec == 1) {
            sn_cg_cuda_line(kc, ind, "sn_st(a%d + (%s), r%d[0]);", ov, off, root);
        } else if (os[L] == 0) {
            sn_cg_cuda_line(kc, ind, "sn_st(a%d + (%s), r%d[0]);", ov, off, root);
        } else if (sn_cg_cuda_vec_ok(g, ov, nd, ext, os, L, vec, e->lane_aligned)) {
            sn_cg_cuda_line(kc, ind, "sn_stv<%d>(a%d + (%s), r%d);", vec, ov, off, root);
        } else {
            char lsb[32];
            int_lit(lsb, sizeof lsb, os[L]);
            sn_cg_cuda_line(kc, ind, "#pragma unroll");
            sn_cg_cuda_line(kc, ind,
                            "for (int v = 0; v < %d; ++v) sn_st(a%d + (%s) + v * %s, r%d[v]);", vec,
                            ov, off, lsb, root);
        }
    }
    ind -= 4;
    sn_cg_cuda_line(kc, ind, "}");
    return SN_OK;
}

sn_status sn_cg_cuda_epilogue(sn_cg_cuda_k *kc, const sn_cg_cuda_epi *e) {
    const sn_cg_group *g = kc->g;
    const int nd = g->space.ndim;
    const int64_t *ext = g->space.d;
    const int vec = e->vec > 1 ? e->vec : 1;
    const int L = vec > 1 ? e->lane_dim : -1;
    int anchored = g->anchor != SN_CG_ANCHOR_POINTWISE;
    int first = anchored ? 1 : 0;
    if (has_transforms(g))
        return emit_tree(kc, e);
    enum { NOPND = SN_CG_MAX_OPS * SN_CG_OP_MAX_IN };
    epi_in ins[NOPND];
    int opnd_in[NOPND];
    int in_kind[NOPND]; /* 0 scalar (lane-invariant), 1 vector, 2 strided */
    for (int i = 0; i < NOPND; i++)
        opnd_in[i] = -1;
    int nins = collect_inputs(g, first, ins, opnd_in);
    int ind = e->indent;
    char off[1024];

    /* ---- full path */
    if (e->full) {
        sn_cg_cuda_line(kc, ind, "if (%s) {", e->full);
        ind += 4;
    } else {
        sn_cg_cuda_line(kc, ind, "{");
        ind += 4;
    }
    for (int q = 0; q < nins; q++) {
        sn_cg_cuda_offset_expr(off, sizeof off, nd, ext, e->idx, ins[q].stride);
        int64_t ls = L >= 0 ? ins[q].stride[L] : 0;
        if (vec == 1 || ls == 0) {
            in_kind[q] = 0;
            sn_cg_cuda_line(kc, ind, "const float in%d = sn_ld(a%d + (%s));", q, ins[q].val, off);
        } else {
            int vok =
                sn_cg_cuda_vec_ok(g, ins[q].val, nd, ext, ins[q].stride, L, vec, e->lane_aligned);
            in_kind[q] = vok ? 1 : 2;
            char nm[16];
            snprintf(nm, sizeof nm, "in%d", q);
            sn_cg_cuda_load_lanes(kc, ind, nm, ins[q].val, off, ls, vec, vok, 1);
        }
    }
    if (vec == 1) {
        sn_cg_cuda_line(kc, ind, "const int v = 0;");
        sn_cg_cuda_line(kc, ind, "(void)v;");
        sn_status st = emit_ops(kc, e, ind, 0, opnd_in, in_kind, 0);
        if (st)
            return st;
        for (int j = 0; j < g->nops; j++) {
            int ov = g->ops[j].store;
            if (ov < 0)
                continue;
            int64_t os[SN_MAX_DIMS];
            sn_cg_cuda_space_strides(g, ov, os);
            sn_cg_cuda_offset_expr(off, sizeof off, nd, ext, e->idx, os);
            sn_cg_cuda_line(kc, ind, "sn_st(a%d + (%s), t%d);", ov, off, j);
        }
    } else {
        for (int j = 0; j < g->nops; j++)
            if (g->ops[j].store >= 0)
                sn_cg_cuda_line(kc, ind, "float r%d[%d];", j, vec);
        sn_cg_cuda_line(kc, ind, "#pragma unroll");
        sn_cg_cuda_line(kc, ind, "for (int v = 0; v < %d; ++v) {", vec);
        sn_status st = emit_ops(kc, e, ind + 4, 0, opnd_in, in_kind, 1);
        if (st)
            return st;
        sn_cg_cuda_line(kc, ind, "}");
        for (int j = 0; j < g->nops; j++) {
            int ov = g->ops[j].store;
            if (ov < 0)
                continue;
            int64_t os[SN_MAX_DIMS];
            sn_cg_cuda_space_strides(g, ov, os);
            sn_cg_cuda_offset_expr(off, sizeof off, nd, ext, e->idx, os);
            int64_t ls = os[L];
            if (ls == 0) {
                sn_cg_cuda_line(kc, ind, "sn_st(a%d + (%s), r%d[0]);", ov, off, j);
            } else if (sn_cg_cuda_vec_ok(g, ov, nd, ext, os, L, vec, e->lane_aligned)) {
                sn_cg_cuda_line(kc, ind, "sn_stv<%d>(a%d + (%s), r%d);", vec, ov, off, j);
            } else {
                char lsb[32];
                int_lit(lsb, sizeof lsb, ls);
                sn_cg_cuda_line(kc, ind, "#pragma unroll");
                sn_cg_cuda_line(kc, ind,
                                "for (int v = 0; v < %d; ++v) sn_st(a%d + (%s) + v * %s, r%d[v]);",
                                vec, ov, off, lsb, j);
            }
        }
    }
    ind -= 4;
    if (!e->full) {
        sn_cg_cuda_line(kc, ind, "}");
        return SN_OK;
    }

    /* ---- guarded per-lane path */
    sn_cg_cuda_line(kc, ind, "} else {");
    ind += 4;
    sn_cg_cuda_line(kc, ind, "#pragma unroll");
    sn_cg_cuda_line(kc, ind, "for (int v = 0; v < %d; ++v) {", vec);
    ind += 4;
    sn_cg_cuda_line(kc, ind, "if (!(%s)) continue;", e->lane_in ? e->lane_in : "true");
    for (int q = 0; q < nins; q++) {
        sn_cg_cuda_offset_expr(off, sizeof off, nd, ext, e->idx, ins[q].stride);
        int64_t ls = L >= 0 ? ins[q].stride[L] : 0;
        char lsb[32];
        int_lit(lsb, sizeof lsb, ls);
        if (ls == 0)
            sn_cg_cuda_line(kc, ind, "const float in%d = sn_ld(a%d + (%s));", q, ins[q].val, off);
        else
            sn_cg_cuda_line(kc, ind, "const float in%d = sn_ld(a%d + (%s) + v * %s);", q,
                            ins[q].val, off, lsb);
    }
    sn_status st = emit_ops(kc, e, ind, 1, opnd_in, in_kind, 0);
    if (st)
        return st;
    for (int j = 0; j < g->nops; j++) {
        int ov = g->ops[j].store;
        if (ov < 0)
            continue;
        int64_t os[SN_MAX_DIMS];
        sn_cg_cuda_space_strides(g, ov, os);
        sn_cg_cuda_offset_expr(off, sizeof off, nd, ext, e->idx, os);
        char lsb[32];
        int_lit(lsb, sizeof lsb, L >= 0 ? os[L] : 0);
        sn_cg_cuda_line(kc, ind, "sn_st(a%d + (%s) + v * %s, t%d);", ov, off, lsb, j);
    }
    ind -= 4;
    sn_cg_cuda_line(kc, ind, "}");
    ind -= 4;
    sn_cg_cuda_line(kc, ind, "}");
    return SN_OK;
}
