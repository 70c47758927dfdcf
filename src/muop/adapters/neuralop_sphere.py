"""neuraloperator 2.x's SFNO (``neuralop.models.SFNO``): declare every parameter for muop.

SFNO is neuraloperator's FNO with ``SphericalConv`` in place of ``SpectralConv`` (it needs
torch-harmonics, the ``sphere`` extra). Everything but the spectral convolutions is declared as
for the FNO (:mod:`muop.adapters.neuralop`). ``SphericalConv`` takes the spherical harmonic
transform (SHT) of its input, keeps degrees ``l < lmax = n_modes[0]`` and orders
``m < mmax = n_modes[1] // 2``, and multiplies the coefficients of degree l by one complex
(in, out) block R_l for every m (``dhconv=True``: the Driscoll-Healy convolution theorem). Its weight
is a ``ComplexDenseTensor`` stored as real pairs, (in, out, lmax, 2).

The mode rule (docs/parametrization.md, "Spherical modes"): the layer's operator norm is the
maximum over its independent blocks, and there are N = lmax of them, so the spectral weight's init
std and Adam LR scale with g = sqrt(log lmax_base / log lmax)
(:func:`muop.core.rules.spherical_mode_factor`, layout ``"driscoll-healy"``), whatever mmax is. The
model's ``muop_shape`` therefore carries ``modes = (lmax,)``: the plan's mode factor over that one
"dimension" is exactly this g.

Supported: dense spherical weights (SFNO's default), not separable, ``max_n_modes`` equal to
``n_modes``. Factorized spherical weights raise a :class:`~muop.errors.UsageError`.
"""

from __future__ import annotations

from torch import nn

from ..core.rules import Role
from ..errors import UsageError
from .neuralop import _decl, declare_body

__all__ = ["is_sfno", "declare_sfno", "sfno_modes", "SUPPORTED_SPHERE"]

SUPPORTED_SPHERE = "neuralop.models.SFNO with dense spherical weights (not separable, max_n_modes = n_modes)"


def _spherical_conv_class() -> type | None:
    try:
        from neuralop.layers.spherical_convolution import SphericalConv
    except ImportError:  # torch-harmonics missing: no model can hold a SphericalConv
        return None
    return SphericalConv


def is_sfno(model: nn.Module) -> bool:
    """Whether ``model`` is a neuraloperator FNO whose spectral convolutions are ``SphericalConv``."""
    cls = _spherical_conv_class()
    convs = getattr(getattr(model, "fno_blocks", None), "convs", None)
    return cls is not None and convs is not None and any(isinstance(c, cls) for c in convs)


def sfno_modes(n_modes: tuple[int, ...]) -> tuple[int, int]:
    """``(lmax, mmax)`` that neuraloperator's SphericalConv keeps for its ``n_modes``."""
    if len(n_modes) != 2:
        raise UsageError(f"SFNO n_modes={tuple(n_modes)}: expected two entries (degrees, 2 x orders)")
    lmax, mmax = int(n_modes[0]), int(n_modes[1]) // 2
    if lmax < 2 or mmax < 1:
        raise UsageError(f"SFNO n_modes={tuple(n_modes)}: expected n_modes[0] >= 2 and n_modes[1] >= 2")
    return lmax, mmax


def _unsupported(what: str) -> UsageError:
    return UsageError(f"muop cannot parametrize {what}; supported: {SUPPORTED_SPHERE}")


def _spherical(conv: nn.Module, where: str) -> None:
    """A dense ``SphericalConv``: weight (in, out, lmax, 2) real pairs, and its bias (out, 1, 1)."""
    cls = _spherical_conv_class()
    if cls is None or not isinstance(conv, cls):
        raise _unsupported(f"the convolution {where} ({type(conv).__name__})")
    if conv.separable:
        raise _unsupported(f"{where} with separable=True (a diagonal spherical weight)")
    w = conv.weight
    if type(w).__name__ != "ComplexDenseTensor":
        raise _unsupported(f"the spherical weight {where}.weight ({type(w).__name__})")
    full = (conv.in_channels, conv.out_channels, conv.n_modes[0], 2)
    stored = tuple(w._parameters["tensor"].shape)  # tltorch's complex view hides the (real, imag) dim
    if stored != full:
        raise _unsupported(f"{where} with weight shape {stored} != {full} (max_n_modes != n_modes)")
    _decl(
        w, "tensor", Role.SPECTRAL, fan_in=(0,), fan_out=(1,), mode_dims=(2,), w_in=True, w_out=True, complex_pair=True
    )
    _decl(conv, "bias", Role.BIAS, w_out=True)


def declare_sfno(model: nn.Module) -> None:
    """Declare every parameter of a neuraloperator SFNO and set ``model.muop_shape``
    (width = hidden_channels, modes = (lmax,)). Raises :class:`UsageError` naming what muop cannot
    classify."""
    if model.__dict__.get("_muop_adapter") == "neuralop":
        return
    name = type(model).__name__
    if getattr(model, "complex_data", False):
        raise _unsupported(f"neuralop's {name} with complex_data=True")
    lmax, _ = sfno_modes(tuple(model.n_modes))
    declare_body(model, _spherical, (lmax,))
