"""Ordinary ``torch.optim`` optimizers with per-parameter μP learning rates.

:func:`param_groups` returns plain param-group dicts, so users keep their own training loop and LR
schedulers: a scheduler scales every group's LR by the same factor, which keeps the μP ratios.
Each group also carries ``muop_lr_mult`` and ``muop_names`` for inspection.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import torch

from ..errors import UsageError
from .rules import OPTIMIZERS

if TYPE_CHECKING:  # annotations only: the plan builds its groups with this module
    from .plan import Plan

__all__ = ["param_groups", "make_optimizer", "WD_SCALINGS"]

#: ``lr_invariant``: weight decay × 1/lr_mult, so the decoupled decay per step lr·wd does not
#: depend on the model's shape, as in microsoft/mup's MuAdamW and MuSGD (the code of Tensor Programs
#: V). Applied to AdamW and SGD; Adam's L2 penalty goes through the adaptive normalisation, so it is
#: left unscaled. ``none``: the same wd everywhere.
WD_SCALINGS = ("lr_invariant", "none")


def param_groups(
    plan: Plan,
    lr: float,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    wd_scaling: str = "lr_invariant",
    eps: float = 1e-8,
) -> list[dict]:
    """Param groups for ``torch.optim.{Adam, AdamW, SGD}`` with the plan's LR multipliers.

    Args:
        plan: from :func:`muop.parametrize` / :func:`muop.make_plan` (anything with ``entries`` and
            ``parameter(name)``).
        lr: the base learning rate η (what you tune on the proxy).
        optimizer: ``adam``, ``adamw`` or ``sgd`` (which LR column of the rule table to use).
        weight_decay: base weight decay.
        wd_scaling: one of :data:`WD_SCALINGS`.
        eps: Adam's base epsilon; groups whose plan scales it (residual branches at another
            depth than the base, :mod:`muop.core.rules`) get ``eps * eps_mult``, the others none of
            their own (the optimizer's).
    """
    opt = optimizer.lower()
    if opt not in OPTIMIZERS:
        raise UsageError(f"optimizer={optimizer!r} is unknown; expected one of {sorted(OPTIMIZERS)}")
    if wd_scaling not in WD_SCALINGS:
        raise UsageError(f"wd_scaling={wd_scaling!r} is unknown; expected one of {WD_SCALINGS}")
    if not lr > 0:
        raise UsageError(f"lr={lr}: expected a positive learning rate")
    if weight_decay < 0:
        raise UsageError(f"weight_decay={weight_decay}: expected >= 0")
    buckets: dict[tuple[float, float, float], dict] = defaultdict(lambda: {"params": [], "muop_names": []})
    for e in plan.entries:
        lr_mult = e.lr_mult[opt]
        wd_mult = e.wd_mult[opt] if (wd_scaling == "lr_invariant" and opt != "adam") else 1.0
        eps_mult = e.eps_mult if OPTIMIZERS[opt] == "adam" else 1.0
        group = buckets[(lr_mult, wd_mult, eps_mult)]
        group["params"].append(plan.parameter(e.name))
        group["muop_names"].append(e.name)
    groups = []
    for (lr_mult, wd_mult, eps_mult), group in buckets.items():
        group.update(lr=lr * lr_mult, weight_decay=weight_decay * wd_mult, muop_lr_mult=lr_mult)
        if eps_mult != 1.0:
            group["eps"] = eps * eps_mult
        groups.append(group)
    return groups


def make_optimizer(
    plan: Plan,
    optimizer: str = "adam",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    wd_scaling: str = "lr_invariant",
    **kwargs,
) -> torch.optim.Optimizer:
    """Build ``torch.optim.Adam``/``AdamW``/``SGD`` over :func:`param_groups`; ``kwargs`` go to it."""
    groups = param_groups(plan, lr, optimizer, weight_decay, wd_scaling, eps=kwargs.get("eps", 1e-8))
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[optimizer.lower()]
    return cls(groups, lr=lr, **kwargs)
