"""Print the drift-model tables: single proxy vs the drift model at the largest size of every committed sweep.

Usage: python experiments/drift_summary.py [--hparams] [--cost SWEEP_DIR] [PATH ...]

PATH is a sweep directory (with sweep.json) or a neuraloperator sweep file (``results/neuralop/
*_sweep.json``, whose ``rows`` are sweep records); by default every results/sweeps/*/ and
results/depth/*/ with a sweep.json and results/neuralop/{width,modes}_sweep.json. Nothing is
trained or written: each sweep is re-summarised from its runs by muop.workflows.sweep.sweep_summary
(B = 1000, generator seed 0), so the numbers are those ``experiments/regret_summary.py`` writes
into sweep.json. One row per (sweep, parametrization), at the sweep's largest size T:

* single proxy: the regret of the smallest size's best LR (``regret`` in sweep.json);
* largest proxy: the regret of the best LR of the largest size below T (what the same proxies give
  without a fit);
* drift model: the regret of the drift model's prediction from all sizes below T (``extrapolated``),
  its rule and slope (best LR ∝ size^slope) with 95 % intervals;
* best error at T: the target's best seed-averaged test error.

LR sweeps by default; ``--hparams`` prints the sweeps of other hyperparameters instead. ``--cost DIR``
prints what the proxy sizes of a sweep cost relative to one run at its largest size (median seconds
and FLOPs per run, from its runs).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

from muop.workflows.regret import regret_table
from muop.workflows.sweep import sweep_summary

ROOT = Path(__file__).resolve().parents[1]
NEURALOP = ("results/neuralop/width_sweep.json", "results/neuralop/modes_sweep.json")
AXIS_ORDER = {"width": 0, "depth": 1, "modes": 2}


def load(path: Path) -> tuple[str, list[dict], str, str]:
    """``(name, runs, axis, hparam)`` of a sweep directory or a neuraloperator sweep file."""
    if path.is_dir():
        doc = json.loads((path / "sweep.json").read_text())
        return f"{path.parent.name}/{path.name}", doc["runs"], doc["axis"], doc["hparam"]
    doc = json.loads(path.read_text())
    axis = doc["meta"]["command"].split("--axis ")[1].split()[0]
    return f"neuralop/{path.stem}", doc["rows"], axis, "lr"


def _pct(e: dict) -> str:
    def f(v: float) -> str:
        return f"{100 * v:.1f}" if math.isfinite(v) else "—"

    return f"{f(e['regret'])} [{f(e['ci'][0])}, {f(e['ci'][1])}]"


def rows(name: str, runs: list[dict], axis: str, hparam: str) -> list[str]:
    """The Markdown rows of one sweep: one per parametrization, at its largest size."""
    key = "lr" if hparam == "lr" else "value"
    doc = sweep_summary(runs, axis, hparam)
    out = []
    for par, by_size in doc["extrapolated"].items():
        sizes = sorted(int(s) for s in doc["best_lr"][par])
        t = str(sizes[-1])
        if t not in by_size:
            continue
        single, ex = doc["regret"][par][t], by_size[t]
        near = regret_table([r for r in runs if r["parametrization"] == par], proxy=sizes[-2], key=key)
        nearest = near["regret"][par][t]
        slope = f"{ex['slope']:+.2f} [{ex['slope_ci'][0]:+.2f}, {ex['slope_ci'][1]:+.2f}]"
        out.append(
            f"| {name} | {axis} | {hparam} | {par} | {','.join(map(str, sizes[:-1]))} → {t} | "
            f"{_pct(single)} | {_pct(nearest)} | **{_pct(ex)}** | {ex['rule']}, {slope} | {single['target_best']:.4f} |"
        )
    return out


HEAD = (
    "| sweep | axis | swept | param. | proxies → target | single proxy % [95% CI] | largest proxy % [95% CI] | "
    "drift model % [95% CI] | rule, slope [95% CI] | best error at target |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def _medians(runs: list[dict], par: str) -> dict[int, tuple[int, float, float]]:
    """size -> (runs, median seconds, median FLOPs) of one parametrization's runs."""
    by: dict[int, list[dict]] = {}
    for r in runs:
        if r["parametrization"] == par:
            by.setdefault(int(r["size"]), []).append(r)
    return {
        s: (len(v), statistics.median(r["seconds"] for r in v), statistics.median(r["train_flops"] for r in v))
        for s, v in sorted(by.items())
    }


def cost(sweep_dir: Path) -> str:
    """Markdown: each size's median seconds and FLOPs per run relative to one run at the largest size, then
    the extra proxies of each ladder (the sizes above the smallest, up to each size below the largest) at one
    LR and seed, and for the whole LR sweep (every LR and seed of those sizes)."""
    runs = json.loads((sweep_dir / "sweep.json").read_text())["runs"]
    lines = [
        "| param. | size, or extra proxies | runs | median s/run | FLOPs/run | s vs one largest run | "
        "FLOPs vs one largest run |",
        "|---|---|---|---|---|---|---|",
    ]
    for par in dict.fromkeys(r["parametrization"] for r in runs):
        med = _medians(runs, par)
        sizes = list(med)
        _, s_top, f_top = med[sizes[-1]]
        for s, (n, sec, fl) in med.items():
            lines.append(f"| {par} | {s} | {n} | {sec:.1f} | {fl:.3g} | {sec / s_top:.3f} | {fl / f_top:.4f} |")
        for k in range(2, len(sizes)):
            extra = sizes[1:k]
            sec, fl = sum(med[s][1] for s in extra) / s_top, sum(med[s][2] for s in extra) / f_top
            n = sum(med[s][0] for s in extra)
            lines.append(f"| {par} | extra {','.join(map(str, extra))}, one LR and seed | | | | {sec:.3f} | {fl:.4f} |")
            lines.append(
                f"| {par} | extra {','.join(map(str, extra))}, whole LR sweep ({n} runs) | | | | "
                f"{sec * n / len(extra):.2f} | {fl * n / len(extra):.3f} |"
            )
    return "\n".join(lines)


def default_paths() -> list[Path]:
    found = [p.parent for p in (ROOT / "results" / "sweeps").glob("*/sweep.json")]
    found += [p.parent for p in (ROOT / "results" / "depth").glob("*/sweep.json")]
    return sorted(found) + [ROOT / p for p in NEURALOP]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path, help="sweep directories or neuraloperator sweep files")
    ap.add_argument("--hparams", action="store_true", help="the sweeps of other hyperparameters than the LR")
    ap.add_argument("--cost", type=Path, metavar="SWEEP_DIR", help="print the proxy sizes' cost instead")
    args = ap.parse_args(argv)
    if args.cost:
        print(cost(args.cost))
        return 0
    loaded = [load(p) for p in (args.paths or default_paths())]
    loaded = [s for s in loaded if (s[3] != "lr") == args.hparams]
    loaded.sort(key=lambda s: (s[3], AXIS_ORDER.get(s[2], 9), s[0]))
    print("\n".join([HEAD] + [row for s in loaded for row in rows(*s)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
