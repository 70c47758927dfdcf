"""Tuning the proxy (muop.study.tune): diverged trials are recorded with the study's diverged value and
do not stop it (tuning then transferring: tests/test_workflows_transfer.py)."""

import optuna

from muop.config import with_fields
from muop.study.tune import study_summary, tune


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


def test_study_summary_counts_the_cost_of_every_finished_trial_by_hand():
    """Two trials that count their compute (3 s and 5 s), one recorded before muop counted it (its 7 s of
    wall time stand in), and a failed trial that is not counted: 3 + 5 + 7 = 15 s of compute, 3.5 + 6 + 7
    = 16.5 s of wall time, 2e9 FLOPs; the best is the 0.2 trial."""
    study = optuna.create_study()
    dist = {"lr": optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)}
    rows = [
        (0.3, {"compute_seconds": 3.0, "seconds": 3.5, "train_flops": 1e9, "test_rel_l2": 0.31}),
        (0.2, {"compute_seconds": 5.0, "seconds": 6.0, "train_flops": 1e9, "test_rel_l2": 0.21}),
        (0.4, {"seconds": 7.0}),
    ]
    for i, (value, attrs) in enumerate(rows):
        study.add_trial(
            optuna.trial.create_trial(
                params={"lr": 10.0 ** -(i + 1)}, distributions=dist, value=value, user_attrs=attrs
            )
        )
    study.add_trial(
        optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL, user_attrs={"compute_seconds": 100.0})
    )
    s = study_summary(study)
    assert s["n_trials"] == 3 and s["best_params"] == {"lr": 1e-2} and s["best_test_rel_l2"] == 0.21
    assert s["compute_seconds"] == 15.0 and s["seconds"] == 16.5 and s["train_flops"] == 2e9
