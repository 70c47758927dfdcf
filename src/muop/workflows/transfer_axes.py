"""A proxy that is cheap on every axis at once: its config checked against the target's, and the axes that moved.

``muop transfer --target-config TARGET.yaml`` (``transfer(..., target=cfg)``) takes the target from
a second config instead of from ``--target-width``/``--target-modes``/``--target-depth``: the proxy
(``--config``) may then differ from it in the model's shape (width, modes, depth) *and* in the
training budget (epochs, training samples, grid, batch size), all at once.

**Compatible.** The two must train the same thing the same way: the same data source
(:data:`SAME_DATA`: problem and its parameters, or the same files and keys), the same model family
(every model field but the shape, :data:`SHAPE`), the same parametrization kind, optimizer and
schedule name, and the same normalisation; the loss is muop's one training loss for both
(:func:`muop.training.losses.rel_l2`, physical units). The first field that differs is a one-line
UsageError naming it, with both values.

**The target.** The data, model and training sections come from the target's config; the
parametrization (its μP base set to the proxy's shape), optimizer, schedule and search space
(``tune``) from the proxy's, then the proxy study's best hyperparameters
(:func:`muop.config.apply_params`). So a hyperparameter the study tuned (e.g. the batch size) is the
study's value at the target, and the cosine schedule runs over the target's own epochs.

**Axes moved** (:func:`axes_moved`): ``{name: [proxy, target]}`` for every axis of :data:`AXES`
whose value differs, in ``transfer.json`` under ``axes_moved`` and in the printed summary. Over
μP's size axes the LR's change is derived (the rules); over the budget axes it is not corrected
(``docs/proxies.md``): measure it with a budget sweep (``muop sweep --epochs ...``).
"""

from __future__ import annotations

from dataclasses import replace

from ..config import RunConfig
from ..errors import UsageError

__all__ = ["AXES", "SAME_DATA", "SHAPE", "axes_moved", "check_compatible", "describe", "hybrid_config"]

#: The data fields that say where the samples come from (the source): equal in proxy and target.
SAME_DATA = ("problem", "path", "test_path", "params", "input_key", "output_key", "grid_dims")
#: The model fields a proxy may change (its shape); every other model field must be the target's.
SHAPE = ("modes", "width", "depth")
#: Whole fields that must agree besides the data source and the model family.
SAME_OTHER = (("parametrization", "kind"), ("optimizer", "name"), ("schedule", "name"), ("train", "normalize"))
#: The axes a transfer reports: the model's shape, then the training budget.
AXES = ("width", "modes", "depth", "epochs", "n_train", "grid", "batch_size")


def check_compatible(proxy: RunConfig, target: RunConfig) -> None:
    """A one-line UsageError naming the first field in which ``target`` may not differ from ``proxy``
    (module docstring, "Compatible"); nothing otherwise."""
    pairs = [(f"data.{f}", getattr(proxy.data, f), getattr(target.data, f)) for f in SAME_DATA]
    model_fields = [f for f in vars(proxy.model) if f not in SHAPE]
    pairs += [(f"model.{f}", getattr(proxy.model, f), getattr(target.model, f)) for f in model_fields]
    pairs += [(f"{s}.{f}", getattr(getattr(proxy, s), f), getattr(getattr(target, s), f)) for s, f in SAME_OTHER]
    if len(proxy.model.modes) != len(target.model.modes):
        pairs.append(("model.modes (dimensions)", len(proxy.model.modes), len(target.model.modes)))
    for name, p, t in pairs:
        if p != t:
            raise UsageError(
                f"--target-config: {name} is {t!r} but the proxy's (--config) is {p!r}; a proxy must train on the "
                "same data source with the same model family, parametrization, optimizer, schedule and loss"
            )


def hybrid_config(proxy: RunConfig, target: RunConfig) -> RunConfig:
    """The target's data, model shape and training sections with the proxy's parametrization, optimizer,
    schedule and search space, the model still at the proxy's shape: what
    :func:`muop.workflows.transfer.target_config` maps to the target's shape (module docstring, "The target")."""
    return replace(
        target,
        model=proxy.model,
        parametrization=proxy.parametrization,
        optimizer=proxy.optimizer,
        schedule=proxy.schedule,
        tune=proxy.tune,
    )


def _grid(cfg: RunConfig) -> object:
    """The training grid per dimension (a generated problem: data.resolution / data.stride), or the
    stride over a data file's own grid (``"1/S"``)."""
    d = cfg.data
    return d.resolution // d.stride if d.problem is not None else f"1/{d.stride}"


def _axis_values(cfg: RunConfig) -> dict:
    m = cfg.model
    return {
        "width": m.width,
        "modes": list(m.modes),
        "depth": m.depth,
        "epochs": cfg.train.epochs,
        "n_train": cfg.data.n_train - cfg.data.n_val,
        "grid": _grid(cfg),
        "batch_size": cfg.train.batch_size,
    }


def axes_moved(proxy: RunConfig, target: RunConfig) -> dict[str, list]:
    """``{axis: [proxy value, target value]}`` for every axis of :data:`AXES` that differs (``n_train``:
    the samples trained on, validation split excluded; ``grid``: points per dimension)."""
    p, t = _axis_values(proxy), _axis_values(target)
    return {a: [p[a], t[a]] for a in AXES if p[a] != t[a]}


def describe(moved: dict[str, list]) -> str:
    """``axes_moved`` in words: ``width 16 -> 64, epochs 5 -> 40`` (or that none moved)."""
    if not moved:
        return "none (the target is the proxy's shape and budget)"
    return ", ".join(f"{a} {p} -> {t}" for a, (p, t) in moved.items())
