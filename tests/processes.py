"""Test helper: the ``muop`` command as a real process, and waiting on what it does.

Used by the tests that kill processes or need several commands at once (the fault tests of the
study, sweep and training layers, the PostgreSQL tests). Waits are bounded and poll a condition;
processes are looked up among the descendants of the process a test started, never machine-wide.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import optuna
import yaml

from muop.study.coordination import PID
from muop.study.storage import resolve_storage
from tiny_configs import tiny_burgers

T = TypeVar("T")

#: The environment of a started command: one torch thread (the test workers use the cores), unbuffered.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def fault_config(tmp_path: Path, epochs: int = 2, n_train: int = 30) -> Path:
    """A tiny Burgers run with a validation split and a search space, written to ``tmp_path/cfg.yaml``."""
    cfg = tiny_burgers(
        tmp_path / "cache",
        n_train=n_train,
        train={"epochs": epochs, "batch_size": 4, "checkpoint_every": 2},
        tune={"lr": [1e-3, 1e-1], "batch_size": [4, 8], "beta2": [0.9, 0.999]},
    )
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def start_muop(*args: str, **kw) -> subprocess.Popen:
    """Start ``python -m muop.cli ARGS`` (text pipes for stdout and stderr)."""
    # a harness started in the background (nohup ... &) ignores SIGINT, and children inherit that: restore it
    reset = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    return subprocess.Popen(
        [sys.executable, "-m", "muop.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        preexec_fn=reset,
        **kw,
    )


def run_muop(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m muop.cli ARGS`` to the end."""
    p = start_muop(*args)
    out, err = p.communicate(timeout=timeout)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def wait_for(
    pred: Callable[[], T],
    timeout: float = 120.0,
    what: str = "condition",
    every: float = 0.05,
    alive: subprocess.Popen | None = None,
) -> T:
    """``pred()``'s first true value, polled every ``every`` seconds for at most ``timeout``; with
    ``alive``, fail at once (with its stderr) if that process exits first."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if alive is not None and alive.poll() is not None:
            err = alive.stderr.read() if alive.stderr else ""
            raise AssertionError(f"the command exited with {alive.returncode} before {what}: {err[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def dead(pid: int) -> bool:
    """True once ``pid`` runs no more code: gone, or a zombie waiting to be reaped by its parent."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (the processes it started)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return [c for c in out if not dead(c)]


def ranks_of(pid: int) -> dict[int, int]:
    """The processes of a data-parallel run that ``pid`` started (``muop ... --nproc N``: its torchrun
    agent's children), by their ``RANK``; empty until they have all started."""
    out = {}
    for agent in children(pid):
        for c in children(agent):
            try:
                env = Path(f"/proc/{c}/environ").read_bytes().split(b"\0")
            except (FileNotFoundError, ProcessLookupError):
                continue
            rank = [e.removeprefix(b"RANK=") for e in env if e.startswith(b"RANK=")]
            if rank:
                out[int(rank[0])] = c
    return out


def workers_of(pid: int) -> list[int]:
    """The worker processes (multiprocessing spawn) that ``pid`` started."""

    def cmdline(c: int) -> str:
        try:
            return Path(f"/proc/{c}/cmdline").read_bytes().decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError):
            return ""

    return [c for c in children(pid) if "spawn_main" in cmdline(c)]


def kill(p: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to ``p`` unless it has exited, and reap it (SIGKILL if ``sig`` did not end it)."""
    if p.poll() is None:
        try:
            p.send_signal(sig)
            p.wait(30)
        finally:
            p.kill()  # a no-op once it has exited
            p.communicate(timeout=30)  # reaps it and closes its pipes


def states(study: optuna.Study) -> dict[str, int]:
    """How many trials of ``study`` are in each state, by name."""
    out: dict[str, int] = {}
    for t in study.trials:
        out[t.state.name] = out.get(t.state.name, 0) + 1
    return out


def load_study(run_dir: Path, name: str, storage: str | None = None) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=resolve_storage(storage, run_dir))


def started_within(trial: optuna.trial.FrozenTrial, seconds: float | None) -> bool:
    """Whether ``trial`` started less than ``seconds`` ago (None: whenever it started)."""
    return seconds is None or (
        trial.datetime_start is not None and time.time() - trial.datetime_start.timestamp() < seconds
    )


def running_trial(run_dir: Path, name: str, storage: str | None = None, fresh: float | None = None):
    """A RUNNING trial of the study that a worker has started (recorded its process), or None.

    ``fresh``: only a trial that started less than this many seconds ago, so that a test that kills
    its worker at once kills it mid-trial (the trial runs longer than that)."""
    if storage is None and not (run_dir / "optuna.journal").exists():
        return None
    if storage is not None and storage.startswith("journal:") and not Path(storage.removeprefix("journal:")).exists():
        return None
    try:
        st = load_study(run_dir, name, storage)
    except KeyError:
        return None
    return next((t for t in st.get_trials(deepcopy=False) if is_running(t, fresh)), None)


def is_running(trial: optuna.trial.FrozenTrial, fresh: float | None = None) -> bool:
    """Whether a worker runs ``trial`` (it recorded its process), started less than ``fresh`` seconds ago."""
    return trial.state == optuna.trial.TrialState.RUNNING and PID in trial.user_attrs and started_within(trial, fresh)


def dead_pid() -> int:
    """The process id of a process that has already exited (forked, exited, reaped)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def orphan_trial(study: optuna.Study, **attrs) -> optuna.trial.FrozenTrial:
    """A RUNNING trial as a worker leaves it when it dies: one drawn value and the given user attributes."""
    t = study.ask()
    t.suggest_float("x", 0, 1)
    for k, v in attrs.items():
        t.set_user_attr(k, v)
    return study.trials[t.number]
