"""Schema changes (muop.config.changes): renamed and added fields are read from old configs and records,
and a config keeps every identity it had, so the committed sweeps and old records still resume."""

import json
from pathlib import Path

import pytest

from muop.config import SCHEMA_CHANGES, ConfigError, RunConfig, apply_overrides, config_hash, with_fields
from muop.workflows.sweep import Sweep
from muop.workflows.sweep_spec import sweep_idents

ROOT = Path(__file__).resolve().parents[1]


def test_old_field_names_are_read_and_identities_keep_them():
    cfg = RunConfig.from_dict({"model": {"grid": False}})
    assert cfg.model.append_coords is False
    assert apply_overrides(RunConfig(), ["model.grid=false"]).model.append_coords is False
    ref = with_fields(RunConfig(), model={"block": "classic"})  # what configs without a block meant
    old = ref.to_dict()
    for sec, name in (
        ("train", "checkpoint_activations"),
        ("train", "compile"),
        ("train", "precision"),
        ("parametrization", "depth_alpha"),
        ("parametrization", "base_depth"),
        ("model", "residual"),
        ("model", "options"),
        ("model", "name"),
        ("model", "library"),
        ("model", "block"),
        ("parametrization", "overrides"),
        ("parametrization", "multipliers"),
        ("parametrization", "init_scale"),
        ("train", "parallel"),
        ("data", "test_path"),
    ):  # added after the rename
        del old[sec][name]
        assert config_hash(old) in ref.identities()
        assert RunConfig.from_record(old) == ref  # a recorded config missing a field had its old behaviour
    old["model"]["grid"] = old["model"].pop("append_coords")
    assert config_hash(old) in ref.identities()  # before the rename
    for sec, name in (("train", "device"), ("train", "checkpoint_every"), ("data", "grid_dims")):  # added earlier
        del old[sec][name]
        assert config_hash(old) in ref.identities()
    assert RunConfig.from_record(old) == ref
    assert len(ref.identities()) == 20
    # today's default block did not exist before model.block was added: only the schemas since then
    added_since = len(SCHEMA_CHANGES) - SCHEMA_CHANGES.index(("added", "model", "block", "classic"))
    assert RunConfig().model.block == "neuralop" and len(RunConfig().identities()) == added_since
    assert RunConfig.from_dict({}).model.block == "neuralop"  # a user's config without the field: today's default
    auto = with_fields(ref, train={"device": "auto"})  # not expressible before device existed
    assert len(auto.identities()) == 17 and not auto.identities() & ref.identities()


@pytest.mark.parametrize("name", ["burgers_width", "burgers_width_fine_mup", "darcy_modes", "ns_modes"])
def test_committed_sweeps_keep_their_identity(name):
    """Rerunning a committed sweep command finds its finished runs, although fields were renamed and
    added since (burgers_modes was recorded before records carried an identity: not testable)."""
    doc = json.loads((ROOT / "results" / "sweeps" / name / "sweep.json").read_text())
    base = RunConfig.from_record(doc["base_config"])
    assert base.model.block == "classic"  # recorded before the block existed, so the classic one
    sweep = Sweep(**{k: tuple(v) if isinstance(v, list) else v for k, v in doc["spec"].items()})
    hashes = {
        json.loads(line)["config_hash"]
        for line in (ROOT / "results" / "sweeps" / name / "runs.jsonl").read_text().splitlines()
    }
    assert hashes <= set(sweep_idents(base, sweep))


def test_a_neuralop_record_from_before_0_2_loads():
    """Before muop 0.2 a neuralop config was recorded with the then-default ``block: classic``,
    which today's check refuses for library neuralop; ``from_record`` reads it anyway."""
    d = RunConfig.from_dict({"model": {"library": "neuralop", "modes": [4]}}).to_dict()
    d["model"]["block"] = "classic"
    with pytest.raises(ConfigError, match="model.block='classic'"):
        RunConfig.from_dict(d)
    assert RunConfig.from_record(d).model == RunConfig.from_dict({"model": {"library": "neuralop", "modes": [4]}}).model
