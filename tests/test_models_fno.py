"""muop's n-d FNO (muop.models.fno): shapes at any resolution, parameter and FLOP counts, its config,
both blocks (classic and neuraloperator-style) and their gradients. The neuraloperator-style block
against neuraloperator's own FNO: tests/test_adapters_neuralop.py."""

import pytest
import torch
from torch.func import functional_call

from muop.core import Shape
from muop.errors import ConfigError, UsageError
from muop.models import FNO, FNOConfig, FourierLayer, NeuralopLayer, fno_flops
from muop.parametrization import parametrize


@pytest.mark.parametrize("dim,modes,grid", [(1, 6, (32,)), (2, (4, 5), (16, 20)), (3, 3, (8, 8, 8))])
def test_shapes_and_any_resolution(dim, modes, grid):
    model = FNO(FNOConfig(modes=modes, dim=dim, width=8, depth=2, in_channels=2, out_channels=3))
    for g in (grid, tuple(2 * n for n in grid), tuple(max(2, n // 2) for n in grid)):
        y = model(torch.randn(2, 2, *g))
        assert y.shape == (2, 3, *g)
        assert torch.isfinite(y).all()


def test_parameter_count_formula():
    """Classic block. P: (1+2)*w + w; per layer: spectral 2K1*K2*w*w*2 + w, pointwise w*w; Q: w*2w + 2w, 2w*1 + 1."""
    w, k1, k2, depth = 32, 8, 9, 4
    model = FNO(FNOConfig(modes=(k1, k2), width=w, depth=depth, block="classic"))
    expected = 3 * w + w + depth * (2 * k1 * k2 * w * w * 2 + w + w * w) + (w * 2 * w + 2 * w) + (2 * w + 1)
    assert sum(p.numel() for p in model.parameters()) == expected


def test_output_resolution_consistency_is_approximate():
    """Discretization invariance of the whole FNO: a smooth input on 32² and 64² gives close outputs."""
    torch.manual_seed(0)
    model = FNO(FNOConfig(modes=(4, 4), width=16, depth=2)).double()

    def u(n):
        t = torch.arange(n, dtype=torch.float64) / n
        x1, x2 = torch.meshgrid(t, t, indexing="ij")
        return (torch.sin(2 * torch.pi * x1) * torch.cos(2 * torch.pi * x2))[None, None]

    y32, y64 = model(u(32)), model(u(64))
    rel = (y64[..., ::2, ::2] - y32).norm() / y32.norm()
    assert rel < 0.05


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(modes=8), "also give dim"),
        (dict(modes=(4, 4), dim=3), "entries"),
        (dict(modes=4, dim=4), "dim=4"),
        (dict(modes=4, dim=1, width=0), "width=0"),
        (dict(modes=4, dim=1, activation="swish"), "activation='swish'"),
    ],
)
def test_config_errors_name_the_field(kw, match):
    with pytest.raises(ValueError, match=match):
        FNOConfig(**kw)


def test_wrong_channel_count_is_a_clear_error():
    model = FNO(FNOConfig(modes=4, dim=1, width=8, depth=1, in_channels=2))
    with pytest.raises(ValueError, match="in_channels=2"):
        model(torch.randn(1, 3, 16))


def test_with_shape_builds_proxy_and_target_configs():
    cfg = FNOConfig(modes=(8, 8), width=32, depth=3, in_channels=2)
    proxy = cfg.with_shape(width=16, modes=4)
    assert proxy.shape == Shape(16, (4, 4)) and proxy.depth == 3 and proxy.in_channels == 2
    assert cfg.with_shape(modes=(6, 9)).modes == (6, 9)


def test_fno_flops_against_a_hand_count():
    # 1-D, N = 8 points, width w = 2, K = 2 modes, one classic layer, in = out = 1, projection hidden 2w = 4
    cfg = FNOConfig(modes=2, dim=1, width=2, depth=1, block="classic")
    lifting = 2 * 8 * (1 + 1) * 2  # input channel + 1 coordinate -> w
    pointwise = 2 * 8 * 2 * 2  # w -> w at every point
    spectral = 8 * 2 * 2 * 2  # 2 modes, one complex w×w product each = 8·w² real flops
    ffts = 2 * 2.5 * 8 * 3 * 2  # forward + inverse, 2.5·N·log2(N) per channel, log2(8) = 3
    projection = 2 * 8 * 2 * 4 + 2 * 8 * 4 * 1  # w -> 4 -> 1
    assert fno_flops(cfg, (8,)) == lifting + pointwise + spectral + ffts + projection == 624


def test_fno_flops_grow_linearly_in_depth():
    flops = [fno_flops(FNOConfig(modes=(4, 5), width=8, depth=depth), (16, 20)) for depth in (1, 2, 3, 6)]
    per_layer = flops[1] - flops[0]
    assert per_layer > 0
    assert flops[2] - flops[1] == pytest.approx(per_layer)
    assert flops[3] - flops[0] == pytest.approx(5 * per_layer)


def test_fourier_layer_gradients_against_finite_differences():
    """The layer adds the pointwise path in place on the spectral output; check every gradient."""
    layer = FourierLayer(3, (2, 3), "gelu").double()
    x = torch.randn(2, 3, 8, 6, dtype=torch.float64, requires_grad=True)
    names = [n for n, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for _, p in layer.named_parameters()]

    def f(x, *ps):
        return functional_call(layer, dict(zip(names, ps)), (x,))

    assert torch.autograd.gradcheck(f, (x, *params), eps=1e-6, atol=1e-6)


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
    layer = NeuralopLayer(3, (2, 3), "gelu").double()
    with torch.no_grad():
        layer.gate.uniform_(0.5, 1.5)
    x = torch.randn(2, 3, 8, 6, dtype=torch.float64, requires_grad=True)
    names = [n for n, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for _, p in layer.named_parameters()]
    assert torch.autograd.gradcheck(
        lambda x, *ps: functional_call(layer, dict(zip(names, ps)), (x,)), (x, *params), eps=1e-6, atol=1e-6
    )


def test_bad_residual_is_one_line():
    """The models' part of bad depth input (the shapes', configs' and workflows' in their own test modules)."""
    with pytest.raises((UsageError, ConfigError)) as e:
        FNOConfig(modes=4, dim=1, residual="both")
    assert "residual='both'" in str(e.value) and "\n" not in str(e.value)
