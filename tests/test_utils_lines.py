"""Torn tails of every JSON-lines file muop appends to: cut the last record at every byte offset, and
the file keeps every complete record, the cut bytes go to a backup, and the next writer works.

Covers :func:`muop.utils.lines.repair_tail` and its three users: Optuna journals
(:func:`muop.study.resolve_storage`), a sweep's ``runs.jsonl`` (:class:`muop.workflows.sweep_records.RunsView`)
and a run's ``metrics.jsonl`` (:class:`muop.training.MetricsLog`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest

from muop.errors import StorageError
from muop.study import resolve_storage
from muop.training import MetricsLog
from muop.utils.lines import first_bad_line, repair_tail
from muop.workflows.sweep_records import RunsView

RECORDS = [{"epoch": i, "train_loss": 1.0 / (i + 1), "note": "x" * i} for i in range(1, 6)]


def _text(records: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def _cuts(data: bytes) -> range:
    """Every length from the start of the last record to the whole file (all cuts of the last record)."""
    return range(data.rindex(b"\n", 0, len(data) - 1) + 1, len(data) + 1)


def _torn(data: bytes, cut: int) -> bool:
    """Whether ``data[:cut]`` ends inside the last record (not at its start, not where only its newline is missing)."""
    return _cuts(data)[0] < cut < len(data) - 1


def test_repair_tail_keeps_every_complete_record_at_every_cut(tmp_path, caplog):
    data = _text(RECORDS)
    for cut in _cuts(data):
        path = tmp_path / f"cut{cut}.jsonl"
        path.write_bytes(data[:cut])
        with caplog.at_level(logging.WARNING, logger="muop"):
            backup = repair_tail(path)
        kept = [json.loads(line) for line in path.read_text().splitlines()]
        whole = cut >= len(data) - 1  # the last record is complete (its newline may be missing)
        assert kept == (RECORDS if whole else RECORDS[:-1])
        assert path.read_bytes().endswith(b"\n")
        if not _torn(data, cut):
            assert backup is None
        else:  # the cut bytes are kept, and said so in one line
            assert backup.read_bytes() == data[len(path.read_bytes()) : cut]
            assert str(backup) in caplog.records[-1].getMessage()


def test_a_damaged_line_inside_is_found_not_cut(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_bytes(_text(RECORDS[:2]) + b"{garbage\n" + _text(RECORDS[2:]))
    assert repair_tail(path) is None and first_bad_line(path) == 3


def _journal_with_trials(path: Path, n: int) -> None:
    study = optuna.create_study(study_name="s", storage=resolve_storage(f"journal:{path}", "."))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=n)


def test_a_torn_journal_loses_no_finished_trial_and_takes_new_ones(tmp_path):
    """The issue's case: ``muop tune --storage journal:j.log`` on a journal whose last line was cut stopped with
    a JSONDecodeError traceback. Now every cut of the last record keeps the trials finished before it."""
    whole = tmp_path / "whole.log"
    _journal_with_trials(whole, 3)
    data = whole.read_bytes()
    for cut in _cuts(data):
        path = tmp_path / f"j{cut}.log"
        path.write_bytes(data[:cut])
        study = optuna.load_study(study_name="s", storage=resolve_storage(f"journal:{path}", "."))
        finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        assert len(finished) >= 2  # the last record is the third trial's last state change
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)  # the next writer works ...
        again = optuna.load_study(study_name="s", storage=resolve_storage(f"journal:{path}", "."))
        assert len(again.trials) == len(study.trials)  # ... and the journal reads back whole


def test_a_journal_damaged_inside_is_one_line_that_says_how_to_repair(tmp_path):
    path = tmp_path / "j.log"
    _journal_with_trials(path, 2)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:2]) + b"not json\n" + b"".join(lines[2:]))
    with pytest.raises(StorageError, match=r"line 3 is not a JSON record .*head -n 2") as e:
        resolve_storage(f"journal:{path}", ".")
    assert "\n" not in str(e.value)


def test_runs_jsonl_torn_tail_is_repaired_on_sync(tmp_path):
    runs = [{"parametrization": "mup", "size": 8, "lr": 10.0**-i, "seed": 0, "config_hash": "h"} for i in range(5)]
    data = _text([{**r, **run} for r, run in zip(RECORDS, runs)])
    study = optuna.create_study()
    for cut in _cuts(data):
        path = tmp_path / f"runs{cut}.jsonl"
        path.write_bytes(data[:cut])
        RunsView(path, ["h"]).sync(study)
        kept = path.read_text().splitlines()
        assert len(kept) == (len(RECORDS) if cut >= len(data) - 1 else len(RECORDS) - 1)
        assert all(json.loads(line) for line in kept)


def test_metrics_jsonl_torn_tail_is_repaired_on_resume(tmp_path):
    data = _text(RECORDS)
    for cut in _cuts(data):
        out = tmp_path / f"run{cut}"
        out.mkdir()
        (out / "metrics.jsonl").write_bytes(data[:cut])
        log = MetricsLog(out)
        log.on_fit_start(SimpleNamespace(state=SimpleNamespace(epoch=5)))  # resuming after epoch 5
        log.on_fit_end(None)
        kept = [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]
        assert kept == ([1, 2, 3, 4, 5] if cut >= len(data) - 1 else [1, 2, 3, 4])
        assert len(list(out.glob("metrics.jsonl.torn-*"))) == int(_torn(data, cut))
