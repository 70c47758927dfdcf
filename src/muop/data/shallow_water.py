"""Shallow-water equations on the rotating sphere; map the state at t to the state at t + Δt.

Vorticity-divergence form (Williamson et al. 1992, "A standard test set for numerical
approximations to the shallow water equations in spherical geometry", J. Comput. Phys. 102), in
spherical harmonics: the state is the geopotential φ = g h, the relative vorticity ζ and the
divergence δ,

    ∂ζ/∂t = -∇·((ζ + f) u),   ∂δ/∂t = k·∇×((ζ + f) u) - ∇²(φ + |u|²/2),   ∂φ/∂t = -∇·(φ u),

with f = 2Ω sin(latitude) and u recovered from (ζ, δ) by inverting the Laplacian. Products are
formed on the grid, derivatives taken with torch-harmonics' scalar and vector spherical harmonic
transforms (``RealSHT``, ``RealVectorSHT``; Bonev et al., ICML 2023, whose example solver this
follows, with classical RK4 in time instead of Adams-Bashforth; the step is at most ``step_seconds``
and at most half RK4's stability bound for the fastest gravity wave, :func:`stable_step_seconds`,
so fine grids stay stable; a non-finite result is a DataError). A 4th-order hyperdiffusion on ζ and
δ after each step damps the smallest scales (e-folding time ``diffusion_hours`` at the top degree).

Mass is ∫φ dA/g, the (0, 0) spherical-harmonic coefficient of φ: its tendency is -∇·(φu), whose
(0, 0) coefficient is 0, so mass is conserved to round-off (tests/test_data_shallow_water.py).

Grid: equiangular, ``s`` latitudes by ``2s`` longitudes (torch-harmonics' Clenshaw-Curtis
quadrature). Initial states: random ζ and φ perturbations with spherical-harmonic coefficients of
variance ∝ 1/(l(l+1)) below degree ``cutoff · lmax`` (torch-harmonics' random initial condition,
with a cutoff), velocities of Mach number ``mach`` relative to sqrt(g h̄), and δ = 0.
Samples are stored dimensionless: ((φ - g h̄) / (g h_amp), ζ a / sqrt(g h̄), δ a / sqrt(g h̄)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import DataError, UsageError

__all__ = [
    "ShallowWaterParams",
    "ShallowWater",
    "shallow_water_generate",
    "stable_step_seconds",
    "step_count",
    "STEP_SAFETY",
]

#: RK4 is stable for oscillations e^{iωt} while |ω dt| <= 2 sqrt(2) (its stability region on the
#: imaginary axis); the step is at most this fraction of that bound, for the fastest gravity wave.
#: The margin (2x) covers Doppler shifts of flows up to the gravity-wave speed (the default flows are
#: Mach 0.2) and the Coriolis term.
STEP_SAFETY = 0.5
RK4_IMAGINARY_BOUND = 2 * math.sqrt(2)


def stable_step_seconds(p: ShallowWaterParams, lmax: int) -> float:
    """The largest RK4 step (s) kept for ``lmax`` spherical-harmonic degrees: ``STEP_SAFETY * 2 sqrt(2) / ω``
    with ω = sqrt(g h̄) lmax / a, the frequency (1/s) of the fastest gravity wave (degree ~ lmax)."""
    omega = math.sqrt(p.gravity * p.havg) * lmax / p.radius
    return STEP_SAFETY * RK4_IMAGINARY_BOUND / omega


def step_count(p: ShallowWaterParams, lmax: int) -> int:
    """RK4 steps per output interval Δt: the fewest whose length is at most ``step_seconds`` and
    :func:`stable_step_seconds` (an integer number, so Δt is exact)."""
    return max(1, math.ceil(p.delta_t_hours * 3600 / min(p.step_seconds, stable_step_seconds(p, lmax))))


@dataclass(frozen=True)
class ShallowWaterParams:
    """Physical (SI, Earth by default) and solver parameters."""

    delta_t_hours: float = 1.0  # Δt of the map t -> t + Δt
    step_seconds: float = 300.0  # RK4 step, at most; smaller where stability needs it (stable_step_seconds)
    mach: float = 0.2
    cutoff: float = 0.25  # random coefficients below degree cutoff * lmax
    hamp: float = 120.0  # m, amplitude of the height perturbation
    havg: float = 1.0e4  # m, mean height
    radius: float = 6.37122e6  # m
    omega: float = 7.292e-5  # 1/s
    gravity: float = 9.80616  # m/s^2
    diffusion_hours: float = 1.0  # hyperdiffusion e-folding time at the top degree

    def __post_init__(self) -> None:
        for f in ("delta_t_hours", "step_seconds", "hamp", "havg", "radius", "gravity", "diffusion_hours"):
            if not getattr(self, f) > 0:
                raise UsageError(f"{f}={getattr(self, f)}: expected a positive number")
        if not 0 < self.cutoff <= 1:
            raise UsageError(f"cutoff={self.cutoff}: expected a number in (0, 1]")
        if not self.mach >= 0 or not self.omega >= 0:
            raise UsageError(f"mach={self.mach}, omega={self.omega}: expected non-negative numbers")


class ShallowWater:
    """The spectral solver on an ``nlat`` x ``2 nlat`` equiangular grid (float64).

    States are spectral coefficients (batch, 3, lmax, mmax) of (φ, ζ, δ), complex128.
    """

    def __init__(self, nlat: int, p: ShallowWaterParams, device: str | torch.device = "cpu"):
        try:
            import torch_harmonics as th
        except ImportError:
            raise UsageError("shallow-water needs torch-harmonics: pip install 'muop[sphere]'") from None
        if nlat < 4:
            raise UsageError(f"resolution={nlat}: expected at least 4 latitudes")
        self.p, self.nlat, self.nlon = p, nlat, 2 * nlat
        kw = dict(grid="equiangular", csphase=False)
        self.sht = th.RealSHT(nlat, self.nlon, **kw).to(device).double()
        self.isht = th.InverseRealSHT(nlat, self.nlon, **kw).to(device).double()
        self.vsht = th.RealVectorSHT(nlat, self.nlon, **kw).to(device).double()
        self.ivsht = th.InverseRealVectorSHT(nlat, self.nlon, **kw).to(device).double()
        self.lmax, self.mmax = self.sht.lmax, self.sht.mmax
        opt = dict(dtype=torch.float64, device=device)
        ell = torch.arange(self.lmax, **opt).reshape(-1, 1).expand(self.lmax, self.mmax)
        self.lap = -ell * (ell + 1) / p.radius**2
        self.invlap = torch.where(ell > 0, 1 / torch.where(ell > 0, self.lap, 1.0), 0.0)
        cost, w = th.quadrature.clenshaw_curtiss_weights(nlat, -1, 1)
        lats = -torch.arcsin(cost.to(**opt))
        self.coriolis = (2 * p.omega * torch.sin(lats)).reshape(-1, 1)
        self.area_weights = w.to(**opt).reshape(-1, 1) * (2 * math.pi / self.nlon) * p.radius**2
        self.steps = step_count(p, self.lmax)
        self.dt = p.delta_t_hours * 3600 / self.steps
        self.hyperdiff = torch.exp(-self.dt / (p.diffusion_hours * 3600) * (self.lap / self.lap[-1, 0]) ** 4)

    def velocity(self, vrtdiv: Tensor) -> Tensor:
        """(u, v) on the grid from spectral (ζ, δ): (..., 2, nlat, nlon)."""
        return self.ivsht(self.invlap * vrtdiv / self.p.radius)

    def _vrtdiv(self, uv: Tensor) -> Tensor:
        return self.lap * self.p.radius * self.vsht(uv)

    def tendency(self, spec: Tensor) -> Tensor:
        """d(φ, ζ, δ)/dt in spectral coefficients."""
        grid = self.isht(spec)
        uv = self.velocity(spec[:, 1:])
        flux = self._vrtdiv(uv * (grid[:, 1:2] + self.coriolis))
        mass = self._vrtdiv(uv * grid[:, 0:1])
        bern = self.sht(grid[:, 0] + 0.5 * (uv[:, 0] ** 2 + uv[:, 1] ** 2))
        return torch.stack((-mass[:, 1], -flux[:, 1], flux[:, 0] - self.lap * bern), dim=1)

    def step(self, spec: Tensor) -> Tensor:
        """One RK4 step of ``self.dt`` seconds, then hyperdiffusion on ζ and δ."""
        dt, f = self.dt, self.tendency
        k1 = f(spec)
        k2 = f(spec + 0.5 * dt * k1)
        k3 = f(spec + 0.5 * dt * k2)
        k4 = f(spec + dt * k3)
        out = spec + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return torch.cat((out[:, :1], out[:, 1:] * self.hyperdiff), dim=1)

    def advance(self, spec: Tensor) -> Tensor:
        """The state Δt = ``delta_t_hours`` later."""
        for _ in range(self.steps):
            spec = self.step(spec)
        return spec

    def initial(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` random initial states (spectral, see the module docstring)."""
        p, top = self.p, max(2, int(self.p.cutoff * self.lmax))
        ell = torch.arange(self.lmax, dtype=torch.float64).reshape(-1, 1)
        amp = torch.where((ell > 0) & (ell < top), (4 * math.pi / (ell * (ell + 1)).clamp(min=1)).sqrt(), 0.0)
        noise = torch.randn(n, 3, self.lmax, self.mmax, 2, generator=generator, dtype=torch.float64)
        spec = torch.tril(torch.view_as_complex(noise) * amp).to(self.lap.device)
        spec[:, 1] *= p.mach * math.sqrt(p.gravity * p.havg) / p.radius
        spec[:, 2] = 0.0  # no initial divergence: fewer fast gravity waves
        spec[:, 0] *= p.gravity * p.hamp
        spec[:, 0, 0, 0] = math.sqrt(4 * math.pi) * p.havg * p.gravity
        return spec

    def dimensionless(self, spec: Tensor) -> Tensor:
        """The stored fields on the grid, (n, 3, nlat, nlon) (see the module docstring)."""
        p, grid = self.p, self.isht(spec)
        scale = p.radius / math.sqrt(p.gravity * p.havg)
        return torch.stack(
            ((grid[:, 0] - p.gravity * p.havg) / (p.gravity * p.hamp), grid[:, 1] * scale, grid[:, 2] * scale), 1
        )

    def mass(self, spec: Tensor) -> Tensor:
        """Total mass ∫ h dA (per unit density, m^3) of each state, by quadrature on the grid."""
        return (self.isht(spec[:, 0]) * self.area_weights).sum((-2, -1)) / self.p.gravity

    def energy(self, spec: Tensor) -> Tensor:
        """Total energy ∫ (φ |u|²/2 + φ²/2) dA / g of each state (J per unit density)."""
        phi, uv = self.isht(spec[:, 0]), self.velocity(spec[:, 1:])
        dens = 0.5 * phi * (uv**2).sum(1) + 0.5 * phi**2
        return (dens * self.area_weights).sum((-2, -1)) / self.p.gravity


def shallow_water_generate(
    p: ShallowWaterParams, n: int, s: int, g: torch.Generator, workers: int, dtype, device
) -> tuple[Tensor, Tensor]:
    """``n`` pairs (state at t, state at t + Δt), each (n, 3, s, 2s) dimensionless, in ``dtype``.
    ``workers`` is unused: the whole chunk is one batched solve."""
    solver = ShallowWater(s, p, device)
    u0 = solver.initial(n, g)
    x, y = solver.dimensionless(u0), solver.dimensionless(solver.advance(u0))
    if not (x.isfinite().all() and y.isfinite().all()):
        raise DataError(
            f"shallow-water: the solve went non-finite at resolution={s} ({solver.steps} RK4 steps of {solver.dt:g} s "
            f"per delta_t_hours={p.delta_t_hours}, mach={p.mach}, havg={p.havg}); lower step_seconds or mach"
        )
    return x.to(dtype), y.to(dtype)
