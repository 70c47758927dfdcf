"""Optuna storage by URL (muop.study.storage): passwords never printed and taken out of URLs whole; and
the contract every storage muop opens (a journal file, SQLite, PostgreSQL) must keep, as one suite run
against each: a study outlives the process that wrote it, workers coordinate through it alone (stale
trials and retries, queued jobs, twins, who created the study), and several commands share one study
without repeating a draw. Then what only PostgreSQL has: a server shared by commands on several
machines, its password, and the lock that serialises creating a new database's schema.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import replace

import optuna
import pytest
import sqlalchemy as sa

from muop.study import (
    Objective,
    WorkerOptions,
    WorkerSettings,
    counts,
    enqueue_jobs,
    fail_stale,
    job_key,
    open_study,
    queued_params,
    redact,
    resolve_storage,
    run_study,
    storage_key,
    worker_loop,
)
from muop.study.coordination import ATTEMPT, HEARTBEAT, HOST, PID, RETRY_OF, has_twin
from muop.study.storage import _PG_SCHEMA_LOCK, split_password
from muop.study.worker import sampler_seed
from pg_server import PASSWORD, create_database
from processes import ENV, dead_pid, fault_config, is_running, kill, orphan_trial, start_muop, states, wait_for

OPTS = WorkerOptions(heartbeat_s=0.1, grace_s=0.5, poll_s=0.01)


@pytest.mark.parametrize(
    "url,shown",
    [
        ("postgresql://bob:hunter2@db:5432/x", "postgresql://bob:***@db:5432/x"),
        ("postgresql://user:sec@ret@host/db", "postgresql://user:***@host/db"),  # '@' inside the password
        ("postgresql://user:a/b@c@host/db?sslmode=require", "postgresql://user:***@host/db?sslmode=require"),
        ("postgresql://bob@db/x?password=secret", "postgresql://bob@db/x?password=***"),
        (
            "postgresql://bob@db/x?sslmode=require&password=secret&connect_timeout=5",
            "postgresql://bob@db/x?sslmode=require&password=***&connect_timeout=5",
        ),
        ("postgresql://bob:one@db/x?PASSWORD=two", "postgresql://bob:***@db/x?PASSWORD=***"),
        ("postgresql://db:5432/x?application_name=a@b", "postgresql://db:5432/x?application_name=a@b"),  # no user part
        ("sqlite:////home/a@b/x.db", "sqlite:////home/a@b/x.db"),
        ("failed: postgresql://u:p@ss@h/db (timeout)", "failed: postgresql://u:***@h/db (timeout)"),  # inside a message
    ],
)
def test_redact_masks_every_password(url, shown):
    assert redact(url) == shown
    for secret in ("hunter2", "sec@ret", "a/b@c", "secret", "one", "two", "p@ss"):
        assert secret not in redact(url)


@pytest.mark.parametrize(
    "url,bare,password",
    [
        ("postgresql://user:sec@ret@host/db", "postgresql://user@host/db", "sec@ret"),
        ("postgresql://bob@db/x?password=secret", "postgresql://bob@db/x", "secret"),
        (
            "postgresql://bob@db/x?sslmode=require&password=s3&connect_timeout=5",
            "postgresql://bob@db/x?sslmode=require&connect_timeout=5",
            "s3",
        ),
        ("postgresql://bob:one@db/x?password=two", "postgresql://bob@db/x", "two"),  # the query wins, as in libpq
        ("postgresql://bob@db/x?sslmode=require", "postgresql://bob@db/x?sslmode=require", None),
        ("postgresql://db:5432/x?application_name=a@b", "postgresql://db:5432/x?application_name=a@b", None),
    ],
)
def test_split_password_takes_the_whole_password_out(url, bare, password):
    assert split_password(url) == (bare, password)


def test_split_password_keeps_everything_but_the_secret():
    assert split_password("postgresql://bob:p%40ss:w@db:5432/muop") == ("postgresql://bob@db:5432/muop", "p%40ss:w")
    assert split_password("postgresql://bob@db/muop") == ("postgresql://bob@db/muop", None)
    assert split_password("sqlite:///x.db") == ("sqlite:///x.db", None)


def test_storage_urls_and_redaction(tmp_path):
    assert isinstance(resolve_storage(None, tmp_path), optuna.storages.JournalStorage)
    assert isinstance(resolve_storage(f"journal:{tmp_path / 'x.log'}", tmp_path), optuna.storages.JournalStorage)
    st = resolve_storage(f"sqlite:///{tmp_path / 's.db'}", tmp_path)
    assert isinstance(st, optuna.storages.RDBStorage)
    assert redact("postgresql://bob:hunter2@db.example:5432/x") == "postgresql://bob:***@db.example:5432/x"
    with pytest.raises(ValueError) as e:
        resolve_storage("postgresql://bob:hunter2@127.0.0.1:1/db", tmp_path)
    assert "hunter2" not in str(e.value) and "***" in str(e.value)
    with pytest.raises(ValueError, match="expected an Optuna URL"):
        resolve_storage("not-a-url", tmp_path)


# ---------------------------------------------------------------- the contract of every storage
STORAGES = [
    "journal",
    "sqlite",
    pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.xdist_group("postgres")]),
]


@pytest.fixture(params=STORAGES)
def storage_url(request, tmp_path) -> str:
    """A URL of a new, empty storage of each kind (PostgreSQL: a new database on the test server)."""
    if request.param == "journal":
        return f"journal:{tmp_path / 's.journal'}"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 's.db'}"
    return create_database(request.getfixturevalue("pg_url"), f"c{uuid.uuid4().hex[:16]}")


def _study(url: str, run_dir) -> optuna.Study:
    return optuna.create_study(storage=resolve_storage(url, run_dir))


def test_a_study_outlives_the_storage_that_wrote_it(storage_url, tmp_path):
    storage = resolve_storage(storage_url, tmp_path)
    study = optuna.create_study(study_name="keep", storage=storage)
    study.enqueue_trial({"x": 0.5})
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    trial.set_user_attr(HEARTBEAT, 1.5)
    study.tell(trial, 0.25)
    again = optuna.load_study(study_name="keep", storage=resolve_storage(storage_url, tmp_path))  # a new connection
    (t,) = again.trials
    assert t.params == {"x": 0.5} and t.value == 0.25 and t.user_attrs[HEARTBEAT] == 1.5
    assert queued_params(t) == {"x": 0.5}
    key = storage_key(storage_url, tmp_path)
    assert key == storage_key(storage_url, tmp_path) and PASSWORD not in key and PASSWORD not in redact(storage_url)


def test_live_trials_are_left_alone(storage_url, tmp_path):
    study = _study(storage_url, tmp_path)
    orphan_trial(study, **{HOST: socket.gethostname(), PID: os.getpid(), HEARTBEAT: time.time()})
    assert fail_stale(study, OPTS) == [] and counts(study).running == 1


def test_a_dead_trial_is_retried_at_most_max_retries_times(storage_url, tmp_path):
    study = _study(storage_url, tmp_path)
    t = orphan_trial(study, **{HOST: socket.gethostname(), PID: dead_pid(), HEARTBEAT: time.time()})
    origin = t.number
    for attempt in (1, 2):
        assert fail_stale(study, OPTS) == [t.number]
        retry = study.ask()  # pops the enqueued retry
        assert retry.suggest_float("x", 0, 1) == t.params["x"]
        assert (
            study.trials[retry.number].user_attrs[ATTEMPT] == attempt
            and study.trials[retry.number].user_attrs[RETRY_OF] == origin
        )
        for k, v in {HOST: socket.gethostname(), PID: dead_pid(), HEARTBEAT: time.time()}.items():
            retry.set_user_attr(k, v)
        t = study.trials[retry.number]
    assert fail_stale(study, OPTS) == [t.number]
    c = counts(study)
    assert c.waiting == 0 and c.failed == 3  # the third death is not retried again (max_retries=2)


def test_a_queued_trial_killed_between_two_suggestions_is_retried_whole(storage_url, tmp_path):
    """The race CI found: a worker died after drawing ``lr`` but before ``seed``; the retry must
    repeat the whole queue entry, not draw the missing values at random (another run's job)."""
    study = _study(storage_url, tmp_path)
    job = {"lr": 0.01, "seed": 1}
    study.enqueue_trial(job)
    t = study.ask()
    t.suggest_float("lr", 1e-3, 1e-1, log=True)  # ... and then SIGKILL, before suggest("seed")
    for k, v in {HOST: socket.gethostname(), PID: dead_pid(), HEARTBEAT: time.time()}.items():
        t.set_user_attr(k, v)
    dead = study.trials[t.number]
    assert dead.params == {"lr": 0.01} and queued_params(dead) == job
    assert fail_stale(study, OPTS) == [t.number]
    retry = study.ask()
    assert (retry.suggest_float("lr", 1e-3, 1e-1, log=True), retry.suggest_int("seed", 0, 100)) == (0.01, 1)


def test_queued_jobs_run_once_even_when_enqueued_twice(storage_url, tmp_path):
    study = _study(storage_url, tmp_path)
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


def test_of_two_running_twins_only_the_later_is_pruned(storage_url, tmp_path):
    study = _study(storage_url, tmp_path)
    for _ in range(2):
        study.enqueue_trial({"a": 1})
    first, second = study.ask(), study.ask()
    assert not has_twin(study, first.number) and has_twin(study, second.number)


def test_commands_creating_one_study_at_once_draw_differently(storage_url, tmp_path):
    settings = WorkerSettings(study="s", storage=storage_url, run_dir=str(tmp_path), n_trials=2, options=OPTS)
    (_, first), (_, second) = open_study(settings), open_study(settings)  # the second finds it created
    assert first.salt == "" and second.salt != ""
    assert sampler_seed(0, 0, first.salt) != sampler_seed(0, 0, second.salt)


class Draw(Objective):
    """A trial that only draws (the cost of training is not what is tested here)."""

    def __call__(self, trial: optuna.Trial) -> float:
        return trial.suggest_float("x", 0.0, 1.0)


JOIN = """
import sys, time
from muop.study import Objective, WorkerOptions, WorkerSettings, run_study
class Draw(Objective):
    def __call__(self, trial):
        time.sleep(0.05)
        return trial.suggest_float("x", 0.0, 1.0)
opts = WorkerOptions(heartbeat_s=0.1, grace_s=0.5, poll_s=0.01)
run_study(WorkerSettings(study="s", storage=sys.argv[1], run_dir=sys.argv[2], n_trials=10, options=opts), Draw())
"""


@pytest.mark.slow
def test_a_study_extended_then_joined_by_two_commands_never_repeats_a_draw(storage_url, tmp_path):
    url = storage_url
    settings = WorkerSettings(study="s", storage=url, run_dir=str(tmp_path), n_trials=3, options=OPTS)
    run_study(settings, Draw())
    run_study(replace(settings, n_trials=6), Draw())  # a rerun that extends the study
    joiners = [subprocess.Popen([sys.executable, "-c", JOIN, url, str(tmp_path)], env=ENV) for _ in range(2)]  # at once
    assert [p.wait(120) for p in joiners] == [0, 0]
    study = optuna.load_study(study_name="s", storage=resolve_storage(url, tmp_path))
    xs = [t.params["x"] for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(xs) == 10 and len(set(xs)) == 10


# ---------------------------------------------------------------- PostgreSQL only
@pytest.mark.postgres
@pytest.mark.xdist_group("postgres")
def test_two_commands_share_one_postgres_study_and_never_leak_the_password(pg_url, tmp_path, muop_cli):
    cfg = fault_config(tmp_path, epochs=12, n_train=60)  # trials of about a second, so that every worker gets some
    args = (
        "tune",
        "--config",
        str(cfg),
        "--trials",
        "8",
        "--study",
        "pg",
        "--storage",
        pg_url,
        "--run-dir",
        str(tmp_path / "t"),
    )
    a = start_muop(*args, "--workers", "2")  # as if on two machines: one with 2 workers, and one with 1 (here)
    storage = resolve_storage(pg_url, tmp_path)  # one connection pool for the polling below

    def running() -> bool:
        try:
            return any(is_running(t) for t in optuna.load_study(study_name="pg", storage=storage).trials)
        except KeyError:  # not created yet
            return False

    try:  # this process joins once the other command's workers run trials (it starts much faster)
        wait_for(running, what="a running trial", alive=a, every=0.2)
        code, out, err = muop_cli(*args)
        outs = [a.communicate(timeout=300), (out, err)]
    finally:
        kill(a)
    assert a.returncode == 0 and code == 0, outs
    st = optuna.load_study(study_name="pg", storage=pg_url)
    assert states(st) == {"COMPLETE": 8}
    assert len({t.user_attrs["muop_pid"] for t in st.trials}) >= 2  # the work was shared
    code, out, err = muop_cli(  # the transfer, in this process
        "transfer",
        "--config",
        str(cfg),
        "--study",
        "pg",
        "--storage",
        pg_url,
        "--target-modes",
        "8",
        "--out",
        str(tmp_path / "tr"),
    )
    assert code == 0, err
    doc = json.loads((tmp_path / "tr" / "transfer.json").read_text())
    assert doc["storage"].startswith("postgresql://postgres:***@127.0.0.1")
    texts = [out, err, *(x for pair in outs for x in pair)]
    texts += [
        f.read_text(errors="ignore")
        for f in tmp_path.rglob("*")
        if f.is_file() and f.suffix in (".json", ".jsonl", ".yaml", ".md", ".journal")
    ]
    assert all(PASSWORD not in t for t in texts)


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres")
def test_wrong_password_is_a_one_line_error_without_the_password(pg_url, tmp_path, muop_cli):
    bad = pg_url.replace(PASSWORD, "wrong-pw")
    code, out, err = muop_cli("tune", "--config", str(fault_config(tmp_path)), "--trials", "1", "--storage", bad)
    assert code == 2 and "wrong-pw" not in err + out
    assert (
        err.strip().startswith("muop: error: storage postgresql://postgres:***@") and len(err.strip().splitlines()) == 1
    )
    assert "Traceback" not in err


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres")
def test_opening_a_new_database_waits_for_the_schema_lock(pg_url):
    """Optuna creates its tables without a lock; muop holds an advisory lock meanwhile (CI saw
    "relation "studies" already exists" when two commands opened a new database at once)."""
    url = create_database(pg_url, "locked")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    done = threading.Event()
    with engine.connect() as holder:
        holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_SCHEMA_LOCK})
        t = threading.Thread(target=lambda: (resolve_storage(url, "."), done.set()), daemon=True)
        t.start()
        assert not done.wait(1.5)  # blocked behind the lock another process holds
        holder.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_SCHEMA_LOCK})
        assert done.wait(30)
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres")
def test_four_processes_open_one_new_database_at_once(pg_url):
    url = create_database(pg_url, "race")
    code = "import sys; from muop.study.storage import resolve_storage; resolve_storage(sys.argv[1], '.')"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True, env=ENV)
        for _ in range(4)
    ]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errs
