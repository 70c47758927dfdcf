"""Data-parallel training (muop.training.distributed, issue #16) on the CPU with gloo: 2 processes train
what 1 does, μP survives DDP and FSDP, states move between process counts, bad input is one line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ddp_worker import StopAfter
from muop.cli import main
from muop.config import with_fields
from muop.data import prepare_data
from muop.errors import UsageError
from muop.training import Distributed, Trainer, launch, train_run
from muop.training.distributed import check_batch, check_plan, wrap

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.slow


def _torchrun(*args: str, nproc: int = 2) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return r


@pytest.fixture
def cfg_file(tiny, tmp_path):
    """The tiny run with 25 samples in batches of 8: the last batch (1 sample) leaves one rank empty."""
    cfg = with_fields(tiny, data={"n_train": 25}, train={"epochs": 3, "checkpoint_every": 1})
    prepare_data(cfg.data)  # generated once, before the processes read it
    path = tmp_path / "cfg.yaml"
    path.write_text(cfg.to_yaml())
    return cfg, path


@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_two_processes_train_what_one_does(cfg_file, tmp_path, parallel):
    """Replicated (DDP) or sharded (FSDP), two processes train the one-process model: the same errors to
    1e-3 relative (the gradient all-reduce sums in another order; a wrong scaling of the shards' losses
    or a lost sample would be off by far more)."""
    cfg, path = cfg_file
    one = train_run(cfg)
    _torchrun(
        "-m",
        "muop.cli",
        "train",
        "--config",
        str(path),
        "--set",
        f"train.parallel={parallel}",
        "--out",
        str(tmp_path / "two"),
    )
    two = json.loads((tmp_path / "two" / "result.json").read_text())
    assert abs(two["test_rel_l2"] - one.test_rel_l2) <= 1e-3 * one.test_rel_l2
    assert abs(two["train_loss"] - one.train_loss) <= 1e-3 * one.train_loss
    lines = (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3  # one writer: rank 0


def test_mup_learning_rates_survive_ddp_and_fsdp(cfg_file, tmp_path):
    _, path = cfg_file
    assert "plan ok" in _torchrun(str(HERE / "ddp_worker.py"), "plan", str(path), str(tmp_path / "x")).stdout


@pytest.mark.parametrize("first,then,parallel", [(2, 1, "ddp"), (1, 2, "ddp"), (2, 1, "fsdp")])
def test_a_state_saved_by_n_processes_resumes_on_m(cfg_file, tmp_path, first, then, parallel):
    """A state saved by N processes resumes on M and ends where the uninterrupted run does; an FSDP state
    (gathered whole, by name) saved by 2 sharded processes resumes on one."""
    cfg, path = cfg_file
    if parallel != "ddp":
        cfg = with_fields(cfg, train={"parallel": parallel})
        path.write_text(cfg.to_yaml())
    state = str(tmp_path / "state.pt")
    data = prepare_data(cfg.data)
    whole = Trainer(cfg, data)
    whole.fit()
    expected = whole.evaluate(data.test)
    for nproc, mode in ((first, "save"), (then, "resume")):
        if nproc == 1:
            _local(mode, cfg, data, state)
        else:
            _torchrun(str(HERE / "ddp_worker.py"), mode, str(path), state, nproc=nproc)
    final = torch.load(state + ".final", weights_only=True)
    assert abs(final["test"] - expected) <= 1e-3 * expected
    for k, v in whole.setup.model.state_dict().items():
        torch.testing.assert_close(final["model"][k], v, rtol=1e-3, atol=1e-5)


def _local(mode: str, cfg, data, state: str) -> None:
    """The one-process side of test_a_state_saved_by_n_processes_resumes_on_m (as ddp_worker.py does)."""
    if mode == "save":
        trainer = Trainer(cfg, data, callbacks=[StopAfter(2)])
        trainer.fit()
        torch.save(trainer.state_dict(), state)
    else:
        trainer = Trainer(cfg, data)
        trainer.load_state_dict(torch.load(state, weights_only=True))
        trainer.fit()
        torch.save({"model": trainer.model_state(), "test": trainer.evaluate(data.test)}, state + ".final")


def test_a_batch_smaller_than_the_processes_is_one_line():
    with pytest.raises(UsageError, match="train.batch_size=2: smaller than the 4 processes"):
        check_batch(2, 100, 4)
    check_batch(4, 100, 4)
    shards = [
        Distributed(rank=r, world=3, local_rank=r, backend="gloo").shard(torch.arange(8)).tolist() for r in range(3)
    ]
    assert shards == [[0, 1, 2], [3, 4, 5], [6, 7]]  # contiguous shares of the global batch
    assert Distributed(rank=2, world=3, local_rank=2, backend="gloo").shard(torch.arange(2)).numel() == 0


def test_fsdp_on_a_torch_without_it_is_one_line(monkeypatch):
    import torch.distributed.fsdp as fsdp

    monkeypatch.delattr(fsdp, "fully_shard")
    with pytest.raises(UsageError, match="train.parallel='fsdp': this torch .* has no fully_shard"):
        wrap(torch.nn.Linear(2, 2), None, Distributed(0, 2, 0, "gloo"), "fsdp")
    with pytest.raises(UsageError, match="--nproc 0"):
        launch(0, ["train"])


def test_nproc_launches_torchrun_and_one_process_reports(cfg_file, tmp_path, monkeypatch, capfd):
    """``muop train --nproc 2`` (in this process) starts torchrun; the processes write to this one's stdout."""
    _, path = cfg_file
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "run"), "--nproc", "2"]) == 0
    out, err = capfd.readouterr()
    assert out.count('"test_rel_l2"') == 1, err[-2000:]  # rank 0 alone prints the result
    assert json.loads((tmp_path / "run" / "result.json").read_text())["epochs_run"] == 3


def test_check_plan_catches_a_parameter_the_optimizer_no_longer_updates(tiny):
    setup = Trainer(tiny, prepare_data(tiny.data)).setup
    check_plan(setup.optimizer, setup.plan, setup.model, tiny.optimizer.lr, "adam")
    layer = setup.model.layers[0].pointwise
    layer.weight = torch.nn.Parameter(layer.weight.detach().clone())  # what a wrapper without rebind would leave
    with pytest.raises(RuntimeError, match="no longer uses"):
        check_plan(setup.optimizer, setup.plan, setup.model, tiny.optimizer.lr, "adam")
