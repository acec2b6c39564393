/*
 * rng.h -- the C tests' random numbers: Marsaglia's xorshift64 (2003), the
 * same sequence on every compiler and platform (no rand(), whose sequence is
 * the C library's). A test defines RNG_SEED (nonzero) before including it;
 * tests that need several streams reseed g_rng.
 */
#ifndef CBCE_TEST_RNG_H
#define CBCE_TEST_RNG_H

static unsigned long long g_rng = RNG_SEED;

static unsigned long long next_u64(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

/* [0, 1), a multiple of 2^-53: exact */
static double urand(void) { return (double)(next_u64() >> 11) * 0x1p-53; }

#endif
