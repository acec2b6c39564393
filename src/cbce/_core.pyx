# cython: language_level=3, boundscheck=False, wraparound=False
"""Adapters from NumPy arrays to the C kernels of cbce.

This module only turns arrays into strided views and C status codes into
exceptions; every formula is in the C core (c/src) and every argument rule in
cbce._functional. The arrays it receives are already checked there: native
byte order, aligned, of the kernel dtype, all of the input's shape (weights
and grad_output broadcast with zero strides).

Arrays are read through the buffer protocol (any ndim, any strides), which is
what typed memoryviews are built on; NumPy is not a build dependency. The GIL
is released around every kernel call; the kernel may run on several threads
(cbce_args.num_threads) and, when called from the main thread, polls for
signals so that Ctrl-C interrupts a long call.
"""
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_RECORDS_RO, PyBUF_RECORDS
from cpython.exc cimport PyErr_Occurred
from cpython.pythread cimport PyThread_get_thread_ident
from libc.stddef cimport ptrdiff_t
from libc.string cimport memset

import threading

from numpy import empty_like, float32, float64, ndarray

from cbce.cbce cimport *

include "_capi.pxi"

cdef extern from "Python.h":
    # Declared without an exception clause: the hook below reports the error
    # through its return value and leaves the exception pending for run().
    int check_signals "PyErr_CheckSignals" ()

cdef extern from *:
    """
    /* A monotonic clock readable without the GIL (PyTime_MonotonicRaw is 3.13+). */
    #if defined(_WIN32)
    #ifndef WIN32_LEAN_AND_MEAN
    #define WIN32_LEAN_AND_MEAN
    #endif
    #include <windows.h>
    static double cbce_monotonic_seconds(void)
    {
        return (double)GetTickCount64() * 1e-3;
    }
    #else
    #include <time.h>
    static double cbce_monotonic_seconds(void)
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    }
    #endif
    """
    double monotonic_seconds "cbce_monotonic_seconds" () nogil

# Signal handlers run only in the main thread, so only calls made there poll.
cdef unsigned long main_thread_ident = threading.main_thread().ident

# Seconds between signal checks during one call. Each check takes the GIL, which can
# wait up to sys.getswitchinterval() (5 ms) while another Python thread runs, so
# checking at the kernel's pace (every 2^18 elements, well under a millisecond) could
# throttle the call; every 50 ms costs at most ~10% then, and Ctrl-C still feels
# immediate.
DEF SIGNAL_CHECK_INTERVAL = 0.05

cdef struct signal_poll:
    double next_check  # monotonic_seconds() of the next check

# Operations of one call (a bit set), shared with _functional.
cdef enum:
    DO_LOSS = 1
    DO_GRAD = 2
    DO_CHECK = 4

OP_LOSS = DO_LOSS
OP_GRAD = DO_GRAD
OP_CHECK = DO_CHECK

REDUCTION_NONE = CBCE_REDUCTION_NONE
REDUCTION_MEAN = CBCE_REDUCTION_MEAN
REDUCTION_SUM = CBCE_REDUCTION_SUM
WRT_INPUT = CBCE_WRT_INPUT
WRT_TARGET = CBCE_WRT_TARGET
ISA_COUNT = CBCE_ISA_COUNT

DEF N_SLOTS = 7

cdef struct strided_buffer:
    Py_buffer view
    bint held
    ptrdiff_t strides[CBCE_MAX_NDIM]


cdef int acquire(object array, strided_buffer *b, bint writable) except -1:
    """Borrow `array`'s memory and express its byte strides in elements."""
    cdef int i
    PyObject_GetBuffer(array, &b.view, PyBUF_RECORDS if writable else PyBUF_RECORDS_RO)
    b.held = True
    for i in range(b.view.ndim):
        b.strides[i] = b.view.strides[i] // b.view.itemsize
    return 0


cdef int acquire_broadcast(object array, strided_buffer *b, const Py_buffer *x) except -1:
    """acquire() for an operand whose shape broadcasts to x's by NumPy's rules (checked
    by the caller, and again here): its element strides right-aligned to x's
    dimensions, 0 where it lacks the dimension or has extent 1. Broadcasting here
    costs nothing; np.broadcast_to costs microseconds per call."""
    cdef int i, j, lead
    acquire(array, b, False)
    lead = x.ndim - b.view.ndim
    if lead < 0:
        raise ValueError("an operand has more dimensions than the input")
    # from the last dim down: strides[j], j <= i, is read before it is overwritten
    for i in range(x.ndim - 1, -1, -1):
        j = i - lead
        if j < 0 or b.view.shape[j] == 1:
            b.strides[i] = 0
        elif b.view.shape[j] == x.shape[i]:
            b.strides[i] = b.strides[j]
        else:
            raise ValueError("an operand does not broadcast to the input's shape")
    return 0


cdef inline cbce_operand as_operand(strided_buffer *b) noexcept nogil:
    cdef cbce_operand o
    o.data = b.view.buf if b.held else NULL
    o.strides = b.strides
    return o


cdef inline cbce_output as_output(strided_buffer *b) noexcept nogil:
    cdef cbce_output o
    o.data = b.view.buf if b.held else NULL
    o.strides = b.strides
    return o


cdef int call_kernel(int ops, bint logits, bint f64, const cbce_args *a,
                     cbce_output loss_out, double *total, cbce_output grad_out) noexcept nogil:
    """Pick the one C entry point for (ops, loss, dtype); DO_CHECK runs first."""
    cdef int status = CBCE_OK
    if ops & DO_CHECK and not logits:
        status = cbce_bce_check_f64(a) if f64 else cbce_bce_check_f32(a)
        if status != CBCE_OK:
            return status
    ops &= DO_LOSS | DO_GRAD
    if logits:
        if ops == DO_LOSS:
            return (cbce_bce_logits_loss_f64(a, loss_out, total) if f64
                    else cbce_bce_logits_loss_f32(a, loss_out, total))
        if ops == DO_GRAD:
            return (cbce_bce_logits_grad_f64(a, grad_out) if f64
                    else cbce_bce_logits_grad_f32(a, grad_out))
        return (cbce_bce_logits_loss_and_grad_f64(a, loss_out, total, grad_out) if f64
                else cbce_bce_logits_loss_and_grad_f32(a, loss_out, total, grad_out))
    if ops == DO_LOSS:
        return cbce_bce_loss_f64(a, loss_out, total) if f64 else cbce_bce_loss_f32(a, loss_out, total)
    if ops == DO_GRAD:
        return cbce_bce_grad_f64(a, grad_out) if f64 else cbce_bce_grad_f32(a, grad_out)
    if ops == 0:
        return status
    return (cbce_bce_loss_and_grad_f64(a, loss_out, total, grad_out) if f64
            else cbce_bce_loss_and_grad_f32(a, loss_out, total, grad_out))


cdef int check_signals_hook(void *ctx) noexcept nogil:
    """cbce_args.interrupt: run Python's signal handlers (e.g. SIGINT's, which
    raises KeyboardInterrupt) and ask the kernel to stop if one raised. The
    kernel calls it on this thread between blocks, about every 2^18 of the
    elements this thread processes; it takes the GIL (briefly) only once per
    SIGNAL_CHECK_INTERVAL."""
    cdef signal_poll *poll = <signal_poll *> ctx
    cdef double now = monotonic_seconds()
    if now < poll.next_check:
        return 0
    poll.next_check = now + SIGNAL_CHECK_INTERVAL
    with gil:
        return check_signals() != 0


cdef int propagate_pending_exception() except -1:
    """Return -1 so that Cython raises the exception already set."""
    return -1


cdef raise_for_status(int status):
    if status == CBCE_INPUT_OUT_OF_RANGE:
        raise ValueError("all elements of input should be between 0 and 1")
    if status == CBCE_TARGET_OUT_OF_RANGE:
        raise ValueError("all elements of target should be between 0 and 1")
    if status == CBCE_OUT_OF_MEMORY:
        raise MemoryError(cbce_status_message(status).decode())
    if status == CBCE_INTERRUPTED:
        # The hook left the signal handler's exception pending: raise that one.
        if PyErr_Occurred() != NULL:
            propagate_pending_exception()
        raise KeyboardInterrupt()
    raise RuntimeError("cbce internal error: " + cbce_status_message(status).decode())


cdef double run_kernel(int ops, bint logits, bint f64, cbce_args *a, cbce_output loss_out,
                       cbce_output grad_out) except? -1.0:
    """Set the interrupt hook, call the kernel without the GIL and raise for its status;
    return the reduced loss."""
    cdef signal_poll poll
    cdef double total = 0.0
    cdef int status
    a.interrupt = NULL
    a.interrupt_ctx = NULL
    if PyThread_get_thread_ident() == main_thread_ident:
        poll.next_check = monotonic_seconds() + SIGNAL_CHECK_INTERVAL
        a.interrupt = check_signals_hook
        a.interrupt_ctx = &poll
    with nogil:
        status = call_kernel(ops, logits, f64, a, loss_out, &total, grad_out)
    if status != CBCE_OK:
        raise_for_status(status)
    return total


def run(int ops, bint logits, object input, object target, object weight, object pos_weight,
        object grad_output, double label_smoothing, int reduction, int wrt,
        object loss_out, object grad_out, int num_threads=1):
    """Run one kernel call and return the reduced loss as a Python float.

    ops: OP_LOSS | OP_GRAD, optionally | OP_CHECK (BCE range check before any
    write). input: float32 or float64 ndarray; every other array argument is
    None or an array of input's dtype: target and the outputs of input's shape,
    weight, pos_weight and grad_output of a shape that broadcasts to it (zero
    strides; grad_output: for a reduced loss a 0-d array). The return value is
    meaningful for a MEAN/SUM loss.

    num_threads: threads the kernel may use (<= 1: this thread only; small
    inputs use fewer); results are bitwise identical for any value. On the
    main thread the call polls for signals between blocks: when a handler
    raises (Ctrl-C: KeyboardInterrupt), the kernel stops, outputs may be
    partly written, and that exception propagates.
    """
    cdef strided_buffer bufs[N_SLOTS]
    cdef cbce_args a
    cdef int i
    cdef bint f64
    cdef object arrays = (input, target, weight, pos_weight, grad_output, loss_out, grad_out)
    memset(bufs, 0, sizeof(bufs))
    try:
        for i in range(N_SLOTS):  # input first: the broadcast operands follow its shape
            if arrays[i] is None:
                continue
            if 2 <= i <= 4:
                acquire_broadcast(arrays[i], &bufs[i], &bufs[0].view)
            else:
                acquire(arrays[i], &bufs[i], i >= 5)
        f64 = bufs[0].view.itemsize == 8
        a.ndim = bufs[0].view.ndim
        a.shape = <const ptrdiff_t *> bufs[0].view.shape
        a.input = as_operand(&bufs[0])
        a.target = as_operand(&bufs[1])
        a.weight = as_operand(&bufs[2])
        a.pos_weight = as_operand(&bufs[3])
        a.grad_output = as_operand(&bufs[4])
        a.label_smoothing = label_smoothing
        a.reduction = reduction
        a.wrt = wrt
        a.num_threads = num_threads
        return run_kernel(ops, logits, f64, &a, as_output(&bufs[5]), as_output(&bufs[6]))
    finally:
        for i in range(N_SLOTS):
            if bufs[i].held:
                PyBuffer_Release(&bufs[i].view)


cdef bint c_contiguous_aligned(const Py_buffer *v) noexcept:
    """NumPy's C_CONTIGUOUS and ALIGNED flags of the buffer `v`: strides of the packed
    row-major layout (any stride where the extent is 1; anything when empty) and
    an address that is a multiple of the item size."""
    cdef Py_ssize_t expected = v.itemsize
    cdef int i
    for i in range(v.ndim):
        if v.shape[i] == 0:
            return True
    # NumPy already exports an unaligned array with an explicit byte order ("=f"),
    # which default_call declines by its format; the kernels need aligned data, so
    # the address is checked rather than that convention relied on.
    if <size_t> v.buf % <size_t> v.itemsize != 0:
        return False
    for i in range(v.ndim - 1, -1, -1):
        if v.shape[i] != 1:
            if v.strides[i] != expected:
                return False
            expected *= v.shape[i]
    return True


def default_call(int ops, bint logits, object input, object target, int reduction,
                 int num_threads):
    """The most common calls, with nothing but `input` and `target` given (no weight,
    pos_weight, label smoothing or `out`; grad_output 1, d/d input): `input` and
    `target` C-contiguous, aligned ndarrays (not subclasses) of one native float32 or
    float64 dtype and one shape. `ops`: OP_LOSS, OP_GRAD or both; `reduction` any.
    Returns the loss (MEAN/SUM: a NumPy scalar of that dtype; NONE: a new array), the
    gradient (a new array), or the pair (loss, gradient) for both; or None when the
    arguments are not of that form (the general path, run(), then gives the same
    result). Errors as run(ops): the BCE kernels check the value range in the same
    pass, and the new arrays are dropped on error."""
    cdef strided_buffer bufs[4]  # input, target, loss out, grad out
    cdef cbce_args a
    cdef double total
    cdef const char *fmt
    cdef bint f64
    cdef int i
    cdef object loss = None, grad = None
    if type(input) is not ndarray or type(target) is not ndarray:
        return None
    memset(bufs, 0, sizeof(bufs))
    try:
        acquire(input, &bufs[0], False)
        acquire(target, &bufs[1], False)
        fmt = bufs[0].view.format
        if fmt[0] == b'f' and fmt[1] == 0:
            f64 = False
        elif fmt[0] == b'd' and fmt[1] == 0:
            f64 = True
        else:
            return None
        fmt = bufs[1].view.format
        if fmt[0] != bufs[0].view.format[0] or fmt[1] != 0:  # the same dtype
            return None
        if bufs[1].view.ndim != bufs[0].view.ndim:
            return None
        for i in range(bufs[0].view.ndim):
            if bufs[1].view.shape[i] != bufs[0].view.shape[i]:
                return None
        if not (c_contiguous_aligned(&bufs[0].view) and c_contiguous_aligned(&bufs[1].view)):
            return None
        # new outputs, as the general path makes them (C order, like the input)
        if ops & DO_LOSS and reduction == CBCE_REDUCTION_NONE:
            loss = empty_like(input)
            acquire(loss, &bufs[2], True)
        if ops & DO_GRAD:
            grad = empty_like(input)
            acquire(grad, &bufs[3], True)
        memset(&a, 0, sizeof(a))
        a.ndim = bufs[0].view.ndim
        a.shape = <const ptrdiff_t *> bufs[0].view.shape
        a.input = as_operand(&bufs[0])
        a.target = as_operand(&bufs[1])
        a.reduction = reduction  # weight, pos_weight and grad_output absent (NULL): 1
        a.wrt = CBCE_WRT_INPUT
        a.num_threads = num_threads
        total = run_kernel(ops & (DO_LOSS | DO_GRAD), logits, f64, &a, as_output(&bufs[2]),
                           as_output(&bufs[3]))
        if ops & DO_LOSS and reduction != CBCE_REDUCTION_NONE:
            loss = float64(total) if f64 else float32(total)
        if not ops & DO_GRAD:
            return loss
        if not ops & DO_LOSS:
            return grad
        return loss, grad
    finally:
        for i in range(4):
            if bufs[i].held:
                PyBuffer_Release(&bufs[i].view)


def version():
    """The C library's version string."""
    return cbce_version().decode()


def isa_name(int isa):
    """The name of a SIMD level ("scalar", "sse2", "avx2", "avx512", "neon")."""
    cdef const char *name = cbce_isa_name(isa)
    return None if name == NULL else name.decode()


def isa_available(int isa):
    """Whether the build has level `isa` and this CPU and OS can run it."""
    return bool(cbce_isa_available(isa))


def best_isa():
    return cbce_best_isa()


def get_isa():
    return cbce_get_isa()


def set_isa(int isa):
    """Make every kernel call use level `isa`; ValueError if it is unavailable."""
    if cbce_set_isa(isa) != CBCE_OK:
        raise ValueError(f"SIMD level {isa} is not available")
