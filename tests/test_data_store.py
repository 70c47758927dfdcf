"""The HDF5 store (muop.data.store): checksums, strides, files never overwritten, corruption and
truncation detected, interrupted generation resumed to the same bytes, no lock left behind."""

import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch

from muop.data import DataError, generate, load, read_dataset
from muop.data.store import write_dataset
from processes import ENV, kill, wait_for


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


@pytest.mark.faults
def test_interrupted_generation_resumes_to_identical_file(tmp_path, muop_cli):
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
        env=ENV,
    )

    def two_chunks() -> bool:  # at least two chunks on disk
        try:
            with h5py.File(partial, "r", locking=False) as f:  # the writer holds the HDF5 lock
                return int(f.attrs.get("chunks_done", 0)) >= 2
        except (OSError, KeyError):
            return False

    try:
        wait_for(two_chunks, what="two generated chunks", alive=proc)
    finally:
        kill(proc)
    assert not out.exists() and partial.exists()  # nothing that looks complete
    with pytest.raises(DataError):
        read_dataset(partial)
    code, _, err = muop_cli(*args, "--out", str(out))  # the rerun (in this process)
    assert code == 0, err
    assert out.exists() and not partial.exists()
    ref = tmp_path / "ref.h5"
    code, _, err = muop_cli(*args, "--out", str(ref))
    assert code == 0, err
    assert read_dataset(out, verify=True).attrs["checksum"] == read_dataset(ref).attrs["checksum"]


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
