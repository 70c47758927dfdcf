"""``muop demo``: what muop is for, on a small Burgers problem, in under two minutes on 2 CPU cores.

1. generate a small Burgers dataset (cached);
2. the transfer check over width: test error vs LR at width 16 (the proxy) and 64, SP and μP, and
   the regret of using the proxy's best LR at width 64 (SP's best LR moves with width, μP's stays);
3. the epochs check: the target trains twice the proxy's epochs, a budget axis μP does not correct
   (``docs/proxies.md``), so the proxy's μP LR curve is measured at 1× and 2× its epochs (an epochs
   sweep, :mod:`muop.workflows.sweep_spec`, whose 1× runs are step 2's) and the regret of the 1× best
   LR at 2× is reported (:func:`epochs_check`), checked against :data:`EPOCHS_REGRET_OK`;
4. tune the proxy (width 16, K = 8) with Optuna;
5. train the target (:func:`target_of`: width 64, K = 16, twice the epochs) once with the proxy's
   hyperparameters, through ``transfer(..., target=...)``, which checks the two configs' compatibility
   and reports the axes that moved (:mod:`muop.workflows.transfer_axes`);
6. print the tables and write ``report.md`` with the sweep plot.

Everything resumes: rerunning reuses the cached data, finished sweep runs and finished trials.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import torch

from ..config import RunConfig, with_fields
from ..study.tune import tune
from .curves import seed_curves
from .regret import curve_matrix, regret_at
from .sweep import Sweep, log_grid, run_sweep, write_summary
from .transfer import transfer
from .transfer_axes import describe

__all__ = ["demo_config", "target_of", "epochs_check", "run_demo", "PROXY", "TARGET", "EPOCHS_REGRET_OK", "LRS"]

#: The proxy's and the target's (width, K, epochs).
PROXY = {"width": 16, "modes": 8, "epochs": 6}
TARGET = {"width": 64, "modes": 16, "epochs": 12}
#: The regret of the proxy's best LR at the target's epochs that the epochs check accepts (a fraction): issue #22's
#: goal for the regret over the training horizon.
EPOCHS_REGRET_OK = 0.05
#: The LR grid of both sweeps (width and epochs).
LRS = tuple(log_grid(3e-3, 1e-1, 5))


def demo_config(out: Path) -> RunConfig:
    """The proxy's config: Burgers at s = 64 (700 training samples: with a few hundred, the big
    target overfits and tests worse than the proxy), an FNO of width 16 with K = 8, Adam, cosine schedule."""
    return RunConfig.from_dict(
        {
            "data": {
                "problem": "burgers",
                "n_train": 700,
                "n_test": 100,
                "n_val": 70,
                "resolution": 64,
                "seed": 0,
                "cache_dir": str(out / "cache"),
            },
            # the classic block: about 1.6x cheaper per step than the default, so the demo stays within 2 minutes
            "model": {"modes": [PROXY["modes"]], "width": PROXY["width"], "depth": 3, "block": "classic"},
            "parametrization": {"kind": "mup"},
            "optimizer": {"name": "adam", "lr": 1e-2},
            "schedule": {"name": "cosine"},
            "train": {"epochs": PROXY["epochs"], "batch_size": 20, "seed": 0},
            "tune": {"lr": [3e-3, 3e-1], "sampler": "tpe"},
        }
    )


def target_of(cfg: RunConfig) -> RunConfig:
    """The target's config: the proxy's ``cfg`` at :data:`TARGET`'s width, K and epochs (everything else equal)."""
    dims = len(cfg.model.modes)
    return with_fields(
        cfg, model={"width": TARGET["width"], "modes": [TARGET["modes"]] * dims}, train={"epochs": TARGET["epochs"]}
    )


def _epochs_sweep(cfg: RunConfig, width_sweep: dict, out: Path, workers: int) -> dict:
    """The epochs sweep of the proxy (μP, :data:`LRS`, seed 0) at its own and the target's epochs, written to
    ``out/sweep.json``. Only the target's epochs are trained here: the proxy's are the width sweep's μP runs at
    the proxy's width, the same runs (same config, base shape and seed), relabelled with their epochs."""
    e0, e1 = PROXY["epochs"], TARGET["epochs"]
    longer = run_sweep(
        cfg, Sweep(axis="epochs", sizes=(e1,), lrs=LRS, parametrizations=("mup",), seeds=(0,)), out, workers=workers
    )
    shorter = [
        {**r, "size": e0, "epochs": e0}
        for r in width_sweep["runs"]
        if r["parametrization"] == "mup" and int(r["size"]) == PROXY["width"]
    ]
    both = Sweep(axis="epochs", sizes=(e0, e1), lrs=LRS, parametrizations=("mup",), seeds=(0,))
    return write_summary(out, shorter + longer["runs"], both, cfg.to_dict())


def epochs_check(sweep: dict, tuned_lr: float | None = None) -> dict:
    """What the epochs sweep (μP, the proxy's shape, sizes = the proxy's and the target's epochs) says.

    Returns ``{"epochs": [proxy, target], "best_lr": {epochs: LR}, "best_test_rel_l2": {epochs: error},
    "regret", "proxy_lr", "target_best_lr", "ok"}``: ``regret`` (a fraction) is the target epochs'
    error at the proxy epochs' best LR over its own best, minus 1 (:mod:`muop.workflows.regret`).
    With ``tuned_lr`` (the LR the target trains with, from the proxy's Optuna study) also
    ``tuned_regret``, the same regret at that LR (the target epochs' curve interpolated,
    :func:`muop.workflows.regret.regret_at`), and ``tuned_extrapolated`` when it lies outside the grid.
    ``ok``: every regret ≤ :data:`EPOCHS_REGRET_OK`. Errors: test relative L2 at the best grid LR.
    """
    e0, e1 = (str(e) for e in sweep["spec"]["sizes"])
    r = sweep["regret"]["mup"][e1]
    curves = sweep["mean_test_rel_l2"]["mup"]
    doc = {
        "epochs": [int(e0), int(e1)],
        "best_lr": {e: sweep["best_lr"]["mup"][e] for e in (e0, e1)},
        "best_test_rel_l2": {e: min(curves[e].values()) for e in (e0, e1)},
        "regret": r["regret"],
        "proxy_lr": r["proxy_lr"],
        "target_best_lr": r["target_best_lr"],
    }
    regrets = [r["regret"]]
    if tuned_lr is not None:
        lrs, errs = curve_matrix(seed_curves(sweep["runs"])["mup"][int(e1)])  # the exact LRs, errors seeds × LRs
        reg, _, extrap = regret_at(tuned_lr, lrs, errs.mean(axis=0))
        doc.update(tuned_lr=tuned_lr, tuned_regret=reg, tuned_extrapolated=extrap)
        regrets.append(reg)
    doc["ok"] = bool(all(x <= EPOCHS_REGRET_OK for x in regrets))
    return doc


def run_demo(
    out_dir: str | Path = "demo_out", trials: int = 6, say: Callable[[str], None] = print, workers: int | None = None
) -> dict:
    """Run the demo into ``out_dir``; returns the summary written to ``out_dir/summary.json``.

    ``workers`` local processes train the sweep and the proxy trials (default: 2, or 1 on a one-core
    machine). Every process, this one included, trains with one torch thread: on models this small
    more threads mostly wait on each other (the target run took 6x longer with 2 threads than with 1
    on a loaded 2-core machine).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(Path(out_dir), trials, say, workers or min(2, os.cpu_count() or 1))
    finally:
        torch.set_num_threads(threads)


def _run(out: Path, trials: int, say: Callable[[str], None], workers: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    cfg = demo_config(out)
    say("1/5 data: Burgers (ν = 0.1), 700 train / 100 test samples at s = 64 (cached)")
    w0, w1, e0, e1 = PROXY["width"], TARGET["width"], PROXY["epochs"], TARGET["epochs"]
    say(
        f"2/5 transfer check: test error vs LR at width {w0} (proxy) and {w1}, SP and μP, and the regret of the "
        "proxy's LR"
    )
    sweep = run_sweep(cfg, Sweep(axis="width", sizes=(w0, w1), lrs=LRS, seeds=(0,)), out / "sweep", workers=workers)
    say(f"3/5 epochs check: the proxy's μP LR curve at {e0} and {e1} epochs (the target trains {e1})")
    ep = _epochs_sweep(cfg, sweep, out / "epochs", workers)
    say(f"4/5 tuning the proxy (width {w0}, K = {PROXY['modes']}): {trials} Optuna trials")
    tune(cfg, trials, "demo-proxy", run_dir=out / "tune", workers=workers)
    say(
        f"5/5 training the target (width {w1}, K = {TARGET['modes']}, {e1} epochs) once with the proxy's "
        "hyperparameters"
    )
    tr = transfer(cfg, "demo-proxy", out_dir=out / "transfer", run_dir=out / "tune", target=target_of(cfg))
    summary = {
        "regret": {
            par: {
                size: {k: e[k] for k in ("regret", "ci", "proxy_lr", "target_best_lr")} for size, e in by_size.items()
            }
            for par, by_size in sweep["regret"].items()
        },
        "best_lr": sweep["best_lr"],
        "epochs_check": epochs_check(ep, tr["target"]["hyperparameters"]["lr"]),
        "axes_moved": tr["axes_moved"],
        "proxy": {
            k: tr["proxy"][k] for k in ("width", "modes", "n_trials", "best_params", "best_test_rel_l2", "seconds")
        },
        "target": {k: tr["target"][k] for k in ("width", "modes", "test_rel_l2", "seconds")},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    (out / "report.md").write_text(_report(sweep, tr, summary["epochs_check"]))
    return summary


def _report(sweep: dict, tr: dict, ep: dict) -> str:
    p, t = tr["proxy"], tr["target"]
    w0, w1 = (str(s) for s in sweep["spec"]["sizes"])
    sp, mup, best = sweep["regret"]["sp"][w1], sweep["regret"]["mup"][w1], sweep["best_lr"]
    lines = [
        "# muop demo report",
        "",
        "Burgers 1-D (ν = 0.1, s = 64, 700 training samples of which 70 are held out for validation), FNO depth 3,",
        "Adam with a cosine schedule. Errors are relative L2, per-sample mean, physical units, on the test split;",
        "tuning selects on the validation split. One seed per point: a demo, not a measurement.",
        "",
        f"## Does the proxy's learning rate still work at width {w1}?",
        "",
        f"Test error vs LR at width {w0} (the proxy) and {w1}. **Regret** = the width-{w1} model's error at the",
        f"proxy's best LR over its own best error, minus 1: what trusting the width-{w0} model costs.",
        "",
        "![sweep](sweep/sweep.png)",
        "",
        "| | SP | μP |",
        "|---|---|---|",
        f"| **regret at width {w1}** | **{100 * sp['regret']:.1f}%** | **{100 * mup['regret']:.1f}%** |",
        f"| best LR at width {w0} (proxy) | {sweep['best_lr']['sp'][w0]:.2e} | {sweep['best_lr']['mup'][w0]:.2e} |",
        f"| best LR at width {w1} | {sweep['best_lr']['sp'][w1]:.2e} | {sweep['best_lr']['mup'][w1]:.2e} |",
        "",
        f"From width {w0} to {w1} the best LR moves ×{best['sp'][w1] / best['sp'][w0]:.2f} under SP and "
        f"×{best['mup'][w1] / best['mup'][w0]:.2f} under μP.",
        "μP's rules rescale each layer's LR and init with width so that the proxy's best LR stays the",
        "target's; under SP, hidden layers' updates grow with width, and the best LR usually falls.",
        "",
        *_epochs_section(tr, ep),
        "## Tune small, train big (μP)",
        "",
        "| | width | K | epochs | test rel. L2 | cost |",
        "|---|---|---|---|---|---|",
        f"| proxy, best of {p['n_trials']} Optuna trials | {p['width']} | {p['modes'][0]} | "
        f"{sweep['base_config']['train']['epochs']} | {p['best_test_rel_l2']:.4g} | {p['seconds']:.1f} s tuning |",
        f"| target, proxy's hyperparameters, one run | {t['width']} | {t['modes'][0]} | {t['epochs_run']} | "
        f"**{t['test_rel_l2']:.4g}** | {t['seconds']:.1f} s |",
        "",
        "The target was never tuned: it trains once with the proxy's hyperparameters "
        f"`{json.dumps(t['hyperparameters'])}`,",
        "and μP rescales them per layer (e.g. the spectral weights' LR × "
        f"{tr['mapping']['roles']['spectral']['lr_mult']:.3f}: mode factor",
        f"g = {tr['mapping']['mode_factor_g']:.3f}, width ratio {tr['mapping']['width_ratio']:g}).",
        "",
        "This is a demo at toy scale: numbers from a few minutes of CPU training say little about transfer",
        "at scale; see the README's results section for the experiments.",
        "",
    ]
    return "\n".join(lines)


def _epochs_section(tr: dict, ep: dict) -> list[str]:
    """The report's lines on the axes that moved and the epochs check (:func:`epochs_check`'s document ``ep``)."""
    e0, e1 = (str(e) for e in ep["epochs"])
    verdict = (
        f"both within the {100 * EPOCHS_REGRET_OK:g}% the check accepts: training the target on {e1} epochs at "
        "the proxy's LR is safe here"
        if ep["ok"]
        else f"above the {100 * EPOCHS_REGRET_OK:g}% the check accepts: the proxy's LR is not safe at {e1} epochs "
        "here; tune the proxy at the target's epochs, or predict the LR from two proxy budgets (docs/proxies.md)"
    )
    return [
        "## Is twice the epochs safe for the proxy's learning rate?",
        "",
        f"Axes moved from proxy to target: {describe(tr['axes_moved'])} (`muop.workflows.transfer_axes`).",
        "μP's rules correct width and modes; the number of epochs is a budget axis they do not correct,",
        f"so the demo checks it: the proxy's μP LR curve (width {tr['proxy']['width']}) at {e0} and {e1} epochs.",
        "",
        "![epochs](epochs/sweep.png)",
        "",
        "| epochs | best LR | best test rel. L2 |",
        "|---|---|---|",
        *(f"| {e} | {ep['best_lr'][e]:.2e} | {ep['best_test_rel_l2'][e]:.4g} |" for e in (e0, e1)),
        "",
        f"**Regret of the {e0}-epoch best LR at {e1} epochs: {100 * ep['regret']:.1f}%**; of the LR the target "
        f"trains with (the proxy study's, {ep['tuned_lr']:.2e}): **{100 * ep['tuned_regret']:.1f}%**"
        f"{' (outside the grid: the nearest LR)' if ep['tuned_extrapolated'] else ''}; {verdict}.",
        "One seed, 5 LRs: a check, not a measurement.",
        "",
    ]
