"""Tune on a small proxy: an Optuna study over the config's ``tune`` search space.

:func:`tune` runs an Optuna study (define-by-run, TPE by default) on the proxy described by the
config's ``model`` section, over :data:`muop.config.hparams.HYPERPARAMETERS` (the tuned ones) with
the bounds in its ``tune`` section, minimising the *validation* relative L2 (``data.n_val`` samples
held out of the training set; 20% if unset). Diverged trials are recorded (user attribute
``diverged``) with ``tune.diverged_value`` and never stop the study. Rerunning finishes the
requested number of trials without redoing completed ones; the workers, heartbeats and retries are
:mod:`muop.study`'s.

Storage is chosen by a URL, as in Optuna: ``sqlite:///study.db``, ``postgresql://...``, or a
journal file (``journal:PATH`` or a path ending in ``.journal``/``.log``); the default is
``RUN_DIR/optuna.journal``, so nothing has to be set up. Transfer to the target: :mod:`muop.workflows.transfer`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import optuna

from ..config import RunConfig, apply_params, with_fields
from ..data import Datasets, prepare_data
from ..errors import UsageError
from ..training import train_run
from .coordination import WorkerOptions, finite_or_none
from .objective import RunObjective
from .run import run_study
from .space import suggest
from .worker import WorkerSettings, open_study

__all__ = [
    "TuneObjective",
    "settings_for",
    "with_validation",
    "tune",
    "study_summary",
    "suggest",
    "apply_params",
    "RESULT_ATTRS",
]

#: What every tuning trial records as user attributes (NaN as None), besides its value.
RESULT_ATTRS = ("test_rel_l2", "val_rel_l2", "diverged", "seconds", "compute_seconds", "train_flops", "epochs_run")


def with_validation(cfg: RunConfig) -> RunConfig:
    """``cfg`` with a validation split to tune on: ``data.n_val``, or 20% of the training samples if unset."""
    if cfg.data.n_val:
        return cfg
    return with_fields(cfg, data={"n_val": max(1, cfg.data.n_train // 5)})


class TuneObjective(RunObjective):
    """A tuning trial: train the proxy with the trial's draws; the value is its validation error."""

    def __init__(self, cfg: RunConfig, data: Datasets | None = None) -> None:
        self.cfg, self.data_config, self.data = cfg, cfg.data, data

    def __call__(self, trial: optuna.Trial) -> float:
        res = train_run(suggest(trial, self.cfg), data=self.data)
        for k in RESULT_ATTRS:
            trial.set_user_attr(k, finite_or_none(getattr(res, k)))
        return self.cfg.tune.diverged_value if res.diverged else float(res.val_rel_l2)


def settings_for(
    cfg: RunConfig,
    study_name: str,
    storage: str | None,
    run_dir: str | Path,
    n_trials: int | None = None,
    options: WorkerOptions | None = None,
) -> WorkerSettings:
    """The worker settings of a tuning study for ``cfg`` (its sampler and seed)."""
    return WorkerSettings(
        study=study_name,
        storage=storage,
        run_dir=str(run_dir),
        n_trials=n_trials,
        sampler=cfg.tune.sampler,
        seed=cfg.train.seed,
        options=options or WorkerOptions(),
    )


def tune(
    cfg: RunConfig,
    n_trials: int,
    study_name: str,
    storage: str | None = None,
    run_dir: str | Path = "runs/tune",
    data: Datasets | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
    options: WorkerOptions | None = None,
) -> optuna.Study:
    """Run (or continue, or join) the study until it holds ``n_trials`` finished trials; returns it.

    ``workers > 1`` runs that many local processes on the same study (see :mod:`muop.study`);
    other shells or machines may join the same study with the same command at any time.
    """
    if not isinstance(n_trials, int) or n_trials < 1:
        raise UsageError(f"trials={n_trials!r}: expected a positive integer")
    if not isinstance(workers, int) or workers < 1:
        raise UsageError(f"workers={workers!r}: expected a positive integer")
    cfg = with_validation(cfg)
    if workers > 1 and cfg.data.problem is not None:
        prepare_data(cfg.data)  # generate the cached data set once, before the workers read it
    settings = replace(settings_for(cfg, study_name, storage, run_dir, n_trials, options), parallel=workers > 1)
    study, settings = open_study(settings)
    study.set_user_attr("config", cfg.to_dict())
    return run_study(settings, TuneObjective(cfg, data), workers, progress=progress, study=study)


def study_summary(study: optuna.Study) -> dict:
    """Best params and value, trial counts, and the study's total cost.

    ``compute_seconds`` sums the trials' training and evaluation time (``seconds``, their wall
    time, for trials recorded before muop counted it); ``seconds`` sums their wall time;
    ``train_flops`` their estimated training FLOPs.
    """
    trials = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if not trials:
        raise UsageError(f"study {study.study_name!r} has no completed trials; run `muop tune` first")
    best = study.best_trial
    return {
        "study": study.study_name,
        "n_trials": len(trials),
        "best_params": best.params,
        "best_val_rel_l2": best.value,
        "best_test_rel_l2": best.user_attrs.get("test_rel_l2"),
        "diverged_trials": sum(bool(t.user_attrs.get("diverged")) for t in trials),
        "seconds": sum(t.user_attrs.get("seconds") or 0.0 for t in trials),
        "compute_seconds": sum(
            t.user_attrs.get("compute_seconds") or t.user_attrs.get("seconds") or 0.0 for t in trials
        ),
        "train_flops": sum(t.user_attrs.get("train_flops") or 0.0 for t in trials),
    }
