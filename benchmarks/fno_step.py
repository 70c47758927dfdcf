"""Time one training step (forward + relative-L2 loss + backward + Adam) of muop's FNO against
neuraloperator's FNO at matched shapes, and compare peak memory.

Cases (issue #2): 2-D 64², width 32, n_modes 16 (neuraloperator convention, muop
modes (8, 9), the identical kept frequency set), 4 layers, batch 8; plus a 1-D and a 3-D case.

muop's FNO is timed with both of its blocks (``FNOConfig.block``), each against the neuraloperator
configuration of the same architecture:

* ``matched``: the same architecture as muop's FNO (single-layer lifting, spectral conv + linear
  1×1 skip per layer, no channel MLP, 2-layer projection with 2×width hidden channels, grid
  coordinates as extra inputs). Parameter counts are printed so the match can be checked.
  (Note: with ``use_channel_mlp=False`` neuraloperator 2.0.0 applies its activation twice per
  layer; that costs it one extra elementwise pass.)
* ``default``: ``neuralop.models.FNO`` with its defaults for everything but the shapes; muop's
  ``block="neuralop"`` FNO is the same architecture (equal with copied weights,
  tests/test_adapters_neuralop.py), timed as ``muop-neuralop-block``.

Timing alternates the models step by step in one process and reports medians; the ratios are
``median(neuralop-matched) / median(muop)`` (classic block) and ``median(neuralop-default) /
median(muop-neuralop-block)`` (> 1 means muop is faster). Peak memory is measured in a fresh
subprocess per model: on the CPU the growth of the process's peak RSS during the steps, on a GPU
(``--device cuda``) ``torch.cuda.max_memory_allocated`` over the steps (weights included).

Usage::

    python benchmarks/fno_step.py [--repeats 30] [--threads 2] [--out results/bench/fno_step.json]
    python benchmarks/fno_step.py --device cuda --out results/bench/fno_step_cuda.json

``benchmarks/gpu_suite.py`` reuses these pieces (mixed precision, compiled models, more shapes).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

import torch

warnings.filterwarnings("ignore")

CASES = {
    "1d": dict(n_modes=(32,), grid=(1024,), width=64, batch=16),
    "2d": dict(n_modes=(16, 16), grid=(64, 64), width=32, batch=8),
    "3d": dict(n_modes=(12, 12, 12), grid=(32, 32, 32), width=20, batch=2),
}


def build(lib: str, case: dict, seed: int = 0) -> torch.nn.Module:
    """The model ``lib`` names at ``case``'s shape. muop's names may end in ``/real`` or ``/complex``: the
    spectral contraction's path (``SpectralConv.contraction``; default ``real``)."""
    torch.manual_seed(seed)
    lib, _, contraction = lib.partition("/")
    if lib in ("muop", "muop-neuralop-block"):
        from muop import FNO, FNOConfig, modes_from_neuralop
        from muop.models import SpectralConv

        block = "classic" if lib == "muop" else "neuralop"
        cfg = FNOConfig(
            modes=modes_from_neuralop(case["n_modes"]), width=case["width"], depth=4, projection_ratio=2.0, block=block
        )
        model = FNO(cfg)
        for m in model.modules():
            if isinstance(m, SpectralConv) and contraction:
                m.contraction = contraction
        return model
    from neuralop.models import FNO as NFNO

    common = dict(n_modes=case["n_modes"], in_channels=1, out_channels=1, hidden_channels=case["width"], n_layers=4)
    if lib == "neuralop-matched":
        return NFNO(
            **common, lifting_channel_ratio=0, projection_channel_ratio=2, use_channel_mlp=False, fno_skip="linear"
        )
    if lib == "neuralop-default":
        return NFNO(**common)
    raise ValueError(lib)


AUTOCAST = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def make_step(
    model: torch.nn.Module, case: dict, seed: int = 1, device: str = "cpu", precision: str = "fp32", runner=None
):
    """One training step of ``model`` (moved to ``device``) on a fixed random batch of ``case``'s
    shape: forward (under autocast to ``precision``'s dtype, the loss in float32), backward, Adam.
    ``runner`` is what is called on the batch (default the model; e.g. its compiled version).
    Returns a function that runs the step and returns the loss."""
    dev = torch.device(device)
    model.to(dev)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(case["batch"], 1, *case["grid"], generator=g).to(dev)
    y = torch.randn(case["batch"], 1, *case["grid"], generator=g).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    dtype, run = AUTOCAST[precision], (model if runner is None else runner)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=dtype) if dtype else nullcontext():
            out = run(x)
        diff = (out.float() - y).flatten(1).norm(dim=1) / y.flatten(1).norm(dim=1)
        loss = diff.mean()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def fp32_fft(model: torch.nn.Module) -> torch.nn.Module:
    """neuraloperator's usual workaround under autocast: each ``SpectralConv`` gets its input in
    float32 (a forward pre-hook), so its FFTs and complex contraction run in float32."""
    from neuralop.layers.spectral_convolution import SpectralConv

    for m in model.modules():
        if isinstance(m, SpectralConv):
            m.register_forward_pre_hook(lambda _mod, args: (args[0].float(), *args[1:]))
    return model


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())


def time_case(case: dict, libs: list[str], repeats: int, warmup: int = 3, device: str = "cpu") -> dict:
    steps = {lib: make_step(build(lib, case), case, device=device) for lib in libs}
    times: dict[str, list[float]] = {lib: [] for lib in libs}
    for _ in range(warmup):
        for lib in libs:
            steps[lib]()
    for _ in range(repeats):
        for lib in libs:
            t0 = time.perf_counter()
            steps[lib]()
            times[lib].append(time.perf_counter() - t0)
    return {lib: statistics.median(ts) for lib, ts in times.items()}


def measure_peak(spec: dict) -> dict:
    """Peak memory of ``spec["steps"]`` training steps of ``spec["lib"]`` at ``spec["case"]`` (a case
    dict) on ``spec.get("device", "cpu")`` in ``spec.get("precision", "fp32")``, muop's FNO with
    ``spec.get("checkpoint")`` checkpointing its layers.

    On a GPU: ``{"cuda_max_allocated_mib"}``, ``torch.cuda.max_memory_allocated`` from before the model
    is built to the end of the steps, less what was allocated before (weights, gradients, Adam state,
    activations and the batch: this model's own peak; exact in a used process too, since it counts
    live tensors, not the allocator's cache). On the CPU: ``{"peak_rss_growth_mib"}``, the growth of
    this process's peak RSS during the steps (Linux), meant for a fresh process (:func:`peak_memory`):
    in a used one freed memory is reused and the growth understated."""
    case, device = spec["case"], spec.get("device", "cpu")
    cuda = device.startswith("cuda")
    if cuda:
        gc.collect()
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    model = build(spec["lib"], case)
    if spec.get("checkpoint"):
        model.checkpoint_activations()
    if spec.get("fp32_fft"):
        fp32_fft(model)
    step = make_step(model, case, device=device, precision=spec.get("precision", "fp32"))
    if cuda:
        for _ in range(spec["steps"]):
            step()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
        del model, step
        gc.collect()
        torch.cuda.empty_cache()
        return {"cuda_max_allocated_mib": peak / 2**20}
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS high-water mark (Linux)
    before = _status_kib("VmRSS")
    for _ in range(spec["steps"]):
        step()
    return {"peak_rss_growth_mib": (_status_kib("VmHWM") - before) / 1024}


def _peak_child(spec_json: str) -> None:
    """Run in a subprocess: print :func:`measure_peak` of the JSON spec as one JSON line."""
    print(json.dumps(measure_peak(json.loads(spec_json))))


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status (Linux only)")


def peak_memory(spec: dict, threads: int) -> dict:
    """:func:`measure_peak` of ``spec`` in a fresh Python process with ``threads`` torch threads."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import fno_step as b; import torch; "
        f"torch.set_num_threads({threads}); b._peak_child(sys.argv[1])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(spec)], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=30, help="timed steps per model (alternating)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--cases", default="1d,2d,3d", help="comma-separated subset of 1d,2d,3d")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (memory: CUDA max allocated)")
    ap.add_argument("--out", default="results/bench/fno_step.json", help="JSON output path")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    libs = ["muop", "neuralop-matched", "muop-neuralop-block", "neuralop-default"]
    mem_key = "cuda_max_allocated_mib" if args.device.startswith("cuda") else "peak_rss_growth_mib"
    rows = []
    for name in args.cases.split(","):
        case = CASES[name]
        med = time_case(case, libs, args.repeats, device=args.device)
        mem = {
            lib: peak_memory({"lib": lib, "case": case, "steps": 3, "device": args.device}, args.threads)[mem_key]
            for lib in libs
        }
        params = {lib: n_params(build(lib, case)) for lib in libs}
        row = {
            "case": name,
            **{k: (list(v) if isinstance(v, tuple) else v) for k, v in case.items()},
            "median_step_s": med,
            mem_key: mem,
            "params": params,
            "speedup_vs_matched": med["neuralop-matched"] / med["muop"],
            "speedup_vs_default": med["neuralop-default"] / med["muop"],
            "speedup_block_vs_default": med["neuralop-default"] / med["muop-neuralop-block"],
            "memory_ratio_vs_matched": mem["muop"] / max(mem["neuralop-matched"], 1e-9),
            "memory_ratio_block_vs_default": mem["muop-neuralop-block"] / max(mem["neuralop-default"], 1e-9),
        }
        rows.append(row)
    try:
        from rich.console import Console
        from rich.table import Table

        where = args.device if args.device.startswith("cuda") else f"{args.threads} CPU threads"
        t = Table(title=f"FNO training step, {where}, median of {args.repeats}")
        for col in [
            "case",
            "muop ms",
            "nop-matched ms",
            "speedup classic",
            "muop nop-block ms",
            "nop-default ms",
            "speedup nop-block",
            "peak MiB muop / matched",
            "peak MiB block / default",
            "params block / default",
        ]:
            t.add_column(col, justify="right")
        for r in rows:
            m, p, n = r["median_step_s"], r[mem_key], r["params"]
            t.add_row(
                r["case"],
                f"{m['muop'] * 1e3:.1f}",
                f"{m['neuralop-matched'] * 1e3:.1f}",
                f"{r['speedup_vs_matched']:.2f}x",
                f"{m['muop-neuralop-block'] * 1e3:.1f}",
                f"{m['neuralop-default'] * 1e3:.1f}",
                f"{r['speedup_block_vs_default']:.2f}x",
                f"{p['muop']:.0f} / {p['neuralop-matched']:.0f}",
                f"{p['muop-neuralop-block']:.0f} / {p['neuralop-default']:.0f}",
                f"{n['muop-neuralop-block']} / {n['neuralop-default']}",
            )
        Console().print(t)
    except ImportError:  # pragma: no cover
        print(json.dumps(rows, indent=1))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
        "threads": args.threads,
        "repeats": args.repeats,
        "machine": platform.processor() or platform.machine(),
        "command": "python benchmarks/fno_step.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
