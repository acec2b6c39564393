/*
 * common.c -- the parts of the kernels that do no per-element floating point:
 * layout coalescing, the strided cursor, and exact summation.
 *
 * Compiled once with the baseline flags; everything here is integer code or
 * exactly rounded double arithmetic, so it is identical at every ISA level.
 */
#include <string.h>

#include "internal.h"

/* ---- Layout and cursor ----------------------------------------------------- */

/* The bytes operand k spans in a layout: [*lo, *hi). A present operand
 * without strides (grad_output of MEAN/SUM) is one element. */
static void operand_span(const cbce__layout *lay, const cbce__call *call, int k, size_t elsize,
                         uintptr_t *lo, uintptr_t *hi)
{
    ptrdiff_t first = 0, last = 0;
    int d;
    if (lay->size > 0 && (k != CBCE__OP_GRAD_OUTPUT || call->reduction == CBCE_REDUCTION_NONE)) {
        for (d = 0; d < lay->ndim; d++) {
            ptrdiff_t step = (lay->shape[d] - 1) * lay->strides[k][d];
            if (step < 0) first += step;
            else last += step;
        }
    }
    *lo = (uintptr_t)call->data[k] + (uintptr_t)(first * (ptrdiff_t)elsize);
    *hi = (uintptr_t)call->data[k] + (uintptr_t)((last + 1) * (ptrdiff_t)elsize);
}

/* direct[k] for the outputs: flat, and no byte in common with any other
 * present operand (an in-place call keeps the buffer, which is what makes
 * it correct: all math of a chunk before its write). */
static void find_direct(cbce__layout *lay, const cbce__call *call, size_t elsize)
{
    int k, j;
    for (k = 0; k < CBCE__NOPS; k++) lay->direct[k] = 0;
    for (k = CBCE__OP_OUT; k <= CBCE__OP_GRAD; k++) {
        uintptr_t lo, hi;
        if (!lay->flat[k]) continue;
        operand_span(lay, call, k, elsize, &lo, &hi);
        lay->direct[k] = 1;
        for (j = 0; j < CBCE__NOPS; j++) {
            uintptr_t olo, ohi;
            if (j == k || !call->data[j]) continue;
            operand_span(lay, call, j, elsize, &olo, &ohi);
            if (olo < hi && lo < ohi) lay->direct[k] = 0;
        }
    }
}

void cbce__layout_init(cbce__layout *lay, const cbce_args *args, const cbce__call *call,
                       const ptrdiff_t *out_strides, const ptrdiff_t *grad_strides,
                       size_t elsize)
{
    const ptrdiff_t *st[CBCE__NOPS];
    int k, d, nd = 0;
    ptrdiff_t size = 1;

    st[CBCE__OP_INPUT] = args->input.strides;
    st[CBCE__OP_TARGET] = args->target.strides;
    st[CBCE__OP_WEIGHT] = call->data[CBCE__OP_WEIGHT] ? args->weight.strides : NULL;
    st[CBCE__OP_POS_WEIGHT] = call->data[CBCE__OP_POS_WEIGHT] ? args->pos_weight.strides : NULL;
    /* For MEAN/SUM grad_output is one element, not a view. */
    st[CBCE__OP_GRAD_OUTPUT] = (call->data[CBCE__OP_GRAD_OUTPUT] && call->reduction == CBCE_REDUCTION_NONE)
                                   ? args->grad_output.strides
                                   : NULL;
    st[CBCE__OP_OUT] = call->data[CBCE__OP_OUT] ? out_strides : NULL;
    st[CBCE__OP_GRAD] = call->data[CBCE__OP_GRAD] ? grad_strides : NULL;

    for (d = 0; d < args->ndim; d++) {
        if (args->shape[d] == 0) size = 0;
    }
    for (d = 0; d < args->ndim; d++) {
        ptrdiff_t n = args->shape[d];
        if (n == 1 || size == 0) continue; /* extent 1: its strides never matter */
        size *= n;
        lay->shape[nd] = n;
        for (k = 0; k < CBCE__NOPS; k++) lay->strides[k][nd] = st[k] ? st[k][d] : 0;
        if (nd > 0) {
            /* Merge with the previous (outer) dim when every operand steps
             * through the pair as through one dim of extent n_outer*n. */
            int ok = 1;
            for (k = 0; k < CBCE__NOPS; k++) {
                if (lay->strides[k][nd - 1] != lay->strides[k][nd] * n) ok = 0;
            }
            if (ok) {
                lay->shape[nd - 1] *= n;
                for (k = 0; k < CBCE__NOPS; k++) lay->strides[k][nd - 1] = lay->strides[k][nd];
                continue;
            }
        }
        nd++;
    }
    if (nd == 0) { /* 0-d, all extents 1, or empty */
        nd = 1;
        lay->shape[0] = size == 0 ? 0 : 1;
        for (k = 0; k < CBCE__NOPS; k++) lay->strides[k][0] = 0;
    }
    lay->ndim = nd;
    lay->size = size;
    for (k = 0; k < CBCE__NOPS; k++) {
        ptrdiff_t extent = 1; /* elements of one step of dim d: product of the inner extents */
        lay->flat[k] = st[k] != NULL && size > 0;
        for (d = nd - 1; d >= 0 && lay->flat[k]; d--) {
            if (lay->strides[k][d] != extent) lay->flat[k] = 0;
            extent *= lay->shape[d];
        }
    }
    find_direct(lay, call, elsize);
}

void cbce__cursor_init(cbce__cursor *cur, const cbce__layout *lay)
{
    int k, d;
    for (d = 0; d < lay->ndim; d++) cur->idx[d] = 0;
    for (k = 0; k < CBCE__NOPS; k++) cur->off[k] = 0;
}

void cbce__cursor_seek(cbce__cursor *cur, const cbce__layout *lay, ptrdiff_t index)
{
    int k, d;
    cbce__cursor_init(cur, lay);
    for (d = lay->ndim - 1; d >= 0 && index > 0; d--) {
        ptrdiff_t i = index % lay->shape[d];
        index /= lay->shape[d];
        cur->idx[d] = i;
        for (k = 0; k < CBCE__NOPS; k++) cur->off[k] += i * lay->strides[k][d];
    }
}

void cbce__cursor_advance(cbce__cursor *cur, const cbce__layout *lay, ptrdiff_t run)
{
    int k, d, in = lay->ndim - 1;
    for (k = 0; k < CBCE__NOPS; k++) cur->off[k] += run * lay->strides[k][in];
    cur->idx[in] += run;
    if (cur->idx[in] < lay->shape[in]) return;
    for (k = 0; k < CBCE__NOPS; k++) cur->off[k] -= lay->shape[in] * lay->strides[k][in];
    cur->idx[in] = 0;
    for (d = in - 1; d >= 0; d--) {
        for (k = 0; k < CBCE__NOPS; k++) cur->off[k] += lay->strides[k][d];
        if (++cur->idx[d] < lay->shape[d]) return;
        for (k = 0; k < CBCE__NOPS; k++) cur->off[k] -= lay->shape[d] * lay->strides[k][d];
        cur->idx[d] = 0;
    }
}

/* ---- Superaccumulator ------------------------------------------------------
 * Bit i of the accumulated integer weighs 2^(i-1074) (2^-1074 is the smallest
 * subnormal), so every finite double is an integer here: its 53-bit
 * significand shifted to bit (biased exponent - 1), spread over 3 limbs of
 * 32 bits. Limbs are int64, so each holds 2^30 additions of < 2^33 before a
 * carry propagation (normalization) is due. The top limb keeps the sign. */

#define LIMB_MASK 0xffffffffu
#define LIMB_BASE 4294967296.0

/* Carries limbs [lo, top) into [0, 2^32), adding the last carry to
 * limb[top] (which keeps the sign). The value is unchanged. Limbs below lo
 * must already be in [0, 2^32) (0, typically): they would carry nothing. */
static void acc_normalize_range(int64_t *limb, int lo, int top)
{
    int64_t carry = 0;
    int i;
    for (i = lo; i < top; i++) {
        int64_t v = limb[i] + carry;
        int64_t low = (int64_t)((uint64_t)v & LIMB_MASK);
        carry = (v - low) / (int64_t)4294967296LL; /* exact: v - low is a multiple of 2^32 */
        limb[i] = low;
    }
    limb[top] += carry;
}

static void acc_normalize(int64_t *limb)
{
    acc_normalize_range(limb, 0, CBCE__ACC_LIMBS - 1);
}

void cbce__acc_init(cbce__acc *acc)
{
    memset(acc, 0, sizeof *acc);
}

void cbce__acc_add(cbce__acc *acc, double v)
{
    uint64_t bits, m, lo, hi;
    int e, p, k, sh;
    int64_t a0, a1, a2;
    memcpy(&bits, &v, sizeof bits);
    e = (int)((bits >> 52) & 0x7ff);
    m = bits & (((uint64_t)1 << 52) - 1);
    if (e == 0x7ff) {
        acc->flags |= m ? 4 : ((bits >> 63) ? 2 : 1);
        return;
    }
    if (e == 0 && m == 0) return;
    if (e) {
        m |= (uint64_t)1 << 52;
        p = e - 1;
    } else {
        p = 0;
    }
    k = p >> 5;
    sh = p & 31;
    lo = (m & LIMB_MASK) << sh;
    hi = (m >> 32) << sh;
    a0 = (int64_t)(lo & LIMB_MASK);
    a1 = (int64_t)((lo >> 32) + (hi & LIMB_MASK));
    a2 = (int64_t)(hi >> 32);
    if (bits >> 63) {
        acc->limb[k] -= a0;
        acc->limb[k + 1] -= a1;
        acc->limb[k + 2] -= a2;
    } else {
        acc->limb[k] += a0;
        acc->limb[k + 1] += a1;
        acc->limb[k + 2] += a2;
    }
    if (++acc->pending >= (1 << 28)) {
        acc_normalize(acc->limb);
        acc->pending = 0;
    }
}

static int is_finite(double v)
{
    return v - v == 0.0;
}

void cbce__acc_add_lanes(cbce__acc *acc, int lanes, const double *sum, const double *comp)
{
    int l;
    for (l = 0; l < lanes; l++) {
        cbce__acc_add(acc, sum[l]);
        if (comp && is_finite(sum[l])) cbce__acc_add(acc, comp[l]);
    }
}

void cbce__acc_merge(cbce__acc *acc, const cbce__acc *other)
{
    int64_t tmp[CBCE__ACC_LIMBS];
    int i;
    memcpy(tmp, other->limb, sizeof tmp);
    acc_normalize(tmp);
    acc_normalize(acc->limb);
    for (i = 0; i < CBCE__ACC_LIMBS; i++) acc->limb[i] += tmp[i];
    acc_normalize(acc->limb);
    acc->pending = 0;
    acc->flags |= other->flags;
}

/* Bits [lo, lo+count) of the normalized nonnegative integer, count <= 53. */
static uint64_t acc_bits(const int64_t *limb, int lo, int count)
{
    int i = lo >> 5, got = 32 - (lo & 31);
    uint64_t r = (uint64_t)limb[i] >> (lo & 31);
    while (got < count) {
        i++;
        r |= (uint64_t)limb[i] << got;
        got += 32;
    }
    return r & (((uint64_t)1 << count) - 1);
}

static double flags_value(int flags)
{
    double inf = 1e308 * 10.0;
    if ((flags & 4) || (flags & 3) == 3) return inf - inf;
    return (flags & 1) ? inf : -inf;
}

/* Rounds the exact value of limb[] (any state) to double, round half even.
 * Only the limbs from the lowest nonzero one to one above the highest are
 * carried (a sum of a call's losses spans a few limbs of the 72; all of them
 * took most of a small call's time): zero limbs outside stay zero, and the
 * limb above the highest takes the final carry and the sign. */
static double limbs_round(const int64_t *src)
{
    int64_t limb[CBCE__ACC_LIMBS];
    int i, h, lo, top, P, neg;
    uint64_t bits, m;
    double r;
    for (lo = 0; lo < CBCE__ACC_LIMBS && src[lo] == 0; lo++) {
    }
    if (lo == CBCE__ACC_LIMBS) return 0.0;
    for (top = CBCE__ACC_LIMBS - 1; src[top] == 0; top--) {
    }
    if (top < CBCE__ACC_LIMBS - 1) top++;
    memcpy(limb, src, sizeof limb);
    acc_normalize_range(limb, lo, top);
    neg = limb[top] < 0;
    if (neg) {
        for (i = lo; i <= top; i++) limb[i] = -limb[i];
        acc_normalize_range(limb, lo, top);
    }
    for (h = top; h >= 0 && limb[h] == 0; h--) {
    }
    if (h < 0) return 0.0;
    P = 32 * h + 31;
    while (!(((uint64_t)limb[h] >> (P & 31)) & 1)) P--;
    if (P <= 52) {
        /* Below 2^-1021: the integer itself is the bit pattern (subnormals
         * and the smallest binade of normals). */
        bits = acc_bits(limb, 0, P + 1);
    } else {
        int rb = P - 53, sticky = 0, e;
        m = acc_bits(limb, P - 52, 53);
        if (rb > 0) {
            int b = rb - 1, j;
            for (j = 0; j < (b >> 5); j++) sticky |= limb[j] != 0;
            sticky |= ((uint64_t)limb[b >> 5] & (((uint64_t)2 << (b & 31)) - 1)) != 0;
        }
        if ((((uint64_t)limb[rb >> 5] >> (rb & 31)) & 1) && (sticky || (m & 1))) {
            m++;
            if (m == (uint64_t)1 << 53) {
                m >>= 1;
                P++;
            }
        }
        e = P - 1074;
        if (e > 1023) {
            bits = (uint64_t)0x7ff << 52;
        } else {
            bits = ((uint64_t)(e + 1023) << 52) | (m & (((uint64_t)1 << 52) - 1));
        }
    }
    if (neg) bits |= (uint64_t)1 << 63;
    memcpy(&r, &bits, sizeof r);
    return r;
}

double cbce__acc_round(const cbce__acc *acc)
{
    if (acc->flags) return flags_value(acc->flags);
    return limbs_round(acc->limb);
}

/* Dekker's product: a*b == *p + *e exactly (no FMA; no overflow/underflow
 * for the magnitudes cbce__acc_mean admits). */
static void two_prod(double a, double b, double *p, double *e)
{
    const double split = 134217729.0; /* 2^27 + 1 */
    double c, ah, al, bh, bl;
    *p = a * b;
    c = split * a;
    ah = c - (c - a);
    al = a - ah;
    c = split * b;
    bh = c - (c - b);
    bl = b - bh;
    *e = ((ah * bh - *p) + ah * bl + al * bh) + al * bl;
}

double cbce__acc_mean(const cbce__acc *acc, ptrdiff_t n)
{
    cbce__acc rem;
    double s, q, nd, nh, nl, p, e, mag;
    if (n <= 0) return flags_value(4);
    s = cbce__acc_round(acc);
    nd = (double)n;
    q = s / nd;
    mag = q < 0 ? -q : q;
    if (!is_finite(s) || !(mag > 0x1p-900 && mag < 0x1p900)) return q;
    /* Remainder S - q*n, exactly: n = nh + nl with both parts exact doubles. */
    nh = (double)(n - (n & 0x7ff));
    nl = (double)(n & 0x7ff);
    rem = *acc;
    two_prod(q, nh, &p, &e);
    cbce__acc_add(&rem, -p);
    cbce__acc_add(&rem, -e);
    two_prod(q, nl, &p, &e);
    cbce__acc_add(&rem, -p);
    cbce__acc_add(&rem, -e);
    return q + limbs_round(rem.limb) / nd;
}
