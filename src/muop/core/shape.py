"""A model's size along the scaled axes (:class:`Shape`), and the μP base (:class:`Base`).

A :class:`Shape` is what the rules scale with: width, Fourier modes K per dimension and, for
models with residual branches, depth. A :class:`Base` is the shape μP is relative to, plus the
constants tuned there besides the learning rate (Tensor Programs V's init scale and multipliers)
and rule-table variants for ablations (:func:`muop.core.rules.table`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from torch import nn

from ..errors import UsageError
from .rules import Role, check_alpha, check_overrides

__all__ = ["Shape", "Base", "model_shape", "as_shape"]


@dataclass(frozen=True)
class Shape:
    """A model's size along the scaled axes.

    Attributes:
        width: channel width m of the hidden layers.
        modes: Fourier modes K per spatial dimension, muop's convention (:mod:`muop.core.modes`).
        depth: number of residual blocks L, for models with residual branches (None: depth is not
            a scaled axis; a base without it takes the model's depth, so m_L = 1).
    """

    width: int
    modes: tuple[int, ...] = ()
    depth: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.modes, int):
            object.__setattr__(self, "modes", (self.modes,))
        object.__setattr__(self, "modes", tuple(int(k) for k in self.modes))
        if int(self.width) < 1:
            raise UsageError(f"width={self.width} must be a positive integer")
        if any(k < 1 for k in self.modes):
            raise UsageError(f"modes={self.modes} must be positive integers")
        if self.depth is not None and (
            isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 1
        ):
            raise UsageError(f"depth={self.depth!r}: expected a positive integer (number of residual blocks) or None")


def _pairs(value: Mapping | tuple, what: str) -> tuple[tuple[str, object], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    try:
        return tuple(sorted((str(k), v) for k, v in items))
    except (TypeError, ValueError):
        raise UsageError(f"{what}={value!r}: expected a mapping") from None


@dataclass(frozen=True)
class Base(Shape):
    """The μP base: its :class:`Shape`, and the constants tuned there besides the learning rate.

    Attributes:
        init_scale: multiplies every weight's init std (Tensor Programs V's global init scale).
        multipliers: role -> forward multiplier, applied on top of the rule's (TP5's input and
            output multipliers; any :class:`~muop.core.rules.Role` may be given).
        overrides: ``{"ROLE" or "ROLE.COLUMN": table}``: roles whose rule comes from the other table
            (ablations, :func:`muop.core.rules.table`).
        alpha: depth exponent of the residual-branch multiplier a = (L/L_base)^-alpha, in
            [0.5, 1] (:func:`muop.core.rules.check_alpha`; 0.5 Depth-μP, 1 CompleteP). Plays no part
            unless the model has residual branches and its depth differs from the base's.

    Mappings are stored as sorted ``(key, value)`` pairs so that a Base stays hashable.
    """

    init_scale: float = 1.0
    multipliers: Mapping[str, float] | tuple = ()
    overrides: Mapping[str, str] | tuple = ()
    alpha: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "alpha", check_alpha(self.alpha))
        mults = _pairs(self.multipliers, "multipliers")
        roles = [r.value for r in Role]
        for role, v in mults:
            if role not in roles:
                raise UsageError(f"multipliers: unknown role {role!r}; expected some of {', '.join(roles)}")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
                raise UsageError(f"multipliers.{role}={v!r}: expected a positive number")
        s = self.init_scale
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not (math.isfinite(s) and s > 0):
            raise UsageError(f"init_scale={s!r}: expected a positive number")
        overrides = _pairs(self.overrides, "overrides")
        check_overrides(dict(overrides))
        object.__setattr__(self, "multipliers", tuple((k, float(v)) for k, v in mults))
        object.__setattr__(self, "overrides", overrides)
        object.__setattr__(self, "init_scale", float(s))

    def multiplier(self, role: Role) -> float:
        """The extra forward multiplier of ``role`` (1 unless set)."""
        return dict(self.multipliers).get(role.value, 1.0)


def as_shape(x: Shape | tuple | None, what: str) -> Shape | None:
    if x is None or isinstance(x, Shape):
        return x
    raise TypeError(f"{what} must be a muop.Shape(width=..., modes=...), got {x!r}")


def model_shape(model: nn.Module) -> Shape | None:
    """The model's own :class:`Shape` if it advertises one as ``model.muop_shape``."""
    inner = getattr(model, "_orig_mod", model)  # torch.compile wrapper
    s = getattr(inner, "muop_shape", None)
    return s if isinstance(s, Shape) else None
