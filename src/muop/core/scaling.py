"""Per-parameter scaling metadata: which dims of a parameter grow with width or with Fourier modes.

Models only *declare* this; :mod:`muop.parametrization` turns it into init stds, forward
multipliers and learning rates. The metadata lives on the module that owns the parameter (a plain
dict attribute), not on the tensor, because ``copy.deepcopy`` of an ``nn.Parameter`` drops tensor
attributes. Module attributes survive ``deepcopy``, pickling, ``state_dict`` round trips (the
metadata is structural, never saved) and ``torch.compile`` (which wraps the original modules).

Any ``nn.Module`` works: call :func:`declare` for each of its parameters, and multiply an
``OUTPUT``-role weight by :func:`multiplier` in ``forward`` (or, for a module whose ``forward`` you
do not own, call :func:`multiply_input` once: the same multiplier is then applied to its input).

Modules from another library (:mod:`muop.adapters`) keep that library's own initial values:
their specs say ``init="scale"`` (rescale the values by the plan's init multiplier) or
``init="normalize"`` (set their RMS to the planned std) instead of muop's fresh draw.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from torch import nn

from ..errors import UsageError
from .rules import Role

__all__ = [
    "ParamSpec",
    "INIT_MODES",
    "BRANCH",
    "declare",
    "multiplier",
    "set_multiplier",
    "multiply_input",
    "scale_init",
    "iter_specs",
]

_SPECS = "_muop_specs"
_MULTS = "_muop_mults"
_SCALED = "_muop_init_scaled"

#: How a plan initialises a parameter: ``draw`` a fresh N(0, std²) (muop's own layers), ``scale``
#: the module's own values by the plan's init multiplier (a library whose own init is SP-shaped:
#: SP then leaves it untouched), or ``normalize`` the own values to the planned RMS (the factors of
#: a factorized weight, whose library init ties their scales to the rank).
INIT_MODES = ("draw", "scale", "normalize")

#: Where a parameter sits relative to a residual stream ``x + a·F(x)``: ``""`` outside any branch
#: (lifting, projection, readout, non-residual layers), ``"inner"`` inside F but not writing its
#: output, ``"out"`` in a layer that writes F's output (it carries the branch multiplier a; F is
#: linear in it). Only branch parameters scale with depth (:mod:`muop.core.rules`).
BRANCH = ("", "inner", "out")


@dataclass(frozen=True)
class ParamSpec:
    """How one parameter scales.

    Attributes:
        role: which rule row applies (:class:`muop.core.rules.Role`).
        fan_in_dims: tensor dims whose product is the fan-in (e.g. ``(1,)`` for a Linear weight).
        fan_out_dims: tensor dims whose product is the fan-out.
        mode_dims: tensor dims that index Fourier modes (spectral weights only).
        width_in: the fan-in dims grow with model width.
        width_out: the fan-out dims grow with model width.
        complex_pair: the last dim holds (real, imag) of a complex weight; the init std then
            applies to the complex value (each part gets std/sqrt(2)). Complex-dtype parameters
            are recognised without it.
        init: one of :data:`INIT_MODES`.
        factor: one factor of a factorized weight (docs/parametrization.md, "Factorized spectral
            weights"). A factor may have no fan-in dims (a diagonal factor: fan-in 1), and a
            spectral factor need not index every mode dimension: it carries the whole weight's
            mode factor ``g``.
        branch: one of :data:`BRANCH`: whether (and where) the parameter sits in a residual branch.
    """

    role: Role
    fan_in_dims: tuple[int, ...] = ()
    fan_out_dims: tuple[int, ...] = ()
    mode_dims: tuple[int, ...] = ()
    width_in: bool = False
    width_out: bool = False
    complex_pair: bool = False
    init: str = "draw"
    factor: bool = False
    branch: str = ""

    def __post_init__(self) -> None:
        if self.branch not in BRANCH:
            raise UsageError(f"branch={self.branch!r}: expected one of {BRANCH}")
        if self.branch and self.role in (Role.INPUT, Role.OUTPUT):
            raise UsageError(
                f"a {self.role.value} weight cannot sit in a residual branch (only hidden, spectral and bias "
                "parameters do)"
            )
        if self.role is Role.SPECTRAL and not self.mode_dims and not self.factor:
            raise UsageError("a spectral parameter must declare its mode_dims")
        if self.role is not Role.SPECTRAL and self.mode_dims:
            raise UsageError(f"only spectral parameters have mode_dims, got role {self.role.value}")
        if self.role is not Role.BIAS and not self.fan_in_dims and not self.factor:
            raise UsageError(f"a {self.role.value} weight must declare fan_in_dims")
        if self.init not in INIT_MODES:
            raise UsageError(f"init={self.init!r}: expected one of {INIT_MODES}")

    def fan_in(self, shape: tuple[int, ...]) -> int:
        """Fan-in read off the tensor's shape (1 if no fan-in dims)."""
        return math.prod(shape[d] for d in self.fan_in_dims)

    def fan_out(self, shape: tuple[int, ...]) -> int:
        """Fan-out read off the tensor's shape (1 if no fan-out dims)."""
        return math.prod(shape[d] for d in self.fan_out_dims)


def declare(module: nn.Module, name: str, spec: ParamSpec) -> None:
    """Attach ``spec`` to ``module``'s direct parameter ``name`` (call once per parameter)."""
    params = dict(module.named_parameters(recurse=False))
    if name not in params:
        raise KeyError(f"{type(module).__name__} has no direct parameter {name!r}; has {sorted(params)}")
    ndim = params[name].dim()
    for d in (*spec.fan_in_dims, *spec.fan_out_dims, *spec.mode_dims):
        if not -ndim <= d < ndim:
            raise UsageError(f"dim {d} of {name!r} is out of range for a {ndim}-d parameter")
    if _SPECS not in module.__dict__:
        module.__dict__[_SPECS] = {}
        module.__dict__[_MULTS] = {}
    module.__dict__[_SPECS][name] = spec
    module.__dict__[_MULTS].setdefault(name, 1.0)


def multiplier(module: nn.Module, name: str) -> float:
    """The forward multiplier the parametrization set for ``module.<name>`` (1.0 by default)."""
    mults = module.__dict__.get(_MULTS)
    return 1.0 if mults is None else mults.get(name, 1.0)


def set_multiplier(module: nn.Module, name: str, value: float) -> None:
    """Set the forward multiplier of a declared parameter (used by the parametrization engine)."""
    if name not in module.__dict__.get(_SPECS, {}):
        raise KeyError(f"{type(module).__name__}.{name} has no declared ParamSpec")
    module.__dict__[_MULTS][name] = float(value)


def multiply_input(module: nn.Module, name: str = "weight") -> None:
    """Make ``module`` apply the multiplier of its parameter ``name`` to its input.

    For a linear map ``y = W x + b`` whose ``forward`` you do not own (``nn.Conv1d``,
    ``nn.Linear``), scaling the input is the same as using ``mult * W``: ``W (mult x) + b``. The
    hook reads the multiplier on every call and does nothing while it is 1.0 (so SP is exact).
    """
    if not module.__dict__.get("_muop_input_hook"):
        module.register_forward_pre_hook(_input_multiplier_hook)
        module.__dict__["_muop_input_hook"] = name


def _input_multiplier_hook(module: nn.Module, args: tuple) -> tuple | None:
    m = multiplier(module, module.__dict__["_muop_input_hook"])
    return None if m == 1.0 else (args[0] * m, *args[1:])


def scale_init(module: nn.Module, name: str, factor: float) -> None:
    """Multiply ``module.<name>`` so that its values are its own initial values times ``factor``.

    Remembers the factor already applied, so parametrizing a model twice does not compound.
    """
    done = module.__dict__.setdefault(_SCALED, {})
    change = float(factor) / done.get(name, 1.0)
    if change != 1.0:
        getattr(module, name).data.mul_(change)
    done[name] = float(factor)


def iter_specs(model: nn.Module) -> Iterator[tuple[str, nn.Module, str, nn.Parameter, ParamSpec | None]]:
    """Yield ``(qualified_name, owner, local_name, param, spec_or_None)`` for every parameter.

    Qualified names drop the ``_orig_mod.`` prefix that ``torch.compile`` adds, so a compiled model
    reports the same names as the original.
    """
    seen: set[int] = set()
    for mod_name, mod in model.named_modules():
        specs = mod.__dict__.get(_SPECS, {})
        for local, p in mod.named_parameters(recurse=False):
            if id(p) in seen:  # shared parameters: first owner wins
                continue
            seen.add(id(p))
            qual = f"{mod_name}.{local}" if mod_name else local
            qual = qual.replace("_orig_mod.", "")
            yield qual, mod, local, p, specs.get(local)
