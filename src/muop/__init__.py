"""muop: Maximal Update Parametrization (μP) for Fourier Neural Operators.

Tune a small FNO, train the big one with the same hyperparameters. The public API:

* :class:`FNO`, :class:`FNOConfig`: an n-d Fourier Neural Operator; :func:`fno_flops` its forward cost.
* :class:`Shape`, :func:`parametrize`, :func:`make_plan`: the parametrization engine (SP or μP over
  width and Fourier modes), for any module whose parameters declare :class:`ParamSpec`.
* :func:`param_groups`, :func:`make_optimizer`: ``torch.optim`` param groups with μP learning rates.
* :func:`coord_check`: the coordinate check diagnostic.
"""

from importlib.metadata import PackageNotFoundError, version

from .fno import FNO, FNOConfig, fno_flops
from .modes import kept_modes, modes_from_neuralop, modes_to_neuralop
from .optim import make_optimizer, param_groups
from .parametrization import ParamPlan, Plan, Shape, make_plan, parametrize
from .rules import MUP, SP, Role, mode_factor
from .scaling import ParamSpec, declare, multiplier

try:
    __version__ = version("muop")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = [
    "FNO",
    "FNOConfig",
    "fno_flops",
    "Shape",
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
    "__version__",
]
