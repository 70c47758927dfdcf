"""Devices and memory (muop.training.device): a model too big for the device is refused before anything
is allocated, by an estimate checked against a hand count."""

import pytest

from muop.config import ConfigError, with_fields
from muop.training import memory_estimate, train_run


def test_a_huge_model_is_refused_before_anything_is_allocated(tiny):
    cfg = with_fields(tiny, model={"width": 10**9})
    with pytest.raises(
        ConfigError, match=r"model.width=1000000000.*needs about .* GiB .* more than the .* GiB available"
    ):
        train_run(cfg)
    n, need = memory_estimate(
        with_fields(tiny, model={"block": "classic"}).model.fno(1, 1), (64,), 8
    )  # the estimate against a hand count of the classic block
    w, k, d = 8, 6, 2
    params = (2 * w + w) + d * (2 * w * w * k + w + w * w) + (w * 2 * w + 2 * w) + (2 * w + 1)
    assert n == params and need == 4 * (4 * params + 8 * w * 64 * (8 * d + 4))
