"""Throughput of shared-study tuning: 1, 2, 4 local workers on the journal, SQLite and PostgreSQL
backends, and Ray Tune (OptunaSearch, 2 CPUs), against an in-process loop.

Every trial is a synthetic objective that sleeps ``--trial-seconds`` (default 2 s), so the numbers
measure what the backends and muop's worker machinery add (admission lock, heartbeats, stale-trial
checks, storage round trips, process start-up), not model training. For each setting:

* ``trials/min``: finished trials per minute of wall time;
* ``overhead/trial``: the time each trial costs beyond T, in seconds and as a fraction of T.
  ``total`` = (workers × wall − trials × T) / trials: everything, worker start-up included;
  ``steady`` = (Σ over workers of [first trial start, last trial end] − trials × T) / trials: the
  per-trial cost once a worker runs (admission, sampling, storage round trips, heartbeats).

The goal (issue #5) is at most 5% per trial for 2-s trials on the journal and PostgreSQL backends.
PostgreSQL is started on loopback from the Debian packages (skipped when not installed); Ray is
skipped when the ``ray`` extra is not installed.

    python benchmarks/sweep_scaling.py [--trial-seconds 2] [--per-worker 4] [--out results/bench/sweep_scaling.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import optuna

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # pg_server: a loopback PostgreSQL

from muop.study import Objective, WorkerOptions, WorkerSettings, counts, resolve_storage, run_study  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)


def objective(trial: optuna.Trial, seconds: float) -> float:
    x = trial.suggest_float("x", -1.0, 1.0)
    time.sleep(seconds)
    return x * x


class Sleep(Objective):
    """A synthetic trial: draw x, sleep ``seconds``, return x² (what coordination costs, nothing else)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, trial: optuna.Trial) -> float:
        return objective(trial, self.seconds)


def _busy(study: optuna.Study) -> float:
    """Summed over workers: from a worker's first trial start to its last trial end (seconds).

    Excludes process start-up and the workers' staggered starts and ends, which ``total`` counts.
    Trials without a worker id (Ray's) are treated as one worker spanning the whole run.
    """
    by: dict = {}
    for t in study.trials:
        if t.datetime_start and t.datetime_complete:
            by.setdefault(t.user_attrs.get("muop_pid"), []).append(t)
    return sum(
        max(t.datetime_complete for t in ts).timestamp() - min(t.datetime_start for t in ts).timestamp()
        for ts in by.values()
    )


def run_backend(url: str, workers: int, n: int, T: float, name: str) -> dict:
    settings = WorkerSettings(
        study=name,
        storage=url,
        run_dir=".",
        n_trials=n,
        options=WorkerOptions(poll_s=0.05),
        optuna_verbosity=optuna.logging.ERROR,
    )
    t0 = time.perf_counter()
    study = run_study(settings, Sleep(T), workers)
    wall = time.perf_counter() - t0
    c = counts(study)
    assert c.done == n and c.running == 0, c
    return _row(workers, n, T, wall, _busy(study))


def run_inprocess(n: int, T: float) -> dict:
    """The baseline: the objective called n times in a plain loop, no storage, no workers."""
    t0 = time.perf_counter()
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    for _ in range(n):
        trial = study.ask()
        study.tell(trial, objective(trial, T))
    wall = time.perf_counter() - t0
    return _row(1, n, T, wall, wall)


def run_ray(n: int, T: float, journal: str) -> dict | None:
    try:
        import ray
        from ray import tune as rt

        from muop.study._ray_search import PruningOptunaSearch
    except ImportError:
        return None
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    t_init = time.perf_counter()

    def trainable(config: dict) -> None:
        time.sleep(T)
        rt.report({"value": config["x"] ** 2, "final": True})

    searcher = PruningOptunaSearch(
        space={"x": optuna.distributions.FloatDistribution(-1.0, 1.0)},
        metric="value",
        mode="min",
        study_name="ray",
        storage=resolve_storage(journal, "."),
    )
    tuner = rt.Tuner(
        rt.with_resources(trainable, {"cpu": 1}),
        tune_config=rt.TuneConfig(search_alg=searcher, num_samples=n),
        run_config=rt.RunConfig(storage_path=tempfile.mkdtemp(), verbose=0),
    )
    t0 = time.perf_counter()
    tuner.fit()
    wall = time.perf_counter() - t0
    study = optuna.load_study(study_name="ray", storage=resolve_storage(journal, "."))
    assert counts(study).done == n
    ray.shutdown()
    row = _row(2, n, T, wall, 2 * _busy(study))  # 2 trials at a time on 2 CPUs
    row["ray_init_s"] = round(t0 - t_init, 2)
    return row


def _row(workers: int, n: int, T: float, wall: float, busy: float) -> dict:
    """``busy``: worker-seconds from each worker's first trial start to its last trial end."""
    per_total = (workers * wall - n * T) / n
    per_steady = (busy - n * T) / n
    return {
        "workers": workers,
        "trials": n,
        "wall_s": round(wall, 2),
        "trials_per_min": round(60 * n / wall, 2),
        "overhead_s_total": round(per_total, 3),
        "overhead_total": round(per_total / T, 4),
        "overhead_s_steady": round(per_steady, 3),
        "overhead_steady": round(per_steady / T, 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trial-seconds", type=float, default=2.0)
    ap.add_argument("--per-worker", type=int, default=4, help="trials per worker (default 4)")
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--out", default="results/bench/sweep_scaling.json")
    args = ap.parse_args()
    T, k = args.trial_seconds, args.per_worker
    tmp = Path(tempfile.mkdtemp(prefix="muop-bench-"))
    rows = [{"backend": "in-process loop", **run_inprocess(2 * k, T)}]
    backends = {"journal": lambda w: f"journal:{tmp}/j{w}.journal", "sqlite": lambda w: f"sqlite:///{tmp}/s{w}.db"}
    pg = None
    from pg_server import local_postgres, pg_bin

    if pg_bin() is not None:
        try:
            import psycopg  # noqa: F401

            pg = local_postgres()
            url = pg.__enter__()
            backends["postgresql"] = lambda w: url
        except ImportError:
            pass
    try:
        for name, make in backends.items():
            for w in [int(v) for v in args.workers.split(",")]:
                rows.append({"backend": name, **run_backend(make(w), w, k * w, T, f"bench-{name}-{w}")})
                print(rows[-1], flush=True)
    finally:
        if pg is not None:
            pg.__exit__(None, None, None)
    r = run_ray(2 * k, T, f"journal:{tmp}/ray.journal")
    if r:
        rows.append({"backend": "ray (2 CPUs, OptunaSearch on a journal)", **r})
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"shared-study throughput, synthetic {T:g}-s trials ({os.cpu_count()} cores)")
    for c in ("backend", "workers", "trials", "wall s", "trials/min", "overhead/trial total", "overhead/trial steady"):
        t.add_column(c, justify="right")
    for r in rows:
        t.add_row(
            r["backend"],
            str(r["workers"]),
            str(r["trials"]),
            f"{r['wall_s']:.1f}",
            f"{r['trials_per_min']:.1f}",
            f"{r['overhead_s_total']:.3f} s ({100 * r['overhead_total']:.1f}%)",
            f"{r['overhead_s_steady']:.3f} s ({100 * r['overhead_steady']:.1f}%)",
        )
    Console().print(t)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "trial_seconds": T,
                "per_worker": k,
                "cpu_count": os.cpu_count(),
                "command": "python " + " ".join(sys.argv),
                "rows": rows,
            },
            indent=1,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
