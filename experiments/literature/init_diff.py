"""Why muop's default FNO trails neuraloperator's at the same budget (issue #26, results/literature/README.md).

The two models have the same layout: muop's ``neuralop`` block is neuraloperator 2.0's default FNO, and
``muop.adapters.neuralop.to_muop`` copies one into the other exactly. What differs is the initialisation.
This script (1) prints, per parameter, the std each library's model starts from as ``muop train`` builds it
(``muop.training.trainer.build``: parametrize + optimizer; also each parameter's learning rate), and
(2) with ``--train``, trains on the same data and budget: muop's default FNO, muop's FNO started from
neuraloperator's initial weights (``to_muop`` of a neuraloperator model drawn with the same seed), muop's
FNO with only its pointwise weights at neuraloperator's std (1/sqrt(3·fan_in)), and neuraloperator's FNO.
The loop is muop's ``Trainer`` for all four, so only the initial weights differ.

Usage: python experiments/literature/init_diff.py CONFIG [--train [--variants V ...]] [--set section.field=value ...]
[--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics

import torch

from muop.adapters.neuralop import to_muop
from muop.config.io import load_config
from muop.data.prepare import prepare_data
from muop.models.layers import Pointwise
from muop.training.callbacks import Callback, DivergenceStop
from muop.training.run import result_of
from muop.training.trainer import Trainer, build

VARIANTS = ("muop", "muop+neuralop_init", "muop+pointwise_std/sqrt3", "neuralop")


def init_stats(cfg, data) -> dict[str, dict[str, tuple[list[int], float, float]]]:
    """Per library: parameter name -> (shape, population std of its entries (complex: of the real and
    imaginary parts), learning rate)."""
    out = {}
    for lib in ("muop", "neuralop"):
        c = cfg.__class__.from_dict({**cfg.to_dict(), "model": {**cfg.to_dict()["model"], "library": lib}})
        s = build(c, data)
        lrs = {id(p): g["lr"] for g in s.optimizer.param_groups for p in g["params"]}
        out[lib] = {
            n: (list(p.shape), (torch.view_as_real(p) if p.is_complex() else p).std(correction=0).item(), lrs[id(p)])
            for n, p in s.model.named_parameters()
        }
    return out


def _variant_setup(cfg, data, variant: str):
    """The Setup of one variant: muop's FNO with its own or neuraloperator's initial weights, or neuraloperator's."""
    lib = "neuralop" if variant == "neuralop" else "muop"
    c = cfg.__class__.from_dict({**cfg.to_dict(), "model": {**cfg.to_dict()["model"], "library": lib}})
    s = build(c, data)
    if variant == "muop+neuralop_init":
        torch.manual_seed(cfg.train.seed)
        twin = cfg.model.__class__(**{**cfg.to_dict()["model"], "library": "neuralop"})
        ref = to_muop(twin.build(data.train.x.shape[1], data.train.y.shape[1]))
        s.model.load_state_dict(ref.state_dict())  # in place: the optimizer keeps the same tensors
    elif variant == "muop+pointwise_std/sqrt3":
        with torch.no_grad():
            for m in s.model.modules():
                if isinstance(m, Pointwise):
                    m.weight.div_(math.sqrt(3.0))
    return c, s


class LossLog(Callback):
    """Keeps each epoch's mean training loss."""

    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_epoch_end(self, trainer: Trainer) -> None:
        self.losses.append(round(trainer.state.train_loss, 6))


@torch.no_grad()
def activation_stds(cfg, data, n: int = 20) -> dict[str, list[float]]:
    """Per variant (muop's FNO with its own init, with neuraloperator's, pointwise/sqrt3): the std of the
    hidden state after the lifting and after each Fourier layer, and of the output, on ``n`` normalised
    training inputs (the model sees the inputs the Trainer gives it)."""
    out = {}
    for v in VARIANTS[:-1]:
        _, s = _variant_setup(cfg, data, v)
        x = data.train.x[:n]
        x = s.x_normalizer.encode(x) if s.x_normalizer else x
        m = s.model
        h = m.lifting_out(m.act(m.lifting(x)))
        stds = [h.std().item()]
        for layer in m.layers:
            h = layer(h)
            stds.append(h.std().item())
        stds.append(m.projection_out(m.act(m.projection_hidden(h))).std().item())
        assert torch.allclose(m(x), m.projection_out(m.act(m.projection_hidden(h))))  # the same forward as FNO's
        out[v] = [round(t, 3) for t in stds]
    return out


def train_variants(cfg, data, variants: tuple[str, ...] = VARIANTS) -> dict[str, dict]:
    """Each variant trained by muop's Trainer: its test error, last training loss and per-epoch losses."""
    res = {}
    for v in variants:
        c, s = _variant_setup(cfg, data, v)
        log = LossLog()
        t = Trainer(c, data, setup=s, callbacks=[DivergenceStop(c.train.diverge_factor), log])
        t.fit()
        r = result_of(t)
        res[v] = {"test_rel_l2": r.test_rel_l2, "train_loss": log.losses, "seconds": round(r.seconds, 1)}
        print(v, json.dumps(res[v]), flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--train", action="store_true")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS), help="which to train")
    ap.add_argument("--out")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = load_config(a.config, a.set)
    data = prepare_data(cfg.data)
    stats = init_stats(cfg, data)
    for lib, rows in stats.items():
        print(f"== {lib}: {sum(math.prod(s) for s, _, _ in rows.values())} parameter entries")
        for n, (shape, std, lr) in rows.items():
            print(f"  {n:45s} {str(shape):22s} std {std:.4f}  lr {lr:.2e}")
    pw = [std for n, (_, std, _) in stats["muop"].items() if n.endswith("weight") and "spectral" not in n]
    print("muop pointwise weight std (median):", round(statistics.median(pw), 4))
    acts = activation_stds(cfg, data)
    for v, stds in acts.items():
        print(f"activation std (lifting, layers 1..L, output) {v}: {stds}")
    out = {"config": a.config, "overrides": a.set, "init": stats, "activation_std": acts}
    if a.train:
        out["train"] = train_variants(cfg, data, tuple(a.variants))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
