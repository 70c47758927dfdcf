"""The run config's sections (muop.config.sections): every bad value is a one-line ConfigError that
names the field, the value and what is allowed, before anything trains."""

import pytest

from muop.config import ConfigError, RunConfig, apply_overrides
from muop.errors import UsageError


@pytest.mark.parametrize(
    "d,match",
    [
        ({"modle": {}}, r"unknown section\(s\) \['modle'\]"),
        ({"model": {"widht": 8}}, r"unknown key\(s\) \['model.widht'\]"),
        ({"model": {"width": -3}}, r"model.width=-3: expected a positive integer"),
        ({"optimizer": {"lr": 0}}, r"optimizer.lr=0.0: expected a positive number"),
        ({"optimizer": {"name": "lamb"}}, r"optimizer.name='lamb'"),
        ({"data": {"problem": "kdv"}}, r"data.problem='kdv'"),
        ({"data": {"problem": None}}, r"exactly one of problem or path"),
        ({"parametrization": {"base_modes": [1]}}, r"parametrization.base_modes=\[1\]"),
        ({"optimizer": {"betas": [0.9]}}, r"optimizer.betas"),
    ],
)
def test_config_errors_name_field_value_and_allowed(d, match):
    with pytest.raises(ConfigError, match=match):
        RunConfig.from_dict(d)


@pytest.mark.parametrize(
    "pz, match",
    [
        ({"overrides": {"outptu": "sp"}}, "parametrization.overrides: unknown key 'outptu'"),
        ({"overrides": {"output": "xp"}}, "parametrization.overrides.output='xp'"),
        ({"overrides": {"output.lrr": "sp"}}, "unknown key 'output.lrr'"),
        ({"multipliers": {"output": -1}}, r"parametrization.multipliers.output=-1"),
        ({"multipliers": {"readout": 2}}, "unknown role 'readout'"),
        ({"init_scale": 0}, "parametrization.init_scale=0.0"),
    ],
)
def test_bad_values_are_one_line_config_errors(pz, match):
    with pytest.raises(ConfigError, match=match) as err:
        RunConfig.from_dict({"parametrization": pz})
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "override,match",
    [
        ("schedule.step_size=0", "schedule.step_size=0: expected a positive integer"),
        ("schedule.step_size=-1", "schedule.step_size=-1"),
        ("schedule.gamma=-5", r"schedule.gamma=-5.0: expected a number in \(0, 1\]"),
        ("tune.diverged_value=-1", "tune.diverged_value=-1.0: expected a number >= 1"),
        ("optimizer.betas=[a, b]", r"optimizer.betas=\['a', 'b'\]: expected two numbers"),
        ("data.params={nu: abc}", "data.params: param nu='abc'"),
    ],
)
def test_values_that_trained_wrongly_or_crashed_are_refused(override, match):
    with pytest.raises(ConfigError, match=match):
        apply_overrides(RunConfig(), [override])


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: RunConfig.from_dict({"parametrization": {"depth_alpha": 2.0}}), "parametrization.depth_alpha=2.0"),
        (lambda: RunConfig.from_dict({"parametrization": {"base_depth": 0}}), "parametrization.base_depth=0"),
    ],
)
def test_bad_depth_input_is_one_line(make, match):
    """The parametrization section's part of bad depth input (the shapes', models' and workflows' in their
    own test modules)."""
    with pytest.raises((UsageError, ConfigError)) as e:
        make()
    assert match in str(e.value) and "\n" not in str(e.value)
