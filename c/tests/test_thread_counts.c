/*
 * test_thread_counts.c -- the portable part of the thread tests: threaded calls
 * with the library's default thresholds give the bits and the range-error
 * status of one thread, whatever threads the platform has (kept POSIX helpers,
 * or Win32 threads started per call: tools/test_windows.sh runs this test under
 * wine). test_threads.c covers much more, with POSIX-only means (fork,
 * pthreads, lowered thresholds).
 * Prints "N passed, N failed" last.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbce/cbce.h"

#include "call_kernel.h"
#include "check.h"

#define RNG_SEED 0x9e3779b97f4a7c15ull
#include "rng.h"

/* Large enough for 7 threads at the Windows threshold (~85,000 elements of
 * the cheapest kernel per thread), not a multiple of the block. */
#define N ((ptrdiff_t)7 * 85000 + 4321)

static const int THREADS[] = {2, 3, 7, 16};
#define NTHREADS ((int)(sizeof THREADS / sizeof THREADS[0]))

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        printf("out of memory\n");
        exit(2);
    }
    return p;
}

static void put(void *p, int f64, ptrdiff_t i, double v)
{
    if (f64) ((double *)p)[i] = v;
    else ((float *)p)[i] = (float)v;
}

/* One kernel (dtype, loss, what, reduction) with 1 thread and with each of
 * THREADS: the same status, total and elementwise outputs, bit for bit. */
static void check_kernel(int f64, int kind, int what, int reduction, const void *x, const void *t,
                         int expect)
{
    const size_t sz = f64 ? sizeof(double) : sizeof(float);
    const ptrdiff_t shape[1] = {N}, one[1] = {1};
    void *out1 = xmalloc((size_t)N * sz), *grad1 = xmalloc((size_t)N * sz);
    void *out = xmalloc((size_t)N * sz), *grad = xmalloc((size_t)N * sz);
    double total1 = 0.0;
    int k, st1;
    cbce_args a = xt_args(1, shape, x, one, t, one);
    cbce_output o = {NULL, one}, g = {grad1, one};
    a.reduction = reduction;
    if (reduction == CBCE_REDUCTION_NONE) o.data = out1;
    a.num_threads = 1;
    st1 = call(f64, kind, what, &a, o, &total1, g);
    CHECK(st1 == expect, "f64=%d kind=%d what=%d red=%d: one thread: status %d, want %d", f64,
          kind, what, reduction, st1, expect);
    for (k = 0; k < NTHREADS; k++) {
        double total = 0.0;
        int st;
        memset(out, 0, (size_t)N * sz);
        memset(grad, 0, (size_t)N * sz);
        o.data = reduction == CBCE_REDUCTION_NONE ? out : NULL;
        g.data = grad;
        a.num_threads = THREADS[k];
        st = call(f64, kind, what, &a, o, &total, g);
        CHECK(st == st1, "f64=%d kind=%d what=%d red=%d: status %d with %d threads, %d with one",
              f64, kind, what, reduction, st, THREADS[k], st1);
        if (st != CBCE_OK || st1 != CBCE_OK) continue;
        if ((what & LOSS) && reduction != CBCE_REDUCTION_NONE)
            CHECK(memcmp(&total, &total1, sizeof total) == 0,
                  "f64=%d kind=%d what=%d red=%d: total %.17g with %d threads, %.17g with one",
                  f64, kind, what, reduction, total, THREADS[k], total1);
        if ((what & LOSS) && reduction == CBCE_REDUCTION_NONE)
            CHECK(memcmp(out, out1, (size_t)N * sz) == 0,
                  "f64=%d kind=%d what=%d: losses differ with %d threads", f64, kind, what,
                  THREADS[k]);
        if (what & GRAD)
            CHECK(memcmp(grad, grad1, (size_t)N * sz) == 0,
                  "f64=%d kind=%d what=%d red=%d: gradients differ with %d threads", f64, kind,
                  what, reduction, THREADS[k]);
    }
    free(out1);
    free(grad1);
    free(out);
    free(grad);
}

int main(void)
{
    static const int whats[] = {LOSS, GRAD, LOSS | GRAD};
    static const int reductions[] = {CBCE_REDUCTION_NONE, CBCE_REDUCTION_MEAN,
                                     CBCE_REDUCTION_SUM};
    int f64, kind, wi, ri;
    for (f64 = 0; f64 <= 1; f64++) {
        const size_t sz = f64 ? sizeof(double) : sizeof(float);
        void *x = xmalloc((size_t)N * sz), *t = xmalloc((size_t)N * sz);
        void *xl = xmalloc((size_t)N * sz);
        ptrdiff_t i;
        for (i = 0; i < N; i++) {
            put(x, f64, i, urand());
            put(xl, f64, i, (urand() - 0.5) * 40.0);
            put(t, f64, i, i % 3 == 0 ? urand() : (double)(i % 2)); /* soft and hard */
        }
        for (kind = BCE; kind <= LOGITS; kind++)
            for (wi = 0; wi < 3; wi++)
                for (ri = 0; ri < 3; ri++)
                    check_kernel(f64, kind, whats[wi], reductions[ri], kind == BCE ? x : xl, t,
                                 CBCE_OK);
        /* a bad target late in the range, a bad input later still: the
         * target's status, as one thread reports it */
        put(t, f64, N - 70000, 1.5);
        put(x, f64, N - 100, -0.25);
        for (wi = 0; wi < 3; wi++)
            check_kernel(f64, BCE, whats[wi], CBCE_REDUCTION_SUM, x, t,
                         CBCE_TARGET_OUT_OF_RANGE);
        free(x);
        free(t);
        free(xl);
    }
    printf("%ld passed, %ld failed\n", g_pass, g_fail);
    return g_fail != 0;
}
