"""Read The Well's HDF5 files into inputs (N, C_in, *grid) and outputs (N, C_out, *grid).

The Well: PolymathicAI; Ohana et al., "The Well", NeurIPS 2024 Datasets and Benchmarks.

The Well's layout (its documentation, "Data format"): a file holds the groups ``dimensions`` (the
attribute ``spatial_dims`` names the axes, one coordinate array each, and ``time``),
``boundary_conditions`` (one group per boundary, with ``bc_type`` periodic / wall / open and
``associated_dims``), and ``t0_fields``, ``t1_fields``, ``t2_fields``: scalar, vector and tensor
fields, each group's attribute ``field_names`` listing its arrays, shaped
(n_traj, n_steps, *spatial, *tensor_dims) with D = n_spatial_dims tensor axes of size D (one for
vectors, two for tensors). A field with ``sample_varying`` false has no n_traj axis, and one whose
``dim_varying`` is false along a spatial axis lacks that axis: both are repeated over what they lack.

Fields to channels, as The Well's own reader names and orders them: the ``t0_fields`` in
``field_names`` order, then each ``t1_fields`` field's D components, then each ``t2_fields``
field's D² components (row-major), named ``<field>_<axis>`` with the axis names of ``spatial_dims``
(``velocity_x``, ``stress_xy``). Fields with ``time_varying`` false (a mask, a coefficient) are
*constant channels*: inputs only, after the frames, never outputs.
Frames to samples: with a :class:`WellWindow` (n_in, n_out, k), every trajectory gives one sample per
start t: frames t, t+k, ..., t+(n_in−1)k in, the next n_out frames at the same spacing out; a
sample's channels are frame-major (channel ``i·C + c`` is field channel c of its i-th frame), then
the constant channels. Samples are trajectory-major. The Well ships train/valid/test as separate files: windows of one
trajectory are alike, so take the test set from another file (``data.test_path``). The validation split
(``data.n_val``) is the *tail of the training samples*, so its windows may share a trajectory with
training windows (a too-optimistic validation error for tuning) unless ``n_val`` is a whole number of
trajectories' windows; muop does not round it for you.

Memory: the file's fields are read whole (only the first ``trajectories``), and the windows copy
them once more (about twice the arrays read).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .store import DataError

__all__ = ["WellWindow", "WELL_GROUPS", "FIELD_GROUPS", "is_well", "well_channels", "read_well", "well_arrays"]

FIELD_GROUPS = ("t0_fields", "t1_fields", "t2_fields")  # tensor order 0, 1, 2
WELL_GROUPS = ("dimensions", "boundary_conditions", *FIELD_GROUPS)


@dataclass(frozen=True)
class WellWindow:
    """Which frames make a sample: ``n_in`` frames in, ``n_out`` frames out, ``k`` steps apart (t → t + k)."""

    n_in: int = 1
    n_out: int = 1
    k: int = 1

    def __post_init__(self) -> None:
        for name in ("n_in", "n_out", "k"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise DataError(f"well window {name}={v!r}: expected an integer >= 1")

    def starts(self, n_steps: int) -> int:
        """How many windows fit in a trajectory of ``n_steps`` frames."""
        return max(0, n_steps - (self.n_in + self.n_out - 1) * self.k)


def is_well(f: h5py.File) -> bool:
    """Whether an open HDF5 file claims The Well's layout (one of its field groups or ``dimensions`` is there)."""
    return any(isinstance(f.get(g), h5py.Group) for g in (*FIELD_GROUPS, "dimensions"))


def _names(attr) -> list[str]:
    """An HDF5 string-list attribute as a list of str."""
    if attr is None:
        return []
    return [a.decode() if isinstance(a, bytes) else str(a) for a in np.atleast_1d(attr)]


def _check_layout(f: h5py.File, path: Path) -> tuple[list[str], int, int]:
    """The spatial axis names, n_traj and n_steps; a one-line DataError naming what is missing."""
    found = sorted(f.keys())
    for g in WELL_GROUPS:
        if not isinstance(f.get(g), h5py.Group):
            raise DataError(f"{path}: not The Well's layout: group {g!r} is missing; groups found: {found}")
    axes = _names(f["dimensions"].attrs.get("spatial_dims"))
    if not axes:
        raise DataError(f"{path}: group 'dimensions' has no 'spatial_dims' attribute naming the spatial axes")
    missing = [a for a in (*axes, "time") if a not in f["dimensions"]]
    if missing:
        raise DataError(f"{path}: group 'dimensions' lacks the coordinate arrays {missing}")
    n_dims = int(f.attrs.get("n_spatial_dims", len(axes)))
    if n_dims != len(axes):
        raise DataError(f"{path}: n_spatial_dims={n_dims} but dimensions/spatial_dims names {axes}")
    n_steps = f["dimensions"]["time"].shape[-1]  # (n_steps,) or, sample-varying, (n_traj, n_steps)
    n_traj = f.attrs.get("n_trajectories")
    if n_traj is None:  # the first sample-varying field tells
        n_traj = next((f[g][n].shape[0] for g in FIELD_GROUPS for n in _fields(f, g, path) if _varies(f[g][n])), 1)
    return axes, int(n_traj), n_steps


def _fields(f: h5py.File, group: str, path: Path) -> list[str]:
    names = _names(f[group].attrs.get("field_names"))
    missing = [n for n in names if n not in f[group]]
    if missing:
        raise DataError(f"{path}: {group} lists field(s) {missing} in field_names, but has no such array")
    return names


def _varies(ds: h5py.Dataset, what: str = "sample_varying") -> bool:
    return bool(ds.attrs.get(what, True))


def well_channels(path: str | Path) -> tuple[list[str], list[str]]:
    """The channel names of one frame of a Well file, in muop's order (see the module docstring): the
    time-varying fields' channels, and the constant fields' channels (inputs only)."""
    with h5py.File(path, "r") as f:
        axes, _, _ = _check_layout(f, Path(path))
        return _channel_names(f, axes, Path(path))


def _channel_names(f: h5py.File, axes: list[str], path: Path) -> tuple[list[str], list[str]]:
    out: tuple[list[str], list[str]] = ([], [])
    for order, group in enumerate(FIELD_GROUPS):
        comps = ["".join(c) for c in itertools.product(axes, repeat=order)]  # row-major; [""] for scalars
        for name in _fields(f, group, path):
            target = out[0] if _varies(f[group][name], "time_varying") else out[1]
            target += [f"{name}_{c}" if c else name for c in comps]
    return out


def _field(ds: h5py.Dataset, order: int, grid: tuple[int, ...], n_traj: int, path: Path, name: str) -> np.ndarray:
    """One field as (n_traj, n_steps or 1, *grid, D**order), repeated along the trajectories and spatial
    axes it does not vary along (``sample_varying``, ``dim_varying``); only the first ``n_traj``
    trajectories are read from the file."""
    a = ds[:n_traj] if _varies(ds, "sample_varying") else ds[()]
    d = len(grid)
    if not _varies(ds, "sample_varying"):
        a = a[None]
    if not _varies(ds, "time_varying"):
        a = a[:, None]
    dims = np.atleast_1d(ds.attrs.get("dim_varying", [True] * d)).astype(bool)
    for i in np.flatnonzero(~dims) if dims.size == d else []:
        a = np.expand_dims(a, 2 + i)
    if a.ndim != 2 + d + order or a.shape[2 + d :] != (d,) * order or a.shape[0] not in (1, n_traj):
        raise DataError(
            f"{path}: field {name!r} has shape {ds.shape}; expected (n_traj={n_traj}, n_steps, {d} spatial axes"
            f"{f', {d}' * order}), less the axes it does not vary along"
        )
    a = np.broadcast_to(a, (n_traj, a.shape[1], *grid, *a.shape[2 + d :]))
    return a.reshape(*a.shape[: 2 + d], d**order)


def _stack(f: h5py.File, axes: list[str], n_traj: int, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The time-varying fields as (n_traj, n_steps, C, *grid) and the constant ones as (n_traj, C', *grid)."""
    grid = tuple(f["dimensions"][a].shape[-1] for a in axes)  # (n,) or, sample-varying, (n_traj, n)
    parts: tuple[list, list] = ([], [])
    for order, group in enumerate(FIELD_GROUPS):
        for name in _fields(f, group, path):
            a = _field(f[group][name], order, grid, n_traj, path, f"{group}/{name}")
            parts[0 if _varies(f[group][name], "time_varying") else 1].append(a)
    if not parts[0]:
        raise DataError(f"{path}: The Well's field groups {list(FIELD_GROUPS)} list no time-varying field")
    steps = {p.shape[1] for p in parts[0]}
    if len(steps) > 1:
        raise DataError(f"{path}: time-varying fields have different numbers of frames {sorted(steps)}")
    var = np.moveaxis(np.concatenate(parts[0], axis=-1), -1, 2)
    const = np.moveaxis(np.concatenate(parts[1], axis=-1)[:, 0], -1, 1) if parts[1] else var[:, 0, :0]
    return var, const


def _boundaries(f: h5py.File) -> dict[str, str]:
    """Each spatial axis's boundary type (``periodic``, ``wall``, ``open``), from ``boundary_conditions``."""
    out = {}
    for g in f["boundary_conditions"].values():
        for axis in _names(g.attrs.get("associated_dims")):
            out[axis] = _names(g.attrs.get("bc_type"))[0] if g.attrs.get("bc_type") is not None else "unknown"
    return out


def read_well(
    path: str | Path, window: WellWindow = WellWindow(), trajectories: int | None = None
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Inputs (N, n_in·C, *grid) and outputs (N, n_out·C, *grid) of a Well file, and what was read
    (channels, boundary types, spatial axes, frame window). ``trajectories`` keeps the first ones only.
    A file not in The Well's layout is a one-line DataError naming the missing group or array."""
    with h5py.File(path, "r") as f:
        return well_arrays(f, Path(path), window, trajectories)


def well_arrays(
    f: h5py.File, path: Path, window: WellWindow = WellWindow(), trajectories: int | None = None
) -> tuple[np.ndarray, np.ndarray, dict]:
    """:func:`read_well` on an open file (``path`` names it in errors)."""
    axes, n_traj, n_steps = _check_layout(f, path)
    channels, constant = _channel_names(f, axes, path)
    if trajectories is not None:
        n_traj = min(n_traj, trajectories)
    try:
        var, const = _stack(f, axes, n_traj, path)
    except MemoryError:
        raise DataError(
            f"{path}: {n_traj} trajectories do not fit in memory (the windows hold about twice the file's "
            "arrays); read fewer (trajectories=N)"
        ) from None
    if var.shape[1] != n_steps:
        raise DataError(f"{path}: fields hold {var.shape[1]} frames but dimensions/time has {n_steps}")
    n_win = window.starts(n_steps)
    if n_win == 0:
        raise DataError(
            f"{path}: trajectories of {n_steps} frames hold no window of {window.n_in} in + {window.n_out} out "
            f"frames {window.k} apart"
        )
    span, grid = window.n_in + window.n_out, var.shape[3:]
    idx = np.arange(n_win)[:, None] + window.k * np.arange(span)[None, :]  # (n_win, span) frame numbers
    frames = var[:, idx].reshape(-1, span, *var.shape[2:])  # (n_traj * n_win, span, C, *grid)
    x = frames[:, : window.n_in].reshape(len(frames), window.n_in * len(channels), *grid)
    x = np.concatenate([x, np.repeat(const, n_win, axis=0)], axis=1)  # constant fields: inputs only
    y = frames[:, window.n_in :].reshape(len(frames), window.n_out * len(channels), *grid)
    meta = {
        "channels": channels,
        "constant_channels": constant,
        "boundary_conditions": _boundaries(f),
        "spatial_dims": axes,
        "window": [window.n_in, window.n_out, window.k],
        "trajectories": int(var.shape[0]),
    }
    return x, y, meta
