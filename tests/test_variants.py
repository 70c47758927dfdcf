"""Rule-table variants and the constants tuned at the base (ParamConfig init_scale, multipliers,
overrides; muop.rules.table; muop.parametrization.Base): defaults change nothing, each knob moves
exactly what it names, old configs keep their identity, bad values are one-line errors."""

import math

import pytest

from muop import FNO, FNOConfig, Shape, make_plan
from muop.config import RunConfig, with_fields
from muop.data.prepare import content_key
from muop.errors import ConfigError
from muop.parametrization import Base
from muop.rules import MUP, SP, Role, table

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


def test_overrides_take_rows_or_column_groups_from_the_other_table():
    assert table("mup", {"output": "sp"})[Role.OUTPUT] == SP[Role.OUTPUT]
    assert all(table("mup", {"output": "sp"})[r] == MUP[r] for r in Role if r is not Role.OUTPUT)
    lr_only = table("mup", {"hidden.lr": "sp"})[Role.HIDDEN]
    assert (lr_only.init, lr_only.mult, lr_only.adam, lr_only.sgd) == (
        MUP[Role.HIDDEN].init,
        MUP[Role.HIDDEN].mult,
        SP[Role.HIDDEN].adam,
        SP[Role.HIDDEN].sgd,
    )
    # a whole row first, then the column groups, whatever the order given
    assert table("sp", {"output.init": "sp", "output": "mup"})[Role.OUTPUT].init == SP[Role.OUTPUT].init
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


def test_config_fields_reach_the_plan_and_old_configs_keep_their_identity():
    cfg = RunConfig.from_dict(
        {
            "model": {"modes": [8], "width": 32, "depth": 2},
            "parametrization": {"base_width": 16, "init_scale": 2.0, "overrides": {"output": "sp"}},
        }
    )
    base = cfg.parametrization.base_shape(cfg.model.fno(1, 1))
    assert base == Base(16, (8,), init_scale=2.0, overrides={"output": "sp"})
    classic = with_fields(RunConfig(), model={"block": "classic"})  # what configs without a block meant
    old = classic.to_dict()
    for name in ("block", "library", "name", "options", "residual"):  # added after these (issues #13, #15)
        del old["model"][name]
    for name in ("init_scale", "multipliers", "overrides", "base_depth", "depth_alpha"):
        del old["parametrization"][name]
    assert content_key(old) in classic.identities()
    assert content_key(old) not in cfg.identities()


@pytest.mark.parametrize(
    "pz, match",
    [
        ({"overrides": {"outptu": "sp"}}, "parametrization.overrides: unknown key 'outptu'"),
        ({"overrides": {"output": "xp"}}, "parametrization.overrides.output='xp'"),
        ({"overrides": {"output.lrr": "sp"}}, "unknown key 'output.lrr'"),
        ({"multipliers": {"output": -1}}, r"parametrization.multipliers.output=-1"),
        ({"multipliers": {"readout": 2}}, "unknown role 'readout'"),
        ({"init_scale": 0}, "parametrization.init_scale=0.0"),
    ],
)
def test_bad_values_are_one_line_config_errors(pz, match):
    with pytest.raises(ConfigError, match=match) as err:
        RunConfig.from_dict({"parametrization": pz})
    assert "\n" not in str(err.value)


def test_the_trainer_builds_the_tuned_plan(tiny):
    from muop.config import with_fields
    from muop.data import prepare_data
    from muop.trainer import build

    data = prepare_data(tiny.data)
    plain = build(tiny, data).plan
    tuned = build(with_fields(tiny, parametrization={"init_scale": 3.0, "multipliers": {"output": 0.5}}), data).plan
    for a, b in zip(plain.entries, tuned.entries):
        assert b.init_std == pytest.approx(3.0 * a.init_std) and b.mult == pytest.approx(
            a.mult * (0.5 if a.role == "output" else 1.0)
        )
