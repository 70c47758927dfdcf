"""2-D Darcy flow ``-∇·(a ∇u) = f`` on the unit square with ``u = 0`` on the boundary.

The coefficient is a two-valued field: ``a = a_hi`` where a GRF (cosine series, Neumann,
covariance ∝ (-Δ + τ²)^-α, zero mean) is ≥ 0 and ``a_lo`` elsewhere (as in the FNO paper, Li et
al., ICLR 2021: 12 / 3, τ = 3, α = 2). Discretisation: the ``s × s`` grid of nodes
``x_i = i / (s - 1)`` (boundary included, as in the FNO data), the 5-point stencil with face
coefficients the arithmetic mean of the two nodes, and a sparse direct solve (SuperLU with a
symmetric minimum-degree ordering). Optionally solve on a finer grid and subsample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp
import torch

from ..errors import UsageError
from .grf import neumann_grf

__all__ = ["DarcyParams", "darcy_coefficient", "darcy_operator", "darcy_solve", "darcy_generate"]


@dataclass(frozen=True)
class DarcyParams:
    """Physical and solver parameters."""

    a_hi: float = 12.0
    a_lo: float = 3.0
    forcing: float = 1.0
    grf_tau: float = 3.0
    grf_alpha: float = 2.0
    solve_factor: int = 1  # solve on a grid (s-1)*factor+1 and subsample (1 = solve directly at s)

    def __post_init__(self) -> None:
        if not (self.a_hi > 0 and self.a_lo > 0):
            raise UsageError(f"a_hi={self.a_hi}, a_lo={self.a_lo}: coefficients must be positive")
        if int(self.solve_factor) < 1:
            raise UsageError(f"solve_factor={self.solve_factor}: expected an integer >= 1")


def darcy_coefficient(n: int, size: int, p: DarcyParams, generator: torch.Generator) -> np.ndarray:
    """(n, size, size) thresholded coefficients at the nodes i/(size-1)."""
    pts = torch.linspace(0.0, 1.0, size, dtype=torch.float64)
    field = neumann_grf(n, pts, lambda lam: (lam + p.grf_tau**2) ** (-p.grf_alpha), generator, n_modes=min(size, 64))
    return np.where(field.numpy() >= 0, p.a_hi, p.a_lo)


def darcy_operator(a: np.ndarray) -> sp.csc_matrix:
    """The FD matrix on the (s-2)² interior nodes for node coefficients ``a`` (s, s), scaled by h²."""
    s = a.shape[0]
    m = s - 2
    ax = 0.5 * (a[1:, :] + a[:-1, :])  # faces between i and i+1: (s-1, s)
    ay = 0.5 * (a[:, 1:] + a[:, :-1])  # faces between j and j+1: (s, s-1)
    north, south = ax[1:, 1:-1], ax[:-1, 1:-1]  # for interior node (i, j): faces i+1/2, i-1/2  -> (m, m)
    east, west = ay[1:-1, 1:], ay[1:-1, :-1]
    diag = (north + south + east + west).ravel()
    e = -east.copy()
    e[:, -1] = 0.0  # no east neighbour in the unknowns at j = s-2 (boundary)
    w = -west.copy()
    w[:, 0] = 0.0
    off_e = e.ravel()[:-1]
    off_w = w.ravel()[1:]
    off_n = -north.ravel()[:-m]
    off_s = -south.ravel()[m:]
    import scipy.sparse as sp  # imported on first use: every command start would pay ~0.2 s for it

    return sp.diags([diag, off_e, off_w, off_n, off_s], [0, 1, -1, m, -m], format="csc")


def darcy_solve(a: np.ndarray, f: float | np.ndarray = 1.0) -> np.ndarray:
    """Solve ``-∇·(a∇u) = f`` with u = 0 on the boundary; ``a`` and ``f`` at the (s, s) nodes."""
    s = a.shape[0]
    if a.shape != (s, s) or s < 3:
        raise UsageError(f"coefficient shape {a.shape}: expected a square grid with at least 3 points per side")
    h = 1.0 / (s - 1)
    rhs = (np.broadcast_to(np.asarray(f, dtype=np.float64), (s, s))[1:-1, 1:-1] * h * h).ravel()
    u = np.zeros((s, s))
    import scipy.sparse.linalg as spla

    u[1:-1, 1:-1] = spla.splu(darcy_operator(a), permc_spec="MMD_AT_PLUS_A").solve(rhs).reshape(s - 2, s - 2)
    return u


def darcy_generate(
    n: int, size: int, p: DarcyParams, generator: torch.Generator, dtype=torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """(a, u), each (n, size, size). With ``solve_factor = r`` both come from a grid of
    (size-1)·r + 1 points, subsampled every r-th node."""
    r = int(p.solve_factor)
    fine = (size - 1) * r + 1
    a = darcy_coefficient(n, fine, p, generator)
    u = np.stack([darcy_solve(ai, p.forcing) for ai in a])
    return torch.from_numpy(a[:, ::r, ::r].copy()).to(dtype), torch.from_numpy(u[:, ::r, ::r].copy()).to(dtype)
