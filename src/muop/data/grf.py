"""Gaussian random fields: periodic (Fourier series) and Neumann (cosine series).

A periodic field on the torus with covariance operator C, where C e_k = v(k) e_k for the Fourier
modes e_k, is ``u = Re( sum_k sqrt(v(k)) (ξ_k + i η_k) e^{i k·x} )`` with independent standard
normals ξ, η: then ``E[u(x) u(y)] = sum_k v(k) e^{i k·(x-y)}`` exactly and each discrete Fourier
coefficient has ``E|û_k|² = v(k)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["periodic_grf", "neumann_grf", "wavenumbers"]


def wavenumbers(size: int, dim: int, length: float, device=None, dtype=torch.float64) -> Tensor:
    """Angular wavenumbers 2πk/L on a ``size``^dim periodic grid, shape (dim, size, ..., size)."""
    k1 = torch.fft.fftfreq(size, d=1.0 / size, device=device, dtype=dtype) * (2 * math.pi / length)
    return torch.stack(torch.meshgrid(*([k1] * dim), indexing="ij"))


def periodic_grf(
    n: int,
    size: int,
    dim: int,
    variance: Callable[[Tensor], Tensor],
    generator: torch.Generator,
    length: float = 1.0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """``n`` samples of a periodic GRF on ``size``^dim points of [0, length)^dim.

    Args:
        variance: v(|κ|²) for the angular wavenumber κ = 2πk/L (a function of a tensor of |κ|²).
    Returns:
        (n, size, ..., size) in ``dtype``.
    """
    ks = wavenumbers(size, dim, length, device=device)
    v = variance((ks**2).sum(0)).clamp_min(0)
    shape = (n, *([size] * dim))
    xi = torch.randn(shape, generator=generator, dtype=torch.float64, device=device)
    eta = torch.randn(shape, generator=generator, dtype=torch.float64, device=device)
    coef = torch.complex(xi, eta) * v.sqrt()
    u = torch.fft.ifftn(coef, dim=tuple(range(1, dim + 1)), norm="forward").real
    return u.to(dtype)


def neumann_grf(
    n: int,
    points: Tensor,
    variance: Callable[[Tensor], Tensor],
    generator: torch.Generator,
    n_modes: int | None = None,
    zero_mean: bool = True,
) -> Tensor:
    """``n`` samples of a 2-D GRF on [0,1]² in the cosine basis ``cos(πk₁x) cos(πk₂y)``, k ≥ 0.

    ``u = sum_k sqrt(v(π²|k|²)) ξ_k cos(πk₁x) cos(πk₂y)`` evaluated at the 1-D ``points`` in each
    dim (a tensor product grid). ``zero_mean`` drops the k = (0, 0) term. Returns (n, p, p) float64.
    """
    p = points.numel()
    m = n_modes or p
    k = torch.arange(m, dtype=torch.float64)
    basis = torch.cos(math.pi * points.to(torch.float64)[:, None] * k[None, :])  # (p, m)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    sd = variance(math.pi**2 * k2).clamp_min(0).sqrt()
    if zero_mean:
        sd[0, 0] = 0.0
    xi = torch.randn(n, m, m, generator=generator, dtype=torch.float64) * sd
    return basis @ xi @ basis.T
