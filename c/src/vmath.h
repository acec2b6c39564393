/*
 * vmath.h -- branch-free, libm-free double-precision exp/log/log1p and the
 * double-double helpers the cbce element formulas are built from.
 *
 * Why this file exists
 * --------------------
 * SPEC 4 wants bitwise identical results on every SIMD level, thread count
 * and platform, so the kernels may not call libm (whose results differ
 * between libm versions and between its scalar and vector variants). The
 * functions here are plain C99 arithmetic, so every compiler and ISA gives
 * the same bits as long as FMA contraction is off (-ffp-contract=off: the
 * error-free transformations below REQUIRE separately rounded * and +).
 *
 * Why branch-free
 * ---------------
 * The loops call these functions once per element; gcc only auto-vectorizes
 * a loop whose body it can if-convert. So every special case (0, subnormal,
 * inf, NaN, underflow, the choice of reduction) is a select `c ? a : b` on
 * doubles, which gcc turns into a blend/and-or sequence. Both sides are
 * always computed, so intermediate NaN/inf may appear in lanes whose result
 * is then replaced; the returned values are what the comments promise.
 * The arms of every select are plain variables or constants, computed
 * unconditionally before it: with the default -ftrapping-math gcc refuses to
 * if-convert `c ? a*b : x` (it would speculate a possibly trapping multiply)
 * and the loop then does not vectorize at SSE2/AVX2. Conditions combine
 * comparisons with & and |, never && or || (which are branches).
 *
 * Why these integer tricks
 * ------------------------
 * SSE2/AVX2 have no vector int64<->double conversion (only AVX-512DQ has),
 * and no 64-bit arithmetic right shift or 64-bit compare before SSE4.2/
 * AVX-512. So: round-to-integer is x + 0x1.8p52 (the integer lands in the
 * low mantissa bits), 2^k is built by adding/shifting bit patterns as
 * UNSIGNED 64-bit integers (logical shifts only), integers become doubles
 * via the 0x1p52 bias trick, and all comparisons are done on doubles.
 * Bit casts are memcpy (well defined in C99; compiled to nothing).
 *
 * Why double-double results
 * -------------------------
 * The losses combine several inexact terms (log, then a product with a
 * target, then a sum), and each rounding costs up to 1/2 ulp of its own
 * magnitude, which can be up to 1 ulp of the result. To stay well inside the
 * SPEC 3 bound of 2 ulp (1 ulp for float32 through double), exp/log/log1p
 * return an unevaluated pair hi + lo accurate to about 2^-60 relative, the
 * element formulas combine them with error-free transformations (Knuth's
 * TwoSum, Dekker's TwoProduct with Veltkamp splitting: no FMA allowed), and
 * only the final result is rounded once. See T. J. Dekker, "A floating-point
 * technique for extending the available precision", Numer. Math. 18 (1971).
 */
#ifndef CBCE_VMATH_H
#define CBCE_VMATH_H

#include <stdint.h>
#include <string.h>

/* Every function here must be inlined into the element loops: a call left in
 * a loop body stops vectorization, and the element formulas are large enough
 * that gcc's inline heuristics decline once a formula is used by more than
 * one loop of a translation unit. */
#if defined(__GNUC__) || defined(__clang__)
#define CBCE_INLINE static inline __attribute__((always_inline))
#else
#define CBCE_INLINE static inline
#endif

/* A double-double: the unevaluated sum hi + lo, |lo| <= ulp(hi)/2 (or so). */
typedef struct cbce_dd {
    double hi, lo;
} cbce_dd;

/* ---- bit casts ------------------------------------------------------------ */

CBCE_INLINE uint64_t cbce_asu64(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

CBCE_INLINE double cbce_asf64(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* |x| by clearing the sign bit (fabs without <math.h>; keeps NaN a NaN). */
CBCE_INLINE double cbce_vabs(double x)
{
    return cbce_asf64(cbce_asu64(x) & UINT64_C(0x7fffffffffffffff));
}

/* min(max(x, lo), hi) for non-NaN x, as bit masks rather than selects:
 * after `c ? -1100.0 : x` gcc knows the value is a constant on one path and
 * jump-threads a constant-folded copy of everything downstream, which leaves
 * control flow in the loop and stops vectorization. The masks come from the
 * sign bit of x - lo and hi - x (exact in sign), by a logical shift and a
 * negation, so this is plain SSE2 integer code with no path to thread (a
 * bool-to-uint64 conversion instead defeats the vectorizer). A NaN x may
 * come out as lo or hi: callers re-select NaN at the end. */
CBCE_INLINE double cbce_vclamp(double x, double lo, double hi)
{
    uint64_t mlo = (uint64_t)0 - (cbce_asu64(x - lo) >> 63); /* ones where x < lo */
    uint64_t mhi = (uint64_t)0 - (cbce_asu64(hi - x) >> 63); /* ones where x > hi */
    uint64_t b = cbce_asu64(x);
    b = (b & ~mlo) | (cbce_asu64(lo) & mlo);
    b = (b & ~mhi) | (cbce_asu64(hi) & mhi);
    return cbce_asf64(b);
}

/* ---- selects as bit masks ---------------------------------------------------
 * A mask is a uint64_t of all ones (true) or all zeros. Why not `c ? a : b`:
 * with the default -ftrapping-math gcc sinks the FP operations feeding one
 * arm of a select into a conditional block and then will not if-convert it
 * (that would speculate a trapping operation), so the loop keeps control
 * flow and vectorizes only with AVX-512 masking. And a bool-to-uint64
 * conversion of a comparison does not vectorize at SSE2. Masks made from
 * sign bits (of a difference, or of an integer difference of bit patterns)
 * by a logical shift and a negation are plain SSE2 integer code, and blends
 * by and/andnot/or use both arms unconditionally: nothing to sink. */
typedef uint64_t cbce_mask;

/* all ones where a < b; a - b has the exact sign of the difference (never
 * rounds to 0: gradual underflow). Not for NaN or a - b = inf - inf. */
CBCE_INLINE cbce_mask cbce_m_lt(double a, double b)
{
    return (uint64_t)0 - (cbce_asu64(a - b) >> 63);
}

/* all ones where |v| < lim (lim > 0 a constant): integer compare of bit
 * patterns below 2^63; false for NaN, exact for every other v. */
CBCE_INLINE cbce_mask cbce_m_abs_lt(double v, double lim)
{
    return (uint64_t)0 - (((cbce_asu64(v) & UINT64_C(0x7fffffffffffffff)) - cbce_asu64(lim)) >> 63);
}

CBCE_INLINE cbce_mask cbce_m_nan(double v)
{
    return (uint64_t)0 - ((UINT64_C(0x7ff0000000000000) -
                           (cbce_asu64(v) & UINT64_C(0x7fffffffffffffff))) >> 63);
}

/* all ones where v == +0 or -0 */
CBCE_INLINE cbce_mask cbce_m_zero(double v)
{
    return (uint64_t)0 - (((cbce_asu64(v) & UINT64_C(0x7fffffffffffffff)) - 1) >> 63);
}

/* m ? a : b */
CBCE_INLINE double cbce_blend(cbce_mask m, double a, double b)
{
    return cbce_asf64((cbce_asu64(a) & m) | (cbce_asu64(b) & ~m));
}

/* ---- error-free transformations ------------------------------------------ */

/* Knuth's TwoSum: s + e == a + b exactly, any order of magnitudes. */
CBCE_INLINE cbce_dd cbce_two_sum(double a, double b)
{
    cbce_dd r;
    double s = a + b;
    double bb = s - a;
    r.hi = s;
    r.lo = (a - (s - bb)) + (b - bb);
    return r;
}

/* Dekker's Fast2Sum: exact when |a| >= |b| (or a == 0). */
CBCE_INLINE cbce_dd cbce_fast_two_sum(double a, double b)
{
    cbce_dd r;
    double s = a + b;
    r.hi = s;
    r.lo = b - (s - a);
    return r;
}

/* Dekker's TwoProduct with Veltkamp's split (2^27 + 1): p + e == a * b
 * exactly, for |a|, |b| < 2^996 and no underflow of e. No FMA: the build
 * forbids it (SPEC 4), and a contracted a*b - p would break exactness. */
CBCE_INLINE cbce_dd cbce_two_prod(double a, double b)
{
    const double split = 134217729.0; /* 2^27 + 1 */
    cbce_dd r;
    double ca = split * a, cb = split * b;
    double ah = ca - (ca - a), al = a - ah;
    double bh = cb - (cb - b), bl = b - bh;
    double p = a * b;
    r.hi = p;
    r.lo = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
    return r;
}

/* (a.hi + a.lo) + (b.hi + b.lo), normalized; relative error ~2^-104 when
 * there is no cancellation (Dekker's add2). */
CBCE_INLINE cbce_dd cbce_dd_add(cbce_dd a, cbce_dd b)
{
    cbce_dd s = cbce_two_sum(a.hi, b.hi);
    return cbce_fast_two_sum(s.hi, s.lo + (a.lo + b.lo));
}

/* (a.hi + a.lo) * b for a double b. */
CBCE_INLINE cbce_dd cbce_dd_mul_d(cbce_dd a, double b)
{
    cbce_dd p = cbce_two_prod(a.hi, b);
    return cbce_fast_two_sum(p.hi, p.lo + a.lo * b);
}

/* (a.hi + a.lo) * (b.hi + b.lo) (Dekker's mul2; drops a.lo*b.lo). */
CBCE_INLINE cbce_dd cbce_dd_mul(cbce_dd a, cbce_dd b)
{
    cbce_dd p = cbce_two_prod(a.hi, b.hi);
    return cbce_fast_two_sum(p.hi, p.lo + (a.hi * b.lo + a.lo * b.hi));
}

CBCE_INLINE cbce_dd cbce_dd_neg(cbce_dd a)
{
    a.hi = -a.hi;
    a.lo = -a.lo;
    return a;
}

/* Both halves times f, by plain products: not an exact pair any more, but
 * each half within 2^-53 relative of the exact product while the result is
 * normal; exact for a power of two f while the halves stay normal. */
CBCE_INLINE cbce_dd cbce_dd_mul_f(cbce_dd v, double f)
{
    v.hi *= f;
    v.lo *= f;
    return v;
}

/* m ? a : b on both halves. */
CBCE_INLINE cbce_dd cbce_dd_sel(cbce_mask m, cbce_dd a, cbce_dd b)
{
    cbce_dd r;
    r.hi = cbce_blend(m, a.hi, b.hi);
    r.lo = cbce_blend(m, a.lo, b.lo);
    return r;
}

/* ---- constants ------------------------------------------------------------ */

/* ln2 split as in fdlibm: LN2_HI has its low 21 bits zero, so k*LN2_HI is
 * exact for |k| < 2^21 and x - k*LN2_HI is exact in the exp reduction. */
#define CBCE_LN2_HI 6.93147180369123816490e-01 /* 0x3fe62e42fee00000 */
#define CBCE_LN2_LO 1.90821492927058770002e-10 /* 0x3dea39ef35793c76 */
#define CBCE_INV_LN2 1.44269504088896338700e+00
/* x + 0x1.8p52 rounds x to an integer in the low mantissa bits (|x| < 2^51). */
#define CBCE_ROUND_MAGIC 0x1.8p52
/* inf and a quiet NaN without <math.h> (constant-folded) */
#define CBCE_INF (cbce_asf64(UINT64_C(0x7ff0000000000000)))
#define CBCE_NAN (cbce_asf64(UINT64_C(0x7ff8000000000000)))

/* ---- log ------------------------------------------------------------------ */

/* log(1 + f) for f = fh + fl in about [sqrt(2)/2 - 1, sqrt(2) - 1], as a
 * double-double, plus kd*ln2 (kd a small integer-valued double).
 *
 * fdlibm e_log.c / s_log1p.c: with s = f/(2+f), log(1+f) = 2 atanh(s)
 *   = f - f^2/2 + s*(f^2/2 + R(s^2)),
 * R a Remez minimax polynomial (fdlibm's Lg1..Lg7, error < 2^-58.45).
 * fdlibm rounds f - hfsq + ...; here f^2/2 is formed exactly (TwoProduct) and
 * f - f^2/2 by Fast2Sum (|f| >= f^2/2), so the only inexact part is the small
 * s*(hfsq + R) term (< 7% of the result), giving ~2^-59 relative error.
 * The low part of f, fl + fl2 (two doubles: for log1p of a tiny pair both
 * matter), enters to first order as fl/(1+f) = fl - fl*f/(1+f)
 * = fl - fl*2s/(1+s), the series of 1/(1+s) truncated after s^3 (|s| < 0.172,
 * so the truncation is < 2^-10 of a term that is < 2^-52 of the result).
 * Written so that fl itself is added exactly: when f ~ 0 (log1p of a tiny
 * pair), fl IS the result and must not pick up a rounding of 2/(2+f); then
 * also the second-order -fl^2/2 matters (fl up to 2^-53: half an ulp).
 * One division (1/(2+f)) per call. */
CBCE_INLINE cbce_dd cbce_log1p_reduced_dd(double kd, double fh, double fl, double fl2)
{
    const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01,
                 Lg3 = 2.857142874366239149e-01, Lg4 = 2.222219843214978396e-01,
                 Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                 Lg7 = 1.479819860511658591e-01;
    double d = 1.0 / (2.0 + fh);
    double s = fh * d;
    double z = s * s, w = z * z;
    double R = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7))) + w * (Lg2 + w * (Lg4 + w * Lg6));
    cbce_dd h = cbce_two_prod(fh, fh); /* f^2, exact; halved below (exact) */
    double hh = 0.5 * h.hi, hl = 0.5 * h.lo;
    cbce_dd a = cbce_fast_two_sum(fh, -hh);
    cbce_dd b = cbce_two_sum(a.hi, fl); /* fl may be all there is (fh == 0) */
    double g = (2.0 * s) * (1.0 - s * (1.0 - s * (1.0 - s))); /* f/(1+f) */
    double small = (s * (hh + R) - hl) + ((fl2 - (fl + fl2) * g) - 0.5 * fl * fl);
    double rest = ((a.lo + b.lo) + small) + kd * CBCE_LN2_LO;
    /* + kd*ln2: kd*LN2_HI exact; TwoSum because either part may dominate. */
    cbce_dd k = cbce_two_sum(kd * CBCE_LN2_HI, b.hi);
    return cbce_fast_two_sum(k.hi, k.lo + rest);
}

/* Split x > 0 (normal or subnormal) as x = 2^k * m, m in [sqrt(2)/2, sqrt(2)),
 * returning k as a double and f = m - 1 (exact: Sterbenz).
 * musl's trick: subtracting the bit pattern of sqrt(2)/2 makes the exponent
 * field roll over exactly at m = sqrt(2)/2. 2^63 is added so the difference
 * stays non-negative as an unsigned integer (logical shift only); the exponent
 * becomes a double through the 2^52 bias (no int64->double conversion).
 * Subnormals are first scaled by 2^54 (a select), as in fdlibm. */
CBCE_INLINE double cbce_log_reduce(double x, double *f)
{
    const uint64_t sqrt_half = UINT64_C(0x3fe6a09e667f3bcd);
    cbce_mask sub = cbce_m_abs_lt(x, 0x1p-1022);
    double xs = cbce_blend(sub, x * 0x1p54, x);
    uint64_t tmp = cbce_asu64(xs) - sqrt_half + (UINT64_C(1) << 63);
    uint64_t mbits = (tmp & UINT64_C(0x000fffffffffffff)) + sqrt_half;
    /* exponent field of tmp is k + 2048 (<= 4095): make it the double 2^52 + k + 2048 */
    double kd = cbce_asf64(UINT64_C(0x4330000000000000) | (tmp >> 52)) - (0x1p52 + 2048.0);
    *f = cbce_asf64(mbits) - 1.0;
    return kd - cbce_blend(sub, 54.0, 0.0);
}

/* The special values of log(x) applied to the pair r computed for x > 0:
 * log(0) = -inf, log(x<0) = NaN, log(inf) = inf, log(NaN) = NaN (lo = 0). */
CBCE_INLINE cbce_dd cbce_log_dd_specials(double x, cbce_dd r)
{
    uint64_t bits = cbce_asu64(x);
    /* ok: 0 < x < inf (bit patterns of +0 < x < +inf) */
    cbce_mask sign = (uint64_t)0 - (bits >> 63);
    cbce_mask ok = ((uint64_t)0 - ((bits - UINT64_C(0x7ff0000000000000)) >> 63)) & ~sign &
                   ~cbce_m_zero(x);
    cbce_mask neg = sign & ~cbce_m_nan(x);
    double sv = cbce_blend(cbce_m_zero(x), -CBCE_INF, cbce_blend(neg, CBCE_NAN, x));
    r.hi = cbce_blend(ok, r.hi, sv);
    r.lo = cbce_blend(ok, r.lo, 0.0);
    return r;
}

/* log(x) as a double-double, specials as above. Error ~2^-59 relative. */
CBCE_INLINE cbce_dd cbce_log_dd(double x)
{
    double f;
    double kd = cbce_log_reduce(x, &f);
    return cbce_log_dd_specials(x, cbce_log1p_reduced_dd(kd, f, 0.0, 0.0));
}

/* log1p(x) for x = x.hi + x.lo >= -1, as a double-double.
 *
 * fdlibm s_log1p.c forms u = 1 + x and carries the rounding error of that sum
 * in a correction term c = (x - (u-1))/u. Here u = 1 + x is kept EXACT as a
 * TwoSum pair (uh, ul); uh = 2^k * (1 + f) is split as in log, and
 * ul*2^-k (exact: a power-of-two scaling) becomes the low part of f, which
 * cbce_log1p_reduced_dd folds in as fl/(1+f). For |x| below 2^-53, uh == 1,
 * f == 0 and the result is exactly fl = x: no cut-off branch is needed, which
 * is also why Maechler's log1pexp cut-offs ("Accurately Computing
 * log(1 - exp(-|a|))", Rmpfr vignette, 2012) are not used: they save work in
 * scalar code, but a vector loop evaluates every path anyway, and this form
 * is uniformly accurate over the whole range.
 * Specials: log1p(-1) = -inf, x < -1 -> NaN, +inf -> +inf, NaN -> NaN. */

CBCE_INLINE cbce_dd cbce_log1p_dd(cbce_dd x)
{
    cbce_dd u = cbce_two_sum(1.0, x.hi);
    double f, sc, uc, kd;
    uint64_t field;
    /* u.hi >= 2^-53 unless it is 0 (x.hi >= -1 is a multiple of 2^-53 near
     * -1), so no subnormal scaling is needed; clamp the argument of the
     * reduction so that 2^-k below stays a normal number. */
    cbce_mask ok = cbce_m_lt(0.0, u.hi) & cbce_m_lt(u.hi, 0x1p1000);
    uc = cbce_blend(ok, u.hi, 1.0);
    {
        const uint64_t sqrt_half = UINT64_C(0x3fe6a09e667f3bcd);
        uint64_t tmp = cbce_asu64(uc) - sqrt_half + (UINT64_C(1) << 63);
        field = tmp >> 52; /* k + 2048 */
        f = cbce_asf64((tmp & UINT64_C(0x000fffffffffffff)) + sqrt_half) - 1.0;
        kd = cbce_asf64(UINT64_C(0x4330000000000000) | field) - (0x1p52 + 2048.0);
    }
    /* 2^-k: biased exponent 1023 - k = 3071 - field */
    sc = cbce_asf64((UINT64_C(3071) - field) << 52);
    cbce_dd r = cbce_log1p_reduced_dd(kd, f, u.lo * sc, x.lo * sc);
    /* beyond 2^1000: ul is 0 and log(u.hi) is what the general log gives */
    cbce_dd big = cbce_log_dd(u.hi);
    r = cbce_dd_sel(ok, r, big);
    /* NaN in x.lo (not x.hi) would be lost in the selects above */
    r.hi = cbce_blend(cbce_m_nan(x.lo), x.lo, r.hi);
    return r;
}

/* log1p(e) for e = e.hi + e.lo, e.hi in [0, 1] (e = exp(-a) of the logistic
 * losses), as a normalized pair: the work of cbce_log1p_dd without what
 * this range never needs, for about half its time.
 * - u = 1 + e.hi is in [1, 2], so the reduction is one compare: k = 1 and
 *   m = u/2 above sqrt(2), else k = 0 and m = u; f = m - 1 is exact
 *   (Sterbenz) and the rounding error of u (exact by Fast2Sum, 1 >= e.hi)
 *   plus e.lo, times 2^-k, is the low part fl. No zero, subnormal, inf or
 *   beyond-2^1000 cases; NaN gives an unspecified value (callers re-select).
 * - k*LN2_HI + f is EXACT: for k = 1, f in (-0.293, 0] is a multiple of
 *   2^-53 and LN2_HI of 2^-32, and the sum, in [0.4, 0.7], is a multiple of
 *   2^-53 below 1. That plus fl (TwoSum) is the high part; the rest
 *   (fdlibm's s*(hfsq + R) - hfsq, k*LN2_LO, e.lo, and the correction of
 *   the low parts by 1/(1+f) = (1-s)/(1+s), taken as 1 - 2s(1 - s), off by
 *   2s^3 < 1% of a term below 2^-53 of the result, and -fl^2/2, half an ulp
 *   when f = 0) is at most 0.21 of the high part.
 * - f^2/2 is rounded once (as in fdlibm; the double-double log forms it
 *   exactly, which costs a Veltkamp split). Error of the pair: below 0.4
 *   ulp of the result (C test bound 0.5; f near 0.41: half an ulp of f^2/2
 *   is 1/8 ulp of the result, the roundings of s, s*(hfsq+R) and the rest
 *   add about 0.2), far less for small e, where the result is e's own
 *   pair. */
CBCE_INLINE cbce_dd cbce_log1p01_dd(cbce_dd e)
{
    const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01,
                 Lg3 = 2.857142874366239149e-01, Lg4 = 2.222219843214978396e-01,
                 Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                 Lg7 = 1.479819860511658591e-01;
    cbce_dd u = cbce_fast_two_sum(1.0, e.hi);
    cbce_mask big = cbce_m_lt(1.41421356237309514547, u.hi); /* u > sqrt(2) */
    double sc = cbce_blend(big, 0.5, 1.0), kd = cbce_blend(big, 1.0, 0.0);
    double f = u.hi * sc - 1.0;
    double fl = u.lo * sc, fl2 = e.lo * sc;
    double s = f / (2.0 + f);
    double z = s * s, w = z * z;
    double R = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7))) + w * (Lg2 + w * (Lg4 + w * Lg6));
    double hfsq = (0.5 * f) * f;
    /* hi + fl exactly: for e below 2^-53, f = 0 and (fl, fl2) is e itself */
    cbce_dd h = cbce_two_sum(kd * CBCE_LN2_HI + f, fl);
    double corr = ((2.0 * s) * (1.0 - s)) * (fl + fl2); /* (fl+fl2)*(1 - 1/(1+f)) */
    double rest = (s * (hfsq + R) - hfsq) + (kd * CBCE_LN2_LO + ((fl2 - corr) - (0.5 * fl) * fl));
    return cbce_fast_two_sum(h.hi, h.lo + rest);
}

/* log(y) for y = yh + yl, yh in [0, 1], as a normalized pair: the two logs
 * of the BCE loss, log x (yl = 0) and log(1 - x) (yh + yl = 1 - x exactly,
 * a TwoSum: x near 0 keeps its full relative accuracy). One function for
 * both, so that the one-log path of hard labels and the two-log path of
 * soft labels evaluate the same operations on the same operands.
 * - Reduction as cbce_log_reduce (subnormal yh scaled by 2^54 first; yl is
 *   0 there, since 1 - x is 0 or at least 2^-53), f exact, and yl*2^-k
 *   (exact) the low part fl of f.
 * - k*LN2_HI + f by Fast2Sum: exact for k = 0 (0 + f), and for k != 0
 *   |k*LN2_HI| >= 0.69 > |f|.
 * - The rest (fdlibm's s*(hfsq + R) - hfsq, k*LN2_LO, and fl corrected by
 *   1/(1+f) as in cbce_log1p01_dd, with its -fl^2/2, half an ulp when
 *   f = 0) is below 0.21 of the result for k = 0 and below 0.6 of
 *   k*LN2_HI + f otherwise (which is at least half the result); f^2/2 is
 *   rounded once. Error of the pair: about 0.42 ulp of the result at
 *   most (measured near 1 - x = sqrt(2)/2, where k = -1 halves the
 *   result; C test bound 0.5), the same design as cbce_log1p01_dd.
 * yh == 0 (+0 or -0) gives a finite pair near -746 instead of -inf: every
 * caller clamps the log at -100, so a select for it would be wasted work.
 * Negative, NaN or infinite yh (never passed: the BCE kernels reject them
 * first) give unspecified values. */
/* The body of cbce_log01_dd for ys a positive NORMAL double and ks the
 * power of two it was scaled by (log(ys*2^-ks + yl)): what the float64 BCE
 * kernels call directly for chunks whose inputs are all normal and below 1
 * (where cbce_log01_dd's scaling select would pass ys through with ks =
 * 0, the same operations). */
CBCE_INLINE cbce_dd cbce_log01_dd_raw_signed(double ys, double yl, double ks, double sg);

CBCE_INLINE cbce_dd cbce_log01_dd_raw(double ys, double yl, double ks)
{
    return cbce_log01_dd_raw_signed(ys, yl, ks, 1.0);
}

CBCE_INLINE cbce_dd cbce_log01_dd_normal(double ys, double yl, double ks)
{
    cbce_dd r = cbce_log01_dd_raw(ys, yl, ks);
    return cbce_fast_two_sum(r.hi, r.lo);
}

/* The same pair before its final Fast2Sum: hi = k*LN2_HI + f (rounded) and
 * lo = everything else, |lo| below 0.6 |hi| or hi = 0 (above), so that
 * hi + lo rounds to the normalized pair's hi, and a caller that only
 * needs the log rounded to double can skip the normalization.
 * Times sg = +1 or -1 (a constant): f, s, fl, corr and the constants carry
 * the sign (for sg = +1 the operations are exactly those of the log), so
 * sg = -1 costs no operation, and every nonzero intermediate, hence the
 * pair, is exactly the negation of the sg = +1 one (rounding to nearest is
 * symmetric; only zeros may differ in sign, and 2 + f, the one divisor, is
 * never 0): -log for a caller that would negate the sum. */
CBCE_INLINE cbce_dd cbce_log01_dd_raw_signed(double ys, double yl, double ks, double sg)
{
    const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01,
                 Lg3 = 2.857142874366239149e-01, Lg4 = 2.222219843214978396e-01,
                 Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                 Lg7 = 1.479819860511658591e-01;
    const uint64_t sqrt_half = UINT64_C(0x3fe6a09e667f3bcd);
    /* sg * (1 + f): the sign bit set with the integer add that builds 1 + f */
    const uint64_t sg_sqrt_half = sqrt_half | (sg < 0.0 ? UINT64_C(1) << 63 : 0);
    uint64_t tmp = cbce_asu64(ys) - sqrt_half + (UINT64_C(1) << 63);
    uint64_t field = tmp >> 52; /* k + 2048 (k of ys) */
    double f = cbce_asf64((tmp & UINT64_C(0x000fffffffffffff)) + sg_sqrt_half) - sg; /* sg*f */
    double kd = (cbce_asf64(UINT64_C(0x4330000000000000) | field) - (0x1p52 + 2048.0)) - ks;
    /* yl * 2^-k: yl is nonzero only for ys in (1/2, 1] (1 - x rounded, x < 1/2;
     * ks = 0 there), where k is -1 or 0 and 2^-k = 1 - kd; elsewhere yl = +-0
     * and 1 - kd >= 1, so fl is that zero either way (one operation fewer
     * than 2^-k from the exponent bits) */
    double fl = yl * (sg < 0.0 ? kd - 1.0 : 1.0 - kd); /* sg*fl */
    double s = f / (2.0 + sg * f);                        /* sg*s */
    double z = s * s, w = z * z;
    double R = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7))) + w * (Lg2 + w * (Lg4 + w * Lg6));
    double hfsq = (0.5 * f) * f;
    cbce_dd h = cbce_fast_two_sum(kd * (sg * CBCE_LN2_HI), f);
    double corr = ((sg * 2.0 * s) * (1.0 - sg * s)) * fl; /* sg*fl*(1 - 1/(1+f)) */
    double rest = (s * (hfsq + R) - sg * hfsq) +
                  (kd * (sg * CBCE_LN2_LO) + ((fl - corr) - (sg * 0.5 * fl) * fl));
    cbce_dd r;
    r.hi = h.hi;
    r.lo = h.lo + rest;
    return r;
}

CBCE_INLINE cbce_dd cbce_log01_dd(double yh, double yl)
{
    cbce_mask sub = cbce_m_abs_lt(yh, 0x1p-1022);
    /* + 0.0: -0 must reduce like +0 (its sign bit would read as k = 1025) */
    return cbce_log01_dd_normal(cbce_blend(sub, yh * 0x1p54 + 0.0, yh), yl,
                                cbce_blend(sub, 54.0, 0.0));
}

/* ---- exp ------------------------------------------------------------------ */

/* exp(x) as a double-double, for any x: e^x = 2^k * e^r.
 *
 * fdlibm e_exp.c (Cody-Waite reduction): k = round(x/ln2) by the 0x1.8p52
 * magic, hi = x - k*LN2_HI (exact), lo = k*LN2_LO, r = hi - lo, |r| <= ln2/2,
 * and with fdlibm's Remez polynomial P1..P5 in r^2 (error < 2^-59),
 *   c = r - r^2*(P1 + r^2*(P2 + ...)),  e^r = 1 + r + r*c/(2 - c).
 * fdlibm rounds 1 - ((lo - r*c/(2-c)) - hi); here 1 + hi is formed exactly
 * (Fast2Sum) and the small rest (lo and the r^2/2-sized quotient) is the low
 * part, so e^r is accurate to ~2^-60 relative as a pair.
 * 2^k is applied as two factors 2^k1 * 2^k2 (k1 = floor(k/2)), each a normal
 * number built from bits by unsigned shifts, so results that are subnormal
 * (x down to -745) are rounded once, and 0 below that; x is clamped to
 * [-1100, 1100] first so k stays in range, -inf gives 0 and +inf gives inf
 * (the product overflows; no select, since a select on a condition that
 * repeats the clamp's lets gcc thread jumps and the loop stops vectorizing).
 * The low part is meaningless for subnormal results (then below 2^-1074). */
CBCE_INLINE cbce_dd cbce_exp_dd_scaled_core(double xc, double *scale);

CBCE_INLINE cbce_dd cbce_exp_dd_scaled(double x, double *scale)
{
    /* |k| <= 1587 after this clamp */
    double xc = cbce_vclamp(x, -1100.0, 1100.0);
    xc = cbce_blend(cbce_m_nan(x), x, xc); /* NaN flows through to the result */
    return cbce_exp_dd_scaled_core(xc, scale);
}

CBCE_INLINE cbce_dd cbce_exp_dd_unscaled(double xc, uint64_t *kb);

/* The body of cbce_exp_dd_scaled for x already in [-1100, 1100] or NaN
 * (what the clamp leaves). */
CBCE_INLINE cbce_dd cbce_exp_dd_scaled_core(double xc, double *scale)
{
    uint64_t u;
    cbce_dd s = cbce_exp_dd_unscaled(xc, &u);
    uint64_t h = u >> 1;
    double sc1 = cbce_asf64((h - 1) << 52);     /* 2^k1, k1 = h - 1024 */
    double sc2 = cbce_asf64((u - h - 1) << 52); /* 2^k2, k2 = k - k1 */
    *scale = sc2; /* the product overflows to inf above x ~ 709.78 */
    return cbce_dd_mul_f(s, sc1); /* exact: |k1| <= 794, so this stays normal */
}

/* e^x as a pair for x in [-700, 0] (not NaN): the same value as
 * cbce_exp_dd_scaled's pair times its scale, with one factor 2^k instead
 * of two (k >= -1010: 2^k and e^x are normal, so both ways round only
 * where the low half's product is subnormal, and then once, from the
 * same exact product). */
CBCE_INLINE cbce_dd cbce_exp_dd_small(double x)
{
    uint64_t u;
    cbce_dd s = cbce_exp_dd_unscaled(x, &u);
    return cbce_dd_mul_f(s, cbce_asf64((u - 1025) << 52));
}

/* e^r as a pair, x = k*ln2 + r, and k + 2048 in *kb (no scaling) */
CBCE_INLINE cbce_dd cbce_exp_dd_unscaled(double xc, uint64_t *kb)
{
    const double P1 = 1.66666666666666019037e-01, P2 = -2.77777777770155933842e-03,
                 P3 = 6.61375632143793436117e-05, P4 = -1.65339022054652515390e-06,
                 P5 = 4.13813679705723846039e-08;
    double kr = xc * CBCE_INV_LN2 + CBCE_ROUND_MAGIC;
    uint64_t u = cbce_asu64(kr) - cbce_asu64(CBCE_ROUND_MAGIC) + 2048; /* k + 2048 */
    double kd = kr - CBCE_ROUND_MAGIC;
    double hi = xc - kd * CBCE_LN2_HI;
    double lo = kd * CBCE_LN2_LO;
    double r = hi - lo;
    double z = r * r;
    double c = r - z * (P1 + z * (P2 + z * (P3 + z * (P4 + z * P5))));
    double q = (r * c) / (2.0 - c);
    cbce_dd s = cbce_fast_two_sum(1.0, hi);
    *kb = u;
    return cbce_fast_two_sum(s.hi, s.lo + (q - lo));
}

/* exp(x) = P * scale with P a normal double-double and scale = 2^k2 a power
 * of two (above); this is the product, subnormal below x ~ -708. */
CBCE_INLINE cbce_dd cbce_exp_dd(double x)
{
    double sc;
    cbce_dd r = cbce_exp_dd_scaled(x, &sc);
    return cbce_dd_mul_f(r, sc);
}

/* ---- plain double versions (rounded once from the pairs) ------------------ */

CBCE_INLINE double cbce_vexp(double x)
{
    cbce_dd r = cbce_exp_dd(x);
    return r.hi + r.lo;
}

CBCE_INLINE double cbce_vlog(double x)
{
    cbce_dd r = cbce_log_dd(x);
    return r.hi + r.lo;
}

CBCE_INLINE double cbce_vlog1p(double x)
{
    cbce_dd a;
    a.hi = x;
    a.lo = 0.0;
    a = cbce_log1p_dd(a);
    return a.hi + a.lo;
}

/* ---- the pieces of the logistic losses, for a = |x| >= 0 ------------------ */

/* Below e^-700 (a > 700) exp(-a) may be subnormal and carry only a few
 * bits; since the caller multiplies it by weights (up to pos_weight*lw), the
 * two functions below return their value as P * scale, P a NORMAL pair and
 * scale a power of two, and the caller applies scale after its products. For
 * a > 700, log1p(e) = e*(1 - e/2 + ...) and e/(1+e) = e*(1 - e + ...) equal e
 * to 2^-1000 relative, so P = the scaled exp pair there. */
#define CBCE_TINY_EXP_ARG 700.0

/* exp(-a) for both functions below: the normal pair p with its power-of-two
 * scale sc, their product e (possibly subnormal), and a > CBCE_TINY_EXP_ARG. */
typedef struct cbce_exp_neg {
    cbce_dd p, e;
    double sc;
    cbce_mask tiny;
} cbce_exp_neg;

CBCE_INLINE cbce_exp_neg cbce_exp_neg_dd(double a)
{
    cbce_exp_neg r;
    r.p = cbce_exp_dd_scaled(-a, &r.sc);
    r.e = cbce_dd_mul_f(r.p, r.sc);
    r.tiny = cbce_m_lt(CBCE_TINY_EXP_ARG, a);
    return r;
}

/* exp(-a) for a in [0, CBCE_TINY_EXP_ARG] (not NaN): cbce_exp_neg_dd's e
 * without the clamp (nothing to clamp) and without tiny (false). */
CBCE_INLINE cbce_dd cbce_exp_neg_dd_plain(double a)
{
    return cbce_exp_dd_small(-a);
}

/* softplus(-a) = log1p(exp(-a)), a >= 0 (+inf: 0; NaN: NaN), as a pair
 * times *scale: exp(-a) in (0, 1] as a pair (~2^-60), then log1p of the
 * pair (cbce_log1p01_dd): error below 0.4 ulp of the result, for every a
 * (for large a the result is the exp pair itself). */
CBCE_INLINE cbce_dd cbce_softplus_neg_dd_scaled(double a, double *scale)
{
    cbce_exp_neg x = cbce_exp_neg_dd(a);
    cbce_dd l = cbce_log1p01_dd(x.e); /* e in (0, 1] (NaN: re-selected by callers) */
    *scale = cbce_blend(x.tiny, x.sc, 1.0);
    return cbce_dd_sel(x.tiny, x.p, l);
}

/* The same for a in [0, CBCE_TINY_EXP_ARG] (not NaN), where the scale is
 * 1: the pair alone, by the same operations. */
CBCE_INLINE cbce_dd cbce_softplus_neg_dd_plain(double a)
{
    return cbce_log1p01_dd(cbce_exp_neg_dd_plain(a));
}

CBCE_INLINE cbce_dd cbce_softplus_neg_dd(double a)
{
    double sc;
    cbce_dd r = cbce_softplus_neg_dd_scaled(a, &sc);
    return cbce_dd_mul_f(r, sc);
}

/* sigmoid(-a) = e/(1+e), e = exp(-a), a >= 0, as a pair times *scale. The
 * quotient is Dekker's div2 with one division: q1 = e*(1/d), then the exact
 * residual e - q1*d (TwoProduct) corrects it; relative error ~2^-100 on top
 * of e's. */
CBCE_INLINE cbce_dd cbce_sigmoid_neg_of_exp(cbce_dd e);

CBCE_INLINE cbce_dd cbce_sigmoid_neg_dd_scaled(double a, double *scale)
{
    cbce_exp_neg x = cbce_exp_neg_dd(a);
    cbce_dd q = cbce_sigmoid_neg_of_exp(x.e);
    *scale = cbce_blend(x.tiny, x.sc, 1.0);
    return cbce_dd_sel(x.tiny, x.p, q);
}

/* The same for a in [0, CBCE_TINY_EXP_ARG] (not NaN), where the scale is
 * 1: the pair alone, by the same operations. */
CBCE_INLINE cbce_dd cbce_sigmoid_neg_dd_plain(double a)
{
    return cbce_sigmoid_neg_of_exp(cbce_exp_neg_dd_plain(a));
}

/* e/(1+e) for the pair e = exp(-a) */
CBCE_INLINE cbce_dd cbce_sigmoid_neg_of_exp(cbce_dd e)
{
    cbce_dd d = cbce_fast_two_sum(1.0, e.hi); /* exact: e.hi <= 1 */
    d = cbce_fast_two_sum(d.hi, d.lo + e.lo);
    double rec = 1.0 / d.hi;
    double q1 = e.hi * rec;
    cbce_dd pr = cbce_two_prod(q1, d.hi);
    double res = (((e.hi - pr.hi) - pr.lo) + e.lo) - q1 * d.lo;
    return cbce_fast_two_sum(q1, res * rec);
}

CBCE_INLINE cbce_dd cbce_sigmoid_neg_dd(double a)
{
    double sc;
    cbce_dd r = cbce_sigmoid_neg_dd_scaled(a, &sc);
    return cbce_dd_mul_f(r, sc);
}

#endif /* CBCE_VMATH_H */
