"""Test error of mixed-precision, compiled and checkpointed training against fp32 (issue #24: within 10%).

Trains one small committed problem (default ``experiments/burgers_small.yaml``, μP) with several seeds in
each variant (``train.precision``, ``train.compile``, ``train.checkpoint_activations``) on the same data,
and prints, per variant, the mean test relative L2, the ratio to fp32 (the mean of the per-seed ratios, and
the worst seed) and the seconds. Writes the runs and the table to ``--out``.

Usage::

    python experiments/precision_error.py [--config experiments/burgers_small.yaml] [--set train.epochs=40]
        [--seeds 0,1,2] [--out results/bench/precision_error.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from muop.config import load_config, with_fields
from muop.data import prepare_data
from muop.training import train_run

VARIANTS = {
    "fp32": {},
    "bf16": {"precision": "bf16"},
    "fp16": {"precision": "fp16"},
    "fp32+compile": {"compile": True},
    "bf16+compile": {"precision": "bf16", "compile": True},
    "fp32+checkpoint": {"checkpoint_activations": True},
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="experiments/burgers_small.yaml")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE", help="override the config")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"subset of {','.join(VARIANTS)}")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="results/bench/precision_error.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.set)
    data = prepare_data(cfg.data)
    seeds = [int(s) for s in args.seeds.split(",")]
    names = args.variants.split(",")
    runs = []
    for seed in seeds:
        for name in names:
            run_cfg = with_fields(cfg, train={"seed": seed, **VARIANTS[name]})
            t0 = time.perf_counter()
            res = train_run(run_cfg, data=data)
            runs.append(
                {"variant": name, "seed": seed, "test_rel_l2": res.test_rel_l2, "seconds": time.perf_counter() - t0}
            )
            print(f"seed {seed} {name}: test rel. L2 {res.test_rel_l2:.4f} ({runs[-1]['seconds']:.1f} s)", flush=True)
    ref = {r["seed"]: r["test_rel_l2"] for r in runs if r["variant"] == "fp32"}
    table = []
    print("\n| variant | mean test rel. L2 | ratio to fp32 (mean) | worst seed | within 10% | mean s per run |")
    print("|---|---|---|---|---|---|")
    for name in names:
        mine = [r for r in runs if r["variant"] == name]
        ratios = [r["test_rel_l2"] / ref[r["seed"]] for r in mine] if ref else []
        row = {
            "variant": name,
            "mean_test_rel_l2": statistics.mean(r["test_rel_l2"] for r in mine),
            "ratio_mean": statistics.mean(ratios) if ratios else None,
            "ratio_worst": max(ratios, key=lambda v: abs(v - 1)) if ratios else None,
            "seconds_mean": statistics.mean(r["seconds"] for r in mine),
        }
        row["within_10pct"] = None if row["ratio_worst"] is None else abs(row["ratio_worst"] - 1) <= 0.10
        table.append(row)
        print(
            f"| {name} | {row['mean_test_rel_l2']:.4f} | {row['ratio_mean']:.3f} | {row['ratio_worst']:.3f} | "
            f"{'yes' if row['within_10pct'] else 'no'} | {row['seconds_mean']:.1f} |"
        )
    meta = {
        "config": args.config,
        "overrides": args.set,
        "torch": torch.__version__,
        "threads": args.threads,
        "command": "python experiments/precision_error.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"meta": meta, "table": table, "runs": runs}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
