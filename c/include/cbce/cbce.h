/*
 * cbce.h -- the public C99 API of cbce: binary cross-entropy losses.
 *
 * One header is the single source of truth for the kernels' prototypes: the
 * Cython declarations (cbce.pxd) mirror it with `cdef extern from`, so the C
 * compiler checks every call against these prototypes.
 *
 * Conventions
 * -----------
 * - Every operand is an N-d strided view over `shape` (ndim extents, any ndim
 *   from 0 to CBCE_MAX_NDIM). Strides are counted in ELEMENTS, not bytes, and
 *   may be negative or zero (zero broadcasts one element along that axis).
 * - Element types follow the function suffix: `_f32` kernels read and write
 *   float, `_f64` kernels read and write double. All operands of one call have
 *   that type.
 * - Optional operands (weight, pos_weight, grad_output) are absent when their
 *   `data` is NULL; an absent operand acts as the value 1.
 * - Elements are visited in the logical C order of `shape`. Reductions sum in
 *   that order with a fixed blocking (see CBCE_SUM_BLOCK), so a sum depends
 *   only on the values in logical order: never on strides, memory layout,
 *   SIMD level or thread count.
 * - Kernels never call libm, never allocate (except the per-thread state of a
 *   threaded call, see num_threads), and are safe to call concurrently from
 *   many threads on distinct outputs.
 * - An output view may be exactly an input view (same data and strides: the
 *   call computes in place); any other overlap of an output with an input is
 *   undefined behaviour (the Python layer rejects it).
 * - Functions return a cbce_status. On an error other than CBCE_BAD_ARGUMENT,
 *   outputs may have been partly written: call the matching `_check_` function
 *   first when the output memory belongs to a caller.
 *
 * Formulas (exact math the kernels approximate; `T` is the kernel dtype)
 * ---------------------------------------------------------------------
 * s = label_smoothing, t' = t*(1-s) + s/2 (formed in double), w weight,
 * pw pos_weight, lw = 1 + (pw - 1)*t'.
 *   BCE loss:        -w * (t' * max(log x, -100) + (1 - t') * max(log(1-x), -100))
 *   BCE d/dx:        w * (x - t') / max(x*(1-x), eps),  eps = (double)(float)1e-12
 *   BCE d/dt:        w * (1-s) * (max(log(1-x), -100) - max(log x, -100))
 *   logits loss:     w * ((1 - t')*x + lw*softplus(-x)),  softplus(z) = log(1+exp(z))
 *   logits d/dx:     w * (lw*sigmoid(x) - pw*t')
 *   logits d/dt:     w * (1-s) * (-x + (pw - 1)*softplus(-x))
 * Gradients are of the reduced loss: multiplied by grad_output, and divided
 * by N (the element count) for CBCE_REDUCTION_MEAN.
 * float32 kernels evaluate every element in double and round once.
 */
#ifndef CBCE_CBCE_H
#define CBCE_CBCE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CBCE_VERSION_MAJOR 0
#define CBCE_VERSION_MINOR 1
#define CBCE_VERSION_PATCH 0
#define CBCE_VERSION_STRING "0.1.0"

/* Largest ndim a view may have (NumPy's own limit). */
#define CBCE_MAX_NDIM 64

/* Reductions sum elements in blocks of this many consecutive logical
 * elements; blocks are combined exactly, so any split at block boundaries
 * (threads) gives identical bits. */
#define CBCE_SUM_BLOCK 4096

typedef enum cbce_status {
    CBCE_OK = 0,
    CBCE_INPUT_OUT_OF_RANGE = 1,  /* BCE: an input element is NaN or outside [0, 1] */
    CBCE_TARGET_OUT_OF_RANGE = 2, /* BCE: a target element (before smoothing) is NaN or outside [0, 1] */
    CBCE_BAD_ARGUMENT = 3,        /* NULL where required, ndim out of range, bad enum, smoothing outside [0, 1] */
    CBCE_OUT_OF_MEMORY = 4,
    CBCE_INTERRUPTED = 5          /* the args' interrupt hook asked to stop */
} cbce_status;

typedef enum cbce_reduction {
    CBCE_REDUCTION_NONE = 0, /* elementwise: losses written to an output view */
    CBCE_REDUCTION_MEAN = 1, /* sum / N; NaN for N == 0 */
    CBCE_REDUCTION_SUM = 2   /* sum; 0 for N == 0 */
} cbce_reduction;

typedef enum cbce_wrt {
    CBCE_WRT_INPUT = 0,
    CBCE_WRT_TARGET = 1
} cbce_wrt;

/* A read-only N-d view: element (i_0, ..., i_{n-1}) is
 * data[i_0*strides[0] + ... + i_{n-1}*strides[n-1]]. */
typedef struct cbce_operand {
    const void *data;         /* NULL: absent (acts as 1) where allowed */
    const ptrdiff_t *strides; /* ndim element strides; may be NULL when ndim == 0 */
} cbce_operand;

/* A writable N-d view, laid out like cbce_operand. */
typedef struct cbce_output {
    void *data;
    const ptrdiff_t *strides;
} cbce_output;

/* The arguments shared by every kernel of one call. */
typedef struct cbce_args {
    int ndim;                 /* 0 .. CBCE_MAX_NDIM */
    const ptrdiff_t *shape;   /* ndim extents, each >= 0; may be NULL when ndim == 0 */
    cbce_operand input;       /* probabilities (BCE) or logits; required */
    cbce_operand target;      /* required */
    cbce_operand weight;      /* optional */
    cbce_operand pos_weight;  /* optional; logits kernels only, ignored by BCE */
    cbce_operand grad_output; /* optional; gradient kernels only. For NONE a view
                                 over shape; for MEAN/SUM one element (strides ignored) */
    double label_smoothing;   /* s in [0, 1]; 0 leaves targets unchanged */
    int reduction;            /* cbce_reduction */
    int wrt;                  /* cbce_wrt; gradient kernels only */
    /* ---- appended last; zero them (memset or `= {0}`) when unused ---- */
    int num_threads;          /* threads for this call; <= 1: the calling thread only */
    int (*interrupt)(void *ctx); /* NULL: none. See "Threads and interrupts" */
    void *interrupt_ctx;      /* passed to interrupt */
} cbce_args;

/* Threads and interrupts
 * ----------------------
 * With num_threads > 1 a call splits its elements into contiguous ranges of
 * whole CBCE_SUM_BLOCK blocks and runs them on up to num_threads threads (at
 * most 256, the calling thread included), and all of them have finished
 * when it returns. Under POSIX the other threads are helpers that the
 * library keeps between calls (they spin ~0.1 ms after a call, then sleep; a
 * forked child starts its own); on Windows they are started for the call.
 * Inputs too small to profit (less than ~5 us of work per thread: ~5,000
 * elements of the float32 BCE loss, at least one block; ~85 us on Windows)
 * use fewer threads or none. A POSIX call wakes sleeping helpers (or
 * creates threads) only for ~100 us of work or more, or when the previous
 * threaded call ended less than ~0.1 ms ago; otherwise it takes the helpers
 * that are awake, or runs alone.
 * Results are bitwise identical for every num_threads: elementwise outputs
 * are independent, block sums are combined exactly, and a range error
 * reports the offending element with the smallest logical index (its input
 * before its target), as one thread would. A threaded call allocates its
 * per-thread state; if that or starting a thread fails, the work runs on
 * fewer threads with the same results.
 *
 * interrupt, when not NULL, is called on the CALLING thread only, between
 * blocks, about every 2^18 of the elements that thread processes (never for
 * smaller inputs). A nonzero return stops every thread at its next block
 * boundary and the call returns CBCE_INTERRUPTED, with outputs partly
 * written; the hook is not called again during that call. It may do
 * anything the calling thread may do (e.g. take a lock or check signals),
 * but must not call cbce on the same outputs. */

/* ---- BCE on probabilities ---------------------------------------------- */

/* Range check only: CBCE_INPUT_OUT_OF_RANGE / CBCE_TARGET_OUT_OF_RANGE / CBCE_OK.
 * Reads input and target, writes nothing. */
int cbce_bce_check_f32(const cbce_args *args);
int cbce_bce_check_f64(const cbce_args *args);

/* Loss. NONE: elementwise losses into `out` (total untouched, may be NULL).
 * MEAN/SUM: the reduced loss, rounded to the kernel dtype, into *total
 * (`out` unused). */
int cbce_bce_loss_f32(const cbce_args *args, cbce_output out, double *total);
int cbce_bce_loss_f64(const cbce_args *args, cbce_output out, double *total);

/* Gradient of the reduced loss w.r.t. args->wrt, into `grad` (shape of input). */
int cbce_bce_grad_f32(const cbce_args *args, cbce_output grad);
int cbce_bce_grad_f64(const cbce_args *args, cbce_output grad);

/* Loss and gradient in one pass; bitwise equal to the separate calls. */
int cbce_bce_loss_and_grad_f32(const cbce_args *args, cbce_output out, double *total,
                               cbce_output grad);
int cbce_bce_loss_and_grad_f64(const cbce_args *args, cbce_output out, double *total,
                               cbce_output grad);

/* ---- BCE with logits ----------------------------------------------------- */
/* No value checks: NaN propagates, targets outside [0, 1] follow the formula. */

int cbce_bce_logits_loss_f32(const cbce_args *args, cbce_output out, double *total);
int cbce_bce_logits_loss_f64(const cbce_args *args, cbce_output out, double *total);
int cbce_bce_logits_grad_f32(const cbce_args *args, cbce_output grad);
int cbce_bce_logits_grad_f64(const cbce_args *args, cbce_output grad);
int cbce_bce_logits_loss_and_grad_f32(const cbce_args *args, cbce_output out,
                                      double *total, cbce_output grad);
int cbce_bce_logits_loss_and_grad_f64(const cbce_args *args, cbce_output out,
                                      double *total, cbce_output grad);

/* ---- Library information and kernel selection ------------------------------ */

typedef enum cbce_isa {
    CBCE_ISA_SCALAR = 0, /* portable C, auto-vectorization off */
    CBCE_ISA_SSE2 = 1,   /* x86-64 baseline */
    CBCE_ISA_AVX2 = 2,   /* x86-64-v3 */
    CBCE_ISA_AVX512 = 3, /* x86-64-v4 */
    CBCE_ISA_NEON = 4,   /* aarch64 baseline */
    CBCE_ISA_COUNT = 5
} cbce_isa;

const char *cbce_version(void);              /* CBCE_VERSION_STRING of the library */
const char *cbce_status_message(int status); /* a static English sentence */
const char *cbce_isa_name(int isa);          /* "scalar", "sse2", ...; NULL if unknown */
int cbce_isa_available(int isa);             /* 1 if built in and the CPU/OS run it */
int cbce_best_isa(void);                     /* the fastest available level */
int cbce_get_isa(void);                      /* the level the kernels use now */
int cbce_set_isa(int isa);                   /* CBCE_OK or CBCE_BAD_ARGUMENT if unavailable */

#ifdef __cplusplus
}
#endif

#endif /* CBCE_CBCE_H */
