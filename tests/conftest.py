import json

import pytest
import torch

from muop.config import RunConfig

#: A training run of a second or less: Burgers at 64 points, a width-8 FNO with 6 modes, 3 epochs.
TINY = {
    "data": {"problem": "burgers", "n_train": 24, "n_test": 8, "resolution": 64, "params": {"T": 0.2}},
    "model": {"modes": [6], "width": 8, "depth": 2},
    "train": {"epochs": 3, "batch_size": 8},
}


@pytest.fixture(autouse=True)
def _threads_and_seed():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    yield


@pytest.fixture
def tiny(tmp_path) -> RunConfig:
    """:data:`TINY` with its data cached in this test's temporary directory."""
    d = json.loads(json.dumps(TINY))
    d["data"]["cache_dir"] = str(tmp_path / "cache")
    return RunConfig.from_dict(d)
