"""The front door: parametrize any model, muop's own or another library's (recognise → plan → apply).

:func:`parametrize` first lets :mod:`muop.adapters` recognise a supported library's model and
declare its parameters (muop's own layers declare theirs when built), turns a ``base`` model into
its :class:`~muop.core.shape.Shape`, then plans with :func:`muop.core.plan.make_plan` and applies
the plan (init and forward multipliers)::

    model = FNO(FNOConfig(dim=2, width=128, modes=16))
    plan = parametrize(model, "mup", base=Shape(width=32, modes=(4, 4)), seed=0)
    opt = torch.optim.Adam(plan.param_groups(lr=3e-3, optimizer="adam"))

A :class:`~muop.core.shape.Base` instead of a plain Shape also carries what was tuned at the base
besides the learning rate and, for ablations, which roles take their rule from the other table::

    base = Base(width=32, modes=(4, 4), init_scale=0.5, multipliers={"output": 2.0}, overrides={"output": "sp"})
"""

from __future__ import annotations

import torch
from torch import nn

from .adapters import base_shape, recognise
from .core import plan as _plan
from .core.plan import ParamPlan, Plan, apply_plan
from .core.shape import Base, Shape, model_shape

__all__ = ["Shape", "Base", "ParamPlan", "Plan", "make_plan", "parametrize", "model_shape"]


def make_plan(
    model: nn.Module,
    parametrization: str = "mup",
    base: Shape | nn.Module | None = None,
    shape: Shape | None = None,
) -> Plan:
    """Compute the plan for ``model`` without touching it.

    Args:
        model: muop's FNO, a supported library's model (:mod:`muop.adapters`), or any module whose
            parameters were declared with :func:`muop.declare`.
        parametrization: ``"sp"`` or ``"mup"``.
        base: the base (proxy) shape, or a smaller model of the same kind; μP equals SP at
            ``base``. Defaults to the model's shape. A :class:`Base` also sets the init scale,
            per-role multipliers and rule overrides.
        shape: the model's shape; defaults to ``model.muop_shape``.
    """
    recognise(model)  # declares a known library's model (no-op otherwise)
    return _plan.make_plan(model, parametrization, base_shape(base, model), shape)


def parametrize(
    model: nn.Module,
    parametrization: str = "mup",
    base: Shape | nn.Module | None = None,
    *,
    shape: Shape | None = None,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> Plan:
    """Plan ``model``'s parametrization, then initialise it and set its forward multipliers.

    ``seed`` (or ``generator``) makes the init reproducible. Returns the :class:`Plan`, whose
    :meth:`Plan.param_groups` gives the optimizer's param groups.
    """
    return apply_plan(make_plan(model, parametrization, base, shape), seed, generator)
