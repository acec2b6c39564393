"""Known values that `python -m cbce` checks before it times anything.

Each check computes something whose exact answer is known in closed form
(the SPEC's edge values, the R torch pos_weight example, float32 against
float64) and says PASS or FAIL; a FAIL makes `python -m cbce` exit nonzero.
References are computed with `decimal` at 40 digits, so the check measures
cbce's error, not the reference's.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import cbce


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _exact(fn: Callable[[decimal.Context], decimal.Decimal]) -> float:
    """A real number evaluated at 40 digits, then rounded to float64 once."""
    ctx = decimal.Context(prec=40)
    return float(fn(ctx))


def _ulps(got: np.ndarray | float, want: np.ndarray | float, dtype: type) -> float:
    """Largest |got - want| in units of the last place of want, in `dtype`."""
    g = np.asarray(got, dtype=np.float64)
    w = np.asarray(want, dtype=np.float64)
    ulp = np.spacing(np.abs(w).astype(dtype)).astype(np.float64)
    return float(np.max(np.abs(g - w) / ulp))


def check_bce_clamped_at_100() -> Check:
    # log(0) is clamped to -100 (PyTorch's choice), so l(0, 1) = l(1, 0) = 100 exactly.
    got = [
        cbce.binary_cross_entropy(np.array([0.0, 1.0], dtype=dt), np.array([1.0, 0.0], dtype=dt))
        for dt in (np.float32, np.float64)
    ]
    ok = all(v == 100 and v.dtype in (np.float32, np.float64) for v in got)
    return Check(
        "BCE l(0, 1) = l(1, 0) = 100 (float32, float64)", ok, f"got {[float(v) for v in got]}"
    )


def check_bce_half_is_log2() -> Check:
    got = cbce.binary_cross_entropy(np.array([0.5]), np.array([1.0]))
    want = _exact(lambda c: c.ln(decimal.Decimal(2)))
    ulps = _ulps(got, want, np.float64)
    return Check("BCE l(0.5, 1) = log 2", ulps <= 2, f"{float(got)!r}, {ulps:.1f} ulp")


def check_r_pos_weight_example() -> Check:
    # The R torch example: nn_bce_with_logits_loss(pos_weight = torch_ones(64)) on a
    # 10 x 64 input of 1.5 with all-one targets: every element is -log(sigmoid(1.5)).
    loss = cbce.BCEWithLogitsLoss(pos_weight=np.ones(64))
    got = loss(np.full((10, 64), 1.5), np.ones((10, 64)))
    want = _exact(lambda c: (1 + c.exp(decimal.Decimal("-1.5"))).ln(c))
    ulps = _ulps(got, want, np.float64)
    return Check(
        "R example: pos_weight=ones(64), input 1.5 -> log1p(exp(-1.5))",
        ulps <= 4,
        f"{float(got)!r} vs {want!r}, {ulps:.1f} ulp",
    )


def check_float32_matches_float64() -> Check:
    # float32 is evaluated in float64 and rounded once (SPEC 3): at most 1 ulp from the
    # float64 result on the same (widened) float32 values, for both losses.
    logits = np.linspace(-30, 30, 121, dtype=np.float32)
    probs = np.linspace(0, 1, 121, dtype=np.float32)
    targets = np.resize(np.array([0, 0.25, 1], dtype=np.float32), 121)
    worst = 0.0
    for fn, x in (
        (cbce.binary_cross_entropy_with_logits, logits),
        (cbce.binary_cross_entropy, probs),
    ):
        lo = fn(x, targets, reduction="none")
        hi = fn(x.astype(np.float64), targets.astype(np.float64), reduction="none")
        if lo.dtype != np.float32:
            return Check("float32 within 1 ulp of float64", False, f"dtype {lo.dtype}")
        worst = max(worst, _ulps(lo, hi.astype(np.float32), np.float32))
    return Check(
        "float32 within 1 ulp of float64 (both losses, 121 points)",
        worst <= 1,
        f"max {worst:.1f} ulp",
    )


def check_logits_grad_at_zero() -> Check:
    # At x = 0: loss log 2 for any target in {0, 1}, gradient sigmoid(0) - t = 0.5 - t.
    x, t = np.zeros(4), np.array([0.0, 1.0, 0.0, 1.0])
    value, grad = cbce.binary_cross_entropy_with_logits_value_and_grad(x, t, reduction="sum")
    ok = _ulps(value, 4 * np.log(2), np.float64) <= 2 and np.array_equal(grad, 0.5 - t)
    return Check(
        "logits value_and_grad at 0: 4 log 2, grad 0.5 - t",
        bool(ok),
        f"{float(value)!r}, {grad.tolist()}",
    )


CHECKS: tuple[Callable[[], Check], ...] = (
    check_bce_clamped_at_100,
    check_bce_half_is_log2,
    check_r_pos_weight_example,
    check_float32_matches_float64,
    check_logits_grad_at_zero,
)


def run_checks() -> list[Check]:
    """Every check; an exception counts as a FAIL that names it."""
    out = []
    for fn in CHECKS:
        try:
            out.append(fn())
        except Exception as e:  # noqa: BLE001  (any error is a FAIL; the other checks still run)
            out.append(Check(fn.__name__, False, f"{type(e).__name__}: {e}"))
    return out
