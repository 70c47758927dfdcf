"""What the commands share: argument builders and value parsers, output checks, the progress bar, error lines.

Value parsers (``int_list``, ``positive_float``, ``positive_int``) raise ``argparse.ArgumentTypeError``,
so argparse reports a bad value as one usage line; the ``add_*`` builders add the options several
commands take, with the same names, types and defaults everywhere.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

from ..errors import UsageError
from ..study import journal_path

__all__ = [
    "add_config",
    "add_nproc",
    "add_sizes",
    "add_study",
    "add_workers",
    "size_axis",
]

#: ``--config``'s help where the config is optional and describes the whole run.
CONFIG_HELP = "YAML run config (default: built-in defaults)"
#: ``--set``'s help, with an example.
SET_HELP = "override a config field, e.g. --set optimizer.lr=3e-3 (repeatable)"


def progress_bar() -> Progress:
    """A rich progress bar on stderr (description, bar, count, elapsed, remaining); quiet when
    stderr is not a terminal (a log file, a pipe, a test)."""
    con = Console(stderr=True)
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        "{task.completed}/{task.total}",
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=con,
        transient=True,
        disable=not con.is_terminal,
    )


def int_list(text: str) -> tuple[int, ...]:
    try:
        vals = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers (e.g. 4,8,16)") from None
    if not vals:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return vals


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return v


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive integer")
    return v


class DeprecatedAlias(argparse.Action):
    """A hidden old spelling of an option: stores into the new option's dest, with a warning."""

    def __init__(self, option_strings, dest, new: str, **kw) -> None:
        super().__init__(option_strings, dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kw)
        self.new = new

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"muop: warning: {option_string} is deprecated here; use {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_config(p: argparse.ArgumentParser, config_help: str = CONFIG_HELP, set_help: str = SET_HELP) -> None:
    """``--config FILE`` and the repeatable ``--set SECTION.FIELD=VALUE``."""
    p.add_argument("--config", help=config_help)
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE", help=set_help)


def add_workers(
    p: argparse.ArgumentParser,
    default: int | None = 1,
    help: str = "local worker processes sharing the work (default 1)",
) -> None:
    """``--workers N``: local worker processes."""
    p.add_argument("--workers", type=positive_int, default=default, help=help)


def add_nproc(p: argparse.ArgumentParser) -> None:
    """``--nproc N``: data-parallel processes under torchrun."""
    p.add_argument(
        "--nproc",
        type=positive_int,
        default=1,
        help="train data-parallel on this many local processes, launched with torchrun "
        "(default %(default)s; see train.parallel)",
    )


def add_study(p: argparse.ArgumentParser, study_help: str, storage_help: str) -> None:
    """``--study NAME``, ``--storage URL`` and ``--run-dir DIR`` (where the default journal lives)."""
    p.add_argument("--study", default="muop", help=study_help)
    p.add_argument("--storage", default=None, help=storage_help)
    p.add_argument("--run-dir", default="runs/tune", help="where the default journal lives (default runs/tune)")


#: The options of :func:`add_sizes` and the axis each one sweeps, size axes first, then budget axes.
SIZE_OPTIONS = {"modes": "modes", "widths": "width", "depths": "depth"}
BUDGET_OPTIONS = {"epochs": "epochs", "n_train": "n_train", "resolutions": "resolution", "batch_sizes": "batch_size"}


def add_sizes(p: argparse.ArgumentParser, modes: str, widths: str, depths: str, budgets: bool = False) -> None:
    """The axis, exactly one of ``--modes``, ``--widths``, ``--depths`` (each a list of integers); with
    ``budgets`` also the training-budget axes ``--epochs``, ``--n-train``, ``--resolutions``, ``--batch-sizes``."""
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument("--modes", type=int_list, help=modes)
    size.add_argument("--widths", type=int_list, help=widths)
    size.add_argument("--depths", type=int_list, help=depths)
    if budgets:
        size.add_argument("--epochs", type=int_list, help="training epochs (budget axis; each run its own schedule)")
        size.add_argument(
            "--n-train", type=int_list, help="training samples: the first N of the config's (budget axis)"
        )
        size.add_argument(
            "--resolutions", type=int_list, help="grid points per dimension, divisors of data.resolution (budget axis)"
        )
        size.add_argument("--batch-sizes", type=int_list, help="training batch sizes (budget axis)")


def size_axis(args: argparse.Namespace) -> tuple[str, tuple[int, ...]]:
    """The axis (``modes``, ``width``, ``depth`` or a budget axis) and the sizes of :func:`add_sizes`'s options."""
    for dest, axis in {**SIZE_OPTIONS, **BUDGET_OPTIONS}.items():
        if getattr(args, dest, None):
            return axis, tuple(getattr(args, dest))
    raise UsageError(f"give one axis: --{', --'.join(d.replace('_', '-') for d in {**SIZE_OPTIONS, **BUDGET_OPTIONS})}")


def _unwritable(d: Path) -> str | None:
    """Why output cannot go to directory ``d`` (``None``: it can): it, or the nearest part of it that
    exists, must be a directory in which a file can be made (tried with a probe file, removed at once)."""
    top = d
    while not top.exists() and top != top.parent:
        top = top.parent
    if not top.is_dir():
        return f"{top} is not a directory"
    try:
        fd, probe = tempfile.mkstemp(dir=top, prefix=".muop-probe-")
    except OSError as e:
        return e.strerror if top == d else f"cannot create files in {top}: {e.strerror}"
    os.close(fd)
    os.remove(probe)
    return None


def check_outputs(args: argparse.Namespace, cfg=None) -> None:
    """Refuse, before any work, output directories that cannot be written (UsageError naming the option).

    Checked: ``--out`` (its directory, for ``data generate``'s file), ``--run-dir`` where it holds
    the default journal (or Ray's files), the directory of a ``journal:PATH`` or ``sqlite:///PATH``
    storage, and the config's ``data.cache_dir`` (after ``--set``) when the data is generated.
    """
    dirs = []
    if getattr(args, "out", None):
        dirs.append(
            (f"--out {args.out}", Path(args.out).parent if getattr(args, "data_command", None) else Path(args.out))
        )
    storage = getattr(args, "storage", None)
    if getattr(args, "run_dir", None) and (storage is None or getattr(args, "backend", None) == "ray"):
        dirs.append((f"--run-dir {args.run_dir}", Path(args.run_dir)))
    file = None  # the storage's file, as muop.study.storage and SQLAlchemy read the URL
    if storage and journal_path(storage, ".") is not None:
        file = str(journal_path(storage, "."))
    elif storage and storage.startswith("sqlite:///"):
        file = storage.removeprefix("sqlite:///").partition("?")[0]
    if file and file != ":memory:":
        dirs.append((f"--storage {storage}", Path(file).parent))
    if cfg is not None and cfg.data.problem is not None:
        dirs.append((f"data.cache_dir={cfg.data.cache_dir}", Path(cfg.data.cache_dir)))
    for shown, d in dirs:
        why = _unwritable(d)
        if why:
            raise UsageError(f"{shown}: not a writable directory ({why})")


def os_error(e: OSError) -> str:
    """One line for a failed file operation: what, which path, why."""
    if e.filename is None:
        return str(e.args[0] if e.args else e)
    path = f"{e.filename}" + (f" -> {e.filename2}" if e.filename2 else "")
    return f"cannot use {path}: {e.strerror or e}"


_NEGATIVE = re.compile(r"-\.?\d")  # "-1e-3,1e-1,3", "-.5", "-2,3"


def attach_negative_values(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``--lrs -1e-3,1e-1,3`` -> ``--lrs=-1e-3,1e-1,3``, so the value reaches its own parser.

    argparse takes a token that starts with '-' for an option unless it is a plain negative number
    (``-1``, ``-.5``), and would stop at "expected one argument" instead of saying what is wrong
    with the value. Here a value that starts like a negative number is attached with '=' to an
    option that takes one value, as the option tables of the (sub)command being parsed say;
    nothing after ``--`` changes.
    """
    out, p, i = [], parser, 0
    while i < len(argv):
        tok = argv[i]
        out.append(tok)
        i += 1
        if tok == "--":
            return out + argv[i:]
        action = p._option_string_actions.get(tok)
        if action is not None and action.nargs is None and i < len(argv):
            if _NEGATIVE.match(argv[i]):
                out[-1] = f"{tok}={argv[i]}"
                i += 1
            elif not argv[i].startswith("-"):
                out.append(argv[i])  # a value, not a subcommand
                i += 1
        elif action is None:
            subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
            if subs and tok in subs[0].choices:
                p = subs[0].choices[tok]
    return out
