"""One file lock for every process that shares a file on this machine (no torch import).

``FileLock(path)`` is an exclusive advisory ``fcntl.flock`` on ``path`` (created if missing). It
blocks until the holder releases it or dies: the kernel drops a dead process's lock, so a killed
worker or generator never leaves a stale lock behind. ``release`` is idempotent, so code that must
let go early (a trial that has been admitted) can release it inside the ``with`` block.
Use it for the admission of trials, for appending sweep records and for generating a cached data
file that several commands may ask for at once. :class:`RunDirLock` is the non-blocking kind: one
writer per run directory, and a second command is refused at once with the holder's name.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path

from ..errors import UsageError

__all__ = ["FileLock", "RunDirLock", "DirectoryInUse"]


class FileLock:
    """Exclusive lock on ``path`` (a small sidecar file such as ``data.h5.lock``)."""

    def __init__(self, path: str | Path) -> None:
        self.path, self._fd = Path(path), None

    def acquire(self) -> None:
        """Block until this process holds the lock."""
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Let go of the lock (no-op when not held)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class DirectoryInUse(UsageError):
    """Another live process holds the run directory's lock."""


class RunDirLock:
    """One writer per run directory: an exclusive, non-blocking lock on ``DIR/.muop.lock``, held for
    the whole life of a run.

    :meth:`acquire` fails at once with :class:`DirectoryInUse` naming the holder (host, process,
    start time) when another live process holds it. The kernel drops the lock of a process
    that dies, so the lock of a killed run is taken over without anyone deleting a file.
    """

    NAME = ".muop.lock"

    def __init__(self, directory: str | Path, what: str = "--out") -> None:
        self.path, self.what, self._fd = Path(directory) / self.NAME, what, None

    def acquire(self) -> RunDirLock:
        """Take the lock or raise :class:`DirectoryInUse`; returns ``self``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise DirectoryInUse(
                f"{self.what} {self.path.parent}: another muop command is writing this run directory ({holder}); "
                "wait for it to finish, or use another directory"
            ) from None
        me = f"host {socket.gethostname()}, pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}"
        os.ftruncate(fd, 0)
        os.pwrite(fd, me.encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Let go of the lock (no-op when not held)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunDirLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
