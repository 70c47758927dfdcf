"""``muop tune``: an Optuna study on the proxy over the config's search space (local workers or Ray Tune)."""

from __future__ import annotations

import argparse
import json

from ..config import load_config
from ..errors import UsageError
from ..study import WorkerOptions, study_summary
from ..study.ray import RayOptions, tune_ray
from ..study.tune import tune
from .common import add_config, add_study, add_workers, check_outputs, positive_float, positive_int, progress_bar

__all__ = ["add_parser", "run_tune"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tune",
        help="Optuna study on the proxy over the config's tune search space",
        description="Tune the proxy (the config's model) with Optuna over the config's tune search space, "
        "selecting on the validation split. The study lives in --storage (default RUN_DIR/optuna.journal); "
        "rerun, or run the same command elsewhere, to continue it.",
    )
    add_config(p, config_help="YAML run config; its model section is the proxy")
    p.add_argument(
        "--trials", type=positive_int, required=True, help="finished trials the study should hold (reruns continue)"
    )
    add_study(
        p,
        study_help="study name (default muop)",
        storage_help="Optuna storage URL (sqlite:///..., postgresql://...) or journal:PATH; "
        "default RUN_DIR/optuna.journal",
    )
    add_workers(p)
    p.add_argument(
        "--heartbeat",
        type=positive_float,
        default=10.0,
        help="seconds between a running trial's heartbeats; a trial silent for 6 heartbeats is failed and retried "
        "(default 10)",
    )
    _add_ray_options(p)
    p.set_defaults(func=run_tune)


def _add_ray_options(p: argparse.ArgumentParser) -> None:
    """``--backend`` and the options of ``--backend ray``."""
    p.add_argument(
        "--backend",
        choices=("optuna", "ray"),
        default="optuna",
        help="optuna: local workers on the storage (default); "
        "ray: Ray Tune with OptunaSearch and ASHA (pip install 'muop[ray]')",
    )
    p.add_argument("--address", default=None, help="Ray cluster address (--backend ray; default: start a local Ray)")
    p.add_argument(
        "--gpus-per-trial", type=float, default=0.0, help="GPUs per trial, fractions allowed (--backend ray; default 0)"
    )
    p.add_argument("--cpus-per-trial", type=float, default=1.0, help="CPUs per trial (--backend ray; default 1)")


def run_tune(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, args.set)
    check_outputs(args, cfg)
    if args.backend == "ray":
        if args.workers != 1:
            raise UsageError(
                "--workers is for --backend optuna; Ray runs as many trials at once as its resources allow "
                "(--cpus-per-trial, --gpus-per-trial)"
            )
        study = tune_ray(
            cfg,
            args.trials,
            args.study,
            args.storage,
            args.run_dir,
            RayOptions(address=args.address, cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial),
        )
        print(json.dumps(study_summary(study), indent=1))
        return 0
    with progress_bar() as prog:
        task = prog.add_task(f"tuning study {args.study}", total=args.trials)
        study = tune(
            cfg,
            args.trials,
            args.study,
            args.storage,
            args.run_dir,
            progress=lambda i, n: prog.update(task, completed=i),
            workers=args.workers,
            options=WorkerOptions(heartbeat_s=args.heartbeat, grace_s=6 * args.heartbeat),
        )
    print(json.dumps(study_summary(study), indent=1))
    return 0
