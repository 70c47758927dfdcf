"""Config validation, training (divergence, checkpoint, physical units), and the LR sweep."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import TINY
from muop.config import ConfigError, RunConfig, apply_overrides, load_config, with_fields
from muop.data import prepare_data
from muop.sweep import Sweep, best_lr, log_grid, run_sweep, summarise
from muop.train import train_run


# ---------------------------------------------------------------- config
@pytest.mark.parametrize(
    "d,match",
    [
        ({"modle": {}}, r"unknown section\(s\) \['modle'\]"),
        ({"model": {"widht": 8}}, r"unknown key\(s\) \['model.widht'\]"),
        ({"model": {"width": -3}}, r"model.width=-3: expected a positive integer"),
        ({"optimizer": {"lr": 0}}, r"optimizer.lr=0.0: expected a positive number"),
        ({"optimizer": {"name": "lamb"}}, r"optimizer.name='lamb'"),
        ({"data": {"problem": "kdv"}}, r"data.problem='kdv'"),
        ({"data": {"problem": None}}, r"exactly one of problem or path"),
        ({"parametrization": {"base_modes": [1]}}, r"parametrization.base_modes=\[1\]"),
        ({"optimizer": {"betas": [0.9]}}, r"optimizer.betas"),
    ],
)
def test_config_errors_name_field_value_and_allowed(d, match):
    with pytest.raises(ConfigError, match=match):
        RunConfig.from_dict(d)


def test_yaml_and_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model: {modes: [8, 8], width: 16}\noptimizer: {lr: 1e-3}\n")
    cfg = load_config(p, ["optimizer.lr=3e-3", "model.modes=[4, 5]"])
    assert cfg.optimizer.lr == 3e-3 and cfg.model.modes == [4, 5] and cfg.model.width == 16
    with pytest.raises(ConfigError, match="unknown key 'optimizer.rate'"):
        apply_overrides(cfg, ["optimizer.rate=1"])
    with pytest.raises(ConfigError, match="expected section.field=value"):
        apply_overrides(cfg, ["lr=1"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.yaml")
    assert RunConfig.from_dict(cfg.to_dict()) == cfg  # round trip


# ---------------------------------------------------------------- training
def test_training_reduces_error_and_writes_outputs(tiny, tmp_path):
    cfg = with_fields(tiny, train={"epochs": 6}, optimizer={"lr": 1e-2}, data={"stride": 2, "eval_strides": [1]})
    res = train_run(cfg, out_dir=tmp_path / "run")
    assert not res.diverged and math.isfinite(res.test_rel_l2)
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 6 and lines[-1]["train_loss"] < lines[0]["train_loss"]
    assert "64" in res.extra_test_rel_l2  # zero-shot evaluation at twice the training grid
    ck = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)  # loadable without unpickling code
    assert {"model", "config", "x_normalizer", "y_normalizer"} <= set(ck)


def test_metric_is_relative_l2_in_physical_units(tiny):
    """A run with normalisation and one without see the same targets: a model predicting zero
    has relative error exactly 1 in physical units, whatever the normaliser does."""
    data = prepare_data(tiny.data)
    from muop.losses import rel_l2

    assert float(rel_l2(torch.zeros_like(data.test.y), data.test.y)) == pytest.approx(1.0)
    res = train_run(with_fields(tiny, train={"epochs": 1}), data=data)
    assert 0 < res.test_rel_l2 < 5


def test_divergence_is_recorded_not_raised(tiny):
    cfg = with_fields(tiny, optimizer={"name": "sgd", "lr": 1e6}, parametrization={"kind": "sp"})
    res = train_run(cfg)
    assert res.diverged and math.isnan(res.test_rel_l2)
    assert res.epochs_run <= 2


def test_same_seed_same_result(tiny):
    data = prepare_data(tiny.data)
    a, b = train_run(tiny, data=data), train_run(tiny, data=data)
    assert a.test_rel_l2 == b.test_rel_l2


# ---------------------------------------------------------------- best LR
@pytest.mark.parametrize("true_lr", [2.7e-3, 1.1e-2, 4.2e-4])
def test_best_lr_recovers_known_minimum_of_a_parabola(true_lr):
    lrs = log_grid(1e-4, 1e-1, 7)
    losses = [0.3 * (math.log10(lr) - math.log10(true_lr)) ** 2 + 0.05 for lr in lrs]
    got, edge = best_lr(lrs, losses)
    assert not edge and got == pytest.approx(true_lr, rel=1e-9)


def test_best_lr_edges_nan_and_asymmetric_curve():
    lrs = log_grid(1e-4, 1e-1, 7)
    got, edge = best_lr(lrs, [float(i) for i in range(7)])  # increasing: minimum at the first point
    assert edge and got == pytest.approx(1e-4)
    losses = [1.0, 0.5, 0.2, 0.3, float("nan"), float("nan"), float("nan")]  # diverged at high LR
    got, edge = best_lr(lrs, losses)
    assert not edge and lrs[1] < got < lrs[3]
    # a non-parabolic curve with a known minimum: the estimate stays within a grid step of it
    true = 3e-3
    losses = [abs(math.log10(lr) - math.log10(true)) ** 1.5 + 0.1 for lr in lrs]
    got, _ = best_lr(lrs, losses)
    assert abs(math.log10(got) - math.log10(true)) < 0.5


def test_drift_from_records():
    runs = []
    for par, shift in (("sp", 0.5), ("mup", 0.0)):
        for i, size in enumerate((4, 8, 16)):
            best = 1e-3 * 10 ** (shift * i)  # SP's best LR moves half a decade per size
            for lr in log_grid(1e-5, 1e0, 11):
                for seed in (0, 1):
                    loss = (math.log10(lr) - math.log10(best)) ** 2 + 0.1 + 0.01 * seed
                    runs.append(
                        {
                            "parametrization": par,
                            "size": size,
                            "lr": lr,
                            "seed": seed,
                            "test_rel_l2": loss,
                            "diverged": False,
                        }
                    )
    doc = summarise(runs, "modes")
    assert doc["drift"]["mup"] == pytest.approx(1.0)
    assert doc["drift"]["sp"] == pytest.approx(10.0)
    assert doc["best_lr"]["sp"]["16"] == pytest.approx(1e-2)


# ---------------------------------------------------------------- sweep
def test_sweep_end_to_end_and_resume(tiny, tmp_path):
    spec = Sweep(axis="width", sizes=(8, 16), lrs=tuple(log_grid(1e-3, 3e-2, 3)), seeds=(0,))
    out = tmp_path / "sw"
    doc = run_sweep(tiny, spec, out)
    runs_file = out / "runs.jsonl"
    assert len(runs_file.read_text().splitlines()) == 12
    saved = json.loads((out / "sweep.json").read_text())
    assert saved["axis"] == "width" and set(saved["best_lr"]) == {"sp", "mup"} and set(saved["drift"]) == {"sp", "mup"}
    r0 = saved["runs"][0]
    assert {"parametrization", "size", "lr", "seed", "test_rel_l2", "train_loss", "diverged", "seconds"} <= set(r0)
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    # resume: drop the last 5 records and cut a line in half (as a kill would), rerun
    lines = runs_file.read_text().splitlines()
    runs_file.write_text("\n".join(lines[:7]) + "\n" + lines[7][:20])
    doc2 = run_sweep(tiny, spec, out)
    recs = [json.loads(x) for x in runs_file.read_text().splitlines() if x.startswith("{") and x.endswith("}")]
    keys = [(r["parametrization"], r["size"], r["lr"], r["seed"]) for r in recs]
    assert len(set(keys)) == 12 and len(keys) == 12  # none lost, none duplicated
    assert doc2["best_lr"] == doc["best_lr"]  # deterministic runs: the same answer
    # another base config (more epochs) into the same directory: refused, nothing touched
    more = with_fields(tiny, train={"epochs": 4})
    before = {f.name: f.read_bytes() for f in out.iterdir() if f.is_file()}
    with pytest.raises(ValueError, match="another base config"):
        run_sweep(more, spec, out)
    assert {f.name: f.read_bytes() for f in out.iterdir() if f.is_file()} == before
    # and its records are not reused elsewhere: only its own runs.jsonl lines count
    other = tmp_path / "other"
    other.mkdir()
    (other / "runs.jsonl").write_bytes(runs_file.read_bytes())
    run_sweep(more, spec, other)
    recs = [json.loads(x) for x in (other / "runs.jsonl").read_text().splitlines()]
    assert len(recs) == 24 and len({r["config_hash"] for r in recs}) == 2


def test_sweep_spec_validation():
    with pytest.raises(ValueError, match="K >= 2"):
        Sweep(axis="modes", sizes=(1, 2), lrs=(1e-3,))
    with pytest.raises(ValueError, match="parametrizations"):
        Sweep(axis="modes", sizes=(4,), lrs=(1e-3,), parametrizations=("np",))
    with pytest.raises(ValueError, match="0 < lo < hi"):
        log_grid(1e-2, 1e-3, 5)


def test_train_cli(tmp_path):
    cfg = tmp_path / "c.yaml"
    d = json.loads(json.dumps(TINY))
    d["data"]["cache_dir"] = str(tmp_path / "cache")
    import yaml

    cfg.write_text(yaml.safe_dump(d))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "muop.cli",
            "train",
            "--config",
            str(cfg),
            "--set",
            "train.epochs=1",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "run" / "result.json").read_text())["epochs_run"] == 1
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "muop.cli",
            "train",
            "--config",
            str(cfg),
            "--set",
            "model.widht=3",
            "--out",
            str(tmp_path / "r2"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 2 and "model.widht" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "muop.cli",
            "sweep",
            "--config",
            str(cfg),
            "--modes",
            "4,8",
            "--lrs",
            "1e-2,1e-3,3",
            "--out",
            str(tmp_path / "s"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 2 and "--lrs" in r.stderr and "Traceback" not in r.stderr


def test_committed_experiment_configs_are_valid():
    from pathlib import Path

    files = sorted((Path(__file__).resolve().parents[1] / "experiments").glob("*.yaml"))
    assert files
    for f in files:
        cfg = load_config(f)
        if cfg.model.library != "muop":  # a neuraloperator model: its config loaded, its shape is checked when built
            continue
        fcfg = cfg.model.fno(1, 1)
        assert len(cfg.parametrization.base_shape(fcfg).modes) == fcfg.dim, f


def test_user_file_is_split_and_subsampled(tmp_path):
    """data.path with a plain array file: first n_train train, next n_test test, last n_val validation."""
    x = torch.arange(10 * 16, dtype=torch.float32).reshape(10, 1, 16)
    np.savez(tmp_path / "u.npz", x=x.numpy(), y=(2 * x).numpy())
    cfg = RunConfig.from_dict(
        {
            "data": {
                "problem": None,
                "path": str(tmp_path / "u.npz"),
                "n_train": 6,
                "n_test": 3,
                "n_val": 2,
                "stride": 2,
                "eval_strides": [1],
                "grid_dims": 1,
            },
            "model": {"modes": [4]},
        }
    )
    d = prepare_data(cfg.data)
    torch.testing.assert_close(d.train.x, x[:4, :, ::2])
    torch.testing.assert_close(d.val.x, x[4:6, :, ::2])
    torch.testing.assert_close(d.test.y, 2 * x[6:9, :, ::2])
    torch.testing.assert_close(d.extra_test[1].x, x[6:9])
    with pytest.raises(ValueError, match="has 10 samples"):
        prepare_data(with_fields(cfg, data={"n_train": 9, "n_val": 0}).data)


def test_a_queued_sweep_run_is_known_while_its_params_are_half_set():
    """Another worker looks at a running sweep trial between two of its suggestions (a real race
    seen in CI): the run it stands for comes from its queue entry, whole from the start."""
    import optuna

    from muop.sweep import job_of

    study = optuna.create_study()
    study.enqueue_trial({"parametrization": "mup", "size": 8, "lr": 0.01, "seed": 1})
    trial = study.ask()
    trial.suggest_categorical("parametrization", ["sp", "mup"])  # "size", "lr", "seed" not yet
    (running,) = study.get_trials(deepcopy=False)
    assert running.params == {"parametrization": "mup"}
    assert job_of(running) == ("mup", 8, 0.01, 1)
    other = study.ask()  # not a sweep run (no queue entry), half set
    other.suggest_float("lr", 1e-3, 1e-1)
    assert job_of(study.get_trials(deepcopy=False)[1]) is None


def test_runs_recorded_only_in_runs_jsonl_are_imported_not_trained_again(tiny, tmp_path, monkeypatch):
    """Sweeps made before the study existed (the committed results) resume from runs.jsonl alone."""
    import optuna

    import muop.sweep
    from muop.storage import resolve_storage

    sweep = Sweep(axis="width", sizes=(8,), lrs=(1e-3, 1e-2), parametrizations=("mup",), seeds=(0, 1))
    out = tmp_path / "sw"
    doc = run_sweep(tiny, sweep, out)
    (out / "sweep.journal").unlink()
    monkeypatch.setattr(muop.sweep, "train_run", lambda *a, **k: pytest.fail("a finished run was trained again"))
    doc2 = run_sweep(tiny, sweep, out)
    assert doc2["best_lr"] == doc["best_lr"] and len(doc2["runs"]) == 4
    storage = resolve_storage(f"journal:{out / 'sweep.journal'}", out)
    (name,) = optuna.get_all_study_names(storage)
    assert (
        len(optuna.load_study(study_name=name, storage=storage).get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
        == 4
    )
    assert len((out / "runs.jsonl").read_text().splitlines()) == 4  # the view is not duplicated
