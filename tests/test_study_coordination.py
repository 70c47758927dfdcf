"""How workers coordinate (muop.study.coordination): when a trial is stale, option checks, admission
locks. What needs a storage (retries, queued jobs, twins) is in tests/test_study_storage.py's
contract suite, run against every storage."""

import socket
import time

import optuna
import pytest

from muop.study import WorkerOptions
from muop.study.coordination import HEARTBEAT, HOST, PID, is_stale, lock_path
from processes import dead_pid, orphan_trial

OPTS = WorkerOptions(heartbeat_s=0.1, grace_s=0.5, poll_s=0.01)


def test_trial_of_a_dead_local_process_is_stale_at_once():
    study = optuna.create_study()
    t = orphan_trial(study, **{HOST: socket.gethostname(), PID: dead_pid(), HEARTBEAT: time.time()})
    assert is_stale(t, WorkerOptions())  # fresh heartbeat, but its process is gone


def test_trial_with_an_old_heartbeat_is_stale_only_after_the_grace_period():
    study = optuna.create_study()
    t = orphan_trial(study, **{HOST: "another-machine", PID: 1, HEARTBEAT: time.time()})
    assert not is_stale(t, OPTS)
    assert is_stale(t, OPTS, now=time.time() + 1.0)


def test_options_are_validated():
    with pytest.raises(ValueError, match="heartbeat"):
        WorkerOptions(heartbeat_s=10, grace_s=5)
    with pytest.raises(ValueError, match="max_retries"):
        WorkerOptions(max_retries=-1)


def test_lock_paths_differ_per_storage_and_study():
    assert lock_path("journal:/a", "s") != lock_path("journal:/b", "s") != lock_path("journal:/a", "t")
