"""Atomic file writes (muop.utils.atomic)."""

import pytest

from muop.utils import atomic_write


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = atomic_write(tmp_path / "a.json", "old")

    def broken(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(path, broken)
    assert path.read_text() == "old"
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"
