"""The FNO paper's benchmarks as named problems (muop.data.fno_paper; Li et al., ICLR 2021, §5): each
generator's physics, the paper's settings as defaults, and the published errors beside them in
docs/literature.md."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from muop.data import generate, load
from muop.data.burgers import burgers_solve
from muop.data.darcy import darcy_coefficient, darcy_operator, darcy_solve
from muop.data.fno_paper import (
    PUBLISHED,
    FNOBurgersParams,
    FNODarcyParams,
    FNONSParams,
    fno_burgers_generate,
    fno_burgers_initial,
    fno_darcy,
    fno_ns,
)
from muop.data.navier_stokes import ns_initial, ns_solve
from muop.data.problems import make_params
from muop.errors import UsageError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "literature.md"


def test_presets_default_to_the_paper_settings():
    b, d, n = make_params("fno-burgers"), make_params("fno-darcy"), make_params("fno-ns")
    assert (b.nu, b.T, b.cov_scale, b.cov_shift, b.cov_power, b.solve_factor) == (0.1, 1.0, 625, 25, 2, 8)
    assert (d.a_hi, d.a_lo, d.grf_tau, d.grf_alpha, d.solve_factor) == (12, 4, 3, 2, 5)  # 421 = 84 * 5 + 1
    assert (n.nu, n.T, n.input_frames, n.output_frames, n.n_frames) == (1e-3, 50, 10, 40, 51)
    with pytest.raises(UsageError, match="input_frames \\+ output_frames = 51"):
        make_params("fno-ns", {"output_frames": 41})


def test_fno_burgers_initial_condition_has_the_papers_spectrum_on_unit_interval():
    """E|û_k|² = 625 ((2πk)² + 25)^-2 for k >= 1 (the covariance 625(−Δ+25)^-2 on (0, 1)), 0 at k = 0."""
    p = FNOBurgersParams()
    u0 = fno_burgers_initial(4000, 64, p, torch.Generator().manual_seed(0), dtype=torch.float64)
    power = (torch.fft.fft(u0, norm="forward").abs() ** 2).mean(0)
    assert power[0] < 1e-20
    for k in (1, 2, 4):
        expected = 625 * ((2 * math.pi * k) ** 2 + 25) ** -2
        assert abs(power[k].item() / expected - 1) < 0.08


def test_fno_burgers_small_data_follow_the_heat_equation_on_unit_interval():
    """Tiny amplitudes: u(T) = the heat flow exp(−ν (2πk)² T) mode by mode (ν = 0.1 on (0, 1))."""
    p = FNOBurgersParams(cov_scale=625e-12, solve_factor=1, dt=1e-2)
    u0, uT = fno_burgers_generate(3, 128, p, torch.Generator().manual_seed(1), dtype=torch.float64)
    k = torch.fft.rfftfreq(128, d=1 / 128, dtype=torch.float64)
    heat = torch.fft.irfft(torch.fft.rfft(u0) * torch.exp(-0.1 * (2 * math.pi * k) ** 2), n=128)
    assert ((uT - heat).norm() / heat.norm()).item() < 1e-4


def test_fno_burgers_conserves_zero_mean_and_loses_energy():
    p = FNOBurgersParams(solve_factor=1)
    u0, uT = fno_burgers_generate(3, 128, p, torch.Generator().manual_seed(2), dtype=torch.float64)
    assert u0.mean(1).abs().max() < 1e-12 and uT.mean(1).abs().max() < 1e-12
    assert (uT.pow(2).mean(1) < u0.pow(2).mean(1)).all()
    assert uT.std() > 0.003  # not the flat field: u(T) keeps the low modes


def test_fno_burgers_solved_finer_then_subsampled_agrees_with_the_coarse_solve():
    """As the paper's s = 1024 from 8192 (here 512 from 1024): the modes the coarse grid drops are dead by T
    (ν (2πk)² T ≫ 1); only their alias in the sampled u0 (~1e-6) differs."""
    p = FNOBurgersParams(solve_factor=2, dt=5e-3)
    u0, uT = fno_burgers_generate(2, 512, p, torch.Generator().manual_seed(2), dtype=torch.float64)
    coarse = burgers_solve(u0, p.solver())  # the subsampled u0 solved at 512 directly
    assert ((coarse - uT).norm() / uT.norm()).item() < 1e-3


def test_fno_darcy_coefficient_and_bounds_and_fine_solve_subsampled():
    p = FNODarcyParams(solve_factor=2)
    a, u = fno_darcy(p, 3, 9, torch.Generator().manual_seed(3), 1, torch.float64, "cpu")
    assert set(np.unique(a.numpy())) <= {4.0, 12.0}
    assert (u >= 0).all() and u.max() < 1 / (8 * 4)
    fine_a = darcy_coefficient(3, 17, p, torch.Generator().manual_seed(3))  # the same draws on the 17² grid
    np.testing.assert_array_equal(fine_a[:, ::2, ::2], a[:, 0].numpy())
    np.testing.assert_allclose(darcy_solve(fine_a[0])[::2, ::2], u[0, 0].numpy(), atol=1e-12)


def test_fno_darcy_residual_small_at_the_solve_grid():
    p = FNODarcyParams(solve_factor=1)
    a, u = fno_darcy(p, 2, 33, torch.Generator().manual_seed(4), 1, torch.float64, "cpu")
    h2 = (1 / 32) ** 2
    for ai, ui in zip(a[:, 0].numpy(), u[:, 0].numpy()):
        r = darcy_operator(ai) @ ui[1:-1, 1:-1].ravel() - h2
        assert np.abs(r).max() < 1e-12 * h2 * 1e3
        assert np.abs(ui[[0, -1], :]).max() == 0 and np.abs(ui[:, [0, -1]]).max() == 0


def test_fno_ns_frames_from_t1_mean_zero_and_split():
    p = FNONSParams(T=4.0, dt=5e-2, input_frames=2, output_frames=2)
    x, y = fno_ns(p, 2, 16, torch.Generator().manual_seed(5), 1, torch.float64, "cpu")
    assert x.shape == (2, 2, 16, 16) and y.shape == (2, 2, 16, 16)
    w0 = ns_initial(2, 16, p, torch.Generator().manual_seed(5), dtype=torch.float64)
    frames = ns_solve(w0, p)  # t = 0 .. 4
    torch.testing.assert_close(x, frames[:, 1:3])  # t = 1, 2 in: w(0) is not a channel
    torch.testing.assert_close(y, frames[:, 3:5])
    assert torch.cat([x, y], 1).mean((2, 3)).abs().max() < 1e-12  # mean vorticity stays zero


@pytest.mark.parametrize(
    ("problem", "params", "shapes"),
    [
        ("fno-burgers", {"solve_factor": 2, "dt": 1e-2}, ((1, 32), (1, 32))),
        ("fno-darcy", {"solve_factor": 1}, ((1, 8, 8), (1, 8, 8))),
        ("fno-ns", {"T": 3.0, "dt": 5e-2, "input_frames": 1, "output_frames": 2}, ((1, 8, 8), (2, 8, 8))),
    ],
)
def test_presets_generate_through_the_registry(tmp_path, problem, params, shapes):
    res = shapes[0][-1]
    out = generate(problem, tmp_path / "d.h5", 3, 2, res, params=params, workers=1)
    train, test = load(out, split="train"), load(out, split="test")
    assert tuple(train.x.shape) == (3, *shapes[0]) and tuple(train.y.shape) == (3, *shapes[1])
    assert len(test) == 2 and train.meta["problem"] == problem


def test_published_errors_are_stated_in_the_docs():
    text = DOCS.read_text()
    for name, err in PUBLISHED.items():
        assert f"`{name}`" in text and f"{err}" in text
