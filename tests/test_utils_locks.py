"""One writer per run directory (:class:`muop.utils.locks.RunDirLock`): a second writer is refused at once,
naming the first; the lock of a process that died is taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from muop.errors import InputError
from muop.utils.locks import DirectoryInUse, RunDirLock


def test_a_second_writer_is_refused_naming_the_first(tmp_path):
    with RunDirLock(tmp_path / "run"):
        with pytest.raises(
            DirectoryInUse, match=rf"--out {tmp_path / 'run'}: another muop command .*pid {os.getpid()}"
        ):
            RunDirLock(tmp_path / "run").acquire()
    RunDirLock(tmp_path / "run").acquire().release()  # free again once released
    assert issubclass(DirectoryInUse, InputError)  # the CLI's exit 2, one line


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path):
    code = (
        "import sys, time; from muop.utils.locks import RunDirLock; "
        f"RunDirLock({str(tmp_path)!r}).acquire(); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DirectoryInUse, match=f"pid {holder.pid}"):
            RunDirLock(tmp_path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    RunDirLock(tmp_path).acquire().release()  # the kernel dropped the dead holder's lock: no stale file to delete
