"""Back-to-back threaded calls: what the hand-over to the C core's helper threads costs.

    python benchmarks/backtoback.py --n 1e6                   # this build
    python benchmarks/backtoback.py --n 1e6 --other DIR       # and another, interleaved

Mean forward calls of both losses and dtypes on all cores (cbce's default thread
count), each call right after the previous one, as a training loop makes them. Between
two such calls the helper threads should stay awake (c/src/threads.c: they spin for a
while after a call); one that fell asleep has to be woken, which on a VM can cost tens
to hundreds of microseconds. --other as in labels.py (ab.py).
"""

from __future__ import annotations

import ab  # sibling module: the interleaved A/B driver

_WORKER = r"""
nt = cbce.get_num_threads()
for dtype in ("float32", "float64"):
    p = (1e-3 + (1 - 2e-3) * rng.random(n)).astype(dtype)
    z = (3.0 * rng.standard_normal(n)).astype(dtype)
    t = (rng.random(n) < 0.5).astype(dtype)
    out[f"{dtype} bce mean, {nt} threads"] = timed(
        lambda: cbce.binary_cross_entropy(p, t), threads=nt)
    out[f"{dtype} logits mean, {nt} threads"] = timed(
        lambda: cbce.binary_cross_entropy_with_logits(z, t), threads=nt)
"""


if __name__ == "__main__":
    ab.main(_WORKER, __doc__.splitlines()[0], "back-to-back calls, all threads", unit="us")
