"""The problem registry and ``generate`` (muop.data.problems): parameters and arguments are checked,
with their types, before anything is written; devices are checked (muop.utils.device)."""

import numpy as np
import pytest
import torch

from muop.data import generate, read_dataset


@pytest.mark.parametrize(
    "params,needle",
    [
        ({"nu": "abc"}, "param nu='abc': expected a number (float) for burgers; allowed keys: ['T', 'dealias', 'dt', "),
        ({"T": float("nan")}, "param T=nan: expected a number (float)"),
        ({"dealias": "yes"}, "param dealias='yes': expected true or false (bool)"),
        ({"nuu": 1}, "unknown burgers parameter(s) ['nuu']; allowed keys: ['T', 'dealias', "),
    ],
)
def test_generate_checks_param_types_before_writing(tmp_path, params, needle):
    with pytest.raises(ValueError) as e:
        generate("burgers", tmp_path / "b.h5", 2, 1, 16, params=params)
    assert needle in str(e.value) and "\n" not in str(e.value)
    assert not list(tmp_path.iterdir())


def test_param_values_are_taken_as_the_field_type(tmp_path):
    with pytest.raises(ValueError, match=r"param solve_factor=1\.5: expected an integer \(int\) for darcy"):
        generate("darcy", tmp_path / "d.h5", 1, 1, 9, params={"solve_factor": 1.5})
    out = generate("burgers", tmp_path / "b.h5", 1, 1, 16, params={"T": 1, "dt": np.float64(0.01), "dealias": False})
    assert read_dataset(out).attrs["params"]["T"] == 1.0


@pytest.mark.parametrize(
    "kw,needle",
    [
        ({"n_test": 0}, "n_test=0: expected an integer >= 1"),
        ({"n_train": 0}, "n_train=0: expected an integer >= 1"),
        ({"n_train": -3}, "n_train=-3"),
        ({"n_train": 2.5}, "n_train=2.5: expected an integer"),
        ({"resolution": 7}, "resolution=7: expected an integer >= 8 for burgers"),
        ({"chunk_size": 0}, "chunk_size=0: expected an integer >= 1"),
        ({"workers": 0}, "workers=0: expected an integer >= 1"),
        ({"seed": 1.5}, "seed=1.5: expected an integer"),
        ({"device": "bogus"}, "device='bogus': expected a torch device"),
        ({"device": "cuda:x"}, "device='cuda:x'"),
    ],
)
def test_generate_refuses_bad_arguments_before_writing(tmp_path, kw, needle):
    args = {"n_train": 2, "n_test": 1, "resolution": 16} | kw
    with pytest.raises(ValueError) as e:
        generate("burgers", tmp_path / "b.h5", params={"T": 0.01}, **args)
    assert needle in str(e.value) and "\n" not in str(e.value)
    assert not list(tmp_path.iterdir())  # no .partial, no .lock


def test_darcy_resolution_three_is_refused(tmp_path):
    with pytest.raises(ValueError, match="resolution=3: expected an integer >= 4 for darcy"):
        generate("darcy", tmp_path / "d.h5", 1, 1, 3)
    assert generate("darcy", tmp_path / "d.h5", 1, 1, 4).exists()


def test_cuda_is_refused_without_cuda(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="device='cuda': CUDA is not available"):
        generate("burgers", tmp_path / "b.h5", 2, 1, 16, device="cuda")
    assert not list(tmp_path.iterdir())
