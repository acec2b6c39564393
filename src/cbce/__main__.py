"""`python -m cbce`: version, kernel level, known-value checks, then a quick benchmark.

Exit status 1 when a known-value check fails (timings never fail the run).
"""

from __future__ import annotations

import argparse
import sys

import cbce

from . import _bench, _demo

# 10^6 elements, reduction "mean": the size and call of the README's headline ratios.
DEMO_SIZE = 10**6
DEMO_SETTINGS = _bench.Settings(rounds=11, min_rounds=5, case_budget=0.6)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m cbce",
        description="Check cbce on known values, then time it against NumPy "
        "(and PyTorch if importable) on 10^6 elements.",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--no-bench", action="store_true", help="only the known-value checks")
    g.add_argument(
        "--full",
        action="store_true",
        help="the full benchmark (sizes 1e3..1e7, both dtypes, reductions, modes; minutes)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"cbce {cbce.__version__}, kernels: {cbce.simd_level()}")
    checks = _demo.run_checks()
    for c in checks:
        print(f"  {'PASS' if c.ok else 'FAIL'}  {c.name}: {c.detail}")
    failed = sum(not c.ok for c in checks)
    print(f"{len(checks) - failed} passed, {failed} failed", flush=True)

    if not args.no_bench:
        if args.full:
            selected, settings = _bench.cases(), _bench.Settings()
        else:
            selected, settings = _bench.cases(sizes=[DEMO_SIZE], reductions=["mean"]), DEMO_SETTINGS
        print()
        print(_bench.header(_bench.machine_info()), flush=True)
        results = _bench.run(
            selected, settings, progress=lambda s: print(s, file=sys.stderr, flush=True)
        )
        print()
        print(_bench.format_tables(results))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
