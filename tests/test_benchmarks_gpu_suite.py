"""``benchmarks/gpu_suite.py --smoke`` (issue #24): every part of the GPU suite runs for one step at tiny shapes
on the CPU, writes its JSON with the device and versions, and says it skipped what needs 2 GPUs."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_suite_smoke_runs_every_part(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(ROOT / "benchmarks" / "gpu_suite.py"), "--smoke", "--out", str(tmp_path / "s_")]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert "ddp: skipped: needs 2 GPUs" in r.stdout
    docs = {p: json.loads((tmp_path / f"s_{p}.json").read_text()) for p in ("step", "memory", "sweep", "ddp")}
    assert docs["step"]["meta"]["device"] and docs["step"]["meta"]["torch"] == __import__("torch").__version__
    libs = {"muop", "neuralop-matched", "muop-neuralop-block", "neuralop-default"}
    step = docs["step"]["step"]["rows"]
    assert {(row["case"], row["precision"]) for row in step} == {
        (c, p) for c in ("2d-g16-w8-m4", "3d-g8-w4-m4") for p in ("fp32", "bf16")
    }
    assert all(set(row["median_ms"]) == libs and not row["errors"] for row in step)
    compiled = docs["step"]["compile"]["rows"]
    assert compiled and all("muop-neuralop-block+compile" in row["median_ms"] for row in compiled)
    memory = docs["memory"]["memory"]["rows"]
    assert all(len(row["peak_mib"]) == 6 and not row["errors"] for row in memory)
    sweep = docs["sweep"]["sweep"]["rows"]
    assert [row["precision"] for row in sweep] == ["fp32", "bf16"]
    assert all(set(row["regret"]) == {"sp", "mup"} for row in sweep)
    assert "skipped" in docs["ddp"]["ddp"]
