/*
 * bench_kernels.c -- single-thread timing of the cbce C kernels (not a test).
 *   make -C c bench           builds build/<cc>/bench_kernels and runs it
 *   build/cc/bench_kernels [n] [reps] [isa-name|all] [case, e.g. f32-bce-mean]
 * For every ISA level the CPU has (or only the one named), prints the
 * fastest of `reps` calls in ns/element for the mean forward, the gradient
 * (mean) and the fused value_and_grad of both losses, float32 and float64
 * (contiguous 1-d, no weights: the issue-3 benchmark cases; inputs as in
 * cbce._bench).
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cbce/cbce.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: robust on a loaded machine */
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static unsigned long long rng = 0x9e3779b97f4a7c15ull;
static double urand(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng >> 11) * 0x1p-53;
}
static double nrand(void) /* sum of 12 uniforms: roughly N(0, 1) */
{
    double s = 0;
    int i;
    for (i = 0; i < 12; i++) s += urand();
    return s - 6.0;
}

int main(int argc, char **argv)
{
    ptrdiff_t n = argc > 1 ? (ptrdiff_t)atof(argv[1]) : 1000000;
    int reps = argc > 2 ? atoi(argv[2]) : 30, isa, f64, kind, fused, r;
    const char *only = argc > 3 && strcmp(argv[3], "all") != 0 ? argv[3] : NULL;
    const char *only_case = argc > 4 ? argv[4] : NULL;
    ptrdiff_t shape[1], stride[1] = {1}, i;
    void *x[2][2], *t[2][2], *g[2];
    shape[0] = n;
    for (f64 = 0; f64 < 2; f64++) {
        size_t sz = f64 ? sizeof(double) : sizeof(float);
        g[f64] = malloc((size_t)n * sz);
        for (kind = 0; kind < 2; kind++) {
            x[f64][kind] = malloc((size_t)n * sz);
            t[f64][kind] = malloc((size_t)n * sz);
            for (i = 0; i < n; i++) {
                double xv = kind == 0 ? 1e-3 + (1 - 2e-3) * urand() : 3.0 * nrand();
                double tv = urand() < 0.5 ? 1.0 : 0.0;
                if (f64) ((double *)x[f64][kind])[i] = xv, ((double *)t[f64][kind])[i] = tv;
                else ((float *)x[f64][kind])[i] = (float)xv, ((float *)t[f64][kind])[i] = (float)tv;
            }
        }
    }
    for (isa = 0; isa < CBCE_ISA_COUNT; isa++) {
        if (!cbce_isa_available(isa)) continue;
        if (only && strcmp(only, cbce_isa_name(isa)) != 0) continue;
        cbce_set_isa(isa);
        printf("%-7s n=%ld  ns/element (best of %d):\n", cbce_isa_name(isa), (long)n, reps);
        for (f64 = 0; f64 < 2; f64++)
            for (kind = 0; kind < 2; kind++)
                for (fused = 0; fused < 3; fused++) {
                    cbce_args a;
                    cbce_output out, grad;
                    double total = 0, best = 1e30;
                    char name[64];
                    sprintf(name, "%s-%s-%s", f64 ? "f64" : "f32", kind ? "logits" : "bce",
                            fused == 2 ? "grad" : fused ? "vg" : "mean");
                    if (only_case && strcmp(only_case, name) != 0) continue;
                    memset(&a, 0, sizeof a);
                    a.ndim = 1;
                    a.shape = shape;
                    a.input.data = x[f64][kind];
                    a.input.strides = stride;
                    a.target.data = t[f64][kind];
                    a.target.strides = stride;
                    a.reduction = CBCE_REDUCTION_MEAN;
                    a.wrt = CBCE_WRT_INPUT;
                    out.data = NULL;
                    out.strides = stride;
                    grad.data = g[f64];
                    grad.strides = stride;
                    for (r = 0; r < reps; r++) {
                        double t0 = now(), dt;
                        int st;
                        if (!fused)
                            st = kind == 0 ? (f64 ? cbce_bce_loss_f64(&a, out, &total)
                                                  : cbce_bce_loss_f32(&a, out, &total))
                                           : (f64 ? cbce_bce_logits_loss_f64(&a, out, &total)
                                                  : cbce_bce_logits_loss_f32(&a, out, &total));
                        else if (fused == 2)
                            st = kind == 0 ? (f64 ? cbce_bce_grad_f64(&a, grad)
                                                  : cbce_bce_grad_f32(&a, grad))
                                           : (f64 ? cbce_bce_logits_grad_f64(&a, grad)
                                                  : cbce_bce_logits_grad_f32(&a, grad));
                        else
                            st = kind == 0
                                     ? (f64 ? cbce_bce_loss_and_grad_f64(&a, out, &total, grad)
                                            : cbce_bce_loss_and_grad_f32(&a, out, &total, grad))
                                     : (f64 ? cbce_bce_logits_loss_and_grad_f64(&a, out, &total, grad)
                                            : cbce_bce_logits_loss_and_grad_f32(&a, out, &total, grad));
                        dt = now() - t0;
                        if (st != CBCE_OK) {
                            printf("status %d\n", st);
                            return 1;
                        }
                        if (dt < best) best = dt;
                    }
                    printf("  %s %-6s %-14s %7.3f ns  (%.3f ms)  total %.9g\n", f64 ? "f64" : "f32",
                           kind ? "logits" : "bce",
                           fused == 2 ? "grad" : fused ? "value_and_grad" : "mean",
                           best * 1e9 / (double)n, best * 1e3, total);
                }
    }
    return 0;
}
