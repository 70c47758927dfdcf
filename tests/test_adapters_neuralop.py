"""The neuraloperator adapter (muop.adapters.neuralop): muop.parametrize on neuraloperator 2.x models
(recognition, rules, SP equality, depth, errors), and to_muop's copy of the default FNO, checked
against neuraloperator's own in float64."""

import copy
import io
import math
import pathlib
import re
import warnings

import pytest
import torch

import muop
from muop import make_plan, parametrize
from muop.adapters import to_muop
from muop.core import iter_specs, multiplier
from muop.errors import UsageError
from muop.models import FNO
from muop.parametrization import Base, Shape

pytest.importorskip("neuralop")
warnings.filterwarnings("ignore", module="neuralop")
from neuralop.models import FNO as NFNO  # noqa: E402
from neuralop.models import TFNO  # noqa: E402

#: The supported variants, each small: (constructor, keyword arguments).
VARIANTS = {
    "fno1d": (NFNO, dict(n_modes=(8,))),
    "fno2d": (NFNO, dict(n_modes=(8, 6))),
    "fno3d": (NFNO, dict(n_modes=(4, 4, 4))),
    "tfno_tucker": (TFNO, dict(n_modes=(8, 6), rank=0.3)),
    "cp": (NFNO, dict(n_modes=(8, 6), factorization="CP", rank=0.3)),
    "tt": (NFNO, dict(n_modes=(8, 6), factorization="TT", rank=0.3)),
    "skips_norm": (
        NFNO,
        dict(
            n_modes=(8, 6),
            fno_skip="soft-gating",
            channel_mlp_skip="linear",
            norm="group_norm",
            lifting_channel_ratio=0,
        ),
    ),
    "identity_batchnorm": (
        NFNO,
        dict(n_modes=(8,), fno_skip="identity", channel_mlp_skip=None, norm="batch_norm", preactivation=True),
    ),
    "no_mlp_instancenorm": (
        NFNO,
        dict(n_modes=(8, 6), use_channel_mlp=False, norm="instance_norm", positional_embedding=None),
    ),
}


def build(variant: str, width: int = 16, seed: int = 0, **over):
    cls, kw = VARIANTS[variant]
    torch.manual_seed(seed)
    return cls(**{"n_layers": 2, **kw, **over}, in_channels=2, out_channels=1, hidden_channels=width)


def _x(model, batch=2):
    d = model.n_dim
    return torch.randn(batch, 2, *([12] * d), generator=torch.Generator().manual_seed(5))


def _state(model):
    return {k: v.detach().clone() for k, v in [*model.named_parameters(), *model.named_buffers()]}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_parameter_gets_a_rule_and_mup_at_own_shape_is_sp(variant):
    ref = build(variant)
    a, b = copy.deepcopy(ref), copy.deepcopy(ref)
    plan_sp = parametrize(a, "sp")
    plan_mup = parametrize(b, "mup")  # base defaults to the model's own shape
    names = {n for n, _ in ref.named_parameters()}
    assert {e.name for e in plan_mup.entries} == names  # none left over
    for e in plan_mup.entries:
        assert e.init_mult == e.mult == 1.0 and set(e.lr_mult.values()) == {1.0}, e.name
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    for ga, gb in zip(plan_sp.param_groups(1e-3), plan_mup.param_groups(1e-3)):
        assert ga["lr"] == gb["lr"] and ga["muop_names"] == gb["muop_names"]
    x = _x(ref)
    a.eval(), b.eval(), ref.eval()
    assert torch.equal(a(x), b(x))
    if variant not in ("tfno_tucker", "cp", "tt"):  # dense: SP keeps neuraloperator's own init exactly
        assert all(torch.equal(v, _state(ref)[k]) for k, v in sa.items())
        assert torch.equal(a(x), ref(x))


def test_shape_and_depth_are_read_from_the_model():
    m = build("fno2d", width=24, n_modes=(16, 12))
    make_plan(m, "sp")
    assert m.muop_shape == Shape(24, (8, 7)) and m.muop_depth == 2


def test_mup_rules_on_the_dense_fno():
    base = Shape(8, (4, 3))
    m = build("fno2d", width=32)
    ref = copy.deepcopy(m)
    plan = parametrize(m, "mup", base=base)
    g = muop.mode_factor((4, 4), (4, 3))
    spec = plan["fno_blocks.convs.0.weight.tensor"]
    assert (
        spec.role == "spectral" and spec.init_mult == pytest.approx(g) and spec.lr_mult["adam"] == pytest.approx(g / 4)
    )
    assert plan["lifting.fcs.0.weight"].role == "input" and plan["lifting.fcs.0.weight"].lr_mult["adam"] == 1.0
    assert plan["lifting.fcs.1.weight"].lr_mult["adam"] == pytest.approx(0.25)
    assert plan["fno_blocks.channel_mlp.1.fcs.0.weight"].lr_mult["adam"] == pytest.approx(0.25)
    assert plan["fno_blocks.fno_skips.0.conv.weight"].role == "hidden"
    gate = plan["fno_blocks.channel_mlp_skips.0.weight"]
    assert gate.role == "bias" and gate.lr_mult["sgd"] == pytest.approx(4.0)
    assert torch.equal(m.fno_blocks.channel_mlp_skips[0].weight, torch.ones(1, 32, 1, 1))  # kept
    out = plan["projection.fcs.1.weight"]
    assert out.role == "output" and out.mult == pytest.approx(0.25) and out.init_mult == pytest.approx(2.0)
    # the init multipliers scale neuraloperator's own values
    torch.testing.assert_close(m.fno_blocks.convs[0].weight.tensor, ref.fno_blocks.convs[0].weight.tensor * g)
    torch.testing.assert_close(m.projection.fcs[1].weight, ref.projection.fcs[1].weight * 2.0)
    torch.testing.assert_close(m.lifting.fcs[0].bias, ref.lifting.fcs[0].bias)
    # the readout multiplier scales the readout's input: W (x/4) + b
    seen, readout = {}, m.projection.fcs[1]
    readout.register_forward_pre_hook(lambda mod, args: seen.update(x=args[0]), prepend=True)
    readout.register_forward_hook(lambda mod, args, out: seen.update(y=out))
    m(_x(m))
    y = torch.nn.functional.conv1d(seen["x"], m.projection.fcs[1].weight) * 0.25 + m.projection.fcs[1].bias[:, None]
    torch.testing.assert_close(seen["y"], y)


def test_parametrizing_twice_does_not_compound():
    m = build("fno1d", width=32)
    parametrize(m, "mup", base=Shape(8, (3,)))
    once = _state(m)
    parametrize(m, "mup", base=Shape(8, (3,)))
    assert all(torch.equal(v, _state(m)[k]) for k, v in once.items())
    parametrize(m, "sp")  # back to neuraloperator's own init (to round-off)
    ref = _state(build("fno1d", width=32))
    for k, v in _state(m).items():
        torch.testing.assert_close(v, ref[k], rtol=1e-6, atol=0)


@pytest.mark.parametrize("variant", ["tfno_tucker", "cp", "tt"])
def test_factorized_weight_has_the_dense_init_std(variant):
    """The reconstructed weight gets E|W|² = (g/sqrt(in))², like a dense spectral weight."""
    base, width = Shape(16, (2, 3)), 64
    g = muop.mode_factor((4, 4), (2, 3))
    rms = []
    for seed in range(4):
        m = build(variant, width=width, seed=seed)
        parametrize(m, "mup", base=base)
        w = m.fno_blocks.convs[0].weight.to_tensor()
        rms.append(w.abs().pow(2).mean().sqrt().item())
    # One seed's reconstructed RMS spreads by at most 2.3% (TT; Tucker 0.8%, CP 0.6%; 12 seeds measured),
    # so the mean of 4 is within 6% (5 standard errors); a missing mode factor g = 0.80 would be 24% off.
    assert sum(rms) / len(rms) == pytest.approx(g / math.sqrt(width), rel=0.06)


def test_factor_roles():
    plan = make_plan(build("tfno_tucker", width=32), "mup", base=Shape(8, (4, 4)))
    w = "fno_blocks.convs.0.weight"
    assert plan[f"{w}.core"].role == "spectral" and plan[f"{w}.core"].lr_mult["adam"] == pytest.approx(0.25)
    assert [plan[f"{w}.factors.factor_{i}"].lr_mult["adam"] for i in range(4)] == pytest.approx([0.25, 0.25, 1, 1])
    plan = make_plan(build("cp", width=32), "mup", base=Shape(8, (4, 4)))
    assert plan[f"{w}.factors.factor_0"].role == "spectral" and plan[f"{w}.weights"].role == "bias"
    assert plan[f"{w}.factors.factor_2"].role == "input" and plan[f"{w}.factors.factor_2"].fan_in == 1


def test_base_may_be_a_smaller_model_of_the_same_kind():
    big, small = build("tfno_tucker", width=32), build("tfno_tucker", width=8, n_modes=(4, 4))
    by_model = make_plan(big, "mup", base=small)
    by_shape = make_plan(copy.deepcopy(big), "mup", base=Shape(8, (2, 3)))
    assert [(e.name, e.init_mult, e.mult, e.lr_mult) for e in by_model.entries] == [
        (e.name, e.init_mult, e.mult, e.lr_mult) for e in by_shape.entries
    ]
    deeper = build("tfno_tucker", width=8, n_layers=3)  # depth is not scaled: allowed
    assert make_plan(big, "mup", base=deeper).base == Shape(8, (4, 4))


def test_metadata_survives_deepcopy_pickle_and_compile():
    m = build("fno1d", width=32)
    parametrize(m, "mup", base=Shape(8, (3,)))
    x = _x(m)
    y = m(x)
    clone = copy.deepcopy(m)
    assert multiplier(clone.projection.fcs[1], "weight") == 0.25
    torch.testing.assert_close(clone(x), y)
    buf = io.BytesIO()
    torch.save(m, buf)
    buf.seek(0)
    torch.testing.assert_close(torch.load(buf, weights_only=False)(x), y)
    compiled = torch.compile(m, backend="eager")
    assert [e.name for e in make_plan(compiled, "mup", base=Shape(8, (3,))).entries] == [n for n, *_ in iter_specs(m)]
    torch.testing.assert_close(compiled(x), y)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: build("fno2d", separable=True), r"separable=True.*supported: neuralop\.models\.FNO"),
        (lambda: build("fno2d", max_n_modes=(12, 8)), "max_n_modes"),
        (lambda: build("fno2d", n_modes=(7, 6)), r"n_modes=\(7, 6\)"),
    ],
)
def test_unsupported_options_are_one_line_errors(make, match):
    with pytest.raises(UsageError, match=match) as err:
        parametrize(make(), "mup")
    assert "\n" not in str(err.value)


def test_unsupported_neuralop_model_is_named():
    from neuralop.models import UQNO

    m = UQNO(base_model=NFNO(n_modes=(4,), in_channels=1, out_channels=1, hidden_channels=4, n_layers=1))
    with pytest.raises(UsageError, match=r"neuralop's UQNO; supported: neuralop\.models\.FNO and TFNO"):
        parametrize(m, "mup")


def test_base_of_another_kind_is_an_error():
    with pytest.raises(UsageError, match="same kind"):
        make_plan(build("fno2d", width=32), "mup", base=build("tfno_tucker", width=8))
    with pytest.raises(UsageError, match="same kind"):
        make_plan(build("fno1d", width=32), "mup", base=muop.FNO(muop.FNOConfig(modes=5, dim=1, width=8)))
    with pytest.raises(UsageError, match="expected a muop.Shape"):
        make_plan(build("fno1d", width=32), "mup", base=(8, 4))


def test_the_example_in_docs_neuralop_runs():
    """docs/neuralop.md: the first python block runs as written, and its model is μP-parametrized."""
    text = (pathlib.Path(__file__).parents[1] / "docs" / "neuralop.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    ns: dict = {}
    exec(compile(code, "docs/neuralop.md", "exec"), ns)
    plan, model = ns["plan"], ns["model"]
    assert plan.base == Shape(8, (4, 5)) and plan.shape == Shape(32, (8, 9))
    assert multiplier(model.projection.fcs[1], "weight") == 0.25
    assert math.isfinite(float(ns["loss"].detach()))


def test_a_model_inside_another_module_is_named():
    wrapper = torch.nn.Sequential(build("fno1d"))
    with pytest.raises(UsageError, match="Sequential contains neuralop's FNO at '0'; pass that model"):
        parametrize(wrapper, "mup")


def test_the_readme_example_for_neuralop_users_runs():
    """README, "Already using neuraloperator?": the example runs as written; its optimizer has μP's
    per-group learning rates relative to the proxy (hidden 1/4, spectral 1/4·g), and the model
    is the one built (its init only rescaled)."""
    text = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    section = text[text.index("## Already using neuraloperator?") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    plan, opt = ns["plan"], ns["optimizer"]
    assert plan.base == Shape(16, (4, 5)) and plan.shape == Shape(64, (8, 9))
    g = math.sqrt((math.log(4) + math.log(5)) / (math.log(8) + math.log(9)))
    lrs = {round(group["lr"] / 3e-3, 12) for group in opt.param_groups}
    assert lrs == {1.0, 0.25, round(0.25 * g, 12)}
    assert math.isfinite(float(ns["loss"].detach()))


# ---------------------------------------------------------------- depth: identity skips are residual branches
@pytest.mark.parametrize("mlp", [True, False])
def test_neuralop_models_with_identity_skips_scale_their_branches(mlp):
    import neuralop.models as neuralop

    def build():
        torch.manual_seed(0)
        return neuralop.FNO(
            n_modes=(8,),
            in_channels=1,
            out_channels=1,
            hidden_channels=16,
            n_layers=8,
            fno_skip="identity",
            channel_mlp_skip="identity",
            use_channel_mlp=mlp,
        )

    x = torch.randn(2, 1, 32, generator=torch.Generator().manual_seed(1))
    own, at_base, deep = build(), build(), build()
    parametrize(at_base, "mup", base=Base(16, (5,), 8, alpha=1.0))  # neuralop's n_modes 8 = muop's K 5
    assert at_base.muop_shape == Shape(16, (5,), 8) and at_base(x).equal(own(x))
    plan = parametrize(deep, "mup", base=Base(16, (5,), 2, alpha=1.0))
    out = "fno_blocks.channel_mlp.0.fcs.1" if mlp else "fno_blocks.convs.0"
    assert plan[f"{out}.weight" if mlp else f"{out}.weight.tensor"].mult == pytest.approx(0.25)
    assert plan["fno_blocks.convs.0.bias"].branch == ("inner" if mlp else "out")
    assert plan["lifting.fcs.0.weight"].branch == "" and plan["lifting.fcs.0.weight"].mult == 1.0
    seen = []
    for model in (own, deep):  # block 0 sees the same input in both: its branch output is scaled by a = 1/4
        layer = model.get_submodule(out)
        h = layer.register_forward_hook(lambda _m, _i, o: seen.append(o.detach()))
        model(x)
        h.remove()
    torch.testing.assert_close(seen[1], 0.25 * seen[0])


def test_neuralop_models_with_other_skips_do_not_scale_with_depth():
    import neuralop.models as neuralop

    model = neuralop.FNO(n_modes=(8,), in_channels=1, out_channels=1, hidden_channels=16, n_layers=4)  # linear skips
    plan = make_plan(model, "mup", base=Shape(8, (5,)))
    assert model.muop_shape.depth is None and all(not e.branch for e in plan.entries)


# ---------------------------------------------------------------- to_muop against neuraloperator's FNO, in float64
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
    theirs = neuralop_fno((6, 6), positional_embedding=None, projection_channel_ratio=3, depth=1)
    x = torch.randn(2, 2, 12, 12, dtype=torch.float64)
    torch.testing.assert_close(to_muop(theirs)(x), theirs(x), rtol=0, atol=1e-10)


def test_to_muop_names_what_differs_from_the_default_layout():
    with pytest.raises(UsageError, match="fno_skip='linear'.*norm=None"):
        to_muop(neuralop_fno((8,), fno_skip="soft-gating", norm="group_norm").float())


def test_adam_step_on_complex_weights_equals_muop_real_pair(float64_neuralop):
    """torch.optim.Adam treats a complex entry as (real, imag): one μP step on neuraloperator's FNO
    equals the same step on muop's copy, whose spectral weights are real pairs."""
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
