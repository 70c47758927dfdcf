"""The tiny Burgers run configs the slow tests share (a second or so per run on one core)."""

from pathlib import Path


def tiny_burgers(
    cache_dir: Path,
    *,
    n_train: int = 30,
    n_val: int | None = 6,
    modes: int = 4,
    train: dict | None = None,
    tune: dict | None = None,
) -> dict:
    """A Burgers run config as a dict: s = 64, T = 0.2, 8 test samples, width 8, depth 2; ``n_val=None``
    leaves the validation split unset; ``train`` and ``tune`` are the sections as given."""
    data = {"problem": "burgers", "n_train": n_train, "n_test": 8, "n_val": n_val, "resolution": 64}
    data = {k: v for k, v in data.items() if v is not None} | {"params": {"T": 0.2}, "cache_dir": str(cache_dir)}
    cfg = {"data": data, "model": {"modes": [modes], "width": 8, "depth": 2}, "train": train or {}}
    return cfg | ({"tune": tune} if tune else {})
