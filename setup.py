"""Build cbce: the C core as static libraries (one per SIMD level), then the Cython module.

The C sources and their per-level flags come from c/sources.txt, the one list the
Makefile also reads, so the Python build and `make -C c` compile the same code
with the same flags. Each level is its own build_clib library because
setuptools applies `cflags` per library.

The extension targets CPython's stable ABI (limited API of 3.11, the first with the
buffer protocol), so one `cp311-abi3` wheel serves every later CPython. Free-threaded
interpreters (3.13t, 3.14t) have no stable ABI yet: there the module is built for the
running version and declared free-threading compatible (it keeps no Python-level
state; the C core is thread safe, see cbce.h). CBCE_LIMITED_API=0 turns abi3 off.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import sysconfig

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
C_DIR = os.path.join("c")
INCLUDE_DIRS = [os.path.join("c", "include"), os.path.join("c", "src")]
HEADERS = sorted(
    os.path.join(d, f) for d in INCLUDE_DIRS + [os.path.join("c", "include", "cbce")]
    for f in os.listdir(os.path.join(HERE, d)) if f.endswith(".h")
)


def _target_arch() -> str:
    """"x86_64", "aarch64" or "other", for the machine the extension is built for."""
    # cibuildwheel and cross builds set these; fall back to the running machine.
    host = os.environ.get("_PYTHON_HOST_PLATFORM", "") or platform.machine()
    host = host.lower()
    if any(k in host for k in ("x86_64", "amd64", "x64")):
        return "x86_64"
    if any(k in host for k in ("aarch64", "arm64")):
        if sys.platform == "darwin" and "universal" in host:
            return "other"
        return "aarch64"
    return "other"


def _is_msvc() -> bool:
    return sys.platform == "win32" and "GCC" not in sys.version


FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
# Py_LIMITED_API=0x030B0000: the stable ABI as of 3.11 (PyObject_GetBuffer joined it then).
LIMITED_API = not FREE_THREADED and os.environ.get("CBCE_LIMITED_API", "1") != "0"


def read_sources() -> list[tuple[str, list[str], list[str], list[str]]]:
    """Parse c/sources.txt: `library arch file.c [file.c ...] : gcc-flags | msvc-flags`."""
    entries = []
    with open(os.path.join(HERE, "c", "sources.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            head, _, flags = line.partition(":")
            gcc_flags, _, msvc_flags = flags.partition("|")
            name, arch, *files = head.split()
            entries.append((name, arch, files, gcc_flags.split(), msvc_flags.split()))
    return entries


def c_libraries() -> list[tuple[str, dict]]:
    arch = _target_arch()
    msvc = _is_msvc()
    # MSVC: /std:c11 for the C99 parts its default mode lacks (restrict, hexadecimal
    # float literals); /fp:precise keeps IEEE semantics and, since VS 2022, does not
    # contract a*b+c into an FMA (that takes /fp:contract), like -ffp-contract=off.
    common = (
        ["/std:c11", "/fp:precise"]
        if msvc
        else ["-std=c99", "-O3", "-ffp-contract=off", "-fno-fast-math"]
    )
    if not msvc:
        common.append("-fvisibility=hidden")
    libs = []
    for name, lib_arch, files, gcc_flags, msvc_flags in read_sources():
        if lib_arch not in ("any", arch):
            continue
        libs.append(
            (
                name,
                {
                    "sources": [os.path.join(C_DIR, "src", f) for f in files],
                    "include_dirs": INCLUDE_DIRS,
                    "cflags": common + (msvc_flags if msvc else gcc_flags),
                    "macros": [("CBCE_BUILD_" + arch.upper(), "1")],
                    # build_clib does not scan includes: rebuild when any header changes.
                    "obj_deps": {"": HEADERS},
                },
            )
        )
    return libs


class build_py_with_headers(build_py):
    """Ship the C headers and the .pxd under cbce/include (see cbce.get_include())."""

    def run(self) -> None:
        super().run()
        dest = os.path.join(self.build_lib, "cbce", "include")
        os.makedirs(os.path.join(dest, "cbce"), exist_ok=True)
        src = os.path.join(HERE, "c", "include", "cbce")
        for name in sorted(os.listdir(src)):
            if name.endswith(".h"):
                shutil.copy2(os.path.join(src, name), os.path.join(dest, "cbce", name))
        shutil.copy2(os.path.join(HERE, "src", "cbce", "cbce.pxd"), os.path.join(dest, "cbce.pxd"))


extensions = [
    Extension(
        "cbce._core",
        sources=[os.path.join("src", "cbce", "_core.pyx")],
        include_dirs=INCLUDE_DIRS,
        extra_compile_args=["/fp:precise"] if _is_msvc() else ["-ffp-contract=off"],
        define_macros=[("Py_LIMITED_API", "0x030B0000")] if LIMITED_API else [],
        py_limited_api=LIMITED_API,
        # The C core starts POSIX threads (c/src/threads.c; Win32 threads on Windows).
        extra_link_args=[] if sys.platform == "win32" else ["-pthread"],
    )
]

setup(
    libraries=c_libraries(),
    ext_modules=cythonize(
        extensions,
        include_path=["src"],
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            # Sets Py_mod_gil = Py_MOD_GIL_NOT_USED on free-threaded builds (no effect
            # elsewhere): the module holds no mutable Python state and releases the
            # GIL around every kernel anyway.
            "freethreading_compatible": True,
        },
    ),
    cmdclass={"build_py": build_py_with_headers},
    # The wheel tag: cp311-abi3 (pip installs it on any CPython >= 3.11).
    options={"bdist_wheel": {"py_limited_api": "cp311"}} if LIMITED_API else {},
)
