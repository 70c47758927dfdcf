"""Print each sweep's table (Markdown): per size, the regret of the proxy's best value first, then
the best value and best test error of each parametrization, and the drift.

Usage: python experiments/sweep_summary.py results/sweeps/burgers_modes [more sweep dirs]
(sweep.json with its regret section: written by `muop sweep`, or rewritten from its runs by
experiments/regret_summary.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _regret(doc: dict, par: str, size: int) -> str:
    e = doc["regret"][par].get(str(size))
    if e is None:
        return "proxy"
    flat = " (flat)" if e["flat"] else ""
    return f"{100 * e['regret']:.1f} [{100 * e['ci'][0]:.1f}, {100 * e['ci'][1]:.1f}]{flat}"


def summarise(sweep_dir: Path) -> str:
    doc = json.loads((sweep_dir / "sweep.json").read_text())
    pars = list(doc["best_lr"])
    name = "LR" if doc.get("hparam", "lr") == "lr" else doc["hparam"]
    sizes = sorted({int(s) for p in pars for s in doc["best_lr"][p]})
    head = (
        f"**{sweep_dir.name}** ({doc['axis']}; regret in % of the target's best error, 95% bootstrap interval over "
        "seeds; "
        f"`*` = best {name} at the grid's edge)\n\n| {doc['axis']} | "
        + " | ".join(f"{p} regret %" for p in pars)
        + " | "
        + " | ".join(f"{p} best {name} | {p} best test rel. L2" for p in pars)
        + " |"
    )
    rows = [head, "|---|" + "---|" * len(pars) + "---|---|" * len(pars)]
    for s in sizes:
        cells = [_regret(doc, p, s) for p in pars]
        for p in pars:
            b = doc["best_lr"][p][str(s)]
            edge = "*" if doc["best_lr_at_grid_edge"][p][str(s)] else ""
            curve = [v for v in doc["mean_test_rel_l2"][p][str(s)].values() if v == v]
            cells += [f"{b:.3g}{edge}", f"{min(curve):.4f}" if curve else "—"]
        rows.append(f"| {s} | " + " | ".join(cells) + " |")
    rows.append(
        "| drift (flat curves left out) |"
        + " |" * len(pars)
        + " "
        + " | ".join(f"**{doc['drift_excluding_flat'][p]:.2f}×** | " for p in pars)
    )
    return "\n".join(rows)


if __name__ == "__main__":
    print("\n\n".join(summarise(Path(d)) for d in sys.argv[1:]))
