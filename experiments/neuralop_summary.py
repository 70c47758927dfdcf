"""Markdown tables of results/neuralop/: block comparison, LR sweeps, coordinate checks.

Usage: ``python experiments/neuralop_summary.py [results/neuralop]``
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path


def fmt(v: float) -> str:
    return "diverged" if not math.isfinite(v) else f"{v:.4f}"


def blocks_table(doc: dict, title: str) -> str:
    lrs = list(dict.fromkeys(r["lr"] for r in doc["rows"]))
    head = f"**{title}** (test rel. L2, mean over seeds; best LR in bold)\n\n| variant | params | " + " | ".join(f"lr {lr:g}" for lr in lrs) + " | best (per seed) | s/run |\n|---|---|" + "---|" * (len(lrs) + 2)
    lines = [head]
    for s in doc["summary"]:
        n = next(r["n_params"] for r in doc["rows"] if r["variant"] == s["variant"])
        cells = [(f"**{fmt(s['per_lr_mean'][str(lr)] if str(lr) in s['per_lr_mean'] else s['per_lr_mean'][lr])}**" if lr == s["best_lr"] else fmt(s["per_lr_mean"].get(str(lr), s["per_lr_mean"].get(lr, math.nan)))) for lr in lrs]
        seeds = ", ".join(f"{v:.4f}" for v in s["best_seeds"])
        lines.append(f"| {s['variant']} | {n} | " + " | ".join(cells) + f" | {fmt(s['best_mean'])} ({seeds}) | {s['seconds_mean']:.0f} |")
    return "\n".join(lines)


def sweep_table(doc: dict, title: str) -> str:
    pars = list(dict.fromkeys(s["parametrization"] for s in doc["summary"]))
    sizes = list(dict.fromkeys(s["size"] for s in doc["summary"]))
    best = {(s["parametrization"], s["size"]): s for s in doc["summary"]}
    lrs = sorted({r["lr"] for r in doc["rows"]})
    head = f"**{title}** (best LR of the grid {', '.join(f'{lr:g}' for lr in lrs)}; `*` = at the grid's edge)\n\n| size | " + " | ".join(f"{p} best LR | {p} best test rel. L2 (sd over seeds)" for p in pars) + " |\n|---|" + "---|---|" * len(pars)
    lines = [head]
    for size in sizes:
        cells = []
        for p in pars:
            s = best[(p, size)]
            edge = "*" if s["best_lr"] in (lrs[0], lrs[-1]) else ""
            sd = statistics.stdev(s["best_seeds"]) if len(s["best_seeds"]) > 1 else 0.0
            cells.append(f"{s['best_lr']:g}{edge} | {fmt(s['best_mean'])} ({sd:.4f})")
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    drift = []
    for p in pars:
        b = [best[(p, size)]["best_lr"] for size in sizes]
        drift.append(f"{p}: best LR {b[0]:g} → {b[-1]:g} (max/min {max(b) / min(b):g}×)")
    return "\n".join(lines) + "\n\nDrift over sizes: " + "; ".join(drift)


def coord_table(root: Path) -> str:
    lines = [
        "**Coordinate checks** (the change of each watched output after the last step; largest size over smallest, "
        "and the widest max/min over sizes of any watched layer)\n",
        "| run | model | sizes | lr | output: last/first | worst layer: max/min |",
        "|---|---|---|---|---|---|",
    ]
    for p in sorted(root.glob("coord_*/coord.json")):
        doc = json.loads(p.read_text())
        g, m = doc["growth"], doc.get("model", {})
        worst = max(g, key=lambda k: g[k]["max_over_min"])
        name = m.get("name", "?") + (f" ({m['factorization']}, rank {m['rank']:g})" if m.get("factorization") else "")
        lines.append(
            f"| {p.parent.name} | {name} | {doc['axis']} {doc['sizes'][0]}–{doc['sizes'][-1]} | {doc['config']['lr']:g} | "
            f"{g['output']['last_over_first']:.2f} | {worst} {g[worst]['max_over_min']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "results/neuralop")
    for name, title in (("blocks_burgers", "Burgers 1-D, blocks at one budget"), ("blocks_darcy", "Darcy 2-D, blocks at one budget")):
        if (root / f"{name}.json").exists():
            print(blocks_table(json.loads((root / f"{name}.json").read_text()), title), "\n")
    for name, title in (("width_sweep", "neuraloperator FNO, Burgers, LR vs width"), ("modes_sweep", "neuraloperator FNO, Burgers, LR vs modes")):
        if (root / f"{name}.json").exists():
            print(sweep_table(json.loads((root / f"{name}.json").read_text()), title), "\n")
    print(coord_table(root))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
