"""Transfer regret of a sweep: how much worse the target does at the LR the proxy chose.

Pure functions on sweep records (numpy only). A record is a dict with ``parametrization``, ``size``,
``lr`` (or the swept value, see "The x axis"), ``seed``, ``test_rel_l2`` and ``diverged``; a diverged
run's error is NaN.

**Curves.** For each (parametrization, size) the errors form a seeds × LRs table; the seed-averaged
curve is the mean over seeds at each LR, NaN at an LR where any seed is NaN (diverged or missing),
exactly as :func:`muop.workflows.curves.summarise` does (both use
:func:`muop.workflows.curves.seed_curves`). "Finite grid" below means the LRs whose mean is finite.

**Regret.** With P the proxy size (the smallest size of the parametrization unless ``proxy`` says
otherwise) and T a target size::

    lr_P   = best_lr(seed-averaged curve of P)          # parabola in log10(LR), as in muop.workflows.sweep
    regret = Ê_T(lr_P) / min_j E_T(lr_j) - 1            # a fraction: 0.05 means 5 % worse

where E_T is T's seed-averaged curve, the minimum runs over T's finite grid, and Ê_T is T's curve
interpolated as below. Regret is ≥ 0, and exactly 0 when lr_P is T's own best LR (found the same
way), so a target whose curve equals the proxy's has regret 0 wherever the parabola puts lr_P.

**Interpolation.** Ê_T is piecewise linear in (log10 LR, log10 error) through T's finite grid points
*and one more knot*: T's own best LR lr_T = best_lr(E_T), with T's best grid error min_j E_T(lr_j).
So Ê_T's minimum is the measured best error, reached at lr_T (and flat between lr_T and the grid
LR where it was measured). Without that knot the interpolant's minimum would always be a grid
point, and a proxy LR between grid points would have regret > 0 even against the proxy's own curve
(the "floor" that entries reported before this definition: up to 5 % on the committed sweeps
of ``results/sweeps``). A grid LR equal to lr_P gives its own error. When lr_P lies outside T's grid, or one
of the two knots that bracket it is not finite (diverged), the error of the nearest finite knot (in
log10 LR) is used and the entry is flagged ``target_extrapolated``; next to a diverged LR that value
is a lower bound on the true error, so the regret is too. ``regret_grid`` is the same regret at grid
resolution: lr_P replaced by the proxy's grid-minimum LR.

**The x axis.** Records of an LR sweep carry the LR under ``lr``; those of a ``--hparam`` sweep carry
the swept value under ``value`` (``key="value"``). Everything above then reads "LR" as that value:
the same parabola and the same log-log interpolation in log10 of it.

**Bootstrap.** ``n_boot`` replicates (default 1000). In each replicate the seeds of every size are
drawn with replacement (as many draws as that size has seeds), independently per size; a drawn seed
brings its whole curve. The proxy's best LR and each target's regret are recomputed from the
resampled seed-averaged curves. The 95 % interval is the 2.5th and 97.5th percentile
(``numpy.percentile``, linear) of the finite replicates. The draws come from
``numpy.random.default_rng(seed)``, one generator per parametrization, so a table is reproducible.
With one seed for both proxy and target the interval is ``[regret, regret]``; an entry whose proxy or
target has one seed is flagged ``single_seed`` (that size's seed noise is then not in the interval).

**Flat curves.** A curve (seeds × LRs, at least 2 seeds and 2 finite LRs) is *flat* when::

    max_j m_j / min_j m_j - 1  <=  2 * mean_j( se_j / m_j )

over its finite LRs j, with m_j the seed mean and se_j = std_j(ddof=1) / sqrt(n_seeds) the standard
error across seeds: the LR grid moves the error by no more than twice its relative seed noise, so no
LR is preferred. With one seed, or fewer than two finite LRs, a curve is never flagged. Flat curves
are reported (``flat``) and :func:`drift_excluding_flat` leaves their best LRs out of the drift.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ..errors import UsageError
from .curves import best_lr, seed_curves

curves = seed_curves  # the seed × LR tables regret is computed on (see muop.workflows.curves.seed_curves)

__all__ = [
    "FLAT_NOISE_FACTOR",
    "curve_matrix",
    "curves",
    "interp_loglog",
    "is_flat",
    "regret_at",
    "regret_table",
    "seed_draws",
    "drift_excluding_flat",
]

FLAT_NOISE_FACTOR = 2.0
"""A curve is flat when its relative spread is ≤ this many mean relative standard errors."""


def interp_loglog(lrs: Sequence[float], errs: Sequence[float], lr: float) -> tuple[float, bool]:
    """Error of a curve at ``lr``, piecewise linear in (log10 LR, log10 error) between grid points.

    ``lrs`` is the grid (any order), ``errs`` its seed-averaged errors (NaN where diverged; errors must
    be > 0). Returns ``(error, extrapolated)``: when ``lr`` is outside the grid or a bracketing grid
    point is not finite, the nearest finite grid point's error and ``True``; NaN if none is finite.
    """
    order = np.argsort(lrs)
    x = np.log10(np.asarray(lrs, dtype=float)[order])
    y = np.asarray(errs, dtype=float)[order]
    fin = np.isfinite(y)
    if not fin.any() or not math.isfinite(lr):
        return math.nan, True
    xq = math.log10(lr)
    hit = np.flatnonzero(np.isclose(x, xq, rtol=0.0, atol=1e-12))
    if hit.size and fin[hit[0]]:
        return float(y[hit[0]]), False
    i = int(np.searchsorted(x, xq))  # x[i-1] < xq < x[i] when 0 < i < len(x)
    if 0 < i < len(x) and fin[i - 1] and fin[i]:
        t = (xq - x[i - 1]) / (x[i] - x[i - 1])
        # y_lo * (y_hi / y_lo)^(distance from y_lo's end): never below the lower end in floating point
        lo, hi, u = (y[i - 1], y[i], t) if y[i - 1] <= y[i] else (y[i], y[i - 1], 1 - t)
        return float(lo * (hi / lo) ** u), False
    xf, yf = x[fin], y[fin]
    return float(yf[int(np.argmin(np.abs(xf - xq)))]), True


def curve_matrix(by_lr: Mapping[float, Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """``(lrs, E)``: the sorted grid (n,) and the seeds × LRs error table (n_seeds, n) of one curve
    ``{lr: [error per seed]}``."""
    lrs = sorted(by_lr)
    return np.asarray(lrs, dtype=float), np.asarray([by_lr[lr] for lr in lrs], dtype=float).T


def _flat(E: np.ndarray) -> bool:
    n = E.shape[0]
    if n < 2:
        return False
    m = E.mean(axis=0)
    ok = np.isfinite(m)
    if ok.sum() < 2:
        return False
    m, se = m[ok], E[:, ok].std(axis=0, ddof=1) / math.sqrt(n)
    return bool(m.max() / m.min() - 1 <= FLAT_NOISE_FACTOR * float(np.mean(se / m)))


def is_flat(by_lr: Mapping[float, Sequence[float]]) -> bool:
    """Whether a curve ``{lr: [error per seed]}`` is flat (see the module docstring for the rule)."""
    return _flat(curve_matrix(by_lr)[1])


def with_best_knot(lrs: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The knots of Ê (module docstring): the grid, plus (the curve's own best LR, its best grid error)
    when the parabola puts that LR between grid points."""
    fin = np.isfinite(mean)
    if not fin.any():
        return lrs, mean
    lr_best = best_lr(lrs, mean)[0]
    if np.isclose(np.log10(lrs), math.log10(lr_best), rtol=0.0, atol=1e-12).any():
        return lrs, mean  # a grid LR: best_lr only returns the grid minimum there
    return np.append(lrs, lr_best), np.append(mean, mean[fin].min())


def regret_at(lr_p: float, lrs_t: np.ndarray, mean_t: np.ndarray) -> tuple[float, float, bool]:
    """``(regret, Ê_T(lr_p), extrapolated)`` of a target's seed-mean curve ``mean_t`` on grid ``lrs_t`` at
    the LR ``lr_p`` chosen for it (module docstring: regret as a fraction, Ê_T interpolated with the best knot)."""
    fin = np.isfinite(mean_t)
    if not math.isfinite(lr_p) or not fin.any():
        return math.nan, math.nan, True
    e, extrap = interp_loglog(*with_best_knot(lrs_t, mean_t), lr_p)
    return e / float(mean_t[fin].min()) - 1.0, e, extrap


def seed_draws(mats: Mapping[int, tuple[np.ndarray, np.ndarray]], n_boot: int, seed: int) -> dict[int, np.ndarray]:
    """The bootstrap's seed draws of one parametrization (module docstring, "Bootstrap"): per size, in
    increasing size order from ``numpy.random.default_rng(seed)``, an (n_boot, n_seeds) array of seed indices."""
    rng = np.random.default_rng(seed)
    return {s: rng.integers(0, E.shape[0], size=(n_boot, E.shape[0])) for s, (_, E) in sorted(mats.items())}


def drift_excluding_flat(best_lr: Mapping[str, Mapping], flat: Mapping[str, Mapping]) -> dict[str, float]:
    """Largest best LR / smallest, per parametrization, over the sizes whose curve is not flat.

    ``best_lr``: ``{param: {size: lr}}``; ``flat``: ``{param: {size: bool}}`` (sizes as int or str).
    NaN best LRs are skipped; NaN if no size is left.
    """
    out = {}
    for par, by_size in best_lr.items():
        fl = {str(s): bool(v) for s, v in flat.get(par, {}).items()}
        vals = [float(v) for s, v in by_size.items() if math.isfinite(float(v)) and not fl.get(str(s), False)]
        out[par] = max(vals) / min(vals) if vals else math.nan
    return out


def regret_table(
    runs: Iterable[Mapping], proxy: int | None = None, n_boot: int = 1000, seed: int = 0, key: str = "lr"
) -> dict:
    """Regret of every target size against the proxy, per parametrization, with bootstrap intervals.

    ``proxy``: the proxy size (default: each parametrization's smallest size); a size that is not in
    the sweep raises ValueError (one line, naming it and the sizes there are). ``key``: the record
    field holding the swept value (``lr``, or ``value`` for a ``--hparam`` sweep). Returns::

        {"proxy": {param: size}, "n_boot": n_boot, "seed": seed,
         "regret": {param: {str(size): {"regret", "ci": [lo, hi], "proxy_size", "proxy_lr",
                    "proxy_at_edge", "regret_grid", "target_err_at_proxy_lr", "target_best",
                    "target_best_lr", "flat", "proxy_flat",
                    "target_extrapolated", "single_seed", "n_seeds", "n_boot_finite"}}},
         "flat": {param: {str(size): bool}}, "best_lr": {param: {str(size): lr}},
         "drift_excluding_flat": {param: float}}

    Regret and its interval are fractions (0.05 = 5 %); LRs in the sweep's units; errors are
    seed-averaged test relative L2. Every size except the proxy gets an entry.
    """
    if not isinstance(n_boot, int) or n_boot < 1:
        raise UsageError(f"n_boot={n_boot!r}: expected a positive integer")
    cv = seed_curves(runs, key)
    if not cv:
        raise UsageError("no sweep records")
    _check_proxy(cv, proxy)
    doc: dict = {"proxy": {}, "n_boot": n_boot, "seed": seed, "regret": {}, "flat": {}, "best_lr": {}}
    for par, by_size in cv.items():
        mats = {s: curve_matrix(by_lr) for s, by_lr in by_size.items()}
        p = proxy if proxy is not None else min(by_size)
        doc["proxy"][par] = p
        doc["flat"][par] = {str(s): _flat(E) for s, (_, E) in mats.items()}
        doc["best_lr"][par] = {str(s): best_lr(lrs, E.mean(axis=0))[0] for s, (lrs, E) in mats.items()}
        doc["regret"][par] = _param_regrets(mats, p, n_boot, seed, doc["flat"][par], doc["best_lr"][par])
    doc["drift_excluding_flat"] = drift_excluding_flat(doc["best_lr"], doc["flat"])
    return doc


def _check_proxy(cv: Mapping, proxy: int | None) -> None:
    """A one-line UsageError if ``proxy`` is given but missing from some parametrization's sizes."""
    if proxy is None:
        return
    for par, by_size in cv.items():
        if proxy not in by_size:
            everywhere = sorted({s for b in cv.values() for s in b})
            where = "" if proxy not in everywhere else f" for parametrization {par}"
            sizes = ", ".join(map(str, sorted(by_size) if where else everywhere))
            raise UsageError(f"proxy size {proxy} is not in the sweep{where} (sizes: {sizes})")


def _param_regrets(
    mats: Mapping, p: int, n_boot: int, seed: int, flat: Mapping[str, bool], best: Mapping[str, float]
) -> dict:
    """One parametrization's regret entries, ``{str(size): entry}`` for every size but the proxy ``p``.

    ``mats``: size -> (LR grid, seed-by-LR error matrix). The bootstrap draws each size's seeds
    independently (``n_boot`` replicates from generator ``seed``) and recomputes both best LRs.
    """
    means = {s: E.mean(axis=0) for s, (_, E) in mats.items()}
    draws = seed_draws(mats, n_boot, seed)
    lrs_p, E_p = mats[p]
    lr_p, p_edge = best_lr(lrs_p, means[p])
    fin_p = np.isfinite(means[p])
    lr_p_grid = float(lrs_p[fin_p][np.argmin(means[p][fin_p])]) if fin_p.any() else math.nan
    lr_p_boot = [best_lr(lrs_p, E_p[draws[p][b]].mean(axis=0))[0] for b in range(n_boot)]
    out = {}
    for t in sorted(mats):
        if t == p:
            continue
        lrs_t, E_t = mats[t]
        r, e_at, extrap = regret_at(lr_p, lrs_t, means[t])
        if E_p.shape[0] == 1 and E_t.shape[0] == 1:
            boots = np.array([r])
        else:
            boots = np.array([regret_at(lr_p_boot[b], lrs_t, E_t[draws[t][b]].mean(axis=0))[0] for b in range(n_boot)])
        boots = boots[np.isfinite(boots)]
        lo, hi = (float(v) for v in np.percentile(boots, [2.5, 97.5])) if boots.size else (math.nan, math.nan)
        fin = np.isfinite(means[t])
        out[str(t)] = {
            "regret": float(r),
            "ci": [lo, hi],
            "proxy_size": p,
            "proxy_lr": float(lr_p),
            "proxy_at_edge": bool(p_edge),
            "regret_grid": float(regret_at(lr_p_grid, lrs_t, means[t])[0]),
            "target_err_at_proxy_lr": float(e_at),
            "target_best": float(means[t][fin].min()) if fin.any() else math.nan,
            "target_best_lr": best[str(t)],
            "flat": flat[str(t)],
            "proxy_flat": flat[str(p)],
            "target_extrapolated": bool(extrap),
            "single_seed": bool(min(E_p.shape[0], E_t.shape[0]) == 1),
            "n_seeds": int(E_t.shape[0]),
            "n_boot_finite": int(boots.size),
        }
    return out
