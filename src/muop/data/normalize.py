"""Per-channel normalisers, fit on training data only and saved with the model (a module with buffers)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import DataError

__all__ = ["ChannelNormalizer"]


class ChannelNormalizer(nn.Module):
    """``(x - mean_c) / std_c`` per channel c, statistics over samples and grid points.

    Buffers ``mean`` and ``std`` have shape (C,) and are part of ``state_dict``, so a checkpoint
    carries the normaliser it was trained with.
    """

    def __init__(self, channels: int, eps: float = 1e-8) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))
        self.eps = eps

    @classmethod
    def fit(cls, x: Tensor, eps: float = 1e-8) -> ChannelNormalizer:
        """Fit on training data x of shape (N, C, *grid)."""
        if x.dim() < 2:
            raise DataError(f"expected (N, C, *grid) data, got shape {tuple(x.shape)}")
        n = cls(x.shape[1], eps)
        xc = x.transpose(0, 1).reshape(x.shape[1], -1).double()
        n.mean.copy_(xc.mean(1))
        n.std.copy_(xc.std(1, unbiased=False))
        return n

    def _view(self, t: Tensor, x: Tensor) -> Tensor:
        return t.view(1, -1, *([1] * (x.dim() - 2))).to(x.dtype)

    def encode(self, x: Tensor) -> Tensor:
        """Physical units -> normalised."""
        return (x - self._view(self.mean, x)) / (self._view(self.std, x) + self.eps)

    def decode(self, z: Tensor) -> Tensor:
        """Normalised -> physical units."""
        return z * (self._view(self.std, z) + self.eps) + self._view(self.mean, z)
