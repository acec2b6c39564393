/*
 * test_kernels.c -- the loops, reductions, layouts, dispatch and errors of
 * the public C API, against straightforward reference loops.
 *
 * Elementwise results (reduction NONE, gradients) must equal the reference
 * BIT FOR BIT: the reference calls the same per-element formulas
 * (elementwise.h; elementwise_f32.h for float32) with the same roundings, so any difference is a loop bug.
 * Sums are compared with an exact reference (double-double accumulation of
 * the returned elementwise values) within 1 ulp of the sum of magnitudes.
 * Prints "N passed, N failed" last.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbce/cbce.h"
#include "elementwise_f32.h"
#include "internal.h"

#include "check.h"

/* ---- helpers --------------------------------------------------------------- */

#define RNG_SEED 0x9e3779b97f4a7c15ull
#include "rng.h"

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0 || (a != a && b != b);
}

static double ulp_of(double v, int f64) /* ulp of |v| in the result dtype */
{
    int e;
    v = fabs(v);
    if (v == 0) return f64 ? 0x1p-1074 : 0x1p-149;
    frexp(v, &e);
    return f64 ? ldexp(1.0, (e - 53 < -1074 ? -1074 : e - 53))
               : ldexp(1.0, (e - 24 < -149 ? -149 : e - 24));
}

/* Exact-enough reference sum: double-double (TwoSum) accumulation. */
typedef struct { double hi, lo; } dd;
static void dd_add(dd *s, double v)
{
    double t = s->hi + v, bp = t - s->hi, e = (s->hi - (t - bp)) + (v - bp);
    s->hi = t;
    s->lo += e;
}
static double dd_val(dd s) { return s.hi + s.lo; }

/* A typed array: values kept as doubles, a float or double copy for cbce. */
typedef struct {
    int f64;
    ptrdiff_t n;
    void *p;
} arr;

static arr arr_new(int f64, ptrdiff_t n)
{
    arr a;
    a.f64 = f64;
    a.n = n;
    a.p = calloc((size_t)(n > 0 ? n : 1), f64 ? sizeof(double) : sizeof(float));
    return a;
}
static double arr_get(arr a, ptrdiff_t i) { return a.f64 ? ((double *)a.p)[i] : ((float *)a.p)[i]; }
static void arr_set(arr a, ptrdiff_t i, double v)
{
    if (a.f64) ((double *)a.p)[i] = v;
    else ((float *)a.p)[i] = (float)v;
}
static double rnd_t(int f64, double v) { return f64 ? v : (double)(float)v; }

#include "call_kernel.h"

/* ---- reference elementwise values ------------------------------------------ */

typedef struct {
    int f64, kind, reduction, wrt;
    int has_w, has_pw, has_g;
    int hard; /* targets exactly 0, -0 or 1 for the first 3/4 of the elements:
                 BCE chunks of hard labels take the one-log loops */
    double s;
} cfg;

/* float64: a factor goes into the element function when it is below
 * CBCE_EW_FACTOR_MAX, else it goes in as 1 and multiplies the result */
static double f_in(double f) { return fabs(f) < CBCE_EW_FACTOR_MAX ? f : 1.0; }
static double f_out(double f) { return fabs(f) < CBCE_EW_FACTOR_MAX ? 1.0 : f; }

static double ref_loss(const cfg *c, double x, double t, double w, double pw)
{
    double tp = t * (1.0 - c->s) + 0.5 * c->s;
    if (!c->f64) /* the float32 kernels use the plain-double formulas */
        return c->kind == BCE ? cbce_ew32_bce_loss_w(x, tp, w)
                              : cbce_ew32_logits_loss_w(x, tp, pw, w);
    return (c->kind == BCE ? cbce_ew_bce_loss_w(x, tp, f_in(w))
                           : cbce_ew_logits_loss_w(x, tp, pw, f_in(w))) *
           f_out(w);
}
static double ref_grad(const cfg *c, double x, double t, double w, double pw, double g, ptrdiff_t n)
{
    double tp = t * (1.0 - c->s) + 0.5 * c->s;
    double cs = c->wrt == CBCE_WRT_TARGET ? 1.0 - c->s : 1.0;
    double scale = g * cs, wi, si, d;
    if (c->reduction == CBCE_REDUCTION_MEAN) scale = scale / (double)n;
    /* the weight and the gradient scale go into the element functions (the
     * float64 ones multiply the unrounded value); bce_dt is scaled after */
    if (c->kind == BCE && !c->f64)
        return c->wrt == CBCE_WRT_INPUT ? cbce_ew32_bce_dx_wg(x, tp, w, scale)
                                        : (cbce_ew32_bce_dt(x) * w) * scale;
    if (!c->f64)
        return c->wrt == CBCE_WRT_INPUT ? cbce_ew32_logits_dx_wg(x, tp, pw, w, scale)
                                        : cbce_ew32_logits_dt_wg(x, pw, w, scale);
    wi = f_in(w);
    si = f_in(scale);
    if (c->kind == BCE)
        d = c->wrt == CBCE_WRT_INPUT ? cbce_ew_bce_dx_wg(x, tp, wi, si) : (cbce_ew_bce_dt(x) * wi) * si;
    else
        d = c->wrt == CBCE_WRT_INPUT ? cbce_ew_logits_dx_wg(x, tp, pw, wi, si)
                                     : cbce_ew_logits_dt_wg(x, pw, wi, si);
    return (d * f_out(w)) * f_out(scale);
}

/* Fill data for one configuration: n elements, 1-d contiguous. */
typedef struct {
    arr x, t, w, pw, g, out, grad, out2, grad2;
} bufs;

static bufs bufs_new(const cfg *c, ptrdiff_t n)
{
    bufs b;
    ptrdiff_t i;
    b.x = arr_new(c->f64, n);
    b.t = arr_new(c->f64, n);
    b.w = arr_new(c->f64, n);
    b.pw = arr_new(c->f64, n);
    b.g = arr_new(c->f64, n);
    b.out = arr_new(c->f64, n);
    b.grad = arr_new(c->f64, n);
    b.out2 = arr_new(c->f64, n);
    b.grad2 = arr_new(c->f64, n);
    for (i = 0; i < n; i++) {
        double u = urand();
        if (c->kind == BCE) {
            /* probabilities incl. exact 0 and 1 and values near them */
            double x = (i % 17 == 0) ? 0.0 : (i % 19 == 0) ? 1.0 : (i % 5 == 0) ? pow(u, 30) : u;
            arr_set(b.x, i, x);
        } else {
            double x = (i % 23 == 0) ? 0.0 : (u - 0.5) * ((i % 3) ? 20.0 : 400.0);
            arr_set(b.x, i, x);
        }
        if (c->hard && i < n - n / 4)
            arr_set(b.t, i, (i % 3 == 0) ? 1.0 : (i % 11 == 0) ? -0.0 : 0.0);
        else
            arr_set(b.t, i, (i % 4 == 0) ? 1.0 : (i % 4 == 1) ? 0.0 : urand());
        if (c->hard && c->kind == BCE && i % 13 == 0) arr_set(b.x, i, -0.0);
        arr_set(b.w, i, 0.25 + 2.0 * urand());
        arr_set(b.pw, i, 0.5 + 3.0 * urand());
        arr_set(b.g, i, urand() - 0.3);
    }
    return b;
}

static void bufs_free(bufs *b)
{
    free(b->x.p);
    free(b->t.p);
    free(b->w.p);
    free(b->pw.p);
    free(b->g.p);
    free(b->out.p);
    free(b->grad.p);
    free(b->out2.p);
    free(b->grad2.p);
}

static const ptrdiff_t one_stride[1] = {1};

static cbce_args args_1d(const cfg *c, const bufs *b, const ptrdiff_t *shape)
{
    cbce_args a;
    a = xt_args(1, shape, b->x.p, one_stride, b->t.p, one_stride);
    if (c->has_w) {
        a.weight.data = b->w.p;
        a.weight.strides = one_stride;
    }
    if (c->has_pw) {
        a.pos_weight.data = b->pw.p;
        a.pos_weight.strides = one_stride;
    }
    if (c->has_g) {
        a.grad_output.data = b->g.p;
        a.grad_output.strides = one_stride;
    }
    a.label_smoothing = c->s;
    a.reduction = c->reduction;
    a.wrt = c->wrt;
    return a;
}

/* ---- 1. every kernel against the reference loop ----------------------------- */

static void test_against_reference(const cfg *c, ptrdiff_t n)
{
    bufs b = bufs_new(c, n);
    ptrdiff_t shape[1];
    cbce_args a;
    cbce_output out, grad;
    double total = -1, total2 = -2;
    ptrdiff_t i;
    int st, bad_loss = 0, bad_grad = 0, bad_fused = 0;
    dd exact = {0, 0};
    double mag = 0;
    shape[0] = n;
    a = args_1d(c, &b, shape);
    out.data = b.out.p;
    out.strides = one_stride;
    grad.data = b.grad.p;
    grad.strides = one_stride;

    /* loss NONE gives the elementwise values; reductions are checked against them */
    {
        cbce_args an = a;
        an.reduction = CBCE_REDUCTION_NONE;
        st = call(c->f64, c->kind, LOSS, &an, out, NULL, grad);
        CHECK(st == CBCE_OK, "loss none status %d", st);
        for (i = 0; i < n; i++) {
            double w = c->has_w ? arr_get(b.w, i) : 1.0, pw = c->has_pw ? arr_get(b.pw, i) : 1.0;
            double r = rnd_t(c->f64, ref_loss(c, arr_get(b.x, i), arr_get(b.t, i), w, pw));
            double v = arr_get(b.out, i);
            if (!same_bits(r, v)) bad_loss++;
            dd_add(&exact, v);
            mag += fabs(v);
        }
        CHECK(bad_loss == 0, "f64=%d kind=%d n=%ld s=%g w=%d pw=%d: %d loss mismatches", c->f64,
              c->kind, (long)n, c->s, c->has_w, c->has_pw, bad_loss);
    }
    if (c->reduction != CBCE_REDUCTION_NONE) {
        double ref = dd_val(exact), tol;
        st = call(c->f64, c->kind, LOSS, &a, out, &total, grad);
        CHECK(st == CBCE_OK, "loss reduce status %d", st);
        if (c->reduction == CBCE_REDUCTION_MEAN) {
            ref = n ? ref / (double)n : NAN;
            tol = n ? ulp_of(mag / (double)n, c->f64) : 0;
        } else {
            tol = ulp_of(mag, c->f64);
        }
        if (!c->f64) CHECK(total == (double)(float)total || total != total, "f32 total not a float");
        CHECK((n == 0 && c->reduction == CBCE_REDUCTION_MEAN) ? total != total
                                                               : fabs(total - ref) <= tol,
              "reduction %d n=%ld: got %.17g ref %.17g tol %g", c->reduction, (long)n, total, ref,
              tol);
    }
    /* gradient */
    st = call(c->f64, c->kind, GRAD, &a, out, NULL, grad);
    CHECK(st == CBCE_OK, "grad status %d", st);
    for (i = 0; i < n; i++) {
        double w = c->has_w ? arr_get(b.w, i) : 1.0, pw = c->has_pw ? arr_get(b.pw, i) : 1.0;
        double g = 1.0;
        if (c->has_g) g = c->reduction == CBCE_REDUCTION_NONE ? arr_get(b.g, i) : arr_get(b.g, 0);
        if (!same_bits(rnd_t(c->f64, ref_grad(c, arr_get(b.x, i), arr_get(b.t, i), w, pw, g, n)),
                       arr_get(b.grad, i)))
            bad_grad++;
    }
    CHECK(bad_grad == 0, "f64=%d kind=%d red=%d wrt=%d n=%ld s=%g w=%d pw=%d g=%d: %d grad mismatches",
          c->f64, c->kind, c->reduction, c->wrt, (long)n, c->s, c->has_w, c->has_pw, c->has_g,
          bad_grad);
    /* fused == separate, bit for bit */
    out.data = b.out2.p;
    grad.data = b.grad2.p;
    st = call(c->f64, c->kind, LOSS | GRAD, &a, out, &total2, grad);
    CHECK(st == CBCE_OK, "fused status %d", st);
    for (i = 0; i < n; i++) {
        if (!same_bits(arr_get(b.grad, i), arr_get(b.grad2, i))) bad_fused++;
    }
    if (c->reduction == CBCE_REDUCTION_NONE) {
        cbce_args an = a;
        cbce_output o1;
        o1.data = b.out.p;
        o1.strides = one_stride;
        call(c->f64, c->kind, LOSS, &an, o1, NULL, grad);
        for (i = 0; i < n; i++) {
            if (!same_bits(arr_get(b.out, i), arr_get(b.out2, i))) bad_fused++;
        }
    } else {
        CHECK(same_bits(total, total2), "fused total %.17g vs %.17g", total2, total);
    }
    CHECK(bad_fused == 0, "fused differs from separate: %d", bad_fused);
    bufs_free(&b);
}

static void test_all_configs(void)
{
    /* last chunks of every length mod 4 (the math loops' streams: kernels.inc.h):
     * 1 (513, 4097), 2 (4098), 3 (7, 4095), 0 (4096, 9000) */
    static const ptrdiff_t sizes[] = {0, 1, 7, 513, 4095, 4096, 4097, 4098, 9000};
    cfg c;
    size_t k;
    for (c.f64 = 0; c.f64 < 2; c.f64++)
        for (c.kind = 0; c.kind < 2; c.kind++)
            for (c.reduction = 0; c.reduction < 3; c.reduction++)
                for (c.wrt = 0; c.wrt < 2; c.wrt++)
                    for (c.has_w = 0; c.has_w < 2; c.has_w++)
                        for (c.has_g = 0; c.has_g < 2; c.has_g++)
                            for (c.hard = 0; c.hard < 2; c.hard++) {
                                c.has_pw = c.kind == LOGITS && c.has_w; /* both or neither */
                                c.s = c.has_g ? 0.1 : 0.0;
                                for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
                                    test_against_reference(&c, sizes[k]);
                            }
}

/* ---- 2. known values -------------------------------------------------------- */

static void test_known_values(void)
{
    double x[3] = {0.0, 1.0, 1.0}, t[3] = {1.0, 0.0, 1.0}, o[3];
    ptrdiff_t shape[1] = {3};
    cbce_args a;
    cbce_output out;
    double total;
    a = xt_args(1, shape, x, one_stride, t, one_stride);
    out.data = o;
    out.strides = one_stride;
    CHECK(cbce_bce_loss_f64(&a, out, NULL) == CBCE_OK, "status");
    CHECK(o[0] == 100.0 && o[1] == 100.0 && o[2] == 0.0, "l(0,1)=%g l(1,0)=%g l(1,1)=%g", o[0], o[1],
          o[2]);
    a.reduction = CBCE_REDUCTION_SUM;
    CHECK(cbce_bce_loss_f64(&a, out, &total) == CBCE_OK && total == 200.0, "sum %g", total);
    a.reduction = CBCE_REDUCTION_MEAN;
    CHECK(cbce_bce_loss_f64(&a, out, &total) == CBCE_OK && total == 200.0 / 3.0, "mean %.17g",
          total);
    {
        /* R torch's pos_weight example: x = 1.5, t = 1 gives -log(sigmoid(1.5)). */
        double lx = 1.5, lt = 1.0, r = 0.20141327798275246; /* log1p(exp(-1.5)) */
        float fx = 1.5f, ft = 1.0f;
        ptrdiff_t s0[1] = {1};
        double tot;
        a.ndim = 0;
        a.shape = NULL;
        a.input.data = &lx;
        a.input.strides = NULL;
        a.target.data = &lt;
        a.target.strides = NULL;
        a.reduction = CBCE_REDUCTION_MEAN;
        CHECK(cbce_bce_logits_loss_f64(&a, out, &tot) == CBCE_OK && fabs(tot - r) <= 1e-16,
              "logits example %.17g", tot);
        a.input.data = &fx;
        a.target.data = &ft;
        CHECK(cbce_bce_logits_loss_f32(&a, out, &tot) == CBCE_OK && tot == (double)(float)r,
              "logits example f32 %.9g", tot);
        (void)s0;
    }
}

/* ---- 3. layouts: N-d, transposed, negative, zero strides, in place ------------ */

/* The configuration of the layout tests: mostly hard labels, no factors. */
static cfg cfg_hard(int f64, int kind)
{
    cfg c;
    memset(&c, 0, sizeof c);
    c.f64 = f64;
    c.kind = kind;
    c.hard = 1;
    return c;
}

/* A 3-d (4, 5, 300) logical array stored in a permuted, negative-stride
 * layout must give bitwise the same NONE results, gradients and sums as a
 * contiguous copy. */
static void test_layouts(int f64, int kind)
{
    enum { A = 4, B = 5, C = 300, N = A * B * C };
    ptrdiff_t shape[3] = {A, B, C};
    ptrdiff_t cs[3] = {B * C, C, 1};
    /* storage order (C, A, B) with the middle axis reversed */
    ptrdiff_t ps[3] = {B, -1, A * B};
    ptrdiff_t poff = (B - 1); /* element (0,0,0) sits at +B-1 */
    ptrdiff_t zs[3] = {0, 0, 1}; /* weight broadcast along the first two axes */
    ptrdiff_t i, j, k;
    cfg c;
    bufs b;
    arr xp, tp, op, gp;
    int red, bad = 0;
    c = cfg_hard(f64, kind);
    b = bufs_new(&c, N);
    xp = arr_new(f64, N);
    tp = arr_new(f64, N);
    op = arr_new(f64, N);
    gp = arr_new(f64, N);
    for (i = 0; i < A; i++)
        for (j = 0; j < B; j++)
            for (k = 0; k < C; k++) {
                ptrdiff_t l = i * cs[0] + j * cs[1] + k, p = poff + i * ps[0] + j * ps[1] + k * ps[2];
                arr_set(xp, p, arr_get(b.x, l));
                arr_set(tp, p, arr_get(b.t, l));
            }
    for (red = 0; red < 3; red++) {
        cbce_args a1, a2;
        cbce_output o1, o2, g1, g2;
        double t1 = 1, t2 = 2;
        int s1, s2;
        const char *base = (const char *)xp.p;
        size_t es = f64 ? sizeof(double) : sizeof(float);
        memset(&a1, 0, sizeof a1);
        a1.ndim = 3;
        a1.shape = shape;
        a1.input.data = b.x.p;
        a1.input.strides = cs;
        a1.target.data = b.t.p;
        a1.target.strides = cs;
        a1.weight.data = b.w.p;
        a1.weight.strides = zs;
        a1.reduction = red;
        a1.label_smoothing = 0.05;
        a2 = a1;
        a2.input.data = base + es * (size_t)poff;
        a2.input.strides = ps;
        a2.target.data = (const char *)tp.p + es * (size_t)poff;
        a2.target.strides = ps;
        o1.data = b.out.p;
        o1.strides = cs;
        g1.data = b.grad.p;
        g1.strides = cs;
        o2.data = (char *)op.p + es * (size_t)poff;
        o2.strides = ps;
        g2.data = (char *)gp.p + es * (size_t)poff;
        g2.strides = ps;
        s1 = call(f64, kind, LOSS | GRAD, &a1, o1, &t1, g1);
        s2 = call(f64, kind, LOSS | GRAD, &a2, o2, &t2, g2);
        CHECK(s1 == CBCE_OK && s2 == CBCE_OK, "layout status %d %d", s1, s2);
        if (red != CBCE_REDUCTION_NONE) CHECK(same_bits(t1, t2), "layout sum %.17g %.17g", t1, t2);
        for (i = 0; i < A; i++)
            for (j = 0; j < B; j++)
                for (k = 0; k < C; k++) {
                    ptrdiff_t l = i * cs[0] + j * cs[1] + k, p = poff + i * ps[0] + j * ps[1] + k * ps[2];
                    if (!same_bits(arr_get(b.grad, l), arr_get(gp, p))) bad++;
                    if (red == 0 && !same_bits(arr_get(b.out, l), arr_get(op, p))) bad++;
                }
        CHECK(bad == 0, "layout f64=%d kind=%d red=%d: %d mismatches", f64, kind, red, bad);
        /* the same values as a flat 1-d view give the same sum (blocks are logical) */
        if (red != CBCE_REDUCTION_NONE) {
            ptrdiff_t flat[1] = {N};
            arr wfull = arr_new(f64, N);
            double t3 = 3;
            for (i = 0; i < N; i++) arr_set(wfull, i, arr_get(b.w, i % C));
            a1.ndim = 1;
            a1.shape = flat;
            a1.input.strides = one_stride;
            a1.target.strides = one_stride;
            a1.weight.data = wfull.p;
            a1.weight.strides = one_stride;
            call(f64, kind, LOSS, &a1, o1, &t3, g1);
            CHECK(same_bits(t1, t3), "flat vs 3-d sum %.17g %.17g", t3, t1);
            free(wfull.p);
        }
    }
    /* in place: the output view is the input view */
    {
        cbce_args a;
        cbce_output o;
        ptrdiff_t flat[1] = {N};
        a = xt_args(1, flat, b.x.p, one_stride, b.t.p, one_stride);
        o.data = b.out.p;
        o.strides = one_stride;
        /* the gradient over (a copy of) the input, beside a loss output of
         * its own: the same values as into separate (direct) outputs */
        {
            cbce_output go, lo;
            arr xcopy = arr_new(f64, N);
            for (i = 0; i < N; i++) arr_set(xcopy, i, arr_get(b.x, i));
            a.input.data = xcopy.p;
            go.data = b.grad2.p;
            go.strides = one_stride;
            lo.data = b.out2.p;
            lo.strides = one_stride;
            CHECK(call(f64, kind, LOSS | GRAD, &a, lo, NULL, go) == CBCE_OK, "grad status");
            go.data = xcopy.p;
            lo.data = b.out.p;
            CHECK(call(f64, kind, LOSS | GRAD, &a, lo, NULL, go) == CBCE_OK, "grad in place status");
            bad = 0;
            for (i = 0; i < N; i++) {
                bad += !same_bits(arr_get(xcopy, i), arr_get(b.grad2, i));
                bad += !same_bits(arr_get(b.out, i), arr_get(b.out2, i));
            }
            CHECK(bad == 0, "gradient in place f64=%d kind=%d: %d mismatches", f64, kind, bad);
            free(xcopy.p);
            a.input.data = b.x.p;
        }
        call(f64, kind, LOSS, &a, o, NULL, o);
        o.data = b.x.p; /* overwrite the input */
        CHECK(call(f64, kind, LOSS, &a, o, NULL, o) == CBCE_OK, "in place status");
        bad = 0;
        for (i = 0; i < N; i++) bad += !same_bits(arr_get(b.x, i), arr_get(b.out, i));
        CHECK(bad == 0, "in place loss: %d mismatches", bad);
    }
    free(xp.p);
    free(tp.p);
    free(op.p);
    free(gp.p);
    bufs_free(&b);
}

/* Which operands the layout calls flat (C-contiguous over the whole layout):
 * contiguous (R, C) input, target and output beside a (C,) weight row are;
 * the row, a transposed target and a strided output are not; in a layout
 * merged into one dim, every unit-stride operand is. */
/* The (5, 7) call of the layout flag tests: contiguous x and t, a (7,) weight
 * row w, the outputs out and grad (NULL: absent), reduction NONE. */
static const ptrdiff_t row_shape[2] = {5, 7}, row_cs[2] = {7, 1}, row_rs[2] = {0, 1};

static void row_call(cbce_args *a, cbce__call *call, double *x, double *t, double *w,
                     double *out, double *grad)
{
    *a = xt_args(2, row_shape, x, row_cs, t, row_cs);
    a->weight.data = w;
    a->weight.strides = row_rs;
    memset(call, 0, sizeof *call);
    call->data[CBCE__OP_INPUT] = x;
    call->data[CBCE__OP_TARGET] = t;
    call->data[CBCE__OP_WEIGHT] = w;
    call->data[CBCE__OP_OUT] = out;
    call->data[CBCE__OP_GRAD] = grad;
    call->reduction = CBCE_REDUCTION_NONE;
}

static void test_layout_flat(void)
{
    const ptrdiff_t *cs = row_cs;
    ptrdiff_t ts[2] = {1, 5}, ss[2] = {14, 2};
    double x[35] = {0}, t[35] = {0}, w[7] = {0}, out[70]; /* 70: room for the ss strides */
    cbce_args a;
    cbce__call call;
    cbce__layout lay;
    row_call(&a, &call, x, t, w, out, NULL);
    cbce__layout_init(&lay, &a, &call, cs, NULL, sizeof(double));
    CHECK(lay.ndim == 2 && lay.flat[CBCE__OP_INPUT] && lay.flat[CBCE__OP_TARGET] &&
              !lay.flat[CBCE__OP_WEIGHT] && lay.flat[CBCE__OP_OUT] && !lay.flat[CBCE__OP_GRAD],
          "flat: row beside contiguous operands");
    a.target.strides = ts;
    cbce__layout_init(&lay, &a, &call, ss, NULL, sizeof(double));
    CHECK(lay.flat[CBCE__OP_INPUT] && !lay.flat[CBCE__OP_TARGET] && !lay.flat[CBCE__OP_OUT],
          "flat: transposed target, strided output");
    a.target.strides = cs;
    a.weight.strides = cs;
    cbce__layout_init(&lay, &a, &call, cs, NULL, sizeof(double));
    CHECK(lay.ndim == 1 && lay.flat[CBCE__OP_INPUT] && lay.flat[CBCE__OP_WEIGHT] &&
              lay.flat[CBCE__OP_OUT],
          "flat: merged layout");
}

/* Which outputs the math loops write directly (cbce__layout.direct): flat
 * ones that share no byte with another operand; in place, overlapping by
 * one element, strided, or over the scalar grad_output of a mean: the buffer. */
static void test_layout_direct(void)
{
    const ptrdiff_t *cs = row_cs;
    ptrdiff_t ss[2] = {14, 2};
    double x[35] = {0}, t[35] = {0}, w[7] = {0}, out[70], grad[35];
    cbce_args a;
    cbce__call call;
    cbce__layout lay;
    row_call(&a, &call, x, t, w, out, grad);
    cbce__layout_init(&lay, &a, &call, cs, cs, sizeof(double));
    CHECK(lay.direct[CBCE__OP_OUT] && lay.direct[CBCE__OP_GRAD] && !lay.direct[CBCE__OP_INPUT],
          "direct: separate outputs");
    call.data[CBCE__OP_OUT] = x;
    cbce__layout_init(&lay, &a, &call, cs, cs, sizeof(double));
    CHECK(!lay.direct[CBCE__OP_OUT] && lay.direct[CBCE__OP_GRAD], "direct: loss in place");
    call.data[CBCE__OP_GRAD] = out; /* out[0..35) */
    call.data[CBCE__OP_OUT] = out + 35;
    cbce__layout_init(&lay, &a, &call, cs, cs, sizeof(double));
    CHECK(lay.direct[CBCE__OP_OUT] && lay.direct[CBCE__OP_GRAD], "direct: neighbours");
    call.data[CBCE__OP_OUT] = out + 34; /* its first element is the grad's last */
    cbce__layout_init(&lay, &a, &call, cs, cs, sizeof(double));
    CHECK(!lay.direct[CBCE__OP_OUT] && !lay.direct[CBCE__OP_GRAD], "direct: one element shared");
    call.data[CBCE__OP_OUT] = out;
    call.data[CBCE__OP_GRAD] = grad;
    cbce__layout_init(&lay, &a, &call, ss, cs, sizeof(double));
    CHECK(!lay.direct[CBCE__OP_OUT] && lay.direct[CBCE__OP_GRAD], "direct: strided output");
    call.data[CBCE__OP_WEIGHT] = grad + 28; /* the row over the grad's last 7 */
    a.weight.data = grad + 28;
    cbce__layout_init(&lay, &a, &call, cs, cs, sizeof(double));
    CHECK(lay.direct[CBCE__OP_OUT] && !lay.direct[CBCE__OP_GRAD], "direct: over the weight row");
    call.data[CBCE__OP_WEIGHT] = w;
    a.weight.data = w;
    /* a float32 call: the same layout spans half the bytes */
    call.data[CBCE__OP_GRAD] = (float *)(void *)out + 35;
    call.data[CBCE__OP_OUT] = NULL;
    call.reduction = CBCE_REDUCTION_MEAN;
    call.data[CBCE__OP_GRAD_OUTPUT] = (float *)(void *)out + 34; /* the scalar g of a mean */
    cbce__layout_init(&lay, &a, &call, NULL, cs, sizeof(float));
    CHECK(lay.direct[CBCE__OP_GRAD] && !lay.direct[CBCE__OP_OUT], "direct: float32 beside g");
    call.data[CBCE__OP_GRAD_OUTPUT] = (float *)(void *)out + 35 + 34;
    cbce__layout_init(&lay, &a, &call, NULL, cs, sizeof(float));
    CHECK(!lay.direct[CBCE__OP_GRAD], "direct: float32 over g");
}

/* Contiguous (R, C) operands beside a broadcast (C,) row (weight and, for
 * logits, pos_weight): the layout keeps the two dims apart, so the contiguous
 * operands are read and written as one run per chunk across the short rows
 * (cbce__layout.flat) while the rows are gathered. Every result must equal
 * that of the same values all contiguous and 1-d, bit for bit; so must an
 * in-place call (the loss written over the input). C = 7 puts ~37 rows in a
 * chunk; R*C = 2023 ends in a partial chunk. */
static void test_flat_beside_broadcast(int f64, int kind)
{
    enum { R = 289, C = 7, N = R * C };
    ptrdiff_t shape2[2] = {R, C}, cs[2] = {C, 1}, rs[2] = {0, 1}, shape1[1] = {N};
    ptrdiff_t i;
    cfg c;
    bufs b;
    arr wfull, pwfull, xcopy;
    int red, bad = 0;
    c = cfg_hard(f64, kind);
    b = bufs_new(&c, N);
    wfull = arr_new(f64, N);
    pwfull = arr_new(f64, N);
    xcopy = arr_new(f64, N);
    for (i = 0; i < N; i++) {
        arr_set(wfull, i, arr_get(b.w, i % C));
        arr_set(pwfull, i, arr_get(b.pw, i % C));
        arr_set(xcopy, i, arr_get(b.x, i));
    }
    for (red = 0; red < 3; red++) {
        cbce_args a2, a1;
        cbce_output o2, g2, o1, g1;
        double t2 = 1, t1 = 2;
        int s1, s2;
        a2 = xt_args(2, shape2, b.x.p, cs, b.t.p, cs);
        a2.weight.data = b.w.p;
        a2.weight.strides = rs;
        if (kind == LOGITS) {
            a2.pos_weight.data = b.pw.p;
            a2.pos_weight.strides = rs;
        }
        a2.reduction = red;
        a1 = xt_args(1, shape1, b.x.p, one_stride, b.t.p, one_stride);
        a1.weight.data = wfull.p;
        a1.weight.strides = one_stride;
        if (kind == LOGITS) {
            a1.pos_weight.data = pwfull.p;
            a1.pos_weight.strides = one_stride;
        }
        a1.reduction = red;
        o2.data = b.out.p;
        o2.strides = cs;
        g2.data = b.grad.p;
        g2.strides = cs;
        o1.data = b.out2.p;
        o1.strides = one_stride;
        g1.data = b.grad2.p;
        g1.strides = one_stride;
        s2 = call(f64, kind, LOSS | GRAD, &a2, o2, &t2, g2);
        s1 = call(f64, kind, LOSS | GRAD, &a1, o1, &t1, g1);
        CHECK(s1 == CBCE_OK && s2 == CBCE_OK, "flat beside broadcast status %d %d", s1, s2);
        if (red != CBCE_REDUCTION_NONE) CHECK(same_bits(t1, t2), "flat sum %.17g %.17g", t1, t2);
        for (i = 0; i < N; i++) {
            if (!same_bits(arr_get(b.grad, i), arr_get(b.grad2, i))) bad++;
            if (red == CBCE_REDUCTION_NONE && !same_bits(arr_get(b.out, i), arr_get(b.out2, i)))
                bad++;
        }
        CHECK(bad == 0, "flat beside broadcast f64=%d kind=%d red=%d: %d mismatches", f64, kind,
              red, bad);
        if (red == CBCE_REDUCTION_NONE) { /* in place: b.out2 holds the expected losses */
            o2.data = b.x.p;
            CHECK(call(f64, kind, LOSS, &a2, o2, NULL, o2) == CBCE_OK, "flat in place status");
            for (i = 0; i < N; i++) {
                bad += !same_bits(arr_get(b.x, i), arr_get(b.out2, i));
                arr_set(b.x, i, arr_get(xcopy, i));
            }
            CHECK(bad == 0, "flat in place f64=%d kind=%d: %d mismatches", f64, kind, bad);
        }
    }
    free(wfull.p);
    free(pwfull.p);
    free(xcopy.p);
    bufs_free(&b);
}

/* ---- 4. every ISA level equals the scalar one bit for bit ---------------------- */

static void run_suite_outputs(int f64, int kind, ptrdiff_t n, double *res)
{
    /* fills res[0..4n+1]: NONE loss, grad wrt input (per-element g), grad wrt
     * target (MEAN, smoothing), the SUM and the MEAN */
    cfg c;
    bufs b;
    ptrdiff_t shape[1], i;
    cbce_args a;
    cbce_output out, grad;
    double total;
    memset(&c, 0, sizeof c);
    c.f64 = f64;
    c.kind = kind;
    c.has_w = c.has_g = 1;
    c.has_pw = kind == LOGITS;
    c.s = 0.2;
    g_rng = 12345;
    b = bufs_new(&c, n);
    shape[0] = n;
    a = args_1d(&c, &b, shape);
    out.data = b.out.p;
    out.strides = one_stride;
    grad.data = b.grad.p;
    grad.strides = one_stride;
    a.reduction = CBCE_REDUCTION_NONE;
    a.wrt = CBCE_WRT_INPUT;
    call(f64, kind, LOSS | GRAD, &a, out, NULL, grad);
    for (i = 0; i < n; i++) {
        res[i] = arr_get(b.out, i);
        res[n + i] = arr_get(b.grad, i);
    }
    a.reduction = CBCE_REDUCTION_MEAN;
    a.wrt = CBCE_WRT_TARGET;
    call(f64, kind, LOSS | GRAD, &a, out, &total, grad);
    for (i = 0; i < n; i++) res[2 * n + i] = arr_get(b.grad, i);
    res[3 * n] = total;
    a.reduction = CBCE_REDUCTION_SUM;
    call(f64, kind, LOSS, &a, out, &res[3 * n + 1], grad);
    bufs_free(&b);
}

static void test_isa_levels(void)
{
    enum { N = 5000 };
    static double ref[3 * N + 2], got[3 * N + 2];
    int isa, f64, kind, saved = cbce_get_isa(), tested = 0;
    CHECK(cbce_isa_available(CBCE_ISA_SCALAR), "scalar always available");
    CHECK(cbce_isa_available(cbce_best_isa()), "best is available");
    CHECK(cbce_set_isa(CBCE_ISA_COUNT) == CBCE_BAD_ARGUMENT, "set bad isa");
    CHECK(cbce_set_isa(-1) == CBCE_BAD_ARGUMENT, "set bad isa");
    CHECK(cbce_isa_name(CBCE_ISA_COUNT) == NULL && strcmp(cbce_isa_name(CBCE_ISA_AVX2), "avx2") == 0,
          "isa names");
    for (f64 = 0; f64 < 2; f64++)
        for (kind = 0; kind < 2; kind++) {
            cbce_set_isa(CBCE_ISA_SCALAR);
            run_suite_outputs(f64, kind, N, ref);
            for (isa = 1; isa < CBCE_ISA_COUNT; isa++) {
                int i, bad = 0;
                if (!cbce_isa_available(isa)) continue;
                CHECK(cbce_set_isa(isa) == CBCE_OK && cbce_get_isa() == isa, "set isa %d", isa);
                run_suite_outputs(f64, kind, N, got);
                for (i = 0; i < 3 * N + 2; i++) bad += !same_bits(ref[i], got[i]);
                CHECK(bad == 0, "isa %s f64=%d kind=%d: %d values differ from scalar",
                      cbce_isa_name(isa), f64, kind, bad);
                tested++;
            }
        }
    printf("ISA levels compared with scalar:");
    for (isa = 1; isa < CBCE_ISA_COUNT; isa++)
        if (cbce_isa_available(isa)) printf(" %s", cbce_isa_name(isa));
    printf(" (best: %s)\n", cbce_isa_name(cbce_best_isa()));
    cbce_set_isa(saved);
}

/* ---- 5. range errors and argument errors -------------------------------------- */

static void test_range_errors(void)
{
    enum { N = 1500 };
    static double x[N], t[N], o[N];
    ptrdiff_t shape[1] = {N};
    cbce_args a;
    cbce_output out;
    double total = 42.0;
    int i;
    a = xt_args(1, shape, x, one_stride, t, one_stride);
    a.reduction = CBCE_REDUCTION_SUM;
    out.data = o;
    out.strides = one_stride;
    for (i = 0; i < N; i++) x[i] = t[i] = 0.5;
    CHECK(cbce_bce_check_f64(&a) == CBCE_OK, "check ok");
    x[900] = 1.0000000000000002;
    CHECK(cbce_bce_check_f64(&a) == CBCE_INPUT_OUT_OF_RANGE, "input > 1");
    CHECK(cbce_bce_loss_f64(&a, out, &total) == CBCE_INPUT_OUT_OF_RANGE && total == 42.0,
          "loss input range, total untouched");
    t[700] = -0.0001; /* an earlier bad target is reported first */
    CHECK(cbce_bce_check_f64(&a) == CBCE_TARGET_OUT_OF_RANGE, "first offending element");
    x[700] = NAN; /* input before target for the same element */
    CHECK(cbce_bce_check_f64(&a) == CBCE_INPUT_OUT_OF_RANGE, "input priority");
    CHECK(cbce_bce_grad_f64(&a, out) == CBCE_INPUT_OUT_OF_RANGE, "grad checks too");
    x[700] = 0.5;
    x[900] = 0.5;
    t[700] = NAN;
    CHECK(cbce_bce_loss_f64(&a, out, &total) == CBCE_TARGET_OUT_OF_RANGE, "target NaN");
    t[700] = 0.5;
    x[3] = -0.0; /* -0 is in range */
    CHECK(cbce_bce_check_f64(&a) == CBCE_OK, "-0 in range");
    /* the bit test of every value class, in x and in t, at a vector lane and
     * in the scalar tail */
    {
        static const uint64_t bad_bits[] = {
            UINT64_C(0x7ff8000000000000), UINT64_C(0xfff8000000000000), /* +-NaN */
            UINT64_C(0x7ff0000000000001), UINT64_C(0xffffffffffffffff), /* payloads */
            UINT64_C(0x7ff0000000000000), UINT64_C(0xfff0000000000000), /* +-inf */
            UINT64_C(0x3ff0000000000001), UINT64_C(0x7fefffffffffffff), /* 1+ulp, max */
            UINT64_C(0x4000000000000000), UINT64_C(0x8000000000000001), /* 2, -tiny */
            UINT64_C(0xbff0000000000000), UINT64_C(0xbff0000000000001), /* -1, below */
            UINT64_C(0xbfefffffffffffff), UINT64_C(0xc000000000000000)};
        static const double good[] = {0.0, -0.0, 1.0, 0x1p-1074, 0x1.fffffffffffffp-1, 0.5};
        int k, pos, ok = 1;
        for (pos = 0; pos < 2; pos++) {
            int at = pos ? N - 1 : 17;
            for (k = 0; k < (int)(sizeof bad_bits / sizeof *bad_bits); k++) {
                double v;
                memcpy(&v, &bad_bits[k], sizeof v);
                x[at] = v;
                ok &= cbce_bce_check_f64(&a) == CBCE_INPUT_OUT_OF_RANGE;
                x[at] = 0.5;
                t[at] = v;
                ok &= cbce_bce_check_f64(&a) == CBCE_TARGET_OUT_OF_RANGE;
                t[at] = 0.5;
            }
            for (k = 0; k < (int)(sizeof good / sizeof *good); k++) {
                x[at] = t[at] = good[k];
                ok &= cbce_bce_check_f64(&a) == CBCE_OK;
                x[at] = t[at] = 0.5;
            }
        }
        CHECK(ok, "range bits: NaN, inf, beyond [0, 1] rejected; 0, -0, 1 accepted");
    }
    /* logits kernels check nothing */
    x[5] = NAN;
    t[6] = 7.0;
    CHECK(cbce_bce_logits_loss_f64(&a, out, &total) == CBCE_OK && total != total, "logits NaN propagates");
    {
        float xf[2] = {0.5f, 2.0f}, tf[2] = {0.5f, 0.5f};
        ptrdiff_t s2[1] = {2};
        a.shape = s2;
        a.input.data = xf;
        a.target.data = tf;
        CHECK(cbce_bce_check_f32(&a) == CBCE_INPUT_OUT_OF_RANGE, "f32 range");
    }
}

static void test_argument_errors(void)
{
    double x[4] = {0.5, 0.5, 0.5, 0.5}, o[4] = {7, 7, 7, 7}, total = 9;
    ptrdiff_t shape[1] = {4}, neg[1] = {-1};
    cbce_args a, b;
    cbce_output out, none = {NULL, NULL};
    a = xt_args(1, shape, x, one_stride, x, one_stride);
    out.data = o;
    out.strides = one_stride;
    CHECK(cbce_bce_loss_f64(NULL, out, &total) == CBCE_BAD_ARGUMENT, "NULL args");
    b = a; b.input.data = NULL;
    CHECK(cbce_bce_loss_f64(&b, out, &total) == CBCE_BAD_ARGUMENT, "NULL input");
    b = a; b.target.data = NULL;
    CHECK(cbce_bce_check_f64(&b) == CBCE_BAD_ARGUMENT, "NULL target");
    b = a; b.ndim = -1;
    CHECK(cbce_bce_loss_f64(&b, out, &total) == CBCE_BAD_ARGUMENT, "ndim < 0");
    b = a; b.ndim = CBCE_MAX_NDIM + 1;
    CHECK(cbce_bce_loss_f64(&b, out, &total) == CBCE_BAD_ARGUMENT, "ndim too large");
    b = a; b.shape = neg;
    CHECK(cbce_bce_loss_f64(&b, out, &total) == CBCE_BAD_ARGUMENT, "negative extent");
    b = a; b.shape = NULL;
    CHECK(cbce_bce_loss_f64(&b, out, &total) == CBCE_BAD_ARGUMENT, "NULL shape");
    b = a; b.input.strides = NULL;
    CHECK(cbce_bce_loss_f64(&b, out, &total) == CBCE_BAD_ARGUMENT, "NULL strides");
    b = a; b.reduction = 3;
    CHECK(cbce_bce_loss_f64(&b, out, &total) == CBCE_BAD_ARGUMENT, "bad reduction");
    b = a; b.reduction = -1;
    CHECK(cbce_bce_logits_loss_f32(&b, out, &total) == CBCE_BAD_ARGUMENT, "bad reduction");
    b = a; b.wrt = 2;
    CHECK(cbce_bce_grad_f64(&b, out) == CBCE_BAD_ARGUMENT, "bad wrt");
    b = a; b.label_smoothing = NAN;
    CHECK(cbce_bce_loss_f64(&b, out, &total) == CBCE_BAD_ARGUMENT, "smoothing NaN");
    b = a; b.label_smoothing = 1.5;
    CHECK(cbce_bce_logits_grad_f64(&b, out) == CBCE_BAD_ARGUMENT, "smoothing > 1");
    b = a; b.label_smoothing = -0.1;
    CHECK(cbce_bce_check_f64(&b) == CBCE_BAD_ARGUMENT, "smoothing < 0");
    b = a; b.reduction = CBCE_REDUCTION_MEAN;
    CHECK(cbce_bce_loss_f64(&b, out, NULL) == CBCE_BAD_ARGUMENT, "NULL total");
    CHECK(cbce_bce_loss_and_grad_f64(&b, none, NULL, out) == CBCE_BAD_ARGUMENT, "NULL total fused");
    CHECK(cbce_bce_loss_f64(&a, none, &total) == CBCE_BAD_ARGUMENT, "NULL out for NONE");
    CHECK(cbce_bce_grad_f64(&a, none) == CBCE_BAD_ARGUMENT, "NULL grad");
    b = a; b.weight.data = x; b.weight.strides = NULL;
    CHECK(cbce_bce_loss_f64(&b, out, &total) == CBCE_BAD_ARGUMENT, "weight without strides");
    CHECK(o[0] == 7 && o[3] == 7 && total == 9, "nothing written on BAD_ARGUMENT");
    /* ndim = MAX with extents 1 is fine */
    {
        ptrdiff_t shp[CBCE_MAX_NDIM], st[CBCE_MAX_NDIM];
        int d;
        for (d = 0; d < CBCE_MAX_NDIM; d++) shp[d] = 1, st[d] = 0;
        b = a; b.ndim = CBCE_MAX_NDIM; b.shape = shp; b.input.strides = st; b.target.strides = st;
        b.reduction = CBCE_REDUCTION_SUM;
        CHECK(cbce_bce_loss_f64(&b, out, &total) == CBCE_OK && total == cbce_ew_bce_loss(0.5, 0.5),
              "ndim 64");
    }
    CHECK(strcmp(cbce_version(), CBCE_VERSION_STRING) == 0, "version");
    CHECK(strcmp(cbce_status_message(CBCE_INPUT_OUT_OF_RANGE),
                 "all elements of input should be between 0 and 1") == 0, "message");
    CHECK(cbce_status_message(99) != NULL, "unknown status message");
}

/* ---- 6. sums: empty, 0-d, ill-conditioned, infinities --------------------------- */

static void test_sums(void)
{
    enum { N = 20011 };
    static double x[N], t[N], w[N];
    ptrdiff_t shape[1] = {N}, i;
    cbce_args a;
    cbce_output none = {NULL, NULL}, out;
    static double o[N];
    double total, mag = 0;
    dd exact = {0, 0};
    a = xt_args(1, shape, x, one_stride, t, one_stride);
    a.weight.data = w;
    a.weight.strides = one_stride;
    out.data = o;
    out.strides = one_stride;
    /* ill-conditioned: weights of both signs over 40 binades cancel */
    g_rng = 777;
    for (i = 0; i < N; i++) {
        x[i] = (urand() - 0.5) * 10;
        t[i] = urand();
        double m = urand() + 0.5; /* draws in a fixed order (argument order is unspecified) */
        w[i] = ldexp(m, (int)(urand() * 40) - 20) * ((i & 1) ? -1 : 1);
    }
    a.reduction = CBCE_REDUCTION_NONE;
    cbce_bce_logits_loss_f64(&a, out, NULL);
    for (i = 0; i < N; i++) dd_add(&exact, o[i]), mag += fabs(o[i]);
    a.reduction = CBCE_REDUCTION_SUM;
    CHECK(cbce_bce_logits_loss_f64(&a, none, &total) == CBCE_OK, "status");
    CHECK(fabs(total - dd_val(exact)) <= ulp_of(mag, 1), "ill-conditioned sum %.17g vs %.17g (mag %g)",
          total, dd_val(exact), mag);
    /* with exact cancellation the sum is exactly 0: add each loss twice with
     * opposite weights */
    for (i = 0; i < N - 1; i += 2) x[i + 1] = x[i], t[i + 1] = t[i], w[i + 1] = -w[i];
    w[N - 1] = 0;
    CHECK(cbce_bce_logits_loss_f64(&a, none, &total) == CBCE_OK && total == 0.0, "exact zero %g", total);
    /* infinities: +inf stays inf, +inf and -inf give NaN */
    w[10] = INFINITY;
    cbce_bce_logits_loss_f64(&a, none, &total);
    CHECK(total == INFINITY, "+inf sum %g", total);
    w[5000] = -INFINITY;
    cbce_bce_logits_loss_f64(&a, none, &total);
    CHECK(total != total, "inf - inf sum %g", total);
    w[5000] = 1;
    w[10] = NAN;
    cbce_bce_logits_loss_f64(&a, none, &total);
    CHECK(total != total, "NaN sum");
    /* 0-d input */
    {
        double x0 = 0.25, t0 = 1.0, o0 = 0, tot;
        cbce_args z;
        cbce_output oz;
        memset(&z, 0, sizeof z);
        z.input.data = &x0;
        z.target.data = &t0;
        oz.data = &o0;
        oz.strides = NULL;
        CHECK(cbce_bce_loss_f64(&z, oz, NULL) == CBCE_OK && o0 == cbce_ew_bce_loss(0.25, 1.0), "0-d");
        z.reduction = CBCE_REDUCTION_MEAN;
        CHECK(cbce_bce_loss_f64(&z, oz, &tot) == CBCE_OK && tot == o0, "0-d mean");
        z.reduction = CBCE_REDUCTION_MEAN;
        CHECK(cbce_bce_grad_f64(&z, oz) == CBCE_OK && o0 == cbce_ew_bce_dx(0.25, 1.0), "0-d grad");
    }
    /* empty: SUM 0, MEAN NaN, nothing read */
    {
        ptrdiff_t e[2] = {3, 0};
        ptrdiff_t st[2] = {1, 1};
        cbce_args z;
        double tot = 5;
        memset(&z, 0, sizeof z);
        z.ndim = 2;
        z.shape = e;
        z.input.data = x;
        z.input.strides = st;
        z.target.data = t;
        z.target.strides = st;
        z.reduction = CBCE_REDUCTION_SUM;
        CHECK(cbce_bce_loss_f32(&z, none, &tot) == CBCE_OK && tot == 0.0, "empty sum");
        z.reduction = CBCE_REDUCTION_MEAN;
        CHECK(cbce_bce_loss_f64(&z, none, &tot) == CBCE_OK && tot != tot, "empty mean");
    }
}

/* ---- 7. large N through stride-0 operands --------------------------------------- */

static void test_large(ptrdiff_t n, int full)
{
    double x = 0.3, t = 0.7, total, g = 0;
    float xf = 0.3f, tf = 0.7f;
    ptrdiff_t shape[2], zero[2] = {0, 0};
    cbce_args a;
    cbce_output gout;
    double v = cbce_ew_bce_loss(0.3, 0.7);
    shape[0] = n / 1024;
    shape[1] = 1024;
    a = xt_args(2, shape, &x, zero, &t, zero);
    a.reduction = CBCE_REDUCTION_SUM;
    /* the exact sum is n*v; n is a double exactly, so v*(double)n is that sum
     * correctly rounded, which is what cbce must return */
    CHECK(cbce_bce_loss_f64(&a, (cbce_output){NULL, NULL}, &total) == CBCE_OK && total == v * (double)n,
          "large sum n=%.0f: %.17g vs %.17g", (double)n, total, v * (double)n);
    if (!full) return;
    a.reduction = CBCE_REDUCTION_MEAN;
    CHECK(cbce_bce_loss_f64(&a, (cbce_output){NULL, NULL}, &total) == CBCE_OK && total == v,
          "large mean %.17g vs %.17g", total, v);
    a.input.data = &xf;
    a.target.data = &tf;
    CHECK(cbce_bce_loss_f32(&a, (cbce_output){NULL, NULL}, &total) == CBCE_OK &&
              total == (double)(float)cbce_ew_bce_loss((double)0.3f, (double)0.7f),
          "large f32 mean %.9g", total);
    /* gradient into a stride-0 output (last write wins; all equal) */
    gout.data = &g;
    gout.strides = zero;
    a.input.data = &x;
    a.target.data = &t;
    CHECK(cbce_bce_grad_f64(&a, gout) == CBCE_OK && g == cbce_ew_bce_dx_wg(0.3, 0.7, 1.0, 1.0 / (double)n),
          "large grad");
}

int main(void)
{
    const char *huge = getenv("CBCE_TEST_HUGE");
    int f64, kind;
    test_known_values();
    test_all_configs();
    test_layout_flat();
    test_layout_direct();
    for (f64 = 0; f64 < 2; f64++)
        for (kind = 0; kind < 2; kind++) {
            test_layouts(f64, kind);
            test_flat_beside_broadcast(f64, kind);
        }
    test_isa_levels();
    test_range_errors();
    test_argument_errors();
    test_sums();
#if defined(__SANITIZE_ADDRESS__)
    test_large((ptrdiff_t)1 << 20, 1);
#else
    test_large((ptrdiff_t)1 << 24, 1); /* ~15-50 ns per element (formulas) */
#endif
    /* > 2^31 elements (64-bit indices): opt-in, about 30 s at AVX-512 */
    if (huge && huge[0] == '1') test_large(((ptrdiff_t)1 << 31) + ((ptrdiff_t)3 << 20), 0);
    printf("%ld passed, %ld failed\n", g_pass, g_fail);
    return g_fail != 0;
}
