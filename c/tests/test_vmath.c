/*
 * test_vmath.c -- accuracy and special-value tests of c/src/vmath.h and
 * c/src/elementwise.h against an 80-bit long double reference (x86-64
 * expl/logl/log1pl: 11 more bits than double, so the reference error is
 * below 1/1000 ulp of double).
 *
 * Bounds asserted (SPEC 3):
 *   float64 results: <= 2 ulp of the exact value; for the logits gradients
 *     and the BCE target gradient (differences of two inexact terms) in ulps
 *     of the larger term's magnitude. Asserted at 2 ulp also with
 *     pos_weight != 1 (SPEC allows the caller 4 there).
 *   float32 (widen, evaluate with the float32 kernels' plain-double formulas
 *     of elementwise_f32.h, round once): <= 1 float ulp. Their exhaustive
 *     sweeps over float32 inputs are in test_vmath_f32.c.
 *   vmath exp/log/log1p: <= 1 ulp.
 * Prints the largest error found per function, then "N passed, N failed".
 * Build: gcc -std=c99 -O2 -ffp-contract=off -Ic/include -Ic/src test_vmath.c -lm
 */
#include <math.h> /* long double reference only */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elementwise_f32.h"
#include "vmath.h"

static long n_pass, n_fail;

/* ---- reference helpers ---------------------------------------------------- */

typedef long double ld;

/* ulp of a value as a double (53 bits), or as a float (24 bits) */
static ld ulp_of(ld y, int bits, int emin)
{
    int e;
    y = fabsl(y);
    if (!(y > 0) || y != y || y > 1e308L * 1e300L)
        return ldexpl(1.0L, emin);
    frexpl(y, &e); /* y = m * 2^e, m in [0.5, 1) */
    if (e - bits < emin)
        return ldexpl(1.0L, emin);
    return ldexpl(1.0L, e - bits);
}
static ld ulp64(ld y) { return ulp_of(y, 53, -1074); }
static ld ulp32(ld y) { return ulp_of(y, 24, -149); }

static ld maxl(ld a, ld b) { return a > b ? a : b; }
static ld clampl(ld v) { return v < -100.0L ? -100.0L : v; }

/* ---- bookkeeping ------------------------------------------------------------ */

typedef struct stat {
    const char *name;
    double bound;
    double maxerr;
    double worst_x, worst_t, worst_p;
} stat;

static void check_special(const char *what, int ok)
{
    if (ok) {
        n_pass++;
    } else {
        n_fail++;
        printf("FAIL %s\n", what);
    }
}

static void record_err(stat *s, ld err, double got, ld ref, double x, double t, double p)
{
    if ((double)err > s->maxerr) {
        s->maxerr = (double)err;
        s->worst_x = x;
        s->worst_t = t;
        s->worst_p = p;
    }
    if ((double)err <= s->bound) {
        n_pass++;
    } else {
        n_fail++;
        if (n_fail < 30)
            printf("FAIL %s(x=%a, t=%a, pw=%a): got %a, want %.21Lg (%.3g ulp)\n", s->name, x, t,
                   p, got, ref, (double)err);
    }
}

/* error of a pair hi + lo against ref, in double ulps of ref (fractional) */
static void record_pair(stat *s, cbce_dd v, ld ref, double x)
{
    ld err = fabsl(((ld)v.hi - ref) + (ld)v.lo) / ulp64(ref);
    record_err(s, err, v.hi, ref, x, 0, 0);
}

/* got vs reference ref, error in units of `unit` */
static void record(stat *s, double got, ld ref, ld unit, double x, double t, double p)
{
    ld err;
    if (ref != ref) {
        err = got != got ? 0.0L : 1e30L;
    } else if (got != got) {
        err = 1e30L;
    } else if (ref == (ld)got) {
        err = 0.0L;
    } else {
        err = fabsl((ld)got - ref) / unit;
    }
    record_err(s, err, got, ref, x, t, p);
}

static void report(const stat *s)
{
    printf("  %-26s max %.3f ulp (bound %.2f) at x=%.17g t=%.17g pw=%.17g\n", s->name, s->maxerr,
           s->bound, s->worst_x, s->worst_t, s->worst_p);
}

/* ---- random numbers: splitmix64, fixed seed ------------------------------ */

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);
static uint64_t rng_u64(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}
static double rng_unif(void) { return (double)(rng_u64() >> 11) * 0x1p-53; }
/* log-uniform in [lo, hi], lo > 0 */
static double rng_logunif(double lo, double hi)
{
    return (double)expl(logl(lo) + (logl(hi) - logl(lo)) * (ld)rng_unif());
}
/* a probability: log-uniform near 0, near 1, or uniform, or an edge value */
static double rng_prob(void)
{
    uint64_t k = rng_u64() % 8;
    if (k < 3)
        return rng_logunif(1e-320, 1.0);
    if (k < 5)
        return 1.0 - rng_logunif(0x1p-53, 0.5);
    if (k < 7)
        return rng_unif();
    {
        static const double edge[] = {0.0, 1.0, 0.5, 0x1p-1074, 0x1p-1022, 0x1.fffffffffffffp-1};
        return edge[rng_u64() % 6];
    }
}
static double rng_target(void)
{
    uint64_t k = rng_u64() % 6;
    if (k == 0)
        return 0.0;
    if (k == 1)
        return 1.0;
    if (k == 2)
        return rng_logunif(1e-20, 1.0);
    if (k == 3)
        return 1.0 - rng_logunif(0x1p-53, 0.5);
    return rng_unif();
}
static double rng_logit(void)
{
    uint64_t k = rng_u64() % 8;
    double s = (rng_u64() & 1) ? -1.0 : 1.0;
    if (k < 5)
        return s * rng_logunif(1e-10, 1e4);
    if (k < 7)
        return s * rng_logunif(1.0, 60.0);
    return s * rng_logunif(1e-300, 1e-10);
}
static double rng_posweight(void)
{
    uint64_t k = rng_u64() % 4;
    if (k == 0)
        return 1.0;
    if (k == 1)
        return rng_logunif(1e-3, 1e3);
    if (k == 2)
        return rng_unif() * 4.0;
    return (double)(rng_u64() % 11); /* 0, 1, ..., 10 */
}

/* ---- long double references of the element formulas ---------------------- */

static ld ref_bce_loss(ld x, ld t)
{
    return -(t * clampl(logl(x)) + (1.0L - t) * clampl(log1pl(-x)));
}
static ld ref_bce_dx(ld x, ld t)
{
    ld eps = (ld)1e-12f;
    ld d = x * (1.0L - x);
    return (x - t) / (d < eps ? eps : d);
}
/* the terms of bce_dt: returns the value, *scale = larger term magnitude */
static ld ref_bce_dt(ld x, ld *scale)
{
    ld a = clampl(logl(x)), b = clampl(log1pl(-x));
    *scale = maxl(fabsl(b - a), maxl(fabsl(a), fabsl(b)));
    return b - a;
}
static ld ref_sp(ld a) { return log1pl(expl(-a)); } /* softplus(-a) */
static ld ref_logits_loss(ld x, ld t, ld pw)
{
    ld a = fabsl(x), lw = 1.0L + (pw - 1.0L) * t, sp = ref_sp(a);
    return x > 0 ? (1.0L - t) * a + lw * sp : pw * t * a + lw * sp;
}
static ld ref_logits_dx(ld x, ld t, ld pw, ld *scale)
{
    ld a = fabsl(x), lw = 1.0L + (pw - 1.0L) * t, e = expl(-a), s = e / (1.0L + e);
    ld c = x > 0 ? 1.0L - t : pw * t;
    *scale = maxl(fabsl(c - lw * s), maxl(fabsl(c), fabsl(lw * s)));
    return x > 0 ? c - lw * s : lw * s - c;
}
static ld ref_logits_dt(ld x, ld pw, ld *scale)
{
    ld a = fabsl(x), sp = ref_sp(a);
    ld c = x > 0 ? -a : pw * a;
    *scale = maxl(fabsl(c + (pw - 1.0L) * sp), maxl(fabsl(c), fabsl((pw - 1.0L) * sp)));
    return c + (pw - 1.0L) * sp;
}

/* ---- the checks -------------------------------------------------------------- */

static stat s_exp = {"vexp", 1.0, 0, 0, 0, 0}, s_log = {"vlog", 1.0, 0, 0, 0, 0},
            s_log1p = {"vlog1p", 1.0, 0, 0, 0, 0}, s_expdd = {"exp_dd (pair)", 0.25, 0, 0, 0, 0},
            s_logdd = {"log_dd (pair)", 0.25, 0, 0, 0, 0},
            /* log1p01_dd's documented bound (vmath.h): the f64 formulas
             * that use it keep their own bounds below */
            s_spdd = {"softplus_neg_dd (pair)", 0.5, 0, 0, 0, 0},
            /* log01_dd's documented bound (vmath.h), like log1p01_dd's */
            s_log01 = {"log01_dd (pair: log x, log(1-x))", 0.5, 0, 0, 0, 0},
            s_sigdd = {"sigmoid_neg_dd (pair)", 0.25, 0, 0, 0, 0};
static stat s64[6] = {{"bce_loss f64", 2.0, 0, 0, 0, 0},    {"bce_dx f64", 2.0, 0, 0, 0, 0},
                      {"bce_dt f64", 2.0, 0, 0, 0, 0},      {"logits_loss f64", 2.0, 0, 0, 0, 0},
                      {"logits_dx f64", 2.0, 0, 0, 0, 0},   {"logits_dt f64", 2.0, 0, 0, 0, 0}};
static stat s64w[3] = {{"logits_loss f64 pw!=1", 2.0, 0, 0, 0, 0},
                       {"logits_dx f64 pw!=1", 2.0, 0, 0, 0, 0},
                       {"logits_dt f64 pw!=1", 2.0, 0, 0, 0, 0}};
static stat s32[6] = {{"bce_loss f32", 1.0, 0, 0, 0, 0},    {"bce_dx f32", 1.0, 0, 0, 0, 0},
                      {"bce_dt f32", 1.0, 0, 0, 0, 0},      {"logits_loss f32", 1.0, 0, 0, 0, 0},
                      {"logits_dx f32", 1.0, 0, 0, 0, 0},   {"logits_dt f32", 1.0, 0, 0, 0, 0}};

static void check_exp(double x)
{
    ld ref = expl((ld)x);
    cbce_dd p = cbce_exp_dd(x);
    record(&s_exp, cbce_vexp(x), ref, ulp64(ref), x, 0, 0);
    if (ref > 0x1p-960L && ref < 0x1p1023L)
        record_pair(&s_expdd, p, ref, x);
}
static void check_log(double x)
{
    ld ref = logl((ld)x);
    cbce_dd p = cbce_log_dd(x);
    record(&s_log, cbce_vlog(x), ref, ulp64(ref), x, 0, 0);
    if (x > 0 && x < 1e308 && x != 1.0)
        record_pair(&s_logdd, p, ref, x);
}
/* the BCE logs, x in [0, 1]: log x and log(1 - x) as pairs */
static void check_log01(double x)
{
    cbce_dd m = cbce_two_sum(1.0, -x);
    if (x > 0 && x < 1) {
        record_pair(&s_log01, cbce_log01_dd(x, 0.0), logl((ld)x), x);
        record_pair(&s_log01, cbce_log01_dd(m.hi, m.lo), log1pl(-(ld)x), x);
    }
}
static void check_log1p(double x)
{
    ld ref = log1pl((ld)x);
    record(&s_log1p, cbce_vlog1p(x), ref, ulp64(ref), x, 0, 0);
}
static void check_softplus_sigmoid(double a)
{
    ld e = expl(-(ld)a), sp = log1pl(e), sg = e / (1.0L + e);
    cbce_dd p = cbce_softplus_neg_dd(a), q = cbce_sigmoid_neg_dd(a);
    if (sp > 0x1p-1000L) {
        record_pair(&s_spdd, p, sp, a);
        record_pair(&s_sigdd, q, sg, a);
    }
}

static void check_bce(double x, double t)
{
    ld sc, r;
    float xf = (float)x, tf = (float)t;
    r = ref_bce_loss(x, t);
    record(&s64[0], cbce_ew_bce_loss(x, t), r, ulp64(r), x, t, 1);
    r = ref_bce_dx(x, t);
    record(&s64[1], cbce_ew_bce_dx(x, t), r, ulp64(r), x, t, 1);
    r = ref_bce_dt(x, &sc);
    record(&s64[2], cbce_ew_bce_dt(x), r, ulp64(sc), x, t, 1);
    /* the one-log loss for hard labels: the general loss bit for bit */
    {
        double g0 = cbce_ew_bce_loss(x, 0.0), h0 = cbce_ew_bce_loss_hard(x, 0.0);
        double g1 = cbce_ew_bce_loss(x, 1.0), h1 = cbce_ew_bce_loss_hard(x, 1.0);
        check_special("bce_loss_hard f64 == bce_loss", memcmp(&g0, &h0, sizeof g0) == 0 &&
                                                           memcmp(&g1, &h1, sizeof g1) == 0);
    }
    /* the same for plain x (the kernels' chunks of inputs in [2^-144, 1)) */
    if (x >= CBCE_EW_PLAIN_MIN && x < 1.0) {
        double h0 = cbce_ew_bce_loss_hard(x, 0.0), p0 = cbce_ew_bce_loss_hard_plain_unit(x, 0.0);
        double h1 = cbce_ew_bce_loss_hard(x, 1.0), p1 = cbce_ew_bce_loss_hard_plain_unit(x, 1.0);
        double g = cbce_ew_bce_loss(x, t), p = cbce_ew_bce_loss_plain_w(x, t, 1.0);
        check_special("bce_loss_hard_plain f64 == bce_loss_hard",
                      memcmp(&h0, &p0, sizeof h0) == 0 && memcmp(&h1, &p1, sizeof h1) == 0);
        check_special("bce_loss_plain f64 == bce_loss", memcmp(&g, &p, sizeof g) == 0);
    }
    /* float32 inputs, widened; the float32 kernels' formulas; one rounding */
    r = ref_bce_loss(xf, tf);
    record(&s32[0], (float)cbce_ew32_bce_loss(xf, tf), r, ulp32(r), xf, tf, 1);
    r = ref_bce_dx(xf, tf);
    record(&s32[1], (float)cbce_ew32_bce_dx(xf, tf), r, ulp32(r), xf, tf, 1);
    r = ref_bce_dt(xf, &sc);
    record(&s32[2], (float)cbce_ew32_bce_dt(xf), r, ulp32(sc), xf, tf, 1);
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* The logits functions for the kernels' plain chunks (|x| <= 700, |t| and
 * |pw| below CBCE_EW_DD_MAX for float64; |x| <= 708 for float32) give the
 * general functions' bits, with and without factors. */
static void check_logits_plain(double x, double t, double pw)
{
    static const double wg[][2] = {{1.0, 1.0}, {0.3711, 1.7}};
    const double xf = (float)x, tf = (float)t, pf = (float)pw;
    size_t i;
    for (i = 0; i < 2; i++) {
        double w = wg[i][0], g = wg[i][1];
        if (cbce_vabs(x) <= CBCE_EW_LOGITS_PLAIN_MAX && cbce_vabs(t) < CBCE_EW_DD_MAX &&
            cbce_vabs(pw) < CBCE_EW_DD_MAX)
            check_special("logits plain f64 == general",
                          same_bits(cbce_ew_logits_loss_plain_w(x, t, pw, w),
                                    cbce_ew_logits_loss_w(x, t, pw, w)) &&
                              same_bits(cbce_ew_logits_dx_plain_wg(x, t, pw, w, g),
                                        cbce_ew_logits_dx_wg(x, t, pw, w, g)));
        if (cbce_vabs(xf) <= CBCE_EW32_LOGITS_PLAIN_MAX)
            check_special("logits plain f32 == general",
                          same_bits(cbce_ew32_logits_loss_plain_w(xf, tf, pf, w),
                                    cbce_ew32_logits_loss_w(xf, tf, pf, w)) &&
                              same_bits(cbce_ew32_logits_dx_plain_wg(xf, tf, pf, w, g),
                                        cbce_ew32_logits_dx_wg(xf, tf, pf, w, g)));
    }
}

static void check_logits(double x, double t, double pw)
{
    ld sc, r;
    float xf = (float)x, tf = (float)t, pf = (float)pw;
    stat *s = pw == 1.0 ? s64 + 3 : s64w;
    r = ref_logits_loss(x, t, pw);
    record(&s[0], cbce_ew_logits_loss(x, t, pw), r, ulp64(r), x, t, pw);
    r = ref_logits_dx(x, t, pw, &sc);
    record(&s[1], cbce_ew_logits_dx(x, t, pw), r, ulp64(sc), x, t, pw);
    r = ref_logits_dt(x, pw, &sc);
    record(&s[2], cbce_ew_logits_dt(x, pw), r, ulp64(sc), x, t, pw);
    r = ref_logits_loss(xf, tf, pf);
    record(&s32[3], (float)cbce_ew32_logits_loss(xf, tf, pf), r, ulp32(r), xf, tf, pf);
    r = ref_logits_dx(xf, tf, pf, &sc);
    record(&s32[4], (float)cbce_ew32_logits_dx(xf, tf, pf), r, ulp32(sc), xf, tf, pf);
    r = ref_logits_dt(xf, pf, &sc);
    record(&s32[5], (float)cbce_ew32_logits_dt(xf, pf), r, ulp32(sc), xf, tf, pf);
    check_logits_plain(x, t, pw);
}

static int is_nan(double v) { return v != v; }
static int is_pinf(double v) { return v > 0x1.fffffffffffffp1023; }
static int is_ninf(double v) { return v < -0x1.fffffffffffffp1023; }

static void special_values(void)
{
    const double inf = CBCE_INF, nan = CBCE_NAN, eps = (double)1e-12f;
    /* vmath specials */
    check_special("exp(-inf) == 0", cbce_vexp(-inf) == 0.0);
    check_special("exp(-1e4) == 0", cbce_vexp(-1e4) == 0.0);
    check_special("exp(0) == 1", cbce_vexp(0.0) == 1.0 && cbce_vexp(-0.0) == 1.0);
    check_special("exp(-745.1) == 2^-1074", cbce_vexp(-745.1) == 0x1p-1074);
    check_special("exp(inf) == inf", is_pinf(cbce_vexp(inf)) && is_pinf(cbce_vexp(710.0)));
    check_special("exp(NaN) is NaN", is_nan(cbce_vexp(nan)));
    check_special("log(0) == -inf", is_ninf(cbce_vlog(0.0)) && is_ninf(cbce_vlog(-0.0)));
    check_special("log(1) == 0", cbce_vlog(1.0) == 0.0);
    check_special("log(inf) == inf", is_pinf(cbce_vlog(inf)));
    check_special("log(<0) is NaN", is_nan(cbce_vlog(-1.0)) && is_nan(cbce_vlog(-inf)));
    check_special("log(NaN) is NaN", is_nan(cbce_vlog(nan)));
    check_special("log1p(-1) == -inf", is_ninf(cbce_vlog1p(-1.0)));
    check_special("log1p(0) == 0", cbce_vlog1p(0.0) == 0.0);
    check_special("log1p(<-1) is NaN", is_nan(cbce_vlog1p(-1.5)) && is_nan(cbce_vlog1p(-inf)));
    check_special("log1p(inf) == inf", is_pinf(cbce_vlog1p(inf)));
    check_special("log1p(NaN) is NaN", is_nan(cbce_vlog1p(nan)));
    check_special("log1p(2^-1074) == 2^-1074", cbce_vlog1p(0x1p-1074) == 0x1p-1074);

    /* BCE edges (SPEC 2.1) */
    check_special("bce l(1,1) == 0", cbce_ew_bce_loss(1.0, 1.0) == 0.0);
    check_special("bce l(0,0) == 0", cbce_ew_bce_loss(0.0, 0.0) == 0.0);
    check_special("bce l(0,1) == 100", cbce_ew_bce_loss(0.0, 1.0) == 100.0);
    check_special("bce l(-0,1) == 100", cbce_ew_bce_loss(-0.0, 1.0) == 100.0 &&
                                            cbce_ew_bce_loss_hard(-0.0, 1.0) == 100.0);
    check_special("bce l(1,0) == 100", cbce_ew_bce_loss(1.0, 0.0) == 100.0);
    check_special("bce l(0,0.25) == 25", cbce_ew_bce_loss(0.0, 0.25) == 25.0);
    check_special("bce l(1,0.25) == 75", cbce_ew_bce_loss(1.0, 0.25) == 75.0);
    check_special("bce l(2^-1074,1) == 100", cbce_ew_bce_loss(0x1p-1074, 1.0) == 100.0);
    check_special("bce dx(0,0) == 0", cbce_ew_bce_dx(0.0, 0.0) == 0.0);
    check_special("bce dx(1,1) == 0", cbce_ew_bce_dx(1.0, 1.0) == 0.0);
    check_special("bce dx(0,1) == -1/eps", cbce_ew_bce_dx(0.0, 1.0) == -1.0 / eps);
    check_special("bce dx(1,0) == 1/eps", cbce_ew_bce_dx(1.0, 0.0) == 1.0 / eps);
    check_special("bce dt(0) == 100", cbce_ew_bce_dt(0.0) == 100.0);
    check_special("bce dt(1) == -100", cbce_ew_bce_dt(1.0) == -100.0);
    check_special("bce dt(0.5) == 0", cbce_ew_bce_dt(0.5) == 0.0);
    /* (the BCE loss and d/dt take x, t in [0, 1] only: the kernels reject
     * NaN before any math) */
    check_special("bce dx NaN in -> NaN",
                  is_nan(cbce_ew_bce_dx(nan, 0.5)) && is_nan(cbce_ew_bce_dx(0.5, nan)));
    /* out-of-range x must not crash (the value is unspecified) */
    {
        volatile double sink = cbce_ew_bce_loss(2.0, 0.5) + cbce_ew_bce_loss(-1.0, 0.5) +
                               cbce_ew_bce_dx(1e300, -1e300) + cbce_ew_bce_dt(inf) +
                               cbce_ew_bce_loss(inf, inf) + cbce_ew_bce_dx(-inf, nan);
        (void)sink;
        check_special("bce out-of-range inputs do not crash", 1);
    }

    /* logits limits (SPEC 2.1) */
    check_special("logits l(+inf,1) == 0", cbce_ew_logits_loss(inf, 1.0, 1.0) == 0.0);
    check_special("logits l(+inf,0.5) == inf", is_pinf(cbce_ew_logits_loss(inf, 0.5, 1.0)));
    check_special("logits l(+inf,0) == inf", is_pinf(cbce_ew_logits_loss(inf, 0.0, 3.0)));
    check_special("logits l(-inf,0) == 0", cbce_ew_logits_loss(-inf, 0.0, 1.0) == 0.0 &&
                                               cbce_ew_logits_loss(-inf, 0.0, 5.0) == 0.0);
    check_special("logits l(-inf,0.5) == inf", is_pinf(cbce_ew_logits_loss(-inf, 0.5, 1.0)) &&
                                                   is_pinf(cbce_ew_logits_loss(-inf, 1.0, 2.0)));
    check_special("logits l(1e300,1) == 0", cbce_ew_logits_loss(1e300, 1.0, 1.0) == 0.0);
    check_special("logits l(1e300,0) == 1e300", cbce_ew_logits_loss(1e300, 0.0, 1.0) == 1e300);
    check_special("logits l(-1e300,1,pw=2) == 2e300",
                  cbce_ew_logits_loss(-1e300, 1.0, 2.0) == 2e300);
    check_special("logits l(0,t) == ln2", cbce_ew_logits_loss(0.0, 0.3, 1.0) ==
                                              0.69314718055994530942);
    check_special("logits dx(+inf,t) == 1-t", cbce_ew_logits_dx(inf, 0.25, 3.0) == 0.75 &&
                                                  cbce_ew_logits_dx(inf, 1.0, 1.0) == 0.0);
    check_special("logits dx(-inf,t) == -pw*t", cbce_ew_logits_dx(-inf, 0.25, 3.0) == -0.75 &&
                                                    cbce_ew_logits_dx(-inf, 0.0, 1.0) == 0.0);
    check_special("logits dx(0,0) == 0.5", cbce_ew_logits_dx(0.0, 0.0, 1.0) == 0.5);
    check_special("logits dt(x,pw=1) == -x", cbce_ew_logits_dt(3.5, 1.0) == -3.5 &&
                                                 cbce_ew_logits_dt(-1e-300, 1.0) == 1e-300 &&
                                                 is_ninf(cbce_ew_logits_dt(inf, 1.0)) &&
                                                 is_pinf(cbce_ew_logits_dt(-inf, 1.0)));
    check_special("logits dt(-inf,pw=0) == 0", cbce_ew_logits_dt(-inf, 0.0) == 0.0);
    check_special("logits dt(+inf,pw=2) == -inf", is_ninf(cbce_ew_logits_dt(inf, 2.0)));
    {
        int ok = 1;
        ok &= is_nan(cbce_ew_logits_loss(nan, 0.5, 1.0)) && is_nan(cbce_ew_logits_loss(0.5, nan, 1.0));
        ok &= is_nan(cbce_ew_logits_loss(0.5, 0.5, nan)) && is_nan(cbce_ew_logits_loss(0.5, 0.0, nan));
        ok &= is_nan(cbce_ew_logits_loss(800.0, 0.0, nan)) && is_nan(cbce_ew_logits_loss(inf, 0.5, nan));
        ok &= is_nan(cbce_ew_logits_dx(nan, 0.5, 1.0)) && is_nan(cbce_ew_logits_dx(0.5, nan, 1.0));
        ok &= is_nan(cbce_ew_logits_dx(0.5, 0.5, nan)) && is_nan(cbce_ew_logits_dx(-inf, nan, 1.0));
        ok &= is_nan(cbce_ew_logits_dt(nan, 1.0)) && is_nan(cbce_ew_logits_dt(0.5, nan));
        ok &= is_nan(cbce_ew_logits_dt(800.0, nan)) && is_nan(cbce_ew_logits_loss(-inf, nan, 1.0));
        ok &= is_nan(cbce_ew_logits_loss(nan, 0.0, 1.0)) && is_nan(cbce_ew_logits_dx(nan, 1.0, 1.0));
        check_special("logits NaN in any argument -> NaN", ok);
    }
}

static void targeted_points(void)
{
    static const double probs[] = {0.0,
                                   1.0,
                                   0x1p-1074,
                                   0x1p-1060,
                                   0x1.8p-1030,
                                   0x1p-1022,
                                   0x1.fffffffffffffp-1023,
                                   1e-300,
                                   1e-44,
                                   3.7200759760208361e-44, /* ~e^-100 */
                                   3.720075976020836e-44,
                                   1e-20,
                                   1e-8,
                                   0.1,
                                   0.2928932188134524,
                                   0.2928932188134525,
                                   0.3,
                                   0.5,
                                   0.7071067811865476,
                                   0.9,
                                   1.0 - 1e-8,
                                   1.0 - 0x1p-52,
                                   0x1.fffffffffffffp-1};
    static const double targets[] = {0.0, 1.0, 0.5, 0.25, 0.1, 1e-9, 0.9, 0x1.fffffffffffffp-1, 0x1p-60};
    static const double logits[] = {0.0,   1e-300, 1e-8, 0.5,  1.0,  2.0,  17.0,  20.0, 36.0,
                                    37.0,  38.0,   40.0, 88.0, 700.0, 708.0, 709.0, 744.0, 745.0,
                                    746.0, 800.0,  1e4,  1e5,  1e30};
    static const double pws[] = {1.0, 0.0, 0.5, 2.0, 10.0, 1e-3, 1e3, 0.9999999999999999};
    size_t i, j, k;
    for (i = 0; i < sizeof probs / sizeof *probs; i++)
        for (j = 0; j < sizeof targets / sizeof *targets; j++)
            check_bce(probs[i], targets[j]);
    for (i = 0; i < sizeof logits / sizeof *logits; i++)
        for (j = 0; j < sizeof targets / sizeof *targets; j++)
            for (k = 0; k < sizeof pws / sizeof *pws; k++) {
                check_logits(logits[i], targets[j], pws[k]);
                check_logits(-logits[i], targets[j], pws[k]);
            }
    {
        /* zeros of either sign, targets outside [0, 1], negative and huge
         * pos_weights: where the plain functions drop a select */
        static const double zt[] = {0.0, -0.0, 1.0, 2.0, -1.0, 1e100, 1.0 + 0x1p-23};
        static const double zp[] = {0.0, -0.0, 1.0, -1.0, 1e100, 1e-300, 3.0};
        size_t m;
        for (i = 0; i < sizeof logits / sizeof *logits; i++)
            for (j = 0; j < sizeof zt / sizeof *zt; j++)
                for (m = 0; m < sizeof zp / sizeof *zp; m++) {
                    check_logits_plain(logits[i], zt[j], zp[m]);
                    check_logits_plain(-logits[i], zt[j], zp[m]);
                }
    }
    for (i = 0; i < sizeof logits / sizeof *logits; i++) {
        check_exp(-logits[i]);
        check_softplus_sigmoid(logits[i]);
        check_log1p(logits[i]);
    }
    for (i = 0; i < sizeof probs / sizeof *probs; i++) {
        check_log(probs[i]);
        check_log01(probs[i]);
        check_log1p(-probs[i]);
    }
}

static void sweeps(long n)
{
    long i;
    for (i = 0; i < n; i++) {
        double a = rng_logunif(1e-20, 1e4);
        check_exp(-a);
        check_exp(-rng_logunif(1e-300, 760.0));
        check_exp(rng_logunif(1e-20, 709.0));
        check_log(rng_logunif(1e-323, 1e308));
        check_log(1.0 + (rng_unif() - 0.5) * 0.01);
        check_log1p(rng_logunif(1e-300, 1e300));
        check_log1p(-rng_logunif(1e-300, 1.0));
        check_softplus_sigmoid(a);
        check_log01(rng_prob());
        check_log01(rng_unif());
        /* one draw per statement: the order in which a compiler evaluates
         * function arguments is unspecified, and the points must not depend
         * on it (gcc and clang drew different sweeps) */
        {
            double x = rng_prob(), t = rng_target(), pw;
            check_bce(x, t);
            x = rng_logit();
            t = rng_target();
            check_logits(x, t, 1.0);
            x = rng_logit();
            t = rng_target();
            pw = rng_posweight();
            check_logits(x, t, pw);
        }
    }
}

/* The bit range of the fast BCE d/dx form (CBCE_EW_DX_FAST_LO_BITS..HI_BITS)
 * accepts exactly the x in [0, 1] that cbce_ew_dx_fast_x does: at both ends
 * and their neighbours, at the edges of [0, 1], and on random points (near
 * the ends and anywhere). */
static int dx_fast_bits_agree(double x)
{
    uint64_t b = cbce_asu64(x);
    int by_bits = b >= CBCE_EW_DX_FAST_LO_BITS && b <= CBCE_EW_DX_FAST_HI_BITS;
    return by_bits == (cbce_ew_dx_fast_x(x) != 0);
}

static void check_dx_fast_bits(long n)
{
    static const uint64_t ends[2] = {CBCE_EW_DX_FAST_LO_BITS, CBCE_EW_DX_FAST_HI_BITS};
    long i, bad = 0;
    int e, d;
    check_special("dx fast bits: lo end in", cbce_ew_dx_fast_x(cbce_asf64(ends[0])) != 0);
    check_special("dx fast bits: below lo out", cbce_ew_dx_fast_x(cbce_asf64(ends[0] - 1)) == 0);
    check_special("dx fast bits: hi end in", cbce_ew_dx_fast_x(cbce_asf64(ends[1])) != 0);
    check_special("dx fast bits: above hi out", cbce_ew_dx_fast_x(cbce_asf64(ends[1] + 1)) == 0);
    check_special("dx fast bits: 0, 1/2, 1",
                  dx_fast_bits_agree(0.0) && dx_fast_bits_agree(0.5) && dx_fast_bits_agree(1.0));
    for (i = 0; i < n; i++) {
        for (e = 0; e < 2; e++) {
            d = (int)(rng_u64() % 2001) - 1000;
            bad += !dx_fast_bits_agree(cbce_asf64(ends[e] + (uint64_t)(int64_t)d));
        }
        bad += !dx_fast_bits_agree(rng_unif());
        bad += !dx_fast_bits_agree(rng_logunif(0x1p-60, 0x1p-20));
    }
    check_special("dx fast bits agree with cbce_ew_dx_fast_x on random points", bad == 0);
}

int main(int argc, char **argv)
{
    long n = 300000;
    int i;
    if (argc > 1)
        n = atol(argv[1]);
    special_values();
    targeted_points();
    check_dx_fast_bits(n);
    sweeps(n);
    printf("max errors (float64 in double ulps, float32 in float ulps; pairs: error of hi+lo):\n");
    report(&s_exp);
    report(&s_log);
    report(&s_log1p);
    report(&s_expdd);
    report(&s_logdd);
    report(&s_spdd);
    report(&s_log01);
    report(&s_sigdd);
    for (i = 0; i < 6; i++)
        report(&s64[i]);
    for (i = 0; i < 3; i++)
        report(&s64w[i]);
    for (i = 0; i < 6; i++)
        report(&s32[i]);
    printf("%ld passed, %ld failed\n", n_pass, n_fail);
    return n_fail != 0;
}
