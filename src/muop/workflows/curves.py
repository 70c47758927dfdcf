"""What a sweep's curves say: the best LR per size (parabola in log-LR) and its drift.

The figures are :mod:`muop.workflows.plots`'.

The best LR per (parametrization, size) comes from the seed-averaged test-error curve, refined by
a parabola in log10(LR) through the grid minimum and its two neighbours, so ``drift`` (largest
best LR / smallest) is not quantised to the grid. An LR where any seed diverged (or is missing)
counts as diverged. In a ``--hparam`` sweep "LR" reads as the swept hyperparameter's value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ..errors import UsageError

__all__ = ["best_lr", "seed_curves", "summarise", "Curves"]

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
    return {
        "axis": axis,
        "runs": runs,
        "best_lr": best,
        "best_lr_at_grid_edge": edge,
        "drift": drift,
        "mean_test_rel_l2": mean_curves,
    }
