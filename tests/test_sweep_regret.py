"""Regret in every sweep, and sweeps of hyperparameters other than the LR (muop.sweep: Sweep.hparam,
HPARAMS, sweep_summary; the sweep command's --hparam, --values and --proxy)."""

import json
import math

import pytest

import muop.sweep
from muop.cli import main
from muop.config import config_hash, with_fields
from muop.errors import UsageError
from muop.sweep import HPARAMS, Sweep, _sweep_idents, run_sweep, sweep_summary
from test_regret import HAND


def test_sweep_summary_leads_with_regret_of_every_target():
    doc = sweep_summary(HAND, "width")
    assert doc["hparam"] == "lr" and doc["regret_proxy"] == {"mup": 8}
    assert set(doc["regret"]["mup"]) == {"16", "32"} and doc["regret"]["mup"]["32"]["regret"] == pytest.approx(1.0)
    assert doc["regret"]["mup"]["16"]["ci"] == pytest.approx([0.0, 2.0], abs=1e-9)
    assert doc["flat"]["mup"] == {"8": False, "16": False, "32": False} and "drift_excluding_flat" in doc
    assert sweep_summary(HAND, "width", proxy=16)["regret_proxy"] == {"mup": 16}


def test_an_hparam_sweep_varies_that_field_and_keeps_the_lr(tiny):
    cfg = with_fields(
        tiny, optimizer={"lr": 2e-3, "betas": [0.8, 0.999]}, parametrization={"multipliers": {"input": 3.0}}
    )
    for name, value, check in [
        ("init_scale", 0.5, lambda c: c.parametrization.init_scale == 0.5),
        ("output_mult", 2.0, lambda c: c.parametrization.multipliers == {"input": 3.0, "output": 2.0}),
        ("weight_decay", 1e-3, lambda c: c.optimizer.weight_decay == 1e-3),
        ("beta2", 0.95, lambda c: c.optimizer.betas == [0.8, 0.95]),
        ("batch_size", 4.0, lambda c: c.train.batch_size == 4 and isinstance(c.train.batch_size, int)),
    ]:
        sweep = Sweep(axis="width", sizes=(8, 16), hparam=name, values=(value,))
        run = sweep.run_config(cfg, "mup", 16, value, 1)
        assert (
            check(run)
            and run.optimizer.lr == 2e-3
            and run.model.width == 16
            and run.parametrization.base_width == 8
            and run.train.seed == 1
        ), name
        assert sweep.jobs()[0] == {"parametrization": "sp", "size": 8, "value": value, "seed": 0}
    assert Sweep(axis="width", sizes=(8,), lrs=(1e-3,)).jobs()[0] == {
        "parametrization": "sp",
        "size": 8,
        "lr": 1e-3,
        "seed": 0,
    }  # LR jobs as before


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(hparam="init_scal", values=(1.0,)), "hyperparameter 'init_scal' cannot be swept"),
        (dict(hparam="beta2", values=(0.9, 1.0)), r"numbers in \(0, 1\) for beta2"),
        (dict(hparam="batch_size", values=(8, 12.5)), "positive integers"),
        (dict(hparam="init_scale", values=(1.0,), lrs=(1e-3,)), "keeps the config's LR"),
        (dict(lrs=(1e-3,), proxy=12), r"proxy size 12 is not in the sweep \(sizes: 8, 16\)"),
    ],
)
def test_sweep_spec_errors_are_one_line(kw, match):
    with pytest.raises(UsageError, match=match) as err:
        Sweep(axis="width", sizes=(8, 16), **kw)
    assert "\n" not in str(err.value)


def test_an_lr_sweep_keeps_its_identity_and_an_hparam_sweep_has_its_own(tiny):
    lr = Sweep(axis="width", sizes=(8, 16), lrs=(1e-3,))
    assert _sweep_idents(tiny, lr)[0] == config_hash({"base": tiny.to_dict(), "axis": "width", "base_size": 8})
    hp = Sweep(axis="width", sizes=(8, 16), hparam="init_scale", values=(1.0,))
    assert not set(_sweep_idents(tiny, hp)) & set(_sweep_idents(tiny, lr))


def test_hparam_sweep_end_to_end_records_regret_and_resumes(tiny, tmp_path, monkeypatch):
    sweep = Sweep(
        axis="width",
        sizes=(8, 16),
        hparam="init_scale",
        values=(0.5, 2.0),
        parametrizations=("mup",),
        seeds=(0, 1),
        proxy=16,
    )
    doc = run_sweep(tiny, sweep, tmp_path / "s")
    runs = [json.loads(line) for line in (tmp_path / "s" / "runs.jsonl").read_text().splitlines()]
    assert len(runs) == 8 and all(
        r["hparam"] == "init_scale" and r["value"] in (0.5, 2.0) and "lr" not in r for r in runs
    )
    assert doc["hparam"] == "init_scale" and doc["regret_proxy"] == {"mup": 16} and set(doc["regret"]["mup"]) == {"8"}
    e = doc["regret"]["mup"]["8"]
    assert e["regret"] >= 0 and e["ci"][0] <= e["regret"] <= e["ci"][1] and e["proxy_size"] == 16
    assert set(doc["mean_test_rel_l2"]["mup"]["8"]) == {f"{v:.6e}" for v in (0.5, 2.0)}
    saved = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert saved["spec"]["hparam"] == "init_scale" and saved["regret"] == json.loads(json.dumps(doc["regret"]))
    assert (tmp_path / "s" / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    monkeypatch.setattr(muop.sweep, "train_run", lambda *a, **k: pytest.fail("a finished run was trained again"))
    (tmp_path / "s" / "sweep.journal").unlink()  # runs.jsonl alone: imported into a new study
    again = run_sweep(tiny, sweep, tmp_path / "s")
    assert again["regret"] == doc["regret"]


def test_lr_sweep_writes_regret_and_the_cli_table_leads_with_it(tiny, tmp_path, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(tiny.to_yaml())
    assert (
        main(
            [
                "sweep",
                "--config",
                str(cfg),
                "--widths",
                "8,16",
                "--lrs",
                "1e-3,3e-2,3",
                "--parametrization",
                "mup",
                "--out",
                str(tmp_path / "s"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "mup regret [95% CI]" in out and out.index("regret") < out.index("best LR")
    doc = json.loads((tmp_path / "s" / "sweep.json").read_text())
    e = doc["regret"]["mup"]["16"]
    assert math.isfinite(e["regret"]) and len(e["ci"]) == 2 and doc["spec"]["hparam"] == "lr"


@pytest.mark.parametrize(
    "argv, match",
    [
        (
            ["--widths", "8,16", "--lrs", "1e-3,1e-2,3", "--proxy", "32"],
            "proxy size 32 is not in the sweep (sizes: 8, 16)",
        ),
        (
            ["--widths", "8,16", "--hparam", "init_scal", "--values", "1,2"],
            "--hparam 'init_scal': not a hyperparameter a sweep can vary; expected one of lr, init_scale",
        ),
        (["--widths", "8,16", "--hparam", "init_scale"], "--hparam init_scale needs --values"),
        (
            ["--widths", "8,16", "--hparam", "beta2", "--values", "0.9,x"],
            "--values '0.9,x': expected comma-separated numbers",
        ),
        (["--widths", "8,16"], "an LR sweep needs --lrs"),
    ],
)
def test_bad_sweep_options_are_one_line_errors(argv, match, tmp_path, capsys):
    assert main(["sweep", *argv, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err
    assert not (tmp_path / "s").exists()


def test_every_hparam_names_what_it_sets():
    assert {"lr", "init_scale", "input_mult", "output_mult", "weight_decay", "beta2", "batch_size"} <= set(HPARAMS)


def test_an_old_sweep_without_block_is_refused_with_the_reason(tmp_path):
    """A sweep recorded before muop 0.2 ran the classic block; rerun from a YAML without ``block`` (now
    neuralop), its directory is refused, and the message says to add ``block: classic``."""
    import json
    from dataclasses import asdict

    from muop.config import RunConfig, with_fields
    from muop.errors import UsageError
    from muop.sweep import Sweep, _refuse_another_sweep, _sweep_idents

    sweep = Sweep(axis="width", sizes=(8, 16), lrs=(1e-3,))
    classic = with_fields(RunConfig(), model={"block": "classic"})
    old = classic.to_dict()
    del old["model"]["block"]  # as written before the field existed
    (tmp_path / "sweep.json").write_text(json.dumps({"base_config": old, "spec": asdict(sweep)}))
    _refuse_another_sweep(tmp_path, _sweep_idents(classic, sweep), classic)  # same sweep: accepted
    with pytest.raises(UsageError, match=r"it was run with model.block='classic'.*add block: classic"):
        _refuse_another_sweep(tmp_path, _sweep_idents(RunConfig(), sweep), RunConfig())


def test_the_plot_cuts_blown_up_runs_off_the_top(tmp_path, monkeypatch):
    """A run that blew up (error 5e7, finite, not flagged diverged) must not squash the other curves."""
    import matplotlib.pyplot as plt

    from muop.curves import plot_sweep

    runs = [dict(r) for r in HAND]
    runs[0]["test_rel_l2"] = 5e7
    figs, close = [], plt.close
    monkeypatch.setattr(plt, "close", figs.append)  # keep the figure to read its axes
    plot_sweep(sweep_summary(runs, "width"), tmp_path / "cut.png")
    plot_sweep(sweep_summary(HAND, "width"), tmp_path / "plain.png")
    cut, plain = (f.axes[0] for f in figs)
    for f in figs:
        close(f)
    assert cut.get_ylim()[1] == 10.0 and any("off the top" in t.get_text() for t in cut.texts)
    assert plain.get_ylim()[1] < 10.0 and not plain.texts
