"""The C API: the example C and Cython extensions, built against the installed cbce.

Each example in examples/ is copied to a temporary directory and built with
`setup.py build_ext --inplace` by the running interpreter, so it sees exactly the
installed cbce: its get_include() headers and .pxd, and its capsule at run time.
Their results must equal cbce's Python API bit for bit (the same dispatched
kernels, reached through the capsule table instead of the Cython adapter).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers import FLOAT_DTYPES, assert_bitwise_equal

import cbce

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _c_compiler_missing() -> str | None:
    """Why no extension can be built here, or None when a C compiler is found."""
    if sys.platform == "win32":
        try:
            from setuptools._distutils import ccompiler

            compiler = ccompiler.new_compiler()
            compiler.initialize()
        except Exception as exc:  # noqa: BLE001 - any failure means "no usable MSVC"
            return f"no C compiler found (MSVC: {exc})"
        return None
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        return f"no C compiler found (looked for {cc!r}, from $CC or sysconfig)"
    return None


def _build_example(name: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = EXAMPLES / name
    if not source.is_dir():
        pytest.skip(f"{source} is not here (the tests run outside a source tree)")
    reason = _c_compiler_missing()
    if reason:
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp(name) / name
    shutil.copytree(source, workdir)
    # The build must see the installed cbce, never a source tree on sys.path.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if sys.platform != "win32":
        # Unoptimised: 4x faster to build, and the examples only call cbce's kernels,
        # which are already compiled (with their own flags) inside cbce._core.
        env["CFLAGS"] = (env.get("CFLAGS", "") + " -O0").strip()
    result = subprocess.run(
        [sys.executable, "setup.py", "build_ext", "--inplace"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"building {name} failed:\n{result.stdout}\n{result.stderr}"
    return workdir


def _load(workdir: Path, module_name: str):
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    path = workdir / (module_name + suffix)
    assert path.is_file(), f"{path} was not built; found {sorted(os.listdir(workdir))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def c_example_dir(tmp_path_factory):
    return _build_example("c_extension", tmp_path_factory)


@pytest.fixture(scope="module")
def c_example(c_example_dir):
    return _load(c_example_dir, "cbce_c_example")


@pytest.fixture(scope="module")
def cython_example(tmp_path_factory):
    pytest.importorskip("Cython", reason="Cython is needed to build the Cython example")
    return _load(_build_example("cython_extension", tmp_path_factory), "cbce_cython_example")


def _data(dtype, shape, logits, seed=0):
    rng = np.random.default_rng(seed)
    if logits:
        x = rng.standard_normal(shape) * 8
    else:
        x = rng.random(shape)
        x.flat[:3] = [0.0, 1.0, 1e-30][: x.size]  # clamped-log edges
    t = rng.random(shape)
    return x.astype(dtype), t.astype(dtype)


def _cbce_value_and_grad(logits):
    if logits:
        return cbce.binary_cross_entropy_with_logits_value_and_grad
    return cbce.binary_cross_entropy_value_and_grad


def _cbce_loss(logits):
    return cbce.binary_cross_entropy_with_logits if logits else cbce.binary_cross_entropy


# Layouts of a (6, 5) array: contiguous, Fortran order, transposed view, reversed and
# strided views (negative and non-unit element strides).
LAYOUTS = {
    "c": lambda a: a,
    "fortran": np.asfortranarray,
    "transposed": lambda a: np.ascontiguousarray(a.T).T,
    "reversed_strided": lambda a: np.repeat(a, 2, axis=1)[::-1, ::-2],
}


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("logits", [False, True])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_c_example_loss_and_grad_equal_cbce_bitwise(c_example, dtype, reduction, logits, layout):
    x, t = _data(dtype, (6, 5), logits)
    x, t = LAYOUTS[layout](x), LAYOUTS[layout](t)
    grad = LAYOUTS[layout](np.full((6, 5), np.nan, dtype=dtype))
    total = c_example.loss_and_grad(x, t, grad, reduction=reduction, logits=logits)
    expected_loss, expected_grad = _cbce_value_and_grad(logits)(x, t, reduction=reduction)
    assert_bitwise_equal(dtype(total), expected_loss, "loss")
    assert_bitwise_equal(grad, expected_grad, "grad")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("logits", [False, True])
@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 4, 5)])
def test_c_example_elementwise_loss_equals_cbce_bitwise(c_example, dtype, logits, shape):
    x, t = _data(dtype, shape, logits, seed=1)
    out = np.full(shape, np.nan, dtype=dtype)
    assert c_example.elementwise_loss(x, t, out, logits=logits) is None
    assert_bitwise_equal(out, _cbce_loss(logits)(x, t, reduction="none"), "none")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_c_example_mean_of_empty_is_nan_like_cbce(c_example, dtype):
    x = np.empty(0, dtype)
    total = c_example.loss_and_grad(x, x, np.empty(0, dtype), reduction="mean")
    assert_bitwise_equal(dtype(total), cbce.binary_cross_entropy(x, x), "empty mean")


def test_c_example_reports_cbce_range_error_before_writing(c_example):
    x = np.array([0.5, 1.5])
    grad = np.full(2, 7.0)
    with pytest.raises(ValueError, match="all elements of input should be between 0 and 1"):
        c_example.loss_and_grad(x, np.array([0.0, 1.0]), grad)
    assert np.array_equal(grad, [7.0, 7.0])
    with pytest.raises(ValueError, match="all elements of target should be between 0 and 1"):
        c_example.loss_and_grad(np.array([0.5]), np.array([np.nan]), np.empty(1))


def test_c_example_uses_the_kernel_level_cbce_selected(c_example):
    assert c_example.simd_level() == cbce.simd_level()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("logits", [False, True])
@pytest.mark.parametrize("step", [1, 3, -2])
def test_cython_example_equals_cbce_bitwise(cython_example, dtype, reduction, logits, step):
    x, t = _data(dtype, (5000,), logits, seed=2)  # more than one summation block
    x, t = x[::step], t[::step]
    grad = np.full(x.shape, np.nan, dtype=dtype)
    total = cython_example.loss_and_grad(x, t, grad, reduction, logits)
    expected_loss, expected_grad = _cbce_value_and_grad(logits)(x, t, reduction=reduction)
    assert_bitwise_equal(dtype(total), expected_loss, "loss")
    assert_bitwise_equal(grad, expected_grad, "grad")


def test_cython_example_reports_cbce_range_error(cython_example):
    with pytest.raises(ValueError, match="all elements of input should be between 0 and 1"):
        cython_example.loss_and_grad(np.array([-0.5]), np.array([1.0]), np.empty(1))


def test_cython_example_uses_the_kernel_level_cbce_selected(cython_example):
    assert cython_example.simd_level() == cbce.simd_level()


# cbce_import() must refuse an incompatible table with a clear ImportError. The
# script swaps cbce._core._C_API for a copy of the table with one header field
# changed, then imports the C example (in a fresh interpreter: a failed extension
# import cannot be retried reliably in-process).
_TAMPER_AND_IMPORT = textwrap.dedent(
    """
    import ctypes, sys
    import cbce._core as core

    class Head(ctypes.Structure):
        _fields_ = [("abi_version", ctypes.c_int), ("struct_size", ctypes.c_size_t)]

    name = b"cbce._core._C_API"
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    new = ctypes.pythonapi.PyCapsule_New
    new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]

    address = get(core._C_API, name)
    size = Head.from_address(address).struct_size
    # Room for 8 more slots (zeros), as a newer cbce's longer table would have.
    copy = ctypes.create_string_buffer(ctypes.string_at(address, size), size + 64)
    head = Head.from_buffer(copy)
    field, value = sys.argv[1], sys.argv[2]
    relative = value.startswith("+")
    setattr(head, field, int(value) + (getattr(head, field) if relative else 0))
    keep = ctypes.c_char_p(name)
    core._C_API = new(ctypes.addressof(copy), keep, None)
    try:
        import cbce_c_example
    except ImportError as exc:
        print("ImportError:", exc)
    else:
        print("imported")
    """
)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("abi_version", 999, "cbce C API ABI version mismatch: this extension was built for"),
        ("struct_size", 16, "cbce C API too old: this extension needs a table of"),
    ],
)
def test_c_example_import_refuses_an_incompatible_table(c_example_dir, field, value, message):
    result = subprocess.run(
        [sys.executable, "-c", _TAMPER_AND_IMPORT, field, str(value)],
        cwd=c_example_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ImportError: " + message), result.stdout
    assert cbce.__version__ in result.stdout  # the message names the installed cbce


def test_c_example_import_accepts_a_longer_table(c_example_dir):
    # A newer cbce appends slots: an older extension must keep working.
    result = subprocess.run(
        [sys.executable, "-c", _TAMPER_AND_IMPORT, "struct_size", "+64"],
        cwd=c_example_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip() == "imported", result.stdout + result.stderr
