"""``muop demo``: the built-in default job, from data to a transferred target, and its summary tables."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..workflows import demo as workflow
from .common import add_workers, positive_int

__all__ = ["add_parser", "run_demo"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the built-in default job: data, SP-vs-μP sweep over width with its regret, tune a small proxy, "
        "train a big target once",
        description="Run the whole method on a small Burgers problem: generate data, sweep the learning rate over "
        "width under SP and μP and show the regret of taking the proxy's best LR, tune a small proxy, and train a "
        "bigger target once with its hyperparameters. Writes report.md to --out.",
    )
    p.add_argument(
        "--out", default="demo_out", help="output directory (default demo_out); rerun to reuse finished work"
    )
    p.add_argument("--trials", type=positive_int, default=6, help="Optuna trials for the proxy (default 6)")
    add_workers(p, default=None, help="local worker processes (default 2, or 1 on a one-core machine)")
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    con = Console()
    t0 = time.perf_counter()
    s = workflow.run_demo(args.out, args.trials, say=lambda m: con.print(f"[bold]{m}[/bold]"), workers=args.workers)
    con.print(_regret_table(s, time.perf_counter() - t0))
    con.print(_transfer_table(s))
    con.print(f"report: {Path(args.out) / 'report.md'}")
    return 0


def _regret_table(s: dict, seconds: float) -> Table:
    """SP vs μP at the target width: the regret of the proxy's best LR, and how the best LR moved."""
    w0, w1 = str(workflow.PROXY["width"]), str(workflow.TARGET["width"])
    t = Table(title=f"muop demo ({seconds:.0f} s): the proxy's best LR at width {w1}")
    t.add_column("")
    t.add_column("SP", justify="right")
    t.add_column("μP", justify="right")
    t.add_row(
        f"regret at width {w1} (error at the proxy's LR / best - 1)",
        *[f"{100 * s['regret'][p][w1]['regret']:.1f}%" for p in ("sp", "mup")],
    )
    t.add_row(
        f"best LR, width {w0} → {w1}",
        *[f"{s['best_lr'][p][w0]:.2e} → {s['best_lr'][p][w1]:.2e}" for p in ("sp", "mup")],
    )
    return t


def _transfer_table(s: dict) -> Table:
    """The tuned proxy and the target trained once with its hyperparameters."""
    t = Table(title="tune small, train big (μP)")
    for c in ("", "width", "K", "test rel. L2"):
        t.add_column(c, justify="right" if c else "left")
    pr, tg = s["proxy"], s["target"]
    t.add_row(
        f"proxy, best of {pr['n_trials']} trials",
        str(pr["width"]),
        str(pr["modes"][0]),
        f"{pr['best_test_rel_l2']:.4g}",
    )
    t.add_row(
        "target, proxy's hyperparameters (1 run)", str(tg["width"]), str(tg["modes"][0]), f"{tg['test_rel_l2']:.4g}"
    )
    return t
