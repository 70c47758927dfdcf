"""What a sweep is (muop.workflows.sweep_spec): its jobs and run configs, hyperparameter sweeps, its
validation and identity, and the job a running trial stands for."""

import optuna
import pytest

from muop.config import RunConfig, config_hash, with_fields
from muop.errors import ConfigError, UsageError
from muop.workflows.sweep_spec import Sweep, job_of, log_grid, sweep_idents


def test_sweep_spec_validation():
    with pytest.raises(ValueError, match="K >= 2"):
        Sweep(axis="modes", sizes=(1, 2), lrs=(1e-3,))
    with pytest.raises(ValueError, match="parametrizations"):
        Sweep(axis="modes", sizes=(4,), lrs=(1e-3,), parametrizations=("np",))
    with pytest.raises(ValueError, match="0 < lo < hi"):
        log_grid(1e-2, 1e-3, 5)


def test_an_hparam_sweep_varies_that_field_and_keeps_the_lr(tiny):
    cfg = with_fields(
        tiny, optimizer={"lr": 2e-3, "betas": [0.8, 0.999]}, parametrization={"multipliers": {"input": 3.0}}
    )
    for name, value, check in [
        ("init_scale", 0.5, lambda c: c.parametrization.init_scale == 0.5),
        ("output_mult", 2.0, lambda c: c.parametrization.multipliers == {"input": 3.0, "output": 2.0}),
        ("weight_decay", 1e-3, lambda c: c.optimizer.weight_decay == 1e-3),
        ("beta2", 0.95, lambda c: c.optimizer.betas == [0.8, 0.95]),
        ("batch_size", 4.0, lambda c: c.train.batch_size == 4 and isinstance(c.train.batch_size, int)),
    ]:
        sweep = Sweep(axis="width", sizes=(8, 16), hparam=name, values=(value,))
        run = sweep.run_config(cfg, "mup", 16, value, 1)
        assert (
            check(run)
            and run.optimizer.lr == 2e-3
            and run.model.width == 16
            and run.parametrization.base_width == 8
            and run.train.seed == 1
        ), name
        assert sweep.jobs()[0] == {"parametrization": "sp", "size": 8, "value": value, "seed": 0}
    assert Sweep(axis="width", sizes=(8,), lrs=(1e-3,)).jobs()[0] == {
        "parametrization": "sp",
        "size": 8,
        "lr": 1e-3,
        "seed": 0,
    }  # LR jobs as before


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(hparam="init_scal", values=(1.0,)), "hyperparameter 'init_scal' cannot be swept"),
        (dict(hparam="beta2", values=(0.9, 1.0)), r"numbers in \(0, 1\) for beta2"),
        (dict(hparam="batch_size", values=(8, 12.5)), "positive integers"),
        (dict(hparam="init_scale", values=(1.0,), lrs=(1e-3,)), "keeps the config's LR"),
        (dict(lrs=(1e-3,), proxy=12), r"proxy size 12 is not in the sweep \(sizes: 8, 16\)"),
    ],
)
def test_sweep_spec_errors_are_one_line(kw, match):
    with pytest.raises(UsageError, match=match) as err:
        Sweep(axis="width", sizes=(8, 16), **kw)
    assert "\n" not in str(err.value)


def test_an_lr_sweep_keeps_its_identity_and_an_hparam_sweep_has_its_own(tiny):
    lr = Sweep(axis="width", sizes=(8, 16), lrs=(1e-3,))
    assert sweep_idents(tiny, lr)[0] == config_hash({"base": tiny.to_dict(), "axis": "width", "base_size": 8})
    hp = Sweep(axis="width", sizes=(8, 16), hparam="init_scale", values=(1.0,))
    assert not set(sweep_idents(tiny, hp)) & set(sweep_idents(tiny, lr))


def test_a_queued_sweep_run_is_known_while_its_params_are_half_set():
    """Another worker looks at a running sweep trial between two of its suggestions (a real race
    seen in CI): the run it stands for comes from its queue entry, whole from the start."""
    study = optuna.create_study()
    study.enqueue_trial({"parametrization": "mup", "size": 8, "lr": 0.01, "seed": 1})
    trial = study.ask()
    trial.suggest_categorical("parametrization", ["sp", "mup"])  # "size", "lr", "seed" not yet
    (running,) = study.get_trials(deepcopy=False)
    assert running.params == {"parametrization": "mup"}
    assert job_of(running) == ("mup", 8, 0.01, 1)
    other = study.ask()  # not a sweep run (no queue entry), half set
    other.suggest_float("lr", 1e-3, 1e-1)
    assert job_of(study.get_trials(deepcopy=False)[1]) is None


def test_bad_depth_input_is_one_line():
    """The sweep's part of bad depth input (the shapes', models', configs' and other workflows' in their own
    test modules)."""
    with pytest.raises((UsageError, ConfigError)) as e:
        Sweep(axis="depth", sizes=(2, 4), lrs=(1e-3,)).run_config(RunConfig(), "mup", 4, 1e-3, 0)
    assert "model.residual" in str(e.value) and "\n" not in str(e.value)
