"""The SIMD level of the kernels: chosen at import, forced by CBCE_ISA."""

from __future__ import annotations

import os

from . import _core

__all__ = ["simd_level", "available_simd_levels"]

_NAMES = {_core.isa_name(i): i for i in range(_core.ISA_COUNT)}


def available_simd_levels() -> list[str]:
    """The levels this build has and this CPU runs, fastest last."""
    return [name for name, isa in _NAMES.items() if _core.isa_available(isa)]


def simd_level() -> str:
    """The kernel level in use: "avx512", "avx2", "sse2", "neon" or "scalar"."""
    return _core.isa_name(_core.get_isa())


def _select_from_environment() -> None:
    """Apply CBCE_ISA (read once, at import); an unavailable level is an ImportError."""
    wanted = os.environ.get("CBCE_ISA", "").strip().lower()
    if not wanted:
        _core.set_isa(_core.best_isa())
        return
    isa = _NAMES.get(wanted)
    if isa is None or not _core.isa_available(isa):
        raise ImportError(
            f"CBCE_ISA={wanted!r} is not available on this machine; "
            f"available levels: {', '.join(available_simd_levels())}"
        )
    _core.set_isa(isa)


_select_from_environment()
