"""The transfer check: an LR sweep at several model sizes, SP vs μP.

For every (parametrization, size, lr, seed) one run is trained; the records are appended to
``runs.jsonl`` as they finish and skipped when the same sweep is rerun (resume). The best LR per
(parametrization, size) is taken from the seed-averaged curve and refined by a parabola in
log10(LR) through the grid minimum and its two neighbours, so ``drift`` (largest best LR / smallest)
is not quantised to the grid. ``sweep.json`` and ``sweep.png`` summarise it.
"""

from __future__ import annotations

import json
import os
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .config import RunConfig, config_hash, with_fields
from .locks import FileLock
from .train import prepare_data, train_run

__all__ = ["SweepSpec", "run_sweep", "best_lr", "summarise", "plot_sweep", "log_grid"]


def log_grid(lo: float, hi: float, n: int) -> list[float]:
    """``n`` learning rates log-spaced from ``lo`` to ``hi`` (inclusive)."""
    if not (lo > 0 and hi > lo and n >= 2):
        raise ValueError(f"LR range lo={lo}, hi={hi}, n={n}: expected 0 < lo < hi and n >= 2")
    return [float(v) for v in np.logspace(math.log10(lo), math.log10(hi), n)]


@dataclass(frozen=True)
class SweepSpec:
    """What to sweep: ``axis`` (modes or width), sizes (the first is the μP base), LRs, parametrizations, seeds."""

    axis: str
    sizes: tuple[int, ...]
    lrs: tuple[float, ...]
    parametrizations: tuple[str, ...] = ("sp", "mup")
    seeds: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        if self.axis not in ("modes", "width"):
            raise ValueError(f"axis={self.axis!r}: expected 'modes' or 'width'")
        if len(self.sizes) < 1 or any(s < 1 for s in self.sizes):
            raise ValueError(f"sizes={list(self.sizes)}: expected positive sizes")
        if self.axis == "modes" and min(self.sizes) < 2:
            raise ValueError(f"sizes={list(self.sizes)}: the log-K rule needs K >= 2")
        if len(self.lrs) < 1 or any(not lr > 0 for lr in self.lrs):
            raise ValueError(f"lrs={list(self.lrs)}: expected at least one positive learning rate")
        bad = [p for p in self.parametrizations if p not in ("sp", "mup")]
        if bad or not self.parametrizations:
            raise ValueError(f"parametrizations={list(self.parametrizations)}: expected a non-empty subset of sp, mup")

    def run_config(self, base: RunConfig, par: str, size: int, lr: float, seed: int) -> RunConfig:
        dim = len(base.model.modes)
        base0 = self.sizes[0]
        if self.axis == "modes":
            model = {"modes": [size] * dim}
            pz = {"kind": par, "base_modes": [base0] * dim, "base_width": base.model.width}
        else:
            model = {"width": size}
            pz = {"kind": par, "base_width": base0, "base_modes": list(base.model.modes)}
        return with_fields(base, model=model, parametrization=pz, optimizer={"lr": lr}, train={"seed": seed})


def _key(par: str, size: int, lr: float, seed: int) -> str:
    return f"{par}|{size}|{lr:.6e}|{seed}"


def _base_hash(base: RunConfig, spec: SweepSpec) -> str:
    """Identifies what a record was trained with: the base config and the sweep's axis/base size."""
    return config_hash({"base": base.to_dict(), "axis": spec.axis, "base_size": spec.sizes[0]})


def _read_records(text: str, ident: str) -> list[dict]:
    """The records in a runs.jsonl text that were trained with the base config ``ident``."""
    out = []
    for line in text.splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:  # a line cut by a kill: that run is redone
            continue
        if r.get("config_hash") == ident:  # trained with another base config: not reused
            out.append(r)
    return out


def _train_job(base: RunConfig, spec: SweepSpec, job: tuple, ident: str, data=None) -> dict:
    p, s, lr, seed = job
    res = train_run(spec.run_config(base, p, s, lr, seed), data=data)
    return {"parametrization": p, "size": s, "lr": lr, "seed": seed, "test_rel_l2": res.test_rel_l2, "train_loss": res.train_loss, "diverged": res.diverged, "seconds": res.seconds, "n_params": res.n_params, "train_flops": res.train_flops, "config_hash": ident}


def _job_of(trial) -> tuple | None:
    """The (parametrization, size, lr, seed) a queued trial stands for (see :func:`queued_params`);
    None if it is not a sweep run."""
    from .workers import queued_params

    p = queued_params(trial)
    try:
        return (p["parametrization"], int(p["size"]), float(p["lr"]), int(p["seed"]))
    except KeyError:
        return None


def _sweep_objective(base: RunConfig, spec: SweepSpec, ident: str, data) -> Callable:
    """A sweep run as an Optuna trial: its (parametrization, size, lr, seed) come from the queue."""
    import optuna

    from .workers import finite_or_none

    def objective(trial: optuna.Trial) -> float:
        job = (
            trial.suggest_categorical("parametrization", list(spec.parametrizations)),
            trial.suggest_categorical("size", list(spec.sizes)),
            trial.suggest_categorical("lr", list(spec.lrs)),
            trial.suggest_categorical("seed", list(spec.seeds)),
        )
        twins = [t for t in trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING)) if t.number != trial.number and _job_of(t) == job]
        if twins:  # enqueued twice (two machines started the same sweep at once): train it once
            raise optuna.TrialPruned()
        rec = _train_job(base, spec, job, ident, data)
        trial.set_user_attr("record", {k: finite_or_none(v) for k, v in rec.items()})
        return base.tune.diverged_value if rec["diverged"] else float(rec["test_rel_l2"])

    return objective


def _sweep_worker(spec_dict: dict, index: int) -> None:
    """Entry point of one local sweep worker process."""
    import sys

    import optuna
    import torch

    from .storage import resolve_storage
    from .workers import WorkerOptions, exit_with_parent, interruptible, worker_loop

    exit_with_parent()
    torch.set_num_threads(spec_dict["threads"])
    base = RunConfig.from_dict(spec_dict["base"])
    spec = SweepSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec_dict["spec"].items()})
    study = optuna.load_study(study_name=spec_dict["study"], storage=resolve_storage(spec_dict["storage"], spec_dict["out"]))
    interruptible()
    try:
        worker_loop(study, None, _sweep_objective(base, spec, spec_dict["ident"], prepare_data(base.data)), Path(spec_dict["lock"]), WorkerOptions(**spec_dict["options"]))
    except KeyboardInterrupt:
        sys.stderr.flush()
        os._exit(130)  # no interpreter shutdown: the heartbeat threads must not run on into it


def _run_study(base: RunConfig, spec: SweepSpec, todo: list, ident: str, out: Path, workers: int, storage: str | None, record: Callable[[dict], None], is_done: Callable[[tuple], bool]) -> None:
    """Runs ``todo`` through a shared Optuna study (queue of fixed-parameter trials); see run_sweep."""
    from dataclasses import asdict as _asdict

    import optuna

    from .storage import resolve_storage, storage_key
    from .workers import WorkerOptions, lock_path, run_processes, threads_per_worker, worker_loop

    name = f"sweep-{ident[:12]}"
    url = storage if storage is not None else f"journal:{out / 'sweep.journal'}"
    study = optuna.create_study(study_name=name, storage=resolve_storage(url, out), direction="minimize", load_if_exists=True)
    lock = lock_path(storage_key(url, out), name)

    def sync() -> int:
        """Append the records of runs that finished (here or anywhere) to runs.jsonl; returns how many are done."""
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            if "record" in t.user_attrs and (job := _job_of(t)) is not None and not is_done(job):
                rec = {k: (float("nan") if v is None and k == "test_rel_l2" else v) for k, v in t.user_attrs["record"].items()}
                record(rec)
        return sum(is_done(j) for j in todo)

    held = FileLock(lock)
    held.acquire()
    try:  # enqueue what is neither done nor queued nor running (under the lock: local commands do not race)
        sync()
        present = {_job_of(t) for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING))}
        for job in todo:
            if not is_done(job) and job not in present:
                study.enqueue_trial(dict(zip(("parametrization", "size", "lr", "seed"), job)))
    finally:
        held.release()
    opts = WorkerOptions()
    if workers == 1:
        worker_loop(study, None, _sweep_objective(base, spec, ident, prepare_data(base.data)), lock, opts, progress=lambda i, n: sync())
    else:
        if base.data.problem is not None:
            prepare_data(base.data)  # generate the cached data once, before the workers read it
        spec_dict = {"base": base.to_dict(), "spec": _asdict(spec), "ident": ident, "study": name, "storage": url, "out": str(out), "lock": str(lock), "options": _asdict(opts), "threads": threads_per_worker(workers)}
        run_processes(_sweep_worker, spec_dict, workers, poll=sync, total=len(todo))
    sync()


def run_sweep(base: RunConfig, spec: SweepSpec, out_dir: str | Path, progress: Callable[[int, int, dict], None] | None = None, workers: int = 1, storage: str | None = None) -> dict:
    """Train every run of ``spec`` (skipping those already in ``out_dir/runs.jsonl``), write the summary.

    With one worker and no ``storage`` the runs are trained here, one after the other. With
    ``workers > 1`` or a ``storage`` URL the runs go through a shared Optuna study (default: the
    journal ``out_dir/sweep.journal``): each run is a queued trial with fixed parameters, trained by
    any worker (local processes, or the same command in other shells or on other machines with the
    same storage), with the heartbeats and retries of :mod:`muop.workers`. Either way each record is
    appended to ``runs.jsonl`` as its run finishes, and a rerun skips finished runs.
    """
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers={workers!r}: expected a positive integer")
    jobs = [(p, s, lr, seed) for p in spec.parametrizations for s in spec.sizes for lr in spec.lrs for seed in spec.seeds]
    for p, s in sorted({(j[0], j[1]) for j in jobs}):  # every size's config is valid before anything is trained
        spec.run_config(base, p, s, spec.lrs[0], spec.seeds[0])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs_file = out / "runs.jsonl"
    ident = _base_hash(base, spec)
    done: dict[str, dict] = {}
    if runs_file.exists():
        for r in _read_records(runs_file.read_text(), ident):
            done[_key(r["parametrization"], r["size"], r["lr"], r["seed"])] = r
    if runs_file.exists() and runs_file.stat().st_size and not runs_file.read_bytes().endswith(b"\n"):
        with runs_file.open("a") as f:  # a line cut by a kill: end it so the next record starts clean
            f.write("\n")
    todo = [j for j in jobs if _key(*j) not in done]
    finished = len(jobs) - len(todo)

    def record(rec: dict) -> None:
        """Append ``rec`` unless another command sharing this directory already did (file lock)."""
        nonlocal finished
        k = _key(rec["parametrization"], rec["size"], rec["lr"], rec["seed"])
        with FileLock(runs_file):
            present = {_key(r["parametrization"], r["size"], r["lr"], r["seed"]) for r in _read_records(runs_file.read_text(), ident)}
            if k not in present:
                with runs_file.open("a") as f:
                    f.write(json.dumps(rec) + "\n")
        done[k] = rec
        finished += 1
        if progress:
            progress(finished, len(jobs), rec)

    if workers == 1 and storage is None:
        data = None
        for job in todo:
            data = data or prepare_data(base.data)
            record(_train_job(base, spec, job, ident, data))
    elif todo:
        _run_study(base, spec, todo, ident, out, workers, storage, record, lambda job: _key(*job) in done)
    missing = [j for j in jobs if _key(*j) not in done]
    if missing:
        from .workers import TrialsFailing

        raise TrialsFailing(f"{len(missing)} of {len(jobs)} sweep runs did not finish (they raised; see the warnings above), e.g. {missing[0]}; rerun the same command to retry them")
    runs = [done[_key(*j)] for j in jobs]
    doc = summarise(runs, spec.axis)
    doc["spec"] = asdict(spec)
    doc["base_config"] = base.to_dict()
    tmp = out / "sweep.json.tmp"
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(out / "sweep.json")
    plot_sweep(doc, out / "sweep.png")
    return doc


def best_lr(lrs: Sequence[float], losses: Sequence[float]) -> tuple[float, bool]:
    """Best LR of one curve: parabola in log10(LR) through the grid minimum and its neighbours.

    Non-finite losses (diverged runs) are ignored. Returns ``(lr, at_edge)``; when the minimum
    is at the end of the finite grid the grid value is returned and ``at_edge`` is True.
    """
    pts = sorted((math.log10(lr), v) for lr, v in zip(lrs, losses) if math.isfinite(v))
    if not pts:
        return float("nan"), True
    i = min(range(len(pts)), key=lambda j: pts[j][1])
    if i == 0 or i == len(pts) - 1:
        return 10 ** pts[i][0], True
    (x0, y0), (x1, y1), (x2, y2) = pts[i - 1], pts[i], pts[i + 1]
    denom = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denom
    b = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / denom
    if a <= 0:
        return 10**x1, False
    xv = min(max(-b / (2 * a), x0), x2)
    return 10**xv, False


def summarise(runs: list[dict], axis: str) -> dict:
    """The ``sweep.json`` document: runs, seed-averaged curves, best LR per size, drift per parametrization."""
    curves: dict[str, dict[int, dict[float, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for r in runs:
        v = r["test_rel_l2"] if not r["diverged"] else float("nan")
        curves[r["parametrization"]][r["size"]][r["lr"]].append(v)
    best: dict[str, dict[str, float]] = {}
    edge: dict[str, dict[str, bool]] = {}
    mean_curves: dict[str, dict[str, dict[str, float]]] = {}
    for par, by_size in curves.items():
        best[par], edge[par], mean_curves[par] = {}, {}, {}
        for size, by_lr in sorted(by_size.items()):
            lrs = sorted(by_lr)
            means = [float(np.mean(by_lr[lr])) if all(math.isfinite(v) for v in by_lr[lr]) else float("nan") for lr in lrs]
            b, at_edge = best_lr(lrs, means)
            best[par][str(size)], edge[par][str(size)] = b, at_edge
            mean_curves[par][str(size)] = {f"{lr:.6e}": m for lr, m in zip(lrs, means)}
    drift = {}
    for par, b in best.items():
        vals = [v for v in b.values() if math.isfinite(v)]
        drift[par] = max(vals) / min(vals) if vals else float("nan")
    return {"axis": axis, "runs": runs, "best_lr": best, "best_lr_at_grid_edge": edge, "drift": drift, "mean_test_rel_l2": mean_curves}


def plot_sweep(doc: dict, path: str | Path) -> None:
    """Test error vs LR, one curve per size, one panel per parametrization; dots mark the best LR."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pars = list(doc["mean_test_rel_l2"])
    fig, axes = plt.subplots(1, len(pars), figsize=(5 * len(pars), 4), sharey=True, squeeze=False)
    sizes = sorted({int(s) for p in pars for s in doc["mean_test_rel_l2"][p]})
    cmap = plt.get_cmap("viridis", max(len(sizes), 2))
    for ax, par in zip(axes[0], pars):
        for si, size in enumerate(sizes):
            curve = doc["mean_test_rel_l2"][par].get(str(size))
            if not curve:
                continue
            lrs = [float(k) for k in curve]
            ax.plot(lrs, list(curve.values()), marker="o", ms=3, color=cmap(si), label=f"{doc['axis']} {size}")
            b = doc["best_lr"][par][str(size)]
            if math.isfinite(b):
                ax.axvline(b, color=cmap(si), ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("learning rate")
        ax.set_title(f"{par}: best-LR drift {doc['drift'].get(par, float('nan')):.2f}×")
    axes[0][0].set_ylabel("test relative L2")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
