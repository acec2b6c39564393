/*
 * vmath_plain.h -- plain-double exp and log kernels with short polynomials,
 * for the float32 element formulas (elementwise_f32.h).
 *
 * Why a second set of kernels
 * ---------------------------
 * A float32 result is the double result rounded once (SPEC 3). If the double
 * value has relative error delta, the float error is at most 0.5 ulp +
 * delta * 2^24 ulp, so delta ~ 2^-40 already leaves the 1-ulp bound with a
 * huge margin (2^-28 still leaves 0.5 + 2^-4 ulp). The double-double
 * kernels of vmath.h (~2^-60) are 3-5x the work; these are plain double
 * arithmetic with near-minimax polynomials accurate to 2^-28..2^-33
 * relative (fitted by Chebyshev interpolation in mpmath at 50 digits, max
 * errors in the comments), no pairs and no division
 * (callers share one reciprocal between the divisions they need).
 *
 * Same rules as vmath.h: branch-free (selects are bit masks), no libm, no
 * int64<->double conversions, FMA contraction off (-ffp-contract=off), so
 * every ISA level rounds exactly like the scalar one.
 */
#ifndef CBCE_VMATH_PLAIN_H
#define CBCE_VMATH_PLAIN_H

#include "vmath.h"

#define CBCE_LN2 6.93147180559945286227e-01

/* Split x > 0, a NORMAL double, as x = 2^k * (1 + f), 1 + f in
 * [sqrt(2)/2, sqrt(2)), returning k as a double (f exact: Sterbenz). The
 * bit trick of cbce_log_reduce without its subnormal scaling: a float32
 * widened to double is never subnormal. x == 0 gives k = -1023 and some f in
 * range (log(0) then comes out near -709, which callers clamp or select). */
CBCE_INLINE double cbce_p_log_reduce(double x, double *f)
{
    const uint64_t sqrt_half = UINT64_C(0x3fe6a09e667f3bcd);
    uint64_t tmp = cbce_asu64(x) - sqrt_half + (UINT64_C(1) << 63);
    *f = cbce_asf64((tmp & UINT64_C(0x000fffffffffffff)) + sqrt_half) - 1.0;
    return cbce_asf64(UINT64_C(0x4330000000000000) | (tmp >> 52)) - (0x1p52 + 2048.0);
}

/* log(1 + f) = 2 atanh(s) given s = f/(2 + f), |s| <= 0.1716 (the reduced
 * range above): 2s + s*z*P(z), z = s^2, P a degree-2 fit of
 * (2 atanh(s) - 2s)/s^3 on z in [0, 0.02944]; relative error of the result
 * < 2^-28.4 for exact s (plus a few double ulps per ulp of error in s):
 * float results within 0.5 + 2^-4.4 ulp, which is all the float32 formulas
 * need (one degree more, 2^-35.8, costs a multiply and an add per log).
 * Times sg = +1 or -1 (a constant): the coefficients times sg. Rounding to
 * nearest is symmetric, so sg = -1 gives exactly the negation of the
 * sg = +1 value, and a caller that needs -log saves the negation. */
CBCE_INLINE double cbce_p_log1p_s_signed(double s, double sg)
{
    const double P0 = 0x1.55555b800072ep-1, P1 = 0x1.997c2eef2e50ep-2,
                 P2 = 0x1.2ee650f448683p-2;
    double z = s * s;
    double p = sg * P0 + z * (sg * P1 + z * (sg * P2));
    return s * (sg * 2.0 + z * p);
}

CBCE_INLINE double cbce_p_log1p_s(double s)
{
    return cbce_p_log1p_s_signed(s, 1.0);
}

/* The same for |s| <= 1/3 (log(1 + f), f in [0, 1], without an exponent
 * reduction: log1p(e) for e = exp(-a) in (0, 1] is 2 atanh(e/(2+e))):
 * P a degree-4 fit on z in [0, 1/9], relative error < 2^-31.2. */
CBCE_INLINE double cbce_p_log1p_s3(double s)
{
    const double P0 = 0x1.5555558d7fe22p-1, P1 = 0x1.9998d485cf47ep-2,
                 P2 = 0x1.24c926a40acd3p-2, P3 = 0x1.bc8cf8ddd5876p-3,
                 P4 = 0x1.dba25f0718ee6p-3;
    double z = s * s;
    double p = P0 + z * (P1 + z * (P2 + z * (P3 + z * P4)));
    return s * (2.0 + z * p);
}

/* e^-a for a >= 0, relative error < 2^-33 for a <= 708. Above 708 (inf
 * included) it returns e^-708 (about 2^-1021) instead of something smaller:
 * callers only use it for float32 results, where any value below 2^-1000,
 * even times three float factors (< 2^384), rounds like the exact one
 * (to 0). NaN gives an unspecified value: callers re-select NaN.
 * Cody-Waite reduction as in vmath.h (k = round(-a/ln2), r = -a - k*ln2 in
 * two exact-ish steps, |r| <= ln2/2), e^r = 1 + r*Q(r), Q a degree-6 fit of
 * (e^r - 1)/r (error 2^-33.1), 2^k built from bits (k >= -1022: normal). */
CBCE_INLINE double cbce_p_exp_neg_core(double ac);

CBCE_INLINE double cbce_p_exp_neg(double a)
{
    return cbce_p_exp_neg_core(cbce_blend(cbce_m_lt(708.0, a), 708.0, a));
}

/* The body of cbce_p_exp_neg for a in [0, 708] (what its clamp leaves):
 * callers that know a is in range call it directly. */
CBCE_INLINE double cbce_p_exp_neg_core(double ac)
{
    const double Q0 = 0x1.0000000000000p+0, Q1 = 0x1.000000287f871p-1,
                 Q2 = 0x1.55555567532adp-3, Q3 = 0x1.5554accfdb593p-5,
                 Q4 = 0x1.1110c632a3088p-7, Q5 = 0x1.6d7543e4127b8p-10,
                 Q6 = 0x1.a15179d80ae96p-13;
    double kr = ac * -CBCE_INV_LN2 + CBCE_ROUND_MAGIC;
    /* k + 1023 in [1, 1023], from the low mantissa bits of kr (k <= 0) */
    uint64_t bexp = cbce_asu64(kr) - cbce_asu64(CBCE_ROUND_MAGIC) + 1023;
    double kd = kr - CBCE_ROUND_MAGIC;
    double r = (-ac - kd * CBCE_LN2_HI) - kd * CBCE_LN2_LO;
    double q = Q0 + r * (Q1 + r * (Q2 + r * (Q3 + r * (Q4 + r * (Q5 + r * Q6)))));
    return (1.0 + r * q) * cbce_asf64(bexp << 52);
}

#endif /* CBCE_VMATH_PLAIN_H */
