"""The one hyperparameter registry (muop.config.hparams): what a sweep can vary and a study can draw,
and where each value goes in a config (drawing them: tests/test_study_space.py)."""

from dataclasses import fields

import pytest

from muop.config import RunConfig, TuneConfig, with_fields
from muop.config.hparams import HYPERPARAMETERS, apply_params, sweepable, tunable
from muop.workflows.sweep import HPARAMS


def test_every_hparam_names_what_it_sets():
    assert {"lr", "init_scale", "input_mult", "output_mult", "weight_decay", "beta2", "batch_size"} <= set(HPARAMS)
    # a sweep can vary every one, listed in muop 0.2's order first (its error messages stay as they were)
    assert HPARAMS == sweepable() == dict(HYPERPARAMETERS) and list(HPARAMS)[:2] == ["lr", "init_scale"]
    # every tuned one has its bounds field in the tune section, and only they have one
    assert {h.name for h in tunable()} == {f.name for f in fields(TuneConfig)} - {"sampler", "diverged_value"}


@pytest.mark.parametrize(
    "name,value,field", [("lr", 0.02, "optimizer.lr"), ("init_scale", 0.5, "parametrization.init_scale")]
)
def test_apply_params_sets_the_named_field_and_ignores_other_names(name, value, field):
    cfg = apply_params(RunConfig(), {name: value, "not_a_hyperparameter": 1})
    section, attr = field.split(".")
    assert getattr(getattr(cfg, section), attr) == value
    assert cfg == with_fields(RunConfig(), **{section: {attr: value}})
