"""``muop sweep`` (muop.cli.sweep): the table leads with the regret, bad options are one-line errors."""

import json
import math

import pytest

from cli_helpers import assert_refused
from muop.cli import main


def test_lr_sweep_writes_regret_and_the_cli_table_leads_with_it(tiny, tmp_path, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(tiny.to_yaml())
    assert (
        main(
            [
                "sweep",
                "--config",
                str(cfg),
                "--widths",
                "8,16",
                "--lrs",
                "1e-3,3e-2,3",
                "--parametrization",
                "mup",
                "--out",
                str(tmp_path / "s"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "mup regret [95% CI]" in out and out.index("regret") < out.index("best LR")
    doc = json.loads((tmp_path / "s" / "sweep.json").read_text())
    e = doc["regret"]["mup"]["16"]
    assert math.isfinite(e["regret"]) and len(e["ci"]) == 2 and doc["spec"]["hparam"] == "lr"


@pytest.mark.parametrize(
    "argv, match",
    [
        (
            ["--widths", "8,16", "--lrs", "1e-3,1e-2,3", "--proxy", "32"],
            "proxy size 32 is not in the sweep (sizes: 8, 16)",
        ),
        (
            ["--widths", "8,16", "--hparam", "init_scal", "--values", "1,2"],
            "--hparam 'init_scal': not a hyperparameter a sweep can vary; expected one of lr, init_scale",
        ),
        (["--widths", "8,16", "--hparam", "init_scale"], "--hparam init_scale needs --values"),
        (
            ["--widths", "8,16", "--hparam", "beta2", "--values", "0.9,x"],
            "--values '0.9,x': expected comma-separated numbers",
        ),
        (["--widths", "8,16"], "an LR sweep needs --lrs"),
    ],
)
def test_bad_sweep_options_are_one_line_errors(argv, match, tmp_path, capsys):
    assert main(["sweep", *argv, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    "args,match",
    [
        (["sweep", "--depths", "2,4", "--lrs", "1e-3,1e-2,2"], "model.residual"),
    ],
)
def test_cli_rejects_bad_depth_input(tmp_path, monkeypatch, capsys, args, match):
    """Exit 2, one line, nothing written."""
    assert_refused(args, match, tmp_path, monkeypatch, capsys)
