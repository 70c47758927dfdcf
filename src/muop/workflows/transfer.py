"""Train the big target once with the proxy's best hyperparameters (μTransfer, over width, modes and depth).

Under μP the base LR η is kept and the rules map every parameter's LR and init relative to the
proxy shape, which becomes the μP base shape: e.g. the spectral LR is multiplied by
sqrt(log K_p / log K*) and by width_p / width* (μTransfer-FNO, Li, Yoo & Yang, ICML 2025; Tensor
Programs V); with residual blocks (``model.residual``) a deeper target scales its branches by
(L*/L_p)^-alpha and their learning rates as :mod:`muop.core.rules` says. With ``compare_direct``
the same search also runs at the target, and the cost ratio (proxy tuning + one target run) /
(direct tuning) is measured in seconds and FLOPs. Both sides
are counted the same way: the seconds are the compute of every run, training epochs and
evaluations (resumed sessions included; start-up, data loading and file writes are not), and
the FLOPs the estimated training FLOPs (:func:`muop.models.fno_flops`).

With several proxies (``proxies``, ``from_sweep``) the LR is the drift model's prediction
(:mod:`muop.workflows.transfer_proxies`, :mod:`muop.workflows.drift`) and the proxies' costs add up;
a single proxy across a large size ratio gets one line of advice first (:mod:`muop.workflows.advice`).

With ``target`` (a second config, ``--target-config``) the proxy may differ from the target in its
training budget too (epochs, training samples, grid, batch size), checked for compatibility first
(:mod:`muop.workflows.transfer_axes`). Every transfer records the axes that moved (``axes_moved``).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from ..config import RunConfig, apply_overrides, apply_params, with_fields
from ..core import Plan
from ..data import prepare_data
from ..errors import UsageError
from ..study import redact, study_summary, with_validation
from ..study.tune import tune
from ..training import complete, from_env, make_trainer
from ..utils.atomic import atomic_write
from .advice import single_proxy_advice
from .transfer_axes import axes_moved, check_compatible, hybrid_config
from .transfer_proxies import Ladder, check_ladder, ladder_from_studies, ladder_from_sweep, load_proxy_study

__all__ = ["target_config", "lr_map", "transfer", "check_target", "cost_ratios"]


def check_target(target_modes: list[int] | None, target_width: int | None, target_depth: int | None) -> None:
    """A transfer needs a target: at least one of modes, width and depth (one-line UsageError otherwise)."""
    if not target_modes and not target_width and not target_depth:
        raise UsageError("give a target: --target-modes, --target-width and/or --target-depth")


def target_config(
    cfg: RunConfig,
    params: dict,
    target_modes: list[int] | None,
    target_width: int | None,
    overrides: list[str] | None = None,
    target_depth: int | None = None,
) -> RunConfig:
    """The target run: the proxy's best hyperparameters, the target shape, μP base = the proxy shape.

    ``overrides`` (``section.field=value``) change anything else about the target, e.g.
    ``data.stride=1`` when the proxy was tuned on a coarser grid (``data.stride: 2``).
    ``target_depth`` (number of blocks) needs residual blocks (``model.residual`` pre or post).
    """
    if (
        target_depth is not None and cfg.model.library == "muop" and cfg.model.residual == "none"
    ):  # neuralop: checked at build
        raise UsageError(
            f"target depth {target_depth}: only residual blocks scale with depth; set model.residual to pre or post "
            "(for proxy and target)"
        )
    proxy_modes = list(cfg.model.modes)
    modes = list(target_modes) if target_modes else proxy_modes
    if len(modes) == 1 and len(proxy_modes) > 1:
        modes = modes * len(proxy_modes)
    if len(modes) != len(proxy_modes):
        raise UsageError(f"target modes {modes}: expected {len(proxy_modes)} entries like the proxy's {proxy_modes}")
    out = apply_params(cfg, params)
    out = with_fields(
        out,
        model={"modes": modes, "width": target_width or cfg.model.width, "depth": target_depth or cfg.model.depth},
        parametrization={
            "base_width": cfg.model.width,
            "base_modes": proxy_modes,
            "base_depth": cfg.model.depth if cfg.model.residual != "none" else None,
        },
    )
    return apply_overrides(out, overrides or [])


def lr_map(plan: Plan, optimizer: str) -> dict:
    """Per-role LR and init multipliers of a target's plan relative to its base (the proxy): the μP mapping."""
    roles: dict[str, dict] = {}
    for e in plan.entries:
        roles.setdefault(e.role, {"lr_mult": e.lr_mult[optimizer], "init_std": e.init_std, "example": e.name})
    branch = [e for e in plan.entries if e.branch]
    depth = (
        {
            "depth_ratio": branch[0].depth_ratio,
            "branch_mult": branch[0].branch_mult,
            "branch_lr_mult": {e.name: e.lr_mult[optimizer] for e in branch[:3]},
        }
        if branch
        else {"depth_ratio": 1.0, "branch_mult": 1.0}
    )
    return {
        "roles": roles,
        "mode_factor_g": plan[roles["spectral"]["example"]].mode_factor,
        "width_ratio": plan.shape.width / plan.base.width,
        **depth,
    }


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=3)


def _proxy_side(
    cfg: RunConfig,
    study_name: str,
    storage: str | None,
    run_dir: Path,
    targets: tuple,
    proxies: Sequence[int] | None,
    from_sweep: str | Path | None,
    warn: Callable[[str], None],
) -> tuple[RunConfig, dict, dict, Ladder | None]:
    """``(base config, proxy summary, target hyperparameters, ladder)``: one proxy study (with the advice of
    :func:`~muop.workflows.advice.single_proxy_advice` when the size ratio is large), or a proxy ladder."""
    if proxies is None and from_sweep is None:
        m = cfg.model
        advice = single_proxy_advice(cfg.parametrization.kind, m.modes, m.width, m.depth, *targets)
        if advice:
            warn(advice)
        proxy = study_summary(load_proxy_study(study_name, storage, run_dir))
        return cfg, proxy, proxy["best_params"], None
    axis, size = check_ladder(proxies, from_sweep, *targets)
    if from_sweep is not None:
        ladder = ladder_from_sweep(cfg, from_sweep, proxies, axis, size)
    else:
        ladder = ladder_from_studies(cfg, study_name, proxies, axis, size, storage, run_dir)
    return ladder.base_cfg, ladder.summary, ladder.params, ladder


def transfer(
    cfg: RunConfig,
    study_name: str,
    target_modes: list[int] | None = None,
    target_width: int | None = None,
    out_dir: str | Path = "runs/transfer",
    storage: str | None = None,
    run_dir: str | Path | None = None,
    compare_direct: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    target_overrides: list[str] | None = None,
    target_depth: int | None = None,
    proxies: Sequence[int] | None = None,
    from_sweep: str | Path | None = None,
    warn: Callable[[str], None] = _warn,
    target: RunConfig | None = None,
) -> dict:
    """Train the target with the proxy study's best hyperparameters; write ``transfer.json``.

    ``progress(stage, i, n)`` follows the work: ``("target", epoch, epochs)`` while the target
    trains, then ``("direct", finished trials, trials)`` while the direct study runs. ``proxies``
    (sizes on the one axis the target changes) and/or ``from_sweep`` (a sweep directory) make it a
    drift-aware transfer: the target's LR is the drift model's prediction from the proxies' best LRs
    (studies ``STUDY-SIZE`` or the sweep's runs; :mod:`muop.workflows.transfer_proxies`), recorded
    under ``drift`` with its interval and rule, and every proxy's cost counts. ``warn`` receives the
    one-line advice before a single-proxy transfer across a large size ratio (default: ``warnings.warn``).
    ``target``: the target's own config (:mod:`muop.workflows.transfer_axes`), instead of the target options.
    """
    targets = _targets(cfg, target, target_modes, target_width, target_depth, proxies, from_sweep)
    out = Path(out_dir)
    run_dir = Path(run_dir) if run_dir is not None else out
    base, proxy, params, ladder = _proxy_side(cfg, study_name, storage, run_dir, targets, proxies, from_sweep, warn)
    cfg = with_validation(base)
    onto = cfg if target is None else with_validation(hybrid_config(cfg, target))
    tcfg = target_config(onto, params, *targets[:2], target_overrides, targets[2])
    data = prepare_data(tcfg.data)
    t0 = time.perf_counter()
    epochs = (lambda rec: progress("target", rec["epoch"], tcfg.train.epochs)) if progress else None
    dist = from_env(tcfg.train.device)  # under torchrun every rank trains the target; rank 0 does the rest
    trainer = make_trainer(tcfg, out / "target", data, on_epoch=epochs, dist=dist)
    result = complete(trainer, out / "target")
    target_wall = time.perf_counter() - t0
    if dist is not None and not dist.is_main:
        return {"target": asdict(result)}
    doc = _document(cfg, tcfg, proxy, asdict(result), list(data.train.grid), target_overrides)
    if ladder is not None:
        doc["drift"] = ladder.document()
    doc["mapping"] = lr_map(trainer.setup.plan, tcfg.optimizer.name)
    doc["storage"] = redact(storage) if storage else str(run_dir / "optuna.journal")
    if compare_direct:
        report = (lambda i, n: progress("direct", i, n)) if progress else None
        direct = study_summary(
            tune(tcfg, proxy["n_trials"], f"{study_name}-direct", storage, run_dir, data=data, progress=report)
        )
        doc["direct"] = direct
        doc.update(cost_ratios(proxy, asdict(result), target_wall, direct))
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "transfer.json", json.dumps(doc, indent=1, default=str))
    return doc


def _targets(
    cfg: RunConfig,
    target: RunConfig | None,
    modes: list[int] | None,
    width: int | None,
    depth: int | None,
    proxies: Sequence[int] | None,
    from_sweep: str | Path | None,
) -> tuple:
    """The target's (modes, width, depth): the options (at least one), or ``target``'s model once it is
    checked against the proxy ``cfg`` (then without the options or a proxy ladder); one-line UsageErrors."""
    if target is None:
        check_target(modes, width, depth)
        return modes, width, depth
    if modes or width or depth:
        raise UsageError(
            "--target-config gives the target's shape: drop --target-modes/--target-width/--target-depth (or set "
            "them in the target config)"
        )
    if proxies is not None or from_sweep is not None:
        raise UsageError(
            "--target-config works with one proxy study; a proxy ladder (--proxies, --from-sweep) takes the target "
            "from --target-width/--target-modes/--target-depth"
        )
    check_compatible(cfg, target)
    depth = target.model.depth if target.model.depth != cfg.model.depth else None  # none: no residual blocks needed
    return list(target.model.modes), target.model.width, depth


def _document(
    cfg: RunConfig, tcfg: RunConfig, proxy: dict, target: dict, grid: list[int], overrides: list[str] | None
) -> dict:
    """``transfer.json`` before the mapping, storage and direct comparison: proxy, target and how
    errors are measured. ``grid``: the target's training grid (the proxy's too when their data agree)."""
    return {
        "proxy": {
            "modes": list(cfg.model.modes),
            "width": cfg.model.width,
            "depth": cfg.model.depth,
            "grid": grid if cfg.data == tcfg.data else None,
            "data_stride": cfg.data.stride,
            **proxy,
        },
        "target": {
            "modes": list(tcfg.model.modes),
            "width": tcfg.model.width,
            "depth": tcfg.model.depth,
            "grid": grid,
            "data_stride": tcfg.data.stride,
            "hyperparameters": proxy["best_params"],
            "overrides": list(overrides or []),
            **target,
        },
        "axes_moved": axes_moved(apply_params(cfg, proxy["best_params"]), tcfg),  # the proxy's best trial's
        "parametrization": tcfg.parametrization.kind,
        "metric": "relative L2, per-sample mean, physical units; tuning on the validation split, errors reported on "
        "the test split",
    }


def cost_ratios(proxy: dict, target: dict, target_wall: float, direct: dict) -> dict:
    """What transferring cost relative to tuning the target directly, counted the same way on both sides.

    ``proxy`` and ``direct`` are :func:`~muop.study.study_summary` documents (sums over their
    trials), ``target`` the target run's result (:class:`~muop.training.RunResult` as a dict),
    ``target_wall`` its wall seconds. Returns ``cost_ratio_seconds`` ((proxy compute + target
    compute) / direct compute, where compute is training epochs and evaluations), ``cost_ratio_flops``
    (estimated training FLOPs, likewise), ``cost_ratio_wall_seconds`` (the target's whole wall time
    against the trials' wall time), ``cost_counts`` (this in words) and, when the direct study's
    best trial has a test error, ``error_ratio_transfer_over_direct``.
    """
    out = {
        "cost_ratio_seconds": (proxy["compute_seconds"] + target["compute_seconds"]) / direct["compute_seconds"],
        "cost_ratio_wall_seconds": (proxy["seconds"] + target_wall) / direct["seconds"],
        "cost_counts": "seconds: training and evaluation compute of every run, both sides; wall: the target's whole "
        "run vs trials' wall time; FLOPs: estimated training FLOPs",
        "cost_ratio_flops": (proxy["train_flops"] + target["train_flops"]) / direct["train_flops"],
    }
    if direct["best_test_rel_l2"]:
        out["error_ratio_transfer_over_direct"] = target["test_rel_l2"] / direct["best_test_rel_l2"]
    return out
