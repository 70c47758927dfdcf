"""Files of JSON lines that muop appends to (Optuna journals, ``runs.jsonl``, ``metrics.jsonl``): torn tails.

A crash, a kill or a full disk can leave the last line of such a file cut short. :func:`repair_tail`
cuts the file back to its last complete line, keeps what it cut in a backup file beside it
(``NAME.torn-<unix time>``) and says so in one warning line on the ``muop`` logger; no complete
line is ever dropped. A line in the *middle* of a file that is not JSON is not a torn tail:
:func:`first_bad_line` finds it, so the caller can stop with one line that says how to repair it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

__all__ = ["repair_tail", "first_bad_line", "torn_backup"]

log = logging.getLogger("muop")


def _is_json(line: bytes) -> bool:
    try:
        json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def torn_backup(path: Path) -> Path:
    """A new file name beside ``path`` for bytes cut from it: ``NAME.torn-<unix time>[-k]``."""
    stamp = int(time.time())
    out, k = path.with_name(f"{path.name}.torn-{stamp}"), 1
    while out.exists():
        out, k = path.with_name(f"{path.name}.torn-{stamp}-{k}"), k + 1
    return out


def repair_tail(path: str | Path) -> Path | None:
    """Cut a torn last line off ``path``; returns the backup holding the cut bytes (None: nothing to cut).

    The tail is torn when the last line is not a JSON object. A last line that is a whole JSON
    object but lost its newline gets the newline back (records are objects, and no prefix of an
    object is one). Call it while no other process appends to the file (hold the file's lock).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    with open(path, "rb") as f:
        f.seek(max(0, size - (1 << 20)))  # a record is far shorter than 1 MiB
        tail = f.read()
    body, nl, last = tail.rstrip(b"\n").rpartition(b"\n")
    if _is_json(last) and last.lstrip().startswith(b"{"):
        if not tail.endswith(b"\n"):  # a whole record whose newline was cut off: complete it
            with open(path, "ab") as f:
                f.write(b"\n")
        return None
    keep = size - len(tail) + (len(body) + len(nl) if nl else 0)
    if not nl and size > len(tail):  # no newline in the last MiB: not a torn record, leave it to the reader
        return None
    backup = torn_backup(path)
    with open(path, "rb") as f:
        f.seek(keep)
        backup.write_bytes(f.read())
    with open(path, "r+b") as f:
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    log.warning(
        "muop: %s ended with a torn record (%d bytes, cut by a crash or a full disk); kept every complete "
        "record and moved the torn bytes to %s",
        path,
        size - keep,
        backup,
    )
    return backup


def first_bad_line(path: str | Path) -> int | None:
    """The 1-based number of the first line of ``path`` that is not JSON (None: every line is)."""
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            if line.strip() and not _is_json(line):
                return number
    return None
