"""Test helper for the command-line tests: every (sub)parser of ``muop``, and a stand-in for the
commands' progress bar (:func:`muop.cli.common.progress_bar`)."""

import argparse


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
