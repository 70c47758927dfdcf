"""A fuzz pass over the whole command line (issue #23): hypothesis draws argument lists from every
command's real options (read from ``muop.cli``'s argparse parsers) mixed with bad values (negative,
zero, huge, NaN, empty, odd unicode, missing or broken files, unknown and repeated flags, ``--set``
overrides of every config field), and each one runs in this process.

Every draw must end in exit 0, or exit 2 with one ``error:`` line (after argparse's usage lines or
muop's warnings, nothing else), never a traceback, and must leave another run's directory and the
input files as they were.

Bounded time: the commands' work (sweeps, tuning, transfer, the coordinate check, data generation,
the demo, ``--nproc``'s launch) is replaced by a stub that stops the command once its checks have
passed (counted as accepted). Some go further: ``train`` builds its trainer (lock, state, model,
memory check, optimizer) on a tiny dataset made once and stops before the first epoch; ``data
generate`` checks everything (parameters, sizes against memory and disk) and stops before writing;
``tune`` opens its study (storage, journal) and stops before the first trial. So the fuzz covers
everything a command checks before it starts work, in milliseconds per draw, and ``derandomize``
makes the draws the same on every run.
"""

import argparse
import collections
import contextlib
import dataclasses
import hashlib
import io
import itertools
import os
import time
from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import muop.cli.app
import muop.cli.coord
import muop.cli.data
import muop.cli.sweep
import muop.cli.train
import muop.cli.transfer
import muop.cli.tune
import muop.data.problems
import muop.study.tune
import muop.training.run
import muop.workflows.demo
from cli_helpers import parsers
from muop.cli import main
from muop.config import RunConfig, load_config
from muop.data import prepare_data
from tiny_configs import tiny_burgers

#: Where each command starts its work: replaced by :func:`_accepted` (module, attribute).
WORK = [
    (muop.cli.coord, "coord_check"),
    (muop.data.problems, "write_dataset"),
    (muop.cli.sweep, "sweep_runs"),
    (muop.study.tune, "run_study"),
    (muop.study.tune, "prepare_data"),
    (muop.cli.tune, "tune_ray"),
    (muop.cli.transfer, "transfer"),
    (muop.cli.app, "launch"),
    (muop.workflows.demo, "run_demo"),
]

#: Values that are wrong for most options.
BAD = [
    "-1",
    "0",
    "-0.5",
    "1e308",
    "99999999999999999999",
    "nan",
    "inf",
    "-inf",
    "",
    " ",
    "ü∂\u202eƒ",
    "🦀",
    "1,,2",
    "x",
]
#: Good values by the option's type.
GOOD = {
    "int": ["1", "2", "3"],
    "positive_int": ["1", "2", "4"],
    "float": ["0.5", "1", "2"],
    "positive_float": ["1e-3", "0.5"],
    "int_list": ["4,8", "8", "2,4,8"],
}


class Accepted(BaseException):
    """Raised by a stubbed command's work: its checks have passed."""


def _accepted(*args, **kw):
    raise Accepted


def _built(trainer, out_dir=None):
    """Stands in for :func:`muop.training.run.complete`: the trainer is built; let go of its lock, stop."""
    if trainer.run_lock is not None:
        trainer.run_lock.release()
    raise Accepted


def _set_values(cfg: RunConfig) -> list[str]:
    """``SECTION.FIELD=VALUE`` for every field of the run config, with a good and several bad values."""
    out = []
    for section in dataclasses.fields(cfg):
        for f in dataclasses.fields(getattr(cfg, section.name)):
            v = getattr(getattr(cfg, section.name), f.name)
            good = yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()
            for val in [
                good,
                "-1",
                "0",
                "1e30",
                "1.0e+30",
                ".nan",
                "-.inf",
                "",
                "[1, 2]",
                "{a: 1}",
                "null",
                "true",
                "ü",
            ]:
                out.append(f"{section.name}.{f.name}={val}")
    return [*out, "train.epochs", "nosuch.field=1", "train.nosuch=1", "=", "train..epochs=1"]


def _inputs(base: Path) -> dict[str, list[str]]:
    """The files the draws point at (good, empty, broken, missing), written under ``base``."""
    base.mkdir()
    cfg = tiny_burgers(
        base / "cache", n_train=24, n_val=None, modes=6, train={"epochs": 1, "batch_size": 8}, tune={"lr": [1e-3, 1e-1]}
    )
    files = {
        "tiny.yaml": yaml.safe_dump(cfg),
        "empty.yaml": "",
        "dup.yaml": "data:\n  n_train: 4\ndata:\n  n_test: 4\n",
        "list.yaml": "- 1\n- 2\n",
        "broken.yaml": "data: [unclosed\n",
        "garbage.h5": "not hdf5",
        "sweep.json": "{",
    }
    for name, text in files.items():
        (base / name).write_text(text)
    paths = [str(base / n) for n in files] + [str(base / "missing.yaml"), str(base), "/proc/self/nope"]
    return {
        "config": paths[:5] + paths[-3:],
        "file": paths[5:6] + paths[-3:],
        "from_sweep": paths[6:],
        "set": _set_values(RunConfig()),
        "out": ["out", "out/sub", "", str(base / "tiny.yaml"), "/proc/self/nope", "ü∂"],
        "resolution": ["16", "64", "100000000"],
        "lrs": ["1e-4,1e-1,3", "1e-4,1e-1,1000000", "1e-1,1e-4,3"],
        "values": ["0.25,1,4", "-1,1"],
        "hparam": ["lr", "weight_decay", "nosuch"],
        "storage": ["journal:j.log", "sqlite:///s.db", "bogus://x", "journal:", "journal:/proc/self/nope/j", ""],
    }


def _values(a: argparse.Action, inputs: dict[str, list[str]]) -> st.SearchStrategy[str]:
    """Values for option (or positional) ``a``: its choices or typed good values, mixed with bad ones."""
    name = getattr(a.type, "__name__", None)
    good = [str(c) for c in a.choices] if a.choices else inputs.get(a.dest) or GOOD.get(name, ["sp,mup", "1", "a"])
    return st.one_of(st.sampled_from(good), st.sampled_from(BAD))


@st.composite
def argvs(draw, commands: list[tuple[str, argparse.ArgumentParser]], inputs: dict[str, list[str]]) -> list[str]:
    """A command and a few of its options (the required ones mostly), each with a drawn value; now and
    then an option twice, an unknown flag or a value without its option."""
    name, p = draw(st.sampled_from(commands))
    argv = name.split()[1:]
    acts = [a for a in p._actions if a.option_strings and not isinstance(a, (argparse._HelpAction,))]
    for a in p._actions:
        if not a.option_strings and not isinstance(a, argparse._SubParsersAction) and draw(st.integers(0, 9)):
            argv.append(draw(_values(a, inputs)))
    chosen = [a for a in acts if a.required and draw(st.integers(0, 9))]
    for g in p._mutually_exclusive_groups:
        if g.required and draw(st.integers(0, 9)):
            chosen.append(draw(st.sampled_from(g._group_actions)))
    if acts:
        chosen += draw(st.lists(st.sampled_from(acts), max_size=4))
    for a in draw(st.permutations(chosen)):
        argv.append(draw(st.sampled_from(a.option_strings)))
        if a.nargs != 0:
            argv.append(draw(_values(a, inputs)))
    if not draw(st.integers(0, 7)):
        argv.insert(draw(st.integers(0, len(argv))), draw(st.sampled_from(["--bogus", "-x", "--", "junk", "--out="])))
    return argv


def _snapshot(d: Path) -> dict[str, str]:
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(d.rglob("*")) if f.is_file()}


def _run(argv: list[str]) -> tuple[int | str, str]:
    """``muop ARGV`` in this process: its exit code ("accepted" when it reached its work) and stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse: --help, --version, a usage error
            code = e.code
        except Accepted:
            code = "accepted"
    return code, err.getvalue()


def _check(argv: list[str], code: int | str, err: str) -> None:
    """Exit 0 (or accepted), or 2 with one error line, and no traceback."""
    assert "Traceback" not in err, (argv, err[-3000:])
    assert code in (0, 2, "accepted"), (argv, code, err[-3000:])
    if code == 2:
        lines = err.strip().splitlines()
        errors = [ln for ln in lines if ": error:" in ln]
        assert len(errors) == 1 and lines[-1] == errors[0], (argv, err)
        rest = [ln for ln in lines[:-1] if not (ln.startswith(("usage:", " ", "muop: warning:")))]
        assert rest == [], (argv, err)


def test_no_argument_list_crashes_a_command_or_touches_another_run(tmp_path, monkeypatch):
    """Every draw: exit 0 (or reaches its work), or exit 2 with one line; no traceback; another run's
    directory and the input files unchanged; each in bounded time. The draws reach every command, and
    some get past all of a command's checks."""
    inputs = _inputs(tmp_path / "inputs")
    data = prepare_data(load_config(inputs["config"][0]).data)  # every train draw builds its trainer on it
    for module, attr in WORK:
        monkeypatch.setattr(module, attr, _accepted)
    monkeypatch.setattr(muop.training.run, "prepare_data", lambda cfg: data)
    monkeypatch.setattr(muop.training.run, "complete", _built)
    other = tmp_path / "other"  # another run's finished directory, beside this one's
    other.mkdir()
    for name in ("result.json", "metrics.jsonl", "config.yaml", "runs.jsonl", "optuna.journal"):
        (other / name).write_text(f"{name}\n")
    before = {**_snapshot(other), **_snapshot(tmp_path / "inputs")}
    (tmp_path / "warm").mkdir()
    monkeypatch.chdir(tmp_path / "warm")
    tiny = inputs["config"][0]
    sci = ["--set", "tune.lr=[1e-4,1e-1]", "--set", "optimizer.betas=[0.9,1e-3]"]  # PyYAML: 1e-4 is a string
    for argv in (["train", "--config", tiny, "--out", "w"], ["tune", "--config", tiny, "--trials", "1", *sci]):
        assert _run(argv) == ("accepted", ""), argv  # a valid command reaches its work (and warms up torch, Optuna)
    commands = list(parsers(muop.cli.app.build_parser()))
    counter, seen = itertools.count(), collections.Counter()

    @settings(
        max_examples=200,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(argv=argvs(commands, inputs))
    @example(argv=[])  # was: the help on stdout, nothing on stderr
    @example(argv=["tune", "--config", tiny, "--trials", "1", "--set", "train.seed=-1"])  # was: numpy's traceback
    @example(argv=["train", "--config", tiny, "--set", "model.projection_ratio=1e30", "--out", "o"])  # a traceback
    @example(
        argv=["train", "--config", tiny, "--set", "optimizer.name=sgd", "--set", "optimizer.momentum=-1", "--out", "o"]
    )
    def one(argv: list[str]) -> None:
        n = next(counter)
        cwd = tmp_path / f"run{n}"
        cwd.mkdir()
        os.chdir(cwd)
        t0 = time.monotonic()
        code, err = _run(argv)
        assert time.monotonic() - t0 < 5.0, argv
        _check(argv, code, err)
        assert {**_snapshot(other), **_snapshot(tmp_path / "inputs")} == before, argv
        assert {d.name for d in tmp_path.iterdir()} == {"inputs", "other", "warm", *(f"run{i}" for i in range(n + 1))}
        seen[argv[0] if argv and argv[0] in {n.split()[1] for n, _ in commands[1:]} else "muop", code != 2] += 1

    one()
    assert {c for c, _ in seen} == {"muop", *(n.split()[1] for n, _ in commands[1:])}, seen
    assert {ok for _, ok in seen} == {True, False}, seen
