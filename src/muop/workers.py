"""Several workers on one Optuna study: admission, heartbeats, retry of dead trials, local processes.

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
import math
import os
import socket
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from .errors import UsageError
from .errors import InputError
from .locks import FileLock
from .storage import resolve_storage, storage_key

__all__ = [
    "Objective", "WorkerSettings", "WorkerOptions", "run_study", "open_study", "sampler_seed", "SAMPLERS",
    "enqueue_jobs", "job_key", "queued_params", "Counts", "counts", "fail_stale", "is_stale", "lock_path",
    "worker_loop", "run_processes", "configure_optuna_logging", "interruptible", "exit_with_parent",
    "TrialsFailing", "WorkersLost",
]

HEARTBEAT, HOST, PID, RETRY_OF, ATTEMPT = "muop_heartbeat", "muop_host", "muop_pid", "muop_retry_of", "muop_attempt"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
FATAL_EXIT = 3  # a worker process exits with this when its trials keep failing: do not replace it


class _NoInterruptTraceback(logging.Filter):
    """Ctrl-C is a request, not an error: keep Optuna from logging it with a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt)) and "KeyboardInterrupt" not in record.getMessage()


def configure_optuna_logging(verbosity: int = logging.WARNING) -> None:
    """Optuna's log level, and no traceback for Ctrl-C. Called by the CLI, and in worker processes
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


@dataclass(frozen=True)
class WorkerOptions:
    """How workers share a study. Times in seconds."""

    heartbeat_s: float = 10.0  # a running trial refreshes its heartbeat this often
    grace_s: float = 60.0  # a trial with no heartbeat for this long is failed and retried
    max_retries: int = 2  # enqueue a dead trial's parameters again at most this many times
    poll_s: float = 0.5  # how often an idle worker looks again
    max_consecutive_errors: int = 3  # trials in a row that raise before the worker gives up

    def __post_init__(self) -> None:
        if not (self.heartbeat_s > 0 and self.grace_s > self.heartbeat_s):
            raise UsageError(f"heartbeat={self.heartbeat_s}s, grace={self.grace_s}s: expected 0 < heartbeat < grace")
        if self.max_retries < 0:
            raise UsageError(f"max_retries={self.max_retries}: expected >= 0")


class Objective(ABC):
    """The work of one trial, supplied by a command (tuning, a sweep) and run by any worker.

    Contract: an objective is built in the command's process and pickled to worker processes, so
    it holds plain data (configs), not loaded data or open files. :meth:`prepare` is called once in
    each process before its first trial (load data there). :meth:`__call__` runs one trial and
    returns the value to minimise; it may set user attributes and may raise ``optuna.TrialPruned``.
    An exception listed in ``worker_loop``'s ``catch`` marks the trial FAIL and the worker goes on;
    a :class:`muop.errors.InputError` (the user's mistake, the same for every trial) stops it.
    """

    def prepare(self) -> None:
        """Once per process, before the first trial."""

    @abstractmethod
    def __call__(self, trial: optuna.Trial) -> float:
        """Run one trial; the value to minimise."""


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
    return _study(settings, worker, storage), settings


def _study(settings: WorkerSettings, worker: int, storage: Any = None) -> optuna.Study:
    storage = storage if storage is not None else resolve_storage(settings.storage, settings.run_dir)
    sampler = SAMPLERS[settings.sampler](sampler_seed(settings.seed, worker, settings.salt), settings.parallel)
    return optuna.create_study(study_name=settings.study, storage=storage, direction="minimize", sampler=sampler, load_if_exists=True)


@dataclass(frozen=True)
class Counts:
    done: int
    running: int
    waiting: int
    failed: int


def counts(study: optuna.Study, trials: list[FrozenTrial] | None = None) -> Counts:
    """How many of the study's trials (or of ``trials``, a snapshot) are finished, running, waiting, failed."""
    c = {s: 0 for s in TrialState}
    for t in study.get_trials(deepcopy=False) if trials is None else trials:
        c[t.state] += 1
    return Counts(c[TrialState.COMPLETE] + c[TrialState.PRUNED], c[TrialState.RUNNING], c[TrialState.WAITING], c[TrialState.FAIL])


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def is_stale(trial: FrozenTrial, opts: WorkerOptions, now: float | None = None) -> bool:
    """True if ``trial`` is RUNNING but its worker is gone (see the module docstring)."""
    if trial.state != TrialState.RUNNING:
        return False
    a = trial.user_attrs
    if HOST not in a:  # not started yet by a muop worker (between ask and the first attribute)
        start = trial.datetime_start.timestamp() if trial.datetime_start else time.time()
        return (now or time.time()) - start > opts.grace_s
    if a.get(HOST) == socket.gethostname() and a.get(PID) != os.getpid() and _process_gone(int(a[PID])):
        return True
    return (now or time.time()) - float(a.get(HEARTBEAT, 0.0)) > opts.grace_s


def queued_params(trial: FrozenTrial) -> dict[str, Any]:
    """The parameters ``trial`` stands for: its queue entry (``fixed_params``, whole from the moment
    of enqueueing) over whatever it has drawn. A running trial's ``params`` fill in one ``suggest_*``
    call at a time, so another process, or the retry of a trial killed between two calls, must not
    rely on them alone; what was neither queued nor drawn is drawn afresh by the retry."""
    return {**trial.params, **trial.system_attrs.get("fixed_params", {})}


def job_key(params: dict[str, Any]) -> tuple:
    """A job's identity: its parameters as a sorted tuple of (name, value)."""
    return tuple(sorted(params.items()))


def _present(trials: Iterable[FrozenTrial], states: tuple[TrialState, ...]) -> set[tuple]:
    return {job_key(queued_params(t)) for t in trials if t.state in states}


def enqueue_jobs(study: optuna.Study, jobs: Iterable[dict[str, Any]], lock: Path) -> int:
    """Enqueue each job (fixed parameters) that is neither finished, running nor queued; returns how many.

    Under ``lock``, so local commands starting the same sweep at once do not enqueue twice.
    """
    with FileLock(lock):
        present = _present(study.get_trials(deepcopy=False), (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING))
        added = 0
        for job in jobs:
            if job_key(job) not in present:
                study.enqueue_trial(dict(job))
                present.add(job_key(job))
                added += 1
    return added


def _has_twin(study: optuna.Study, number: int) -> bool:
    """True if the queued job of trial ``number`` is finished, or running as an earlier trial (two
    machines enqueued the same sweep at once): it is trained once, by the earliest trial."""
    trials = study.get_trials(deepcopy=False)
    me = job_key(queued_params(trials[number])) if number < len(trials) else None
    done = _present([t for t in trials if t.number != number], (TrialState.COMPLETE,))
    earlier = _present([t for t in trials if t.number < number], (TrialState.RUNNING,))
    return me is not None and me in done | earlier


def fail_stale(study: optuna.Study, opts: WorkerOptions, trials: list[FrozenTrial] | None = None) -> list[int]:
    """Mark stale trials FAIL and enqueue their parameters again; returns the failed trial numbers.

    ``trials`` is a snapshot of the study's trials, to save a round trip to the storage.
    """
    failed = []
    trials = study.get_trials(deepcopy=False) if trials is None else trials
    retried = {t.user_attrs.get(RETRY_OF) for t in trials}
    for t in trials:
        if not is_stale(t, opts):
            continue
        study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
        failed.append(t.number)
        origin = t.user_attrs.get(RETRY_OF, t.number)
        attempt = int(t.user_attrs.get(ATTEMPT, 0)) + 1
        if attempt <= opts.max_retries and t.number not in retried:
            study.enqueue_trial(queued_params(t), user_attrs={RETRY_OF: origin, ATTEMPT: attempt})
    return failed


def lock_path(storage_key: str, study_name: str) -> Path:
    """The local admission lock for one (storage, study) pair."""
    h = hashlib.sha1(f"{storage_key}\0{study_name}".encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"muop-{h}.lock"


def mark_started(set_attr: Callable[[str, object], None]) -> None:
    """Record who runs a trial (host, process) and its first heartbeat."""
    set_attr(HOST, socket.gethostname())
    set_attr(PID, os.getpid())
    set_attr(HEARTBEAT, time.time())


class Heartbeat:
    """Refreshes ``muop_heartbeat`` through ``set_attr(key, value)`` from a daemon thread."""

    def __init__(self, set_attr: Callable[[str, object], None], every: float) -> None:
        self.set_attr, self.every, self._stop = set_attr, every, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.set_attr(HEARTBEAT, time.time())
            except Exception:  # noqa: BLE001 - a missed beat is retried; the trial itself decides
                pass

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def worker_loop(
    study: optuna.Study,
    n_trials: int | None,
    objective: Callable[[optuna.Trial], float],
    lock: Path,
    opts: WorkerOptions = WorkerOptions(),
    after_trial: Callable[[], None] | None = None,
    catch: tuple[type[Exception], ...] = (RuntimeError, ValueError),
) -> int:
    """Run trials of ``study`` until it holds ``n_trials`` finished ones; returns how many this worker ran.

    ``n_trials=None`` is queue mode (sweeps): run only queued (WAITING) trials, and return when none
    is queued or running any more. ``after_trial()`` is called after each trial this worker ran.
    """
    held = FileLock(lock)
    ran, errors = 0, 0
    states: list[TrialState] = []

    def wrapped(trial: optuna.Trial) -> float:
        mark_started(trial.set_user_attr)
        held.release()
        if n_trials is None and _has_twin(study, trial.number):
            raise optuna.TrialPruned()
        with Heartbeat(trial.set_user_attr, opts.heartbeat_s):
            try:
                return objective(trial)
            except InputError:  # the user's mistake, the same for every trial: stop with it
                raise
            except catch as e:  # this trial failed; the worker goes on
                raise TrialFailed(f"{type(e).__name__}: {e}") from e

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
            raise TrialsFailing(f"{errors} trials in a row raised an error in study {study.study_name!r}; see the warnings above")
        if after_trial:
            after_trial()


def _process_main(settings: WorkerSettings, objective: Objective, index: int, attempt: int = 0) -> None:
    """The one entry point of a local worker process (spawned by :func:`run_processes`); a
    replacement of a dead worker (``attempt`` > 0) draws afresh."""
    exit_with_parent()
    configure_optuna_logging(settings.optuna_verbosity)
    if settings.threads:
        import torch

        torch.set_num_threads(settings.threads)
    study = _study(settings, index + 1000 * attempt)
    objective.prepare()
    interruptible()
    try:
        worker_loop(study, settings.n_trials, objective, settings.lock, settings.options)
    except KeyboardInterrupt:
        sys.stderr.flush()
        os._exit(130)  # no interpreter shutdown: the heartbeat threads must not run on into it
    except (TrialsFailing, InputError) as e:
        print(f"muop worker {index}: {e}", file=sys.stderr)
        sys.exit(FATAL_EXIT)


def run_processes(
    settings: WorkerSettings,
    objective: Objective,
    workers: int,
    poll: Callable[[], int] | None = None,
    total: int = 0,
    progress: Callable[[int, int], None] | None = None,
    max_restarts: int | None = None,
) -> None:
    """Run ``objective`` on the study in ``workers`` spawned processes until all have finished.

    ``poll()`` (how many jobs are done, out of ``total``) is called twice a second, then
    ``progress(done, total)``. A worker that dies (a crash, SIGKILL) is replaced while work is left,
    at most ``max_restarts`` times (default 2 per worker). Ctrl-C (KeyboardInterrupt in this
    process) is passed on to the workers, which stop their trials cleanly; then it is raised again.
    """
    import multiprocessing as mp
    import signal

    ctx = mp.get_context("spawn")

    attempts: dict[int, int] = {}

    def start(i: int) -> mp.Process:
        # children start with Ctrl-C ignored (an interrupt while importing would print a traceback);
        # they take it again once they run trials (see ``interruptible``)
        attempts[i] = attempts.get(i, -1) + 1
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            p = ctx.Process(target=_process_main, args=(settings, objective, i, attempts[i]), daemon=False)
            p.start()
        finally:
            signal.signal(signal.SIGINT, old)
        return p

    procs = {i: start(i) for i in range(workers)}
    budget = 2 * workers if max_restarts is None else max_restarts
    try:
        _supervise(procs, start, budget, poll, total, progress)
    except KeyboardInterrupt:
        for p in procs.values():
            if p.is_alive():
                os.kill(p.pid, signal.SIGINT)
        deadline = time.time() + 10  # a worker still starting up ignores SIGINT: it is terminated
        for p in procs.values():
            p.join(max(0.0, deadline - time.time()))
            if p.is_alive():
                p.terminate()
        raise


def _supervise(procs: dict, start: Callable, budget: int, poll: Callable[[], int] | None, total: int, progress: Callable[[int, int], None] | None) -> None:
    """Wait for the worker processes ``procs`` (index -> process), replacing dead ones (see run_processes)."""
    restarts = 0
    while procs:
        time.sleep(0.5)
        done = poll() if poll else 0
        if progress and poll:
            progress(done, total)
        for i, p in list(procs.items()):
            if p.is_alive() or p.exitcode is None:
                continue
            if p.exitcode == 0 or (poll and done >= total and p.exitcode != FATAL_EXIT):
                del procs[i]
                continue
            if p.exitcode == FATAL_EXIT or restarts >= budget:
                for q in procs.values():
                    q.terminate()
                if p.exitcode == FATAL_EXIT:
                    raise TrialsFailing(f"worker {i} stopped: trials keep raising errors (see its messages above)")
                raise WorkersLost(f"worker {i} exited with code {p.exitcode}; {restarts} workers were already replaced, giving up")
            restarts += 1
            procs[i] = start(i)


def run_study(
    settings: WorkerSettings,
    objective: Objective,
    workers: int = 1,
    poll: Callable[[optuna.Study], int] | None = None,
    total: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    study: optuna.Study | None = None,
) -> optuna.Study:
    """Run the study's trials with ``workers`` local workers: this process (1) or spawned processes.

    ``poll(study)`` says how much is done out of ``total`` (default: finished trials out of
    ``n_trials``); ``progress(done, total)`` follows each trial, or each poll with processes.
    ``study`` is the one :func:`open_study` returned, when the caller already opened it; the
    settings must then be the ones it returned. Other commands may join the same study at any time.
    """
    if not isinstance(workers, int) or workers < 1:
        raise UsageError(f"workers={workers!r}: expected a positive integer")
    if study is None:
        study, settings = open_study(replace(settings, parallel=settings.parallel or workers > 1))
    poll = poll or (lambda st: counts(st).done)
    total = settings.n_trials or 0 if total is None else total
    if workers == 1:
        objective.prepare()
        def after() -> None:
            done = poll(study)
            if progress:
                progress(done, total)

        worker_loop(study, settings.n_trials, objective, settings.lock, settings.options, after)
    else:
        settings = replace(settings, threads=settings.threads or threads_per_worker(workers))
        run_processes(settings, objective, workers, poll=lambda: poll(study), total=total, progress=progress)
    return study


def interruptible() -> None:
    """In a worker process that started with Ctrl-C ignored: take it again (KeyboardInterrupt)."""
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)


def exit_with_parent(poll_s: float = 1.0) -> None:
    """In a worker process: exit as soon as the parent process is gone (e.g. SIGKILLed), instead of
    running on as an orphan. Its running trial then goes stale and is retried by the next run."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def threads_per_worker(workers: int) -> int:
    """Torch threads for each of ``workers`` local processes: the cores shared out, at least 1."""
    return max(1, (os.cpu_count() or 1) // max(workers, 1))


def finite_or_none(v: object) -> object:
    """JSON-safe user attributes: NaN/inf floats become None."""
    return None if isinstance(v, float) and not math.isfinite(v) else v
