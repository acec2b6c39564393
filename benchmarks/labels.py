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
both builds in subprocesses, one after the other, and the medians are printed side by side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

import cbce

_WORKER = r"""
import json, sys, time
if sys.argv[1]:
    sys.path.insert(0, sys.argv[1])
import numpy as np
import cbce
n, repeat = int(float(sys.argv[2])), int(sys.argv[3])
rng = np.random.default_rng(0)
out = {}
for dtype in ("float64", "float32"):
    x = (1e-3 + (1 - 2e-3) * rng.random(n)).astype(dtype)
    hard = (rng.random(n) < 0.5).astype(dtype)
    soft = rng.random(n).astype(dtype)
    mixed = hard.copy()
    mixed[1::2] = soft[1::2]
    for name, t in (("hard", hard), ("soft", soft), ("mixed", mixed)):
        for fn in ("binary_cross_entropy_value_and_grad", "binary_cross_entropy_grad"):
            f = getattr(cbce, fn)
            times = []
            with cbce.threads(1):
                f(x, t)
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    f(x, t)
                    times.append(time.perf_counter() - t0)
            out[f"{dtype} {name:5s} {fn.replace('binary_cross_entropy_', '')}"] = times
print(json.dumps({"file": cbce.__file__, "times": out}))
"""


def run(path: str, n: float, repeat: int) -> dict:
    r = subprocess.run([sys.executable, "-c", _WORKER, path, str(n), str(repeat)],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, default=1e6)
    ap.add_argument("--repeat", type=int, default=15, help="calls per round and build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--other", default=None, help="directory with another cbce build")
    args = ap.parse_args()
    builds = {"this": ""}
    if args.other:
        builds["other"] = args.other
    samples: dict[str, dict[str, list[float]]] = {b: {} for b in builds}
    files = {}
    for _ in range(args.rounds):
        for b, path in builds.items():
            res = run(path, args.n, args.repeat)
            files[b] = res["file"]
            for k, v in res["times"].items():
                samples[b].setdefault(k, []).extend(v)
    print(f"n = {args.n:.0e}, 1 thread, mean; medians of {args.rounds} x {args.repeat} calls; "
          f"kernels {cbce.simd_level()}")
    for b in builds:
        print(f"  {b}: {files[b]}")
    head = "case".ljust(40) + "".join(f"{b:>12s}" for b in builds)
    print(head + ("        this/other" if args.other else ""))
    for k in samples["this"]:
        meds = {b: statistics.median(samples[b][k]) * 1e3 for b in builds}
        line = k.ljust(40) + "".join(f"{meds[b]:9.3f} ms" for b in builds)
        if args.other:
            line += f"   {meds['this'] / meds['other']:8.3f}"
        print(line)


if __name__ == "__main__":
    main()
