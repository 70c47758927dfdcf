"""SFNO and UNO under muop (muop.adapters.neuralop_sphere / neuralop_uno) and the spherical mode
factor of muop.core.rules, against hand-computed values (docs/parametrization.md, "Spherical modes")."""

import copy
import math
import warnings

import pytest
import torch

from muop import make_plan, parametrize
from muop.config import ModelConfig
from muop.core.rules import spherical_blocks, spherical_mode_factor
from muop.errors import ConfigError, UsageError
from muop.parametrization import Shape

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
