"""Interleaved timing of cbce against NumPy, PyTorch and the memory floor.

Shared by `python -m cbce` (a quick subset) and `benchmarks/bench.py` (the
full CLI with --json and --plot), so both print the same numbers the same way.

Why the harness looks like this:
- Contenders are timed round-robin inside one case (cbce, numpy, torch, floor,
  cbce, numpy, ...), many rounds, and the median is reported. Interleaving
  spreads frequency changes and noisy neighbours over every contender alike,
  so the ratios are fair even when the absolute times drift.
- A sample is a batch of k calls, k chosen in the warm-up so that one sample
  lasts about `sample_seconds`; a single 2 µs call cannot be timed alone.
- Thread counts (cbce's and torch's) are global settings, so each contender
  sets its own before its sample, outside the timed region; after changing
  torch's, one untimed torch call absorbs the re-forming of its thread pool.
- The "best plain NumPy" expressions are the in-place, overflow-free forms.
  On an AVX-512 EPYC they measured 5-10x faster than the textbook
  `np.logaddexp(0, -x) + (1 - t) * x` (logaddexp is not vectorized) and the
  one-line clip + log/log1p BCE, so the comparison is with the best NumPy.
- The memory floor: "read" is `np.maximum.reduce` over each input (a SIMD
  reduction with no dependency chain, the fastest way NumPy has to read an
  array once; `sum` is compute-bound for float32); "r2w1" reads both inputs
  and writes one array, `np.add(x, t, out=buf)` into a preallocated buffer.
  Both also run split over all cores (`·nT`), since one core may not saturate
  the memory bus.
- PyTorch's OpenMP workers busy-wait after each parallel call, for 5-10 ms
  here (libgomp's default spin count). Interleaved, that spinning thread took
  one of the two cores from whichever contender ran next (cbce with 2
  threads took about twice as long right after a torch·2T call, float32
  logits at n = 1e6, in an alternating loop). OMP_WAIT_POLICY=PASSIVE would end the spinning
  but makes torch's own small multi-threaded calls 10x slower (threads woken
  from sleep on every call), so instead a multi-threaded torch sample is
  followed, untimed, by SETTLE_SECONDS of busy waiting on this thread (busy,
  not sleep: an idle core clocks down and slows whatever runs next), after
  which the workers have gone to sleep on their own.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

import cbce

LOSSES = ("bce", "logits")
MODES = ("forward", "value_and_grad")
REDUCTIONS = ("mean", "none")
DTYPES = ("float32", "float64")
FULL_SIZES = (10**3, 10**4, 10**5, 10**6, 10**7)

# torch.nn.functional's eps for the BCE gradient: 1e-12 rounded to float32.
_BCE_GRAD_EPS = float(np.float32(1e-12))


@dataclass(frozen=True)
class Case:
    """One benchmark configuration; every contender computes the same thing."""

    loss: str  # "bce" (probabilities) or "logits"
    mode: str  # "forward" or "value_and_grad"
    reduction: str  # "mean" or "none"
    dtype: str  # "float32" or "float64"
    n: int


@dataclass(frozen=True)
class Settings:
    rounds: int = 25  # at most this many interleaved rounds per case
    min_rounds: int = 3  # ...and at least this many, whatever the budget
    case_budget: float = 1.0  # seconds per case after which rounds stop (~3 min in all)
    sample_seconds: float = 2e-3  # target length of one timed batch


QUICK = Settings(rounds=9, min_rounds=3, case_budget=0.25, sample_seconds=1e-3)


@dataclass
class Contender:
    name: str
    call: Callable[[], object]
    threads: int
    before: Callable[[], None] | None = None  # sets global state, untimed
    after: Callable[[], None] | None = None  # untimed, after each sample


# Longer than libgomp's spin-wait measured here (5-10 ms; see the docstring).
SETTLE_SECONDS = 0.02


def torch_threads(torch: Any, n: int, call: Callable[[], object]) -> None:
    """Set torch's thread count; after a change, one untimed call: the first call after
    torch.set_num_threads re-forms its thread pool (measured 10-15% slower at 1e6 here),
    a cost a program that keeps its setting never pays."""
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
        call()


def settle() -> None:
    """Busy-wait SETTLE_SECONDS (after a multi-threaded torch sample)."""
    end = time.perf_counter() + SETTLE_SECONDS
    while time.perf_counter() < end:
        pass


def cases(
    sizes: Iterable[int] = FULL_SIZES,
    dtypes: Iterable[str] = DTYPES,
    losses: Iterable[str] = LOSSES,
    modes: Iterable[str] = MODES,
    reductions: Iterable[str] = REDUCTIONS,
) -> list[Case]:
    """Every combination, grouped by loss and mode (the order of the tables)."""
    return [
        Case(loss, mode, red, dt, n)
        for loss in losses
        for mode in modes
        for dt in dtypes
        for red in reductions
        for n in sizes
    ]


# ------------------------------------------------------------------ machine


def cpu_count() -> int:
    """The cores this process may use (the default thread count of cbce)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def import_torch() -> Any:
    """torch is optional: None when it does not import."""
    try:
        import torch
    except (ImportError, OSError):  # OSError: a torch whose shared libraries are missing
        return None
    return torch


def cbce_threads() -> int | None:
    """cbce's default thread count, or None before threading lands."""
    get = getattr(cbce, "get_num_threads", None)
    return int(get()) if get is not None else None


def machine_info() -> dict[str, Any]:
    torch = import_torch()
    return {
        "cpu": cpu_model(),
        "cores": cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cbce": cbce.__version__,
        "simd_level": cbce.simd_level(),
        "cbce_threads": cbce_threads(),
        "numpy": np.__version__,
        "torch": None if torch is None else torch.__version__,
        "torch_threads": None if torch is None else torch.get_num_threads(),
    }


def header(info: dict[str, Any]) -> str:
    torch = "not importable" if info["torch"] is None else f"{info['torch']}"
    threads = info["cbce_threads"]
    return (
        f"cbce {info['cbce']}  kernels: {info['simd_level']}  "
        f"threads: {threads if threads is not None else 'n/a (no set_num_threads)'}\n"
        f"CPU: {info['cpu']} ({info['machine']}), {info['cores']} cores usable\n"
        f"Python {info['python']}  NumPy {info['numpy']}  PyTorch {torch}"
        + ("" if info["torch"] is None else f" (default {info['torch_threads']} threads)")
    )


# ------------------------------------------------------------------ inputs


def make_inputs(case: Case, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities in (0, 1) or logits ~ N(0, 3^2); 0/1 labels as floats."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(case.dtype)
    if case.loss == "bce":
        x = rng.uniform(1e-3, 1 - 1e-3, case.n).astype(dtype)
    else:
        x = (3.0 * rng.standard_normal(case.n)).astype(dtype)
    t = (rng.random(case.n) < 0.5).astype(dtype)
    return x, t


# ------------------------------------------------------------------ contenders


def cbce_call(case: Case, x: np.ndarray, t: np.ndarray) -> Callable[[], object]:
    name = "binary_cross_entropy" if case.loss == "bce" else "binary_cross_entropy_with_logits"
    if case.mode == "value_and_grad":
        name += "_value_and_grad"
    fn = getattr(cbce, name)
    reduction = case.reduction
    return lambda: fn(x, t, reduction=reduction)


def numpy_bce(x: np.ndarray, t: np.ndarray, reduction: str, grad: bool) -> object:
    """-(t*max(log x, -100) + (1-t)*max(log1p(-x), -100)), in place as -(b + t*(a - b))."""
    a = np.log(x)
    np.maximum(a, -100, out=a)
    b = np.negative(x)
    np.log1p(b, out=b)
    np.maximum(b, -100, out=b)
    a -= b
    a *= t
    a += b
    loss: object = -a.mean(dtype=x.dtype) if reduction == "mean" else np.negative(a, out=a)
    if not grad:
        return loss
    # d/dx = (x - t) / max(x (1 - x), eps), divided by N for "mean".
    den = 1 - x
    den *= x
    np.maximum(den, _BCE_GRAD_EPS, out=den)
    g = x - t
    g /= den
    if reduction == "mean":
        g /= x.size
    return loss, g


def numpy_logits(x: np.ndarray, t: np.ndarray, reduction: str, grad: bool) -> object:
    """max(x, 0) - t*x + log1p(exp(-|x|)): no overflow, and e reused for sigmoid."""
    e = np.abs(x)
    np.negative(e, out=e)
    np.exp(e, out=e)
    loss = np.log1p(e)
    loss += np.maximum(x, 0)
    loss -= t * x
    value: object = loss.mean(dtype=x.dtype) if reduction == "mean" else loss
    if not grad:
        return value
    # sigmoid(x) - t with sigmoid = 1/(1+e) for x >= 0 and e/(1+e) for x < 0.
    one_plus_e = e + 1
    g = np.where(x >= 0, 1, e)
    g /= one_plus_e
    g -= t
    if reduction == "mean":
        g /= x.size
    return value, g


def numpy_call(case: Case, x: np.ndarray, t: np.ndarray) -> Callable[[], object]:
    fn = numpy_bce if case.loss == "bce" else numpy_logits
    reduction, grad = case.reduction, case.mode == "value_and_grad"
    return lambda: fn(x, t, reduction, grad)


def torch_call(torch: Any, case: Case, x: np.ndarray, t: np.ndarray) -> Callable[[], object]:
    """F.binary_cross_entropy[_with_logits]; value_and_grad = forward + autograd.grad."""
    import torch.nn.functional as F

    loss_fn = F.binary_cross_entropy if case.loss == "bce" else F.binary_cross_entropy_with_logits
    reduction = case.reduction
    tt = torch.from_numpy(t)  # shares memory: no copy in the timed region
    if case.mode == "forward":
        xt = torch.from_numpy(x)
        return lambda: loss_fn(xt, tt, reduction=reduction)
    xg = torch.from_numpy(x).requires_grad_(True)
    upstream = None if reduction == "mean" else torch.ones_like(xg)

    def value_and_grad() -> object:
        loss = loss_fn(xg, tt, reduction=reduction)
        (g,) = torch.autograd.grad(loss, xg, grad_outputs=upstream)
        return loss, g

    return value_and_grad


def split(n: int, parts: int) -> list[slice]:
    step = -(-n // parts)
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def floor_calls(
    x: np.ndarray, t: np.ndarray, pool: ThreadPoolExecutor | None, parts: int
) -> dict[str, Callable[[], object]]:
    """The memory floor: read both inputs once; read both and write one array."""
    buf = np.empty_like(x)
    calls: dict[str, Callable[[], object]] = {
        "read": lambda: (np.maximum.reduce(x), np.maximum.reduce(t)),
        "r2w1": lambda: np.add(x, t, out=buf),
    }
    if pool is not None:
        chunks = split(x.size, parts)

        def read_chunk(s: slice) -> object:
            return np.maximum.reduce(x[s]), np.maximum.reduce(t[s])

        def add_chunk(s: slice) -> object:
            return np.add(x[s], t[s], out=buf[s])

        # NumPy releases the GIL inside these loops, so the chunks run in parallel.
        calls[f"read·{parts}T"] = lambda: list(pool.map(read_chunk, chunks))
        calls[f"r2w1·{parts}T"] = lambda: list(pool.map(add_chunk, chunks))
    return calls


def contenders(
    case: Case, x: np.ndarray, t: np.ndarray, torch: Any, pool: ThreadPoolExecutor | None
) -> list[Contender]:
    """cbce first: it is the reference of every ratio."""
    cores = cpu_count()
    run_cbce = cbce_call(case, x, t)
    set_cbce = getattr(cbce, "set_num_threads", None)
    out: list[Contender] = []
    if set_cbce is None:
        out.append(Contender("cbce", run_cbce, 0))
    else:
        out.append(Contender("cbce", run_cbce, cores, lambda: set_cbce(cores)))
        if cores > 1:
            out.append(Contender("cbce·1T", run_cbce, 1, lambda: set_cbce(1)))
    out.append(Contender("numpy", numpy_call(case, x, t), 1))
    if torch is not None:
        run_torch = torch_call(torch, case, x, t)
        out.append(
            Contender("torch·1T", run_torch, 1, lambda: torch_threads(torch, 1, run_torch))
        )
        if cores > 1:
            out.append(
                Contender(
                    f"torch·{cores}T",
                    run_torch,
                    cores,
                    lambda: torch_threads(torch, cores, run_torch),
                    settle,
                )
            )
    for name, call in floor_calls(x, t, pool, cores).items():
        out.append(Contender(name, call, cores if "·" in name else 1))
    return out


# ------------------------------------------------------------------ timing


def calibrate(c: Contender, sample_seconds: float) -> int:
    """Warm up (first-call costs, page faults) and pick the batch size k."""
    if c.before is not None:
        c.before()
    t0 = time.perf_counter()
    c.call()
    one = time.perf_counter() - t0
    if one <= sample_seconds:  # else k = 1 whatever the warm-up cost: skip a second slow call
        t0 = time.perf_counter()
        c.call()
        one = time.perf_counter() - t0
    if c.after is not None:
        c.after()
    return max(1, min(100_000, math.ceil(sample_seconds / max(one, 1e-9))))


def time_interleaved(cs: Sequence[Contender], settings: Settings) -> dict[str, float]:
    """Median seconds per call of each contender, sampled round-robin."""
    batch = [calibrate(c, settings.sample_seconds) for c in cs]
    samples: list[list[float]] = [[] for _ in cs]
    start = time.perf_counter()
    for r in range(settings.rounds):
        if r >= settings.min_rounds and time.perf_counter() - start > settings.case_budget:
            break
        for c, k, s in zip(cs, batch, samples):
            if c.before is not None:
                c.before()
            call = c.call
            t0 = time.perf_counter()
            for _ in range(k):
                call()
            s.append((time.perf_counter() - t0) / k)
            if c.after is not None:
                c.after()
    return {c.name: statistics.median(s) for c, s in zip(cs, samples)}


@dataclass
class Result:
    case: Case
    seconds: dict[str, float]  # median per call, by contender name
    threads: dict[str, int]  # 0 = cbce without a thread setting

    def ratio(self, name: str, ref: str = "cbce") -> float:
        """Contender time / reference time: > 1 means the reference is faster."""
        return self.seconds[name] / self.seconds[ref]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self.case), "seconds": self.seconds, "threads": self.threads}


def run(
    selected: Sequence[Case],
    settings: Settings = Settings(),
    progress: Callable[[str], None] | None = None,
) -> list[Result]:
    torch = import_torch()
    torch_default = None if torch is None else torch.get_num_threads()
    cbce_default = cbce_threads()
    cores = cpu_count()
    pool = ThreadPoolExecutor(cores) if cores > 1 else None
    results: list[Result] = []
    try:
        for i, case in enumerate(selected):
            if progress is not None:
                progress(f"[{i + 1}/{len(selected)}] {label(case)}")
            x, t = make_inputs(case)
            cs = contenders(case, x, t, torch, pool)
            seconds = time_interleaved(cs, settings)
            results.append(Result(case, seconds, {c.name: c.threads for c in cs}))
    finally:
        # Leave the global thread settings as the caller had them.
        if torch is not None:
            torch.set_num_threads(torch_default)
        if cbce_default is not None:
            cbce.set_num_threads(cbce_default)
        if pool is not None:
            pool.shutdown()
    return results


# ------------------------------------------------------------------ report


def label(case: Case) -> str:
    return f"{case.loss} {case.mode} {case.reduction} {case.dtype} n={case.n:.0e}"


def _fmt_ratio(r: float) -> str:
    return f"{r:.3g}x" if r < 100 else f"{r:.0f}x"


def format_tables(results: Sequence[Result]) -> str:
    """One table per (loss, mode): a row per (dtype, reduction, n).

    Columns: cbce's median per call and per element, then every other
    contender as (its time / cbce's time), so > 1 means cbce is faster and
    a floor column < 1 says how far cbce is above the memory floor.
    """
    blocks: list[str] = []
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        groups.setdefault((r.case.loss, r.case.mode), []).append(r)
    for (loss, mode), rows in groups.items():
        others = [n for n in rows[0].seconds if n != "cbce"]
        title = {"bce": "BCE", "logits": "BCE-with-logits"}[loss]
        head = f"{'dtype':<8}{'red':<5}{'n':>9}{'cbce µs':>11}{'ns/el':>8} |" + "".join(
            f"{n:>10}" for n in others
        )
        lines = [f"{title}  {mode}   (ratio = contender time / cbce time)", head, "-" * len(head)]
        for r in rows:
            c = r.case
            s = r.seconds["cbce"]
            lines.append(
                f"{c.dtype:<8}{c.reduction:<5}{c.n:>9.0e}{s * 1e6:>11.1f}{s / c.n * 1e9:>8.3f} |"
                + "".join(f"{_fmt_ratio(r.ratio(n)):>10}" for n in others)
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
