"""Interleaved A/B timing of this cbce build against another, for the small benchmark
scripts beside this file (labels.py, rows.py).

A script gives the source of a worker program: run as `python -c WORKER PATH N REPEAT`,
it puts PATH (when not empty) first on sys.path, imports cbce from there, times its
cases with `repeat` calls each, and prints one JSON object
`{"file": cbce.__file__, "times": {case: [seconds, ...]}}`. `main` runs the worker for
each build in turn, `--rounds` times, and prints the medians side by side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

import cbce


def run(worker: str, path: str, n: float, repeat: int) -> dict:
    r = subprocess.run([sys.executable, "-c", worker, path, str(n), str(repeat)],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def main(worker: str, description: str, what: str) -> None:
    """Parse --n, --repeat, --rounds and --other, run the worker for this build (and
    the other one), and print the medians in ms, `what` naming the calls timed."""
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
    head = "case".ljust(40) + "".join(f"{b:>12s}" for b in builds)
    print(head + ("        this/other" if args.other else ""))
    for k in samples["this"]:
        meds = {b: statistics.median(samples[b][k]) * 1e3 for b in builds}
        line = k.ljust(40) + "".join(f"{meds[b]:9.3f} ms" for b in builds)
        if args.other:
            line += f"   {meds['this'] / meds['other']:8.3f}"
        print(line)
