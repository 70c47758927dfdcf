"""Tune on a small proxy, transfer to the big target (μTransfer-FNO, generalised to width).

* :func:`tune` runs an Optuna study (define-by-run, TPE by default) on the proxy described by the
  config's ``model`` section, over its ``tune`` search space, minimising the *validation*
  relative L2 (``data.n_val`` samples held out of the training set; 20% if unset). Diverged trials
  are recorded (user attribute ``diverged``) with ``tune.diverged_value`` and never stop the study.
  Rerunning finishes the requested number of trials without redoing completed ones.
* :func:`transfer` trains the target once with the proxy's best hyperparameters. Under μP the base
  LR η is kept and the rules map every parameter's LR and init relative to the proxy shape (which
  becomes the μP base shape): e.g. the spectral LR is multiplied by sqrt(log K_p / log K*) and by
  width_p / width*. With ``compare_direct`` the same search also runs at the target, and the cost
  ratio (proxy tuning + one target run) / (direct tuning) is measured in wall seconds and FLOPs.

Storage is chosen by a URL, as in Optuna: ``sqlite:///study.db``, ``postgresql://...``, or a
journal file (``journal:PATH`` or a path ending in ``.journal``/``.log``); the default is
``RUN_DIR/optuna.journal``, so nothing has to be set up.
"""

from __future__ import annotations

import json
import os
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import optuna

import torch

from .config import RunConfig, apply_overrides, with_fields
from .fno import FNO
from .parametrization import make_plan
from .train import Datasets, prepare_data, train_run
from .storage import redact, resolve_storage, storage_key
from .workers import FATAL_EXIT, TrialsFailing, WorkerOptions, counts, exit_with_parent, interruptible, finite_or_none, lock_path, run_processes, threads_per_worker, worker_loop

__all__ = ["resolve_storage", "redact", "suggest", "open_study", "objective_for", "tune", "transfer", "study_summary"]

optuna.logging.set_verbosity(optuna.logging.WARNING)


def suggest(trial: optuna.Trial, cfg: RunConfig) -> RunConfig:
    """The config with this trial's choices from ``cfg.tune`` applied."""
    t, o = cfg.tune, cfg.optimizer
    opt: dict = {}
    if t.lr is not None:
        opt["lr"] = trial.suggest_float("lr", t.lr[0], t.lr[1], log=True)
    betas = list(o.betas)
    if t.beta1 is not None:
        betas[0] = trial.suggest_float("beta1", *t.beta1)
    if t.beta2 is not None:
        betas[1] = trial.suggest_float("beta2", *t.beta2)
    opt["betas"] = betas
    if t.weight_decay is not None:
        lo, hi = t.weight_decay
        opt["weight_decay"] = trial.suggest_float("weight_decay", lo, hi, log=lo > 0)
    train = {}
    if t.batch_size is not None:
        train["batch_size"] = trial.suggest_categorical("batch_size", t.batch_size)
    return with_fields(cfg, optimizer=opt, train=train)


def apply_params(cfg: RunConfig, params: dict) -> RunConfig:
    """``cfg`` with a study's best ``params`` (names as in :func:`suggest`)."""
    opt = {k: params[k] for k in ("lr", "weight_decay") if k in params}
    betas = list(cfg.optimizer.betas)
    betas[0] = params.get("beta1", betas[0])
    betas[1] = params.get("beta2", betas[1])
    opt["betas"] = betas
    train = {"batch_size": params["batch_size"]} if "batch_size" in params else {}
    return with_fields(cfg, optimizer=opt, train=train)


def _with_val(cfg: RunConfig) -> RunConfig:
    if cfg.data.n_val:
        return cfg
    return with_fields(cfg, data={"n_val": max(1, cfg.data.n_train // 5)})


def _sampler(cfg: RunConfig, worker: int, parallel: bool) -> optuna.samplers.BaseSampler:
    seed = cfg.train.seed + 7919 * worker  # workers must not draw the same random start-up points
    if cfg.tune.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=parallel)
    return optuna.samplers.RandomSampler(seed=seed)


def open_study(cfg: RunConfig, study_name: str, storage: str | None, run_dir: str | Path, worker: int = 0, parallel: bool = False) -> optuna.Study:
    """Create or join the study (the same call from every worker, process or machine)."""
    return optuna.create_study(study_name=study_name, storage=resolve_storage(storage, run_dir), direction="minimize", sampler=_sampler(cfg, worker, parallel), load_if_exists=True)


def objective_for(cfg: RunConfig, data: Datasets) -> Callable[[optuna.Trial], float]:
    """The tuning objective: validation rel. L2 of the proxy trained with the trial's choices."""

    def objective(trial: optuna.Trial) -> float:
        res = train_run(suggest(trial, cfg), data=data)
        for k in ("test_rel_l2", "val_rel_l2", "diverged", "seconds", "train_flops", "epochs_run"):
            trial.set_user_attr(k, finite_or_none(getattr(res, k)))
        return cfg.tune.diverged_value if res.diverged else float(res.val_rel_l2)

    return objective


def _tune_worker(spec: dict, index: int) -> None:
    """Entry point of one local worker process (``tune(..., workers=N)``)."""
    import sys

    exit_with_parent()
    torch.set_num_threads(spec["threads"])
    cfg = RunConfig.from_dict(spec["config"])
    study = open_study(cfg, spec["study"], spec["storage"], spec["run_dir"], worker=index, parallel=True)
    interruptible()
    try:
        worker_loop(study, spec["n_trials"], objective_for(cfg, prepare_data(cfg.data)), Path(spec["lock"]), WorkerOptions(**spec["options"]))
    except KeyboardInterrupt:
        sys.stderr.flush()
        os._exit(130)  # no interpreter shutdown: the heartbeat threads must not run on into it
    except TrialsFailing as e:
        print(f"muop worker {index}: {e}", file=sys.stderr)
        sys.exit(FATAL_EXIT)


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

    ``workers > 1`` runs that many local processes on the same study (see :mod:`muop.workers`);
    other shells or machines may join the same study with the same command at any time.
    """
    if not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"trials={n_trials!r}: expected a positive integer")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers={workers!r}: expected a positive integer")
    opts = options or WorkerOptions()
    cfg = _with_val(cfg)
    study = open_study(cfg, study_name, storage, run_dir, parallel=workers > 1)
    study.set_user_attr("config", cfg.to_dict())
    lock = lock_path(storage_key(storage, run_dir), study_name)
    if workers == 1:
        worker_loop(study, n_trials, objective_for(cfg, data or prepare_data(cfg.data)), lock, opts, progress)
        return study
    if cfg.data.problem is not None:
        prepare_data(cfg.data)  # generate the cached data set once, before the workers read it
    spec = {"config": cfg.to_dict(), "study": study_name, "storage": storage, "run_dir": str(run_dir), "n_trials": n_trials, "lock": str(lock), "options": asdict(opts), "threads": threads_per_worker(workers)}
    run_processes(_tune_worker, spec, workers, poll=lambda: counts(study).done, total=n_trials, progress=progress)
    return study


def study_summary(study: optuna.Study) -> dict:
    """Best params and value, trial counts, and the study's total cost (seconds, FLOPs)."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if not trials:
        raise ValueError(f"study {study.study_name!r} has no completed trials; run `muop tune` first")
    best = study.best_trial
    return {
        "study": study.study_name,
        "n_trials": len(trials),
        "best_params": best.params,
        "best_val_rel_l2": best.value,
        "best_test_rel_l2": best.user_attrs.get("test_rel_l2"),
        "diverged_trials": sum(bool(t.user_attrs.get("diverged")) for t in trials),
        "seconds": sum(t.user_attrs.get("seconds") or 0.0 for t in trials),
        "train_flops": sum(t.user_attrs.get("train_flops") or 0.0 for t in trials),
    }


def target_config(cfg: RunConfig, params: dict, target_modes: list[int] | None, target_width: int | None, overrides: list[str] | None = None) -> RunConfig:
    """The target run: the proxy's best hyperparameters, the target shape, μP base = the proxy shape.

    ``overrides`` (``section.field=value``) change anything else about the target, e.g.
    ``data.stride=1`` when the proxy was tuned on a coarser grid (``data.stride: 2``).
    """
    proxy_modes = list(cfg.model.modes)
    modes = list(target_modes) if target_modes else proxy_modes
    if len(modes) == 1 and len(proxy_modes) > 1:
        modes = modes * len(proxy_modes)
    if len(modes) != len(proxy_modes):
        raise ValueError(f"target modes {modes}: expected {len(proxy_modes)} entries like the proxy's {proxy_modes}")
    out = apply_params(cfg, params)
    out = with_fields(
        out,
        model={"modes": modes, "width": target_width or cfg.model.width},
        parametrization={"base_width": cfg.model.width, "base_modes": proxy_modes},
    )
    return apply_overrides(out, overrides or [])


def _lr_map(cfg_target: RunConfig) -> dict:
    """Per-role LR and init multipliers of the target relative to the proxy (the μP mapping)."""
    fcfg = cfg_target.model.fno(1, 1)
    with torch.device("meta"):  # shapes only, no memory
        model = FNO(fcfg)
    base = cfg_target.parametrization.base_shape(fcfg)
    plan = make_plan(model, cfg_target.parametrization.kind, base=base)
    roles: dict[str, dict] = {}
    for e in plan.entries:
        roles.setdefault(e.role, {"lr_mult": e.lr_mult[cfg_target.optimizer.name], "init_std": e.init_std, "example": e.name})
    return {"roles": roles, "mode_factor_g": plan[roles["spectral"]["example"]].g, "width_ratio": fcfg.width / base.width}


def transfer(
    cfg: RunConfig,
    study_name: str,
    target_modes: list[int] | None = None,
    target_width: int | None = None,
    out_dir: str | Path = "runs/transfer",
    storage: str | None = None,
    run_dir: str | Path | None = None,
    compare_direct: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    target_overrides: list[str] | None = None,
) -> dict:
    """Train the target with the proxy study's best hyperparameters; write ``transfer.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run_dir = Path(run_dir) if run_dir is not None else out
    if not target_modes and not target_width:
        raise ValueError("give a target: --target-modes and/or --target-width")
    cfg = _with_val(cfg)
    store = resolve_storage(storage, run_dir)
    try:
        study = optuna.load_study(study_name=study_name, storage=store)
    except KeyError:
        where = redact(storage) if storage else str(run_dir / "optuna.journal")
        raise ValueError(f"study {study_name!r} not found in {where}; run `muop tune --study {study_name}` first (same --storage/--run-dir)") from None
    proxy = study_summary(study)
    tcfg = target_config(cfg, proxy["best_params"], target_modes, target_width, target_overrides)
    data = prepare_data(tcfg.data)
    t0 = time.perf_counter()
    target = train_run(tcfg, out_dir=out / "target", data=data)
    doc = {
        "proxy": {"modes": list(cfg.model.modes), "width": cfg.model.width, "grid": list(data.train.grid) if cfg.data == tcfg.data else None, "data_stride": cfg.data.stride, **proxy},
        "target": {"modes": list(tcfg.model.modes), "width": tcfg.model.width, "grid": list(data.train.grid), "data_stride": tcfg.data.stride, "hyperparameters": proxy["best_params"], "overrides": list(target_overrides or []), **asdict(target)},
        "mapping": _lr_map(tcfg),
        "parametrization": tcfg.parametrization.kind,
        "storage": redact(storage) if storage else str(run_dir / "optuna.journal"),
        "metric": "relative L2, per-sample mean, physical units; tuning on the validation split, errors reported on the test split",
    }
    target_seconds = time.perf_counter() - t0
    if compare_direct:
        direct_cfg = tcfg  # the same target config (parametrization included), tuned directly
        direct_study = tune(direct_cfg, proxy["n_trials"], f"{study_name}-direct", storage, run_dir, data=data, progress=(lambda i, n: progress("direct", i, n)) if progress else None)
        direct = study_summary(direct_study)
        doc["direct"] = direct
        doc["cost_ratio_seconds"] = (proxy["seconds"] + target_seconds) / direct["seconds"]
        doc["cost_ratio_flops"] = (proxy["train_flops"] + target.train_flops) / direct["train_flops"]
        if direct["best_test_rel_l2"]:
            doc["error_ratio_transfer_over_direct"] = target.test_rel_l2 / direct["best_test_rel_l2"]
    tmp = out / "transfer.json.tmp"
    tmp.write_text(json.dumps(doc, indent=1, default=str))
    tmp.replace(out / "transfer.json")
    return doc
