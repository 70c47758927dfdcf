"""A sweep's records (muop.workflows.sweep_records): a directory holding another sweep is refused, and
the message says why."""

import json
from dataclasses import asdict

import pytest

from muop.config import RunConfig, with_fields
from muop.errors import UsageError
from muop.workflows.sweep_records import refuse_another_sweep
from muop.workflows.sweep_spec import Sweep, sweep_idents


def test_an_old_sweep_without_block_is_refused_with_the_reason(tmp_path):
    """A sweep recorded before muop 0.2 ran the classic block; rerun from a YAML without ``block`` (now
    neuralop), its directory is refused, and the message says to add ``block: classic``."""
    sweep = Sweep(axis="width", sizes=(8, 16), lrs=(1e-3,))
    classic = with_fields(RunConfig(), model={"block": "classic"})
    old = classic.to_dict()
    del old["model"]["block"]  # as written before the field existed
    (tmp_path / "sweep.json").write_text(json.dumps({"base_config": old, "spec": asdict(sweep)}))
    refuse_another_sweep(tmp_path, sweep_idents(classic, sweep), classic)  # same sweep: accepted
    with pytest.raises(UsageError, match=r"it was run with model.block='classic'.*add block: classic"):
        refuse_another_sweep(tmp_path, sweep_idents(RunConfig(), sweep), RunConfig())
