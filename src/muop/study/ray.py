"""Ray Tune backend for ``muop tune --backend ray`` (``pip install 'muop[ray]'``).

The study is the same Optuna study the default backend uses (Ray's ``OptunaSearch`` writes to the
storage chosen by ``--storage``/``--run-dir``), so ``muop transfer``, ``optuna-dashboard`` and a
later ``muop tune`` without Ray all read it. What Ray adds:

* scheduling on a Ray cluster (``--address``; default: a local Ray on this machine), with
  ``cpus_per_trial`` and fractional ``gpus_per_trial`` (e.g. 0.25: four trials share one GPU;
  trials with GPUs train on ``cuda``);
* ASHA early stopping on the per-epoch validation error (stopped trials are PRUNED in the study
  and count as finished, as in Optuna).

Every trial records its cost (``seconds``, ``train_flops``) and heartbeat as user attributes, as in
the default backend, so cost ratios and dead-trial detection work the same way. On a cluster the
storage must be reachable from every node: a PostgreSQL URL, or a journal on a shared file system.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import optuna

from ..config import RunConfig, apply_params, with_fields
from ..data import prepare_data
from ..errors import UsageError
from ..training import set_threads, train_run
from .coordination import Heartbeat, WorkerOptions, counts, fail_stale, finite_or_none, mark_started
from .space import suggest
from .storage import redact, resolve_storage, split_password
from .tune import RESULT_ATTRS, settings_for, with_validation
from .worker import SAMPLERS, WorkerSettings, open_study, sampler_seed

__all__ = ["RayOptions", "tune_ray"]


@dataclass(frozen=True)
class RayOptions:
    """How Ray runs the trials. ``address=None`` starts a local Ray with ``num_cpus`` CPUs."""

    address: str | None = None
    num_cpus: int | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    asha: bool = True
    grace_epochs: int = 1  # ASHA: epochs every trial runs before it may be stopped
    reduction_factor: int = 2

    def __post_init__(self) -> None:
        if not self.cpus_per_trial > 0:
            raise UsageError(f"cpus_per_trial={self.cpus_per_trial}: expected > 0")
        if self.gpus_per_trial < 0:
            raise UsageError(f"gpus_per_trial={self.gpus_per_trial}: expected >= 0 (fractions allowed)")


def _space(trial: optuna.Trial, config: dict) -> dict:
    """The same define-by-run search space as the default backend; passes the trial number on."""
    suggest(trial, RunConfig.from_dict(config))
    return {"_number": trial.number}


@dataclass(frozen=True)
class _RayTrial:
    """What every Ray trial needs besides its draws: the config, where the study is, its resources."""

    config: RunConfig
    study: str
    storage: str | None
    run_dir: str
    cpus: float
    gpus: float


def _trainable(config: dict, job: _RayTrial) -> None:
    """One Ray trial: train with the trial's choices, report validation error every epoch."""
    from ray import tune as rt  # the optional ray extra

    set_threads(max(1, int(job.cpus)))
    cfg = job.config
    run_cfg = apply_params(cfg, {k: v for k, v in config.items() if not k.startswith("_")})
    if job.gpus > 0:
        run_cfg = with_fields(run_cfg, train={"device": "cuda"})
    storage = resolve_storage(job.storage, job.run_dir)
    tid = storage.get_trial_id_from_study_id_trial_number(storage.get_study_id_from_name(job.study), config["_number"])
    set_attr = functools.partial(storage.set_trial_user_attr, tid)
    mark_started(set_attr)

    def on_epoch(rec: dict) -> None:
        for k in ("seconds", "train_flops"):
            set_attr(k, rec[k])
        set_attr("epochs_run", rec["epoch"])
        if not rec["diverged"] and rec["epoch"] < run_cfg.train.epochs:  # the last report comes after the test below
            rt.report({"val_rel_l2": rec["val_rel_l2"], "epoch": rec["epoch"]})

    with Heartbeat(set_attr, WorkerOptions().heartbeat_s):
        res = train_run(run_cfg, data=prepare_data(cfg.data), on_epoch=on_epoch, validate_each_epoch=True)
    for k in RESULT_ATTRS:
        set_attr(k, finite_or_none(getattr(res, k)))
    rt.report(
        {
            "val_rel_l2": cfg.tune.diverged_value if res.diverged else res.val_rel_l2,
            "epoch": res.epochs_run,
            "final": True,
        }
    )


def tune_ray(
    cfg: RunConfig,
    n_trials: int,
    study_name: str,
    storage: str | None = None,
    run_dir: str | Path = "runs/tune",
    options: RayOptions | None = None,
) -> optuna.Study:
    """Run (or continue) the study on Ray until it holds ``n_trials`` finished trials; returns it."""
    try:  # the optional ray extra
        import ray
        from ray import tune as rt
    except ImportError:
        raise UsageError("--backend ray needs Ray Tune: pip install 'muop[ray]'") from None
    if not isinstance(n_trials, int) or n_trials < 1:
        raise UsageError(f"trials={n_trials!r}: expected a positive integer")
    opts = options or RayOptions()
    storage = _password_to_env(storage, opts)
    cfg = with_validation(cfg)
    study, settings = open_study(settings_for(cfg, study_name, storage, run_dir, n_trials))
    study.set_user_attr("config", cfg.to_dict())
    fail_stale(study, WorkerOptions())
    remaining = n_trials - counts(study).done
    if remaining <= 0:
        return study
    if cfg.data.problem is not None:
        prepare_data(cfg.data)  # generate the cached data once, before the trials read it
    if not ray.is_initialized():
        kw = {"num_cpus": opts.num_cpus} if opts.address is None and opts.num_cpus else {}
        ray.init(address=opts.address, include_dashboard=False, log_to_driver=False, configure_logging=False, **kw)

    searcher, scheduler = _search(cfg, opts, settings, study_name, storage, run_dir)
    job = _RayTrial(cfg, study_name, storage, str(Path(run_dir).resolve()), opts.cpus_per_trial, opts.gpus_per_trial)
    trainable = rt.with_resources(
        functools.partial(_trainable, job=job), {"cpu": opts.cpus_per_trial, "gpu": opts.gpus_per_trial}
    )
    tuner = rt.Tuner(
        trainable,
        tune_config=rt.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=remaining),
        run_config=rt.RunConfig(
            name=f"ray-{study_name}", storage_path=str((Path(run_dir) / "ray").resolve()), verbose=0
        ),
    )
    tuner.fit()
    return optuna.load_study(study_name=study_name, storage=resolve_storage(storage, run_dir))


def _password_to_env(storage: str | None, opts: RayOptions) -> str | None:
    """``storage`` without its password, which goes to ``PGPASSWORD`` instead.

    Ray pickles the trainable's arguments and the searcher into its experiment files, so a
    password must not travel inside the URL: PostgreSQL (libpq) reads it from PGPASSWORD.
    """
    if storage is None:
        return None
    bare, password = split_password(storage)
    if password is None:
        return storage
    if not storage.startswith("postgresql") or opts.address is not None:
        raise UsageError(
            f"storage {redact(storage)}: with --backend ray{' --address' if opts.address else ''}, leave the password "
            "out of the URL and give it to every node in ~/.pgpass or PGPASSWORD (Ray stores the URL in its "
            "experiment files)"
        )
    os.environ["PGPASSWORD"] = unquote(password)  # libpq decodes %XX in a URL, not in PGPASSWORD
    return bare


def _search(
    cfg: RunConfig,
    opts: RayOptions,
    settings: WorkerSettings,
    study_name: str,
    storage: str | None,
    run_dir: str | Path,
) -> tuple:
    """Ray's searcher (Optuna's sampler on the study, as the default backend draws) and its scheduler (ASHA or FIFO)."""
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    from ._ray_search import PruningOptunaSearch

    searcher = PruningOptunaSearch(
        space=functools.partial(_space, config=cfg.to_dict()),
        metric="val_rel_l2",
        mode="min",
        sampler=SAMPLERS[cfg.tune.sampler](sampler_seed(cfg.train.seed, 0, settings.salt), True),
        study_name=study_name,
        storage=resolve_storage(storage, run_dir),
    )
    scheduler = (
        ASHAScheduler(
            time_attr="epoch",
            metric="val_rel_l2",
            mode="min",
            max_t=cfg.train.epochs,
            grace_period=opts.grace_epochs,
            reduction_factor=opts.reduction_factor,
        )
        if opts.asha
        else FIFOScheduler()
    )
    return searcher, scheduler
