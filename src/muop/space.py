"""The tuning search space, described once: which hyperparameters exist, where each one goes in a
:class:`~muop.config.RunConfig`, and how Optuna draws it.

The bounds come from the config's ``tune`` section (one field per hyperparameter, ``null`` leaves
it fixed); :func:`suggest` draws a trial's values and :func:`apply_params` writes values into a
config. Both read :data:`SPACE`, so a study's ``best_params`` apply exactly as they were drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna

from .config import RunConfig, with_fields

__all__ = ["Hyperparameter", "SPACE", "suggest", "apply_params"]


@dataclass(frozen=True)
class Hyperparameter:
    """One tunable value: its Optuna name, its place in the config (``section.field``, and an
    ``index`` into a list field such as Adam's betas) and how it is drawn from its bounds.

    ``kind``: ``log`` (log-uniform in [low, high]), ``uniform``, ``log_if_positive`` (log-uniform
    unless low is 0, then uniform) or ``choice`` (one of a list).
    """

    name: str
    section: str
    field: str
    kind: str
    index: int | None = None

    def draw(self, trial: optuna.Trial, bounds: list) -> Any:
        """This trial's value, from ``bounds`` ([low, high], or the choices for ``choice``)."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, bounds)
        log = self.kind == "log" or (self.kind == "log_if_positive" and bounds[0] > 0)
        return trial.suggest_float(self.name, bounds[0], bounds[1], log=log)


#: The search space, in the order a trial draws it. The bounds of each are ``tune.<name>``.
SPACE: tuple[Hyperparameter, ...] = (
    Hyperparameter("lr", "optimizer", "lr", "log"),
    Hyperparameter("beta1", "optimizer", "betas", "uniform", index=0),
    Hyperparameter("beta2", "optimizer", "betas", "uniform", index=1),
    Hyperparameter("weight_decay", "optimizer", "weight_decay", "log_if_positive"),
    Hyperparameter("batch_size", "train", "batch_size", "choice"),
)


def suggest(trial: optuna.Trial, cfg: RunConfig) -> RunConfig:
    """The config with this trial's draws from ``cfg.tune`` applied (fixed where a bound is ``null``)."""
    params = {h.name: h.draw(trial, getattr(cfg.tune, h.name)) for h in SPACE if getattr(cfg.tune, h.name) is not None}
    return apply_params(cfg, params)


def apply_params(cfg: RunConfig, params: dict[str, Any]) -> RunConfig:
    """``cfg`` with hyperparameter values by name (e.g. a study's ``best_params``); unknown names are ignored."""
    sections: dict[str, dict[str, Any]] = {}
    for h in SPACE:
        if h.name not in params:
            continue
        fields = sections.setdefault(h.section, {})
        if h.index is None:
            fields[h.field] = params[h.name]
        else:
            values = list(fields.get(h.field, getattr(getattr(cfg, h.section), h.field)))
            values[h.index] = params[h.name]
            fields[h.field] = values
    return with_fields(cfg, **sections) if sections else cfg
