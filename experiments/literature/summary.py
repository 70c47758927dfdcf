"""Collect the literature reproductions (results/literature/<problem>[/<label>]/<library>_seed<k>/result.json)
into results/literature/summary.json and summary.md: test error per run, mean over seeds, and the ratio to
the FNO paper's published error (muop.data.fno_paper.PUBLISHED; sources in docs/literature.md). A label
directory holds a second budget of the same problem (``LABEL=... bash experiments/literature/run.sh``); the
train/test sample counts come from each run's config.yaml.

Usage: python experiments/literature/summary.py [results/literature]
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import yaml

from muop.data.fno_paper import PUBLISHED


def collect(root: Path) -> list[dict]:
    """One row per (problem, label, library): errors and wall seconds over seeds."""
    rows = []
    for prob_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name in PUBLISHED):
        runs: dict[tuple[str, str], list[dict]] = {}
        for run in sorted(prob_dir.glob("**/*_seed*/result.json")):
            label = run.parent.parent.relative_to(prob_dir).as_posix().replace(".", "")
            data = yaml.safe_load((run.parent / "config.yaml").read_text())["data"]
            res = json.loads(run.read_text()) | {"n_train": data["n_train"], "n_test": data["n_test"]}
            runs.setdefault((label, run.parent.name.split("_seed")[0]), []).append(res)
        for (label, lib), res in sorted(runs.items()):
            errs = [r["test_rel_l2"] for r in res]
            mean = statistics.fmean(errs)
            rows.append(
                {
                    "problem": prob_dir.name,
                    "label": label,
                    "library": lib,
                    "n_train": res[0]["n_train"],
                    "n_test": res[0]["n_test"],
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
        "| problem | model | train / test | seeds | epochs | test rel. L2 (mean ± sd) | published | ratio "
        "| wall s per run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        name = f"{r['problem']} ({r['label']})" if r["label"] else r["problem"]
        out.append(
            f"| {name} | {r['library']} FNO | {r['n_train']} / {r['n_test']} | {r['seeds']} | {r['epochs']} "
            f"| {r['mean']:.4f} ± {r['std']:.4f} "
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
