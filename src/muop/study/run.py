"""Run a study's trials with N local workers: this process, or spawned worker processes.

Worker processes that die are replaced, and Ctrl-C stops them cleanly.

Work comes in two kinds, both driven by :func:`run_study` with a :class:`~muop.study.worker.WorkerSettings`
and an :class:`~muop.study.objective.Objective` (the only thing a command supplies):

* *search* (``n_trials`` set, ``muop tune``): the sampler proposes each trial's parameters;
* *queue* (``n_trials=None``, ``muop sweep``): every trial is a job enqueued with fixed parameters
  (:func:`~muop.study.coordination.enqueue_jobs`).

Other shells and machines may join the same study with the same command at any time.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import optuna

from ..errors import InputError, UsageError, was_interrupted
from .coordination import counts
from .objective import Objective
from .worker import (
    TrialsFailing,
    WorkerSettings,
    WorkersLost,
    configure_optuna_logging,
    open_study,
    study_for,
    worker_loop,
)

__all__ = [
    "FATAL_EXIT",
    "was_interrupted",
    "run_study",
    "run_processes",
    "interruptible",
    "exit_with_parent",
    "threads_per_worker",
]

FATAL_EXIT = 3  # a worker process exits with this when its trials keep failing: do not replace it


def _process_main(settings: WorkerSettings, objective: Objective, index: int, attempt: int = 0) -> None:
    """The one entry point of a local worker process (spawned by :func:`run_processes`); a
    replacement of a dead worker (``attempt`` > 0) draws afresh."""
    exit_with_parent()
    configure_optuna_logging(settings.optuna_verbosity)
    if settings.threads:
        objective.use_threads(settings.threads)
    study = study_for(settings, index + 1000 * attempt)
    objective.prepare()
    interruptible()
    try:
        worker_loop(study, settings.n_trials, objective, settings.lock, settings.options)
    except (TrialsFailing, InputError) as e:
        print(f"muop worker {index}: {e}", file=sys.stderr)
        sys.exit(FATAL_EXIT)
    except BaseException as e:
        if not was_interrupted(e):
            raise
        sys.stderr.flush()
        os._exit(130)  # no interpreter shutdown: the heartbeat threads must not run on into it


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


def _supervise(
    procs: dict,
    start: Callable,
    budget: int,
    poll: Callable[[], int] | None,
    total: int,
    progress: Callable[[int, int], None] | None,
) -> None:
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
                raise WorkersLost(
                    f"worker {i} exited with code {p.exitcode}; {restarts} workers were already replaced, giving up"
                )
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
    """In a worker process that started with Ctrl-C ignored: take it again (KeyboardInterrupt), quietly."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    quiet_interrupts()


def quiet_interrupts() -> None:
    """Ctrl-C that lands inside a finalizer or a weakref callback is reported by Python as "Exception
    ignored in ... Traceback ... KeyboardInterrupt"; the interrupt itself is handled where it belongs,
    so that report is dropped (every other unraisable exception is reported as usual)."""

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            sys.__unraisablehook__(unraisable)

    sys.unraisablehook = hook


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
