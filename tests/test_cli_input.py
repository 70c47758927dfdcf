"""The command line's input handling: help text, option names and types, values that look like
options, output directories checked before any work, progress bars."""

import argparse
import io
import os
import subprocess
import sys
from dataclasses import fields

import pytest
import yaml

from conftest import TINY
from muop import cli
from muop.data.problems import PROBLEMS


def _parsers(p: argparse.ArgumentParser, name: str = "muop"):
    """(name, parser) for the parser and every subcommand below it."""
    yield name, p
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for sub_name, sub in a.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_command_and_option_is_described_and_shows_its_default():
    for name, p in _parsers(cli.build_parser()):
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


def test_param_help_lists_each_problem_s_keys(monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # no line breaks inside the lists
    gen = dict(_parsers(cli.build_parser()))["muop data generate"]
    text = gen.format_help()
    for name, prob in PROBLEMS.items():
        assert f"{name}: {', '.join(f.name for f in fields(prob.params_type))}" in text


def test_data_generate_takes_threads_and_the_old_workers_spelling_quietly(capsys):
    ap = cli.build_parser()
    base = ["data", "generate", "burgers", "--n-train", "2", "--n-test", "1", "--resolution", "16", "--out", "d.h5"]
    assert ap.parse_args(base).threads == 2
    assert ap.parse_args([*base, "--threads", "3"]).threads == 3
    capsys.readouterr()
    assert ap.parse_args([*base, "--workers", "4"]).threads == 4
    assert "--workers is deprecated here; use --threads" in capsys.readouterr().err
    help_text = dict(_parsers(ap))["muop data generate"].format_help()
    assert "--threads" in help_text and "--workers" not in help_text


def test_negative_looking_values_are_attached_to_their_option():
    ap = cli.build_parser()
    fix = cli._attach_negative_values
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
        code = cli.main(args)
    except SystemExit as e:  # argparse's errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert needle in err.strip().splitlines()[-1] and "expected one argument" not in err
    assert sorted(os.listdir(tmp_path)) == before  # nothing written, not even a data cache


def test_a_negative_lr_range_gets_its_own_message_from_the_console_script(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "muop.cli", "sweep", "--modes", "4,8", "--lrs", "-1e-3,1e-1,3", "--out", "x"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert (
        r.returncode == 2
        and r.stderr.strip()
        == "muop: error: --lrs '-1e-3,1e-1,3': LR range lo=-0.001, hi=0.1, n=3: expected 0 < lo < hi and n >= 2"
    )
    assert os.listdir(tmp_path) == []


class _Bars:
    """Stands in for :func:`muop.cli._progress`; keeps each task's last state."""

    def __init__(self):
        self.tasks = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, description, total=None, **kw):
        self.tasks.append({"description": description, "total": total, "updates": 0})
        return len(self.tasks) - 1

    def update(self, task, **kw):
        self.tasks[task].update(kw, updates=self.tasks[task]["updates"] + 1)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bars_are_quiet_unless_stderr_is_a_terminal(monkeypatch):
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert cli._progress().disable
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert not cli._progress().disable


def test_train_shows_its_epochs(tmp_path, monkeypatch):
    bars = _Bars()
    monkeypatch.setattr(cli, "_progress", lambda: bars)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    assert cli.main(["train", "--config", "tiny.yaml", "--set", "train.epochs=2", "--out", "run"]) == 0
    (task,) = bars.tasks
    assert task["total"] == 2 and task["completed"] == 2 and task["updates"] == 2


def test_transfer_shows_the_target_run_and_the_direct_trials(tmp_path, monkeypatch):
    import muop.transfer

    def fake_transfer(
        cfg, study, modes, width, out, storage, run_dir, compare_direct, progress=None, target_overrides=None
    ):
        for i in range(3):
            progress("direct", i + 1, 3)
        run = {"modes": [8], "width": 16, "seconds": 1.0}
        return {
            "proxy": {**run, "best_test_rel_l2": 0.1},
            "target": {**run, "test_rel_l2": 0.1},
            "direct": {"best_test_rel_l2": 0.1, "seconds": 3.0},
            "cost_ratio_seconds": 0.5,
            "cost_ratio_flops": 0.5,
        }

    bars = _Bars()
    monkeypatch.setattr(cli, "_progress", lambda: bars)
    monkeypatch.setattr(muop.transfer, "transfer", fake_transfer)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["transfer", "--target-width", "16", "--compare-direct", "--out", "t"]) == 0
    target, direct = bars.tasks
    assert target["description"] == "training the target" and target["completed"] == target["total"]
    assert "trials" in direct["description"] and (direct["completed"], direct["total"]) == (3, 3)
