"""Where cbce's helper threads run (Linux): the CPU of each thread after each call.

    python benchmarks/placement.py                    # this build, 3e5 float32 elements
    python benchmarks/placement.py --n 1e6 --other DIR
    OPENBLAS_NUM_THREADS=1 python benchmarks/placement.py   # without OpenBLAS's thread

Times back-to-back float32 BCE mean calls on all cores in a fresh process, right after
NumPy's import (whose OpenBLAS worker thread spins for a while then), and after each call
reads from /proc which CPU every thread of the process last ran on. A helper on its
caller's CPU can only take turns with it: such calls take about the one-thread time or
longer. The one-thread time is printed first, measured after the threaded calls. --other
DIR runs the same in a process that imports another cbce build from DIR.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

_WORKER = r"""
import glob, os, sys, time
if sys.argv[1]:
    sys.path.insert(0, sys.argv[1])
import numpy as np
import cbce

n, calls = int(float(sys.argv[2])), int(sys.argv[3])
me = str(os.getpid())


def threads():
    # tid -> (last CPU, state) of every thread of this process
    out = {}
    for path in glob.glob(f"/proc/{me}/task/*/stat"):
        with open(path) as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2:].split()
        out[path.split("/")[4]] = (int(fields[36]), fields[0])
    return out


before = set(threads())
rng = np.random.default_rng(0)
p = (1e-3 + (1 - 2e-3) * rng.random(n)).astype(np.float32)
t = (rng.random(n) < 0.5).astype(np.float32)
rows = []
with cbce.threads(cbce.get_num_threads()):
    for _ in range(calls):
        t0 = time.perf_counter()
        cbce.binary_cross_entropy(p, t)
        us = (time.perf_counter() - t0) * 1e6
        now = threads()
        helpers = [now[k][0] for k in now if k not in before]
        rows.append((us, now[me][0], helpers))
with cbce.threads(1):
    one = []
    for _ in range(calls):
        t0 = time.perf_counter()
        cbce.binary_cross_entropy(p, t)
        one.append((time.perf_counter() - t0) * 1e6)
one.sort()
print(f"  {cbce.__file__}")
print(f"  1 thread: median {one[len(one) // 2]:.0f} us; {cbce.get_num_threads()} threads:")
shared = sum(1 for _, cpu, helpers in rows if cpu in helpers)
for i, (us, cpu, helpers) in enumerate(rows):
    if i < 10 or i % 10 == 0:
        print(f"  call {i:3d}: {us:6.0f} us  caller on CPU {cpu}, helpers on {helpers}")
times = sorted(us for us, _, _ in rows)
print(f"  median {times[len(times) // 2]:.0f} us; a helper on the caller's CPU after "
      f"{shared} of {len(rows)} calls")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, default=3e5)
    ap.add_argument("--calls", type=int, default=60)
    ap.add_argument("--other", default=None, help="directory with another cbce build")
    args = ap.parse_args()
    builds = [("this build", "")] + ([("other build", args.other)] if args.other else [])
    print(f"n = {args.n:.0e} float32 BCE mean, {args.calls} back-to-back calls per process")
    for name, path in builds:
        print(name)
        r = subprocess.run([sys.executable, "-c", _WORKER, path, str(args.n), str(args.calls)],
                           capture_output=True, text=True, check=True)
        print(r.stdout, end="")


if __name__ == "__main__":
    main()
