"""Print the depth experiments (issue #15) as Markdown: coordinate checks and transfer regret.

Usage: python experiments/depth/summary.py [results/depth]

Nothing is trained. Coordinate checks: for each results/depth/coord_*/coord.json, the change of
the top of the residual stream (``blocks.last``), of the head's hidden layer and of the readout at
the last step, as the ratio depth 16 / depth 2 and the max/min over depths. Sweeps: each
results/depth/*/sweep.json is re-summarised from its own runs (muop.workflows.sweep.write_summary, bootstrap
B = 1000, seed 0) and printed with experiments/regret_summary.py's table (proxy: the smallest depth).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from regret_summary import resummarise, table  # noqa: E402

LAYERS = ("blocks.last", "projection_hidden", "output")


def coord_table(root: Path) -> str:
    """Markdown: one row per coordinate check, the growth of the watched layers over depth."""
    head = (
        "| run | parametrization | alpha | residual | "
        + " | ".join(f"{k}: L16/L2 (max/min)" for k in LAYERS)
        + " | all within 2× |"
    )
    rows = [head, "|" + "---|" * (5 + len(LAYERS))]
    for j in sorted(root.glob("coord_*/coord.json")):
        doc = json.loads(j.read_text())
        g, c = doc["growth"], doc["config"]
        cells = [f"{g[k]['last_over_first']:.2f} ({g[k]['max_over_min']:.2f})" for k in LAYERS]
        ok = all(g[k]["max_over_min"] <= 2.0 for k in LAYERS)
        alpha = c["alpha"] if doc["parametrization"] == "mup" else "—"
        variant = " + " + ", ".join(f"{k}={v}" for k, v in c.get("overrides") or []) if c.get("overrides") else ""
        rows.append(
            f"| {j.parent.name} | {doc['parametrization']}{variant} | {alpha} | {c['residual']} | "
            + " | ".join(cells)
            + f" | {'yes' if ok else 'no'} |"
        )
    return "\n".join(rows)


def main(root: Path) -> None:
    print(coord_table(root))
    print()
    named = [(d.name, resummarise(d, None)) for d in sorted(p.parent for p in root.glob("*/sweep.json"))]
    print(table(named))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "results/depth"))
