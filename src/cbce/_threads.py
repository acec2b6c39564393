"""How many threads a kernel call may use: set_num_threads, get_num_threads, threads(n).

The threads themselves live in the C core (cbce_args.num_threads): a call splits its
elements into contiguous ranges of whole 4096-element blocks, a few per thread, and
combines the blocks' sums exactly, so every result is bitwise identical for any thread
count. Inputs too small to profit (less than about 5 µs of work per thread: 5,000
elements of the float32 BCE loss, and at least one block; 85 µs on Windows, which
starts a thread per call) use fewer threads or only the calling one, whatever the
setting. Under POSIX the helper threads are kept between calls (they spin for 0.1 ms
after each call, then sleep; on Linux one that finds itself on the caller's core moves
to another first); a call wakes sleeping ones only for about 100 µs of work
or more, or when the previous threaded call ended less than 0.1 ms ago.

The setting is resolved per call:

- ``threads(n)`` overrides it inside a ``with`` block, for the current thread (or
  asyncio task) only: it is a :class:`contextvars.ContextVar`, so concurrent Python
  threads never see each other's overrides.
- Otherwise the process-wide value of ``set_num_threads(n)`` applies.
- At import that value comes from the environment variable ``CBCE_NUM_THREADS`` (a
  positive integer) or, when it is unset or empty, from the number of cores this
  process may run on (its CPU affinity where the OS reports one). An invalid
  ``CBCE_NUM_THREADS`` is not fatal -- a thread count never changes results -- it
  gives a ``RuntimeWarning`` at import and the default is used.
"""

from __future__ import annotations

import contextlib
import contextvars
import operator
import os
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["get_num_threads", "set_num_threads", "threads"]

ENV_VAR = "CBCE_NUM_THREADS"


def available_cores() -> int:
    """The cores this process may use: its CPU affinity where known, else all cores."""
    count = getattr(os, "process_cpu_count", None)  # Python 3.13+: affinity-aware
    if count is not None:
        return max(1, count() or 1)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _check(n: Any) -> int:
    """n as a thread count: an integer >= 1 (TypeError / ValueError otherwise)."""
    if isinstance(n, bool):
        raise TypeError("the number of threads must be an integer, got bool")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(
            f"the number of threads must be an integer, got {type(n).__name__}"
        ) from None
    if n < 1:
        raise ValueError(f"the number of threads must be at least 1, got {n}")
    return n


def _from_environment() -> int:
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return available_cores()
    try:
        return _check(int(raw))
    except (TypeError, ValueError):
        default = available_cores()
        warnings.warn(
            f"ignoring {ENV_VAR}={raw!r}: expected a positive integer; "
            f"using {default} (the cores this process may use)",
            RuntimeWarning,
            stacklevel=2,
        )
        return default


_process_wide = _from_environment()
_override: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "cbce_num_threads", default=None
)


def get_num_threads() -> int:
    """The number of threads kernel calls made here may use.

    Inside ``with threads(n)`` that is n; otherwise the value of the last
    :func:`set_num_threads`, initially ``CBCE_NUM_THREADS`` or the cores this process
    may use. Small inputs use fewer threads than this.
    """
    n = _override.get()
    return _process_wide if n is None else n


def set_num_threads(n: int) -> None:
    """Set the process-wide number of threads for kernel calls (an integer >= 1).

    Results do not depend on it (bitwise). A ``threads(n)`` block in effect keeps
    its own value until it ends. Raises TypeError for a non-integer and ValueError
    for n < 1.
    """
    global _process_wide
    _process_wide = _check(n)


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """Context manager: kernel calls in this block (in this thread or task) use n threads.

    Restores the previous setting on exit, also on an exception; nests. Other Python
    threads are not affected. Raises TypeError / ValueError like set_num_threads.
    """
    token = _override.set(_check(n))
    try:
        yield
    finally:
        _override.reset(token)
