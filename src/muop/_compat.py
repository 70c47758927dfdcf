"""Old module paths (muop 0.2, before the package was layered) keep working for one release.

``import muop.trainer`` (or ``from muop.workers import run_study``) still works: a finder on
``sys.meta_path`` answers each old name in :data:`MOVED` with a module that holds the public names
of its new home(s), and warns once with a :class:`DeprecationWarning` naming them. New code
imports from the layered packages (``muop.training``, ``muop.study``, ...).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings

__all__ = ["MOVED", "install"]

#: old module -> the modules that now hold its names (the first is named in the warning first)
MOVED: dict[str, tuple[str, ...]] = {
    "muop.atomic": ("muop.utils.atomic",),
    "muop.locks": ("muop.utils.locks",),
    "muop.rules": ("muop.core.rules",),
    "muop.scaling": ("muop.core.scaling",),
    "muop.modes": ("muop.core.modes",),
    "muop.optim": ("muop.core.optim",),
    "muop.layers": ("muop.models.layers",),
    "muop.fno": ("muop.models.fno",),
    "muop.losses": ("muop.training.losses",),
    "muop.trainer": ("muop.training.trainer", "muop.training.device", "muop.models.spec"),
    "muop.train": ("muop.training.run", "muop.training.device", "muop.study.objective"),
    "muop.callbacks": ("muop.training.callbacks",),
    "muop.distributed": ("muop.training.distributed",),
    "muop.storage": ("muop.study.storage",),
    "muop.workers": ("muop.study.coordination", "muop.study.worker", "muop.study.run", "muop.study.objective"),
    "muop.space": ("muop.study.space", "muop.config.hparams"),
    "muop.tune": ("muop.study.tune", "muop.study.space", "muop.config.hparams"),
    "muop.ray_backend": ("muop.study.ray",),
    "muop.sweep": (
        "muop.workflows.sweep",
        "muop.workflows.sweep_spec",
        "muop.workflows.sweep_records",
        "muop.workflows.curves",
        "muop.workflows.plots",
    ),
    "muop.curves": ("muop.workflows.curves", "muop.workflows.plots"),
    "muop.regret": ("muop.workflows.regret",),
    "muop.transfer": ("muop.workflows.transfer",),
    "muop.coord_check": ("muop.workflows.coord_check", "muop.workflows.plots"),
    "muop.demo": ("muop.workflows.demo",),
}


class _OldPaths(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and loads the modules of :data:`MOVED`."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        return importlib.machinery.ModuleSpec(name, self) if name in MOVED else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        homes = MOVED[spec.name]
        warnings.warn(
            f"{spec.name} is deprecated and will be removed in muop 0.4; import from {' / '.join(homes)}",
            DeprecationWarning,
            stacklevel=2,
        )
        module = types.ModuleType(spec.name, f"Deprecated alias of {', '.join(homes)}.")
        for home in reversed(homes):  # the first home wins a name they share
            new = importlib.import_module(home)
            module.__dict__.update({k: v for k, v in vars(new).items() if not k.startswith("__")})
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: :meth:`create_module` filled it."""


_FINDER = _OldPaths()


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
