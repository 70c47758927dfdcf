r"""Training runs with neuraloperator models and muop's two FNO blocks (results/neuralop/).

* ``blocks``: the same budget (data, epochs, width, modes, LR grid, seeds) for muop's FNO with the
  classic block, with the ``neuralop`` block (muop's init: N(0, 1/fan_in) pointwise weights, zero
  biases; or neuraloperator's: PyTorch's Conv1d default, i.e. U(±1/sqrt(fan_in)) weights with std
  1/sqrt(3 fan_in) and U(±1/sqrt(fan_in)) biases, random spectral biases), and
  neuraloperator's own FNO parametrized by muop. Reports each variant's best-LR test error.
* ``sweep``: an LR sweep over width or modes of a ``library: neuralop`` config, SP and μP, several
  seeds: the best LR per size and how far it drifts.

Usage (the committed results; 2 shared CPU cores, one torch thread per process)::

    python experiments/neuralop_runs.py blocks --config experiments/burgers_width.yaml --set model.width=32 \
        --lrs 1e-3,3e-3,1e-2,3e-2 --seeds 3 --out results/neuralop/blocks_burgers.json
    python experiments/neuralop_runs.py blocks --config experiments/burgers_width.yaml --set model.width=32 \
        --set train.epochs=33 --only classic --lrs 1e-2,3e-2 --seeds 3 \
        --out results/neuralop/blocks_burgers_classic_equal_time.json
    python experiments/neuralop_runs.py blocks --config experiments/darcy_modes.yaml --lrs 3e-3,1e-2,3e-2 --seeds 2 \
        --out results/neuralop/blocks_darcy.json
    python experiments/neuralop_runs.py blocks --config experiments/darcy_modes.yaml --set train.epochs=23 \
        --only classic --lrs 1e-2,3e-2 --seeds 2 --out results/neuralop/blocks_darcy_classic_equal_time.json
    python experiments/neuralop_runs.py sweep --config experiments/neuralop_burgers.yaml --axis width \
        --sizes 16,32,64,128 --lrs 1e-3,3e-3,1e-2,3e-2,1e-1 --seeds 3 --out results/neuralop/width_sweep.json
    python experiments/neuralop_runs.py sweep --config experiments/neuralop_burgers.yaml --set model.width=32 \
        --set parametrization.base_width=32 --set parametrization.base_modes=[4] --axis modes --sizes 4,8,16,32 \
        --lrs 3e-3,1e-2,3e-2,1e-1 --seeds 3 --out results/neuralop/modes_sweep.json

Finished runs go to ``<out>.rows.jsonl`` as they finish; rerunning a command resumes it.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

from muop.config import load_config, with_fields
from muop.data import prepare_data
from muop.training import DivergenceStop, Setup, Trainer, build, complete

warnings.filterwarnings("ignore")


@torch.no_grad()
def neuralop_init(setup: Setup) -> None:
    """Re-draw muop's pointwise weights and all biases as neuraloperator (PyTorch's Conv1d) does,
    keeping the plan's init multipliers: weights U(±1/sqrt(fan_in)) × init_mult, biases
    U(±1/sqrt(fan_in)), spectral biases N(0, 2/(in+out))."""
    from muop.models import Pointwise, SpectralConv

    for name, mod in setup.model.named_modules():
        if isinstance(mod, Pointwise):
            bound = 1 / math.sqrt(mod.weight.shape[1])
            mod.weight.uniform_(-bound, bound).mul_(setup.plan[f"{name}.weight"].init_mult)
            if mod.bias is not None:
                mod.bias.uniform_(-bound, bound)
        elif isinstance(mod, SpectralConv) and mod.bias is not None:
            mod.bias.normal_(0, math.sqrt(2 / (mod.in_channels + mod.out_channels)))


def run(cfg, data, init: str = "muop") -> dict:
    setup = build(cfg, data)
    if init == "neuralop":
        neuralop_init(setup)
    trainer = Trainer(cfg, data, setup=setup, callbacks=[DivergenceStop(cfg.train.diverge_factor)])
    r = complete(trainer)
    return {
        "test_rel_l2": r.test_rel_l2,
        "diverged": r.diverged,
        "seconds": r.seconds,
        "n_params": sum(p.numel() * (2 if p.is_complex() else 1) for p in setup.model.parameters()),
    }


BLOCK_VARIANTS = {
    "muop classic": ({"block": "classic"}, "muop"),
    "muop neuralop-block, muop init": ({"block": "neuralop"}, "muop"),
    "muop neuralop-block, neuralop init": ({"block": "neuralop"}, "neuralop"),
    "neuralop FNO (muop parametrize)": ({"library": "neuralop", "block": "neuralop"}, "muop"),
}


def summarize(rows: list[dict], key: str) -> list[dict]:
    """Per ``key`` value: mean test error per LR over seeds, the best LR and its per-seed errors."""
    out = []
    for k in dict.fromkeys(r[key] for r in rows):
        mine = [r for r in rows if r[key] == k]
        per_lr = {}
        for lr in dict.fromkeys(r["lr"] for r in mine):
            errs = [r["test_rel_l2"] for r in mine if r["lr"] == lr]
            per_lr[lr] = statistics.mean(errs) if all(math.isfinite(e) for e in errs) else float("inf")
        best = min(per_lr, key=per_lr.get)
        out.append(
            {
                key: k,
                "best_lr": best,
                "best_mean": per_lr[best],
                "per_lr_mean": per_lr,
                "best_seeds": [r["test_rel_l2"] for r in mine if r["lr"] == best],
                "seconds_mean": statistics.mean(r["seconds"] for r in mine),
            }
        )
    return out


class Rows:
    """The finished runs, appended one JSON line each to ``<out>.rows.jsonl`` as they finish; a
    rerun of the same command skips the runs found there (resume after an interruption)."""

    def __init__(self, out: Path) -> None:
        self.path = out.with_suffix(".rows.jsonl")
        self.rows = [json.loads(line) for line in self.path.read_text().splitlines()] if self.path.exists() else []

    def get(self, **key) -> dict | None:
        return next((r for r in self.rows if all(r[k] == v for k, v in key.items())), None)

    def add(self, row: dict) -> None:
        self.rows.append(row)
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


def blocks(args, done: Rows) -> dict:
    base = load_config(args.config, args.set)
    data = prepare_data(base.data)
    rows = []
    for variant, (model, init) in BLOCK_VARIANTS.items():
        if args.only and not any(o in variant for o in args.only):
            continue
        for lr in args.lrs:
            for seed in range(args.seeds):
                key = {"variant": variant, "lr": lr, "seed": seed}
                if done.get(**key) is None:
                    cfg = with_fields(
                        base,
                        model=model,
                        optimizer={"lr": lr},
                        train={"seed": seed},
                        parametrization={"kind": "sp", "base_width": None, "base_modes": None},
                    )
                    done.add({**key, **run(cfg, data, init)})
                rows.append(done.get(**key))
    return {"rows": rows, "summary": summarize(rows, "variant")}


def sweep(args, done: Rows) -> dict:
    base = load_config(args.config, args.set)
    data = prepare_data(base.data)
    rows = []
    for par in args.parametrizations:
        for size in args.sizes:
            model = {"width": size} if args.axis == "width" else {"modes": [size] * len(base.model.modes)}
            for lr in args.lrs:
                for seed in range(args.seeds):
                    key = {"parametrization": par, "size": size, "lr": lr, "seed": seed}
                    if done.get(**key) is None:
                        cfg = with_fields(
                            base, model=model, parametrization={"kind": par}, optimizer={"lr": lr}, train={"seed": seed}
                        )
                        done.add({**key, **run(cfg, data)})
                    rows.append(done.get(**key))
    summary = []
    for par in args.parametrizations:
        for s in summarize([r | {"key": (par, r["size"])} for r in rows if r["parametrization"] == par], "key"):
            summary.append({"parametrization": par, "size": s.pop("key")[1], **s})
    return {"rows": rows, "summary": summary}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("blocks", "sweep"):
        p = sub.add_parser(name)
        p.add_argument("--config", required=True)
        p.add_argument("--set", action="append", default=[], help="section.field=value overrides")
        p.add_argument("--lrs", type=lambda s: [float(v) for v in s.split(",")], required=True)
        p.add_argument("--seeds", type=int, default=2)
        p.add_argument("--out", required=True)
        if name == "sweep":
            p.add_argument("--axis", choices=("width", "modes"), required=True)
            p.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], required=True)
            p.add_argument("--parametrizations", type=lambda s: s.split(","), default=["sp", "mup"])
        else:
            p.add_argument(
                "--only",
                action="append",
                default=[],
                help="run only the variants whose name contains this (repeatable)",
            )
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = Rows(out)
    doc = blocks(args, done) if args.cmd == "blocks" else sweep(args, done)
    doc["meta"] = {
        "command": "python experiments/neuralop_runs.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "torch": torch.__version__,
        "threads": 1,
        "wall_s_last_session": time.time() - t0,
    }
    out.write_text(json.dumps(doc, indent=1))
    for s in doc["summary"]:
        print({k: v for k, v in s.items() if k != "per_lr_mean"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
