"""The transfer check: an LR sweep at several model sizes, SP vs μP.

Every (parametrization, size, lr, seed) of a :class:`Sweep` is one job in an Optuna study, queued
with fixed parameters and trained by any worker (this process, ``--workers N`` local processes, or
the same command in other shells or on other machines with the same ``--storage``), with the
heartbeats and retries of :mod:`muop.study`. The study (default: the journal
``OUT/sweep.journal``) is the one record of what is done, so a rerun trains only what is missing.

``runs.jsonl`` is a view of it (:mod:`muop.workflows.sweep_records`). ``sweep.json`` and ``sweep.png`` summarise the
runs (:func:`sweep_summary`): the curves and best LR per size (:mod:`muop.workflows.curves`), the transfer
regret of every target size against the proxy (:mod:`muop.workflows.regret`), and the regret of the
drift model's prediction from all smaller sizes (:mod:`muop.workflows.drift_regret`).

A sweep varies the learning rate by default. ``Sweep(hparam=NAME, values=...)`` varies another
hyperparameter instead (:data:`HPARAMS`: the init scale, a role's forward multiplier, weight decay,
Adam's β2, the batch size), the LR staying the config's; its jobs and records carry the swept
value under ``value`` (records also name the ``hparam``), and regret is computed on that axis.

The axis may also be a training budget (``epochs``, ``n_train``, ``resolution``, ``batch_size``;
:mod:`muop.workflows.sweep_spec`): the records then carry the axis value under its name too (e.g.
``"epochs": 5``) besides ``size``, and regret and the drift model read it like a model size.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import optuna

from ..config import RunConfig
from ..data import Datasets, prepare_data
from ..errors import UsageError
from ..study import (
    RunObjective,
    TrialsFailing,
    WorkerSettings,
    draw,
    enqueue_jobs,
    finite_or_none,
    open_study,
    run_study,
)
from ..training import train_run
from ..utils.atomic import atomic_write
from .curves import summarise
from .drift_regret import extrapolated_table
from .plots import plot_sweep
from .regret import regret_table
from .sweep_records import RunsView, refuse_another_sweep, study_records
from .sweep_spec import (
    BUDGET_AXES,
    HPARAMS,
    JOB_DISTRIBUTIONS,
    Sweep,
    first_samples,
    job_distributions,
    job_of,
    log_grid,
    record_key,
    sweep_idents,
)

__all__ = [
    "Sweep",
    "SweepObjective",
    "HPARAMS",
    "JOB_DISTRIBUTIONS",
    "RunsView",
    "run_sweep",
    "sweep_summary",
    "write_summary",
    "job_of",
    "log_grid",
    "study_records",
]


class SweepObjective(RunObjective):
    """A sweep run as a trial: its job comes from the queue; the record goes to user attribute ``record``."""

    def __init__(self, base: RunConfig, sweep: Sweep, ident: str, data: Datasets | None = None) -> None:
        self.base, self.sweep, self.ident, self.data_config, self.data = base, sweep, ident, base.data, data

    def _data(self, job: dict) -> Datasets | None:
        """The data of a job: the base config's (loaded once per process), but over ``n_train`` its first
        ``size`` training samples, and over ``resolution`` the job's own grid (None: loaded by the run)."""
        if self.sweep.axis == "resolution":
            return None
        if self.sweep.axis != "n_train":
            return self.data
        if self.data is None:
            self.data = prepare_data(self.base.data)
        return first_samples(self.data, int(job["size"]))

    def __call__(self, trial: optuna.Trial) -> float:
        job = {name: draw(trial, name, d) for name, d in job_distributions(self.sweep).items()}  # the queued values
        res = train_run(self.sweep.run_config_of(self.base, job), data=self._data(job))
        swept = {} if self.sweep.hparam == "lr" else {"hparam": self.sweep.hparam}
        budget = {self.sweep.axis: int(job["size"])} if self.sweep.axis in BUDGET_AXES else {}
        rec = {
            **job,
            **swept,
            **budget,
            "test_rel_l2": res.test_rel_l2,
            "train_loss": res.train_loss,
            "diverged": res.diverged,
            "seconds": res.seconds,
            "n_params": res.n_params,
            "train_flops": res.train_flops,
            "config_hash": self.ident,
        }
        trial.set_user_attr("record", {k: finite_or_none(v) for k, v in rec.items()})
        return self.base.tune.diverged_value if rec["diverged"] else float(rec["test_rel_l2"])


def run_sweep(
    base: RunConfig,
    sweep: Sweep,
    out_dir: str | Path,
    progress: Callable[[int, int, dict], None] | None = None,
    workers: int = 1,
    storage: str | None = None,
) -> dict:
    """Train every run of ``sweep`` that is not finished yet, then write ``sweep.json`` and ``sweep.png``.

    ``workers`` local processes (1: this process) share the sweep's study, by default the journal
    ``out_dir/sweep.journal``; ``storage`` (an Optuna URL) lets other machines join. ``progress``
    receives (finished, total, record) as each run's record reaches ``runs.jsonl``.
    """
    if not isinstance(workers, int) or workers < 1:
        raise UsageError(f"workers={workers!r}: expected a positive integer")
    jobs = sweep.jobs()
    for p in sweep.parametrizations:  # every size's config is valid before anything is trained
        for s in sweep.sizes:
            sweep.run_config(base, p, s, sweep.grid[0], sweep.seeds[0])
    out = Path(out_dir)
    idents = sweep_idents(base, sweep)
    ident = idents[0]
    refuse_another_sweep(out, idents, base)
    out.mkdir(parents=True, exist_ok=True)
    settings = WorkerSettings(
        study=f"sweep-{ident[:12]}",
        storage=storage or f"journal:{out / 'sweep.journal'}",
        run_dir=str(out),
        sampler="random",
        parallel=workers > 1,
    )
    study, settings = open_study(settings)
    view = RunsView(out / "runs.jsonl", idents)
    view.import_into(study, lambda r: base.tune.diverged_value if r["diverged"] else float(r["test_rel_l2"]))
    enqueue_jobs(study, jobs, settings.lock)
    wanted = {record_key(j) for j in jobs}
    done = {k for k in view.records() if k in wanted}

    def poll(st: optuna.Study) -> int:
        for rec in view.sync(st):
            if record_key(rec) in wanted and record_key(rec) not in done:
                done.add(record_key(rec))
                if progress:
                    progress(len(done), len(jobs), rec)
        return len(done)

    if workers > 1 and base.data.problem is not None:
        prepare_data(base.data)  # generate the cached data once, before the workers read it
    if poll(study) < len(jobs):
        run_study(settings, SweepObjective(base, sweep, ident), workers, poll=poll, total=len(jobs), study=study)
    poll(study)
    return _finish(base, sweep, out, view, jobs)


def _finish(base: RunConfig, sweep: Sweep, out: Path, view: RunsView, jobs: list[dict]) -> dict:
    """Check that every run finished, then write ``sweep.json`` and ``sweep.png``; returns the document."""
    records = view.records()
    missing = [j for j in jobs if record_key(j) not in records]
    if missing:
        raise TrialsFailing(
            f"{len(missing)} of {len(jobs)} sweep runs did not finish (they raised; see the warnings above), e.g. "
            f"{tuple(missing[0].values())}; rerun the same command to retry them"
        )
    runs = [records[record_key(j)] for j in jobs]
    return write_summary(out, runs, sweep, base.to_dict())


def sweep_summary(
    runs: list[dict], axis: str, hparam: str = "lr", proxy: int | None = None, n_boot: int = 1000, seed: int = 0
) -> dict:
    """The ``sweep.json`` document of a sweep's runs (spec and base config aside).

    The curves, best LR per size and drift of :func:`muop.workflows.curves.summarise`, then the transfer
    regret of :func:`muop.workflows.regret.regret_table` (proxy: ``proxy``, default the smallest size;
    ``n_boot`` bootstrap replicates drawn from generator ``seed``)::

        "hparam": "lr" or the swept hyperparameter,
        "regret": {param: {size: {"regret", "ci": [lo, hi], "proxy_size", "proxy_lr", ...}}},
        "regret_proxy": {param: size}, "regret_bootstrap": {"n_boot", "seed"},
        "flat": {param: {size: bool}}, "drift_excluding_flat": {param: float},
        "extrapolated": {param: {size: {"regret", "ci", "proxies", "slope", "slope_ci", "predicted",
                                        "predicted_ci", "rule", ...}}}

    ``extrapolated`` (:func:`muop.workflows.drift_regret.extrapolated_table`, the same bootstrap) is the
    regret of the drift model's prediction from all smaller sizes, for every size with at least two.
    """
    key = "lr" if hparam == "lr" else "value"
    table = regret_table(runs, proxy=proxy, n_boot=n_boot, seed=seed, key=key)
    return {
        **summarise(runs, axis, key),
        "hparam": hparam,
        "regret": table["regret"],
        "regret_proxy": table["proxy"],
        "regret_bootstrap": {"n_boot": table["n_boot"], "seed": table["seed"]},
        "flat": table["flat"],
        "drift_excluding_flat": table["drift_excluding_flat"],
        "extrapolated": extrapolated_table(runs, key=key, n_boot=n_boot, seed=seed),
    }


def write_summary(out: str | Path, runs: list[dict], sweep: Sweep, base_config: dict) -> dict:
    """Write ``out/sweep.json`` (:func:`sweep_summary` with the spec and base config) and
    ``out/sweep.png``; returns the document."""
    out = Path(out)
    doc = sweep_summary(runs, sweep.axis, sweep.hparam, sweep.proxy)
    doc["spec"] = asdict(sweep)
    doc["base_config"] = base_config
    atomic_write(out / "sweep.json", json.dumps(doc, indent=1))
    plot_sweep(doc, out / "sweep.png")
    return doc
