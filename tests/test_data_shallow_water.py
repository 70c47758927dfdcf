"""The spherical shallow-water generator (muop.data.shallow_water): mass conserved to round-off,
energy bounded, a resting atmosphere stays at rest, and the registered problem's file layout."""

import math
import warnings

import h5py
import pytest
import torch

from muop.data.problems import PROBLEMS, generate
from muop.data.shallow_water import (
    STEP_SAFETY,
    ShallowWater,
    ShallowWaterParams,
    shallow_water_generate,
    stable_step_seconds,
    step_count,
)
from muop.errors import DataError, UsageError

pytest.importorskip("torch_harmonics")
warnings.filterwarnings("ignore", module="torch_harmonics")


def test_mass_is_conserved_and_energy_bounded_over_a_short_run():
    sw = ShallowWater(8, ShallowWaterParams(delta_t_hours=1.0, step_seconds=1200.0))
    u = sw.initial(2, torch.Generator().manual_seed(0))
    m0, e0 = sw.mass(u), sw.energy(u)
    # mass by quadrature equals the analytic 4 pi a^2 h_avg (the random perturbation has l >= 1)
    torch.testing.assert_close(m0, torch.full_like(m0, 4 * math.pi * sw.p.radius**2 * sw.p.havg), rtol=1e-12, atol=0)
    for _ in range(3):
        u = sw.advance(u)
        assert torch.all((sw.mass(u) - m0).abs() / m0 < 1e-13)  # round-off: the (0, 0) tendency is 0
        ratio = sw.energy(u) / e0
        assert torch.all((ratio < 1 + 1e-6) & (ratio > 0.99)), ratio  # hyperdiffusion only removes energy
    assert u.isfinite().all()


def test_a_resting_atmosphere_stays_at_rest():
    sw = ShallowWater(8, ShallowWaterParams(mach=0.0, hamp=1e-30, delta_t_hours=1.0, step_seconds=900.0))
    u0 = sw.initial(1, torch.Generator().manual_seed(1))
    u1 = sw.advance(u0)
    assert (u1 - u0).abs().max() < 1e-9 * u0.abs().max()


def test_generated_file_has_the_sphere_layout(tmp_path):
    assert "shallow-water" in PROBLEMS
    out = generate("shallow-water", tmp_path / "sw.h5", 2, 1, 8, params={"step_seconds": 1200.0}, workers=1)
    with h5py.File(out) as f:
        names = []
        f.visititems(lambda n, obj: names.append((n, obj.shape)) if isinstance(obj, h5py.Dataset) else None)
    shapes = [s for _, s in names]
    assert (2, 3, 8, 16) in shapes and (1, 3, 8, 16) in shapes, names
    with pytest.raises(UsageError, match="cutoff"):
        ShallowWaterParams(cutoff=2.0)


def test_the_step_is_capped_at_a_fraction_of_rk4s_stability_bound():
    # RK4 keeps e^{iωt} bounded for |ω dt| <= 2 sqrt(2); the fastest gravity wave has ω = sqrt(g h) lmax / a
    p = ShallowWaterParams()
    for lmax in (16, 96, 192, 512):
        omega = math.sqrt(9.80616 * 1.0e4) * lmax / 6.37122e6
        dt = STEP_SAFETY * 2 * math.sqrt(2) / omega
        assert stable_step_seconds(p, lmax) == pytest.approx(dt, rel=1e-12)
        steps = step_count(p, lmax)
        assert steps == math.ceil(3600 / min(300.0, dt))  # an integer number of steps fills Δt exactly
        assert 3600 / steps <= min(300.0, dt) and 3600 / (steps - 1) > min(300.0, dt)
    assert step_count(p, 16) == 12 and step_count(p, 192) == 25  # 300 s at low resolution; 144 s at 192


def test_an_unstable_default_step_now_gives_finite_data():
    # a small planet (a / 10) makes 8 latitudes as stiff as 80 on Earth: one step of 3600 s has ω dt ~ 14
    # and the old fixed step went NaN within 6 hours; the capped step stays finite and O(1)
    p = ShallowWaterParams(radius=6.37122e5, step_seconds=3600.0, delta_t_hours=4.0)
    assert ShallowWater(8, p).steps > 4
    x, y = shallow_water_generate(p, 1, 8, torch.Generator().manual_seed(0), 1, torch.float64, "cpu")
    assert x.isfinite().all() and y.isfinite().all() and y.abs().max() < 100


def test_a_non_finite_solve_is_a_one_line_data_error(tmp_path):
    with pytest.raises(DataError, match=r"non-finite at resolution=8 .*mach=100.0") as e:
        generate("shallow-water", tmp_path / "nan.h5", 1, 1, 8, params={"mach": 100.0}, workers=1)
    assert "\n" not in str(e.value) and not list(tmp_path.iterdir())  # no file of NaNs left behind
