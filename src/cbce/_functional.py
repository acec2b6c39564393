"""The functional API: argument checking, dtype conversion and broadcasting.

Every argument rule of SPEC sections 1 and 2 lives here, once; the formulas
live only in the C core, reached through cbce._core.run. Nothing here loops
over elements.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from . import _core
from ._threads import get_num_threads

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_grad",
    "binary_cross_entropy_with_logits_grad",
    "binary_cross_entropy_value_and_grad",
    "binary_cross_entropy_with_logits_value_and_grad",
]

_REDUCTIONS = {
    "none": _core.REDUCTION_NONE,
    "mean": _core.REDUCTION_MEAN,
    "sum": _core.REDUCTION_SUM,
}
_WRT = {"input": _core.WRT_INPUT, "target": _core.WRT_TARGET}


# ---------------------------------------------------------------- reductions


def resolve_reduction(size_average: Any, reduce: Any, reduction: Any) -> str:
    """PyTorch's rules: legacy arguments override `reduction`, with a warning."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        if size_average and reduce:
            reduction = "mean"
        elif reduce:
            reduction = "sum"
        else:
            reduction = "none"
        warnings.warn(
            "size_average and reduce args will be deprecated, please use "
            f"reduction='{reduction}' instead.",
            DeprecationWarning,
            stacklevel=3,
        )
        return reduction
    return check_reduction(reduction, stacklevel=4)


def check_reduction(reduction: Any, stacklevel: int = 3) -> str:
    """Validate a reduction string; "elementwise_mean" is a deprecated "mean"."""
    if isinstance(reduction, str):
        if reduction == "elementwise_mean":
            warnings.warn(
                "reduction='elementwise_mean' is deprecated, please use reduction='mean' instead.",
                DeprecationWarning,
                stacklevel=stacklevel,
            )
            return "mean"
        if reduction in _REDUCTIONS:
            return reduction
    raise ValueError(f"'{reduction}' is not a valid value for reduction")


# ---------------------------------------------------------------- arrays

# The kernel dtypes in native byte order. NumPy hands out one shared descriptor
# object for each built-in native dtype, so `dtype is _F32` is an exact and
# cheap test (a non-native or otherwise different descriptor just takes the
# general path).
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


def _kernel_ready(a: np.ndarray) -> bool:
    """True when the C kernels can read `a` in place."""
    flags = a.flags
    return (
        a.dtype.isnative
        and flags.aligned
        and (flags.c_contiguous or all(s % a.itemsize == 0 for s in a.strides))
    )


def as_input(input: Any) -> tuple[np.ndarray, np.dtype]:
    """Return (input as the kernel reads it, result dtype).

    float32/float64 arrays are used in place; float16 is widened to float32;
    non-native byte order or misaligned memory is converted. Everything else
    is a TypeError.
    """
    if type(input) is np.ndarray:
        kind = input.dtype
        # the common call, checked with the fewest attribute lookups (the
        # per-call cost is what small inputs pay)
        if (kind is _F32 or kind is _F64) and input.flags.c_contiguous and input.flags.aligned:
            return input, kind
    x = input if isinstance(input, np.ndarray) else np.asarray(input)
    kind = x.dtype
    if kind.kind != "f" or kind.itemsize not in (2, 4, 8):
        raise TypeError(
            f"input must be a float16, float32 or float64 array, got dtype {kind}"
        )
    result_dtype = kind.newbyteorder("=")
    kernel_dtype = np.dtype(np.float32) if kind.itemsize == 2 else result_dtype
    if x.dtype != kernel_dtype or not _kernel_ready(x):
        x = x.astype(kernel_dtype, order="K")
    return x, result_dtype


def _broadcasts_to(shape: tuple[int, ...], to: tuple[int, ...]) -> bool:
    """Whether `shape` broadcasts to `to` by NumPy's rules without enlarging it."""
    if len(shape) > len(to):
        return False
    for a, b in zip(reversed(shape), reversed(to)):
        if a != b and a != 1:
            return False
    return True


def as_operand(value: Any, name: str, x: np.ndarray) -> np.ndarray:
    """Convert `value` to x's dtype; its shape must broadcast to x.shape.

    Real numeric and bool dtypes are accepted; complex, string, object and
    other kinds are a TypeError. The shape must broadcast to x.shape without
    enlarging it, else a ValueError naming `name`. The array is returned with
    its own shape: _core.run broadcasts it (zero strides), which costs nothing,
    where np.broadcast_to would cost microseconds per call.
    """
    a = value if isinstance(value, np.ndarray) else np.asarray(value)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric or bool array, got dtype {a.dtype}")
    if a.shape != x.shape and not _broadcasts_to(a.shape, x.shape):
        raise ValueError(
            f"{name} of shape {a.shape} does not broadcast to the input shape {x.shape}"
        )
    if a.dtype != x.dtype or not _kernel_ready(a):
        # A float64 weight of 1e300 becomes inf in float32 by design; errstate
        # settings must not turn that into a warning or an error (SPEC 2.2).
        with np.errstate(all="ignore"):
            a = a.astype(x.dtype, order="K")
    return a


def as_target(target: Any, x: np.ndarray) -> np.ndarray:
    """`target` converted to x's dtype; it must have exactly x's shape (as PyTorch)."""
    if (
        type(target) is np.ndarray
        and target.dtype is x.dtype
        and target.shape == x.shape
        and target.flags.c_contiguous
        and target.flags.aligned
    ):
        return target  # as as_operand would return it, without its general checks
    shape = np.shape(target)
    if shape != x.shape:
        raise ValueError(
            f"Using a target size ({shape}) that is different to the input size "
            f"({x.shape}) is deprecated. Please ensure they have the same size."
        )
    return as_operand(target, "target", x)


def check_label_smoothing(label_smoothing: Any) -> float:
    try:
        s = float(label_smoothing)
    except (TypeError, ValueError):
        raise ValueError(
            f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}"
        ) from None
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return s


def _check_out(out: Any, name: str, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype}, got {out.dtype}")
    if out.shape != x.shape:
        raise ValueError(f"{name} must have the input's shape {x.shape}, got {out.shape}")
    if not out.flags.writeable:
        raise ValueError(f"{name} is read-only")
    return out


def _same_view(a: np.ndarray, b: np.ndarray) -> bool:
    return (
        a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
        and a.shape == b.shape
        and a.strides == b.strides
        and a.dtype == b.dtype
    )


def _check_overlap(out: np.ndarray, name: str, originals: list[Any]) -> None:
    """`out` may be exactly an input array; any other overlap is an error."""
    for orig in originals:
        if isinstance(orig, np.ndarray) and np.may_share_memory(out, orig):
            if _same_view(out, orig):
                continue
            if np.shares_memory(out, orig):
                raise ValueError(f"{name} overlaps an input array in memory")


# ---------------------------------------------------------------- calls


class _Call:
    """One validated call: kernel-ready arrays plus the settings."""

    def __init__(
        self,
        logits: bool,
        input: Any,
        target: Any,
        weight: Any,
        pos_weight: Any,
        reduction: str,
        label_smoothing: Any,
    ) -> None:
        self.logits = logits
        self.x, self.dtype = as_input(input)
        self.t = as_target(target, self.x)
        self.w = None if weight is None else as_operand(weight, "weight", self.x)
        self.pw = None if pos_weight is None else as_operand(pos_weight, "pos_weight", self.x)
        self.reduction = reduction
        self.s = check_label_smoothing(label_smoothing)
        self.originals = [input, target, weight, pos_weight]
        # The kernels compute float16 input in float32: results go through a
        # float32 buffer and are rounded to float16 at the end.
        self.widened = self.dtype != self.x.dtype

    def grad_output(self, grad_output: Any) -> np.ndarray:
        if self.reduction != "none":
            g = np.asarray(grad_output)
            if g.ndim != 0:
                raise ValueError(
                    f"grad_output must be a scalar for reduction='{self.reduction}', "
                    f"got shape {g.shape}"
                )
            if g.dtype.kind not in "biuf":
                raise TypeError(f"grad_output must be real numeric, got dtype {g.dtype}")
            with np.errstate(all="ignore"):
                return g.astype(self.x.dtype)
        return as_operand(grad_output, "grad_output", self.x)

    def output(self, out: Any, name: str) -> tuple[np.ndarray | None, np.ndarray]:
        """(caller's array or None, array the kernel writes)."""
        if out is None:
            return None, np.empty_like(self.x)
        _check_out(out, name, self.x, self.dtype)
        _check_overlap(out, name, self.originals)
        if self.widened or not _kernel_ready(out):
            return out, np.empty_like(self.x)
        return out, out

    # Rounding float32 results to float16 may overflow to inf by design (SPEC 2.3);
    # NumPy's errstate must not turn that into a warning or an error.
    def finish(self, caller: np.ndarray | None, written: np.ndarray) -> np.ndarray:
        if caller is written or (caller is None and not self.widened):
            return written
        with np.errstate(all="ignore"):
            if caller is None:
                return written.astype(self.dtype)
            np.copyto(caller, written, casting="unsafe")
        return caller

    def scalar(self, total: float) -> np.floating:
        if not self.widened:
            # The kernel already rounded `total` to this dtype: the conversion is exact.
            return self.dtype.type(total)
        with np.errstate(all="ignore"):
            return self.dtype.type(np.float32(total))

    def run(
        self,
        ops: int,
        grad_output: Any = None,
        wrt: int = 0,
        loss_out: Any = None,
        grad_out: Any = None,
    ) -> tuple[Any, Any]:
        """Validate outputs, run the kernel, and return (loss, grad)."""
        want_loss = bool(ops & _core.OP_LOSS)
        want_grad = bool(ops & _core.OP_GRAD)
        g = self.grad_output(grad_output) if want_grad else None
        if want_loss and self.reduction != "none":
            if loss_out is not None:
                raise ValueError(
                    f"out can only be used with reduction='none' for the loss, "
                    f"got reduction='{self.reduction}'"
                )
            loss_caller, loss_buf = None, None
        elif want_loss:
            loss_caller, loss_buf = self.output(loss_out, "out")
        else:
            loss_caller, loss_buf = None, None
        if want_grad:
            grad_caller, grad_buf = self.output(grad_out, "out")
        else:
            grad_caller, grad_buf = None, None
        if loss_caller is not None and grad_caller is not None and np.shares_memory(
            loss_caller, grad_caller
        ):
            raise ValueError("the loss and gradient outputs overlap in memory")
        if not self.logits and (loss_caller is not None or grad_caller is not None):
            # A caller's array is never left half-written: check ranges first.
            ops |= _core.OP_CHECK
        total = _core.run(
            ops,
            self.logits,
            self.x,
            self.t,
            self.w,
            self.pw,
            g,
            self.s,
            _REDUCTIONS[self.reduction],
            wrt,
            loss_buf,
            grad_buf,
            get_num_threads(),
        )
        loss = None
        if want_loss:
            if self.reduction == "none":
                loss = self.finish(loss_caller, loss_buf)
            else:
                loss = self.scalar(total)
        grad = self.finish(grad_caller, grad_buf) if want_grad else None
        return loss, grad


def _defaults(label_smoothing: Any, *others: Any) -> bool:
    """True when label_smoothing is the float 0.0 and every other argument is None."""
    if type(label_smoothing) is not float or label_smoothing != 0.0:
        return False
    for other in others:  # `is`, never ==: an argument may be an array
        if other is not None:
            return False
    return True


def _grad_defaults(grad_output: Any, wrt: Any) -> bool:
    """True for the default gradient arguments: the float 1.0 and "input"."""
    return (type(grad_output) is float and grad_output == 1.0
            and type(wrt) is str and wrt == "input")


def _default_call(ops: int, logits: bool, input: Any, target: Any, reduction: Any) -> Any:
    """The most common calls: two C-contiguous arrays of one kernel dtype with nothing
    else given (the caller checks the other arguments: _defaults, _grad_defaults).
    The kernel straight away (_core.default_call, which checks the arrays' form), with
    exactly the results, errors and thread count of the general path (_Call), for a
    fraction of its per-call cost (what small inputs pay). None when the call is not
    of that form."""
    red = _REDUCTIONS.get(reduction) if type(reduction) is str else None
    if red is None:
        return None
    return _core.default_call(ops, logits, input, target, red, get_num_threads())


def check_wrt(wrt: Any) -> int:
    if not isinstance(wrt, str) or wrt not in _WRT:
        raise ValueError(f"wrt must be 'input' or 'target', got {wrt!r}")
    return _WRT[wrt]


def _split_out_pair(out: Any) -> tuple[Any, Any]:
    if out is None:
        return None, None
    if not isinstance(out, tuple) or len(out) != 2:
        raise TypeError("out must be a pair (loss_out, grad_out); either may be None")
    return out


# ---------------------------------------------------------------- public


def binary_cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    *,
    label_smoothing: float = 0.0,
    out: np.ndarray | None = None,
) -> Any:
    """Binary cross-entropy between probabilities `input` and `target`.

    Per element ``l = -w * (t * max(log(x), -100) + (1 - t) * max(log(1 - x), -100))``
    with ``t`` replaced by ``t * (1 - s) + s / 2`` for ``label_smoothing=s``.

    Parameters
    ----------
    input : array_like, float16/float32/float64
        Probabilities in [0, 1]; any shape, any strides.
    target : array_like
        Same shape as `input` (no broadcasting); any real or bool dtype, values in [0, 1].
    weight : array_like, optional
        Rescales each element; broadcasts to ``input.shape`` without enlarging it.
    size_average, reduce : bool, optional
        Deprecated PyTorch arguments; when either is given it decides the reduction.
    reduction : {"mean", "sum", "none"}
        ``"mean"`` divides the sum by ``input.size`` (NaN for empty input).
    label_smoothing : float in [0, 1]
    out : ndarray, optional
        With ``reduction="none"``: a writable array of input's shape and dtype to fill.

    Returns
    -------
    A NumPy scalar of input's dtype for "mean"/"sum"; an array of input's shape for "none".

    Raises
    ------
    TypeError
        `input` not float16/32/64; complex, string or object operands; `out` not an array of
        the result dtype.
    ValueError
        An input or target value outside [0, 1] or NaN
        (``all elements of input should be between 0 and 1``), a target of another shape,
        a weight that does not broadcast, a bad reduction or label_smoothing, a bad `out`.
    """
    if _defaults(label_smoothing, weight, size_average, reduce, out):
        loss = _default_call(_core.OP_LOSS, False, input, target, reduction)
        if loss is not None:
            return loss
    reduction = resolve_reduction(size_average, reduce, reduction)
    call = _Call(False, input, target, weight, None, reduction, label_smoothing)
    return call.run(_core.OP_LOSS, loss_out=out)[0]


def binary_cross_entropy_with_logits(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Any = None,
    *,
    label_smoothing: float = 0.0,
    out: np.ndarray | None = None,
) -> Any:
    """Binary cross-entropy of ``sigmoid(input)`` against `target`, computed stably.

    Per element, with ``lw = pw * t + (1 - t)``:
    ``l = w * ((1 - t) * x + lw * log(1 + exp(-x)))``, evaluated without cancellation
    (``x <= 0``: ``-pw * t * x + lw * log(1 + exp(x))``). Infinite logits give the
    mathematical limits; NaN propagates; no value is checked.

    Parameters
    ----------
    input : array_like, float16/float32/float64
        Logits; any shape, any strides.
    target : array_like
        Same shape as `input`; any real or bool dtype.
    weight : array_like, optional
        Broadcasts to ``input.shape`` without enlarging it.
    pos_weight : array_like, optional
        Weight of positive examples; a 1-D array lines up with the last (class) axis.
    size_average, reduce, reduction, label_smoothing, out
        As in :func:`binary_cross_entropy`.

    Returns
    -------
    A NumPy scalar of input's dtype for "mean"/"sum"; an array of input's shape for "none".

    Raises
    ------
    TypeError, ValueError
        As in :func:`binary_cross_entropy`, without the value range checks.
    """
    if _defaults(label_smoothing, weight, pos_weight, size_average, reduce, out):
        loss = _default_call(_core.OP_LOSS, True, input, target, reduction)
        if loss is not None:
            return loss
    reduction = resolve_reduction(size_average, reduce, reduction)
    call = _Call(True, input, target, weight, pos_weight, reduction, label_smoothing)
    return call.run(_core.OP_LOSS, loss_out=out)[0]


def _grad(logits, input, target, weight, reduction, pos_weight, grad_output, wrt, label_smoothing, out):
    if _grad_defaults(grad_output, wrt) and _defaults(label_smoothing, weight, pos_weight, out):
        grad = _default_call(_core.OP_GRAD, logits, input, target, reduction)
        if grad is not None:
            return grad
    call = _Call(logits, input, target, weight, pos_weight, check_reduction(reduction, 4),
                 label_smoothing)
    return call.run(_core.OP_GRAD, grad_output, check_wrt(wrt), grad_out=out)[1]


def _value_and_grad(logits, input, target, weight, reduction, pos_weight, grad_output, wrt,
                    label_smoothing, out):
    if _grad_defaults(grad_output, wrt) and _defaults(label_smoothing, weight, pos_weight, out):
        pair = _default_call(_core.OP_LOSS | _core.OP_GRAD, logits, input, target, reduction)
        if pair is not None:
            return pair
    loss_out, grad_out = _split_out_pair(out)
    call = _Call(logits, input, target, weight, pos_weight, check_reduction(reduction, 4),
                 label_smoothing)
    return call.run(_core.OP_LOSS | _core.OP_GRAD, grad_output, check_wrt(wrt), loss_out, grad_out)


def binary_cross_entropy_grad(
    input: Any,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    *,
    grad_output: Any = 1.0,
    wrt: str = "input",
    label_smoothing: float = 0.0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Gradient of the reduced :func:`binary_cross_entropy` loss, shaped like `input`.

    ``wrt="input"``: ``g * w * (x - t) / max(x * (1 - x), 1e-12)``;
    ``wrt="target"``: ``g * w * (1 - s) * (max(log(1 - x), -100) - max(log(x), -100))``
    (the derivative of the clamped loss). ``"mean"`` also divides by ``input.size``.

    `grad_output` (``g``) is a scalar for "mean"/"sum" and a scalar or an array that
    broadcasts to ``input.shape`` for "none". `out` is any writable array of input's shape
    and dtype. Errors as in :func:`binary_cross_entropy`, plus ValueError for a bad
    `grad_output` shape or `wrt`.
    """
    return _grad(False, input, target, weight, reduction, None, grad_output, wrt,
                 label_smoothing, out)


def binary_cross_entropy_with_logits_grad(
    input: Any,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
    *,
    grad_output: Any = 1.0,
    wrt: str = "input",
    label_smoothing: float = 0.0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Gradient of the reduced :func:`binary_cross_entropy_with_logits` loss.

    ``wrt="input"``: ``g * w * (lw * sigmoid(x) - pw * t)`` (``sigmoid(x) - t`` without
    pos_weight), computed without saturation; ``wrt="target"``:
    ``g * w * (1 - s) * (-x + (pw - 1) * log(1 + exp(-x)))``. ``"mean"`` divides by
    ``input.size``. Shapes, dtypes and errors as in :func:`binary_cross_entropy_grad`.
    """
    return _grad(True, input, target, weight, reduction, pos_weight, grad_output, wrt,
                 label_smoothing, out)


def binary_cross_entropy_value_and_grad(
    input: Any,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    *,
    grad_output: Any = 1.0,
    wrt: str = "input",
    label_smoothing: float = 0.0,
    out: tuple[np.ndarray | None, np.ndarray | None] | None = None,
) -> tuple[Any, np.ndarray]:
    """``(binary_cross_entropy(...), binary_cross_entropy_grad(...))`` in one pass.

    Reads each input once; both results equal the separate calls bit for bit.
    `out` is a pair ``(loss_out, grad_out)``, either may be None; ``loss_out`` must be
    None unless ``reduction="none"``.
    """
    return _value_and_grad(False, input, target, weight, reduction, None, grad_output, wrt,
                           label_smoothing, out)


def binary_cross_entropy_with_logits_value_and_grad(
    input: Any,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
    *,
    grad_output: Any = 1.0,
    wrt: str = "input",
    label_smoothing: float = 0.0,
    out: tuple[np.ndarray | None, np.ndarray | None] | None = None,
) -> tuple[Any, np.ndarray]:
    """``(binary_cross_entropy_with_logits(...), ..._with_logits_grad(...))`` in one pass.

    Results equal the separate calls bit for bit; `out` as in
    :func:`binary_cross_entropy_value_and_grad`.
    """
    return _value_and_grad(True, input, target, weight, reduction, pos_weight, grad_output,
                           wrt, label_smoothing, out)
