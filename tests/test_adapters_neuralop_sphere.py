"""SFNO and UNO under muop (muop.adapters.neuralop_sphere / neuralop_uno) and the spherical mode
factor of muop.core.rules, against hand-computed values (docs/parametrization.md, "Spherical modes")."""

import copy
import math
import warnings

import pytest
import torch

from muop import make_plan, parametrize
from muop.config import ModelConfig, RunConfig, check_modes_fit, with_fields
from muop.core.rules import spherical_blocks, spherical_mode_factor
from muop.data import Datasets, OperatorData
from muop.errors import ConfigError, UsageError
from muop.parametrization import Shape
from muop.training.trainer import build

pytest.importorskip("neuralop")
pytest.importorskip("torch_harmonics")
warnings.filterwarnings("ignore", module="neuralop")
warnings.filterwarnings("ignore", module="torch_harmonics")
from neuralop.models import SFNO, UNO  # noqa: E402


def _sfno(width=8, n_modes=(6, 8), seed=0, **kw):
    torch.manual_seed(seed)
    return SFNO(n_modes=n_modes, in_channels=2, out_channels=1, hidden_channels=width, n_layers=2, **kw)


def _uno(width=4, seed=0, modes=((4, 4), (2, 2), (4, 4))):
    torch.manual_seed(seed)
    return UNO(
        in_channels=2,
        out_channels=1,
        hidden_channels=width,
        lifting_channels=2 * width,
        projection_channels=2 * width,
        n_layers=3,
        uno_out_channels=[width, 2 * width, width],
        uno_n_modes=[list(m) for m in modes],
        uno_scalings=[[1, 1], [0.5, 0.5], [2, 2]],
        channel_mlp_skip="linear",
    )


def _state(model):
    return {k: v.detach().clone() for k, v in model.named_parameters()}


def test_spherical_block_counts_and_factor_by_hand():
    assert spherical_blocks(8, 4) == 8  # Driscoll-Healy: one block per degree
    assert spherical_blocks(4, 2, "diagonal") == 1 + 2 + 2 + 2  # min(l+1, mmax), l = 0..3
    assert spherical_blocks(3, 3, "diagonal") == 1 + 2 + 3
    assert spherical_mode_factor((8, 16), (4, 8)) == pytest.approx(math.sqrt(2 / 3))  # log 4 / log 8
    assert spherical_mode_factor((8, 4), (8, 16)) == 1.0  # orders do not count under Driscoll-Healy
    assert spherical_mode_factor((4, 2), (3, 3), "diagonal") == pytest.approx(math.sqrt(math.log(6) / math.log(7)))
    for bad in (
        lambda: spherical_blocks(0, 2),
        lambda: spherical_blocks(4, 2, "block"),
        lambda: spherical_mode_factor((1, 1), (4, 4)),
    ):
        with pytest.raises(UsageError):
            bad()


@pytest.mark.parametrize("make", [_sfno, _uno], ids=["sfno", "uno"])
def test_every_parameter_has_a_role_and_mup_at_own_shape_is_sp(make):
    ref = make()
    a, b = copy.deepcopy(ref), copy.deepcopy(ref)
    parametrize(a, "sp")
    plan = parametrize(b, "mup")
    assert {e.name for e in plan.entries} == {n for n, _ in ref.named_parameters()}
    for e in plan.entries:
        assert e.init_mult == e.mult == e.mode_factor == 1.0 and set(e.lr_mult.values()) == {1.0}, e.name
    sa, sb, sr = _state(a), _state(b), _state(ref)
    assert all(torch.equal(sa[k], sb[k]) and torch.equal(sa[k], sr[k]) for k in sr)
    x = torch.randn(2, 2, 8, 16, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a(x), b(x)) and torch.equal(a(x), ref(x))


def test_sfno_spectral_weight_follows_the_spherical_rule():
    model, ref = _sfno(width=16, n_modes=(8, 16)), _sfno(width=16, n_modes=(8, 16))
    plan = parametrize(model, "mup", base=_sfno(width=8, n_modes=(4, 8)))
    assert model.muop_shape == Shape(16, (8,))
    g = math.sqrt(math.log(4) / math.log(8))
    e = plan["fno_blocks.convs.1.weight.tensor"]
    assert e.role == "spectral" and e.mode_factor == pytest.approx(g) == spherical_mode_factor((8, 8), (4, 4))
    assert e.init_mult == pytest.approx(g) and e.lr_mult["adam"] == pytest.approx(g / 2)  # g / m_in
    stored = model.fno_blocks.convs[1].weight._parameters["tensor"]
    torch.testing.assert_close(stored, ref.fno_blocks.convs[1].weight._parameters["tensor"] * g)
    out = plan["projection.fcs.1.weight"]
    assert out.role == "output" and out.mult == pytest.approx(0.5)


def test_uno_width_multiplier_and_layout():
    plan = make_plan(_uno(width=8), "mup", base=_uno(width=4))
    assert plan["horizontal_skips.0.conv.weight"].lr_mult["adam"] == pytest.approx(0.5)
    assert plan["fno_blocks.1.convs.0.weight.tensor"].lr_mult["adam"] == pytest.approx(0.5)
    assert plan["lifting.fcs.0.weight"].lr_mult["adam"] == 1.0 and plan["projection.fcs.1.weight"].mult == 0.5
    with pytest.raises(UsageError, match="same kind"):  # per-block modes must match the base's
        make_plan(_uno(width=8), "mup", base=_uno(width=4, modes=((4, 4), (4, 4), (4, 4))))


def test_run_config_builds_sfno_and_uno_with_their_shapes():
    sfno = ModelConfig(library="neuralop", name="SFNO", modes=[6, 4], width=8, depth=2)
    sfno.validate()
    model = sfno.build(3, 3)
    assert isinstance(model, SFNO) and tuple(model.n_modes) == (6, 8) and sfno.shape == Shape(8, (6,))
    plan = make_plan(model, "mup", base=Shape(4, (3, 4)))  # a run config's (L, M) base: only L counts
    assert plan["fno_blocks.convs.0.weight.tensor"].mode_factor == pytest.approx(math.sqrt(math.log(3) / math.log(6)))
    uno = ModelConfig(
        library="neuralop", name="UNO", modes=[3, 3], width=4, depth=3, options={"width_ratios": [1, 2, 1]}
    )
    u = uno.build(2, 1)
    assert u.uno_out_channels == [4, 8, 4] and u.lifting_channels == 8 and u.uno_n_modes == [[6, 4]] * 3
    with pytest.raises(ConfigError, match="width_ratios"):
        ModelConfig(
            library="neuralop", name="UNO", modes=[3, 3], width=4, depth=3, options={"width_ratios": [1]}
        ).validate()


def test_sfno_modes_bound_is_what_the_spherical_convolution_accepts():
    """On an nlat x nlon grid torch-harmonics resolves degrees l < nlat and the real FFT orders m <= nlon / 2, so
    an SFNO keeps at most L = nlat and M = nlon // 2 + 1 (n_modes = (L, 2M)); the config check says the same."""
    x = torch.randn(1, 1, 8, 16, generator=torch.Generator().manual_seed(0))
    top = SFNO(n_modes=(8, 2 * 9), in_channels=1, out_channels=1, hidden_channels=2, n_layers=1)
    assert top(x).shape == x.shape and top(x).isfinite().all()
    with pytest.raises(RuntimeError):  # one order more than the grid has
        SFNO(n_modes=(8, 2 * 10), in_channels=1, out_channels=1, hidden_channels=2, n_layers=1)(x)
    check_modes_fit([8, 9], [8, 16], "x", spherical=True)
    for bad in ([9, 9], [8, 10]):
        with pytest.raises(ConfigError, match=r"at most \[8, 9\] \(SFNO: L <= nlat"):
            check_modes_fit(bad, [8, 16], "x", spherical=True)


def test_sfno_with_more_modes_than_the_fft_rule_trains_on_the_sphere():
    """modes [12, 12] at resolution 16 (a 16 x 32 grid) are valid for an SFNO (L <= 16, M <= 17); the FFT rule
    of a square grid (at most [8, 9]) refused them in the config and in the trainer."""
    cfg = RunConfig.from_dict(
        {
            "data": {"problem": "shallow-water", "resolution": 16, "n_train": 2, "n_test": 1},
            "model": {"library": "neuralop", "name": "SFNO", "modes": [12, 12], "width": 4, "depth": 1},
            "train": {"batch_size": 2},
        }
    )
    g = torch.Generator().manual_seed(0)
    d = OperatorData(torch.randn(2, 3, 16, 32, generator=g), torch.randn(2, 3, 16, 32, generator=g), "random")
    setup = build(cfg, Datasets(train=d, test=d))
    assert tuple(setup.model.n_modes) == (12, 24) and setup.model(d.x).shape == d.y.shape
    with pytest.raises(ConfigError, match=r"model.modes=\[17, 12\].*16x32 grid.*at most \[16, 17\]"):
        with_fields(cfg, model={"modes": [17, 12]})
