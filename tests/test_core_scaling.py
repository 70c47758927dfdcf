"""Per-parameter scaling metadata (muop.core.scaling): any module that declares its parameters gets a
plan, an undeclared parameter is named, and the metadata survives copies, pickling and compiling."""

import copy
import io

import pytest
import torch
from torch import nn

from muop import FNO, FNOConfig, make_plan, parametrize
from muop.core import ParamSpec, Role, Shape, declare, multiplier, set_multiplier


class MLP(nn.Module):
    """A non-FNO model: width-scaled MLP that declares its own scaling."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.inp = nn.Linear(3, width)
        self.hid = nn.Linear(width, width)
        self.out = nn.Linear(width, 2)
        self.muop_shape = Shape(width)
        declare(self.inp, "weight", ParamSpec(Role.INPUT, fan_in_dims=(1,), fan_out_dims=(0,), width_out=True))
        declare(
            self.hid,
            "weight",
            ParamSpec(Role.HIDDEN, fan_in_dims=(1,), fan_out_dims=(0,), width_in=True, width_out=True),
        )
        declare(self.out, "weight", ParamSpec(Role.OUTPUT, fan_in_dims=(1,), fan_out_dims=(0,), width_in=True))
        for m, wo in ((self.inp, True), (self.hid, True), (self.out, False)):
            declare(m, "bias", ParamSpec(Role.BIAS, fan_out_dims=(0,), width_out=wo))

    def forward(self, x):
        h = torch.relu(self.hid(torch.relu(self.inp(x))))
        return nn.functional.linear(h, self.out.weight * multiplier(self.out, "weight"), self.out.bias)


def test_engine_works_on_a_non_fno_module():
    model = MLP(256)
    plan = parametrize(model, "mup", base=Shape(64), seed=0)
    assert plan["hid.weight"].lr_mult["adam"] == pytest.approx(0.25)
    assert plan["out.weight"].mult == pytest.approx(0.25)
    assert multiplier(model.out, "weight") == pytest.approx(0.25)
    assert plan["inp.weight"].lr_mult["sgd"] == pytest.approx(4.0)
    assert model(torch.randn(5, 3)).shape == (5, 2)


def test_undeclared_parameter_is_named_in_the_error():
    model = MLP(8)
    model.extra = nn.Linear(8, 8)
    with pytest.raises(ValueError, match=r"extra\.weight"):
        make_plan(model, "mup", base=Shape(4))


def test_unknown_parametrization_and_missing_shape():
    with pytest.raises(ValueError, match="parametrization='mu'"):
        make_plan(MLP(8), "mu")
    with pytest.raises(ValueError, match="muop_shape"):
        make_plan(nn.Sequential(MLP(8)), "mup")


def _plan_rows(model, **kw):
    return [
        (e.name, e.init_std, e.mult, dict(e.lr_mult))
        for e in make_plan(model, "mup", base=Shape(16, (4, 4)), **kw).entries
    ]


def test_metadata_survives_deepcopy_pickle_state_dict_and_compile():
    model = FNO(FNOConfig(modes=(8, 8), width=64, depth=2))
    plan = parametrize(model, "mup", base=Shape(16, (4, 4)), seed=0)
    rows = _plan_rows(model)
    # deepcopy keeps specs and the forward multiplier that was set
    clone = copy.deepcopy(model)
    assert _plan_rows(clone) == rows
    assert multiplier(clone.projection_out, "weight") == plan["projection_out.weight"].mult == 0.25
    # pickling the whole module
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    assert _plan_rows(torch.load(buf, weights_only=False)) == rows
    # a state_dict round trip into a freshly built model gives the same weights and the same plan
    fresh = FNO(model.config)
    fresh.load_state_dict(model.state_dict())
    assert _plan_rows(fresh) == rows
    # torch.compile wraps the modules; names and plan are unchanged
    compiled = torch.compile(model, backend="eager")
    assert _plan_rows(compiled) == rows
    x = torch.randn(2, 1, 16, 16)
    torch.testing.assert_close(compiled(x), model(x))


def test_output_multiplier_is_applied_in_forward():
    model = FNO(FNOConfig(modes=4, dim=1, width=16, depth=1))
    parametrize(model, "sp", seed=0)
    x = torch.randn(2, 1, 16)
    with torch.no_grad():
        model.projection_out.bias.zero_()
        y1 = model(x)
        set_multiplier(model.projection_out, "weight", 0.5)
        y2 = model(x)
    torch.testing.assert_close(y2, 0.5 * y1)
