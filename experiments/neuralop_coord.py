r"""Coordinate check (muop.workflows.coord_check) on neuraloperator's FNO/TFNO, parametrized by muop, and on
muop's FNO with the ``neuralop`` block (``--model muop-block``).

The check itself is muop's (same synthetic task, steps, records, growth table, plot); only the
model is swapped: neuraloperator's, built with the same shape (modes converted exactly) and
recognised by ``muop.parametrize``. Watched: lifting, each layer's spectral convolution and
channel MLP (muop-block: each layer), and the projection (the model's output).

Usage (the committed results)::

    python experiments/neuralop_coord.py --model TFNO --axis width --sizes 16,32,64,128,256 --parametrization mup \
        --out results/neuralop/coord_tfno_width_mup
    python experiments/neuralop_coord.py --model TFNO --axis width --sizes 16,32,64,128,256 --parametrization sp \
        --out results/neuralop/coord_tfno_width_sp
    (and the other runs listed in results/neuralop/README.md)
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

import torch

from muop.core.modes import modes_to_neuralop

# the module (``import muop.workflows.coord_check as cc`` gives the function of that name): its FNO and
# _watched are swapped below
cc = importlib.import_module("muop.workflows.coord_check")

warnings.filterwarnings("ignore")


def neuralop_factory(name: str, factorization: str | None, rank: float):
    if name == "muop-block":
        import dataclasses

        from muop.models import FNO

        return lambda fcfg: FNO(dataclasses.replace(fcfg, block="neuralop"))
    from neuralop import models

    def make(fcfg):
        kw = {"factorization": factorization, "rank": rank} if name == "TFNO" else {}
        return getattr(models, name)(
            n_modes=modes_to_neuralop(fcfg.modes),
            in_channels=fcfg.in_channels,
            out_channels=fcfg.out_channels,
            hidden_channels=fcfg.width,
            n_layers=fcfg.depth,
            **kw,
        )

    return make


def watched(model, axis: str = "width") -> dict:  # over width or modes only (the committed runs)
    if not hasattr(model, "fno_blocks"):  # muop's FNO, neuralop block
        return {
            "lifting": model.lifting_out,
            **{f"layers.{i}": layer for i, layer in enumerate(model.layers)},
            "output": model.projection_out,
        }
    b = model.fno_blocks
    mods = {"lifting": model.lifting}
    for i in range(model.n_layers):
        mods[f"convs.{i}"] = b.convs[i]
        if b.use_channel_mlp:
            mods[f"channel_mlp.{i}"] = b.channel_mlp[i]
    mods["output"] = model.projection
    return mods


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=("FNO", "TFNO", "muop-block"), default="TFNO")
    ap.add_argument("--factorization", default="tucker", help="TFNO only: tucker, cp or tt")
    ap.add_argument("--rank", type=float, default=0.1)
    ap.add_argument("--axis", choices=cc.AXES, default="width")
    ap.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], required=True)
    ap.add_argument("--parametrization", choices=("sp", "mup"), default="mup")
    ap.add_argument("--dim", type=int, default=1)
    ap.add_argument("--modes", type=int, default=8)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--grid", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--input-decay", type=float, default=2.0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    cfg = cc.CoordCheckConfig(
        axis=args.axis,
        sizes=tuple(args.sizes),
        parametrization=args.parametrization,
        dim=args.dim,
        modes=args.modes,
        width=args.width,
        grid=args.grid,
        lr=args.lr,
        steps=args.steps,
        seeds=args.seeds,
        input_decay=args.input_decay,
    )
    # muop's check with neuraloperator's model in place of muop's FNO
    cc.FNO, cc._watched = neuralop_factory(args.model, args.factorization, args.rank), watched
    doc = cc.coord_check(cfg)
    doc["model"] = {
        "library": "muop" if args.model == "muop-block" else "neuralop",
        "name": args.model,
        "factorization": args.factorization if args.model == "TFNO" else None,
        "rank": args.rank,
    }
    doc["command"] = "python experiments/neuralop_coord.py " + " ".join(argv if argv is not None else sys.argv[1:])
    cc.save_coord(doc, args.out)
    for layer, g in doc["growth"].items():
        print(f"{layer:16s} last/first {g['last_over_first']:.3f}  max/min {g['max_over_min']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
