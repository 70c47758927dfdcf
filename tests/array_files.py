"""Test helper: write named arrays to a .npz, HDF5 (.h5) or .pt file, as users' files hold them."""

from pathlib import Path

import h5py
import numpy as np
import torch


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """``arrays`` under their names in ``path``; the format follows the suffix (.npz, .h5, .pt)."""
    if path.suffix == ".npz":
        np.savez(path, **arrays)
    elif path.suffix == ".h5":
        with h5py.File(path, "w") as f:
            for k, v in arrays.items():
                f[k] = v
    else:
        torch.save({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}, path)
    return path
