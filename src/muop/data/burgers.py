"""1-D viscous Burgers: ``u_t + (u²/2)_x = ν u_xx`` on the periodic interval (0, 2π); map u0 ↦ u(T).

Pseudo-spectral in space with 2/3-rule dealiasing of the nonlinear term, ETDRK4 in time
(Cox & Matthews 2002, with Kassam & Trefethen's 2005 contour-integral coefficients). The initial
condition is a GRF with Fourier-coefficient variance ``σ²(k² + τ²)^(-α)`` for integer k (the FNO
paper, Li et al., ICLR 2021: 625 (k² + 25)^-2, which we read on (0, 2π); read on (0, 1) the same
formula gives almost constant fields).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import UsageError
from .grf import periodic_grf

__all__ = ["BurgersParams", "burgers_initial", "burgers_solve", "burgers_generate"]


@dataclass(frozen=True)
class BurgersParams:
    """Physical and solver parameters (lengths in units of the domain (0, L))."""

    nu: float = 0.1
    T: float = 1.0
    length: float = 2 * math.pi
    grf_sigma2: float = 625.0
    grf_tau2: float = 25.0
    grf_alpha: float = 2.0
    dt: float = 2e-3  # ETDRK4 error vs dt = 1e-4: ~2e-6 max (float64, s = 1024)
    dealias: bool = True

    def __post_init__(self) -> None:
        for f in ("nu", "T", "length", "dt", "grf_sigma2", "grf_tau2"):
            if not getattr(self, f) > 0:
                raise UsageError(f"{f}={getattr(self, f)}: expected a positive number")


def burgers_initial(
    n: int, size: int, p: BurgersParams, generator: torch.Generator, dtype=torch.float32, device=None
) -> Tensor:
    """(n, size) GRF initial conditions on the grid x_j = j L / size."""
    scale = 2 * math.pi / p.length  # κ = 2πk/L -> integer k = κ / scale
    return periodic_grf(
        n,
        size,
        1,
        lambda kap2: p.grf_sigma2 * (kap2 / scale**2 + p.grf_tau2) ** (-p.grf_alpha),
        generator,
        p.length,
        dtype,
        device,
    )


def _etdrk4_coefficients(lin: Tensor, dt: float, m: int = 32) -> tuple[Tensor, ...]:
    """Kassam–Trefethen coefficients for a diagonal linear operator ``lin`` (complex, float64)."""
    E, E2 = torch.exp(dt * lin), torch.exp(dt * lin / 2)
    r = torch.exp(1j * math.pi * (torch.arange(1, m + 1, dtype=torch.float64) - 0.5) / m)
    LR = dt * lin[:, None] + r[None, :]
    Q = dt * ((torch.exp(LR / 2) - 1) / LR).mean(1).real
    f1 = dt * ((-4 - LR + torch.exp(LR) * (4 - 3 * LR + LR**2)) / LR**3).mean(1).real
    f2 = dt * ((2 + LR + torch.exp(LR) * (-2 + LR)) / LR**3).mean(1).real
    f3 = dt * ((-4 - 3 * LR - LR**2 + torch.exp(LR) * (4 - LR)) / LR**3).mean(1).real
    return E, E2, Q, f1, f2, f3


def burgers_solve(u0: Tensor, p: BurgersParams) -> Tensor:
    """Evolve (n, size) initial data to time T. Works in u0's dtype and device.

    With ``dealias`` (the default) the state keeps the modes |k| < size/3 (the 2/3 rule): products of
    two such fields computed on the ``size`` grid are then alias-free in the kept band. The dropped
    modes of u0 would decay like exp(-ν k² t) anyway (for ν = 0.1, s = 1024 below 1e-300 by t = 0.1).
    """
    n, size = u0.shape
    real = u0.dtype
    cplx = torch.complex128 if real == torch.float64 else torch.complex64
    kc = (size + 2) // 3 if p.dealias else size // 2 + 1  # number of kept rfft modes
    k = torch.fft.rfftfreq(size, d=1.0 / size, dtype=torch.float64)[:kc] * (2 * math.pi / p.length)
    lin = (-p.nu * k**2).to(torch.complex128)
    steps = max(1, math.ceil(p.T / p.dt - 1e-9))
    dt = p.T / steps
    E, E2, Q, f1, f2, f3 = (c.to(device=u0.device, dtype=cplx) for c in _etdrk4_coefficients(lin, dt))
    g = (-0.5j * k).to(device=u0.device, dtype=cplx)  # N(v) = -(1/2) i k FFT(u²)
    Qg, f1g, f2g, f3g = Q * g, f1 * g, 2 * f2 * g, f3 * g  # fold the derivative into the coefficients

    def sq(vh: Tensor) -> Tensor:  # FFT(u²) on the kept modes
        u = torch.fft.irfft(vh, n=size)
        return torch.fft.rfft(u * u)[:, :kc]

    v = torch.fft.rfft(u0)[:, :kc]
    for _ in range(steps):
        Nv = sq(v)
        a = E2 * v + Qg * Nv
        Na = sq(a)
        b = E2 * v + Qg * Na
        Nb = sq(b)
        c = E2 * a + Qg * (2 * Nb - Nv)
        Nc = sq(c)
        v = E * v + f1g * Nv + f2g * (Na + Nb) + f3g * Nc
    return torch.fft.irfft(v, n=size).to(real)


def burgers_generate(
    n: int, size: int, p: BurgersParams, generator: torch.Generator, dtype=torch.float32, device=None
) -> tuple[Tensor, Tensor]:
    """(u0, u(T)), each (n, size)."""
    u0 = burgers_initial(n, size, p, generator, dtype, device)
    return u0, burgers_solve(u0, p)
