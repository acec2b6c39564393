/*
 * elementwise_f32.h -- the per-element formulas of cbce (SPEC 2.1) for the
 * float32 kernels: the same functions as elementwise.h (cbce_ew32_* for
 * cbce_ew_*, plus cbce_ew32_bce_loss_hard), evaluated in plain double.
 *
 * Why plain double is enough here
 * -------------------------------
 * The float32 kernels widen their operands to double, call these, multiply
 * by weight and grad_output in double and round once to float. A double
 * result with relative error delta rounds to within 0.5 + delta*2^24 float
 * ulp of the exact value. Every formula below combines its terms without
 * cancellation (both terms of each loss have one sign; the gradients that
 * subtract are measured in ulps of the larger term, SPEC 3), so delta is a
 * few double roundings (~2^-50) plus the kernels' 2^-28..2^-33
 * (vmath_plain.h): the float results are within 0.5 + 2^-4 ulp. c/tests/test_vmath.c checks
 * this against long double on random points and against the double-double
 * functions of elementwise.h on sweeps of float32 inputs.
 *
 * Divisions
 * ---------
 * Divisions are the most expensive operation in these loops. The logits
 * formulas compute ONE reciprocal and derive both quotients they need from
 * it (1/((2+e)*(1+e)) gives e/(2+e) and e/(1+e); relative error a few
 * double ulps).
 * The loss and the gradient functions evaluate the same core
 * (cbce_ew32_logits_core) with the same operations, so a fused loop that
 * calls both has one set of common subexpressions for the compiler to
 * share -- and the fused results are the separate results bit for bit
 * (SPEC 1.2), by construction. The BCE logs keep one division each instead:
 * then log(x) and log(1-x) are independent, and hard labels (t in {0, 1},
 * the common case) need only one of them (cbce_ew32_bce_loss_hard).
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

/* max(log(y) + c, -100) for y in [0, 1] (+0, not -0, for zero) and a
 * correction c (0, or the rounding error of y = 1 - x below). The + c is
 * done even for c = 0, so that log(x) here and in the one-log path of
 * cbce_ew32_bce_loss_hard are the same operations; it also turns a -0 into
 * +0, so neither log is ever -0 (which the hard-label identity needs). */
CBCE_INLINE double cbce_ew32_log01(double y, double c)
{
    double f, k = cbce_p_log_reduce(y, &f);
    return cbce_ew32_clamp100((k * CBCE_LN2 + cbce_p_log1p_s(f / (2.0 + f))) + c);
}

/* u = 1 - x and its rounding error: u is exact for float x >= 2^-29 (and
 * x >= 1/2: Sterbenz); below, log(1-x) = log(u) + c/u with c = (1-u) - x,
 * and c/u is replaced by c (u > 1 - 2^-29: the difference is below 2^-80 of
 * the result). x + 0.0 turns an input -0 into +0 (the bit trick of
 * cbce_p_log_reduce would read -0 as a huge number). */
CBCE_INLINE double cbce_ew32_one_minus(double *x, double *c)
{
    double xp = *x + 0.0, u = 1.0 - xp;
    *c = (1.0 - u) - xp;
    *x = xp;
    return u;
}

/* BCE loss: -(t*max(log x,-100) + (1-t)*max(log(1-x),-100)), x, t in [0, 1]. */
CBCE_INLINE double cbce_ew32_bce_loss(double x, double t)
{
    double c, u = cbce_ew32_one_minus(&x, &c);
    double l1 = cbce_ew32_log01(x, 0.0), l2 = cbce_ew32_log01(u, c);
    return -(t * l1 + (1.0 - t) * l2);
}

/* The BCE loss for t in {0, 1} exactly (the kernels call it for chunks of
 * hard labels without label smoothing): one log, of x (t = 1) or of 1 - x
 * (t = 0). The same value as cbce_ew32_bce_loss bit for bit: there, t = 1
 * gives -(l1 + 0*l2) and t = 0 gives -(0*l1 + l2), and adding a zero to a
 * log that is never -0 changes nothing. */
CBCE_INLINE double cbce_ew32_bce_loss_hard(double x, double t)
{
    double c, u = cbce_ew32_one_minus(&x, &c);
    cbce_mask one = cbce_m_lt(0.5, t);
    return -cbce_ew32_log01(cbce_blend(one, x, u), cbce_blend(one, 0.0, c));
}

/* Inputs the float32 BCE kernels call "plain" (they test it per chunk with
 * the range check): x in [2^-29, 1). Then 1 - x is exact (c = 0), both log
 * arguments (x and 1 - x) are in [2^-29, 1 - 2^-29], so their logs are in
 * [-20.2, -1.8e-9]: never clamped, never zero; and x*(1-x) >= 1.8e-9 is
 * never below the d/dx eps. */
#define CBCE_EW32_PLAIN_MIN 0x1p-29

/* -log y for such an argument: cbce_ew32_log01(y, 0) negated, with no
 * clamp and the minus folded into the constants (cbce_p_log1p_s_signed;
 * -(a + b) = (-a) + (-b) exactly for a sum that is not 0). */
CBCE_INLINE double cbce_ew32_neglog_plain(double y)
{
    double f, k = cbce_p_log_reduce(y, &f);
    return k * -CBCE_LN2 + cbce_p_log1p_s_signed(f / (2.0 + f), -1.0);
}

/* The BCE losses for plain x: cbce_ew32_bce_loss_hard and cbce_ew32_bce_loss
 * bit for bit (-(t*l1 + (1-t)*l2) is t*(-l1) + (1-t)*(-l2) exactly: the sum
 * is not 0, since l2 < 0 and t = 0 where 1 - t = 1). */
CBCE_INLINE double cbce_ew32_bce_loss_hard_plain(double x, double t)
{
    return cbce_ew32_neglog_plain(cbce_blend(cbce_m_lt(0.5, t), x, 1.0 - x));
}

CBCE_INLINE double cbce_ew32_bce_loss_plain(double x, double t)
{
    return t * cbce_ew32_neglog_plain(x) + (1.0 - t) * cbce_ew32_neglog_plain(1.0 - x);
}

/* BCE d/dx: (x - t) / max(x*(1-x), eps). */
CBCE_INLINE double cbce_ew32_bce_dx(double x, double t)
{
    const double eps = (double)1e-12f;
    double c, u = cbce_ew32_one_minus(&x, &c);
    double d = x * u;
    return (x - t) / cbce_blend(cbce_m_lt(d, eps), eps, d);
}

/* cbce_ew32_bce_dx for plain x: the eps select never takes eps there. */
CBCE_INLINE double cbce_ew32_bce_dx_plain(double x, double t)
{
    return (x - t) / (x * (1.0 - x));
}

/* BCE d/dt: max(log(1-x),-100) - max(log x,-100). */
CBCE_INLINE double cbce_ew32_bce_dt(double x)
{
    double c, u = cbce_ew32_one_minus(&x, &c);
    return cbce_ew32_log01(u, c) - cbce_ew32_log01(x, 0.0);
}

/* ---- BCE with logits -------------------------------------------------------- */

/* For e = exp(-a), a = |x| >= 0: *sp = softplus(-a) = log1p(e), and the
 * return value sigmoid(-a) = e/(1+e), from one division: log1p(e) =
 * 2 atanh(e/(2+e)) (e in (0, 1]: no exponent reduction, and no rounding of
 * 1 + e enters), and r = 1/((2+e)*(1+e)) gives e/(2+e) = (e*(1+e))*r and
 * e/(1+e) = (e*(2+e))*r (a few double ulps each). */
CBCE_INLINE double cbce_ew32_logits_core(double e, double *sp)
{
    double u = 1.0 + e, d = 2.0 + e;
    double r = 1.0 / (d * u);
    *sp = cbce_p_log1p_s3((e * u) * r);
    return (e * d) * r;
}

/* Inputs the float32 logits kernels call "plain" (they test it per chunk):
 * |x| <= 708 (not NaN), where cbce_p_exp_neg clamps nothing and no NaN is
 * re-selected: the *_plain functions below leave both out and give the
 * same values bit for bit. */
#define CBCE_EW32_LOGITS_PLAIN_MAX 708.0

/* The formulas below, given x and the core's results (sp, and s =
 * sigmoid(-|x|)), for x not NaN:
 * Logits loss: x > 0: (1-t)*a + lw*sp; x <= 0: pw*t*a + lw*sp, with
 * lw = (1-t) + pw*t (two non-negative terms for pw >= 0: no cancellation,
 * unlike 1 + (pw-1)*t at pw ~ 0, t ~ 1). c*a is +0 when c == 0 (a
 * infinite: the limit), unless `plain` (a constant; |x| <= 708): then the
 * plain product, which gives the same sum: it differs only for c = -0
 * (x <= 0, pw*t = -0: t or pw is +-0, the product of two float32 values
 * being exact), and there lw*sp is not -0, so -0 + lw*sp and +0 + lw*sp
 * agree: lw = 1 when t = +-0; when pw = +-0, lw = 1 - t is +0, positive,
 * or at most -2^-23, and sp >= e^-708 is normal, so no product with it
 * underflows to -0. */
CBCE_INLINE double cbce_ew32_logits_loss_of(double x, double t, double pw, double sp, int plain)
{
    cbce_mask pos = cbce_m_lt(0.0, x);
    double omt = 1.0 - t, pt = pw * t, c = cbce_blend(pos, omt, pt), a = cbce_vabs(x);
    return (plain ? c * a : cbce_ew_mul_lim(c, a)) + (omt + pt) * sp;
}

/* Logits d/dx: x > 0: (1-t) - lw*s; x <= 0: lw*s - pw*t. */
CBCE_INLINE double cbce_ew32_logits_dx_of(double x, double t, double pw, double s)
{
    cbce_mask pos = cbce_m_lt(0.0, x);
    double omt = 1.0 - t, pt = pw * t;
    double lws = (omt + pt) * s;
    return cbce_blend(pos, omt - lws, lws - pt);
}

/* Logits d/dt: x > 0: -a + (pw-1)*sp; x <= 0: pw*a + (pw-1)*sp. */
CBCE_INLINE double cbce_ew32_logits_dt_of(double x, double pw, double sp)
{
    double a = cbce_vabs(x);
    return cbce_blend(cbce_m_lt(0.0, x), -a, cbce_ew_mul_lim(pw, a)) + (pw - 1.0) * sp;
}

/* The three for any x (NaN: x itself) */
CBCE_INLINE double cbce_ew32_logits_loss(double x, double t, double pw)
{
    double sp;
    (void)cbce_ew32_logits_core(cbce_p_exp_neg(cbce_vabs(x)), &sp);
    return cbce_blend(cbce_m_nan(x), x, cbce_ew32_logits_loss_of(x, t, pw, sp, 0));
}

CBCE_INLINE double cbce_ew32_logits_dx(double x, double t, double pw)
{
    double sp, s = cbce_ew32_logits_core(cbce_p_exp_neg(cbce_vabs(x)), &sp);
    return cbce_blend(cbce_m_nan(x), x, cbce_ew32_logits_dx_of(x, t, pw, s));
}

CBCE_INLINE double cbce_ew32_logits_dt(double x, double pw)
{
    double sp;
    (void)cbce_ew32_logits_core(cbce_p_exp_neg(cbce_vabs(x)), &sp);
    return cbce_blend(cbce_m_nan(x), x, cbce_ew32_logits_dt_of(x, pw, sp));
}

/* ... and for plain x */
CBCE_INLINE double cbce_ew32_logits_loss_plain(double x, double t, double pw)
{
    double sp;
    (void)cbce_ew32_logits_core(cbce_p_exp_neg_core(cbce_vabs(x)), &sp);
    return cbce_ew32_logits_loss_of(x, t, pw, sp, 1);
}

CBCE_INLINE double cbce_ew32_logits_dx_plain(double x, double t, double pw)
{
    double sp, s = cbce_ew32_logits_core(cbce_p_exp_neg_core(cbce_vabs(x)), &sp);
    return cbce_ew32_logits_dx_of(x, t, pw, s);
}

/* ---- with the scale factors, in the kernels' calling convention ---------
 * The float64 functions take the weight w (losses) and w, g (gradients) to
 * multiply the unrounded pair (elementwise.h). Here the double results are
 * ~2^-29 float ulp accurate and far from the subnormal range of double
 * (float inputs), so the factors are applied after, in the order the
 * kernels always used: w * v, (v * w) * g. */
CBCE_INLINE double cbce_ew32_bce_loss_w(double x, double t, double w)
{
    return w * cbce_ew32_bce_loss(x, t);
}

CBCE_INLINE double cbce_ew32_bce_loss_hard_w(double x, double t, double w)
{
    return w * cbce_ew32_bce_loss_hard(x, t);
}

CBCE_INLINE double cbce_ew32_bce_dx_wg(double x, double t, double w, double g)
{
    return (cbce_ew32_bce_dx(x, t) * w) * g;
}

CBCE_INLINE double cbce_ew32_bce_loss_hard_plain_w(double x, double t, double w)
{
    return w * cbce_ew32_bce_loss_hard_plain(x, t);
}

CBCE_INLINE double cbce_ew32_bce_loss_hard_plain_unit(double x, double t)
{
    return cbce_ew32_bce_loss_hard_plain(x, t);
}

CBCE_INLINE double cbce_ew32_bce_loss_plain_w(double x, double t, double w)
{
    return w * cbce_ew32_bce_loss_plain(x, t);
}

CBCE_INLINE double cbce_ew32_bce_dx_plain_wg(double x, double t, double w, double g)
{
    return (cbce_ew32_bce_dx_plain(x, t) * w) * g;
}

CBCE_INLINE double cbce_ew32_logits_loss_w(double x, double t, double pw, double w)
{
    return w * cbce_ew32_logits_loss(x, t, pw);
}

/* pw == 1 and w == 1: the same value, with the constant factors folded. */
CBCE_INLINE double cbce_ew32_logits_loss_unit(double x, double t)
{
    return cbce_ew32_logits_loss_w(x, t, 1.0, 1.0);
}

CBCE_INLINE double cbce_ew32_logits_dx_wg(double x, double t, double pw, double w, double g)
{
    return (cbce_ew32_logits_dx(x, t, pw) * w) * g;
}

CBCE_INLINE double cbce_ew32_logits_loss_plain_w(double x, double t, double pw, double w)
{
    return w * cbce_ew32_logits_loss_plain(x, t, pw);
}

CBCE_INLINE double cbce_ew32_logits_dx_plain_wg(double x, double t, double pw, double w,
                                                double g)
{
    return (cbce_ew32_logits_dx_plain(x, t, pw) * w) * g;
}

CBCE_INLINE double cbce_ew32_logits_dt_wg(double x, double pw, double w, double g)
{
    return (cbce_ew32_logits_dt(x, pw) * w) * g;
}

#endif /* CBCE_ELEMENTWISE_F32_H */
