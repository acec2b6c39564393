/*
 * elementwise.h -- TEMPORARY PLACEHOLDER written with libm so the loops can be
 * built and tested; to be replaced by the libm-free version built on vmath.h.
 * The signatures below are the contract between the formulas and the loops.
 *
 * Every function works in double; t is the already-smoothed target; weights,
 * grad_output, 1/N and the (1-s) smoothing factor are applied by the caller.
 */
#ifndef CBCE_ELEMENTWISE_H
#define CBCE_ELEMENTWISE_H
#include <math.h>

/* -(t*max(log x,-100) + (1-t)*max(log(1-x),-100)) */
static inline double cbce_ew_bce_loss(double x, double t)
{
    double a = log(x), b = log1p(-x);
    a = a < -100.0 ? -100.0 : a;
    b = b < -100.0 ? -100.0 : b;
    return -(t * a + (1.0 - t) * b);
}
/* (x - t) / max(x*(1-x), eps), eps = 1e-12 rounded to float */
static inline double cbce_ew_bce_dx(double x, double t)
{
    const double eps = (double)1e-12f;
    double d = x * (1.0 - x);
    return (x - t) / (d < eps ? eps : d);
}
/* max(log(1-x),-100) - max(log x,-100) */
static inline double cbce_ew_bce_dt(double x)
{
    double a = log(x), b = log1p(-x);
    a = a < -100.0 ? -100.0 : a;
    b = b < -100.0 ? -100.0 : b;
    return b - a;
}
/* (1-t)*x + lw*softplus(-x), lw = 1 + (pw-1)*t */
static inline double cbce_ew_logits_loss(double x, double t, double pw)
{
    double lw = 1.0 + (pw - 1.0) * t;
    double sp = log1p(exp(-fabs(x)));
    return x > 0 ? (1.0 - t) * x + lw * sp : -pw * t * x + lw * sp;
}
/* lw*sigmoid(x) - pw*t */
static inline double cbce_ew_logits_dx(double x, double t, double pw)
{
    double lw = 1.0 + (pw - 1.0) * t;
    double e = exp(-fabs(x)), s = e / (1.0 + e);
    return x > 0 ? (1.0 - t) - lw * s : lw * s - pw * t;
}
/* -x + (pw-1)*softplus(-x) */
static inline double cbce_ew_logits_dt(double x, double pw)
{
    double sp = log1p(exp(-fabs(x)));
    return x > 0 ? -x + (pw - 1.0) * sp : -pw * x + (pw - 1.0) * sp;
}
#endif
