/*
 * elementwise_f32.h -- the per-element formulas of cbce (SPEC 2.1) for the
 * float32 kernels: the same functions as elementwise.h (cbce_ew32_* for
 * cbce_ew_*), evaluated in plain double.
 *
 * Why plain double is enough here
 * -------------------------------
 * The float32 kernels widen their operands to double, call these, multiply
 * by weight and grad_output in double and round once to float. A double
 * result with relative error delta rounds to within 0.5 + delta*2^24 float
 * ulp of the exact value. Every formula below combines its terms without
 * cancellation (both terms of each loss have one sign; the gradients that
 * subtract are measured in ulps of the larger term, SPEC 3), so delta is a
 * few double roundings (~2^-50) plus the kernels' ~2^-33 (vmath_plain.h):
 * the float results are within 0.5 + 2^-8 ulp. c/tests/test_vmath.c checks
 * this against long double on random points and against the double-double
 * functions of elementwise.h on sweeps of float32 inputs.
 *
 * Why the shared reciprocal
 * -------------------------
 * Divisions are the most expensive operation in these loops. Each formula
 * group computes ONE reciprocal and derives every quotient it needs from it
 * (1/(d1*d2*d3) gives 1/d1 = d2*d3*r, ...; relative error a few ulps of
 * double). The loss and the gradient functions of one loss evaluate the
 * same core (cbce_ew32_bce_core, cbce_ew32_logits_core) with the same
 * operations, so a fused loop that calls both has one set of common
 * subexpressions for the compiler to share -- and the fused results are the
 * separate results bit for bit (SPEC 1.2), by construction.
 *
 * Inputs the float32 kernels never produce in x (subnormal doubles) are
 * not special-cased. The BCE formulas take x, t in [0, 1] only (the kernels
 * reject anything else, NaN included, before any math: no NaN selects
 * here); the logits formulas re-select NaN at the end as in elementwise.h.
 */
#ifndef CBCE_ELEMENTWISE_F32_H
#define CBCE_ELEMENTWISE_F32_H

#include "elementwise.h"
#include "vmath_plain.h"

/* max(v, -100); log(0) here is about -709, so it clamps too. */
CBCE_INLINE double cbce_ew32_clamp100(double v)
{
    return cbce_blend(cbce_m_lt(v, -100.0), -100.0, v);
}

/* For x in [0, 1]: *l1 = max(log x, -100), *l2 = max(log(1-x), -100), and
 * the return value 1/max(x*(1-x), eps), all from one division.
 * u = 1 - x is exact for float x >= 2^-29 (and x >= 1/2: Sterbenz); below,
 * log(1-x) = log(u) + c/u with the rounding error c = (1-u) - x, and c/u is
 * replaced by c (u > 1 - 2^-29: the difference is below 2^-80 of the
 * result). */
CBCE_INLINE double cbce_ew32_bce_core(double x, double *l1, double *l2)
{
    const double eps = (double)1e-12f;
    double u = 1.0 - x;
    double c = (1.0 - u) - x;
    double f1, f2;
    double k1 = cbce_p_log_reduce(x, &f1);
    double k2 = cbce_p_log_reduce(u, &f2);
    double d1 = 2.0 + f1, d2 = 2.0 + f2;
    double d3 = x * u;
    double d12, r, r12;
    d3 = cbce_blend(cbce_m_lt(d3, eps), eps, d3);
    d12 = d1 * d2;
    r = 1.0 / (d12 * d3);
    r12 = r * d3;
    *l1 = cbce_ew32_clamp100(k1 * CBCE_LN2 + cbce_p_log1p_s((f1 * d2) * r12));
    *l2 = cbce_ew32_clamp100((k2 * CBCE_LN2 + cbce_p_log1p_s((f2 * d1) * r12)) + c);
    return d12 * r;
}

/* BCE loss: -(t*max(log x,-100) + (1-t)*max(log(1-x),-100)), x, t in [0, 1]. */
CBCE_INLINE double cbce_ew32_bce_loss(double x, double t)
{
    double l1, l2;
    (void)cbce_ew32_bce_core(x, &l1, &l2);
    return -(t * l1 + (1.0 - t) * l2);
}

/* BCE d/dx: (x - t) / max(x*(1-x), eps). */
CBCE_INLINE double cbce_ew32_bce_dx(double x, double t)
{
    double l1, l2;
    double rd = cbce_ew32_bce_core(x, &l1, &l2);
    return (x - t) * rd;
}

/* BCE d/dt: max(log(1-x),-100) - max(log x,-100). */
CBCE_INLINE double cbce_ew32_bce_dt(double x)
{
    double l1, l2;
    (void)cbce_ew32_bce_core(x, &l1, &l2);
    return l2 - l1;
}

/* ---- BCE with logits -------------------------------------------------------- */

/* For a = |x| >= 0: *sp = softplus(-a) = log1p(e), e = exp(-a), and the
 * return value sigmoid(-a) = e/(1+e), from one division.
 * u = 1 + e with its rounding error c = e - (u - 1) (exact); log1p(e) =
 * log(u) + c/u, and c/u is replaced by c (error c*e/u, below 2^-52 of the
 * result). u is in [1, 2]: log(u) = k*ln2 + log(1+f) with k = 0, f = u - 1
 * or k = 1, f = u/2 - 1 (both exact), and s = f/(2+f), 1/u from
 * r = 1/((2+f)*u). For e below 2^-53, u = 1 and sp = c = e. */
CBCE_INLINE double cbce_ew32_logits_core(double a, double *sp)
{
    double e = cbce_p_exp_neg(a);
    double u = 1.0 + e;
    double c = e - (u - 1.0);
    cbce_mask big = cbce_m_lt(1.41421356237309504880, u);
    double f = cbce_blend(big, 0.5 * u - 1.0, u - 1.0);
    double k = cbce_blend(big, CBCE_LN2, 0.0);
    double d = 2.0 + f;
    double r = 1.0 / (d * u);
    *sp = (k + cbce_p_log1p_s((f * u) * r)) + c;
    return (e * d) * r;
}

/* Logits loss: x > 0: (1-t)*a + lw*sp; x <= 0: pw*t*a + lw*sp, with
 * lw = (1-t) + pw*t (two non-negative terms for pw >= 0: no cancellation,
 * unlike 1 + (pw-1)*t at pw ~ 0, t ~ 1). c*a is 0 when c == 0 (a infinite:
 * the limit). */
CBCE_INLINE double cbce_ew32_logits_loss(double x, double t, double pw)
{
    double a = cbce_vabs(x), sp;
    cbce_mask pos = cbce_m_lt(0.0, x);
    double omt = 1.0 - t, pt = pw * t;
    (void)cbce_ew32_logits_core(a, &sp);
    double v = cbce_ew_mul_lim(cbce_blend(pos, omt, pt), a) + (omt + pt) * sp;
    return cbce_blend(cbce_m_nan(x), x, v);
}

/* Logits d/dx: x > 0: (1-t) - lw*s; x <= 0: lw*s - pw*t, s = sigmoid(-a). */
CBCE_INLINE double cbce_ew32_logits_dx(double x, double t, double pw)
{
    double a = cbce_vabs(x), sp;
    cbce_mask pos = cbce_m_lt(0.0, x);
    double omt = 1.0 - t, pt = pw * t;
    double lws = (omt + pt) * cbce_ew32_logits_core(a, &sp);
    double v = cbce_blend(pos, omt - lws, lws - pt);
    return cbce_blend(cbce_m_nan(x), x, v);
}

/* Logits d/dt: x > 0: -a + (pw-1)*sp; x <= 0: pw*a + (pw-1)*sp. */
CBCE_INLINE double cbce_ew32_logits_dt(double x, double pw)
{
    double a = cbce_vabs(x), sp;
    cbce_mask pos = cbce_m_lt(0.0, x);
    (void)cbce_ew32_logits_core(a, &sp);
    double v = cbce_blend(pos, -a, cbce_ew_mul_lim(pw, a)) + (pw - 1.0) * sp;
    return cbce_blend(cbce_m_nan(x), x, v);
}

#endif /* CBCE_ELEMENTWISE_F32_H */
