"""The sections of a run config: data, parametrization, optimizer, schedule, training, tuning.

Every section is a small frozen dataclass with a ``validate`` method that raises
:class:`~muop.errors.ConfigError` naming the field (``optimizer.lr``), the value and what is
allowed. The model section is :class:`muop.models.ModelConfig` (it builds the model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..core.rules import OPTIMIZERS, TABLES
from ..core.shape import Base, Shape
from ..data.problems import PROBLEMS, make_params
from ..errors import ConfigError, expect
from ..models.fno import FNOConfig
from .coerce import is_number

__all__ = [
    "DataConfig",
    "ParamConfig",
    "OptimConfig",
    "ScheduleConfig",
    "TrainConfig",
    "TuneConfig",
    "SCHEDULES",
    "SAMPLERS",
    "PRECISIONS",
]

#: LR schedules (:func:`muop.training.make_scheduler`) and Optuna samplers (:mod:`muop.study`) by name.
SCHEDULES = ("constant", "cosine", "step")
SAMPLERS = ("tpe", "random")
#: ``train.precision``: float32, or autocast to bfloat16 / float16 (:mod:`muop.training.precision`).
PRECISIONS = ("fp32", "bf16", "fp16")


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
        expect(
            (self.problem is None) != (self.path is None),
            "data.problem/data.path",
            (self.problem, self.path),
            "exactly one of problem or path",
        )
        for name in ("path", "test_path"):
            v = getattr(self, name)
            if v is not None:
                expect(
                    isinstance(v, str) and Path(v).is_file(),
                    f"data.{name}",
                    v,
                    "an existing data file (.h5, .mat, .pt, .npz)",
                )
        expect(
            self.test_path is None or self.path is not None,
            "data.test_path",
            self.test_path,
            "null unless data.path is set",
        )
        if self.problem is not None:
            expect(self.problem in PROBLEMS, "data.problem", self.problem, f"one of {sorted(PROBLEMS)}")
            expect(isinstance(self.params, dict), "data.params", self.params, "a mapping of parameter overrides")
            try:  # the same check as generation, before anything is generated
                make_params(self.problem, self.params)
            except ValueError as e:
                raise ConfigError(f"data.params: {e}") from None
        for name in ("n_train", "n_test", "resolution", "stride"):
            v = getattr(self, name)
            expect(isinstance(v, int) and not isinstance(v, bool) and v >= 1, f"data.{name}", v, "a positive integer")
        expect(
            isinstance(self.n_val, int) and 0 <= self.n_val < self.n_train,
            "data.n_val",
            self.n_val,
            f"an integer in [0, n_train={self.n_train})",
        )
        expect(self.grid_dims in (None, 1, 2, 3), "data.grid_dims", self.grid_dims, "1, 2, 3 or null")
        expect(
            all(isinstance(s, int) and s >= 1 for s in self.eval_strides),
            "data.eval_strides",
            self.eval_strides,
            "a list of positive integers",
        )


@dataclass(frozen=True)
class ParamConfig:
    """``kind``: sp or mup; the base (proxy) shape μP is relative to (defaults: the model's own).

    What was tuned at the base besides the LR (Tensor Programs V): ``init_scale`` multiplies every
    weight's init std; ``multipliers`` (role -> number, e.g. ``{output: 2.0}``) multiply those
    roles' forward multipliers. ``overrides`` makes ablation variants of the table: ``{output: sp}``
    gives the readout SP's rule under ``kind: mup`` (``output.lr``, ``.init``, ``.mult``: one column
    group only; see :func:`muop.core.rules.table`). At the defaults μP still equals SP at the base shape.

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
        expect(self.kind in TABLES, "parametrization.kind", self.kind, f"one of {', '.join(sorted(TABLES))}")
        if self.base_width is not None:
            expect(
                isinstance(self.base_width, int) and self.base_width >= 1,
                "parametrization.base_width",
                self.base_width,
                "a positive integer",
            )
        if self.base_modes is not None:
            expect(
                isinstance(self.base_modes, list) and all(isinstance(k, int) and k >= 2 for k in self.base_modes),
                "parametrization.base_modes",
                self.base_modes,
                "a list of integers >= 2 (one per dimension)",
            )
        if self.base_depth is not None:
            expect(
                isinstance(self.base_depth, int) and not isinstance(self.base_depth, bool) and self.base_depth >= 1,
                "parametrization.base_depth",
                self.base_depth,
                "a positive integer (number of residual blocks)",
            )
        expect(
            isinstance(self.depth_alpha, (int, float))
            and not isinstance(self.depth_alpha, bool)
            and 0.5 <= self.depth_alpha <= 1,
            "parametrization.depth_alpha",
            self.depth_alpha,
            "a number in [0.5, 1] (0.5: Depth-μP, 1: CompleteP)",
        )
        self._tuned(Shape(1))  # checks init_scale, multipliers and overrides (the shape plays no part)

    def _tuned(self, shape: Shape) -> Base:
        """``shape`` with this config's init scale, multipliers and overrides (a ConfigError names a bad one)."""
        for name in ("multipliers", "overrides"):
            expect(isinstance(getattr(self, name), dict), f"parametrization.{name}", getattr(self, name), "a mapping")
        try:
            return Base(
                shape.width,
                shape.modes,
                shape.depth,
                init_scale=self.init_scale,
                multipliers=self.multipliers,
                overrides=self.overrides,
                alpha=self.depth_alpha,
            )
        except ValueError as e:
            raise ConfigError(f"parametrization.{e}") from None

    def base_shape(self, model: FNOConfig, depth_scaled: bool | None = None) -> Base:
        """The μP base for ``model``: its shape and the constants above (what the engine plans from).

        ``depth_scaled``: whether the model has residual branches that scale with depth (default:
        ``model.residual``; for a built model pass ``model_shape(model).depth is not None``, which is
        how a neuraloperator model with identity skips says so). Without them ``base_depth`` is an error."""
        modes = tuple(self.base_modes) if self.base_modes is not None else model.modes
        if len(modes) != len(model.modes):
            raise ConfigError(
                f"parametrization.base_modes={list(modes)}: expected {len(model.modes)} entries like "
                f"model.modes={list(model.modes)}"
            )
        depth_scaled = model.residual != "none" if depth_scaled is None else depth_scaled
        if self.base_depth is not None and not depth_scaled:
            raise ConfigError(
                f"parametrization.base_depth={self.base_depth}: the model has no residual blocks, so nothing scales "
                "with depth; set model.residual: pre (muop) or identity skips (neuralop: options "
                "fno_skip/channel_mlp_skip: identity), or drop base_depth"
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
        expect(self.name in OPTIMIZERS, "optimizer.name", self.name, f"one of {', '.join(sorted(OPTIMIZERS))}")
        expect(isinstance(self.lr, (int, float)) and self.lr > 0, "optimizer.lr", self.lr, "a positive number")
        expect(
            isinstance(self.betas, list)
            and len(self.betas) == 2
            and all(is_number(b) and 0 <= b < 1 for b in self.betas),
            "optimizer.betas",
            self.betas,
            "two numbers in [0, 1)",
        )
        expect(self.weight_decay >= 0, "optimizer.weight_decay", self.weight_decay, ">= 0")
        expect(is_number(self.momentum) and self.momentum >= 0, "optimizer.momentum", self.momentum, ">= 0")
        expect(
            self.grad_clip is None or self.grad_clip > 0,
            "optimizer.grad_clip",
            self.grad_clip,
            "a positive number or null",
        )


@dataclass(frozen=True)
class ScheduleConfig:
    name: str = "cosine"  # one of SCHEDULES
    step_size: int = 10
    gamma: float = 0.5

    def validate(self) -> None:
        expect(self.name in SCHEDULES, "schedule.name", self.name, f"one of {', '.join(SCHEDULES)}")
        expect(
            isinstance(self.step_size, int) and not isinstance(self.step_size, bool) and self.step_size >= 1,
            "schedule.step_size",
            self.step_size,
            "a positive integer (epochs between LR drops)",
        )
        expect(0 < self.gamma <= 1, "schedule.gamma", self.gamma, "a number in (0, 1] (the factor of each LR drop)")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 20
    seed: int = 0
    normalize: bool = True
    diverge_factor: float = 1e3  # stop when the loss exceeds this multiple of the first epoch's
    checkpoint_every: int = 5  # epochs between resumable training states (runs with an output dir); 0: none
    device: str = "cpu"  # cpu | cuda | cuda:N | auto (CUDA when available)
    parallel: str = "ddp"  # when run by several processes: ddp (replicas) or fsdp (sharded; muop.training.distributed)
    precision: str = "fp32"  # fp32 | bf16 | fp16 (autocast; fp16 with a gradient scaler; muop.training.precision)
    compile: bool = False  # torch.compile the model (muop.training.compiled)
    checkpoint_activations: bool = False  # recompute each Fourier layer in backward (muop's FNO only)

    def validate(self) -> None:
        expect(
            isinstance(self.checkpoint_every, int)
            and not isinstance(self.checkpoint_every, bool)
            and self.checkpoint_every >= 0,
            "train.checkpoint_every",
            self.checkpoint_every,
            "an integer >= 0 (0: no resumable state)",
        )
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            expect(isinstance(v, int) and not isinstance(v, bool) and v >= 1, f"train.{name}", v, "a positive integer")
        expect(
            0 <= self.seed < 2**32, "train.seed", self.seed, "an integer in [0, 2^32) (Optuna's samplers take it too)"
        )
        expect(
            isinstance(self.device, str)
            and (self.device in ("cpu", "auto", "cuda") or self.device.startswith("cuda:")),
            "train.device",
            self.device,
            "cpu, cuda, cuda:N or auto",
        )
        expect(self.diverge_factor > 1, "train.diverge_factor", self.diverge_factor, "a number > 1")
        expect(self.parallel in ("ddp", "fsdp"), "train.parallel", self.parallel, "ddp or fsdp")
        expect(self.precision in PRECISIONS, "train.precision", self.precision, ", ".join(PRECISIONS))
        for name in ("compile", "checkpoint_activations"):
            expect(isinstance(getattr(self, name), bool), f"train.{name}", getattr(self, name), "true or false")


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
                expect(
                    isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v) and v[0] < v[1],
                    f"tune.{name}",
                    v,
                    "[low, high] with low < high, or null",
                )
        if self.lr is not None:
            expect(self.lr[0] > 0, "tune.lr", self.lr, "positive bounds (log-uniform)")
        for name in ("beta1", "beta2"):
            v = getattr(self, name)
            if v is not None:
                expect(0 <= v[0] and v[1] < 1, f"tune.{name}", v, "bounds in [0, 1)")
        if self.batch_size is not None:
            expect(
                isinstance(self.batch_size, list)
                and self.batch_size
                and all(isinstance(b, int) and b >= 1 for b in self.batch_size),
                "tune.batch_size",
                self.batch_size,
                "a non-empty list of positive integers, or null",
            )
        if self.weight_decay is not None:
            expect(self.weight_decay[0] >= 0, "tune.weight_decay", self.weight_decay, "bounds >= 0")
        expect(self.sampler in SAMPLERS, "tune.sampler", self.sampler, f"one of {', '.join(SAMPLERS)}")
        expect(
            self.diverged_value >= 1,
            "tune.diverged_value",
            self.diverged_value,
            "a number >= 1, worse than any trial that trained (predicting zero scores 1.0)",
        )
