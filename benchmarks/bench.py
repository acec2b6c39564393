"""Benchmark cbce against NumPy, PyTorch and the memory floor, in one interleaved run.

    python benchmarks/bench.py                  # the full run (~3 min on 2 cores)
    python benchmarks/bench.py --quick          # a smaller run (~30 s)
    python benchmarks/bench.py --sizes 1e6 --dtypes float32 --json out.json --plot out.png

The harness itself is cbce._bench (installed with the package, also run by
`python -m cbce`); this file is the command line: arguments, JSON, plot and
the check of the issue-3 speed targets.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

from cbce import _bench

sys.path.insert(0, str(Path(__file__).resolve().parent))
import plot  # sibling modules of this script, found through the path above
import targets

QUICK_SIZES = (10**3, 10**4, 10**6)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--sizes",
        type=lambda s: [int(float(v)) for v in s.split(",")],
        help="comma-separated element counts, e.g. 1e3,1e6 (default 1e3..1e7)",
    )
    for name, choices in (
        ("dtypes", _bench.DTYPES),
        ("losses", _bench.LOSSES),
        ("modes", _bench.MODES),
        ("reductions", _bench.REDUCTIONS),
    ):
        p.add_argument(
            f"--{name}",
            type=lambda s: s.split(","),
            default=list(choices),
            help="comma-separated: " + ",".join(choices),
        )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"sizes {','.join(f'{n:.0e}' for n in QUICK_SIZES)} and fewer rounds",
    )
    p.add_argument("--repeat", type=int, help="maximum interleaved rounds per case")
    p.add_argument("--json", type=Path, metavar="PATH", help="save machine info and all medians")
    p.add_argument("--plot", type=Path, metavar="PATH", help="draw ns/element vs size (PNG)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = _bench.QUICK if args.quick else _bench.Settings()
    if args.repeat is not None:
        settings = replace(
            settings, rounds=args.repeat, min_rounds=min(settings.min_rounds, args.repeat)
        )
    sizes = args.sizes or (QUICK_SIZES if args.quick else _bench.FULL_SIZES)
    selected = _bench.cases(sizes, args.dtypes, args.losses, args.modes, args.reductions)

    info = _bench.machine_info()
    print(_bench.header(info), flush=True)
    results = _bench.run(
        selected, settings, progress=lambda s: print(s, file=sys.stderr, flush=True)
    )
    print()
    print(_bench.format_tables(results))
    print()
    print(targets.report(results))

    if args.json is not None:
        payload = {
            "machine": info,
            "settings": asdict(settings),
            "results": [r.to_json() for r in results],
        }
        args.json.write_text(json.dumps(payload, indent=1))
        print(f"\nwrote {args.json}")
    if args.plot is not None:
        print(plot.draw(results, info, args.plot))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
