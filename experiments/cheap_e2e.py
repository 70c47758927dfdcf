"""End to end with a proxy cheap on every axis at once (issue #22), against direct tuning at the target.

Usage (from the repository root; any problem, e.g. the committed Navier-Stokes run):
    OMP_NUM_THREADS=1 nice -n 10 python experiments/cheap_e2e.py --proxy experiments/ns_cheap_proxy.yaml \
        --target experiments/ns_cheap_target.yaml --trials 20 --out results/e2e/ns_cheap
(``experiments/darcy_cheap.py`` is this script with the Darcy configs as defaults.)

1. tune the proxy (``--proxy``) for ``--trials`` trials (study ``proxy`` in OUT/optuna.journal);
2. ``transfer(proxy, target=...)`` once per final seed (OUT/transfer_seed<S>/): the target config
   (``--target``) at the proxy's best hyperparameters, μP base = the proxy's shape; the first seed's
   call also tunes the target directly with the same number of trials and sampler (study ``proxy-direct``)
   and writes the cost ratios, counted as ``muop transfer`` counts them (compute seconds of every trial
   and of the one target run);
3. train the target at the direct study's best hyperparameters once per final seed;
4. write OUT/summary.json and OUT/README.md: per side the test error of every seed and their mean,
   the costs, the error ratio (mean transferred / mean direct), and every trial of both studies.

Every final run on both sides is the same target config (train split without the validation samples,
test split) with only the hyperparameters and the seed changed.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
from pathlib import Path

import optuna
import torch

from muop.config import apply_overrides, load_config, with_fields
from muop.study import resolve_storage
from muop.study.tune import study_summary, tune, with_validation
from muop.training import train_run
from muop.workflows.transfer import target_config, transfer
from muop.workflows.transfer_axes import hybrid_config


def _direct_finals(proxy, target, params: dict, seeds: list[int]) -> list[dict]:
    """The target at the direct study's best hyperparameters, one run per seed: test error and compute seconds."""
    out = []
    for s in seeds:
        base = with_validation(hybrid_config(with_validation(proxy), with_fields(target, train={"seed": s})))
        cfg = target_config(base, params, list(target.model.modes), target.model.width)
        res = train_run(cfg)
        out.append({"seed": s, "test_rel_l2": res.test_rel_l2, "compute_seconds": res.compute_seconds})
    return out


def _trials(study: optuna.Study) -> list[dict]:
    """Every completed trial: its hyperparameters, validation error (the objective), test error and compute seconds."""
    done = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    keys = ("test_rel_l2", "compute_seconds")
    return [{"params": t.params, "val_rel_l2": t.value, **{k: t.user_attrs.get(k) for k in keys}} for t in done]


def run(proxy_path: str, target_path: str, out: Path, trials: int, seeds: list[int], sets: list[str]) -> dict:
    """Steps 1-3 of the module docstring (``sets``: ``section.field=value`` applied to both configs); returns the
    summary document."""
    proxy, target = (apply_overrides(load_config(p), sets) for p in (proxy_path, target_path))
    study = tune(proxy, trials, "proxy", run_dir=out)
    transferred, doc0 = [], None
    for i, s in enumerate(seeds):
        doc = transfer(
            proxy,
            "proxy",
            out_dir=out / f"transfer_seed{s}",
            run_dir=out,
            compare_direct=i == 0,
            target=with_fields(target, train={"seed": s}),
        )
        doc0 = doc0 or doc
        t = doc["target"]
        transferred.append({"seed": s, "test_rel_l2": t["test_rel_l2"], "compute_seconds": t["compute_seconds"]})
    direct = optuna.load_study(study_name="proxy-direct", storage=resolve_storage(None, out))
    d_sum = study_summary(direct)
    finals = _direct_finals(proxy, target, d_sum["best_params"], seeds)
    p_sum = study_summary(study)
    mean_t = statistics.mean(r["test_rel_l2"] for r in transferred)
    mean_d = statistics.mean(r["test_rel_l2"] for r in finals)
    mean_target_s = statistics.mean(r["compute_seconds"] for r in transferred)
    return {
        "problem": proxy.data.problem,
        "axes_moved": doc0["axes_moved"],
        "trials_each_side": trials,
        "sampler": proxy.tune.sampler,
        "seeds": seeds,
        "set": sets,
        "transfer": {"params": p_sum["best_params"], "runs": transferred, "mean_test_rel_l2": mean_t},
        "direct": {"params": d_sum["best_params"], "runs": finals, "mean_test_rel_l2": mean_d},
        "error_ratio_mean_transfer_over_direct": mean_t / mean_d,
        "proxy_study_compute_seconds": p_sum["compute_seconds"],
        "direct_study_compute_seconds": d_sum["compute_seconds"],
        "cost_ratio_seconds_seed0": doc0["cost_ratio_seconds"],
        "cost_ratio_flops_seed0": doc0["cost_ratio_flops"],
        "cost_ratio_seconds_mean_target": (p_sum["compute_seconds"] + mean_target_s) / d_sum["compute_seconds"],
        "cost_counts": doc0["cost_counts"] + "; the mean-target ratio uses the mean compute of the final target "
        "runs; the final seeds of either side are not counted as tuning cost",
        "trials": {"proxy": _trials(study), "direct": _trials(direct)},
    }


def readme(doc: dict, command: str, configs: tuple[str, str], title: str) -> str:
    """The results README's measured part: the command, the axes moved, per-seed errors and the two ratios."""
    rows = [
        "| side | test rel. L2 per seed | mean | LR |",
        "|---|---|---|---|",
    ]
    for side in ("transfer", "direct"):
        errs = ", ".join(f"{r['test_rel_l2']:.4f}" for r in doc[side]["runs"])
        rows.append(f"| {side} | {errs} | {doc[side]['mean_test_rel_l2']:.4f} | {doc[side]['params']['lr']:.3g} |")
    moved = ", ".join(f"{a} {p} -> {t}" for a, (p, t) in doc["axes_moved"].items())
    return "\n".join(
        [
            f"# {title} end to end, a proxy cheap on every axis (issue #22), REDUCED scale",
            "",
            f"Command: `OMP_NUM_THREADS=1 nice -n 10 python {command}`",
            f"(configs: `{configs[0]}`, `{configs[1]}`).",
            "",
            f"Axes moved (proxy -> target): {moved}. {doc['trials_each_side']} trials each side ({doc['sampler']}).",
            "",
            *rows,
            "",
            f"Error ratio (mean transferred / mean direct): **{doc['error_ratio_mean_transfer_over_direct']:.3f}**.",
            f"Cost ratio (proxy study + one target run) / direct study, compute seconds: "
            f"**{doc['cost_ratio_seconds_seed0']:.3f}** (seed 0's target; with the mean target run "
            f"{doc['cost_ratio_seconds_mean_target']:.3f}); in estimated FLOPs {doc['cost_ratio_flops_seed0']:.3f}.",
            f"CPU seconds of the whole script: {doc['script_cpu_seconds']:.0f}.",
            "",
        ]
    )


def main(argv: list[str], script: str = "experiments/cheap_e2e.py", defaults: dict | None = None) -> int:
    """Parse ``argv`` (``defaults``: default --proxy/--target/--title); run; write OUT/summary.json, OUT/README.md."""
    d = defaults or {}
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--proxy", default=d.get("proxy"), required="proxy" not in d)
    p.add_argument("--target", default=d.get("target"), required="target" not in d)
    p.add_argument("--title", default=d.get("title"), help="the README's problem name (default: data.problem)")
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--seeds", default="0,1,2", help="final seeds; the first also seeds the direct study")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        help="section.field=value for both configs, e.g. train.seed=3 (the proxy study's sampler and init seed)",
    )
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    doc = run(args.proxy, args.target, out, args.trials, [int(s) for s in args.seeds.split(",")], args.set)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    doc["script_cpu_seconds"] = usage.ru_utime + usage.ru_stime
    (out / "summary.json").write_text(json.dumps(doc, indent=1))
    title = args.title or doc["problem"]
    text = readme(doc, " ".join([script, *argv]), (args.proxy, args.target), title)
    (out / "README.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
