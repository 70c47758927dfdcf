"""The transfer check: an LR sweep at several model sizes, SP vs μP.

For every (parametrization, size, lr, seed) one run is trained; the records are appended to
``runs.jsonl`` as they finish and skipped when the same sweep is rerun (resume). The best LR per
(parametrization, size) is taken from the seed-averaged curve and refined by a parabola in
log10(LR) through the grid minimum and its two neighbours, so ``drift`` (largest best LR / smallest)
is not quantised to the grid. ``sweep.json`` and ``sweep.png`` summarise it.
"""

from __future__ import annotations

import json
import math
import signal
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .config import RunConfig, config_hash, with_fields
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


def _train_job(base: RunConfig, spec: SweepSpec, job: tuple, ident: str, data=None) -> dict:
    p, s, lr, seed = job
    res = train_run(spec.run_config(base, p, s, lr, seed), data=data)
    return {"parametrization": p, "size": s, "lr": lr, "seed": seed, "test_rel_l2": res.test_rel_l2, "train_loss": res.train_loss, "diverged": res.diverged, "seconds": res.seconds, "n_params": res.n_params, "train_flops": res.train_flops, "config_hash": ident}


_WORKER_DATA: dict = {}


def _pool_init(threads: int) -> None:
    import torch

    from .workers import exit_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle (it cancels the pool)
    exit_with_parent()
    torch.set_num_threads(threads)


def _pool_job(base_dict: dict, spec: SweepSpec, job: tuple, ident: str) -> dict:
    """One run in a worker process; the data set is loaded once per process (from the cache)."""
    base = RunConfig.from_dict(base_dict)
    key = config_hash(base_dict["data"])
    if key not in _WORKER_DATA:
        _WORKER_DATA[key] = prepare_data(base.data)
    return _train_job(base, spec, job, ident, _WORKER_DATA[key])


def _run_pool(base: RunConfig, spec: SweepSpec, todo: list, ident: str, workers: int, record: Callable[[dict], None]) -> None:
    """Runs ``todo`` in ``workers`` spawned processes; records come back to this process as they finish.

    A worker that dies (crash, SIGKILL) breaks the pool: it is rebuilt and the unfinished runs are
    submitted again, at most twice per run. Ctrl-C cancels what has not started.
    """
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from .workers import WorkersLost, threads_per_worker

    if base.data.problem is not None:
        prepare_data(base.data)  # generate the cached data once, before the workers read it
    tries: dict[tuple, int] = defaultdict(int)
    left = list(todo)
    while left:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_pool_init, initargs=(threads_per_worker(workers),))
        try:
            futures = {pool.submit(_pool_job, base.to_dict(), spec, job, ident): job for job in left}
            pending = set(futures)
            broken = False
            while pending and not broken:
                ready, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in ready:
                    try:
                        rec = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    record(rec)
                    left.remove(futures[fut])
            if broken:
                for job in left:
                    tries[job] += 1
                    if tries[job] > 2:
                        raise WorkersLost(f"sweep run {job} was lost 3 times (a worker process died each time); giving up")
        except KeyboardInterrupt:
            # stop now: the workers ignore SIGINT, so end them; their runs are redone on resume
            for proc in mp.active_children():
                proc.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True, cancel_futures=True)


def run_sweep(base: RunConfig, spec: SweepSpec, out_dir: str | Path, progress: Callable[[int, int, dict], None] | None = None, workers: int = 1) -> dict:
    """Train every run of ``spec`` (skipping those already in ``out_dir/runs.jsonl``), write the summary.

    ``workers > 1`` trains that many runs at once in local processes; records are appended by this
    process only, as each run finishes, so a kill loses only the runs in flight.
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
        for line in runs_file.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:  # a line cut by a kill: that run is redone
                continue
            if r.get("config_hash") != ident:  # trained with another base config: not reused
                continue
            done[_key(r["parametrization"], r["size"], r["lr"], r["seed"])] = r
    if runs_file.exists() and runs_file.stat().st_size and not runs_file.read_bytes().endswith(b"\n"):
        with runs_file.open("a") as f:  # a line cut by a kill: end it so the next record starts clean
            f.write("\n")
    todo = [j for j in jobs if _key(*j) not in done]
    finished = len(jobs) - len(todo)
    with runs_file.open("a") as f:

        def record(rec: dict) -> None:
            nonlocal finished
            f.write(json.dumps(rec) + "\n")
            f.flush()
            done[_key(rec["parametrization"], rec["size"], rec["lr"], rec["seed"])] = rec
            finished += 1
            if progress:
                progress(finished, len(jobs), rec)

        if workers == 1:
            data = None
            for job in todo:
                data = data or prepare_data(base.data)
                record(_train_job(base, spec, job, ident, data))
        else:
            _run_pool(base, spec, todo, ident, workers, record)
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
