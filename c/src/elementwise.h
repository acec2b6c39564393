/*
 * elementwise.h -- the per-element formulas of cbce (SPEC 2.1), libm-free.
 *
 * Every function works in double (float32 kernels widen, call these, and
 * round once); t is the already-smoothed target. The kernels call the *_w
 * (loss: weight w) and *_wg (gradients: weight w, then g = grad_output *
 * (1-s) [/ N]) forms, which multiply the unrounded pair by the scale factors
 * and round once (see "Why the scale factors come in" below); the plain
 * forms are the same with w = g = 1.
 *
 * Why double-double throughout
 * ----------------------------
 * SPEC 3 allows 2 ulp in float64 (4 ulp after the caller's scaling) and the
 * caller multiplies once more, so each function here should be ~0.5 ulp: the
 * exact value rounded once. Plain double arithmetic does not get there: e.g.
 * t*log(x) + (1-t)*log(1-x) has up to five roundings (1-t, two logs, two
 * products, a sum) each worth up to 1 ulp of the result in the worst binade
 * position. So the logs/exp come as pairs (vmath.h), the coefficients 1-t,
 * pw*t, lw = 1 + (pw-1)*t are formed exactly or as pairs, products use
 * TwoProduct, and only the final hi + lo is rounded. The measured maxima are
 * in c/tests/test_vmath.c (about 0.5 ulp; see its output).
 *
 * Why branch-free
 * ---------------
 * The loops in kernels.inc.h must auto-vectorize at SSE2/AVX2/AVX-512, so the
 * sign of x, the clamps and the limits at infinity are selects, never `if`.
 * Both sides are always evaluated, so inputs are first sanitized (an
 * infinite or huge logit is replaced by 1 in the double-double path, where a
 * Veltkamp split of a value above 2^996 would overflow into NaN) and the
 * exact limits are selected at the end. NaN inputs are re-selected last so
 * no comparison can drop them.
 *
 * Why the scale factors come in
 * -----------------------------
 * A result that is subnormal before scaling (softplus(x) or sigmoid(x) for
 * x < -708, (0 - t)/eps for a subnormal t, t*(-log x) for a subnormal t) has
 * only a few significant bits once rounded; a weight or grad_output > 1
 * applied afterwards magnifies that rounding error (w = 1000 at x = -744
 * was 447 ulp). So the factors multiply the pairs while they are still
 * normal (before the power-of-two scale of the *_scaled exp functions,
 * before bce_dx's division, before a subnormal t multiplies -log x), and
 * the result is rounded once from there. The factors are applied one after
 * the other (w, then g), never as the rounded product w*g, by plain
 * products of both halves (cbce_dd_mul_f: as accurate as the old rounded
 * v*w for normal results, and no subnormal rounding before the factors).
 * Factors of magnitude 2^200 or more, inf and NaN are passed as 1 by the
 * float64 kernels and applied to the rounded result (CBCE_EW_FACTOR_MAX).
 *
 * Cancellation-free forms (SPEC 2.1), with a = |x|, sp = softplus(-a) =
 * log1p(exp(-a)), s = sigmoid(-a) = e/(1+e), e = exp(-a), lw = 1+(pw-1)*t:
 *   logits loss:  x > 0: (1-t)*a + lw*sp      x <= 0: pw*t*a + lw*sp
 *   logits d/dx:  x > 0: (1-t) - lw*s         x <= 0: lw*s - pw*t
 *   logits d/dt:  x > 0: -a + (pw-1)*sp       x <= 0: pw*a + (pw-1)*sp
 * (-x = a*sign and softplus(x) = a + softplus(-a) for x > 0, so these are the
 * formulas of cbce.h rearranged with no large cancelling terms.)
 */
#ifndef CBCE_ELEMENTWISE_H
#define CBCE_ELEMENTWISE_H

#include "vmath.h"

/* max(log v, -100) as a pair, v given by its log pair. Also catches -inf
 * and the finite stand-in near -746 that cbce_log01_dd gives for v == 0. A pair just below -100 (hi == -100, lo < 0) clamps as well. */
CBCE_INLINE cbce_dd cbce_ew_clamp_log(cbce_dd l)
{
    /* l.hi + 100 is exact near -100 (Sterbenz) and has the right sign
     * elsewhere, so the sign of (l.hi + 100) + l.lo is that of the pair + 100 */
    cbce_mask clamp = cbce_m_lt((l.hi + 100.0) + l.lo, 0.0);
    l.hi = cbce_blend(clamp, -100.0, l.hi);
    l.lo = cbce_blend(clamp, 0.0, l.lo);
    return l;
}

/* log x and log(1 - x) for x in [0, 1] as pairs, by the one log of both
 * (cbce_log01_dd): 1 - x is formed exactly (cbce_ew_one_minus), so x near 0 keeps
 * full relative accuracy and x near 1 (1 - x exact, Sterbenz) too. */
CBCE_INLINE cbce_dd cbce_ew_logx(double x)
{
    return cbce_log01_dd(x, 0.0);
}

/* 1 - v as an exact pair for v in [0, 1] (BCE inputs and targets): Fast2Sum,
 * exact since |1| >= |v|, so the same pair as TwoSum at half the cost.
 * Written with v's sign as given ((1 - hi) - v, not -v - (hi - 1)): the
 * same exact values without a negation of v. */
CBCE_INLINE cbce_dd cbce_ew_one_minus(double v)
{
    cbce_dd r;
    r.hi = 1.0 - v;
    r.lo = (1.0 - r.hi) - v;
    return r;
}

CBCE_INLINE cbce_dd cbce_ew_log1mx(double x)
{
    cbce_dd m = cbce_ew_one_minus(x);
    return cbce_log01_dd(m.hi, m.lo);
}

/* The factors w, g the *_w and *_wg functions take must be finite and below
 * this magnitude: then a pair times both cannot overflow where the product
 * rounded first would not, bce_dx's 2^200 upscaling stays far below
 * overflow, and an inf times a pair's lo = 0 (NaN) cannot occur. The
 * kernels pass larger, infinite and NaN factors as 1 and apply them to the
 * rounded result instead (kernels.inc.h, factor_split_loop), so such
 * factors cost nothing per element in the common case. */
#define CBCE_EW_FACTOR_MAX 0x1p200

/* The factors multiply pairs by plain products of both halves
 * (cbce_dd_mul_f): each half within 2^-53 relative of the exact product
 * while the pair is normal (2^-52 for two factors), i.e. at most the
 * rounding the kernels' old v*w had -- what matters is that no rounding of
 * a SUBNORMAL value happens before the factors. (Exact products, TwoProduct
 * per half and factor, cost 20-45% of the float64 loops' time for about 1
 * ulp.) */

/* (v * w) * g as a pair, as above. */
CBCE_INLINE cbce_dd cbce_ew_mul_wg(cbce_dd v, double w, double g)
{
    return cbce_dd_mul_f(cbce_dd_mul_f(v, w), g);
}

/* BCE loss times w: -w*(t*max(log x,-100) + (1-t)*max(log(1-x),-100)),
 * x, t in [0, 1] only (the kernels reject anything else, NaN included,
 * before any math: the BCE losses have no NaN selects), from the pairs of
 * the two clamped logs. Both terms have the sign of -1 (no cancellation):
 * relative error ~2^-100 before the final rounding. 1 - t is kept as an
 * exact pair. w multiplies the logs before t does, so that t*(-log x) of a
 * subnormal t is rounded only once, in the final sum. */
CBCE_INLINE double cbce_ew_bce_from_logs_w(cbce_dd lx, cbce_dd l1mx, double t, double w)
{
    cbce_dd a = cbce_dd_mul_f(lx, w), b = cbce_dd_mul_f(l1mx, w);
    cbce_dd omt = cbce_ew_one_minus(t);
    cbce_dd r = cbce_dd_add(cbce_dd_mul_d(a, t), cbce_dd_mul(b, omt));
    return -(r.hi + r.lo);
}

CBCE_INLINE double cbce_ew_bce_loss_w(double x, double t, double w)
{
    return cbce_ew_bce_from_logs_w(cbce_ew_clamp_log(cbce_ew_logx(x)),
                                   cbce_ew_clamp_log(cbce_ew_log1mx(x)), t, w);
}

CBCE_INLINE double cbce_ew_bce_loss(double x, double t)
{
    return cbce_ew_bce_loss_w(x, t, 1.0);
}

/* The BCE loss times w for t in {0, 1} exactly (the kernels call it for
 * chunks of hard labels without label smoothing): ONE evaluation of
 * cbce_log01_dd, on the argument of log x (t = 1) or of log(1 - x) (t = 0),
 * then the clamp, the factor and one rounding. The same value as
 * cbce_ew_bce_loss_w bit for bit: the pair is the one cbce_ew_logx(x) or
 * cbce_ew_log1mx(x) gives (same operations on the same operands), times w
 * the same way (aw), and there t = 1 gives the pair sum F(aw) + (+-0, +-0)
 * (t = 0: (+-0, +-0) + F(bw)), F the exact Fast2Sum normalization that
 * dd_mul_d by 1 amounts to, whose rounded hi + lo is F(aw).hi = the rounded
 * aw.hi + aw.lo. */
CBCE_INLINE cbce_dd cbce_ew_hard_log_arg(double x, double t);

CBCE_INLINE double cbce_ew_bce_loss_hard_w(double x, double t, double w)
{
    cbce_dd y = cbce_ew_hard_log_arg(x, t);
    cbce_dd l = cbce_dd_mul_f(cbce_ew_clamp_log(cbce_log01_dd(y.hi, y.lo)), w);
    return -(l.hi + l.lo);
}

/* The argument of that one log: x (t = 1) or 1 - x as its exact pair. */
CBCE_INLINE cbce_dd cbce_ew_hard_log_arg(double x, double t)
{
    cbce_mask one = cbce_m_lt(0.5, t);
    cbce_dd m = cbce_ew_one_minus(x), y;
    y.hi = cbce_blend(one, x, m.hi);
    y.lo = cbce_blend(one, 0.0, m.lo);
    return y;
}

CBCE_INLINE double cbce_ew_bce_loss_hard(double x, double t)
{
    return cbce_ew_bce_loss_hard_w(x, t, 1.0);
}

/* Inputs the BCE kernels call "plain": x in [2^-144, 1), so that 1 - x is
 * in [2^-53, 1), both logs are of normal numbers and above
 * log(2^-144) = -99.8, never clamped. The kernels test this per chunk with
 * the range check (CBCE_EW_PLAIN_MIN; float32 has its own bound). */
#define CBCE_EW_PLAIN_MIN 0x1p-144

/* cbce_ew_bce_loss_hard_w and cbce_ew_bce_loss_w for plain x (above):
 * without the logs' subnormal scaling and clamps, which change nothing
 * there, so the same values bit for bit. */
CBCE_INLINE double cbce_ew_bce_loss_hard_plain_w(double x, double t, double w)
{
    cbce_dd y = cbce_ew_hard_log_arg(x, t);
    cbce_dd l = cbce_dd_mul_f(cbce_log01_dd_normal(y.hi, y.lo, 0.0), w);
    return -(l.hi + l.lo);
}

/* ... and for w = 1: -log of the pair rounded once, which is the rounded
 * sum of cbce_log01_dd_raw's halves (the normalization only moves the
 * rounding error into lo, which the final sum adds back), so the same
 * value with three operations fewer; and with the minus carried by the
 * log's own operations (cbce_log01_dd_raw_signed: exactly the negated
 * halves, whose sum -- never 0 for plain x -- is exactly the negated sum),
 * one fewer still. */
CBCE_INLINE double cbce_ew_bce_loss_hard_plain_unit(double x, double t)
{
    cbce_dd y = cbce_ew_hard_log_arg(x, t);
    cbce_dd l = cbce_log01_dd_raw_signed(y.hi, y.lo, 0.0, -1.0);
    return l.hi + l.lo;
}

CBCE_INLINE double cbce_ew_bce_loss_plain_w(double x, double t, double w)
{
    cbce_dd m = cbce_ew_one_minus(x);
    return cbce_ew_bce_from_logs_w(cbce_log01_dd_normal(x, 0.0, 0.0),
                                   cbce_log01_dd_normal(m.hi, m.lo, 0.0), t, w);
}

/* BCE d/dx times w, then g: (x - t) / max(x*(1-x), eps) * w * g, eps =
 * 1e-12 rounded to float. Numerator and denominator are exact pairs
 * (TwoSum, TwoProduct); the numerator is multiplied by w and g as a pair
 * BEFORE the division, so a subnormal quotient (x = 0, t = 1e-323) scaled
 * by g > 1 is still rounded once. The quotient is Dekker's div2 with one
 * division (reciprocal, then the exact residual corrects the first
 * quotient). x == t gives 0. x, t in [0, 1] only (the kernels check first;
 * far outside, the TwoProducts overflow into NaN). */
CBCE_INLINE double cbce_ew_bce_dx_soft_wg(double x, double t, double w, double g)
{
    const double eps = (double)1e-12f;
    cbce_dd n = cbce_two_sum(x, -t);
    /* a subnormal scaled numerator would make the residual's TwoProduct
     * inexact: scale it up by 2^200 (exact) and the quotient back down
     * (then rounded once; a quotient that small is the result) */
    cbce_mask small = cbce_m_abs_lt((n.hi * w) * g, 0x1p-900);
    double up = cbce_blend(small, 0x1p200, 1.0);
    double down = cbce_blend(small, 0x1p-200, 1.0);
    n = cbce_ew_mul_wg(cbce_dd_mul_f(n, up), w, g);
    cbce_dd omx = cbce_ew_one_minus(x);
    cbce_dd d = cbce_dd_mul_d(omx, x);
    cbce_mask clamp = cbce_m_lt((d.hi - eps) + d.lo, 0.0); /* as in clamp_log */
    d.hi = cbce_blend(clamp, eps, d.hi);
    d.lo = cbce_blend(clamp, 0.0, d.lo);
    double rec = 1.0 / d.hi;
    double q1 = n.hi * rec;
    cbce_dd p = cbce_two_prod(q1, d.hi);
    double res = (((n.hi - p.hi) - p.lo) + n.lo) - q1 * d.lo;
    return (q1 + res * rec) * down;
}

/* BCE d/dx for hard labels, the fast form. For t in {0, 1} the formula is
 * (x - 1)/(x*(1-x)) = -1/x (t = 1) or x/(x*(1-x)) = 1/(1-x) (t = 0),
 * i.e. sgn/y for the argument y of the hard loss's one log (x or the exact
 * pair 1 - x = yh + yl, cbce_ew_hard_log_arg) -- as long as x*(1-x) is not
 * below eps, which x in [2^-38, 1 - 2^-38] guarantees (x*(1-x) >= 3.6e-12;
 * cbce_ew_dx_fast_x tests a slightly narrower range, with the rounding of
 * x - 1/2). r = sgn/yh (rounded once), corrected to first order for yl
 * (|yl| <= 2^-53 yh: sgn/(yh+yl) = r - r*yl/yh up to 2^-106 r; t = 1 has
 * yl = 0), is within 1 ulp of sgn/y; times g: 1.5 ulp plus g's own error
 * (g includes 1/N): within SPEC 3's 2 ulp (g = 1) and 4 ulp (scaled). One
 * division and five operations, against two exact products (without FMA,
 * Dekker's) and Dekker's division of the general form: float64
 * value_and_grad of hard labels about 1.6x faster. Only for w = 1 (then
 * (v*w)*g = v*g, a single rounding even where it is subnormal; other w
 * take the general form, whose pairs keep such products exact). */
#define CBCE_EW_DX_FAST_HALF (0.5 - 0x1p-38)

/* all ones where x is in the fast form's range (x - 1/2 rounded: exact
 * from x = 1/4 up; below, at worst 2^-55 off, so x >= 2^-38 - 2^-54) */
CBCE_INLINE cbce_mask cbce_ew_dx_fast_x(double x)
{
    return cbce_m_abs_lt(x - 0.5, CBCE_EW_DX_FAST_HALF);
}

/* The same range as bit patterns: for x in [0, 1], cbce_ew_dx_fast_x(x) is
 * all ones exactly when the bits of x are in [LO, HI] (x - 1/2 rounds
 * monotonically, so the doubles it accepts are one interval; its ends,
 * 0x1.0000800000001p-38 and 0x1.fffffffff7fffp-1, found by bisection;
 * c/tests/test_vmath.c checks both ends and random points). The kernels'
 * range check tests whole chunks with it in integer operations. */
#define CBCE_EW_DX_FAST_LO_BITS UINT64_C(0x3d90000800000001)
#define CBCE_EW_DX_FAST_HI_BITS UINT64_C(0x3fefffffffff7fff)

/* all ones where t (in [0, 1]) is 0 or 1: the kernels' soft_bits test,
 * (t + 0)*(1 - (t + 0)) == +0 */
CBCE_INLINE cbce_mask cbce_ew_hard_t(double t)
{
    double tp = t + 0.0;
    return cbce_m_zero(tp * (1.0 - tp));
}

CBCE_INLINE double cbce_ew_bce_dx_fast_g(double x, double t, double g)
{
    cbce_dd y = cbce_ew_hard_log_arg(x, t);
    double r = cbce_blend(cbce_m_lt(0.5, t), -1.0, 1.0) / y.hi;
    return (r - (r * y.lo) * r) * g;
}

/* BCE d/dx times w, then g, for any element: the fast form where it
 * applies (t in {0, 1}, w = 1, x in its range), the general form
 * elsewhere -- a per-element choice, so a value never depends on which
 * loop computed it. The kernels run loops without the select for chunks
 * where one form applies to every element (kernels.inc.h, dx_forms). */
CBCE_INLINE double cbce_ew_bce_dx_wg(double x, double t, double w, double g)
{
    cbce_mask fast = cbce_ew_hard_t(t) & cbce_ew_dx_fast_x(x) & cbce_m_zero(w - 1.0);
    return cbce_blend(fast, cbce_ew_bce_dx_fast_g(x, t, g), cbce_ew_bce_dx_soft_wg(x, t, w, g));
}

CBCE_INLINE double cbce_ew_bce_dx(double x, double t)
{
    return cbce_ew_bce_dx_wg(x, t, 1.0, 1.0);
}

/* For plain x: the same function (x*(1-x) can still be below eps). */
CBCE_INLINE double cbce_ew_bce_dx_plain_wg(double x, double t, double w, double g)
{
    return cbce_ew_bce_dx_wg(x, t, w, g);
}

/* BCE d/dt: max(log(1-x),-100) - max(log x,-100), x in [0, 1] only (as the
 * loss). Computed as
 * one pair difference: error ~0.5 ulp of the larger term. */
CBCE_INLINE double cbce_ew_bce_dt(double x)
{
    cbce_dd a = cbce_ew_clamp_log(cbce_ew_logx(x));
    cbce_dd b = cbce_ew_clamp_log(cbce_ew_log1mx(x));
    cbce_dd r = cbce_dd_add(b, cbce_dd_neg(a));
    return r.hi + r.lo;
}

/* ---- BCE with logits -------------------------------------------------------- */

/* Magnitude up to which the double-double path is used: Veltkamp's split
 * overflows above ~2^996, and products of two operands must stay finite. */
#define CBCE_EW_DD_MAX 0x1p480

/* A pair times the scale of the *_scaled functions of vmath.h (a power of
 * two, cbce_dd_mul_f) comes last: the products with pw, lw are formed on the
 * normal pair first, so a subnormal e^-a times a large pos_weight is
 * rounded once, at the end. */

/* lw = 1 + (pw - 1)*t as a pair (exactly 1 when pw == 1). */
CBCE_INLINE cbce_dd cbce_ew_lw(double t, double pw)
{
    cbce_dd pm1 = cbce_two_sum(pw, -1.0);
    cbce_dd p = cbce_dd_mul_d(pm1, t);
    cbce_dd one;
    one.hi = 1.0;
    one.lo = 0.0;
    return cbce_dd_add(one, p);
}

/* true when all of a, t, pw are finite and small enough for the pair path
 * (false for NaN and inf). */
CBCE_INLINE cbce_mask cbce_ew_dd_ok(double a, double t, double pw)
{
    return cbce_m_abs_lt(a, CBCE_EW_DD_MAX) & cbce_m_abs_lt(t, CBCE_EW_DD_MAX) &
           cbce_m_abs_lt(pw, CBCE_EW_DD_MAX);
}

/* c*a for a >= 0 possibly infinite: 0 when c == 0 (the limit at infinity
 * of a vanishing coefficient), IEEE otherwise. */
CBCE_INLINE double cbce_ew_mul_lim(double c, double a)
{
    return cbce_blend(cbce_m_zero(c), 0.0, c * a);
}

/* Logits loss times w: w*((1-t)*x + lw*softplus(-x)), cancellation-free
 * form above. Two evaluations around one softplus pair sp (times sc):
 * - pw == 1 and w == 1 (the unit case; the kernels call
 *   cbce_ew_logits_loss_unit for chunks that are all unit, which is this
 *   function's value bit for bit): c*a + sp with c = 1 - t (x > 0, an exact
 *   TwoSum pair c_h + c_l) or t (x <= 0); p = c_h*a rounded once, p + sp.hi
 *   exact (TwoSum), the small parts added to its low half, one final
 *   rounding. Error: half an ulp of p, the pair's 0.4 ulp of sp and the
 *   final half ulp, each at most that many ulps of the result (p and sp
 *   are below it for t in [0, 1]; otherwise of the larger term): 1.4 ulp
 *   (bound 2), with no TwoProduct at all.
 * - otherwise, as pairs throughout: w multiplies both terms, the softplus
 *   term before its power-of-two scale (a subnormal softplus times w rounds
 *   once); lw = 1 + (pw-1)*t and the products are exact pairs (error about
 *   1 ulp scaled, bound 4).
 * Limits: l(+inf,1) = 0, l(+inf,t<1) = +inf, l(-inf,0) = 0, l(-inf,t>0) = +inf.
 * NaN in any argument gives NaN. */
CBCE_INLINE double cbce_ew_logits_loss_dd(double as, cbce_mask pos, double ts, double ps,
                                          double w, cbce_dd sp, double sc);

CBCE_INLINE double cbce_ew_logits_loss_w(double x, double t, double pw, double w)
{
    double a = cbce_vabs(x);
    cbce_mask pos = cbce_m_lt(0.0, x);
    cbce_mask ok = cbce_ew_dd_ok(a, t, pw), a_ok = cbce_m_abs_lt(a, CBCE_EW_DD_MAX);
    double as = cbce_blend(a_ok, a, 1.0), ts = cbce_blend(ok, t, 0.5), ps = cbce_blend(ok, pw, 1.0);
    double sc;
    cbce_dd sp = cbce_softplus_neg_dd_scaled(as, &sc);
    double dd = cbce_ew_logits_loss_dd(as, pos, ts, ps, w, sp, sc);
    /* plain path: infinite or huge operands. softplus(-a) is the pair's
     * value when a is in range (t or pw is not), else 0 (a > 2^480). */
    double spp = cbce_blend(a_ok, (sp.hi + sp.lo) * sc, 0.0);
    double cp = cbce_blend(pos, 1.0 - t, pw * t);
    double lwp = 1.0 + (pw - 1.0) * t;
    double plain = (cbce_ew_mul_lim(cp, a) + lwp * spp) * w;
    double out = cbce_blend(ok, dd, plain);
    return cbce_blend(cbce_m_nan(x), x, out);
}

/* Inputs the float64 logits kernels call "plain" (they test it per chunk):
 * |x| <= CBCE_TINY_EXP_ARG (700), t and pw finite and below CBCE_EW_DD_MAX
 * in magnitude: then the pair path is taken, exp(-|x|) is normal (scale
 * 1) and no NaN is re-selected. */
#define CBCE_EW_LOGITS_PLAIN_MAX CBCE_TINY_EXP_ARG

/* cbce_ew_logits_loss_w for plain operands (above): its pair path alone,
 * so the same value bit for bit. */
CBCE_INLINE double cbce_ew_logits_loss_plain_w(double x, double t, double pw, double w)
{
    double a = cbce_vabs(x);
    return cbce_ew_logits_loss_dd(a, cbce_m_lt(0.0, x), t, pw, w, cbce_softplus_neg_dd_plain(a),
                                  1.0);
}

/* The pair path of the loss: a = |x|, pos = (x > 0), t, pw and w in its
 * range, sp * sc = softplus(-a) as the scaled pair. */
CBCE_INLINE double cbce_ew_logits_loss_dd(double as, cbce_mask pos, double ts, double ps,
                                          double w, cbce_dd sp, double sc)
{
    /* unit case */
    cbce_dd omt = cbce_two_sum(1.0, -ts);
    double ch = cbce_blend(pos, omt.hi, ts), cl = cbce_blend(pos, omt.lo, 0.0);
    cbce_dd s = cbce_two_sum(ch * as, sp.hi * sc);
    double unit = s.hi + ((s.lo + sp.lo * sc) + cl * as);
    /* scaled case */
    cbce_dd lw = cbce_ew_lw(ts, ps);
    /* pw*t*a is formed as (t*a)*pw: t*a never underflows below t, whereas
     * pw*t of a subnormal t and pw < 1 would lose t's bits before a scales
     * them back up. */
    cbce_dd ca = cbce_dd_sel(pos, cbce_dd_mul_d(omt, as), cbce_dd_mul_d(cbce_two_prod(ts, as), ps));
    cbce_dd lsp = cbce_dd_mul(lw, sp);
    cbce_dd r = cbce_dd_add(cbce_dd_mul_f(ca, w), cbce_dd_mul_f(cbce_dd_mul_f(lsp, w), sc));
    return cbce_blend(cbce_m_zero(ps - 1.0) & cbce_m_zero(w - 1.0), unit, r.hi + r.lo);
}

/* The logits loss for pw == 1 and w == 1: cbce_ew_logits_loss_w's value
 * (the same expression, whose scaled half the constants make dead code). */
CBCE_INLINE double cbce_ew_logits_loss_unit(double x, double t)
{
    return cbce_ew_logits_loss_w(x, t, 1.0, 1.0);
}

CBCE_INLINE double cbce_ew_logits_loss(double x, double t, double pw)
{
    return cbce_ew_logits_loss_w(x, t, pw, 1.0);
}

/* Logits d/dx times w, then g: (lw*sigmoid(x) - pw*t)*w*g, without
 * saturation (form above); g (and w) multiply both terms as pairs, the
 * sigmoid term before its power-of-two scale. Two evaluations, as in the
 * loss:
 * - pw == 1 and w == 1 (the unit case; the kernels' unit loops pass the
 *   constants, which make the other evaluation dead code): lw = 1, so
 *   (1-t) - s (x > 0; 1 - t an exact TwoSum pair) or s - t (x <= 0), times
 *   g, from the sigmoid pair s alone.
 * - otherwise: lw = 1 + (pw-1)*t and pw*t as exact pairs, times w and g.
 * Limits: 1 - t at +inf, -pw*t at -inf. Error ~0.5 ulp of the larger term. */
CBCE_INLINE double cbce_ew_logits_dx_dd(cbce_mask pos, double ts, double ps, double w, double g,
                                        cbce_dd s, double sc);

CBCE_INLINE double cbce_ew_logits_dx_wg(double x, double t, double pw, double w, double g)
{
    double a = cbce_vabs(x);
    cbce_mask pos = cbce_m_lt(0.0, x);
    cbce_mask ok = cbce_ew_dd_ok(a, t, pw), a_ok = cbce_m_abs_lt(a, CBCE_EW_DD_MAX);
    double as = cbce_blend(a_ok, a, 1.0), ts = cbce_blend(ok, t, 0.5), ps = cbce_blend(ok, pw, 1.0);
    double sc;
    cbce_dd s = cbce_sigmoid_neg_dd_scaled(as, &sc);
    double dd = cbce_ew_logits_dx_dd(pos, ts, ps, w, g, s, sc);
    /* plain path: sigmoid(-a) from the pair when a is in range, else 0
     * (a > 2^480: the limit at infinity) */
    double sp = cbce_blend(a_ok, (s.hi + s.lo) * sc, 0.0);
    double lwp = 1.0 + (pw - 1.0) * t;
    double lwsp = lwp * sp;
    double plain = (cbce_blend(pos, (1.0 - t) - lwsp, lwsp - pw * t) * w) * g;
    double out = cbce_blend(ok, dd, plain);
    return cbce_blend(cbce_m_nan(x), x, out);
}

/* cbce_ew_logits_dx_wg for plain operands (CBCE_EW_LOGITS_PLAIN_MAX): its
 * pair path alone, so the same value bit for bit. */
CBCE_INLINE double cbce_ew_logits_dx_plain_wg(double x, double t, double pw, double w, double g)
{
    return cbce_ew_logits_dx_dd(cbce_m_lt(0.0, x), t, pw, w, g,
                                cbce_sigmoid_neg_dd_plain(cbce_vabs(x)), 1.0);
}

/* The pair path of d/dx: pos = (x > 0), t, pw, w, g in its range, s * sc =
 * sigmoid(-|x|) as the scaled pair. */
CBCE_INLINE double cbce_ew_logits_dx_dd(cbce_mask pos, double ts, double ps, double w, double g,
                                        cbce_dd s, double sc)
{
    cbce_dd omt = cbce_two_sum(1.0, -ts);
    /* unit case */
    cbce_dd sg = cbce_dd_mul_f(cbce_dd_mul_f(s, g), sc), tp, cu;
    tp.hi = -ts;
    tp.lo = 0.0;
    cu = cbce_dd_sel(pos, omt, tp);
    cbce_dd ru = cbce_dd_add(cbce_dd_mul_f(cu, g), cbce_dd_sel(pos, cbce_dd_neg(sg), sg));
    /* scaled case */
    cbce_dd lws = cbce_dd_mul(cbce_ew_lw(ts, ps), s);
    cbce_dd c = cbce_dd_sel(pos, omt, cbce_dd_neg(cbce_two_prod(ps, ts)));
    cbce_dd lwsg = cbce_dd_mul_f(cbce_ew_mul_wg(lws, w, g), sc);
    cbce_dd r = cbce_dd_add(cbce_ew_mul_wg(c, w, g),
                            cbce_dd_sel(pos, cbce_dd_neg(lwsg), lwsg));
    return cbce_blend(cbce_m_zero(ps - 1.0) & cbce_m_zero(w - 1.0), ru.hi + ru.lo,
                      r.hi + r.lo);
}

CBCE_INLINE double cbce_ew_logits_dx(double x, double t, double pw)
{
    return cbce_ew_logits_dx_wg(x, t, pw, 1.0, 1.0);
}

/* Logits d/dt times w, then g: -x + (pw-1)*softplus(-x), as -a + (pw-1)*sp
 * (x > 0) and pw*a + (pw-1)*sp (x <= 0, the form with a limit at -inf),
 * the factors applied to both pairs (pw = 0 at x < -708 leaves the
 * subnormal softplus alone). Exactly -x*w*g when pw == 1 (rounded once).
 * Error ~0.5 ulp of the larger term. */
CBCE_INLINE double cbce_ew_logits_dt_wg(double x, double pw, double w, double g)
{
    double a = cbce_vabs(x);
    cbce_mask pos = cbce_m_lt(0.0, x);
    cbce_mask ok = cbce_ew_dd_ok(a, 0.0, pw), a_ok = cbce_m_abs_lt(a, CBCE_EW_DD_MAX);
    double as = cbce_blend(a_ok, a, 1.0), ps = cbce_blend(ok, pw, 1.0);
    double sc;
    cbce_dd sp = cbce_softplus_neg_dd_scaled(as, &sc);
    cbce_dd pm1 = cbce_two_sum(ps, -1.0);
    cbce_dd term2 = cbce_dd_mul(pm1, sp);
    cbce_dd ma;
    ma.hi = -as;
    ma.lo = 0.0;
    cbce_dd term1 = cbce_dd_sel(pos, ma, cbce_two_prod(ps, as));
    cbce_dd r = cbce_dd_add(cbce_ew_mul_wg(term1, w, g),
                            cbce_dd_mul_f(cbce_ew_mul_wg(term2, w, g), sc));
    double dd = r.hi + r.lo;
    double spp = cbce_blend(a_ok, (sp.hi + sp.lo) * sc, 0.0);
    double plain = ((cbce_blend(pos, -a, cbce_ew_mul_lim(pw, a)) + (pw - 1.0) * spp) * w) *
                   g;
    double out = cbce_blend(ok, dd, plain);
    return cbce_blend(cbce_m_nan(x), x, out);
}

CBCE_INLINE double cbce_ew_logits_dt(double x, double pw)
{
    return cbce_ew_logits_dt_wg(x, pw, 1.0, 1.0);
}

#endif /* CBCE_ELEMENTWISE_H */
