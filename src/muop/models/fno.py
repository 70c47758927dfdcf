"""The Fourier Neural Operator (Li et al., ICLR 2021), n-dimensional, configured by one dataclass.

``G = Q ∘ σ(W_L + K_L) ∘ ... ∘ σ(W_1 + K_1) ∘ P`` with no activation after the last Fourier layer,
as in the original FNO. P (lifting) maps ``in_channels`` (+ d grid coordinates) to ``width``;
each layer adds a spectral convolution K_l and a pointwise map W_l; Q is a two-layer pointwise
MLP ``width -> projection_ratio*width -> out_channels``.

``FNOConfig.block`` chooses the Fourier layer: ``"classic"`` (the one above) or ``"neuralop"`` (the
default since muop 0.2; configs and results made before say ``classic``), neuraloperator 2.x's
default layout (:class:`NeuralopLayer`: a channel MLP and a soft-gating skip per layer, and a
two-layer lifting ``in -> 2·width -> width``). With copied weights the
``"neuralop"`` FNO equals ``neuralop.models.FNO`` with its defaults
(:func:`muop.adapters.neuralop.to_muop`).

``FNOConfig.residual`` (``pre`` or ``post``) turns either layer into a residual block
``x + a·F(x)`` (:class:`ResidualFourierLayer`, :class:`ResidualNeuralopLayer`) whose branch μP
scales with depth (docs/parametrization.md, "Depth"); the default ``none`` is the layers above.

Every parameter declares its scaling (:mod:`muop.core.scaling`), so :func:`muop.parametrize` can
apply SP or μP to it; ``FNO.muop_shape`` tells the engine the model's width, modes and (with
residual blocks) depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ..core.modes import normalize_modes
from ..core.rules import Role
from ..core.scaling import ParamSpec, declare
from ..core.shape import Shape
from ..errors import UsageError
from .layers import ACTIVATIONS, Pointwise, SpectralConv

__all__ = [
    "FNOConfig",
    "FNO",
    "FourierLayer",
    "NeuralopLayer",
    "ResidualFourierLayer",
    "ResidualNeuralopLayer",
    "Lifting",
    "fno_flops",
    "BLOCKS",
    "RESIDUALS",
]

#: The Fourier layer layouts :class:`FNOConfig` can build.
BLOCKS = ("classic", "neuralop")
#: ``FNOConfig.residual``: no residual stream (the layers of the original FNO), or a residual
#: stream ``x + a·F(x)`` with pre-activation (``F(σ(x))``) or post-activation (``σ(x + a·F(x))``)
#: blocks; a is the depth multiplier the parametrization sets (:mod:`muop.core.rules`).
RESIDUALS = ("none", "pre", "post")
#: neuraloperator's defaults for the ``"neuralop"`` block: lifting hidden channels and channel-MLP
#: hidden channels as multiples of the width.
LIFTING_RATIO = 2
MLP_EXPANSION = 0.5


@dataclass(frozen=True)
class FNOConfig:
    """Shape and options of an FNO.

    Attributes:
        modes: K per spatial dim (muop convention, :mod:`muop.core.modes`); an int means the same K in
            every dim, and then ``dim`` is required. A tuple's length sets ``dim``.
        dim: number of spatial dimensions d (1, 2 or 3).
        width: hidden channel width m.
        depth: number of Fourier layers L.
        in_channels, out_channels: channels of the input and output functions.
        projection_ratio: hidden width of the projection MLP, as a multiple of ``width``.
        activation: one of ``gelu``, ``tanh``, ``relu``, ``silu``.
        append_coords: append the d grid coordinates in [0, 1) to the input (as the original FNO
            does).
        block: the Fourier layer, one of :data:`BLOCKS` (module docstring). The default,
            ``"neuralop"``, tested better than ``"classic"`` on Burgers and Darcy at the same data
            and epochs, and on Burgers also at the same compute (results/neuralop/README.md).
        residual: one of :data:`RESIDUALS`: ``"none"`` (default) keeps the layers above; ``"pre"``
            or ``"post"`` makes each layer a residual block (:class:`ResidualFourierLayer`,
            :class:`ResidualNeuralopLayer`), whose branch μP scales with depth.
    """

    modes: int | tuple[int, ...] = 8
    dim: int | None = None
    width: int = 32
    depth: int = 4
    in_channels: int = 1
    out_channels: int = 1
    projection_ratio: float = 2.0
    activation: str = "gelu"
    append_coords: bool = True
    block: str = "neuralop"
    residual: str = "none"

    def __post_init__(self) -> None:
        dim = self.dim if self.dim is not None else (None if isinstance(self.modes, int) else len(tuple(self.modes)))
        if dim is None:
            raise UsageError(f"modes={self.modes} is a single int; also give dim (1, 2 or 3)")
        if dim not in (1, 2, 3):
            raise UsageError(f"dim={dim}: expected 1, 2 or 3")
        object.__setattr__(self, "modes", normalize_modes(self.modes, dim))
        object.__setattr__(self, "dim", dim)
        for name in ("width", "depth", "in_channels", "out_channels"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise UsageError(f"{name}={v!r}: expected a positive integer")
        if not self.projection_ratio > 0:
            raise UsageError(f"projection_ratio={self.projection_ratio}: expected a positive number")
        if self.activation not in ACTIVATIONS:
            raise UsageError(f"activation={self.activation!r}: expected one of {sorted(ACTIVATIONS)}")
        if self.block not in BLOCKS:
            raise UsageError(f"block={self.block!r}: expected one of {', '.join(BLOCKS)}")
        if self.residual not in RESIDUALS:
            raise UsageError(f"residual={self.residual!r}: expected one of {', '.join(RESIDUALS)}")

    @property
    def shape(self) -> Shape:
        """The scaled axes of this config: ``Shape(width, modes)``, and ``depth`` with residual blocks."""
        return Shape(self.width, self.modes, self.depth if self.residual != "none" else None)

    def with_shape(
        self, width: int | None = None, modes: int | tuple[int, ...] | None = None, depth: int | None = None
    ) -> FNOConfig:
        """A copy with another width, modes (ints broadcast to ``dim``) and/or depth."""
        return replace(
            self,
            width=self.width if width is None else width,
            modes=self.modes if modes is None else normalize_modes(modes, self.dim),
            depth=self.depth if depth is None else depth,
        )


class Lifting(Pointwise):
    """P: ``in_channels`` (+ ``n_coords`` grid coordinates in [0, 1)) -> ``width``, pointwise.

    The coordinates' contribution does not depend on the batch, so it is computed once per call
    and added with the bias instead of concatenating coordinate channels to every sample.
    """

    def __init__(self, in_channels: int, n_coords: int, width: int) -> None:
        super().__init__(in_channels + n_coords, width, Role.INPUT, width_in=False, width_out=True)
        self.in_channels, self.n_coords = in_channels, n_coords
        self._grid_cache: dict[tuple, Tensor] = {}

    def grid_features(self, grid: tuple[int, ...], device: torch.device, dtype: torch.dtype) -> Tensor:
        """Coordinates ``i/n`` per dimension, shape (d, n_1, ..., n_d). Cached per grid in eager mode;
        under ``torch.compile`` made in the graph (a cache lookup would guard, and recompile, on its content)."""
        key = (grid, device, dtype)
        coords = None if torch.compiler.is_compiling() else self._grid_cache.get(key)
        if coords is None:
            axes = [torch.arange(n, device=device, dtype=dtype) / n for n in grid]
            coords = torch.stack(torch.meshgrid(*axes, indexing="ij"))
            if not torch.compiler.is_compiling():
                self._grid_cache = {key: coords}
        return coords

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, in_channels, *grid) -> (B, width, *grid)."""
        b, c, *grid = x.shape
        if c != self.in_channels:
            raise UsageError(f"input has {c} channels, the model expects in_channels={self.in_channels}")
        if self.n_coords and len(grid) != self.n_coords:
            raise UsageError(f"input shape {tuple(x.shape)} is not (B, C, *grid) with {self.n_coords} spatial dims")
        w = self.effective_weight()
        const = self.effective_bias()[:, None]  # (width, 1): the batch-independent part, once
        if self.n_coords:
            coords = self.grid_features(tuple(grid), x.device, x.dtype).reshape(self.n_coords, -1)
            const = torch.addmm(const, w[:, c:], coords)
        y = torch.baddbmm(const, w[:, :c].expand(b, -1, -1), x.reshape(b, c, -1))
        return y.reshape(b, -1, *grid)


def _kernel_plus_pointwise(spectral: SpectralConv, pointwise: Pointwise, u: Tensor) -> Tensor:
    """``K u + W u`` as (B, C, n_1·...·n_d), for u (B, C, *grid): the pointwise path is added in
    place onto the spectral output (irfft's backward does not need its output, so autograd allows
    it, and it saves one full-size activation per layer). Under autocast u is in low precision and
    so is the sum: the weight is cast to u's dtype, as autocast would for an out-of-place op."""
    b, c = u.shape[:2]
    w = pointwise.effective_weight().to(u.dtype).expand(b, -1, -1)
    return spectral(u).reshape(b, c, -1).baddbmm_(w, u.reshape(b, c, -1))


class FourierLayer(nn.Module):
    """``v -> σ(K v + W v)``: spectral convolution (with bias) plus pointwise map (no bias)."""

    def __init__(self, width: int, modes: tuple[int, ...], activation: str | None) -> None:
        super().__init__()
        self.spectral = SpectralConv(width, width, modes)
        self.pointwise = Pointwise(width, width, Role.HIDDEN, width_in=True, width_out=True, bias=False)
        self.act = ACTIVATIONS[activation] if activation else None

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, width, *grid) -> (B, width, *grid)."""
        b, c, *grid = x.shape
        y = _kernel_plus_pointwise(self.spectral, self.pointwise, x)
        y = y.reshape(b, c, *grid)
        return self.act(y) if self.act is not None else y


class NeuralopLayer(nn.Module):
    """neuraloperator 2.x's default Fourier layer (``FNOBlocks`` with its defaults), one layer:

    ``h = σ(K v + W v)``, then ``y = σ(MLP(h) + γ ⊙ v)`` with ``MLP = W_2 σ(W_1 · + b_1) + b_2``
    (``width -> width/2 -> width``) and a soft-gating skip ``γ`` (one gain per channel, initialised
    to one). The last layer (``last=True``) has neither outer σ, as in neuraloperator.
    """

    def __init__(self, width: int, modes: tuple[int, ...], activation: str, last: bool = False) -> None:
        super().__init__()
        hidden = max(1, round(width * MLP_EXPANSION))
        self.spectral = SpectralConv(width, width, modes)
        self.pointwise = Pointwise(width, width, Role.HIDDEN, width_in=True, width_out=True, bias=False)
        self.mlp_in = Pointwise(width, hidden, Role.HIDDEN, width_in=True, width_out=True)
        self.mlp_out = Pointwise(hidden, width, Role.HIDDEN, width_in=True, width_out=True)
        self.gate = nn.Parameter(torch.ones(width))
        declare(self, "gate", ParamSpec(Role.BIAS, fan_out_dims=(0,), width_out=True, init="scale"))
        self.act = ACTIVATIONS[activation]
        self.last = last

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, width, *grid) -> (B, width, *grid)."""
        b, c, *grid = x.shape
        xf = x.reshape(b, c, -1)
        h = _kernel_plus_pointwise(self.spectral, self.pointwise, x)
        if not self.last:
            h = self.act(h)
        # baddbmm's backward does not need its output: add the gated skip in place
        y = self.mlp_out(self.act(self.mlp_in(h))).addcmul_(self.gate[:, None], xf)
        if not self.last:
            y = self.act(y)
        return y.reshape(b, c, *grid)


class ResidualFourierLayer(nn.Module):
    """The classic layer as a residual block: ``x + a·(K u + W u)``, u = σ(x) (``pre``), or
    ``σ(x + a·(K x + W x))`` (``post``; no σ after the last block, as in the FNO).

    The branch is linear in K and W, so the depth multiplier a is their forward multiplier
    (``branch="out"``), set by the parametrization; under SP it is 1.
    """

    def __init__(self, width: int, modes: tuple[int, ...], activation: str, residual: str, last: bool = False) -> None:
        super().__init__()
        self.spectral = SpectralConv(width, width, modes, branch="out")
        self.pointwise = Pointwise(width, width, Role.HIDDEN, width_in=True, width_out=True, bias=False, branch="out")
        self.act = ACTIVATIONS[activation]
        self.pre, self.last = residual == "pre", last

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, width, *grid) -> (B, width, *grid)."""
        b, c, *grid = x.shape
        u = self.act(x) if self.pre else x
        y = _kernel_plus_pointwise(self.spectral, self.pointwise, u)
        y = y.add_(x.reshape(b, c, -1)).reshape(b, c, *grid)  # in place: neither op's backward needs its output
        return y if (self.pre or self.last) else self.act(y)


class ResidualNeuralopLayer(nn.Module):
    """The ``neuralop`` layer as a residual block: ``x + a·MLP(σ(K u + W u))``, u = σ(x) (``pre``),
    or ``σ(x + a·MLP(σ(K x + W x)))`` (``post``; none after the last block). The residual stream
    replaces the soft-gating skip; ``MLP = W_2 σ(W_1 · + b_1) + b_2`` (``width -> width/2 -> width``).

    A multi-layer branch: only W_2 and b_2 carry a (``branch="out"``); K, W and W_1 are ``inner``.
    """

    def __init__(self, width: int, modes: tuple[int, ...], activation: str, residual: str, last: bool = False) -> None:
        super().__init__()
        hidden = max(1, round(width * MLP_EXPANSION))
        self.spectral = SpectralConv(width, width, modes, branch="inner")
        self.pointwise = Pointwise(width, width, Role.HIDDEN, width_in=True, width_out=True, bias=False, branch="inner")
        self.mlp_in = Pointwise(width, hidden, Role.HIDDEN, width_in=True, width_out=True, branch="inner")
        self.mlp_out = Pointwise(hidden, width, Role.HIDDEN, width_in=True, width_out=True, branch="out")
        self.act = ACTIVATIONS[activation]
        self.pre, self.last = residual == "pre", last

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, width, *grid) -> (B, width, *grid)."""
        b, c, *grid = x.shape
        u = self.act(x) if self.pre else x
        h = _kernel_plus_pointwise(self.spectral, self.pointwise, u)
        y = self.mlp_out(self.act(self.mlp_in(self.act(h)))).add_(x.reshape(b, c, -1)).reshape(b, c, *grid)
        return y if (self.pre or self.last) else self.act(y)


class FNO(nn.Module):
    """Fourier Neural Operator. Input (B, in_channels, n_1, ..., n_d) -> (B, out_channels, n_1, ..., n_d).

    Evaluates at any grid resolution: modes are clipped on coarse grids, zero beyond K on fine ones.
    """

    def __init__(self, config: FNOConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        n_coords = c.dim if c.append_coords else 0
        last = [i == c.depth - 1 for i in range(c.depth)]
        if c.block == "classic":
            self.lifting = Lifting(c.in_channels, n_coords, c.width)
            if c.residual == "none":
                self.layers = nn.ModuleList(
                    FourierLayer(c.width, c.modes, None if last[i] else c.activation) for i in range(c.depth)
                )
            else:
                self.layers = nn.ModuleList(
                    ResidualFourierLayer(c.width, c.modes, c.activation, c.residual, last[i]) for i in range(c.depth)
                )
        else:  # neuraloperator's layout: a two-layer lifting, then NeuralopLayers
            self.lifting = Lifting(c.in_channels, n_coords, LIFTING_RATIO * c.width)
            self.lifting_out = Pointwise(LIFTING_RATIO * c.width, c.width, Role.HIDDEN, width_in=True, width_out=True)
            if c.residual == "none":
                self.layers = nn.ModuleList(
                    NeuralopLayer(c.width, c.modes, c.activation, last=last[i]) for i in range(c.depth)
                )
            else:
                self.layers = nn.ModuleList(
                    ResidualNeuralopLayer(c.width, c.modes, c.activation, c.residual, last[i]) for i in range(c.depth)
                )
        hidden = max(1, round(c.projection_ratio * c.width))
        self.projection_hidden = Pointwise(c.width, hidden, Role.HIDDEN, width_in=True, width_out=True)
        self.projection_out = Pointwise(hidden, c.out_channels, Role.OUTPUT, width_in=True, width_out=False)
        self.act = ACTIVATIONS[c.activation]
        #: recompute each Fourier layer during backward instead of keeping its activations
        #: (:func:`torch.utils.checkpoint.checkpoint`): memory for compute; see :meth:`checkpoint_activations`
        self.checkpoint_layers = False

    def checkpoint_activations(self, on: bool = True) -> FNO:
        """Keep only each Fourier layer's input during training and recompute the layer in backward
        (activation checkpointing, one checkpoint per layer); returns the model. Results are the
        same; a step costs about one more forward pass of the layers, and the saved activations
        shrink from every layer's intermediates to one (B, width, *grid) tensor per layer."""
        self.checkpoint_layers = bool(on)
        return self

    @property
    def muop_shape(self) -> Shape:
        """Width and modes of this model (read by :func:`muop.parametrize`)."""
        return self.config.shape

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, in_channels, *grid) -> (B, out_channels, *grid)."""
        h = self.lifting(x)
        if self.config.block == "neuralop":
            h = self.lifting_out(self.act(h))
        recompute = self.checkpoint_layers and torch.is_grad_enabled()
        for layer in self.layers:
            h = checkpoint(layer, h, use_reentrant=False) if recompute else layer(h)
        h = self.act(self.projection_hidden(h))
        return self.projection_out(h)


def fno_flops(cfg: FNOConfig, grid: tuple[int, ...]) -> float:
    """Approximate floating-point operations of one forward pass for one sample.

    Counts the pointwise maps (2·N·in·out), the per-mode real contraction (8·M·w²) and the FFTs
    (≈ 2.5·N·log2 N per channel and direction). A training step costs about 3× the forward.
    The ``"neuralop"`` block adds its channel MLPs, gates (residual adds) and the second lifting
    layer; a residual classic block adds its residual add. Everything per layer scales with depth.
    """
    n = math.prod(grid)
    w, d = cfg.width, cfg.dim
    modes = math.prod([2 * k for k in cfg.modes[:-1]]) * cfg.modes[-1]
    layer = 2 * n * w * w + 8 * modes * w * w + 2 * 2.5 * n * math.log2(max(n, 2)) * w
    if cfg.block == "classic":
        lift = 2 * n * (cfg.in_channels + d) * w
    else:
        lw, mw = LIFTING_RATIO * w, max(1, round(w * MLP_EXPANSION))
        lift = 2 * n * (cfg.in_channels + d) * lw + 2 * n * lw * w
        layer += 2 * 2 * n * w * mw + 2 * n * w
    if cfg.block == "classic" and cfg.residual != "none":
        layer += n * w
    hidden = round(cfg.projection_ratio * w)
    proj = 2 * n * w * hidden + 2 * n * hidden * cfg.out_channels
    return float(lift + cfg.depth * layer + proj)
