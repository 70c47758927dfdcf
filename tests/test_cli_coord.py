"""``muop coord-check`` (muop.cli.coord): the JSON and the plot, a config's model or shape flags, bad depth
input."""

import json

import pytest

from cli_helpers import assert_refused
from muop.cli import main


def test_coord_check_writes_json_and_png(tmp_path):
    out = tmp_path / "cc"
    rc = main(
        [
            "coord-check",
            "--widths",
            "8,16",
            "--dim",
            "1",
            "--steps",
            "2",
            "--seeds",
            "1",
            "--grid",
            "16",
            "--depth",
            "2",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    doc = json.loads((out / "coord.json").read_text())
    assert doc["axis"] == "width" and doc["sizes"] == [8, 16]
    assert (out / "coord.png").exists()


def test_coord_check_config_and_shape_flags_are_exclusive(tmp_path, muop_cli):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model: {library: neuralop, name: FNO, modes: [4], width: 8, depth: 2}\n")
    args = ["coord-check", "--widths", "8,16", "--out", str(tmp_path / "o")]
    code, _, err = muop_cli(*args, "--config", str(cfg), "--fixed-modes", "4")
    assert (
        code == 2
        and err.strip()
        == "muop: error: --fixed-modes with --config: the config's model fixes them; "
        "change them with --set model.FIELD=VALUE"
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "args,match",
    [
        (["coord-check", "--depths", "2,4", "--alpha", "0.3"], "alpha=0.3"),
        (["coord-check", "--depths", "0,4"], "sizes=[0, 4]"),
        (["coord-check", "--depths", "2,4", "--override", "hidden.lr"], "--override 'hidden.lr'"),
    ],
)
def test_cli_rejects_bad_depth_input(tmp_path, monkeypatch, capsys, args, match):
    """Exit 2, one line, nothing written."""
    assert_refused(args, match, tmp_path, monkeypatch, capsys)
