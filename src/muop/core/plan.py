"""The plan: from declared :class:`~muop.core.scaling.ParamSpec` to per-parameter init, multipliers and LRs.

A :class:`Plan` holds, for each parameter, its init std, forward multiplier and learning-rate
multipliers, computed from the rule table of :mod:`muop.core.rules` at the model's
:class:`~muop.core.shape.Shape` relative to a base. It knows no model: any module whose parameters
were declared with :func:`muop.core.scaling.declare` can be planned. Models of other libraries are
recognised one layer down, by :func:`muop.parametrize` (:mod:`muop.parametrization`).

Typical use (through the front door)::

    model = FNO(FNOConfig(dim=2, width=128, modes=16))
    plan = muop.parametrize(model, "mup", base=Shape(width=32, modes=(4, 4)), seed=0)
    opt = torch.optim.Adam(plan.param_groups(lr=3e-3, optimizer="adam"))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from ..errors import UsageError
from .optim import param_groups
from .rules import OPTIMIZERS, Role, branch_multiplier, mode_factor, table
from .scaling import ParamSpec, iter_specs, multiplier, scale_init, set_multiplier
from .shape import Base, Shape, as_shape, model_shape

__all__ = ["ParamPlan", "Plan", "make_plan", "apply_plan"]


@dataclass(frozen=True)
class ParamPlan:
    """What the engine decided for one parameter (all multipliers relative to SP at this shape).

    ``tensor_shape`` is the parameter tensor's shape; ``m_in``, ``m_out``, ``mode_factor``,
    ``depth_ratio`` and ``branch_mult`` are the numbers the rule table's monomials are evaluated at
    (``g``, ``m_L`` and ``a`` in :mod:`muop.core.rules`; the last two are 1 outside residual branches).
    ``eps_mult`` multiplies Adam's epsilon.
    """

    name: str
    role: str
    tensor_shape: tuple[int, ...]
    fan_in: int
    fan_out: int
    m_in: float
    m_out: float
    mode_factor: float
    init_std: float
    mult: float
    lr_mult: Mapping[str, float]
    wd_mult: Mapping[str, float]
    init_mult: float = 1.0  # init_std / SP std (what ``init="scale"`` parameters are multiplied by)
    depth_ratio: float = 1.0
    branch_mult: float = 1.0
    branch: str = ""
    eps_mult: float = 1.0


@dataclass
class Plan:
    """Per-parameter init stds, forward multipliers and LR multipliers for one model."""

    parametrization: str
    base: Shape
    shape: Shape
    entries: list[ParamPlan]
    _params: dict[str, nn.Parameter] = field(repr=False, default_factory=dict)
    _owners: dict[str, tuple[nn.Module, str, ParamSpec]] = field(repr=False, default_factory=dict)

    def __getitem__(self, name: str) -> ParamPlan:
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(f"no parameter {name!r} in plan; have {[e.name for e in self.entries]}")

    @torch.no_grad()
    def apply(self, generator: torch.Generator | None = None) -> None:
        """Initialise every parameter with its planned std and set the forward multipliers.

        Weights are drawn N(0, init_std²) (complex weights: each part with std/sqrt(2), so
        E|w|² = init_std²); biases, whose SP init is zero, are zeroed. Parameters declared with
        another ``init`` mode (:data:`muop.core.scaling.INIT_MODES`) keep their own values, rescaled.
        """
        for e in self.entries:
            owner, local, spec = self._owners[e.name]
            _init_param(self._params[e.name], e, owner, local, spec, generator)
            set_multiplier(owner, local, e.mult)

    def param_groups(
        self,
        lr: float,
        optimizer: str = "adam",
        weight_decay: float = 0.0,
        wd_scaling: str = "lr_invariant",
        eps: float = 1e-8,
    ) -> list[dict]:
        """``torch.optim`` param groups with per-parameter LRs and Adam eps
        (see :func:`muop.core.optim.param_groups`)."""
        return param_groups(self, lr, optimizer, weight_decay, wd_scaling, eps)

    def rebind(self, model: nn.Module) -> None:
        """Point the plan at ``model``'s current parameters, by name: after a wrapper replaced them
        (FSDP's ``fully_shard`` swaps each parameter for a sharded one), before building the optimizer."""
        current = dict(model.named_parameters())
        missing = [e.name for e in self.entries if e.name not in current]
        if missing:
            raise KeyError(f"parameters {missing[:4]} of the plan are not in the model any more")
        self._params = {e.name: current[e.name] for e in self.entries}

    def live_multipliers(self) -> dict[str, float]:
        """The forward multiplier each parameter's module holds now (what its forward uses), by name."""
        return {e.name: multiplier(self._owners[e.name][0], self._owners[e.name][1]) for e in self.entries}

    def parameter(self, name: str) -> nn.Parameter:
        """The live parameter behind plan entry ``name``."""
        return self._params[name]

    def table(self) -> list[dict]:
        """Plain rows (JSON-serialisable) for reports."""
        return [
            asdict(e) | {"tensor_shape": list(e.tensor_shape), "lr_mult": dict(e.lr_mult), "wd_mult": dict(e.wd_mult)}
            for e in self.entries
        ]


def _init_param(
    p: nn.Parameter, e: ParamPlan, owner: nn.Module, local: str, spec: ParamSpec, generator: torch.Generator | None
) -> None:
    """Initialise one parameter as its spec's ``init`` mode says (see :meth:`Plan.apply`)."""
    if spec.init == "scale":  # the module's own init times the rule's init multiplier (biases: 1)
        scale_init(owner, local, e.init_mult)
    elif spec.init == "normalize":
        rms = p.detach().abs().pow(2).mean().sqrt()
        if e.init_std and rms > 0:
            p.mul_(e.init_std / rms)
    elif e.init_std == 0.0:
        p.zero_()
    else:
        pair = spec.complex_pair or p.is_complex()
        std = e.init_std / math.sqrt(2.0) if pair else e.init_std
        shape = (*p.shape, 2) if p.is_complex() else p.shape
        noise = torch.randn(shape, generator=generator, dtype=torch.float64) * std
        p.copy_(torch.view_as_complex(noise).to(p.dtype) if p.is_complex() else noise.to(p.dtype))


def make_plan(
    model: nn.Module,
    parametrization: str = "mup",
    base: Shape | None = None,
    shape: Shape | None = None,
) -> Plan:
    """Compute the plan for ``model`` without touching it.

    Args:
        model: any module whose parameters were declared with :func:`muop.core.scaling.declare`
            (a library's model is declared by :func:`muop.parametrize`, which then calls this).
        parametrization: ``"sp"`` or ``"mup"``.
        base: the base (proxy) :class:`Shape`; μP equals SP at ``base``. Defaults to the model's
            shape. A :class:`Base` also sets the init scale, per-role multipliers and rule overrides.
        shape: the model's shape; defaults to ``model.muop_shape``.
    """
    shape = as_shape(shape, "shape") or model_shape(model)
    if shape is None:
        raise UsageError("model has no muop_shape attribute; pass shape=Shape(width=..., modes=...)")
    base = as_shape(base, "base") or shape
    tuned = base if isinstance(base, Base) else Base(base.width, base.modes, base.depth)
    rules = table(parametrization, dict(tuned.overrides))

    entries: list[ParamPlan] = []
    params: dict[str, nn.Parameter] = {}
    owners: dict[str, tuple[nn.Module, str, ParamSpec]] = {}
    undeclared = []
    for name, owner, local, p, spec in iter_specs(model):
        if spec is None:
            undeclared.append(name)
            continue
        entries.append(_entry(name, tuple(p.shape), spec, rules[spec.role], shape, tuned))
        params[name] = p
        owners[name] = (owner, local, spec)
    if undeclared:
        raise UsageError(
            f"{len(undeclared)} parameter(s) have no ParamSpec: {undeclared[:8]}; "
            "declare them with muop.declare(module, name, ParamSpec(...))"
        )
    return Plan(parametrization, base, shape, entries, params, owners)


def _depth_factors(name: str, spec: ParamSpec, shape: Shape, base: Base) -> tuple[float, float]:
    """``(m_L, a)`` of one parameter: 1, 1 outside residual branches or when the base has no depth."""
    if not spec.branch:
        return 1.0, 1.0
    if shape.depth is None:
        raise UsageError(
            f"{name} sits in a residual branch but the model's shape has no depth; pass shape=Shape(width, modes, "
            "depth)"
        )
    return branch_multiplier(shape.depth, base.depth or shape.depth, base.alpha)


def _entry(name: str, tensor_shape: tuple[int, ...], spec: ParamSpec, rule, shape: Shape, tuned: Base) -> ParamPlan:
    """The plan of one parameter: its rule row evaluated at its m_in, m_out, g, m_L and a."""
    width_ratio = shape.width / tuned.width
    m_in = width_ratio if spec.width_in else 1.0
    m_out = width_ratio if spec.width_out else 1.0
    mode_fac = 1.0
    if spec.role is Role.SPECTRAL:
        if (spec.mode_dims and len(spec.mode_dims) != len(shape.modes)) or len(tuned.modes) != len(shape.modes):
            raise UsageError(
                f"{name} has {len(spec.mode_dims)} mode dims but shape.modes={shape.modes} "
                f"and base.modes={tuned.modes}; expected one K per spatial dimension"
            )
        if any(
            getattr(rule, col).g for col in ("init", "mult", "adam", "sgd", "eps")
        ):  # SP never needs it (and allows K = 1)
            mode_fac = mode_factor(shape.modes, tuned.modes)
    m_L, a = _depth_factors(name, spec, shape, tuned)
    a_mult = a if spec.branch == "out" else 1.0  # the branch is scaled once, at its output layer
    fan_in, fan_out = spec.fan_in(tensor_shape), spec.fan_out(tensor_shape)
    sp_std = 0.0 if spec.role is Role.BIAS else 1.0 / math.sqrt(fan_in)
    lr_mult = {opt: getattr(rule, col)(m_in, m_out, mode_fac, m_L, a) for opt, col in OPTIMIZERS.items()}
    init_mult = rule.init(m_in, m_out, mode_fac, m_L, a) * tuned.init_scale
    return ParamPlan(
        name=name,
        role=spec.role.value,
        tensor_shape=tensor_shape,
        fan_in=fan_in,
        fan_out=fan_out,
        m_in=m_in,
        m_out=m_out,
        mode_factor=mode_fac,
        init_std=sp_std * init_mult,
        mult=rule.mult(m_in, m_out, mode_fac, m_L, a_mult) * tuned.multiplier(spec.role),
        lr_mult=lr_mult,
        # decoupled decay per step is lr*wd; keep it invariant for AdamW and SGD, as mup's
        # MuAdamW/MuSGD do (docs/parametrization.md)
        wd_mult={opt: 1.0 / v for opt, v in lr_mult.items()},
        init_mult=init_mult,
        depth_ratio=m_L,
        branch_mult=a,
        branch=spec.branch,
        eps_mult=rule.eps(m_in, m_out, mode_fac, m_L, a),
    )


def apply_plan(plan: Plan, seed: int | None = None, generator: torch.Generator | None = None) -> Plan:
    """:meth:`Plan.apply` with a generator seeded by ``seed`` (reproducible init); returns ``plan``."""
    if generator is None and seed is not None:
        generator = torch.Generator().manual_seed(int(seed))
    plan.apply(generator)
    return plan
