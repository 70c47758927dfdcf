"""Summarise results/coord/*/coord.json as a Markdown table (and re-draw each coord.png).

Usage: python experiments/coord_summary.py [results/coord]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from muop.workflows.plots import plot_coord


def summarise(root: Path) -> str:
    rows = [
        "| run | parametrization | sizes | hidden layers: largest/smallest | worst layer max/min |",
        "|---|---|---|---|---|",
    ]
    for j in sorted(root.glob("*/coord.json")):
        doc = json.loads(j.read_text())
        plot_coord(doc, j.with_suffix(".png"))
        g = doc["growth"]
        hidden = [v["last_over_first"] for k, v in g.items() if k.startswith("layers.")]
        worst = max(g.items(), key=lambda kv: kv[1]["max_over_min"])
        c = doc["config"]
        rows.append(
            f"| {j.parent.name} | {doc['parametrization']} | {doc['axis']} {doc['sizes'][0]}→{doc['sizes'][-1]}, "
            f"d={c['dim']}, grid {c['grid']}, input decay {c['input_decay']} "
            f"| {min(hidden):.2f} – {max(hidden):.2f} | {worst[1]['max_over_min']:.2f} ({worst[0]}) |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1] if len(sys.argv) > 1 else "results/coord")))
