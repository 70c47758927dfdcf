"""Faults, with real processes: workers killed with SIGKILL, Ctrl-C, interrupted training and sweeps.

Each test runs the ``muop`` command in a subprocess, kills it (or one of its workers) at a point
it observes on disk, and checks what a rerun of the same command makes of the leftovers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import torch
import yaml

from muop.storage import resolve_storage
from muop.workers import ATTEMPT, PID, RETRY_OF

pytestmark = pytest.mark.faults


def _config(tmp_path: Path, epochs: int = 2, n_train: int = 30) -> Path:
    cfg = {
        "data": {
            "problem": "burgers",
            "n_train": n_train,
            "n_test": 8,
            "n_val": 6,
            "resolution": 64,
            "params": {"T": 0.2},
            "cache_dir": str(tmp_path / "cache"),
        },
        "model": {"modes": [4], "width": 8, "depth": 2},
        "train": {"epochs": epochs, "batch_size": 4, "checkpoint_every": 2},
        "tune": {"lr": [1e-3, 1e-1], "batch_size": [4, 8], "beta2": [0.9, 0.999]},
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _muop(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    # a harness started in the background (nohup ... &) ignores SIGINT, and children inherit that: restore it
    reset = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    return subprocess.Popen(
        [sys.executable, "-m", "muop.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=reset,
        **kw,
    )


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    p = _muop(*args)
    out, err = p.communicate(timeout=timeout)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def _wait_for(pred, timeout: float = 120.0, what: str = "condition"):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _dead(pid: int) -> bool:
    """True once ``pid`` runs no more code: gone, or a zombie waiting to be reaped by its parent."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def _assert_retry_repeats(retry, victim) -> None:
    """The retry repeats every hyperparameter the victim had drawn before it died (define-by-run: a
    victim killed between two ``suggest_*`` calls has drawn only some; the retry draws the rest)."""
    assert victim.params.items() <= retry.params.items(), (victim.params, retry.params)
    assert set(retry.params) == {"lr", "batch_size", "beta2"}


def _study(run_dir: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=resolve_storage(None, run_dir))


def _running_trial(run_dir: Path, name: str):
    if not (run_dir / "optuna.journal").exists():
        return None
    try:
        st = _study(run_dir, name)
    except KeyError:
        return None
    running = [
        t for t in st.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.RUNNING and PID in t.user_attrs
    ]
    return running[0] if running else None


def _states(study: optuna.Study) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in study.trials:
        out[t.state.name] = out.get(t.state.name, 0) + 1
    return out


def test_sigkill_mid_trial_fails_the_trial_and_rerun_retries_it(tmp_path):
    cfg = _config(tmp_path, epochs=40, n_train=60)  # a trial lasts a few seconds
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
        p = _muop(*args)
        try:
            _wait_for(lambda: _running_trial(tmp_path / "t", "k"), what="a running trial")
            os.kill(p.pid, signal.SIGKILL)
            p.wait(30)
        finally:
            p.kill()
        victim = _running_trial(tmp_path / "t", "k")  # dead, not yet noticed: still RUNNING
        if victim is not None:
            break
    assert victim is not None, "no trial was running when the process was killed, three times"
    r = _run(*args)
    assert r.returncode == 0, r.stderr
    st = _study(tmp_path / "t", "k")
    assert _states(st) == {"COMPLETE": 3, "FAIL": 1}
    assert st.trials[victim.number].state == optuna.trial.TrialState.FAIL
    retry = [t for t in st.trials if t.user_attrs.get(RETRY_OF) == victim.number]
    assert len(retry) == 1 and retry[0].state == optuna.trial.TrialState.COMPLETE
    assert retry[0].user_attrs[ATTEMPT] == 1
    _assert_retry_repeats(retry[0], victim)


def test_killed_worker_process_is_replaced_and_its_trial_retried(tmp_path):
    cfg = _config(tmp_path, epochs=30, n_train=60)
    run_dir = tmp_path / "t"
    p = _muop(
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
    victim = _wait_for(lambda: _running_trial(run_dir, "w"), what="a running trial")
    assert victim.user_attrs[PID] != p.pid  # a worker process, not the parent
    os.kill(victim.user_attrs[PID], signal.SIGKILL)
    _wait_for(lambda: _dead(victim.user_attrs[PID]), what="the killed worker to stop")
    # read the victim again: it may have drawn more hyperparameters between the first look and the kill
    victim = next(t for t in _study(run_dir, "w").trials if t.number == victim.number)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    st = _study(run_dir, "w")
    assert _states(st) == {"COMPLETE": 4, "FAIL": 1}
    retry = [t for t in st.trials if t.user_attrs.get(RETRY_OF) == victim.number]
    assert len(retry) == 1
    _assert_retry_repeats(retry[0], victim)


def test_four_workers_on_one_journal_finish_exactly_the_requested_trials(tmp_path):
    cfg = _config(tmp_path)
    run_dir = tmp_path / "t"
    r = _run(
        "tune", "--config", str(cfg), "--trials", "10", "--study", "four", "--run-dir", str(run_dir), "--workers", "4"
    )
    assert r.returncode == 0, r.stderr
    st = _study(run_dir, "four")
    assert _states(st) == {"COMPLETE": 10}
    assert sorted(t.number for t in st.trials) == list(range(10))
    assert len({tuple(sorted(t.params.items())) for t in st.trials}) == 10  # no duplicated trials
    assert len({t.user_attrs[PID] for t in st.trials}) > 1  # the work was really shared
    # a later run from another shell with a larger count only adds what is missing
    r = _run(
        "tune", "--config", str(cfg), "--trials", "12", "--study", "four", "--run-dir", str(run_dir), "--workers", "2"
    )
    assert r.returncode == 0, r.stderr
    assert _states(_study(run_dir, "four")) == {"COMPLETE": 12}


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path):
    cfg = _config(tmp_path, epochs=40, n_train=60)
    args = ("tune", "--config", str(cfg), "--trials", "2", "--study", "c", "--run-dir", str(tmp_path / "t"))
    p = _muop(*args)
    _wait_for(lambda: _running_trial(tmp_path / "t", "c"), what="a running trial")
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, (p.returncode, err)
    assert "Traceback" not in err and "again to resume" in err and "--trials 2" in err
    r = _run(*args)
    assert r.returncode == 0, r.stderr
    assert _states(_study(tmp_path / "t", "c"))["COMPLETE"] == 2


def _weights(path: Path) -> dict:
    return torch.load(path, weights_only=True)["model"]


def test_training_killed_mid_run_resumes_bit_for_bit(tmp_path):
    cfg = _config(tmp_path, epochs=12, n_train=120)
    ref = _run("train", "--config", str(cfg), "--out", str(tmp_path / "ref"))
    assert ref.returncode == 0, ref.stderr
    out = tmp_path / "run"
    p = _muop("train", "--config", str(cfg), "--out", str(out))
    try:
        _wait_for(
            lambda: (out / "state.pt").exists() and len((out / "metrics.jsonl").read_text().splitlines()) >= 5,
            what="epoch 5",
        )
        os.kill(p.pid, signal.SIGKILL)
        p.wait(30)
    finally:
        p.kill()
    assert not (out / "checkpoint.pt").exists()
    r = _run("train", "--config", str(cfg), "--out", str(out))
    assert r.returncode == 0, r.stderr
    a, b = _weights(tmp_path / "ref" / "checkpoint.pt"), _weights(out / "checkpoint.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    ref_lines = [json.loads(x) for x in (tmp_path / "ref" / "metrics.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines] == list(range(1, 13))
    assert [x["train_loss"] for x in lines] == [x["train_loss"] for x in ref_lines]


def test_state_of_another_config_is_refused_not_overwritten(tmp_path):
    cfg = _config(tmp_path, epochs=2)
    assert _run("train", "--config", str(cfg), "--out", str(tmp_path / "o")).returncode == 0
    before = (tmp_path / "o" / "state.pt").read_bytes()
    r = _run("train", "--config", str(cfg), "--set", "optimizer.lr=0.05", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "another config" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "o" / "state.pt").read_bytes() == before


def _orphans() -> list[int]:
    """Spawned worker processes whose parent is gone (re-parented to init)."""
    out = subprocess.run(["ps", "-eo", "pid,ppid,cmd"], capture_output=True, text=True).stdout.splitlines()
    return [int(line.split()[0]) for line in out[1:] if "spawn_main" in line and line.split()[1] == "1"]


def _sweep_args(cfg: Path, out: Path, workers: int) -> tuple[str, ...]:
    return (
        "sweep",
        "--config",
        str(cfg),
        "--modes",
        "4,8",
        "--lrs",
        "1e-3,1e-1,3",
        "--seeds",
        "1",
        "--out",
        str(out),
        "--workers",
        str(workers),
    )


def _records(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "runs.jsonl").read_text().splitlines() if x.strip()]


def test_sweep_killed_then_rerun_skips_finished_runs(tmp_path):
    cfg = _config(tmp_path, epochs=15, n_train=60)
    out = tmp_path / "sw"
    p = _muop(*_sweep_args(cfg, out, 2))
    try:
        _wait_for(lambda: (out / "runs.jsonl").exists() and len(_records(out)) >= 2, what="two finished runs")
        os.kill(p.pid, signal.SIGKILL)
        p.wait(30)
    finally:
        p.kill()
    first = _records(out)
    # the pool's workers do not outlive the killed command
    _wait_for(lambda: not _orphans(), timeout=30, what="orphaned workers to exit")
    r = _run(*_sweep_args(cfg, out, 2))
    assert r.returncode == 0, r.stderr
    recs = _records(out)
    keys = [(x["parametrization"], x["size"], x["lr"], x["seed"]) for x in recs]
    assert len(keys) == len(set(keys)) == 12  # 2 parametrizations x 2 sizes x 3 LRs, no duplicates
    assert recs[: len(first)] == first  # finished records kept as they were
    assert json.loads((out / "sweep.json").read_text())["runs"].__len__() == 12


def _sweep_study(out: Path):
    storage = resolve_storage(f"journal:{out / 'sweep.journal'}", out)
    names = optuna.get_all_study_names(storage) if (out / "sweep.journal").exists() else []
    return optuna.load_study(study_name=names[0], storage=storage) if names else None


def test_sweep_survives_a_killed_worker_and_retries_its_run(tmp_path):
    cfg = _config(tmp_path, epochs=40, n_train=60)  # runs of a few seconds: the victim is still running when killed
    out = tmp_path / "sw"
    p = _muop(*_sweep_args(cfg, out, 2))

    def running():
        st = _sweep_study(out)
        ts = (
            [
                t
                for t in st.get_trials(deepcopy=False)
                if t.state == optuna.trial.TrialState.RUNNING and PID in t.user_attrs
            ]
            if st
            else []
        )
        return ts[0] if ts else None

    victim = _wait_for(running, what="a running sweep trial")
    os.kill(victim.user_attrs[PID], signal.SIGKILL)
    _wait_for(lambda: _dead(victim.user_attrs[PID]), what="the killed worker to stop")
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    keys = [(x["parametrization"], x["size"], x["lr"], x["seed"]) for x in _records(out)]
    assert len(keys) == len(set(keys)) == 12
    st = _sweep_study(out)
    assert st.trials[victim.number].state == optuna.trial.TrialState.FAIL
    retry = [t for t in st.trials if t.user_attrs.get(RETRY_OF) == victim.number]
    # the retry is the victim's whole queued run, even if the victim died before drawing all of it
    assert [t.params for t in retry] == [st.trials[victim.number].system_attrs["fixed_params"]]


def test_a_second_command_joins_a_running_sweep(tmp_path):
    """Two shells (or machines) on the same sweep: every run is trained once, both see all records."""
    cfg = _config(tmp_path, epochs=10, n_train=60)
    out = tmp_path / "sw"
    a = _muop(*_sweep_args(cfg, out, 1), "--storage", f"sqlite:///{tmp_path / 'sweep.db'}")
    _wait_for(lambda: (out / "runs.jsonl").exists(), what="the first command to start")
    b = _muop(*_sweep_args(cfg, out, 1), "--storage", f"sqlite:///{tmp_path / 'sweep.db'}")
    for p in (a, b):
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    keys = [(x["parametrization"], x["size"], x["lr"], x["seed"]) for x in _records(out)]
    assert len(keys) == len(set(keys)) == 12
    st = optuna.load_study(
        study_name=optuna.get_all_study_names(f"sqlite:///{tmp_path / 'sweep.db'}")[0],
        storage=f"sqlite:///{tmp_path / 'sweep.db'}",
    )
    trained = [t for t in st.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(trained) == 12 and len({t.user_attrs[PID] for t in trained}) == 2


def test_ctrl_c_on_a_sweep_with_workers_stops_at_once_and_resumes(tmp_path):
    cfg = _config(tmp_path, epochs=60, n_train=60)  # runs long enough to be interrupted mid-way
    out = tmp_path / "sw"
    p = _muop(*_sweep_args(cfg, out, 2), start_new_session=True)
    _wait_for(lambda: len(_children(p.pid)) >= 2, what="the pool's workers")
    time.sleep(1.0)
    os.killpg(p.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    t0 = time.time()
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and time.time() - t0 < 20  # does not wait for the runs in flight
    assert "Traceback" not in err and "again to resume" in err
    _wait_for(lambda: not _orphans(), timeout=30, what="workers to exit")


def _children(pid: int) -> list[int]:
    r = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(x) for x in r.stdout.split()]
