"""Running a study with N local workers (muop.study.run), with real processes through ``muop tune``:
the command or one of its workers killed with SIGKILL, Ctrl-C, four workers on one journal.

Each test starts the command, kills it (or one of its workers, found among the processes it started)
at a point it observes in the study, and checks what a rerun of the same command makes of the
leftovers. A rerun that is not itself under test runs in this process.
"""

from __future__ import annotations

import os
import signal

import optuna
import pytest

from muop.study.coordination import ATTEMPT, PID, RETRY_OF
from processes import (
    dead,
    fault_config,
    kill,
    load_study,
    running_trial,
    start_muop,
    states,
    wait_for,
    workers_of,
)

pytestmark = pytest.mark.faults


def _assert_retry_repeats(retry, victim) -> None:
    """The retry repeats every hyperparameter the victim had drawn before it died (define-by-run: a
    victim killed between two ``suggest_*`` calls has drawn only some; the retry draws the rest)."""
    assert victim.params.items() <= retry.params.items(), (victim.params, retry.params)
    assert set(retry.params) == {"lr", "batch_size", "beta2"}


def test_sigkill_mid_trial_fails_the_trial_and_rerun_retries_it(tmp_path, muop_cli):
    cfg = fault_config(tmp_path, epochs=20, n_train=60)  # a trial lasts a second or more
    args = (
        "tune",
        "--config",
        str(cfg),
        "--trials",
        "3",
        "--study",
        "k",
        "--run-dir",
        str(tmp_path / "t"),
        "--heartbeat",
        "1",
    )
    victim = None
    for _ in range(3):  # a trial that diverges at once can finish before the kill lands: then kill again
        p = start_muop(*args)
        try:
            wait_for(lambda: running_trial(tmp_path / "t", "k"), what="a running trial", alive=p)
        finally:
            kill(p)
        victim = running_trial(tmp_path / "t", "k")  # dead, not yet noticed: still RUNNING
        if victim is not None:
            break
    assert victim is not None, "no trial was running when the process was killed, three times"
    code, _, err = muop_cli(*args)  # the rerun, in this process
    assert code == 0, err
    st = load_study(tmp_path / "t", "k")
    assert states(st) == {"COMPLETE": 3, "FAIL": 1}
    assert st.trials[victim.number].state == optuna.trial.TrialState.FAIL
    retry = [t for t in st.trials if t.user_attrs.get(RETRY_OF) == victim.number]
    assert len(retry) == 1 and retry[0].state == optuna.trial.TrialState.COMPLETE
    assert retry[0].user_attrs[ATTEMPT] == 1
    _assert_retry_repeats(retry[0], victim)


def test_killed_worker_process_is_replaced_and_its_trial_retried(tmp_path):
    cfg = fault_config(tmp_path, epochs=20, n_train=60)  # a trial lasts a second or more
    run_dir = tmp_path / "t"
    p = start_muop(
        "tune",
        "--config",
        str(cfg),
        "--trials",
        "4",
        "--study",
        "w",
        "--run-dir",
        str(run_dir),
        "--workers",
        "2",
        "--heartbeat",
        "1",
    )
    try:
        # a trial that has just started, so that its worker is killed mid-trial
        victim = wait_for(lambda: running_trial(run_dir, "w", fresh=0.5), what="a trial starting", alive=p)
        pid = victim.user_attrs[PID]
        assert pid != p.pid and pid in workers_of(p.pid)  # a worker process this command started, not the parent
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: dead(pid), what="the killed worker to stop")
        # read the victim again: it may have drawn more hyperparameters between the first look and the kill
        victim = next(t for t in load_study(run_dir, "w").trials if t.number == victim.number)
        out, err = p.communicate(timeout=300)
    finally:
        kill(p)
    assert p.returncode == 0, err
    st = load_study(run_dir, "w")
    assert states(st) == {"COMPLETE": 4, "FAIL": 1}
    retry = [t for t in st.trials if t.user_attrs.get(RETRY_OF) == victim.number]
    assert len(retry) == 1
    _assert_retry_repeats(retry[0], victim)


def test_four_workers_on_one_journal_finish_exactly_the_requested_trials(tmp_path, muop_cli):
    """The commands run in this process; their workers are processes."""
    cfg = fault_config(tmp_path)
    run_dir = tmp_path / "t"
    code, _, err = muop_cli(
        "tune", "--config", str(cfg), "--trials", "10", "--study", "four", "--run-dir", str(run_dir), "--workers", "4"
    )
    assert code == 0, err
    st = load_study(run_dir, "four")
    assert states(st) == {"COMPLETE": 10}
    assert sorted(t.number for t in st.trials) == list(range(10))
    assert len({tuple(sorted(t.params.items())) for t in st.trials}) == 10  # no duplicated trials
    assert len({t.user_attrs[PID] for t in st.trials}) > 1  # the work was really shared
    # a later run from another shell with a larger count only adds what is missing
    code, _, err = muop_cli(
        "tune", "--config", str(cfg), "--trials", "12", "--study", "four", "--run-dir", str(run_dir), "--workers", "2"
    )
    assert code == 0, err
    assert states(load_study(run_dir, "four")) == {"COMPLETE": 12}


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path, muop_cli):
    cfg = fault_config(tmp_path, epochs=20, n_train=60)
    args = ("tune", "--config", str(cfg), "--trials", "2", "--study", "c", "--run-dir", str(tmp_path / "t"))
    p = start_muop(*args)
    try:
        wait_for(lambda: running_trial(tmp_path / "t", "c"), what="a running trial", alive=p)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        kill(p)
    assert p.returncode == 130, (p.returncode, err)
    assert "Traceback" not in err and "again to resume" in err and "--trials 2" in err
    code, _, err = muop_cli(*args)  # the rerun, in this process
    assert code == 0, err
    assert states(load_study(tmp_path / "t", "c"))["COMPLETE"] == 2
