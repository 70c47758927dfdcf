"""Loaders (muop.data.loaders) for real and synthetic files: neuraloperator .pt, FNO .mat (v5 and
v7.3), PDEBench, named arrays in .npz/.h5/.pt, train/test splits; and property-based fuzzing
(hypothesis): any array file or byte string loads into something valid or fails with a DataError."""

import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import torch
from hypothesis import given
from hypothesis import strategies as st

from array_files import write_arrays
from fuzzing import FUZZ
from muop.data import DataError, generate, has_splits, load

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "neuralop"


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data/neuralop not present")
@pytest.mark.parametrize(
    "name,xshape,yshape",
    [
        ("darcy_train_16.pt", (1000, 1, 16, 16), (1000, 1, 16, 16)),
        ("darcy_test_16.pt", (50, 1, 16, 16), (50, 1, 16, 16)),
        ("darcy_test_32.pt", (50, 1, 32, 32), (50, 1, 32, 32)),
        ("burgers_train_16.pt", (800, 1, 16), (800, 17, 16)),
        ("burgers_test_16.pt", (400, 1, 16), (400, 17, 16)),
    ],
)
def test_shared_neuraloperator_files(name, xshape, yshape):
    d = load(SHARED / name)
    assert tuple(d.x.shape) == xshape and tuple(d.y.shape) == yshape
    assert d.x.dtype == torch.float32 and d.meta["format"] == "neuraloperator-pt"
    if name.startswith("darcy"):
        assert set(torch.unique(d.x).tolist()) <= {0.0, 1.0}  # the bool mask became 0/1


def test_fno_mat_v73_layout(tmp_path):
    """MATLAB v7.3 is HDF5 with reversed axes: NS u (N, s, s, T) is stored as (T, s, s, N)."""
    a = np.random.rand(5, 8, 8)
    u = np.random.rand(5, 8, 8, 3)
    path = tmp_path / "ns_data.mat"
    with h5py.File(path, "w") as f:
        f["a"] = a.T
        f["u"] = u.T
    d = load(path)
    assert d.meta["format"] == "fno-mat-v7.3"
    assert d.x.shape == (5, 1, 8, 8) and d.y.shape == (5, 3, 8, 8)
    np.testing.assert_allclose(d.y[:, 2].numpy(), u[..., 2], rtol=1e-6)


def test_fno_mat_v5_darcy_keys(tmp_path):
    coeff, sol = np.random.rand(4, 9, 9), np.random.rand(4, 9, 9)
    path = tmp_path / "darcy.mat"
    scipy.io.savemat(path, {"coeff": coeff, "sol": sol, "Kcoeff": np.zeros(3)})
    d = load(path, stride=2)
    assert d.meta["format"] == "fno-mat" and d.x.shape == (4, 1, 5, 5)
    np.testing.assert_allclose(d.y[:, 0].numpy(), sol[:, ::2, ::2], rtol=1e-6)


def test_pdebench_layout(tmp_path):
    t = np.random.rand(6, 11, 32).astype(np.float32)
    path = tmp_path / "1D_Burgers.hdf5"
    with h5py.File(path, "w") as f:
        f["tensor"] = t
        f["x-coordinate"] = np.linspace(0, 1, 32)
        f["t-coordinate"] = np.linspace(0, 2, 12)
    d = load(path)
    assert d.meta["format"] == "pdebench" and d.x.shape == (6, 1, 32)
    np.testing.assert_array_equal(d.x[:, 0].numpy(), t[:, 0])
    np.testing.assert_array_equal(d.y[:, 0].numpy(), t[:, -1])


def test_npz_named_arrays_and_errors(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, inputs=np.random.rand(3, 2, 8), outputs=np.random.rand(3, 1, 8))
    d = load(path)
    assert d.x.shape == (3, 2, 8) and d.y.shape == (3, 1, 8)
    xb, yb = next(iter(torch.utils.data.DataLoader(d, batch_size=2)))  # a torch Dataset
    assert xb.shape == (2, 2, 8) and yb.shape == (2, 1, 8)
    bad = tmp_path / "bad.npz"
    np.savez(bad, foo=np.zeros((2, 4)), bar=np.zeros((2, 4)))
    with pytest.raises(DataError, match=r"keys found: \['bar', 'foo'\]"):
        load(bad)
    with pytest.raises(DataError, match=r"\['baz'\] not found"):
        load(bad, input_key="foo", output_key="baz")
    nan = tmp_path / "nan.npz"
    x = np.zeros((2, 4))
    x[1, 2] = np.nan
    np.savez(nan, x=x, y=np.zeros((2, 4)))
    with pytest.raises(
        DataError, match=r"nan\.npz: inputs 'x' contain 1 non-finite value\(s\) \(NaN or inf\) out of 8"
    ):
        load(nan)
    mism = tmp_path / "mism.npz"
    np.savez(mism, x=np.zeros((2, 4)), y=np.zeros((3, 4)))
    with pytest.raises(DataError, match="2 samples but outputs 3"):
        load(mism)


def _split_arrays():
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.random((4, 8)),
        "y_train": rng.random((4, 8)),
        "x_test": rng.random((2, 8)),
        "y_test": rng.random((2, 8)),
    }


@pytest.mark.parametrize("suffix", [".npz", ".h5", ".pt"])
def test_named_train_test_arrays_in_one_file(tmp_path, suffix):
    arrays = _split_arrays()
    path = write_arrays(tmp_path / f"data{suffix}", arrays)
    assert has_splits(path)
    for split, n in (("train", 4), ("test", 2)):
        d = load(path, split=split)
        assert d.x.shape == (n, 1, 8) and d.y.shape == (n, 1, 8) and d.meta["split"] == split
        np.testing.assert_allclose(d.y[:, 0].numpy(), arrays[f"y_{split}"], rtol=1e-6)
    assert load(path).meta["keys"] == ["x_train", "y_train"]  # train by default
    with pytest.raises(DataError, match="split='val': expected 'train' or 'test'"):
        load(path, split="val")


def test_has_splits_and_incomplete_split_files(tmp_path):
    arrays = _split_arrays()
    half = tmp_path / "half.npz"
    np.savez(half, x_train=arrays["x_train"], y_train=arrays["y_train"])
    assert not has_splits(half) and len(load(half)) == 4
    with pytest.raises(DataError, match=r"split 'test' needs arrays \['x_test', 'y_test'\]"):
        load(half, split="test")
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=arrays["x_train"], y=arrays["y_train"])
    assert not has_splits(plain)
    assert has_splits(generate("burgers", tmp_path / "b.h5", 2, 1, 16, params={"T": 0.01}))
    mat = tmp_path / "split.mat"
    scipy.io.savemat(mat, arrays)
    assert has_splits(mat) and load(mat, split="test").x.shape == (2, 1, 8)
    with pytest.raises(FileNotFoundError):
        has_splits(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="bad.npz"):
        has_splits(bad)


def test_pt_loading_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"x": torch.zeros(2, 4), "y": torch.zeros(2, 4), "obj": Path("/")}, path)
    with pytest.raises(DataError, match="weights-only"):
        load(path)


# ---------------------------------------------------------------- fuzzing
shapes = st.lists(st.integers(0, 5), min_size=0, max_size=5).map(tuple)


dtypes = st.sampled_from([np.float32, np.float64, np.int32, np.complex64, np.bool_, np.uint8])


key_names = st.sampled_from(
    ["x", "y", "a", "u", "coeff", "sol", "input", "output", "z", "x_train", "y_train", "x_test", "y_test"]
)


@st.composite
def array_sets(draw):
    return {
        k: np.full(draw(shapes), draw(st.integers(0, 2)), dtype=draw(dtypes))
        for k in draw(st.lists(key_names, max_size=4, unique=True))
    }


def _ok_or_data_error(path: Path, **kw) -> None:
    try:
        assert has_splits(path) in (True, False)
        data = load(path, **kw)
    except DataError as e:
        assert str(e)
        return
    assert data.x.dtype == torch.float32 and data.x.dim() >= 3 and data.x.shape[0] == data.y.shape[0]


@FUZZ
@given(
    array_sets(), st.sampled_from([".npz", ".h5", ".pt"]), st.integers(1, 3), st.sampled_from(["train", "test", "val"])
)
def test_array_files_load_or_fail_with_a_data_error(arrays, suffix, stride, split):
    with tempfile.TemporaryDirectory() as tmp:
        _ok_or_data_error(write_arrays(Path(tmp) / f"d{suffix}", arrays), stride=stride, split=split)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([".npz", ".h5", ".pt", ".mat", ".npy", ".txt"]))
def test_garbage_bytes_fail_with_a_data_error(blob, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / f"d{suffix}"
        p.write_bytes(blob)
        with pytest.raises(DataError):
            load(p)
        try:
            assert has_splits(p) is False
        except DataError:
            pass


def test_a_pickle_with_code_is_refused_not_run(tmp_path):
    """weights_only loading: a .pt file that would run code when unpickled is a DataError."""

    class Evil:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "pwned",))

    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(DataError):
        load(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()
