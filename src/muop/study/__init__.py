"""Studies: Optuna only (this layer never imports torch itself). Storage by URL, workers that share
one study from a laptop to a cluster, the objectives trials run, drawing hyperparameters, Ray.

* :mod:`muop.study.storage`: storage URLs (journal, SQLite, PostgreSQL) and password redaction; a
  new storage kind goes here;
* :mod:`muop.study.coordination`: trial states, heartbeats, stale trials and retries, queued jobs;
* :mod:`muop.study.worker`: open or join a study, samplers, one worker's loop;
* :mod:`muop.study.run`: :func:`run_study` with N local worker processes;
* :mod:`muop.study.objective`: the :class:`Objective` contract, and objectives that train a run;
* :mod:`muop.study.space`: drawing the registry's hyperparameters (:mod:`muop.config.hparams`);
* :mod:`muop.study.tune`: tuning the proxy (:func:`muop.study.tune.tune`); :mod:`muop.study.ray`: the Ray Tune backend.
"""

from .coordination import (
    Counts,
    WorkerOptions,
    counts,
    enqueue_jobs,
    fail_stale,
    finite_or_none,
    job_key,
    queued_params,
)
from .objective import Objective, RunObjective
from .run import run_processes, run_study, was_interrupted
from .space import draw, suggest
from .storage import journal_path, redact, resolve_storage, storage_key
from .tune import TuneObjective, study_summary, with_validation
from .worker import (
    SAMPLERS,
    TrialsFailing,
    WorkerSettings,
    WorkersLost,
    configure_optuna_logging,
    open_study,
    worker_loop,
)

__all__ = [
    "Counts",
    "Objective",
    "RunObjective",
    "SAMPLERS",
    "TrialsFailing",
    "TuneObjective",
    "WorkerOptions",
    "WorkerSettings",
    "WorkersLost",
    "configure_optuna_logging",
    "counts",
    "draw",
    "enqueue_jobs",
    "fail_stale",
    "finite_or_none",
    "job_key",
    "journal_path",
    "open_study",
    "queued_params",
    "redact",
    "resolve_storage",
    "run_processes",
    "run_study",
    "storage_key",
    "study_summary",
    "suggest",
    "was_interrupted",
    "with_validation",
    "worker_loop",
]
