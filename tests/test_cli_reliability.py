"""The command line refuses, in one line and with exit 2, what cannot work, before anything starts:
two commands on one run directory, configs that would silently lose a section or fall back to defaults,
and sizes that cannot finish (issue #23's cases)."""

from __future__ import annotations

import json
import time

import pytest

from muop.cli import main
from muop.utils.locks import RunDirLock

TINY = (
    "data: {problem: burgers, n_train: 16, n_test: 4, resolution: 32, params: {T: 0.1}, cache_dir: CACHE}\n"
    "model: {modes: [4], width: 8, depth: 1}\ntrain: {epochs: 1, batch_size: 8}\n"
)


def _err(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("muop: error: ") and "Traceback" not in err, err
    return err


def test_two_commands_never_write_one_run_directory(tmp_path, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(TINY.replace("CACHE", str(tmp_path / "cache")))
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--out", str(out)]) == 0
    with RunDirLock(out):  # a first command still writing (its lock file names it: taken before the snapshot)
        before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
        assert main(["train", "--config", str(cfg), "--out", str(out)]) == 2
        assert "another muop command is writing this run directory" in _err(capsys)
        assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before  # nothing touched


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("data: {n_train: 30}\nmodel: {width: 8}\ndata: {n_test: 4}\n", "line 3, column 1: key 'data' is given twice"),
        ("data:\n  n_train: 3\n  n_train: 4\n", "key 'n_train' is given twice (first at line 2)"),
        ("# only a comment\n", "is empty; expected a YAML run config"),
        ("{}\n", "has no sections; expected some of data, model"),
    ],
)
def test_configs_that_would_lose_a_section_or_fall_back_to_defaults(tmp_path, capsys, text, message):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(text)
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "run")]) == 2
    assert message in _err(capsys)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sweep", "--widths", "8,16", "--lrs", "1e-4,1e-1,1000000"], "n=1000000: expected at most 1000"),
        (["sweep", "--widths", "8,16,32,64,128", "--lrs", "1e-4,1e-1,1000", "--seeds", "3"], "30000 runs"),
        (
            ["data", "generate", "burgers", "--n-train", "8", "--n-test", "2", "--resolution", "100000000"],
            "resolution=",
        ),
        (["data", "generate", "burgers", "--n-train", "1000000000", "--n-test", "2", "--resolution", "64"], "GiB free"),
    ],
)
def test_sizes_that_cannot_finish_are_refused_at_once(tmp_path, capsys, args, message):
    out = tmp_path / ("x.h5" if args[0] == "data" else "sweep")
    t0 = time.perf_counter()
    assert main([*args, "--out", str(out)]) == 2
    assert message in _err(capsys)
    assert time.perf_counter() - t0 < 30  # refused, not hung (the bound is loose on purpose: a loaded CI machine)
    assert not out.exists()


def test_tune_on_a_torn_journal_resumes(tmp_path, capsys):
    """The issue's first case, end to end: the journal's last line is cut; ``muop tune`` finishes the study."""
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(TINY.replace("CACHE", str(tmp_path / "cache")))
    journal = tmp_path / "j.log"
    # a short heartbeat: the trial whose last record was cut looks alive to this same process for 6 beats
    args = ["tune", "--config", str(cfg), "--study", "s", "--storage", f"journal:{journal}", "--heartbeat", "0.5"]
    assert main([*args, "--trials", "1"]) == 0
    journal.write_bytes(journal.read_bytes()[:-9])  # the last record cut short
    capsys.readouterr()
    assert main([*args, "--trials", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_trials"] == 2
    assert list(tmp_path.glob("j.log.torn-*"))
