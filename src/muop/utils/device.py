"""Torch devices: check that this machine has the one asked for (the solvers' and the trainer's)."""

from __future__ import annotations

import torch

from ..errors import UsageError

__all__ = ["check_device"]


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
