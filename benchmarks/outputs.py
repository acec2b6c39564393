"""Outputs written directly by the math loops, against outputs that go through a buffer.

    python benchmarks/outputs.py                       # n = 10^6, float32 and float64
    python benchmarks/outputs.py --other /path/to/old  # also an older build, interleaved

A flat output that shares no memory with any other operand (every output cbce allocates,
and most `out=` arrays) is written by the math loops themselves: the gradients of both
dtypes (rounded to the dtype in the loop) and the float64 losses of reduction "none"
(c/src/kernels.inc.h, cbce__layout.direct). Any other output is computed into a buffer of
one chunk and then copied (rounded) into place. This times `value_and_grad` and the
gradient ("mean") and the "none" forward of both losses on one thread, with new outputs
("new") and with `out=` arrays that are strided views ("strided": every other element of
a larger array, always the buffered path). --other as in labels.py (ab.py).
"""

from __future__ import annotations

import ab  # sibling module: the interleaved A/B driver

_WORKER = r"""
for dtype in ("float32", "float64"):
    p = (1e-3 + (1 - 2e-3) * rng.random(n)).astype(dtype)
    z = (3 * rng.standard_normal(n)).astype(dtype)
    t = (rng.random(n) < 0.5).astype(dtype)
    wide = np.empty((2, 2 * n), dtype)
    strided = (wide[0, ::2], wide[1, ::2])
    for loss, a, name in (("bce", p, "binary_cross_entropy"),
                          ("logits", z, "binary_cross_entropy_with_logits")):
        vg = getattr(cbce, name + "_value_and_grad")
        grad = getattr(cbce, name + "_grad")
        fwd = getattr(cbce, name)
        key = f"{dtype} {loss:6s}"
        out[f"{key} vg mean    new"] = timed(lambda: vg(a, t))
        out[f"{key} vg mean    strided"] = timed(lambda: vg(a, t, out=(None, strided[1])))
        out[f"{key} grad mean  new"] = timed(lambda: grad(a, t))
        out[f"{key} grad mean  strided"] = timed(lambda: grad(a, t, out=strided[1]))
        out[f"{key} none       new"] = timed(lambda: fwd(a, t, reduction="none"))
        out[f"{key} none       strided"] = timed(
            lambda: fwd(a, t, reduction="none", out=strided[0]))
"""


if __name__ == "__main__":
    ab.main(_WORKER, __doc__.splitlines()[0], "1 thread")
