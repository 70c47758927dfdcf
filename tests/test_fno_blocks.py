"""muop's FNO with block="neuralop" against neuraloperator's default FNO, in float64."""

import warnings

import pytest
import torch

from muop import FNO, FNOConfig, Shape, parametrize
from muop.errors import UsageError

pytest.importorskip("neuralop")
warnings.filterwarnings("ignore", module="neuralop")


@pytest.fixture
def float64_neuralop(monkeypatch):
    """neuraloperator hard-codes torch.cfloat (weights, output spectrum) and builds its grid with
    torch.linspace in the default dtype: point both at double precision for this test."""
    monkeypatch.setattr(torch, "cfloat", torch.cdouble)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def neuralop_fno(n_modes, width=8, depth=3, in_channels=2, out_channels=3, seed=0, **kw):
    from neuralop.models import FNO as NFNO

    torch.manual_seed(seed)
    m = NFNO(
        n_modes=n_modes, in_channels=in_channels, out_channels=out_channels, hidden_channels=width, n_layers=depth, **kw
    ).double()
    with torch.no_grad():  # gates away from their initial ones, so the copy is really checked
        for gate in m.fno_blocks.channel_mlp_skips:
            gate.weight.uniform_(0.5, 1.5)
    return m


@pytest.mark.parametrize(
    "n_modes,grid",
    [((8,), (32,)), ((6, 8), (16, 20)), ((4, 4, 6), (8, 10, 12)), ((16,), (16,))],
)
def test_neuralop_block_equals_neuraloperator_default_fno(float64_neuralop, n_modes, grid):
    from muop.adapters.neuralop import to_muop

    theirs = neuralop_fno(n_modes)
    ours = to_muop(theirs)
    assert ours.config.block == "neuralop" and ours.config.modes == tuple(
        [n // 2 for n in n_modes[:-1]] + [n_modes[-1] // 2 + 1]
    )
    assert sum(p.numel() for p in ours.parameters()) == sum(
        p.numel() * (2 if p.is_complex() else 1) for p in theirs.parameters()
    )
    x = torch.randn(2, 2, *grid, dtype=torch.float64)
    ref = theirs(x)
    assert ref.dtype == torch.float64
    torch.testing.assert_close(ours(x), ref, rtol=0, atol=1e-10)


def test_without_grid_and_other_projection(float64_neuralop):
    from muop.adapters.neuralop import to_muop

    theirs = neuralop_fno((6, 6), positional_embedding=None, projection_channel_ratio=3, depth=1)
    x = torch.randn(2, 2, 12, 12, dtype=torch.float64)
    torch.testing.assert_close(to_muop(theirs)(x), theirs(x), rtol=0, atol=1e-10)


def test_to_muop_names_what_differs_from_the_default_layout():
    from muop.adapters.neuralop import to_muop

    with pytest.raises(UsageError, match="fno_skip='linear'.*norm=None"):
        to_muop(neuralop_fno((8,), fno_skip="soft-gating", norm="group_norm").float())


def test_adam_step_on_complex_weights_equals_muop_real_pair(float64_neuralop):
    """torch.optim.Adam treats a complex entry as (real, imag): one μP step on neuraloperator's FNO
    equals the same step on muop's copy, whose spectral weights are real pairs."""
    from muop.adapters.neuralop import to_muop

    base = Shape(4, (2, 3))
    theirs = neuralop_fno((8, 8), width=16, depth=2)
    plan_t = parametrize(theirs, "mup", base=base)
    ours = FNO(to_muop(theirs).config).double()
    plan_o = parametrize(ours, "mup", base=base)  # sets the multipliers; the weights are copied next
    ours.load_state_dict(to_muop(theirs).state_dict())
    x, y = torch.randn(3, 2, 16, 16, dtype=torch.float64), torch.randn(3, 3, 16, 16, dtype=torch.float64)
    torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=1e-10)
    for model, plan in ((theirs, plan_t), (ours, plan_o)):
        opt = torch.optim.Adam(plan.param_groups(1e-2, optimizer="adam"))
        for _ in range(2):
            opt.zero_grad()
            (model(x) - y).pow(2).mean().backward()
            opt.step()
    assert (
        plan_t["fno_blocks.convs.0.weight.tensor"].lr_mult["adam"]
        == plan_o["layers.0.spectral.weight"].lr_mult["adam"]
        < 1
    )
    torch.testing.assert_close(ours.state_dict(), to_muop(theirs).state_dict(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("opt_name", ["torch.Adam", "neuralop.AdamW"])
def test_spectral_lr_multiplier_scales_the_complex_update(float64_neuralop, opt_name):
    """With either optimizer the μP spectral multiplier scales the complex weight's step exactly
    (neuraloperator's AdamW normalises a complex entry by its modulus, torch's Adam by part: their
    steps differ by a shape-independent factor, and the multiplier acts the same on both)."""
    from neuralop.training import AdamW

    make = {"torch.Adam": torch.optim.Adam, "neuralop.AdamW": AdamW}[opt_name]
    name, grad, delta, mult = "fno_blocks.convs.0.weight.tensor", None, {}, {}
    for par in ("sp", "mup"):
        m = neuralop_fno((8, 8), width=16, depth=1)
        plan = parametrize(m, par, base=Shape(4, (2, 3)) if par == "mup" else None)
        w = plan.parameter(name)
        grad = torch.randn(w.shape, dtype=w.dtype, generator=torch.Generator().manual_seed(0)) if grad is None else grad
        w.grad = grad.clone()  # the same gradient, only this parameter steps
        before = w.detach().clone()
        make(plan.param_groups(1e-3, optimizer="adamw")).step()
        delta[par], mult[par] = w.detach() - before, plan[name].lr_mult["adamw"]
    assert mult["sp"] == 1.0 and mult["mup"] < 0.25
    assert delta["sp"].dtype == torch.complex128
    torch.testing.assert_close(delta["mup"], mult["mup"] * delta["sp"], rtol=1e-9, atol=1e-15)


def test_block_config_and_errors():
    assert FNOConfig(modes=4, dim=1).block == "neuralop"  # the default since muop 0.2 (results/neuralop)
    with pytest.raises(UsageError, match="block='modern'"):
        FNOConfig(modes=4, dim=1, block="modern")


@pytest.mark.parametrize("dim,modes,grid", [(1, 6, (32,)), (2, (4, 5), (16, 20)), (3, 3, (8, 8, 8))])
def test_neuralop_block_any_resolution_and_plan(dim, modes, grid):
    model = FNO(FNOConfig(modes=modes, dim=dim, width=8, depth=2, in_channels=2, out_channels=3, block="neuralop"))
    plan = parametrize(model, "mup", base=Shape(4, model.config.modes), seed=0)
    assert {e.name for e in plan.entries} == {n for n, _ in model.named_parameters()}
    assert torch.equal(model.layers[0].gate, torch.ones(8))  # the gain keeps its init (one)
    assert plan["layers.0.mlp_in.weight"].lr_mult["adam"] == 0.5 and plan["lifting.weight"].role == "input"
    for g in (grid, tuple(2 * n for n in grid)):
        y = model(torch.randn(2, 2, *g))
        assert y.shape == (2, 3, *g) and torch.isfinite(y).all()


def test_neuralop_block_gradients_against_finite_differences():
    from torch.func import functional_call

    from muop.fno import NeuralopLayer

    layer = NeuralopLayer(3, (2, 3), "gelu").double()
    with torch.no_grad():
        layer.gate.uniform_(0.5, 1.5)
    x = torch.randn(2, 3, 8, 6, dtype=torch.float64, requires_grad=True)
    names = [n for n, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for _, p in layer.named_parameters()]
    assert torch.autograd.gradcheck(
        lambda x, *ps: functional_call(layer, dict(zip(names, ps)), (x,)), (x, *params), eps=1e-6, atol=1e-6
    )
