"""A throw-away PostgreSQL server on loopback, from the Debian packages (``postgresql``).

Used by the PostgreSQL tests and by ``benchmarks/sweep_scaling.py``. ``.ci/run`` installs the
packages; set ``MUOP_REQUIRE_POSTGRES=1`` to make a missing server an error instead of a skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator

PASSWORD = "s3cret-pw"  # the tests check that it never leaks into output files or logs


def pg_bin() -> str | None:
    """The directory of initdb/pg_ctl, or None when PostgreSQL is not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_postgres() -> Iterator[str]:
    """Start a server in a temporary directory; yields its URL (with a password); stops it after."""
    bindir = pg_bin()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    root = tempfile.mkdtemp(prefix="muop-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, pwfile, port = os.path.join(root, "data"), os.path.join(root, "pw"), _free_port()
    with open(pwfile, "w") as f:
        f.write(PASSWORD)
    if as_user:
        shutil.chown(pwfile, "postgres")
    run = lambda *a: subprocess.run([*as_user, *a], check=True, capture_output=True, text=True)  # noqa: E731
    run(
        f"{bindir}/initdb",
        "-D",
        data,
        "-U",
        "postgres",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        f"--pwfile={pwfile}",
    )
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off"
    run(f"{bindir}/pg_ctl", "-D", data, "-o", opts, "-l", os.path.join(root, "log"), "-w", "start")
    try:
        run(f"{bindir}/createdb", "-h", root, "-p", str(port), "-U", "postgres", "muop")
        yield f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/muop"
    finally:
        subprocess.run([*as_user, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def create_database(url: str, name: str) -> str:
    """Create the database ``name`` on the server of ``url``; returns the URL that names it."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return url.rpartition("/")[0] + "/" + name
