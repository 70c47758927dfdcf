"""The Navier–Stokes generator (muop.data.navier_stokes) against exact solutions, and its initial field
(problems of the FNO paper, Li et al., ICLR 2021, §5)."""

import math

import pytest
import torch

from muop.data.navier_stokes import NSParams, fno_forcing, ns_initial, ns_solve


def test_ns_initial_field_statistics():
    w0 = ns_initial(64, 64, NSParams(), torch.Generator().manual_seed(1), dtype=torch.float64)
    assert w0.mean((1, 2)).abs().max() < 1e-12  # zero mean exactly
    assert w0.std().item() == pytest.approx(0.27, rel=0.1)  # the FNO data generator's field: std about 0.27 at 64²


def test_ns_single_mode_decays_exactly():
    s, nu, T = 32, 1e-2, 1.0
    t = torch.arange(s, dtype=torch.float64) / s
    x, y = torch.meshgrid(t, t, indexing="ij")
    w0 = torch.cos(2 * math.pi * (2 * x + y))[None]
    exact = w0[0] * math.exp(-nu * 4 * math.pi**2 * 5 * T)

    def rel_err(dt):
        frames = ns_solve(w0, NSParams(nu=nu, T=T, dt=dt, forcing=False, record_every=0.5))
        assert frames.shape == (1, 3, s, s)
        return ((frames[0, -1] - exact).abs().max() / exact.abs().max()).item()

    e1, e2 = rel_err(1e-2), rel_err(5e-3)
    assert e1 < 2e-4  # measured 6.4e-5
    assert e1 / e2 > 3.5  # Crank-Nicolson: second order


def test_ns_forced_mode_approaches_steady_state():
    """From rest, the FNO forcing excites a single wave vector, for which u·∇w = 0 exactly, so
    w(t) = f (1 - e^{-8π²νt}) / (8π²ν): the forced mode tends to 0.1/(8π²ν)."""
    s, nu = 32, 0.02
    p = NSParams(nu=nu, T=2.0, dt=1e-2, record_every=1.0)
    frames = ns_solve(torch.zeros(1, s, s, dtype=torch.float64), p)
    f = fno_forcing(s)
    lam = 8 * math.pi**2 * nu
    exact = f * (1 - math.exp(-lam * p.T)) / lam
    assert ((frames[0, -1] - exact).abs().max() / exact.abs().max()).item() < 2e-5  # measured 2.9e-6


def test_ns_conserves_zero_mean():
    p = NSParams(T=2.0)
    w0 = ns_initial(3, 32, p, torch.Generator().manual_seed(0), dtype=torch.float64)
    frames = ns_solve(w0, p)
    assert frames.mean((2, 3)).abs().max().item() < 1e-12


@pytest.mark.parametrize("kw,match", [(dict(nu=0.0), "nu=0.0"), (dict(dt=0.3, record_every=1.0), "multiple of dt")])
def test_ns_params_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        NSParams(**kw)
