"""Test helper for the command-line tests: every (sub)parser of ``muop``, and a stand-in for the
commands' progress bar (:func:`muop.cli.common.progress_bar`)."""

import argparse
import os

from muop.cli import main


def parsers(p: argparse.ArgumentParser, name: str = "muop"):
    """(name, parser) for the parser and every subcommand below it."""
    yield name, p
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for sub_name, sub in a.choices.items():
                yield from parsers(sub, f"{name} {sub_name}")


class Bars:
    """Stands in for the progress bar; keeps each task's last state."""

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


def assert_refused(argv: list[str], match: str, tmp_path, monkeypatch, capsys) -> None:
    """``muop ARGV --out o`` in ``tmp_path``: exit 2, ``match`` in the one last line of stderr, no
    traceback, nothing written."""
    monkeypatch.chdir(tmp_path)
    try:
        code = main([*argv, "--out", "o"])
    except SystemExit as e:  # argparse's errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert match in err.strip().splitlines()[-1] and "Traceback" not in err
    assert os.listdir(tmp_path) == []
