"""Per-class rows: (N, C) inputs with a (C,) weight or pos_weight, against full arrays.

    python benchmarks/rows.py                       # n = N*C = 10^6, C = 10 and 100
    python benchmarks/rows.py --other /path/to/old  # also an older build, interleaved

The multi-label case: a row broadcast over the N samples keeps the kernels' layout 2-d
(the row's stride is 0 along N), so its runs are C elements long. Input, target and new
outputs are C-contiguous all the same, and the kernels read and write them as whole
chunks (c/src/kernels.inc.h, cbce__layout.flat); the row is gathered run by run. This
times the loss ("mean") and `value_and_grad` ("none") of both losses, one thread, with
the row and with the same weights as a full (N, C) array. --other as in labels.py (ab.py).
"""

from __future__ import annotations

import ab  # sibling module: the interleaved A/B driver

_WORKER = r"""
for dtype in ("float32", "float64"):
    for c in (10, 100):
        shape = (n // c, c)
        z = (3 * rng.standard_normal(shape)).astype(dtype)
        p = (1e-3 + (1 - 2e-3) * rng.random(shape)).astype(dtype)
        t = (rng.random(shape) < 0.5).astype(dtype)
        row = rng.uniform(0.5, 3, c).astype(dtype)
        for form, r in (("row", row), ("full", np.broadcast_to(row, shape).copy())):
            key = f"{dtype} C={c} {form:4s}"
            out[f"{key} logits pw mean"] = timed(
                lambda: cbce.binary_cross_entropy_with_logits(z, t, pos_weight=r))
            out[f"{key} logits pw vg none"] = timed(
                lambda: cbce.binary_cross_entropy_with_logits_value_and_grad(
                    z, t, pos_weight=r, reduction="none"))
            out[f"{key} bce w mean"] = timed(lambda: cbce.binary_cross_entropy(p, t, weight=r))
            out[f"{key} bce w vg none"] = timed(
                lambda: cbce.binary_cross_entropy_value_and_grad(p, t, weight=r, reduction="none"))
"""


if __name__ == "__main__":
    ab.main(_WORKER, __doc__.splitlines()[0], "(N, C) rows and full weights, 1 thread")
