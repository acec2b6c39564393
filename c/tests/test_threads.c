/*
 * test_threads.c -- threaded calls (cbce_args.num_threads) give the same bits
 * as one thread, range errors report the same status, the interrupt hook
 * stops a call early, and concurrent threaded calls do not disturb each other.
 *
 * Most cases lower cbce__min_per_thread to one block so that small inputs
 * (odd sizes around block multiples, strided and broadcast layouts) are split
 * up to 7 ways; one case keeps the default threshold on a large input.
 * The one-thread results themselves are checked against references by
 * test_kernels.c; here every thread count must reproduce them bit for bit.
 * Threads are kept and reused between calls (POSIX: threads.c): calls after
 * the helpers went to sleep, more concurrent callers than helpers, and a
 * forked child's calls give the same bits too. The same bits again when a
 * call is split into many tasks per thread, and when it runs alone because
 * it may not wake a thread (parallel.c: then no thread is created either;
 * after a pause a small call creates none, back-to-back calls do).
 * Prints "N passed, N failed" last.
 */
#if defined(__linux__)
#define _GNU_SOURCE /* the POSIX calls below and cpu_set_t, sched_getcpu: test_move_off_cpu */
#else
#define _POSIX_C_SOURCE 200112L /* fork, waitpid, alarm, nanosleep */
#endif
#include <math.h>
#include <pthread.h>
#if defined(__linux__)
#include <sched.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cbce/cbce.h"
#include "internal.h"
#include "threads.h"

#include "check.h"

static const int THREADS[] = {1, 2, 3, 4, 7};
#define NTHREADS ((int)(sizeof THREADS / sizeof THREADS[0]))

#define RNG_SEED 0x2545f4914f6cdd1dull
#include "rng.h"

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        printf("out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- one call -------------------------------------------------------------- */

#include "call_kernel.h"

/* ---- layouts ----------------------------------------------------------------
 * Every operand is a 2-d view (rows x cols) into its own buffer:
 *   CONTIG      C-contiguous (coalesces to 1-d)
 *   STRIDED     input every 3rd element, target reversed (negative strides)
 *   TRANSPOSED  input column-major, weight broadcast along rows (stride 0)
 */
enum { CONTIG = 0, STRIDED = 1, TRANSPOSED = 2, NLAYOUTS = 3 };

typedef struct {
    int f64, kind, what, reduction, wrt, layout, has_w, has_pw, has_g;
    double s;
    ptrdiff_t rows, cols;
} cfg;

typedef struct {
    void *x, *t, *w, *pw, *g, *out, *grad;
    ptrdiff_t shape[2];
    ptrdiff_t sx[2], st[2], sw[2], spw[2], sg[2], sout[2], sgrad[2];
    ptrdiff_t n; /* elements of the logical view */
    ptrdiff_t cap; /* elements per buffer */
    int f64;
} views;

static void put(void *p, int f64, ptrdiff_t i, double v)
{
    if (f64) ((double *)p)[i] = v;
    else ((float *)p)[i] = (float)v;
}

static views views_new(const cfg *c)
{
    views v;
    size_t es = c->f64 ? sizeof(double) : sizeof(float);
    ptrdiff_t i, r = c->rows, k = c->cols, n = r * k;
    memset(&v, 0, sizeof v);
    v.f64 = c->f64;
    v.n = n;
    v.cap = 3 * n + 1;
    v.shape[0] = r;
    v.shape[1] = k;
    v.x = xcalloc((size_t)v.cap, es);
    v.t = xcalloc((size_t)v.cap, es);
    v.w = xcalloc((size_t)v.cap, es);
    v.pw = xcalloc((size_t)v.cap, es);
    v.g = xcalloc((size_t)v.cap, es);
    v.out = xcalloc((size_t)v.cap, es);
    v.grad = xcalloc((size_t)v.cap, es);
    for (i = 0; i < v.cap; i++) {
        double u = urand();
        double x = c->kind == BCE ? ((i % 17 == 0) ? 0.0 : (i % 19 == 0) ? 1.0 : u)
                                  : (u - 0.5) * ((i % 3) ? 20.0 : 400.0);
        put(v.x, c->f64, i, x);
        put(v.t, c->f64, i, (i % 4 == 0) ? 1.0 : (i % 4 == 1) ? 0.0 : urand());
        /* Weights over 2^-30 .. 2^30, so that partial sums round and a
         * split inside a block would show in the bits. */
        put(v.w, c->f64, i, (0.25 + 2.0 * urand()) * ldexp(1.0, (int)(i * 7919 % 61) - 30));
        put(v.pw, c->f64, i, 0.5 + 3.0 * urand());
        put(v.g, c->f64, i, urand() - 0.3);
    }
    /* C-contiguous strides by default. */
    v.sx[0] = v.st[0] = v.sw[0] = v.spw[0] = v.sg[0] = v.sout[0] = v.sgrad[0] = k;
    v.sx[1] = v.st[1] = v.sw[1] = v.spw[1] = v.sg[1] = v.sout[1] = v.sgrad[1] = 1;
    if (c->layout == STRIDED) {
        v.sx[0] = 3 * k, v.sx[1] = 3;
        /* Reversed: element (i, j) at n-1 - (i*k + j); the base moves to the end. */
        v.st[0] = -k, v.st[1] = -1;
        v.sout[0] = 2 * k, v.sout[1] = 2;
    } else if (c->layout == TRANSPOSED) {
        v.sx[0] = 1, v.sx[1] = r;
        v.sw[0] = 0, v.sw[1] = 1;
        v.sgrad[0] = 1, v.sgrad[1] = r;
    }
    return v;
}

static void views_free(views *v)
{
    free(v->x);
    free(v->t);
    free(v->w);
    free(v->pw);
    free(v->g);
    free(v->out);
    free(v->grad);
}

static const void *base(const views *v, const void *p, const ptrdiff_t *s)
{
    /* Reversed views start at their last element. */
    ptrdiff_t off = (s[1] < 0 && v->n > 0) ? v->n - 1 : 0;
    return v->f64 ? (const void *)((const double *)p + off) : (const void *)((const float *)p + off);
}

static cbce_args args_of(const cfg *c, const views *v, int nthreads)
{
    cbce_args a;
    a = xt_args(2, v->shape, base(v, v->x, v->sx), v->sx, base(v, v->t, v->st), v->st);
    if (c->has_w) a.weight.data = v->w, a.weight.strides = v->sw;
    if (c->has_pw) a.pos_weight.data = v->pw, a.pos_weight.strides = v->spw;
    if (c->has_g) a.grad_output.data = v->g, a.grad_output.strides = v->sg;
    a.label_smoothing = c->s;
    a.reduction = c->reduction;
    a.wrt = c->wrt;
    a.num_threads = nthreads;
    return a;
}

/* Runs `c` with `nthreads`; returns the status, the total, and copies of the
 * whole out/grad buffers (so elements outside the views are compared too). */
static int run(const cfg *c, views *v, int nthreads, double *total, void *out_copy,
               void *grad_copy)
{
    size_t bytes = (size_t)v->cap * (c->f64 ? sizeof(double) : sizeof(float));
    cbce_args a = args_of(c, v, nthreads);
    cbce_output out, grad;
    int st;
    memset(v->out, 0xA5, bytes);
    memset(v->grad, 0x5A, bytes);
    out.data = v->out, out.strides = v->sout;
    grad.data = v->grad, grad.strides = v->sgrad;
    *total = -12345.0;
    st = call(c->f64, c->kind, c->what, &a, out, total, grad);
    memcpy(out_copy, v->out, bytes);
    memcpy(grad_copy, v->grad, bytes);
    return st;
}

static int same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static void describe(const cfg *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s what=%d red=%d wrt=%d layout=%d w=%d pw=%d g=%d s=%g shape=%ldx%ld",
             c->f64 ? "f64" : "f32", c->kind == BCE ? "bce" : "logits", c->what, c->reduction,
             c->wrt, c->layout, c->has_w, c->has_pw, c->has_g, c->s, (long)c->rows, (long)c->cols);
}

/* Every thread count reproduces the one-thread status, total and buffers. */
static void check_identical(const cfg *c)
{
    views v = views_new(c);
    size_t bytes = (size_t)v.cap * (c->f64 ? sizeof(double) : sizeof(float));
    void *out1 = xcalloc((size_t)v.cap, 8), *grad1 = xcalloc((size_t)v.cap, 8);
    void *outk = xcalloc((size_t)v.cap, 8), *gradk = xcalloc((size_t)v.cap, 8);
    double tot1, totk;
    char what[200];
    int st1 = run(c, &v, 1, &tot1, out1, grad1), i;
    describe(c, what, sizeof what);
    CHECK(st1 == CBCE_OK, "%s: status %d with 1 thread", what, st1);
    for (i = 1; i < NTHREADS; i++) {
        int stk = run(c, &v, THREADS[i], &totk, outk, gradk);
        CHECK(stk == st1, "%s: status %d with %d threads", what, stk, THREADS[i]);
        CHECK(same_double(totk, tot1), "%s: total %.17g vs %.17g with %d threads", what, totk,
              tot1, THREADS[i]);
        CHECK(memcmp(outk, out1, bytes) == 0, "%s: out differs with %d threads", what, THREADS[i]);
        CHECK(memcmp(gradk, grad1, bytes) == 0, "%s: grad differs with %d threads", what,
              THREADS[i]);
    }
    free(out1);
    free(grad1);
    free(outk);
    free(gradk);
    views_free(&v);
}

static void test_identical_results(void)
{
    /* rows x cols: sizes around multiples of the 4096-element block, odd
     * sizes, and a size that needs all 7 threads' worth of blocks. */
    static const ptrdiff_t shapes[][2] = {{1, 1},    {1, 4095}, {1, 4096}, {1, 4097},
                                          {3, 4096}, {7, 2927}, {33, 869}, {64, 1531}};
    static const int whats[] = {LOSS, GRAD, LOSS | GRAD};
    static const int reductions[] = {CBCE_REDUCTION_NONE, CBCE_REDUCTION_MEAN, CBCE_REDUCTION_SUM};
    int f64, kind, wi, ri, si, layout;
    for (f64 = 0; f64 <= 1; f64++)
        for (kind = BCE; kind <= LOGITS; kind++)
            for (wi = 0; wi < 3; wi++)
                for (ri = 0; ri < 3; ri++)
                    for (si = 0; si < (int)(sizeof shapes / sizeof shapes[0]); si++)
                        for (layout = 0; layout < NLAYOUTS; layout++) {
                            cfg c;
                            memset(&c, 0, sizeof c);
                            c.f64 = f64;
                            c.kind = kind;
                            c.what = whats[wi];
                            c.reduction = reductions[ri];
                            c.layout = layout;
                            c.rows = shapes[si][0];
                            c.cols = shapes[si][1];
                            /* Vary the optional operands with the case. */
                            c.has_w = (si + layout) % 2 == 0;
                            c.has_pw = kind == LOGITS && si % 3 != 1;
                            c.has_g = (c.what & GRAD) && (si + ri) % 2 == 1;
                            c.wrt = (si + wi) % 3 == 2 ? CBCE_WRT_TARGET : CBCE_WRT_INPUT;
                            c.s = si % 4 == 3 ? 0.1 : 0.0;
                            check_identical(&c);
                        }
}

/* ---- range errors ----------------------------------------------------------- */

/* BCE on n contiguous elements with bad values at the given indices; every
 * thread count must report the status of the smallest index (input first). */
static void check_range_error(int f64, int what, ptrdiff_t n, ptrdiff_t bad_x, ptrdiff_t bad_t,
                              int expect)
{
    cfg c;
    views v;
    int i;
    memset(&c, 0, sizeof c);
    c.f64 = f64;
    c.kind = BCE;
    c.what = what;
    c.reduction = CBCE_REDUCTION_SUM;
    c.rows = 1;
    c.cols = n;
    v = views_new(&c);
    if (bad_x >= 0) put(v.x, f64, bad_x, 1.5);
    if (bad_t >= 0) put(v.t, f64, bad_t, -1.0);
    for (i = 0; i < NTHREADS; i++) {
        cbce_args a = args_of(&c, &v, THREADS[i]);
        cbce_output out, grad;
        double total = 0.0;
        int st;
        out.data = v.out, out.strides = v.sout;
        grad.data = v.grad, grad.strides = v.sgrad;
        st = call(f64, BCE, what, &a, out, &total, grad);
        CHECK(st == expect, "range error n=%ld bad_x=%ld bad_t=%ld what=%d f64=%d: status %d, want %d with %d threads",
              (long)n, (long)bad_x, (long)bad_t, what, f64, st, expect, THREADS[i]);
    }
    views_free(&v);
}

static void test_range_errors(void)
{
    const ptrdiff_t B = CBCE_SUM_BLOCK, n = 14 * B + 77;
    int f64, what;
    for (f64 = 0; f64 <= 1; f64++) {
        for (what = CHECK_ONLY; what <= (LOSS | GRAD); what++) {
            /* A bad target in an early task, a bad input in a later one. */
            check_range_error(f64, what, n, 12 * B + 5, 2 * B + 100, CBCE_TARGET_OUT_OF_RANGE);
            /* The reverse. */
            check_range_error(f64, what, n, 2 * B + 100, 12 * B + 5, CBCE_INPUT_OUT_OF_RANGE);
            /* Both in one element: the input is checked first. */
            check_range_error(f64, what, n, 9 * B, 9 * B, CBCE_INPUT_OUT_OF_RANGE);
            /* Neighbours across a block (and task) boundary. */
            check_range_error(f64, what, n, 6 * B, 6 * B - 1, CBCE_TARGET_OUT_OF_RANGE);
            check_range_error(f64, what, n, 6 * B - 1, 6 * B, CBCE_INPUT_OUT_OF_RANGE);
            /* Only in the last, partial block; only in the first element. */
            check_range_error(f64, what, n, -1, n - 1, CBCE_TARGET_OUT_OF_RANGE);
            check_range_error(f64, what, n, 0, -1, CBCE_INPUT_OUT_OF_RANGE);
        }
    }
}

/* ---- interrupts --------------------------------------------------------------- */

typedef struct {
    int calls;      /* how often the hook ran */
    int stop_at;    /* return nonzero on this call (0: never) */
    pthread_t caller;
    int wrong_thread;
} hook_state;

static int hook(void *ctx)
{
    hook_state *h = (hook_state *)ctx;
    if (!pthread_equal(pthread_self(), h->caller)) h->wrong_thread = 1;
    h->calls++;
    return h->stop_at != 0 && h->calls >= h->stop_at;
}

/* A long sum over a broadcast (stride 0) view: 2^24 elements, no memory. */
static void run_broadcast(int f64, int nthreads, hook_state *h, int *status, double *total)
{
    static const ptrdiff_t shape[1] = {(ptrdiff_t)1 << 24};
    static const ptrdiff_t zero[1] = {0};
    double xd = 0.25, td = 0.75;
    float xf = 0.25f, tf = 0.75f;
    cbce_args a;
    cbce_output none = {NULL, NULL};
    a = xt_args(1, shape, f64 ? (const void *)&xd : (const void *)&xf, zero,
                f64 ? (const void *)&td : (const void *)&tf, zero);
    a.reduction = CBCE_REDUCTION_SUM;
    a.num_threads = nthreads;
    if (h) {
        a.interrupt = hook;
        a.interrupt_ctx = h;
    }
    *total = 0.0;
    *status = f64 ? cbce_bce_loss_f64(&a, none, total) : cbce_bce_loss_f32(&a, none, total);
}

static void test_interrupt(void)
{
    int i, f64 = 1;
    double want, got;
    int st;
    run_broadcast(f64, 1, NULL, &st, &want);
    CHECK(st == CBCE_OK, "broadcast sum status %d", st);
    for (i = 0; i < NTHREADS; i++) {
        hook_state h;
        memset(&h, 0, sizeof h);
        h.caller = pthread_self();
        /* A hook that never asks to stop changes nothing. */
        run_broadcast(f64, THREADS[i], &h, &st, &got);
        CHECK(st == CBCE_OK && same_double(got, want), "silent hook, %d threads: %d %.17g %.17g",
              THREADS[i], st, got, want);
        CHECK(h.calls > 0, "hook never called with %d threads", THREADS[i]);
        CHECK(!h.wrong_thread, "hook ran off the calling thread (%d threads)", THREADS[i]);
        /* Stopping on the 3rd call: interrupted, and no call after that. */
        memset(&h, 0, sizeof h);
        h.caller = pthread_self();
        h.stop_at = 3;
        run_broadcast(f64, THREADS[i], &h, &st, &got);
        CHECK(st == CBCE_INTERRUPTED, "interrupt, %d threads: status %d", THREADS[i], st);
        CHECK(h.calls == 3, "interrupt, %d threads: hook called %d times", THREADS[i], h.calls);
        CHECK(got == 0.0, "interrupt wrote the total (%d threads)", THREADS[i]);
        CHECK(!h.wrong_thread, "hook ran off the calling thread (%d threads)", THREADS[i]);
    }
    /* Small inputs never call the hook. */
    {
        static const ptrdiff_t shape[1] = {1000};
        static const ptrdiff_t zero[1] = {0};
        double x = 0.5, t = 0.5, total;
        hook_state h;
        cbce_args a;
        cbce_output none = {NULL, NULL};
        memset(&h, 0, sizeof h);
        h.caller = pthread_self();
        h.stop_at = 1;
        a = xt_args(1, shape, &x, zero, &t, zero);
        a.reduction = CBCE_REDUCTION_MEAN;
        a.num_threads = 4;
        a.interrupt = hook, a.interrupt_ctx = &h;
        st = cbce_bce_loss_f64(&a, none, &total);
        CHECK(st == CBCE_OK && h.calls == 0, "small call: status %d, %d hook calls", st, h.calls);
    }
}

/* ---- default threshold, in place, concurrent callers ------------------------ */

/* A float32 logits value_and_grad large enough for 7 real threads, computed
 * in place (grad written over the input); also with thread counts that must
 * be clamped (negative: the calling thread only; 1000: at most 256 and at
 * most one per block and per cbce__min_per_thread's worth of elements). */
static void test_default_threshold_in_place(void)
{
    static const int counts[] = {1, 2, 3, 4, 7, -3, 1000};
    const ptrdiff_t n = 7 * ((ptrdiff_t)1 << 17) + 12345;
    ptrdiff_t shape[1], one[1] = {1}, i;
    float *x0 = (float *)xcalloc((size_t)n, sizeof(float));
    float *t = (float *)xcalloc((size_t)n, sizeof(float));
    float *x = (float *)xcalloc((size_t)n, sizeof(float));
    float *ref = (float *)xcalloc((size_t)n, sizeof(float));
    double total1 = 0.0, totalk;
    int k;
    shape[0] = n;
    for (i = 0; i < n; i++) {
        x0[i] = (float)((urand() - 0.5) * 40.0);
        t[i] = (float)urand();
    }
    for (k = 0; k < (int)(sizeof counts / sizeof counts[0]); k++) {
        cbce_args a;
        cbce_output out = {NULL, NULL}, grad;
        int st;
        memcpy(x, x0, (size_t)n * sizeof(float));
        a = xt_args(1, shape, x, one, t, one);
        a.reduction = CBCE_REDUCTION_MEAN;
        a.num_threads = counts[k];
        grad.data = x, grad.strides = one; /* in place */
        st = cbce_bce_logits_loss_and_grad_f32(&a, out, k == 0 ? &total1 : &totalk, grad);
        CHECK(st == CBCE_OK, "in place, %d threads: status %d", counts[k], st);
        if (k == 0) {
            memcpy(ref, x, (size_t)n * sizeof(float));
        } else {
            CHECK(same_double(totalk, total1), "in place total, %d threads", counts[k]);
            CHECK(memcmp(ref, x, (size_t)n * sizeof(float)) == 0, "in place grad, %d threads",
                  counts[k]);
        }
    }
    free(x0);
    free(t);
    free(x);
    free(ref);
}

typedef struct {
    const double *x, *t;
    ptrdiff_t n;
    int nthreads;
    double total;
    int status;
} worker;

static void *worker_main(void *p)
{
    worker *w = (worker *)p;
    ptrdiff_t shape[1], one[1] = {1};
    cbce_args a;
    cbce_output none = {NULL, NULL};
    shape[0] = w->n;
    a = xt_args(1, shape, w->x, one, w->t, one);
    a.reduction = CBCE_REDUCTION_SUM;
    a.num_threads = w->nthreads;
    w->status = cbce_bce_logits_loss_f64(&a, none, &w->total);
    return NULL;
}

/* Several application threads each making threaded calls at once: nw callers
 * of nthreads threads each. */
static void check_concurrent_callers(int nw, int nthreads)
{
    enum { NW = 24 };
    const ptrdiff_t n = 9 * CBCE_SUM_BLOCK + 1;
    double *x = (double *)xcalloc((size_t)(NW * n), sizeof(double));
    double *t = (double *)xcalloc((size_t)(NW * n), sizeof(double));
    worker ws[NW], seq[NW];
    pthread_t th[NW];
    ptrdiff_t i;
    int k;
    if (nw > NW) nw = NW;
    for (i = 0; i < NW * n; i++) {
        x[i] = (urand() - 0.5) * 30.0;
        t[i] = urand();
    }
    for (k = 0; k < nw; k++) {
        seq[k].x = x + k * n, seq[k].t = t + k * n, seq[k].n = n, seq[k].nthreads = 1;
        worker_main(&seq[k]);
        ws[k] = seq[k];
        ws[k].nthreads = nthreads;
        ws[k].total = 0.0;
    }
    for (k = 0; k < nw; k++) pthread_create(&th[k], NULL, worker_main, &ws[k]);
    for (k = 0; k < nw; k++) pthread_join(th[k], NULL);
    for (k = 0; k < nw; k++) {
        CHECK(ws[k].status == CBCE_OK && same_double(ws[k].total, seq[k].total),
              "%d concurrent callers x %d threads, caller %d: status %d, %.17g vs %.17g", nw,
              nthreads, k, ws[k].status, ws[k].total, seq[k].total);
    }
    free(x);
    free(t);
}

static void test_concurrent_callers(void)
{
    int saved = cbce__max_helpers;
    check_concurrent_callers(4, 3);
    CHECK(cbce__thread_helpers() > 0, "no helper kept");
    /* 24 callers x 6 helpers each with at most 2 more kept than now: calls
     * also create threads of their own, and the cap holds. */
    cbce__max_helpers = cbce__thread_helpers() + 2;
    check_concurrent_callers(24, 7);
    CHECK(cbce__thread_helpers() <= cbce__max_helpers, "%d helpers kept, cap %d",
          cbce__thread_helpers(), cbce__max_helpers);
    cbce__max_helpers = saved;
}

/* One threaded call (7 ways) of the same input, before and after the
 * helpers had time to go to sleep (threads.c spins 0.1 ms), and in a forked
 * child, which has none of the parent's helpers (not under qemu-user, which
 * cannot run it: CBCE_TEST_NO_FORK). */
static double threaded_sum(const worker *proto)
{
    worker w = *proto;
    w.nthreads = 7;
    worker_main(&w);
    return w.status == CBCE_OK ? w.total : NAN;
}

static void test_sleeping_helpers_and_fork(void)
{
    const ptrdiff_t n = 7 * CBCE_SUM_BLOCK;
    double *x = (double *)xcalloc((size_t)n, sizeof(double));
    double *t = (double *)xcalloc((size_t)n, sizeof(double));
    struct timespec pause_5ms = {0, 5000000L};
    worker seq;
    ptrdiff_t i;
    int k, wstatus = 0;
    pid_t pid;
    for (i = 0; i < n; i++) {
        x[i] = (urand() - 0.5) * 30.0;
        t[i] = urand();
    }
    seq.x = x, seq.t = t, seq.n = n, seq.nthreads = 1;
    worker_main(&seq);
    for (k = 0; k < 3; k++) {
        double r = threaded_sum(&seq);
        CHECK(same_double(r, seq.total), "call %d after a pause: %.17g vs %.17g", k, r, seq.total);
        nanosleep(&pause_5ms, NULL);
    }
    if (getenv("CBCE_TEST_NO_FORK")) { /* tools/test_aarch64.sh: qemu-user */
        printf("fork case skipped (CBCE_TEST_NO_FORK is set)\n");
        free(x);
        free(t);
        return;
    }
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        /* Exit status: 0 when every call matches the parent's one-thread sum
         * and the helpers were forgotten and created as expected (the bit of
         * the first failed condition otherwise); SIGALRM ends a child that
         * waits for a helper it does not have. */
        int bad = cbce__thread_helpers() != 0; /* forgotten at fork */
        alarm(60);
        bad |= !same_double(threaded_sum(&seq), seq.total) << 1;
        bad |= !same_double(threaded_sum(&seq), seq.total) << 2;
        bad |= (cbce__thread_helpers() > 6) << 3;
        _exit(bad);
    }
    CHECK(pid > 0 && waitpid(pid, &wstatus, 0) == pid && WIFEXITED(wstatus) &&
              WEXITSTATUS(wstatus) == 0,
          "threaded calls in a forked child (status %d)", wstatus);
    free(x);
    free(t);
}

/* The default wake policy (parallel.c), in a forked child where no helper
 * exists yet: a small threaded call (~40 us) after a pause creates no
 * thread; the calls right after it do (up to 5 tries, in case the child is
 * descheduled for 0.1 ms between two of them). Every sum is the one-thread
 * sum. Not under qemu-user (CBCE_TEST_NO_FORK). */
static void test_wake_policy(void)
{
    const ptrdiff_t n = 2 * CBCE_SUM_BLOCK;
    double *x = (double *)xcalloc((size_t)n, sizeof(double));
    double *t = (double *)xcalloc((size_t)n, sizeof(double));
    struct timespec pause_5ms = {0, 5000000L};
    worker seq, w;
    ptrdiff_t i;
    int wstatus = 0, tries;
    pid_t pid;
    if (getenv("CBCE_TEST_NO_FORK")) {
        printf("wake policy case skipped (CBCE_TEST_NO_FORK is set)\n");
        free(x);
        free(t);
        return;
    }
    CHECK((double)n * 5.0 < (double)cbce__wake_min_ns, "the test call is not small: %ld",
          (long)n);
    for (i = 0; i < n; i++) {
        x[i] = (urand() - 0.5) * 30.0;
        t[i] = urand();
    }
    seq.x = x, seq.t = t, seq.n = n, seq.nthreads = 1;
    worker_main(&seq);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        /* exit status: the bits of the failed conditions */
        int bad = 0;
        alarm(60);
        nanosleep(&pause_5ms, NULL); /* the parent's last call is not recent */
        w = seq;
        w.nthreads = 2;
        worker_main(&w);
        bad |= !same_double(w.total, seq.total);
        bad |= (cbce__thread_helpers() != 0) << 1;
        for (tries = 0; tries < 5 && cbce__thread_helpers() == 0; tries++) {
            worker_main(&w);
            bad |= !same_double(w.total, seq.total) << 2;
        }
        bad |= (cbce__thread_helpers() == 0) << 3;
        _exit(bad);
    }
    CHECK(pid > 0 && waitpid(pid, &wstatus, 0) == pid && WIFEXITED(wstatus) &&
              WEXITSTATUS(wstatus) == 0,
          "wake policy in a forked child: exit status %d (1: sum, 2: a thread after a pause, "
          "4: sum, 8: no thread back to back)",
          WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
    free(x);
    free(t);
}

/* cbce__thread_move_off_cpu (Linux; what a helper does when it finds
 * itself on its starter's CPU): nothing with one CPU allowed; with two,
 * the calling thread is on the other one when it returns, and its affinity
 * is what it was. (The OS may move a thread back at any time on a busy
 * machine, as when tests run side by side: up to 5 tries, each starting
 * on CPU a.) */
static void test_move_off_cpu(void)
{
#if defined(__linux__)
    cpu_set_t orig, one, two, now;
    int a = -1, b = -1, c, tries, moved = 0, on_b = 0, restored = 1;
    if (sched_getaffinity(0, sizeof orig, &orig) != 0) return;
    for (c = 0; c < CPU_SETSIZE && b < 0; c++) {
        if (!CPU_ISSET(c, &orig)) continue;
        if (a < 0)
            a = c;
        else
            b = c;
    }
    CPU_ZERO(&one);
    CPU_SET(a, &one);
    CHECK(sched_setaffinity(0, sizeof one, &one) == 0 && sched_getcpu() == a,
          "could not pin the test to CPU %d", a);
    CHECK(cbce__thread_move_off_cpu(a) == 0, "moved off its only allowed CPU %d", a);
    CHECK(sched_getcpu() == a, "left its only allowed CPU %d", a);
    if (b >= 0) { /* else one CPU only: nowhere to move */
        two = one;
        CPU_SET(b, &two);
        for (tries = 0; tries < 5 && !on_b; tries++) {
            sched_setaffinity(0, sizeof one, &one); /* on a */
            sched_setaffinity(0, sizeof two, &two); /* allowed b, still on a */
            moved = cbce__thread_move_off_cpu(a);
            on_b = moved && sched_getcpu() == b;
            restored = restored && sched_getaffinity(0, sizeof now, &now) == 0 &&
                       CPU_EQUAL(&now, &two);
        }
        CHECK(moved, "did not move off CPU %d within {%d, %d}", a, a, b);
        CHECK(on_b, "not on CPU %d after moving off CPU %d, in 5 tries", b, a);
        CHECK(restored, "affinity not restored after the move");
    }
    sched_setaffinity(0, sizeof orig, &orig);
#endif
    CHECK(cbce__thread_move_off_cpu(-1) == 0, "moved off CPU -1");
}

int main(void)
{
    const ptrdiff_t saved = cbce__min_per_thread;
    const long saved_wake = cbce__wake_min_ns;
    const int saved_tasks = cbce__tasks_per_thread;
    const double saved_task_ns = cbce__min_task_ns;
    /* Every ISA level runs the same driver (parallel.c and the template's
     * loop over a task's range); test_kernels.c compares the levels. */

    /* First, while no helper exists: calls that may not wake or create a
     * thread run alone, as one task over the range of all of theirs. */
    cbce__min_per_thread = CBCE_SUM_BLOCK;
    cbce__wake_min_ns = -1;
    test_identical_results();
    test_range_errors();
    CHECK(cbce__thread_helpers() == 0, "%d helpers created by calls that may not wake one",
          cbce__thread_helpers());

    /* From here on every threaded call may wake helpers (the default
     * leaves small calls after a pause alone: checked in the forked child) */
    cbce__wake_min_ns = 0;
    cbce__min_per_thread = saved;
    test_default_threshold_in_place();
    cbce__min_per_thread = CBCE_SUM_BLOCK;
    test_identical_results();
    test_range_errors();
    test_interrupt();
    /* many tasks per thread: one per block (the interrupt hook still runs
     * every 2^18 elements the calling thread processes, across its tasks) */
    cbce__tasks_per_thread = 1000;
    cbce__min_task_ns = 0.0;
    test_identical_results();
    test_range_errors();
    test_interrupt();
    cbce__tasks_per_thread = saved_tasks;
    cbce__min_task_ns = saved_task_ns;
    test_concurrent_callers();
    test_sleeping_helpers_and_fork();
    cbce__wake_min_ns = saved_wake;
    test_wake_policy();
    cbce__min_per_thread = saved;
    test_move_off_cpu();
    printf("%ld passed, %ld failed\n", g_pass, g_fail);
    return g_fail != 0;
}
