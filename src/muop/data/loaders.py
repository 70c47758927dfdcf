"""Read files users already have into one layout: inputs (N, C_in, *grid), outputs (N, C_out, *grid).

Formats (chosen by content, not only by extension):

* muop HDF5 (:mod:`muop.data.store`): ``split`` picks train or test.
* one file with named splits: arrays ``x_train``/``y_train``/``x_test``/``y_test`` in a ``.npz``,
  HDF5 or ``.mat`` file or a ``.pt`` dict; ``split`` picks ``x_<split>``/``y_<split>``. :func:`has_splits`
  tells these files and muop's own (which hold their test set) from single array sets.
* FNO ``.mat`` files: MATLAB v7.3 (HDF5; MATLAB's column-major axes are reversed on reading) or
  older (scipy.io). Keys ``a``/``u`` or ``coeff``/``sol``; an output with one more trailing axis
  than the input (Navier–Stokes ``u`` (N, s, s, T)) has that axis moved to the channel position.
* PDEBench HDF5: ``tensor`` (N, T, *grid); input = frame ``t_in`` (default 0), output = frame
  ``t_out`` (default last).
* The Well's HDF5 (``t0_fields``/``t1_fields``/``t2_fields``, ``dimensions``, ``boundary_conditions``):
  fields to channels and frames t → t + k to samples as :mod:`muop.data.well` says (``well``, a
  :class:`~muop.data.well.WellWindow`; default one frame to the next).
* neuraloperator ``.pt`` dicts ``x``/``y``, loaded with ``torch.load(weights_only=True)``; arrays
  are (N, *grid) or channels-first (N, C, *grid).
* plain ``.npz``/``.h5`` with named arrays, channels-first, keys given or one of the known pairs.

Inputs or outputs holding NaN or inf are a :class:`DataError` that names the file, the array and
how many values are not finite.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from .store import FORMAT, DataError, check_finite, read_dataset
from .well import WellWindow, is_well, well_arrays

__all__ = ["OperatorData", "load", "has_splits", "KEY_PAIRS", "SPLIT_KEYS"]

KEY_PAIRS = (("x", "y"), ("a", "u"), ("coeff", "sol"), ("input", "output"), ("inputs", "outputs"))
SPLITS = ("train", "test")
SPLIT_KEYS = {s: (f"x_{s}", f"y_{s}") for s in SPLITS}  # one file holding both splits
_ALL_SPLIT_KEYS = [k for pair in SPLIT_KEYS.values() for k in pair]


@dataclass
class OperatorData(Dataset):
    """Input/output function samples on a grid: x (N, C_in, *grid), y (N, C_out, *grid).

    A ``torch.utils.data.Dataset``: item i is ``(x[i], y[i])``.
    """

    x: Tensor
    y: Tensor
    source: str
    meta: dict = field(default_factory=dict)

    @property
    def grid(self) -> tuple[int, ...]:
        return tuple(self.x.shape[2:])

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return self.x[i], self.y[i]

    def subsample(self, stride: int = 1, samples: slice = slice(None)) -> OperatorData:
        """Every ``stride``-th grid point of the chosen ``samples`` (views, no copy)."""
        sl = (samples, slice(None), *[slice(None, None, stride)] * (self.x.dim() - 2))
        return OperatorData(self.x[sl], self.y[sl], self.source, self.meta)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DataError(f"split={split!r}: expected 'train' or 'test'")


def _pick(keys: list[str], input_key: str | None, output_key: str | None, path: Path, split: str) -> tuple[str, str]:
    if input_key or output_key:
        missing = [k for k in (input_key, output_key) if k is None or k not in keys]
        if missing:
            raise DataError(f"{path}: key(s) {missing} not found; keys found: {sorted(keys)}")
        return input_key, output_key  # type: ignore[return-value]
    if any(k in keys for k in _ALL_SPLIT_KEYS):
        _check_split(split)
        missing = [k for k in SPLIT_KEYS[split] if k not in keys]
        if missing:
            raise DataError(
                f"{path}: split {split!r} needs arrays {list(SPLIT_KEYS[split])}; {missing} not found; keys found: "
                f"{sorted(keys)}"
            )
        return SPLIT_KEYS[split]
    for a, b in KEY_PAIRS:
        if a in keys and b in keys:
            return a, b
    raise DataError(
        f"{path}: no known input/output keys {[list(p) for p in KEY_PAIRS]}; keys found: {sorted(keys)}; pass "
        "input_key/output_key"
    )


def _channels_first(
    x: np.ndarray, y: np.ndarray, path: Path, channels_last_extra: bool = False, grid_dims: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Bring (N, *grid) / (N, C, *grid) [/ (N, *grid, C) for .mat outputs] to (N, C, *grid).

    With equal ranks, arrays that differ only in axis 1 are read as channels-first (the grids must
    agree); otherwise the lower-rank array has no channel axis. ``grid_dims`` overrides the guess.
    """
    gdim = min(x.ndim, y.ndim) - 1
    if grid_dims is not None:
        gdim = int(grid_dims)
    elif (
        x.ndim == y.ndim
        and x.ndim >= 3
        and x.shape[1] != y.shape[1]
        and x.shape[2:] == y.shape[2:]
        and not channels_last_extra
    ):
        gdim = x.ndim - 2
    if gdim < 1:
        raise DataError(f"{path}: arrays of shapes {x.shape} and {y.shape} have no grid axes; expected (N, *grid)")

    def fix(a: np.ndarray) -> np.ndarray:
        if a.ndim == gdim + 1:
            return a[:, None]
        if a.ndim == gdim + 2:
            return np.moveaxis(a, -1, 1) if channels_last_extra else a
        raise DataError(f"{path}: array of shape {a.shape} is not (N, *grid) or (N, C, *grid) with {gdim} grid axes")

    return fix(x), fix(y)


def _finish(
    x: np.ndarray, y: np.ndarray, path: Path, fmt: str, meta: dict, stride: int, dtype: torch.dtype
) -> OperatorData:
    for name, a in (("inputs", x), ("outputs", y)):
        if a.dtype.kind not in "biuf":
            raise DataError(
                f"{path}: {name} have dtype {a.dtype}; expected real numbers (complex fields: store real and imaginary "
                "parts as channels)"
            )
    if x.shape[0] != y.shape[0]:
        raise DataError(f"{path}: inputs have {x.shape[0]} samples but outputs {y.shape[0]}")
    if x.shape[2:] != y.shape[2:]:
        raise DataError(f"{path}: input grid {x.shape[2:]} differs from output grid {y.shape[2:]}")
    sl = (slice(None), slice(None), *[slice(None, None, stride)] * (x.ndim - 2))
    names = (
        [f"{role} {k!r}" for role, k in zip(("inputs", "outputs"), meta["keys"])]
        if "keys" in meta
        else ["inputs", "outputs"]
    )
    tx = check_finite(path, names[0], torch.as_tensor(np.asarray(x[sl], dtype=np.float64)).to(dtype))
    ty = check_finite(path, names[1], torch.as_tensor(np.asarray(y[sl], dtype=np.float64)).to(dtype))
    if "keys" in meta and tuple(meta["keys"]) in SPLIT_KEYS.values():
        meta = {**meta, "split": meta["keys"][0].removeprefix("x_")}
    return OperatorData(tx, ty, str(path), {"format": fmt, **meta})


def load(
    path: str | Path,
    input_key: str | None = None,
    output_key: str | None = None,
    split: str = "train",
    stride: int = 1,
    t_in: int = 0,
    t_out: int = -1,
    dtype: torch.dtype = torch.float32,
    grid_dims: int | None = None,
    well: WellWindow | None = None,
) -> OperatorData:
    """Load a dataset file of any supported format (see module docstring).

    ``stride`` subsamples every grid axis; ``grid_dims`` fixes the number of spatial axes when the
    layout is ambiguous (e.g. (N, 2, 8) could be a 2-D grid or 2 channels on a 1-D grid).
    ``well`` picks the frames of a Well file's samples (:class:`~muop.data.well.WellWindow`).
    ``split`` ('train' or 'test') matters for files that hold both: muop's own and files with
    ``x_train``/``y_train``/``x_test``/``y_test`` arrays (see :func:`has_splits`); other files are
    one array set, whatever ``split`` says.
    A file that cannot be used raises :class:`DataError` naming the file and the problem, whatever
    the reader underneath raised; nothing is ever unpickled.
    """
    req = _Read(input_key, output_key, split, stride, t_in, t_out, dtype, grid_dims, well or WellWindow())
    return _guarded(Path(path), lambda p: _load(p, req))


@dataclass(frozen=True)
class _Read:
    """What :func:`load` was asked for, passed to the readers of each format as one value."""

    input_key: str | None
    output_key: str | None
    split: str
    stride: int
    t_in: int
    t_out: int
    dtype: torch.dtype
    grid_dims: int | None
    well: WellWindow = WellWindow()


def has_splits(path: str | Path) -> bool:
    """Whether ``path`` holds its own train and test sets: a muop dataset, or a ``.npz``, HDF5,
    ``.mat`` or ``.pt`` file with all of ``x_train``/``y_train``/``x_test``/``y_test``. Then
    ``load(path, split=...)`` gives each set; otherwise the file is one array set, for the caller
    to slice into train and test samples."""
    return _guarded(Path(path), _has_splits)


def _guarded(path: Path, read):
    """``read(path)``, with a missing file a FileNotFoundError and any reader failure a DataError."""
    if not path.exists():
        raise FileNotFoundError(f"data file {path} does not exist")
    try:
        return read(path)
    except (DataError, FileNotFoundError):
        raise
    except (OSError, EOFError, ValueError, KeyError, TypeError, IndexError, zipfile.BadZipFile) as e:
        raise DataError(
            f"{path}: cannot be read as {path.suffix or 'data'} ({type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else 'no detail'})"
        ) from None


def _torch_dict(path: Path) -> dict:
    try:
        d = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file
        raise DataError(f"{path}: not a readable weights-only torch file: {e}") from None
    if not isinstance(d, dict):
        raise DataError(f"{path}: expected a dict of tensors, got {type(d).__name__}")
    return d


def _matlab(path: Path, how: str):
    """``scipy.io.loadmat(path)`` (a dict) or the array names (``how="whosmat"``) of a MATLAB v5 file."""
    import scipy.io

    try:
        got = getattr(scipy.io, how)(path)
    except Exception as e:  # noqa: BLE001
        raise DataError(f"{path}: not a readable MATLAB file: {e}") from None
    return [name for name, _, _ in got] if how == "whosmat" else got


def _has_splits(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix == ".pt":
        keys = list(_torch_dict(path))
    elif suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.files)
    elif h5py.is_hdf5(path):
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") == FORMAT:
                return True
            keys = [k for k in f.keys() if isinstance(f[k], h5py.Dataset)]
    elif suffix == ".mat":
        keys = _matlab(path, "whosmat")
    else:
        return False
    return all(k in keys for k in _ALL_SPLIT_KEYS)


def _load(path: Path, r: _Read) -> OperatorData:
    """Read ``path`` as its format says (see :func:`load`)."""
    if int(r.stride) < 1:
        raise DataError(f"stride={r.stride}: expected an integer >= 1")
    suffix = path.suffix.lower()
    if suffix == ".pt":
        d = _torch_dict(path)
        a, b = _pick(list(d), r.input_key, r.output_key, path, r.split)
        x, y = _channels_first(np.asarray(d[a]), np.asarray(d[b]), path, grid_dims=r.grid_dims)
        return _finish(x, y, path, "neuraloperator-pt", {"keys": [a, b]}, r.stride, r.dtype)
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            a, b = _pick(list(z.files), r.input_key, r.output_key, path, r.split)
            x, y = _channels_first(z[a], z[b], path, grid_dims=r.grid_dims)
        return _finish(x, y, path, "npz", {"keys": [a, b]}, r.stride, r.dtype)
    if h5py.is_hdf5(path):
        return _load_hdf5(path, r)
    if suffix == ".mat":
        m = _matlab(path, "loadmat")
        keys = [k for k in m if not k.startswith("__")]
        a, b = _pick(keys, r.input_key, r.output_key, path, r.split)
        x, y = _channels_first(m[a], m[b], path, channels_last_extra=True, grid_dims=r.grid_dims)
        return _finish(x, y, path, "fno-mat", {"keys": [a, b]}, r.stride, r.dtype)
    if suffix in (".h5", ".hdf5"):
        raise DataError(f"{path} is not a readable HDF5 file (truncated or corrupted?)")
    raise DataError(f"{path}: unknown format {suffix!r}; expected .h5/.hdf5, .mat, .pt or .npz")


def _load_hdf5(path: Path, r: _Read) -> OperatorData:
    """An HDF5 file: muop's own format, PDEBench's ``tensor``, a MATLAB v7.3 file or named arrays."""
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise DataError(f"{path} is not a readable HDF5 file (truncated or corrupted?): {e}") from None
    with f:
        if f.attrs.get("format") != FORMAT:
            return _load_foreign_hdf5(f, path, r)
    _check_split(r.split)
    s = read_dataset(path, stride=r.stride)
    x, y = (s.train_x, s.train_y) if r.split == "train" else (s.test_x, s.test_y)
    x = check_finite(path, f"{r.split}/inputs", x.to(r.dtype))
    y = check_finite(path, f"{r.split}/outputs", y.to(r.dtype))
    return OperatorData(x, y, str(path), {"format": FORMAT, "r.split": r.split, **s.attrs})


def _load_foreign_hdf5(f: h5py.File, path: Path, r: _Read) -> OperatorData:
    """An open HDF5 file that is not muop's: The Well's, PDEBench's ``tensor``, MATLAB v7.3, or named arrays."""
    if is_well(f):
        x, y, meta = well_arrays(f, path, r.well)
        return _finish(x, y, path, "the-well", meta, r.stride, r.dtype)
    keys = [k for k in f.keys() if isinstance(f[k], h5py.Dataset)]
    try:
        if "tensor" in keys:
            t = f["tensor"]
            x, y = _channels_first(t[:, r.t_in], t[:, r.t_out], path, grid_dims=r.grid_dims)
            return _finish(
                x, y, path, "pdebench", {"frames": [r.t_in, r.t_out], "shape": list(t.shape)}, r.stride, r.dtype
            )
        a, b = _pick(keys, r.input_key, r.output_key, path, r.split)
        xa, ya = f[a][()], f[b][()]
    except OSError as e:
        raise DataError(f"{path}: cannot read its arrays (truncated or corrupted?): {e}") from None
    if path.suffix.lower() == ".mat":  # MATLAB v7.3: column-major, so axes come reversed
        x, y = _channels_first(
            np.transpose(xa), np.transpose(ya), path, channels_last_extra=True, grid_dims=r.grid_dims
        )
        return _finish(x, y, path, "fno-mat-v7.3", {"keys": [a, b]}, r.stride, r.dtype)
    x, y = _channels_first(xa, ya, path, grid_dims=r.grid_dims)
    return _finish(x, y, path, "hdf5", {"keys": [a, b]}, r.stride, r.dtype)
