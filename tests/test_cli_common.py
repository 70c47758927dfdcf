"""What the commands share (muop.cli.common): values that look like options reach their option, counts
are positive, output directories are checked before any work, progress bars only on a terminal."""

import io
import os
import sys

import pytest

from muop.cli import build_parser, main
from muop.cli.common import attach_negative_values, progress_bar


def test_negative_looking_values_are_attached_to_their_option():
    ap = build_parser()
    fix = attach_negative_values
    assert fix(ap, ["sweep", "--lrs", "-1e-3,1e-1,3", "--seeds", "-1,2", "--out", "x"]) == [
        "sweep",
        "--lrs=-1e-3,1e-1,3",
        "--seeds=-1,2",
        "--out",
        "x",
    ]
    assert fix(ap, ["data", "generate", "burgers", "--param", "-x"]) == ["data", "generate", "burgers", "--param", "-x"]
    assert fix(ap, ["coord-check", "--out", "data", "--grid", "-4"]) == ["coord-check", "--out", "data", "--grid=-4"]
    assert fix(ap, ["sweep", "--compare-direct", "-1"]) == ["sweep", "--compare-direct", "-1"]  # not sweep's option
    assert fix(ap, ["data", "info", "--", "-1e-3"]) == ["data", "info", "--", "-1e-3"]


_CC = ["coord-check", "--widths", "8,16", "--steps", "1", "--seeds", "1", "--grid", "16", "--depth", "1"]


_SWEEP = ["sweep", "--modes", "4,8", "--lrs", "1e-3,1e-1,3"]


_GEN = ["data", "generate", "burgers", "--n-train", "2", "--n-test", "1", "--resolution", "16"]


@pytest.mark.parametrize(
    "args,needle",
    [
        # 2. counts and threads are positive; --threads is the new name
        ([*_GEN, "--threads", "0", "--out", "d.h5"], "argument --threads: '0' must be a positive integer"),
        ([*_GEN, "--workers", "0", "--out", "d.h5"], "argument --workers: '0' must be a positive integer"),
        ([*_GEN, "--chunk-size", "0", "--out", "d.h5"], "argument --chunk-size: '0' must be a positive integer"),
        (
            ["data", "generate", "burgers", "--n-train", "0", "--n-test", "1", "--resolution", "16", "--out", "d.h5"],
            "argument --n-train: '0' must be a positive integer",
        ),
        # 3. negative values reach their own parsers
        (
            ["sweep", "--modes", "4,8", "--lrs", "-1e-3,1e-1,3", "--out", "x"],
            "--lrs '-1e-3,1e-1,3': LR range lo=-0.001, hi=0.1, n=3: expected 0 < lo < hi",
        ),
        ([*_SWEEP, "--seeds", "-1,2", "--out", "x"], "--seeds '-1,2': expected seeds from 0 to 2**31"),
        ([*_SWEEP, "--seeds", "-2", "--out", "x"], "--seeds '-2': expected at least 1"),
        # 4. sizes and counts that must be positive
        (["transfer", "--target-width", "0", "--out", "x"], "argument --target-width: '0' must be a positive integer"),
        (
            ["transfer", "--target-width", "-8", "--out", "x"],
            "argument --target-width: '-8' must be a positive integer",
        ),
        (["transfer", "--out", "x"], "give a target: --target-modes, --target-width and/or --target-depth"),
        (["tune", "--trials", "0", "--run-dir", "x"], "argument --trials: '0' must be a positive integer"),
        *[
            ([*_CC, opt, "0", "--out", "x"], f"argument {opt}: '0' must be a positive integer")
            for opt in ("--steps", "--seeds", "--batch", "--depth", "--width", "--grid")
        ],
        (
            ["coord-check", "--widths", "8,16", "--fixed-modes", "-1", "--out", "x"],
            "argument --fixed-modes: '-1' must be a positive integer",
        ),
        # 5. output directories that cannot be written, refused before any work
        (["train", "--out", "afile"], "--out afile: not a writable directory (afile is not a directory)"),
        (["train", "--out", "afile/run"], "--out afile/run: not a writable directory (afile is not a directory)"),
        (
            ["train", "--out", "/proc/nope/run"],
            "--out /proc/nope/run: not a writable directory (cannot create files in /proc",
        ),
        (
            ["train", "--set", "data.cache_dir=/proc/nope", "--out", "x"],
            "data.cache_dir=/proc/nope: not a writable directory",
        ),
        ([*_CC, "--out", "/proc/nope"], "--out /proc/nope: not a writable directory"),
        ([*_CC, "--out", "afile"], "--out afile: not a writable directory"),
        ([*_SWEEP, "--out", "afile/sweep"], "--out afile/sweep: not a writable directory"),
        (
            [*_SWEEP, "--out", "x", "--storage", "journal:/proc/nope/s.journal"],
            "--storage journal:/proc/nope/s.journal: not a writable directory",
        ),
        (["tune", "--trials", "1", "--run-dir", "/proc/nope"], "--run-dir /proc/nope: not a writable directory"),
        (["tune", "--trials", "1", "--run-dir", "afile"], "--run-dir afile: not a writable directory"),
        (
            ["tune", "--trials", "1", "--storage", "journal:afile/t.journal"],
            "--storage journal:afile/t.journal: not a writable directory (afile is not a directory)",
        ),
        (
            ["tune", "--trials", "1", "--storage", "sqlite:////proc/nope/t.db"],
            "--storage sqlite:////proc/nope/t.db: not a writable directory",
        ),
        (
            ["tune", "--trials", "1", "--run-dir", "x", "--set", "data.cache_dir=afile"],
            "data.cache_dir=afile: not a writable directory",
        ),
        (["transfer", "--target-width", "8", "--out", "/proc/nope"], "--out /proc/nope: not a writable directory"),
        (
            ["transfer", "--target-width", "8", "--out", "x", "--run-dir", "afile"],
            "--run-dir afile: not a writable directory",
        ),
        ([*_GEN, "--out", "afile/d.h5"], "--out afile/d.h5: not a writable directory (afile is not a directory)"),
        ([*_GEN, "--out", "/proc/nope/d.h5"], "--out /proc/nope/d.h5: not a writable directory"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(args, needle, tmp_path, monkeypatch, capsys):
    """In this process (a subprocess per case costs seconds of imports); a bug would raise here."""
    (tmp_path / "afile").write_text("a file, not a directory\n")
    before = sorted(os.listdir(tmp_path))
    monkeypatch.chdir(tmp_path)
    try:
        code = main(args)
    except SystemExit as e:  # argparse's errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert needle in err.strip().splitlines()[-1] and "expected one argument" not in err
    assert sorted(os.listdir(tmp_path)) == before  # nothing written, not even a data cache


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bars_are_quiet_unless_stderr_is_a_terminal(monkeypatch):
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_bar().disable
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert not progress_bar().disable
