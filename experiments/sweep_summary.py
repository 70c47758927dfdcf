"""Print the best LR per size and the drift of each ``sweep.json`` given (Markdown).

Usage: python experiments/sweep_summary.py results/sweeps/burgers_modes [more sweep dirs]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def summarise(sweep_dir: Path) -> str:
    doc = json.loads((sweep_dir / "sweep.json").read_text())
    pars = list(doc["best_lr"])
    sizes = sorted({int(s) for p in pars for s in doc["best_lr"][p]})
    head = f"**{sweep_dir.name}** ({doc['axis']}; `*` = minimum at the LR grid's edge)\n\n| {doc['axis']} | " + " | ".join(f"{p} best LR | {p} best test rel. L2" for p in pars) + " |"
    rows = [head, "|---|" + "---|---|" * len(pars)]
    for s in sizes:
        cells = []
        for p in pars:
            b = doc["best_lr"][p][str(s)]
            edge = "*" if doc["best_lr_at_grid_edge"][p][str(s)] else ""
            curve = [v for v in doc["mean_test_rel_l2"][p][str(s)].values() if v == v]
            cells += [f"{b:.2e}{edge}", f"{min(curve):.4f}" if curve else "—"]
        rows.append(f"| {s} | " + " | ".join(cells) + " |")
    rows.append("| drift | " + " | ".join(f"**{doc['drift'][p]:.2f}×** | " for p in pars) + "")
    return "\n".join(rows)


if __name__ == "__main__":
    print("\n\n".join(summarise(Path(d)) for d in sys.argv[1:]))
