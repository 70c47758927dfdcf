"""How workers share one Optuna study through its storage alone.

Trial states, heartbeats, stale trials and their retries, queued jobs and their identity, the local
admission lock.

A trial is *stale* when it is RUNNING but its worker is gone: its worker ran on this host and its
process no longer exists, or its heartbeat (user attribute ``muop_heartbeat``, refreshed every
``heartbeat_s``) is older than ``grace_s``. :func:`fail_stale` marks it FAIL and enqueues its
parameters again (at most ``max_retries`` times), so a killed worker loses no work but the trial
it was running. A queued job's identity is its queue entry (:func:`queued_params`).

This module does not import torch, so worker processes start fast.
"""

from __future__ import annotations

import hashlib
import math
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from ..errors import UsageError
from ..utils.locks import FileLock

__all__ = [
    "HEARTBEAT",
    "HOST",
    "PID",
    "RETRY_OF",
    "ATTEMPT",
    "FINISHED",
    "WorkerOptions",
    "Counts",
    "counts",
    "is_stale",
    "queued_params",
    "job_key",
    "enqueue_jobs",
    "has_twin",
    "fail_stale",
    "lock_path",
    "mark_started",
    "Heartbeat",
    "finite_or_none",
]

HEARTBEAT, HOST, PID, RETRY_OF, ATTEMPT = "muop_heartbeat", "muop_host", "muop_pid", "muop_retry_of", "muop_attempt"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


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
    return Counts(
        c[TrialState.COMPLETE] + c[TrialState.PRUNED], c[TrialState.RUNNING], c[TrialState.WAITING], c[TrialState.FAIL]
    )


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
        present = _present(
            study.get_trials(deepcopy=False), (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
        )
        added = 0
        for job in jobs:
            if job_key(job) not in present:
                study.enqueue_trial(dict(job))
                present.add(job_key(job))
                added += 1
    return added


def has_twin(study: optuna.Study, number: int) -> bool:
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


def finite_or_none(v: object) -> object:
    """JSON-safe user attributes: NaN/inf floats become None."""
    return None if isinstance(v, float) and not math.isfinite(v) else v
