"""The μP core: the rule table, per-parameter scaling metadata, shapes, plans and optimizer groups.

This layer knows no model. Models declare which dims of each parameter scale with what
(:mod:`muop.core.scaling`); :mod:`muop.core.rules` says how each role scales (one table per
parametrization, checkable against the papers); :mod:`muop.core.plan` evaluates the rules for one
model; :mod:`muop.core.optim` turns a plan into ``torch.optim`` param groups. Fourier-mode
conventions live in :mod:`muop.core.modes`. Imports: torch and :mod:`muop.errors` only.

A new optimizer rule is a column of the table in :mod:`muop.core.rules` (and its name in
``OPTIMIZERS``), mapped to a ``torch.optim`` class in :mod:`muop.core.optim`; models change nothing.
"""

from .modes import kept_modes, max_modes, modes_from_neuralop, modes_to_neuralop, normalize_modes
from .optim import WD_SCALINGS, make_optimizer, param_groups
from .plan import ParamPlan, Plan, apply_plan, make_plan
from .rules import (
    ALPHAS,
    MUP,
    OPTIMIZERS,
    SP,
    TABLES,
    Role,
    Rule,
    Scaling,
    branch_multiplier,
    check_alpha,
    mode_factor,
    table,
)
from .scaling import (
    BRANCH,
    INIT_MODES,
    ParamSpec,
    declare,
    iter_specs,
    multiplier,
    multiply_input,
    scale_init,
    set_multiplier,
)
from .shape import Base, Shape, as_shape, model_shape

__all__ = [
    "ALPHAS",
    "BRANCH",
    "INIT_MODES",
    "MUP",
    "OPTIMIZERS",
    "SP",
    "TABLES",
    "WD_SCALINGS",
    "Base",
    "ParamPlan",
    "ParamSpec",
    "Plan",
    "Role",
    "Rule",
    "Scaling",
    "Shape",
    "apply_plan",
    "as_shape",
    "branch_multiplier",
    "check_alpha",
    "declare",
    "iter_specs",
    "kept_modes",
    "make_optimizer",
    "make_plan",
    "max_modes",
    "mode_factor",
    "model_shape",
    "modes_from_neuralop",
    "modes_to_neuralop",
    "multiplier",
    "multiply_input",
    "normalize_modes",
    "param_groups",
    "scale_init",
    "set_multiplier",
    "table",
]
