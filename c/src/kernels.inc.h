/*
 * kernels.inc.h -- every cbce loop, written once.
 *
 * Included (by isa_template.h) once per kernel dtype with
 *   CBCE_T      float | double     the element type of all operands
 *   CBCE_TS     f32   | f64        the name suffix
 *   CBCE_IS_F64 0     | 1
 * inside a translation unit compiled with one ISA's flags (isa_*.c); the
 * pattern is PyWavelets' templating.h. No include guard on purpose; the
 * dtype-independent helpers below have their own.
 *
 * Design (why it looks like this)
 * -------------------------------
 * - Elements are visited in the logical C order of the coalesced layout, in
 *   chunks of CBCE__CHUNK elements. Each chunk is first GATHERED from any
 *   strides into small contiguous buffers (input and target as stored; the
 *   factors widened to double, exactly), or read in place where the chunk is
 *   one contiguous run (input and target always, factors for float64); the
 *   math runs over them in branch-free loops that the compiler vectorizes at
 *   every ISA level, widening input and target as it reads them, and the
 *   results are SCATTERED back rounded once to the kernel dtype.
 *   All math of a chunk before its scatter is what makes in-place calls
 *   (output view == input view) correct. An output that is flat and shares
 *   no memory with any other operand (cbce__layout.direct: every output
 *   cbce allocates) is written by the math loops themselves instead, with
 *   the same values: the gradients (rounded to the dtype in the loop) and
 *   the float64 losses of reduction NONE -- no buffer, no copy.
 * - Absent operands are constant buffers filled once per call (1 for weight
 *   and pos_weight; the scalar gradient scale), so the math loop has no
 *   per-element branches and no per-element indirect calls.
 * - Reductions: chunks divide CBCE_SUM_BLOCK, so a block is a whole number of
 *   chunks. Inside a block, lane accumulators (lane = logical index mod 32
 *   for float32, mod 8 for float64: internal.h) sum the losses exactly as
 *   reduction NONE would return them (float32: the float-rounded values,
 *   summed in double; float64: Neumaier's compensated sum per lane). Block
 *   results enter an exact superaccumulator, so the final sum depends on the
 *   values in logical order only -- not on strides, ISA level (vector width)
 *   or a split at block boundaries.
 * - The BCE range check runs on the raw (unsmoothed) values of each chunk
 *   before anything of that chunk is written; on failure a scalar rescan of
 *   the chunk reports the first offending element in logical order (its
 *   input checked before its target), so the status never depends on layout.
 * - Each chunk takes the shortest loop its values allow (pick_loop): hard
 *   labels (BCE: one log), unit factors (weights and pos_weights all 1),
 *   and "plain" operands, where the element functions need none of their
 *   selects for edge values (BCE: x in [2^-29, 1) for float32, [2^-144, 1)
 *   for float64, found by the range check; logits: |x| <= 708 resp. 700,
 *   and float64 t and pw below 2^480, one more integer pass). Every loop
 *   gives each element the same bits (elementwise*.h says why for each
 *   function; c/tests and tests/test_values.py check it), so the choice
 *   per chunk changes speed only, never a value.
 */

#ifndef CBCE__KERNELS_COMMON
#define CBCE__KERNELS_COMMON

#if !defined(__STDC_VERSION__) || __STDC_VERSION__ < 199901L
#define restrict
#endif

/* Chunk length: divides CBCE_SUM_BLOCK and is a multiple of the lane counts.
 * The buffers of run() (double: 2 KiB each, at most 10 of them, about 4 in
 * use for a plain call; input and target of the dtype when not read in
 * place) stay in a 32 KiB L1 data cache next to the chunks being read and
 * written (512, then 28 KiB, was measured 10-30% slower on the float32
 * cases of bench_kernels). The chunk length changes no value (lanes and
 * blocks follow the logical index). */
#define CBCE__CHUNK 256

/* No software prefetch: the loops stream input and target from the
 * caller's arrays, which the hardware prefetcher follows (prefetching the
 * next chunk, which helped when every chunk was first copied into
 * buffers, measured 2-14% slower since, at 10^6 and 10^7 elements). */

/* For the rarely busy factor loops below: inlined into run(), they changed
 * gcc 12's code for the math loops there (AVX-512 float64 BCE mean 11%
 * slower with no weight at all, when the loops do not even run). */
#if defined(__GNUC__) || defined(__clang__)
#define CBCE__NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define CBCE__NOINLINE __declspec(noinline)
#else
#define CBCE__NOINLINE
#endif

#define CBCE__CAT2(a, b) a##_##b
#define CBCE__CAT(a, b) CBCE__CAT2(a, b)

static void mul_loop(ptrdiff_t n, const double *restrict g, double c, double *restrict out)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++) out[i] = g[i] * c;
}

static void fill_loop(ptrdiff_t n, double v, double *restrict out)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++) out[i] = v;
}

/* The float64 element functions take weight and gradient factors only
 * below CBCE_EW_FACTOR_MAX (elementwise.h); others (huge, inf, NaN) go in
 * as 1 and are applied to the rounded result, in the order v * w, then g.
 * A chunk is checked once (integer bit test, vectorized); only chunks with
 * such a factor pay for the two extra passes, so the element loops carry
 * no per-element selects for it.
 * factors_big_loop: nonzero when some |f| >= CBCE_EW_FACTOR_MAX or NaN
 * (|f|bits - limit does not wrap below 2^63 exactly then). */
CBCE__NOINLINE static int factors_big_loop(ptrdiff_t n, const double *restrict f)
{
    const uint64_t abs = UINT64_C(0x7fffffffffffffff), lim = cbce_asu64(CBCE_EW_FACTOR_MAX);
    ptrdiff_t i;
    uint64_t big = 0;
    for (i = 0; i < n; i++) big |= ~((cbce_asu64(f[i]) & abs) - lim);
    return (int)(big >> 63);
}

/* Nonzero when every f[i] is exactly 1 (the bits of 1.0). */
CBCE__NOINLINE static int all_ones_loop(ptrdiff_t n, const double *restrict f)
{
    const uint64_t one = UINT64_C(0x3ff0000000000000);
    ptrdiff_t i;
    uint64_t diff = 0;
    for (i = 0; i < n; i++) diff |= cbce_asu64(f[i]) ^ one;
    return diff == 0;
}

/* in[i] = f[i] where it goes into the element function, else 1 */
CBCE__NOINLINE static void factor_in_loop(ptrdiff_t n, const double *restrict f, double *restrict in)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++) in[i] = cbce_blend(cbce_m_abs_lt(f[i], CBCE_EW_FACTOR_MAX), f[i], 1.0);
}

/* v[i] *= f[i] where f[i] went in as 1 */
CBCE__NOINLINE static void factor_out_loop(ptrdiff_t n, const double *restrict f, double *restrict v)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++)
        v[i] = v[i] * cbce_blend(cbce_m_abs_lt(f[i], CBCE_EW_FACTOR_MAX), 1.0, f[i]);
}

/* Lane sums of one chunk for float32 kernels (n is a multiple of the 32
 * lanes; the caller pads with 0): each value rounded to float first (exactly
 * the value reduction NONE returns), summed in double. */
static void lanes_f32(ptrdiff_t n, const double *restrict v, double *restrict s)
{
    ptrdiff_t j;
    int l;
    for (j = 0; j < n; j += CBCE__LANES_F32) {
        for (l = 0; l < CBCE__LANES_F32; l++) s[l] += (double)(float)v[j + l];
    }
}

/* Compensated sum per lane (Neumaier 1974): each addition's rounding error
 * goes into the lane's compensation c. The error is Knuth's TwoSum, exact
 * for any order of magnitudes and branch-free: the same error terms as
 * Neumaier's |a| >= |b| test picks (both are exact), in 6 operations
 * instead of ~10 with the magnitude test as bit masks (c/bench/bench_kernels
 * 1e6, avx512, benchmarks/results/2026-12-07-xeon-c-kernels-lanes.txt:
 * float64 BCE mean 1.942 -> 1.876 ns). While a + b is finite, no step of TwoSum
 * overflows; when it is not, or an operand is NaN, the lane sum is
 * non-finite and cbce__acc_add_lanes drops its compensation, as before. */
#if defined(__GNUC__) || defined(__clang__)
/* With gcc and clang, as a vector of the 8 lanes (GNU vector extension).
 * Written as the loop below, gcc 12 may keep s[] and c[] in scalar
 * registers across the groups and form the eight sums a + b with scalar
 * adds and shuffles, inlined into run() or not, depending on unrelated
 * code in the file: a shorter range check (an experiment, not kept) made
 * every float64 mean 13-30% slower that way. The vector type is lowered
 * to the target's widest vectors (four SSE2 or two AVX2 operations per
 * group), each lane doing the same IEEE operations in the same order as
 * the loop: the same bits (c/tests/test_known_answers). */
typedef double cbce__lanes_v __attribute__((vector_size(CBCE__LANES_F64 * sizeof(double))));

static void lanes_neumaier(ptrdiff_t n, const double *restrict v, double *restrict s,
                           double *restrict c)
{
    cbce__lanes_v a, b, sum, bb, comp;
    ptrdiff_t j;
    memcpy(&a, s, sizeof a);
    memcpy(&comp, c, sizeof comp);
    for (j = 0; j < n; j += CBCE__LANES_F64) {
        memcpy(&b, v + j, sizeof b);
        sum = a + b;
        bb = sum - a;
        comp += (a - (sum - bb)) + (b - bb);
        a = sum;
    }
    memcpy(s, &a, sizeof a);
    memcpy(c, &comp, sizeof comp);
}
#else
static void lanes_neumaier(ptrdiff_t n, const double *restrict v, double *restrict s,
                           double *restrict c)
{
    /* The accumulators stay in s[] and c[] (restrict: no aliasing with v),
     * so the l loop is a plain 8-wide vector loop (load, update, store per
     * group); copies in locals get split into scalar registers and then
     * shuffled in and out of vectors on every group. */
    ptrdiff_t j;
    int l;
    for (j = 0; j < n; j += CBCE__LANES_F64) {
        for (l = 0; l < CBCE__LANES_F64; l++) {
            double a = s[l], b = v[j + l], sum = a + b, bb = sum - a;
            c[l] += (a - (sum - bb)) + (b - bb);
            s[l] = sum;
        }
    }
}
#endif

/* which forms of the BCE d/dx a chunk needs (dx_forms) */
enum { DX_MIXED, DX_SOFT, DX_FAST };

#endif /* CBCE__KERNELS_COMMON */

/* ---- Per-dtype part ---------------------------------------------------- */

#define FN(name) CBCE__CAT(name, CBCE_TS)
#define LANES (CBCE_IS_F64 ? CBCE__LANES_F64 : CBCE__LANES_F32) /* of a block sum */

/* ---- The BCE range check, on the values as stored (float32: 16 lanes) -- */

#if CBCE_IS_F64
typedef uint64_t FN(bits);
#define ONE_BITS UINT64_C(0x3ff0000000000000)
#define DX_FAST_LO_BITS CBCE_EW_DX_FAST_LO_BITS
#define DX_FAST_HI_BITS CBCE_EW_DX_FAST_HI_BITS
#define PLAIN_MIN_BITS (cbce_asu64(CBCE_EW_PLAIN_MIN))
#define LOGITS_PLAIN_MAX CBCE_EW_LOGITS_PLAIN_MAX
#define SIGN_SHIFT 63
#else
typedef uint32_t FN(bits);
#define ONE_BITS UINT32_C(0x3f800000)
#define DX_FAST_LO_BITS 0 /* float32 has one d/dx form (never want_dx) */
#define DX_FAST_HI_BITS 0
#define PLAIN_MIN_BITS (FN(bits_of)((float)CBCE_EW32_PLAIN_MIN))
#define LOGITS_PLAIN_MAX CBCE_EW32_LOGITS_PLAIN_MAX
#define SIGN_SHIFT 31
#endif

CBCE_INLINE FN(bits) FN(bits_of)(CBCE_T v)
{
    FN(bits) b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* Nonzero sign bit when v is NaN or outside [0, 1]. Integer bit tests, so
 * that it vectorizes at SSE2 as well (a comparison turned into an int does
 * not): v + 0 turns -0 into +0 (valid, like every v in [0, 1]); then v is
 * valid exactly when its bit pattern bv, as an unsigned integer, is at most
 * that of 1. The sign bit of bv | (bits(1) - bv) is set otherwise: by bv
 * for every negative v (-NaN and -inf included), by the wrapped difference
 * for +NaN, +inf and everything else above 1 (0 < bv - bits(1) < half the
 * range). */
CBCE_INLINE FN(bits) FN(range_bits)(CBCE_T v)
{
    FN(bits) bv = FN(bits_of)(v + (CBCE_T)0);
    return bv | (ONE_BITS - bv);
}

/* Zero exactly for t in {0, 1} (given t in [0, 1]): t + 0 turns -0 into
 * +0 (the same sum as range_bits', which the compiler shares), and then
 * t*(1-t) is +0 exactly for t in {0, 1} (both factors are >= +0), and
 * nonzero otherwise (it never underflows to 0: t >= the smallest subnormal
 * makes 1 - t round to 1, t < 1 makes 1 - t >= 2^-53 resp. 2^-24). */
CBCE_INLINE FN(bits) FN(soft_bits)(CBCE_T t)
{
    t = t + (CBCE_T)0;
    return FN(bits_of)(t * ((CBCE_T)1 - t));
}

/* Sign bit set exactly for t in {0, 1} (soft_bits is +0 there and a
 * positive pattern otherwise, for t in [0, 1]): ORed over a chunk, whether
 * some target is hard. */
CBCE_INLINE FN(bits) FN(hard_sign)(CBCE_T t)
{
    return FN(soft_bits)(t) - 1;
}

/* Nonzero when some x or t is NaN or outside [0, 1]: one OR per element,
 * the sign bit tested once per chunk. *hard is set to 1 when, besides,
 * every t is 0 or 1 (hard labels), *any_hard when some t is and *fast_x
 * when every x is in the range of the float64 fast d/dx form
 * (CBCE_EW_DX_FAST_LO_BITS..HI_BITS; both only if want_dx, else 0: for
 * dx_forms), and *plain when every x is in
 * [PLAIN_MIN, 1), where the element functions need no clamp and no care
 * for tiny x or zeros (the *_plain functions). x is tested for that range
 * first, with the integer bits as for range_bits: the sign bit of
 * (bx - bits(PLAIN_MIN)) | (bits(1) - 1 - bx) is set exactly when bx is
 * outside [bits(PLAIN_MIN), bits(1) - 1] (below: the first difference
 * wraps; above, up to half the range past it: the second; beyond: the
 * first again), which -0, negatives and NaN are; only a chunk with such an
 * x is scanned again for x outside [0, 1]. */
CBCE_INLINE int FN(range_bad_loop)(ptrdiff_t n, const CBCE_T *restrict x,
                                   const CBCE_T *restrict t, int want_dx, int *hard,
                                   int *any_hard, int *fast_x, int *plain)
{
    const FN(bits) lo = PLAIN_MIN_BITS;
    ptrdiff_t i;
    FN(bits) bad = 0, soft = 0, edge = 0, hard_one = 0, slow = ~(FN(bits))0;
    if (want_dx) slow = 0;
    for (i = 0; i < n; i++) {
        FN(bits) bx = FN(bits_of)(x[i]), st = FN(soft_bits)(t[i]);
        edge |= (bx - lo) | (ONE_BITS - 1 - bx);
        bad |= FN(range_bits)(t[i]);
        soft |= st;
        if (want_dx) { /* a constant at each call: no cost to the other loops */
            hard_one |= st - 1; /* FN(hard_sign), sharing st */
            slow |= (bx - DX_FAST_LO_BITS) | (DX_FAST_HI_BITS - bx); /* as edge */
        }
    }
    *hard = soft == 0;
    *any_hard = (int)(hard_one >> SIGN_SHIFT);
    *fast_x = (int)(slow >> SIGN_SHIFT) == 0;
    *plain = (int)(edge >> SIGN_SHIFT) == 0;
    if (!*plain) {
        for (i = 0; i < n; i++) bad |= FN(range_bits)(x[i]);
    }
    return (int)(bad >> SIGN_SHIFT);
}

/* Nonzero when the chunk is plain for the logits kernels (elementwise*.h):
 * every |x| <= LOGITS_PLAIN_MAX (not NaN) and, for float64, every |t| and
 * |pw| (pw NULL: all 1) below CBCE_EW_DD_MAX (not NaN). The integer bits
 * of |v| against the bound's, by the sign bit of their difference, as
 * above; x alone decides for float32, whose formulas check nothing else. */
static int FN(logits_plain_loop)(ptrdiff_t n, const CBCE_T *restrict x, const CBCE_T *restrict t,
                                 const double *restrict pw)
{
    const FN(bits) abs = ~(FN(bits))0 >> 1, xmax = FN(bits_of)((CBCE_T)LOGITS_PLAIN_MAX);
    ptrdiff_t i;
    FN(bits) edge = 0;
    for (i = 0; i < n; i++) edge |= xmax - (FN(bits_of)(x[i]) & abs);
#if CBCE_IS_F64
    {
        const uint64_t vmax = cbce_asu64(CBCE_EW_DD_MAX) - 1;
        for (i = 0; i < n; i++) edge |= vmax - (FN(bits_of)(t[i]) & abs);
        if (pw) {
            for (i = 0; i < n; i++) edge |= vmax - (cbce_asu64(pw[i]) & abs);
        }
    }
#else
    (void)t, (void)pw;
#endif
    return (int)(edge >> SIGN_SHIFT) == 0;
}

/* For the BCE d/dx of a chunk (EW(bce_dx_wg)): DX_FAST when every element
 * takes the fast form (hard_unit: hard labels and unit weights; then every
 * x in range: fast_x from range_bad_loop), DX_SOFT when none can (no target
 * is 0 or 1: any_hard from range_bad_loop, or, for smoothed targets t', the
 * same test on t'), else DX_MIXED. float32 has one form (DX_MIXED). */
static int FN(dx_forms)(int want, int hard_unit, int any_hard, int fast_x, int smoothed,
                        ptrdiff_t n, const CBCE_T *restrict t)
{
#if CBCE_IS_F64
    ptrdiff_t i;
    uint64_t acc = 0;
    if (!want) return DX_MIXED;
    if (hard_unit) return fast_x ? DX_FAST : DX_MIXED;
    if (smoothed) {
        for (i = 0; i < n; i++) acc |= FN(hard_sign)(t[i]);
        any_hard = (int)(acc >> SIGN_SHIFT);
    }
    return any_hard ? DX_MIXED : DX_SOFT;
#else
    (void)want, (void)hard_unit, (void)any_hard, (void)fast_x, (void)smoothed, (void)n, (void)t;
    return DX_MIXED;
#endif
}

#undef ONE_BITS
#undef DX_FAST_LO_BITS
#undef DX_FAST_HI_BITS
#undef PLAIN_MIN_BITS
#undef LOGITS_PLAIN_MAX
#undef SIGN_SHIFT

/* The status of the first offending element (rare path, scalar). */
static int FN(range_first_bad)(ptrdiff_t n, const CBCE_T *x, const CBCE_T *t)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++) {
        if (!(x[i] >= 0 && x[i] <= 1)) return CBCE_INPUT_OUT_OF_RANGE;
        if (!(t[i] >= 0 && t[i] <= 1)) return CBCE_TARGET_OUT_OF_RANGE;
    }
    return CBCE_OK;
}

/* t' = t*a + b in double: the smoothed targets of a chunk, formed only when
 * label smoothing is on (a = 1, b = 0 leave t as it is, and the math loops
 * read it as stored). */
static void FN(smooth_loop)(ptrdiff_t n, const CBCE_T *restrict t, double a, double b,
                            double *restrict out)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++) out[i] = (double)t[i] * a + b;
}

/* ---- Math loops over one chunk (one set per dtype) ---------------------- */
/* EW(f) is the element function f of this dtype: cbce_ew_f (elementwise.h,
 * double-double, ~0.5 ulp of double) for float64, cbce_ew32_f
 * (elementwise_f32.h, plain double, enough for one rounding to float) for
 * float32. t holds the smoothed targets t' (smooth_loop) when s != 0.
 * The weight w (losses) and w, g (gradients) are passed in (the *_w, *_wg
 * forms): float64 multiplies the unrounded pair by them and rounds once, so
 * a result that is subnormal before scaling keeps its precision (factors
 * beyond CBCE_EW_FACTOR_MAX go in as 1 and are applied after: run());
 * float32 applies them to the double as w * v and (v * w) * g.
 * The fused loops call the loss and the gradient function in one iteration:
 * both evaluate the same core, which the compiler computes once, and the
 * values are the separate loops' values bit for bit. */
#if CBCE_IS_F64
#define EW(name) cbce_ew_##name
#else
#define EW(name) cbce_ew32_##name
#endif

/* One math loop per combination of element functions, all with the same
 * parameters (the driver picks one per chunk: pick_loop), written once by
 * MATH_LOOP: LOSS and GRAD are the expressions stored in out[i] and gout[i]
 * (either may be left out), in terms of xi = x[i], tt = t'[i] and the
 * factors. x and t are read as stored (float32 widened here, exactly; no
 * gather buffer in between); with label smoothing, float32 kernels pass
 * the double t' in ts (float64 kernels pass their t' buffer as t, and ts
 * NULL), so a float32 loop body is compiled for both sources of tt.
 * Buffers a loop does not use are passed anyway and not read. */
/* Streams: a math loop computes 2 elements of its chunk in one iteration,
 * n/2 apart (MATH_LOOP_4, the logits losses: 4, n/4 apart). One element's
 * chain of dependent operations (exp, divisions, log, pairs) is longer than
 * the out-of-order window can overlap from one iteration to the next;
 * independent chains in one iteration, interleaved by gcc's scheduler
 * (isa_template.h), keep more of the FP units busy. Each element still gets
 * the same operations, so the same bits. c/bench/bench_kernels 1e6 on AMD
 * EPYC (Zen 4), best of 7 interleaved rounds (benchmarks/results/
 * 2026-12-07-epyc-c-kernels-two-streams.txt, -four-streams.txt): 2 streams
 * make BCE with logits 8-26% faster (avx512, avx2, sse2) and BCE 0-12%;
 * either the streams or the scheduler alone gains nothing. 4 streams make
 * the logits losses a further 10-13% (avx512) and 18-23% (avx2, sse2) faster,
 * but not the rest: gcc leaves 4-stream fused loops unvectorized (4x slower;
 * their 2 outputs x 4 streams need more runtime overlap checks than gcc's
 * vect-max-version-for-alias-checks allows; with that raised, the float64
 * BCE fused loop vectorized but was still slower than with 2 streams, in a
 * run that was not kept), the gradient-only loops lost 3-8% at avx512, and
 * the float64 BCE loss 2-5% there. The fused logits loop of plain chunks
 * with unit factors (loss and d/dx, the default call) takes 4 streams with
 * `#pragma GCC ivdep` (MATH_LOOP_4_FUSED): no element is read after another
 * is written (every store goes to out or gout, restrict, each index once),
 * so the runtime overlap checks can go, and gcc vectorizes it: logits
 * value_and_grad 7-15% faster (float32) and 3-13% (float64) than with 2
 * streams at avx512, avx2 and sse2 (bench_kernels 1e6; benchmarks/results/
 * 2026-12-07-epyc-c-kernels-fused-ivdep.txt). The weighted fused loops,
 * whose pair arithmetic is bigger, were 3-16% slower that way (through
 * Python, benchmarks/rows.py, pos_weight), and ivdep on every loop made the
 * float32 logits mean 2.6% slower: so it is only there. */
#if defined(__GNUC__) && !defined(__clang__)
#define CBCE__IVDEP _Pragma("GCC ivdep")
#else
#define CBCE__IVDEP
#endif
#define MATH_AT(i0, tt_of_i, body)                                                         \
    {                                                                                      \
        ptrdiff_t i = (i0);                                                                \
        double xi = (double)x[i], tt = tt_of_i;                                            \
        (void)tt;                                                                          \
        body                                                                               \
    }
/* k streams per iteration (elements j + s*h, s < k, h = n/k), then the n
 * mod k elements left over (for k = 2 as an if: a loop there measured 2-3%
 * slower, f64 BCE mean and f32 logits mean at avx512) */
#define MATH_STREAMS_2(j, h, tt_of_i, body)                                                \
    MATH_AT(j, tt_of_i, body)                                                              \
    MATH_AT(j + h, tt_of_i, body)
#define MATH_STREAMS_4(j, h, tt_of_i, body)                                                \
    MATH_STREAMS_2(j, h, tt_of_i, body)                                                    \
    MATH_AT(j + 2 * h, tt_of_i, body)                                                      \
    MATH_AT(j + 3 * h, tt_of_i, body)
#define MATH_TAIL_2(tt_of_i, body)                                                         \
    if (n & 1) MATH_AT(n - 1, tt_of_i, body)
#define MATH_TAIL_4(tt_of_i, body)                                                         \
    for (j = 4 * h; j < n; j++) MATH_AT(j, tt_of_i, body)
#define MATH_FOR_K(k, ivdep, tt_of_i, body)                                                \
    {                                                                                      \
        ptrdiff_t h = n / k, j;                                                            \
        ivdep for (j = 0; j < h; j++) {                                                    \
            MATH_STREAMS_##k(j, h, tt_of_i, body)                                          \
        }                                                                                  \
        MATH_TAIL_##k(tt_of_i, body)                                                       \
    }
#if CBCE_IS_F64
#define MATH_FOR_T(k, ivdep, body) MATH_FOR_K(k, ivdep, (double)t[i], body)
#else
#define MATH_FOR_T(k, ivdep, body)                                                         \
    if (ts) {                                                                              \
        MATH_FOR_K(k, ivdep, ts[i], body)                                                  \
    } else {                                                                               \
        MATH_FOR_K(k, ivdep, (double)t[i], body)                                           \
    }
#endif
#define MATH_LOOP_K(name, k, ivdep, body)                                                  \
    static void FN(name)(ptrdiff_t n, const CBCE_T *restrict x, const CBCE_T *restrict t,  \
                         const double *restrict ts, const double *restrict w,              \
                         const double *restrict pw, const double *restrict g,              \
                         double *restrict out, CBCE_T *restrict gout)                      \
    {                                                                                      \
        (void)ts, (void)w, (void)pw, (void)g, (void)out, (void)gout;                       \
        MATH_FOR_T(k, ivdep, body)                                                         \
    }
#define MATH_LOOP(name, body) MATH_LOOP_K(name, 2, , body)
#define MATH_LOOP_4(name, body) MATH_LOOP_K(name, 4, , body)
#define MATH_LOOP_4_FUSED(name, body) MATH_LOOP_K(name, 4, CBCE__IVDEP, body)
#define LOSS(e) out[i] = (e);
#define GRAD(e) gout[i] = (CBCE_T)(e);

MATH_LOOP(bce_loss_loop, LOSS(EW(bce_loss_w)(xi, tt, w[i])))
MATH_LOOP(bce_dx_loop, GRAD(EW(bce_dx_wg)(xi, tt, w[i], g[i])))
MATH_LOOP(bce_dx_unit_loop, GRAD(EW(bce_dx_wg)(xi, tt, 1.0, g[i])))
MATH_LOOP(bce_dt_loop, GRAD((EW(bce_dt)(xi) * w[i]) * g[i]))
MATH_LOOP(bce_loss_dx_loop,
          LOSS(EW(bce_loss_w)(xi, tt, w[i])) GRAD(EW(bce_dx_wg)(xi, tt, w[i], g[i])))
MATH_LOOP(bce_loss_dt_loop,
          LOSS(EW(bce_loss_w)(xi, tt, w[i])) GRAD((EW(bce_dt)(xi) * w[i]) * g[i]))
/* chunks of hard labels without smoothing (a = 1, b = 0): one log per
 * element, the same values (EW(bce_loss_hard_w)); "unit": whose weights
 * are all 1 (or absent), w = 1 folded */
MATH_LOOP(bce_loss_hard_loop, LOSS(EW(bce_loss_hard_w)(xi, tt, w[i])))
MATH_LOOP(bce_loss_hard_unit_loop, LOSS(EW(bce_loss_hard_w)(xi, tt, 1.0)))
MATH_LOOP(bce_loss_hard_dx_loop,
          LOSS(EW(bce_loss_hard_w)(xi, tt, w[i])) GRAD(EW(bce_dx_wg)(xi, tt, w[i], g[i])))
MATH_LOOP(bce_loss_hard_unit_dx_loop,
          LOSS(EW(bce_loss_hard_w)(xi, tt, 1.0)) GRAD(EW(bce_dx_wg)(xi, tt, 1.0, g[i])))
/* chunks whose inputs are all plain (range_bad_loop): the same values
 * without the clamps and the care for tiny x (EW(*_plain*)), for the loss
 * and d/dx, with soft or hard labels */
MATH_LOOP(bce_loss_plain_loop, LOSS(EW(bce_loss_plain_w)(xi, tt, w[i])))
MATH_LOOP(bce_dx_plain_loop, GRAD(EW(bce_dx_plain_wg)(xi, tt, w[i], g[i])))
MATH_LOOP(bce_dx_plain_unit_loop, GRAD(EW(bce_dx_plain_wg)(xi, tt, 1.0, g[i])))
MATH_LOOP(bce_loss_plain_dx_loop, LOSS(EW(bce_loss_plain_w)(xi, tt, w[i]))
                                      GRAD(EW(bce_dx_plain_wg)(xi, tt, w[i], g[i])))
MATH_LOOP(bce_loss_hard_plain_loop, LOSS(EW(bce_loss_hard_plain_w)(xi, tt, w[i])))
MATH_LOOP(bce_loss_hard_plain_unit_loop, LOSS(EW(bce_loss_hard_plain_unit)(xi, tt)))
MATH_LOOP(bce_loss_hard_plain_dx_loop, LOSS(EW(bce_loss_hard_plain_w)(xi, tt, w[i]))
                                           GRAD(EW(bce_dx_plain_wg)(xi, tt, w[i], g[i])))
MATH_LOOP(bce_loss_hard_plain_unit_dx_loop, LOSS(EW(bce_loss_hard_plain_unit)(xi, tt))
                                                GRAD(EW(bce_dx_plain_wg)(xi, tt, 1.0, g[i])))
#if CBCE_IS_F64
/* d/dx for chunks where one form applies to every element (EW(bce_dx_wg),
 * dx_forms): "soft", no target 0 or 1; "fast", hard labels, unit weights
 * and every x in the fast form's range */
MATH_LOOP(bce_dx_soft_loop, GRAD(EW(bce_dx_soft_wg)(xi, tt, w[i], g[i])))
MATH_LOOP(bce_dx_soft_unit_loop, GRAD(EW(bce_dx_soft_wg)(xi, tt, 1.0, g[i])))
MATH_LOOP(bce_loss_dx_soft_loop,
          LOSS(EW(bce_loss_w)(xi, tt, w[i])) GRAD(EW(bce_dx_soft_wg)(xi, tt, w[i], g[i])))
MATH_LOOP(bce_loss_plain_dx_soft_loop, LOSS(EW(bce_loss_plain_w)(xi, tt, w[i]))
                                           GRAD(EW(bce_dx_soft_wg)(xi, tt, w[i], g[i])))
MATH_LOOP(bce_dx_fast_loop, GRAD(EW(bce_dx_fast_g)(xi, tt, g[i])))
MATH_LOOP(bce_loss_hard_plain_unit_dx_fast_loop, LOSS(EW(bce_loss_hard_plain_unit)(xi, tt))
                                                     GRAD(EW(bce_dx_fast_g)(xi, tt, g[i])))
#endif
MATH_LOOP_4(logits_loss_loop, LOSS(EW(logits_loss_w)(xi, tt, pw[i], w[i])))
MATH_LOOP(logits_dx_loop, GRAD(EW(logits_dx_wg)(xi, tt, pw[i], w[i], g[i])))
MATH_LOOP(logits_dt_loop, GRAD(EW(logits_dt_wg)(xi, pw[i], w[i], g[i])))
MATH_LOOP(logits_loss_dx_loop, LOSS(EW(logits_loss_w)(xi, tt, pw[i], w[i]))
                                   GRAD(EW(logits_dx_wg)(xi, tt, pw[i], w[i], g[i])))
MATH_LOOP(logits_loss_dt_loop, LOSS(EW(logits_loss_w)(xi, tt, pw[i], w[i]))
                                   GRAD(EW(logits_dt_wg)(xi, pw[i], w[i], g[i])))
/* chunks whose weights and pos_weights are all 1 (the default): the same
 * values without the factors' work */
MATH_LOOP_4(logits_loss_unit_loop, LOSS(EW(logits_loss_unit)(xi, tt)))
MATH_LOOP(logits_dx_unit_loop, GRAD(EW(logits_dx_wg)(xi, tt, 1.0, 1.0, g[i])))
MATH_LOOP(logits_loss_unit_dx_loop,
          LOSS(EW(logits_loss_unit)(xi, tt)) GRAD(EW(logits_dx_wg)(xi, tt, 1.0, 1.0, g[i])))
/* chunks whose operands are all plain (logits_plain_loop): the same values
 * without the selects for huge, infinite and NaN operands (EW(*_plain*)) */
MATH_LOOP_4(logits_loss_plain_loop, LOSS(EW(logits_loss_plain_w)(xi, tt, pw[i], w[i])))
MATH_LOOP(logits_dx_plain_loop, GRAD(EW(logits_dx_plain_wg)(xi, tt, pw[i], w[i], g[i])))
MATH_LOOP(logits_loss_plain_dx_loop, LOSS(EW(logits_loss_plain_w)(xi, tt, pw[i], w[i]))
                                         GRAD(EW(logits_dx_plain_wg)(xi, tt, pw[i], w[i], g[i])))
MATH_LOOP_4(logits_loss_plain_unit_loop, LOSS(EW(logits_loss_plain_w)(xi, tt, 1.0, 1.0)))
MATH_LOOP(logits_dx_plain_unit_loop, GRAD(EW(logits_dx_plain_wg)(xi, tt, 1.0, 1.0, g[i])))
MATH_LOOP_4_FUSED(logits_loss_plain_unit_dx_loop, LOSS(EW(logits_loss_plain_w)(xi, tt, 1.0, 1.0))
                                              GRAD(EW(logits_dx_plain_wg)(xi, tt, 1.0, 1.0, g[i])))

#undef MATH_LOOP
#undef MATH_LOOP_4
#undef MATH_LOOP_4_FUSED
#undef CBCE__IVDEP
#undef MATH_LOOP_K
#undef MATH_FOR_T
#undef MATH_FOR_K
#undef MATH_STREAMS_2
#undef MATH_STREAMS_4
#undef MATH_TAIL_2
#undef MATH_TAIL_4
#undef MATH_AT
#undef LOSS
#undef GRAD

typedef void (*FN(math_loop))(ptrdiff_t n, const CBCE_T *restrict x, const CBCE_T *restrict t,
                              const double *restrict ts, const double *restrict w,
                              const double *restrict pw, const double *restrict g,
                              double *restrict out, CBCE_T *restrict gout);

/* The loop for a chunk: what is computed, for which loss and operand, and
 * whether the chunk has only hard labels (BCE), only plain operands
 * (range_bad_loop, logits_plain_loop) and only unit factors (all weights
 * and, for logits, pos_weights 1 or absent). */
static FN(math_loop) FN(pick_loop)(int is_bce, int do_loss, int do_grad, int wrt_target,
                                   int hard, int plain, int unit, int dx)
{
    /* by [plain][unit] */
    static const FN(math_loop) hard_loss[2][2] = {
        {FN(bce_loss_hard_loop), FN(bce_loss_hard_unit_loop)},
        {FN(bce_loss_hard_plain_loop), FN(bce_loss_hard_plain_unit_loop)}};
    static const FN(math_loop) hard_loss_dx[2][2] = {
        {FN(bce_loss_hard_dx_loop), FN(bce_loss_hard_unit_dx_loop)},
        {FN(bce_loss_hard_plain_dx_loop), FN(bce_loss_hard_plain_unit_dx_loop)}};
    static const FN(math_loop) bce_dx[2][2] = {
        {FN(bce_dx_loop), FN(bce_dx_unit_loop)},
        {FN(bce_dx_plain_loop), FN(bce_dx_plain_unit_loop)}};
    static const FN(math_loop) logits_loss[2][2] = {
        {FN(logits_loss_loop), FN(logits_loss_unit_loop)},
        {FN(logits_loss_plain_loop), FN(logits_loss_plain_unit_loop)}};
    static const FN(math_loop) logits_loss_dx[2][2] = {
        {FN(logits_loss_dx_loop), FN(logits_loss_unit_dx_loop)},
        {FN(logits_loss_plain_dx_loop), FN(logits_loss_plain_unit_dx_loop)}};
    static const FN(math_loop) logits_dx[2][2] = {
        {FN(logits_dx_loop), FN(logits_dx_unit_loop)},
        {FN(logits_dx_plain_loop), FN(logits_dx_plain_unit_loop)}};
    plain = plain != 0;
    unit = unit != 0;
#if CBCE_IS_F64
    if (is_bce && do_grad && !wrt_target && dx != DX_MIXED) {
        if (do_loss)
            return dx == DX_FAST ? FN(bce_loss_hard_plain_unit_dx_fast_loop)
                   : plain       ? FN(bce_loss_plain_dx_soft_loop)
                                 : FN(bce_loss_dx_soft_loop);
        return dx == DX_FAST ? FN(bce_dx_fast_loop)
               : unit        ? FN(bce_dx_soft_unit_loop)
                             : FN(bce_dx_soft_loop);
    }
#else
    (void)dx;
#endif
    if (do_loss && do_grad) {
        if (is_bce)
            return wrt_target ? FN(bce_loss_dt_loop)
                   : hard     ? hard_loss_dx[plain][unit]
                   : plain    ? FN(bce_loss_plain_dx_loop)
                              : FN(bce_loss_dx_loop);
        return wrt_target ? FN(logits_loss_dt_loop) : logits_loss_dx[plain][unit];
    }
    if (do_loss) {
        if (is_bce)
            return hard    ? hard_loss[plain][unit]
                   : plain ? FN(bce_loss_plain_loop)
                           : FN(bce_loss_loop);
        return logits_loss[plain][unit];
    }
    if (is_bce) return wrt_target ? FN(bce_dt_loop) : bce_dx[plain][unit];
    return wrt_target ? FN(logits_dt_loop) : logits_dx[plain][unit];
}

/* Strided read of one run, widened to double. */
static void FN(gather)(double *restrict dst, const CBCE_T *restrict src, ptrdiff_t stride,
                       ptrdiff_t n)
{
    ptrdiff_t i;
    if (stride == 1) {
        for (i = 0; i < n; i++) dst[i] = (double)src[i];
    } else {
        for (i = 0; i < n; i++) dst[i] = (double)src[i * stride];
    }
}

#if CBCE_IS_F64
#define gather_xt_f64 gather_f64
#else
/* Strided read of one run of input or target, as stored (the math loops
 * widen them; the range check reads float32 in 16 lanes). */
static void gather_xt_f32(float *restrict dst, const float *restrict src, ptrdiff_t stride,
                          ptrdiff_t n)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++) dst[i] = src[i * stride];
}
#endif

/* Strided write of one run, rounded to the kernel dtype: FN(scatter) for
 * the losses (double), FN(scatter_same) for the gradients (rounded to the
 * dtype by the math loops already; for float64 the same function). */
#define SCATTER_DEF(name, SRC_T)                                                           \
    static void name(CBCE_T *restrict dst, const SRC_T *restrict src, ptrdiff_t stride,     \
                     ptrdiff_t n)                                                          \
    {                                                                                      \
        ptrdiff_t i;                                                                       \
        if (stride == 1) {                                                                 \
            for (i = 0; i < n; i++) dst[i] = (CBCE_T)src[i];                               \
        } else {                                                                           \
            for (i = 0; i < n; i++) dst[i * stride] = (CBCE_T)src[i];                      \
        }                                                                                  \
    }
SCATTER_DEF(FN(scatter), double)
#if CBCE_IS_F64
#define scatter_same_f64 scatter_f64
#else
SCATTER_DEF(FN(scatter_same), CBCE_T)
#endif
#undef SCATTER_DEF

/* Reads the next n logical elements of the operands listed in ops[],
 * advancing `cur`: input and target into xt[k] as stored, the factors into
 * ptr[k] widened to double. An input or target whose chunk is one
 * contiguous run is used in place (xt[k] points into the caller's array),
 * and so is a float64 factor (ptr[k]). An operand that is flat (lay->flat:
 * C-contiguous over the whole layout) is such a run whatever the layout's
 * runs are; the others are read run by run. */
static void FN(gather_chunk)(const cbce__layout *lay, cbce__cursor *cur, const cbce__call *call,
                             const int *ops, int nops, double (*buf)[CBCE__CHUNK],
                             const double **ptr, CBCE_T (*xt_buf)[CBCE__CHUNK],
                             const CBCE_T **xt, ptrdiff_t n)
{
    int in = lay->ndim - 1, j;
    ptrdiff_t pos = 0;
    while (pos < n) {
        ptrdiff_t run = lay->shape[in] - cur->idx[in];
        if (run > n - pos) run = n - pos;
        for (j = 0; j < nops; j++) {
            int k = ops[j];
            const CBCE_T *src = (const CBCE_T *)call->data[k] + cur->off[k];
            ptrdiff_t stride = lay->strides[k][in];
            /* the whole chunk is one run of this operand's memory: taken at pos 0 */
            int whole = (run == n && stride == 1) || lay->flat[k];
            if (whole && pos > 0) continue;
            if (k <= CBCE__OP_TARGET) {
                if (!whole) FN(gather_xt)(xt_buf[k] + pos, src, stride, run);
                xt[k] = whole ? src : xt_buf[k];
                continue;
            }
#if CBCE_IS_F64
            if (whole) {
                ptr[k] = src;
                continue;
            }
#endif
            FN(gather)(buf[k] + pos, src, whole ? 1 : stride, whole ? n : run);
            ptr[k] = buf[k];
        }
        cbce__cursor_advance(cur, lay, run);
        pos += run;
    }
}

/* Writes n results to operand k (CBCE__OP_OUT or CBCE__OP_GRAD) from src,
 * by scatter: FN(scatter_chunk) for the losses (double), FN(scatter_chunk_same)
 * for the gradients (the dtype; for float64 the same function). */
#define SCATTER_CHUNK_DEF(name, scatter, SRC_T)                                            \
    static void name(const cbce__layout *lay, cbce__cursor *cur, const cbce__call *call,   \
                     int k, const SRC_T *src, ptrdiff_t n)                                 \
    {                                                                                      \
        int in = lay->ndim - 1;                                                            \
        ptrdiff_t pos = 0;                                                                 \
        /* Outputs came in as writable cbce_output data; call->data keeps them as        \
         * const void * only for uniform bookkeeping. */                                   \
        CBCE_T *base = (CBCE_T *)(void *)(uintptr_t)call->data[k];                         \
        const int flat = lay->flat[k]; /* the whole chunk at pos 0, as gather_chunk reads */ \
        while (pos < n) {                                                                  \
            ptrdiff_t run = lay->shape[in] - cur->idx[in];                                 \
            if (run > n - pos) run = n - pos;                                              \
            if (!flat || pos == 0)                                                         \
                scatter(base + cur->off[k], src + pos, flat ? 1 : lay->strides[k][in],     \
                        flat ? n : run);                                                   \
            cbce__cursor_advance(cur, lay, run);                                           \
            pos += run;                                                                    \
        }                                                                                  \
    }
SCATTER_CHUNK_DEF(FN(scatter_chunk), FN(scatter), double)
#if CBCE_IS_F64
#define scatter_chunk_same_f64 scatter_chunk_f64
#else
SCATTER_CHUNK_DEF(FN(scatter_chunk_same), FN(scatter_same), CBCE_T)
#endif
#undef SCATTER_CHUNK_DEF

/* The one driver: range check, loss, gradient or both, for either loss, over
 * the task's logical range [begin, end) (parallel.c splits a call into tasks
 * and finishes the reduction). */
static int FN(run)(const cbce__layout *lay, const cbce__call *call, cbce__task *task)
{
    /* Buffer slots follow the operand numbering; the OUT slot holds the
     * computed losses (the GRAD slot is unused: grad_buf, of the dtype). */
    /* + 2: the weight and gradient factors that go in (float64); + 1: t' */
    double buf[CBCE__NOPS + 3][CBCE__CHUNK];
    const double *ptr[CBCE__NOPS] = {0};
    /* input and target as stored, when not read in place */
    CBCE_T xt_buf[2][CBCE__CHUNK];
    /* the gradients, rounded to the dtype, when not written directly */
    CBCE_T grad_buf[CBCE__CHUNK];
    const CBCE_T *xt[2];
    double lane_s[LANES], lane_c[LANES];
    cbce__cursor rd, wr_out, wr_grad;
    int ops[CBCE__NOPS], nops = 0, l, hard = 0, any_hard = 1, fast_x = 0, plain = 0, unit;
    const int is_bce = call->kind == CBCE__KIND_BCE;
    const int do_loss = (call->what & CBCE__DO_LOSS) != 0;
    const int do_grad = (call->what & CBCE__DO_GRAD) != 0;
    const int reduce = do_loss && call->reduction != CBCE_REDUCTION_NONE;
    const int wrt_target = call->wrt == CBCE_WRT_TARGET;
    /* float64 BCE d/dx: which forms a chunk needs (dx_forms) */
    const int want_dx_forms = CBCE_IS_F64 && is_bce && do_grad && !wrt_target;
    const double a = call->smooth_a, b = call->smooth_b;
    /* (1-s) for the target gradient: the chain rule through t'. */
    const double c = wrt_target ? a : 1.0;
    ptrdiff_t start, n;

    ops[nops++] = CBCE__OP_INPUT;
    ops[nops++] = CBCE__OP_TARGET;
    if (call->data[CBCE__OP_WEIGHT]) {
        ops[nops++] = CBCE__OP_WEIGHT;
    } else {
        fill_loop(CBCE__CHUNK, 1.0, buf[CBCE__OP_WEIGHT]);
        ptr[CBCE__OP_WEIGHT] = buf[CBCE__OP_WEIGHT];
    }
    if (!is_bce && call->data[CBCE__OP_POS_WEIGHT]) {
        ops[nops++] = CBCE__OP_POS_WEIGHT;
    } else {
        fill_loop(CBCE__CHUNK, 1.0, buf[CBCE__OP_POS_WEIGHT]);
        ptr[CBCE__OP_POS_WEIGHT] = buf[CBCE__OP_POS_WEIGHT];
    }
    if (do_grad) {
        if (call->reduction == CBCE_REDUCTION_NONE && call->data[CBCE__OP_GRAD_OUTPUT]) {
            ops[nops++] = CBCE__OP_GRAD_OUTPUT;
        } else {
            /* One scale for all elements: g * (1-s) [/ N], formed once. */
            double g = 1.0;
            if (call->data[CBCE__OP_GRAD_OUTPUT])
                g = (double)*(const CBCE_T *)call->data[CBCE__OP_GRAD_OUTPUT];
            g = g * c;
            if (call->reduction == CBCE_REDUCTION_MEAN) g = g / (double)lay->size;
            fill_loop(CBCE__CHUNK, g, buf[CBCE__OP_GRAD_OUTPUT]);
            ptr[CBCE__OP_GRAD_OUTPUT] = buf[CBCE__OP_GRAD_OUTPUT];
        }
    }
    /* Outputs the math loops write directly (lay->direct: flat, so element
     * offset == logical index): the gradients, which they round to the
     * dtype; the losses for float64 only (float32 losses stay double for
     * the sums, where rounding them in the loop measured slower). */
    double *direct_out = NULL;
    CBCE_T *direct_grad = NULL;
#if CBCE_IS_F64
    if (do_loss && !reduce && lay->direct[CBCE__OP_OUT])
        direct_out = (double *)(void *)(uintptr_t)call->data[CBCE__OP_OUT];
#endif
    if (do_grad && lay->direct[CBCE__OP_GRAD])
        direct_grad = (CBCE_T *)(void *)(uintptr_t)call->data[CBCE__OP_GRAD];
    cbce__cursor_seek(&rd, lay, task->begin);
    wr_out = wr_grad = rd;
    for (l = 0; l < LANES; l++) lane_s[l] = lane_c[l] = 0.0;

    for (start = task->begin; start < task->end; start += n) {
        if (start % CBCE_SUM_BLOCK == 0 && start != task->begin) {
            int st = cbce__task_poll(task, start); /* between blocks: stop early? */
            if (st != CBCE_OK) return st;
        }
        n = task->end - start;
        if (n > CBCE__CHUNK) n = CBCE__CHUNK;
        FN(gather_chunk)(lay, &rd, call, ops, nops, buf, ptr, xt_buf, xt, n);
        if (is_bce &&
            (want_dx_forms ? FN(range_bad_loop)(n, xt[CBCE__OP_INPUT], xt[CBCE__OP_TARGET], 1,
                                                &hard, &any_hard, &fast_x, &plain)
                           : FN(range_bad_loop)(n, xt[CBCE__OP_INPUT], xt[CBCE__OP_TARGET], 0,
                                                &hard, &any_hard, &fast_x, &plain)))
            return FN(range_first_bad)(n, xt[CBCE__OP_INPUT], xt[CBCE__OP_TARGET]);
        hard = hard && is_bce && a == 1.0 && b == 0.0;
        if (!do_loss && !do_grad) continue;
        /* every weight (and, for logits, pos_weight) of the chunk 1 or absent */
        unit = (!call->data[CBCE__OP_WEIGHT] || all_ones_loop(n, ptr[CBCE__OP_WEIGHT])) &&
               (is_bce || !call->data[CBCE__OP_POS_WEIGHT] ||
                all_ones_loop(n, ptr[CBCE__OP_POS_WEIGHT]));
        if (!is_bce && !wrt_target)
            plain = FN(logits_plain_loop)(
                n, xt[CBCE__OP_INPUT], xt[CBCE__OP_TARGET],
                call->data[CBCE__OP_POS_WEIGHT] ? ptr[CBCE__OP_POS_WEIGHT] : NULL);
        if (do_grad && call->reduction == CBCE_REDUCTION_NONE &&
            call->data[CBCE__OP_GRAD_OUTPUT]) {
            /* Per-element scale g*(1-s), formed in double. */
            mul_loop(n, ptr[CBCE__OP_GRAD_OUTPUT], c, buf[CBCE__OP_GRAD_OUTPUT]);
            ptr[CBCE__OP_GRAD_OUTPUT] = buf[CBCE__OP_GRAD_OUTPUT];
        }
        /* All math before any scatter: in-place outputs may alias inputs. */
        {
            const CBCE_T *x = xt[CBCE__OP_INPUT], *t = xt[CBCE__OP_TARGET];
            const double *ts = NULL;
            const double *w = ptr[CBCE__OP_WEIGHT], *pw = ptr[CBCE__OP_POS_WEIGHT];
            const double *g = ptr[CBCE__OP_GRAD_OUTPUT];
            double *l_out = direct_out ? direct_out + start : buf[CBCE__OP_OUT];
            CBCE_T *g_out = direct_grad ? direct_grad + start : grad_buf;
#if CBCE_IS_F64
            /* an absent weight is the constant 1 */
            const int w_big = call->data[CBCE__OP_WEIGHT] && factors_big_loop(n, w);
            const int g_big = do_grad && factors_big_loop(n, g);
            const double *w_all = w, *g_all = g;
            double *w_in = buf[CBCE__NOPS], *g_in = buf[CBCE__NOPS + 1];
            if (w_big) {
                factor_in_loop(n, w_all, w_in);
                w = w_in;
            }
            if (g_big) {
                factor_in_loop(n, g_all, g_in);
                g = g_in;
            }
#endif
            if (a != 1.0 || b != 0.0) {
                FN(smooth_loop)(n, t, a, b, buf[CBCE__NOPS + 2]);
#if CBCE_IS_F64
                t = buf[CBCE__NOPS + 2]; /* t' in the dtype of t */
#else
                ts = buf[CBCE__NOPS + 2];
#endif
            }
            FN(pick_loop)(is_bce, do_loss, do_grad, wrt_target, hard, plain, unit,
                          FN(dx_forms)(want_dx_forms, hard && unit, any_hard, fast_x,
                                       a != 1.0 || b != 0.0, n, t))(n, x, t, ts, w, pw, g,
                                                                    l_out, g_out);
#if CBCE_IS_F64
            if (w_big && do_loss) factor_out_loop(n, w_all, l_out);
            if (w_big && do_grad) factor_out_loop(n, w_all, g_out);
            if (g_big) factor_out_loop(n, g_all, g_out);
#endif
        }
        if (reduce) {
            ptrdiff_t nl = (n + LANES - 1) & ~(ptrdiff_t)(LANES - 1), i;
            double *v = buf[CBCE__OP_OUT];
            for (i = n; i < nl; i++) v[i] = 0.0; /* nl <= CHUNK: n < CHUNK here */
#if CBCE_IS_F64
            lanes_neumaier(nl, v, lane_s, lane_c);
#else
            lanes_f32(nl, v, lane_s);
#endif
            if ((start + n) % CBCE_SUM_BLOCK == 0 || start + n == task->end) {
                cbce__acc_add_lanes(&task->acc, LANES, lane_s, CBCE_IS_F64 ? lane_c : NULL);
                for (l = 0; l < LANES; l++) lane_s[l] = lane_c[l] = 0.0;
            }
        } else if (do_loss && !direct_out) {
            FN(scatter_chunk)(lay, &wr_out, call, CBCE__OP_OUT, buf[CBCE__OP_OUT], n);
        }
        if (do_grad && !direct_grad)
            FN(scatter_chunk_same)(lay, &wr_grad, call, CBCE__OP_GRAD, grad_buf, n);
    }
    return CBCE_OK;
}

#undef FN
#undef EW
#undef LANES
