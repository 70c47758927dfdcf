"""Training budgets on the command line: ``muop sweep`` over --epochs, --n-train, --resolutions,
--batch-sizes (one axis at a time; a budget the config cannot give is a one-line error), and ``muop transfer
--target-config`` from a proxy cheaper on every axis at once, its axes moved printed and its costs counted
once per side."""

import json

import optuna
import pytest

from cli_helpers import assert_refused
from muop.cli import main
from muop.config import with_fields
from muop.study import resolve_storage
from muop.study.tune import tune
from test_workflows_transfer_axes import target_of


def test_a_batch_size_sweep_names_its_axis_and_carries_it_in_every_record(tiny, tmp_path, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(tiny.to_yaml())
    argv = ["sweep", "--config", str(cfg), "--batch-sizes", "4,8", "--lrs", "1e-2,3e-2,2", "--parametrization", "sp"]
    assert main([*argv, "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "regret of transferring LR from batch_size 4" in out
    doc = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert doc["axis"] == "batch_size" and doc["spec"]["sizes"] == [4, 8]
    assert sorted({(r["batch_size"], r["size"]) for r in doc["runs"]}) == [(4, 4), (8, 8)]
    assert set(doc["regret"]["sp"]) == {"8"}


@pytest.mark.parametrize(
    "args, match",
    [
        (["--epochs", "2,4", "--n-train", "8,16"], "argument --n-train: not allowed with argument --epochs"),
        (["--resolutions", "32", "--widths", "8,16"], "argument --widths: not allowed with argument --resolutions"),
        (["--n-train", "8,100"], "n_train 100: runs train on the first N of the config's 24 training samples"),
        (["--resolutions", "24,64"], "resolution 24: expected a divisor of data.resolution=64"),
        (["--epochs", "0,2"], "sizes=[0, 2]: expected positive sizes"),
    ],
)
def test_bad_budget_axes_are_one_line_errors(tiny, args, match, tmp_path, monkeypatch, capsys):
    cfg = tmp_path.parent / f"{tmp_path.name}.yaml"  # outside the directory that must stay empty
    cfg.write_text(tiny.to_yaml())
    assert_refused(["sweep", "--config", str(cfg), *args, "--lrs", "1e-3,1e-2,2"], match, tmp_path, monkeypatch, capsys)


@pytest.mark.slow
def test_a_proxy_cheap_on_every_axis_transfers_and_counts_each_study_once(tune_cfg, tmp_path, capsys):
    proxy = with_fields(tune_cfg, data={"stride": 2}, train={"epochs": 1})
    target = target_of(proxy)  # 2x wider, 2x the modes, 2x the epochs, 54 training samples, 2x the grid
    (tmp_path / "proxy.yaml").write_text(proxy.to_yaml())
    (tmp_path / "target.yaml").write_text(target.to_yaml())
    study = tune(proxy, 2, "cheap", run_dir=tmp_path / "t")
    argv = ["transfer", "--config", str(tmp_path / "proxy.yaml"), "--target-config", str(tmp_path / "target.yaml")]
    argv += ["--study", "cheap", "--run-dir", str(tmp_path / "t"), "--compare-direct", "--out", str(tmp_path / "tr")]
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "proxy -> target: width 8 -> 16, modes [4] -> [8], epochs 1 -> 2, n_train 24 -> 54, grid 32 -> 64" in out
    doc = json.loads((tmp_path / "tr" / "transfer.json").read_text())
    assert doc["axes_moved"]["epochs"] == [1, 2] and "batch_size" not in doc["axes_moved"]  # the tuned one, both
    t = doc["target"]
    assert t["epochs_run"] == 2 and t["grid"] == [64] and t["width"] == 16 and t["modes"] == [8]
    assert t["hyperparameters"] == study.best_params
    # every proxy trial once and every direct trial once, counted by hand from the two studies
    direct = optuna.load_study(study_name="cheap-direct", storage=resolve_storage(None, tmp_path / "t"))
    assert len(direct.trials) == len(study.trials) == 2  # the same number of trials on both sides
    assert all(tr.user_attrs["epochs_run"] == 2 for tr in direct.trials)  # direct tuning at the target's budget
    p_s, d_s = (sum(tr.user_attrs["compute_seconds"] for tr in st.trials) for st in (study, direct))
    assert doc["cost_ratio_seconds"] == pytest.approx((p_s + t["compute_seconds"]) / d_s)
    p_f, d_f = (sum(tr.user_attrs["train_flops"] for tr in st.trials) for st in (study, direct))
    assert doc["cost_ratio_flops"] == pytest.approx((p_f + t["train_flops"]) / d_f)


def test_a_target_config_from_another_problem_is_a_one_line_error(tune_cfg, tmp_path, monkeypatch, capsys):
    files = tmp_path.parent / f"{tmp_path.name}-cfg"
    files.mkdir()
    (files / "proxy.yaml").write_text(tune_cfg.to_yaml())
    other = with_fields(target_of(tune_cfg), data={"problem": "darcy", "params": {}})
    (files / "target.yaml").write_text(other.to_yaml())
    argv = ["transfer", "--config", str(files / "proxy.yaml"), "--target-config", str(files / "target.yaml")]
    assert_refused(argv, "--target-config: data.problem is 'darcy' but the proxy's", tmp_path, monkeypatch, capsys)
