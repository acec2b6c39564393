/*
 * bench_threads.c -- wall time of small and medium threaded calls, with the
 * helper threads awake (back-to-back calls) or asleep (a pause before each
 * call), for the tuning constants of src/parallel.c (not a test).
 *   build/cc/bench_threads [reps] [pause_us] [batch]
 * Prints, per size and case, the median over `reps` interleaved rounds of
 * each configuration: 1 thread, and 2 threads with 1 and with
 * cbce__tasks_per_thread's default tasks per thread. A round sleeps
 * pause_us, then times `batch` back-to-back calls (default 1; the time per
 * call is printed), as benchmarks/bench.py times a batch after other
 * contenders. -DBENCH_OLD_LIBRARY builds it against a library without the
 * tuning hooks (5906bbd and earlier), for before/after comparisons.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cbce/cbce.h"
#ifndef BENCH_OLD_LIBRARY
#include "internal.h"
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void pause_us(double us)
{
    struct timespec ts;
    if (us <= 0) return;
    ts.tv_sec = (time_t)(us / 1e6);
    ts.tv_nsec = (long)((us - (double)ts.tv_sec * 1e6) * 1e3);
    nanosleep(&ts, NULL);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define NCONF 3

int main(int argc, char **argv)
{
    static const double sizes[] = {1e4, 3e4, 1e5, 3e5, 1e6};
    static const char *cases[] = {"f32-bce-mean", "f32-bce-vg", "f64-bce-mean", "f64-logits-vg"};
    int reps = argc > 1 ? atoi(argv[1]) : 31, r, c, s, k;
    double pause = argc > 2 ? atof(argv[2]) : 0.0;
    int batch = argc > 3 ? atoi(argv[3]) : 1, b;
#ifdef BENCH_OLD_LIBRARY /* a library from before the tuning hooks: columns 2 and 3 alike */
    int cbce__tasks_per_thread = 0, k_default = 0;
#else
    int k_default = cbce__tasks_per_thread;
#endif
    ptrdiff_t nmax = 1000000, i, stride[1] = {1};
    float *xf = malloc((size_t)nmax * sizeof(float)), *tf = malloc((size_t)nmax * sizeof(float));
    float *gf = malloc((size_t)nmax * sizeof(float));
    double *xd = malloc((size_t)nmax * sizeof(double)), *td = malloc((size_t)nmax * sizeof(double));
    double *gd = malloc((size_t)nmax * sizeof(double));
    double *times = malloc((size_t)reps * NCONF * sizeof(double));
    unsigned long long rng = 1;
    for (i = 0; i < nmax; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        xd[i] = 0.01 + 0.98 * (double)(rng >> 11) * 0x1p-53;
        td[i] = (double)(rng >> 63);
        xf[i] = (float)xd[i];
        tf[i] = (float)td[i];
    }
    if (batch < 1) batch = 1;
    printf("pause %.0f us before each batch of %d calls; median of %d; us per call: "
           "1T | 2T x1 task | 2T x%d tasks\n",
           pause, batch, reps, k_default);
    for (s = 0; s < (int)(sizeof sizes / sizeof sizes[0]); s++) {
        ptrdiff_t shape[1];
        shape[0] = (ptrdiff_t)sizes[s];
        for (c = 0; c < (int)(sizeof cases / sizeof cases[0]); c++) {
            int f64 = cases[c][1] == '6', logits = strstr(cases[c], "logits") != NULL;
            int vg = strstr(cases[c], "vg") != NULL;
            double med[NCONF];
            for (r = 0; r < reps; r++) {
                for (k = 0; k < NCONF; k++) {
                    cbce_args a;
                    cbce_output none = {NULL, NULL}, grad;
                    double total, t0;
                    memset(&a, 0, sizeof a);
                    a.ndim = 1;
                    a.shape = shape;
                    a.input.data = f64 ? (void *)xd : (void *)xf;
                    a.input.strides = stride;
                    a.target.data = f64 ? (void *)td : (void *)tf;
                    a.target.strides = stride;
                    a.reduction = CBCE_REDUCTION_MEAN;
                    a.num_threads = k == 0 ? 1 : 2;
                    grad.data = f64 ? (void *)gd : (void *)gf;
                    grad.strides = stride;
                    cbce__tasks_per_thread = k == 1 ? 1 : k_default;
                    pause_us(pause);
                    t0 = now();
                    for (b = 0; b < batch; b++) {
                        if (f64 && logits)
                            cbce_bce_logits_loss_and_grad_f64(&a, none, &total, grad);
                        else if (f64)
                            cbce_bce_loss_f64(&a, none, &total);
                        else if (vg)
                            cbce_bce_loss_and_grad_f32(&a, none, &total, grad);
                        else
                            cbce_bce_loss_f32(&a, none, &total);
                    }
                    times[k * reps + r] = (now() - t0) / batch;
                }
            }
            for (k = 0; k < NCONF; k++) {
                qsort(times + k * reps, (size_t)reps, sizeof(double), cmp);
                med[k] = times[k * reps + reps / 2] * 1e6;
            }
            printf("%8.0e %-14s %9.1f %9.1f %9.1f   x%.2f x%.2f\n", sizes[s], cases[c], med[0],
                   med[1], med[2], med[0] / med[1], med[0] / med[2]);
        }
    }
    return 0;
}
