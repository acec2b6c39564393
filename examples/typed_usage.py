"""cbce in typed code: this file passes `mypy --strict` (tests/test_typing.py runs it).

cbce ships `py.typed` and stubs for its compiled module, so a type checker sees the
real signatures: losses come back as NumPy scalars (`np.floating`) for "mean"/"sum"
and as arrays for "none"; gradients are always arrays.

Run it: python examples/typed_usage.py
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

import cbce

FloatArray = npt.NDArray[np.floating]


def sigmoid(z: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-z))


def train_step(
    weights: npt.NDArray[np.float64],
    features: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64],
    learning_rate: float,
) -> tuple[float, npt.NDArray[np.float64]]:
    """One gradient step of logistic regression with BCEWithLogitsLoss."""
    logits = features @ weights
    loss, dlogits = cbce.binary_cross_entropy_with_logits_value_and_grad(logits, labels)
    step = features.T @ dlogits
    return float(loss), weights - learning_rate * step


def main() -> None:
    rng = np.random.default_rng(0)

    # Functions: a NumPy scalar of the input's dtype for "mean"/"sum".
    p = sigmoid(rng.standard_normal(8)).astype(np.float32)
    t = rng.integers(0, 2, 8)
    mean: np.floating = cbce.binary_cross_entropy(p, t)
    total: np.floating = cbce.binary_cross_entropy(p, t, reduction="sum")
    per_element: FloatArray = cbce.binary_cross_entropy(p, t, reduction="none")
    print("mean", mean, "sum", total, "none", per_element.shape)

    # Gradients and out=: arrays shaped like the input.
    grad = np.empty_like(p)
    filled: FloatArray = cbce.binary_cross_entropy_grad(p, t, out=grad)
    assert filled is grad
    dtarget: FloatArray = cbce.binary_cross_entropy_grad(p, t, wrt="target")
    print("d/dx", filled[:2], "d/dt", dtarget[:2])

    # Criterion classes, as in PyTorch.
    criterion = cbce.BCEWithLogitsLoss(pos_weight=np.full(3, 2.0), label_smoothing=0.1)
    x = rng.standard_normal((4, 3))
    y = (rng.random((4, 3)) < 0.5).astype(np.float64)
    value: np.floating = criterion(x, y)
    dx: FloatArray = criterion.backward()
    fused_value, fused_dx = criterion.value_and_grad(x, y)
    assert fused_value == value and np.array_equal(fused_dx, dx)
    reduction: str = criterion.reduction
    pos_weight: FloatArray | None = criterion.pos_weight
    print(repr(criterion), reduction, pos_weight is not None)

    # A few steps of logistic regression.
    features = rng.standard_normal((64, 3))
    labels = (features @ np.array([1.0, -2.0, 0.5]) > 0).astype(np.int64)
    weights = np.zeros(3)
    for _ in range(3):
        loss, weights = train_step(weights, features, labels, 0.5)
        print(f"loss {loss:.4f}")

    # Library information.
    level: str = cbce.simd_level()
    levels: list[str] = cbce.available_simd_levels()
    include: str = cbce.get_include()
    print(cbce.__version__, level, levels, include)


if __name__ == "__main__":
    main()
