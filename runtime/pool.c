/* runtime/pool.c — the CPU thread pool.
 *
 * A launch publishes one job {fn, args, tasks, chunk} and bumps a generation counter; the
 * workers, spinning on that counter (or asleep on it in a futex once they have spun long
 * enough), take chunks [i, i + chunk) from an atomic cursor until it passes `tasks`, then
 * check in. The calling thread takes chunks too and returns once every worker has checked in,
 * so the job's fields are never rewritten while a worker may still read them.
 *
 * Why this shape: a YOLO plan is ~100 launches per forward, many of them short (a pointwise
 * kernel over a 20×20 map takes microseconds). A condvar round trip per launch would cost as
 * much as the work; workers that spin for a while after a job catch the next one in well
 * under a microsecond, and sleep in the kernel only when the plan has stopped running.
 *
 * Memory ordering: the job fields are written before the seq_cst generation bump and read
 * after a seq_cst load that sees the new generation. A worker about to sleep announces itself
 * in `sleepers` (seq_cst) before re-checking the generation, and the launcher reads
 * `sleepers` after bumping the generation, so at least one side sees the other (Dekker).
 */
#define _GNU_SOURCE
#include "runtime/runtime_int.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif

/* Spin iterations (each a pause, ~30-140 cycles) before a worker sleeps: roughly 50-200 µs,
 * longer than the gap between two launches of a running plan. */
#define SPIN_WORKER 4096
/* Spin iterations before the launching thread starts yielding while it waits for
 * stragglers (a descheduled worker on an oversubscribed machine). */
#define SPIN_WAIT 2048

struct sn_rt_pool {
    int nthreads; /* including the caller */
    int spin;     /* worker spin iterations before sleeping: 0 when oversubscribed */
    pthread_t *threads;
    pthread_mutex_t launch_mu;

    /* the current job */
    sn_rt_task_fn fn;
    void **args;
    int64_t tasks, chunk;
    _Alignas(64) atomic_llong cursor;
    _Alignas(64) atomic_int checked_in;
    _Alignas(64) atomic_uint gen; /* futex word */
    atomic_int sleepers;
    atomic_int quit;
};

static long futex(atomic_uint *addr, int op, unsigned val) {
    return syscall(SYS_futex, (unsigned *)addr, op, val, NULL, NULL, 0);
}

static void run_chunks(sn_rt_pool *p) {
    const int64_t tasks = p->tasks, chunk = p->chunk;
    sn_rt_task_fn fn = p->fn;
    void **args = p->args;
    for (;;) {
        int64_t b = atomic_fetch_add_explicit(&p->cursor, chunk, memory_order_relaxed);
        if (b >= tasks)
            break;
        int64_t e = b + chunk < tasks ? b + chunk : tasks;
        fn(args, b, e);
    }
}

static void *worker(void *arg) {
    sn_rt_pool *p = arg;
    /* Not a load of gen: a launch may already have happened before this thread got to run,
     * and that job is waiting for this worker's check-in. gen is 0 until the first launch. */
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load(&p->gen)) == seen) {
            if (++spins < p->spin) {
                cpu_relax();
                continue;
            }
            atomic_fetch_add(&p->sleepers, 1);
            if (atomic_load(&p->gen) == seen)
                futex(&p->gen, FUTEX_WAIT_PRIVATE, seen);
            atomic_fetch_sub(&p->sleepers, 1);
            spins = 0;
        }
        seen = g;
        if (atomic_load(&p->quit))
            return NULL;
        run_chunks(p);
        /* release: the chunks' writes happen-before the launcher's return */
        atomic_fetch_add_explicit(&p->checked_in, 1, memory_order_release);
    }
}

sn_status sn_rt_pool_new(int threads, sn_rt_pool **out, char *err, size_t errlen) {
    *out = NULL;
    if (threads <= 0)
        threads = sn_rt_ncores();
    if (threads > 1024)
        threads = 1024;
    sn_rt_pool *p = aligned_alloc(64, (sizeof *p + 63) & ~(size_t)63);
    if (!p)
        return sn_fail(err, errlen, SN_ERR_NOMEM, "thread pool: out of memory");
    memset(p, 0, sizeof *p);
    p->nthreads = threads;
    /* More threads than CPUs: a spinning worker would hold a CPU the others need, so
     * workers sleep at once and the launcher yields while it waits. */
    p->spin = threads <= sn_rt_ncores() ? SPIN_WORKER : 0;
    atomic_init(&p->cursor, 0);
    atomic_init(&p->checked_in, 0);
    atomic_init(&p->gen, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->quit, 0);
    pthread_mutex_init(&p->launch_mu, NULL);
    p->threads = calloc((size_t)threads, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return sn_fail(err, errlen, SN_ERR_NOMEM, "thread pool: out of memory");
    }
    for (int i = 1; i < threads; i++) {
        int e = pthread_create(&p->threads[i], NULL, worker, p);
        if (e != 0) {
            p->nthreads = i; /* free joins the ones that started */
            sn_rt_pool_free(p);
            return sn_fail(err, errlen, SN_ERR_NOMEM,
                           "thread pool: pthread_create (worker %d of %d): %s", i, threads - 1,
                           strerror(e));
        }
    }
    *out = p;
    return SN_OK;
}

void sn_rt_pool_free(sn_rt_pool *p) {
    if (!p)
        return;
    atomic_store(&p->quit, 1);
    atomic_fetch_add(&p->gen, 1);
    futex(&p->gen, FUTEX_WAKE_PRIVATE, (unsigned)INT32_MAX);
    for (int i = 1; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->launch_mu);
    free(p);
}

int sn_rt_pool_threads(const sn_rt_pool *p) { return p->nthreads; }

void sn_rt_pool_run(sn_rt_pool *p, sn_rt_task_fn fn, void **args, int64_t tasks) {
    if (tasks <= 0)
        return;
    int nw = p->nthreads - 1;
    if (nw == 0 || tasks == 1) {
        fn(args, 0, tasks);
        return;
    }
    pthread_mutex_lock(&p->launch_mu);
    /* ~4 chunks per thread: enough slack to balance uneven chunks, few enough atomics. */
    int64_t chunk = tasks / ((int64_t)p->nthreads * 4);
    if (chunk < 1)
        chunk = 1;
    p->fn = fn;
    p->args = args;
    p->tasks = tasks;
    p->chunk = chunk;
    atomic_store_explicit(&p->cursor, 0, memory_order_relaxed);
    atomic_store_explicit(&p->checked_in, 0, memory_order_relaxed);
    atomic_fetch_add(&p->gen, 1); /* seq_cst: publishes the job */
    if (atomic_load(&p->sleepers) > 0)
        futex(&p->gen, FUTEX_WAKE_PRIVATE, (unsigned)nw);
    run_chunks(p);
    int spins = 0;
    while (atomic_load_explicit(&p->checked_in, memory_order_acquire) < nw) {
        if (++spins < SPIN_WAIT && p->spin)
            cpu_relax();
        else
            sched_yield();
    }
    pthread_mutex_unlock(&p->launch_mu);
}
