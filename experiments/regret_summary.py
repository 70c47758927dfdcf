"""Recompute the summary of committed sweeps from the runs they hold and print it as Markdown.

Usage: python experiments/regret_summary.py [--proxy SIZE] [--by-hparam] [SWEEP_DIR ...]
(default: every results/sweeps/*/ with a sweep.json). Nothing is trained: each sweep.json is
rewritten from its own runs by muop.workflows.sweep.write_summary (curves, best LR per size, transfer
regret with its bootstrap interval; B = 1000, generator seed 0; the drift model's regret from all
smaller sizes, ``extrapolated``) with its spec and base config kept, and sweep.png is redrawn.
``--proxy`` measures regret from that size (and records it in the spec);
``--print-only`` writes nothing (e.g. to read a committed sweep from another proxy).
The table leads with regret, one row per (sweep, parametrization, target size); ``--by-hparam``
prints instead one row per swept hyperparameter and axis, SP next to μP, at the largest target.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from muop.errors import InputError
from muop.workflows.sweep import Sweep, sweep_summary, write_summary

ROOT = Path(__file__).resolve().parents[1]


def resummarise(sweep_dir: Path, proxy: int | None, write: bool = True) -> dict:
    """Rewrite ``sweep_dir/sweep.json`` and ``sweep.png`` from the runs in that sweep.json (only
    recompute with ``write=False``); returns the summary."""
    doc = json.loads((sweep_dir / "sweep.json").read_text())
    spec = {k: tuple(v) if isinstance(v, list) else v for k, v in doc["spec"].items()}
    if proxy is not None:
        spec["proxy"] = proxy
    sweep = Sweep(**spec)
    if not write:
        return sweep_summary(doc["runs"], sweep.axis, sweep.hparam, sweep.proxy)
    return write_summary(sweep_dir, doc["runs"], sweep, doc["base_config"])


def _pct(v: float) -> str:
    return f"{100 * v:.1f}" if math.isfinite(v) else "—"


def _ci(e: dict) -> str:
    return f"[{_pct(e['ci'][0])}, {_pct(e['ci'][1])}]"


def _notes(e: dict) -> str:
    flags = (
        ("target curve flat", e["flat"]),
        ("proxy curve flat", e["proxy_flat"]),
        ("proxy best at grid edge", e["proxy_at_edge"]),
        ("target error extrapolated", e["target_extrapolated"]),
        ("single seed", e["single_seed"]),
    )
    return "; ".join(n for n, on in flags if on)


def _extrapolated(doc: dict, par: str, size: str) -> str:
    """The drift model's regret at ``size`` (from all smaller sizes) and its rule, or blank without an entry."""
    e = doc.get("extrapolated", {}).get(par, {}).get(size)
    return " | |" if e is None else f"{_pct(e['regret'])} {_ci(e)} | {e['rule']} |"


def table(named: list[tuple[str, dict]]) -> str:
    """Markdown: one row per (sweep, parametrization, target size), regret first; then the drift
    model's regret from all smaller sizes (``extrapolated``) and its rule."""
    rows = [
        "| sweep | swept | axis | parametrization | proxy → target | regret % | 95% CI % | at grid resolution % | "
        "drift model: regret % [95% CI] | rule | best-value drift (excl. flat) | notes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, doc in named:
        for par, by_size in doc["regret"].items():
            for size, e in by_size.items():
                rows.append(
                    f"| {name} | {doc['hparam']} | {doc['axis']} | {par} | {e['proxy_size']} → {size} | "
                    f"**{_pct(e['regret'])}** | {_ci(e)} | {_pct(e['regret_grid'])} | {_extrapolated(doc, par, size)} "
                    f"{doc['drift_excluding_flat'][par]:.2f}× | {_notes(e)} |"
                )
    return "\n".join(rows)


def hparam_table(named: list[tuple[str, dict]]) -> str:
    """Markdown: one row per (hyperparameter, axis), SP and μP regret at the largest target side by side."""
    pars = ("sp", "mup")
    rows = [
        "| hyperparameter | axis | proxy → target | "
        + " | ".join(f"{p} regret % [95% CI]" for p in pars)
        + " | notes |",
        "|---|---|---|" + "---|" * len(pars) + "---|",
    ]
    for _, doc in sorted(named, key=lambda nd: (nd[1]["hparam"], nd[1]["axis"])):
        cells, notes, span = [], [], ""
        for p in pars:
            by_size = doc["regret"].get(p, {})
            if not by_size:
                cells.append("—")
                continue
            size = max(by_size, key=int)
            e = by_size[size]
            span = f"{e['proxy_size']} → {size}"
            cells.append(f"**{_pct(e['regret'])}** {_ci(e)}")
            if _notes(e):
                notes.append(f"{p}: {_notes(e)}")
        rows.append(f"| {doc['hparam']} | {doc['axis']} | {span} | " + " | ".join(cells) + f" | {'; '.join(notes)} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="*", type=Path, help="sweep directories (default: results/sweeps/*)")
    ap.add_argument("--proxy", type=int, default=None, help="proxy size (default: the smallest size)")
    ap.add_argument("--print-only", action="store_true", help="print the table, write nothing")
    ap.add_argument("--by-hparam", action="store_true", help="one row per swept hyperparameter and axis, SP next to μP")
    args = ap.parse_args(argv)
    dirs = args.dirs or sorted(p.parent for p in (ROOT / "results" / "sweeps").glob("*/sweep.json"))
    named = []
    for d in dirs:
        try:
            named.append((d.name, resummarise(d, args.proxy, write=not args.print_only)))
        except InputError as e:
            print(f"regret_summary.py: error: {d.name}: {e}", file=sys.stderr)
            raise SystemExit(2) from None
    print(hparam_table(named) if args.by_hparam else table(named))
    return 0


if __name__ == "__main__":
    sys.exit(main())
