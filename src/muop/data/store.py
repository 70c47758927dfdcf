"""muop's one on-disk dataset format: HDF5 (h5py).

Layout::

    /train/inputs   (n_train, C_in,  *grid)    /train/outputs  (n_train, C_out, *grid)
    /test/inputs    (n_test,  C_in,  *grid)    /test/outputs   (n_test,  C_out, *grid)
    /coords/x0, /coords/x1, ...                (1-D coordinates of each grid axis)
    attrs: format="muop-dataset", format_version, problem, params (JSON: every physical and solver
           parameter), seed, chunk_size, muop_version, created, checksum ("sha256:..." over all
           datasets in a fixed order), complete (bool), description of the input/output layout.

Writing goes to ``FILE.partial`` and is renamed to ``FILE`` only once complete, so an interrupted
run never leaves a file that looks finished. Samples are generated in chunks, each with its own
seed derived from (seed, chunk index); rerunning the same command resumes a ``.partial`` file whose
parameters match, and gives the same bytes as an uninterrupted run. A ``.partial`` without a
finished chunk is removed on failure, and the writer's ``FILE.lock`` whenever the writer is done.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

from ..errors import DataError
from ..utils.locks import FileLock
from ..utils.version import muop_version

__all__ = ["FORMAT", "DataError", "write_dataset", "read_dataset", "checksum", "check_finite", "StoredData"]

FORMAT = "muop-dataset"
FORMAT_VERSION = 1
SPLITS = ("train", "test")


@dataclass
class StoredData:
    """Arrays from a muop HDF5 file (torch tensors, (N, C, *grid)) and its attributes."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    coords: list[np.ndarray]
    attrs: dict


def check_finite(path: str | Path, name: str, t: torch.Tensor) -> torch.Tensor:
    """``t`` itself, or :class:`DataError` naming the file, the array and its count of NaN/inf values."""
    bad = t.numel() - int(torch.isfinite(t).sum())
    if bad:
        raise DataError(f"{path}: {name} contain {bad} non-finite value(s) (NaN or inf) out of {t.numel()}")
    return t


@contextmanager
def _sidecar_lock(path: Path) -> Iterator[None]:
    """Hold :class:`FileLock` on ``path`` and delete ``path`` before letting go, so no lock file is
    left behind. A waiter whose lock file was deleted meanwhile retries on the current one, so two
    processes never both hold it (the deleted file's lock would otherwise still be granted)."""
    while True:
        lock = FileLock(path)
        lock.acquire()
        try:
            current = os.path.samestat(os.fstat(lock._fd), os.stat(path))
        except FileNotFoundError:
            current = False
        if current:
            break
        lock.release()
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        lock.release()


def checksum(f: h5py.File) -> str:
    """sha256 over every dataset's name, shape, dtype and bytes, in sorted order."""
    h = hashlib.sha256()
    names: list[str] = []
    f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    for n in sorted(names):
        d = f[n]
        h.update(f"{n}|{d.shape}|{d.dtype}".encode())
        for i in range(0, d.shape[0] if d.ndim else 1, 256):
            h.update(np.ascontiguousarray(d[i : i + 256] if d.ndim else d[()]).tobytes())
    return "sha256:" + h.hexdigest()


def write_dataset(
    path: str | Path,
    problem: str,
    params: dict,
    seed: int,
    counts: dict[str, int],
    sample_shapes: tuple[tuple[int, ...], tuple[int, ...]],
    coords: Sequence[np.ndarray],
    make_chunk: Callable[[int, int], tuple[torch.Tensor, torch.Tensor]],
    chunk_size: int,
    layout: str,
    progress: Callable[[int, int], None] | None = None,
    dtype: np.dtype | None = None,
) -> Path:
    """Generate and write a dataset; ``make_chunk(n, chunk_seed)`` returns (inputs, outputs).

    ``counts``: samples per split; ``sample_shapes``: (input, output) shape of one sample;
    ``dtype``: what is stored (default float32). Resumes a matching ``path.partial``; refuses to
    overwrite an existing complete ``path``. Several processes may ask for the same file: a lock
    (``path.lock``) lets one write while the others wait, and they then get ``FileExistsError``.
    """
    path, dtype = Path(path), np.dtype("float32") if dtype is None else dtype
    if path.exists():
        raise FileExistsError(
            f"{path} already exists; remove it or choose another --out (existing results are never overwritten)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with _sidecar_lock(path.with_name(path.name + ".lock")):  # one writer at a time; a second command waits
        if path.exists():  # ... and finds the file that the first one wrote
            raise FileExistsError(
                f"{path} was written by another process meanwhile; existing results are never overwritten"
            )
        partial = path.with_name(path.name + ".partial")
        what = {"problem": problem, "params": params, "seed": seed, "counts": counts, "chunk_size": chunk_size}
        ident = json.dumps({**what, "shapes": sample_shapes, "dtype": str(dtype)}, sort_keys=True)
        _drop_other_partial(partial, ident)
        plan = [
            (split, start, min(chunk_size, counts[split] - start))
            for split in SPLITS
            for start in range(0, counts[split], chunk_size)
        ]
        done = [0]
        try:
            with h5py.File(partial, "a") as f:
                if "ident" not in f.attrs:
                    _create_layout(f, ident, counts, sample_shapes, coords, dtype)
                _write_chunks(f, plan, lambda n, ci: make_chunk(n, seed * 1_000_003 + ci), dtype, progress, done)
                _seal(f, what, layout)
        except BaseException:
            if done[0] == 0:  # nothing to resume from
                partial.unlink(missing_ok=True)
            raise
        os.replace(partial, path)
        return path


def _write_chunks(
    f: h5py.File,
    plan: list[tuple[str, int, int]],
    make: Callable[[int, int], tuple[torch.Tensor, torch.Tensor]],
    dtype: np.dtype,
    progress: Callable[[int, int], None] | None,
    done: list[int],
) -> None:
    """Write the chunks ``plan`` lists (split, first sample, count) from the first one not yet done;
    ``done[0]`` follows the chunks written (a resumable count, flushed after each)."""
    done[0] = int(f.attrs["chunks_done"])
    total = sum(n for _, _, n in plan)
    for ci in range(done[0], len(plan)):
        split, start, n = plan[ci]
        x, y = make(n, ci)
        f[split]["inputs"][start : start + n] = x.detach().cpu().numpy().astype(dtype)
        f[split]["outputs"][start : start + n] = y.detach().cpu().numpy().astype(dtype)
        f.attrs["chunks_done"] = done[0] = ci + 1
        f.flush()
        if progress:
            progress(sum(p[2] for p in plan[: ci + 1]), total)


def _drop_other_partial(partial: Path, ident: str) -> None:
    """Remove ``partial`` unless it is a readable partial write of the same dataset (``ident``)."""
    if not partial.exists():
        return
    try:
        with h5py.File(partial, "r") as f:
            same = f.attrs.get("ident") == ident
    except OSError:
        same = False
    if not same:
        partial.unlink()


def _create_layout(
    f: h5py.File,
    ident: str,
    counts: dict[str, int],
    sample_shapes: tuple[tuple[int, ...], tuple[int, ...]],
    coords: Sequence[np.ndarray],
    dtype: np.dtype,
) -> None:
    """The empty splits and the coordinates of a new file; ``ident`` is written last, so a file
    without it is started afresh."""
    for split in SPLITS:
        g = f.create_group(split)
        g.create_dataset("inputs", shape=(counts[split], *sample_shapes[0]), dtype=dtype)
        g.create_dataset("outputs", shape=(counts[split], *sample_shapes[1]), dtype=dtype)
    c = f.create_group("coords")
    for i, x in enumerate(coords):
        c.create_dataset(f"x{i}", data=np.asarray(x, dtype=np.float64))
    f.attrs.update(ident=ident, format=FORMAT, format_version=FORMAT_VERSION, complete=False, chunks_done=0)


def _seal(f: h5py.File, what: dict, layout: str) -> None:
    """Record the provenance and checksum of a fully written file and mark it complete."""
    f.attrs.update(
        problem=what["problem"],
        params=json.dumps(what["params"], sort_keys=True),
        seed=what["seed"],
        chunk_size=what["chunk_size"],
        muop_version=muop_version(),
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        layout=layout,
    )
    f.attrs["checksum"] = checksum(f)
    f.attrs["complete"] = True


def read_dataset(path: str | Path, verify: bool = False, stride: int = 1) -> StoredData:
    """Read a muop HDF5 dataset; ``stride`` subsamples every grid axis (coarser resolution).

    Arrays that hold NaN or inf are a :class:`DataError` (they would train into a "diverged" run).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file {path} does not exist")
    if int(stride) < 1:
        raise DataError(f"stride={stride}: expected an integer >= 1")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise DataError(f"{path} is not a readable HDF5 file (truncated or corrupted?): {e}") from None
    with f:
        if f.attrs.get("format") != FORMAT:
            raise DataError(
                f"{path} is not a muop dataset (no format={FORMAT!r} attribute); use muop.data.load for other layouts"
            )
        if not bool(f.attrs.get("complete", False)):
            raise DataError(f"{path} is incomplete (generation was interrupted); rerun the same command to resume")
        if verify:
            got = checksum(f)
            if got != f.attrs["checksum"]:
                raise DataError(f"{path}: checksum mismatch ({got} != {f.attrs['checksum']}); the file is corrupted")
        try:
            arrays = {}
            for split in SPLITS:
                for key in ("inputs", "outputs"):
                    d = f[split][key]
                    sl = (slice(None), slice(None), *[slice(None, None, stride)] * (d.ndim - 2))
                    arrays[(split, key)] = check_finite(path, f"{split}/{key}", torch.from_numpy(d[sl]))
            coords = [f["coords"][f"x{i}"][::stride] for i in range(len(f["coords"]))]
        except (OSError, KeyError) as e:
            raise DataError(f"{path}: cannot read its arrays (truncated or corrupted?): {e}") from None
        attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}
    attrs["params"] = json.loads(attrs.get("params", "{}"))
    return StoredData(
        arrays[("train", "inputs")],
        arrays[("train", "outputs")],
        arrays[("test", "inputs")],
        arrays[("test", "outputs")],
        coords,
        attrs,
    )
