"""Models from other libraries: muop recognises them and declares every parameter's role itself.

:func:`muop.parametrize` calls :func:`recognise` on the model it is given, so a supported model
needs no declarations by hand::

    model = neuralop.models.FNO(n_modes=(32, 32), in_channels=1, out_channels=1, hidden_channels=128)
    plan = muop.parametrize(model, "mup", base=muop.Shape(32, (9, 9)))

Supported: neuraloperator 2.x: FNO/TFNO (:mod:`muop.adapters.neuralop`), SFNO
(:mod:`muop.adapters.neuralop_sphere`) and UNO (:mod:`muop.adapters.neuralop_uno`). A new library gets a module here
that declares its models' parameters, and a branch in :func:`recognise`. This layer imports
:mod:`muop.core` and :mod:`muop.models` only. A model of a known library that
muop cannot classify is one :class:`~muop.errors.UsageError` naming it and what is supported;
muop never falls back to SP silently.
"""

from __future__ import annotations

import re
from dataclasses import replace

from torch import nn

from ..core.scaling import iter_specs
from ..core.shape import Shape, model_shape
from ..errors import UsageError
from ..models.spec import MODEL_LIBRARIES
from .neuralop import declare_model, to_muop
from .neuralop import watched_modules as _fno_watched
from .neuralop_sphere import declare_sfno, is_sfno
from .neuralop_uno import declare_uno, is_uno, uno_watched_modules

__all__ = ["recognise", "declared_shape", "base_shape", "kind", "library_of", "to_muop", "watched_modules"]


def library_of(model: nn.Module) -> str | None:
    """The adapter that handles ``model`` (``"neuralop"``), or None for any other module."""
    inner = getattr(model, "_orig_mod", model)
    top = type(inner).__module__.split(".")[0]
    return top if top in ("neuralop",) else None


def recognise(model: nn.Module) -> None:
    """Declare the parameters of a supported library's model (idempotent; other modules: no-op).

    A module of muop's own kind that merely *contains* a library model is an error naming it:
    muop recognises models, not models inside other modules.
    """
    if library_of(model) == "neuralop":
        inner = getattr(model, "_orig_mod", model)
        declare = declare_sfno if is_sfno(inner) else declare_uno if is_uno(inner) else declare_model
        declare(inner)
        return
    if model_shape(model) is None:
        for name, sub in model.named_modules():
            if name and library_of(sub) == "neuralop" and type(sub).__name__ in MODEL_LIBRARIES["neuralop"]:
                raise UsageError(
                    f"{type(model).__name__} contains neuralop's {type(sub).__name__} at {name!r}; pass that model "
                    "to muop.parametrize (muop recognises a model, not one inside another module)"
                )


def watched_modules(model: nn.Module, axis: str = "width") -> dict[str, nn.Module]:
    """The modules of a neuraloperator model whose outputs a coordinate check records (by name)."""
    inner = getattr(model, "_orig_mod", model)
    return uno_watched_modules(inner) if is_uno(inner) else _fno_watched(inner, axis)


def declared_shape(model: nn.Module) -> Shape | None:
    """The model's own :class:`Shape` after :func:`recognise` (a neuraloperator model declares it
    then). ``depth`` is set only when the model has residual branches, i.e. when it scales with depth."""
    recognise(model)
    return model_shape(model)


def kind(model: nn.Module) -> tuple:
    """What must match between a model and a ``base`` model: the class and, per parameter (layer
    indices dropped, so depth may differ), its role, which dims grow with width and whether it sits
    in a residual branch (a residual model's base must be residual too); for a UNO also its layout
    (widths as fractions of hidden_channels, modes, scalings: :mod:`muop.adapters.neuralop_uno`)."""
    inner = getattr(model, "_orig_mod", model)
    layout = {
        (re.sub(r"\.\d+\.", ".#.", name), spec.role, spec.width_in, spec.width_out, spec.branch, p.dim())
        if spec
        else (name,)
        for name, _, _, p, spec in iter_specs(inner)
    }
    return (type(inner).__module__, type(inner).__qualname__, frozenset(layout), inner.__dict__.get("_muop_layout"))


def base_shape(base: Shape | nn.Module | None, model: nn.Module) -> Shape | None:
    """``base`` as a :class:`Shape`: a Shape as is (for an SFNO, modes ``(L, M)`` become ``(L,)``),
    a model of the same kind as its shape."""
    if base is None or isinstance(base, Shape):
        inner = getattr(model, "_orig_mod", model)
        if base is not None and len(base.modes) == 2 and library_of(inner) == "neuralop" and is_sfno(inner):
            return replace(base, modes=base.modes[:1])  # an SFNO's (L, M): only the degrees L count
        return base
    if not isinstance(base, nn.Module):
        raise UsageError(
            f"base={base!r}: expected a muop.Shape(width=..., modes=...) or a smaller model of the same kind"
        )
    recognise(base)
    if kind(base) != kind(model):
        raise UsageError(
            f"base is a {_describe(base)} but the model is a {_describe(model)}; "
            "a base model must be of the same kind (class, layers and options), only smaller in width or modes"
        )
    shape = model_shape(base)
    if shape is None:
        raise UsageError(f"base {_describe(base)} has no muop_shape; pass base=muop.Shape(width=..., modes=...)")
    return shape


def _describe(model: nn.Module) -> str:
    inner = getattr(model, "_orig_mod", model)
    shape = model_shape(inner)
    return f"{type(inner).__module__}.{type(inner).__qualname__}" + (
        f" (width {shape.width}, modes {shape.modes})" if shape else ""
    )
