"""muop: Maximal Update Parametrization (μP) for Fourier Neural Operators.

Tune a small FNO, train the big one with the same hyperparameters. The public API:

* :class:`FNO`, :class:`FNOConfig`: an n-d Fourier Neural Operator; :func:`fno_flops` its forward cost.
* :class:`Shape`, :func:`parametrize`, :func:`make_plan`: the parametrization engine (SP or μP over
  width, Fourier modes and depth), for muop's FNO, neuraloperator's FNO/TFNO, or any module whose
  parameters declare :class:`ParamSpec`.
* :func:`param_groups`, :func:`make_optimizer`: ``torch.optim`` param groups with μP learning rates.
* :func:`coord_check`, :class:`CoordCheckConfig`: the coordinate check diagnostic.

The package is layered; each layer imports only the layers above it in this list (an
import-linter contract in ``pyproject.toml`` keeps it so):

``errors``, ``utils`` → ``core`` (rules, scaling metadata, shapes, plans, optimizer groups) →
``models`` → ``adapters`` (other libraries' models) → ``parametrization`` (the front door) →
``data`` → ``config`` → ``training`` → ``study`` (Optuna) → ``workflows`` (sweep, regret,
transfer, coordinate check, demo) → ``cli``.
"""

import importlib

from . import _compat
from .core import (
    MUP,
    SP,
    Base,
    ParamPlan,
    ParamSpec,
    Plan,
    Role,
    Shape,
    declare,
    make_optimizer,
    mode_factor,
    multiplier,
    param_groups,
)
from .core.modes import kept_modes, modes_from_neuralop, modes_to_neuralop
from .models import FNO, FNOConfig, fno_flops
from .parametrization import make_plan, parametrize
from .utils.version import muop_version

__version__ = muop_version()
_compat.install()

#: Names served on first use (PEP 562), so that ``import muop`` does not load the study and
#: workflow layers (Optuna) for users who only parametrize a model.
_LAZY = {"coord_check": "muop.workflows.coord_check", "CoordCheckConfig": "muop.workflows.coord_check"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'muop' has no attribute {name!r}")


__all__ = [
    "FNO",
    "FNOConfig",
    "fno_flops",
    "Shape",
    "Base",
    "Plan",
    "ParamPlan",
    "ParamSpec",
    "Role",
    "SP",
    "MUP",
    "declare",
    "multiplier",
    "make_plan",
    "parametrize",
    "param_groups",
    "make_optimizer",
    "mode_factor",
    "modes_from_neuralop",
    "modes_to_neuralop",
    "kept_modes",
    "coord_check",
    "CoordCheckConfig",
    "__version__",
]
