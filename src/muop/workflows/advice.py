"""Advice before a single-proxy transfer: what the committed sweeps measured at that size ratio, and a proxy ladder.

A transfer from one proxy much smaller than the target trusts the proxy's best LR across a size
ratio where the committed sweeps measured a real cost. :func:`single_proxy_advice` returns one line
that says so (the single-proxy regret the committed evidence sweep measured at the nearest ratio at
or below this one, and what the drift model made of a proxy ladder there) and suggests the ladder
(``--proxies``); :func:`muop.workflows.transfer.transfer` emits it before training.

**Thresholds** (target size / proxy size on one axis, per parametrization), read off the committed
LR sweeps (``python experiments/drift_summary.py``; the evidence below is checked against them by
``tests/test_workflows_drift.py``):

* μP, width: **8×**. At 8× μP's regret on Burgers is 4.7 % [2.6, 6.7] (the first ratio whose whole
  interval lies above 2 %), and 10.1 % [6.5, 15.0] at 16×; neuraloperator's FNO: 6.8 % at 8×. Below
  8× muop's FNO stays at ≤ 4.4 % with intervals reaching down to 0–1 %.
* μP, depth: **8×**. At 8× (depth 2 → 16) the regret is 4.9 % [0.2, 8.0] (Burgers, α = 0.5) and up to
  6.2 % (α = 1), and on Burgers it grows with the ratio (1.4, 3.2, 4.9 % at 2×, 4×, 8×); a 7.6 % at
  2× on Darcy falls to 2.1 % and 0.9 % at 4× and 8× (noise, not drift).
* μP and SP, modes: **64×**, i.e. only beyond the committed evidence. Up to 32× (K 4 → 128) the
  single-proxy regret is ≤ 1.9 % and does not grow with the ratio, and the drift model did not beat
  the single proxy over modes; nothing to warn about inside the measured range.
* SP, width: **2×** (5.4 % at 2×, 27.6 % at 4×, 271 % at 8×); SP, depth: **4×** (4.1 % at 2×, 19.0 % at 4×).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["EVIDENCE", "THRESHOLDS", "ladder", "single_proxy_advice"]

#: (parametrization, axis) -> the smallest target/proxy size ratio that gets the advice (module docstring).
THRESHOLDS = {
    ("mup", "width"): 8,
    ("mup", "depth"): 8,
    ("mup", "modes"): 64,
    ("sp", "width"): 2,
    ("sp", "depth"): 4,
    ("sp", "modes"): 64,
}

#: axis -> the committed evidence sweep: its name, proxy size, the single-proxy regret (%, [95 % CI])
#: per parametrization and size ratio, and the drift model's regret (%) at its largest size from the
#: ladder of sizes up to a quarter of it (``ladder``), as ``python experiments/drift_summary.py`` recomputes them.
EVIDENCE = {
    "width": {
        "sweep": "results/sweeps/burgers_width",
        "proxy": 16,
        "single": {
            "mup": {2: (0.0, 0.0, 1.8), 4: (4.4, 0.8, 8.8), 8: (4.7, 2.6, 6.7), 16: (10.1, 6.5, 15.0)},
            "sp": {2: (5.4, 4.5, 6.7), 4: (27.6, 24.4, 32.6), 8: (271.4, 247.8, 294.1), 16: (279.6, 259.1, 304.5)},
        },
        "ladder": (16, 32, 64),
        "drift": {"mup": (2.7, 0.0, 11.0), "sp": (0.5, 0.0, 2.7)},
    },
    "depth": {
        "sweep": "results/depth/burgers_sp_mup_a0.5",
        "proxy": 2,
        "single": {
            "mup": {2: (1.4, 0.0, 2.8), 4: (3.2, 0.0, 9.2), 8: (4.9, 0.2, 8.0)},
            "sp": {2: (4.1, 1.4, 8.8), 4: (19.0, 8.9, 31.3), 8: (13.9, 6.8, 25.9)},
        },
        "ladder": (2, 4),
        "drift": {"mup": (4.1, 1.1, 6.7), "sp": (10.4, 0.0, 25.9)},
    },
    "modes": {
        "sweep": "results/sweeps/burgers_rough_modes",
        "proxy": 4,
        "single": {
            "mup": {4: (1.7, 1.1, 2.4), 16: (1.6, 1.1, 2.3), 32: (1.9, 1.4, 2.4)},
            "sp": {4: (1.3, 0.4, 2.0), 16: (0.0, 0.0, 0.6), 32: (0.2, 0.0, 0.7)},
        },
        "ladder": (4, 16),
        "drift": {"mup": (4.2, 1.7, 8.3), "sp": (2.9, 0.0, 7.3)},
    },
}


def ladder(proxy: int, target: int, smallest: int = 1) -> list[int]:
    """A proxy ladder for ``target``: ``proxy`` doubled while it stays at or below a quarter of the
    target (the cheap end: every rung costs ≤ 1/4 of a target run per width step, far less in FLOPs);
    when that leaves one rung, half the proxy (if ≥ ``smallest``) and the proxy."""
    out = [proxy]
    while out[-1] * 2 <= target // 4:
        out.append(out[-1] * 2)
    if len(out) < 2 and proxy // 2 >= smallest:
        out = [proxy // 2, proxy]
    return out


def _pct(v: tuple[float, float, float]) -> str:
    return f"{v[0]:.1f}% [{v[1]:.1f}, {v[2]:.1f}]"


def single_proxy_advice(
    parametrization: str,
    proxy_modes: Sequence[int],
    proxy_width: int,
    proxy_depth: int,
    target_modes: Sequence[int] | None = None,
    target_width: int | None = None,
    target_depth: int | None = None,
) -> str | None:
    """One line of advice when a single-proxy transfer spans a size ratio at or above its threshold
    (:data:`THRESHOLDS`), or None. Sizes are the models' (width in channels, modes per dimension,
    depth in blocks); the first axis over its threshold (width, depth, modes) is the one named."""
    pairs = {
        "width": (proxy_width, target_width),
        "depth": (proxy_depth, target_depth),
        "modes": (max(proxy_modes), max(target_modes) if target_modes else None),
    }
    for axis, (p, t) in pairs.items():
        limit = THRESHOLDS.get((parametrization, axis))
        if t is None or limit is None or t < limit * p:
            continue
        ev = EVIDENCE[axis]
        measured = ev["single"][parametrization]
        near = max((r for r in measured if r <= t / p), default=min(measured))
        rungs = ladder(p, t, 2 if axis == "modes" else 1)
        beyond = " (the largest ratio measured)" if t / p > max(measured) else ""
        name = "μP" if parametrization == "mup" else "SP"
        alt = "μP (parametrization.kind: mup) or " if name == "SP" else ""
        return (
            f"one proxy at {axis} {p} for a target at {axis} {t} ({t / p:g}×): the committed sweep {ev['sweep']} "
            f"measured {name}'s single-proxy regret at {near}×{beyond} as {_pct(measured[near])}, and the drift "
            f"model fitted from {','.join(map(str, ev['ladder']))} gave {_pct(ev['drift'][parametrization])} at its "
            f"largest size; consider {alt}a proxy ladder, --proxies {','.join(map(str, rungs))} "
            "(README: μP vs a fitted scaling law)"
        )
    return None
