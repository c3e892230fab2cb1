/* tests/codegen_cuda/emu.h — runs generated CUDA kernels on the CPU, for checking their
 * numbers without a GPU.
 *
 * The test strips the CUDA prelude from a kernel's source (everything before its
 * `extern "C" __global__` line) and compiles the rest as C++ against this header, which
 * supplies the same helpers with host semantics:
 *   - every CUDA thread of a block is a fiber (ucontext); blocks run one after another;
 *     `__shared__` is a function-local static, so a block's fibers share it;
 *   - __syncthreads() parks the fiber until every live fiber of the block is parked; a warp
 *     collective (shfl, ldmatrix, mma.sync) deposits its operands, parks until the warp's
 *     live lanes have arrived, computes its result from everyone's deposits as the PTX ISA
 *     defines it, and parks again before the slots are reused;
 *   - cp.async copies at once (a stronger ordering than the hardware's; commit/wait no-ops);
 *   - f16/bf16 conversions round to nearest even, as cvt.rn does.
 * The fragment layouts (ldmatrix .x4/.x2, mma.m16n8k16 .row.col A/B/C) are written from the
 * PTX ISA tables independently of the generator, so index mistakes in the generator show up
 * as wrong numbers.
 */
#ifndef SN_CUDA_EMU_H
#define SN_CUDA_EMU_H

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <math.h>
#include <type_traits>
#include <ucontext.h>

/* ---------------------------------------------------------------- types */

struct uint3_ {
    unsigned x, y, z;
};
struct alignas(16) float4 {
    float x, y, z, w;
};
struct alignas(8) uint2 {
    unsigned x, y;
};
struct alignas(16) uint4 {
    unsigned x, y, z, w;
};
struct alignas(2) sn_half {
    unsigned short x;
};
struct alignas(2) sn_bf16 {
    unsigned short x;
};

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define SN_NEG_INF (-INFINITY)
#define SN_DYN_SHARED(name) static __attribute__((aligned(16))) unsigned char name[256 * 1024]

/* ---------------------------------------------------------------- the scheduler */

namespace emu {

enum { RUN, BAR, WARP, DONE };

struct thread {
    ucontext_t ctx;
    int state;
    uint3_ tid;
    char *stack;
};

struct block {
    thread *t;
    int n;
    ucontext_t sched;
    int cur;
    /* warp collective slots: 32 lanes x 16 words per warp */
    unsigned long long slot[32][32][16];
};

inline block *B;
inline uint3_ blockIdx_, gridDim_, blockDim_;
inline void (*body)(void *);
inline void *body_arg;

inline void park(int state) {
    thread *t = &B->t[B->cur];
    t->state = state;
    swapcontext(&t->ctx, &B->sched);
}

} // namespace emu

#define threadIdx (emu::B->t[emu::B->cur].tid)
#define blockIdx (emu::blockIdx_)
#define gridDim (emu::gridDim_)
#define blockDim (emu::blockDim_)

inline void __syncthreads() { emu::park(emu::BAR); }

/* lane's deposit slots of the current warp */
inline unsigned long long *emu_slot(int lane) {
    int w = emu::B->cur / 32;
    return emu::B->slot[w][lane];
}
inline int emu_lane() { return emu::B->cur % 32; }
inline void emu_warp_sync() { emu::park(emu::WARP); }

/* ---------------------------------------------------------------- conversions */

inline float __int_as_float(int i) {
    float f;
    std::memcpy(&f, &i, 4);
    return f;
}
inline float __int_as_float(unsigned i) {
    float f;
    std::memcpy(&f, &i, 4);
    return f;
}
inline float __uint_as_float(unsigned i) { return __int_as_float(i); }
inline int __float2int_rz(float f) { return (int)std::trunc(f); }

inline unsigned short emu_f2h(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return (unsigned short)(sign | 0x7e00u);
    if (a >= 0x477ff000u)
        return (unsigned short)(sign | 0x7c00u);
    if (a < 0x38800000u) {
        if (a < 0x33000000u)
            return (unsigned short)sign;
        uint32_t m = (a & 0x7fffffu) | 0x800000u;
        int shift = 126 - (int)(a >> 23);
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1u)))
            r++;
        return (unsigned short)(sign | r);
    }
    uint32_t r = (a >> 13) - (112u << 10), rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u)))
        r++;
    return (unsigned short)(sign | r);
}
inline float emu_h2f(unsigned short h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 31u, m = h & 1023u;
    float f;
    if (e == 0)
        f = std::ldexp((float)m, -24);
    else if (e == 31)
        f = m ? NAN : INFINITY;
    else
        f = std::ldexp((float)(m | 1024u), (int)e - 25);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    u |= sign;
    std::memcpy(&f, &u, 4);
    return f;
}
inline unsigned short emu_f2bf(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (unsigned short)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short)(u >> 16);
}
inline float emu_bf2f(unsigned short b) { return __uint_as_float((unsigned)b << 16); }

/* ---------------------------------------------------------------- the prelude, host side */

inline float sn_f(float v) { return v; }
inline float sn_f(int v) { return (float)v; }
inline float sn_f(sn_half v) { return emu_h2f(v.x); }
inline float sn_f(sn_bf16 v) { return emu_bf2f(v.x); }
template <class T> struct sn_cvt;
template <> struct sn_cvt<float> {
    static float to(float f) { return f; }
};
template <> struct sn_cvt<int> {
    static int to(float f) { return __float2int_rz(f); }
};
template <> struct sn_cvt<sn_half> {
    static sn_half to(float f) { return sn_half{emu_f2h(f)}; }
};
template <> struct sn_cvt<sn_bf16> {
    static sn_bf16 to(float f) { return sn_bf16{emu_f2bf(f)}; }
};
template <class T> inline float sn_ld(const T *p) { return sn_f(*p); }
template <class T> inline void sn_st(T *p, float v) { *p = sn_cvt<T>::to(v); }
template <int N, class T> inline void sn_ldv(const T *p, float *v) {
    /* the hardware faults on a misaligned vector access: so does this */
    size_t bytes = N * sizeof(T) > 16 ? 16 : N * sizeof(T);
    if ((uintptr_t)p % bytes) {
        std::fprintf(stderr, "emu: misaligned %zu-byte vector load %p\n", bytes, (const void *)p);
        std::abort();
    }
    for (int i = 0; i < N; ++i)
        v[i] = sn_f(p[i]);
}
template <int N, class T> inline void sn_stv(T *p, const float *v) {
    size_t bytes = N * sizeof(T) > 16 ? 16 : N * sizeof(T);
    if ((uintptr_t)p % bytes) {
        std::fprintf(stderr, "emu: misaligned %zu-byte vector store %p\n", bytes, (void *)p);
        std::abort();
    }
    for (int i = 0; i < N; ++i)
        p[i] = sn_cvt<T>::to(v[i]);
}
inline float sn_rnd_h(float f) { return emu_h2f(emu_f2h(f)); }
inline float sn_rnd_bf(float f) { return emu_bf2f(emu_f2bf(f)); }
inline float sn_relu(float x) { return x < 0.0f ? 0.0f : x; }
inline float sn_max(float a, float b) { return (a > b || a != a) ? a : b; }
inline float sn_silu(float x) { return x / (1.0f + std::exp(-x)); }
inline float sn_sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
/* expf, fmaf, fmaxf, powf, sqrtf, truncf: the C library's, from <cmath>'s global names */

inline void sn_cp16(void *dst, const void *src, int src_bytes) {
    if ((uintptr_t)dst % 16 || (src_bytes && (uintptr_t)src % 16)) {
        std::fprintf(stderr, "emu: misaligned cp.async %p <- %p\n", dst, src);
        std::abort();
    }
    std::memset(dst, 0, 16);
    if (src_bytes)
        std::memcpy(dst, src, (size_t)src_bytes);
}
inline void sn_cp_commit() {}
template <int N> inline void sn_cp_wait() {}

inline float __shfl_xor_sync(unsigned, float v, int m) {
    int lane = emu_lane();
    std::memcpy(&emu_slot(lane)[0], &v, 4);
    emu_warp_sync();
    float r;
    std::memcpy(&r, &emu_slot(lane ^ m)[0], 4);
    emu_warp_sync();
    return r;
}

/* ldmatrix .m8n8 .b16: lanes 8i..8i+7 give the row addresses of matrix i; lane l receives,
 * from each matrix, row l/4, elements 2*(l%4) and 2*(l%4)+1 (low half first). */
template <int X> inline void emu_ldsm(unsigned *r, const void *p) {
    int lane = emu_lane();
    emu_slot(lane)[0] = (unsigned long long)(uintptr_t)p;
    emu_warp_sync();
    for (int i = 0; i < X; i++) {
        const unsigned short *row =
            (const unsigned short *)(uintptr_t)emu_slot(8 * i + lane / 4)[0];
        if ((uintptr_t)row % 16) {
            std::fprintf(stderr, "emu: misaligned ldmatrix row %p\n", (const void *)row);
            std::abort();
        }
        r[i] = (unsigned)row[2 * (lane % 4)] | ((unsigned)row[2 * (lane % 4) + 1] << 16);
    }
    emu_warp_sync();
}
inline void sn_ldsm_x4(unsigned *r, const void *p) { emu_ldsm<4>(r, p); }
inline void sn_ldsm_x2(unsigned *r, const void *p) { emu_ldsm<2>(r, p); }

/* mma.m16n8k16.row.col, f32 accumulate. Fragments (g = lane/4, t = lane%4):
 *   A (16x16): a[0] = (g, 2t..2t+1), a[1] = (g+8, 2t..), a[2] = (g, 2t+8..), a[3] = (g+8, 2t+8..)
 *   B (16x8):  b[0] = (k 2t..2t+1, n g), b[1] = (k 2t+8..2t+9, n g)
 *   C (16x8):  c[0..1] = (g, 2t..2t+1), c[2..3] = (g+8, 2t..2t+1) */
template <class T> inline void emu_mma(float *d, const unsigned *a, const unsigned *b) {
    int lane = emu_lane();
    unsigned long long *s = emu_slot(lane);
    for (int i = 0; i < 4; i++)
        s[i] = a[i];
    for (int i = 0; i < 2; i++)
        s[4 + i] = b[i];
    emu_warp_sync();
    auto cvt = [](unsigned short h) {
        return std::is_same<T, sn_bf16>::value ? emu_bf2f(h) : emu_h2f(h);
    };
    float A[16][16], Bm[16][8];
    for (int l = 0; l < 32; l++) {
        int g = l / 4, t = l % 4;
        unsigned long long *q = emu_slot(l);
        for (int h = 0; h < 2; h++) {
            A[g][2 * t + h] = cvt((unsigned short)(q[0] >> (16 * h)));
            A[g + 8][2 * t + h] = cvt((unsigned short)(q[1] >> (16 * h)));
            A[g][2 * t + 8 + h] = cvt((unsigned short)(q[2] >> (16 * h)));
            A[g + 8][2 * t + 8 + h] = cvt((unsigned short)(q[3] >> (16 * h)));
            Bm[2 * t + h][g] = cvt((unsigned short)(q[4] >> (16 * h)));
            Bm[2 * t + 8 + h][g] = cvt((unsigned short)(q[5] >> (16 * h)));
        }
    }
    emu_warp_sync();
    int g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; i++) {
        int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i & 1);
        double acc = d[i];
        for (int k = 0; k < 16; k++)
            acc += (double)A[row][k] * (double)Bm[k][col];
        d[i] = (float)acc;
    }
}
inline void sn_mma(float *d, const unsigned *a, const unsigned *b, sn_half) {
    emu_mma<sn_half>(d, a, b);
}
inline void sn_mma(float *d, const unsigned *a, const unsigned *b, sn_bf16) {
    emu_mma<sn_bf16>(d, a, b);
}

/* ---------------------------------------------------------------- launching */

namespace emu {

inline void trampoline() {
    body(body_arg);
    B->t[B->cur].state = DONE;
    swapcontext(&B->t[B->cur].ctx, &B->sched);
}

/* Runs fn(arg) as every thread of grid x block. Returns 0, or -1 on a deadlock (a barrier
 * some live threads never reach). */
inline int launch(void (*fn)(void *), void *arg, const unsigned *grid, const unsigned *blk) {
    static block blkstate;
    B = &blkstate;
    body = fn;
    body_arg = arg;
    int n = (int)(blk[0] * blk[1] * blk[2]);
    const size_t stack = 256 * 1024;
    B->t = (thread *)std::calloc((size_t)n, sizeof(thread));
    for (int i = 0; i < n; i++)
        B->t[i].stack = (char *)std::malloc(stack);
    gridDim_ = {grid[0], grid[1], grid[2]};
    blockDim_ = {blk[0], blk[1], blk[2]};
    int rc = 0;
    for (unsigned bz = 0; bz < grid[2] && !rc; bz++)
        for (unsigned by = 0; by < grid[1] && !rc; by++)
            for (unsigned bx = 0; bx < grid[0] && !rc; bx++) {
                blockIdx_ = {bx, by, bz};
                B->n = n;
                for (int i = 0; i < n; i++) {
                    thread *t = &B->t[i];
                    t->state = RUN;
                    t->tid = {(unsigned)(i % blk[0]), (unsigned)(i / blk[0] % blk[1]),
                              (unsigned)(i / (blk[0] * blk[1]))};
                    getcontext(&t->ctx);
                    t->ctx.uc_stack.ss_sp = t->stack;
                    t->ctx.uc_stack.ss_size = stack;
                    t->ctx.uc_link = nullptr;
                    makecontext(&t->ctx, trampoline, 0);
                }
                for (;;) {
                    int progressed = 0, live = 0;
                    for (int i = 0; i < n; i++) {
                        if (B->t[i].state != RUN)
                            continue;
                        B->cur = i;
                        swapcontext(&B->sched, &B->t[i].ctx);
                        progressed = 1;
                    }
                    for (int i = 0; i < n; i++)
                        live += B->t[i].state != DONE;
                    if (!live)
                        break;
                    /* release warps whose live lanes are all at a warp collective */
                    int released = 0;
                    for (int w = 0; w * 32 < n; w++) {
                        int at = 0, alive = 0;
                        for (int l = w * 32; l < w * 32 + 32 && l < n; l++) {
                            alive += B->t[l].state != DONE;
                            at += B->t[l].state == WARP;
                        }
                        if (alive && at == alive) {
                            for (int l = w * 32; l < w * 32 + 32 && l < n; l++)
                                if (B->t[l].state == WARP)
                                    B->t[l].state = RUN;
                            released = 1;
                        }
                    }
                    if (released)
                        continue;
                    int atbar = 0;
                    for (int i = 0; i < n; i++)
                        atbar += B->t[i].state == BAR;
                    if (atbar == live) {
                        for (int i = 0; i < n; i++)
                            if (B->t[i].state == BAR)
                                B->t[i].state = RUN;
                        continue;
                    }
                    if (!progressed) {
                        std::fprintf(stderr, "emu: deadlock in block (%u,%u,%u)\n", bx, by, bz);
                        rc = -1;
                        break;
                    }
                }
            }
    for (int i = 0; i < n; i++)
        std::free(B->t[i].stack);
    std::free(B->t);
    return rc;
}

} // namespace emu

#endif /* SN_CUDA_EMU_H */
