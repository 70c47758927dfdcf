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
    head = (
        f"**{title}** (test rel. L2, mean over seeds; best LR in bold)\n\n| variant | params | "
        + " | ".join(f"lr {lr:g}" for lr in lrs)
        + " | best (per seed) | s/run |\n|---|---|"
        + "---|" * (len(lrs) + 2)
    )
    lines = [head]
    for s in doc["summary"]:
        n = next(r["n_params"] for r in doc["rows"] if r["variant"] == s["variant"])
        cells = [
            (
                f"**{fmt(s['per_lr_mean'][str(lr)] if str(lr) in s['per_lr_mean'] else s['per_lr_mean'][lr])}**"
                if lr == s["best_lr"]
                else fmt(s["per_lr_mean"].get(str(lr), s["per_lr_mean"].get(lr, math.nan)))
            )
            for lr in lrs
        ]
        seeds = ", ".join(f"{v:.4f}" for v in s["best_seeds"])
        lines.append(
            f"| {s['variant']} | {n} | "
            + " | ".join(cells)
            + f" | {fmt(s['best_mean'])} ({seeds}) | {s['seconds_mean']:.0f} |"
        )
    return "\n".join(lines)


def sweep_table(doc: dict, title: str) -> str:
    pars = list(dict.fromkeys(s["parametrization"] for s in doc["summary"]))
    sizes = list(dict.fromkeys(s["size"] for s in doc["summary"]))
    best = {(s["parametrization"], s["size"]): s for s in doc["summary"]}
    lrs = sorted({r["lr"] for r in doc["rows"]})
    head = (
        f"**{title}** (best LR of the grid {', '.join(f'{lr:g}' for lr in lrs)}, `*` = at the grid's edge; "
        "'at proxy LR': the mean error at the smallest size's best LR, i.e. what transferring that LR gives)\n\n| "
        "size | "
        + " | ".join(f"{p} best LR | {p} best test rel. L2 (sd) | {p} at proxy LR" for p in pars)
        + " |\n|---|"
        + "---|---|---|" * len(pars)
    )
    lines = [head]
    for size in sizes:
        cells = []
        for p in pars:
            s, proxy_lr = best[(p, size)], best[(p, sizes[0])]["best_lr"]
            edge = "*" if s["best_lr"] in (lrs[0], lrs[-1]) else ""
            sd = statistics.stdev(s["best_seeds"]) if len(s["best_seeds"]) > 1 else 0.0
            at_proxy = s["per_lr_mean"].get(str(proxy_lr), s["per_lr_mean"].get(proxy_lr))
            cells.append(f"{s['best_lr']:g}{edge} | {fmt(s['best_mean'])} ({sd:.4f}) | {fmt(at_proxy)}")
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    drift = []
    for p in pars:
        b = [best[(p, size)]["best_lr"] for size in sizes]
        drift.append(f"{p}: best LR {b[0]:g} → {b[-1]:g} (max/min {max(b) / min(b):g}×)")
    return "\n".join(lines) + "\n\nDrift over sizes: " + "; ".join(drift)


def regret_lines(doc: dict, title: str) -> str:
    """Transfer regret from the smallest size (muop.workflows.regret: seed-averaged curves, parabola in log-LR
    for the proxy's best LR, log-log interpolation at the target, 95% bootstrap interval over seeds)."""
    from muop.workflows.regret import regret_table

    table = regret_table(doc["rows"], n_boot=1000, seed=0)
    pars = list(table["regret"])
    sizes = list(dict.fromkeys(size for p in pars for size in table["regret"][p]))
    lines = [
        f"**{title}: transfer regret from size {table['proxy'][pars[0]]}** (target error at the proxy's best LR over "
        "the target's best, minus 1; 95% bootstrap CI over seeds)\n",
        "| size | " + " | ".join(f"{p} regret [95% CI]" for p in pars) + " |",
        "|---|" + "---|" * len(pars),
    ]
    for size in sizes:
        cells = []
        for p in pars:
            r = table["regret"][p][size]
            flag = " (flat)" if r["flat"] else ""
            cells.append(f"{100 * r['regret']:.1f}% [{100 * r['ci'][0]:.1f}, {100 * r['ci'][1]:.1f}]{flag}")
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


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
            f"| {p.parent.name} | {name} | {doc['axis']} {doc['sizes'][0]}–{doc['sizes'][-1]} | "
            f"{doc['config']['lr']:g} | "
            f"{g['output']['last_over_first']:.2f} | {worst} {g[worst]['max_over_min']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "results/neuralop")
    for name, title in (
        ("blocks_burgers", "Burgers 1-D, blocks at one budget"),
        (
            "blocks_burgers_classic_equal_time",
            "Burgers 1-D, classic block at the neuralop block's compute (33 epochs, not 20)",
        ),
        ("blocks_darcy", "Darcy 2-D, blocks at one budget"),
        (
            "blocks_darcy_classic_equal_time",
            "Darcy 2-D, classic block at the neuralop block's compute (23 epochs, not 15)",
        ),
    ):
        if (root / f"{name}.json").exists():
            print(blocks_table(json.loads((root / f"{name}.json").read_text()), title), "\n")
    for name, title in (
        ("width_sweep", "neuraloperator FNO, Burgers, LR vs width"),
        ("modes_sweep", "neuraloperator FNO, Burgers, LR vs modes"),
    ):
        if (root / f"{name}.json").exists():
            doc = json.loads((root / f"{name}.json").read_text())
            print(sweep_table(doc, title), "\n")
            print(regret_lines(doc, title), "\n")
    print(coord_table(root))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
