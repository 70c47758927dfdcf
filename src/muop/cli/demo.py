"""``muop demo``: the built-in default job, from data to a transferred target, and its summary tables.

The tables: the width check (SP vs μP regret), the axes that moved and the epochs check, the transfer.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..workflows import demo as workflow
from ..workflows.transfer_axes import describe
from .common import add_workers, positive_int

__all__ = ["add_parser", "run_demo"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the built-in default job: data, SP-vs-μP sweep over width with its regret, an epochs check, tune a "
        "small proxy, train a big target once",
        description="Run the whole method on a small Burgers problem: generate data, sweep the learning rate over "
        "width under SP and μP and show the regret of taking the proxy's best LR, check the proxy's LR at the "
        "target's (twice as many) epochs, tune a small proxy, and train a bigger target once with its "
        "hyperparameters. Writes report.md and summary.json to --out.",
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
    con.print(f"axes moved, proxy → target: {describe(s['axes_moved'])}")
    con.print(_epochs_table(s))
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


def _epochs_table(s: dict) -> Table:
    """The epochs check: best LR and error at the proxy's and the target's epochs, and the regret of the first's
    best LR at the second."""
    ep = s["epochs_check"]
    e0, e1 = (str(e) for e in ep["epochs"])
    t = Table(title=f"epochs check (μP, width {s['proxy']['width']})")
    t.add_column("")
    t.add_column(f"{e0} epochs (proxy)", justify="right")
    t.add_column(f"{e1} epochs (target)", justify="right")
    t.add_row("best LR", *[f"{ep['best_lr'][e]:.2e}" for e in (e0, e1)])
    t.add_row("best test rel. L2", *[f"{ep['best_test_rel_l2'][e]:.4g}" for e in (e0, e1)])
    verdict = "ok" if ep["ok"] else f"over {100 * workflow.EPOCHS_REGRET_OK:g}%: not safe"
    t.add_row(f"regret of the {e0}-epoch best LR", "", f"{100 * ep['regret']:.1f}%")
    t.add_row(f"regret of the tuned LR {ep['tuned_lr']:.2e}", "", f"{100 * ep['tuned_regret']:.1f}% ({verdict})")
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
