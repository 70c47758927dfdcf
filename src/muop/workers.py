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

This module does not import torch, so worker processes start fast.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from .locks import FileLock

__all__ = ["WorkerOptions", "Counts", "counts", "fail_stale", "queued_params", "lock_path", "worker_loop", "run_processes", "interruptible", "exit_with_parent", "TrialsFailing", "WorkersLost"]

HEARTBEAT, HOST, PID, RETRY_OF, ATTEMPT = "muop_heartbeat", "muop_host", "muop_pid", "muop_retry_of", "muop_attempt"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
FATAL_EXIT = 3  # a worker process exits with this when its trials keep failing: do not replace it


class _NoInterruptTraceback(logging.Filter):
    """Ctrl-C is a request, not an error: keep Optuna from logging it with a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt)) and "KeyboardInterrupt" not in record.getMessage()


optuna.logging.set_verbosity(optuna.logging.WARNING)
for _h in logging.getLogger("optuna").handlers:
    _h.addFilter(_NoInterruptTraceback())


class TrialsFailing(RuntimeError):
    """Several trials in a row raised: a bug or a bad config, not bad luck; stop instead of looping."""


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
            raise ValueError(f"heartbeat={self.heartbeat_s}s, grace={self.grace_s}s: expected 0 < heartbeat < grace")
        if self.max_retries < 0:
            raise ValueError(f"max_retries={self.max_retries}: expected >= 0")


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
    progress: Callable[[int, int], None] | None = None,
    catch: tuple[type[Exception], ...] = (RuntimeError, ValueError),
) -> int:
    """Run trials of ``study`` until it holds ``n_trials`` finished ones; returns how many this worker ran.

    ``n_trials=None`` is queue mode (sweeps): run only queued (WAITING) trials, and return when none
    is queued or running any more.
    """
    held = FileLock(lock)
    ran, errors = 0, 0
    states: list[TrialState] = []

    def wrapped(trial: optuna.Trial) -> float:
        mark_started(trial.set_user_attr)
        held.release()
        with Heartbeat(trial.set_user_attr, opts.heartbeat_s):
            return objective(trial)

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
            study.optimize(wrapped, n_trials=1, catch=catch, callbacks=[lambda s, t: states.append(t.state)])
        finally:
            held.release()
        ran += 1
        errors = errors + 1 if states and states[-1] == TrialState.FAIL else 0
        if errors >= opts.max_consecutive_errors:
            raise TrialsFailing(f"{errors} trials in a row raised an error in study {study.study_name!r}; see the warnings above")
        if progress:
            progress(counts(study).done, n_trials)


def run_processes(
    target: Callable[[dict, int], None],
    spec: dict,
    workers: int,
    poll: Callable[[], int] | None = None,
    total: int = 0,
    progress: Callable[[int, int], None] | None = None,
    max_restarts: int | None = None,
) -> None:
    """Run ``target(spec, index)`` in ``workers`` spawned processes until all have finished.

    A worker that dies (a crash, SIGKILL) is replaced while ``poll()`` says work is left, at most
    ``max_restarts`` times (default 2 per worker). Ctrl-C (KeyboardInterrupt in this process) is
    passed on to the workers, which stop their trials cleanly; then it is raised again here.
    """
    import multiprocessing as mp
    import signal

    ctx = mp.get_context("spawn")

    def start(i: int) -> mp.Process:
        # children start with Ctrl-C ignored (an interrupt while importing would print a traceback);
        # they take it again once they run trials (see ``interruptible``)
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            p = ctx.Process(target=target, args=(spec, i), daemon=False)
            p.start()
        finally:
            signal.signal(signal.SIGINT, old)
        return p

    procs = {i: start(i) for i in range(workers)}
    restarts, budget = 0, 2 * workers if max_restarts is None else max_restarts
    try:
        while True:
            time.sleep(0.5)
            done = poll() if poll else 0
            if progress and poll:
                progress(done, total)
            for i, p in list(procs.items()):
                if p.is_alive() or p.exitcode is None:
                    continue
                if p.exitcode == 0:
                    del procs[i]
                    continue
                if p.exitcode == FATAL_EXIT:
                    for q in procs.values():
                        q.terminate()
                    raise TrialsFailing(f"worker {i} stopped: trials keep raising errors (see its messages above)")
                if poll and done >= total:
                    del procs[i]
                    continue
                if restarts >= budget:
                    for q in procs.values():
                        q.terminate()
                    raise WorkersLost(f"worker {i} exited with code {p.exitcode}; {restarts} workers were already replaced, giving up")
                restarts += 1
                procs[i] = start(i)
            if not procs:
                return
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
