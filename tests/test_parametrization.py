"""The front door (muop.parametrize / muop.make_plan): the plan applied to a model (init, forward
multipliers, Adam's eps), and a base given as a smaller model of the same kind."""

import dataclasses
import math

import pytest
import torch

from muop import make_optimizer, make_plan, parametrize
from muop.errors import UsageError
from muop.models import FNO, FNOConfig
from muop.parametrization import Base, Shape


@pytest.mark.parametrize("par", ["sp", "mup"])
def test_init_std_matches_plan(par):
    model = FNO(FNOConfig(modes=(6, 6), width=96, depth=2))
    plan = parametrize(model, par, base=Shape(24, (3, 3)), seed=3)
    for e in plan.entries:
        p = plan.parameter(e.name).detach().double()
        if e.name.endswith(".gate"):  # the neuralop block's soft-gating skip keeps its own init: ones
            assert torch.equal(p, torch.ones_like(p))
            continue
        if e.init_std == 0:
            assert p.abs().max() == 0
            continue
        if p.numel() < 500:
            continue
        if e.role == "spectral":  # complex magnitude: E|w|^2 = std^2
            emp = p.pow(2).sum(-1).mean().sqrt()
        else:
            emp = p.pow(2).mean().sqrt()
        # sampling error of an RMS over n draws is about 1/sqrt(2n)
        tol = 5 / math.sqrt(2 * p.numel())
        assert float(emp) / e.init_std == pytest.approx(1.0, abs=tol), e.name


def test_seeded_init_is_reproducible():
    cfg = FNOConfig(modes=4, dim=1, width=16, depth=2)
    m1, m2 = FNO(cfg), FNO(cfg)
    parametrize(m1, "mup", base=Shape(8, (4,)), seed=7)
    parametrize(m2, "mup", base=Shape(8, (4,)), seed=7)
    for (n, p), (_, q) in zip(m1.named_parameters(), m2.named_parameters()):
        assert torch.equal(p, q), n


def _fno(depth: int, width: int = 16, block: str = "classic", residual: str = "pre") -> FNO:
    return FNO(FNOConfig(modes=4, dim=1, width=width, depth=depth, block=block, residual=residual))


@pytest.mark.parametrize("block", ["classic", "neuralop"])
@pytest.mark.parametrize("residual", ["pre", "post"])
def test_mup_at_the_base_shape_is_sp_exactly(block, residual):
    x = torch.randn(2, 1, 16, generator=torch.Generator().manual_seed(1))
    outs, plans = [], []
    for kind, base in (("sp", None), ("mup", Base(16, (4,), 6, alpha=1.0)), ("mup", None)):
        model = _fno(6, block=block, residual=residual)
        plans.append(parametrize(model, kind, base=base, seed=3))
        outs.append(model(x))
    assert outs[1].equal(outs[0]) and outs[2].equal(outs[0])
    assert [dataclasses.asdict(e) for e in plans[1].entries] == [dataclasses.asdict(e) for e in plans[0].entries]
    sp_groups = [(g["lr"], g.get("eps")) for g in plans[0].param_groups(1e-3)]
    assert [(g["lr"], g.get("eps")) for g in plans[1].param_groups(1e-3)] == sp_groups == [(1e-3, None)]


def test_branch_multiplier_scales_the_branch_and_eps_reaches_adam():
    """The forward multiplier multiplies F(x): with F's init drawn identically, (out - x) scales by a."""
    x = torch.randn(2, 16, 16, generator=torch.Generator().manual_seed(0))
    layers = []
    for alpha in (None, 1.0):
        model = _fno(8)
        plan = parametrize(
            model,
            "sp" if alpha is None else "mup",
            base=None if alpha is None else Base(16, (4,), 2, alpha=alpha),
            seed=0,
        )
        layers.append(model.layers[2])
    f_sp, f_mup = layers[0](x) - x, layers[1](x) - x  # pre-activation: x + a·F(σ(x))
    torch.testing.assert_close(f_mup, 0.25 * f_sp)
    opt = make_optimizer(plan, "adam", lr=1e-3, eps=1e-8)
    branch = [g for g in opt.param_groups if "layers.2.spectral.weight" in g["muop_names"]][0]
    assert branch["eps"] == pytest.approx(0.25e-8) and branch["lr"] == pytest.approx(1e-3)


def test_a_residual_model_needs_a_residual_base_model():
    big = FNO(FNOConfig(modes=4, dim=1, width=16, depth=8, residual="pre"))
    with pytest.raises(UsageError, match="same kind"):
        make_plan(big, "mup", base=FNO(FNOConfig(modes=4, dim=1, width=8, depth=2)))
    assert make_plan(big, "mup", base=FNO(FNOConfig(modes=4, dim=1, width=8, depth=2, residual="pre"))).base.depth == 2
