"""Interleaved A/B timing of this cbce build against another, for the small benchmark
scripts beside this file (labels.py, rows.py, calls.py, outputs.py, backtoback.py).

A script gives the body of a worker program, which runs as `python -c PROGRAM PATH N
REPEAT` between WORKER_HEAD and WORKER_TAIL: the head puts PATH (when not empty) first on
sys.path, imports numpy and cbce from there and defines `n`, `repeat`, `rng`, the dict
`out` and `timed(f, threads=1)` (one untimed call, then `repeat` timed ones, back to
back, on that many threads); the
body fills `out[case] = timed(...)`, and the tail prints one JSON object
`{"file": cbce.__file__, "times": out}`. `main` runs the program for each build in turn,
`--rounds` times, and prints the medians side by side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

import cbce


WORKER_HEAD = r"""
import json, sys, time
if sys.argv[1]:
    sys.path.insert(0, sys.argv[1])
import numpy as np
import cbce
n, repeat = int(float(sys.argv[2])), int(sys.argv[3])
rng = np.random.default_rng(0)
out = {}

def timed(f, threads=1):
    times = []
    with cbce.threads(threads):
        f()
        for _ in range(repeat):
            t0 = time.perf_counter()
            f()
            times.append(time.perf_counter() - t0)
    return times
"""

WORKER_TAIL = r"""
print(json.dumps({"file": cbce.__file__, "times": out}))
"""


def run(worker: str, path: str, n: float, repeat: int) -> dict:
    program = WORKER_HEAD + worker + WORKER_TAIL
    r = subprocess.run([sys.executable, "-c", program, path, str(n), str(repeat)],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def main(worker: str, description: str, what: str, unit: str = "ms") -> None:
    """Parse --n, --repeat, --rounds and --other, run the worker body for this build
    (and the other one), and print the medians in `unit` ("ms" or "us"), `what` naming
    the calls timed, each with its fastest call in brackets (on a shared VM the
    medians of microsecond calls can switch between two levels from run to run)."""
    scale = {"ms": 1e3, "us": 1e6}[unit]
    ap = argparse.ArgumentParser(description=description)
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
            res = run(worker, path, args.n, args.repeat)
            files[b] = res["file"]
            for k, v in res["times"].items():
                samples[b].setdefault(k, []).extend(v)
    print(f"n = {args.n:.0e}, {what}; medians of {args.rounds} x {args.repeat} calls; "
          f"kernels {cbce.simd_level()}")
    for b in builds:
        print(f"  {b}: {files[b]}")
    head = "case".ljust(40) + "".join(f"{b + ' [min]':>24s}" for b in builds)
    print(head + ("   this/other (median)" if args.other else ""))
    for k in samples["this"]:
        meds = {b: statistics.median(samples[b][k]) * scale for b in builds}
        mins = {b: min(samples[b][k]) * scale for b in builds}
        line = k.ljust(40) + "".join(f"{meds[b]:9.3f} {unit} [{mins[b]:9.3f}]" for b in builds)
        if args.other:
            line += f"   {meds['this'] / meds['other']:8.3f}"
        print(line)
