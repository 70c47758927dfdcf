"""The proxy ladder of a drift-aware transfer: the best LR at several proxy sizes, and the drift model's LR.

``muop transfer --proxies S1,S2,...`` (``transfer(..., proxies=[...])``) fits the drift of the best
LR along the one axis the target changes (width, modes or depth) with :mod:`muop.workflows.drift`,
and trains the target once at the predicted LR. The proxies' best LRs come from either

* **tuning studies**, one per proxy size, named ``STUDY-SIZE`` (``--study burgers --proxies 16,32,64``
  reads ``burgers-16``, ``burgers-32`` and ``burgers-64`` from the same ``--storage``/``--run-dir``).
  Each is tuned at its size with the *smallest* proxy as its μP base, so that all LRs are relative
  to one base: ``muop tune --config cfg.yaml --study burgers-32 --set model.width=32 --set
  parametrization.base_width=16`` (``base_modes: [K]`` over modes, ``base_depth`` over depth). A
  study's stored config (when it has one) is checked against this. A proxy's best LR is its best
  trial's; the bootstrap resamples its trials (:func:`muop.workflows.drift.drift_from_trials`). The
  target's other hyperparameters are the largest proxy's best trial's.
* **a sweep** (``--from-sweep DIR``, an LR sweep over that axis made with the same config): a proxy's
  best LR is the parabola rule's on its seed-averaged curve, the bootstrap resamples its seeds
  (:func:`muop.workflows.drift.drift_from_curves`); the μP base is the sweep's first size; the
  other hyperparameters are the config's. Without ``--proxies`` every sweep size below the target is a proxy.

Costs: the proxies' costs add up (every proxy study's ``compute_seconds``, wall ``seconds`` and
``train_flops``; for a sweep, its proxy runs' ``seconds`` and ``train_flops``), and with
``compare_direct`` the direct search at the target gets as many trials as the largest proxy search
(for a sweep: its runs per size, LRs × seeds).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import optuna

from ..config import RunConfig, with_fields
from ..errors import UsageError
from ..study import journal_path, redact, resolve_storage, study_summary
from .curves import seed_curves
from .drift import DriftFit, check_proxies, drift_from_curves, drift_from_trials
from .regret import curve_matrix
from .sweep_spec import Sweep, sweep_idents

__all__ = [
    "Ladder",
    "at_size",
    "check_ladder",
    "ladder_from_studies",
    "ladder_from_sweep",
    "load_proxy_study",
    "proxy_study_name",
    "transfer_axis",
]


@dataclass(frozen=True)
class Ladder:
    """The proxies of a drift-aware transfer and what the drift model makes of them.

    ``axis``/``target``: the axis the target changes and its size there; ``base_cfg``: the config at
    the μP base (the target's base shape); ``params``: the target's hyperparameters (the predicted LR
    and the rest); ``summary``: the proxies' costs and best errors, keyed like a study summary
    (``compute_seconds``, ``seconds``, ``train_flops`` summed; ``n_trials`` of the largest search);
    ``source``: where the LRs came from.
    """

    axis: str
    target: int
    base_cfg: RunConfig
    fit: DriftFit
    params: dict
    summary: dict
    source: dict

    def document(self) -> dict:
        """The ``drift`` block of ``transfer.json``."""
        return {"axis": self.axis, "base_size": _size_of(self.base_cfg, self.axis), **self.source, **self.fit.as_dict()}


def transfer_axis(
    target_modes: Sequence[int] | None, target_width: int | None, target_depth: int | None
) -> tuple[str, int]:
    """The one axis a proxy ladder runs along and the target's size on it: exactly one target option
    given, and over modes one K for every dimension (one-line UsageError otherwise)."""
    given = {
        k: v
        for k, v in (("modes", target_modes), ("width", target_width), ("depth", target_depth))
        if v is not None and v != []
    }
    if len(given) != 1:
        raise UsageError(
            "--proxies fits the drift along one axis: give exactly one of --target-width, --target-modes, "
            f"--target-depth (got {', '.join(given) or 'none'})"
        )
    ((axis, v),) = given.items()
    if axis == "modes":
        if len(set(v)) != 1:
            raise UsageError(f"target modes {list(v)}: a proxy ladder over modes needs one K for every dimension")
        return axis, int(v[0])
    return axis, int(v)


def check_ladder(
    proxies: Sequence[int] | None,
    from_sweep: str | Path | None,
    target_modes: Sequence[int] | None,
    target_width: int | None,
    target_depth: int | None,
) -> tuple[str, int]:
    """The checks of a proxy ladder before any work (one-line UsageErrors): one target axis
    (:func:`transfer_axis`), and ``proxies`` (unless ``from_sweep`` picks them) at least two distinct
    sizes below the target's. Returns the axis and the target's size on it."""
    axis, size = transfer_axis(target_modes, target_width, target_depth)
    if proxies is not None or from_sweep is None:
        check_proxies(list(proxies or []), size, "--proxies")
    return axis, size


def at_size(cfg: RunConfig, axis: str, size: int) -> RunConfig:
    """``cfg`` with its model at ``size`` on ``axis`` (over modes: ``size`` in every dimension)."""
    if axis == "modes":
        return with_fields(cfg, model={"modes": [size] * len(cfg.model.modes)})
    return with_fields(cfg, model={axis: size})


def _size_of(cfg: RunConfig, axis: str) -> int:
    return int(max(cfg.model.modes)) if axis == "modes" else int(getattr(cfg.model, axis))


def proxy_study_name(study: str, size: int) -> str:
    """The study that holds the proxy at ``size``: ``STUDY-SIZE``."""
    return f"{study}-{size}"


def load_proxy_study(study_name: str, storage: str | None, run_dir: Path) -> optuna.Study:
    """Open an existing study for reading (a one-line UsageError naming it when it is not there)."""
    journal = journal_path(storage, run_dir)
    try:
        if journal is not None and not journal.exists():  # reading: create nothing
            raise KeyError(study_name)
        return optuna.load_study(study_name=study_name, storage=resolve_storage(storage, run_dir))
    except KeyError:
        where = redact(storage) if storage else str(run_dir / "optuna.journal")
        raise UsageError(
            f"study {study_name!r} not found in {where}; run `muop tune --study {study_name}` first (same "
            "--storage/--run-dir)"
        ) from None


def _check_study_config(study: optuna.Study, cfg: RunConfig, axis: str, size: int, base: int) -> None:
    """A UsageError if the study's stored config is not at ``size`` on ``axis`` with μP base ``base``."""
    stored = study.user_attrs.get("config")
    if not isinstance(stored, dict):
        return  # a study from before muop stored its config: nothing to check against
    model, pz = stored.get("model", {}), stored.get("parametrization", {})
    at = model.get(axis)
    at = max(at) if axis == "modes" and at else at
    if at != size:
        raise UsageError(f"study {study.study_name!r} was tuned at {axis} {at}, not {size}")
    if pz.get("kind") != cfg.parametrization.kind:
        raise UsageError(
            f"study {study.study_name!r} was tuned under {pz.get('kind')}, not {cfg.parametrization.kind} (--config)"
        )
    if pz.get("kind") == "sp":
        return
    key = {"width": "base_width", "modes": "base_modes", "depth": "base_depth"}[axis]
    b = pz.get(key) or at
    b = max(b) if isinstance(b, list) else b
    if b != base:
        raise UsageError(
            f"study {study.study_name!r} has μP base {axis} {b}; every proxy needs the smallest proxy as its base: "
            f"tune it with --set parametrization.{key}={[base] if axis == 'modes' else base}"
        )


def ladder_from_studies(
    cfg: RunConfig,
    study: str,
    proxies: Sequence[int],
    axis: str,
    target: int,
    storage: str | None,
    run_dir: Path,
) -> Ladder:
    """The ladder from tuning studies ``STUDY-SIZE`` (module docstring), one per proxy size."""
    sizes = check_proxies(list(proxies), target, "--proxies")
    trials, summaries = {}, {}
    for s in sizes:
        st = load_proxy_study(proxy_study_name(study, s), storage, run_dir)
        _check_study_config(st, cfg, axis, s, sizes[0])
        done = [
            t
            for t in st.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
            if not t.user_attrs.get("diverged") and t.value is not None
        ]
        if not done or any("lr" not in t.params for t in done):
            raise UsageError(f"study {st.study_name!r}: expected finished trials that tuned the LR (tune.lr)")
        trials[s] = [(float(t.params["lr"]), float(t.value)) for t in done]
        summaries[s] = study_summary(st)
    fit = drift_from_trials(trials, target)
    params = {**summaries[sizes[-1]]["best_params"], "lr": fit.predicted}
    summary = _summed(summaries, max(v["n_trials"] for v in summaries.values()), params)
    summary["compute_seconds"] = sum(v["compute_seconds"] for v in summaries.values())
    source = {"source": "studies", "studies": [proxy_study_name(study, s) for s in sizes]}
    return Ladder(axis, target, at_size(cfg, axis, sizes[0]), fit, params, summary, source)


def _summed(per_proxy: dict, n_trials: int, params: dict) -> dict:
    """The proxies' summaries as one: costs summed, the largest proxy's best errors."""
    top = per_proxy[max(per_proxy)]
    return {
        "n_trials": n_trials,
        "best_params": params,
        "best_val_rel_l2": top.get("best_val_rel_l2"),
        "best_test_rel_l2": top.get("best_test_rel_l2"),
        "seconds": sum(v["seconds"] for v in per_proxy.values()),
        "train_flops": sum(v["train_flops"] for v in per_proxy.values()),
        "proxies": {str(s): v for s, v in per_proxy.items()},
    }


def _sweep_doc(sweep_dir: Path, cfg: RunConfig, axis: str) -> tuple[dict, Sweep]:
    """The sweep's ``sweep.json`` and spec, checked: an LR sweep over ``axis`` made with ``cfg``."""
    path = Path(sweep_dir) / "sweep.json"
    if not path.is_file():
        raise UsageError(f"--from-sweep {sweep_dir}: no sweep.json there; run `muop sweep --out {sweep_dir}` first")
    doc = json.loads(path.read_text())
    sweep = Sweep(**{k: tuple(v) if isinstance(v, list) else v for k, v in doc["spec"].items()})
    if sweep.axis != axis or sweep.hparam != "lr":
        raise UsageError(
            f"--from-sweep {sweep_dir}: a {sweep.hparam} sweep over {sweep.axis}; expected an LR sweep over {axis}"
        )
    hashes = {r.get("config_hash") for r in doc["runs"]} - {None}
    if hashes and not hashes & set(sweep_idents(cfg, sweep)):
        raise UsageError(
            f"--from-sweep {sweep_dir}: its runs were trained with another config than --config (see its base_config)"
        )
    return doc, sweep


def ladder_from_sweep(
    cfg: RunConfig, sweep_dir: str | Path, proxies: Sequence[int] | None, axis: str, target: int
) -> Ladder:
    """The ladder from an LR sweep's runs (module docstring); ``proxies`` None: every size below the target."""
    doc, sweep = _sweep_doc(Path(sweep_dir), cfg, axis)
    par = cfg.parametrization.kind
    cv = seed_curves(doc["runs"]).get(par)
    if not cv:
        raise UsageError(f"--from-sweep {sweep_dir}: no {par} runs (parametrization.kind of --config)")
    wanted = [s for s in cv if s < target] if proxies is None else list(proxies)
    sizes = check_proxies(wanted, target, "--proxies")
    missing = [s for s in sizes if s not in cv]
    if missing:
        raise UsageError(
            f"--proxies {','.join(map(str, sizes))}: {axis} {missing[0]} is not in the sweep "
            f"(sizes: {', '.join(map(str, cv))})"
        )
    fit = drift_from_curves({s: curve_matrix(cv[s]) for s in sizes}, target)
    runs = [r for r in doc["runs"] if r["parametrization"] == par and int(r["size"]) in sizes]
    per = {s: _sweep_cost([r for r in runs if int(r["size"]) == s], cv[s]) for s in sizes}
    summary = _summed(per, max(v["n_trials"] for v in per.values()), {"lr": fit.predicted})
    summary["compute_seconds"] = summary["seconds"]  # sweep records keep the run's seconds only
    source = {"source": "sweep", "sweep": str(sweep_dir)}
    return Ladder(axis, target, at_size(cfg, axis, sweep.sizes[0]), fit, {"lr": fit.predicted}, summary, source)


def _sweep_cost(runs: list[dict], curve: dict) -> dict:
    """One proxy size of a sweep as a study-like summary: its runs' count and costs, its best mean test error."""
    means = [sum(v) / len(v) for v in curve.values()]
    finite = [m for m in means if math.isfinite(m)]
    return {
        "n_trials": len(runs),
        "best_test_rel_l2": min(finite) if finite else None,
        "seconds": sum(float(r.get("seconds") or 0.0) for r in runs),
        "train_flops": sum(float(r.get("train_flops") or 0.0) for r in runs),
    }
