/*
 * test_superacc.c -- the exact summation behind every reduction (internal
 * API of common.c): exactness, correct rounding (half to even, subnormals,
 * overflow), infinities/NaN, and identical bits for any order or split of
 * the additions (which is what makes threaded sums deterministic).
 * Prints "N passed, N failed" last.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#include "check.h"

#define RNG_SEED 88172645463325252ull
#include "rng.h"

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static double sum_of(const double *v, int n)
{
    cbce__acc acc;
    int i;
    cbce__acc_init(&acc);
    for (i = 0; i < n; i++) cbce__acc_add(&acc, v[i]);
    return cbce__acc_round(&acc);
}

static void test_rounding(void)
{
    double v[4];
    v[0] = 0x1p1000; v[1] = 1.0; v[2] = -0x1p1000;
    CHECK(sum_of(v, 3) == 1.0, "cancellation keeps the small term");
    v[0] = 1.0; v[1] = 0x1p-53;
    CHECK(sum_of(v, 2) == 1.0, "tie rounds to even (down)");
    v[0] = 1.0 + 0x1p-52; v[1] = 0x1p-53;
    CHECK(sum_of(v, 2) == 1.0 + 0x1p-51, "tie rounds to even (up)");
    v[0] = 1.0; v[1] = 0x1p-53; v[2] = 0x1p-1074;
    CHECK(sum_of(v, 3) == 1.0 + 0x1p-52, "sticky bit breaks the tie");
    v[0] = -1.0; v[1] = -0x1p-60;
    CHECK(sum_of(v, 2) == -1.0, "negative");
    v[0] = v[1] = v[2] = 0x1p-1074;
    CHECK(sum_of(v, 3) == 3 * 0x1p-1074, "subnormal");
    v[0] = 0x1p-1022; v[1] = -0x1p-1074;
    CHECK(sum_of(v, 2) == 0x1p-1022 - 0x1p-1074, "subnormal boundary");
    v[0] = DBL_MAX; v[1] = DBL_MAX;
    CHECK(sum_of(v, 2) == INFINITY, "overflow to inf");
    v[2] = -DBL_MAX;
    CHECK(sum_of(v, 3) == DBL_MAX, "no intermediate overflow");
    v[0] = DBL_MAX; v[1] = 0x1p970; /* exactly half an ulp of DBL_MAX: ties to even = inf */
    CHECK(sum_of(v, 2) == INFINITY, "round up past DBL_MAX");
    v[0] = 0.0; v[1] = -0.0;
    CHECK(sum_of(v, 2) == 0.0, "zeros");
    CHECK(sum_of(v, 0) == 0.0, "empty");
}

static void test_specials(void)
{
    double v[3] = {1.0, INFINITY, 2.0};
    CHECK(sum_of(v, 3) == INFINITY, "+inf");
    v[2] = -INFINITY;
    CHECK(sum_of(v, 3) != sum_of(v, 3), "inf - inf = NaN");
    v[1] = -INFINITY; v[2] = 1.0;
    CHECK(sum_of(v, 3) == -INFINITY, "-inf");
    v[1] = NAN;
    CHECK(sum_of(v, 3) != sum_of(v, 3), "NaN");
    {
        cbce__acc acc;
        double s[8] = {1, 2, 3, 4, 5, 6, 7, INFINITY}, c[8] = {0.5, 0, 0, 0, 0, 0, 0, NAN};
        cbce__acc_init(&acc);
        cbce__acc_add_lanes(&acc, 8, s, c);
        CHECK(cbce__acc_round(&acc) == INFINITY, "an infinite lane drops its NaN compensation");
    }
}

static void test_order_and_splits(void)
{
    enum { N = 3000 };
    static double v[N];
    cbce__acc whole, rev, a, b;
    double r0;
    int i, split, bad = 0;
    for (i = 0; i < N; i++) {
        /* 600 binades, both signs, some subnormals */
        double m = urand() + 0.5; /* draws in a fixed order (argument order is unspecified) */
        v[i] = ldexp(m, (int)(urand() * 600) - 300) * ((i % 3) ? 1 : -1);
        if (i % 97 == 0) v[i] = ldexp(urand(), -1074 + (i % 40));
    }
    cbce__acc_init(&whole);
    cbce__acc_init(&rev);
    for (i = 0; i < N; i++) cbce__acc_add(&whole, v[i]);
    for (i = N - 1; i >= 0; i--) cbce__acc_add(&rev, v[i]);
    r0 = cbce__acc_round(&whole);
    CHECK(same_bits(r0, cbce__acc_round(&rev)), "reversed order");
    for (split = 0; split <= N; split += 137) {
        cbce__acc_init(&a);
        cbce__acc_init(&b);
        for (i = 0; i < split; i++) cbce__acc_add(&a, v[i]);
        for (i = split; i < N; i++) cbce__acc_add(&b, v[i]);
        cbce__acc_merge(&b, &a);
        bad += !same_bits(r0, cbce__acc_round(&b));
    }
    CHECK(bad == 0, "%d splits differ", bad);
}

/* Correct rounding against a double-double reference on moderate ranges. */
static void test_against_dd(void)
{
    int trial, bad = 0;
    for (trial = 0; trial < 200; trial++) {
        enum { N = 500 };
        double v[N], hi = 0, lo = 0;
        int i;
        for (i = 0; i < N; i++) {
            double m = urand() + 0.5;
            int e = (int)(urand() * 30) - 15;
            double x = ldexp(m, e) * (urand() < 0.5 ? -1 : 1);
            double t = hi + x, bp = t - hi;
            lo += (hi - (t - bp)) + (x - bp);
            hi = t;
            v[i] = x;
        }
        bad += !same_bits(sum_of(v, N), hi + lo);
    }
    CHECK(bad == 0, "%d of 200 sums not correctly rounded", bad);
}

static void test_mean(void)
{
    cbce__acc acc;
    int i, bad = 0;
    cbce__acc_init(&acc);
    for (i = 0; i < 10; i++) cbce__acc_add(&acc, 0.1);
    CHECK(cbce__acc_mean(&acc, 10) == 0.1, "mean of ten 0.1 is 0.1: %.17g", cbce__acc_mean(&acc, 10));
    cbce__acc_init(&acc);
    cbce__acc_add(&acc, 1.0);
    CHECK(cbce__acc_mean(&acc, 3) == 1.0 / 3.0, "1/3");
    CHECK(cbce__acc_mean(&acc, 0) != cbce__acc_mean(&acc, 0), "mean of nothing is NaN");
    /* sum exact in double-double, mean correctly rounded: compare with
     * (hi + lo)/n computed in long double where that is exact enough */
    for (i = 1; i < 2000; i++) {
        double x = urand() * 100, y = floor(urand() * 65536) * 0x1p-56; /* x + y exact in 64 bits */
        long double ref;
        cbce__acc_init(&acc);
        cbce__acc_add(&acc, x);
        cbce__acc_add(&acc, y);
        ref = ((long double)x + (long double)y) / (long double)i;
        if (LDBL_MANT_DIG >= 64) bad += fabs(cbce__acc_mean(&acc, i) - (double)ref) > (0.5 + 0x1p-10) * ldexp(1, ilogb((double)ref) - 52);
    }
    CHECK(bad == 0, "%d means off by more than 0.5 ulp (+ the reference's own rounding)", bad);
    cbce__acc_init(&acc);
    cbce__acc_add(&acc, 6.0);
    CHECK(cbce__acc_mean(&acc, (ptrdiff_t)3 << 40) == 6.0 / ldexp(3, 40), "huge n");
}

int main(void)
{
    test_rounding();
    test_specials();
    test_order_and_splits();
    test_against_dd();
    test_mean();
    printf("%ld passed, %ld failed\n", g_pass, g_fail);
    return g_fail != 0;
}
