"""Criterion classes with PyTorch's names: BCELoss and BCEWithLogitsLoss.

A criterion holds validated, read-only settings and remembers the arguments
of its last forward call for `backward`; all work is done by the functions in
cbce._functional.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _functional as F

__all__ = ["BCELoss", "BCEWithLogitsLoss"]


def _frozen_weight(value: Any, name: str) -> np.ndarray | None:
    """A read-only copy; integer and bool weights become float64."""
    if value is None:
        return None
    a = np.array(value, copy=True)
    if a.dtype.kind in "biu":
        a = a.astype(np.float64)
    elif a.dtype.kind != "f":
        raise TypeError(f"{name} must be a real numeric or bool array, got dtype {a.dtype}")
    a.flags.writeable = False
    return a


def _restore(cls: type, settings: dict[str, Any]) -> Any:
    return cls(**settings)


class _BCEBase:
    __slots__ = ("_weight", "_reduction", "_label_smoothing", "_last")
    _fields: tuple[str, ...] = ("weight", "reduction", "label_smoothing")

    def __init__(
        self,
        weight: Any = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        *,
        label_smoothing: float = 0.0,
    ) -> None:
        self._reduction = F.resolve_reduction(size_average, reduce, reduction)
        self._weight = _frozen_weight(weight, "weight")
        self._label_smoothing = F.check_label_smoothing(label_smoothing)
        self._last: tuple[Any, Any] | None = None

    # -- read-only settings
    @property
    def weight(self) -> np.ndarray | None:
        """The per-element rescaling weight (a read-only array), or None."""
        return self._weight

    @property
    def reduction(self) -> str:
        """"none", "mean" or "sum"."""
        return self._reduction

    @property
    def label_smoothing(self) -> float:
        """s in [0, 1]: targets are used as t * (1 - s) + s / 2."""
        return self._label_smoothing

    def _settings(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._fields}

    # -- computing
    def __call__(self, input: Any, target: Any) -> Any:
        return self.forward(input, target)

    def forward(self, input: Any, target: Any) -> Any:
        """The loss of `input` against `target` with this criterion's settings."""
        self._last = (input, target)
        return self._loss(input, target, **self._settings())

    def value_and_grad(self, input: Any, target: Any, grad_output: Any = 1.0) -> tuple[Any, Any]:
        """``(loss, d loss / d input)`` in one pass; recorded for `backward` like forward."""
        self._last = (input, target)
        return self._value_and_grad(input, target, grad_output=grad_output, **self._settings())

    def backward(self, grad_output: Any = 1.0) -> np.ndarray:
        """d(loss)/d(input) of the last forward call, times `grad_output`."""
        if self._last is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward() called before forward(): "
                "call the criterion on (input, target) first"
            )
        return self._grad(*self._last, grad_output=grad_output, **self._settings())

    # -- identity
    def __repr__(self) -> str:
        defaults = {"weight": None, "pos_weight": None, "reduction": "mean", "label_smoothing": 0.0}
        parts = [
            f"{name}={value!r}"
            for name, value in self._settings().items()
            if not (value is None if defaults[name] is None else value == defaults[name])
        ]
        return f"{type(self).__name__}({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        mine, theirs = self._settings(), other._settings()  # type: ignore[attr-defined]
        for name in self._fields:
            a, b = mine[name], theirs[name]
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or a.dtype != b.dtype or not np.array_equal(a, b, equal_nan=True):
                    return False
            elif a != b:
                return False
        return True

    def __hash__(self) -> int:
        key = []
        for value in self._settings().values():
            if isinstance(value, np.ndarray):
                value = (value.dtype.str, value.shape, np.ascontiguousarray(value).tobytes())
            key.append(value)
        return hash((type(self).__name__, *key))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self._settings()))


class BCELoss(_BCEBase):
    """Binary cross-entropy between probabilities and targets, as ``torch.nn.BCELoss``.

    ``loss(input, target)`` computes
    ``-w * (t * max(log(x), -100) + (1 - t) * max(log(1 - x), -100))`` per element,
    reduced by `reduction` ("mean" divides by the element count). `weight` broadcasts to
    the input's shape; `label_smoothing=s` uses ``t * (1 - s) + s / 2``. See
    :func:`cbce.binary_cross_entropy` for shapes, dtypes and errors.
    """

    __slots__ = ()
    _loss = staticmethod(F.binary_cross_entropy)
    _grad = staticmethod(F.binary_cross_entropy_grad)
    _value_and_grad = staticmethod(F.binary_cross_entropy_value_and_grad)


class BCEWithLogitsLoss(_BCEBase):
    """Sigmoid and binary cross-entropy in one stable step, as ``torch.nn.BCEWithLogitsLoss``.

    ``loss(input, target)`` computes ``w * ((1 - t) * x + lw * log(1 + exp(-x)))`` per
    element with ``lw = pos_weight * t + (1 - t)``; `pos_weight` (a 1-D array lines up with
    the last, class axis) trades recall against precision. See
    :func:`cbce.binary_cross_entropy_with_logits` for shapes, dtypes and errors.
    """

    __slots__ = ("_pos_weight",)
    _fields = ("weight", "pos_weight", "reduction", "label_smoothing")
    _loss = staticmethod(F.binary_cross_entropy_with_logits)
    _grad = staticmethod(F.binary_cross_entropy_with_logits_grad)
    _value_and_grad = staticmethod(F.binary_cross_entropy_with_logits_value_and_grad)

    def __init__(
        self,
        weight: Any = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        pos_weight: Any = None,
        *,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction, label_smoothing=label_smoothing)
        self._pos_weight = _frozen_weight(pos_weight, "pos_weight")

    @property
    def pos_weight(self) -> np.ndarray | None:
        """The weight of positive examples (a read-only array), or None."""
        return self._pos_weight
