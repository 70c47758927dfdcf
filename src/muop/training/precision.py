"""Mixed precision for one run: autocast around the forward pass, and float16's gradient scaler.

``train.precision`` (:data:`muop.config.PRECISIONS`):

* ``fp32``: everything in float32 (no autocast); the default, and what every recorded run used;
* ``bf16``: the forward pass under ``torch.autocast(dtype=torch.bfloat16)``;
* ``fp16``: the same in float16, with a :class:`torch.amp.GradScaler` that multiplies the loss
  before backward and skips the optimizer step when a gradient is inf or NaN (then lowers the scale).

What runs in low precision: the pointwise maps (lifting, per-layer W, channel MLPs, projection) and
the activations between them. What stays float32: every spectral convolution, FFTs and per-mode
contraction (:meth:`muop.models.SpectralConv.forward` turns autocast off inside and computes in
complex64), the parameters, their gradients and the optimizer state, the normalisers and the loss
(the prediction is cast to float32 before it is decoded).

μP is untouched by autocast: forward multipliers live on the modules and per-parameter learning
rates in the optimizer's param groups; :func:`muop.training.distributed.check_plan` verifies both
after the model is wrapped or compiled.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable

import torch

from ..config import PRECISIONS
from ..errors import ConfigError

__all__ = ["DTYPES", "Precision", "check_precision", "autocast_dtype"]

#: The autocast dtype of each ``train.precision`` (None: no autocast).
DTYPES: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
assert tuple(DTYPES) == PRECISIONS


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The dtype ``precision`` autocasts to (None for ``fp32``); a ConfigError for an unknown name."""
    if precision not in DTYPES:
        raise ConfigError(f"train.precision={precision!r}: expected one of {', '.join(PRECISIONS)}")
    return DTYPES[precision]


def check_precision(precision: str, device: torch.device) -> None:
    """A one-line ConfigError unless ``device`` can train in ``precision`` with this torch:
    autocast to the dtype works there (a matrix product comes out in it), bf16 on a GPU that has
    it, and for fp16 a gradient scaler for the device type exists."""
    dtype = autocast_dtype(precision)
    if dtype is None:
        return
    name = f"train.precision={precision}"
    if device.type == "cuda" and precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise ConfigError(f"{name}: {torch.cuda.get_device_name(device)} has no bfloat16; use fp16 or fp32")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an unsupported dtype only warns and disables autocast
            with torch.autocast(device.type, dtype=dtype):
                ok = torch.mm(torch.ones(2, 2, device=device), torch.ones(2, 2, device=device)).dtype == dtype
            if precision == "fp16":
                torch.amp.GradScaler(device.type)
    except (RuntimeError, AttributeError, TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(
            f"{name}: this torch {torch.__version__} cannot autocast to {str(dtype).removeprefix('torch.')} "
            f"{'with a gradient scaler ' if precision == 'fp16' else ''}on {device.type}; use "
            f"{'bf16 or ' if precision == 'fp16' else ''}fp32"
        )


class Precision:
    """The autocast context and, for ``fp16``, the gradient scaler of one run on ``device``.

    ``skipped_steps`` counts the optimizer steps the scaler skipped (inf/NaN gradients).
    """

    def __init__(self, precision: str = "fp32", device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        check_precision(precision, self.device)
        self.name, self.dtype = precision, DTYPES[precision]
        self.scaler = torch.amp.GradScaler(self.device.type) if precision == "fp16" else None
        self.skipped_steps = 0

    def autocast(self) -> contextlib.AbstractContextManager:
        """The context to run the forward pass in (does nothing for ``fp32``)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def step(
        self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, clip: Callable[[], None] | None = None
    ) -> bool:
        """Backward of ``loss`` (a float32 scalar) and one ``optimizer`` step; ``clip`` (if any)
        clips the gradients in place before the step, in true (unscaled) units. Returns whether the
        step was taken: under ``fp16`` the scaler skips it when a gradient is inf or NaN."""
        if self.scaler is None:
            loss.backward()
            if clip is not None:
                clip()
            optimizer.step()
            return True
        self.scaler.scale(loss).backward()
        if clip is not None:
            self.scaler.unscale_(optimizer)
            clip()
        before = self.scaler.get_scale()
        self.scaler.step(optimizer)
        self.scaler.update()
        taken = self.scaler.get_scale() >= before  # the scale only drops after a skipped step
        self.skipped_steps += not taken
        return taken

    def state_dict(self) -> dict:
        """The scaler's state (None without one) and the skipped steps: part of a resumable state."""
        return {"scaler": None if self.scaler is None else self.scaler.state_dict(), "skipped": self.skipped_steps}

    def load_state_dict(self, d: dict | None) -> None:
        """Resume from :meth:`state_dict` (None, from a state saved before precision existed: nothing)."""
        if not d:
            return
        if self.scaler is not None and d.get("scaler"):
            self.scaler.load_state_dict(d["scaler"])
        self.skipped_steps = int(d.get("skipped", 0))
