"""One worker on a shared Optuna study: open or join the study, then run its trials until it holds enough.

Any number of workers (threads of control in this process, local processes from ``--workers N``,
or other shells and machines running the same command) cooperate through the study's storage
alone. Each worker repeats:

1. under an admission lock, fail *stale* trials: RUNNING trials whose worker is gone. A trial is
   stale when its worker ran on this host and its process no longer exists, or when its heartbeat
   (user attribute ``muop_heartbeat``, refreshed every ``heartbeat_s``) is older than ``grace_s``.
   A stale trial is marked FAIL and its parameters are enqueued again (at most ``max_retries``
   times), so a killed worker loses no work but the trial it was running;
2. stop when the study holds ``n_trials`` finished trials (COMPLETE or PRUNED); wait while the
   running ones would reach the count; otherwise start one trial (a waiting retry first) and
   release the lock once the trial exists.

The lock is a file lock (``fcntl``) on this machine, so local workers never overshoot the count.
Workers on *different* machines only share the storage; racing at the very end, each machine can
start at most one trial beyond the count.

Work comes in two kinds, both driven by :func:`run_study` with a typed :class:`WorkerSettings`
and an :class:`Objective` (the only thing a command supplies):

* *search* (``n_trials`` set, ``muop tune``): the sampler proposes each trial's parameters;
* *queue* (``n_trials=None``, ``muop sweep``): every trial is a job enqueued with fixed parameters
  (:func:`enqueue_jobs`); a job's identity is its queue entry (:func:`queued_params`), a job that
  is already finished or running elsewhere is not trained twice, and a worker that died has its
  whole job retried.

Samplers are seeded from the study's state and the worker's identity (:func:`sampler_seed`), so a
study extended, resumed or joined by other commands never re-draws the same parameters.

This module does not import torch, so worker processes start fast.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from ..errors import InputError, UsageError, was_interrupted
from ..utils.locks import FileLock
from .coordination import Heartbeat, WorkerOptions, counts, fail_stale, has_twin, lock_path, mark_started
from .storage import resolve_storage, storage_key

__all__ = [
    "configure_optuna_logging",
    "TrialsFailing",
    "TrialFailed",
    "WorkersLost",
    "SAMPLERS",
    "sampler_seed",
    "WorkerSettings",
    "open_study",
    "study_for",
    "worker_loop",
]


class _NoInterruptTraceback(logging.Filter):
    """Ctrl-C is a request, not an error, and a user's mistake (InputError) is reported by the command in
    one line: keep Optuna from logging either again with a traceback when it fails the trial."""

    def filter(self, record: logging.LogRecord) -> bool:
        e = record.exc_info[1] if record.exc_info else None
        return not (was_interrupted(e) or isinstance(e, InputError)) and "KeyboardInterrupt" not in record.getMessage()


def configure_optuna_logging(verbosity: int = logging.WARNING) -> None:
    """Optuna's log level, and no traceback for Ctrl-C or a user's mistake. Called by the CLI, and in worker processes
    with the level of the process that started them; the library itself never sets it."""
    optuna.logging.set_verbosity(verbosity)
    for h in logging.getLogger("optuna").handlers:
        if not any(isinstance(f, _NoInterruptTraceback) for f in h.filters):
            h.addFilter(_NoInterruptTraceback())


class TrialsFailing(RuntimeError):
    """Several trials in a row raised: a bug or a bad config, not bad luck; stop instead of looping."""


class TrialFailed(RuntimeError):
    """One trial raised (a numerical failure, say): it is recorded as FAIL and the worker goes on."""


class WorkersLost(RuntimeError):
    """Worker processes kept dying (killed, out of memory) after being replaced several times."""


#: Optuna samplers by name; each takes ``(seed, parallel)``. ``parallel`` (several workers at once):
#: TPE pretends running trials scored the worst value seen (constant liar), to spread them out.
SAMPLERS: dict[str, Callable[[int, bool], optuna.samplers.BaseSampler]] = {
    "tpe": lambda seed, parallel: optuna.samplers.TPESampler(seed=seed, constant_liar=parallel),
    "random": lambda seed, parallel: optuna.samplers.RandomSampler(seed=seed),
}


def sampler_seed(seed: int, worker: int, salt: str = "") -> int:
    """The sampler seed of worker ``worker``.

    ``salt`` is empty for a command that created the study: then the seed is ``seed + 7919·worker``,
    so a new study is reproducible. A command that extends, resumes or joins an existing study gets
    a salt naming the study's size, the host and the process (:func:`open_study`), and a seed
    hashed from it, so it never repeats the draws of the commands before it.
    """
    if not salt:
        return seed + 7919 * worker
    return int(hashlib.sha256(f"{seed}|{worker}|{salt}".encode()).hexdigest()[:8], 16)


@dataclass(frozen=True)
class WorkerSettings:
    """Which study the workers share and how they run it; sent to worker processes as is.

    ``storage``: an Optuna URL or ``journal:PATH`` (``None``: ``run_dir/optuna.journal``).
    ``n_trials``: finished trials the study should hold; ``None`` is queue mode (run the queued
    jobs only). ``threads``: torch threads per worker process (0: torch's default).
    ``optuna_verbosity``: Optuna's log level in worker processes (default: the current one).
    """

    study: str
    storage: str | None = None
    run_dir: str = "."
    n_trials: int | None = None
    sampler: str = "tpe"
    seed: int = 0
    salt: str = ""  # set by open_study; see sampler_seed
    parallel: bool = False
    options: WorkerOptions = field(default_factory=lambda: WorkerOptions())
    threads: int = 0
    optuna_verbosity: int = field(default_factory=lambda: optuna.logging.get_verbosity())

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise UsageError(f"sampler={self.sampler!r}: expected one of {sorted(SAMPLERS)}")
        if self.n_trials is not None and (not isinstance(self.n_trials, int) or self.n_trials < 1):
            raise UsageError(f"trials={self.n_trials!r}: expected a positive integer")

    @property
    def lock(self) -> Path:
        """The local admission lock of this (storage, study)."""
        return lock_path(storage_key(self.storage, self.run_dir), self.study)


def open_study(settings: WorkerSettings, worker: int = 0) -> tuple[optuna.Study, WorkerSettings]:
    """Create or join the study; returns it and ``settings`` with the sampler salt this command uses.

    Call it once per command (worker 0); worker processes reuse the returned settings, so all
    workers of one command share its salt and differ by their index.
    """
    storage = resolve_storage(settings.storage, settings.run_dir)
    if not settings.salt:
        try:  # whoever creates the study (atomically, in the storage) keeps the reproducible draws
            optuna.create_study(study_name=settings.study, storage=storage, direction="minimize")
        except optuna.exceptions.DuplicatedStudyError:  # extending, resuming or joining: fresh draws
            n = len(optuna.load_study(study_name=settings.study, storage=storage).get_trials(deepcopy=False))
            settings = replace(settings, salt=f"{n}@{socket.gethostname()}:{os.getpid()}")
    return study_for(settings, worker, storage), settings


def study_for(settings: WorkerSettings, worker: int, storage: Any = None) -> optuna.Study:
    storage = storage if storage is not None else resolve_storage(settings.storage, settings.run_dir)
    sampler = SAMPLERS[settings.sampler](sampler_seed(settings.seed, worker, settings.salt), settings.parallel)
    return optuna.create_study(
        study_name=settings.study, storage=storage, direction="minimize", sampler=sampler, load_if_exists=True
    )


def _classified(
    objective: Callable[[optuna.Trial], float], trial: optuna.Trial, catch: tuple[type[Exception], ...]
) -> float:
    """Run one trial's objective and sort what it raises: a user's mistake (InputError) stops the worker;
    Ctrl-C that surfaced as another error is Ctrl-C again; an error of a ``catch`` type is a failed trial
    (TrialFailed, and the worker goes on); anything else is a bug and propagates."""
    try:
        return objective(trial)
    except InputError:
        raise
    except Exception as e:
        if was_interrupted(e):
            raise KeyboardInterrupt from e
        if isinstance(e, catch):
            raise TrialFailed(f"{type(e).__name__}: {e}") from e
        raise


def worker_loop(
    study: optuna.Study,
    n_trials: int | None,
    objective: Callable[[optuna.Trial], float],
    lock: Path,
    opts: WorkerOptions | None = None,
    after_trial: Callable[[], None] | None = None,
    catch: tuple[type[Exception], ...] = (RuntimeError, ValueError),
) -> int:
    """Run trials of ``study`` until it holds ``n_trials`` finished ones; returns how many this worker ran.

    ``n_trials=None`` is queue mode (sweeps): run only queued (WAITING) trials, and return when none
    is queued or running any more. ``after_trial()`` is called after each trial this worker ran.
    """
    opts = WorkerOptions() if opts is None else opts
    held = FileLock(lock)
    ran, errors = 0, 0
    states: list[TrialState] = []

    def wrapped(trial: optuna.Trial) -> float:
        mark_started(trial.set_user_attr)
        held.release()
        if n_trials is None and has_twin(study, trial.number):
            raise optuna.TrialPruned()
        with Heartbeat(trial.set_user_attr, opts.heartbeat_s):
            return _classified(objective, trial, catch)

    while True:
        held.acquire()
        try:
            snapshot = study.get_trials(deepcopy=False)
            c = counts(study) if fail_stale(study, opts, snapshot) else counts(study, snapshot)
            if n_trials is None:  # queue mode
                if c.waiting == 0 and c.running == 0:
                    return ran
                wait = c.waiting == 0
            else:
                if c.done >= n_trials:
                    return ran
                wait = c.waiting == 0 and c.done + c.running >= n_trials
            if wait:  # a running trial may still die and come back as a retry
                held.release()
                time.sleep(opts.poll_s)
                continue
            study.optimize(wrapped, n_trials=1, catch=(TrialFailed,), callbacks=[lambda s, t: states.append(t.state)])
        finally:
            held.release()
        ran += 1
        errors = errors + 1 if states and states[-1] == TrialState.FAIL else 0
        if errors >= opts.max_consecutive_errors:
            raise TrialsFailing(
                f"{errors} trials in a row raised an error in study {study.study_name!r}; see the warnings above"
            )
        if after_trial:
            after_trial()
