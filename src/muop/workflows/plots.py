"""The figures: a sweep's test error vs LR (``sweep.png``) and a coordinate check (``coord.png``).

Figures are drawn on :class:`matplotlib.figure.Figure` objects and saved to files; pyplot and its
global backend are never touched, so calling these from a notebook changes nothing there.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_sweep", "plot_coord"]

_Y_CAP = 10.0  # test relative L2 above which a sweep plot stops (predicting zero scores 1)
_MARKS = {"X": "at the proxy's best", "D": "at the drift model's prediction"}  # marker -> legend entry


def _colors(n: int):
    import matplotlib  # imported on first use: every command start would pay ~0.4 s for it

    return matplotlib.colormaps["viridis"].resampled(max(n, 2))


def _sweep_label(doc: dict, par: str, size: int) -> str:
    """A size's legend entry: its regret (and the drift model's), or that it is the proxy, and whether its curve
    is flat."""
    entry = doc.get("regret", {}).get(par, {}).get(str(size))
    label = f"{doc['axis']} {size}"
    if entry is None and str(size) == str(doc.get("regret_proxy", {}).get(par)):
        label += " (proxy)"
    elif entry is not None and math.isfinite(entry["regret"]):
        label += f": regret {100 * entry['regret']:.1f}%"
    ex = doc.get("extrapolated", {}).get(par, {}).get(str(size))
    if ex is not None and math.isfinite(ex["regret"]):
        label += f", drift model {100 * ex['regret']:.1f}%"
    if doc.get("flat", {}).get(par, {}).get(str(size)):
        label += " (flat)"
    return label


def _mark(ax: Axes, x: float, y: float, marker: str, color, marked: set[str]) -> bool:
    """A black-edged marker at (x, y) on a target's curve, labelled the first time; False if not finite."""
    if not (math.isfinite(x) and math.isfinite(y)):
        return False
    label = None if marker in marked else _MARKS[marker]
    ax.plot([x], [y], marker=marker, ms=9 if marker == "X" else 7, color=color, mec="black", ls="none", label=label)
    return True


def _sweep_panel(ax: Axes, doc: dict, par: str, sizes: list[int]) -> None:
    """One parametrization's curves, best-LR lines, crosses at the proxy's best LR and diamonds at the
    drift model's prediction."""
    cmap, regret, hparam = _colors(len(sizes)), doc.get("regret", {}), doc.get("hparam", "lr")
    marked: set[str] = set()
    for si, size in enumerate(sizes):
        curve = doc["mean_test_rel_l2"][par].get(str(size))
        if not curve:
            continue
        ax.plot(
            [float(k) for k in curve],
            list(curve.values()),
            marker="o",
            ms=3,
            color=cmap(si),
            label=_sweep_label(doc, par, size),
        )
        b = doc["best_lr"][par][str(size)]
        if math.isfinite(b):
            ax.axvline(b, color=cmap(si), ls=":", lw=1)
        entry = regret.get(par, {}).get(str(size))
        if entry is not None and _mark(ax, entry["proxy_lr"], entry["target_err_at_proxy_lr"], "X", cmap(si), marked):
            marked.add("X")
        ex = doc.get("extrapolated", {}).get(par, {}).get(str(size))
        if ex is not None and _mark(ax, ex["predicted"], ex["target_err_at_predicted"], "D", cmap(si), marked):
            marked.add("D")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate" if hparam == "lr" else hparam)
    worst = [e["regret"] for e in regret.get(par, {}).values() if math.isfinite(e["regret"])]
    drift = doc.get("drift_excluding_flat", doc["drift"]).get(par, float("nan"))  # flat curves left out when known
    what = "LR" if hparam == "lr" else "value"
    ax.set_title(f"{par}: best-{what} drift {drift:.2f}×" + (f", max regret {100 * max(worst):.1f}%" if worst else ""))
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] in _MARKS.values())  # the markers last
    ax.legend([handles[i] for i in order], [labels[i] for i in order], fontsize=7)


def plot_sweep(doc: dict, path: str | Path) -> None:
    """Test error vs LR, one curve per size, one panel per parametrization.

    Dotted lines mark each size's best LR; with ``doc["regret"]`` (:func:`muop.workflows.sweep.sweep_summary`)
    a black-edged cross marks, on every target's curve, its error at the proxy's best LR, and the
    legend gives each target's regret; with ``doc["extrapolated"]`` a black-edged diamond marks its
    error at the LR the drift model predicts from the smaller sizes (:mod:`muop.workflows.drift_regret`).
    Errors above 10 (runs that blew up) are cut off the top.
    """
    pars = list(doc["mean_test_rel_l2"])
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5 * len(pars), 4))
    axes = fig.subplots(1, len(pars), sharey=True, squeeze=False)[0]
    sizes = sorted({int(s) for p in pars for s in doc["mean_test_rel_l2"][p]})
    for ax, par in zip(axes, pars):
        _sweep_panel(ax, doc, par, sizes)
    axes[0].set_ylabel("test relative L2")
    values = [
        v
        for p in pars
        for c in doc["mean_test_rel_l2"][p].values()
        for v in c.values()
        if v is not None and math.isfinite(v)
    ]
    if values and max(values) > _Y_CAP:  # a blown-up run (error 1e7) would squash every curve into the bottom row
        axes[0].set_ylim(top=_Y_CAP)
        for ax in axes:
            ax.text(
                0.98,
                0.02,
                f"errors > {_Y_CAP:g} off the top",
                transform=ax.transAxes,
                fontsize=7,
                ha="right",
                va="bottom",
            )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _coord_panel(ax: Axes, doc: dict, key: str, step: int, layers: list[str]) -> None:
    """One (quantity, step) panel of the coordinate check: each layer's value vs size."""
    cmap = _colors(len(layers))
    for li, layer in enumerate(layers):
        pts = sorted((r["size"], r[key]) for r in doc["records"] if r["step"] == step and r["layer"] == layer)
        xs, ys = zip(*pts)
        ax.plot(xs, ys, marker="o", ms=3, color=cmap(li), label=layer)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")


def plot_coord(doc: dict, path: str | Path) -> None:
    """One column per step; top row ``out_rms``, bottom row ``delta_rms``; size on a log x-axis."""
    steps = sorted({r["step"] for r in doc["records"]})
    layers = list(dict.fromkeys(r["layer"] for r in doc["records"]))
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.6 * len(steps), 5.2))
    axes = fig.subplots(2, len(steps), sharex=True, squeeze=False)
    for j, t in enumerate(steps):
        for i, key in enumerate(("out_rms", "delta_rms")):
            ax = axes[i][j]
            if i == 1:
                ax.set_xlabel(doc["axis"])
            if key == "delta_rms" and t == 0:
                ax.text(0.5, 0.5, "no change at init", ha="center", va="center", transform=ax.transAxes, fontsize=8)
                ax.set_yticks([])
                continue
            _coord_panel(ax, doc, key, t, layers)
            ax.set_title(f"step {t}" if i == 0 else "", fontsize=9)
            if j == 0:
                ax.set_ylabel(key)
    axes[0][-1].legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle(f"coordinate check: {doc['parametrization']} over {doc['axis']}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
