"""One worker's loop and opening a study (muop.study.worker): exactly n trials, failing trials and a
user's mistake stop the worker, a new study's draws are reproducible."""

import logging

import optuna
import pytest

from muop.errors import ConfigError
from muop.study import Objective, TrialsFailing, WorkerOptions, WorkerSettings, counts, run_study, worker_loop
from muop.study.worker import configure_optuna_logging, sampler_seed

OPTS = WorkerOptions(heartbeat_s=0.1, grace_s=0.5, poll_s=0.01)


def test_trials_that_keep_raising_stop_the_worker(tmp_path):
    study = optuna.create_study()

    def broken(trial):
        trial.suggest_float("x", 0, 1)
        raise ValueError("bad config")

    with pytest.raises(TrialsFailing, match="3 trials in a row"):
        worker_loop(study, 10, broken, tmp_path / "lock", OPTS)
    assert counts(study).failed == 3


def test_worker_loop_finishes_exactly_n_and_counts_pruned_as_finished(tmp_path):
    study = optuna.create_study()

    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number % 2:
            raise optuna.TrialPruned()
        return x

    ran = worker_loop(study, 5, obj, tmp_path / "lock", OPTS)
    assert ran == 5 and counts(study).done == 5 and len(study.trials) == 5


def test_a_users_mistake_inside_a_trial_stops_the_worker_with_it(tmp_path):
    study = optuna.create_study()

    def obj(trial):
        raise ConfigError("train.device='cuda': CUDA is not available")

    with pytest.raises(ConfigError, match="CUDA is not available"):
        worker_loop(study, 5, obj, tmp_path / "lock", OPTS)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL]  # one trial, not five


def _interrupted_then(error: Exception) -> Exception:
    """``error`` raised while a KeyboardInterrupt was being handled (as Optuna's journal lock does
    when Ctrl-C lands inside its release)."""
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise error from None  # ``from None`` hides the cause from the report, not the context
    except Exception as e:
        return e


@pytest.mark.parametrize("error", [RuntimeError("lock lost"), FileNotFoundError("lock.rename")])
def test_ctrl_c_that_surfaces_as_another_error_stops_the_worker_as_ctrl_c(tmp_path, error, caplog):
    study = optuna.create_study()
    configure_optuna_logging()

    def obj(trial):
        trial.suggest_float("x", 0, 1)
        raise _interrupted_then(error)

    with pytest.raises(KeyboardInterrupt):  # not TrialFailed (the worker would go on), not the error itself
        worker_loop(study, 5, obj, tmp_path / "lock", OPTS)
    assert len(study.trials) == 1
    record = logging.LogRecord("optuna", logging.WARNING, "", 0, "Trial 0 failed", None, None)
    record.exc_info = (type(error), error, None)
    assert not all(f.filter(record) for h in logging.getLogger("optuna").handlers for f in h.filters)


class Draw(Objective):
    """A trial that only draws (the cost of training is not what is tested here)."""

    def __call__(self, trial: optuna.Trial) -> float:
        return trial.suggest_float("x", 0.0, 1.0)


def test_a_new_study_is_reproducible(tmp_path):
    draws = []
    for name in ("a", "b"):
        study = run_study(
            WorkerSettings(study=name, storage=f"journal:{tmp_path / 's.journal'}", n_trials=4, seed=3, options=OPTS),
            Draw(),
        )
        draws.append([t.params["x"] for t in study.trials])
    assert draws[0] == draws[1]
    assert sampler_seed(3, 1) != sampler_seed(3, 0) and sampler_seed(3, 0, "4@h:1") != sampler_seed(3, 0, "4@h:2")


def test_a_users_mistake_is_logged_by_the_command_once_not_by_optuna_with_a_traceback():
    configure_optuna_logging()
    filters = [f for h in logging.getLogger("optuna").handlers for f in h.filters]

    def record(error):
        r = logging.LogRecord("optuna", logging.WARNING, "", 0, "Trial 0 failed", None, None)
        r.exc_info = (type(error), error, None)
        return r

    assert not all(f.filter(record(ConfigError("model.width=0: expected a positive integer"))) for f in filters)
    assert all(f.filter(record(RuntimeError("a real bug"))) for f in filters)  # a bug keeps its traceback
