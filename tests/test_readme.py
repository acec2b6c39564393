"""The README's usage example runs and shows what its comments claim."""

import math
import pathlib
import re

import numpy as np
import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.skipif(not README.exists(), reason="README.md is not beside the tests (installed run)")
def test_readme_usage_example_runs_and_matches_its_comments():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has no python example"
    namespace: dict = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    # R torch's 64-class example: -log(sigmoid(1.5)), a float32 scalar (0 ulp here).
    value = namespace["criterion"](namespace["output"], namespace["target"])
    assert type(value) is np.float32
    assert value == np.float32(math.log1p(math.exp(-1.5)))
    assert namespace["grad"].shape == (3, 2)
    assert namespace["elementwise"].shape == (10**6,)
