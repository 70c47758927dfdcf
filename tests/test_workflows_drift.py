"""The drift model against hand-computed fits, its regret on a sweep against the committed tables, and the advice."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from muop.cli.sweep import _sweep_table
from muop.errors import UsageError
from muop.workflows.advice import EVIDENCE, THRESHOLDS, ladder, single_proxy_advice
from muop.workflows.drift import check_proxies, drift_from_curves, drift_from_trials, fit_drift
from muop.workflows.drift_regret import extrapolated_table
from muop.workflows.plots import plot_sweep
from muop.workflows.sweep import Sweep

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))
import drift_summary  # noqa: E402

GRID = np.logspace(-4, -1, 7)  # half-decade steps


def _curves(best: dict[int, float], shifts: list[float]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Seeds × grid errors that are exact parabolas in log10(LR) with vertex at log10(best) + shift of each seed
    (an offset per seed too, which moves no minimum)."""
    out = {}
    for s, b in best.items():
        E = np.array([1.0 + k + (np.log10(GRID) - np.log10(b) - d) ** 2 for k, d in enumerate(shifts)])
        out[s] = (GRID, E)
    return out


def test_hand_computed_line_and_pooled_value():
    # sizes 2, 4, 8 with best values 1, 2, 2: in log2 units x = 1, 2, 3 and y = 0, 1, 1, so the slope is
    # ((-1)(-2/3) + 0 + (1)(1/3)) / 2 = 1/2, the centroid (2, 2/3), the line at x = 4 (size 16) is 5/3.
    fit = fit_drift([8, 2, 4], [2.0, 1.0, 2.0], 16)
    assert fit.proxies == (2, 4, 8) and fit.best == (1.0, 2.0, 2.0)
    assert fit.slope == pytest.approx(0.5)
    assert fit.fitted == pytest.approx(2 ** (5 / 3)) and fit.pooled == pytest.approx(2 ** (2 / 3))
    assert fit.rule == "pooled" and math.isnan(fit.slope_ci[0])  # no replicates: no evidence of drift
    assert fit.predicted == fit.pooled


def test_an_exact_power_law_is_predicted_exactly():
    best = {s: 0.01 * (s / 16) ** 0.5 for s in (16, 32, 64)}
    fit = drift_from_curves(_curves(best, [0.0, 0.0, 0.0]), 256, n_boot=50)
    assert fit.slope == pytest.approx(0.5, abs=1e-12) and fit.slope_ci == pytest.approx((0.5, 0.5), abs=1e-12)
    assert fit.rule == "fit" and fit.predicted == pytest.approx(0.04, rel=1e-10)
    assert fit.predicted_ci == pytest.approx((0.04, 0.04), rel=1e-10) and fit.n_boot_finite == 50


def test_flat_noise_gives_a_slope_interval_around_zero_and_the_pooled_rule():
    rng = np.random.default_rng(1)
    best = {s: 1e-2 for s in (4, 8, 16)}
    shifts = list(rng.normal(0, 0.15, size=4))  # each seed's minimum moves by ~0.15 decades; sizes share seeds
    curves = {s: (g, E + rng.normal(0, 0.02, size=E.shape)) for s, (g, E) in _curves(best, shifts).items()}
    fit = drift_from_curves(curves, 64, n_boot=200)
    assert fit.slope_ci[0] < 0 < fit.slope_ci[1] and fit.rule == "pooled"
    assert fit.predicted == pytest.approx(math.exp(np.mean(np.log(fit.best))))  # the geometric mean
    assert fit.predicted_ci[0] <= fit.predicted <= fit.predicted_ci[1]


def test_equal_grid_points_are_no_drift():
    """Proxies whose best values are the same grid point (rounding gives a slope of ±1e-17) are pooled."""
    reps = np.full((20, 2), 0.9)
    assert fit_drift([4, 8], [0.9, 0.9], 16, reps).rule == "pooled"


def test_trials_bootstrap_takes_each_resample_s_best_trial():
    trials = {16: [(1e-2, 0.3), (2e-2, 0.2), (4e-2, 0.5)], 32: [(1e-2, 0.4), (4e-2, 0.1), (8e-2, 0.9)]}
    fit = drift_from_trials(trials, 128, n_boot=300)
    assert fit.best == (2e-2, 4e-2) and fit.slope == pytest.approx(1.0)
    assert fit.n_boot_finite == 300 and fit.slope_ci[0] <= 1.0 <= fit.slope_ci[1]


@pytest.mark.parametrize(
    "proxies, target, match",
    [([16], 256, "at least two"), ([16, 16], 256, "distinct"), ([16, 256], 256, "below the target's 256")],
)
def test_bad_proxies_are_one_line_errors(proxies, target, match):
    with pytest.raises(UsageError, match=match):
        check_proxies(proxies, target)


def test_bad_best_values_are_one_line_errors():
    with pytest.raises(UsageError, match="one finite positive value per proxy size"):
        fit_drift([16, 32], [1e-2, 0.0], 64)


def _committed(name: str) -> dict:
    return json.loads((ROOT / "results" / "sweeps" / name / "sweep.json").read_text())


def test_the_committed_extrapolated_entries_are_recomputed_from_the_runs():
    doc = _committed("ns_modes")
    assert json.loads(json.dumps(extrapolated_table(doc["runs"]))) == doc["extrapolated"]
    e = doc["extrapolated"]["mup"]["12"]
    assert e["proxies"] == [4, 8] and e["rule"] in ("fit", "pooled") and set(doc["extrapolated"]["mup"]) == {"12"}


def test_the_readme_table_rows_are_what_drift_summary_prints():
    readme = (ROOT / "README.md").read_text()
    for row in drift_summary.rows(*drift_summary.load(ROOT / "results" / "sweeps" / "ns_modes")):
        assert row in readme, row


@pytest.mark.parametrize("axis", sorted(EVIDENCE))
def test_the_advice_quotes_the_committed_sweeps(axis):
    ev = EVIDENCE[axis]
    doc = json.loads((ROOT / ev["sweep"] / "sweep.json").read_text())
    for par, by_ratio in ev["single"].items():
        for ratio, pct in by_ratio.items():
            e = doc["regret"][par][str(ev["proxy"] * ratio)]
            assert pct == tuple(round(100 * v, 1) for v in (e["regret"], *e["ci"])), (par, ratio)
    top = max(int(s) for s in doc["best_lr"]["mup"])
    runs = [r for r in doc["runs"] if int(r["size"]) in (*ev["ladder"], top)]
    table = extrapolated_table(runs)
    for par, pct in ev["drift"].items():
        e = table[par][str(top)]
        assert pct == tuple(round(100 * v, 1) for v in (e["regret"], *e["ci"])), par


def test_advice_only_from_the_threshold_on():
    assert THRESHOLDS[("mup", "width")] == 8
    assert single_proxy_advice("mup", [8], 16, 4, target_width=64) is None
    line = single_proxy_advice("mup", [8], 16, 4, target_width=256)
    assert "\n" not in line and "10.1% [6.5, 15.0]" in line and "--proxies 16,32,64" in line
    assert "16×" in line and "μP" in line
    assert single_proxy_advice("mup", [4], 32, 4, target_modes=[128]) is None  # within the measured 32×
    assert "largest ratio measured" in single_proxy_advice("mup", [4], 32, 4, target_modes=[256])
    assert "parametrization.kind: mup" in single_proxy_advice("sp", [8], 16, 4, target_width=32)
    assert ladder(16, 256) == [16, 32, 64] and ladder(16, 32) == [8, 16] and ladder(4, 8, smallest=2) == [2, 4]


def test_the_sweep_table_and_plot_show_the_drift_model(tmp_path):
    doc = _committed("ns_modes")
    sweep = Sweep(**{k: tuple(v) if isinstance(v, list) else v for k, v in doc["spec"].items()})
    con = Console(width=250, record=True)
    con.print(_sweep_table(doc, sweep))
    text = con.export_text()
    e = doc["extrapolated"]["mup"]["12"]
    assert "mup extrapolated regret [95% CI]" in text
    assert f"{100 * e['regret']:.1f}% [{100 * e['ci'][0]:.1f}, {100 * e['ci'][1]:.1f}] {e['rule']}" in text
    plot_sweep(doc, tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").read_bytes()[:4] == b"\x89PNG"
