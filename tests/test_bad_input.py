"""Issue #12 in the library layers: every bad input is one clear error before anything is written
or allocated, and what used to be accepted with a wrong result is refused or does what it says."""


import numpy as np
import pytest
import torch

from muop.config import ConfigError, RunConfig, apply_overrides, load_config, with_fields
from muop.data import DataError, generate, prepare_data
from muop.errors import InputError, StateError
from muop.train import train_run
from muop.trainer import Trainer, memory_estimate


def _yaml(tmp_path, text: str | bytes):
    p = tmp_path / "cfg.yaml"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


@pytest.mark.parametrize(
    "content,match",
    [
        (None, "is a directory"),
        (b"model: {width: 8}\n# caf\xe9\n", "byte 23 is not UTF-8"),
        ("model:\n  width: 8\n  modes: [4\ntrain: {}\n", "at line 4"),
    ],
)
def test_unreadable_configs_are_one_line_config_errors(tmp_path, content, match):
    path = tmp_path if content is None else _yaml(tmp_path, content)
    with pytest.raises(ConfigError, match=match):
        load_config(path)


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


def test_a_huge_model_is_refused_before_anything_is_allocated(tiny):
    cfg = with_fields(tiny, model={"width": 10**9})
    with pytest.raises(
        ConfigError, match=r"model.width=1000000000.*needs about .* GiB .* more than the .* GiB available"
    ):
        train_run(cfg)
    n, need = memory_estimate(
        with_fields(tiny, model={"block": "classic"}).model.fno(1, 1), (64,), 8
    )  # the estimate against a hand count of the classic block
    w, k, d = 8, 6, 2
    params = (2 * w + w) + d * (2 * w * w * k + w + w * w) + (w * 2 * w + 2 * w) + (2 * w + 1)
    assert n == params and need == 4 * (4 * params + 8 * w * 64 * (8 * d + 4))


@pytest.mark.parametrize("blob", [b"", b"garbage", b"PK\x03\x04 truncated zip"])
def test_a_broken_training_state_is_a_state_error(tiny, tmp_path, blob):
    out = tmp_path / "run"
    out.mkdir()
    (out / "state.pt").write_bytes(blob)
    with pytest.raises(StateError, match="state.pt cannot be read"):
        train_run(tiny, out_dir=out)
    assert (out / "state.pt").read_bytes() == blob  # never overwritten


@pytest.fixture(scope="module")
def muop_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "b.h5"
    generate("burgers", path, 12, 6, 32, params={"T": 0.1})
    return path


def test_a_muop_file_gives_the_samples_asked_for(muop_file):
    cfg = RunConfig.from_dict({"data": {"path": str(muop_file), "n_train": 8, "n_test": 4}, "model": {"modes": [4]}})
    assert cfg.data.problem is None  # inferred from the path
    d = prepare_data(cfg.data)
    assert len(d.train) == 8 and len(d.test) == 4
    with pytest.raises(DataError, match="has 12 train samples; data.n_train = 20"):
        prepare_data(with_fields(cfg, data={"n_train": 20}).data)
    with pytest.raises(DataError, match="has 6 test samples; data.n_test = 7"):
        prepare_data(with_fields(cfg, data={"n_test": 7}).data)
    assert apply_overrides(RunConfig(), [f"data.path={muop_file}"]).data.problem is None


def test_train_and_test_from_two_files(tmp_path):
    x = torch.arange(10 * 16, dtype=torch.float32).reshape(10, 1, 16)
    np.savez(tmp_path / "train.npz", x=x.numpy(), y=(2 * x).numpy())
    np.savez(tmp_path / "test.npz", x=(-x).numpy(), y=(-2 * x).numpy())
    cfg = RunConfig.from_dict(
        {
            "data": {
                "path": str(tmp_path / "train.npz"),
                "test_path": str(tmp_path / "test.npz"),
                "n_train": 7,
                "n_test": 3,
                "grid_dims": 1,
            },
            "model": {"modes": [4]},
        }
    )
    d = prepare_data(cfg.data)
    torch.testing.assert_close(d.train.x, x[:7])
    torch.testing.assert_close(d.test.y, -2 * x[:3])
    with pytest.raises(ConfigError, match="data.test_path"):
        RunConfig.from_dict({"data": {"test_path": str(tmp_path / "test.npz")}})


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


def test_input_errors_are_value_errors_and_bugs_are_not():
    assert (
        issubclass(InputError, ValueError) and issubclass(ConfigError, InputError) and issubclass(DataError, InputError)
    )
