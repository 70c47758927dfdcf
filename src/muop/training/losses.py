"""Losses and metrics, in physical units.

:func:`rel_l2` is the relative L2 error *averaged over samples* (not summed, unlike
neuraloperator's ``LpLoss`` default): ``mean_b ||pred_b - target_b||_2 / ||target_b||_2``, where
each norm runs over channels and grid points. It is dimensionless and resolution-independent
on uniform grids, so numbers at different resolutions compare directly.
"""

from __future__ import annotations

from torch import Tensor

from ..errors import UsageError

__all__ = ["rel_l2"]


def rel_l2(pred: Tensor, target: Tensor, eps: float = 1e-12) -> Tensor:
    """Mean over the batch of ``||pred - target|| / ||target||``; shapes (B, ...) equal. Returns a scalar."""
    if pred.shape != target.shape:
        raise UsageError(f"pred shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    diff = (pred - target).flatten(1).norm(dim=1)
    return (diff / target.flatten(1).norm(dim=1).clamp_min(eps)).mean()
