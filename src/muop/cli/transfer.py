"""``muop transfer``: train the target once with the proxy study's best hyperparameters, and compare costs.

With ``--proxies`` (and ``--from-sweep``) the target's LR is the one the drift model predicts from a proxy ladder.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ..config import load_config
from ..training import is_main_process
from ..workflows import check_target
from ..workflows.transfer import transfer
from ..workflows.transfer_axes import describe
from ..workflows.transfer_proxies import check_ladder
from .common import add_config, add_nproc, add_study, check_outputs, int_list, positive_int, progress_bar

__all__ = ["add_parser", "run_transfer"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "transfer",
        help="train the target once with the proxy study's best hyperparameters",
        description="Read the best hyperparameters of the proxy's study, map them to the target size with μP and "
        "train the target once; with --compare-direct also tune the target directly and compare the cost. "
        "Writes transfer.json and target/ to --out.",
    )
    add_config(
        p,
        config_help="the same YAML run config as for tune (its model is the proxy)",
        set_help="override a config field, as given to tune (repeatable)",
    )
    add_study(
        p,
        study_help="the proxy's study name, as given to tune (default muop)",
        storage_help="the proxy study's Optuna storage, as given to tune; the direct study goes there too "
        "(default RUN_DIR/optuna.journal)",
    )
    p.add_argument(
        "--target-config",
        metavar="FILE",
        help="the target's own YAML config: the proxy (--config) may differ from it in width, modes, depth, epochs, "
        "n_train, grid and batch size at once (same problem, data source, model family, optimizer and schedule; "
        "checked); replaces --target-modes/--target-width/--target-depth",
    )
    p.add_argument("--target-modes", type=int_list, help="target K (one value for all dims, or one per dim)")
    p.add_argument("--target-width", type=positive_int, help="target width")
    p.add_argument(
        "--target-depth", type=positive_int, help="target number of residual blocks (needs model.residual pre or post)"
    )
    p.add_argument(
        "--compare-direct",
        action="store_true",
        help="also run the same search at the target and measure the cost ratio",
    )
    p.add_argument(
        "--target-set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override a field for the target only, e.g. data.stride=1 after a coarse-grid proxy",
    )
    p.add_argument(
        "--proxies",
        type=int_list,
        metavar="SIZE,SIZE,...",
        help="fit the drift of the best LR from these proxy sizes on the axis the target changes (at least two, "
        "below the target) and train the target at the predicted LR; reads the studies STUDY-SIZE (each tuned "
        "with the smallest proxy as its μP base) unless --from-sweep",
    )
    p.add_argument(
        "--from-sweep",
        metavar="DIR",
        help="take the proxies' best LRs from this LR sweep (muop sweep --out DIR, same config) instead of studies; "
        "without --proxies every sweep size below the target is a proxy",
    )
    p.add_argument("--out", required=True, help="output directory (transfer.json, target/)")
    add_nproc(p)
    p.set_defaults(func=run_transfer)


def _reporter(prog: Progress):
    """``progress(stage, i, n)`` for :func:`~muop.workflows.transfer`: one bar per stage.

    The target's run is one bar without a count until the transfer reports its epochs as stage "target".
    """
    tasks = {"target": prog.add_task("training the target", total=None)}
    names = {"direct": "tuning the target directly (trials)"}

    def report(stage: str, i: int, n: int) -> None:
        if stage not in tasks:
            prog.update(tasks["target"], total=1, completed=1, visible=False)
            tasks[stage] = prog.add_task(names.get(stage, stage), total=n)
        prog.update(tasks[stage], completed=i, total=n)

    return report


def _warning(message: str) -> None:
    """The advice before a single-proxy transfer: one line on stderr (rank 0 only under torchrun)."""
    if is_main_process():
        print(f"muop: warning: {message}", file=sys.stderr)


def run_transfer(args: argparse.Namespace) -> int:
    target = None
    if args.target_config is None:
        check_target(args.target_modes, args.target_width, args.target_depth)
        if args.proxies is not None or args.from_sweep is not None:
            check_ladder(args.proxies, args.from_sweep, args.target_modes, args.target_width, args.target_depth)
    else:
        target = load_config(args.target_config)
    cfg = load_config(args.config, args.set)
    check_outputs(args, cfg)
    with progress_bar() as prog:
        doc = transfer(
            cfg,
            args.study,
            args.target_modes,
            args.target_width,
            args.out,
            args.storage,
            args.run_dir,
            args.compare_direct,
            progress=_reporter(prog),
            target_overrides=args.target_set,
            **({"target_depth": args.target_depth} if args.target_depth else {}),
            proxies=args.proxies,
            from_sweep=args.from_sweep,
            warn=_warning,
            target=target,
        )
    if not is_main_process():  # the other ranks of a data-parallel target run
        return 0
    Console().print(_transfer_table(doc))
    if "axes_moved" in doc:
        print(f"proxy -> target: {describe(doc['axes_moved'])}")
    if "drift" in doc:
        d = doc["drift"]
        print(
            f"LR from the drift model over {d['axis']} {','.join(map(str, d['proxies']))} -> {d['target']}: "
            f"{d['predicted']:.4g} [{d['predicted_ci'][0]:.4g}, {d['predicted_ci'][1]:.4g}] ({d['rule']}; slope "
            f"{d['slope']:.2f} [{d['slope_ci'][0]:.2f}, {d['slope_ci'][1]:.2f}])"
        )
    if "direct" in doc:
        print(
            f"cost ratio (proxy tuning + target run) / direct tuning: {doc['cost_ratio_seconds']:.2f} (seconds), "
            f"{doc['cost_ratio_flops']:.2f} (FLOPs)"
        )
    print(f"wrote {args.out}/transfer.json")
    return 0


def _transfer_table(doc: dict) -> Table:
    """The proxy, the transferred target and (with --compare-direct) the target tuned directly."""
    t = Table(title="tune small, train big")
    for c in ("", "modes", "width", "depth", "test rel. L2", "seconds"):
        t.add_column(c, justify="right")
    p, g = doc["proxy"], doc["target"]
    ladder = doc.get("drift")
    t.add_row(
        f"proxies {','.join(map(str, ladder['proxies']))} (base)" if ladder else "proxy (best trial)",
        str(p["modes"]),
        str(p["width"]),
        str(p.get("depth", "")),
        f"{p['best_test_rel_l2']:.4g}" if p.get("best_test_rel_l2") is not None else "",
        f"{p['seconds']:.1f} (tuning)",
    )
    target = (str(g["modes"]), str(g["width"]), str(g.get("depth", "")))
    t.add_row("target (transferred)", *target, f"{g['test_rel_l2']:.4g}", f"{g['seconds']:.1f}")
    if "direct" in doc:
        d = doc["direct"]
        t.add_row("target (tuned directly)", *target, f"{d['best_test_rel_l2']:.4g}", f"{d['seconds']:.1f} (tuning)")
    return t
