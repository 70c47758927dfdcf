"""Depth (issue #15): residual FNO blocks, the depth exponents of the rule table, and their checks.

Expected numbers are written out from the formulas of Depth-μP (arXiv 2310.02244) and CompleteP
(arXiv 2505.01618) for a residual branch multiplier a = (L/L_base)^-alpha:
forward multiplier a (on the branch's output layer), Adam LR (L/L_base)^(alpha-1),
SGD LR (L/L_base)^(2 alpha-1), Adam eps a.
"""

from __future__ import annotations

import dataclasses
import os

import pytest
import torch

import muop.rules as rules
from muop import FNO, FNOConfig, cli, make_optimizer, make_plan, parametrize
from muop.config import ConfigError, RunConfig
from muop.coord_check import CoordCheckConfig, coord_check
from muop.errors import UsageError
from muop.parametrization import Base, Shape
from muop.sweep import Sweep
from muop.transfer import target_config

# L = 8 blocks against a base of 2: m_L = 4.
#            alpha: (mult a, Adam LR, SGD LR, Adam eps)
EXPECTED = {0.5: (0.5, 0.5, 1.0, 0.5), 1.0: (0.25, 1.0, 4.0, 0.25)}
BRANCH = ("layers.3.spectral.weight", "layers.3.spectral.bias", "layers.3.pointwise.weight")
TRUNK = (
    "lifting.weight",
    "lifting.bias",
    "projection_hidden.weight",
    "projection_hidden.bias",
    "projection_out.weight",
    "projection_out.bias",
)


def _fno(depth: int, width: int = 16, block: str = "classic", residual: str = "pre") -> FNO:
    return FNO(FNOConfig(modes=4, dim=1, width=width, depth=depth, block=block, residual=residual))


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_depth_rules_match_the_formulas(alpha):
    mult, adam, sgd, eps = EXPECTED[alpha]
    plan = make_plan(_fno(8), "mup", base=Base(16, (4,), 2, alpha=alpha))
    for name in BRANCH:
        e = plan[name]
        assert (e.depth_ratio, e.branch_mult) == pytest.approx((4.0, mult))
        assert e.mult == pytest.approx(mult) and e.eps_mult == pytest.approx(eps)
        assert e.lr_mult["adam"] == pytest.approx(adam) and e.lr_mult["adamw"] == pytest.approx(adam)
        assert e.lr_mult["sgd"] == pytest.approx(sgd)
        assert e.init_std == pytest.approx(
            0.0 if name.endswith("bias") else 1 / 16**0.5
        )  # init does not scale with depth
    for name in TRUNK:  # lifting and projection never scale with depth
        e = plan[name]
        assert (e.mult, e.lr_mult["adam"], e.lr_mult["sgd"], e.eps_mult) == (1.0, 1.0, 1.0, 1.0)


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_multi_layer_branch_scales_once_and_depth_composes_with_width(alpha):
    mult, adam, sgd, _ = EXPECTED[alpha]
    plan = make_plan(_fno(8, width=32, block="neuralop"), "mup", base=Base(16, (4,), 2, alpha=alpha))
    out, inner = plan["layers.5.mlp_out.weight"], plan["layers.5.mlp_in.weight"]
    assert out.mult == pytest.approx(mult) and inner.mult == 1.0  # a sits on the branch's output layer only
    for e in (out, inner, plan["layers.5.pointwise.weight"]):  # hidden: width m_in = 2 times depth
        assert e.lr_mult["adam"] == pytest.approx(adam / 2) and e.lr_mult["sgd"] == pytest.approx(sgd)
    spectral = plan["layers.5.spectral.weight"]  # g = 1 (same modes)
    assert spectral.mult == 1.0 and spectral.lr_mult["adam"] == pytest.approx(adam / 2)
    bias = plan["layers.5.mlp_out.bias"]
    assert bias.lr_mult["adam"] == pytest.approx(adam) and bias.lr_mult["sgd"] == pytest.approx(2 * sgd)


def test_sp_never_scales_with_depth():
    plan = make_plan(_fno(8), "sp", base=Base(16, (4,), 2, alpha=1.0))
    assert all((e.mult, e.lr_mult["adam"], e.lr_mult["sgd"], e.eps_mult) == (1.0, 1.0, 1.0, 1.0) for e in plan.entries)


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


def _bad_table() -> dict:
    """μP with the Adam depth exponent dropped (LR ∝ a^-1 = m_L^alpha instead of m_L^(alpha-1))."""
    depth_scaled = (rules.Role.HIDDEN, rules.Role.SPECTRAL, rules.Role.BIAS)
    return {
        role: dataclasses.replace(r, adam=dataclasses.replace(r.adam, L=0.0)) if role in depth_scaled else r
        for role, r in rules.MUP.items()
    }


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_coordinate_check_catches_a_wrong_depth_exponent(monkeypatch, alpha):
    """On the classic block, where the depth rule was derived and measured (results/depth); on the
    neuralop block (a two-layer branch) the rule is a heuristic and a dropped exponent at alpha 0.5
    moves the stream by only ~2.4x."""
    monkeypatch.setattr(rules, "TABLES", {**rules.TABLES, "bad": _bad_table()})
    torch.set_num_threads(1)  # many tiny ops: two threads on a shared 2-core machine are ~20x slower
    growth = {}
    for kind in ("mup", "bad", "sp"):
        cfg = CoordCheckConfig(
            axis="depth",
            sizes=(2, 16),
            parametrization=kind,
            alpha=alpha,
            seeds=1,
            steps=3,
            width=16,
            modes=4,
            grid=32,
            lr=1e-2,
            block="classic",
        )
        growth[kind] = {k: v["last_over_first"] for k, v in coord_check(cfg)["growth"].items()}
    for layer in ("blocks.last", "projection_hidden"):  # top of the residual stream and the head's hidden layer
        assert 0.5 < growth["mup"][layer] < 2.0
        assert growth["bad"][layer] > 2.5 and growth["sp"][layer] > 2.5
    assert 0.5 < growth["mup"]["output"] < 2.5


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: Shape(16, (4,), 0), "depth=0"),
        (lambda: Base(16, (4,), 2, alpha=0.25), "alpha=0.25"),
        (lambda: Base(16, (4,), 2, alpha=1.5), "alpha=1.5"),
        (lambda: FNOConfig(modes=4, dim=1, residual="both"), "residual='both'"),
        (lambda: RunConfig.from_dict({"parametrization": {"depth_alpha": 2.0}}), "parametrization.depth_alpha=2.0"),
        (lambda: RunConfig.from_dict({"parametrization": {"base_depth": 0}}), "parametrization.base_depth=0"),
        (lambda: RunConfig.from_dict({"model": {"depth": 0}}), "model.depth=0"),
        (lambda: RunConfig.from_dict({"model": {"library": "neuralop", "residual": "pre"}}), "model.residual"),
        (lambda: CoordCheckConfig(axis="depth", sizes=(2, 4), residual="none"), "residual='none'"),
        (
            lambda: Sweep(axis="depth", sizes=(2, 4), lrs=(1e-3,)).run_config(RunConfig(), "mup", 4, 1e-3, 0),
            "model.residual",
        ),
        (lambda: target_config(RunConfig(), {}, None, None, target_depth=8), "model.residual"),
    ],
)
def test_bad_depth_input_is_one_line(make, match):
    with pytest.raises((UsageError, ConfigError)) as e:
        make()
    assert match in str(e.value) and "\n" not in str(e.value)


def test_depth_configs_reach_the_plan():
    cfg = RunConfig.from_dict(
        {
            "model": {"modes": [4], "width": 16, "depth": 8, "residual": "pre"},
            "parametrization": {"base_depth": 2, "depth_alpha": 1.0},
        }
    )
    assert cfg.parametrization.base_shape(cfg.model.fno(1, 1)) == Base(16, (4,), 2, alpha=1.0)
    sweep = Sweep(axis="depth", sizes=(2, 8), lrs=(1e-3,))
    run = sweep.run_config(cfg, "mup", 8, 1e-3, 1)
    assert (run.model.depth, run.parametrization.base_depth, run.parametrization.depth_alpha) == (8, 2, 1.0)
    proxy = RunConfig.from_dict({"model": {"modes": [4], "width": 16, "depth": 2, "residual": "pre"}})
    target = target_config(proxy, {"lr": 3e-3}, [8], 32, target_depth=8)
    assert (
        target.model.depth,
        target.model.width,
        target.parametrization.base_depth,
        target.parametrization.base_width,
    ) == (8, 32, 2, 16)
    assert RunConfig().identities() & cfg.identities() == set()  # a depth config is not an old config


@pytest.mark.parametrize(
    "args,match",
    [
        (["coord-check", "--depths", "2,4", "--alpha", "0.3"], "alpha=0.3"),
        (["coord-check", "--depths", "0,4"], "sizes=[0, 4]"),
        (["sweep", "--depths", "2,4", "--lrs", "1e-3,1e-2,2"], "model.residual"),
        (["transfer", "--target-depth", "0"], "--target-depth"),
        (["coord-check", "--depths", "2,4", "--override", "hidden.lr"], "--override 'hidden.lr'"),
    ],
)
def test_cli_rejects_bad_depth_input(tmp_path, monkeypatch, capsys, args, match):
    """In this process, as tests/test_cli_input.py does: exit 2, one line, nothing written."""
    monkeypatch.chdir(tmp_path)
    try:
        code = cli.main([*args, "--out", "o"])
    except SystemExit as e:  # argparse's errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert match in err.strip().splitlines()[-1] and "Traceback" not in err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("mlp", [True, False])
def test_neuralop_models_with_identity_skips_scale_their_branches(mlp):
    neuralop = pytest.importorskip("neuralop.models")

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
    neuralop = pytest.importorskip("neuralop.models")
    model = neuralop.FNO(n_modes=(8,), in_channels=1, out_channels=1, hidden_channels=16, n_layers=4)  # linear skips
    plan = make_plan(model, "mup", base=Shape(8, (5,)))
    assert model.muop_shape.depth is None and all(not e.branch for e in plan.entries)


def test_a_neuralop_config_with_identity_skips_scales_with_depth_through_the_trainer(tiny):
    """The trainer takes the base depth from the built model's own shape: a neuraloperator FNO with
    identity skips (a residual model) at depth 8 against base depth 2 gets a = 4^-0.5 on its branch
    outputs; the same config without identity skips refuses base_depth (nothing scales)."""
    pytest.importorskip("neuralop")
    from muop.config import with_fields
    from muop.data import prepare_data
    from muop.trainer import build

    data = prepare_data(tiny.data)
    skips = {"fno_skip": "identity", "channel_mlp_skip": "identity"}
    cfg = with_fields(
        tiny, model={"library": "neuralop", "depth": 8, "options": skips}, parametrization={"base_depth": 2}
    )
    plan = build(cfg, data).plan
    mults = sorted({round(e.branch_mult, 12) for e in plan.entries})
    assert mults == [0.5, 1.0]  # branch parameters: a = (8/2)^-0.5; lifting and projection: 1
    with pytest.raises(ConfigError, match=r"parametrization.base_depth=2: the model has no residual blocks"):
        build(with_fields(cfg, model={"options": {}}), data)


def test_a_residual_model_needs_a_residual_base_model():
    big = FNO(FNOConfig(modes=4, dim=1, width=16, depth=8, residual="pre"))
    with pytest.raises(UsageError, match="same kind"):
        make_plan(big, "mup", base=FNO(FNOConfig(modes=4, dim=1, width=8, depth=2)))
    assert make_plan(big, "mup", base=FNO(FNOConfig(modes=4, dim=1, width=8, depth=2, residual="pre"))).base.depth == 2
