"""Drawing hyperparameters with Optuna: a tuning trial's values, and one value from a distribution.

:func:`suggest` draws a tuning trial's values; :func:`draw` one value from an Optuna distribution
(sweeps' queued jobs use it too).

What the hyperparameters are, where each goes in a run config and how it is drawn is
:data:`muop.config.hparams.HYPERPARAMETERS` (the one registry); the bounds of a tuned one are
``tune.<name>`` (``null`` leaves it fixed). A study's ``best_params`` apply exactly as they were
drawn (:func:`muop.config.apply_params`).
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution

from ..config import RunConfig
from ..config.hparams import Hyperparameter, apply_params, tunable

__all__ = ["suggest", "draw", "draw_tuned", "apply_params", "SPACE"]

#: The tuned hyperparameters in the order a trial draws them (muop 0.2's ``muop.space.SPACE``; the
#: entries are now :class:`~muop.config.hparams.Hyperparameter`, whose ``draw`` names the kind of draw).
SPACE = tuple(tunable())


def draw(trial: optuna.Trial, name: str, dist: BaseDistribution) -> Any:
    """This trial's value of ``name`` from ``dist`` (categorical, float or int, log or not)."""
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log)
    return trial.suggest_int(name, dist.low, dist.high, log=dist.log)


def _distribution(h: Hyperparameter, bounds: list) -> BaseDistribution:
    if h.draw == "choice":
        return CategoricalDistribution(bounds)
    log = h.draw == "log" or (h.draw == "log_if_positive" and bounds[0] > 0)
    return FloatDistribution(bounds[0], bounds[1], log=log)


def draw_tuned(trial: optuna.Trial, h: Hyperparameter, bounds: list) -> Any:
    """This trial's value of a tuned hyperparameter from its ``tune.<name>`` bounds ([low, high], or the choices)."""
    return draw(trial, h.name, _distribution(h, bounds))


def suggest(trial: optuna.Trial, cfg: RunConfig) -> RunConfig:
    """The config with this trial's draws from ``cfg.tune`` applied (fixed where a bound is ``null``)."""
    params = {
        h.name: draw_tuned(trial, h, getattr(cfg.tune, h.name))
        for h in tunable()
        if getattr(cfg.tune, h.name) is not None
    }
    return apply_params(cfg, params)
