"""Transfer regret (muop.workflows.regret): hand-computed regret and bootstrap interval, interpolation,
diverged LRs, flat curves, the proxy choice and the experiments/regret_summary.py script."""

import importlib.util
import json
import math
from pathlib import Path

import pytest

from muop.workflows.regret import curves, drift_excluding_flat, interp_loglog, is_flat, regret_table
from regret_example import HAND, LRS, PROXY, records


def loglog(e_a, e_b, t):
    """Hand log-log interpolation: t of the way (in log10 LR) from the grid point with e_a to e_b."""
    return e_a ** (1 - t) * e_b**t


def test_hand_example_regret_and_bootstrap_interval():
    doc = regret_table(HAND)
    assert doc["proxy"] == {"mup": 8}
    r = doc["regret"]["mup"]
    assert set(r) == {"16", "32"}  # every size but the proxy
    assert r["16"]["proxy_lr"] == pytest.approx(1e-2, rel=1e-12)
    # Target 16: proxy's LR is its best grid LR -> 0. Bootstrap: the proxy resample (s0,s0) moves
    # lr_P to 10^-2.25 (regret 0, on the flat part) and (s1,s1) to 10^-1.75 (regret 2), each with
    # probability 1/4; the mixed resamples keep 10^-2 (regret 0, probability 1/2). So the 95%
    # interval is [0, 2].
    assert r["16"]["regret"] == pytest.approx(0.0, abs=1e-12)
    assert r["16"]["ci"] == pytest.approx([0.0, 2.0], abs=1e-9)
    # Target 32 at 10^-2: 0.4 / 0.2 - 1 = 1.
    assert r["32"]["regret"] == pytest.approx(1.0, rel=1e-12)
    assert r["32"]["regret_grid"] == pytest.approx(1.0) and r["16"]["regret_grid"] == pytest.approx(0.0, abs=1e-12)
    assert r["32"]["target_best"] == pytest.approx(0.2) and r["32"]["target_err_at_proxy_lr"] == pytest.approx(0.4)
    # Its bootstrap: 3 proxy LRs x 3 target curves (s0 / mean / s1, probability 1/4, 1/2, 1/4); each
    # target curve has its minimum at the grid's edge 1e-1, so the knot adds nothing there.
    # Smallest: target seed 0 twice [.8, .4, .3] with the proxy's seed 1 twice (10^-1.75):
    # (0.4^.75 0.3^.25) / 0.3 - 1 = (4/3)^.75 - 1, probability 1/16. Largest: target seed 1 twice
    # [.8, .4, .1] with the proxy's seed 0 twice (10^-2.25): (0.4^.75 0.8^.25) / 0.1 - 1 = 4 * 2^.25 - 1,
    # probability 1/16. Both carry > 2.5%, so they are the percentiles exactly. (Drawing the same seed
    # numbers for proxy and target would give [(0.4/0.3 * 2^.25) - 1, 4 / 2^.5 - 1] instead.)
    lo = loglog(0.4, 0.3, 0.25) / 0.3 - 1
    hi = loglog(0.4, 0.8, 0.25) / 0.1 - 1
    assert lo == pytest.approx((4 / 3) ** 0.75 - 1) and hi == pytest.approx(4 * 2**0.25 - 1)
    assert r["32"]["ci"] == pytest.approx([lo, hi], rel=1e-9)
    # The target's own best LR (parabola on its mean curve, for the report): vertex at
    # -2 + (0.24 - 1.215) / (2 (0.24 - 0.03 + 1.215)).
    assert math.log10(r["16"]["target_best_lr"]) == pytest.approx(-2 + (0.24 - 1.215) / (2 * 1.425))
    assert not any(e["flat"] or e["proxy_flat"] or e["single_seed"] or e["target_extrapolated"] for e in r.values())


def test_bootstrap_is_reproducible_and_other_seeds_agree_on_exact_endpoints():
    a, b = regret_table(HAND, seed=0), regret_table(HAND, seed=0)
    assert a == b
    c = regret_table(HAND, seed=7, n_boot=2000)
    assert c["regret"]["mup"]["32"]["ci"] == pytest.approx(a["regret"]["mup"]["32"]["ci"], rel=1e-9)


def test_target_with_the_proxys_best_lr_has_zero_regret():
    same = [[0.6, 0.3, 0.9], [0.62, 0.31, 0.95]]
    runs = records("sp", 4, PROXY) + records("sp", 8, same)
    e = regret_table(runs)["regret"]["sp"]["8"]
    assert e["regret"] == pytest.approx(0.0, abs=1e-12)


def test_interpolation_is_log_log_between_the_bracketing_grid_lrs():
    # Halfway in log10 LR between (1e-3, 0.4) and (1e-2, 0.1): sqrt(0.4 * 0.1) = 0.2
    # (linear in the error would give 0.25).
    assert interp_loglog(LRS, [0.4, 0.1, 0.3], 10**-2.5) == (pytest.approx(0.2), False)
    # A quarter of the way from 1e-2 to 1e-1: 0.1^0.75 * 0.3^0.25.
    assert interp_loglog(LRS, [0.4, 0.1, 0.3], 10**-1.75)[0] == pytest.approx(0.1**0.75 * 0.3**0.25)
    assert interp_loglog(LRS, [0.4, 0.1, 0.3], 1e-2) == (pytest.approx(0.1), False)
    # Outside the grid: the nearest finite grid point, flagged.
    assert interp_loglog(LRS, [0.4, 0.1, 0.3], 1e-4) == (pytest.approx(0.4), True)
    # Next to a diverged grid LR: the finite neighbour, flagged (a lower bound).
    assert interp_loglog(LRS, [0.4, 0.1, math.nan], 10**-1.5) == (pytest.approx(0.1), True)


def test_regret_uses_the_interpolated_error_of_the_target():
    # Proxy best LR 10^-2.25 (seed curves both [0.3, 0.2, 0.5]); target mean [0.4, 0.1, 0.3].
    runs = records("mup", 8, [[0.3, 0.2, 0.5]] * 2) + records("mup", 16, [[0.4, 0.1, 0.3]] * 2)
    e = regret_table(runs)["regret"]["mup"]["16"]
    assert e["proxy_lr"] == pytest.approx(10**-2.25)
    assert e["regret"] == pytest.approx(loglog(0.1, 0.4, 0.25) / 0.1 - 1)  # 4^0.25 - 1
    assert e["regret_grid"] == pytest.approx(0.0, abs=1e-12)  # proxy's grid minimum 1e-2 is the target's
    assert e["ci"] == pytest.approx([e["regret"], e["regret"]])  # identical seeds: no spread


def test_the_knot_at_the_targets_own_best_lr():
    # Proxy seeds [0.5, 0.2, 0.3]: vertex -2 + 0.2 / (2 * 0.4) = -1.75. Target [0.4, 0.1, 0.3]: its
    # own vertex is -2 + 0.1 / (2 * 0.5) = -1.9, so the interpolant runs flat at 0.1 from -2 to -1.9
    # and then log-log from (-1.9, 0.1) to (-1, 0.3): at -1.75, t = 0.15 / 0.9 = 1/6 of the way,
    # 0.1^(5/6) 0.3^(1/6), regret 3^(1/6) - 1 (the chord from -2 alone gave 3^(1/4) - 1).
    runs = records("mup", 8, [[0.5, 0.2, 0.3]] * 2) + records("mup", 16, [[0.4, 0.1, 0.3]] * 2)
    e = regret_table(runs)["regret"]["mup"]["16"]
    assert e["proxy_lr"] == pytest.approx(10**-1.75) and e["target_best_lr"] == pytest.approx(10**-1.9)
    assert e["regret"] == pytest.approx(3 ** (1 / 6) - 1, rel=1e-12)
    assert e["target_err_at_proxy_lr"] == pytest.approx(loglog(0.1, 0.3, 1 / 6))


def test_a_target_equal_to_the_proxy_has_exactly_zero_regret_off_the_grid():
    # Proxy best LR 10^-2.25, between grid points. Piecewise log-log interpolation alone would give
    # the proxy's own curve a regret of (0.2^.75 0.3^.25) / 0.2 - 1 = 1.5^.25 - 1 (10.7 %) there.
    seeds = [[0.3, 0.2, 0.5], [0.31, 0.21, 0.52]]
    e = regret_table(records("sp", 8, seeds) + records("sp", 16, seeds))["regret"]["sp"]["16"]
    assert e["regret"] == 0.0 and e["regret_grid"] == 0.0
    assert e["ci"][0] == 0.0 and e["ci"][1] > 0  # independent resamples of proxy and target differ


def test_diverged_lrs_are_ignored():
    lrs = LRS + [1.0]
    # The target's LR 1.0 diverged in both seeds with a bogus low recorded error; at 1e-1 one seed diverged.
    target = [[0.4, 0.2, 0.3, 0.001], [0.4, 0.2, 0.01, 0.001]]
    runs = records("sp", 8, [p + [0.9] for p in PROXY], lrs) + records(
        "sp", 16, target, lrs, diverged={(0, 3), (1, 3), (1, 2)}
    )
    cv = curves(runs)
    assert math.isnan(cv["sp"][16][1.0][0]) and math.isnan(cv["sp"][16][1e-1][1]) and cv["sp"][16][1e-1][0] == 0.3
    e = regret_table(runs)["regret"]["sp"]["16"]
    assert e["target_best"] == pytest.approx(0.2)  # not 0.001 nor 0.01
    assert e["regret"] == pytest.approx(0.0, abs=1e-12) and not e["target_extrapolated"]
    # Proxy [0.5, 0.2, 0.2, 0.4]: vertex -2 + 0.3 / (2 * 0.3) = -1.5, next to the target's diverged 1e-1:
    # the nearest finite LR (1e-2, the target's best) is used, flagged.
    runs = records("sp", 8, [[0.5, 0.2, 0.2, 0.4]] * 2, lrs) + records(
        "sp", 16, target, lrs, diverged={(0, 3), (1, 3), (1, 2)}
    )
    e = regret_table(runs)["regret"]["sp"]["16"]
    assert e["proxy_lr"] == pytest.approx(10**-1.5) and e["target_extrapolated"]
    assert e["regret"] == pytest.approx(0.0, abs=1e-12)


def test_flat_curve_detection():
    lrs = [1e-3, 3e-3, 1e-2, 3e-2]
    # Seed means 0.21, 0.21, 0.20, 0.20: spread 5%; each LR's two seeds differ by 0.02, so the
    # standard error is 0.01 (about 4.9% of the mean) and 2x that is 9.8% > 5%: flat.
    flat = {lr: [a, b] for lr, a, b in zip(lrs, [0.20, 0.22, 0.19, 0.21], [0.22, 0.20, 0.21, 0.19])}
    assert is_flat(flat)
    # The same 5% spread with 10x smaller seed noise is a real preference: not flat.
    sharp = {lr: [m - 0.001, m + 0.001] for lr, m in zip(lrs, [0.21, 0.21, 0.20, 0.20])}
    assert not is_flat(sharp)
    assert not is_flat({lr: v for lr, v in zip(LRS, zip(*PROXY))})  # the proxy curve: 100% spread
    assert not is_flat({lr: [v[0]] for lr, v in flat.items()})  # one seed: cannot be judged
    runs = records("mup", 8, PROXY, LRS) + records("mup", 16, [list(c) for c in zip(*flat.values())], lrs)
    doc = regret_table(runs)
    assert doc["flat"] == {"mup": {"8": False, "16": True}} and doc["regret"]["mup"]["16"]["flat"]


def test_drift_excluding_flat():
    best = {"mup": {"8": 1e-2, "16": 2e-2, "32": 1e-1}, "sp": {"8": 1e-2, "16": 5e-3, "32": math.nan}}
    flat = {"mup": {"8": False, "16": False, "32": True}, "sp": {8: False, 16: False, 32: False}}
    got = drift_excluding_flat(best, flat)
    assert got["mup"] == pytest.approx(2.0) and got["sp"] == pytest.approx(2.0)
    assert drift_excluding_flat(best, {})["mup"] == pytest.approx(10.0)


def test_proxy_option_and_bad_proxy_size_is_a_one_line_error():
    doc = regret_table(HAND, proxy=16)
    assert doc["proxy"] == {"mup": 16} and set(doc["regret"]["mup"]) == {"8", "32"}
    with pytest.raises(ValueError) as err:
        regret_table(HAND, proxy=48)
    msg = str(err.value)
    assert "\n" not in msg and "48" in msg and "8, 16, 32" in msg


def test_single_seed_interval_is_the_point_and_flagged():
    runs = records("sp", 8, PROXY[:1]) + records("sp", 16, [[0.8, 0.4, 0.1]])
    e = regret_table(runs)["regret"]["sp"]["16"]
    # Proxy best 10^-2.25; target [0.8, 0.4, 0.1]: (0.4^.75 0.8^.25) / 0.1 - 1.
    assert e["regret"] == pytest.approx(4 * 2**0.25 - 1)
    assert e["ci"] == [e["regret"], e["regret"]] and e["single_seed"]


def _summary_script():
    path = Path(__file__).resolve().parents[1] / "experiments" / "regret_summary.py"
    spec = importlib.util.spec_from_file_location("regret_summary", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_summary_script_rewrites_sweep_json_and_rejects_a_bad_proxy(tmp_path, capsys):
    d = tmp_path / "toy"
    d.mkdir()
    spec = {"axis": "width", "sizes": [8, 16, 32], "lrs": LRS, "parametrizations": ["mup"], "seeds": [0, 1]}
    (d / "sweep.json").write_text(json.dumps({"axis": "width", "runs": HAND, "spec": spec, "base_config": {}}))
    mod = _summary_script()
    assert mod.main([str(d)]) == 0
    saved = json.loads((d / "sweep.json").read_text())
    assert saved["regret"]["mup"]["32"]["regret"] == pytest.approx(1.0) and saved["regret_proxy"] == {"mup": 8}
    assert saved["runs"] == HAND and saved["spec"]["sizes"] == [8, 16, 32] and (d / "sweep.png").exists()
    out = capsys.readouterr().out
    assert "| toy | lr | width | mup | 8 → 32 | **100.0** |" in out
    before = (d / "sweep.json").read_bytes()
    assert mod.main(["--proxy", "16", "--print-only", str(d)]) == 0
    assert (d / "sweep.json").read_bytes() == before  # another proxy, read without touching the sweep
    assert "| toy | lr | width | mup | 16 → 32 |" in capsys.readouterr().out
    with pytest.raises(SystemExit) as ex:
        mod.main(["--proxy", "48", str(d)])
    assert ex.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "proxy size 48 is not in the sweep" in err
