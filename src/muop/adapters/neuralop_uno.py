"""neuraloperator 2.x's UNO (``neuralop.models.UNO``): declare every parameter for muop.

A UNO is a lifting, a list of one-layer ``FNOBlocks`` whose widths (``uno_out_channels``), modes
(``uno_n_modes``) and grids (``uno_scalings``) differ from block to block, horizontal skips whose
outputs are concatenated to later blocks' inputs, and a projection. Roles:

==============================================  ===========================================
parameter                                       role
==============================================  ===========================================
``lifting.fcs.0`` / ``.1``                      input / hidden
``fno_blocks.i.convs.0.weight`` (dense)         spectral, its own modes (one block's K)
``fno_blocks.i`` skips, channel MLP, norm       as in the FNO (:mod:`muop.adapters.neuralop`)
``horizontal_skips.j`` (linear)                 hidden
``projection.fcs.0`` / ``.1``                   hidden / output
==============================================  ===========================================

**Width.** Every channel count of the model must scale with ``hidden_channels`` by one ratio m =
width / base width, so the model's ``muop_layout`` records each block's width, the lifting and the
projection channels *as fractions of* ``hidden_channels``, and each block's modes and scalings; a
base model must have the same layout (:func:`muop.adapters.kind`), only a different
``hidden_channels``. ``muop_shape`` is (hidden_channels, modes of block 0).

**Modes.** The mode factor g is one number per plan (:mod:`muop.core.plan`), but a UNO's blocks
keep different K, so a modes multiplier would need one g per block. muop does not do that yet:
a base model must keep every block's modes (the layout says so), and a ``muop.Shape`` base whose
modes differ from block 0's applies block 0's g to every block (documented, not exact).
"""

from __future__ import annotations

from fractions import Fraction

from torch import nn

from ..core.modes import modes_from_neuralop
from ..core.rules import Role
from ..core.scaling import iter_specs
from ..core.shape import Shape
from ..errors import UsageError
from .neuralop import _block_extras, _channel_mlp, _skip, _spectral

__all__ = ["is_uno", "declare_uno", "uno_watched_modules"]


def is_uno(model: nn.Module) -> bool:
    """Whether ``model`` is a ``neuralop.models.UNO``."""
    from neuralop.models import UNO

    return isinstance(model, UNO)


def _layout(model: nn.Module) -> tuple:
    """What a base UNO must share with ``model``: widths as fractions of hidden_channels, modes,
    scalings, the horizontal skip map and the number of blocks."""
    h = model.hidden_channels
    return (
        tuple(Fraction(c, h) for c in model.uno_out_channels),
        Fraction(model.lifting_channels, h),
        Fraction(model.projection_channels, h),
        tuple(tuple(n) for n in model.uno_n_modes),
        tuple(tuple(s) for s in model.uno_scalings),
        tuple(sorted(model.horizontal_skips_map.items())),
    )


def declare_uno(model: nn.Module) -> None:
    """Declare every parameter of a neuraloperator UNO and set ``model.muop_shape`` and
    ``model._muop_layout``. Raises :class:`UsageError` naming what muop cannot classify."""
    if model.__dict__.get("_muop_adapter") == "neuralop":
        return
    modes = []
    for i, block in enumerate(model.fno_blocks):
        try:
            k = modes_from_neuralop(tuple(model.uno_n_modes[i]))
        except ValueError as e:
            raise UsageError(f"neuralop's UNO with uno_n_modes[{i}]={model.uno_n_modes[i]}: {e}") from None
        if len(block.convs) != 1:
            raise UsageError(f"muop cannot parametrize a UNO block with {len(block.convs)} layers (expected 1)")
        shape = (*[2 * x for x in k[:-1]], k[-1])
        _spectral(block.convs[0], f"fno_blocks.{i}.convs.0", shape)
        _block_extras(block, f"fno_blocks.{i}")
        modes.append(k)
    _channel_mlp(model.lifting, "lifting", Role.INPUT, Role.HIDDEN, w_in=False, w_out=True)
    _channel_mlp(model.projection, "projection", Role.HIDDEN, Role.OUTPUT, w_in=True, w_out=False)
    for key, skip in model.horizontal_skips.items():
        _skip(skip, f"horizontal_skips.{key}")
    left = [n for n, _, _, _, spec in iter_specs(model) if spec is None]
    if left:
        raise UsageError(
            f"muop cannot parametrize the parameter {left[0]} of neuralop's UNO ({len(left)} unclassified)"
        )
    model.__dict__["muop_shape"] = Shape(model.hidden_channels, modes[0])
    model.__dict__["_muop_layout"] = _layout(model)
    model.__dict__["_muop_adapter"] = "neuralop"


def uno_watched_modules(model: nn.Module) -> dict[str, nn.Module]:
    """The modules a coordinate check records for a UNO: the lifting, each block's spectral
    convolution and the block itself, and the projection (the model's output)."""
    mods: dict[str, nn.Module] = {"lifting": model.lifting}
    for i, block in enumerate(model.fno_blocks):
        mods[f"layers.{i}.spectral"] = block.convs[0]
        mods[f"layers.{i}"] = block
    mods["output"] = model.projection
    return mods
