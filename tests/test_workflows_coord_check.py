"""The coordinate check as a diagnostic (muop.workflows.coord_check): μP is flat over width, SP and a
broken rule are not; over depth, a dropped depth exponent shows; a config's neuraloperator model is
checked too. Rule tables are patched where the code reads them, in muop.core.rules."""

import dataclasses
import json

import pytest
import torch

from muop.core import rules
from muop.core.rules import Role, Rule, Scaling
from muop.errors import ConfigError, UsageError
from muop.models import ModelConfig
from muop.workflows.coord_check import CoordCheckConfig, coord_check, save_coord

SMALL = dict(axis="width", sizes=(16, 32, 64, 128), dim=1, grid=32, steps=3, seeds=2, depth=3, batch=4)


def hidden_growth(doc):
    return max(g["last_over_first"] for layer, g in doc["growth"].items() if layer.startswith("layers."))


def test_mup_is_flat_and_sp_grows_over_width():
    mup = coord_check(CoordCheckConfig(parametrization="mup", **SMALL))
    sp = coord_check(CoordCheckConfig(parametrization="sp", **SMALL))
    for layer, g in mup["growth"].items():
        assert g["max_over_min"] < 2.0, (layer, g)
    assert hidden_growth(sp) > 2.0


def test_a_broken_rule_shows_up_in_the_coordinate_check(monkeypatch):
    broken = dict(rules.MUP)
    broken[Role.HIDDEN] = Rule(Scaling(), Scaling(), Scaling(), Scaling(m_out=1))  # forgot Adam's 1/width
    broken[Role.SPECTRAL] = Rule(Scaling(g=1), Scaling(), Scaling(g=1), Scaling(m_out=1))
    monkeypatch.setitem(rules.TABLES, "mup", broken)
    doc = coord_check(CoordCheckConfig(parametrization="mup", **SMALL))
    assert hidden_growth(doc) > 2.0


def test_json_schema_and_plot(tmp_path):
    doc = coord_check(
        CoordCheckConfig(axis="modes", sizes=(2, 4, 8), dim=2, grid=16, steps=2, seeds=1, width=8, depth=2, batch=2)
    )
    j, png = save_coord(doc, tmp_path / "cc")
    loaded = json.loads(j.read_text())
    assert loaded["axis"] == "modes" and loaded["sizes"] == [2, 4, 8] and loaded["parametrization"] == "mup"
    assert {"size", "step", "layer", "out_rms", "delta_rms"} <= set(loaded["records"][0])
    steps = {r["step"] for r in loaded["records"]}
    assert steps == {0, 1, 2}
    assert all(r["delta_rms"] == 0 for r in loaded["records"] if r["step"] == 0)
    layers = {r["layer"] for r in loaded["records"]}
    assert {"lifting", "layers.0", "layers.0.spectral", "output"} <= layers
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(sizes=(32, 16)), "increasing"),
        (dict(sizes=(16,)), "at least two"),
        (dict(axis="height"), "axis"),  # depth became an axis (issue #15)
        (dict(axis="modes", sizes=(4, 64), grid=32), "exceed"),
        (dict(lr=-1.0), "lr"),
    ],
)
def test_config_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        CoordCheckConfig(**(dict(SMALL) | kw))


# ---------------------------------------------------------------- over depth
def _bad_table() -> dict:
    """μP with the Adam depth exponent dropped (LR ∝ a^-1 = m_L^alpha instead of m_L^(alpha-1))."""
    depth_scaled = (rules.Role.HIDDEN, rules.Role.SPECTRAL, rules.Role.BIAS)
    return {
        role: dataclasses.replace(r, adam=dataclasses.replace(r.adam, L=0.0)) if role in depth_scaled else r
        for role, r in rules.MUP.items()
    }


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_coordinate_check_catches_a_wrong_depth_exponent(monkeypatch, alpha):
    """On the classic block, where the depth rule was derived and measured (results/depth); on the
    neuralop block (a two-layer branch) the rule is a heuristic and a dropped exponent at alpha 0.5
    moves the stream by only ~2.4x."""
    monkeypatch.setattr(rules, "TABLES", {**rules.TABLES, "bad": _bad_table()})
    torch.set_num_threads(1)  # many tiny ops: two threads on a shared 2-core machine are ~20x slower
    growth = {}
    for kind in ("mup", "bad", "sp"):
        cfg = CoordCheckConfig(
            axis="depth",
            sizes=(2, 16),
            parametrization=kind,
            alpha=alpha,
            seeds=1,
            steps=3,
            width=16,
            modes=4,
            grid=32,
            lr=1e-2,
            block="classic",
        )
        growth[kind] = {k: v["last_over_first"] for k, v in coord_check(cfg)["growth"].items()}
    for layer in ("blocks.last", "projection_hidden"):  # top of the residual stream and the head's hidden layer
        assert 0.5 < growth["mup"][layer] < 2.0
        assert growth["bad"][layer] > 2.5 and growth["sp"][layer] > 2.5
    assert 0.5 < growth["mup"]["output"] < 2.5


def test_bad_depth_input_is_one_line():
    """The coordinate check's part of bad depth input (the shapes', models', configs' and other workflows' in
    their own test modules)."""
    with pytest.raises((UsageError, ConfigError)) as e:
        CoordCheckConfig(axis="depth", sizes=(2, 4), residual="none")
    assert "residual='none'" in str(e.value) and "\n" not in str(e.value)


# ---------------------------------------------------------------- a neuraloperator model
def test_coord_check_of_a_config_naming_a_neuralop_model(tmp_path):
    """``coord-check --config`` checks the config's model: a TFNO over width records its layers, and
    μP's readout update stays flatter than SP's (the coordinate check's purpose)."""
    pytest.importorskip("neuralop")
    torch.set_num_threads(1)
    model = ModelConfig(library="neuralop", name="TFNO", modes=[4], width=8, depth=2, options={"rank": 0.5})
    growth = {}
    for par in ("sp", "mup"):
        doc = coord_check(
            CoordCheckConfig(axis="width", sizes=(8, 64), model=model, parametrization=par, seeds=1, steps=3, grid=32)
        )
        growth[par] = doc["growth"]["output"]["last_over_first"]
        assert set(doc["growth"]) == {
            "lifting",
            "layers.0.spectral",
            "layers.0.channel_mlp",
            "layers.1.spectral",
            "layers.1.channel_mlp",
            "output",
        }
        assert doc["config"]["model"]["name"] == "TFNO" and doc["sizes"] == [8, 64]
    assert growth["mup"] < 2.5 < growth["sp"]
