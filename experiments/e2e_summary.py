"""Print the tune-small/train-big comparisons in ``results/e2e/*/transfer.json`` as a Markdown table.

Usage: python experiments/e2e_summary.py results/e2e/*
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def row(d: Path) -> str:
    doc = json.loads((d / "transfer.json").read_text())
    p, t, x = doc["proxy"], doc["target"], doc.get("direct")
    grid = lambda side: "×".join(map(str, side["grid"])) if side.get("grid") else f"stride {side['data_stride']}"  # noqa: E731
    cells = [
        d.name,
        f"K={p['modes']}, w={p['width']}, {grid(p)}",
        f"K={t['modes']}, w={t['width']}, {grid(t)}",
        str(p["n_trials"]),
        f"{t['test_rel_l2']:.4f}",
        f"{x['best_test_rel_l2']:.4f}" if x else "—",
        f"{100 * (doc['error_ratio_transfer_over_direct'] - 1):+.1f}%" if x else "—",
        f"{doc['cost_ratio_seconds']:.2f}" if x else "—",
        f"{doc['cost_ratio_flops']:.2f}" if x else "—",
        f"{p['seconds']:.0f} + {t['seconds']:.0f} / {x['seconds']:.0f}" if x else "—",
    ]
    return "| " + " | ".join(cells) + " |"


def main(dirs: list[str]) -> None:
    print(
        "| run | proxy | target | trials | transferred test rel. L2 | direct test rel. L2 | transferred vs direct | "
        "cost ratio (s) | cost ratio (FLOPs) | seconds: proxy tuning + target / direct |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for d in dirs:
        if (Path(d) / "transfer.json").exists():
            print(row(Path(d)))


if __name__ == "__main__":
    main(sys.argv[1:])
