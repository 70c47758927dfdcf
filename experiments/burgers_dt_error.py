"""Burgers ETDRK4 time-step error: max |u(T)| error against a dt = 1e-4 reference, float64.

Usage: python experiments/burgers_dt_error.py [--samples 8] [--resolution 1024]
"""

from __future__ import annotations

import argparse
import math

import torch

from muop.data.burgers import BurgersParams, burgers_initial, burgers_solve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--resolution", type=int, default=1024)
    args = ap.parse_args()
    u0 = burgers_initial(
        args.samples, args.resolution, BurgersParams(), torch.Generator().manual_seed(0), dtype=torch.float64
    )
    ref = burgers_solve(u0, BurgersParams(dt=1e-4))
    prev = None
    print(f"max |u0| = {u0.abs().max():.3f}")
    for dt in (1e-2, 5e-3, 2e-3, 1e-3):
        err = (burgers_solve(u0, BurgersParams(dt=dt)) - ref).abs().max().item()
        order = "" if prev is None else f"  observed order {math.log(prev[1] / err) / math.log(prev[0] / dt):.2f}"
        print(f"dt = {dt:.0e}: max error {err:.2e}{order}")
        prev = (dt, err)


if __name__ == "__main__":
    main()
