"""Tune a proxy, transfer to a target: mapping against the formulas, resume, storage, errors."""

import json
import math

import optuna
import pytest

from muop.config import RunConfig
from muop.storage import redact, resolve_storage
from muop.transfer import target_config, transfer
from muop.tune import study_summary, tune


@pytest.fixture
def cfg(tmp_path):
    return RunConfig.from_dict(
        {
            "data": {
                "problem": "burgers",
                "n_train": 30,
                "n_test": 8,
                "n_val": 6,
                "resolution": 64,
                "params": {"T": 0.2},
                "cache_dir": str(tmp_path / "cache"),
            },
            "model": {"modes": [4], "width": 8, "depth": 2},
            "train": {"epochs": 2, "batch_size": 8},
            "tune": {"lr": [1e-3, 1e-1], "batch_size": [6, 12], "beta2": [0.9, 0.999]},
        }
    )


def test_tune_then_transfer_end_to_end(cfg, tmp_path):
    study = tune(cfg, 3, "proxy", run_dir=tmp_path / "t")
    s = study_summary(study)
    assert s["n_trials"] == 3 and set(s["best_params"]) == {"lr", "batch_size", "beta2"}
    # rerunning with a larger count only adds the missing trials
    study = tune(cfg, 4, "proxy", run_dir=tmp_path / "t")
    assert len(study.trials) == 4
    s = study_summary(study)  # the 4th trial may be the best: the extension draws new parameters
    doc = transfer(
        cfg,
        "proxy",
        target_modes=[16],
        target_width=16,
        out_dir=tmp_path / "tr",
        run_dir=tmp_path / "t",
        compare_direct=True,
    )
    saved = json.loads((tmp_path / "tr" / "transfer.json").read_text())
    assert saved["proxy"]["modes"] == [4] and saved["target"]["modes"] == [16] and saved["target"]["width"] == 16
    assert saved["target"]["hyperparameters"] == s["best_params"]
    for k in ("cost_ratio_seconds", "cost_ratio_flops"):
        assert math.isfinite(doc[k]) and doc[k] > 0
    assert doc["direct"]["n_trials"] == 4
    assert (tmp_path / "tr" / "target" / "checkpoint.pt").exists()


def test_mapping_follows_the_formulas(cfg):
    """Proxy K=4, width 8 -> target K=32, width 64: base LR kept, μP base = proxy shape."""
    params = {"lr": 2e-3, "batch_size": 6, "beta2": 0.95}
    t = target_config(cfg, params, [32], 64)
    assert t.optimizer.lr == 2e-3 and t.train.batch_size == 6 and t.optimizer.betas[1] == 0.95
    assert t.parametrization.base_width == 8 and t.parametrization.base_modes == [4]
    import torch

    from muop import FNO, make_plan
    from muop.transfer import lr_map

    fcfg = t.model.fno(1, 1)
    with torch.device("meta"):
        model = FNO(fcfg)
    m = lr_map(make_plan(model, t.parametrization.kind, base=t.parametrization.base_shape(fcfg)), t.optimizer.name)
    g = math.sqrt(math.log(4) / math.log(32))
    assert m["mode_factor_g"] == pytest.approx(g)
    assert m["roles"]["spectral"]["lr_mult"] == pytest.approx(g / 8)  # × sqrt(log Kp/log K*) × width_p/width*
    assert m["roles"]["hidden"]["lr_mult"] == pytest.approx(1 / 8)
    assert m["roles"]["input"]["lr_mult"] == 1.0 and m["roles"]["output"]["lr_mult"] == 1.0


def test_coarse_grid_proxy_target_uses_the_full_grid(cfg, tmp_path):
    from muop.config import with_fields

    coarse = with_fields(cfg, data={"stride": 2})
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


def test_diverged_trials_are_recorded_and_do_not_stop_the_study(cfg, tmp_path):
    from muop.config import with_fields

    bad = with_fields(
        cfg,
        optimizer={"name": "sgd"},
        parametrization={"kind": "sp"},
        tune={"lr": [1e5, 1e6], "batch_size": None, "beta2": None},
    )
    study = tune(bad, 2, "boom", run_dir=tmp_path / "t")
    assert len(study.trials) == 2
    assert all(t.user_attrs["diverged"] for t in study.trials)
    assert all(t.value == bad.tune.diverged_value for t in study.trials)


def test_storage_urls_and_redaction(tmp_path):
    from optuna.storages import JournalStorage

    assert isinstance(resolve_storage(None, tmp_path), JournalStorage)
    assert isinstance(resolve_storage(f"journal:{tmp_path / 'x.log'}", tmp_path), JournalStorage)
    st = resolve_storage(f"sqlite:///{tmp_path / 's.db'}", tmp_path)
    assert isinstance(st, optuna.storages.RDBStorage)
    assert redact("postgresql://bob:hunter2@db.example:5432/x") == "postgresql://bob:***@db.example:5432/x"
    with pytest.raises(ValueError) as e:
        resolve_storage("postgresql://bob:hunter2@127.0.0.1:1/db", tmp_path)
    assert "hunter2" not in str(e.value) and "***" in str(e.value)
    with pytest.raises(ValueError, match="expected an Optuna URL"):
        resolve_storage("not-a-url", tmp_path)


def test_transfer_needs_a_study_and_a_target(cfg, tmp_path):
    with pytest.raises(ValueError, match="give a target"):
        transfer(cfg, "x", out_dir=tmp_path / "o", run_dir=tmp_path)
    with pytest.raises(ValueError, match="not found"):
        transfer(cfg, "missing", target_modes=[8], out_dir=tmp_path / "o", run_dir=tmp_path)


def test_split_password_keeps_everything_but_the_secret():
    from muop.storage import split_password

    assert split_password("postgresql://bob:p%40ss:w@db:5432/muop") == ("postgresql://bob@db:5432/muop", "p%40ss:w")
    assert split_password("postgresql://bob@db/muop") == ("postgresql://bob@db/muop", None)
    assert split_password("sqlite:///x.db") == ("sqlite:///x.db", None)


def test_ray_backend_refuses_a_password_in_the_url_on_a_cluster(cfg, tmp_path):
    pytest.importorskip("ray")
    from muop.ray_backend import RayOptions, tune_ray

    with pytest.raises(
        ValueError, match=r"postgresql://bob:\*\*\*@db/muop: with --backend ray --address.*PGPASSWORD"
    ) as e:
        tune_ray(cfg, 2, "s", "postgresql://bob:hunter2@db/muop", tmp_path, RayOptions(address="auto"))
    assert "hunter2" not in str(e.value)


def test_transfer_from_a_missing_study_creates_nothing(cfg, tmp_path):
    with pytest.raises(ValueError, match="study 'nope' not found"):
        transfer(cfg, "nope", target_modes=[8], out_dir=tmp_path / "tr", run_dir=tmp_path / "t")
    assert not (tmp_path / "tr").exists() and not (tmp_path / "t").exists()
