"""Per-call cost of small calls: the fast path against the general argument handling.

    python benchmarks/calls.py --n 1 --repeat 2000                  # this build
    python benchmarks/calls.py --n 1 --repeat 2000 --other DIR      # and another, interleaved

A call that gives only input, target and reduction goes straight to the kernel
(cbce._functional._default_call); any other argument takes the general path (_Call).
`label_smoothing=0` (an int) sends the same call down the general path, which shows what
the fast path saves. Inputs have n elements; the per-class row case, a (100, 10) logits
input with a (10,) pos_weight, is fixed. --other as in labels.py (ab.py).
"""

from __future__ import annotations

import ab  # sibling module: the interleaved A/B driver

_WORKER = r"""
for dtype in ("float32", "float64"):
    x = (1e-3 + (1 - 2e-3) * rng.random(n)).astype(dtype)
    t = (rng.random(n) < 0.5).astype(dtype)
    for path, kw in (("fast", {}), ("general", {"label_smoothing": 0})):
        key = f"{dtype} {path:7s}"
        out[f"{key} bce mean"] = timed(lambda: cbce.binary_cross_entropy(x, t, **kw))
        out[f"{key} bce none"] = timed(
            lambda: cbce.binary_cross_entropy(x, t, reduction="none", **kw))
        out[f"{key} bce vg mean"] = timed(
            lambda: cbce.binary_cross_entropy_value_and_grad(x, t, **kw))
        out[f"{key} bce vg none"] = timed(
            lambda: cbce.binary_cross_entropy_value_and_grad(x, t, reduction="none", **kw))
z = rng.standard_normal((100, 10))
labels = (rng.random((100, 10)) < 0.5) * 1.0
pos_weight = np.full(10, 3.0)
out["float64 (100, 10) logits pos_weight row"] = timed(
    lambda: cbce.binary_cross_entropy_with_logits(z, labels, pos_weight=pos_weight))
"""


if __name__ == "__main__":
    ab.main(_WORKER, __doc__.splitlines()[0], "small calls, 1 thread", unit="us")
