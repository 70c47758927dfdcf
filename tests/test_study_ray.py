"""The Ray Tune backend (muop.study.ray) on a local Ray with 2 CPUs: the same study format, ASHA, resume;
and a password that would reach a cluster's workers is refused."""

from __future__ import annotations

import math

import optuna
import pytest

from muop.config import RunConfig
from muop.study import resolve_storage, study_summary
from muop.workflows.transfer import transfer
from tiny_configs import tiny_burgers


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'muop[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.mark.ray
def test_ray_backend_fills_the_same_study_and_transfer_reads_it(ray_local, tmp_path):
    from muop.study.ray import RayOptions, tune_ray

    cfg = RunConfig.from_dict(
        tiny_burgers(
            tmp_path / "cache",
            train={"epochs": 4, "batch_size": 6},
            tune={"lr": [1e-3, 1e-1], "batch_size": [6, 12]},
        )
    )
    run_dir = tmp_path / "t"
    study = tune_ray(cfg, 3, "r", run_dir=run_dir, options=RayOptions(grace_epochs=1, reduction_factor=2))
    states = [t.state for t in study.trials]
    finished = [
        t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    ]
    assert len(finished) == 3 and optuna.trial.TrialState.RUNNING not in states
    for t in finished:  # every trial records its cost and the run it came from, as with the default backend
        assert t.user_attrs["seconds"] > 0 and t.user_attrs["train_flops"] > 0 and "muop_host" in t.user_attrs
        assert set(t.params) == {"lr", "batch_size"}
    complete = [t for t in finished if t.state == optuna.trial.TrialState.COMPLETE]
    assert complete and all(math.isfinite(t.user_attrs["test_rel_l2"]) for t in complete)
    # a stopped (pruned) trial ran fewer epochs than the budget
    for t in finished:
        if t.state == optuna.trial.TrialState.PRUNED:
            assert t.user_attrs["epochs_run"] < 4
    # rerunning with the same count does nothing; a larger count adds only the missing trials
    assert len(tune_ray(cfg, 3, "r", run_dir=run_dir).trials) == len(study.trials)
    # the study is a plain Optuna study: the default backend's tools read it
    same = optuna.load_study(study_name="r", storage=resolve_storage(None, run_dir))
    assert study_summary(same)["n_trials"] == len(complete)
    doc = transfer(cfg, "r", target_modes=[8], out_dir=tmp_path / "tr", run_dir=run_dir)
    assert doc["target"]["hyperparameters"] == study_summary(same)["best_params"]


def test_ray_backend_refuses_a_password_in_the_url_on_a_cluster(tune_cfg, tmp_path):
    pytest.importorskip("ray")
    from muop.study.ray import RayOptions, tune_ray

    with pytest.raises(
        ValueError, match=r"postgresql://bob:\*\*\*@db/muop: with --backend ray --address.*PGPASSWORD"
    ) as e:
        tune_ray(tune_cfg, 2, "s", "postgresql://bob:hunter2@db/muop", tmp_path, RayOptions(address="auto"))
    assert "hunter2" not in str(e.value)
