/*
 * test_vmath_f32.c -- sweeps of the float32 kernels' element formulas
 * (elementwise_f32.h, plain double) over float32 inputs, each value rounded
 * to float and compared with the double-double formulas of elementwise.h
 * (about 0.5 ulp of DOUBLE: as a reference for a float result its own error
 * is below 2^-28 float ulp, so the bound asserted is 1 - 2^-20 float ulp,
 * SPEC 3's 1 ulp with that margin). test_vmath.c checks both sets against
 * long double on random points.
 *
 * BCE: every float32 x in [0, 1] with step `stride` in the bit pattern (all
 * of them, 1065353217 values, with CBCE_TEST_EXHAUSTIVE=1; every 997th by
 * default), for t in {0, 1, 1/2, 1/4, 0.7f, 1e-3f, 1 - 2^-24} (loss and d/dx)
 * and once for d/dt. Logits: every float32 x with |x| <= 120 (where e^-|x|
 * still reaches the float range) with stride 8191 (16 with
 * CBCE_TEST_EXHAUSTIVE=1), and every 4099th
 * float with |x| > 120, for t in {0, 1, 0.3f} and pos_weight in {1, 0.25f,
 * 3} for loss, d/dx, d/dt. Errors of the gradients that subtract are
 * measured in ulps of the larger term (SPEC 3); here that term's magnitude
 * is bounded below by max(|result|, |first term|), which can only make the
 * measured error larger.
 * Also: the one-log BCE loss for hard labels (cbce_ew32_bce_loss_hard and
 * the float64 cbce_ew_bce_loss_hard) equals the general loss bit for bit at
 * t = 0 and t = 1 for every x of the BCE sweep (as float32 values), and so
 * do the functions for the kernels' plain inputs (*_plain, BCE and logits)
 * where x is in their range.
 * Prints the largest error per function, then "N passed, N failed".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elementwise_f32.h"

typedef struct stat {
    const char *name;
    double maxerr, worst_x, worst_t, worst_p;
    long n, bad;
} stat;

static const double bound = 1.0 - 0x1p-20;
static long hard_n, hard_bad; /* bce_loss_hard == bce_loss checks */
static long plain_n, plain_bad; /* the *_plain functions == the general ones */

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* For x in the kernels' plain ranges (CBCE_EW32_PLAIN_MIN, CBCE_EW_PLAIN_MIN
 * up to 1, exclusive) and a target t: the plain loss and d/dx are the
 * general ones bit for bit, with and without a weight (f32 and f64), and
 * for t in {0, 1} the plain hard-label loss is the hard-label one. */
/* the plain functions of one dtype and the general ones they must equal */
typedef struct plain_fns {
    double (*loss_plain)(double, double, double), (*loss)(double, double, double);
    double (*hard_plain)(double, double, double), (*hard)(double, double, double);
    double (*dx_plain)(double, double, double, double), (*dx)(double, double, double, double);
    double (*hard_plain_unit)(double, double);
} plain_fns;

static const plain_fns plain32 = {cbce_ew32_bce_loss_plain_w,      cbce_ew32_bce_loss_w,
                                  cbce_ew32_bce_loss_hard_plain_w, cbce_ew32_bce_loss_hard_w,
                                  cbce_ew32_bce_dx_plain_wg,       cbce_ew32_bce_dx_wg,
                                  cbce_ew32_bce_loss_hard_plain_unit};
static const plain_fns plain64 = {cbce_ew_bce_loss_plain_w,      cbce_ew_bce_loss_w,
                                  cbce_ew_bce_loss_hard_plain_w, cbce_ew_bce_loss_hard_w,
                                  cbce_ew_bce_dx_plain_wg,       cbce_ew_bce_dx_wg,
                                  cbce_ew_bce_loss_hard_plain_unit};

static int plain_ok(const plain_fns *f, double x, double t, double w, double g)
{
    int ok = same_bits(f->loss_plain(x, t, w), f->loss(x, t, w)) &&
             same_bits(f->dx_plain(x, t, w, g), f->dx(x, t, w, g));
    if (t == 0.0 || t == 1.0)
        ok = ok && same_bits(f->hard_plain(x, t, w), f->hard(x, t, w)) &&
             same_bits(f->hard_plain_unit(x, t), f->hard(x, t, 1.0));
    return ok;
}

static void plain_point(double x, double t)
{
    static const struct {
        const char *name;
        double min;
        const plain_fns *f;
    } dtypes[] = {{"f32", CBCE_EW32_PLAIN_MIN, &plain32}, {"f64", CBCE_EW_PLAIN_MIN, &plain64}};
    size_t i;
    for (i = 0; i < 2; i++) {
        if (!(x >= dtypes[i].min && x < 1.0)) continue;
        plain_n++;
        if (!plain_ok(dtypes[i].f, x, t, 1.0, 1.0) || !plain_ok(dtypes[i].f, x, t, 0.3711, 1.7)) {
            if (plain_bad++ < 10)
                printf("FAIL %s plain(x=%a, t=%a) differs\n", dtypes[i].name, x, t);
        }
    }
}

static float f_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ulp of |v| as a float (2^-149 in the subnormal range) */
static double ulp32(double v)
{
    uint64_t b = cbce_asu64(v) & UINT64_C(0x7fffffffffffffff);
    int e = (int)(b >> 52) - 1023; /* v normal as a double */
    if (v == 0.0 || e < -126) return 0x1p-149;
    return cbce_asf64((uint64_t)(e - 23 + 1023) << 52);
}

static double dabs(double v) { return v < 0 ? -v : v; }

/* got: the float result; ref: the double reference; unit: ulp of the scale */
static void record(stat *s, float got, double ref, double scale, double x, double t, double p)
{
    double err;
    if (ref != ref)
        err = got != got ? 0.0 : 1e30;
    else if (got != got)
        err = 1e30;
    else if ((double)got == ref)
        err = 0.0;
    else if (dabs(ref) > 0x1.fffffep127 && (double)got == (ref > 0 ? 1.0 : -1.0) * (double)(1e300 * 1e300))
        err = 0.0; /* both overflow the float range */
    else
        err = dabs((double)got - ref) / ulp32(scale);
    s->n++;
    if (err > s->maxerr) {
        s->maxerr = err;
        s->worst_x = x;
        s->worst_t = t;
        s->worst_p = p;
    }
    if (!(err <= bound)) {
        if (s->bad < 20)
            printf("FAIL %s(x=%a, t=%a, pw=%a): got %a, want %a (%.3g ulp)\n", s->name, x, t, p,
                   (double)got, ref, err);
        s->bad++;
    }
}

static void report(const stat *s)
{
    printf("  %-14s %11ld points, max %.4f float ulp at x=%.9g t=%.9g pw=%.9g\n", s->name, s->n,
           s->maxerr, s->worst_x, s->worst_t, s->worst_p);
}

static stat st[6] = {{"bce_loss", 0, 0, 0, 0, 0, 0},    {"bce_dx", 0, 0, 0, 0, 0, 0},
                     {"bce_dt", 0, 0, 0, 0, 0, 0},      {"logits_loss", 0, 0, 0, 0, 0, 0},
                     {"logits_dx", 0, 0, 0, 0, 0, 0},   {"logits_dt", 0, 0, 0, 0, 0, 0}};

static void sweep_bce(uint32_t stride)
{
    static const float ts[] = {0.0f, 1.0f, 0.5f, 0.25f, 0.7f, 1e-3f, 0x1.fffffep-1f};
    const uint32_t one = 0x3f800000u;
    uint32_t u;
    size_t j;
    for (u = 0; u <= one; u += (one - u < stride && u != one) ? one - u : stride) {
        double x = (double)f_of(u);
        cbce_dd a = cbce_ew_clamp_log(cbce_ew_logx(x)), b = cbce_ew_clamp_log(cbce_ew_log1mx(x));
        double big = dabs(a.hi) > dabs(b.hi) ? dabs(a.hi) : dabs(b.hi), ref;
        for (j = 0; j < sizeof ts / sizeof ts[0]; j++) {
            double t = (double)ts[j];
            ref = cbce_ew_bce_loss(x, t);
            record(&st[0], (float)cbce_ew32_bce_loss(x, t), ref, ref, x, t, 1);
            ref = cbce_ew_bce_dx(x, t);
            record(&st[1], (float)cbce_ew32_bce_dx(x, t), ref, ref, x, t, 1);
            plain_point(x, t);
        }
        for (j = 0; j < 2; j++) { /* the hard-label path, bit for bit (f32 and f64) */
            double h = (double)j, g32 = cbce_ew32_bce_loss(x, h), g64 = cbce_ew_bce_loss(x, h);
            hard_n++;
            if (memcmp(&g32, &(double){cbce_ew32_bce_loss_hard(x, h)}, sizeof g32) != 0 ||
                memcmp(&g64, &(double){cbce_ew_bce_loss_hard(x, h)}, sizeof g64) != 0) {
                if (hard_bad++ < 10) printf("FAIL bce_loss_hard(x=%a, t=%g) differs\n", x, h);
            }
        }
        ref = cbce_ew_bce_dt(x);
        record(&st[2], (float)cbce_ew32_bce_dt(x), ref, dabs(ref) > big ? ref : big, x, 0, 1);
        if (u == one) break;
    }
}

static void logits_point(double x)
{
    static const float ts[] = {0.0f, 1.0f, 0.3f};
    static const float ps[] = {1.0f, 0.25f, 3.0f};
    size_t i, j;
    for (j = 0; j < sizeof ps / sizeof ps[0]; j++) {
        double pw = (double)ps[j], ref, c;
        for (i = 0; i < sizeof ts / sizeof ts[0]; i++) {
            double t = (double)ts[i];
            ref = cbce_ew_logits_loss(x, t, pw);
            record(&st[3], (float)cbce_ew32_logits_loss(x, t, pw), ref, ref, x, t, pw);
            ref = cbce_ew_logits_dx(x, t, pw);
            c = x > 0 ? 1.0 - t : pw * t;
            record(&st[4], (float)cbce_ew32_logits_dx(x, t, pw), ref,
                   dabs(ref) > c ? ref : c, x, t, pw);
            if (dabs(x) <= CBCE_EW32_LOGITS_PLAIN_MAX) { /* the plain chunks' functions */
                plain_n++;
                if (!same_bits(cbce_ew32_logits_loss_plain_w(x, t, pw, 0.3711),
                               cbce_ew32_logits_loss_w(x, t, pw, 0.3711)) ||
                    !same_bits(cbce_ew32_logits_dx_plain_wg(x, t, pw, 1.0, 1.0),
                               cbce_ew32_logits_dx_wg(x, t, pw, 1.0, 1.0))) {
                    if (plain_bad++ < 10) printf("FAIL f32 logits plain(x=%a) differs\n", x);
                }
            }
        }
        ref = cbce_ew_logits_dt(x, pw);
        c = dabs(x) * (x > 0 ? 1.0 : pw);
        record(&st[5], (float)cbce_ew32_logits_dt(x, pw), ref, dabs(ref) > c ? ref : c, x, 0, pw);
    }
}

static void sweep_logits(uint32_t stride)
{
    const uint32_t lim = 0x42f00000u; /* 120.0f */
    uint32_t u;
    for (u = 0; u <= lim; u += stride) {
        logits_point((double)f_of(u));
        logits_point(-(double)f_of(u));
    }
    for (u = lim; u < 0x7f800000u; u += 4099) {
        logits_point((double)f_of(u));
        logits_point(-(double)f_of(u));
    }
}

static int check(const char *what, int ok)
{
    if (!ok) printf("FAIL %s\n", what);
    return ok;
}

/* SPEC 2.1 edge values of the float32 formulas (after rounding to float) */
static int specials(void)
{
    const double inf = CBCE_INF, nan = CBCE_NAN;
    int ok = 1;
    ok &= check("bce l(1,1) == 0", (float)cbce_ew32_bce_loss(1.0, 1.0) == 0.0f);
    ok &= check("bce l(0,0) == 0", (float)cbce_ew32_bce_loss(0.0, 0.0) == 0.0f);
    ok &= check("bce l(0,1) == 100", (float)cbce_ew32_bce_loss(0.0, 1.0) == 100.0f);
    ok &= check("bce l(1,0) == 100", (float)cbce_ew32_bce_loss(1.0, 0.0) == 100.0f);
    ok &= check("bce l(0,0.25) == 25", (float)cbce_ew32_bce_loss(0.0, 0.25) == 25.0f);
    ok &= check("bce l(2^-149,1) == 100", (float)cbce_ew32_bce_loss(0x1p-149, 1.0) == 100.0f);
    ok &= check("bce l(-0,1) == 100", (float)cbce_ew32_bce_loss(-0.0, 1.0) == 100.0f &&
                                           (float)cbce_ew32_bce_loss_hard(-0.0, 1.0) == 100.0f &&
                                           (float)cbce_ew32_bce_dt(-0.0) == 100.0f);
    ok &= check("bce l(-0,0) == 0", (float)cbce_ew32_bce_loss(-0.0, 0.0) == 0.0f &&
                                         (float)cbce_ew32_bce_loss_hard(-0.0, 0.0) == 0.0f);
    ok &= check("bce dx(0,1) == -1/eps", (float)cbce_ew32_bce_dx(0.0, 1.0) == (float)(-1.0 / (double)1e-12f));
    ok &= check("bce dx(1,1) == 0", (float)cbce_ew32_bce_dx(1.0, 1.0) == 0.0f);
    ok &= check("bce dt(0) == 100", (float)cbce_ew32_bce_dt(0.0) == 100.0f);
    ok &= check("bce dt(1) == -100", (float)cbce_ew32_bce_dt(1.0) == -100.0f);
    ok &= check("bce dt(0.5) == 0", (float)cbce_ew32_bce_dt(0.5) == 0.0f);
    ok &= check("logits l(+inf,1) == 0", (float)cbce_ew32_logits_loss(inf, 1.0, 1.0) == 0.0f);
    ok &= check("logits l(+inf,0.5) == inf", (float)cbce_ew32_logits_loss(inf, 0.5, 1.0) == (float)inf);
    ok &= check("logits l(-inf,0) == 0", (float)cbce_ew32_logits_loss(-inf, 0.0, 5.0) == 0.0f);
    ok &= check("logits l(-inf,1) == inf", (float)cbce_ew32_logits_loss(-inf, 1.0, 2.0) == (float)inf);
    ok &= check("logits l(0,t) == ln2", (float)cbce_ew32_logits_loss(0.0, 0.3, 1.0) == 0.693147182f);
    ok &= check("logits dx(+inf,t) == 1-t", (float)cbce_ew32_logits_dx(inf, 0.25, 3.0) == 0.75f);
    ok &= check("logits dx(-inf,t) == -pw*t", (float)cbce_ew32_logits_dx(-inf, 0.25, 3.0) == -0.75f);
    ok &= check("logits dx(0,0) == 0.5", (float)cbce_ew32_logits_dx(0.0, 0.0, 1.0) == 0.5f);
    ok &= check("logits dt(x,1) == -x", (float)cbce_ew32_logits_dt(3.5, 1.0) == -3.5f &&
                                            (float)cbce_ew32_logits_dt(-inf, 1.0) == (float)inf);
    ok &= check("logits dt(-inf,pw=0) == 0", (float)cbce_ew32_logits_dt(-inf, 0.0) == 0.0f);
    ok &= check("logits NaN in -> NaN",
                cbce_ew32_logits_loss(nan, 1.0, 1.0) != cbce_ew32_logits_loss(nan, 1.0, 1.0) &&
                    cbce_ew32_logits_loss(0.5, nan, 1.0) != cbce_ew32_logits_loss(0.5, nan, 1.0) &&
                    cbce_ew32_logits_loss(0.5, 0.0, nan) != cbce_ew32_logits_loss(0.5, 0.0, nan) &&
                    cbce_ew32_logits_dx(nan, 1.0, 1.0) != cbce_ew32_logits_dx(nan, 1.0, 1.0) &&
                    cbce_ew32_logits_dx(0.5, 0.5, nan) != cbce_ew32_logits_dx(0.5, 0.5, nan) &&
                    cbce_ew32_logits_dt(nan, 1.0) != cbce_ew32_logits_dt(nan, 1.0) &&
                    cbce_ew32_logits_dt(0.5, nan) != cbce_ew32_logits_dt(0.5, nan));
    return ok;
}

int main(void)
{
    const char *ex = getenv("CBCE_TEST_EXHAUSTIVE");
    int full = ex && *ex == '1';
    uint32_t stride = full ? 1u : 997u, lstride = full ? 16u : 8191u;
    long pass = 0, fail = 0;
    int i, ok = specials();
    sweep_bce(stride);
    sweep_logits(lstride);
    printf("float32 formulas vs double-double, strides %u (BCE) and %u (logits)\n"
           "(max error in float ulps, bound %.7f):\n",
           (unsigned)stride, (unsigned)lstride, bound);
    for (i = 0; i < 6; i++) {
        report(&st[i]);
        pass += st[i].n - st[i].bad;
        fail += st[i].bad;
    }
    printf("  bce_loss_hard  %11ld points bitwise equal to bce_loss (f32 and f64 formulas): %s\n",
           hard_n, hard_bad ? "NO" : "yes");
    printf("  plain          %11ld points bitwise equal to the general loss and d/dx: %s\n",
           plain_n, plain_bad ? "NO" : "yes");
    pass += ok + (hard_n - hard_bad) + (plain_n - plain_bad);
    fail += !ok + hard_bad + plain_bad;
    printf("%ld passed, %ld failed\n", pass, fail);
    return fail != 0;
}
