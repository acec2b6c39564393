"""`python -m cbce` (the README's main command): its known-value checks pass.

Timing is never asserted; --no-bench skips it.
"""

from __future__ import annotations

import subprocess
import sys


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cbce", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_known_value_checks_pass_and_exit_zero() -> None:
    proc = run_module("--no-bench")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("cbce ") and "kernels:" in lines[0]
    results = [line.split()[0] for line in lines if line.startswith("  ")]
    assert len(results) >= 5 and set(results) == {"PASS"}, proc.stdout
    assert "0 failed" in proc.stdout
    assert "ratio" not in proc.stdout  # --no-bench really skipped the timing


def test_help_names_the_flags() -> None:
    proc = run_module("--help")
    assert proc.returncode == 0
    assert "--no-bench" in proc.stdout and "--full" in proc.stdout
