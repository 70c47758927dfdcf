"""Optimizer param groups (muop.core.optim): every parameter gets the base LR times its multiplier."""

import pytest
import torch

from muop import parametrize
from muop.core import Shape, make_optimizer
from muop.models import FNO, FNOConfig


@pytest.fixture
def plan_and_model():
    model = FNO(FNOConfig(modes=(8, 8), width=64, depth=2))
    return parametrize(model, "mup", base=Shape(16, (4, 4)), seed=0), model


@pytest.mark.parametrize("opt", ["adam", "adamw", "sgd"])
def test_every_parameter_gets_lr_times_its_multiplier(plan_and_model, opt):
    plan, model = plan_and_model
    groups = plan.param_groups(lr=1e-3, optimizer=opt, weight_decay=0.1)
    seen = {}
    for group in groups:
        for name, p in zip(group["muop_names"], group["params"]):
            seen[name] = (group["lr"], group["weight_decay"], p)
    assert set(seen) == {n for n, _ in model.named_parameters()}
    for e in plan.entries:
        lr, wd, p = seen[e.name]
        assert p is plan.parameter(e.name)
        assert lr == pytest.approx(1e-3 * e.lr_mult[opt])
        if opt == "adam":
            assert wd == pytest.approx(0.1)
        else:  # decoupled decay per step lr*wd is the same for every parameter
            assert lr * wd == pytest.approx(1e-3 * 0.1)


def test_scheduler_keeps_ratios(plan_and_model):
    plan, _ = plan_and_model
    opt = make_optimizer(plan, "adam", lr=1e-2)
    before = [group["lr"] for group in opt.param_groups]
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.1)
    opt.step()
    sched.step()
    after = [group["lr"] for group in opt.param_groups]
    for a, b in zip(before, after):
        assert b == pytest.approx(0.1 * a)


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(optimizer="rmsprop"), "optimizer='rmsprop'"),
        (dict(lr=0.0), "lr=0.0"),
        (dict(wd_scaling="sqrt"), "wd_scaling"),
    ],
)
def test_bad_arguments(plan_and_model, kw, match):
    plan, _ = plan_and_model
    args = dict(lr=1e-3) | kw
    with pytest.raises(ValueError, match=match):
        plan.param_groups(**args)


def test_one_adam_step_moves_hidden_weights_by_scaled_lr(plan_and_model):
    """Adam's first step moves each entry by ~lr (sign of the gradient): check the per-group LR is live."""
    plan, model = plan_and_model
    opt = make_optimizer(plan, "adam", lr=1e-3)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    x = torch.randn(2, 1, 16, 16)
    model(x).pow(2).mean().backward()
    opt.step()
    for name in ("layers.0.pointwise.weight", "lifting.weight"):
        step = (model.get_parameter(name) - before[name]).abs().max().item()
        assert step == pytest.approx(1e-3 * plan[name].lr_mult["adam"], rel=1e-3)
