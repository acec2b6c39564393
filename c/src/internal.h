/*
 * internal.h -- declarations shared by the dtype/ISA-independent code
 * (common.c, dispatch.c) and the per-ISA kernel instantiations (isa_*.c).
 *
 * Division of labour
 * ------------------
 * - dispatch.c validates the arguments of every public call (before anything
 *   is read or written), builds a cbce__layout and calls the kernel of the
 *   current ISA through a table of function pointers.
 * - common.c holds everything that involves no per-element floating point:
 *   layout coalescing, the strided cursor, and the exact superaccumulator
 *   that combines the per-block partial sums.
 * - kernels.inc.h is the one template of the loops, included per dtype by
 *   isa_template.h, which each isa_*.c includes once with its own flags.
 */
#ifndef CBCE_INTERNAL_H
#define CBCE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cbce/cbce.h"

/* Operand slots of a layout. Absent operands keep all strides 0, so they
 * never prevent coalescing and their cursor offsets stay 0. */
enum {
    CBCE__OP_INPUT = 0,
    CBCE__OP_TARGET = 1,
    CBCE__OP_WEIGHT = 2,
    CBCE__OP_POS_WEIGHT = 3,
    CBCE__OP_GRAD_OUTPUT = 4, /* only for reduction NONE */
    CBCE__OP_OUT = 5,
    CBCE__OP_GRAD = 6,
    CBCE__NOPS = 7
};

/* What a kernel call computes. */
enum { CBCE__KIND_BCE = 0, CBCE__KIND_LOGITS = 1 };
enum { CBCE__DO_CHECK = 0, CBCE__DO_LOSS = 1, CBCE__DO_GRAD = 2 }; /* LOSS|GRAD: fused */

/* The iteration space after coalescing: ndim >= 1 dims, C order, no extent
 * of 1 except for a 0-d/size-1 view (shape {1}). */
typedef struct cbce__layout {
    int ndim;
    ptrdiff_t size; /* number of elements (product of shape), >= 0 */
    ptrdiff_t shape[CBCE_MAX_NDIM];
    ptrdiff_t strides[CBCE__NOPS][CBCE_MAX_NDIM];
    /* nonzero for an operand laid out C-contiguously over the whole layout
     * (element offset == logical index), though another operand keeps the
     * dims apart (e.g. (N, C) input with a broadcast (C,) pos_weight): the
     * kernels read and write its chunks as one run */
    int flat[CBCE__NOPS];
    /* nonzero for an output (OUT, GRAD) that is flat and shares no memory
     * with any other operand: the math loops may write its chunks in place
     * of a buffer (the gradients; the losses of float64 kernels) -- no copy,
     * and the loops' restrict pointers hold */
    int direct[CBCE__NOPS];
} cbce__layout;

/* A position in a layout: the multi-index and each operand's element offset. */
typedef struct cbce__cursor {
    ptrdiff_t idx[CBCE_MAX_NDIM];
    ptrdiff_t off[CBCE__NOPS];
} cbce__cursor;

/* Everything a kernel needs besides the layout, resolved by dispatch.c. */
typedef struct cbce__call {
    int kind;        /* CBCE__KIND_* */
    int what;        /* CBCE__DO_* bits */
    int reduction;   /* cbce_reduction */
    int wrt;         /* cbce_wrt */
    double smooth_a; /* 1 - s   (t' = t*a + b) */
    double smooth_b; /* 0.5 * s */
    const void *data[CBCE__NOPS]; /* NULL: absent */
    double *total;   /* MEAN/SUM result (loss requested) */
    int num_threads; /* from cbce_args: <= 1 runs on the calling thread */
    int (*interrupt)(void *ctx); /* from cbce_args; NULL: none */
    void *interrupt_ctx;
} cbce__call;

/* Fills `lay` from args: drops extent-1 dims, merges dims that every present
 * operand traverses as one (logical order preserved). elsize: the bytes of
 * one element of every operand (4 or 8), for the overlap test of direct[]. */
void cbce__layout_init(cbce__layout *lay, const cbce_args *args, const cbce__call *call,
                       const ptrdiff_t *out_strides, const ptrdiff_t *grad_strides,
                       size_t elsize);
void cbce__cursor_init(cbce__cursor *cur, const cbce__layout *lay);
/* Places the cursor at logical element `index` (0 <= index < lay->size, or 0). */
void cbce__cursor_seek(cbce__cursor *cur, const cbce__layout *lay, ptrdiff_t index);
/* Moves the cursor `run` elements forward; run must not pass the end of the
 * current innermost row. */
void cbce__cursor_advance(cbce__cursor *cur, const cbce__layout *lay, ptrdiff_t run);

/* ---- Exact summation ----------------------------------------------------
 * A fixed-point superaccumulator covering every double exactly: bit i of the
 * integer (sum of limb[k] * 2^(32k)) has weight 2^(i - 1074). Adding is exact
 * and therefore associative, so partial sums of blocks may be combined in any
 * order (threads) with identical bits. Infinities and NaNs are tracked as
 * flags: NaN wins, +inf with -inf gives NaN. */
#define CBCE__ACC_LIMBS 72
typedef struct cbce__acc {
    int64_t limb[CBCE__ACC_LIMBS];
    int32_t pending; /* additions since the last normalization */
    int32_t flags;   /* 1: +inf seen, 2: -inf seen, 4: NaN seen */
} cbce__acc;

void cbce__acc_init(cbce__acc *acc);
void cbce__acc_add(cbce__acc *acc, double v);
/* Lane accumulators of a block sum (lane = logical index mod the count):
 * float32 sums need one double add per element, whose latency 32
 * independent chains hide (8 lanes were latency-bound: float32 BCE mean
 * 0.927 vs 0.892 ns); float64 compensated sums are busy enough with 8 (32
 * measured 0.5-2.6% slower): c/bench/bench_kernels in
 * benchmarks/results/2026-12-07-xeon-c-kernels-lanes.txt. */
#define CBCE__LANES_F32 32
#define CBCE__LANES_F64 8

/* Adds the `lanes` lane sums (and, when comp != NULL, their Neumaier
 * compensations) of one block. A non-finite lane sum is recorded by its
 * class and its compensation (then meaningless) is dropped. */
void cbce__acc_add_lanes(cbce__acc *acc, int lanes, const double *sum, const double *comp);
void cbce__acc_merge(cbce__acc *acc, const cbce__acc *other);
/* The exact sum correctly rounded to double (round half to even). */
double cbce__acc_round(const cbce__acc *acc);
/* The exact sum divided by n, rounded once (to within a hair of correct
 * rounding: q + round((S - q*n)/n) with the remainder computed exactly).
 * n == 0 gives NaN. */
double cbce__acc_mean(const cbce__acc *acc, ptrdiff_t n);

/* ---- Work split across threads (parallel.c) --------------------------------
 * A call's logical elements are split into contiguous ranges of whole
 * CBCE_SUM_BLOCK blocks, a few tasks per thread. Each task sums its blocks into
 * its own superaccumulator; the accumulators are merged exactly afterwards,
 * so the bits never depend on the split. */
typedef struct cbce__job cbce__job;

typedef struct cbce__task {
    ptrdiff_t begin, end; /* logical elements [begin, end); begin is block aligned */
    int on_caller;        /* runs on the calling thread: polls the interrupt hook */
    int status;           /* what the kernel returned */
    int failed;           /* flag: found a bad element; later tasks may stop */
    int index;            /* position in the job's task list (logical order) */
    cbce__job *job;
    cbce__acc acc;        /* the sums of this task's blocks (reductions) */
} cbce__task;

/* Kernel entry of one dtype in one ISA instantiation: processes the task's
 * range, adds each completed block to task->acc, and between blocks calls
 * cbce__task_poll and returns its status when that is not CBCE_OK. */
typedef int (*cbce__kernel_fn)(const cbce__layout *lay, const cbce__call *call,
                               cbce__task *task);

/* Called by kernels after each whole block; `done` is the logical index just
 * reached. CBCE_OK to go on; otherwise the status to return (interrupted, or
 * an earlier task found a bad element so this one's work is moot). */
int cbce__task_poll(cbce__task *task, ptrdiff_t done);

/* Runs one validated call on call->num_threads threads (fewer for small
 * inputs), merges the tasks' sums and statuses, and stores the reduced loss
 * rounded to the kernel dtype (f64 ? double : float) into call->total. */
/* Fewest elements worth a thread of their own. Tests lower it (while no
 * call runs) to exercise many-way splits on small inputs. */
extern ptrdiff_t cbce__min_per_thread;
/* Helper threads kept for reuse (threads.c; 0 where none are kept), and the
 * most that may be kept (tests lower it, while no call runs, to make calls
 * create threads of their own). */
int cbce__thread_helpers(void);
extern int cbce__max_helpers;
/* Tuning of threaded calls (parallel.c), which benchmarks and tests vary
 * while no call runs: tasks per thread at most, and the estimated
 * single-thread nanoseconds of work of one task at least; the estimated
 * work from which a call wakes sleeping helper threads (negative: never,
 * not even for back-to-back calls). */
extern int cbce__tasks_per_thread;
extern double cbce__min_task_ns;
extern long cbce__wake_min_ns;

int cbce__run_parallel(const cbce__layout *lay, const cbce__call *call, cbce__kernel_fn fn,
                       int f64);

typedef struct cbce__kernels {
    cbce__kernel_fn run_f32;
    cbce__kernel_fn run_f64;
} cbce__kernels;

extern const cbce__kernels cbce__kernels_scalar;
#if defined(__x86_64__) || defined(_M_X64)
extern const cbce__kernels cbce__kernels_sse2;
extern const cbce__kernels cbce__kernels_avx2;
extern const cbce__kernels cbce__kernels_avx512;
#define CBCE__HAVE_X86 1
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
extern const cbce__kernels cbce__kernels_neon;
#define CBCE__HAVE_NEON 1
#endif

#endif /* CBCE_INTERNAL_H */
