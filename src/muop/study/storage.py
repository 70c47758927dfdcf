"""Optuna storage chosen by a URL, and passwords kept out of every message.

As in Optuna: ``sqlite:///study.db``, ``postgresql://...``, or a journal file (``journal:PATH`` or
a path ending in ``.journal``/``.log``); ``None`` means ``RUN_DIR/optuna.journal``, so nothing has
to be set up. Passwords never appear in messages.

This module does not import torch, so worker processes that only coordinate start fast.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

from ..errors import StorageError
from ..utils.lines import first_bad_line, repair_tail

__all__ = ["redact", "resolve_storage", "storage_key", "journal_path", "split_password"]


# ``scheme://user:PASSWORD@host...``: the password runs from the first ':' after the user to the
# LAST '@' before the query ('?'), fragment ('#') or whitespace, so it may itself contain '@' or '/'.
_USERINFO = re.compile(r"(?P<pre>[\w+.-]*://[^:/@?#\s]+):(?P<pw>[^?#\s]*)@")
_QUERY_PASSWORD = re.compile(r"(?i)\b(password=)[^&#\s]*")  # ?password=..., &password=..., DSN password=...


def redact(url: str) -> str:
    """``scheme://user:secret@host?password=secret`` -> ``scheme://user:***@host?password=***``
    (never log passwords)."""
    return _QUERY_PASSWORD.sub(r"\1***", _USERINFO.sub(r"\g<pre>:***@", url))


def split_password(url: str) -> tuple[str, str | None]:
    """``scheme://user:secret@host/db`` -> (``scheme://user@host/db``, ``secret``); no password: (url, None).

    A ``password=`` query parameter is taken out too (it wins over one in the user part, as in
    libpq and SQLAlchemy). The password is returned as written in the URL (not percent-decoded).
    """
    base, q, query = url.partition("?")
    password = None
    m = _USERINFO.match(base)
    if m:
        base, password = f"{m['pre']}@{base[m.end() :]}", m["pw"]
    if q:
        kept = []
        for item in query.split("&"):
            key, eq, value = item.partition("=")
            if eq and key.lower() == "password":
                password = value
            else:
                kept.append(item)
        query = "&".join(kept)
    return base + (f"?{query}" if query else ""), password


def journal_path(url: str | None, run_dir: str | Path) -> Path | None:
    """The journal file a storage URL names (``None``: ``run_dir/optuna.journal``); None for a database URL."""
    if url is None or url.startswith("journal:") or url.endswith((".journal", ".log")):
        return Path(run_dir) / "optuna.journal" if url is None else Path(url.removeprefix("journal:"))
    return None


def resolve_storage(url: str | None, run_dir: str | Path):
    """An Optuna storage from a URL (see module docstring); ``None`` -> ``run_dir/optuna.journal``."""
    path = journal_path(url, run_dir)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        _check_journal(path)
        return JournalStorage(JournalFileBackend(str(path)))
    if "://" not in url:
        raise StorageError(f"storage {url!r}: expected an Optuna URL (sqlite:///..., postgresql://...) or journal:PATH")
    for attempt in range(3):
        try:
            with _schema_lock(url):  # dead workers are found by muop.study.coordination's own heartbeat
                return optuna.storages.RDBStorage(url)
        except Exception as e:  # noqa: BLE001 - unreachable server, bad driver, ...
            if _schema_race(e) and attempt < 2:
                time.sleep(0.5 + attempt)  # several workers created the schema of a new database at once
                continue
            hint = " (install the driver: pip install 'muop[postgres]')" if isinstance(e, ImportError) else ""
            raise StorageError(
                f"storage {redact(url)} cannot be opened: {type(e).__name__}: {redact(str(e)).splitlines()[0]}{hint}"
            ) from None
    raise AssertionError("unreachable")


def _check_journal(path: Path) -> None:
    """Repair a journal's torn last record (under Optuna's own lock on it, so no writer is midway), and
    refuse one with a damaged record inside, in one line that says how to repair it."""
    if not path.exists():
        return
    lock = JournalFileSymlinkLock(str(path))
    lock.acquire()
    try:  # both under the lock: a writer midway through a record would look like damage
        repair_tail(path)
        bad = first_bad_line(path)
    finally:
        lock.release()
    if bad is not None:
        raise StorageError(
            f"journal {path}: line {bad} is not a JSON record (the file was damaged); keep a copy, then cut the "
            f"file back to its first {bad - 1} lines (head -n {bad - 1}) to recover the trials recorded before it"
        )


# Any 64-bit number no other program is likely to use: the advisory lock that serialises the
# creation of Optuna's tables when several workers open a new PostgreSQL database at once.
_PG_SCHEMA_LOCK = 0x6D756F70  # "muop"


@contextmanager
def _schema_lock(url: str) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while Optuna creates (or checks) its tables; no-op elsewhere.

    Optuna's ``RDBStorage`` runs ``CREATE TABLE`` for a new database without a lock, so two
    processes that open the same new database at once can fail with "relation already exists"."""
    if not url.startswith("postgresql"):
        yield
        return
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_SCHEMA_LOCK})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_SCHEMA_LOCK})
    finally:
        engine.dispose()


def _schema_race(e: Exception) -> bool:
    """Whether opening a storage failed only because another process created the schema meanwhile."""
    return "IntegrityError" in type(e).__name__ or "already exists" in str(e)


def storage_key(url: str | None, run_dir: str | Path) -> str:
    """A string naming the storage (absolute journal path or redacted URL), for locks and records."""
    path = journal_path(url, run_dir)
    return redact(url) if path is None else "journal:" + str(path.resolve())
