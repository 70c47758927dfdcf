"""What a sweep's curves say: the best LR per size (parabola in log-LR), its drift, and the plot.

The best LR per (parametrization, size) comes from the seed-averaged test-error curve, refined by
a parabola in log10(LR) through the grid minimum and its two neighbours, so ``drift`` (largest
best LR / smallest) is not quantised to the grid. An LR where any seed diverged counts as diverged.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["best_lr", "summarise", "plot_sweep"]


def best_lr(lrs: Sequence[float], losses: Sequence[float]) -> tuple[float, bool]:
    """Best LR of one curve: parabola in log10(LR) through the grid minimum and its neighbours.

    Non-finite losses (diverged runs) are ignored. Returns ``(lr, at_edge)``; when the minimum
    is at the end of the finite grid the grid value is returned and ``at_edge`` is True.
    """
    pts = sorted((math.log10(lr), v) for lr, v in zip(lrs, losses) if math.isfinite(v))
    if not pts:
        return float("nan"), True
    i = min(range(len(pts)), key=lambda j: pts[j][1])
    if i == 0 or i == len(pts) - 1:
        return 10 ** pts[i][0], True
    (x0, y0), (x1, y1), (x2, y2) = pts[i - 1], pts[i], pts[i + 1]
    denom = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denom
    b = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / denom
    if a <= 0:
        return 10**x1, False
    xv = min(max(-b / (2 * a), x0), x2)
    return 10**xv, False


def summarise(runs: list[dict], axis: str) -> dict:
    """The ``sweep.json`` document: runs, seed-averaged curves, best LR per size, drift per parametrization."""
    curves: dict[str, dict[int, dict[float, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for r in runs:
        v = r["test_rel_l2"] if not r["diverged"] else float("nan")
        curves[r["parametrization"]][r["size"]][r["lr"]].append(v)
    best: dict[str, dict[str, float]] = {}
    edge: dict[str, dict[str, bool]] = {}
    mean_curves: dict[str, dict[str, dict[str, float]]] = {}
    for par, by_size in curves.items():
        best[par], edge[par], mean_curves[par] = {}, {}, {}
        for size, by_lr in sorted(by_size.items()):
            lrs = sorted(by_lr)
            means = [float(np.mean(by_lr[lr])) if all(math.isfinite(v) for v in by_lr[lr]) else float("nan") for lr in lrs]
            b, at_edge = best_lr(lrs, means)
            best[par][str(size)], edge[par][str(size)] = b, at_edge
            mean_curves[par][str(size)] = {f"{lr:.6e}": m for lr, m in zip(lrs, means)}
    drift = {}
    for par, b in best.items():
        vals = [v for v in b.values() if math.isfinite(v)]
        drift[par] = max(vals) / min(vals) if vals else float("nan")
    return {"axis": axis, "runs": runs, "best_lr": best, "best_lr_at_grid_edge": edge, "drift": drift, "mean_test_rel_l2": mean_curves}


def plot_sweep(doc: dict, path: str | Path) -> None:
    """Test error vs LR, one curve per size, one panel per parametrization; dots mark the best LR."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pars = list(doc["mean_test_rel_l2"])
    fig, axes = plt.subplots(1, len(pars), figsize=(5 * len(pars), 4), sharey=True, squeeze=False)
    sizes = sorted({int(s) for p in pars for s in doc["mean_test_rel_l2"][p]})
    cmap = plt.get_cmap("viridis", max(len(sizes), 2))
    for ax, par in zip(axes[0], pars):
        for si, size in enumerate(sizes):
            curve = doc["mean_test_rel_l2"][par].get(str(size))
            if not curve:
                continue
            lrs = [float(k) for k in curve]
            ax.plot(lrs, list(curve.values()), marker="o", ms=3, color=cmap(si), label=f"{doc['axis']} {size}")
            b = doc["best_lr"][par][str(size)]
            if math.isfinite(b):
                ax.axvline(b, color=cmap(si), ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("learning rate")
        ax.set_title(f"{par}: best-LR drift {doc['drift'].get(par, float('nan')):.2f}×")
    axes[0][0].set_ylabel("test relative L2")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
