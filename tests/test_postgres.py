"""A real PostgreSQL server (Debian packages, loopback) as the shared study of several commands."""

from __future__ import annotations

import json
import os

import optuna
import pytest

from pg_server import PASSWORD, local_postgres, pg_bin
from test_faults import _config, _muop, _states

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_url():
    if pg_bin() is None:
        if os.environ.get("MUOP_REQUIRE_POSTGRES"):
            pytest.fail("MUOP_REQUIRE_POSTGRES is set but PostgreSQL is not installed")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    pytest.importorskip("psycopg", reason="the postgres extra is not installed (pip install 'muop[postgres]')")
    with local_postgres() as url:
        yield url


def test_two_commands_share_one_postgres_study_and_never_leak_the_password(pg_url, tmp_path):
    cfg = _config(tmp_path, epochs=12, n_train=60)  # trials of about a second, so that every worker gets some
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
    a, b = _muop(*args, "--workers", "2"), _muop(*args)  # as if on two machines: one with 2 workers, one with 1
    outs = [p.communicate(timeout=300) for p in (a, b)]
    assert a.returncode == 0 and b.returncode == 0, outs
    st = optuna.load_study(study_name="pg", storage=pg_url)
    assert _states(st) == {"COMPLETE": 8}
    assert len({t.user_attrs["muop_pid"] for t in st.trials}) >= 2  # the work was shared
    r = _muop(
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
    out, err = r.communicate(timeout=300)
    assert r.returncode == 0, err
    doc = json.loads((tmp_path / "tr" / "transfer.json").read_text())
    assert doc["storage"].startswith("postgresql://postgres:***@127.0.0.1")
    texts = [out, err, *(x for pair in outs for x in pair)]
    texts += [
        f.read_text(errors="ignore")
        for f in tmp_path.rglob("*")
        if f.is_file() and f.suffix in (".json", ".jsonl", ".yaml", ".md", ".journal")
    ]
    assert all(PASSWORD not in t for t in texts)


def test_wrong_password_is_a_one_line_error_without_the_password(pg_url, tmp_path):
    bad = pg_url.replace(PASSWORD, "wrong-pw")
    r = _muop("tune", "--config", str(_config(tmp_path)), "--trials", "1", "--storage", bad)
    out, err = r.communicate(timeout=120)
    assert r.returncode == 2 and "wrong-pw" not in err + out
    assert (
        err.strip().startswith("muop: error: storage postgresql://postgres:***@") and len(err.strip().splitlines()) == 1
    )
    assert "Traceback" not in err


def _fresh_database(pg_url: str, name: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return pg_url.rpartition("/")[0] + "/" + name


def test_opening_a_new_database_waits_for_the_schema_lock(pg_url):
    """Optuna creates its tables without a lock; muop holds an advisory lock meanwhile (CI saw
    "relation "studies" already exists" when two commands opened a new database at once)."""
    import threading

    import sqlalchemy as sa

    from muop.storage import _PG_SCHEMA_LOCK, resolve_storage

    url = _fresh_database(pg_url, "locked")
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


def test_four_processes_open_one_new_database_at_once(pg_url):
    import subprocess
    import sys

    url = _fresh_database(pg_url, "race")
    code = "import sys; from muop.storage import resolve_storage; resolve_storage(sys.argv[1], '.')"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errs
