"""``muop train``: train one FNO as a YAML config says (resumable, optionally data-parallel)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from ..config import load_config
from ..training import from_env, is_main_process, train_run
from .common import add_config, add_nproc, check_outputs, progress_bar

__all__ = ["add_parser", "run_train"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train one FNO as a YAML config says",
        description="Train one FNO on the config's data (generated once into data.cache_dir, or data.path) and "
        "report its test error. Writes config.yaml, metrics.jsonl, checkpoint.pt and result.json to --out; "
        "a rerun resumes from the checkpoint.",
    )
    add_config(p)
    p.add_argument(
        "--out", required=True, help="run directory (config.yaml, metrics.jsonl, checkpoint.pt, result.json)"
    )
    add_nproc(p)
    p.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, args.set)
    check_outputs(args, cfg)
    with progress_bar() as prog:
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
