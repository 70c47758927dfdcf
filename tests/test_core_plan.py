"""Plans (muop.core.plan): the rules evaluated for one model, against hand-computed numbers: width and
modes, the constants tuned at the base (init scale, multipliers, rule overrides), and depth.

The depth expectations are written out from the formulas of Depth-μP (arXiv 2310.02244) and
CompleteP (arXiv 2505.01618) for a residual branch multiplier a = (L/L_base)^-alpha: forward
multiplier a (on the branch's output layer), Adam LR (L/L_base)^(alpha-1), SGD LR
(L/L_base)^(2 alpha-1), Adam eps a.
"""

import json
import math

import pytest

from muop.core import Base, Shape, make_plan
from muop.errors import ConfigError, UsageError
from muop.models import FNO, FNOConfig


def test_fno_plan_numbers_against_formulas():
    """A concrete model: width 32 -> 128 (m = 4), modes (4, 4) -> (16, 16)."""
    cfg = FNOConfig(modes=(16, 16), width=128, depth=2)
    plan = make_plan(FNO(cfg), "mup", base=Shape(32, (4, 4)))
    g = math.sqrt(2 * math.log(4) / (2 * math.log(16)))
    m = 4.0
    sp = plan["layers.0.spectral.weight"]
    assert sp.init_std == pytest.approx(g / math.sqrt(128))
    assert sp.lr_mult["adam"] == pytest.approx(g / m)
    assert sp.lr_mult["sgd"] == pytest.approx(1.0)
    pw = plan["layers.0.pointwise.weight"]
    assert pw.init_std == pytest.approx(1 / math.sqrt(128)) and pw.lr_mult["adam"] == pytest.approx(1 / m)
    out = plan["projection_out.weight"]  # fan_in = 2*width = 256, base 64
    assert out.mult == pytest.approx(1 / m)
    assert out.init_std == pytest.approx(math.sqrt(m) / math.sqrt(256))
    assert out.lr_mult["adam"] == 1.0 and out.lr_mult["sgd"] == pytest.approx(m)
    lift = plan["lifting.weight"]  # fan_in = 1 + 2 grid coordinates
    assert (
        lift.init_std == pytest.approx(1 / math.sqrt(3))
        and lift.lr_mult["adam"] == 1.0
        and lift.lr_mult["sgd"] == pytest.approx(m)
    )
    assert plan["layers.0.spectral.bias"].init_std == 0.0
    assert plan["projection_out.bias"].lr_mult["sgd"] == 1.0  # output bias does not grow with width


@pytest.mark.parametrize("dim,modes", [(1, 12), (2, (6, 9)), (3, 4)])
def test_mup_equals_sp_at_base_shape(dim, modes):
    cfg = FNOConfig(modes=modes, dim=dim, width=24, depth=2)
    model = FNO(cfg)
    sp = make_plan(model, "sp")
    mup = make_plan(model, "mup", base=cfg.shape)
    for a, b in zip(sp.entries, mup.entries):
        assert a.name == b.name
        assert a.init_std == b.init_std and a.mult == b.mult  # exactly, not approximately
        assert dict(a.lr_mult) == dict(b.lr_mult) and dict(a.wd_mult) == dict(b.wd_mult)


def test_mup_spectral_init_shrinks_by_mode_factor():
    a = FNO(FNOConfig(modes=(3, 3), width=32, depth=1))
    b = FNO(FNOConfig(modes=(24, 24), width=32, depth=1))
    base = Shape(32, (3, 3))
    pa = make_plan(a, "mup", base=base)["layers.0.spectral.weight"]
    pb = make_plan(b, "mup", base=base)["layers.0.spectral.weight"]
    assert pb.init_std / pa.init_std == pytest.approx(math.sqrt(math.log(3) / math.log(24)))
    assert pb.lr_mult["adam"] / pa.lr_mult["adam"] == pytest.approx(0.588, abs=5e-4)


def test_plan_table_is_plain_json_and_sp_allows_one_mode():
    model = FNO(FNOConfig(modes=1, dim=1, width=8, depth=1))  # K = 1: fine for SP (no log-K factor)
    rows = make_plan(model, "sp").table()
    assert {r["name"] for r in rows} == {n for n, _ in model.named_parameters()}
    assert json.loads(json.dumps(rows)) == rows
    with pytest.raises(ValueError, match="K >= 2"):
        make_plan(model, "mup", base=Shape(4, (1,)), shape=Shape(8, (2,)))


# ---------------------------------------------------------------- the constants tuned at the base
MODEL = FNOConfig(dim=1, width=32, modes=(8,), depth=2)
BASE = dict(width=16, modes=(4,))


def rows(base):
    """``{role: (init_std, mult, adam lr mult)}`` of the plan (one entry per role is enough: they agree)."""
    out = {}
    for e in make_plan(FNO(MODEL), "mup", base=base).entries:
        out.setdefault(e.role, (e.init_std, e.mult, e.lr_mult["adam"]))
    return out


def test_base_at_its_defaults_plans_what_its_shape_does():
    assert rows(Base(**BASE)) == rows(Shape(**BASE))
    # and μP still equals SP at the base shape
    at_base = Base(32, (8,))
    sp = [(e.init_std, e.mult, dict(e.lr_mult)) for e in make_plan(FNO(MODEL), "sp", base=at_base).entries]
    mup = [(e.init_std, e.mult, dict(e.lr_mult)) for e in make_plan(FNO(MODEL), "mup", base=at_base).entries]
    assert sp == mup


def test_an_override_changes_only_its_role_in_the_plan():
    """The plan of a Base with ``overrides`` (the table part: tests/test_core_rules.py)."""
    plain, variant = rows(Shape(**BASE)), rows(Base(**BASE, overrides={"output": "sp"}))
    assert variant["output"] == (
        1 / math.sqrt(MODEL.width * 2),
        1.0,
        1.0,
    )  # SP readout: std 1/sqrt(fan_in), no multiplier
    assert {k: v for k, v in variant.items() if k != "output"} == {k: v for k, v in plain.items() if k != "output"}


def test_init_scale_and_role_multipliers_move_only_what_they_name():
    plain = rows(Shape(**BASE))
    tuned = rows(Base(**BASE, init_scale=0.5, multipliers={"output": 4.0, "input": 2.0}))
    for role, (std, mult, lr) in plain.items():
        factor = {"output": 4.0, "input": 2.0}.get(role, 1.0)
        assert tuned[role] == pytest.approx((std * 0.5, mult * factor, lr), rel=1e-12)


# ---------------------------------------------------------------- depth (issue #15)
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


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: Shape(16, (4,), 0), "depth=0"),
        (lambda: Base(16, (4,), 2, alpha=0.25), "alpha=0.25"),
        (lambda: Base(16, (4,), 2, alpha=1.5), "alpha=1.5"),
    ],
)
def test_bad_depth_input_is_one_line(make, match):
    """The shapes' part of bad depth input (the models', configs' and workflows' in their own test modules)."""
    with pytest.raises((UsageError, ConfigError)) as e:
        make()
    assert match in str(e.value) and "\n" not in str(e.value)
