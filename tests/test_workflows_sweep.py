"""The transfer check (muop.workflows.sweep): sweeps of the LR or another hyperparameter over sizes,
SP vs μP, end to end; resumed from the study or from runs.jsonl alone; the regret summary; and, with
real processes, a sweep killed, a worker killed, a second command joining, Ctrl-C.
"""

import json
import os
import signal
import time
from pathlib import Path

import optuna
import pytest

import muop.workflows.sweep
from muop.config import with_fields
from muop.study import resolve_storage
from muop.study.coordination import PID, RETRY_OF
from muop.workflows.sweep import Sweep, run_sweep, sweep_summary
from muop.workflows.sweep_spec import log_grid
from processes import dead, fault_config, is_running, kill, start_muop, wait_for, workers_of
from regret_example import HAND


def _no_training(*args, **kw):
    pytest.fail("a finished run was trained again")


@pytest.mark.slow
def test_sweep_end_to_end_and_resume(tiny, tmp_path):
    spec = Sweep(axis="width", sizes=(8, 16), lrs=tuple(log_grid(1e-3, 3e-2, 3)), seeds=(0,))
    out = tmp_path / "sw"
    doc = run_sweep(tiny, spec, out)
    runs_file = out / "runs.jsonl"
    assert len(runs_file.read_text().splitlines()) == 12
    saved = json.loads((out / "sweep.json").read_text())
    assert saved["axis"] == "width" and set(saved["best_lr"]) == {"sp", "mup"} and set(saved["drift"]) == {"sp", "mup"}
    r0 = saved["runs"][0]
    assert {"parametrization", "size", "lr", "seed", "test_rel_l2", "train_loss", "diverged", "seconds"} <= set(r0)
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    # resume: drop the last 5 records and cut a line in half (as a kill would), rerun
    lines = runs_file.read_text().splitlines()
    runs_file.write_text("\n".join(lines[:7]) + "\n" + lines[7][:20])
    doc2 = run_sweep(tiny, spec, out)
    recs = [json.loads(x) for x in runs_file.read_text().splitlines() if x.startswith("{") and x.endswith("}")]
    keys = [(r["parametrization"], r["size"], r["lr"], r["seed"]) for r in recs]
    assert len(set(keys)) == 12 and len(keys) == 12  # none lost, none duplicated
    assert doc2["best_lr"] == doc["best_lr"]  # deterministic runs: the same answer
    # another base config (more epochs) into the same directory: refused, nothing touched
    more = with_fields(tiny, train={"epochs": 4})
    before = {f.name: f.read_bytes() for f in out.iterdir() if f.is_file()}
    with pytest.raises(ValueError, match="another base config"):
        run_sweep(more, spec, out)
    assert {f.name: f.read_bytes() for f in out.iterdir() if f.is_file()} == before
    # and its records are not reused elsewhere: only its own runs.jsonl lines count
    other = tmp_path / "other"
    other.mkdir()
    (other / "runs.jsonl").write_bytes(runs_file.read_bytes())
    run_sweep(more, spec, other)
    recs = [json.loads(x) for x in (other / "runs.jsonl").read_text().splitlines()]
    assert len(recs) == 24 and len({r["config_hash"] for r in recs}) == 2


def test_runs_recorded_only_in_runs_jsonl_are_imported_not_trained_again(tiny, tmp_path, monkeypatch):
    """Sweeps made before the study existed (the committed results) resume from runs.jsonl alone."""
    sweep = Sweep(axis="width", sizes=(8,), lrs=(1e-3, 1e-2), parametrizations=("mup",), seeds=(0, 1))
    out = tmp_path / "sw"
    doc = run_sweep(tiny, sweep, out)
    (out / "sweep.journal").unlink()
    monkeypatch.setattr(
        muop.workflows.sweep, "train_run", lambda *a, **k: pytest.fail("a finished run was trained again")
    )
    doc2 = run_sweep(tiny, sweep, out)
    assert doc2["best_lr"] == doc["best_lr"] and len(doc2["runs"]) == 4
    storage = resolve_storage(f"journal:{out / 'sweep.journal'}", out)
    (name,) = optuna.get_all_study_names(storage)
    assert (
        len(optuna.load_study(study_name=name, storage=storage).get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
        == 4
    )
    assert len((out / "runs.jsonl").read_text().splitlines()) == 4  # the view is not duplicated


def test_sweep_summary_leads_with_regret_of_every_target():
    doc = sweep_summary(HAND, "width")
    assert doc["hparam"] == "lr" and doc["regret_proxy"] == {"mup": 8}
    assert set(doc["regret"]["mup"]) == {"16", "32"} and doc["regret"]["mup"]["32"]["regret"] == pytest.approx(1.0)
    assert doc["regret"]["mup"]["16"]["ci"] == pytest.approx([0.0, 2.0], abs=1e-9)
    assert doc["flat"]["mup"] == {"8": False, "16": False, "32": False} and "drift_excluding_flat" in doc
    assert sweep_summary(HAND, "width", proxy=16)["regret_proxy"] == {"mup": 16}


def test_hparam_sweep_end_to_end_records_regret_and_resumes(tiny, tmp_path, monkeypatch):
    sweep = Sweep(
        axis="width",
        sizes=(8, 16),
        hparam="init_scale",
        values=(0.5, 2.0),
        parametrizations=("mup",),
        seeds=(0, 1),
        proxy=16,
    )
    doc = run_sweep(tiny, sweep, tmp_path / "s")
    runs = [json.loads(line) for line in (tmp_path / "s" / "runs.jsonl").read_text().splitlines()]
    assert len(runs) == 8 and all(
        r["hparam"] == "init_scale" and r["value"] in (0.5, 2.0) and "lr" not in r for r in runs
    )
    assert doc["hparam"] == "init_scale" and doc["regret_proxy"] == {"mup": 16} and set(doc["regret"]["mup"]) == {"8"}
    e = doc["regret"]["mup"]["8"]
    assert e["regret"] >= 0 and e["ci"][0] <= e["regret"] <= e["ci"][1] and e["proxy_size"] == 16
    assert set(doc["mean_test_rel_l2"]["mup"]["8"]) == {f"{v:.6e}" for v in (0.5, 2.0)}
    saved = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert saved["spec"]["hparam"] == "init_scale" and saved["regret"] == json.loads(json.dumps(doc["regret"]))
    assert (tmp_path / "s" / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    monkeypatch.setattr(
        muop.workflows.sweep, "train_run", lambda *a, **k: pytest.fail("a finished run was trained again")
    )
    (tmp_path / "s" / "sweep.journal").unlink()  # runs.jsonl alone: imported into a new study
    again = run_sweep(tiny, sweep, tmp_path / "s")
    assert again["regret"] == doc["regret"]


# ---------------------------------------------------------------- faults, with real processes
#: Runs of :func:`_sweep_args`'s sweep: 2 parametrizations x 2 sizes x 2 LRs x 1 seed.
RUNS = 8


def _sweep_args(cfg: Path, out: Path, workers: int) -> tuple[str, ...]:
    return (
        "sweep",
        "--config",
        str(cfg),
        "--modes",
        "4,8",
        "--lrs",
        "1e-3,1e-1,2",
        "--seeds",
        "1",
        "--out",
        str(out),
        "--workers",
        str(workers),
    )


def _records(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "runs.jsonl").read_text().splitlines() if x.strip()]


def _sweep_study(out: Path, storage=None):
    """The sweep's study (in ``out/sweep.journal``, or an opened ``storage``), or None before it exists."""
    if storage is None:
        if not (out / "sweep.journal").exists():
            return None
        storage = resolve_storage(f"journal:{out / 'sweep.journal'}", out)
    names = optuna.get_all_study_names(storage)
    return optuna.load_study(study_name=names[0], storage=storage) if names else None


def _running(out: Path, fresh: float | None = None, storage=None):
    """A RUNNING sweep trial that a worker has started (recorded its process), or None; ``fresh``:
    one that started less than this many seconds ago."""
    st = _sweep_study(out, storage)
    return next((t for t in st.get_trials(deepcopy=False) if is_running(t, fresh)), None) if st else None


@pytest.mark.faults
def test_sweep_killed_then_rerun_skips_finished_runs(tmp_path, muop_cli):
    cfg = fault_config(tmp_path, epochs=15, n_train=60)
    out = tmp_path / "sw"
    p = start_muop(*_sweep_args(cfg, out, 2))
    try:
        wait_for(lambda: (out / "runs.jsonl").exists() and len(_records(out)) >= 2, what="two finished runs", alive=p)
        workers = workers_of(p.pid)  # the pool's workers, looked up while their parent lives
    finally:
        kill(p)
    first = _records(out)
    # the pool's workers do not outlive the killed command
    assert workers
    wait_for(lambda: all(dead(w) for w in workers), timeout=30, what="orphaned workers to exit")
    code, _, err = muop_cli(*_sweep_args(cfg, out, 2))  # the rerun, in this process (its workers are processes)
    assert code == 0, err
    recs = _records(out)
    keys = [(x["parametrization"], x["size"], x["lr"], x["seed"]) for x in recs]
    assert len(keys) == len(set(keys)) == RUNS  # no duplicates
    assert recs[: len(first)] == first  # finished records kept as they were
    assert json.loads((out / "sweep.json").read_text())["runs"].__len__() == RUNS


@pytest.mark.faults
def test_sweep_survives_a_killed_worker_and_retries_its_run(tmp_path):
    cfg = fault_config(tmp_path, epochs=20, n_train=60)  # runs of a second or more
    out = tmp_path / "sw"
    p = start_muop(*_sweep_args(cfg, out, 2))
    try:
        # a run that has just started, so that its worker is killed mid-run
        victim = wait_for(lambda: _running(out, fresh=0.5), what="a sweep run starting", alive=p)
        pid = victim.user_attrs[PID]
        assert pid in workers_of(p.pid)  # a worker this command started
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: dead(pid), what="the killed worker to stop")
        _, err = p.communicate(timeout=300)
    finally:
        kill(p)
    assert p.returncode == 0, err
    keys = [(x["parametrization"], x["size"], x["lr"], x["seed"]) for x in _records(out)]
    assert len(keys) == len(set(keys)) == RUNS
    st = _sweep_study(out)
    assert st.trials[victim.number].state == optuna.trial.TrialState.FAIL
    retry = [t for t in st.trials if t.user_attrs.get(RETRY_OF) == victim.number]
    # the retry is the victim's whole queued run, even if the victim died before drawing all of it
    assert [t.params for t in retry] == [st.trials[victim.number].system_attrs["fixed_params"]]


@pytest.mark.faults
def test_a_second_command_joins_a_running_sweep(tmp_path, muop_cli):
    """Two shells (or machines) on the same sweep: every run is trained once, both see all records.
    The second command runs in this process."""
    cfg = fault_config(tmp_path, epochs=10, n_train=60)
    out = tmp_path / "sw"
    storage = f"sqlite:///{tmp_path / 'sweep.db'}"
    a = start_muop(*_sweep_args(cfg, out, 1), "--storage", storage)
    try:
        wait_for(lambda: (tmp_path / "sweep.db").exists(), what="the first command's study", alive=a)
        db = resolve_storage(storage, out)  # one connection pool for the polling below
        wait_for(lambda: _running(out, storage=db), what="the first command to run a trial", alive=a, every=0.2)
        code, _, err = muop_cli(*_sweep_args(cfg, out, 1), "--storage", storage)
        assert code == 0, err
        _, err = a.communicate(timeout=300)
        assert a.returncode == 0, err
    finally:
        kill(a)
    keys = [(x["parametrization"], x["size"], x["lr"], x["seed"]) for x in _records(out)]
    assert len(keys) == len(set(keys)) == RUNS
    st = optuna.load_study(study_name=optuna.get_all_study_names(storage)[0], storage=storage)
    trained = [t for t in st.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(trained) == RUNS and len({t.user_attrs[PID] for t in trained}) == 2


@pytest.mark.faults
def test_ctrl_c_on_a_sweep_with_workers_stops_at_once_and_resumes(tmp_path):
    cfg = fault_config(tmp_path, epochs=60, n_train=60)  # runs long enough to be interrupted mid-way
    out = tmp_path / "sw"
    p = start_muop(*_sweep_args(cfg, out, 2), start_new_session=True)
    try:
        wait_for(lambda: len(workers_of(p.pid)) >= 2, what="the pool's workers", alive=p)
        wait_for(lambda: _running(out), what="a run in flight", alive=p)  # the workers take Ctrl-C once they run trials
        workers = workers_of(p.pid)
        os.killpg(p.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
        t0 = time.monotonic()
        _, err = p.communicate(timeout=60)
    finally:
        kill(p)
    assert p.returncode == 130 and time.monotonic() - t0 < 20  # does not wait for the runs in flight
    assert "Traceback" not in err and "again to resume" in err
    wait_for(lambda: all(dead(w) for w in workers), timeout=30, what="workers to exit")
