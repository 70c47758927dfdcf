"""One training run from a :class:`~muop.config.RunConfig`, start to finish: :func:`train_run`.

The loss and the reported metric are the relative L2 error averaged per sample
(:func:`muop.training.losses.rel_l2`) **in physical units**. A run whose loss becomes NaN/inf, or grows past
``train.diverge_factor`` × its first epoch's, stops early and is recorded as ``diverged`` (no
exception). With an output directory, runs write ``config.yaml``, ``metrics.jsonl`` (one line per
epoch), ``result.json`` and ``checkpoint.pt`` (weights-only: model and normaliser tensors plus the
config as plain data).

With an output directory and ``train.checkpoint_every: k``, the full training state (model,
optimizer, LR schedule, shuffling generator, torch RNG) is written atomically to ``state.pt`` every
``k`` epochs. Rerunning the same config into the same directory resumes from it; on the CPU the
resumed run is bit-for-bit the run that was not interrupted. A ``state.pt`` of another config is
refused, never overwritten.

:func:`train_run` only composes the pieces of :mod:`muop.training.trainer` (build, fit, evaluate) and
:mod:`muop.training.callbacks` (divergence, metrics, checkpoints, hooks); use those directly to change
the loop's surroundings.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ..config import RunConfig
from ..data import Datasets, prepare_data
from ..utils.atomic import atomic_write
from ..utils.locks import RunDirLock
from .callbacks import Checkpoint, DivergenceStop, EpochHook, MetricsLog, load_training_state
from .device import resolve_device
from .distributed import Distributed, PeerLost, peer_lost
from .precision import check_precision
from .trainer import Trainer

__all__ = ["RunResult", "train_run", "make_trainer", "complete", "result_of", "save_outputs"]


@dataclass
class RunResult:
    """Outcome of one run. Errors are relative L2 (per-sample mean) in physical units."""

    test_rel_l2: float
    train_loss: float
    diverged: bool
    epochs_run: int
    seconds: float
    extra_test_rel_l2: dict = field(default_factory=dict)  # "grid" -> error at that resolution
    n_params: int = 0
    train_flops: float = 0.0
    val_rel_l2: float | None = None
    compute_seconds: float = (
        0.0  # training epochs and evaluations only (process-seconds: × processes): what costs count
    )


def result_of(trainer: Trainer) -> RunResult:
    """Evaluate a fitted trainer on the test, validation and extra test sets (NaN after divergence)."""
    st, data = trainer.state, trainer.data
    diverged = st.diverged
    test = float("nan") if diverged else trainer.evaluate(data.test)
    val = None if data.val is None else (float("nan") if diverged else trainer.evaluate(data.val))
    extra = {} if diverged else {"x".join(map(str, d.grid)): trainer.evaluate(d) for d in data.extra_test.values()}
    if diverged or not math.isfinite(test):
        diverged, test = True, float("nan")
    return RunResult(
        test_rel_l2=test,
        train_loss=st.train_loss,
        diverged=diverged,
        epochs_run=st.epoch,
        seconds=trainer.seconds,
        extra_test_rel_l2=extra,
        n_params=sum(p.numel() for p in trainer.setup.model.parameters()),
        train_flops=trainer.flops_per_epoch * st.epoch,
        val_rel_l2=val,
        compute_seconds=st.compute_seconds * (1 if trainer.setup.dist is None else trainer.setup.dist.world),
    )


def save_outputs(trainer: Trainer, result: RunResult, out: Path) -> None:
    """``checkpoint.pt`` (weights, normalisers, config, result) and ``result.json``, atomically
    (rank 0 of a data-parallel run writes; every rank calls it, for FSDP's collective gather)."""
    s = trainer.setup
    model = trainer.model_state()
    if s.dist is not None and not s.dist.is_main:
        return
    ckpt = {"model": model, "config": trainer.cfg.to_dict(), "result": asdict(result)}
    if s.x_normalizer:
        ckpt["x_normalizer"], ckpt["y_normalizer"] = s.x_normalizer.state_dict(), s.y_normalizer.state_dict()
    atomic_write(out / "checkpoint.pt", lambda tmp: torch.save(ckpt, tmp))
    atomic_write(out / "result.json", json.dumps(asdict(result), indent=1))


def make_trainer(
    cfg: RunConfig,
    out_dir: str | Path | None = None,
    data: Datasets | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    validate_each_epoch: bool = False,
    dist: Distributed | None = None,
) -> Trainer:
    """A :class:`~muop.training.trainer.Trainer` for ``cfg`` with the standard callbacks, resumed from
    ``out_dir/state.pt`` when there is one (see the module docstring). Its wall clock starts here.
    ``on_epoch`` gets each epoch's record; with ``validate_each_epoch`` it includes the validation
    error (an evaluation per epoch, e.g. for early stopping). ``dist``: this process's place in a
    data-parallel run (:func:`muop.training.distributed.from_env` under ``torchrun``); only rank 0 writes
    files and reports epochs. Nothing is written before the model is built. With ``out_dir`` the
    trainer holds the directory's lock (:class:`~muop.utils.locks.RunDirLock`) from the moment its
    model is built: a second command on the same directory is refused then, before it reads or writes
    anything there, naming this one; the lock is let go if this function fails after taking it."""
    t0 = time.perf_counter()
    check_precision(cfg.train.precision, resolve_device(cfg.train.device))  # before any data is made
    main = dist is None or dist.is_main
    data = data or prepare_data(cfg.data)
    callbacks: list = [DivergenceStop(cfg.train.diverge_factor)]
    out = Path(out_dir) if out_dir is not None else None
    if out and main:
        callbacks.append(MetricsLog(out))
    if on_epoch:  # on every rank: its validation is a collective under FSDP
        callbacks.append(EpochHook(on_epoch if main else None, validate=validate_each_epoch))
    if out:
        callbacks.append(Checkpoint(out, cfg.train.checkpoint_every, cfg.identity()))
    trainer = Trainer(cfg, data, callbacks=callbacks, started=t0, dist=dist)
    if out and main:  # one writer per run directory, until complete() has saved the outputs
        trainer.run_lock = RunDirLock(out, "--out").acquire()
    try:
        if out:
            state = load_training_state(out, cfg.identities())
            if state is not None:
                trainer.load_state_dict(state)
            if main:
                out.mkdir(parents=True, exist_ok=True)
                (out / "config.yaml").write_text(cfg.to_yaml())
    except BaseException:  # a state of another config, an unwritable file: let the directory go again
        if trainer.run_lock is not None:
            trainer.run_lock.release()
        raise
    return trainer


def complete(trainer: Trainer, out_dir: str | Path | None = None) -> RunResult:
    """Fit ``trainer``, evaluate it, and with ``out_dir`` save ``checkpoint.pt`` and ``result.json``;
    then let go of the run directory's lock (:func:`make_trainer` took it). In a data-parallel run
    whose other process died, :class:`~muop.training.distributed.PeerLost` (one line)."""
    d = trainer.setup.dist
    try:
        trainer.fit()
        result = result_of(trainer)
        if out_dir is not None:
            save_outputs(trainer, result, Path(out_dir))
    except RuntimeError as e:
        if d is None or isinstance(e, PeerLost) or not peer_lost(e):
            raise
        raise PeerLost(
            f"process {d.rank} of {d.world}: another process of this run is gone ({str(e).splitlines()[0][:160]}); "
            "run the command again to resume from the last checkpoint"
        ) from None
    finally:
        if trainer.run_lock is not None:
            trainer.run_lock.release()
    return result


def train_run(
    cfg: RunConfig,
    out_dir: str | Path | None = None,
    data: Datasets | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    validate_each_epoch: bool = False,
    dist: Distributed | None = None,
) -> RunResult:
    """Train one model as ``cfg`` says; returns a :class:`RunResult`.

    ``data`` skips loading when the caller already holds it. ``on_epoch`` receives each epoch's
    record (see :class:`muop.training.callbacks.EpochHook`), e.g. for a progress bar, or with
    ``validate_each_epoch`` to report the validation error to an early-stopping scheduler.
    """
    return complete(make_trainer(cfg, out_dir, data, on_epoch, validate_each_epoch, dist), out_dir)
