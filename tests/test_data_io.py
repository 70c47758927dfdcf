"""HDF5 store, loaders for real and synthetic files, normalisers, and the data CLI."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import torch

from array_files import write_arrays
from muop.data import ChannelNormalizer, DataError, generate, has_splits, load, read_dataset
from muop.data.store import write_dataset

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "neuralop"


# ---------------------------------------------------------------- store
def test_generate_roundtrip_and_checksum(tmp_path):
    out = generate("darcy", tmp_path / "d.h5", 6, 3, 17, seed=5, chunk_size=4)
    s = read_dataset(out, verify=True)
    assert s.train_x.shape == (6, 1, 17, 17) and s.test_y.shape == (3, 1, 17, 17)
    assert s.attrs["problem"] == "darcy" and s.attrs["seed"] == 5 and s.attrs["params"]["a_hi"] == 12.0
    assert s.attrs["checksum"].startswith("sha256:") and s.attrs["muop_version"]
    assert len(s.coords) == 2 and s.coords[0][-1] == 1.0
    coarse = read_dataset(out, stride=2)
    assert coarse.train_x.shape == (6, 1, 9, 9)
    torch.testing.assert_close(coarse.train_y, s.train_y[..., ::2, ::2])
    # same seed, same bytes
    again = generate("darcy", tmp_path / "d2.h5", 6, 3, 17, seed=5, chunk_size=4)
    assert read_dataset(again).attrs["checksum"] == s.attrs["checksum"]


def test_existing_results_are_never_overwritten(tmp_path):
    out = generate("burgers", tmp_path / "b.h5", 2, 1, 32, params={"T": 0.01})
    before = out.read_bytes()
    with pytest.raises(FileExistsError):
        generate("burgers", out, 2, 1, 32)
    assert out.read_bytes() == before


def test_corruption_and_truncation_are_detected(tmp_path):
    out = generate("burgers", tmp_path / "b.h5", 8, 2, 64, params={"T": 0.01})
    with h5py.File(out, "r+") as f:  # flip one value, keep the stored checksum
        f["train/outputs"][0, 0, 0] += 1.0
    with pytest.raises(DataError, match="checksum mismatch"):
        read_dataset(out, verify=True)
    trunc = tmp_path / "t.h5"
    trunc.write_bytes(out.read_bytes()[: out.stat().st_size // 3])
    with pytest.raises(DataError, match="truncated or corrupted"):
        read_dataset(trunc)
    with pytest.raises(DataError, match="truncated or corrupted"):
        load(trunc)


def test_interrupted_generation_resumes_to_identical_file(tmp_path):
    """Kill a real generation process mid-run, rerun the same command: same file as uninterrupted."""
    args = [
        "data",
        "generate",
        "navier-stokes",
        "--n-train",
        "8",
        "--n-test",
        "2",
        "--resolution",
        "16",
        "--seed",
        "3",
        "--chunk-size",
        "1",
        "--param",
        "T=10",
    ]
    out = tmp_path / "ns.h5"
    partial = tmp_path / "ns.h5.partial"
    proc = subprocess.Popen(
        [sys.executable, "-m", "muop.cli", *args, "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until at least one chunk is on disk, then kill
        if partial.exists():
            try:
                with h5py.File(partial, "r", locking=False) as f:  # the writer holds the HDF5 lock
                    if int(f.attrs.get("chunks_done", 0)) >= 2:
                        break
            except (OSError, KeyError):
                pass
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists() and partial.exists()  # nothing that looks complete
    with pytest.raises(DataError):
        read_dataset(partial)
    r = subprocess.run(
        [sys.executable, "-m", "muop.cli", *args, "--out", str(out)], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr
    assert out.exists() and not partial.exists()
    ref = tmp_path / "ref.h5"
    r = subprocess.run(
        [sys.executable, "-m", "muop.cli", *args, "--out", str(ref)], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr
    assert read_dataset(out, verify=True).attrs["checksum"] == read_dataset(ref).attrs["checksum"]


def test_two_processes_asking_for_the_same_cached_data_both_get_it(tmp_path):
    """Two commands that need one not-yet-generated cache file (two workers, two shells): one
    generates, the other waits for it; both succeed and read the same bytes as a lone process."""
    code = (
        "import sys; from muop.config import DataConfig; from muop.data import prepare_data;"
        "d = prepare_data(DataConfig(problem='navier-stokes', n_train=8, n_test=2, resolution=16, params={'T': 10.0}, cache_dir=sys.argv[1]));"
        "print(float(d.train.y.double().sum()))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "cache")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
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


def _write(path, make_chunk):
    return write_dataset(
        path, "toy", {}, 0, {"train": 3, "test": 1}, ((1, 4), (1, 4)), [np.arange(4.0)], make_chunk, 1, "toy"
    )


def test_failed_generation_leaves_no_lock_and_keeps_only_resumable_partials(tmp_path):
    out = tmp_path / "t.h5"
    calls = []

    def failing(after):
        def make(n, seed):
            calls.append(seed)
            if len(calls) > after:
                raise RuntimeError("solver blew up")
            return torch.full((n, 1, 4), float(seed)), torch.ones(n, 1, 4)

        return make

    with pytest.raises(RuntimeError):
        _write(out, failing(0))  # fails in the first chunk: nothing worth resuming
    assert not list(tmp_path.iterdir())
    calls.clear()
    with pytest.raises(RuntimeError):
        _write(out, failing(2))  # two chunks done: the .partial is kept for resuming
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.h5.partial"]
    calls.clear()
    _write(out, failing(99))
    assert calls == [2, 3]  # resumed after the two finished chunks
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.h5"]  # no lock file after success either
    np.testing.assert_array_equal(read_dataset(out, verify=True).train_x[:, 0, 0].numpy(), [0.0, 1.0, 2.0])


def test_non_finite_values_in_a_muop_file_are_a_data_error(tmp_path):
    """A muop file with NaN/inf anywhere in its arrays is refused whichever split is asked for."""
    out = generate("burgers", tmp_path / "b.h5", 3, 2, 16, params={"T": 0.01})
    with h5py.File(out, "r+") as f:
        f["test/inputs"][0, 0, 3] = -np.inf
    for split in ("train", "test"):
        with pytest.raises(
            DataError, match=r"b\.h5: test/inputs contain 1 non-finite value\(s\) \(NaN or inf\) out of 32"
        ):
            load(out, split=split)
    with h5py.File(out, "r+") as f:
        f["train/outputs"][1, 0, :2] = [np.nan, np.inf]
    with pytest.raises(DataError, match=r"train/outputs contain 2 non-finite value\(s\) \(NaN or inf\) out of 48"):
        read_dataset(out)


# ---------------------------------------------------------------- loaders
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


# ---------------------------------------------------------------- normaliser
def test_channel_normalizer_fit_inverse_and_state_dict():
    x = (
        torch.randn(50, 3, 16) * torch.tensor([1.0, 10.0, 0.1])[None, :, None]
        + torch.tensor([0.0, 5.0, -2.0])[None, :, None]
    )
    n = ChannelNormalizer.fit(x)
    z = n.encode(x)
    torch.testing.assert_close(z.mean((0, 2)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.std((0, 2), unbiased=False), torch.ones(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(n.decode(z), x, atol=1e-4, rtol=1e-5)
    m = ChannelNormalizer(3)
    m.load_state_dict(n.state_dict())
    torch.testing.assert_close(m.encode(x), z)


# ---------------------------------------------------------------- CLI
def cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "muop.cli", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def test_cli_generate_and_info(tmp_path):
    out = tmp_path / "b.h5"
    r = cli(
        "data",
        "generate",
        "burgers",
        "--n-train",
        "4",
        "--n-test",
        "2",
        "--resolution",
        "64",
        "--param",
        "T=0.05",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    r = cli("data", "info", str(out), "--verify")
    assert (
        r.returncode == 0 and "(4, 1, 64)" in r.stdout and "checksum verified" in r.stdout and '"nu": 0.1' in r.stdout
    )


@pytest.mark.parametrize(
    "args,needle",
    [
        (
            [
                "data",
                "generate",
                "burgers",
                "--n-train",
                "2",
                "--n-test",
                "1",
                "--resolution",
                "64",
                "--param",
                "nuu=1",
                "--out",
                "x.h5",
            ],
            "unknown burgers parameter",
        ),
        (
            ["data", "generate", "darcy", "--n-train", "-1", "--n-test", "1", "--resolution", "17", "--out", "x.h5"],
            "--n-train: '-1' must be a positive integer",
        ),
        (
            ["data", "generate", "darcy", "--n-train", "1", "--n-test", "1", "--resolution", "2", "--out", "x.h5"],
            "resolution=2",
        ),
        (
            [
                "data",
                "generate",
                "burgers",
                "--n-train",
                "2",
                "--n-test",
                "1",
                "--resolution",
                "64",
                "--param",
                "nu=abc",
                "--out",
                "x.h5",
            ],
            "param nu='abc': expected a number (float) for burgers; allowed keys:",
        ),
        (["data", "info", "missing.h5"], "does not exist"),
    ],
)
def test_cli_bad_input(args, needle, tmp_path):
    r = cli(*args, cwd=tmp_path)
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
    assert (
        not (tmp_path / "x.h5").exists()
        and not (tmp_path / "x.h5.partial").exists()
        and not (tmp_path / "x.h5.lock").exists()
    )
