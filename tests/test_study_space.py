"""Drawing the registry's hyperparameters in a trial (muop.study.space): a trial's draws and
apply_params give the same config, and every tuned hyperparameter has its bounds in the tune section."""

from dataclasses import fields

import optuna

from muop.config import with_fields
from muop.config.hparams import apply_params, tunable
from muop.study import suggest


def test_search_space_draws_and_applies_the_same_values(tiny):
    cfg = with_fields(
        tiny,
        tune={
            "lr": [1e-4, 1e-1],
            "beta1": [0.8, 0.95],
            "beta2": [0.9, 0.999],
            "weight_decay": [0.0, 0.1],
            "batch_size": [4, 8],
        },
    )
    values = {"lr": 0.01, "beta1": 0.85, "beta2": 0.95, "weight_decay": 0.05, "batch_size": 4}
    drawn = suggest(optuna.trial.FixedTrial(values), cfg)
    assert (
        drawn.optimizer.lr == 0.01
        and drawn.optimizer.betas == [0.85, 0.95]
        and drawn.optimizer.weight_decay == 0.05
        and drawn.train.batch_size == 4
    )
    assert apply_params(cfg, values) == drawn
    assert {h.name for h in tunable()} == {f.name for f in fields(type(cfg.tune))} - {"sampler", "diverged_value"}
    assert (
        suggest(optuna.trial.FixedTrial({"lr": 0.02}), with_fields(tiny, tune={"lr": [1e-3, 1e-1]})).optimizer.betas
        == tiny.optimizer.betas
    )
