"""What a sweep is (:class:`Sweep`), its jobs, and the identities that tie records to it.

A sweep has an axis, sizes, a grid, parametrizations and seeds.

**Axes.** The *size* axes (:data:`SIZE_AXES`: ``width``, ``modes``, ``depth``) change the model's
shape; the first size is the μP base and μP's rules map the LR across them (derived). The *budget*
axes (:data:`BUDGET_AXES`) change what a run trains on and for how long, the model and its μP base
staying the base config's; how the best LR moves along them is measured (``docs/proxies.md``):

* ``epochs``: ``train.epochs`` (the LR schedule runs over each run's own epochs);
* ``n_train``: the number of training samples. Every run trains on the *first* N samples of the
  base config's training split (``data.n_train - data.n_val``; nested sets, :func:`first_samples`),
  with the base config's validation and test sets, so every size is tested on the same samples;
* ``resolution``: grid points per dimension, taken from the base config's generated grid
  (``data.resolution``) by ``data.stride = data.resolution / resolution``;
* ``batch_size``: ``train.batch_size``.

A sweep varies the learning rate by default. ``Sweep(hparam=NAME, values=...)`` varies another
hyperparameter of the registry (:data:`muop.config.hparams.HYPERPARAMETERS`) instead, the LR
staying the config's; its jobs and records carry the swept value under ``value`` (records also
name the ``hparam``), and regret is computed on that axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from ..config import RunConfig, config_hash, with_fields
from ..config.hparams import sweepable
from ..core.rules import TABLES
from ..data import Datasets
from ..errors import UsageError
from ..study import queued_params

__all__ = [
    "AXES",
    "BUDGET_AXES",
    "SIZE_AXES",
    "first_samples",
    "Sweep",
    "JOB_DISTRIBUTIONS",
    "HPARAMS",
    "log_grid",
    "job_distributions",
    "record_key",
    "sweep_idents",
    "job_of",
]

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

#: The axes that change the model's shape (μP's rules map the LR across them) and those that change the
#: training budget (the model stays the base config's; the LR's drift along them is measured).
SIZE_AXES = ("modes", "width", "depth")
BUDGET_AXES = ("epochs", "n_train", "resolution", "batch_size")
AXES = SIZE_AXES + BUDGET_AXES

#: What ``Sweep(hparam=...)`` / ``muop sweep --hparam`` can vary (values on a log axis): the registry.
HPARAMS = sweepable()


#: The most runs one sweep may hold (parametrizations × sizes × values × seeds), and the most values
#: on one grid: beyond them a sweep cannot finish on any machine muop is meant for (each run trains
#: a model), and queueing the jobs alone would take minutes. Checked before anything starts.
MAX_RUNS, MAX_GRID = 10_000, 1_000


def log_grid(lo: float, hi: float, n: int) -> list[float]:
    """``n`` learning rates log-spaced from ``lo`` to ``hi`` (inclusive); at most :data:`MAX_GRID`."""
    if not (lo > 0 and hi > lo and n >= 2):
        raise UsageError(f"LR range lo={lo}, hi={hi}, n={n}: expected 0 < lo < hi and n >= 2")
    if n > MAX_GRID:
        raise UsageError(
            f"LR range n={n}: expected at most {MAX_GRID} learning rates (each one trains a model per size)"
        )
    return [float(v) for v in np.logspace(math.log10(lo), math.log10(hi), n)]


@dataclass(frozen=True)
class Sweep:
    """What to sweep: ``axis`` (one of :data:`AXES`), sizes, LRs, parametrizations, seeds.

    Over a size axis (modes, width, depth) the first size is the μP base; over a budget axis
    (epochs, n_train, resolution, batch_size: module docstring) the model and its base are the
    config's. A ``depth`` sweep varies the number of residual blocks (the base config's ``model.residual``
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
        if self.axis not in AXES:
            raise UsageError(f"axis={self.axis!r}: expected one of {', '.join(AXES)}")
        if self.axis == self.hparam:
            raise UsageError(f"hparam={self.hparam!r} is the sweep's axis: sweep the LR (or another hyperparameter)")
        if len(self.sizes) < 1 or any(s < 1 for s in self.sizes):
            raise UsageError(f"sizes={list(self.sizes)}: expected positive sizes")
        if self.axis == "modes" and min(self.sizes) < 2:
            raise UsageError(f"sizes={list(self.sizes)}: the log-K rule needs K >= 2")
        bad = [p for p in self.parametrizations if p not in TABLES]
        if bad or not self.parametrizations:
            raise UsageError(
                f"parametrizations={list(self.parametrizations)}: expected a non-empty subset of "
                f"{', '.join(sorted(TABLES))}"
            )
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
                raise UsageError(
                    f"lrs={list(self.lrs)}: a sweep of {self.hparam} keeps the config's LR (set optimizer.lr)"
                )
            if len(self.values) < 1 or not all(hp.valid(float(v)) for v in self.values):
                raise UsageError(f"values={list(self.values)}: expected one or more {hp.expected} for {self.hparam}")
        if self.proxy is not None and self.proxy not in self.sizes:
            raise UsageError(f"proxy size {self.proxy} is not in the sweep (sizes: {', '.join(map(str, self.sizes))})")
        runs = len(self.parametrizations) * len(self.sizes) * len(self.grid) * len(self.seeds)
        if runs > MAX_RUNS:
            raise UsageError(
                f"{runs} runs ({len(self.parametrizations)} parametrizations x {len(self.sizes)} sizes x "
                f"{len(self.grid)} values x {len(self.seeds)} seeds): expected at most {MAX_RUNS}; a sweep this "
                "size cannot finish, use fewer values, sizes or seeds"
            )

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
        return [
            {"parametrization": p, "size": s, self.x: float(v), "seed": seed}
            for p in self.parametrizations
            for s in self.sizes
            for v in self.grid
            for seed in self.seeds
        ]

    def run_config(self, base: RunConfig, parametrization: str, size: int, x: float, seed: int) -> RunConfig:
        """The config of one run: ``base`` at this size, swept value ``x`` and seed, with the first size as μP base."""
        if self.axis in BUDGET_AXES:
            sections = {
                **_budget_sections(base, self.axis, size),
                "parametrization": {"kind": parametrization},
                "train": {"seed": seed},
            }
            if self.axis in ("epochs", "batch_size"):
                sections["train"][self.axis] = size
            return _with_hparam(base, sections, self.hparam, x)
        dim = len(base.model.modes)
        base0 = self.sizes[0]
        if self.axis == "modes":
            model = {"modes": [size] * dim}
            pz = {"kind": parametrization, "base_modes": [base0] * dim, "base_width": base.model.width}
        elif self.axis == "depth":
            if (
                base.model.library == "muop" and base.model.residual == "none"
            ):  # neuralop: its identity skips decide, checked at build
                raise UsageError(
                    "a sweep over depth needs residual blocks: set model.residual to pre or post (only residual "
                    "branches scale with depth)"
                )
            model = {"depth": size}
            pz = {
                "kind": parametrization,
                "base_depth": base0,
                "base_width": base.model.width,
                "base_modes": list(base.model.modes),
            }
        else:
            model = {"width": size}
            pz = {"kind": parametrization, "base_width": base0, "base_modes": list(base.model.modes)}
        return _with_hparam(base, {"model": model, "parametrization": pz, "train": {"seed": seed}}, self.hparam, x)

    def run_config_of(self, base: RunConfig, job: dict) -> RunConfig:
        """:meth:`run_config` of a job dict (:meth:`jobs`)."""
        return self.run_config(base, job["parametrization"], job["size"], job[self.x], job["seed"])


def _with_hparam(base: RunConfig, sections: dict, hparam: str, x: float) -> RunConfig:
    """``base`` with ``sections`` and the swept hyperparameter at ``x``."""
    for sec, vals in HPARAMS[hparam].set(base, x).items():
        sections[sec] = {**sections.get(sec, {}), **vals}
    return with_fields(base, **sections)


def _budget_sections(base: RunConfig, axis: str, size: int) -> dict:
    """The data fields of a budget-axis run (module docstring); a one-line UsageError when ``base``
    cannot give that many training samples or that grid."""
    if axis == "n_train":
        have = base.data.n_train - base.data.n_val
        if size > have:
            raise UsageError(
                f"n_train {size}: runs train on the first N of the config's {have} training samples "
                f"(data.n_train={base.data.n_train} minus data.n_val={base.data.n_val}); expected at most {have} "
                "(raise data.n_train)"
            )
    if axis != "resolution":
        return {}
    if base.data.problem is None:
        raise UsageError(
            "a sweep over resolution needs a built-in data.problem (its grid is data.resolution points); a data "
            "file's grid is not known before it is read"
        )
    if base.data.resolution % size:
        raise UsageError(
            f"resolution {size}: expected a divisor of data.resolution={base.data.resolution} (the grid is "
            "subsampled by stride data.resolution / resolution)"
        )
    return {"data": {"stride": base.data.resolution // size}}


def first_samples(data: Datasets, n: int) -> Datasets:
    """``data`` with only its first ``n`` training samples (validation and test sets unchanged)."""
    return replace(data, train=data.train.subsample(samples=slice(0, n)))


def record_key(rec: dict) -> tuple:
    """A job's or record's identity within its sweep (the swept value is ``lr`` or ``value``)."""
    x = rec["lr"] if "lr" in rec else rec["value"]
    return (rec["parametrization"], int(rec["size"]), f"{float(x):.6e}", int(rec["seed"]))


def sweep_idents(base: RunConfig, sweep: Sweep) -> list[str]:
    """What a record was trained with (the base config, the sweep's axis and base size, and the
    hyperparameter swept unless it is the LR), hashed under the current config schema (first; new
    records get it) and every earlier one."""
    swept = {} if sweep.hparam == "lr" else {"hparam": sweep.hparam}
    return [
        config_hash({"base": d, "axis": sweep.axis, "base_size": sweep.sizes[0], **swept})
        for d in base.identity_dicts()
    ]


def job_of(trial: optuna.trial.FrozenTrial) -> tuple | None:
    """The (parametrization, size, lr or value, seed) a queued trial stands for; None if it is not a sweep run."""
    p = queued_params(trial)
    try:
        return (p["parametrization"], int(p["size"]), float(p["lr"] if "lr" in p else p["value"]), int(p["seed"]))
    except KeyError:
        return None


def job_distributions(sweep: Sweep) -> dict:
    """The :data:`JOB_DISTRIBUTIONS` of this sweep's job fields."""
    return {k: d for k, d in JOB_DISTRIBUTIONS.items() if k in ("parametrization", "size", sweep.x, "seed")}
