"""Print the budget-axis sweeps (issue #22) as Markdown: per budget, SP beside μP, the best LR, the regret
of the smallest budget's best LR there, the drift model's regret, and what one run cost.

Usage: python experiments/budget_summary.py results/sweeps/budget/burgers_*
Nothing is trained or rewritten: it reads each sweep.json (regret: B = 1000 bootstrap replicates over
seeds, generator seed 0, as ``muop sweep`` wrote it). ``*`` marks a best LR at the edge of the LR grid.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _pct(e: dict | None) -> str:
    if e is None:
        return "proxy"
    return f"{100 * e['regret']:.1f} [{100 * e['ci'][0]:.1f}, {100 * e['ci'][1]:.1f}]"


def table(sweep_dir: Path) -> str:
    """One sweep's Markdown table."""
    doc = json.loads((sweep_dir / "sweep.json").read_text())
    pars, sizes = doc["spec"]["parametrizations"], doc["spec"]["sizes"]
    axis = doc["axis"]
    head = [axis]
    head += [f"{p} best LR" for p in pars] + [f"{p} regret % [95% CI]" for p in pars]
    head += [f"{p} drift model regret % [95% CI] (rule)" for p in pars] + ["s / run (wall, shared machine)"]
    lines = [f"### {sweep_dir.name}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in sizes:
        k = str(s)
        cells = [k]
        for p in pars:
            edge = "*" if doc["best_lr_at_grid_edge"][p][k] else ""
            cells.append(f"{doc['best_lr'][p][k]:.3g}{edge}")
        cells += [_pct(doc["regret"][p].get(k)) for p in pars]
        for p in pars:
            e = doc["extrapolated"].get(p, {}).get(k)
            cells.append("" if e is None else f"{_pct(e)} ({e['rule']})")
        runs = [r for r in doc["runs"] if int(r["size"]) == s]
        cells.append(f"{sum(r['seconds'] for r in runs) / len(runs):.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    for d in argv:
        print(table(Path(d)))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
