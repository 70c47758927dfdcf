"""One file lock for every process that shares a file on this machine (no torch import).

``FileLock(path)`` is an exclusive advisory ``fcntl.flock`` on ``path`` (created if missing). It
blocks until the holder releases it or dies: the kernel drops a dead process's lock, so a killed
worker or generator never leaves a stale lock behind. ``release`` is idempotent, so code that must
let go early (a trial that has been admitted) can release it inside the ``with`` block.
Use it for the admission of trials, for appending sweep records and for generating a cached data
file that several commands may ask for at once.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["FileLock"]


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
