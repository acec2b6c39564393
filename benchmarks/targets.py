"""The speed targets of issue 3, checked against one benchmark run.

Each target pairs contenders measured side by side in the same run; a line
says MET or MISSED with the numbers, or "n/a" when the run lacks the cases
(e.g. --sizes without 1e6, or no torch).
"""

from __future__ import annotations

from collections.abc import Sequence

from cbce._bench import Result


def _find(results: Sequence[Result], **want: object) -> Result | None:
    for r in results:
        if all(getattr(r.case, k) == v for k, v in want.items()):
            return r
    return None


def _short(dtype: str) -> str:
    return "f" + dtype[5:]  # float32 -> f32


def _one_thread_cbce(r: Result) -> str:
    """cbce·1T when cbce has threads, else cbce (which then runs on one)."""
    return "cbce·1T" if "cbce·1T" in r.seconds else "cbce"


def _best(r: Result, prefix: str) -> tuple[str, float]:
    """The fastest contender whose name starts with prefix (e.g. any torch)."""
    names = [n for n in r.seconds if n.startswith(prefix)]
    name = min(names, key=r.seconds.__getitem__)
    return name, r.seconds[name]


def report(results: Sequence[Result]) -> str:
    lines = ["Issue-3 targets (x = times faster; floor multiples = cbce time / floor time)"]

    def line(text: str, ok: bool | None, detail: str) -> None:
        verdict = {True: "MET   ", False: "MISSED", None: "n/a   "}[ok]
        lines.append(f"  {verdict} {text:<58} {detail}")

    def speedup(text: str, goal: float, other: str, **case: object) -> None:
        """cbce with one thread vs `other` (one thread too): other/cbce >= goal."""
        r = _find(results, **case)
        if r is None or other not in r.seconds:
            return line(text, None, "not measured")
        me = _one_thread_cbce(r)
        ratio = r.seconds[other] / r.seconds[me]
        line(
            text,
            ratio >= goal,
            f"{ratio:.1f}x (goal >= {goal:g}x; {me} "
            f"{r.seconds[me] * 1e6:.0f} µs, {other} {r.seconds[other] * 1e6:.0f} µs)",
        )

    def floor(text: str, goal: float, kind: str, **case: object) -> None:
        """cbce (all threads) within goal x the best floor of this kind."""
        r = _find(results, **case)
        if r is None:
            return line(text, None, "not measured")
        fname, ftime = _best(r, kind)
        mult = r.seconds["cbce"] / ftime
        line(
            text,
            mult <= goal,
            f"{mult:.2f}x {fname} (goal <= {goal:g}x; cbce "
            f"{r.seconds['cbce'] * 1e3:.2f} ms, floor {ftime * 1e3:.2f} ms)",
        )

    e6: dict[str, object] = {"n": 10**6, "reduction": "mean"}
    speedup(
        "f32 1e6 1T BCE mean fwd vs torch",
        15,
        "torch·1T",
        loss="bce",
        mode="forward",
        dtype="float32",
        **e6,
    )
    speedup(
        "f32 1e6 1T BCE mean fwd vs numpy",
        2,
        "numpy",
        loss="bce",
        mode="forward",
        dtype="float32",
        **e6,
    )
    r = _find(results, loss="bce", mode="forward", dtype="float32", **e6)
    if r is None:
        line("f32 1e6 1T BCE mean fwd vs read floor", None, "not measured")
    else:
        me = _one_thread_cbce(r)
        mult = r.seconds[me] / r.seconds["read"]
        line(
            "f32 1e6 1T BCE mean fwd vs read floor (1T)",
            mult <= 10,
            f"{mult:.2f}x floor (goal <= 10x)",
        )
    speedup(
        "f32 1e6 1T logits mean fwd vs torch",
        2,
        "torch·1T",
        loss="logits",
        mode="forward",
        dtype="float32",
        **e6,
    )
    speedup(
        "f32 1e6 1T BCE mean value_and_grad vs torch fwd+bwd",
        10,
        "torch·1T",
        loss="bce",
        mode="value_and_grad",
        dtype="float32",
        **e6,
    )
    speedup(
        "f32 1e6 1T logits mean value_and_grad vs torch fwd+bwd",
        3,
        "torch·1T",
        loss="logits",
        mode="value_and_grad",
        dtype="float32",
        **e6,
    )
    for mode in ("forward", "value_and_grad"):
        speedup(
            f"f64 1e6 1T BCE mean {mode} vs torch",
            8,
            "torch·1T",
            loss="bce",
            mode=mode,
            dtype="float64",
            **e6,
        )
        speedup(
            f"f64 1e6 1T logits mean {mode} vs torch",
            2,
            "torch·1T",
            loss="logits",
            mode=mode,
            dtype="float64",
            **e6,
        )
    e7: dict[str, object] = {"n": 10**7, "reduction": "mean"}
    for loss in ("bce", "logits"):
        for dtype in ("float32", "float64"):
            floor(
                f"{_short(dtype)} 1e7 {loss} mean fwd within 2x read floor",
                2,
                "read",
                loss=loss,
                mode="forward",
                dtype=dtype,
                **e7,
            )
            floor(
                f"{_short(dtype)} 1e7 {loss} mean value_and_grad within 3x r2w1",
                3,
                "r2w1",
                loss=loss,
                mode="value_and_grad",
                dtype=dtype,
                **e7,
            )

    # Fastest of all non-floor contenders at every n >= 1e4, cbce on default threads.
    big = [r for r in results if r.case.n >= 10**4]
    losers = []
    for r in big:
        rivals = {n: s for n, s in r.seconds.items() if not n.startswith(("cbce", "read", "r2w1"))}
        if rivals and min(rivals.values()) <= r.seconds["cbce"]:
            name = min(rivals, key=rivals.__getitem__)
            losers.append(
                f"{r.case.loss}/{r.case.mode}/{r.case.reduction}/{r.case.dtype}/"
                f"{r.case.n:.0e} ({name} {r.ratio(name):.2f}x)"
            )
    line(
        "fastest contender at every n >= 1e4 (default threads)",
        None if not big else not losers,
        f"{len(big) - len(losers)}/{len(big)} cases"
        + (": slower in " + "; ".join(losers[:4]) if losers else "")
        + (f" (+{len(losers) - 4} more)" if len(losers) > 4 else ""),
    )

    # n = 1000: a whole call, Python overhead included, vs PyTorch's fastest.
    for r in results:
        if r.case.n != 1000 or r.case.reduction != "mean":
            continue
        if not any(n.startswith("torch") for n in r.seconds):
            continue
        tname, ttime = _best(r, "torch")
        ratio = r.seconds["cbce"] / ttime
        line(
            f"n=1e3 {_short(r.case.dtype)} {r.case.loss} mean {r.case.mode}: <= 0.5x torch",
            ratio <= 0.5,
            f"{ratio:.2f}x ({r.seconds['cbce'] * 1e6:.1f} µs vs {tname} {ttime * 1e6:.1f} µs)",
        )
    return "\n".join(lines)
