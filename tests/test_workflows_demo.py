"""``muop demo``'s report (muop.workflows.demo): SP and μP regret side by side, then the proxy and the target."""

import json
from pathlib import Path

from muop.workflows.demo import _report


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
    }
    text = _report(sweep, tr)
    assert "| **regret at width 64** | **25.0%** | **3.1%** |" in text
    assert "| target, proxy's hyperparameters, one run | 64 | 16 | 12 | **0.09** | 8.0 s |" in text
    assert "![sweep](sweep/sweep.png)" in text


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
