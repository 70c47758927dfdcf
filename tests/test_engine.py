"""The engine on any module, metadata survival, and init statistics."""

import copy
import io
import math

import pytest
import torch
from torch import nn

from muop import FNO, FNOConfig, ParamSpec, Role, Shape, declare, make_plan, multiplier, parametrize


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


def test_mup_spectral_init_shrinks_by_mode_factor():
    a = FNO(FNOConfig(modes=(3, 3), width=32, depth=1))
    b = FNO(FNOConfig(modes=(24, 24), width=32, depth=1))
    base = Shape(32, (3, 3))
    pa = make_plan(a, "mup", base=base)["layers.0.spectral.weight"]
    pb = make_plan(b, "mup", base=base)["layers.0.spectral.weight"]
    assert pb.init_std / pa.init_std == pytest.approx(math.sqrt(math.log(3) / math.log(24)))
    assert pb.lr_mult["adam"] / pa.lr_mult["adam"] == pytest.approx(0.588, abs=5e-4)


def test_seeded_init_is_reproducible():
    cfg = FNOConfig(modes=4, dim=1, width=16, depth=2)
    m1, m2 = FNO(cfg), FNO(cfg)
    parametrize(m1, "mup", base=Shape(8, (4,)), seed=7)
    parametrize(m2, "mup", base=Shape(8, (4,)), seed=7)
    for (n, p), (_, q) in zip(m1.named_parameters(), m2.named_parameters()):
        assert torch.equal(p, q), n


def test_output_multiplier_is_applied_in_forward():
    model = FNO(FNOConfig(modes=4, dim=1, width=16, depth=1))
    parametrize(model, "sp", seed=0)
    x = torch.randn(2, 1, 16)
    with torch.no_grad():
        model.projection_out.bias.zero_()
        y1 = model(x)
        model.projection_out.__dict__["_muop_mults"]["weight"] = 0.5
        y2 = model(x)
    torch.testing.assert_close(y2, 0.5 * y1)


def test_plan_table_is_plain_json_and_sp_allows_one_mode():
    import json

    model = FNO(FNOConfig(modes=1, dim=1, width=8, depth=1))  # K = 1: fine for SP (no log-K factor)
    rows = make_plan(model, "sp").table()
    assert {r["name"] for r in rows} == {n for n, _ in model.named_parameters()}
    assert json.loads(json.dumps(rows)) == rows
    with pytest.raises(ValueError, match="K >= 2"):
        make_plan(model, "mup", base=Shape(4, (1,)), shape=Shape(8, (2,)))
