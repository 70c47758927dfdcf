"""``muop train`` (muop.cli.train): a run from a YAML config, its bad input, its progress bar."""

import json

import yaml

import muop.cli.train
from cli_helpers import Bars
from muop.cli import main


def test_train_cli(tmp_path, tiny_dict, muop_cli):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(tiny_dict))
    code, _, err = muop_cli("train", "--config", str(cfg), "--set", "train.epochs=1", "--out", str(tmp_path / "run"))
    assert code == 0, err
    assert json.loads((tmp_path / "run" / "result.json").read_text())["epochs_run"] == 1
    code, _, err = muop_cli("train", "--config", str(cfg), "--set", "model.widht=3", "--out", str(tmp_path / "r2"))
    assert code == 2 and "model.widht" in err and "Traceback" not in err
    code, _, err = muop_cli(
        "sweep", "--config", str(cfg), "--modes", "4,8", "--lrs", "1e-2,1e-3,3", "--out", str(tmp_path / "s")
    )
    assert code == 2 and "--lrs" in err and "Traceback" not in err


def test_train_shows_its_epochs(tmp_path, tiny_dict, monkeypatch):
    bars = Bars()
    monkeypatch.setattr(muop.cli.train, "progress_bar", lambda: bars)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(tiny_dict))
    assert main(["train", "--config", "tiny.yaml", "--set", "train.epochs=2", "--out", "run"]) == 0
    (task,) = bars.tasks
    assert task["total"] == 2 and task["completed"] == 2 and task["updates"] == 2
