"""Typed use: examples/typed_usage.py passes `mypy --strict` against the installed cbce
(its py.typed marker and stubs) and runs.

mypy runs in a temporary directory, so it reads the installed package and no
configuration of the source tree.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "typed_usage.py"

pytestmark = pytest.mark.skipif(
    not EXAMPLE.is_file(), reason=f"{EXAMPLE} is not here (tests run outside a source tree)"
)


def test_typed_usage_example_passes_mypy_strict(tmp_path):
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(EXAMPLE),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found"), result.stdout


def test_installed_package_is_typed():
    import cbce

    package = Path(cbce.__file__).parent
    assert (package / "py.typed").is_file()
    assert (package / "_core.pyi").is_file()


def test_typed_usage_example_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "loss " in result.stdout
