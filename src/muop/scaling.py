"""Per-parameter scaling metadata: which dims of a parameter grow with width or with Fourier modes.

Models only *declare* this; :mod:`muop.parametrization` turns it into init stds, forward
multipliers and learning rates. The metadata lives on the module that owns the parameter (a plain
dict attribute), not on the tensor, because ``copy.deepcopy`` of an ``nn.Parameter`` drops tensor
attributes. Module attributes survive ``deepcopy``, pickling, ``state_dict`` round trips (the
metadata is structural, never saved) and ``torch.compile`` (which wraps the original modules).

Any ``nn.Module`` works: call :func:`declare` for each of its parameters, and multiply an
``OUTPUT``-role weight by :func:`multiplier` in ``forward``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from torch import nn

from .errors import UsageError
from .rules import Role

__all__ = ["ParamSpec", "declare", "multiplier", "set_multiplier", "iter_specs"]

_SPECS = "_muop_specs"
_MULTS = "_muop_mults"


@dataclass(frozen=True)
class ParamSpec:
    """How one parameter scales.

    Attributes:
        role: which rule row applies (:class:`muop.rules.Role`).
        fan_in_dims: tensor dims whose product is the fan-in (e.g. ``(1,)`` for a Linear weight).
        fan_out_dims: tensor dims whose product is the fan-out.
        mode_dims: tensor dims that index Fourier modes (spectral weights only).
        width_in: the fan-in dims grow with model width.
        width_out: the fan-out dims grow with model width.
        complex_pair: the last dim holds (real, imag) of a complex weight; the init std then
            applies to the complex value (each part gets std/sqrt(2)).
    """

    role: Role
    fan_in_dims: tuple[int, ...] = ()
    fan_out_dims: tuple[int, ...] = ()
    mode_dims: tuple[int, ...] = ()
    width_in: bool = False
    width_out: bool = False
    complex_pair: bool = False

    def __post_init__(self) -> None:
        if self.role is Role.SPECTRAL and not self.mode_dims:
            raise UsageError("a spectral parameter must declare its mode_dims")
        if self.role is not Role.SPECTRAL and self.mode_dims:
            raise UsageError(f"only spectral parameters have mode_dims, got role {self.role.value}")
        if self.role is not Role.BIAS and not self.fan_in_dims:
            raise UsageError(f"a {self.role.value} weight must declare fan_in_dims")

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
