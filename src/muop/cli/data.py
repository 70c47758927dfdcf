"""``muop data generate`` and ``muop data info``: make a PDE dataset with muop's solvers, inspect a data file."""

from __future__ import annotations

import argparse
import json
from dataclasses import fields

import torch
from rich.console import Console
from rich.table import Table

from ..data import PROBLEMS, generate, load, read_dataset
from ..data.store import FORMAT
from ..errors import UsageError
from .common import DeprecatedAlias, check_outputs, positive_int, progress_bar

__all__ = ["add_parser", "run_data_generate", "run_data_info"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data",
        help="generate PDE datasets and inspect data files",
        description="Generate PDE datasets with muop's solvers, or inspect a data file.",
    )
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    _add_generate(dsub)
    i = dsub.add_parser(
        "info",
        help="shapes, parameters, checksum and value ranges of a data file",
        description="Print the shapes, value ranges and recorded parameters of a data file (.h5, .mat, .pt, .npz).",
    )
    i.add_argument("file", help="the data file")
    i.add_argument("--verify", action="store_true", help="recompute the checksum (muop files)")
    i.set_defaults(func=run_data_info)


def _add_generate(dsub: argparse._SubParsersAction) -> None:
    g = dsub.add_parser(
        "generate",
        help="generate a dataset with muop's solvers (HDF5)",
        description="Solve PROBLEM for random initial conditions or coefficients and write the train and test "
        "splits to one HDF5 file, chunk by chunk (an interrupted run resumes).",
    )
    g.add_argument("problem", choices=sorted(PROBLEMS), metavar="PROBLEM", help="the PDE: %(choices)s")
    g.add_argument("--n-train", type=positive_int, required=True, help="training samples")
    g.add_argument("--n-test", type=positive_int, required=True, help="test samples")
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
        type=positive_int,
        default=100,
        help="samples generated at once; bounds memory (default %(default)s)",
    )
    g.add_argument("--threads", type=positive_int, default=2, help="threads sharing each chunk (default %(default)s)")
    g.add_argument("--workers", dest="threads", type=positive_int, action=DeprecatedAlias, new="--threads")
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
    g.set_defaults(func=run_data_generate)


def _param_keys() -> str:
    """The keys ``--param`` takes, per problem (fields of its parameters dataclass)."""
    return "; ".join(
        f"{name}: {', '.join(f.name for f in fields(prob.params_type))}" for name, prob in sorted(PROBLEMS.items())
    )


def _parse_params(items: list[str]) -> dict:
    """``KEY=VALUE`` strings as a mapping; a value is an int, a float, a boolean or else a string."""
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


def run_data_generate(args: argparse.Namespace) -> int:
    params = _parse_params(args.param)
    check_outputs(args)
    total = args.n_train + args.n_test
    with progress_bar() as prog:
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


def run_data_info(args: argparse.Namespace) -> int:
    splits = ["train", "test"]
    first = load(args.file, split="train")
    if first.meta.get("format") == FORMAT:
        if args.verify:
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
