"""The transfer check: an LR sweep at several model sizes, SP vs μP.

Every (parametrization, size, lr, seed) of a :class:`Sweep` is one job in an Optuna study, queued
with fixed parameters and trained by any worker (this process, ``--workers N`` local processes, or
the same command in other shells or on other machines with the same ``--storage``), with the
heartbeats and retries of :mod:`muop.workers`. The study (default: the journal
``OUT/sweep.journal``) is the one record of what is done, so a rerun trains only what is missing.

``runs.jsonl`` is a view of it: one line per finished run, appended in the order they finish.
Lines it holds from before (runs of other base configs, or of sweeps run before the study
existed) are kept as they are, and finished runs of this sweep found only there are imported
into the study instead of being trained again. ``sweep.json`` and ``sweep.png`` summarise the
runs (:func:`sweep_summary`): the curves and best LR per size (:mod:`muop.curves`) and the transfer
regret of every target size against the proxy (:mod:`muop.regret`).

A sweep varies the learning rate by default. ``Sweep(hparam=NAME, values=...)`` varies another
hyperparameter instead (:data:`HPARAMS`: the init scale, a role's forward multiplier, weight decay,
Adam's β2, the batch size), the LR staying the config's; its jobs and records carry the swept
value under ``value`` (records also name the ``hparam``), and regret is computed on that axis.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from .errors import UsageError
from .atomic import atomic_write
from .config import RunConfig, config_hash, with_fields
from .curves import best_lr, plot_sweep, summarise
from .data import Datasets, prepare_data
from .locks import FileLock
from .regret import regret_table
from .rules import TABLES, Role
from .train import RunObjective, train_run
from .workers import TrialsFailing, WorkerSettings, enqueue_jobs, finite_or_none, open_study, queued_params, run_study

__all__ = ["Sweep", "SweepObjective", "HPARAMS", "run_sweep", "sweep_summary", "write_summary", "job_of", "log_grid", "best_lr", "summarise", "plot_sweep"]

#: How a sweep job's parameters are recorded in the study. Wide ranges rather than the sweep's own
#: lists, so sweeps of one base config with other grids (more seeds, more LRs) share the study. An
#: LR sweep's jobs have ``lr``; a ``--hparam`` sweep's have ``value`` instead (:attr:`Sweep.x`).
JOB_DISTRIBUTIONS = {
    "parametrization": CategoricalDistribution(sorted(TABLES)),
    "size": IntDistribution(1, 1 << 30),
    "lr": FloatDistribution(1e-12, 1e6, log=True),
    "value": FloatDistribution(1e-12, 1e12, log=True),
    "seed": IntDistribution(0, 1 << 31),
}


@dataclass(frozen=True)
class HParam:
    """A hyperparameter a sweep can vary: what it is, which values it takes, and the config fields
    one value sets (``fields(base_config, value)`` -> ``{section: {field: value}}``)."""

    doc: str
    expected: str
    valid: Callable[[float], bool]
    fields: Callable[[RunConfig, float], dict]


def _positive(v: float) -> bool:
    return math.isfinite(v) and v > 0


def _role_multiplier(role: str) -> HParam:
    return HParam(
        f"forward multiplier of the {role} weights (parametrization.multipliers.{role})", "positive numbers", _positive,
        lambda cfg, v: {"parametrization": {"multipliers": {**cfg.parametrization.multipliers, role: v}}},
    )


#: What ``Sweep(hparam=...)`` / ``muop sweep --hparam`` can vary (values on a log axis, all > 0).
HPARAMS: dict[str, HParam] = {
    "lr": HParam("the base learning rate (optimizer.lr)", "positive numbers", _positive, lambda cfg, v: {"optimizer": {"lr": v}}),
    "init_scale": HParam("global init-std scale (parametrization.init_scale)", "positive numbers", _positive, lambda cfg, v: {"parametrization": {"init_scale": v}}),
    **{f"{r.value}_mult": _role_multiplier(r.value) for r in Role if r is not Role.BIAS},
    "weight_decay": HParam("weight decay (optimizer.weight_decay; decoupled with optimizer.name=adamw)", "positive numbers", _positive, lambda cfg, v: {"optimizer": {"weight_decay": v}}),
    "beta2": HParam("Adam's second-moment decay (optimizer.betas[1])", "numbers in (0, 1)", lambda v: 0 < v < 1, lambda cfg, v: {"optimizer": {"betas": [cfg.optimizer.betas[0], v]}}),
    "batch_size": HParam("training batch size (train.batch_size)", "positive integers", lambda v: v >= 1 and float(v).is_integer(), lambda cfg, v: {"train": {"batch_size": int(v)}}),
}


def log_grid(lo: float, hi: float, n: int) -> list[float]:
    """``n`` learning rates log-spaced from ``lo`` to ``hi`` (inclusive)."""
    if not (lo > 0 and hi > lo and n >= 2):
        raise UsageError(f"LR range lo={lo}, hi={hi}, n={n}: expected 0 < lo < hi and n >= 2")
    return [float(v) for v in np.logspace(math.log10(lo), math.log10(hi), n)]


@dataclass(frozen=True)
class Sweep:
    """What to sweep: ``axis`` (modes, width or depth), sizes (the first is the μP base), LRs, parametrizations, seeds.

    A ``depth`` sweep varies the number of residual blocks (the base config's ``model.residual``
    must be ``pre`` or ``post``); its μP base depth is the first size.

    ``hparam`` (default ``lr``): the hyperparameter varied, one of :data:`HPARAMS`; for any other
    than ``lr`` its grid is ``values`` and ``lrs`` stays empty (the LR is the config's). ``proxy``:
    the size regret is measured from (default: the smallest).
    """

    axis: str
    sizes: tuple[int, ...]
    lrs: tuple[float, ...] = ()
    parametrizations: tuple[str, ...] = ("sp", "mup")
    seeds: tuple[int, ...] = (0,)
    hparam: str = "lr"
    values: tuple[float, ...] = ()
    proxy: int | None = None

    def __post_init__(self) -> None:
        if self.axis not in ("modes", "width", "depth"):
            raise UsageError(f"axis={self.axis!r}: expected 'modes', 'width' or 'depth'")
        if len(self.sizes) < 1 or any(s < 1 for s in self.sizes):
            raise UsageError(f"sizes={list(self.sizes)}: expected positive sizes")
        if self.axis == "modes" and min(self.sizes) < 2:
            raise UsageError(f"sizes={list(self.sizes)}: the log-K rule needs K >= 2")
        bad = [p for p in self.parametrizations if p not in TABLES]
        if bad or not self.parametrizations:
            raise UsageError(f"parametrizations={list(self.parametrizations)}: expected a non-empty subset of {', '.join(sorted(TABLES))}")
        if self.hparam not in HPARAMS:
            raise UsageError(f"hyperparameter {self.hparam!r} cannot be swept; expected one of {', '.join(HPARAMS)}")
        if self.hparam == "lr":
            if self.values:
                raise UsageError(f"values={list(self.values)}: an LR sweep takes its grid from lrs")
            if len(self.lrs) < 1 or any(not lr > 0 for lr in self.lrs):
                raise UsageError(f"lrs={list(self.lrs)}: expected at least one positive learning rate")
        else:
            hp = HPARAMS[self.hparam]
            if self.lrs:
                raise UsageError(f"lrs={list(self.lrs)}: a sweep of {self.hparam} keeps the config's LR (set optimizer.lr)")
            if len(self.values) < 1 or not all(hp.valid(float(v)) for v in self.values):
                raise UsageError(f"values={list(self.values)}: expected one or more {hp.expected} for {self.hparam}")
        if self.proxy is not None and self.proxy not in self.sizes:
            raise UsageError(f"proxy size {self.proxy} is not in the sweep (sizes: {', '.join(map(str, self.sizes))})")

    @property
    def x(self) -> str:
        """The job and record field that holds the swept value: ``lr``, or ``value`` for another hparam."""
        return "lr" if self.hparam == "lr" else "value"

    @property
    def grid(self) -> tuple[float, ...]:
        """The swept values (the LRs, or the hparam's values)."""
        return self.lrs if self.hparam == "lr" else self.values

    def jobs(self) -> list[dict]:
        """Every run as a job: ``{parametrization, size, lr or value, seed}``."""
        return [{"parametrization": p, "size": s, self.x: float(v), "seed": seed} for p in self.parametrizations for s in self.sizes for v in self.grid for seed in self.seeds]

    def run_config(self, base: RunConfig, parametrization: str, size: int, x: float, seed: int) -> RunConfig:
        """The config of one run: ``base`` at this size, swept value ``x`` and seed, with the first size as μP base."""
        dim = len(base.model.modes)
        base0 = self.sizes[0]
        if self.axis == "modes":
            model = {"modes": [size] * dim}
            pz = {"kind": parametrization, "base_modes": [base0] * dim, "base_width": base.model.width}
        elif self.axis == "depth":
            if base.model.library == "muop" and base.model.residual == "none":  # neuralop: its identity skips decide, checked at build
                raise UsageError("a sweep over depth needs residual blocks: set model.residual to pre or post (only residual branches scale with depth)")
            model = {"depth": size}
            pz = {"kind": parametrization, "base_depth": base0, "base_width": base.model.width, "base_modes": list(base.model.modes)}
        else:
            model = {"width": size}
            pz = {"kind": parametrization, "base_width": base0, "base_modes": list(base.model.modes)}
        sections = {"model": model, "parametrization": pz, "train": {"seed": seed}}
        for sec, vals in HPARAMS[self.hparam].fields(base, x).items():
            sections[sec] = {**sections.get(sec, {}), **vals}
        return with_fields(base, **sections)

    def run_config_of(self, base: RunConfig, job: dict) -> RunConfig:
        """:meth:`run_config` of a job dict (:meth:`jobs`)."""
        return self.run_config(base, job["parametrization"], job["size"], job[self.x], job["seed"])


def _key(rec: dict) -> tuple:
    """A job's or record's identity within its sweep (the swept value is ``lr`` or ``value``)."""
    x = rec["lr"] if "lr" in rec else rec["value"]
    return (rec["parametrization"], int(rec["size"]), f"{float(x):.6e}", int(rec["seed"]))


def _sweep_idents(base: RunConfig, sweep: Sweep) -> list[str]:
    """What a record was trained with (the base config, the sweep's axis and base size, and the
    hyperparameter swept unless it is the LR), hashed under the current config schema (first; new
    records get it) and every earlier one."""
    swept = {} if sweep.hparam == "lr" else {"hparam": sweep.hparam}
    return [config_hash({"base": d, "axis": sweep.axis, "base_size": sweep.sizes[0], **swept}) for d in base.identity_dicts()]


def job_of(trial: optuna.trial.FrozenTrial) -> tuple | None:
    """The (parametrization, size, lr or value, seed) a queued trial stands for; None if it is not a sweep run."""
    p = queued_params(trial)
    try:
        return (p["parametrization"], int(p["size"]), float(p["lr"] if "lr" in p else p["value"]), int(p["seed"]))
    except KeyError:
        return None


def _draw(trial: optuna.Trial, name: str, d: optuna.distributions.BaseDistribution) -> object:
    if isinstance(d, CategoricalDistribution):
        return trial.suggest_categorical(name, d.choices)
    suggest = trial.suggest_float if isinstance(d, FloatDistribution) else trial.suggest_int
    return suggest(name, d.low, d.high, log=d.log)


def _distributions(sweep: Sweep) -> dict:
    """The :data:`JOB_DISTRIBUTIONS` of this sweep's job fields."""
    return {k: d for k, d in JOB_DISTRIBUTIONS.items() if k in ("parametrization", "size", sweep.x, "seed")}


class SweepObjective(RunObjective):
    """A sweep run as a trial: its job comes from the queue; the record goes to user attribute ``record``."""

    def __init__(self, base: RunConfig, sweep: Sweep, ident: str, data: Datasets | None = None) -> None:
        self.base, self.sweep, self.ident, self.data_config, self.data = base, sweep, ident, base.data, data

    def __call__(self, trial: optuna.Trial) -> float:
        job = {name: _draw(trial, name, d) for name, d in _distributions(self.sweep).items()}  # the queued values
        res = train_run(self.sweep.run_config_of(self.base, job), data=self.data)
        swept = {} if self.sweep.hparam == "lr" else {"hparam": self.sweep.hparam}
        rec = {**job, **swept, "test_rel_l2": res.test_rel_l2, "train_loss": res.train_loss, "diverged": res.diverged, "seconds": res.seconds, "n_params": res.n_params, "train_flops": res.train_flops, "config_hash": self.ident}
        trial.set_user_attr("record", {k: finite_or_none(v) for k, v in rec.items()})
        return self.base.tune.diverged_value if rec["diverged"] else float(rec["test_rel_l2"])


class RunsView:
    """``runs.jsonl`` as a view of the sweep's study (see the module docstring); ``idents`` are the
    sweep's identities (:func:`_sweep_idents`): records marked with any of them are this sweep's."""

    def __init__(self, path: Path, idents: list[str]) -> None:
        self.path, self.idents = path, set(idents)

    def _lines(self) -> list[str]:
        """The file's complete JSON lines (a line cut by a kill is dropped)."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                json.loads(line)
                out.append(line)
            except json.JSONDecodeError:
                continue
        return out

    def records(self) -> dict[tuple, dict]:
        """This sweep's records in the file, by job."""
        recs = (json.loads(line) for line in self._lines())
        return {_key(r): r for r in recs if isinstance(r, dict) and r.get("config_hash") in self.idents}

    def import_into(self, study: optuna.Study, value: Callable[[dict], float]) -> int:
        """Add this sweep's finished runs found only in the file to the study as COMPLETE trials."""
        have = {_key(r) for r in study_records(study)}
        new = [r for k, r in self.records().items() if k not in have]
        for r in new:
            dists = {k: d for k, d in JOB_DISTRIBUTIONS.items() if k in r}
            params = {k: r[k] for k in dists}
            study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=value(r), user_attrs={"record": {k: finite_or_none(v) for k, v in r.items()}}))
        return len(new)

    def sync(self, study: optuna.Study) -> list[dict]:
        """Append the study's finished runs missing from the file (under a file lock); returns them."""
        with FileLock(self.path.with_name(self.path.name + ".lock")):
            lines = self._lines()
            have = set(self.records())
            new = [r for r in study_records(study) if r.get("config_hash") in self.idents and _key(r) not in have]
            if new or (self.path.exists() and len(lines) != len(self.path.read_text().splitlines())):
                atomic_write(self.path, "".join(line + "\n" for line in lines + [json.dumps(r) for r in new]))
        return new


def study_records(study: optuna.Study) -> list[dict]:
    """The records of the study's finished sweep runs (NaN errors restored)."""
    out = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if "record" in t.user_attrs:
            out.append({k: (float("nan") if v is None and k == "test_rel_l2" else v) for k, v in t.user_attrs["record"].items()})
    return out


def _refuse_another_sweep(out: Path, idents: list[str], base: RunConfig | None = None) -> None:
    """A UsageError if ``out`` already holds the summary of a sweep with another base config or axis
    (naming ``model.block`` when that is the difference: its default changed in muop 0.2)."""
    prev = out / "sweep.json"
    if not prev.exists():
        return
    recorded = None
    try:
        doc = json.loads(prev.read_text())
        recorded = RunConfig.from_record(doc["base_config"])
        old = _sweep_idents(recorded, Sweep(**{k: tuple(v) if isinstance(v, list) else v for k, v in doc["spec"].items()}))
    except (ValueError, KeyError, TypeError):
        old = []
    if not set(old) & set(idents):
        hint = ""
        if recorded is not None and base is not None and recorded.model.block != base.model.block and with_fields(base, model={"block": recorded.model.block}).model == recorded.model:
            hint = f" (it was run with model.block={recorded.model.block!r}, the default before muop 0.2: add block: {recorded.model.block} to the config's model to resume it)"
        raise UsageError(f"--out {out}: holds the sweep.json of a sweep with another base config or axis{hint}; use another output directory (existing results are never overwritten)")


def run_sweep(base: RunConfig, sweep: Sweep, out_dir: str | Path, progress: Callable[[int, int, dict], None] | None = None, workers: int = 1, storage: str | None = None) -> dict:
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
    idents = _sweep_idents(base, sweep)
    ident = idents[0]
    _refuse_another_sweep(out, idents, base)
    out.mkdir(parents=True, exist_ok=True)
    settings = WorkerSettings(study=f"sweep-{ident[:12]}", storage=storage or f"journal:{out / 'sweep.journal'}", run_dir=str(out), sampler="random", parallel=workers > 1)
    study, settings = open_study(settings)
    view = RunsView(out / "runs.jsonl", idents)
    view.import_into(study, lambda r: base.tune.diverged_value if r["diverged"] else float(r["test_rel_l2"]))
    enqueue_jobs(study, jobs, settings.lock)
    wanted = {_key(j) for j in jobs}
    done = {k for k in view.records() if k in wanted}

    def poll(st: optuna.Study) -> int:
        for rec in view.sync(st):
            if _key(rec) in wanted and _key(rec) not in done:
                done.add(_key(rec))
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
    missing = [j for j in jobs if _key(j) not in records]
    if missing:
        raise TrialsFailing(f"{len(missing)} of {len(jobs)} sweep runs did not finish (they raised; see the warnings above), e.g. {tuple(missing[0].values())}; rerun the same command to retry them")
    runs = [records[_key(j)] for j in jobs]
    return write_summary(out, runs, sweep, base.to_dict())


def sweep_summary(runs: list[dict], axis: str, hparam: str = "lr", proxy: int | None = None, n_boot: int = 1000, seed: int = 0) -> dict:
    """The ``sweep.json`` document of a sweep's runs (spec and base config aside).

    The curves, best LR per size and drift of :func:`muop.curves.summarise`, then the transfer
    regret of :func:`muop.regret.regret_table` (proxy: ``proxy``, default the smallest size;
    ``n_boot`` bootstrap replicates drawn from generator ``seed``)::

        "hparam": "lr" or the swept hyperparameter,
        "regret": {param: {size: {"regret", "ci": [lo, hi], "proxy_size", "proxy_lr", ...}}},
        "regret_proxy": {param: size}, "regret_bootstrap": {"n_boot", "seed"},
        "flat": {param: {size: bool}}, "drift_excluding_flat": {param: float}
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
    }


def write_summary(out: str | Path, runs: list[dict], sweep: Sweep, base_config: dict) -> dict:
    """Write ``out/sweep.json`` (:func:`sweep_summary` with the spec and base config) and ``out/sweep.png``; returns the document."""
    out = Path(out)
    doc = sweep_summary(runs, sweep.axis, sweep.hparam, sweep.proxy)
    doc["spec"] = asdict(sweep)
    doc["base_config"] = base_config
    atomic_write(out / "sweep.json", json.dumps(doc, indent=1))
    plot_sweep(doc, out / "sweep.png")
    return doc
