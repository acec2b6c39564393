/*
 * bench_handoff.c -- what handing work to another thread costs with the
 * thread layer of src/threads.c (not a test): the figures the comments of
 * threads.c and parallel.c quote.
 *   build/cc/bench_handoff [reps]
 * For each way a start can go, the median over `reps` of the time until the
 * started function runs (arrival) and until the join returns (round trip):
 * - a new thread (no helper may be kept), create + join;
 * - a kept helper that still spins (the start right after the last join);
 * - a kept helper asleep after a 1 ms pause, with the calling thread
 *   sleeping through the pause (the machine idle) or busy-waiting through it.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"
#include "threads.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + 1e-3 * (double)ts.tv_nsec;
}

static void stamp(void *arg)
{
    *(double *)arg = now_us();
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

enum { SPIN = 0, SLEEP = 1, BUSY = 2 };

/* One way of starting, `reps` times: medians of arrival and round trip. */
static void measure(const char *name, int pause, int reps)
{
    double *arrive = malloc((size_t)reps * sizeof *arrive);
    double *round = malloc((size_t)reps * sizeof *round);
    int r;
    for (r = 0; r < reps; r++) {
        cbce__thread t;
        double t0, ran = 0.0;
        if (pause == SLEEP) {
            struct timespec ms = {0, 1000000L};
            nanosleep(&ms, NULL);
        } else if (pause == BUSY) {
            double end = now_us() + 1000.0;
            while (now_us() < end) continue;
        }
        t0 = now_us();
        if (cbce__thread_start(&t, stamp, &ran, 1) != 0) {
            printf("%s: no thread could be started\n", name);
            exit(1);
        }
        cbce__thread_join(&t);
        round[r] = now_us() - t0;
        arrive[r] = ran - t0;
    }
    printf("  %-46s arrival %8.1f us   round trip %8.1f us\n", name, median(arrive, reps),
           median(round, reps));
    free(arrive);
    free(round);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 201;
    int saved = cbce__max_helpers;
    if (reps < 1) reps = 1;
    printf("thread hand-over, median of %d (src/threads.c)\n", reps);
    cbce__max_helpers = 0; /* no helper kept: every start creates a thread */
    measure("new thread (create + join)", SPIN, reps);
    cbce__max_helpers = saved;
    measure("kept helper, spinning", SPIN, reps);
    measure("kept helper, asleep, caller slept 1 ms", SLEEP, reps);
    measure("kept helper, asleep, caller busy 1 ms", BUSY, reps);
    return 0;
}
