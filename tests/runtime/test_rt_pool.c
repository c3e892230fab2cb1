/* tests/runtime/test_rt_pool.c — the CPU thread pool (white-box: runtime_int.h): every task
 * runs exactly once for any (threads, tasks), back-to-back launches, launches from two
 * threads at once, and the per-launch overhead (printed, never asserted). */
#include "check.h"
#include "runtime/runtime_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static char err[1024];

static void mark(void **args, int64_t begin, int64_t end) {
    atomic_int *counts = args[0];
    CHECK(begin < end);
    for (int64_t i = begin; i < end; i++)
        atomic_fetch_add(&counts[i], 1);
}

static void sum_range(void **args, int64_t begin, int64_t end) {
    atomic_llong *sum = args[0];
    long long s = 0;
    for (int64_t i = begin; i < end; i++)
        s += i;
    atomic_fetch_add(sum, s);
}

static void nothing(void **args, int64_t begin, int64_t end) { (void)args, (void)begin, (void)end; }

static void test_coverage(int threads) {
    sn_rt_pool *p;
    CHECK_OK(sn_rt_pool_new(threads, &p, err, sizeof err));
    if (!p)
        return;
    CHECK(sn_rt_pool_threads(p) == (threads > 0 ? threads : sn_rt_ncores()));
    const int64_t sizes[] = {0, 1, 2, 3, 5, 7, 64, 100, 1000, 12345};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t n = sizes[s];
        atomic_int *counts = calloc((size_t)n + 1, sizeof *counts);
        void *args[1] = {counts};
        for (int rep = 0; rep < 3; rep++)
            sn_rt_pool_run(p, mark, args, n);
        for (int64_t i = 0; i < n; i++)
            CHECKF(atomic_load(&counts[i]) == 3, "threads %d tasks %lld: task %lld ran %d times",
                   threads, (long long)n, (long long)i, atomic_load(&counts[i]));
        free(counts);
    }
    sn_rt_pool_free(p);
}

static void test_many_launches(int threads) {
    sn_rt_pool *p;
    CHECK_OK(sn_rt_pool_new(threads, &p, err, sizeof err));
    if (!p)
        return;
    atomic_llong sum;
    atomic_init(&sum, 0);
    void *args[1] = {&sum};
    const int launches = 20000;
    long long want = 0;
    for (int i = 0; i < launches; i++) {
        int64_t n = 1 + i % 97;
        sn_rt_pool_run(p, sum_range, args, n);
        want += n * (n - 1) / 2;
    }
    CHECK(atomic_load(&sum) == want);
    /* Overhead of an empty launch split across every thread (a plan launches ~100 per
     * forward). Printed for information; timings are never assertions. */
    void *none[1] = {NULL};
    double t0 = sn_rt_now();
    for (int i = 0; i < launches; i++)
        sn_rt_pool_run(p, nothing, none, 64);
    double us = (sn_rt_now() - t0) / launches * 1e6;
    printf("pool: %d threads: %.2f us per empty launch\n", sn_rt_pool_threads(p), us);
    sn_rt_pool_free(p);
}

typedef struct launcher_arg {
    sn_rt_pool *p;
    atomic_llong sum;
} launcher_arg;

static void *launcher(void *a) {
    launcher_arg *la = a;
    void *args[1] = {&la->sum};
    for (int i = 0; i < 2000; i++)
        sn_rt_pool_run(la->p, sum_range, args, 100);
    return NULL;
}

static void test_concurrent_launchers(void) {
    sn_rt_pool *p;
    CHECK_OK(sn_rt_pool_new(3, &p, err, sizeof err));
    if (!p)
        return;
    launcher_arg a[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        a[i].p = p;
        atomic_init(&a[i].sum, 0);
        pthread_create(&t[i], NULL, launcher, &a[i]);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        CHECK(atomic_load(&a[i].sum) == 2000LL * (100 * 99 / 2));
    }
    sn_rt_pool_free(p);
}

/* Workers that went to sleep (long idle) wake for the next launch. */
static void test_wake_after_sleep(void) {
    sn_rt_pool *p;
    CHECK_OK(sn_rt_pool_new(4, &p, err, sizeof err));
    if (!p)
        return;
    atomic_int counts[64];
    for (int i = 0; i < 64; i++)
        atomic_init(&counts[i], 0);
    void *args[1] = {counts};
    for (int round = 0; round < 3; round++) {
        struct timespec ts = {0, 20 * 1000 * 1000}; /* 20 ms: past the spin phase */
        nanosleep(&ts, NULL);
        sn_rt_pool_run(p, mark, args, 64);
    }
    for (int i = 0; i < 64; i++)
        CHECK(atomic_load(&counts[i]) == 3);
    sn_rt_pool_free(p);
}

int main(void) {
    const int threads[] = {1, 2, 4, 7, 0};
    for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++)
        test_coverage(threads[i]);
    test_many_launches(2);
    test_many_launches(0);
    test_concurrent_launchers();
    test_wake_after_sleep();
    return check_report("test_rt_pool");
}
