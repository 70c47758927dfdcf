"""Where a run trains and whether it fits: the device, the memory a model needs, torch's threads."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..errors import ConfigError, UsageError
from ..models import FNO, FNOConfig
from ..utils.device import available_memory, check_device

__all__ = ["resolve_device", "available_memory", "memory_estimate", "check_memory", "set_threads"]


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda``, ``cuda:N``, or ``auto`` (CUDA when available, else CPU); a device this
    machine does not have is a one-line error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return check_device(name)
    except UsageError as e:
        raise UsageError(f"train.{e}; or use auto") from None


def memory_estimate(fcfg: FNOConfig, grid: Sequence[int], batch: int, checkpointed: bool = False) -> tuple[int, int]:
    """(parameters, bytes) a training run needs, roughly: float32 weights, gradients and two Adam
    moments per parameter, plus about 8 saved activations of (batch, width, *grid) per layer (with
    ``checkpointed`` layers: one per layer, plus one layer's 8 while it is recomputed)."""
    try:
        with torch.device("meta"):  # shapes only: nothing is allocated
            n = sum(p.numel() for p in FNO(fcfg).parameters())
    except (RuntimeError, TypeError):  # a size past 2^63 (TypeError: one dimension): spectral and projection weights
        n = fcfg.depth * fcfg.width**2 * 2 * math.prod(2 * k for k in fcfg.modes)
        n += 2 * fcfg.width * max(1, round(fcfg.projection_ratio * fcfg.width))
    per_layer = (fcfg.depth + 8) if checkpointed else 8 * fcfg.depth
    acts = batch * max(fcfg.width, 1) * math.prod(grid) * (per_layer + 4)
    return n, 4 * (4 * n + acts)


def check_memory(
    fcfg: FNOConfig, grid: Sequence[int], batch: int, device: torch.device, checkpointed: bool = False
) -> None:
    """A ConfigError, before anything is allocated, if the run clearly cannot fit ``device``."""
    n, need = memory_estimate(fcfg, grid, batch, checkpointed)
    free = available_memory(device)
    if need > free:
        raise ConfigError(
            f"model.width={fcfg.width}, model.modes={list(fcfg.modes)}, model.depth={fcfg.depth}: training needs about "
            f"{need / 2**30:.3g} GiB ({n:,} parameters with gradients and Adam state, activations of a batch of "
            f"{batch} "
            f"on a {'x'.join(map(str, grid))} grid), more than the {free / 2**30:.3g} GiB available on {device}"
        )


def set_threads(n: int) -> None:
    """Use ``n`` torch threads in this process (a worker process's share of the cores)."""
    torch.set_num_threads(int(n))
