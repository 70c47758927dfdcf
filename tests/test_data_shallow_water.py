"""The spherical shallow-water generator (muop.data.shallow_water): mass conserved to round-off,
energy bounded, a resting atmosphere stays at rest, and the registered problem's file layout."""

import math
import warnings

import h5py
import pytest
import torch

from muop.data.problems import PROBLEMS, generate
from muop.data.shallow_water import ShallowWater, ShallowWaterParams
from muop.errors import UsageError

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
