"""The Burgers generator (muop.data.burgers) against the exact Cole–Hopf solution, its time convergence,
and what it must conserve (problems of the FNO paper, Li et al., ICLR 2021, §5)."""

import math

import torch

from muop.data.burgers import BurgersParams, burgers_initial, burgers_solve


def cole_hopf(x, t, nu, a=2.0):
    """Exact periodic Burgers solution: u = -2ν φ_x / φ with φ = a + e^{-νt} cos x."""
    e = math.exp(-nu * t)
    return 2 * nu * e * torch.sin(x) / (a + e * torch.cos(x))


def test_burgers_matches_cole_hopf_exact_solution():
    s, nu, T = 128, 0.1, 1.0
    x = torch.arange(s, dtype=torch.float64) * 2 * math.pi / s
    u0 = cole_hopf(x, 0.0, nu)[None]
    uT = burgers_solve(u0, BurgersParams(nu=nu, T=T, dt=1e-2))
    assert (uT[0] - cole_hopf(x, T, nu)).abs().max().item() < 1e-8


def test_burgers_time_convergence_fourth_order_and_below_1e6():
    g = torch.Generator().manual_seed(0)
    u0 = burgers_initial(4, 256, BurgersParams(), g, dtype=torch.float64)
    ref = burgers_solve(u0, BurgersParams(dt=2.5e-4))
    e1 = (burgers_solve(u0, BurgersParams(dt=4e-3)) - ref).abs().max().item()
    e2 = (burgers_solve(u0, BurgersParams(dt=2e-3)) - ref).abs().max().item()
    e3 = (burgers_solve(u0, BurgersParams(dt=1e-3)) - ref).abs().max().item()
    assert e3 < 1e-6
    assert e1 / e2 > 10 and e2 / e3 > 10  # 4th order: 16x per halving


def test_burgers_conserves_mean_and_loses_energy():
    g = torch.Generator().manual_seed(3)
    p = BurgersParams()
    u0 = burgers_initial(6, 512, p, g, dtype=torch.float64)
    assert u0.std() > 1.0  # the (0, 2π) reading: not the almost-constant (0, 1) trap
    u_half = burgers_solve(u0, BurgersParams(T=0.5))
    u1 = burgers_solve(u0, p)
    torch.testing.assert_close(u1.mean(1), u0.mean(1), rtol=0, atol=1e-12)
    e0, eh, e1 = ((v - v.mean(1, keepdim=True)).pow(2).mean(1) for v in (u0, u_half, u1))
    assert (eh < e0).all() and (e1 < eh).all()
