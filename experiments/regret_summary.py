"""Transfer regret of each sweep (see muop.regret): writes ``regret.json`` next to each sweep's
``runs.jsonl`` and prints a Markdown table.

Usage: python experiments/regret_summary.py [--proxy SIZE] [--n-boot B] [--seed S] [SWEEP_DIR ...]
(default: every results/sweeps/*/ with a runs.jsonl). The records of a runs.jsonl are used as they
are (all of one sweep); the axis comes from the sibling sweep.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from muop.regret import drift_excluding_flat, regret_table

ROOT = Path(__file__).resolve().parents[1]


def read_runs(sweep_dir: Path) -> list[dict]:
    """The records of ``sweep_dir/runs.jsonl`` (lines cut by a kill are skipped)."""
    out = []
    for line in (sweep_dir / "runs.jsonl").read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def sweep_regret(sweep_dir: Path, proxy: int | None, n_boot: int, seed: int) -> dict:
    """The regret document of one sweep directory (also written to ``regret.json`` there)."""
    meta = sweep_dir / "sweep.json"
    axis = json.loads(meta.read_text()).get("axis") if meta.exists() else None
    doc = {"sweep": sweep_dir.name, "axis": axis, **regret_table(read_runs(sweep_dir), proxy=proxy, n_boot=n_boot, seed=seed)}
    doc["drift_all_sizes"] = drift_excluding_flat(doc["best_lr"], {})
    (sweep_dir / "regret.json").write_text(json.dumps(doc, indent=1) + "\n")
    return doc


def _pct(v: float) -> str:
    return f"{100 * v:.1f}" if math.isfinite(v) else "—"


def table(docs: list[dict]) -> str:
    """Markdown: one row per (sweep, parametrization, target size)."""
    rows = ["| sweep | axis | parametrization | size (proxy → target) | regret % | 95% CI % | flat | at grid resolution % | proxy's own floor % | notes |", "|---|---|---|---|---|---|---|---|---|---|"]
    for doc in docs:
        for par, by_size in doc["regret"].items():
            for size, e in by_size.items():
                notes = [n for n, on in (("proxy curve flat", e["proxy_flat"]), ("proxy best LR at grid edge", e["proxy_at_edge"]), ("target error extrapolated", e["target_extrapolated"]), ("single seed", e["single_seed"])) if on]
                ci = f"[{_pct(e['ci'][0])}, {_pct(e['ci'][1])}]"
                rows.append(f"| {doc['sweep']} | {doc['axis']} | {par} | {e['proxy_size']} → {size} | {_pct(e['regret'])} | {ci} | {'yes' if e['flat'] else 'no'} | {_pct(e['regret_grid'])} | {_pct(e['proxy_self_regret'])} | {'; '.join(notes)} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="*", type=Path, help="sweep directories (default: results/sweeps/*)")
    ap.add_argument("--proxy", type=int, default=None, help="proxy size (default: the smallest size)")
    ap.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates")
    ap.add_argument("--seed", type=int, default=0, help="bootstrap generator seed")
    args = ap.parse_args(argv)
    dirs = args.dirs or sorted(p.parent for p in (ROOT / "results" / "sweeps").glob("*/runs.jsonl"))
    docs = []
    for d in dirs:
        try:
            docs.append(sweep_regret(d, args.proxy, args.n_boot, args.seed))
        except ValueError as e:
            print(f"regret_summary.py: error: {d.name}: {e}", file=sys.stderr)
            raise SystemExit(2) from None
    print(table(docs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
