"""2-D incompressible Navier–Stokes in vorticity form on the unit torus.

The FNO paper's benchmark (Li et al., ICLR 2021).

``w_t + u·∇w = ν Δw + f``, ``u = ∇^⊥ψ = (ψ_y, -ψ_x)``, ``-Δψ = w``, with the FNO forcing
``f = 0.1 (sin 2π(x+y) + cos 2π(x+y))`` and initial vorticity a zero-mean GRF with spectrum
``2 σ² (4π²|k|² + τ²)^(-α)`` per mode, ``σ² = τ^(2α-2)``, τ = 7, α = 2.5, as in the FNO data
generator (std ≈ 0.27 at 64²).
Pseudo-spectral: stream function from Poisson, nonlinear term in physical space with 2/3-rule
dealiasing, Crank–Nicolson for the viscous term and Heun (explicit trapezoid) for advection and
forcing. Frames are recorded every ``record_every`` time units, starting with w0 at t = 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import UsageError
from .grf import periodic_grf

__all__ = ["NSParams", "ns_initial", "ns_solve", "ns_generate", "fno_forcing"]


@dataclass(frozen=True)
class NSParams:
    """Physical and solver parameters (time in the units of T)."""

    nu: float = 1e-3
    T: float = 20.0
    dt: float = 1e-2
    record_every: float = 1.0
    grf_tau: float = 7.0
    grf_alpha: float = 2.5
    forcing: bool = True

    def __post_init__(self) -> None:
        for f in ("nu", "T", "dt", "record_every", "grf_tau", "grf_alpha"):
            if not getattr(self, f) > 0:
                raise UsageError(f"{f}={getattr(self, f)}: expected a positive number")
        ratio = self.record_every / self.dt
        if abs(ratio - round(ratio)) > 1e-6:
            raise UsageError(f"record_every={self.record_every} must be a multiple of dt={self.dt}")

    @property
    def n_frames(self) -> int:
        """Frames stored, including t = 0."""
        return int(round(self.T / self.record_every)) + 1


def fno_forcing(size: int, dtype=torch.float64, device=None) -> Tensor:
    """``0.1 (sin 2π(x+y) + cos 2π(x+y))`` on the size² grid x_j = j/size."""
    t = torch.arange(size, dtype=torch.float64, device=device) / size
    x, y = torch.meshgrid(t, t, indexing="ij")
    return (0.1 * (torch.sin(2 * math.pi * (x + y)) + torch.cos(2 * math.pi * (x + y)))).to(dtype)


def ns_initial(n: int, size: int, p: NSParams, generator: torch.Generator, dtype=torch.float32, device=None) -> Tensor:
    """(n, size, size) zero-mean GRF initial vorticity."""
    sigma2 = 2 * p.grf_tau ** (2 * p.grf_alpha - 2)  # the FNO generator's normalisation

    def var(kap2: Tensor) -> Tensor:
        v = sigma2 * (kap2 + p.grf_tau**2) ** (-p.grf_alpha)
        return torch.where(kap2 == 0, torch.zeros_like(v), v)

    return periodic_grf(n, size, 2, var, generator, 1.0, dtype, device)


def ns_solve(w0: Tensor, p: NSParams, progress: Callable[[int, int], None] | None = None) -> Tensor:
    """Evolve (n, s, s) vorticity; returns frames (n, n_frames, s, s) at t = 0, record_every, ..., T."""
    n, s, _ = w0.shape
    real = w0.dtype
    dev = w0.device
    ky1 = torch.fft.rfftfreq(s, d=1.0 / s, dtype=torch.float64, device=dev)
    kx1 = torch.fft.fftfreq(s, d=1.0 / s, dtype=torch.float64, device=dev)
    kx, ky = torch.meshgrid(kx1, ky1, indexing="ij")
    lap = 4 * math.pi**2 * (kx**2 + ky**2)  # -Δ symbol
    inv_lap = torch.where(lap > 0, 1.0 / torch.where(lap > 0, lap, 1.0), 0.0)
    keep = ((kx.abs() <= s / 3) & (ky.abs() <= s / 3)).to(real)
    cdt = torch.complex128 if real == torch.float64 else torch.complex64
    dx, dy = 2j * math.pi * kx, 2j * math.pi * ky
    # u = ψ_y, v = -ψ_x, ψ = w / (4π²|k|²): the four fields of u·∇w from one batched inverse FFT
    ops = torch.stack([dy * inv_lap, -dx * inv_lap, dx, dy]).to(cdt)  # (4, s, s//2+1)
    keep = keep.to(real)
    lap_r = lap.to(real)
    f_h = torch.fft.rfft2(fno_forcing(s, real, dev)) if p.forcing else torch.zeros(s, s // 2 + 1, dtype=cdt, device=dev)

    steps_per_frame = int(round(p.record_every / p.dt))
    n_steps = steps_per_frame * (p.n_frames - 1)
    dt = p.dt
    a_plus = 1.0 / (1.0 + 0.5 * dt * p.nu * lap_r)
    a_minus = 1.0 - 0.5 * dt * p.nu * lap_r

    def rhs(wh: Tensor) -> Tensor:
        """Explicit part: f - u·∇w (dealiased), in Fourier space."""
        # four separate inverse FFTs: one batched call over a leading dim of 4 was 2x slower on CPU
        u, v, wx, wy = (torch.fft.irfft2(op * wh, s=(s, s)) for op in ops)
        return f_h - torch.fft.rfft2(torch.addcmul(u * wx, v, wy)) * keep

    wh = torch.fft.rfft2(w0)
    frames = [w0]
    for step in range(1, n_steps + 1):
        r0 = rhs(wh)
        w_pred = (a_minus * wh + dt * r0) * a_plus
        wh = (a_minus * wh + 0.5 * dt * (r0 + rhs(w_pred))) * a_plus
        if step % steps_per_frame == 0:
            frames.append(torch.fft.irfft2(wh, s=(s, s)))
            if progress:
                progress(step, n_steps)
    return torch.stack(frames, dim=1).to(real)


def ns_generate(n: int, size: int, p: NSParams, generator: torch.Generator, dtype=torch.float32, device=None) -> Tensor:
    """(n, n_frames, size, size) vorticity trajectories."""
    return ns_solve(ns_initial(n, size, p, generator, dtype, device), p)
