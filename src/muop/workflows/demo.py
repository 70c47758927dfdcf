"""``muop demo``: what muop is for, on a small Burgers problem, in under two minutes on 2 CPU cores.

1. generate a small Burgers dataset (cached);
2. the transfer check over width: test error vs LR at width 16 (the proxy) and 64, SP and μP, and
   the regret of using the proxy's best LR at width 64 (SP's best LR moves with width, μP's stays);
3. tune the proxy (width 16, K = 8) with Optuna;
4. train the target (width 64, K = 16, twice the epochs) once with the proxy's hyperparameters;
5. print the tables and write ``report.md`` with the sweep plot.

Everything resumes: rerunning reuses the cached data, finished sweep runs and finished trials.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import torch

from ..config import RunConfig
from ..study.tune import tune
from .sweep import Sweep, log_grid, run_sweep
from .transfer import transfer

__all__ = ["demo_config", "run_demo", "PROXY", "TARGET"]

#: The proxy's and the target's (width, K, epochs).
PROXY = {"width": 16, "modes": 8, "epochs": 6}
TARGET = {"width": 64, "modes": 16, "epochs": 12}


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
    say("1/4 data: Burgers (ν = 0.1), 700 train / 100 test samples at s = 64 (cached)")
    w0, w1 = PROXY["width"], TARGET["width"]
    say(
        f"2/4 transfer check: test error vs LR at width {w0} (proxy) and {w1}, SP and μP, and the regret of the "
        "proxy's LR"
    )
    sweep = run_sweep(
        cfg,
        Sweep(axis="width", sizes=(w0, w1), lrs=tuple(log_grid(3e-3, 1e-1, 5)), seeds=(0,)),
        out / "sweep",
        workers=workers,
    )
    say(f"3/4 tuning the proxy (width {w0}, K = {PROXY['modes']}): {trials} Optuna trials")
    tune(cfg, trials, "demo-proxy", run_dir=out / "tune", workers=workers)
    say(
        f"4/4 training the target (width {w1}, K = {TARGET['modes']}, {TARGET['epochs']} epochs) once with the proxy's "
        "hyperparameters"
    )
    tr = transfer(
        cfg,
        "demo-proxy",
        target_modes=[TARGET["modes"]],
        target_width=w1,
        out_dir=out / "transfer",
        run_dir=out / "tune",
        target_overrides=[f"train.epochs={TARGET['epochs']}"],
    )
    summary = {
        "regret": {
            par: {
                size: {k: e[k] for k in ("regret", "ci", "proxy_lr", "target_best_lr")} for size, e in by_size.items()
            }
            for par, by_size in sweep["regret"].items()
        },
        "best_lr": sweep["best_lr"],
        "proxy": {
            k: tr["proxy"][k] for k in ("width", "modes", "n_trials", "best_params", "best_test_rel_l2", "seconds")
        },
        "target": {k: tr["target"][k] for k in ("width", "modes", "test_rel_l2", "seconds")},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    (out / "report.md").write_text(_report(sweep, tr))
    return summary


def _report(sweep: dict, tr: dict) -> str:
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
