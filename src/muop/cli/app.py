"""The ``muop`` command: the parser of every subcommand, and errors mapped to one line and an exit code.

Each subcommand is a thin layer over the Python API, in its own module (``add_parser`` and its
``run_*``). Bad input exits with code 2 and a one-line ``muop: error: ...`` message, never a
traceback; trials that keep failing, workers that keep dying and a data-parallel process that died exit
with 1; Ctrl-C with 130.
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..config import load_config
from ..errors import InputError, was_interrupted
from ..study import TrialsFailing, WorkersLost, configure_optuna_logging, redact, with_validation
from ..study.run import quiet_interrupts
from ..training import launch
from ..training.distributed import LAUNCHED, PeerLost, check_batch
from ..utils import muop_version
from ..workflows import check_ladder, check_target
from . import coord, data, demo, sweep, train, transfer, tune
from .common import attach_negative_values, check_outputs, os_error

__all__ = ["build_parser", "main", "run"]

#: The subcommands, in the order ``muop --help`` lists them.
COMMANDS = (coord, demo, data, train, sweep, tune, transfer)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="muop", description="μP for Fourier Neural Operators: tune a small FNO, train the big one."
    )
    ap.add_argument("--version", action="version", version=f"muop {muop_version()}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return ap


def _preflight(args: argparse.Namespace) -> None:
    """The checks a data-parallel command makes before its processes start: the config, the output
    directories, the target, and a batch that gives every process a sample."""
    if getattr(args, "command", None) == "transfer":
        check_target(args.target_modes, args.target_width, args.target_depth)
        if args.proxies is not None or args.from_sweep is not None:
            check_ladder(args.proxies, args.from_sweep, args.target_modes, args.target_width, args.target_depth)
    cfg = load_config(args.config, args.set)
    check_outputs(args, cfg)
    # the target trains on the split the proxy was tuned on: the training samples less the validation ones
    n_val = with_validation(cfg).data.n_val if args.command == "transfer" else cfg.data.n_val
    check_batch(cfg.train.batch_size, cfg.data.n_train - n_val, args.nproc)


def _without_nproc(argv: list[str]) -> list[str]:
    """``argv`` without its ``--nproc N`` (the launched processes are the N)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``muop`` console script; returns the exit code."""
    configure_optuna_logging()
    quiet_interrupts()  # Ctrl-C inside a finalizer: no traceback from Python either
    given = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(attach_negative_values(parser, given))
    if not getattr(args, "command", None):  # usage and one line, as argparse reports a usage error
        parser.print_usage(sys.stderr)
        names = ", ".join(next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices)
        print(f"muop: error: give a command: one of {names} (muop --help describes them)", file=sys.stderr)
        return 2
    try:
        if getattr(args, "nproc", 1) > 1 and "WORLD_SIZE" not in os.environ:
            _preflight(args)  # bad input: one line here, not one traceback per process
            return launch(args.nproc, _without_nproc(given))
        return int(args.func(args) or 0)
    except InputError as e:  # a bad value: its message names it
        print(f"muop: error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    except OSError as e:  # a file or directory that cannot be read or written
        print(f"muop: error: {os_error(e)}", file=sys.stderr)
        return 2
    except (TrialsFailing, WorkersLost) as e:  # trials that keep raising, workers that keep dying
        print(f"muop: error: {e}", file=sys.stderr)
        return 1
    except PeerLost as e:  # another process of a data-parallel run died: `--nproc N`'s launcher says which
        if LAUNCHED not in os.environ:
            print(f"muop: error: {e}", file=sys.stderr)
        return 1
    except BaseException as e:  # Ctrl-C, or an error raised while a library handled it
        if not was_interrupted(e):
            raise
        if LAUNCHED in os.environ:  # a process of `--nproc N`: its launcher says it once
            return 130
        again = " ".join(redact(a) for a in given)
        print(
            "muop: interrupted. Finished work is kept (trials in the study, runs in runs.jsonl, training "
            f"checkpoints); run `muop {again}` again to resume.",
            file=sys.stderr,
        )
        return 130


def run() -> NoReturn:
    """The ``muop`` console script: :func:`main`, then exit with its code.

    After Ctrl-C the process always exits with 130. Under ``python -m`` CPython would otherwise
    sometimes kill itself with SIGINT at shutdown (status -2, not 130): an interrupt that lands in
    some C code leaves its ``_Py_UnhandledKeyboardInterrupt`` flag set although :func:`main` caught
    it (seen in about 1 run in 10). So an interrupted run does its ``atexit`` work and leaves with
    ``os._exit(130)``, skipping only the interpreter's teardown.
    """
    code = main()
    if code == 130:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    sys.exit(code)
