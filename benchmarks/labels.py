"""BCE gradients by kind of target: hard (0/1), soft, and both mixed in every chunk.

    python benchmarks/labels.py                       # n = 10^6, float64 and float32
    python benchmarks/labels.py --other /path/to/old  # also an older build, interleaved

The float64 input gradient takes a one-division form for targets 0 or 1 (weight 1,
x away from 0 and 1) and the general form elsewhere, chosen per element; chunks of 256
elements where one form covers every element skip the choice (c/src/kernels.inc.h,
dx_forms). This times `binary_cross_entropy_grad` and `..._value_and_grad` (mean, one
thread) on targets that are all hard, all soft, and alternating hard and soft (every chunk
needs both forms). With --other DIR, DIR is a directory holding another build of the
`cbce` package (e.g. `pip install --no-deps --target DIR <checkout>`); each round runs
both builds in subprocesses, one after the other, and the medians are printed side by side
(ab.py).
"""

from __future__ import annotations

import ab  # sibling module: the interleaved A/B driver

_WORKER = r"""
for dtype in ("float64", "float32"):
    x = (1e-3 + (1 - 2e-3) * rng.random(n)).astype(dtype)
    hard = (rng.random(n) < 0.5).astype(dtype)
    soft = rng.random(n).astype(dtype)
    mixed = hard.copy()
    mixed[1::2] = soft[1::2]
    for name, t in (("hard", hard), ("soft", soft), ("mixed", mixed)):
        for fn in ("binary_cross_entropy_value_and_grad", "binary_cross_entropy_grad"):
            f = getattr(cbce, fn)
            key = f"{dtype} {name:5s} {fn.replace('binary_cross_entropy_', '')}"
            out[key] = timed(lambda: f(x, t))
"""


if __name__ == "__main__":
    ab.main(_WORKER, __doc__.splitlines()[0], "1 thread, mean")
