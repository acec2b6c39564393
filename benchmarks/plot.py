"""Time per element vs size, log-log, one line per contender (matplotlib, optional)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cbce._bench import Result


def draw(results: Sequence[Result], info: dict[str, Any], path: Path) -> str:
    """Write a PNG with a panel per (loss, mode, dtype) at reduction "mean"
    (or the first reduction measured); return a line saying what happened."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        return f"matplotlib is not importable: no plot written to {path}"

    reduction = (
        "mean" if any(r.case.reduction == "mean" for r in results) else results[0].case.reduction
    )
    panels: dict[tuple[str, str, str], list[Result]] = {}
    for r in results:
        if r.case.reduction == reduction:
            panels.setdefault((r.case.loss, r.case.mode, r.case.dtype), []).append(r)
    cols = 2
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 4 * rows), squeeze=False)
    for ax, ((loss, mode, dtype), rs) in zip(axes.flat, panels.items()):
        rs = sorted(rs, key=lambda r: r.case.n)
        for name in rs[0].seconds:
            style = (
                "-"
                if name.startswith("cbce")
                else (":" if name.startswith(("read", "r2w1")) else "--")
            )
            ax.loglog(
                [r.case.n for r in rs],
                [r.seconds[name] / r.case.n * 1e9 for r in rs],
                style,
                marker="o",
                ms=3,
                label=name,
            )
        ax.set_title(f"{loss} {mode} {reduction} {dtype}")
        ax.set_xlabel("elements")
        ax.set_ylabel("ns / element (median)")
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(
        f"cbce {info['cbce']} ({info['simd_level']}) on {info['cpu']}, {info['cores']} cores"
    )
    fig.tight_layout(rect=(0, 0, 1, 0.98))  # leave room for the suptitle
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"wrote {path}"
