"""One prepared run that measures muop where users train: a GPU, mixed precision, compiled (issue #24).

Parts, in this order (``--parts`` picks some):

* ``step``: one training step (forward, relative-L2 loss, backward, Adam) of muop's FNO against
  neuraloperator's at matched shapes (``benchmarks/fno_step.py``: classic block vs neuraloperator
  ``matched``, neuralop block vs neuraloperator ``default``), 2-D and 3-D, widths 64/128 and
  n_modes 16/32 (neuraloperator's convention), in fp32 and bf16 autocast, eager. The four models
  alternate step by step in one process; medians. On CUDA a fifth, muop's neuralop block with the
  complex64 spectral contraction (``/complex``), measures the other contraction path there.
  neuraloperator under autocast is tried as it is first; if it fails, it is timed with the usual
  workaround (its spectral convolutions' inputs cast to float32), and the error is recorded.
* ``memory``: peak memory of 3 steps, each model alone (CUDA max allocated; on the CPU the peak-RSS
  growth, each model in a fresh process), fp32 and bf16, muop with and without activation
  checkpointing.
* ``sweep``: a short SP-vs-μP LR sweep over width on the device (``muop.workflows.sweep``), in fp32
  and bf16: the regret of the proxy's best LR at the target width (does μP transfer there too?).
* ``ddp``: ``muop train`` on 1 and 2 processes (one GPU each, NCCL), then 2 compiled bf16 ones;
  only with 2 GPUs (else it says it skipped).
* ``compile``: ``torch.compile`` against eager for muop's and neuraloperator's default layouts at
  one shape per dimension, fp32 and bf16; last, since compiling takes the longest and the least
  predictable time: it stops where ``--budget-s`` would be overrun, saying what it skipped.

Profiles: on CUDA (the default when a GPU is present) the shapes above, in about 6-8 minutes on one
H100 (``--budget-s 480``); ``--device cpu`` small shapes for CPU figures (9 minutes on 2 cores);
``--smoke``: every part for one step at tiny shapes on the CPU, compiling muop's model only, with
Dynamo's ``eager`` backend (CI; about 10 s). Each part writes ``{--out}{part}.json`` (default ``results/bench/gpu_`` on
CUDA, ``results/bench/cpu_suite_`` on the CPU; smoke runs write nothing unless ``--out`` is given)
with the device, the versions and the command, as soon as it is done, and the run ends with tables.
A part that fails is recorded with its error and the next one runs.

    python benchmarks/gpu_suite.py                      # on a GPU machine
    python benchmarks/gpu_suite.py --device cpu         # CPU figures
    python benchmarks/gpu_suite.py --smoke --out /tmp/smoke_
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fno_step  # noqa: E402  (build, make_step, fp32_fft, measure_peak, peak_memory, n_params)

warnings.filterwarnings("ignore")
PARTS = ("step", "memory", "sweep", "ddp", "compile")
LIBS = ("muop", "neuralop-matched", "muop-neuralop-block", "neuralop-default")
PRECISIONS = ("fp32", "bf16")


def shape(dim: int, width: int, n_modes: int, grid: int, batch: int) -> dict:
    """A case of fno_step: ``n_modes`` in neuraloperator's convention (muop's K is about half)."""
    return {
        "name": f"{dim}d-g{grid}-w{width}-m{n_modes}",
        "n_modes": (n_modes,) * dim,
        "grid": (grid,) * dim,
        "width": width,
        "batch": batch,
    }


@dataclass
class Profile:
    """What one run of the suite measures (see the module docstring)."""

    name: str
    device: str
    cases: list[dict]  # timed eager in fp32 and bf16
    compiled: list[str]  # names of the cases also timed compiled
    memory: list[dict]  # the cases whose peak memory is measured
    repeats: int
    warmup: int
    mem_steps: int
    sweep: dict  # base config, widths, LR range, seeds, precisions
    ddp: dict  # base config of the DDP runs
    budget_s: float
    compile_options: dict = field(default_factory=dict)
    subprocess_memory: bool = True
    compile_estimate_s: float = 60.0  # one model's compile, before any was measured
    compile_precisions: tuple[str, ...] = PRECISIONS
    compile_libs: tuple[str, ...] = ("muop-neuralop-block", "neuralop-default")
    extra_libs: tuple[str, ...] = ()  # timed beside the four in the step part


def _burgers(n_train: int, n_test: int, resolution: int, **params) -> dict:
    return {"problem": "burgers", "n_train": n_train, "n_test": n_test, "resolution": resolution, "params": params}


def profile(name: str) -> Profile:
    """The ``cuda``, ``cpu`` or ``smoke`` profile."""
    if name == "cuda":
        cases = [shape(2, w, m, 128, 16) for w in (64, 128) for m in (16, 32)]
        # 3-D at width 128 with n_modes 32: ~9 GB of spectral weights per model (36 GB with gradients and
        # Adam), too much to alternate four models on one GPU; the other three 3-D shapes are timed
        cases += [shape(3, w, m, 64, 2) for w, m in ((64, 16), (64, 32), (128, 16))]
        sweep_model = {"modes": [8], "width": 16, "depth": 4, "block": "classic"}
        return Profile(
            "cuda",
            "cuda",
            cases,
            ["2d-g128-w128-m32", "3d-g64-w64-m32"],
            [c for c in cases if c["name"] in ("2d-g128-w128-m32", "3d-g64-w64-m32")],
            repeats=10,
            warmup=2,
            mem_steps=3,
            sweep={
                "config": {"data": _burgers(400, 100, 256), "model": sweep_model, "train": {"epochs": 10}},
                "widths": [16, 128],
                "lrs": [1e-3, 3e-1, 6],
                "seeds": [0],
            },
            ddp={
                "data": {"problem": "darcy", "n_train": 512, "n_test": 32, "resolution": 128},
                "model": {"modes": [16, 16], "width": 64, "depth": 4},
                "train": {"epochs": 3, "batch_size": 32, "checkpoint_every": 0},
            },
            budget_s=480.0,
            subprocess_memory=False,  # CUDA's max allocated counts live tensors: exact in one process
            extra_libs=("muop-neuralop-block/complex",),  # cuBLAS's complex bmm, against the default real GEMM
        )
    if name == "cpu":
        cases = [shape(2, w, 16, 64, 4) for w in (32, 64)] + [shape(3, 16, 12, 32, 1)]
        return Profile(
            "cpu",
            "cpu",
            cases,
            ["2d-g64-w32-m16", "3d-g32-w16-m12"],
            [shape(2, 32, 16, 128, 8), shape(3, 16, 12, 48, 2)],  # larger grids: activations dominate
            repeats=20,
            warmup=2,
            mem_steps=3,
            sweep={
                "config": {
                    "data": _burgers(100, 25, 128),
                    "model": {"modes": [8], "width": 16, "depth": 3, "block": "classic"},
                    "train": {"epochs": 6},
                },
                "widths": [16, 64],
                "lrs": [1e-3, 1e-1, 5],
                "seeds": [0],
            },
            ddp={},
            budget_s=1500.0,
            compile_estimate_s=45.0,
        )
    if name == "smoke":
        cases = [shape(2, 8, 4, 16, 2), shape(3, 4, 4, 8, 1)]
        names = [c["name"] for c in cases]
        return Profile(
            "smoke",
            "cpu",
            cases,
            names[:1],
            cases,
            repeats=1,
            warmup=0,
            mem_steps=1,
            sweep={
                "config": {
                    "data": _burgers(16, 4, 32, T=0.2),
                    "model": {"modes": [4], "width": 4, "depth": 1},
                    "train": {"epochs": 1, "batch_size": 8},
                },
                "widths": [4, 8],
                "lrs": [1e-3, 1e-2, 2],
                "seeds": [0],
            },
            ddp={},
            budget_s=float("inf"),
            compile_options={"backend": "eager"},
            subprocess_memory=False,
            compile_estimate_s=1.0,
            compile_precisions=("fp32",),
            compile_libs=("muop-neuralop-block",),  # Dynamo takes seconds over neuraloperator's tensorly calls
        )
    raise SystemExit(f"unknown profile {name!r}")


class Budget:
    """Seconds left of the run's budget."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.start = seconds, time.perf_counter()

    def left(self) -> float:
        return self.seconds - (time.perf_counter() - self.start)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _free(device: str) -> None:
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def _error(e: BaseException) -> str:
    return f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"


def _prepare(lib: str, case: dict, precision: str, compiled: bool, prof: Profile) -> tuple:
    """(step function, seconds of its first step (compiling, if asked), note) for one variant; a
    neuraloperator model that fails under autocast is retried with its FFT inputs in float32."""
    note = ""
    for attempt in range(2):
        model = fno_step.build(lib, case)
        if attempt:
            fno_step.fp32_fft(model)
        runner = torch.compile(model, **prof.compile_options) if compiled else None
        step = fno_step.make_step(model, case, device=prof.device, precision=precision, runner=runner)
        t0 = time.perf_counter()
        try:
            step()
            _sync(prof.device)
            return step, time.perf_counter() - t0, note
        except torch.cuda.OutOfMemoryError:
            raise
        except RuntimeError as e:
            if attempt or not lib.startswith("neuralop") or precision == "fp32":
                raise
            note = f"as is under autocast: {_error(e)}; timed with its SpectralConv inputs cast to float32"
            del model, step, runner
            _free(prof.device)
    raise AssertionError("unreachable")


def time_variants(case: dict, precision: str, variants: list[tuple[str, bool]], prof: Profile) -> dict:
    """Median step time of each (library, compiled) variant, alternating them step by step."""
    steps, first_s, notes, errors = {}, {}, {}, {}
    for lib, compiled in variants:
        key = lib + ("+compile" if compiled else "")
        try:
            steps[key], first_s[key], note = _prepare(lib, case, precision, compiled, prof)
            if note:
                notes[key] = note
        except Exception as e:  # noqa: BLE001 - out of memory, an unsupported op: recorded, the rest goes on
            errors[key] = _error(e)
            _free(prof.device)
    times: dict[str, list[float]] = {k: [] for k in steps}
    for i in range(prof.warmup + prof.repeats):
        for key, step in steps.items():
            _sync(prof.device)
            t0 = time.perf_counter()
            step()
            _sync(prof.device)
            if i >= prof.warmup:
                times[key].append(time.perf_counter() - t0)
    del steps
    _free(prof.device)
    row = {k: v for k, v in case.items() if k != "name"}
    row = {"case": case["name"], **{k: list(v) if isinstance(v, tuple) else v for k, v in row.items()}}
    row.update(precision=precision, median_ms={k: 1e3 * statistics.median(v) for k, v in times.items() if v})
    row.update(first_step_s=first_s, notes=notes, errors=errors)
    return row


def _ratio(d: dict, num: str, den: str) -> float | None:
    return d[num] / d[den] if num in d and den in d and d[den] > 0 else None


def part_step(prof: Profile, budget: Budget) -> dict:
    """Eager step times of the four models at every case, fp32 and bf16."""
    rows = []
    for case in prof.cases:
        for prec in PRECISIONS:
            row = time_variants(case, prec, [(lib, False) for lib in (*LIBS, *prof.extra_libs)], prof)
            m = row["median_ms"]
            row["speedup_classic"] = _ratio(m, "neuralop-matched", "muop")
            row["speedup_default"] = _ratio(m, "neuralop-default", "muop-neuralop-block")
            rows.append(row)
            print(f"  step {case['name']} {prec}: " + ", ".join(f"{k} {v:.2f} ms" for k, v in m.items()), flush=True)
    for row in rows:  # bf16 over fp32, per model
        if row["precision"] == "bf16":
            fp32 = next(r for r in rows if r["case"] == row["case"] and r["precision"] == "fp32")["median_ms"]
            row["bf16_speedup"] = {k: fp32[k] / v for k, v in row["median_ms"].items() if k in fp32}
    return {"rows": rows}


def part_compile(prof: Profile, budget: Budget) -> dict:
    """Compiled against eager, muop's and neuraloperator's default layouts, alternating, within the budget."""
    rows, skipped, seen = [], [], [prof.compile_estimate_s]
    variants = [(lib, c) for lib in prof.compile_libs for c in (False, True)]
    for case in [c for c in prof.cases if c["name"] in prof.compiled]:
        for prec in prof.compile_precisions:
            need = 2 * max(seen) + 10
            if budget.left() < need:
                skipped.append(f"{case['name']} {prec}: {budget.left():.0f} s left, compiling needs about {need:.0f}")
                print(f"  compile {case['name']} {prec}: skipped ({skipped[-1]})", flush=True)
                continue
            torch._dynamo.reset()
            row = time_variants(case, prec, variants, prof)
            seen += [v for k, v in row["first_step_s"].items() if k.endswith("+compile")]
            m = row["median_ms"]
            row["compile_speedup"] = {lib: _ratio(m, lib, lib + "+compile") for lib in prof.compile_libs}
            row["speedup_default_compiled"] = _ratio(m, "neuralop-default+compile", "muop-neuralop-block+compile")
            rows.append(row)
            print(f"  compile {case['name']} {prec}: " + ", ".join(f"{k} {v:.2f} ms" for k, v in m.items()), flush=True)
    return {"rows": rows, "over_budget": skipped, "compile_options": prof.compile_options}


MEMORY_VARIANTS = (
    ("muop", False),
    ("muop", True),
    ("neuralop-matched", False),
    ("muop-neuralop-block", False),
    ("muop-neuralop-block", True),
    ("neuralop-default", False),
)


def _peak(spec: dict, prof: Profile, threads: int) -> dict:
    if not prof.subprocess_memory:
        return fno_step.measure_peak(spec)
    try:
        return fno_step.peak_memory(spec, threads)
    except Exception as e:  # noqa: BLE001 - the child's error (CalledProcessError) is in its stderr
        err = getattr(e, "stderr", "") or str(e)
        raise RuntimeError(err.strip().splitlines()[-1] if err.strip() else _error(e)) from None


def part_memory(prof: Profile, budget: Budget, threads: int) -> dict:
    """Peak memory of each model alone, with and without activation checkpointing (muop)."""
    rows = []
    for case in prof.memory:
        for prec in PRECISIONS:
            peak, errors, notes = {}, {}, {}
            for lib, ckpt in MEMORY_VARIANTS:
                key = lib + ("+ckpt" if ckpt else "")
                spec = {"lib": lib, "case": case, "steps": prof.mem_steps, "device": prof.device}
                spec.update(precision=prec, checkpoint=ckpt)
                try:
                    peak[key] = next(iter(_peak(spec, prof, threads).values()))
                except Exception as e:  # noqa: BLE001
                    if not lib.startswith("neuralop") or prec == "fp32":
                        errors[key] = _error(e)
                        continue
                    notes[key] = f"as is: {_error(e)}; measured with its SpectralConv inputs cast to float32"
                    peak[key] = next(iter(_peak({**spec, "fp32_fft": True}, prof, threads).values()))
            row = {"case": case["name"], "grid": list(case["grid"]), "batch": case["batch"], "precision": prec}
            row.update(peak_mib=peak, errors=errors, notes=notes)
            row["ratio_classic"] = _ratio(peak, "muop", "neuralop-matched")
            row["ratio_default"] = _ratio(peak, "muop-neuralop-block", "neuralop-default")
            row["ratio_ckpt"] = {lib: _ratio(peak, lib + "+ckpt", lib) for lib in ("muop", "muop-neuralop-block")}
            rows.append(row)
            print(f"  memory {case['name']} {prec}: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in peak.items()))
    kind = "cuda_max_allocated_mib" if prof.device.startswith("cuda") else "peak_rss_growth_mib"
    return {"rows": rows, "measure": kind, "steps": prof.mem_steps}


def part_sweep(prof: Profile, budget: Budget, work: Path) -> dict:
    """SP vs μP LR sweep over width on the device, per precision: regret at the target width."""
    from muop.config import RunConfig
    from muop.workflows.sweep import Sweep, log_grid, run_sweep

    sw = prof.sweep
    lo, hi, n = sw["lrs"]
    sweep = Sweep(axis="width", sizes=tuple(sw["widths"]), lrs=tuple(log_grid(lo, hi, n)), seeds=tuple(sw["seeds"]))
    rows = []
    for prec in PRECISIONS:
        cfg = json.loads(json.dumps(sw["config"]))
        cfg["data"]["cache_dir"] = str(work / "cache")
        cfg["train"].update(precision=prec, device=prof.device, checkpoint_every=0)
        base = RunConfig.from_dict(cfg)
        t0 = time.perf_counter()
        doc = run_sweep(base, sweep, work / f"sweep_{prec}")
        target, keys = str(sweep.sizes[-1]), ("regret", "ci", "proxy_lr", "target_best_lr")
        regret = {p: {k: by_size[target][k] for k in keys} for p, by_size in doc["regret"].items()}
        best = {
            p: {s: min((e for e in errs.values() if math.isfinite(e)), default=None) for s, errs in by_size.items()}
            for p, by_size in doc["mean_test_rel_l2"].items()
        }
        rows.append(
            {
                "precision": prec,
                "seconds": time.perf_counter() - t0,
                "target_width": sweep.sizes[-1],
                "regret": regret,
                "best_lr": doc["best_lr"],
                "best_test_rel_l2": best,
            }
        )
        print(f"  sweep {prec}: " + ", ".join(f"{p} regret {r['regret']:.1%}" for p, r in regret.items()), flush=True)
    return {"rows": rows, "config": sw["config"], "widths": sw["widths"], "lrs": list(sweep.lrs), "seeds": sw["seeds"]}


def part_ddp(prof: Profile, budget: Budget, work: Path) -> dict:
    """``muop train`` on 1 and 2 GPUs (DDP), then on 2 compiled in bf16; skipped without 2 GPUs."""
    gpus = torch.cuda.device_count() if prof.device.startswith("cuda") else 0
    if gpus < 2 or not prof.ddp:
        return {"skipped": f"needs 2 GPUs, found {gpus}"}
    import ddp_scaling

    cfg = json.loads(json.dumps(prof.ddp))
    cfg["data"]["cache_dir"] = str(work / "cache")
    cfg["train"]["device"] = "cuda"
    rows = []
    for n, extra in ((1, {}), (2, {}), (2, {"precision": "bf16", "compile": True})):
        run_cfg = json.loads(json.dumps(cfg))
        run_cfg["train"].update(extra)
        sub = work / f"ddp{len(rows)}"
        sub.mkdir(parents=True, exist_ok=True)
        row = ddp_scaling.run(n, run_cfg, sub, 1)
        row.update(extra)
        rows.append(row)
        print(f"  ddp {n} process(es) {extra or ''}: {row['ms_per_step']:.1f} ms/step", flush=True)
    rows[1]["speedup"] = rows[0]["ms_per_step"] / rows[1]["ms_per_step"]
    return {"rows": rows, "config": cfg}


def meta(prof: Profile, threads: int, argv: list[str]) -> dict:
    """The machine, the versions and the command of this run."""
    try:
        import neuralop

        nop = neuralop.__version__
    except ImportError:
        nop = None
    from muop.utils.version import muop_version

    cuda = prof.device.startswith("cuda")
    return {
        "profile": prof.name,
        "device": torch.cuda.get_device_name() if cuda else _cpu_name(),
        "gpus": torch.cuda.device_count() if cuda else 0,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "neuralop": nop,
        "muop": muop_version(),
        "git": _git_commit(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "load_average_start": os.getloadavg(),
        "command": "python benchmarks/gpu_suite.py " + " ".join(argv),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def _git_commit() -> str | None:
    """The checkout's commit (with ``+dirty`` when files differ), or None outside a git checkout."""
    import subprocess

    try:
        root = Path(__file__).resolve().parents[1]
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "-uno"], cwd=root, capture_output=True, text=True)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if head.returncode == 0 else None
    except OSError:
        return None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def optuna_quiet() -> None:
    """Optuna's per-trial log lines off (the sweep part prints its own summary)."""
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
    except ImportError:
        pass


def run_part(name: str, prof: Profile, budget: Budget, threads: int, work: Path) -> dict:
    """One part, timed; an error is recorded (with the part's seconds) and the suite goes on."""
    t0 = time.perf_counter()
    print(f"{name} ({budget.left():.0f} s of the budget left)", flush=True)
    try:
        if name == "step":
            doc = part_step(prof, budget)
        elif name == "memory":
            doc = part_memory(prof, budget, threads)
        elif name == "sweep":
            doc = part_sweep(prof, budget, work)
        elif name == "ddp":
            doc = part_ddp(prof, budget, work)
        else:
            doc = part_compile(prof, budget)
    except ImportError as e:
        doc = {"skipped": f"{_error(e)} (see benchmarks/gpu_wheels.sh)"}
    except Exception as e:  # noqa: BLE001 - recorded; the next part runs
        doc = {"error": _error(e)}
    if "skipped" in doc:
        print(f"  {name}: skipped: {doc['skipped']}", flush=True)
    if "error" in doc:
        print(f"  {name}: failed: {doc['error']}", flush=True)
    doc["seconds"] = time.perf_counter() - t0
    return doc


def _fmt(v: float | None, spec: str = ".2f", suffix: str = "") -> str:
    return "-" if v is None else f"{v:{spec}}{suffix}"


def _pct(v: float | None) -> float | None:
    return None if v is None else 100 * v


def print_tables(docs: dict) -> None:
    """The suite's results as plain Markdown tables."""
    if docs.get("step", {}).get("rows"):
        print("\n| case | precision | muop ms | nop-matched ms | x | muop nop-block ms | nop-default ms | x |")
        print("|---|---|---|---|---|---|---|---|")
        for r in docs["step"]["rows"]:
            m = r["median_ms"]
            cells = [_fmt(m.get(k)) for k in LIBS]
            print(
                f"| {r['case']} | {r['precision']} | {cells[0]} | {cells[1]} | {_fmt(r['speedup_classic'], suffix='x')}"
                f" | {cells[2]} | {cells[3]} | {_fmt(r['speedup_default'], suffix='x')} |"
            )
        extra = sorted({k for r in docs["step"]["rows"] for k in r["median_ms"]} - set(LIBS))
        for key in extra:  # e.g. the other spectral contraction path
            print(f"\n| case | precision | {key} ms | over muop nop-block (default path) |\n|---|---|---|---|")
            for r in docs["step"]["rows"]:
                m = r["median_ms"]
                print(f"| {r['case']} | {r['precision']} | {_fmt(m.get(key))} | {_fmt(_ratio(m, key, LIBS[2]))} |")
        print("\n| case | bf16 over fp32: muop | nop-matched | muop nop-block | nop-default |")
        print("|---|---|---|---|---|")
        for r in docs["step"]["rows"]:
            if "bf16_speedup" in r:
                print(f"| {r['case']} | " + " | ".join(_fmt(r["bf16_speedup"].get(k), suffix="x") for k in LIBS) + " |")
    if docs.get("compile", {}).get("rows"):
        print(
            "\n| case | precision | block eager ms | block compiled ms | nop-default eager | nop-default compiled |"
            " compile s (block / nop) |"
        )
        print("|---|---|---|---|---|---|---|")
        for r in docs["compile"]["rows"]:
            m, f = r["median_ms"], r["first_step_s"]
            keys = (
                "muop-neuralop-block",
                "muop-neuralop-block+compile",
                "neuralop-default",
                "neuralop-default+compile",
            )
            print(
                f"| {r['case']} | {r['precision']} | "
                + " | ".join(_fmt(m.get(k)) for k in keys)
                + f" | {_fmt(f.get(keys[1]), '.0f')} / {_fmt(f.get(keys[3]), '.0f')} |"
            )
    if docs.get("memory", {}).get("rows"):
        print(f"\npeak memory, MiB ({docs['memory']['measure']})")
        names = [lib + ("+ckpt" if c else "") for lib, c in MEMORY_VARIANTS]
        print("| case | precision | " + " | ".join(names) + " |")
        print("|---|---|" + "---|" * len(names))
        for r in docs["memory"]["rows"]:
            cells = [_fmt(r["peak_mib"].get(k), ".0f") for k in names]
            print(f"| {r['case']} | {r['precision']} | " + " | ".join(cells) + " |")
    if docs.get("sweep", {}).get("rows"):
        print("\n| precision | parametrization | regret at target % [95% CI] | proxy best LR | target best LR |")
        print("|---|---|---|---|---|")
        for r in docs["sweep"]["rows"]:
            for p, g in r["regret"].items():
                lo, hi = (None, None) if not g["ci"] else (_pct(v) for v in g["ci"])
                print(
                    f"| {r['precision']} | {p} | {_fmt(_pct(g['regret']), '.1f')} [{_fmt(lo, '.1f')}, "
                    f"{_fmt(hi, '.1f')}] | {_fmt(g['proxy_lr'], '.2e')} | {_fmt(g['target_best_lr'], '.2e')} |"
                )
    if docs.get("ddp", {}).get("rows"):
        print("\n| processes | settings | ms/step | test rel. L2 |")
        print("|---|---|---|---|")
        for r in docs["ddp"]["rows"]:
            extra = ", ".join(f"{k}={r[k]}" for k in ("precision", "compile") if k in r) or "fp32, eager"
            print(f"| {r['nproc']} | {extra} | {r['ms_per_step']:.1f} | {r['test_rel_l2']:.4f} |")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="every part for one step at tiny shapes on the CPU (CI)")
    ap.add_argument("--device", choices=("cuda", "cpu"), default=None, help="default: cuda when available")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    ap.add_argument("--budget-s", type=float, default=None, help="seconds for the whole run (compile stops first)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default 2; smoke 1)")
    ap.add_argument("--out", default=None, help="prefix of the JSON files: {out}{part}.json")
    args = ap.parse_args(argv)
    device = "cpu" if args.smoke else args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    prof = profile("smoke" if args.smoke else device)
    if args.budget_s is not None:
        prof.budget_s = args.budget_s
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    bad = sorted(set(parts) - set(PARTS))
    if bad:
        raise SystemExit(f"--parts: unknown {bad}; expected some of {', '.join(PARTS)}")
    args.threads = args.threads or (1 if args.smoke else 2)
    torch.set_num_threads(args.threads)
    optuna_quiet()
    out = args.out or (None if args.smoke else f"results/bench/{'gpu_' if device == 'cuda' else 'cpu_suite_'}")
    info, docs, budget = meta(prof, args.threads, argv), {}, Budget(prof.budget_s)
    print(f"gpu_suite: profile {prof.name} on {info['device']}, torch {info['torch']}, parts {','.join(parts)}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in [p for p in PARTS if p in parts]:
            docs[name] = run_part(name, prof, budget, args.threads, Path(tmp))
            file_part = "step" if name == "compile" else name  # compiled rows go beside the eager ones
            if out is not None:
                path = Path(f"{out}{file_part}.json")
                path.parent.mkdir(parents=True, exist_ok=True)
                body = {"meta": {**info, "load_average_end": os.getloadavg()}}
                body.update({k: docs[k] for k in docs if ("step" if k == "compile" else k) == file_part})
                path.write_text(json.dumps(body, indent=1, default=str))
    print_tables(docs)
    if out is not None:
        print(f"wrote {out}{{{','.join(sorted({'step' if p == 'compile' else p for p in docs}))}}}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
