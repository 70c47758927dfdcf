"""The trainer in pieces (muop.training.trainer): build (model, plan, optimizer), fit with callbacks,
evaluate, and its state, which resumes bit for bit on a fresh trainer."""

import math

import pytest
import torch

from muop.config import ConfigError, with_fields
from muop.data import prepare_data
from muop.training import Callback, Trainer, build, train_run


@pytest.fixture
def tiny_val(tiny):
    """The shared tiny run with a validation split and 4 epochs."""
    return with_fields(tiny, data={"n_val": 4}, train={"epochs": 4})


class StopAfter(Callback):
    """Early stopping after a given epoch (what any user callback can do)."""

    def __init__(self, epoch: int) -> None:
        self.epoch, self.seen = epoch, []

    def on_epoch_end(self, trainer):
        self.seen.append(trainer.state.epoch)
        trainer.state.stop = trainer.state.epoch >= self.epoch


def test_build_returns_the_plan_and_an_optimizer_with_its_learning_rates(tiny_val):
    data = prepare_data(tiny_val.data)
    setup = build(with_fields(tiny_val, parametrization={"base_width": 4}), data)
    names = {n for n, _ in setup.model.named_parameters()}
    assert {e.name for e in setup.plan.entries} == names  # every parameter has a rule
    lr = tiny_val.optimizer.lr
    by_param = {id(setup.plan.parameter(e.name)): lr * e.lr_mult["adam"] for e in setup.plan.entries}
    for group in setup.optimizer.param_groups:
        for p in group["params"]:
            assert group["lr"] == pytest.approx(by_param[id(p)])
    assert setup.scheduler is not None and setup.batch_size == 8


def test_a_callback_stops_the_fit_and_sees_every_epoch(tiny_val):
    stop = StopAfter(2)
    st = Trainer(tiny_val, prepare_data(tiny_val.data), callbacks=[stop]).fit()
    assert st.epoch == 2 and stop.seen == [1, 2] and math.isfinite(st.train_loss)


def test_state_dict_resumes_bit_for_bit(tiny_val):
    data = prepare_data(tiny_val.data)
    whole = Trainer(tiny_val, data)
    whole.fit()
    first = Trainer(tiny_val, data, callbacks=[StopAfter(2)])
    first.fit()
    state = first.state_dict()
    second = Trainer(tiny_val, data)  # a fresh model: everything must come from the state
    second.load_state_dict(state)
    second.fit()
    assert second.state.epoch == 4
    for (n, a), (_, b) in zip(whole.setup.model.state_dict().items(), second.setup.model.state_dict().items()):
        assert torch.equal(a, b), n


def test_the_trainer_builds_the_tuned_plan(tiny):
    data = prepare_data(tiny.data)
    plain = build(tiny, data).plan
    tuned = build(with_fields(tiny, parametrization={"init_scale": 3.0, "multipliers": {"output": 0.5}}), data).plan
    for a, b in zip(plain.entries, tuned.entries):
        assert b.init_std == pytest.approx(3.0 * a.init_std) and b.mult == pytest.approx(
            a.mult * (0.5 if a.role == "output" else 1.0)
        )


def test_compute_seconds_count_training_only_and_survive_a_resume(tiny, tmp_path):
    res = train_run(tiny, out_dir=tmp_path / "a")
    assert 0 < res.compute_seconds <= res.seconds
    data = prepare_data(tiny.data)
    first = Trainer(with_fields(tiny, train={"epochs": 2}), data)
    first.fit()
    second = Trainer(tiny, data)
    second.load_state_dict(first.state_dict())
    assert second.state.compute_seconds == first.state.compute_seconds > 0
    second.fit()
    assert second.state.compute_seconds > first.state.compute_seconds


def test_a_neuralop_config_with_identity_skips_scales_with_depth_through_the_trainer(tiny):
    """The trainer takes the base depth from the built model's own shape: a neuraloperator FNO with
    identity skips (a residual model) at depth 8 against base depth 2 gets a = 4^-0.5 on its branch
    outputs; the same config without identity skips refuses base_depth (nothing scales)."""
    pytest.importorskip("neuralop")
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
