"""The built-in PDE problems: how a chunk of (inputs, outputs) is made, and the dataset layout."""

from __future__ import annotations

import math
import numbers
import shutil
import typing
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch

from ..errors import UsageError
from ..utils.device import available_memory, check_device
from .burgers import BurgersParams, burgers_initial, burgers_solve
from .darcy import DarcyParams, darcy_generate
from .fno_paper import FNOBurgersParams, FNODarcyParams, FNONSParams, fno_burgers, fno_darcy, fno_ns, unit_grid
from .navier_stokes import NSParams, ns_initial, ns_solve
from .parallel import map_batch
from .shallow_water import ShallowWaterParams, shallow_water_generate
from .store import write_dataset

__all__ = ["PROBLEMS", "Problem", "generate", "make_params", "check_work"]


@dataclass(frozen=True)
class Problem:
    """A generator: parameters dataclass, chunk maker, coordinates and layout text."""

    name: str
    params_type: type
    make: Callable[..., tuple[torch.Tensor, torch.Tensor]]  # (params, n, s, generator, workers, dtype, device)
    coords: Callable[[object, int], list[np.ndarray]]
    shapes: Callable[[object, int], tuple[tuple[int, ...], tuple[int, ...]]]
    layout: str
    min_resolution: int = 8


def _burgers(p: BurgersParams, n: int, s: int, g: torch.Generator, workers: int, dtype, device):
    u0 = burgers_initial(n, s, p, g, dtype=dtype, device=device)
    uT = map_batch(lambda u: burgers_solve(u, p), u0, workers)
    return u0[:, None], uT[:, None]


def _darcy(p: DarcyParams, n: int, s: int, g: torch.Generator, workers: int, dtype, device):
    a, u = darcy_generate(n, s, p, g, dtype=dtype)  # scipy's sparse solve runs on the CPU
    return a[:, None].to(device), u[:, None].to(device)


@dataclass(frozen=True)
class NSTask(NSParams):
    """NS parameters plus the task split: the first ``input_frames`` frames -> the rest."""

    input_frames: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.input_frames < self.n_frames:
            raise UsageError(
                f"input_frames={self.input_frames}: expected 1 .. {self.n_frames - 1} (T={self.T} gives "
                f"{self.n_frames} frames)"
            )


def _ns(p: NSTask, n: int, s: int, g: torch.Generator, workers: int, dtype, device):
    w0 = ns_initial(n, s, p, g, dtype=dtype, device=device)
    frames = map_batch(lambda w: ns_solve(w, p), w0, workers)
    return frames[:, : p.input_frames], frames[:, p.input_frames :]


PROBLEMS: dict[str, Problem] = {
    # muop's shock-forming variant: the FNO paper's initial-condition formula read on (0, 2π); the paper's own
    # setting is "fno-burgers" below (docs/literature.md)
    "burgers": Problem(
        "burgers",
        BurgersParams,
        _burgers,
        lambda p, s: [np.arange(s) * p.length / s],
        lambda p, s: ((1, s), (1, s)),
        "inputs: u0 (N, 1, s); outputs: u(T) (N, 1, s); periodic grid x_j = j L / s",
    ),
    "darcy": Problem(
        "darcy",
        DarcyParams,
        _darcy,
        lambda p, s: [np.linspace(0, 1, s)] * 2,
        lambda p, s: ((1, s, s), (1, s, s)),
        "inputs: coefficient a (N, 1, s, s); outputs: pressure u (N, 1, s, s); nodes i/(s-1), boundary included (u = "
        "0 there)",
        min_resolution=4,  # s = 3 leaves one interior node, which the sparse solver cannot assemble
    ),
    "navier-stokes": Problem(
        "navier-stokes",
        NSTask,
        _ns,
        lambda p, s: [np.arange(s) / s] * 2,
        lambda p, s: ((p.input_frames, s, s), (p.n_frames - p.input_frames, s, s)),
        "inputs: vorticity frames t = 0 .. input_frames-1 as channels (N, input_frames, s, s); outputs: the "
        "following frames to T (N, n_frames - input_frames, s, s); torus grid j/s",
    ),
    # The FNO paper's benchmarks (Li et al., ICLR 2021), muop.data.fno_paper; published errors in docs/literature.md
    "fno-burgers": Problem(
        "fno-burgers",
        FNOBurgersParams,
        fno_burgers,
        lambda p, s: [unit_grid(s)],
        lambda p, s: ((1, s), (1, s)),
        "inputs: u0 (N, 1, s); outputs: u(T) (N, 1, s); periodic grid x_j = j / s of (0, 1), solved on s * "
        "solve_factor points",
    ),
    "fno-darcy": Problem(
        "fno-darcy",
        FNODarcyParams,
        fno_darcy,
        lambda p, s: [np.linspace(0, 1, s)] * 2,
        lambda p, s: ((1, s, s), (1, s, s)),
        "inputs: coefficient a in {4, 12} (N, 1, s, s); outputs: pressure u (N, 1, s, s); nodes i/(s-1), solved on "
        "(s-1) * solve_factor + 1 nodes",
        min_resolution=4,
    ),
    "fno-ns": Problem(
        "fno-ns",
        FNONSParams,
        fno_ns,
        lambda p, s: [unit_grid(s)] * 2,
        lambda p, s: ((p.input_frames, s, s), (p.output_frames, s, s)),
        "inputs: vorticity at t = 1 .. input_frames (N, input_frames, s, s); outputs: the next output_frames "
        "frames (N, output_frames, s, s); torus grid j/s",
    ),
    # Spherical shallow water (muop.data.shallow_water; needs torch-harmonics, the "sphere" extra)
    "shallow-water": Problem(
        "shallow-water",
        ShallowWaterParams,
        shallow_water_generate,
        lambda p, s: [np.linspace(90, -90, s), np.arange(2 * s) * 180 / s],
        lambda p, s: ((3, s, 2 * s), (3, s, 2 * s)),
        "inputs: (height anomaly, vorticity, divergence) at t, dimensionless (N, 3, s, 2s); outputs: the same at t + "
        "delta_t_hours; equiangular grid, s latitudes (degrees, poles included) x 2s longitudes",
        min_resolution=4,
    ),
}


_KINDS = {float: "a number (float)", int: "an integer (int)", bool: "true or false (bool)"}
_BOOLS = (bool, np.bool_)


def _typed(problem: str, key: str, value, typ: type, allowed: list[str]):
    """``value`` as the field's type ``typ``; one-line ValueError when it is not one."""
    if typ is bool:
        ok = isinstance(value, _BOOLS)
    elif typ is int:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, _BOOLS)
    else:  # float: any real number but a bool, and finite
        ok = isinstance(value, numbers.Real) and not isinstance(value, _BOOLS) and math.isfinite(value)
    if not ok:
        raise UsageError(
            f"param {key}={value!r}: expected {_KINDS.get(typ, typ.__name__)} for {problem}; allowed keys: {allowed}"
        )
    return typ(value)


def make_params(problem: str, overrides: dict | None = None):
    """The problem's parameters dataclass with ``overrides`` applied.

    Unknown keys and values that are not of the field's type (a string for a float, a float for an
    int, NaN/inf, ...) are a one-line ValueError listing the allowed keys; ints are taken as floats.
    """
    if problem not in PROBLEMS:
        raise UsageError(f"problem {problem!r} is unknown; expected one of {sorted(PROBLEMS)}")
    pt = PROBLEMS[problem].params_type
    overrides = dict(overrides or {})
    types = typing.get_type_hints(pt)
    allowed = sorted(f.name for f in fields(pt))
    bad = sorted(set(overrides) - set(allowed), key=str)
    if bad:
        raise UsageError(f"unknown {problem} parameter(s) {bad}; allowed keys: {allowed}")
    return replace(pt(), **{k: _typed(problem, k, v, types[k], allowed) for k, v in overrides.items()})


def _count(name: str, value, minimum: int, where: str = "") -> int:
    """``value`` as an int >= ``minimum``; one-line ValueError otherwise."""
    if isinstance(value, _BOOLS) or not isinstance(value, numbers.Integral) or value < minimum:
        raise UsageError(f"{name}={value!r}: expected an integer >= {minimum}{where}")
    return int(value)


#: Working memory of a solver per byte of the float32 (inputs, outputs) it makes: an estimate from
#: the solvers' own arrays (Burgers' ETDRK4 holds about five complex-double arrays per grid point,
#: i.e. 10x the stored bytes; Navier-Stokes' RK stages and Darcy's sparse factors more), used only
#: to refuse what cannot fit by a wide margin.
SOLVER_MEMORY_FACTOR = 16


def check_work(
    shapes: tuple[tuple[int, ...], tuple[int, ...]],
    n: int,
    chunk_size: int,
    dtype: np.dtype,
    out: str | Path,
    what: str = "",
    device: torch.device | None = None,
) -> None:
    """A one-line UsageError, before anything is made, if ``n`` samples of ``shapes`` (input, output
    per sample) clearly cannot be generated here: a chunk's working memory beyond the memory
    available on ``device`` (default: the CPU's), or the file beyond the free disk space where
    ``out`` goes. ``what`` names the setting at fault in the message (e.g. ``resolution=4096``)."""
    what = f"{what} " if what else ""
    sample = (math.prod(shapes[0]) + math.prod(shapes[1])) * dtype.itemsize
    need = SOLVER_MEMORY_FACTOR * min(chunk_size, n) * sample
    free = available_memory(device or torch.device("cpu"))
    if need > free:
        raise UsageError(
            f"{what}(samples of shape {shapes[0]} -> {shapes[1]}, chunks of {min(chunk_size, n)}): generating "
            f"needs about {need / 2**30:.3g} GiB of memory, more than the {free / 2**30:.3g} GiB available; "
            "lower the resolution or the chunk size"
        )
    folder = Path(out).resolve().parent
    while not folder.exists():
        folder = folder.parent
    disk = shutil.disk_usage(folder).free
    if n * sample > disk:
        raise UsageError(
            f"{what}n_train + n_test={n} (samples of shape {shapes[0]} -> {shapes[1]}) take about "
            f"{n * sample / 2**30:.3g} GiB, more than "
            f"the {disk / 2**30:.3g} GiB free in {folder}; lower the resolution or the number of samples"
        )


def generate(
    problem: str,
    out: str | Path,
    n_train: int,
    n_test: int,
    resolution: int,
    seed: int = 0,
    params: dict | None = None,
    chunk_size: int = 100,
    workers: int = 2,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Generate ``problem`` and write it to ``out`` (muop HDF5 format, :mod:`muop.data.store`).

    Samples are made ``chunk_size`` at a time (bounded memory), each chunk split over ``workers``
    threads, in ``dtype`` on ``device``; the file stores ``dtype``. Every argument is checked
    (counts and ``workers`` >= 1, the device exists here, ...) before anything is written.
    """
    if dtype not in (torch.float32, torch.float64):
        raise UsageError(f"dtype={dtype}: expected torch.float32 or torch.float64")
    prob = PROBLEMS.get(problem)
    if prob is None:
        raise UsageError(f"problem {problem!r} is unknown; expected one of {sorted(PROBLEMS)}")
    p = make_params(problem, params)
    n_train, n_test = _count("n_train", n_train, 1), _count("n_test", n_test, 1)
    resolution = _count("resolution", resolution, prob.min_resolution, f" for {problem}")
    chunk_size, workers = _count("chunk_size", chunk_size, 1), _count("workers", workers, 1)
    if isinstance(seed, _BOOLS) or not isinstance(seed, numbers.Integral):
        raise UsageError(f"seed={seed!r}: expected an integer")
    seed = int(seed)
    device = check_device(device)
    dtype_np = np.dtype(str(dtype).removeprefix("torch."))
    check_work(
        prob.shapes(p, resolution), n_train + n_test, chunk_size, dtype_np, out, f"resolution={resolution}", device
    )

    def make_chunk(n: int, chunk_seed: int):
        return prob.make(p, n, resolution, torch.Generator().manual_seed(chunk_seed), workers, dtype, device)

    dtype_name = str(dtype).removeprefix("torch.")
    record = asdict(p) | {"resolution": resolution, "dtype": dtype_name}
    return write_dataset(
        out,
        problem,
        record,
        seed,
        {"train": n_train, "test": n_test},
        prob.shapes(p, resolution),
        prob.coords(p, resolution),
        make_chunk,
        chunk_size,
        prob.layout,
        progress,
        dtype=np.dtype(dtype_name),
    )
