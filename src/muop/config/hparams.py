"""The one hyperparameter registry: every value a sweep can vary or a tuning study can draw.

Each :class:`Hyperparameter` says where its value goes in a :class:`~muop.config.RunConfig`
(:attr:`Hyperparameter.set`), which values a sweep accepts, and, for the ones a tuning study can
draw, how Optuna draws it from the bounds in the config's ``tune`` section (``tune.<name>``;
:mod:`muop.study.space` does the drawing). ``muop sweep --hparam`` and ``muop tune`` both read
:data:`HYPERPARAMETERS`; a new hyperparameter is one entry here (and, if it is tuned, one bounds
field in :class:`~muop.config.TuneConfig`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.rules import Role
from .run import RunConfig, with_fields

__all__ = ["Hyperparameter", "HYPERPARAMETERS", "DRAWS", "apply_params", "tunable", "sweepable"]

#: How a study draws a tuned value from its bounds: ``log`` (log-uniform in [low, high]),
#: ``uniform``, ``log_if_positive`` (log-uniform unless low is 0, then uniform), ``choice`` (one of a list).
DRAWS = ("log", "uniform", "log_if_positive", "choice")


def _positive(v: float) -> bool:
    return math.isfinite(v) and v > 0


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter.

    Attributes:
        name: its name in studies, sweeps and records (``lr``, ``beta2``, ``output_mult``, ...).
        doc: what it is, naming the config field it sets.
        set: ``set(cfg, value)`` -> ``{section: {field: value}}``, the config fields one value sets.
        expected: the values a sweep takes, in words (a sweep's values lie on a log axis).
        valid: whether a sweep may take ``value``.
        draw: how a tuning study draws it from ``tune.<name>`` (one of :data:`DRAWS`), or None when
            it is not tuned (then it has no bounds field).
    """

    name: str
    doc: str
    set: Callable[[RunConfig, Any], dict]
    expected: str = "positive numbers"
    valid: Callable[[float], bool] = _positive
    draw: str | None = None


def _role_multiplier(role: str) -> Hyperparameter:
    return Hyperparameter(
        f"{role}_mult",
        f"forward multiplier of the {role} weights (parametrization.multipliers.{role})",
        lambda cfg, v: {"parametrization": {"multipliers": {**cfg.parametrization.multipliers, role: v}}},
    )


def _registry(*entries: Hyperparameter) -> Mapping[str, Hyperparameter]:
    return {h.name: h for h in entries}


#: Every hyperparameter, in the order a tuning trial draws the tuned ones.
HYPERPARAMETERS: Mapping[str, Hyperparameter] = _registry(
    Hyperparameter("lr", "the base learning rate (optimizer.lr)", lambda cfg, v: {"optimizer": {"lr": v}}, draw="log"),
    Hyperparameter(
        "beta1",
        "Adam's first-moment decay (optimizer.betas[0])",
        lambda cfg, v: {"optimizer": {"betas": [v, cfg.optimizer.betas[1]]}},
        "numbers in (0, 1)",
        lambda v: 0 < v < 1,
        draw="uniform",
    ),
    Hyperparameter(
        "beta2",
        "Adam's second-moment decay (optimizer.betas[1])",
        lambda cfg, v: {"optimizer": {"betas": [cfg.optimizer.betas[0], v]}},
        "numbers in (0, 1)",
        lambda v: 0 < v < 1,
        draw="uniform",
    ),
    Hyperparameter(
        "weight_decay",
        "weight decay (optimizer.weight_decay; decoupled with optimizer.name=adamw)",
        lambda cfg, v: {"optimizer": {"weight_decay": v}},
        draw="log_if_positive",
    ),
    Hyperparameter(
        "batch_size",
        "training batch size (train.batch_size)",
        lambda cfg, v: {"train": {"batch_size": int(v)}},
        "positive integers",
        lambda v: v >= 1 and float(v).is_integer(),
        draw="choice",
    ),
    Hyperparameter(
        "init_scale",
        "global init-std scale (parametrization.init_scale)",
        lambda cfg, v: {"parametrization": {"init_scale": v}},
    ),
    *(_role_multiplier(r.value) for r in Role if r is not Role.BIAS),
)


def tunable() -> list[Hyperparameter]:
    """The hyperparameters a tuning study can draw (each has a ``tune.<name>`` bounds field)."""
    return [h for h in HYPERPARAMETERS.values() if h.draw is not None]


#: The order sweeps list them in: as muop 0.2 did (its sweepable ones), then the rest.
_SWEEP_ORDER = (
    "lr",
    "init_scale",
    "input_mult",
    "hidden_mult",
    "spectral_mult",
    "output_mult",
    "weight_decay",
    "beta2",
    "batch_size",
)


def sweepable() -> dict[str, Hyperparameter]:
    """The hyperparameters ``muop sweep --hparam`` can vary: all of them, in :data:`_SWEEP_ORDER` first."""
    first = [n for n in _SWEEP_ORDER if n in HYPERPARAMETERS]
    return {n: HYPERPARAMETERS[n] for n in first + [n for n in HYPERPARAMETERS if n not in first]}


def apply_params(cfg: RunConfig, params: Mapping[str, Any]) -> RunConfig:
    """``cfg`` with hyperparameter values by name (e.g. a study's ``best_params``), applied in the
    registry's order; names that are not hyperparameters are ignored."""
    for name, h in HYPERPARAMETERS.items():
        if name in params:
            cfg = with_fields(cfg, **h.set(cfg, params[name]))
    return cfg
