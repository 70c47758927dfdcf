"""Tuning the proxy (muop.study.tune): diverged trials are recorded with the study's diverged value and
do not stop it (tuning then transferring: tests/test_workflows_transfer.py)."""

from muop.config import with_fields
from muop.study.tune import tune


def test_diverged_trials_are_recorded_and_do_not_stop_the_study(tune_cfg, tmp_path):
    bad = with_fields(
        tune_cfg,
        optimizer={"name": "sgd"},
        parametrization={"kind": "sp"},
        tune={"lr": [1e5, 1e6], "batch_size": None, "beta2": None},
    )
    study = tune(bad, 2, "boom", run_dir=tmp_path / "t")
    assert len(study.trials) == 2
    assert all(t.user_attrs["diverged"] for t in study.trials)
    assert all(t.value == bad.tune.diverged_value for t in study.trials)
