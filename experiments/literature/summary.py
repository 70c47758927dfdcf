"""Collect the literature reproductions (results/literature/<problem>/<library>_seed<k>/result.json) into
results/literature/summary.json and summary.md: test error per run, mean over seeds, and the ratio to the
FNO paper's published error (muop.data.fno_paper.PUBLISHED; sources in docs/literature.md).

Usage: python experiments/literature/summary.py [results/literature]
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from muop.data.fno_paper import PUBLISHED


def collect(root: Path) -> list[dict]:
    """One row per (problem, library): errors and wall seconds over seeds."""
    rows = []
    for prob_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name in PUBLISHED):
        runs: dict[str, list[dict]] = {}
        for run in sorted(prob_dir.glob("*_seed*/result.json")):
            runs.setdefault(run.parent.name.split("_seed")[0], []).append(json.loads(run.read_text()))
        for lib, res in sorted(runs.items()):
            errs = [r["test_rel_l2"] for r in res]
            mean = statistics.fmean(errs)
            rows.append(
                {
                    "problem": prob_dir.name,
                    "library": lib,
                    "seeds": len(errs),
                    "test_rel_l2": errs,
                    "mean": mean,
                    "std": statistics.stdev(errs) if len(errs) > 1 else 0.0,
                    "epochs": res[0]["epochs_run"],
                    "seconds": [round(r["seconds"], 1) for r in res],
                    "n_params": res[0]["n_params"],
                    "published": PUBLISHED[prob_dir.name],
                    "ratio_to_published": mean / PUBLISHED[prob_dir.name],
                }
            )
    return rows


def table(rows: list[dict]) -> str:
    """The rows as a markdown table."""
    out = [
        "| problem | model | seeds | epochs | test rel. L2 (mean ± sd) | published | ratio | wall s per run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['problem']} | {r['library']} FNO | {r['seeds']} | {r['epochs']} | {r['mean']:.4f} ± {r['std']:.4f} "
            f"| {r['published']} | {r['ratio_to_published']:.2f}× | {', '.join(map(str, r['seconds']))} |"
        )
    return "\n".join(out) + "\n"


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "results/literature")
    rows = collect(root)
    (root / "summary.json").write_text(json.dumps(rows, indent=1) + "\n")
    (root / "summary.md").write_text(table(rows))
    print(table(rows))


if __name__ == "__main__":
    main()
