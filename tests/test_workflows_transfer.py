"""Tune a proxy, transfer to a target (muop.workflows.transfer): the mapping against the formulas, resume,
a coarse-grid proxy, errors, a neuraloperator model through sweep, tune and transfer, and depth."""

import json
import math

import optuna
import pytest
import torch
import yaml

from muop import make_plan
from muop.config import RunConfig, with_fields
from muop.data import prepare_data
from muop.errors import ConfigError, UsageError
from muop.models import FNO
from muop.study import resolve_storage
from muop.study.tune import study_summary, tune
from muop.training import build as build_setup
from muop.workflows.sweep import Sweep, run_sweep
from muop.workflows.transfer import cost_ratios, lr_map, target_config, transfer


def test_tune_then_transfer_end_to_end(tune_cfg, tmp_path):
    study = tune(tune_cfg, 3, "proxy", run_dir=tmp_path / "t")
    s = study_summary(study)
    assert s["n_trials"] == 3 and set(s["best_params"]) == {"lr", "batch_size", "beta2"}
    # rerunning with a larger count only adds the missing trials
    study = tune(tune_cfg, 4, "proxy", run_dir=tmp_path / "t")
    assert len(study.trials) == 4
    s = study_summary(study)  # the 4th trial may be the best: the extension draws new parameters
    doc = transfer(
        tune_cfg,
        "proxy",
        target_modes=[16],
        target_width=16,
        out_dir=tmp_path / "tr",
        run_dir=tmp_path / "t",
        compare_direct=True,
    )
    saved = json.loads((tmp_path / "tr" / "transfer.json").read_text())
    assert saved["proxy"]["modes"] == [4] and saved["target"]["modes"] == [16] and saved["target"]["width"] == 16
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert saved["target"]["hyperparameters"] == min(finished, key=lambda t: t.value).params  # counted by hand
    # the cost ratios, counted by hand from the trials of both studies and the target's own record
    direct = optuna.load_study(study_name="proxy-direct", storage=resolve_storage(None, tmp_path / "t"))
    proxy_s, direct_s = (sum(t.user_attrs["compute_seconds"] for t in st.trials) for st in (study, direct))
    proxy_f, direct_f = (sum(t.user_attrs["train_flops"] for t in st.trials) for st in (study, direct))
    target = saved["target"]
    assert doc["cost_ratio_seconds"] == pytest.approx((proxy_s + target["compute_seconds"]) / direct_s)
    assert doc["cost_ratio_flops"] == pytest.approx((proxy_f + target["train_flops"]) / direct_f)
    assert doc["direct"]["n_trials"] == 4
    assert (tmp_path / "tr" / "target" / "checkpoint.pt").exists()


def test_cost_ratios_against_a_hand_count():
    """Proxy tuning 30 s of compute (40 s wall, 1e12 FLOPs), target 10 s (12 s wall, 5e11 FLOPs), direct
    tuning 160 s (200 s wall, 6e12 FLOPs): (30 + 10) / 160 = 0.25, (1e12 + 5e11) / 6e12 = 0.25,
    (40 + 12) / 200 = 0.26; the target tests at 0.05 against the direct search's 0.04: 1.25."""
    proxy = {"compute_seconds": 30.0, "seconds": 40.0, "train_flops": 1e12}
    target = {"compute_seconds": 10.0, "train_flops": 5e11, "test_rel_l2": 0.05}
    direct = {"compute_seconds": 160.0, "seconds": 200.0, "train_flops": 6e12, "best_test_rel_l2": 0.04}
    r = cost_ratios(proxy, target, 12.0, direct)
    assert r["cost_ratio_seconds"] == pytest.approx(0.25) and r["cost_ratio_flops"] == pytest.approx(0.25)
    assert r["cost_ratio_wall_seconds"] == pytest.approx(0.26)
    assert r["error_ratio_transfer_over_direct"] == pytest.approx(1.25)


def test_mapping_follows_the_formulas(tune_cfg):
    """Proxy K=4, width 8 -> target K=32, width 64: base LR kept, μP base = proxy shape."""
    params = {"lr": 2e-3, "batch_size": 6, "beta2": 0.95}
    t = target_config(tune_cfg, params, [32], 64)
    assert t.optimizer.lr == 2e-3 and t.train.batch_size == 6 and t.optimizer.betas[1] == 0.95
    assert t.parametrization.base_width == 8 and t.parametrization.base_modes == [4]
    fcfg = t.model.fno(1, 1)
    with torch.device("meta"):
        model = FNO(fcfg)
    m = lr_map(make_plan(model, t.parametrization.kind, base=t.parametrization.base_shape(fcfg)), t.optimizer.name)
    g = math.sqrt(math.log(4) / math.log(32))
    assert m["mode_factor_g"] == pytest.approx(g)
    assert m["roles"]["spectral"]["lr_mult"] == pytest.approx(g / 8)  # × sqrt(log Kp/log K*) × width_p/width*
    assert m["roles"]["hidden"]["lr_mult"] == pytest.approx(1 / 8)
    assert m["roles"]["input"]["lr_mult"] == 1.0 and m["roles"]["output"]["lr_mult"] == 1.0


def test_coarse_grid_proxy_target_uses_the_full_grid(tune_cfg, tmp_path):
    coarse = with_fields(tune_cfg, data={"stride": 2})
    tune(coarse, 2, "coarse", run_dir=tmp_path / "t")
    doc = transfer(
        coarse,
        "coarse",
        target_modes=[8],
        out_dir=tmp_path / "tr",
        run_dir=tmp_path / "t",
        target_overrides=["data.stride=1"],
    )
    assert doc["proxy"]["data_stride"] == 2 and doc["target"]["data_stride"] == 1
    assert doc["target"]["grid"] == [64]


def test_transfer_needs_a_study_and_a_target(tune_cfg, tmp_path):
    with pytest.raises(ValueError, match="give a target"):
        transfer(tune_cfg, "x", out_dir=tmp_path / "o", run_dir=tmp_path)
    with pytest.raises(ValueError, match="not found"):
        transfer(tune_cfg, "missing", target_modes=[8], out_dir=tmp_path / "o", run_dir=tmp_path)


def test_transfer_from_a_missing_study_creates_nothing(tune_cfg, tmp_path):
    with pytest.raises(ValueError, match="study 'nope' not found"):
        transfer(tune_cfg, "nope", target_modes=[8], out_dir=tmp_path / "tr", run_dir=tmp_path / "t")
    assert not (tmp_path / "tr").exists() and not (tmp_path / "t").exists()


def test_sweep_tune_and_transfer_train_a_neuralop_model(tiny_dict, tmp_path):
    """``model.library: neuralop`` runs through the trainer: a sweep over width trains neuraloperator
    FNOs (whose μP plan is relative to the smallest), and tune/transfer train a TFNO target."""
    pytest.importorskip("neuralop")
    from neuralop.models import FNO as NFNO

    d = tiny_dict
    d["model"] = {"library": "neuralop", "name": "FNO", "modes": [4], "width": 8, "depth": 2}
    d["train"]["epochs"] = 2
    cfg = RunConfig.from_dict(d)
    setup = build_setup(cfg, prepare_data(cfg.data))
    assert isinstance(setup.model, NFNO) and setup.model_config.block == "neuralop"
    reals = sum(p.numel() * (2 if p.is_complex() else 1) for p in setup.model.parameters())
    assert reals == sum(p.numel() for p in FNO(setup.model_config).parameters())  # its layout has its shapes

    doc = run_sweep(
        cfg, Sweep(axis="width", sizes=(8, 16), lrs=(1e-3, 1e-2), parametrizations=("mup",)), tmp_path / "sweep"
    )
    assert len(doc["runs"]) == 4 and all(math.isfinite(r["test_rel_l2"]) for r in doc["runs"])

    tfno = RunConfig.from_dict({**d, "model": {**d["model"], "name": "TFNO", "options": {"rank": 0.5}}})
    tune(tfno, 2, "np", run_dir=tmp_path / "tune")
    res = transfer(tfno, "np", target_width=16, out_dir=tmp_path / "transfer", run_dir=tmp_path / "tune")
    saved = RunConfig.from_dict(yaml.safe_load((tmp_path / "transfer" / "target" / "config.yaml").read_text()))
    assert (
        res["target"]["width"] == 16
        and saved.model.name == "TFNO"
        and saved.model.width == 16
        and saved.model.options == {"rank": 0.5}
    )
    assert math.isfinite(res["target"]["test_rel_l2"])


def test_bad_depth_input_is_one_line():
    """The transfer's part of bad depth input (the shapes', models', configs' and other workflows' in their
    own test modules)."""
    with pytest.raises((UsageError, ConfigError)) as e:
        target_config(RunConfig(), {}, None, None, target_depth=8)
    assert "model.residual" in str(e.value) and "\n" not in str(e.value)
