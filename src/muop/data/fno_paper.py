"""The FNO paper's benchmarks (Li et al., ICLR 2021) as named problems: ``fno-burgers``, ``fno-darcy``, ``fno-ns``.

From "Fourier Neural Operator for Parametric PDEs" (Li et al., ICLR 2021, §5); registered in
:mod:`muop.data.problems`. Each is the paper's setting, with its published test error beside it in
``docs/literature.md``:

* ``fno-burgers``: ``u_t + (u²/2)_x = ν u_xx`` on the periodic interval (0, 1), ν = 0.1, T = 1, map
  u0 ↦ u(T). u0 ~ N(0, 625 (−Δ + 25 I)^−2) as the paper states it: on (0, 1) the Fourier mode k has
  variance ``625 ((2πk)² + 25)^−2``; the mean (k = 0) is dropped, as the paper's data generator
  does (``GRF1(..., m = 0, ...)``). Drawn and solved on s · ``solve_factor`` points (8: the paper's
  s = 1024 from 8192) and subsampled to s, with muop's ETDRK4 solver (:mod:`muop.data.burgers`). muop's own
  ``burgers`` problem reads the same formula on (0, 2π) instead: a shock-forming variant.
* ``fno-darcy``: ``−∇·(a∇u) = 1`` on the unit square, u = 0 on the boundary, a = ψ(μ) with
  μ ~ N(0, (−Δ + 9 I)^−2) (Neumann) and ψ = 12 where μ ≥ 0, 4 elsewhere (the paper's data generator;
  its text says 3). Solved on 421² nodes and subsampled every 5th node to 85² (the paper's data);
  ``solve_factor: 1`` solves at 85² directly (about 0.6% different, much faster).
* ``fno-ns``: vorticity Navier–Stokes on the unit torus, ν = 1e-3, forcing
  0.1 (sin 2π(x+y) + cos 2π(x+y)), frames every time unit to T = 50, solved at 64² with dt = 1e-2
  (the paper's data: 256², dt = 1e-4, downsampled to 64²). The task is the paper's: frames
  t = 1 .. 10 ↦ t = 11 .. 50 (10 → 40 channels, all at once; the paper's FNO-2D rolls out one step
  at a time and its FNO-3D maps all at once). The initial vorticity w(0) is not a channel, as in
  the paper's data file, which stores it apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import UsageError
from .burgers import BurgersParams, burgers_solve
from .darcy import DarcyParams, darcy_generate
from .grf import periodic_grf
from .navier_stokes import NSParams, ns_initial, ns_solve
from .parallel import map_batch

__all__ = [
    "FNOBurgersParams",
    "FNODarcyParams",
    "FNONSParams",
    "fno_burgers_initial",
    "fno_burgers_generate",
    "fno_burgers",
    "fno_darcy",
    "fno_ns",
    "PUBLISHED",
]

#: The paper's FNO test errors (relative L2), as docs/literature.md reports them (with where each
#: number comes from; they were not re-read from the paper's tables here).
PUBLISHED = {
    "fno-burgers": 0.0018,  # FNO at s = 1024
    "fno-darcy": 0.0108,  # FNO at s = 85
    "fno-ns": 0.0128,  # FNO-2D, ν = 1e-3, T = 50, N = 1000 (FNO-3D: 0.0086)
}


@dataclass(frozen=True)
class FNOBurgersParams:
    """The paper's Burgers setting: ν, T, the covariance ``cov_scale (−Δ + cov_shift I)^−cov_power``
    of u0 on (0, 1), whether its mean is dropped, the solver grid factor and time step."""

    nu: float = 0.1
    T: float = 1.0
    cov_scale: float = 625.0
    cov_shift: float = 25.0
    cov_power: float = 2.0
    zero_mean: bool = True
    solve_factor: int = 8  # solve on s * factor points and keep every factor-th (the paper: 8192 -> 1024)
    dt: float = 2e-3

    def __post_init__(self) -> None:
        for f in ("nu", "T", "cov_scale", "cov_shift", "cov_power", "dt"):
            if not getattr(self, f) > 0:
                raise UsageError(f"{f}={getattr(self, f)}: expected a positive number")
        if int(self.solve_factor) < 1:
            raise UsageError(f"solve_factor={self.solve_factor}: expected an integer >= 1")

    def solver(self) -> BurgersParams:
        """The parameters of muop's Burgers solver for this setting (domain (0, 1))."""
        return BurgersParams(nu=self.nu, T=self.T, length=1.0, dt=self.dt)


def fno_burgers_initial(
    n: int, size: int, p: FNOBurgersParams, generator: torch.Generator, dtype=torch.float32, device=None
) -> torch.Tensor:
    """(n, size) samples of u0 on x_j = j / size: mode k has variance cov_scale ((2πk)² + cov_shift)^−cov_power."""

    def var(kap2: torch.Tensor) -> torch.Tensor:  # kap2 = (2πk)², the eigenvalues of −Δ on (0, 1)
        v = p.cov_scale * (kap2 + p.cov_shift) ** (-p.cov_power)
        return torch.where(kap2 == 0, torch.zeros_like(v), v) if p.zero_mean else v

    return periodic_grf(n, size, 1, var, generator, 1.0, dtype, device)


def fno_burgers_generate(
    n: int,
    size: int,
    p: FNOBurgersParams,
    generator: torch.Generator,
    workers: int = 1,
    dtype=torch.float32,
    device=None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(u0, u(T)), each (n, size): drawn and solved on size * solve_factor points, then subsampled."""
    r = int(p.solve_factor)
    u0 = fno_burgers_initial(n, size * r, p, generator, dtype, device)
    uT = map_batch(lambda u: burgers_solve(u, p.solver()), u0, workers)
    return u0[:, ::r].contiguous(), uT[:, ::r].contiguous()


def fno_burgers(p: FNOBurgersParams, n: int, s: int, g: torch.Generator, workers: int, dtype, device):
    """A chunk of ``fno-burgers``: inputs u0 (n, 1, s), outputs u(T) (n, 1, s)."""
    u0, uT = fno_burgers_generate(n, s, p, g, workers, dtype, device)
    return u0[:, None], uT[:, None]


@dataclass(frozen=True)
class FNODarcyParams(DarcyParams):
    """The paper's Darcy setting: :class:`~muop.data.darcy.DarcyParams` with ψ ∈ {4, 12} and the
    421² solve subsampled to 85² (``solve_factor = 5``)."""

    a_hi: float = 12.0
    a_lo: float = 4.0
    solve_factor: int = 5


def fno_darcy(p: FNODarcyParams, n: int, s: int, g: torch.Generator, workers: int, dtype, device):
    """A chunk of ``fno-darcy``: inputs a (n, 1, s, s), outputs u (n, 1, s, s)."""
    a, u = darcy_generate(n, s, p, g, dtype=dtype)  # scipy's sparse solve runs on the CPU
    return a[:, None].to(device), u[:, None].to(device)


@dataclass(frozen=True)
class FNONSParams(NSParams):
    """The paper's NS setting: ν = 1e-3, T = 50, frames every time unit; ``input_frames`` frames from
    t = 1 in, the next ``output_frames`` out."""

    T: float = 50.0
    input_frames: int = 10
    output_frames: int = 40

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.input_frames < 1 or self.output_frames < 1:
            raise UsageError(
                f"input_frames={self.input_frames}, output_frames={self.output_frames}: expected integers >= 1"
            )
        if self.input_frames + self.output_frames > self.n_frames - 1:
            raise UsageError(
                f"input_frames + output_frames = {self.input_frames + self.output_frames}: expected at most "
                f"{self.n_frames - 1} (the frames after t = 0 up to T={self.T})"
            )


def fno_ns(p: FNONSParams, n: int, s: int, g: torch.Generator, workers: int, dtype, device):
    """A chunk of ``fno-ns``: inputs (n, input_frames, s, s) from t = 1, outputs (n, output_frames, s, s)."""
    w0 = ns_initial(n, s, p, g, dtype=dtype, device=device)
    frames = map_batch(lambda w: ns_solve(w, p), w0, workers)[:, 1:]  # w(0) is not a channel
    k = p.input_frames
    return frames[:, :k].contiguous(), frames[:, k : k + p.output_frames].contiguous()


def unit_grid(s: int) -> np.ndarray:
    """The periodic grid j / s of (0, 1)."""
    return np.arange(s) / s
