"""The ``muop`` command (muop.cli.app): its parser, help and version, bad input mapped to exit code 2 and
one ``muop: error:`` line (no traceback, no password, nothing written), ``--nproc`` checks made before
any process starts, and the console script's own exit path (a real process where that is the point).
"""

import argparse
import os
import subprocess
import sys

import pytest

import muop.cli.app
from cli_helpers import parsers
from muop.cli import build_parser, main, run


def test_help_and_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and "coord-check" in out
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("muop ")


def test_every_command_and_option_is_described_and_shows_its_default():
    for name, p in parsers(build_parser()):
        if name != "muop":
            assert p.description, f"{name}: no description"
        for a in p._actions:
            if (
                isinstance(a, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction))
                or a.help == argparse.SUPPRESS
            ):
                continue
            shown = f"{name} {'/'.join(a.option_strings) or a.dest}"
            assert a.help, f"{shown}: no help"
            if a.default not in (None, False, [], argparse.SUPPRESS):
                assert "default" in p._get_formatter()._expand_help(a), f"{shown}: default {a.default!r} not shown"


@pytest.mark.parametrize(
    "args,needle",
    [
        (["coord-check", "--modes", "1,2", "--out", "x"], "K >= 2"),
        (["coord-check", "--widths", "16,x", "--out", "x"], "comma-separated"),
        (["coord-check", "--widths", "16,32", "--lr", "-1", "--out", "x"], "must be positive"),
        (["coord-check", "--modes", "4,8", "--widths", "4,8", "--out", "x"], "not allowed with"),
        (["coord-check", "--modes", "4,200", "--grid", "32", "--out", "x"], "exceed"),
        # issue #5: the run-config checks, through train / sweep / tune
        (["train", "--set", "model.modes=[200]", "--out", "x"], "model.modes=[200]: more than the 256 grid"),
        (["sweep", "--modes", "8,400", "--lrs", "1e-3,1e-2,3", "--out", "x"], "model.modes=[400]"),
        (["sweep", "--modes", "8,16", "--lrs", "1e-2,1e-3,3", "--out", "x"], "expected 0 < lo < hi"),
        (["sweep", "--modes", "8,16", "--lrs", "1e-3,1e-2,0", "--out", "x"], "n >= 2"),
        (["train", "--set", "data.n_train=-5", "--out", "x"], "data.n_train=-5: expected a positive integer"),
        (["train", "--set", "model.width=0", "--out", "x"], "model.width=0"),
        (
            ["train", "--set", "data.problem=null", "--set", "data.path=missing.h5", "--out", "x"],
            "data.path='missing.h5': expected an existing data file",
        ),
        (["train", "--set", "model.colour=red", "--out", "x"], "unknown key"),
        (
            ["tune", "--trials", "2", "--storage", "postgresql://u:pw1234@127.0.0.1:1/db", "--run-dir", "x"],
            "postgresql://u:***@127.0.0.1:1/db cannot be opened",
        ),
        (["tune", "--trials", "2", "--storage", "not-a-url", "--run-dir", "x"], "expected an Optuna URL"),
        (["tune", "--trials", "2", "--workers", "0", "--run-dir", "x"], "must be a positive integer"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(args, needle, tmp_path, monkeypatch, capsys):
    """In process (an exception other than the handled ones would fail the test as a traceback
    would); the console script's own exit path is checked by the subprocess test below."""
    monkeypatch.chdir(tmp_path)
    try:
        rc = main(args)
    except SystemExit as e:  # argparse's usage errors
        rc = e.code
    out, err = capsys.readouterr()
    assert rc == 2
    assert needle in err and len([line for line in err.splitlines() if line.startswith("muop")]) == 1
    assert "pw1234" not in err + out
    assert not (tmp_path / "x").exists()  # nothing written on bad input


@pytest.mark.slow
@pytest.mark.parametrize(
    "args,needle",
    [
        (["coord-check", "--widths", "16,x", "--out", "x"], "comma-separated"),  # argparse
        (["train", "--set", "model.width=0", "--out", "x"], "model.width=0"),  # a config check
        (
            ["tune", "--trials", "2", "--storage", "postgresql://u:pw1234@127.0.0.1:1/db", "--run-dir", "x"],
            "postgresql://u:***@127.0.0.1:1/db cannot be opened",
        ),
    ],
)
def test_bad_input_through_the_console_script(args, needle, tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "muop.cli", *args], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert r.returncode == 2
    assert needle in r.stderr
    assert "Traceback" not in r.stderr and "pw1234" not in r.stderr + r.stdout
    assert not (tmp_path / "x").exists()


def test_a_negative_lr_range_gets_its_own_message_from_the_console_script(tmp_path, monkeypatch, capsys):
    """The console script's own path (``run()`` reading ``sys.argv``), in this process."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["muop", "sweep", "--modes", "4,8", "--lrs", "-1e-3,1e-1,3", "--out", "x"])
    with pytest.raises(SystemExit) as e:
        run()
    assert (
        e.value.code == 2
        and capsys.readouterr().err.strip()
        == "muop: error: --lrs '-1e-3,1e-1,3': LR range lo=-0.001, hi=0.1, n=3: expected 0 < lo < hi and n >= 2"
    )
    assert os.listdir(tmp_path) == []


_INTERRUPTED = """
import ctypes, sys
import muop.cli.app as app
try:  # the CPython 3.11 flag that an interrupt inside some C code leaves set (see muop.cli.app.run)
    ctypes.c_int.in_dll(ctypes.pythonapi, "_Py_UnhandledKeyboardInterrupt").value = 1
except ValueError:
    sys.exit(99)
app.main = lambda: {code}
app.run()
"""


@pytest.mark.slow
@pytest.mark.parametrize(("code", "status"), [(130, 130), (0, -2)])
def test_interrupted_run_exits_130_even_with_cpython_s_interrupt_flag_set(tmp_path, code, status):
    """Run as ``python -m``, where CPython checks the flag at shutdown. (0, -2) is the control: the
    flag really makes CPython kill itself with SIGINT, so (130, 130) tests muop's exit, not luck."""
    (tmp_path / "interrupted.py").write_text(_INTERRUPTED.format(code=code))
    r = subprocess.run([sys.executable, "-m", "interrupted"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    if r.returncode == 99:
        pytest.skip("this CPython has no _Py_UnhandledKeyboardInterrupt flag")
    assert r.returncode == status, r.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        (
            ["train", "--config", "missing.yaml", "--out", "x", "--nproc", "2"],
            "config file missing.yaml does not exist",
        ),
        (
            ["train", "--set", "train.batch_size=1", "--out", "x", "--nproc", "2"],
            "train.batch_size=1: smaller than the 2 processes",
        ),
        (["transfer", "--out", "x", "--nproc", "2"], "give a target"),
    ],
)
def test_bad_input_under_nproc_is_one_line_before_any_process_starts(args, needle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(muop.cli.app, "launch", lambda *a: pytest.fail("launched despite bad input"))
    assert main(args) == 2
    assert not (tmp_path / "x").exists()
