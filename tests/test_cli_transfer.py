"""``muop transfer`` (muop.cli.transfer): its progress bars, its bad depth input."""

import pytest

import muop.cli.transfer
from cli_helpers import Bars, assert_refused
from muop.cli import main


def test_transfer_shows_the_target_run_and_the_direct_trials(tmp_path, monkeypatch):
    def fake_transfer(
        cfg, study, modes, width, out, storage, run_dir, compare_direct, progress=None, target_overrides=None, **kw
    ):
        for i in range(3):
            progress("direct", i + 1, 3)
        run = {"modes": [8], "width": 16, "seconds": 1.0}
        return {
            "proxy": {**run, "best_test_rel_l2": 0.1},
            "target": {**run, "test_rel_l2": 0.1},
            "direct": {"best_test_rel_l2": 0.1, "seconds": 3.0},
            "cost_ratio_seconds": 0.5,
            "cost_ratio_flops": 0.5,
        }

    bars = Bars()
    monkeypatch.setattr(muop.cli.transfer, "progress_bar", lambda: bars)
    monkeypatch.setattr(muop.cli.transfer, "transfer", fake_transfer)
    monkeypatch.chdir(tmp_path)
    assert main(["transfer", "--target-width", "16", "--compare-direct", "--out", "t"]) == 0
    target, direct = bars.tasks
    assert target["description"] == "training the target" and target["completed"] == target["total"]
    assert "trials" in direct["description"] and (direct["completed"], direct["total"]) == (3, 3)


@pytest.mark.parametrize(
    "args,match",
    [
        (["transfer", "--target-depth", "0"], "--target-depth"),
    ],
)
def test_cli_rejects_bad_depth_input(tmp_path, monkeypatch, capsys, args, match):
    """Exit 2, one line, nothing written."""
    assert_refused(args, match, tmp_path, monkeypatch, capsys)
