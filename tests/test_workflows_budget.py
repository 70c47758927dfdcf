"""Sweeps over the training budget (muop.workflows.sweep_spec, muop.workflows.sweep): epochs, training-set
size, grid and batch size as sweep axes, with the records, regret and drift entries of the size axes;
and the LR schedule, which runs over each run's own epochs (a 5-epoch proxy and a 40-epoch target
each get a whole cosine)."""

import math

import optuna
import pytest
import torch

from muop.config import with_fields
from muop.data import prepare_data
from muop.errors import UsageError
from muop.training.trainer import Trainer
from muop.workflows.sweep import SweepObjective, run_sweep
from muop.workflows.sweep_spec import BUDGET_AXES, Sweep, first_samples


def test_a_budget_axis_changes_only_its_field(tiny):
    cfg = with_fields(tiny, data={"n_train": 24, "n_val": 4}, parametrization={"base_width": 4})
    for axis, size, check in [
        ("epochs", 7, lambda c: c.train.epochs == 7),
        ("batch_size", 5, lambda c: c.train.batch_size == 5),
        ("resolution", 16, lambda c: c.data.stride == 4),  # 64 points / 16
        ("n_train", 10, lambda c: c.data == cfg.data),  # the data stays; the run takes the first 10 samples
    ]:
        for kind in ("sp", "mup"):
            run = Sweep(axis=axis, sizes=(size,), lrs=(1e-2,)).run_config(cfg, kind, size, 2e-3, 3)
            assert check(run), axis
            # the run's parametrization; the model and its μP base are the config's, whatever the axis
            assert run.parametrization == with_fields(cfg, parametrization={"kind": kind}).parametrization
            assert run.model == cfg.model and run.optimizer.lr == 2e-3 and run.train.seed == 3


def test_budget_axes_refuse_what_the_config_cannot_give(tiny, tmp_path):
    cfg = with_fields(tiny, data={"n_train": 24, "n_val": 4})
    (tmp_path / "d.npz").write_bytes(b"")
    from_file = with_fields(cfg, data={"problem": None, "path": str(tmp_path / "d.npz")})
    with pytest.raises(UsageError, match="a sweep over resolution needs a built-in data.problem"):
        Sweep(axis="resolution", sizes=(32,), lrs=(1e-2,)).run_config(from_file, "sp", 32, 1e-2, 0)
    with pytest.raises(UsageError, match=r"n_train 21: .* expected at most 20"):
        Sweep(axis="n_train", sizes=(10, 21), lrs=(1e-2,)).run_config(cfg, "sp", 21, 1e-2, 0)
    with pytest.raises(UsageError, match=r"resolution 48: expected a divisor of data.resolution=64"):
        Sweep(axis="resolution", sizes=(48,), lrs=(1e-2,)).run_config(cfg, "sp", 48, 1e-2, 0)
    with pytest.raises(UsageError, match="is the sweep's axis"):
        Sweep(axis="batch_size", sizes=(4, 8), hparam="batch_size", values=(4.0,))
    with pytest.raises(UsageError, match="expected one of modes, width, depth, epochs, n_train, resolution"):
        Sweep(axis="steps", sizes=(4,), lrs=(1e-2,))
    assert BUDGET_AXES == ("epochs", "n_train", "resolution", "batch_size")


def test_first_samples_is_a_prefix_and_keeps_the_test_and_validation_sets(tiny):
    data = prepare_data(with_fields(tiny, data={"n_val": 4}).data)
    sub = first_samples(data, 5)
    assert torch.equal(sub.train.x, data.train.x[:5]) and torch.equal(sub.train.y, data.train.y[:5])
    assert sub.test is data.test and sub.val is data.val and len(data.train) == 20


@pytest.mark.slow
def test_budget_sweeps_train_what_their_records_say(tiny, tmp_path):
    lrs = (3e-3, 3e-2)
    epochs = run_sweep(tiny, Sweep(axis="epochs", sizes=(1, 2, 3), lrs=lrs, parametrizations=("mup",)), tmp_path / "e")
    assert epochs["axis"] == "epochs" and epochs["spec"]["axis"] == "epochs"
    by = {(r["epochs"], r["lr"]): r for r in epochs["runs"]}
    assert all(r["epochs"] == r["size"] for r in epochs["runs"]) and len(by) == 6
    # training FLOPs count every epoch: 2 and 3 epochs cost exactly 2x and 3x one
    assert by[(2, 3e-3)]["train_flops"] == pytest.approx(2 * by[(1, 3e-3)]["train_flops"])
    assert by[(3, 3e-3)]["train_flops"] == pytest.approx(3 * by[(1, 3e-3)]["train_flops"])
    # regret of the 1-epoch proxy's LR at 2 and 3 epochs, and the drift model's at 3 (two smaller budgets)
    assert set(epochs["regret"]["mup"]) == {"2", "3"} and epochs["regret"]["mup"]["3"]["proxy_size"] == 1
    assert set(epochs["extrapolated"]["mup"]) == {"3"} and epochs["extrapolated"]["mup"]["3"]["proxies"] == [1, 2]
    assert all(r["regret"] >= 0 for r in epochs["regret"]["mup"].values())


def _record(objective: SweepObjective, job: dict) -> dict:
    """The record of one sweep job, trained by the sweep's objective outside a study."""
    trial = optuna.trial.FixedTrial(job)
    objective(trial)
    return trial.user_attrs["record"]


def test_n_train_and_resolution_runs_train_on_what_their_records_say(tiny):
    nt = Sweep(axis="n_train", sizes=(8, 16), lrs=(3e-3,), parametrizations=("sp",))
    obj = SweepObjective(tiny, nt, "x")
    small, big = (_record(obj, {"parametrization": "sp", "size": n, "lr": 3e-3, "seed": 0}) for n in (8, 16))
    assert (small["n_train"], big["n_train"]) == (8, 16)
    assert big["train_flops"] == pytest.approx(2 * small["train_flops"])  # an epoch over 16 samples, not 24
    res = Sweep(axis="resolution", sizes=(32, 64), lrs=(3e-3,), parametrizations=("sp",))
    obj = SweepObjective(tiny, res, "x")
    obj.prepare()  # as a worker does: the base data (64 points) loaded once; a coarse run must not train on it
    coarse, fine = (_record(obj, {"parametrization": "sp", "size": r, "lr": 3e-3, "seed": 0}) for r in (32, 64))
    assert coarse["resolution"] == 32 and coarse["train_flops"] < fine["train_flops"]
    assert coarse["test_rel_l2"] != fine["test_rel_l2"]


def _lr_factors(cfg, epochs: int) -> list[float]:
    """The LR of the first parameter group after each epoch of a run of ``epochs`` epochs, over its first LR."""
    run = with_fields(cfg, train={"epochs": epochs})
    trainer = Trainer(run, prepare_data(run.data))
    group = trainer.setup.optimizer.param_groups[0]
    first = group["lr"]
    out = []
    for _ in range(epochs):
        trainer.train_epoch()
        out.append(group["lr"] / first)
    return out


def test_the_cosine_schedule_runs_over_each_runs_own_epochs(tiny):
    """Cosine annealing (Loshchilov & Hutter 2017, without restarts, eta_min 0): after k of E epochs of
    equal steps the LR is (1 + cos(pi k / E)) / 2 of the first, so every run ends its schedule at 0."""
    cfg = with_fields(tiny, schedule={"name": "cosine"}, data={"n_train": 16}, train={"batch_size": 8})
    for epochs in (2, 6):
        got = _lr_factors(cfg, epochs)
        want = [(1 + math.cos(math.pi * k / epochs)) / 2 for k in range(1, epochs + 1)]
        assert got == pytest.approx(want, abs=1e-9), epochs
    # a budget sweep's runs: each its own whole schedule
    sweep = Sweep(axis="epochs", sizes=(2, 6), lrs=(1e-2,))
    short = _lr_factors(sweep.run_config(cfg, "mup", 2, 1e-2, 0), 2)
    assert short[-1] == pytest.approx(0.0, abs=1e-12) and short[0] == pytest.approx(0.5)
