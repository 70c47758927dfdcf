"""The regret of the drift model on a sweep: the ``extrapolated`` entries of ``sweep.json``.

For each parametrization and each target size T with at least two smaller sizes, the drift model
(:func:`muop.workflows.drift.fit_drift`) predicts T's best value from *all* the smaller sizes, and
the entry is the regret of that prediction on T's curve, with the definition and interpolation of
:func:`muop.workflows.regret.regret_at` (so it reads like the single-proxy regret next to it).
Sizes with fewer than two smaller sizes, or whose smaller sizes include one where every run
diverged, get no entry.

**Bootstrap.** The same draws as :func:`muop.workflows.regret.regret_table`'s (generator ``seed``
per parametrization, :func:`muop.workflows.regret.seed_draws`): in replicate b every size's seeds
are resampled, the proxies' best values recomputed by the parabola rule, the line refitted, the
prediction made under the rule chosen on all the data, and the regret taken on T's resampled
curve. ``ci`` is the 2.5th and 97.5th percentile of the finite replicates; with one seed at every
size it is ``[regret, regret]`` and the entry is flagged ``single_seed``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from ..errors import UsageError
from .curves import best_lr, seed_curves
from .drift import boot_best, fit_drift
from .regret import curve_matrix, regret_at, seed_draws

__all__ = ["extrapolated_table"]


def extrapolated_table(runs: Iterable[Mapping], key: str = "lr", n_boot: int = 1000, seed: int = 0) -> dict:
    """``{param: {str(size): entry}}``: the drift model's regret at every size with ≥ 2 smaller sizes.

    ``runs``: sweep records (:mod:`muop.workflows.regret`'s module docstring); ``key``: the swept
    field (``lr``, or ``value`` in a ``--hparam`` sweep). Each entry::

        {"regret": 0.027, "ci": [lo, hi],                # fractions, as in "regret"
         "proxies": [16, 32, 64], "rule": "fit" | "pooled",
         "slope", "slope_ci": [lo, hi],                  # best value ∝ size^slope
         "predicted", "predicted_ci": [lo, hi],          # the value used at the target (the swept units)
         "fitted", "pooled",                             # the two candidate predictions
         "target_err_at_predicted", "target_extrapolated", "single_seed", "n_boot_finite"}
    """
    if not isinstance(n_boot, int) or n_boot < 1:
        raise UsageError(f"n_boot={n_boot!r}: expected a positive integer")
    return {par: _param_table(by_size, n_boot, seed) for par, by_size in seed_curves(runs, key).items()}


def _param_table(by_size: Mapping[int, Mapping], n_boot: int, seed: int) -> dict:
    """One parametrization's entries (see :func:`extrapolated_table`)."""
    mats = {s: curve_matrix(by_lr) for s, by_lr in by_size.items()}
    draws = seed_draws(mats, n_boot, seed)
    best = {s: best_lr(lrs, E.mean(axis=0))[0] for s, (lrs, E) in mats.items()}
    reps = {s: boot_best(lrs, E, draws[s]) for s, (lrs, E) in mats.items()}
    out = {}
    for t in sorted(mats):
        proxies = [s for s in sorted(mats) if s < t]
        if len(proxies) < 2 or not all(math.isfinite(best[s]) for s in proxies):
            continue
        fit = fit_drift(proxies, [best[s] for s in proxies], t, np.stack([reps[s] for s in proxies], axis=1))
        lrs_t, E_t = mats[t]
        r, e_at, extrap = regret_at(fit.predicted, lrs_t, E_t.mean(axis=0))
        single = all(mats[s][1].shape[0] == 1 for s in [*proxies, t])
        if single:
            boots = np.array([r])
        else:
            boots = np.array(
                [regret_at(fit.replicates[b], lrs_t, E_t[draws[t][b]].mean(axis=0))[0] for b in range(n_boot)]
            )
        boots = boots[np.isfinite(boots)]
        lo, hi = (float(v) for v in np.percentile(boots, [2.5, 97.5])) if boots.size else (math.nan, math.nan)
        out[str(t)] = {
            "regret": float(r),
            "ci": [lo, hi],
            "proxies": proxies,
            "rule": fit.rule,
            "slope": fit.slope,
            "slope_ci": list(fit.slope_ci),
            "predicted": fit.predicted,
            "predicted_ci": list(fit.predicted_ci),
            "fitted": fit.fitted,
            "pooled": fit.pooled,
            "target_err_at_predicted": float(e_at),
            "target_extrapolated": bool(extrap),
            "single_seed": single,
            "n_boot_finite": int(boots.size),
        }
    return out
