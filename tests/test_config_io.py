"""Reading configs (muop.config.io, muop.config.coerce): YAML files and ``--set`` overrides, unreadable
files as one-line errors, the committed experiment configs; and property-based fuzzing (hypothesis):
any YAML text or override either loads into a valid config or fails with a one-line ConfigError."""

import tempfile
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import FUZZ, ok_or_config_error
from muop.config import SECTIONS, ConfigError, RunConfig, apply_overrides, load_config

ROOT = Path(__file__).resolve().parents[1]
field_names = {name: [f.name for f in fields(typ)] for name, typ in SECTIONS.items()}
section = st.sampled_from(sorted(SECTIONS))


def test_yaml_and_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model: {modes: [8, 8], width: 16}\noptimizer: {lr: 1e-3}\n")
    cfg = load_config(p, ["optimizer.lr=3e-3", "model.modes=[4, 5]"])
    assert cfg.optimizer.lr == 3e-3 and cfg.model.modes == [4, 5] and cfg.model.width == 16
    with pytest.raises(ConfigError, match="unknown key 'optimizer.rate'"):
        apply_overrides(cfg, ["optimizer.rate=1"])
    with pytest.raises(ConfigError, match="expected section.field=value"):
        apply_overrides(cfg, ["lr=1"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.yaml")
    assert RunConfig.from_dict(cfg.to_dict()) == cfg  # round trip


def _yaml(tmp_path, text: str | bytes):
    p = tmp_path / "cfg.yaml"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


@pytest.mark.parametrize(
    "content,match",
    [
        (None, "is a directory"),
        (b"model: {width: 8}\n# caf\xe9\n", "byte 23 is not UTF-8"),
        ("model:\n  width: 8\n  modes: [4\ntrain: {}\n", "at line 4"),
    ],
)
def test_unreadable_configs_are_one_line_config_errors(tmp_path, content, match):
    path = tmp_path if content is None else _yaml(tmp_path, content)
    with pytest.raises(ConfigError, match=match):
        load_config(path)


def test_committed_experiment_configs_are_valid():
    files = sorted((ROOT / "experiments").glob("*.yaml"))
    assert files
    for f in files:
        cfg = load_config(f)
        if cfg.model.library != "muop":  # a neuraloperator model: its config loaded, its shape is checked when built
            continue
        fcfg = cfg.model.fno(1, 1)
        assert len(cfg.parametrization.base_shape(fcfg).modes) == fcfg.dim, f


# ---------------------------------------------------------------- fuzzing
@FUZZ
@given(st.text(max_size=200))
def test_yaml_text_parses_or_fails_with_a_config_error(text):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "c.yaml"
        p.write_text(text)
        ok_or_config_error(lambda: load_config(p))


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.text(max_size=30),
            st.builds(
                lambda s, f, v: f"{s}.{f}={v}",
                section,
                st.sampled_from(sorted({n for v in field_names.values() for n in v})),
                st.text(max_size=10),
            ),
        ),
        max_size=3,
    )
)
def test_overrides_apply_or_fail_with_a_config_error(items):
    ok_or_config_error(lambda: apply_overrides(RunConfig(), items))
