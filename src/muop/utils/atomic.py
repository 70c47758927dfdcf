"""Write a file so that readers see the old content or the new one, never a half-written file.

The content goes to a temporary file beside ``PATH`` (one per writer, so processes writing the
same file at once do not mix their bytes) and is then renamed over ``PATH`` (``os.replace`` is atomic
on POSIX file systems), so a kill in the middle leaves the previous file intact.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path: str | Path, content: str | bytes | Callable[[Path], None]) -> Path:
    """Replace ``path`` atomically with ``content``; returns ``path``.

    ``content`` is text (UTF-8), bytes, or a function that writes the temporary file it is given
    (e.g. ``lambda tmp: torch.save(obj, tmp)``).
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")  # one per writer
    os.close(fd)
    tmp = Path(name)
    try:
        if callable(content):
            content(tmp)
        elif isinstance(content, bytes):
            tmp.write_bytes(content)
        else:
            tmp.write_text(content, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
