"""pytest configuration for cbce's tests.

- Hypothesis: a modest, derandomized profile (the whole suite must run in a few minutes on
  2 cores, and give the same verdict on every run). CBCE_HYPOTHESIS_PROFILE=explore (more
  examples, random seeds) hunts for new counterexamples.
- At the end of the run, the largest ulp errors measured against the exact references
  (reference.STATS) are printed per function and dtype.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

try:
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "cbce",
        max_examples=60,
        deadline=None,
        derandomize=True,  # the same examples on every run: failures are reproducible
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    settings.register_profile(
        "explore",
        max_examples=2000,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    settings.load_profile(os.environ.get("CBCE_HYPOTHESIS_PROFILE", "cbce"))
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass


def pytest_terminal_summary(terminalreporter):
    try:
        import reference
    except ImportError:  # pragma: no cover
        return
    if not reference.STATS:
        return
    tr = terminalreporter
    tr.section("largest errors measured against exact math (ulp, SPEC 3 measure)")
    for (what, dtype), err in sorted(reference.STATS.items()):
        tr.write_line(f"{what:<55} {dtype:<8} {err:.3f}")
