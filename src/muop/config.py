"""One training run, described by a YAML file: data, model, parametrization, optimizer, schedule, training.

Every section is a small dataclass; unknown keys and bad values raise :class:`ConfigError` naming the
field (``model.width``), the value and what is allowed. ``apply_overrides`` takes CLI-style
``section.field=value`` strings. Example (``experiments/burgers_modes.yaml``)::

    data:  {problem: burgers, n_train: 200, n_test: 50, resolution: 256}
    model: {modes: [16], width: 32, depth: 4}
    parametrization: {kind: mup, base_width: 32, base_modes: [4]}
    optimizer: {name: adam, lr: 3.0e-3}
    schedule: {name: cosine}
    train: {epochs: 20, batch_size: 20, seed: 0}
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from .data.prepare import content_key
from .errors import ConfigError
from .data.problems import PROBLEMS, make_params
from .fno import FNOConfig
from .modes import normalize_modes
from .parametrization import Base, Shape
from .rules import OPTIMIZERS, TABLES

__all__ = ["ConfigError", "DataConfig", "ModelConfig", "ParamConfig", "OptimConfig", "ScheduleConfig", "TrainConfig", "TuneConfig", "RunConfig", "load_config", "apply_overrides"]


#: LR schedules (``muop.trainer.make_scheduler``) and Optuna samplers (``muop.workers``) by name.
SCHEDULES = ("constant", "cosine", "step")
SAMPLERS = ("tpe", "random")
#: How the config's fields changed since runs were first recorded, oldest first: ("added",
#: section, field, the value that does what configs without the field did) or ("renamed", section,
#: old name, new name). Old names are read as the new ones, and :meth:`RunConfig.identities` also
#: hashes a config as each earlier schema wrote it, so runs and sweeps recorded before a change
#: still resume. A *default* that changed is not listed here: a config's identity hashes every
#: field, so records keep theirs, and a YAML file that omits the field takes the new default
#: (``model.block``: classic until muop 0.2, neuralop since; the committed experiment configs
#: say ``block: classic``).
SCHEMA_CHANGES = (
    ("added", "data", "grid_dims", None),
    ("added", "train", "checkpoint_every", 5),
    ("added", "train", "device", "cpu"),
    ("renamed", "model", "grid", "append_coords"),
    ("added", "data", "test_path", None),
    ("added", "train", "parallel", "ddp"),
    ("added", "parametrization", "init_scale", 1.0),
    ("added", "parametrization", "multipliers", {}),
    ("added", "parametrization", "overrides", {}),
    ("added", "model", "block", "classic"),
    ("added", "model", "library", "muop"),
    ("added", "model", "name", "FNO"),
    ("added", "model", "options", {}),
    ("added", "model", "residual", "none"),
    ("added", "parametrization", "base_depth", None),
    ("added", "parametrization", "depth_alpha", 0.5),
)
RENAMED = {(sec, old): new for kind, sec, old, new in SCHEMA_CHANGES if kind == "renamed"}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check(cond: bool, where: str, value: Any, expected: str) -> None:
    if not cond:
        raise ConfigError(f"{where}={value!r}: expected {expected}")


def check_modes_fit(modes: Sequence[int], grid: Sequence[int], what: str) -> None:
    """ConfigError unless every K_i fits the grid (see :func:`muop.modes.max_modes`)."""
    from .modes import max_modes

    top = max_modes(grid)
    if any(k > m for k, m in zip(modes, top)):
        raise ConfigError(f"model.modes={list(modes)}: more than the {'x'.join(map(str, grid))} grid of {what} resolves; allowed: at most {list(top)}")


@dataclass(frozen=True)
class DataConfig:
    """Where the data comes from: a built-in ``problem`` (generated once, cached) or a ``path``.

    ``stride`` subsamples the stored grid for training; ``eval_strides`` lists extra strides for
    evaluation (e.g. ``[1]`` with ``stride: 2`` tests zero-shot super-resolution at 2× the training grid).
    """

    problem: str | None = "burgers"  # left out (or null) when a path is given
    path: str | None = None
    test_path: str | None = None  # a second file with the test samples (see muop.data.prepare)
    n_train: int = 200
    n_test: int = 50
    n_val: int = 0  # held out from the end of the training samples; tuning selects on it
    resolution: int = 256
    seed: int = 0
    params: dict = field(default_factory=dict)
    input_key: str | None = None
    output_key: str | None = None
    grid_dims: int | None = None  # spatial dims of a user file, when its layout is ambiguous (see muop.data.load)
    stride: int = 1
    eval_strides: list = field(default_factory=list)
    cache_dir: str = ".muop_cache"

    def validate(self) -> None:
        _check((self.problem is None) != (self.path is None), "data.problem/data.path", (self.problem, self.path), "exactly one of problem or path")
        for name in ("path", "test_path"):
            v = getattr(self, name)
            if v is not None:
                _check(isinstance(v, str) and Path(v).is_file(), f"data.{name}", v, "an existing data file (.h5, .mat, .pt, .npz)")
        _check(self.test_path is None or self.path is not None, "data.test_path", self.test_path, "null unless data.path is set")
        if self.problem is not None:
            _check(self.problem in PROBLEMS, "data.problem", self.problem, f"one of {sorted(PROBLEMS)}")
            _check(isinstance(self.params, dict), "data.params", self.params, "a mapping of parameter overrides")
            try:  # the same check as generation, before anything is generated
                make_params(self.problem, self.params)
            except ValueError as e:
                raise ConfigError(f"data.params: {e}") from None
        for name in ("n_train", "n_test", "resolution", "stride"):
            v = getattr(self, name)
            _check(isinstance(v, int) and not isinstance(v, bool) and v >= 1, f"data.{name}", v, "a positive integer")
        _check(isinstance(self.n_val, int) and 0 <= self.n_val < self.n_train, "data.n_val", self.n_val, f"an integer in [0, n_train={self.n_train})")
        _check(self.grid_dims in (None, 1, 2, 3), "data.grid_dims", self.grid_dims, "1, 2, 3 or null")
        _check(all(isinstance(s, int) and s >= 1 for s in self.eval_strides), "data.eval_strides", self.eval_strides, "a list of positive integers")


#: Model libraries a run config can name, and the model classes of each (``model.library``,
#: ``model.name``); the neuraloperator ones are those :mod:`muop.adapters.neuralop` parametrizes.
MODEL_LIBRARIES = {"muop": ("FNO",), "neuralop": ("FNO", "TFNO")}
#: ModelConfig fields that describe which model to build rather than an FNOConfig field.
_MODEL_SOURCE = ("library", "name", "options")


@dataclass(frozen=True)
class ModelConfig:
    """The model: its scaled axes (``modes`` in muop's convention, see :mod:`muop.modes`; ``width``;
    ``depth``) and the rest of :class:`muop.FNOConfig`, whose defaults and checks it uses. The
    channel counts come from the data. ``append_coords`` was called ``grid`` before; configs that
    still say ``grid`` are read as ``append_coords``.

    ``library``/``name`` choose the model class (:data:`MODEL_LIBRARIES`; default muop's FNO) and
    ``options`` are further keyword arguments of its constructor, checked by name. For
    ``library: neuralop`` the shared fields map to the constructor: modes -> ``n_modes`` (exact
    conversion, :func:`muop.modes_to_neuralop`), width -> ``hidden_channels``, depth ->
    ``n_layers``, projection_ratio -> ``projection_channel_ratio``, activation ->
    ``non_linearity``, append_coords -> ``positional_embedding`` ("grid" or None). Example::

        model: {library: neuralop, name: TFNO, modes: [8, 8], width: 32, depth: 4, options: {rank: 0.2}}
    """

    modes: list = field(default_factory=lambda: [16])
    width: int = 32
    depth: int = 4
    projection_ratio: float = FNOConfig.projection_ratio
    activation: str = FNOConfig.activation
    append_coords: bool = FNOConfig.append_coords
    block: str = FNOConfig.block  # the Fourier layer: classic | neuralop (muop.fno.BLOCKS)
    residual: str = FNOConfig.residual  # none | pre | post: residual blocks x + a·F(x) (muop.fno.RESIDUALS)
    library: str = "muop"
    name: str = "FNO"
    options: dict = field(default_factory=dict)

    def validate(self) -> None:
        for name in ("width", "depth"):
            v = getattr(self, name)
            _check(isinstance(v, int) and not isinstance(v, bool) and v >= 1, f"model.{name}", v, "a positive integer")
        try:
            normalize_modes(tuple(self.modes) if isinstance(self.modes, list) else self.modes)
        except ValueError as e:
            raise ConfigError(f"model.modes={self.modes!r}: {e}") from None
        _check(self.library in MODEL_LIBRARIES, "model.library", self.library, f"one of {', '.join(MODEL_LIBRARIES)}")
        names = MODEL_LIBRARIES[self.library]
        _check(self.name in names, "model.name", self.name, f"one of {', '.join(names)} (library {self.library})")
        _check(isinstance(self.options, dict), "model.options", self.options, "a mapping of constructor arguments")
        self.fno(1, 1) if self.library == "muop" else self._neuralop_kwargs(1, 1)

    @property
    def shape(self) -> Shape:
        """Width and modes (muop's convention) of this model: the shape μP scales from."""
        return Shape(self.width, normalize_modes(tuple(self.modes) if isinstance(self.modes, list) else self.modes))

    def fno(self, in_channels: int, out_channels: int) -> FNOConfig:
        """The :class:`muop.FNOConfig` of this model for data with these channel counts."""
        if self.library != "muop":
            raise ConfigError(f"model.library={self.library!r}: the model is not muop's FNO; build it with ModelConfig.build")
        allowed = sorted({f.name for f in fields(FNOConfig)} - {f.name for f in fields(self)} - {"in_channels", "out_channels", "dim"})
        bad = sorted(set(self.options) - set(allowed))
        if bad:
            raise ConfigError(f"model.options: muop's FNO takes no option(s) {bad}; allowed: {allowed} (the others are model fields)")
        options = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _MODEL_SOURCE}
        options["modes"] = tuple(self.modes) if isinstance(self.modes, list) else self.modes
        try:
            return FNOConfig(**options, **self.options, in_channels=in_channels, out_channels=out_channels)
        except ValueError as e:
            raise ConfigError(f"model: {e}") from None

    def _neuralop_kwargs(self, in_channels: int, out_channels: int) -> tuple[type, dict]:
        """The neuraloperator class and its keyword arguments (names checked, values not)."""
        import inspect

        from .layers import ACTIVATIONS
        from .modes import modes_to_neuralop

        _check(self.block == FNOConfig.block, "model.block", self.block, f"{FNOConfig.block!r} with library neuralop (its layout is set by model.options)")
        _check(self.residual == FNOConfig.residual, "model.residual", self.residual, f"{FNOConfig.residual!r} with library neuralop (its residual form comes from options fno_skip/channel_mlp_skip: identity)")
        try:
            import neuralop.models as nm
        except ImportError:
            raise ConfigError("model.library='neuralop': the neuraloperator package is not installed (pip install neuraloperator)") from None
        cls = getattr(nm, self.name)
        try:
            n_modes = modes_to_neuralop(tuple(self.modes) if isinstance(self.modes, list) else self.modes)
        except ValueError as e:
            raise ConfigError(f"model.modes={self.modes!r}: {e}") from None
        _check(self.activation in ACTIVATIONS, "model.activation", self.activation, f"one of {sorted(ACTIVATIONS)}")
        kwargs = dict(
            n_modes=n_modes, in_channels=in_channels, out_channels=out_channels, hidden_channels=self.width, n_layers=self.depth,
            projection_channel_ratio=self.projection_ratio, non_linearity=ACTIVATIONS[self.activation],
            positional_embedding="grid" if self.append_coords else None,
        )
        for klass in cls.__mro__:  # TFNO(*args, **kwargs) passes them on to FNO
            params = inspect.signature(klass.__init__).parameters.values()
            if any(p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params if p.name != "self"):
                break
        takes = {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)} - {"self"} - set(kwargs)
        bad = sorted(set(self.options) - takes)
        if bad:
            shared = sorted(set(bad) & set(kwargs))
            hint = f"; {shared} come from the model fields (modes, width, depth, ...)" if shared else ""
            raise ConfigError(f"model.options: neuralop's {self.name} takes no argument(s) {bad}{hint}; allowed: {sorted(takes)}")
        return cls, {**kwargs, **self.options}

    def layout(self, in_channels: int, out_channels: int) -> FNOConfig:
        """The :class:`muop.FNOConfig` whose shapes stand for this model: muop's FNO's own config;
        for a neuraloperator model, muop's ``neuralop`` block at the same modes, width, depth and
        lifting/projection (the same layer shapes as neuraloperator's default FNO). Used for the
        μP base shape, the memory check and the FLOP count (a factorized TFNO is counted as the
        dense FNO it reconstructs)."""
        if self.library == "muop":
            return self.fno(in_channels, out_channels)
        self._neuralop_kwargs(in_channels, out_channels)  # the same checks as building it
        twin = replace(self, library="muop", name="FNO", options={}, block="neuralop")
        return twin.fno(in_channels, out_channels)

    def build(self, in_channels: int, out_channels: int):
        """The model (an ``nn.Module``) for data with these channel counts; initialise it with
        :func:`muop.parametrize` (neuraloperator models keep their own SP-shaped init there)."""
        if self.library == "muop":
            from .fno import FNO

            return FNO(self.fno(in_channels, out_channels))
        cls, kwargs = self._neuralop_kwargs(in_channels, out_channels)
        try:
            return cls(**kwargs)
        except (TypeError, ValueError, AssertionError) as e:
            raise ConfigError(f"model.options={self.options!r}: neuralop's {self.name} refused them: {e}") from None


@dataclass(frozen=True)
class ParamConfig:
    """``kind``: sp or mup; the base (proxy) shape μP is relative to (defaults: the model's own).

    What was tuned at the base besides the LR (Tensor Programs V): ``init_scale`` multiplies every
    weight's init std; ``multipliers`` (role -> number, e.g. ``{output: 2.0}``) multiply those
    roles' forward multipliers. ``overrides`` makes ablation variants of the table: ``{output: sp}``
    gives the readout SP's rule under ``kind: mup`` (``output.lr``, ``.init``, ``.mult``: one column
    group only; see :func:`muop.rules.table`). At the defaults μP still equals SP at the base shape.

    Depth (models with ``model.residual`` blocks): ``base_depth`` is the proxy's number of blocks
    (default: the model's), ``depth_alpha`` the exponent of the branch multiplier
    ``(depth/base_depth)^-depth_alpha``, in [0.5, 1] (0.5: Depth-μP, 1: CompleteP).
    """

    kind: str = "mup"
    base_width: int | None = None
    base_modes: list | None = None
    init_scale: float = 1.0
    multipliers: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)
    base_depth: int | None = None
    depth_alpha: float = 0.5

    def validate(self) -> None:
        _check(self.kind in TABLES, "parametrization.kind", self.kind, f"one of {', '.join(sorted(TABLES))}")
        if self.base_width is not None:
            _check(isinstance(self.base_width, int) and self.base_width >= 1, "parametrization.base_width", self.base_width, "a positive integer")
        if self.base_modes is not None:
            _check(isinstance(self.base_modes, list) and all(isinstance(k, int) and k >= 2 for k in self.base_modes), "parametrization.base_modes", self.base_modes, "a list of integers >= 2 (one per dimension)")
        if self.base_depth is not None:
            _check(isinstance(self.base_depth, int) and not isinstance(self.base_depth, bool) and self.base_depth >= 1, "parametrization.base_depth", self.base_depth, "a positive integer (number of residual blocks)")
        _check(isinstance(self.depth_alpha, (int, float)) and not isinstance(self.depth_alpha, bool) and 0.5 <= self.depth_alpha <= 1, "parametrization.depth_alpha", self.depth_alpha, "a number in [0.5, 1] (0.5: Depth-μP, 1: CompleteP)")
        self._tuned(Shape(1))  # checks init_scale, multipliers and overrides (the shape plays no part)

    def _tuned(self, shape: Shape) -> Base:
        """``shape`` with this config's init scale, multipliers and overrides (a ConfigError names a bad one)."""
        for name in ("multipliers", "overrides"):
            _check(isinstance(getattr(self, name), dict), f"parametrization.{name}", getattr(self, name), "a mapping")
        try:
            return Base(shape.width, shape.modes, shape.depth, init_scale=self.init_scale, multipliers=self.multipliers, overrides=self.overrides, alpha=self.depth_alpha)
        except ValueError as e:
            raise ConfigError(f"parametrization.{e}") from None

    def base_shape(self, model: FNOConfig, depth_scaled: bool | None = None) -> Base:
        """The μP base for ``model``: its shape and the constants above (what the engine plans from).

        ``depth_scaled``: whether the model has residual branches that scale with depth (default:
        ``model.residual``; for a built model pass ``model_shape(model).depth is not None``, which is
        how a neuraloperator model with identity skips says so). Without them ``base_depth`` is an error."""
        modes = tuple(self.base_modes) if self.base_modes is not None else model.modes
        if len(modes) != len(model.modes):
            raise ConfigError(f"parametrization.base_modes={list(modes)}: expected {len(model.modes)} entries like model.modes={list(model.modes)}")
        depth_scaled = model.residual != "none" if depth_scaled is None else depth_scaled
        if self.base_depth is not None and not depth_scaled:
            raise ConfigError(
                f"parametrization.base_depth={self.base_depth}: the model has no residual blocks, so nothing scales with depth; "
                "set model.residual: pre (muop) or identity skips (neuralop: options fno_skip/channel_mlp_skip: identity), or drop base_depth"
            )
        depth = (self.base_depth or model.depth) if depth_scaled else None
        return self._tuned(Shape(self.base_width or model.width, modes, depth))


@dataclass(frozen=True)
class OptimConfig:
    name: str = "adam"
    lr: float = 1e-3
    betas: list = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.0
    momentum: float = 0.0
    grad_clip: float | None = None  # element-wise gradient clipping (the paper reportedly used 0.01)

    def validate(self) -> None:
        _check(self.name in OPTIMIZERS, "optimizer.name", self.name, f"one of {', '.join(sorted(OPTIMIZERS))}")
        _check(isinstance(self.lr, (int, float)) and self.lr > 0, "optimizer.lr", self.lr, "a positive number")
        _check(isinstance(self.betas, list) and len(self.betas) == 2 and all(_is_number(b) and 0 <= b < 1 for b in self.betas), "optimizer.betas", self.betas, "two numbers in [0, 1)")
        _check(self.weight_decay >= 0, "optimizer.weight_decay", self.weight_decay, ">= 0")
        _check(self.grad_clip is None or self.grad_clip > 0, "optimizer.grad_clip", self.grad_clip, "a positive number or null")


@dataclass(frozen=True)
class ScheduleConfig:
    name: str = "cosine"  # one of SCHEDULES
    step_size: int = 10
    gamma: float = 0.5

    def validate(self) -> None:
        _check(self.name in SCHEDULES, "schedule.name", self.name, f"one of {', '.join(SCHEDULES)}")
        _check(isinstance(self.step_size, int) and not isinstance(self.step_size, bool) and self.step_size >= 1, "schedule.step_size", self.step_size, "a positive integer (epochs between LR drops)")
        _check(0 < self.gamma <= 1, "schedule.gamma", self.gamma, "a number in (0, 1] (the factor of each LR drop)")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 20
    seed: int = 0
    normalize: bool = True
    diverge_factor: float = 1e3  # stop when the loss exceeds this multiple of the first epoch's
    checkpoint_every: int = 5  # epochs between resumable training states (runs with an output dir); 0: none
    device: str = "cpu"  # cpu | cuda | cuda:N | auto (CUDA when available)
    parallel: str = "ddp"  # when run by several processes: ddp (replicas) or fsdp (sharded; muop.distributed)

    def validate(self) -> None:
        _check(isinstance(self.checkpoint_every, int) and not isinstance(self.checkpoint_every, bool) and self.checkpoint_every >= 0, "train.checkpoint_every", self.checkpoint_every, "an integer >= 0 (0: no resumable state)")
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            _check(isinstance(v, int) and not isinstance(v, bool) and v >= 1, f"train.{name}", v, "a positive integer")
        _check(isinstance(self.device, str) and (self.device in ("cpu", "auto", "cuda") or self.device.startswith("cuda:")), "train.device", self.device, "cpu, cuda, cuda:N or auto")
        _check(self.diverge_factor > 1, "train.diverge_factor", self.diverge_factor, "a number > 1")
        _check(self.parallel in ("ddp", "fsdp"), "train.parallel", self.parallel, "ddp or fsdp")


@dataclass(frozen=True)
class TuneConfig:
    """The proxy search space (Optuna, define-by-run). ``null`` leaves a hyperparameter fixed.

    ``lr``: [low, high], log-uniform; ``batch_size``: choices; ``beta1``/``beta2``: [low, high],
    uniform (Adam/AdamW); ``weight_decay``: [low, high], log-uniform (0 allowed as low: then uniform).
    """

    lr: list | None = field(default_factory=lambda: [1e-4, 1e-1])
    batch_size: list | None = None
    beta1: list | None = None
    beta2: list | None = None
    weight_decay: list | None = None
    sampler: str = "tpe"  # tpe | random
    diverged_value: float = 10.0  # objective reported for a diverged trial (a zero prediction scores 1.0)

    def validate(self) -> None:
        for name in ("lr", "beta1", "beta2", "weight_decay"):
            v = getattr(self, name)
            if v is not None:
                _check(isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v) and v[0] < v[1], f"tune.{name}", v, "[low, high] with low < high, or null")
        if self.lr is not None:
            _check(self.lr[0] > 0, "tune.lr", self.lr, "positive bounds (log-uniform)")
        for name in ("beta1", "beta2"):
            v = getattr(self, name)
            if v is not None:
                _check(0 <= v[0] and v[1] < 1, f"tune.{name}", v, "bounds in [0, 1)")
        if self.batch_size is not None:
            _check(isinstance(self.batch_size, list) and self.batch_size and all(isinstance(b, int) and b >= 1 for b in self.batch_size), "tune.batch_size", self.batch_size, "a non-empty list of positive integers, or null")
        if self.weight_decay is not None:
            _check(self.weight_decay[0] >= 0, "tune.weight_decay", self.weight_decay, "bounds >= 0")
        _check(self.sampler in SAMPLERS, "tune.sampler", self.sampler, f"one of {', '.join(SAMPLERS)}")
        _check(self.diverged_value >= 1, "tune.diverged_value", self.diverged_value, "a number >= 1, worse than any trial that trained (predicting zero scores 1.0)")


SECTIONS = {"data": DataConfig, "model": ModelConfig, "parametrization": ParamConfig, "optimizer": OptimConfig, "schedule": ScheduleConfig, "train": TrainConfig, "tune": TuneConfig}


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    parametrization: ParamConfig = field(default_factory=ParamConfig)
    optimizer: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    tune: TuneConfig = field(default_factory=TuneConfig)

    def validate(self) -> RunConfig:
        for name in SECTIONS:
            try:
                getattr(self, name).validate()
            except TypeError as e:  # e.g. a list of strings where numbers belong
                raise ConfigError(f"{name}: a value has the wrong type ({e})") from None
        d = self.data
        if d.problem is not None:  # the grid is known before any data is made: check the modes against it
            modes = normalize_modes(tuple(self.model.modes) if isinstance(self.model.modes, list) else self.model.modes)
            n = -(-d.resolution // d.stride)
            check_modes_fit(modes, [n] * len(modes), f"data.resolution={d.resolution} with data.stride={d.stride}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    def identity_dicts(self) -> list[dict]:
        """:meth:`to_dict` as each schema of :data:`SCHEMA_CHANGES` wrote it, the current one first;
        schemas that cannot express this config (an added field away from its old value) are left out."""
        d = self.to_dict()
        out = [copy.deepcopy(d)]
        for kind, sec, a, b in reversed(SCHEMA_CHANGES):
            if kind == "renamed":
                d[sec][a] = d[sec].pop(b)
            elif d[sec][a] == b:
                del d[sec][a]
            else:
                break
            out.append(copy.deepcopy(d))
        return out

    def identity(self) -> str:
        """A short hash of everything this config decides (what new records are marked with)."""
        return config_hash(self.to_dict())

    def identities(self) -> set[str]:
        """This config's identity under the current and every earlier schema (to recognise old records)."""
        return {config_hash(d) for d in self.identity_dicts()}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_record(cls, d: Mapping) -> RunConfig:
        """A config as muop recorded it (``to_dict`` output: a sweep's ``base_config``, a study's
        ``config`` attribute). A recorded section lacks a field only if it was written before the
        field existed, so the field takes the value that did what that schema did
        (:data:`SCHEMA_CHANGES`), not today's default: e.g. ``model.block: classic``."""
        d = copy.deepcopy(dict(d))
        for kind, sec, name, old in SCHEMA_CHANGES:
            if kind == "added" and isinstance(d.get(sec), dict):
                renamed = {RENAMED.get((sec, k), k) for k in d[sec]}
                if name not in renamed:
                    d[sec][name] = copy.deepcopy(old)
        model = d.get("model")
        if isinstance(model, dict) and model.get("library", "muop") != "muop":
            model["block"] = FNOConfig.block  # meaningless for other libraries; recorded as "classic" before 0.2
        return cls.from_dict(d)

    @classmethod
    def from_dict(cls, d: Mapping | None) -> RunConfig:
        d = dict(d or {})
        unknown = sorted(set(d) - set(SECTIONS))
        if unknown:
            raise ConfigError(f"unknown section(s) {unknown}; allowed: {sorted(SECTIONS)}")
        parts = {}
        for name, typ in SECTIONS.items():
            sec = d.get(name) or {}
            if not isinstance(sec, Mapping):
                raise ConfigError(f"{name}={sec!r}: expected a mapping of fields")
            sec = {RENAMED.get((name, k), k): v for k, v in sec.items()}
            if name == "data" and sec.get("path") is not None and "problem" not in sec:
                sec["problem"] = None  # a file, not a built-in problem
            allowed = {f.name for f in fields(typ)}
            bad = sorted(set(sec) - allowed)
            if bad:
                raise ConfigError(f"unknown key(s) {[f'{name}.{b}' for b in bad]}; allowed in {name}: {sorted(allowed)}")
            parts[name] = _coerce(typ, name, dict(sec))
        return cls(**parts).validate()


def _coerce(typ: type, section: str, values: dict) -> Any:
    """Build a section, checking each value against the field's declared type.

    YAML scalars are converted where unambiguous: an int for a float field, a numeric string
    (``1e-3``) for a float, a scalar for a list (``modes: 8`` -> ``[8]``).
    """
    hints = get_type_hints(typ)
    out = {}
    for k, v in values.items():
        h = str(hints[k])
        where = f"{section}.{k}"
        if v is None:
            _check("None" in h, where, v, "a value (this field cannot be null)")
        elif "float" in h:
            if isinstance(v, str):
                try:
                    v = float(v)
                except ValueError:
                    raise ConfigError(f"{where}={v!r}: expected a number") from None
            _check(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v), where, v, "a finite number")
            v = float(v)
        elif "int" in h and "list" not in h:
            _check(isinstance(v, int) and not isinstance(v, bool), where, v, "an integer")
        elif "bool" in h:
            _check(isinstance(v, bool), where, v, "true or false")
        elif "str" in h:
            _check(isinstance(v, str), where, v, "a string")
        elif "list" in h:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                v = [v]
            _check(isinstance(v, list), where, v, "a list")
        elif "dict" in h:
            _check(isinstance(v, dict), where, v, "a mapping")
        out[k] = v
    return typ(**out)


def _read_yaml(p: Path) -> object:
    """The YAML document in ``p``; a missing file, a directory, non-UTF-8 bytes or bad YAML is one line."""
    if not p.exists():
        raise FileNotFoundError(f"config file {p} does not exist")
    if not p.is_file():
        raise ConfigError(f"config {str(p)!r}: is a directory, not a file; expected a YAML run config")
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as e:
        raise ConfigError(f"config {str(p)!r}: byte {e.start} is not UTF-8 text; expected a YAML run config") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{p}: not valid YAML{where}: {what}") from None


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    """Read a YAML run config (``None``: the defaults) and apply ``section.field=value`` overrides."""
    d: dict = {}
    if path is not None:
        d = _read_yaml(Path(path))
        if not isinstance(d, dict):
            raise ConfigError(f"{path}: expected a mapping of sections, got {type(d).__name__}")
    cfg = RunConfig.from_dict(d)
    return apply_overrides(cfg, overrides or [])


def apply_overrides(cfg: RunConfig, overrides: list[str]) -> RunConfig:
    """Apply ``section.field=value`` strings (values parsed as YAML: ``lr=3e-3``, ``modes=[8,8]``)."""
    d = cfg.to_dict()
    keys = {item.partition("=")[0] for item in overrides}
    if "data.path" in keys and "data.problem" not in keys:
        d["data"]["problem"] = None  # a file replaces the built-in problem
    for item in overrides:
        key, sep, raw = item.partition("=")
        sec, dot, name = key.partition(".")
        name = RENAMED.get((sec, name), name)
        if not sep or not dot:
            raise ConfigError(f"override {item!r}: expected section.field=value, e.g. optimizer.lr=3e-3")
        if sec not in d:
            raise ConfigError(f"override {item!r}: unknown section {sec!r}; allowed: {sorted(SECTIONS)}")
        try:
            d[sec][name] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f"override {item!r}: cannot parse value {raw!r}") from None
        if name not in {f.name for f in fields(SECTIONS[sec])}:
            raise ConfigError(f"unknown key {key!r}; allowed in {sec}: {sorted(f.name for f in fields(SECTIONS[sec]))}")
    return RunConfig.from_dict(d)


def with_fields(cfg: RunConfig, **sections: dict) -> RunConfig:
    """A copy with some fields of some sections replaced, e.g. ``with_fields(cfg, optimizer={"lr": 1e-3})``."""
    parts = {name: replace(getattr(cfg, name), **vals) for name, vals in sections.items()}
    return dataclasses.replace(cfg, **parts).validate()


def config_hash(d: Mapping) -> str:
    """A short stable hash of a JSON-able mapping (cache keys, identities)."""
    return content_key(d)
