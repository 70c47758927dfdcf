"""One run start to finish (muop.training.run.train_run): it learns and writes its outputs, measures the
error in physical units, records divergence, is deterministic, refuses a state it cannot resume, and
resumes bit for bit after being killed."""

import json
import math
from pathlib import Path

import pytest
import torch

from muop.config import with_fields
from muop.data import Datasets, OperatorData, prepare_data
from muop.errors import StateError
from muop.training import Trainer, complete, make_trainer, rel_l2, train_run
from processes import fault_config, kill, start_muop, wait_for


def test_training_reduces_error_and_writes_outputs(tiny, tmp_path):
    cfg = with_fields(tiny, train={"epochs": 6}, optimizer={"lr": 1e-2}, data={"stride": 2, "eval_strides": [1]})
    res = train_run(cfg, out_dir=tmp_path / "run")
    assert not res.diverged and math.isfinite(res.test_rel_l2)
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 6 and lines[-1]["train_loss"] < lines[0]["train_loss"]
    assert "64" in res.extra_test_rel_l2  # zero-shot evaluation at twice the training grid
    ck = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)  # loadable without unpickling code
    assert {"model", "config", "x_normalizer", "y_normalizer"} <= set(ck)


def test_metric_is_relative_l2_in_physical_units(tiny):
    """A run with normalisation and one without see the same targets: a model predicting zero
    has relative error exactly 1 in physical units, whatever the normaliser does."""
    data = prepare_data(tiny.data)
    assert float(rel_l2(torch.zeros_like(data.test.y), data.test.y)) == pytest.approx(1.0)
    res = train_run(with_fields(tiny, train={"epochs": 1}), data=data)
    assert 0 < res.test_rel_l2 < 5


def _shifted(d: OperatorData) -> OperatorData:
    """``d`` in other physical units: outputs 1000 + 50 y, so the output normaliser is far from identity."""
    return OperatorData(d.x, 1000 + 50 * d.y, d.source)


def test_loss_and_metric_are_taken_on_decoded_predictions(tiny):
    """The training loss and the test metric compare the *decoded* prediction with the target in physical
    units. On data whose normaliser is far from identity the normalised error is a very different number,
    so a loss or metric taken before decoding would not match the expected values below."""
    data = prepare_data(tiny.data)
    shifted = Datasets(train=_shifted(data.train), test=_shifted(data.test))
    trainer = Trainer(tiny, shifted)
    s = trainer.setup
    idx = torch.arange(8)
    x, y = shifted.train.x[idx], shifted.train.y[idx]
    with torch.no_grad():
        physical = float(rel_l2(s.y_normalizer.decode(s.model(s.x_normalizer.encode(x))), y))
        normalised = float(rel_l2(s.model(s.x_normalizer.encode(x)), s.y_normalizer.encode(y)))
    assert abs(normalised - physical) > physical  # the two readings differ by more than the quantity itself
    assert trainer.train_batch(idx) == pytest.approx(physical, rel=1e-5)  # the loss of the step, taken before it
    with torch.no_grad():
        want = float(rel_l2(s.predict(shifted.test.x), shifted.test.y))
    assert trainer.evaluate(shifted.test) == pytest.approx(want, rel=1e-5)


def test_divergence_is_recorded_not_raised(tiny):
    cfg = with_fields(tiny, optimizer={"name": "sgd", "lr": 1e6}, parametrization={"kind": "sp"})
    res = train_run(cfg)
    assert res.diverged and math.isnan(res.test_rel_l2)
    assert res.epochs_run <= 2


def test_same_seed_same_result(tiny):
    data = prepare_data(tiny.data)
    a, b = train_run(tiny, data=data), train_run(tiny, data=data)
    assert a.test_rel_l2 == b.test_rel_l2


@pytest.mark.parametrize("blob", [b"", b"garbage", b"PK\x03\x04 truncated zip"])
def test_a_broken_training_state_is_a_state_error(tiny, tmp_path, blob):
    out = tmp_path / "run"
    out.mkdir()
    (out / "state.pt").write_bytes(blob)
    with pytest.raises(StateError, match="state.pt cannot be read"):
        train_run(tiny, out_dir=out)
    assert (out / "state.pt").read_bytes() == blob  # never overwritten


# ---------------------------------------------------------------- faults, with a real process
def _weights(path: Path) -> dict:
    return torch.load(path, weights_only=True)["model"]


@pytest.mark.faults
def test_training_killed_mid_run_resumes_bit_for_bit(tmp_path, muop_cli):
    cfg = fault_config(tmp_path, epochs=12, n_train=120)
    ref = tmp_path / "ref"
    torch.set_num_threads(1)  # as the processes below (OMP_NUM_THREADS=1): the same sums, bit for bit
    code, _, err = muop_cli("train", "--config", str(cfg), "--out", str(ref))  # uninterrupted, in this process
    assert code == 0, err
    out = tmp_path / "run"
    p = start_muop("train", "--config", str(cfg), "--out", str(out))
    try:
        wait_for(
            lambda: (out / "state.pt").exists() and len((out / "metrics.jsonl").read_text().splitlines()) >= 5,
            what="epoch 5",
            alive=p,
        )
    finally:
        kill(p)
    assert not (out / "checkpoint.pt").exists()
    code, _, err = muop_cli("train", "--config", str(cfg), "--out", str(out))  # the rerun, in this process
    assert code == 0, err
    a, b = _weights(ref / "checkpoint.pt"), _weights(out / "checkpoint.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    ref_lines = [json.loads(x) for x in (ref / "metrics.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines] == list(range(1, 13))
    assert [x["train_loss"] for x in lines] == [x["train_loss"] for x in ref_lines]


def test_state_of_another_config_is_refused_not_overwritten(tmp_path, muop_cli):
    cfg = fault_config(tmp_path, epochs=2)
    assert muop_cli("train", "--config", str(cfg), "--out", str(tmp_path / "o"))[0] == 0
    before = (tmp_path / "o" / "state.pt").read_bytes()
    code, _, err = muop_cli("train", "--config", str(cfg), "--set", "optimizer.lr=0.05", "--out", str(tmp_path / "o"))
    assert code == 2 and "another config" in err and "Traceback" not in err
    assert (tmp_path / "o" / "state.pt").read_bytes() == before


def test_a_refused_state_lets_the_run_directory_go(tiny, tmp_path):
    """make_trainer takes the directory's lock, then refuses a state of another config: the lock is let go,
    so the same process can use the directory again (a notebook, a long-lived service)."""
    out = tmp_path / "run"
    train_run(tiny, out_dir=out)
    with pytest.raises(StateError, match="another config"):
        make_trainer(with_fields(tiny, model={"width": 12}), out)
    complete(make_trainer(tiny, out), out)  # not DirectoryInUse naming this very process
