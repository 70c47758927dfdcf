"""What a sweep's curves say: the best LR per size (parabola in log-LR), its drift, and the plot.

The best LR per (parametrization, size) comes from the seed-averaged test-error curve, refined by
a parabola in log10(LR) through the grid minimum and its two neighbours, so ``drift`` (largest
best LR / smallest) is not quantised to the grid. An LR where any seed diverged (or is missing)
counts as diverged. In a ``--hparam`` sweep "LR" reads as the swept hyperparameter's value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .errors import UsageError

__all__ = ["best_lr", "seed_curves", "summarise", "plot_sweep"]

Curves = dict[str, dict[int, dict[float, list[float]]]]


def seed_curves(runs: Iterable[Mapping], key: str = "lr") -> Curves:
    """Errors per seed: ``{param: {size: {x: [test_rel_l2 of each seed]}}}``, sorted by size and x.

    ``x`` is the record's ``key`` field (the LR, or the swept value of a ``--hparam`` sweep). Each
    list holds one error per seed of that (param, size), in increasing seed order; a diverged run, a
    ``None`` or non-finite error, or a seed missing at that x gives NaN. Two records with the same
    (param, size, x, seed) raise a UsageError.
    """
    raw: dict[str, dict[int, dict[float, dict[int, float]]]] = {}
    for r in runs:
        par, size, x, seed = str(r["parametrization"]), int(r["size"]), float(r[key]), int(r.get("seed", 0))
        v = r.get("test_rel_l2")
        err = float(v) if v is not None and not r.get("diverged", False) else math.nan
        by_seed = raw.setdefault(par, {}).setdefault(size, {}).setdefault(x, {})
        if seed in by_seed:
            raise UsageError(f"two records for parametrization={par} size={size} {key}={x:.6e} seed={seed}")
        by_seed[seed] = err if math.isfinite(err) else math.nan
    out: Curves = {}
    for par in raw:  # in the order the records name them
        out[par] = {}
        for size in sorted(raw[par]):
            by_x = raw[par][size]
            seeds = sorted({s for d in by_x.values() for s in d})
            out[par][size] = {x: [by_x[x].get(s, math.nan) for s in seeds] for x in sorted(by_x)}
    return out


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


def summarise(runs: list[dict], axis: str, key: str = "lr") -> dict:
    """The curve part of ``sweep.json``: runs, seed-averaged curves, best LR per size, drift per parametrization.

    ``key``: the record field swept (``lr``, or ``value`` in a ``--hparam`` sweep); the document's
    fields keep their LR names either way.
    """
    best: dict[str, dict[str, float]] = {}
    edge: dict[str, dict[str, bool]] = {}
    mean_curves: dict[str, dict[str, dict[str, float]]] = {}
    for par, by_size in seed_curves(runs, key).items():
        best[par], edge[par], mean_curves[par] = {}, {}, {}
        for size, by_x in by_size.items():
            xs = list(by_x)
            means = [float(np.mean(v)) for v in by_x.values()]  # NaN where any seed is NaN
            best[par][str(size)], edge[par][str(size)] = best_lr(xs, means)
            mean_curves[par][str(size)] = {f"{x:.6e}": m for x, m in zip(xs, means)}
    drift = {}
    for par, b in best.items():
        vals = [v for v in b.values() if math.isfinite(v)]
        drift[par] = max(vals) / min(vals) if vals else float("nan")
    return {"axis": axis, "runs": runs, "best_lr": best, "best_lr_at_grid_edge": edge, "drift": drift, "mean_test_rel_l2": mean_curves}


_Y_CAP = 10.0  # test relative L2 above which a sweep plot stops (predicting zero scores 1)


def plot_sweep(doc: dict, path: str | Path) -> None:
    """Test error vs LR, one curve per size, one panel per parametrization.

    Dotted lines mark each size's best LR; with ``doc["regret"]`` (:func:`muop.sweep.sweep_summary`)
    a black-edged cross marks, on every target's curve, its error at the proxy's best LR, and the
    legend gives each target's regret. Errors above 10 (runs that blew up) are cut off the top.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pars = list(doc["mean_test_rel_l2"])
    regret, hparam = doc.get("regret", {}), doc.get("hparam", "lr")
    fig, axes = plt.subplots(1, len(pars), figsize=(5 * len(pars), 4), sharey=True, squeeze=False)
    sizes = sorted({int(s) for p in pars for s in doc["mean_test_rel_l2"][p]})
    cmap = plt.get_cmap("viridis", max(len(sizes), 2))
    for ax, par in zip(axes[0], pars):
        marked = False
        for si, size in enumerate(sizes):
            curve = doc["mean_test_rel_l2"][par].get(str(size))
            if not curve:
                continue
            entry = regret.get(par, {}).get(str(size))
            label = f"{doc['axis']} {size}"
            if entry is None and str(size) == str(doc.get("regret_proxy", {}).get(par)):
                label += " (proxy)"
            elif entry is not None and math.isfinite(entry["regret"]):
                label += f": regret {100 * entry['regret']:.1f}%"
            if doc.get("flat", {}).get(par, {}).get(str(size)):
                label += " (flat)"
            ax.plot([float(k) for k in curve], list(curve.values()), marker="o", ms=3, color=cmap(si), label=label)
            b = doc["best_lr"][par][str(size)]
            if math.isfinite(b):
                ax.axvline(b, color=cmap(si), ls=":", lw=1)
            if entry is not None and math.isfinite(entry["target_err_at_proxy_lr"]):
                ax.plot([entry["proxy_lr"]], [entry["target_err_at_proxy_lr"]], marker="X", ms=9, color=cmap(si), mec="black", ls="none", label=None if marked else "at the proxy's best")
                marked = True
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("learning rate" if hparam == "lr" else hparam)
        worst = [e["regret"] for e in regret.get(par, {}).values() if math.isfinite(e["regret"])]
        drift = doc.get("drift_excluding_flat", doc["drift"]).get(par, float("nan"))  # flat curves left out when known
        ax.set_title(f"{par}: best-{'LR' if hparam == 'lr' else 'value'} drift {drift:.2f}×" + (f", max regret {100 * max(worst):.1f}%" if worst else ""))
        handles, labels = ax.get_legend_handles_labels()
        order = sorted(range(len(labels)), key=lambda i: labels[i] == "at the proxy's best")  # that marker last
        ax.legend([handles[i] for i in order], [labels[i] for i in order], fontsize=7)
    axes[0][0].set_ylabel("test relative L2")
    values = [v for p in pars for c in doc["mean_test_rel_l2"][p].values() for v in c.values() if v is not None and math.isfinite(v)]
    if values and max(values) > _Y_CAP:  # a blown-up run (error 1e7) would squash every curve into the bottom row
        axes[0][0].set_ylim(top=_Y_CAP)
        for ax in axes[0]:
            ax.text(0.98, 0.02, f"errors > {_Y_CAP:g} off the top", transform=ax.transAxes, fontsize=7, ha="right", va="bottom")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
