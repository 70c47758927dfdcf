"""The command line's input handling: help text, option names and types, values that look like
options, output directories checked before any work, progress bars."""

import argparse
import os
from dataclasses import fields

import pytest

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
            if isinstance(a, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)) or a.help == argparse.SUPPRESS:
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


_GEN = ["data", "generate", "burgers", "--n-train", "2", "--n-test", "1", "--resolution", "16"]


@pytest.mark.parametrize(
    "args,needle",
    [
        # 2. counts and threads are positive; --threads is the new name
        ([*_GEN, "--threads", "0", "--out", "d.h5"], "argument --threads: '0' must be a positive integer"),
        ([*_GEN, "--workers", "0", "--out", "d.h5"], "argument --workers: '0' must be a positive integer"),
        ([*_GEN, "--chunk-size", "0", "--out", "d.h5"], "argument --chunk-size: '0' must be a positive integer"),
        (["data", "generate", "burgers", "--n-train", "0", "--n-test", "1", "--resolution", "16", "--out", "d.h5"], "argument --n-train: '0' must be a positive integer"),
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
