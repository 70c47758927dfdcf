"""The coordinate check (Tensor Programs V; microsoft/mup), for regression with relative L2.

For each model size (width, modes or depth), train a few optimizer steps from the same seed and record,
for every layer, the RMS of its output on a fixed batch (``out_rms``) and the RMS of the change of
that output since initialisation (``delta_rms``). Under a correct μP the curves are flat in size;
a curve that grows or shrinks with size points at a wrong rule. A clean check is necessary, not
sufficient: only an LR sweep shows transfer (docs/parametrization.md, "What a coordinate check can
and cannot show here").

The task is a fixed synthetic operator-learning problem: inputs are smooth Gaussian random fields
on the periodic grid, targets a fixed nonlinear smoothing of them, so no data files are needed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import Tensor, nn

from ..adapters import declared_shape, watched_modules
from ..config import PRECISIONS
from ..core import Base, make_optimizer, max_modes
from ..errors import UsageError
from ..models import FNO, FNOConfig, ModelConfig
from ..parametrization import parametrize
from ..training import Precision, rel_l2
from ..utils.atomic import atomic_write
from .plots import plot_coord

__all__ = ["CoordCheckConfig", "coord_check", "smooth_field", "save_coord", "plot_coord", "growth", "AXES"]

AXES = ("modes", "width", "depth")


@dataclass(frozen=True)
class CoordCheckConfig:
    """What to run.

    Attributes:
        axis: ``"modes"`` (K per dim varies, width fixed), ``"width"`` (width varies, modes fixed)
            or ``"depth"`` (number of residual blocks varies; width and modes fixed).
        sizes: the K values, widths or depths, increasing; the first is the base shape.
        parametrization: ``"sp"`` or ``"mup"``.
        dim: spatial dimensions (1, 2, 3).
        steps: optimizer steps (records are taken at steps 0..steps).
        lr: base learning rate.
        optimizer: ``adam``, ``adamw`` or ``sgd``.
        width: the fixed width when ``axis="modes"``.
        modes: the fixed K per dim when ``axis="width"``.
        depth: Fourier layers (the fixed depth for the width and modes axes).
        grid: points per dimension (default: 64, doubled until it resolves the largest K).
        batch: batch size of the fixed training batch.
        seeds: number of seeds to average (the RMS values are averaged across seeds).
        input_decay: input spectrum ∝ (1 + |k|²)^(-input_decay); smaller means rougher inputs
            with more energy in high modes.
        residual: the FNO's residual blocks (:data:`muop.models.fno.RESIDUALS`); the depth axis needs
            ``pre`` or ``post`` (default: ``pre`` for depth, ``none`` otherwise).
        block: the Fourier layer, ``classic`` or ``neuralop``.
        alpha: depth exponent of the branch multiplier (0.5 Depth-μP ... 1 CompleteP).
        overrides: rule-table variant (:func:`muop.core.rules.table`), as ``((key, table), ...)``.
        model: a run config's model (:class:`muop.config.ModelConfig`, any ``library``): checked
            instead of the FNO the fields above describe; its own width, modes, depth, block and
            residual are the fixed values, and the axis replaces one of them.
        precision: ``fp32``, ``bf16`` or ``fp16`` (:data:`muop.config.PRECISIONS`): the forward passes
            run under autocast to that dtype, as ``train.precision`` trains (fp16 with its gradient
            scaler); the recorded RMS values are computed in float64 from the layers' outputs.
    """

    axis: str = "width"
    sizes: tuple[int, ...] = (16, 32, 64, 128, 256)
    parametrization: str = "mup"
    dim: int = 1
    steps: int = 5
    lr: float = 1e-2
    optimizer: str = "adam"
    width: int = 32
    modes: int = 8
    depth: int = 4
    grid: int | None = None
    batch: int = 8
    seeds: int = 3
    input_decay: float = 2.0
    residual: str | None = None
    block: str = FNOConfig.block
    alpha: float = 0.5
    overrides: tuple = ()
    model: ModelConfig | None = None
    precision: str = "fp32"

    def __post_init__(self) -> None:
        if self.axis not in AXES:
            raise UsageError(f"axis={self.axis!r}: expected one of {AXES}")
        if self.precision not in PRECISIONS:
            raise UsageError(f"precision={self.precision!r}: expected one of {', '.join(PRECISIONS)}")
        if self.model is not None:  # the fixed values are the model's own
            shape = self.model.layout(1, 1)
            fixed = {
                "dim": shape.dim,
                "width": shape.width,
                "modes": max(shape.modes),
                "depth": shape.depth,
                "block": shape.block,
                "residual": shape.residual,
            }
            for name, value in fixed.items():
                object.__setattr__(self, name, value)
        if self.residual is None:
            object.__setattr__(self, "residual", "pre" if self.axis == "depth" else "none")
        object.__setattr__(self, "overrides", tuple(sorted(dict(self.overrides).items())))
        object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))
        self._check_sizes()
        for name in ("steps", "grid", "batch", "seeds", "width", "depth"):
            if int(getattr(self, name)) < 1:
                raise UsageError(f"{name}={getattr(self, name)}: expected a positive integer")
        if self.input_decay < 0:
            raise UsageError(f"input_decay={self.input_decay}: expected >= 0")
        if not self.lr > 0:
            raise UsageError(f"lr={self.lr}: expected a positive learning rate")
        self._check_depth_axis()

    def _check_sizes(self) -> None:
        """The sizes, and a grid that resolves every K (chosen here when not given)."""
        sizes = self.sizes
        if len(sizes) < 2 or any(s < 1 for s in sizes) or list(sizes) != sorted(set(sizes)):
            raise UsageError(f"sizes={list(sizes)}: expected at least two distinct positive sizes in increasing order")
        if self.axis == "modes" and sizes[0] < 2:
            raise UsageError(f"sizes={list(sizes)}: the log-K rule needs K >= 2")
        k = sizes[-1] if self.axis == "modes" else self.modes
        if self.grid is None:
            object.__setattr__(self, "grid", _auto_grid(self.dim, k))
        kmax = min(max_modes((self.grid,) * self.dim))
        if self.axis == "modes" and k > kmax:
            raise UsageError(f"modes {k} exceed what a {self.grid}-point grid resolves (at most {kmax}); raise --grid")
        if k > kmax:
            raise UsageError(f"modes={k} exceed what a {self.grid}-point grid resolves")

    def _check_depth_axis(self) -> None:
        """Over depth, the model must have residual branches (checks alpha and overrides too)."""
        base = self.base_shape()
        if self.axis == "depth" and base.depth is None:  # the model's own shape: it has no residual branches
            if self.model is not None and self.model.library != "muop":
                how = "options fno_skip: identity and channel_mlp_skip: identity (and no norm, dense weights)"
            else:
                how = (
                    "pre or post (" + ("--set model.residual=pre" if self.model is not None else "--residual pre") + ")"
                )
            raise UsageError(f"residual='none' over depth: only residual blocks scale with depth; expected {how}")

    def _model_at(self, size: int) -> ModelConfig:
        """:attr:`model` with the axis set to ``size``."""
        axis = {"width": {"width": size}, "depth": {"depth": size}, "modes": {"modes": [size] * self.dim}}[self.axis]
        return replace(self.model, **axis)

    def build(self, size: int) -> nn.Module:
        """The model at this size of the axis (muop's FNO, or :attr:`model` of any library)."""
        return FNO(self.model_config(size)) if self.model is None else self._model_at(size).build(1, 1)

    def model_config(self, size: int) -> FNOConfig:
        """The FNO at this size of the axis (for :attr:`model`: its layout, :meth:`ModelConfig.layout`)."""
        if self.model is not None:
            return self._model_at(size).layout(1, 1)
        common = dict(dim=self.dim, residual=self.residual, block=self.block)
        if self.axis == "width":
            return FNOConfig(modes=self.modes, width=size, depth=self.depth, **common)
        if self.axis == "depth":
            return FNOConfig(modes=self.modes, width=self.width, depth=size, **common)
        return FNOConfig(modes=size, width=self.width, depth=self.depth, **common)

    def base_shape(self) -> Base:
        """The μP base: the first size's shape, with ``alpha`` and ``overrides``. A neuraloperator
        model's shape is the one it declares (depth only with residual branches)."""
        if self.model is not None and self.model.library != "muop":
            s = declared_shape(self.build(self.sizes[0]))
        else:
            s = self.model_config(self.sizes[0]).shape
        return Base(s.width, s.modes, s.depth, overrides=dict(self.overrides), alpha=self.alpha)


def _auto_grid(dim: int, k: int) -> int:
    """Points per dimension: 64, doubled until a ``dim``-d grid resolves K = ``k`` in every dimension."""
    grid = 64
    while min(max_modes((grid,) * dim)) < k:
        grid *= 2
    return grid


def smooth_field(n: int, grid: int, dim: int, generator: torch.Generator, decay: float = 2.0) -> Tensor:
    """n periodic Gaussian random fields on ``grid``^dim points with spectrum ∝ (1 + |k|²)^(-decay).

    Returns (n, 1, grid, ..., grid), normalised to unit RMS per sample.
    """
    k1 = torch.fft.fftfreq(grid, d=1.0 / grid)
    ks = torch.meshgrid(*([k1] * dim), indexing="ij")
    k2 = sum(k * k for k in ks)
    amp = (1.0 + k2) ** (-decay / 2)
    coef = torch.randn(n, 1, *([grid] * dim), dtype=torch.complex64, generator=generator) * amp
    f = torch.fft.ifftn(coef, dim=tuple(range(2, 2 + dim))).real
    return f / f.flatten(1).pow(2).mean(1).sqrt().view(-1, *([1] * (dim + 1)))


def _task(cfg: CoordCheckConfig, seed: int) -> tuple[Tensor, Tensor]:
    gen = torch.Generator().manual_seed(10_000 + seed)
    x = smooth_field(cfg.batch, cfg.grid, cfg.dim, gen, decay=cfg.input_decay)
    y = torch.tanh(2 * x) + 0.5 * torch.roll(x, shifts=cfg.grid // 4, dims=-1)
    return x, y


def _watched(model: nn.Module, axis: str = "width") -> dict[str, nn.Module]:
    """The modules whose outputs are recorded. Over depth the blocks differ in number, so the
    first, middle and last block are recorded under those names (``blocks.last`` is the top of the
    residual stream: its change sums every block's update)."""
    if not isinstance(model, FNO):
        return watched_modules(model, axis)
    mods: dict[str, nn.Module] = {"lifting": model.lifting}
    if axis == "depth":
        n = len(model.layers)
        for label, i in (("first", 0), ("mid", n // 2), ("last", n - 1)):
            mods[f"blocks.{label}.spectral"] = model.layers[i].spectral
            mods[f"blocks.{label}"] = model.layers[i]
    else:
        for i, layer in enumerate(model.layers):
            mods[f"layers.{i}.spectral"] = layer.spectral
            mods[f"layers.{i}"] = layer
    mods["projection_hidden"] = model.projection_hidden
    mods["output"] = model.projection_out
    return mods


def _rms(t: Tensor) -> float:
    return float(t.double().pow(2).mean().sqrt())


def run_one(cfg: CoordCheckConfig, size: int, seed: int) -> list[dict]:
    """Records for one size and seed: ``{size, step, layer, out_rms, delta_rms}``."""
    model = cfg.build(size)
    plan = parametrize(model, cfg.parametrization, base=cfg.base_shape(), seed=seed)
    opt = make_optimizer(plan, cfg.optimizer, lr=cfg.lr)
    prec = Precision(cfg.precision)
    x, y = _task(cfg, seed)
    outs: dict[str, Tensor] = {}
    # clone: the Fourier layers add to the spectral output in place after the hook has seen it
    handles = [
        m.register_forward_hook(lambda _m, _i, o, n=name: outs.__setitem__(n, o.detach().clone()))
        for name, m in _watched(model, cfg.axis).items()
    ]
    records, init = [], {}
    try:
        for step in range(cfg.steps + 1):
            if step > 0:
                opt.zero_grad(set_to_none=True)
                with prec.autocast():
                    pred = model(x)
                prec.step(rel_l2(pred.float(), y), opt)
            with torch.no_grad(), prec.autocast():
                model(x)
            for name, o in outs.items():
                if step == 0:
                    init[name] = o.clone()
                records.append(
                    {"size": size, "step": step, "layer": name, "out_rms": _rms(o), "delta_rms": _rms(o - init[name])}
                )
    finally:
        for h in handles:
            h.remove()
    return records


def coord_check(cfg: CoordCheckConfig, progress: Callable[[int, int], None] | None = None) -> dict:
    """Run the check; returns the ``coord.json`` document (records averaged over seeds)."""
    acc: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
    total, done = len(cfg.sizes) * cfg.seeds, 0
    for size in cfg.sizes:
        for seed in range(cfg.seeds):
            for r in run_one(cfg, size, seed):
                acc[(r["size"], r["step"], r["layer"])].append((r["out_rms"], r["delta_rms"]))
            done += 1
            if progress:
                progress(done, total)
    records = [
        {
            "size": s,
            "step": t,
            "layer": layer,
            "out_rms": sum(v[0] for v in vals) / len(vals),
            "delta_rms": sum(v[1] for v in vals) / len(vals),
        }
        for (s, t, layer), vals in acc.items()
    ]
    cfg_dict = asdict(cfg)
    cfg_dict["sizes"] = list(cfg.sizes)
    return {
        "axis": cfg.axis,
        "sizes": list(cfg.sizes),
        "parametrization": cfg.parametrization,
        "config": cfg_dict,
        "records": records,
        "growth": growth(records, cfg.sizes),
    }


def growth(records: Sequence[dict], sizes: Sequence[int]) -> dict[str, dict[str, float]]:
    """Per layer, at the last step: ``delta_rms`` at the largest size / at the smallest, and the
    max/min ratio of ``delta_rms`` across sizes. Flat curves give values near 1."""
    last = max(r["step"] for r in records)
    by_layer: dict[str, dict[int, float]] = defaultdict(dict)
    for r in records:
        if r["step"] == last:
            by_layer[r["layer"]][r["size"]] = r["delta_rms"]
    out = {}
    for layer, d in by_layer.items():
        vals = [d[s] for s in sizes]
        lo = max(min(vals), 1e-30)
        out[layer] = {"last_over_first": vals[-1] / max(vals[0], 1e-30), "max_over_min": max(vals) / lo}
    return out


def save_coord(doc: dict, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``coord.json`` and ``coord.png`` into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    j = atomic_write(out / "coord.json", json.dumps(doc, indent=1))
    png = out / "coord.png"
    plot_coord(doc, png)
    return j, png
