"""``muop transfer --proxies``: one-line errors, proxies from studies STUDY-SIZE or a sweep, costs, the advice line."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import optuna
import pytest
import yaml

from muop.config import with_fields
from muop.errors import UsageError
from muop.study import resolve_storage
from muop.workflows.sweep_spec import Sweep, sweep_idents
from muop.workflows.transfer import transfer
from muop.workflows.transfer_proxies import ladder_from_studies

LR = optuna.distributions.FloatDistribution(1e-5, 1.0, log=True)


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--proxies", "8", "--target-width", "64"], "--proxies 8: expected at least two proxy sizes"),
        (["--proxies", "8,64", "--target-width", "64"], "--proxies 8,64: expected sizes below the target's 64"),
        (["--proxies", "8,128", "--target-width", "64"], "expected sizes below the target's 64"),
        (["--proxies", "8,16", "--target-width", "64", "--target-modes", "16"], "exactly one of --target-width"),
        (["--proxies", "4,8", "--target-modes", "16,8"], "one K for every dimension"),
    ],
)
def test_bad_proxies_are_one_line_errors_with_exit_2(muop_cli, tmp_path, extra, match):
    code, out, err = muop_cli("transfer", "--out", str(tmp_path / "t"), *extra)
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "t").exists()


def _study(run_dir, name: str, cfg_dict: dict | None, trials: list[tuple[float, float]]) -> None:
    st = optuna.create_study(study_name=name, storage=resolve_storage(None, run_dir))
    if cfg_dict is not None:
        st.set_user_attr("config", cfg_dict)
    for lr, v in trials:
        attrs = {"compute_seconds": 2.0, "seconds": 3.0, "train_flops": 1e9, "test_rel_l2": v, "diverged": False}
        st.add_trial(optuna.trial.create_trial(params={"lr": lr}, distributions={"lr": LR}, value=v, user_attrs=attrs))


def _proxy_dict(tiny, width: int, base: int) -> dict:
    return with_fields(tiny, model={"width": width}, parametrization={"base_width": base}).to_dict()


def test_studies_named_study_size_give_the_ladder_and_add_up_their_costs(tiny, tmp_path):
    run_dir = tmp_path / "tune"
    _study(run_dir, "p-4", _proxy_dict(tiny, 4, 4), [(1e-2, 0.3), (2e-2, 0.2), (5e-2, 0.4)])
    _study(run_dir, "p-8", _proxy_dict(tiny, 8, 4), [(1e-2, 0.3), (4e-2, 0.1)])
    lad = ladder_from_studies(tiny, "p", [8, 4], "width", 16, None, run_dir)
    assert lad.fit.proxies == (4, 8) and lad.fit.best == (2e-2, 4e-2) and lad.fit.slope == pytest.approx(1.0)
    assert lad.params["lr"] == lad.fit.predicted and lad.base_cfg.model.width == 4
    assert lad.summary["compute_seconds"] == 5 * 2.0 and lad.summary["train_flops"] == 5e9
    assert lad.summary["n_trials"] == 3 and lad.document()["studies"] == ["p-4", "p-8"]
    _study(run_dir, "q-4", _proxy_dict(tiny, 4, 4), [(1e-2, 0.3)])
    _study(run_dir, "q-8", _proxy_dict(tiny, 8, 8), [(1e-2, 0.3)])  # tuned with its own shape as base
    with pytest.raises(UsageError, match="every proxy needs the smallest proxy as its base"):
        ladder_from_studies(tiny, "q", [4, 8], "width", 16, None, run_dir)
    with pytest.raises(UsageError, match="study 'p-2' not found"):
        ladder_from_studies(tiny, "p", [2, 4], "width", 16, None, run_dir)


def _sweep_dir(tiny, path, hashes: str | None = None) -> Sweep:
    """A sweep.json over widths 4, 8, 16 whose μP best LR doubles per doubling of width (seeds share it)."""
    grid = tuple(float(v) for v in np.logspace(-3, -0.5, 6))
    sweep = Sweep(axis="width", sizes=(4, 8, 16), lrs=grid, parametrizations=("mup",), seeds=(0, 1))
    ident = hashes or sweep_idents(tiny, sweep)[0]
    runs = []
    for s in sweep.sizes:
        best = 4e-3 * s / 4
        for lr in grid:
            for seed in sweep.seeds:
                err = 0.1 + 0.05 * seed + (np.log10(lr) - np.log10(best)) ** 2
                rec = {"parametrization": "mup", "size": s, "lr": lr, "seed": seed, "test_rel_l2": float(err)}
                runs.append({**rec, "diverged": False, "seconds": 1.5, "train_flops": 1e6 * s, "config_hash": ident})
    path.mkdir()
    (path / "sweep.json").write_text(json.dumps({"spec": asdict(sweep), "runs": runs}))
    return sweep


def test_from_sweep_trains_the_target_at_the_predicted_lr(tiny, tmp_path):
    _sweep_dir(tiny, tmp_path / "sw")
    doc = transfer(tiny, "muop", target_width=32, out_dir=tmp_path / "t", proxies=[4, 8], from_sweep=tmp_path / "sw")
    d = doc["drift"]
    assert d["proxies"] == [4, 8] and d["rule"] == "fit" and d["slope"] == pytest.approx(1.0)
    assert d["predicted"] == pytest.approx(4e-3 * 8) and d["source"] == "sweep" and d["base_size"] == 4
    assert doc["target"]["hyperparameters"] == {"lr": d["predicted"]} and doc["mapping"]["width_ratio"] == 8
    assert doc["proxy"]["seconds"] == 2 * 6 * 2 * 1.5 and doc["proxy"]["train_flops"] == 12 * (4e6 + 8e6)
    saved = json.loads((tmp_path / "t" / "transfer.json").read_text())
    assert saved["drift"]["predicted_ci"] == pytest.approx(d["predicted_ci"])
    with pytest.raises(UsageError, match="trained with another config"):
        _sweep_dir(tiny, tmp_path / "other", hashes="0123456789ab")
        transfer(tiny, "muop", target_width=32, out_dir=tmp_path / "t2", from_sweep=tmp_path / "other")


def test_one_proxy_far_below_the_target_prints_one_warning_line_first(muop_cli, tiny, tmp_path):
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(tiny.to_dict()))
    code, _, err = muop_cli(
        "transfer", "--config", str(tmp_path / "tiny.yaml"), "--study", "none", "--run-dir", str(tmp_path / "r"),
        "--target-width", "64", "--out", str(tmp_path / "t"),
    )  # fmt: skip
    warning, error = err.strip().splitlines()
    assert warning.startswith("muop: warning: one proxy at width 8 for a target at width 64 (8×)")
    assert "--proxies" in warning and "study 'none' not found" in error and code == 2


def test_cli_ladder_from_studies_trains_the_target_and_reports_the_fit(muop_cli, tiny, tmp_path):
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(tiny.to_dict()))
    run_dir = tmp_path / "tune"
    _study(run_dir, "p-4", _proxy_dict(tiny, 4, 4), [(1e-2, 0.3), (2e-2, 0.2)])
    _study(run_dir, "p-8", _proxy_dict(tiny, 8, 4), [(1e-2, 0.3), (2e-2, 0.25)])
    code, out, err = muop_cli(
        "transfer", "--config", str(tmp_path / "tiny.yaml"), "--study", "p", "--run-dir", str(run_dir),
        "--proxies", "4,8", "--target-width", "16", "--out", str(tmp_path / "t"),
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads((tmp_path / "t" / "transfer.json").read_text())
    assert doc["drift"]["source"] == "studies" and doc["drift"]["rule"] == "pooled"  # the same best LR: no drift
    assert doc["target"]["hyperparameters"]["lr"] == pytest.approx(2e-2) and doc["proxy"]["compute_seconds"] == 8.0
    assert "LR from the drift model over width 4,8 -> 16: 0.02" in out and "warning" not in err
