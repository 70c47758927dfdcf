"""The worker machinery in-process: stale-trial detection, retry limits, failing trials, options."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import replace

import optuna
import pytest

from muop.storage import resolve_storage
from muop.workers import (
    ATTEMPT,
    HEARTBEAT,
    HOST,
    PID,
    RETRY_OF,
    Objective,
    TrialsFailing,
    WorkerOptions,
    WorkerSettings,
    counts,
    enqueue_jobs,
    fail_stale,
    is_stale,
    job_key,
    lock_path,
    open_study,
    queued_params,
    run_study,
    sampler_seed,
    worker_loop,
)

OPTS = WorkerOptions(heartbeat_s=0.1, grace_s=0.5, poll_s=0.01)


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def _orphan(study: optuna.Study, **attrs) -> optuna.trial.FrozenTrial:
    """A RUNNING trial as a worker leaves it when it dies."""
    t = study.ask()
    t.suggest_float("x", 0, 1)
    for k, v in attrs.items():
        t.set_user_attr(k, v)
    return study.trials[t.number]


def test_trial_of_a_dead_local_process_is_stale_at_once():
    study = optuna.create_study()
    t = _orphan(study, **{HOST: socket.gethostname(), PID: _dead_pid(), HEARTBEAT: time.time()})
    assert is_stale(t, WorkerOptions())  # fresh heartbeat, but its process is gone


def test_trial_with_an_old_heartbeat_is_stale_only_after_the_grace_period():
    study = optuna.create_study()
    t = _orphan(study, **{HOST: "another-machine", PID: 1, HEARTBEAT: time.time()})
    assert not is_stale(t, OPTS)
    assert is_stale(t, OPTS, now=time.time() + 1.0)


def test_live_trials_are_left_alone():
    study = optuna.create_study()
    _orphan(study, **{HOST: socket.gethostname(), PID: os.getpid(), HEARTBEAT: time.time()})
    assert fail_stale(study, OPTS) == [] and counts(study).running == 1


def test_a_dead_trial_is_retried_at_most_max_retries_times():
    study = optuna.create_study()
    t = _orphan(study, **{HOST: socket.gethostname(), PID: _dead_pid(), HEARTBEAT: time.time()})
    origin = t.number
    for attempt in (1, 2):
        assert fail_stale(study, OPTS) == [t.number]
        retry = study.ask()  # pops the enqueued retry
        assert retry.suggest_float("x", 0, 1) == t.params["x"]
        assert (
            study.trials[retry.number].user_attrs[ATTEMPT] == attempt
            and study.trials[retry.number].user_attrs[RETRY_OF] == origin
        )
        for k, v in {HOST: socket.gethostname(), PID: _dead_pid(), HEARTBEAT: time.time()}.items():
            retry.set_user_attr(k, v)
        t = study.trials[retry.number]
    assert fail_stale(study, OPTS) == [t.number]
    c = counts(study)
    assert c.waiting == 0 and c.failed == 3  # the third death is not retried again (max_retries=2)


def test_a_queued_trial_killed_between_two_suggestions_is_retried_whole():
    """The race CI found: a worker died after drawing ``lr`` but before ``seed``; the retry must
    repeat the whole queue entry, not draw the missing values at random (another run's job)."""
    study = optuna.create_study()
    job = {"lr": 0.01, "seed": 1}
    study.enqueue_trial(job)
    t = study.ask()
    t.suggest_float("lr", 1e-3, 1e-1, log=True)  # ... and then SIGKILL, before suggest("seed")
    for k, v in {HOST: socket.gethostname(), PID: _dead_pid(), HEARTBEAT: time.time()}.items():
        t.set_user_attr(k, v)
    dead = study.trials[t.number]
    assert dead.params == {"lr": 0.01} and queued_params(dead) == job
    assert fail_stale(study, OPTS) == [t.number]
    retry = study.ask()
    assert (retry.suggest_float("lr", 1e-3, 1e-1, log=True), retry.suggest_int("seed", 0, 100)) == (0.01, 1)


def test_trials_that_keep_raising_stop_the_worker(tmp_path):
    study = optuna.create_study()

    def broken(trial):
        trial.suggest_float("x", 0, 1)
        raise ValueError("bad config")

    with pytest.raises(TrialsFailing, match="3 trials in a row"):
        worker_loop(study, 10, broken, tmp_path / "lock", OPTS)
    assert counts(study).failed == 3


def test_worker_loop_finishes_exactly_n_and_counts_pruned_as_finished(tmp_path):
    study = optuna.create_study()

    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number % 2:
            raise optuna.TrialPruned()
        return x

    ran = worker_loop(study, 5, obj, tmp_path / "lock", OPTS)
    assert ran == 5 and counts(study).done == 5 and len(study.trials) == 5


def test_options_are_validated():
    with pytest.raises(ValueError, match="heartbeat"):
        WorkerOptions(heartbeat_s=10, grace_s=5)
    with pytest.raises(ValueError, match="max_retries"):
        WorkerOptions(max_retries=-1)


def test_lock_paths_differ_per_storage_and_study():
    assert lock_path("journal:/a", "s") != lock_path("journal:/b", "s") != lock_path("journal:/a", "t")


# ---------------------------------------------------------------- one queue, one entry point
class Draw(Objective):
    """A trial that only draws (the cost of training is not what is tested here)."""

    def __call__(self, trial: optuna.Trial) -> float:
        return trial.suggest_float("x", 0.0, 1.0)


JOIN = """
import sys, time
from muop.workers import Objective, WorkerOptions, WorkerSettings, run_study
class Draw(Objective):
    def __call__(self, trial):
        time.sleep(0.05)
        return trial.suggest_float("x", 0.0, 1.0)
run_study(WorkerSettings(study="s", storage=sys.argv[1], run_dir=sys.argv[2], n_trials=10, options=WorkerOptions(heartbeat_s=0.1, grace_s=0.5, poll_s=0.01)), Draw())
"""


def test_a_study_extended_then_joined_by_two_commands_never_repeats_a_draw(tmp_path):
    url = f"journal:{tmp_path / 's.journal'}"
    settings = WorkerSettings(study="s", storage=url, run_dir=str(tmp_path), n_trials=3, options=OPTS)
    run_study(settings, Draw())
    run_study(replace(settings, n_trials=6), Draw())  # a rerun that extends the study
    joiners = [subprocess.Popen([sys.executable, "-c", JOIN, url, str(tmp_path)]) for _ in range(2)]  # two at once
    assert [p.wait(120) for p in joiners] == [0, 0]
    study = optuna.load_study(study_name="s", storage=resolve_storage(url, tmp_path))
    xs = [t.params["x"] for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(xs) == 10 and len(set(xs)) == 10


def test_a_new_study_is_reproducible(tmp_path):
    draws = []
    for name in ("a", "b"):
        study = run_study(
            WorkerSettings(study=name, storage=f"journal:{tmp_path / 's.journal'}", n_trials=4, seed=3, options=OPTS),
            Draw(),
        )
        draws.append([t.params["x"] for t in study.trials])
    assert draws[0] == draws[1]
    assert sampler_seed(3, 1) != sampler_seed(3, 0) and sampler_seed(3, 0, "4@h:1") != sampler_seed(3, 0, "4@h:2")


def test_queued_jobs_run_once_even_when_enqueued_twice(tmp_path):
    study = optuna.create_study()
    jobs = [{"a": i, "b": "x"} for i in range(3)]
    assert enqueue_jobs(study, jobs, tmp_path / "lock") == 3
    assert enqueue_jobs(study, jobs + [{"a": 3, "b": "x"}], tmp_path / "lock") == 1  # only the new one
    study.enqueue_trial({"a": 0, "b": "x"})  # another machine enqueued the same job at the same time
    seen = []

    def obj(trial):
        seen.append((trial.suggest_int("a", 0, 9), trial.suggest_categorical("b", ["x"])))
        return 0.0

    worker_loop(study, None, obj, tmp_path / "lock", OPTS)
    assert sorted(seen) == [(i, "x") for i in range(4)]  # the twin was pruned, not trained
    assert counts(study).done == 5 and sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials) == 1
    assert {job_key(queued_params(t)) for t in study.trials} == {job_key(j) for j in jobs + [{"a": 3, "b": "x"}]}


def test_commands_creating_one_study_at_once_draw_differently(tmp_path):
    settings = WorkerSettings(study="s", storage=f"journal:{tmp_path / 's.journal'}", n_trials=2, options=OPTS)
    (_, first), (_, second) = open_study(settings), open_study(settings)  # the second finds it created
    assert first.salt == "" and second.salt != ""
    assert sampler_seed(0, 0, first.salt) != sampler_seed(0, 0, second.salt)


def test_of_two_running_twins_only_the_later_is_pruned():
    from muop.workers import _has_twin

    study = optuna.create_study()
    for _ in range(2):
        study.enqueue_trial({"a": 1})
    first, second = study.ask(), study.ask()
    assert not _has_twin(study, first.number) and _has_twin(study, second.number)


def test_a_users_mistake_inside_a_trial_stops_the_worker_with_it(tmp_path):
    from muop.errors import ConfigError

    study = optuna.create_study()

    def obj(trial):
        raise ConfigError("train.device='cuda': CUDA is not available")

    with pytest.raises(ConfigError, match="CUDA is not available"):
        worker_loop(study, 5, obj, tmp_path / "lock", OPTS)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL]  # one trial, not five
