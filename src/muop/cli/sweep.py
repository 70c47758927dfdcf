"""``muop sweep``: test error vs LR (or another hyperparameter) at several sizes, SP vs μP, and the regret table."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from ..config import load_config
from ..config.hparams import sweepable
from ..errors import UsageError
from ..workflows import Sweep, log_grid
from ..workflows import run_sweep as sweep_runs
from .common import add_config, add_sizes, add_workers, check_outputs, progress_bar, size_axis

__all__ = ["add_parser", "run_sweep"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="transfer check: test error vs LR (or another hyperparameter) at several sizes, SP vs μP, "
        "and the regret of transferring",
        description="Train every (parametrization, size, LR, seed) and write runs.jsonl, sweep.json and sweep.png. "
        "The axis is a model size (--widths, --modes, --depths) or a training budget (--epochs, --n-train, "
        "--resolutions, --batch-sizes). "
        "For each target size, regret = (target's error at the proxy's best LR) / (target's best error) - 1, "
        "with a 95% bootstrap interval over seeds.",
    )
    add_config(p, set_help="override a config field (repeatable)")
    add_sizes(
        p,
        modes="K values (the first is the μP base)",
        widths="widths (the first is the μP base)",
        depths="numbers of residual blocks (the first is the μP base; needs model.residual pre or post)",
        budgets=True,
    )
    p.add_argument(
        "--lrs",
        help="LO,HI,N: N learning rates log-spaced from LO to HI "
        "(required unless --hparam names another hyperparameter)",
    )
    p.add_argument(
        "--hparam",
        default="lr",
        metavar="NAME",
        help="the hyperparameter to sweep (default lr); any other keeps the config's LR. One of: "
        + "; ".join(f"{name}: {hp.doc}" for name, hp in sweepable().items()),
    )
    p.add_argument("--values", help="comma-separated values of --hparam, e.g. 0.25,1,4 (log axis: all > 0)")
    p.add_argument(
        "--proxy",
        type=int,
        default=None,
        metavar="SIZE",
        help="the size (or budget) regret is measured from (default: the smallest)",
    )
    p.add_argument("--parametrization", default="sp,mup", help="comma-separated subset of sp,mup (default both)")
    p.add_argument("--seeds", default="1", help="number of seeds N (seeds 0..N-1) or a comma list (default 1)")
    p.add_argument("--out", required=True, help="output directory (runs.jsonl, sweep.json, sweep.png); rerun to resume")
    add_workers(p)
    p.add_argument(
        "--storage",
        default=None,
        help="share the runs through this Optuna storage (sqlite:///..., postgresql://..., journal:PATH), "
        "e.g. with other machines (default OUT/sweep.journal)",
    )
    p.set_defaults(func=run_sweep)


def _parse_values(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise UsageError(f"--values {text!r}: expected comma-separated numbers, e.g. 0.25,1,4") from None


def _parse_lrs(text: str) -> list[float]:
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
    if not all(0 <= v <= 1 << 31 for v in vals):  # the range of the sweep's seed distribution
        raise UsageError(f"--seeds {text!r}: expected seeds from 0 to 2**31")
    return tuple(vals)


def _sweep_of(args: argparse.Namespace) -> Sweep:
    """The sweep the options describe (the hyperparameter, its grid, sizes, parametrizations, seeds)."""
    if args.hparam not in sweepable():
        raise UsageError(
            f"--hparam {args.hparam!r}: not a hyperparameter a sweep can vary; expected one of {', '.join(sweepable())}"
        )
    if args.hparam == "lr" and (args.lrs is None or args.values is not None):
        raise UsageError("an LR sweep needs --lrs LO,HI,N (--values is for --hparam NAME)")
    if args.hparam != "lr" and (args.values is None or args.lrs is not None):
        raise UsageError(
            f"--hparam {args.hparam} needs --values V1,V2,... and keeps the config's LR "
            "(set it with --set optimizer.lr=...; no --lrs)"
        )
    axis, sizes = size_axis(args)
    return Sweep(
        axis=axis,
        sizes=sizes,
        lrs=tuple(_parse_lrs(args.lrs)) if args.lrs else (),
        parametrizations=tuple(p.strip() for p in args.parametrization.split(",") if p.strip()),
        seeds=_parse_seeds(args.seeds),
        hparam=args.hparam,
        values=_parse_values(args.values) if args.values else (),
        proxy=args.proxy,
    )


def run_sweep(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, args.set)
    sweep = _sweep_of(args)
    check_outputs(args, cfg)
    with progress_bar() as prog:
        task = prog.add_task("sweep", total=1)
        doc = sweep_runs(
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
        "regret: the target's error at the proxy's best value over its best error, minus 1 "
        "(95% bootstrap interval over seeds); extrapolated: the same at the value the drift model predicts "
        "from all smaller sizes (fit: a line in log-log, pooled: their geometric mean); "
        "* = best at the grid's edge: widen the grid"
    )
    print(f"wrote {args.out}/sweep.json and sweep.png")
    return 0


def _pct_ci(e: dict) -> str:
    """A regret entry as ``4.7% [2.6, 6.7]``."""
    return f"{100 * e['regret']:.1f}% [{100 * e['ci'][0]:.1f}, {100 * e['ci'][1]:.1f}]"


def _sweep_table(doc: dict, sweep: Sweep) -> Table:
    """The sweep's summary as a rich Table: regret first, then the best value per size."""
    name = "LR" if sweep.hparam == "lr" else sweep.hparam
    proxies = {doc["regret_proxy"][p] for p in sweep.parametrizations}
    t = Table(
        title=f"regret of transferring {name} from {sweep.axis} {'/'.join(map(str, sorted(proxies)))}, "
        f"and the best {name} per {sweep.axis}"
    )
    t.add_column(sweep.axis, justify="right")
    for p in sweep.parametrizations:
        t.add_column(f"{p} regret [95% CI]", justify="right")
    for p in sweep.parametrizations:
        t.add_column(f"{p} extrapolated regret [95% CI]", justify="right")
    for p in sweep.parametrizations:
        t.add_column(f"{p} best {name}", justify="right")
    for s in sweep.sizes:
        cells = []
        for p in sweep.parametrizations:
            e = doc["regret"][p].get(str(s))
            cells.append("proxy" if e is None else _pct_ci(e) + (" flat" if e["flat"] else ""))
        for p in sweep.parametrizations:
            e = doc.get("extrapolated", {}).get(p, {}).get(str(s))
            cells.append("" if e is None else f"{_pct_ci(e)} {e['rule']}")
        cells += [
            f"{doc['best_lr'][p][str(s)]:.3g}" + ("*" if doc["best_lr_at_grid_edge"][p][str(s)] else "")
            for p in sweep.parametrizations
        ]
        t.add_row(str(s), *cells)
    t.add_row(
        "drift (flat curves left out)",
        *[""] * (2 * len(sweep.parametrizations)),
        *[f"{doc['drift_excluding_flat'][p]:.2f}x" for p in sweep.parametrizations],
    )
    return t
