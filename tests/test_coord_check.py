"""The coordinate check as a diagnostic: μP is flat over width, SP and a broken rule are not."""

import json

import pytest

from muop import rules
from muop.coord_check import CoordCheckConfig, coord_check, save_coord
from muop.rules import Role, Rule, Scaling

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
