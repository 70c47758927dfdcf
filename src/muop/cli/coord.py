"""``muop coord-check``: per-layer output size vs model size over a few steps (the coordinate check)."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from ..config import PRECISIONS, load_config
from ..core import OPTIMIZERS, TABLES
from ..errors import UsageError
from ..models import BLOCKS, FNOConfig
from ..workflows import CoordCheckConfig, save_coord
from ..workflows.coord_check import coord_check
from .common import add_config, add_sizes, check_outputs, positive_float, positive_int, progress_bar, size_axis

__all__ = ["add_parser", "run_coord_check"]

#: The FNO's shape when neither the options nor ``--config`` give it.
_DEFAULTS = {"dim": 1, "width": 32, "modes": 8, "depth": 4, "block": FNOConfig.block, "residual": None}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "coord-check",
        help="coordinate check: per-layer output size vs model size over a few steps",
        description="Train a few steps at several model sizes and record, per layer, the RMS of its output and of "
        "its change since init. Writes coord.json and coord.png to --out.",
    )
    add_sizes(
        p,
        modes="K values to compare (width fixed at --width), e.g. 4,8,16,32",
        widths="widths to compare (modes fixed at --fixed-modes), e.g. 16,32,64,128",
        depths="numbers of residual blocks to compare (width --width, modes --fixed-modes), e.g. 2,4,8,16",
    )
    add_config(
        p,
        config_help="check the model of this YAML run config (any model.library; its width, modes, depth, "
        "block and residual are the fixed values) instead of the one "
        "--dim/--width/--fixed-modes/--depth/--block/--residual describe",
        set_help="override a field of --config (repeatable)",
    )
    _add_model_options(p)
    _add_run_options(p)
    p.set_defaults(func=run_coord_check)


def _add_model_options(p: argparse.ArgumentParser) -> None:
    """The parametrization, the optimizer and the FNO's fixed shape."""
    p.add_argument("--dim", type=int, choices=(1, 2, 3), default=None, help="spatial dimensions (default 1)")
    p.add_argument(
        "--parametrization",
        choices=sorted(TABLES),
        default="mup",
        help="how weights and learning rates scale with size (default mup)",
    )
    p.add_argument("--steps", type=positive_int, default=5, help="optimizer steps (default 5)")
    p.add_argument("--lr", type=positive_float, default=1e-2, help="base learning rate (default 1e-2)")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam", help="optimizer (default adam)")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="fp32",
        help="autocast the forward passes to bf16 or fp16, as train.precision does (default fp32)",
    )
    p.add_argument("--width", type=positive_int, default=None, help="fixed width for --modes (default 32)")
    p.add_argument("--fixed-modes", type=positive_int, default=None, help="fixed K per dim for --widths (default 8)")
    p.add_argument("--depth", type=positive_int, default=None, help="Fourier layers for --modes/--widths (default 4)")
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


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """The inputs, the seeds and the output directory."""
    p.add_argument(
        "--grid", type=positive_int, default=None, help="points per dim (default: 64, or enough for the largest K)"
    )
    p.add_argument("--batch", type=positive_int, default=8, help="batch size (default 8)")
    p.add_argument("--seeds", type=positive_int, default=3, help="seeds averaged (default 3)")
    p.add_argument(
        "--input-decay",
        type=float,
        default=2.0,
        help="input spectrum ∝ (1+|k|²)^-decay; smaller is rougher (default 2)",
    )
    p.add_argument("--out", required=True, help="output directory (coord.json, coord.png)")


def _parse_overrides(items: list[str]) -> dict[str, str]:
    """``ROLE[.COLUMN]=TABLE`` strings as a mapping (the keys and tables are checked by the rules)."""
    out = {}
    for item in items:
        key, sep, src = item.partition("=")
        if not sep or not key or not src:
            raise UsageError(f"--override {item!r}: expected ROLE[.COLUMN]=TABLE, e.g. hidden.lr=sp")
        out[key.strip()] = src.strip()
    return out


def _check_config(args: argparse.Namespace) -> CoordCheckConfig:
    """The check the options describe: the FNO of the shape options, or the model of ``--config``."""
    axis, sizes = size_axis(args)
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
        given = [f"--{'fixed-modes' if k == 'modes' else k}" for k, v in shape.items() if v is not None]
        if given:
            raise UsageError(
                f"{', '.join(given)} with --config: the config's model fixes them; "
                "change them with --set model.FIELD=VALUE"
            )
        model = load_config(args.config, args.set).model
        shape["dim"] = len(model.modes)  # the rest is taken from the model
    elif args.set:
        raise UsageError("--set changes a field of --config; give --config too")
    shape = {k: _DEFAULTS[k] if v is None else v for k, v in shape.items()}
    return CoordCheckConfig(
        axis=axis,
        sizes=sizes,
        parametrization=args.parametrization,
        steps=args.steps,
        lr=args.lr,
        optimizer=args.optimizer,
        precision=args.precision,
        grid=args.grid,
        batch=args.batch,
        seeds=args.seeds,
        input_decay=args.input_decay,
        alpha=args.alpha,
        overrides=_parse_overrides(args.override),
        model=model,
        **shape,
    )


def run_coord_check(args: argparse.Namespace) -> int:
    cfg = _check_config(args)
    check_outputs(args)
    with progress_bar() as prog:
        task = prog.add_task(f"coord-check {cfg.parametrization} over {cfg.axis}", total=len(cfg.sizes) * cfg.seeds)
        doc = coord_check(cfg, progress=lambda done, total: prog.update(task, completed=done))
    j, png = save_coord(doc, args.out)
    t = Table(
        title=f"{cfg.parametrization}: change of each layer's output at step {cfg.steps}, "
        f"{cfg.axis} {cfg.sizes[0]} → {cfg.sizes[-1]}"
    )
    t.add_column("layer")
    t.add_column("largest / smallest", justify="right")
    t.add_column("max / min", justify="right")
    for layer, g in doc["growth"].items():
        t.add_row(layer, f"{g['last_over_first']:.2f}", f"{g['max_over_min']:.2f}")
    Console().print(t)
    print(f"wrote {j} and {png}")
    return 0
