"""Samples per second of each built-in generator at the sizes of issue #3 (float32, 2 CPU threads).

Goals (issue #3): Burgers 1200 samples at s = 1024 in <= 7 s; Darcy 1000 at 85² in
<= 20 s; Navier–Stokes 100 trajectories at 64² to T = 20 (ν = 1e-3, dt = 1e-2) in <= 17 s.
Times cover sampling the inputs and solving (not writing HDF5). ``--scale 0.1`` runs a tenth of
each size for a quick look.

Usage::

    python benchmarks/datagen.py [--scale 1.0] [--workers 2] [--out results/bench/datagen.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

from muop.data.problems import PROBLEMS, make_params

CASES = [
    ("burgers", 1200, 1024, 7.0, {}),
    ("darcy", 1000, 85, 20.0, {}),
    ("navier-stokes", 100, 64, 17.0, {"T": 20.0}),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of each sample count")
    ap.add_argument("--workers", type=int, default=2, help="threads per chunk")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--out", default="results/bench/datagen.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for name, n_full, s, goal, over in CASES:
        n = max(2, round(n_full * args.scale))
        prob, p = PROBLEMS[name], make_params(name, over)
        g = torch.Generator().manual_seed(0)
        t0 = time.perf_counter()
        x, y = prob.make(p, n, s, g, args.workers, torch.float32, "cpu")
        dt = time.perf_counter() - t0
        full_time = dt * n_full / n
        rows.append(
            {
                "problem": name,
                "n": n,
                "resolution": s,
                "seconds": dt,
                "samples_per_s": n / dt,
                "projected_full_s": full_time,
                "goal_s": goal,
                "meets_goal": full_time <= goal,
                "params": {k: v for k, v in vars(p).items()},
            }
        )
        print(
            f"{name:14s} n={n:5d} s={s:5d}  {dt:7.2f} s  {n / dt:8.1f} samples/s  full size {full_time:6.1f} s (goal "
            f"{goal:.0f} s) {'OK' if full_time <= goal else 'MISSED'}",
            flush=True,
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "torch": torch.__version__,
        "threads": args.threads,
        "workers": args.workers,
        "scale": args.scale,
        "machine": platform.machine(),
        "command": "python benchmarks/datagen.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1, default=str))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
