"""Thread scaling of cbce: 1 thread against k threads, per size, interleaved.

    python benchmarks/threads.py                      # sizes 2^12 .. 2^24, 1 vs all cores
    python benchmarks/threads.py --threads 2 --sizes 1e7 --repeat 21
    python benchmarks/threads.py --sizes 1e4 --pause 1e-3   # helpers asleep at each call

For each size, dtype and operation (mean forward, value_and_grad) it prints the median
time with 1 thread and with k threads (runs interleaved, so machine load hits both
alike) and the speedup. Below the C core's threshold (c/src/parallel.c: about 5 us of
work per thread) both run the same single-threaded path, so the ratio there shows only
noise. With --pause s the process sleeps s seconds before every timed call, so the
C core's helper threads (which spin 0.1 ms after a call) are asleep when it starts: the
cost of a slow wake-up. A speedup needs idle cores: check the load average printed first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import cbce


def median_times(calls: dict[int, object], repeat: int, pause: float) -> dict[int, float]:
    times: dict[int, list[float]] = {k: [] for k in calls}
    for _ in range(repeat):
        for k, f in calls.items():
            with cbce.threads(k):
                if pause:
                    time.sleep(pause)
                t0 = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=cbce.get_num_threads())
    p.add_argument("--sizes", type=float, nargs="*",
                   default=[2.0**e for e in range(12, 25, 2)])
    p.add_argument("--dtypes", nargs="*", default=["float32", "float64"])
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--pause", type=float, default=0.0,
                   help="seconds to sleep before each timed call (helpers asleep)")
    a = p.parse_args()
    k = a.threads
    print(f"cbce {cbce.__version__}, {cbce.simd_level()}, 1 vs {k} threads, "
          f"pause {a.pause:g} s, load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus")
    print(f"{'dtype':8} {'operation':15} {'n':>10} {'1 thread':>12} {f'{k} threads':>12} "
          f"{'speedup':>8}")
    rng = np.random.default_rng(0)
    for size in a.sizes:
        n = int(size)
        for dtype in a.dtypes:
            x = rng.uniform(0.01, 0.99, n).astype(dtype)
            t = rng.uniform(0, 1, n).astype(dtype)
            ops = {
                "mean forward": lambda x=x, t=t: cbce.binary_cross_entropy(x, t),
                "value_and_grad": lambda x=x, t=t: cbce.binary_cross_entropy_value_and_grad(x, t),
            }
            for name, f in ops.items():
                m = median_times({1: f, k: f}, a.repeat, a.pause)
                print(f"{dtype:8} {name:15} {n:>10} {m[1] * 1e6:>10.1f}us {m[k] * 1e6:>10.1f}us "
                      f"{m[1] / m[k]:>8.2f}")


if __name__ == "__main__":
    main()
