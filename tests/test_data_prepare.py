"""Preparing a run's data (muop.data.prepare): generated and cached once even when two processes ask
at once, a user's file split and subsampled, a muop file's own splits, train and test from two files."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from muop.config import ConfigError, RunConfig, apply_overrides, with_fields
from muop.data import DataError, generate, prepare_data, read_dataset
from processes import ENV


@pytest.mark.slow
def test_two_processes_asking_for_the_same_cached_data_both_get_it(tmp_path):
    """Two commands that need one not-yet-generated cache file (two workers, two shells): one
    generates, the other waits for it; both succeed and read the same bytes as a lone process."""
    code = (
        "import sys; from muop.config import DataConfig; from muop.data import prepare_data;"
        "d = prepare_data(DataConfig(problem='navier-stokes', n_train=8, n_test=2, resolution=16,"
        " params={'T': 10.0}, cache_dir=sys.argv[1]));"
        "print(float(d.train.y.double().sum()))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "cache")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert outs[0][0] == outs[1][0]
    (cached,) = (tmp_path / "cache").glob("*.h5")
    assert not list((tmp_path / "cache").glob("*.partial")) and not list((tmp_path / "cache").glob("*.lock"))
    ref = generate("navier-stokes", tmp_path / "ref.h5", 8, 2, 16, params={"T": 10.0})
    assert read_dataset(cached, verify=True).attrs["checksum"] == read_dataset(ref).attrs["checksum"]


def test_user_file_is_split_and_subsampled(tmp_path):
    """data.path with a plain array file: first n_train train, next n_test test, last n_val validation."""
    x = torch.arange(10 * 16, dtype=torch.float32).reshape(10, 1, 16)
    np.savez(tmp_path / "u.npz", x=x.numpy(), y=(2 * x).numpy())
    cfg = RunConfig.from_dict(
        {
            "data": {
                "problem": None,
                "path": str(tmp_path / "u.npz"),
                "n_train": 6,
                "n_test": 3,
                "n_val": 2,
                "stride": 2,
                "eval_strides": [1],
                "grid_dims": 1,
            },
            "model": {"modes": [4]},
        }
    )
    d = prepare_data(cfg.data)
    torch.testing.assert_close(d.train.x, x[:4, :, ::2])
    torch.testing.assert_close(d.val.x, x[4:6, :, ::2])
    torch.testing.assert_close(d.test.y, 2 * x[6:9, :, ::2])
    torch.testing.assert_close(d.extra_test[1].x, x[6:9])
    with pytest.raises(ValueError, match="has 10 samples"):
        prepare_data(with_fields(cfg, data={"n_train": 9, "n_val": 0}).data)


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
