"""The drift model: fit log(best value) against log(size) over several proxies and predict the target's value.

μP removes most of the drift of the best LR over width, not all of it (``results/sweeps/burgers_width``:
μP's best LR still rises 3× from width 16 to 256). This module fits what is left, from the best
value of one hyperparameter at two or more proxy sizes on one axis (width, modes, depth), and says
whether to extrapolate it. Pure functions, numpy only.

**The line.** With proxy sizes s_i (at least two, distinct) and their best values v_i > 0, ordinary
least squares gives ``log v = a + b·log s``; ``b`` is the *slope* (the drift exponent: the best
value grows as size^b). Its prediction at the target size T is ``exp(a + b·log T)``.

**Pooled.** ``exp(mean_i log v_i)``: the geometric mean of the proxies' best values (the same line
with its slope set to 0, through the proxies' centroid). Every proxy counts once, whatever its
curve's scale, and it needs no shared grid (a tuning study's trials have none).

**Replicates and intervals.** Each proxy's best value comes with ``B`` bootstrap replicates
(:func:`boot_best`: the seeds of every size resampled independently, as in
:mod:`muop.workflows.regret`, and the best value recomputed by the same parabola rule,
:func:`muop.workflows.curves.best_lr`; :func:`drift_from_trials`: a tuning study's trials resampled,
the best trial's value taken). Every replicate is refitted; the 95 % intervals of the slope and of
the prediction are the 2.5th and 97.5th percentiles (``numpy.percentile``, linear) of the finite
replicates. ``predicted_ci`` is conditional on the rule below (the rule is decided once, on all
the data, not again in each replicate).

**The rule** (chosen before it was measured on the committed sweeps): extrapolate the line
(``rule="fit"``) only when the slope's 95 % interval excludes 0 (by more than :data:`SLOPE_TOL`,
rounding); otherwise take the pooled value
(``rule="pooled"``). Extrapolating multiplies the slope's noise by the distance from the proxies'
centroid to the target in log size, so a line is worth that noise only when its drift is
distinguishable from seed noise; where it is not (over Fourier modes on the committed problems),
pooling averages the proxies' noise instead of amplifying it. Without replicates, or with fewer
than two finite ones, there is no evidence of drift and the rule is ``pooled``. With one seed per
proxy every replicate equals the point estimate, so the interval is a point and the line is used
whenever the slope is not 0: there is no seed noise to test against (sweep entries flag this as
``single_seed``). With 2–3 seeds the percentile interval is narrow (a bootstrap over 2 seeds has 3
distinct means), which is where the rule extrapolated noise over modes in the committed sweeps
(README, "μP vs a fitted scaling law").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import UsageError
from .curves import best_lr

__all__ = [
    "DriftFit",
    "RULES",
    "SLOPE_TOL",
    "check_proxies",
    "fit_drift",
    "boot_best",
    "drift_from_curves",
    "drift_from_trials",
]

#: The rules :func:`fit_drift` chooses between.
RULES = ("fit", "pooled")

#: A slope interval "excludes 0" only beyond this (dimensionless): proxies whose best values are the
#: same grid point give slopes of ±1e-17 from rounding, which are 0.
SLOPE_TOL = 1e-9


@dataclass(frozen=True)
class DriftFit:
    """What the drift model says about one target.

    ``proxies``: the proxy sizes; ``best``: their best values (the swept hyperparameter's units,
    e.g. the LR); ``slope``: the fitted exponent b (dimensionless, best ∝ size^b) with its 95 %
    interval ``slope_ci``; ``fitted`` and ``pooled``: the two candidate predictions at ``target``;
    ``rule``: which of them is ``predicted``, with its 95 % interval ``predicted_ci``;
    ``replicates``: the bootstrap replicates of the prediction under that rule (NaN where a
    replicate had no finite best value), shape (B,).
    """

    proxies: tuple[int, ...]
    best: tuple[float, ...]
    target: int
    slope: float
    slope_ci: tuple[float, float]
    fitted: float
    pooled: float
    rule: str
    predicted: float
    predicted_ci: tuple[float, float]
    n_boot_finite: int
    replicates: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.zeros(0))

    def as_dict(self) -> dict:
        """The fit as plain JSON types (without the replicates)."""
        return {
            "proxies": list(self.proxies),
            "best": list(self.best),
            "target": self.target,
            "slope": self.slope,
            "slope_ci": list(self.slope_ci),
            "fitted": self.fitted,
            "pooled": self.pooled,
            "rule": self.rule,
            "predicted": self.predicted,
            "predicted_ci": list(self.predicted_ci),
            "n_boot_finite": self.n_boot_finite,
        }


def check_proxies(proxies: Sequence[int], target: int | None = None, option: str = "proxies") -> tuple[int, ...]:
    """The proxy sizes, sorted; a one-line UsageError unless there are at least two, distinct,
    positive, and (when ``target`` is given) all below the target. ``option`` names them in the message."""
    shown = ",".join(map(str, proxies))
    if len(proxies) < 2:
        raise UsageError(f"{option} {shown or '(none)'}: expected at least two proxy sizes to fit the drift")
    if len(set(proxies)) != len(proxies) or any(int(s) < 1 for s in proxies):
        raise UsageError(f"{option} {shown}: expected distinct positive sizes")
    if target is not None and max(proxies) >= target:
        raise UsageError(f"{option} {shown}: expected sizes below the target's {target}")
    return tuple(sorted(int(s) for s in proxies))


def _interval(v: np.ndarray) -> tuple[float, float]:
    v = v[np.isfinite(v)]
    if not v.size:
        return math.nan, math.nan
    lo, hi = np.percentile(v, [2.5, 97.5])
    return float(lo), float(hi)


def _lines(x: np.ndarray, logv: np.ndarray, logt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least squares on the last axis of ``logv`` (one row per replicate): (slopes, fitted log values
    at ``logt``, pooled log values)."""
    xc = x - x.mean()
    slope = (logv * xc).sum(axis=-1) / (xc * xc).sum()
    pooled = logv.mean(axis=-1)
    return slope, pooled + slope * (logt - x.mean()), pooled


def fit_drift(
    sizes: Sequence[int], best: Sequence[float], target: int, replicates: np.ndarray | None = None
) -> DriftFit:
    """Fit the drift and predict the best value at size ``target`` (module docstring: line, pooled, rule).

    ``sizes``: the k proxy sizes (≥ 2, distinct, positive); ``best``: their best values (> 0, finite);
    ``replicates``: bootstrap replicates of ``best``, shape (B, k), NaN where a replicate has no best
    value (those replicates are left out). Without replicates the intervals are NaN and the rule is pooled.
    """
    proxies = check_proxies(list(sizes))
    order = np.argsort(np.asarray(sizes))
    v = np.asarray(best, dtype=float)[order]
    if v.shape != (len(proxies),) or not (np.isfinite(v).all() and (v > 0).all()):
        raise UsageError(f"best values {list(best)}: expected one finite positive value per proxy size")
    if int(target) < 1:
        raise UsageError(f"target size {target}: expected a positive size")
    x, logt = np.log(np.asarray(proxies, dtype=float)), math.log(target)
    slope, fit_log, pool_log = (float(u) for u in _lines(x, np.log(v), logt))
    reps = np.zeros((0, len(proxies))) if replicates is None else np.asarray(replicates, dtype=float)[:, order]
    ok = np.isfinite(reps).all(axis=1) & (reps > 0).all(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        b_slope, b_fit, b_pool = _lines(x, np.where(ok[:, None], np.log(reps), np.nan), logt)
    slope_ci = _interval(b_slope)
    drifts = slope_ci[0] > SLOPE_TOL or slope_ci[1] < -SLOPE_TOL
    rule = "fit" if int(ok.sum()) >= 2 and drifts else "pooled"
    chosen = np.exp(b_fit if rule == "fit" else b_pool)
    return DriftFit(
        proxies=proxies,
        best=tuple(float(u) for u in v),
        target=int(target),
        slope=slope,
        slope_ci=slope_ci,
        fitted=math.exp(fit_log),
        pooled=math.exp(pool_log),
        rule=rule,
        predicted=math.exp(fit_log if rule == "fit" else pool_log),
        predicted_ci=_interval(chosen),
        n_boot_finite=int(ok.sum()),
        replicates=chosen,
    )


def boot_best(lrs: np.ndarray, E: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Bootstrap replicates of one curve's best value, shape (B,).

    ``lrs``: the grid (n,); ``E``: the seeds × grid error table (NaN where diverged or missing);
    ``draws``: (B, n_seeds) seed indices, one row per replicate. Each replicate's best value is
    :func:`~muop.workflows.curves.best_lr` of the mean of its drawn seeds (NaN if none is finite).
    """
    return np.array([best_lr(lrs, E[d].mean(axis=0))[0] for d in draws], dtype=float)


def drift_from_curves(
    curves: Mapping[int, tuple[np.ndarray, np.ndarray]], target: int, n_boot: int = 1000, seed: int = 0
) -> DriftFit:
    """The drift model on sweep curves: ``curves`` maps each proxy size to (grid, seeds × grid errors).

    Each proxy's best value is :func:`~muop.workflows.curves.best_lr` of its seed-averaged curve; the
    replicates resample each size's seeds independently (``n_boot`` replicates from
    ``numpy.random.default_rng(seed)``, sizes in increasing order).
    """
    rng = np.random.default_rng(seed)
    sizes = sorted(curves)
    best, reps = [], []
    for s in sizes:
        lrs, E = curves[s]
        b = best_lr(lrs, E.mean(axis=0))[0]
        if not math.isfinite(b):
            raise UsageError(f"proxy size {s}: every run diverged, so it has no best value")
        best.append(b)
        reps.append(boot_best(lrs, E, rng.integers(0, E.shape[0], size=(n_boot, E.shape[0]))))
    return fit_drift(sizes, best, target, np.stack(reps, axis=1))


def drift_from_trials(
    trials: Mapping[int, Sequence[tuple[float, float]]], target: int, n_boot: int = 1000, seed: int = 0
) -> DriftFit:
    """The drift model on tuning studies: ``trials`` maps each proxy size to its finished trials'
    (value of the hyperparameter, objective) pairs (lower objective is better; non-finite ones are
    left out). Each proxy's best value is its best trial's; a replicate resamples each size's trials
    with replacement (``n_boot`` replicates from ``numpy.random.default_rng(seed)``) and takes the
    best trial of the resample, so the interval says how sure each study is of its best value.
    """
    rng = np.random.default_rng(seed)
    sizes = sorted(trials)
    best, reps = [], []
    for s in sizes:
        pts = np.array([(x, y) for x, y in trials[s] if math.isfinite(x) and math.isfinite(y)], dtype=float)
        if not len(pts):
            raise UsageError(f"proxy size {s}: no finished trial with a finite value")
        best.append(float(pts[np.argmin(pts[:, 1]), 0]))
        draws = rng.integers(0, len(pts), size=(n_boot, len(pts)))
        reps.append(pts[draws, 0][np.arange(n_boot), np.argmin(pts[draws, 1], axis=1)])
    return fit_drift(sizes, best, target, np.stack(reps, axis=1))
