"""The trainer, split by phase as in neuraloperator's Trainer: build, fit, evaluate.

* :func:`build` makes everything a run trains with from a :class:`~muop.config.RunConfig`: model,
  μP/SP plan, optimizer, LR schedule, device and normalisers (a :class:`Setup`). Callers keep it:
  nothing needs to rebuild a model to read its plan.
* :class:`Trainer` runs the loop: :meth:`Trainer.fit` repeats :meth:`Trainer.train_epoch`, which
  repeats :meth:`Trainer.train_batch`; :meth:`Trainer.evaluate` measures a data set. Its whole
  training state (:meth:`Trainer.state_dict`) can be saved and loaded to resume bit for bit.
* Everything else is a :class:`~muop.training.callbacks.Callback`: divergence (early stopping), the metrics
  log, checkpoints, progress, per-epoch hooks. New behaviour plugs in there, not into the loop.

The loss and the metric are the relative L2 error averaged per sample, in physical units: the
model sees normalised inputs and outputs, and its prediction is decoded before the loss.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from ..adapters import declared_shape
from ..config import RunConfig, ScheduleConfig
from ..core.optim import make_optimizer
from ..core.plan import Plan
from ..data import ChannelNormalizer, Datasets, OperatorData
from ..errors import ConfigError, StateError, UsageError
from ..models import FNOConfig, check_modes_fit, fno_flops
from ..parametrization import parametrize
from ..utils.locks import RunDirLock
from .compiled import check_compiled, compile_module
from .device import check_memory, resolve_device
from .distributed import Distributed, check_batch, check_plan, full_state, load_full_state, wrap
from .losses import rel_l2
from .precision import Precision

if TYPE_CHECKING:  # annotations only: callbacks are handed the trainer
    from .callbacks import Callback

__all__ = ["Setup", "build", "make_scheduler", "TrainState", "Trainer", "evaluate"]


@dataclass
class Setup:
    """What one run trains with, built once by :func:`build`."""

    model: torch.nn.Module  # muop's FNO or a neuraloperator model (``model.library``)
    model_config: FNOConfig  # its shapes (:meth:`muop.config.ModelConfig.layout`)
    plan: Plan
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    device: torch.device
    x_normalizer: ChannelNormalizer | None
    y_normalizer: ChannelNormalizer | None
    batch_size: int  # the configured (global) batch size, capped at the number of training samples
    module: torch.nn.Module | None = None  # what the loop calls: the model, or its DDP/FSDP wrapper, compiled
    dist: Distributed | None = None  # this process's place in a data-parallel run (None: one process)
    precision: Precision = field(default_factory=Precision)  # autocast and fp16's scaler (default: fp32)

    def __post_init__(self) -> None:
        self.module = self.model if self.module is None else self.module

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Model output (float32) in physical units for physical inputs ``x`` (B, C_in, *grid) on the
        device; the model runs eagerly, in the run's precision."""
        xn, yn = self.x_normalizer, self.y_normalizer
        with self.precision.autocast():
            pred = self.model(xn.encode(x) if xn else x)
        pred = pred if self.precision.dtype is None else pred.float()
        return yn.decode(pred) if yn else pred


def make_scheduler(
    cfg: ScheduleConfig, opt: torch.optim.Optimizer, epochs: int, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The per-step LR schedule: ``cosine`` over the whole run, ``step`` every ``step_size`` epochs, or none."""
    if cfg.name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    if cfg.name == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_size * steps_per_epoch, gamma=cfg.gamma)
    return None


def build(cfg: RunConfig, data: Datasets, dist: Distributed | None = None) -> Setup:
    """Model (initialised by the plan), plan, optimizer, schedule and normalisers for ``cfg`` on ``data``.

    With ``dist`` (a data-parallel run, :mod:`muop.training.distributed`) the model is wrapped with DDP or
    FSDP (``train.parallel``) after the plan is applied and before the optimizer is built. With
    ``train.compile`` the module the loop calls is compiled last (:mod:`muop.training.compiled`);
    ``train.precision`` sets its autocast (:mod:`muop.training.precision`). The optimizer's learning
    rates and the modules' forward multipliers are then checked against the plan.
    """
    tr = data.train
    torch.manual_seed(cfg.train.seed)
    fcfg = cfg.model.layout(tr.x.shape[1], tr.y.shape[1])
    if len(fcfg.modes) != tr.x.dim() - 2:
        raise UsageError(
            f"model.modes={list(fcfg.modes)} has {len(fcfg.modes)} entries but the data has {tr.x.dim() - 2} spatial "
            "dims"
        )
    check_modes_fit(fcfg.modes, tr.grid, "the training data", spherical=cfg.model.spherical)
    dev = resolve_device(cfg.train.device) if dist is None or dist.backend != "nccl" else dist.device
    if dist is not None:
        check_batch(cfg.train.batch_size, len(tr), dist.world)
    check_memory(fcfg, tr.grid, min(cfg.train.batch_size, len(tr)), dev, cfg.train.checkpoint_activations)
    model = cfg.model.build(tr.x.shape[1], tr.y.shape[1])  # muop's FNO(fcfg), or a neuraloperator model
    own = declared_shape(model)
    base = cfg.parametrization.base_shape(fcfg, depth_scaled=own is not None and own.depth is not None)
    plan = parametrize(model, cfg.parametrization.kind, base=base, seed=cfg.train.seed)
    model.to(dev)  # in place: the plan's parameters stay the model's
    precision = _precision(cfg, dev, dist)
    if cfg.train.checkpoint_activations:
        model.checkpoint_activations()  # muop's FNO only (RunConfig.validate)
    module = model if dist is None else wrap(model, plan, dist, cfg.train.parallel)
    o = cfg.optimizer
    kw = {"betas": tuple(o.betas)} if o.name in ("adam", "adamw") else {"momentum": o.momentum}
    opt = make_optimizer(plan, o.name, lr=o.lr, weight_decay=o.weight_decay, **kw)
    if cfg.train.compile:
        module = compile_module(module)
        check_compiled(module, model)
    check_plan(opt, plan, model, o.lr, o.name)
    xn = ChannelNormalizer.fit(tr.x).to(dev) if cfg.train.normalize else None
    yn = ChannelNormalizer.fit(tr.y).to(dev) if cfg.train.normalize else None
    bs = min(cfg.train.batch_size, len(tr))
    sched = make_scheduler(cfg.schedule, opt, cfg.train.epochs, math.ceil(len(tr) / bs))
    return Setup(model, fcfg, plan, opt, sched, dev, xn, yn, bs, module, dist, precision)


def _precision(cfg: RunConfig, device: torch.device, dist: Distributed | None) -> Precision:
    """The run's :class:`Precision`; fp16's scaler under FSDP is refused (its inf check is per shard)."""
    if cfg.train.precision == "fp16" and dist is not None and cfg.train.parallel == "fsdp":
        raise ConfigError(
            "train.precision=fp16 with train.parallel=fsdp: the gradient scaler would check each shard alone; use "
            "bf16 (no scaler needed) or ddp"
        )
    return Precision(cfg.train.precision, device)


@torch.no_grad()
def evaluate(setup: Setup, data: OperatorData, batch_size: int = 64) -> float:
    """Mean per-sample relative L2 error (physical units) of the model on ``data``."""
    model = setup.model
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(data), batch_size):
        x, y = data.x[i : i + batch_size].to(setup.device), data.y[i : i + batch_size].to(setup.device)
        total += float(rel_l2(setup.predict(x), y)) * x.shape[0]
        count += x.shape[0]
    model.train()
    return total / max(count, 1)


@dataclass
class TrainState:
    """Where a fit stands. ``first_loss`` is the first epoch's mean training loss (divergence test)."""

    epoch: int = 0
    train_loss: float = float("nan")
    first_loss: float | None = None
    diverged: bool = False
    stop: bool = False  # set by a callback to end the fit after this epoch
    seconds_before: float = 0.0  # time spent in earlier sessions of a resumed run
    compute_seconds: float = 0.0  # time in training epochs and evaluations, all sessions (the cost of the run)
    generator: torch.Generator = field(default_factory=torch.Generator)  # shuffles the batches


class Trainer:
    """Trains ``setup`` (default: :func:`build` of ``cfg``) on ``data``; see the module docstring.

    ``started`` is the :func:`time.perf_counter` value the run's wall time counts from (default:
    now); :attr:`seconds` includes the time of earlier sessions after a resume. ``run_lock`` is the
    run directory's lock while a run with an output directory holds it (:func:`muop.training.make_trainer`).
    """

    run_lock: RunDirLock | None = None

    def __init__(
        self,
        cfg: RunConfig,
        data: Datasets,
        setup: Setup | None = None,
        callbacks: Sequence[Callback] = (),
        started: float | None = None,
        dist: Distributed | None = None,
    ) -> None:
        self.cfg, self.data = cfg, data
        self.setup = setup or build(cfg, data, dist)
        self.callbacks = list(callbacks)
        self.state = TrainState(generator=torch.Generator().manual_seed(cfg.train.seed))
        self.started = time.perf_counter() if started is None else started
        s, tr = self.setup, data.train
        self._x = s.x_normalizer.encode(tr.x.to(s.device)) if s.x_normalizer else tr.x.to(s.device)
        self._y = tr.y.to(s.device)
        self.flops_per_epoch = 3 * fno_flops(s.model_config, tr.grid) * len(tr)

    @property
    def seconds(self) -> float:
        """Wall seconds of this run so far (earlier sessions included)."""
        return self.state.seconds_before + time.perf_counter() - self.started

    def _loss(self, idx: torch.Tensor) -> tuple[torch.Tensor, float]:
        """(what to differentiate, the batch's mean loss) for the global batch ``idx``.

        In a data-parallel run each rank takes its share and weights its loss by it, so the
        gradients averaged over ranks are those of the whole batch's mean loss; the mean loss
        itself is summed over ranks, so every rank sees the same number.
        """
        s = self.setup
        local = idx if s.dist is None else s.dist.shard(idx)
        n = local.numel()
        if n == 0:  # a last batch smaller than the number of ranks: take part in the step, add nothing
            local = idx[:1]
        with s.precision.autocast():
            pred = s.module(self._x[local])
        pred = pred if s.precision.dtype is None else pred.float()  # the loss in float32
        pred = s.y_normalizer.decode(pred) if s.y_normalizer else pred
        loss = rel_l2(pred, self._y[local])
        if s.dist is None:
            return loss, loss.item()
        total = s.dist.all_sum([loss.item() * n if n else 0.0])[0]
        return loss * (n * s.dist.world / idx.numel()), total / idx.numel()

    def train_batch(self, idx: torch.Tensor) -> float:
        """One optimizer step on the training samples ``idx``; returns the batch loss (NaN/inf: no step).

        Under ``train.precision: fp16`` the gradient scaler skips the step when a gradient is inf or
        NaN (counted in ``setup.precision.skipped_steps``); the LR schedule advances either way."""
        s = self.setup
        loss, value = self._loss(idx)
        if not math.isfinite(value):
            return value
        s.optimizer.zero_grad(set_to_none=True)
        clip = self.cfg.optimizer.grad_clip
        s.precision.step(
            loss, s.optimizer, (lambda: torch.nn.utils.clip_grad_value_(s.model.parameters(), clip)) if clip else None
        )
        if s.scheduler:
            s.scheduler.step()
        return value

    def train_epoch(self) -> float:
        """One pass over the shuffled training set; the mean loss, or NaN once a batch's loss is not finite."""
        n, bs = len(self.data.train), self.setup.batch_size
        perm = torch.randperm(n, generator=self.state.generator)
        total = 0.0
        for i in range(0, n, bs):
            idx = perm[i : i + bs]
            loss = self.train_batch(idx)
            if not math.isfinite(loss):
                return float("nan")
            total += loss * idx.numel()
        return total / n

    def evaluate(self, data: OperatorData) -> float:
        """Mean per-sample relative L2 error (physical units) on ``data``."""
        t = time.perf_counter()
        err = evaluate(self.setup, data)
        self.state.compute_seconds += time.perf_counter() - t
        return err

    def fit(self) -> TrainState:
        """Train until ``train.epochs`` or until a callback stops it; returns the final state."""
        for cb in self.callbacks:
            cb.on_fit_start(self)
        st = self.state
        while not st.stop and st.epoch < self.cfg.train.epochs:
            st.epoch += 1
            t = time.perf_counter()
            st.train_loss = self.train_epoch()
            st.compute_seconds += time.perf_counter() - t
            for cb in self.callbacks:
                cb.on_epoch_end(self)
        for cb in self.callbacks:
            cb.on_fit_end(self)
        return st

    @property
    def sharded(self) -> bool:
        """Whether the parameters are sharded over processes (FSDP): states are then gathered collectively."""
        return self.setup.dist is not None and self.cfg.train.parallel == "fsdp"

    def model_state(self) -> dict:
        """The whole model's state dict (unwrapped names; gathered under FSDP, a collective there)."""
        return full_state(self.setup.model, self.setup.optimizer)[0] if self.sharded else self.setup.model.state_dict()

    def state_dict(self) -> dict:
        """Everything needed to resume: model, optimizer, schedule, shuffling and torch RNG, progress.

        The same on every rank of a DDP run, and gathered whole under FSDP (call it on every rank),
        so a state saved by N processes resumes on any number.
        """
        s, st = self.setup, self.state
        model, optim = (
            full_state(s.model, s.optimizer) if self.sharded else (s.model.state_dict(), s.optimizer.state_dict())
        )
        return {
            "epoch": st.epoch,
            "first": st.first_loss,
            "train_loss": st.train_loss,
            "seconds": self.seconds,
            "compute_seconds": st.compute_seconds,
            "model": model,
            "optimizer": optim,
            "sharded": self.sharded,
            "scheduler": s.scheduler.state_dict() if s.scheduler else None,
            "generator": st.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "precision": s.precision.state_dict(),
        }

    def load_state_dict(self, d: dict) -> None:
        """Resume from :meth:`state_dict`'s output."""
        s, st = self.setup, self.state
        if d.get("sharded"):  # gathered by name: loads into FSDP on any number of processes, or one
            load_full_state(s.model, s.optimizer, d["model"], d["optimizer"])
        elif self.sharded:
            raise StateError(
                "a training state saved without FSDP cannot resume under FSDP; resume it with train.parallel=ddp or "
                "on one process"
            )
        else:
            s.model.load_state_dict(d["model"])
            s.optimizer.load_state_dict(d["optimizer"])
        if s.scheduler:
            s.scheduler.load_state_dict(d["scheduler"])
        s.precision.load_state_dict(d.get("precision"))
        st.generator.set_state(d["generator"])
        torch.set_rng_state(d["torch_rng"])
        st.epoch, st.first_loss, st.train_loss = d["epoch"], d["first"], d["train_loss"]
        st.seconds_before, st.compute_seconds = d["seconds"], d.get("compute_seconds", 0.0)
