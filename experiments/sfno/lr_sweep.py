"""SFNO learning-rate sweeps over width and over spherical modes, SP vs μP, on shallow-water data.

Tiny on purpose (CPU, one thread): 16 x 32 equiangular grid, 2-layer SFNO, Adam, a fixed number of
steps. For each axis the LR is tuned at the smallest size (the base) and reused at the others;
regret = loss at the transferred LR / best loss over the grid at that size - 1 (losses averaged
over seeds, intervals by bootstrap over seeds). Writes ``lr_sweep.json`` (every loss) and ``lr_sweep.md``
(the table) under ``--out``.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python experiments/sfno/lr_sweep.py --out results/sfno
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import muop
from muop.data.shallow_water import ShallowWaterParams, shallow_water_generate

warnings.filterwarnings("ignore")


def make_data(n_train: int, n_test: int, s: int, seed: int = 0):
    """Shallow-water pairs (t -> t + 1 h), normalised per channel with training statistics."""
    p = ShallowWaterParams(delta_t_hours=1.0, step_seconds=600.0)
    x, y = shallow_water_generate(p, n_train + n_test, s, torch.Generator().manual_seed(seed), 1, torch.float32, "cpu")
    mx, sx = x[:n_train].mean((0, 2, 3), keepdim=True), x[:n_train].std((0, 2, 3), keepdim=True).clamp(min=1e-6)
    my, sy = y[:n_train].mean((0, 2, 3), keepdim=True), y[:n_train].std((0, 2, 3), keepdim=True).clamp(min=1e-6)
    x, y = (x - mx) / sx, (y - my) / sy
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def build(width: int, lmax: int, seed: int):
    from neuralop.models import SFNO

    torch.manual_seed(seed)
    return SFNO(n_modes=(lmax, 2 * lmax), in_channels=3, out_channels=3, hidden_channels=width, n_layers=2)


def train_one(width, lmax, base, param, lr, seed, data, steps, batch):
    (xtr, ytr), (xte, yte) = data
    model = build(width, lmax, seed)
    base_model = build(*base, seed)
    plan = muop.parametrize(model, param, base=base_model if param == "mup" else None, seed=seed)
    opt = torch.optim.Adam(plan.param_groups(lr=lr, optimizer="adam"))
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, len(xtr), (batch,), generator=g)
        loss = (model(xtr[idx]) - ytr[idx]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        test = float((model(xte) - yte).pow(2).mean())
    return test if np.isfinite(test) else float("inf")


def regret(losses: dict, sizes, lrs, seeds, rng) -> dict:
    """Regret per size (mean over seeds, and a bootstrap 90% interval over seeds)."""
    arr = np.array([[[min(losses[(s, lr, sd)], 1e6) for sd in seeds] for lr in lrs] for s in sizes])  # size,lr,seed

    def one(a):
        mean = a.mean(-1)
        best_base = int(np.argmin(mean[0]))
        return [float(mean[i, best_base] / mean[i].min() - 1) for i in range(len(sizes))], best_base

    point, best = one(arr)
    boots = [one(arr[:, :, rng.integers(0, len(seeds), len(seeds))])[0] for _ in range(200)]
    lo, hi = np.percentile(boots, [5, 95], axis=0)
    best_lr = [lrs[int(np.argmin(arr[i].mean(-1)))] for i in range(len(sizes))]
    return {"regret": point, "lo": lo.tolist(), "hi": hi.tolist(), "base_lr": lrs[best], "best_lr": best_lr}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results/sfno")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--widths", default="4,8,16", help="width axis (at lmax --lmax)")
    ap.add_argument("--lmaxes", default="4,8,16", help="spherical-modes axis (at width --width)")
    ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--lmax", type=int, default=8)
    ap.add_argument("--axes", default="width,modes", help="which axes to sweep")
    ap.add_argument("--params", default="sp,mup", help="which parametrizations")
    ap.add_argument("--lr-exponents", default="-3,-2.5,-2,-1.5,-1", help="LRs as powers of 10")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    data = make_data(96, 32, 16)
    lrs = [10 ** float(e) for e in args.lr_exponents.split(",")]
    seeds = list(range(args.seeds))
    widths, lmaxes = [int(v) for v in args.widths.split(",")], [int(v) for v in args.lmaxes.split(",")]
    axes = {"width": [(w, args.lmax) for w in widths], "modes": [(args.width, deg) for deg in lmaxes]}
    axes = {a: axes[a] for a in args.axes.split(",")}
    out, rng = {"lrs": lrs, "seeds": seeds, "steps": args.steps, "grid": [16, 32], "axes": {}}, np.random.default_rng(0)
    for axis, sizes in axes.items():
        for param in args.params.split(","):
            losses = {}
            for size in sizes:
                for lr in lrs:
                    for sd in seeds:
                        losses[(size, lr, sd)] = train_one(*size, sizes[0], param, lr, sd, data, args.steps, 16)
                print(f"{axis} {param} {size} {time.time() - t0:.0f}s", flush=True)
            res = regret(losses, sizes, lrs, seeds, rng)
            res["losses"] = {
                f"{s[0]}x{s[1]}|{lr:g}": [losses[(s, lr, sd)] for sd in seeds] for s in sizes for lr in lrs
            }
            out["axes"][f"{axis}/{param}"] = res | {"sizes": sizes}
    out["wall_s"] = time.time() - t0
    path = Path(args.out)
    path.mkdir(parents=True, exist_ok=True)
    (path / "lr_sweep.json").write_text(json.dumps(out, indent=1))
    lines = [
        "| axis | param | size (width x lmax) | best LR | regret at base LR | 90% interval |",
        "|---|---|---|---|---|---|",
    ]
    for key, r in out["axes"].items():
        for i, s in enumerate(r["sizes"]):
            lines.append(
                f"| {key.split('/')[0]} | {key.split('/')[1]} | {s[0]}x{s[1]} | {r['best_lr'][i]:.3g} | "
                f"{100 * r['regret'][i]:.1f}% | [{100 * r['lo'][i]:.1f}%, {100 * r['hi'][i]:.1f}%] |"
            )
    (path / "lr_sweep.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
