"""Other public names (SPEC 1.4), kernel levels and determinism across them (SPEC 4),
threads, and thread safety."""

import concurrent.futures
import glob
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import cbce
import reference as R
from helpers import assert_bitwise_equal

LEVELS = ["avx512", "avx2", "sse2", "neon", "scalar"]

PUBLIC = ["binary_cross_entropy", "binary_cross_entropy_with_logits",
          "binary_cross_entropy_grad", "binary_cross_entropy_with_logits_grad",
          "binary_cross_entropy_value_and_grad",
          "binary_cross_entropy_with_logits_value_and_grad",
          "BCELoss", "BCEWithLogitsLoss", "__version__", "get_include", "simd_level"]


def test_public_names_exist():
    missing = [n for n in PUBLIC if not hasattr(cbce, n)]
    assert not missing


def test_version_is_a_release_string():
    assert isinstance(cbce.__version__, str)
    assert re.match(r"^\d+\.\d+\.\d+", cbce.__version__)


def test_get_include_has_the_header_and_pxd():
    inc = cbce.get_include()
    assert os.path.isdir(inc)
    assert os.path.isfile(os.path.join(inc, "cbce", "cbce.h"))
    pxds = glob.glob(os.path.join(inc, "**", "*.pxd"), recursive=True)
    assert pxds, f"no .pxd under {inc}"


def test_simd_level_is_a_known_name():
    assert cbce.simd_level() in LEVELS


# --- CBCE_ISA -------------------------------------------------------------------------

_PROBE = textwrap.dedent("""
    import hashlib, numpy as np, cbce
    rng = np.random.default_rng(123)
    p = rng.uniform(0, 1, 100003); p[:5] = [0, 1, 5e-324, 1e-50, 1 - 2**-53]
    x = rng.standard_normal(100003) * 10.0 ** rng.uniform(-4, 4, 100003)
    x[:4] = [np.inf, -np.inf, 1e4, -1e4]
    t = rng.uniform(0, 1, 100003); t[::3] = 1.0
    w = rng.uniform(0.1, 3, 100003)
    h = hashlib.sha256()
    for dt in (np.float32, np.float64, np.float16):
        pd, xd, td, wd = (a.astype(dt) for a in (p, x, t, w))
        for red in ("none", "sum", "mean"):
            for wrt in ("input", "target"):
                for r in cbce.binary_cross_entropy_value_and_grad(pd, td, wd, red, wrt=wrt,
                                                                  label_smoothing=0.1):
                    h.update(np.ascontiguousarray(r).tobytes())
                for r in cbce.binary_cross_entropy_with_logits_value_and_grad(
                        xd, td, wd, red, pos_weight=wd[::-1], wrt=wrt):
                    h.update(np.ascontiguousarray(r).tobytes())
    print(cbce.simd_level(), h.hexdigest())
""")


def _run(env_level, code=_PROBE, timeout=300):
    env = dict(os.environ)
    env.pop("CBCE_ISA", None)
    if env_level is not None:
        env["CBCE_ISA"] = env_level
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def level_runs():
    return {lvl: _run(lvl) for lvl in [None] + LEVELS}


def test_cbce_isa_forces_each_available_level(level_runs):
    available = [lvl for lvl in LEVELS if level_runs[lvl].returncode == 0]
    assert available, {lvl: r.stderr[-500:] for lvl, r in level_runs.items()}
    for lvl in available:
        assert level_runs[lvl].stdout.split()[0] == lvl
    default = level_runs[None]
    assert default.returncode == 0, default.stderr
    assert default.stdout.split()[0] in available


def test_unavailable_level_is_import_error_naming_available_levels(level_runs):
    available = [lvl for lvl in LEVELS if level_runs[lvl].returncode == 0]
    unavailable = [lvl for lvl in LEVELS if level_runs[lvl].returncode != 0]
    if not unavailable:
        pytest.skip("every level is available on this machine")
    for lvl in unavailable:
        err = level_runs[lvl].stderr
        assert "ImportError" in err, err[-2000:]
        last = err.strip().splitlines()[-1]
        for a in available:
            assert a in last, f"{lvl}: {last!r} does not name available level {a}"


def test_every_level_gives_identical_bits(level_runs):
    # SPEC 4: bitwise identical results at every SIMD level.
    digests = {lvl: r.stdout.split()[1] for lvl, r in level_runs.items() if r.returncode == 0}
    assert len(set(digests.values())) == 1, digests


def test_repeated_runs_give_identical_bits(level_runs):
    again = _run(None)
    assert again.stdout == level_runs[None].stdout


# --- threads --------------------------------------------------------------------------


def test_threads_api_when_implemented():
    if not hasattr(cbce, "set_num_threads"):
        pytest.skip("cbce.set_num_threads is not implemented yet")
    n0 = cbce.get_num_threads()
    assert isinstance(n0, int) and n0 >= 1
    try:
        cbce.set_num_threads(1)
        assert cbce.get_num_threads() == 1
        with cbce.threads(3):
            assert cbce.get_num_threads() == 3
        assert cbce.get_num_threads() == 1
    finally:
        cbce.set_num_threads(n0)


def test_results_identical_for_any_thread_count():
    if not hasattr(cbce, "threads"):
        pytest.skip("cbce.threads is not implemented yet")
    rng = np.random.default_rng(8)
    x = rng.uniform(0, 1, 3_000_017).astype(np.float32)
    t = rng.uniform(0, 1, x.size).astype(np.float32)
    results = []
    for n in (1, 2, 3):
        with cbce.threads(n):
            results.append((cbce.binary_cross_entropy(x, t, reduction="sum"),
                            *cbce.binary_cross_entropy_value_and_grad(x, t, reduction="none")))
    for r in results[1:]:
        for a, b in zip(r, results[0]):
            assert_bitwise_equal(a, b)


def test_concurrent_calls_from_many_threads_are_safe():
    # SPEC 4: the GIL is released; concurrent calls are safe and give the same bits.
    rng = np.random.default_rng(9)
    xs = [rng.standard_normal(200_000) * 5 for _ in range(8)]
    ts = [rng.uniform(0, 1, 200_000) for _ in range(8)]

    def work(i):
        return cbce.binary_cross_entropy_with_logits_value_and_grad(xs[i], ts[i],
                                                                    reduction="sum")

    want = [work(i) for i in range(8)]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        got = list(pool.map(work, list(range(8)) * 3))
    for i, g in enumerate(got):
        assert_bitwise_equal(g[0], want[i % 8][0])
        assert_bitwise_equal(g[1], want[i % 8][1])


# --- scale and the main command ----------------------------------------------------------


@pytest.mark.skipif(not os.environ.get("CBCE_TEST_LARGE"),
                    reason="set CBCE_TEST_LARGE=1 (needs ~26 GB RAM and minutes)")
def test_more_than_2_31_elements():
    # SPEC 2.3: indices are 64-bit.
    n = 2**31 + 7
    x = np.full(n, 0.5, dtype=np.float32)
    t = np.ones(n, dtype=np.int8)
    got = cbce.binary_cross_entropy(x, t, reduction="sum")
    el = cbce.binary_cross_entropy(x[:1], t[:1], reduction="none")[0]
    exact = R.mpf(float(el)) * n  # SPEC 3: 1 ulp of the sum of cbce's own values
    assert R.err_ulps(got, exact, exact, np.float32) <= 1


def test_python_m_cbce_runs():
    # SPEC 1.4: `python -m cbce` runs the demonstration and benchmark.
    r = subprocess.run([sys.executable, "-m", "cbce"], capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    assert cbce.__version__ in r.stdout
