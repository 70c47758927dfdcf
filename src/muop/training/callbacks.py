"""Callbacks of the :class:`~muop.training.trainer.Trainer`: what happens around the loop, one class each.

A callback sees the trainer at three moments: before the first epoch (``on_fit_start``), after
every epoch (``on_epoch_end``, in the order the callbacks were given) and after the last
(``on_fit_end``). It may read anything on the trainer and set ``trainer.state.stop`` to end the
fit after the current epoch. :func:`muop.training.run.train_run` composes the standard ones.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

import torch

from ..errors import StateError
from ..utils.atomic import atomic_write
from ..utils.lines import repair_tail

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ["Callback", "DivergenceStop", "MetricsLog", "Checkpoint", "EpochHook", "load_training_state"]


class Callback:
    """Base class; every hook does nothing unless overridden."""

    def on_fit_start(self, trainer: Trainer) -> None:
        """Before the first epoch of this session (after a resume: of the remaining ones)."""

    def on_epoch_end(self, trainer: Trainer) -> None:
        """After each epoch; ``trainer.state.train_loss`` is its mean loss (NaN if a batch diverged)."""

    def on_fit_end(self, trainer: Trainer) -> None:
        """After the last epoch, or after a callback stopped the fit."""


class DivergenceStop(Callback):
    """Early stopping on divergence: a non-finite loss, or a loss above ``factor`` × the first epoch's.

    The run is then marked ``diverged`` (recorded, not raised). Put it first: the callbacks after
    it see the verdict of the same epoch.
    """

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def on_epoch_end(self, trainer: Trainer) -> None:
        st = trainer.state
        loss = st.train_loss
        if math.isfinite(loss) and st.first_loss is None:
            st.first_loss = loss
        st.diverged = not math.isfinite(loss) or loss > self.factor * st.first_loss
        st.stop = st.stop or st.diverged


def _epoch_of(line: str) -> int:
    try:
        return int(json.loads(line)["epoch"])
    except (ValueError, KeyError, TypeError):
        return 1 << 30  # a line cut by a kill: dropped


class MetricsLog(Callback):
    """``out/metrics.jsonl``: one line per epoch (epoch, train_loss, lr, diverged, seconds; under fp16
    also skipped_steps, the optimizer steps the gradient scaler skipped so far).

    On a resumed run, lines of epochs after the resumed state (written before a kill) are dropped:
    those epochs are trained again. A torn last line is kept in a backup (:func:`muop.utils.lines.repair_tail`).
    """

    def __init__(self, out: str | Path) -> None:
        self.path = Path(out) / "metrics.jsonl"
        self._file: IO[str] | None = None

    def on_fit_start(self, trainer: Trainer) -> None:
        epoch = trainer.state.epoch
        lines = []
        if epoch and self.path.exists():
            repair_tail(self.path)  # a line cut by a kill goes to a backup, with a warning
            lines = self.path.read_text().splitlines()
        atomic_write(self.path, "".join(ln + "\n" for ln in lines if _epoch_of(ln) <= epoch))
        self._file = self.path.open("a")

    def on_epoch_end(self, trainer: Trainer) -> None:
        st = trainer.state
        rec = {
            "epoch": st.epoch,
            "train_loss": st.train_loss,
            "lr": trainer.setup.optimizer.param_groups[0]["lr"],
            "diverged": st.diverged,
            "seconds": trainer.seconds,
        }
        if trainer.setup.precision.scaler is not None:  # fp16: steps skipped for inf/NaN gradients so far
            rec["skipped_steps"] = trainer.setup.precision.skipped_steps
        self._file.write(json.dumps(rec) + "\n")
        self._file.flush()

    def on_fit_end(self, trainer: Trainer) -> None:
        if self._file:
            self._file.close()


def load_training_state(out: str | Path, idents: set[str]) -> dict | None:
    """The resumable state in ``out/state.pt`` (weights-only load), or None; refuses a state whose
    config identity is not among ``idents`` (see :meth:`muop.config.RunConfig.identities`)."""
    path = Path(out) / "state.pt"
    if not path.exists():
        return None
    try:
        st = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - truncated, garbage or not a weights-only file
        raise StateError(
            f"{path} cannot be read ({type(e).__name__}); delete it to start this run over, or use another output "
            "directory"
        ) from None
    if not isinstance(st, dict):
        raise StateError(
            f"{path} is not a muop training state; delete it to start this run over, or use another output directory"
        )
    if st.get("config_hash") not in idents:
        raise StateError(
            f"{path} holds the training state of another config; use another output directory (or delete it to start "
            "over)"
        )
    return st


class Checkpoint(Callback):
    """Every ``every`` epochs (and at the last), the full training state to ``out/state.pt``, atomically.

    ``ident`` (the config's hash) is stored with it, so :func:`load_training_state` refuses the
    state of another config. Diverged epochs are not saved. In a data-parallel run every rank
    takes part (FSDP gathers the state collectively) and rank 0 writes.
    """

    def __init__(self, out: str | Path, every: int, ident: str) -> None:
        self.path, self.every, self.ident = Path(out) / "state.pt", every, ident

    def on_epoch_end(self, trainer: Trainer) -> None:
        st = trainer.state
        if st.diverged or not self.every:
            return
        if st.epoch % self.every == 0 or st.epoch == trainer.cfg.train.epochs:
            state = {"config_hash": self.ident, **trainer.state_dict()}
            if trainer.setup.dist is None or trainer.setup.dist.is_main:
                atomic_write(self.path, lambda tmp: torch.save(state, tmp))


class EpochHook(Callback):
    """Calls ``fn(record)`` after each epoch with epoch, train_loss, val_rel_l2, diverged, seconds
    and train_flops (so far); e.g. to drive a progress bar, or with ``validate`` to report the
    validation error to an early-stopping scheduler (``val_rel_l2`` is None without ``validate``,
    without a validation split, or after divergence)."""

    def __init__(self, fn: Callable[[dict], None] | None, validate: bool = False) -> None:
        self.fn, self.validate = fn, validate  # fn None: validate only (the other ranks of a data-parallel run)

    def on_epoch_end(self, trainer: Trainer) -> None:
        st, val = trainer.state, trainer.data.val
        val_now = None if (st.diverged or val is None or not self.validate) else trainer.evaluate(val)
        if self.fn is not None:
            self.fn(
                {
                    "epoch": st.epoch,
                    "train_loss": st.train_loss,
                    "val_rel_l2": val_now,
                    "diverged": st.diverged,
                    "seconds": trainer.seconds,
                    "train_flops": trainer.flops_per_epoch * st.epoch,
                }
            )
