# cython: language_level=3, boundscheck=False, wraparound=False
"""cbce's kernels from Cython: `cimport cbce`, one cbce_import(), nogil calls.

`cimport cbce` resolves to cbce.get_include()/cbce.pxd, which declares cbce.h
and capi.h with `cdef extern from`; nothing from cbce is linked. The kernels are
reached through the table in the capsule cbce._core._C_API, fetched once here
at import (an ImportError explains a missing or incompatible cbce).

    loss_and_grad(input, target, grad, reduction="mean", logits=False) -> float
        the "mean" or "sum" loss of 1-D float32 or float64 arrays; fills `grad`
        with its gradient w.r.t. input.
"""
from cython cimport floating
from libc.stddef cimport ptrdiff_t
from libc.string cimport memset

cimport cbce
from cbce cimport cbce_args, cbce_capi, cbce_output

cbce.cbce_import()


def loss_and_grad(const floating[:] input, const floating[:] target, floating[:] grad,
                  str reduction="mean", bint logits=False):
    cdef cbce_args args
    cdef ptrdiff_t shape[1]
    cdef ptrdiff_t input_strides[1]
    cdef ptrdiff_t target_strides[1]
    cdef ptrdiff_t grad_strides[1]
    cdef cbce_output no_out
    cdef cbce_output grad_out
    cdef double total = 0.0
    cdef int status

    if target.shape[0] != input.shape[0] or grad.shape[0] != input.shape[0]:
        raise ValueError("input, target and grad must have one length")
    if reduction not in ("mean", "sum"):
        raise ValueError("reduction must be 'mean' or 'sum'")

    # cbce counts strides in elements; memoryview strides are in bytes.
    shape[0] = input.shape[0]
    input_strides[0] = input.strides[0] // sizeof(floating)
    target_strides[0] = target.strides[0] // sizeof(floating)
    grad_strides[0] = grad.strides[0] // sizeof(floating)

    memset(&args, 0, sizeof(args))  # absent weight, pos_weight, grad_output act as 1
    args.ndim = 1
    args.shape = shape
    args.input.data = &input[0] if shape[0] > 0 else NULL
    args.input.strides = input_strides
    args.target.data = &target[0] if shape[0] > 0 else NULL
    args.target.strides = target_strides
    args.reduction = cbce.CBCE_REDUCTION_MEAN if reduction == "mean" else cbce.CBCE_REDUCTION_SUM
    args.wrt = cbce.CBCE_WRT_INPUT
    no_out.data = NULL
    no_out.strides = NULL
    grad_out.data = &grad[0] if shape[0] > 0 else NULL
    grad_out.strides = grad_strides

    with nogil:
        if floating is double:
            if logits:
                status = cbce_capi.bce_logits_loss_and_grad_f64(&args, no_out, &total, grad_out)
            else:
                # Check first so an error leaves grad untouched.
                status = cbce_capi.bce_check_f64(&args)
                if status == cbce.CBCE_OK:
                    status = cbce_capi.bce_loss_and_grad_f64(&args, no_out, &total, grad_out)
        else:
            if logits:
                status = cbce_capi.bce_logits_loss_and_grad_f32(&args, no_out, &total, grad_out)
            else:
                status = cbce_capi.bce_check_f32(&args)
                if status == cbce.CBCE_OK:
                    status = cbce_capi.bce_loss_and_grad_f32(&args, no_out, &total, grad_out)

    if status != cbce.CBCE_OK:
        message = cbce_capi.status_message(status).decode()
        if status in (cbce.CBCE_INPUT_OUT_OF_RANGE, cbce.CBCE_TARGET_OUT_OF_RANGE):
            raise ValueError(message)
        raise RuntimeError(message)
    return total  # for float32 the kernel already rounded it to float32


def simd_level():
    """The kernel level the table's functions use."""
    return cbce_capi.isa_name(cbce_capi.get_isa()).decode()
