"""Data-parallel throughput: the same training run on 1 and on N processes (``torchrun``, gloo on CPU).

Every run trains the same model on the same global batches (``muop.training.distributed``); what changes is
how many processes share each batch. Time per step is taken from ``metrics.jsonl`` between the
first and the last epoch (process start, data loading and the first epoch's warm-up excluded);
the overhead per step is N-process time minus the ideal 1-process time / N.

    python benchmarks/ddp_scaling.py --nprocs 1,2            # this machine (2 cores: 1 thread each)
    python benchmarks/ddp_scaling.py --nprocs 1,2,4 --device cuda   # GPUs: one per process (NCCL)

Prints a table and writes ``results/bench/ddp_scaling.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
import yaml


def run(nproc: int, cfg: dict, work: Path, threads: int) -> dict:
    out = work / f"n{nproc}"
    path = work / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "muop.cli",
        "train",
        "--config",
        str(path),
        "--out",
        str(out),
    ]
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    result = json.loads((out / "result.json").read_text())
    steps = math.ceil((cfg["data"]["n_train"]) / cfg["train"]["batch_size"])
    per_step = (lines[-1]["seconds"] - lines[0]["seconds"]) / ((len(lines) - 1) * steps)
    return {
        "nproc": nproc,
        "threads_per_process": threads,
        "ms_per_step": 1e3 * per_step,
        "test_rel_l2": result["test_rel_l2"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nprocs", default="1,2")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--out", default="results/bench/ddp_scaling.json")
    args = ap.parse_args()
    cfg = {
        "data": {"problem": "burgers", "n_train": 256, "n_test": 32, "resolution": 256, "cache_dir": ".muop_cache"},
        "model": {"modes": [16], "width": args.width, "depth": 4},
        "train": {"epochs": args.epochs, "batch_size": 32, "checkpoint_every": 0, "device": args.device},
    }
    cores = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(v) for v in args.nprocs.split(",")]:
            threads = max(1, cores // n) if args.device == "cpu" else 1
            rows.append(run(n, cfg, Path(tmp), threads))
    base = rows[0]["ms_per_step"] * rows[0]["nproc"]
    for r in rows:
        r["speedup"] = rows[0]["ms_per_step"] / r["ms_per_step"]
        r["overhead_ms_per_step"] = r["ms_per_step"] - base / r["nproc"]
    print("| processes | threads each | ms/step | speed-up | overhead ms/step | test rel. L2 |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['nproc']} | {r['threads_per_process']} | {r['ms_per_step']:.1f} | {r['speedup']:.2f}x | "
            f"{r['overhead_ms_per_step']:.1f} | {r['test_rel_l2']:.4f} |"
        )
    doc = {
        "config": cfg,
        "rows": rows,
        "machine": {
            "cpu_count": cores,
            "platform": platform.platform(),
            "torch": torch.__version__,
            "device": args.device,
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
