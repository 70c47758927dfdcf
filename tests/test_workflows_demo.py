"""``muop demo`` (muop.workflows.demo): SP and μP regret side by side, the epochs check with the axes that
moved from proxy to target, then the proxy and the target."""

import json
from pathlib import Path

import pytest
from rich.console import Console

import muop.workflows.demo as demo
import muop.workflows.sweep as sweep_module
from muop.cli.demo import _epochs_table
from muop.study.tune import with_validation
from muop.workflows.demo import EPOCHS_REGRET_OK, LRS, _report, demo_config, epochs_check, target_of
from muop.workflows.sweep import sweep_summary
from muop.workflows.transfer import target_config
from muop.workflows.transfer_axes import axes_moved, check_compatible, hybrid_config

#: An epochs check (the document of ``epochs_check``) for the report and table tests.
CHECK = {
    "epochs": [6, 12],
    "best_lr": {"6": 2.7e-2, "12": 3.3e-2},
    "best_test_rel_l2": {"6": 0.16, "12": 0.12},
    "regret": 0.021,
    "proxy_lr": 2.7e-2,
    "target_best_lr": 3.3e-2,
    "tuned_lr": 3.8e-2,
    "tuned_regret": 0.004,
    "tuned_extrapolated": False,
    "ok": True,
}


def test_report_shows_both_regrets_and_the_target_beating_the_proxy():
    entry = lambda r: {"regret": r, "ci": [r, r]}  # noqa: E731
    sweep = {
        "spec": {"sizes": [16, 64]},
        "regret": {"sp": {"64": entry(0.25)}, "mup": {"64": entry(0.031)}},
        "best_lr": {"sp": {"16": 2e-2, "64": 8e-3}, "mup": {"16": 2e-2, "64": 2.2e-2}},
        "base_config": {"train": {"epochs": 6}},
    }
    tr = {
        "proxy": {"n_trials": 8, "width": 16, "modes": [8], "best_test_rel_l2": 0.13, "seconds": 12.0},
        "target": {
            "width": 64,
            "modes": [16],
            "epochs_run": 12,
            "test_rel_l2": 0.09,
            "seconds": 8.0,
            "hyperparameters": {"lr": 0.02},
        },
        "mapping": {"roles": {"spectral": {"lr_mult": 0.2}}, "mode_factor_g": 0.87, "width_ratio": 4.0},
        "axes_moved": {"width": [16, 64], "modes": [[8], [16]], "epochs": [6, 12]},
    }
    text = _report(sweep, tr, CHECK)
    assert "| **regret at width 64** | **25.0%** | **3.1%** |" in text
    assert "| target, proxy's hyperparameters, one run | 64 | 16 | 12 | **0.09** | 8.0 s |" in text
    assert "![sweep](sweep/sweep.png)" in text
    assert "Axes moved from proxy to target: width 16 -> 64, modes [8] -> [16], epochs 6 -> 12" in text
    assert "| 12 | 3.30e-02 | 0.12 |" in text
    assert (
        "**Regret of the 6-epoch best LR at 12 epochs: 2.1%**; of the LR the target trains with (the proxy study's, "
        "3.80e-02): **0.4%**; both within the 5% the check accepts" in text
    )
    bad = _report(sweep, tr, {**CHECK, "tuned_regret": 0.2, "tuned_extrapolated": True, "ok": False})
    assert "**0.4%**" not in bad
    assert "**20.0%** (outside the grid: the nearest LR); above the 5% the check accepts" in bad


def _epochs_sweep(err6: list[float], err12: list[float]) -> dict:
    """``sweep.json`` of a one-seed μP epochs sweep over the demo's LR grid with these errors, by the sweep's
    own summary (curves, best LR, regret)."""
    runs = [
        {"parametrization": "mup", "size": e, "epochs": e, "lr": lr, "seed": 0, "test_rel_l2": err, "diverged": False}
        for e, errs in ((6, err6), (12, err12))
        for lr, err in zip(LRS, errs)
    ]
    return {**sweep_summary(runs, "epochs", n_boot=20), "spec": {"sizes": [6, 12]}}


def test_epochs_check_is_the_regret_of_the_proxy_epochs_best_lr_at_the_target_epochs():
    # 6 epochs: symmetric around LRS[2], so the parabola's best LR is that grid LR exactly; at 12 epochs the
    # best grid LR is LRS[3] (error 0.10) and the error at LRS[2] is 0.13: regret 0.13 / 0.10 - 1 = 30 %
    doc = epochs_check(_epochs_sweep([0.4, 0.2, 0.1, 0.2, 0.4], [0.5, 0.3, 0.13, 0.10, 0.2]))
    assert doc["epochs"] == [6, 12] and "tuned_regret" not in doc
    assert doc["proxy_lr"] == pytest.approx(LRS[2], rel=1e-9)
    assert doc["regret"] == pytest.approx(0.13 / 0.10 - 1, rel=1e-9)
    assert doc["best_test_rel_l2"] == {"6": pytest.approx(0.1), "12": pytest.approx(0.10)}
    assert doc["ok"] is False
    # the same curve shape at 12 epochs, only lower: the best LR does not move, regret 0, accepted
    same = epochs_check(_epochs_sweep([0.4, 0.2, 0.1, 0.2, 0.4], [0.2, 0.1, 0.05, 0.1, 0.2]))
    assert same["regret"] == pytest.approx(0.0, abs=1e-12)
    assert same["best_lr"]["12"] == pytest.approx(same["best_lr"]["6"], rel=1e-9)
    assert same["ok"] is True and EPOCHS_REGRET_OK == 0.05


def test_epochs_check_of_the_tuned_lr_interpolates_the_target_epochs_curve_in_log_log():
    sweep = _epochs_sweep([0.4, 0.2, 0.1, 0.2, 0.4], [0.5, 0.3, 0.13, 0.10, 0.2])
    at_best = epochs_check(sweep, tuned_lr=LRS[3])  # the 12-epoch best grid LR: no regret
    assert at_best["tuned_regret"] == pytest.approx(0.0, abs=1e-12) and at_best["tuned_extrapolated"] is False
    assert at_best["ok"] is False  # the sweep's own proxy LR still has 30 %
    # halfway between LRS[1] and LRS[2] in log LR: the geometric mean of their errors
    mid = epochs_check(sweep, tuned_lr=(LRS[1] * LRS[2]) ** 0.5)
    assert mid["tuned_regret"] == pytest.approx((0.3 * 0.13) ** 0.5 / 0.10 - 1, rel=1e-9)
    outside = epochs_check(sweep, tuned_lr=1.0)  # beyond the grid: the nearest grid LR's error (0.2)
    assert outside["tuned_extrapolated"] is True and outside["tuned_regret"] == pytest.approx(1.0)


def test_the_demo_target_moves_width_modes_and_epochs_and_trains_twice_the_proxy_epochs(tmp_path):
    cfg = demo_config(tmp_path)
    target = target_of(cfg)
    check_compatible(cfg, target)  # the same problem, model family, parametrization, optimizer and schedule
    assert axes_moved(cfg, target) == {"width": [16, 64], "modes": [[8], [16]], "epochs": [6, 12]}
    # what transfer(..., target=target_of(cfg)) trains: the target's epochs, μP base = the proxy's shape
    run = target_config(with_validation(hybrid_config(with_validation(cfg), target)), {"lr": 0.03}, [16], 64)
    assert (run.model.width, run.model.modes, run.train.epochs) == (64, [16], 2 * cfg.train.epochs)
    assert (run.parametrization.base_width, run.parametrization.base_modes) == (16, [8])
    assert run.optimizer.lr == 0.03 and run.data == with_validation(cfg).data


def test_the_cli_epochs_table_gives_both_best_lrs_and_the_verdict():
    con = Console(record=True, width=200)
    s = {
        "epochs_check": {**CHECK, "regret": 0.08, "ok": False},
        "axes_moved": {"epochs": [6, 12]},
        "proxy": {"width": 16},
    }
    con.print(_epochs_table(s))
    text = con.export_text()
    lines = [" ".join(line.replace("│", " ").split()) for line in text.splitlines()]
    assert "best LR 2.70e-02 3.30e-02" in lines
    assert "regret of the 6-epoch best LR 8.0%" in lines
    assert "regret of the tuned LR 3.80e-02 0.4% (over 5%: not safe)" in lines


def test_the_readme_quotes_the_committed_demo_run():
    """The README's demo numbers are those of ``muop demo --out results/demo`` (results/demo/summary.json)."""
    root = Path(__file__).resolve().parents[1]
    s = json.loads((root / "results" / "demo" / "summary.json").read_text())
    readme = (root / "README.md").read_text()
    sp, mup = (100 * s["regret"][p]["64"]["regret"] for p in ("sp", "mup"))
    lr = s["best_lr"]
    assert f"SP {sp:.1f}%, μP {mup:.1f}%" in readme
    assert f"from {lr['sp']['16']:.2e} to {lr['sp']['64']:.2e}" in readme
    assert f"from {lr['mup']['16']:.2e} to {lr['mup']['64']:.2e}" in readme
    assert (
        f"tests at {s['target']['test_rel_l2']:.3f} against the proxy's {s['proxy']['best_test_rel_l2']:.3f}" in readme
    )


def _rec(par: str, size: int, lr: float, err: float) -> dict:
    return {"parametrization": par, "size": size, "lr": lr, "seed": 0, "test_rel_l2": err, "diverged": False}


def test_the_epochs_sweep_reuses_the_width_sweeps_proxy_runs_and_trains_only_the_target_epochs(tmp_path, monkeypatch):
    asked = []

    def fake_run_sweep(cfg, sweep, out, workers=1):
        asked.append(sweep.sizes)
        out.mkdir(parents=True, exist_ok=True)
        errs = [0.5, 0.3, 0.13, 0.10, 0.2]  # 12 epochs: best at LRS[3]
        return {"runs": [{**_rec("mup", 12, lr, e), "epochs": 12} for lr, e in zip(LRS, errs)]}

    width = [_rec("mup", 16, lr, e) for lr, e in zip(LRS, [0.4, 0.2, 0.1, 0.2, 0.4])]  # the proxy: best at LRS[2]
    width += [_rec("sp", 16, lr, 0.9) for lr in LRS] + [_rec("mup", 64, lr, 0.01) for lr in LRS]  # not the proxy's
    monkeypatch.setattr(demo, "run_sweep", fake_run_sweep)
    monkeypatch.setattr(sweep_module, "plot_sweep", lambda doc, path: None)  # the plot is not under test (~3 s)
    doc = demo._epochs_sweep(demo_config(tmp_path), {"runs": width}, tmp_path / "epochs", workers=1)
    assert asked == [(12,)]  # the proxy's 6 epochs are not trained again
    assert json.loads((tmp_path / "epochs" / "sweep.json").read_text())["spec"]["sizes"] == [6, 12]
    check = epochs_check(doc)
    assert check["best_test_rel_l2"]["6"] == pytest.approx(0.1)  # the μP width-16 curve, not SP's or width 64's
    assert check["regret"] == pytest.approx(0.13 / 0.10 - 1, rel=1e-9)
