"""Torch devices: check that this machine has the one asked for, and how much memory it has free."""

from __future__ import annotations

import os

import torch

from ..errors import UsageError

__all__ = ["check_device", "available_memory"]


def check_device(device: str | torch.device) -> torch.device:
    """``device`` as a ``torch.device`` that this machine has; one-line ValueError otherwise."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise UsageError(
            f"device={device!r}: expected a torch device such as 'cpu', 'cuda', 'cuda:1' or 'mps'"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(
            f"device={device!r}: CUDA is not available (this torch build or machine has no GPU); use 'cpu'"
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise UsageError(
            f"device={device!r}: this machine has {torch.cuda.device_count()} CUDA device(s), numbered from 0"
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise UsageError(f"device={device!r}: MPS is not available on this machine; use 'cpu'")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise UsageError(f"device={device!r}: expected 'cpu', 'cuda', 'cuda:N' or 'mps'")
    return dev


def available_memory(device: torch.device) -> int:
    """Bytes free for a new model on ``device``: CUDA's free memory, or the system's available RAM."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        return int(info["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
