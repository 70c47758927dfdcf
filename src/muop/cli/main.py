"""The ``muop`` command line. Each subcommand is a thin layer over the Python API.

Bad input exits with code 2 and a one-line ``muop: error: ...`` message, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import NoReturn

from ..core.rules import OPTIMIZERS, TABLES
from ..data.problems import PROBLEMS
from ..errors import InputError, UsageError
from ..models.fno import BLOCKS, FNOConfig
from ..study.storage import journal_path
from ..training.distributed import from_env, is_main_process, launch

__all__ = ["main"]


def _progress():
    """A rich progress bar on stderr (description, bar, count, elapsed, remaining); quiet when
    stderr is not a terminal (a log file, a pipe, a test)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

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


def _int_list(text: str) -> tuple[int, ...]:
    try:
        vals = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers (e.g. 4,8,16)") from None
    if not vals:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return vals


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return v


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive integer")
    return v


class _DeprecatedAlias(argparse.Action):
    """A hidden old spelling of an option: stores into the new option's dest, with a warning."""

    def __init__(self, option_strings, dest, new: str, **kw) -> None:
        super().__init__(option_strings, dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kw)
        self.new = new

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"muop: warning: {option_string} is deprecated here; use {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, values)


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


def _check_outputs(args: argparse.Namespace, cfg=None) -> None:
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
    file = None  # the storage's file, as muop.storage and SQLAlchemy read the URL
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


def _add_workers(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workers", type=_positive_int, default=1, help="local worker processes sharing the work (default 1)"
    )


def _add_coord_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "coord-check",
        help="coordinate check: per-layer output size vs model size over a few steps",
        description="Train a few steps at several model sizes and record, per layer, the RMS of its output and of "
        "its change since init. Writes coord.json and coord.png to --out.",
    )
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument("--modes", type=_int_list, help="K values to compare (width fixed at --width), e.g. 4,8,16,32")
    size.add_argument(
        "--widths", type=_int_list, help="widths to compare (modes fixed at --fixed-modes), e.g. 16,32,64,128"
    )
    size.add_argument(
        "--depths",
        type=_int_list,
        help="numbers of residual blocks to compare (width --width, modes --fixed-modes), e.g. 2,4,8,16",
    )
    p.add_argument(
        "--config",
        help="check the model of this YAML run config (any model.library; its width, modes, depth, "
        "block and residual are the fixed values) instead of the one --dim/--width/--fixed-modes/--depth/--block/--residual describe",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override a field of --config (repeatable)",
    )
    p.add_argument("--dim", type=int, choices=(1, 2, 3), default=None, help="spatial dimensions (default 1)")
    p.add_argument(
        "--parametrization",
        choices=sorted(TABLES),
        default="mup",
        help="how weights and learning rates scale with size (default mup)",
    )
    p.add_argument("--steps", type=_positive_int, default=5, help="optimizer steps (default 5)")
    p.add_argument("--lr", type=_positive_float, default=1e-2, help="base learning rate (default 1e-2)")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam", help="optimizer (default adam)")
    p.add_argument("--width", type=_positive_int, default=None, help="fixed width for --modes (default 32)")
    p.add_argument("--fixed-modes", type=_positive_int, default=None, help="fixed K per dim for --widths (default 8)")
    p.add_argument("--depth", type=_positive_int, default=None, help="Fourier layers for --modes/--widths (default 4)")
    p.add_argument(
        "--residual",
        choices=("none", "pre", "post"),
        default=None,
        help="residual blocks x + a·F(x) (default: pre for --depths, none otherwise)",
    )
    p.add_argument("--block", choices=BLOCKS, default=None, help=f"the Fourier layer (default {FNOConfig.block})")
    p.add_argument(
        "--alpha",
        type=float,
        default=0.5,
        help="depth exponent of the branch multiplier (L/L_base)^-alpha, in [0.5, 1] (default 0.5)",
    )
    p.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="ROLE[.COLUMN]=TABLE",
        help="rule-table variant, e.g. hidden.lr=sp (repeatable; see parametrization.overrides)",
    )
    p.add_argument(
        "--grid", type=_positive_int, default=None, help="points per dim (default: 64, or enough for the largest K)"
    )
    p.add_argument("--batch", type=_positive_int, default=8, help="batch size (default 8)")
    p.add_argument("--seeds", type=_positive_int, default=3, help="seeds averaged (default 3)")
    p.add_argument(
        "--input-decay",
        type=float,
        default=2.0,
        help="input spectrum ∝ (1+|k|²)^-decay; smaller is rougher (default 2)",
    )
    p.add_argument("--out", required=True, help="output directory (coord.json, coord.png)")
    p.set_defaults(func=_run_coord_check)


def _parse_overrides(items: list[str]) -> dict[str, str]:
    """``ROLE[.COLUMN]=TABLE`` strings as a mapping (the keys and tables are checked by the rules)."""
    out = {}
    for item in items:
        key, sep, src = item.partition("=")
        if not sep or not key or not src:
            raise UsageError(f"--override {item!r}: expected ROLE[.COLUMN]=TABLE, e.g. hidden.lr=sp")
        out[key.strip()] = src.strip()
    return out


def _run_coord_check(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..core.modes import max_modes
    from ..workflows.coord_check import CoordCheckConfig, coord_check, save_coord

    axis = "modes" if args.modes else "depth" if args.depths else "width"
    sizes = args.modes or args.depths or args.widths
    shape = {
        "dim": args.dim,
        "width": args.width,
        "modes": args.fixed_modes,
        "depth": args.depth,
        "block": args.block,
        "residual": args.residual,
    }
    model = None
    if args.config is not None:
        from ..config import load_config

        given = [f"--{'fixed-modes' if k == 'modes' else k}" for k, v in shape.items() if v is not None]
        if given:
            raise UsageError(
                f"{', '.join(given)} with --config: the config's model fixes them; change them with --set model.FIELD=VALUE"
            )
        model = load_config(args.config, args.set).model
        shape["dim"] = len(model.modes)  # the rest is taken from the model
    elif args.set:
        raise UsageError("--set changes a field of --config; give --config too")
    defaults = {"dim": 1, "width": 32, "modes": 8, "depth": 4, "block": FNOConfig.block, "residual": None}
    shape = {k: defaults[k] if v is None else v for k, v in shape.items()}
    grid = args.grid
    if grid is None:
        grid = 64
        need = max(sizes) if axis == "modes" else max(model.modes) if model is not None else shape["modes"]
        while min(max_modes((grid,) * shape["dim"])) < need:
            grid *= 2
    cfg = CoordCheckConfig(
        axis=axis,
        sizes=sizes,
        parametrization=args.parametrization,
        steps=args.steps,
        lr=args.lr,
        optimizer=args.optimizer,
        grid=grid,
        batch=args.batch,
        seeds=args.seeds,
        input_decay=args.input_decay,
        alpha=args.alpha,
        overrides=_parse_overrides(args.override),
        model=model,
        **shape,
    )
    _check_outputs(args)
    with _progress() as prog:
        task = prog.add_task(f"coord-check {cfg.parametrization} over {axis}", total=len(sizes) * cfg.seeds)
        doc = coord_check(cfg, progress=lambda done, total: prog.update(task, completed=done))
    j, png = save_coord(doc, args.out)
    t = Table(
        title=f"{cfg.parametrization}: change of each layer's output at step {cfg.steps}, {axis} {sizes[0]} → {sizes[-1]}"
    )
    t.add_column("layer")
    t.add_column("largest / smallest", justify="right")
    t.add_column("max / min", justify="right")
    for layer, g in doc["growth"].items():
        t.add_row(layer, f"{g['last_over_first']:.2f}", f"{g['max_over_min']:.2f}")
    Console().print(t)
    print(f"wrote {j} and {png}")
    return 0


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the built-in default job: data, SP-vs-μP sweep over width with its regret, tune a small proxy, train a big target once",
        description="Run the whole method on a small Burgers problem: generate data, sweep the learning rate over "
        "width under SP and μP and show the regret of taking the proxy's best LR, tune a small proxy, and train a "
        "bigger target once with its hyperparameters. Writes report.md to --out.",
    )
    p.add_argument(
        "--out", default="demo_out", help="output directory (default demo_out); rerun to reuse finished work"
    )
    p.add_argument("--trials", type=_positive_int, default=6, help="Optuna trials for the proxy (default 6)")
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="local worker processes (default 2, or 1 on a one-core machine)",
    )
    p.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    import time

    from rich.console import Console
    from rich.table import Table

    from ..workflows.demo import PROXY, TARGET, run_demo

    con = Console()
    t0 = time.perf_counter()
    s = run_demo(args.out, args.trials, say=lambda m: con.print(f"[bold]{m}[/bold]"), workers=args.workers)
    w1 = str(TARGET["width"])
    t = Table(title=f"muop demo ({time.perf_counter() - t0:.0f} s): the proxy's best LR at width {w1}")
    t.add_column("")
    t.add_column("SP", justify="right")
    t.add_column("μP", justify="right")
    t.add_row(
        f"regret at width {w1} (error at the proxy's LR / best - 1)",
        *[f"{100 * s['regret'][p][w1]['regret']:.1f}%" for p in ("sp", "mup")],
    )
    t.add_row(
        f"best LR, width {PROXY['width']} → {w1}",
        *[f"{s['best_lr'][p][str(PROXY['width'])]:.2e} → {s['best_lr'][p][w1]:.2e}" for p in ("sp", "mup")],
    )
    con.print(t)
    t2 = Table(title="tune small, train big (μP)")
    for c in ("", "width", "K", "test rel. L2"):
        t2.add_column(c, justify="right" if c else "left")
    pr, tg = s["proxy"], s["target"]
    t2.add_row(
        f"proxy, best of {pr['n_trials']} trials",
        str(pr["width"]),
        str(pr["modes"][0]),
        f"{pr['best_test_rel_l2']:.4g}",
    )
    t2.add_row(
        "target, proxy's hyperparameters (1 run)", str(tg["width"]), str(tg["modes"][0]), f"{tg['test_rel_l2']:.4g}"
    )
    con.print(t2)
    con.print(f"report: {Path(args.out) / 'report.md'}")
    return 0


def _add_data(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data",
        help="generate PDE datasets and inspect data files",
        description="Generate PDE datasets with muop's solvers, or inspect a data file.",
    )
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    g = dsub.add_parser(
        "generate",
        help="generate a dataset with muop's solvers (HDF5)",
        description="Solve PROBLEM for random initial conditions or coefficients and write the train and test "
        "splits to one HDF5 file, chunk by chunk (an interrupted run resumes).",
    )
    g.add_argument("problem", choices=sorted(PROBLEMS), metavar="PROBLEM", help="the PDE: %(choices)s")
    g.add_argument("--n-train", type=_positive_int, required=True, help="training samples")
    g.add_argument("--n-test", type=_positive_int, required=True, help="test samples")
    g.add_argument("--resolution", type=int, required=True, help="grid points per dimension")
    g.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    g.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a physical/solver parameter, e.g. --param nu=0.01 (repeatable); keys: {_param_keys()}",
    )
    g.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=100,
        help="samples generated at once; bounds memory (default %(default)s)",
    )
    g.add_argument("--threads", type=_positive_int, default=2, help="threads sharing each chunk (default %(default)s)")
    g.add_argument("--workers", dest="threads", type=_positive_int, action=_DeprecatedAlias, new="--threads")
    g.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default="float32",
        help="floating-point type computed and stored (default %(default)s)",
    )
    g.add_argument(
        "--device",
        default="cpu",
        help="torch device for the spectral solvers: cpu, cuda, cuda:N, mps (default %(default)s)",
    )
    g.add_argument("--out", required=True, help="output .h5 file (never overwritten; an interrupted run resumes)")
    g.set_defaults(func=_run_data_generate)
    i = dsub.add_parser(
        "info",
        help="shapes, parameters, checksum and value ranges of a data file",
        description="Print the shapes, value ranges and recorded parameters of a data file (.h5, .mat, .pt, .npz).",
    )
    i.add_argument("file", help="the data file")
    i.add_argument("--verify", action="store_true", help="recompute the checksum (muop files)")
    i.set_defaults(func=_run_data_info)


def _param_keys() -> str:
    """The keys ``--param`` takes, per problem (fields of its parameters dataclass)."""
    return "; ".join(
        f"{name}: {', '.join(f.name for f in fields(prob.params_type))}" for name, prob in sorted(PROBLEMS.items())
    )


def _parse_params(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--param {item!r}: expected KEY=VALUE")
        for conv in (int, float):
            try:
                out[key] = conv(val)
                break
            except ValueError:
                continue
        else:
            out[key] = {"true": True, "false": False}.get(val.lower(), val)
    return out


def _run_data_generate(args: argparse.Namespace) -> int:
    import torch

    from ..data import generate

    params = _parse_params(args.param)
    _check_outputs(args)
    total = args.n_train + args.n_test
    with _progress() as prog:
        task = prog.add_task(f"{args.problem} at {args.resolution}", total=total)
        path = generate(
            args.problem,
            args.out,
            args.n_train,
            args.n_test,
            args.resolution,
            seed=args.seed,
            params=params,
            chunk_size=args.chunk_size,
            workers=args.threads,
            dtype=getattr(torch, args.dtype),
            device=args.device,
            progress=lambda done, tot: prog.update(task, completed=done),
        )
    print(f"wrote {path}")
    return 0


def _run_data_info(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console
    from rich.table import Table

    from ..data import load
    from ..data.store import FORMAT

    splits = ["train", "test"]
    first = load(args.file, split="train")
    if first.meta.get("format") == FORMAT:
        if args.verify:
            from ..data import read_dataset

            read_dataset(args.file, verify=True)
        datasets = {s: (first if s == "train" else load(args.file, split=s)) for s in splits}
    else:
        datasets = {"all": first}
    t = Table(title=str(args.file))
    for col in ("split", "array", "shape", "min", "max", "mean", "std"):
        t.add_column(col, justify="right" if col not in ("split", "array") else "left")
    for split, d in datasets.items():
        for name, arr in (("inputs", d.x), ("outputs", d.y)):
            a = arr.double()
            stats = (
                (f"{a.min():.4g}", f"{a.max():.4g}", f"{a.mean():.4g}", f"{a.std():.4g}") if a.numel() else ("-",) * 4
            )
            t.add_row(split, name, str(tuple(arr.shape)), *stats)
    con = Console()
    con.print(t)
    meta = {k: v for k, v in first.meta.items() if k not in ("ident", "split")}
    con.print_json(json.dumps(meta, default=str))
    if args.verify and first.meta.get("format") == FORMAT:
        print("checksum verified")
    return 0


def _add_nproc(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--nproc",
        type=_positive_int,
        default=1,
        help="train data-parallel on this many local processes, launched with torchrun (default %(default)s; see train.parallel)",
    )


def _add_train_and_sweep(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser(
        "train",
        help="train one FNO as a YAML config says",
        description="Train one FNO on the config's data (generated once into data.cache_dir, or data.path) and "
        "report its test error. Writes config.yaml, metrics.jsonl, checkpoint.pt and result.json to --out; "
        "a rerun resumes from the checkpoint.",
    )
    t.add_argument("--config", help="YAML run config (default: built-in defaults)")
    t.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override a config field, e.g. --set optimizer.lr=3e-3 (repeatable)",
    )
    t.add_argument(
        "--out", required=True, help="run directory (config.yaml, metrics.jsonl, checkpoint.pt, result.json)"
    )
    _add_nproc(t)
    t.set_defaults(func=_run_train)
    w = sub.add_parser(
        "sweep",
        help="transfer check: test error vs LR (or another hyperparameter) at several sizes, SP vs μP, and the regret of transferring",
        description="Train every (parametrization, size, LR, seed) and write runs.jsonl, sweep.json and sweep.png. For each target size, "
        "regret = (target's error at the proxy's best LR) / (target's best error) - 1, with a 95% bootstrap interval over seeds.",
    )
    w.add_argument("--config", help="YAML run config (default: built-in defaults)")
    w.add_argument(
        "--set", action="append", default=[], metavar="SECTION.FIELD=VALUE", help="override a config field (repeatable)"
    )
    size = w.add_mutually_exclusive_group(required=True)
    size.add_argument("--modes", type=_int_list, help="K values (the first is the μP base)")
    size.add_argument("--widths", type=_int_list, help="widths (the first is the μP base)")
    size.add_argument(
        "--depths",
        type=_int_list,
        help="numbers of residual blocks (the first is the μP base; needs model.residual pre or post)",
    )
    w.add_argument(
        "--lrs",
        help="LO,HI,N: N learning rates log-spaced from LO to HI (required unless --hparam names another hyperparameter)",
    )
    w.add_argument(
        "--hparam",
        default="lr",
        metavar="NAME",
        help="the hyperparameter to sweep (default lr); any other keeps the config's LR. One of: "
        + "; ".join(f"{k}: {v}" for k, v in _sweep_hparams().items()),
    )
    w.add_argument("--values", help="comma-separated values of --hparam, e.g. 0.25,1,4 (log axis: all > 0)")
    w.add_argument(
        "--proxy",
        type=int,
        default=None,
        metavar="SIZE",
        help="the size regret is measured from (default: the smallest)",
    )
    w.add_argument("--parametrization", default="sp,mup", help="comma-separated subset of sp,mup (default both)")
    w.add_argument("--seeds", default="1", help="number of seeds N (seeds 0..N-1) or a comma list (default 1)")
    w.add_argument("--out", required=True, help="output directory (runs.jsonl, sweep.json, sweep.png); rerun to resume")
    _add_workers(w)
    w.add_argument(
        "--storage",
        default=None,
        help="share the runs through this Optuna storage (sqlite:///..., postgresql://..., journal:PATH), e.g. with other machines (default OUT/sweep.journal)",
    )
    w.set_defaults(func=_run_sweep)


def _sweep_hparams() -> dict[str, str]:
    from ..workflows.sweep import HPARAMS

    return {name: hp.doc for name, hp in HPARAMS.items()}


def _parse_values(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise UsageError(f"--values {text!r}: expected comma-separated numbers, e.g. 0.25,1,4") from None


def _parse_lrs(text: str) -> list[float]:
    from ..workflows.sweep import log_grid

    parts = text.split(",")
    if len(parts) != 3:
        raise UsageError(f"--lrs {text!r}: expected LO,HI,N, e.g. 1e-4,1e-1,7")
    try:
        lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise UsageError(f"--lrs {text!r}: expected LO,HI,N with numbers LO < HI and an integer N") from None
    try:
        return log_grid(lo, hi, n)
    except ValueError as e:
        raise UsageError(f"--lrs {text!r}: {e}") from None


def _parse_seeds(text: str) -> tuple[int, ...]:
    try:
        vals = [int(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"--seeds {text!r}: expected a count or a comma-separated list of integers") from None
    if len(vals) == 1:
        if vals[0] < 1:
            raise UsageError(f"--seeds {text!r}: expected at least 1")
        return tuple(range(vals[0]))
    if not all(0 <= v <= 1 << 31 for v in vals):  # the range of muop.sweep's seed distribution
        raise UsageError(f"--seeds {text!r}: expected seeds from 0 to 2**31")
    return tuple(vals)


def _run_train(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from ..config import load_config
    from ..training.run import train_run

    cfg = load_config(args.config, args.set)
    _check_outputs(args, cfg)
    with _progress() as prog:
        task = prog.add_task("training", total=cfg.train.epochs)
        res = train_run(
            cfg,
            out_dir=args.out,
            on_epoch=lambda r: prog.update(
                task, completed=r["epoch"], description=f"training (loss {r['train_loss']:.3g})"
            ),
            dist=from_env(cfg.train.device),
        )
    if not is_main_process():  # one report per data-parallel run
        return 0
    print(json.dumps(asdict(res), indent=1))
    print(f"wrote {args.out}")
    return 0


def _run_sweep(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..config import load_config
    from ..workflows.sweep import HPARAMS, Sweep, run_sweep

    cfg = load_config(args.config, args.set)
    if args.hparam not in HPARAMS:
        raise UsageError(
            f"--hparam {args.hparam!r}: not a hyperparameter a sweep can vary; expected one of {', '.join(HPARAMS)}"
        )
    if args.hparam == "lr" and (args.lrs is None or args.values is not None):
        raise UsageError("an LR sweep needs --lrs LO,HI,N (--values is for --hparam NAME)")
    if args.hparam != "lr" and (args.values is None or args.lrs is not None):
        raise UsageError(
            f"--hparam {args.hparam} needs --values V1,V2,... and keeps the config's LR (set it with --set optimizer.lr=...; no --lrs)"
        )
    sweep = Sweep(
        axis="modes" if args.modes else "depth" if args.depths else "width",
        sizes=tuple(args.modes or args.depths or args.widths),
        lrs=tuple(_parse_lrs(args.lrs)) if args.lrs else (),
        parametrizations=tuple(p.strip() for p in args.parametrization.split(",") if p.strip()),
        seeds=_parse_seeds(args.seeds),
        hparam=args.hparam,
        values=_parse_values(args.values) if args.values else (),
        proxy=args.proxy,
    )
    _check_outputs(args, cfg)
    with _progress() as prog:
        task = prog.add_task("sweep", total=1)
        doc = run_sweep(
            cfg,
            sweep,
            args.out,
            progress=lambda i, n, r: prog.update(
                task,
                completed=i,
                total=n,
                description=f"{r['parametrization']} {sweep.axis}={r['size']} {sweep.hparam}={r[sweep.x]:.3g}",
            ),
            workers=args.workers,
            storage=args.storage,
        )
    Console().print(_sweep_table(doc, sweep))
    print(
        "regret: the target's error at the proxy's best value over its best error, minus 1 (95% bootstrap interval over seeds); * = best at the grid's edge: widen the grid"
    )
    print(f"wrote {args.out}/sweep.json and sweep.png")
    return 0


def _sweep_table(doc: dict, sweep) -> object:
    """The sweep's summary as a rich Table: regret first, then the best value per size."""
    from rich.table import Table

    name = "LR" if sweep.hparam == "lr" else sweep.hparam
    proxies = {doc["regret_proxy"][p] for p in sweep.parametrizations}
    t = Table(
        title=f"regret of transferring {name} from {sweep.axis} {'/'.join(map(str, sorted(proxies)))}, and the best {name} per {sweep.axis}"
    )
    t.add_column(sweep.axis, justify="right")
    for p in sweep.parametrizations:
        t.add_column(f"{p} regret [95% CI]", justify="right")
    for p in sweep.parametrizations:
        t.add_column(f"{p} best {name}", justify="right")
    for s in sweep.sizes:
        cells = []
        for p in sweep.parametrizations:
            e = doc["regret"][p].get(str(s))
            cells.append(
                "proxy"
                if e is None
                else f"{100 * e['regret']:.1f}% [{100 * e['ci'][0]:.1f}, {100 * e['ci'][1]:.1f}]"
                + (" flat" if e["flat"] else "")
            )
        cells += [
            f"{doc['best_lr'][p][str(s)]:.3g}" + ("*" if doc["best_lr_at_grid_edge"][p][str(s)] else "")
            for p in sweep.parametrizations
        ]
        t.add_row(str(s), *cells)
    t.add_row(
        "drift (flat curves left out)",
        *[""] * len(sweep.parametrizations),
        *[f"{doc['drift_excluding_flat'][p]:.2f}x" for p in sweep.parametrizations],
    )
    return t


def _add_tune_transfer(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser(
        "tune",
        help="Optuna study on the proxy over the config's tune search space",
        description="Tune the proxy (the config's model) with Optuna over the config's tune search space, "
        "selecting on the validation split. The study lives in --storage (default RUN_DIR/optuna.journal); "
        "rerun, or run the same command elsewhere, to continue it.",
    )
    t.add_argument("--config", help="YAML run config; its model section is the proxy")
    t.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override a config field, e.g. --set optimizer.lr=3e-3 (repeatable)",
    )
    t.add_argument(
        "--trials", type=_positive_int, required=True, help="finished trials the study should hold (reruns continue)"
    )
    t.add_argument("--study", default="muop", help="study name (default muop)")
    t.add_argument(
        "--storage",
        default=None,
        help="Optuna storage URL (sqlite:///..., postgresql://...) or journal:PATH; default RUN_DIR/optuna.journal",
    )
    t.add_argument("--run-dir", default="runs/tune", help="where the default journal lives (default runs/tune)")
    _add_workers(t)
    t.add_argument(
        "--heartbeat",
        type=_positive_float,
        default=10.0,
        help="seconds between a running trial's heartbeats; a trial silent for 6 heartbeats is failed and retried (default 10)",
    )
    t.add_argument(
        "--backend",
        choices=("optuna", "ray"),
        default="optuna",
        help="optuna: local workers on the storage (default); ray: Ray Tune with OptunaSearch and ASHA (pip install 'muop[ray]')",
    )
    t.add_argument("--address", default=None, help="Ray cluster address (--backend ray; default: start a local Ray)")
    t.add_argument(
        "--gpus-per-trial", type=float, default=0.0, help="GPUs per trial, fractions allowed (--backend ray; default 0)"
    )
    t.add_argument("--cpus-per-trial", type=float, default=1.0, help="CPUs per trial (--backend ray; default 1)")
    t.set_defaults(func=_run_tune)
    r = sub.add_parser(
        "transfer",
        help="train the target once with the proxy study's best hyperparameters",
        description="Read the best hyperparameters of the proxy's study, map them to the target size with μP and "
        "train the target once; with --compare-direct also tune the target directly and compare the cost. "
        "Writes transfer.json and target/ to --out.",
    )
    r.add_argument("--config", help="the same YAML run config as for tune (its model is the proxy)")
    r.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override a config field, as given to tune (repeatable)",
    )
    r.add_argument("--study", default="muop", help="the proxy's study name, as given to tune (default muop)")
    r.add_argument(
        "--storage",
        default=None,
        help="the proxy study's Optuna storage, as given to tune; the direct study goes there too (default RUN_DIR/optuna.journal)",
    )
    r.add_argument("--run-dir", default="runs/tune", help="where the default journal lives (default runs/tune)")
    r.add_argument("--target-modes", type=_int_list, help="target K (one value for all dims, or one per dim)")
    r.add_argument("--target-width", type=_positive_int, help="target width")
    r.add_argument(
        "--target-depth", type=_positive_int, help="target number of residual blocks (needs model.residual pre or post)"
    )
    r.add_argument(
        "--compare-direct",
        action="store_true",
        help="also run the same search at the target and measure the cost ratio",
    )
    r.add_argument(
        "--target-set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override a field for the target only, e.g. data.stride=1 after a coarse-grid proxy",
    )
    r.add_argument("--out", required=True, help="output directory (transfer.json, target/)")
    _add_nproc(r)
    r.set_defaults(func=_run_transfer)


def _run_tune(args: argparse.Namespace) -> int:
    import json

    from ..config import load_config
    from ..study import WorkerOptions, study_summary, tune

    cfg = load_config(args.config, args.set)
    _check_outputs(args, cfg)
    if args.backend == "ray":
        from ..study.ray import RayOptions, tune_ray

        if args.workers != 1:
            raise UsageError(
                "--workers is for --backend optuna; Ray runs as many trials at once as its resources allow (--cpus-per-trial, --gpus-per-trial)"
            )
        study = tune_ray(
            cfg,
            args.trials,
            args.study,
            args.storage,
            args.run_dir,
            RayOptions(address=args.address, cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial),
        )
        print(json.dumps(study_summary(study), indent=1))
        return 0
    with _progress() as prog:
        task = prog.add_task(f"tuning study {args.study}", total=args.trials)
        study = tune(
            cfg,
            args.trials,
            args.study,
            args.storage,
            args.run_dir,
            progress=lambda i, n: prog.update(task, completed=i),
            workers=args.workers,
            options=WorkerOptions(heartbeat_s=args.heartbeat, grace_s=6 * args.heartbeat),
        )
    print(json.dumps(study_summary(study), indent=1))
    return 0


def _run_transfer(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..config import load_config
    from ..workflows.transfer import transfer

    if not args.target_modes and not args.target_width and not args.target_depth:
        raise UsageError("give a target: --target-modes, --target-width and/or --target-depth")
    cfg = load_config(args.config, args.set)
    _check_outputs(args, cfg)
    with _progress() as prog:
        # the target's run is one bar without a count until muop.transfer reports its epochs as stage "target"
        tasks = {"target": prog.add_task("training the target", total=None)}
        names = {"direct": "tuning the target directly (trials)"}

        def report(stage: str, i: int, n: int) -> None:
            if stage not in tasks:
                prog.update(tasks["target"], total=1, completed=1, visible=False)
                tasks[stage] = prog.add_task(names.get(stage, stage), total=n)
            prog.update(tasks[stage], completed=i, total=n)

        doc = transfer(
            cfg,
            args.study,
            args.target_modes,
            args.target_width,
            args.out,
            args.storage,
            args.run_dir,
            args.compare_direct,
            progress=report,
            target_overrides=args.target_set,
            **({"target_depth": args.target_depth} if args.target_depth else {}),
        )
    if not is_main_process():  # the other ranks of a data-parallel target run
        return 0
    t = Table(title="tune small, train big")
    for c in ("", "modes", "width", "depth", "test rel. L2", "seconds"):
        t.add_column(c, justify="right")
    p, g = doc["proxy"], doc["target"]
    t.add_row(
        "proxy (best trial)",
        str(p["modes"]),
        str(p["width"]),
        str(p.get("depth", "")),
        f"{p['best_test_rel_l2']:.4g}",
        f"{p['seconds']:.1f} (tuning)",
    )
    t.add_row(
        "target (transferred)",
        str(g["modes"]),
        str(g["width"]),
        str(g.get("depth", "")),
        f"{g['test_rel_l2']:.4g}",
        f"{g['seconds']:.1f}",
    )
    if "direct" in doc:
        d = doc["direct"]
        t.add_row(
            "target (tuned directly)",
            str(g["modes"]),
            str(g["width"]),
            str(g.get("depth", "")),
            f"{d['best_test_rel_l2']:.4g}",
            f"{d['seconds']:.1f} (tuning)",
        )
    Console().print(t)
    if "direct" in doc:
        print(
            f"cost ratio (proxy tuning + target run) / direct tuning: {doc['cost_ratio_seconds']:.2f} (seconds), {doc['cost_ratio_flops']:.2f} (FLOPs)"
        )
    print(f"wrote {args.out}/transfer.json")
    return 0


def _preflight(args: argparse.Namespace) -> None:
    """The checks a data-parallel command makes before its processes start: the config, the output
    directories, the target, and a batch that gives every process a sample."""
    from ..config import load_config
    from ..training.distributed import check_batch

    if (
        getattr(args, "command", None) == "transfer"
        and not args.target_modes
        and not args.target_width
        and not args.target_depth
    ):
        raise UsageError("give a target: --target-modes, --target-width and/or --target-depth")
    cfg = load_config(args.config, args.set)
    _check_outputs(args, cfg)
    n_train = cfg.data.n_train - (cfg.data.n_val or (cfg.data.n_train // 5 if args.command == "transfer" else 0))
    check_batch(cfg.train.batch_size, n_train, args.nproc)


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


def _os_error(e: OSError) -> str:
    """One line for a failed file operation: what, which path, why."""
    if e.filename is None:
        return str(e.args[0] if e.args else e)
    path = f"{e.filename}" + (f" -> {e.filename2}" if e.filename2 else "")
    return f"cannot use {path}: {e.strerror or e}"


_NEGATIVE = re.compile(r"-\.?\d")  # "-1e-3,1e-1,3", "-.5", "-2,3"


def _attach_negative_values(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
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


def build_parser() -> argparse.ArgumentParser:
    from ..utils.version import muop_version as _v

    __version__ = _v()

    ap = argparse.ArgumentParser(
        prog="muop", description="μP for Fourier Neural Operators: tune a small FNO, train the big one."
    )
    ap.add_argument("--version", action="version", version=f"muop {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    _add_coord_check(sub)
    _add_demo(sub)
    _add_data(sub)
    _add_train_and_sweep(sub)
    _add_tune_transfer(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``muop`` console script; returns the exit code."""
    from ..study import TrialsFailing, WorkersLost, configure_optuna_logging

    configure_optuna_logging()
    parser = build_parser()
    args = parser.parse_args(_attach_negative_values(parser, list(sys.argv[1:] if argv is None else argv)))
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        if getattr(args, "nproc", 1) > 1 and "WORLD_SIZE" not in os.environ:
            _preflight(args)  # bad input: one line here, not one traceback per process
            return launch(args.nproc, _without_nproc(list(argv if argv is not None else sys.argv[1:])))
        return int(args.func(args) or 0)
    except InputError as e:  # a bad value: its message names it
        print(f"muop: error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    except OSError as e:  # a file or directory that cannot be read or written
        print(f"muop: error: {_os_error(e)}", file=sys.stderr)
        return 2
    except (TrialsFailing, WorkersLost) as e:  # trials that keep raising, workers that keep dying
        print(f"muop: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        from ..study.storage import redact

        again = " ".join(redact(a) for a in (argv if argv is not None else sys.argv[1:]))
        print(
            f"muop: interrupted. Finished work is kept (trials in the study, runs in runs.jsonl, training checkpoints); run `muop {again}` again to resume.",
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
        import atexit

        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
