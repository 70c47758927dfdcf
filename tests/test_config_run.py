"""The run config (muop.config.run): any dict either parses into a RunConfig that round-trips (through
YAML too) or fails with a one-line ConfigError (property-based fuzzing, hypothesis); its fields reach
the plan (init scale, multipliers, overrides, depth) and its identity hashes."""

import string
from dataclasses import fields

import yaml
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import FUZZ, ok_or_config_error
from muop.config import SECTIONS, RunConfig, with_fields
from muop.parametrization import Base
from muop.utils.hashing import content_key
from muop.workflows.sweep import Sweep
from muop.workflows.transfer import target_config

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(string.printable, max_size=8),
)


values = st.recursive(
    scalars,
    lambda c: st.one_of(
        st.lists(c, max_size=4), st.dictionaries(st.text(string.ascii_lowercase, max_size=6), c, max_size=3)
    ),
    max_leaves=8,
)


field_names = {name: [f.name for f in fields(typ)] for name, typ in SECTIONS.items()}


section = st.sampled_from(sorted(SECTIONS))


@st.composite
def config_dicts(draw):
    """Mostly-plausible configs: real section and field names (sometimes a wrong one), random values."""
    d: dict = {}
    for sec in draw(st.lists(section, max_size=4, unique=True)):
        keys = draw(
            st.lists(
                st.one_of(st.sampled_from(field_names[sec]), st.text(string.ascii_lowercase, min_size=1, max_size=6)),
                max_size=4,
                unique=True,
            )
        )
        d[sec] = {k: draw(values) for k in keys}
    if draw(st.booleans()):
        d[draw(st.text(string.ascii_lowercase, min_size=1, max_size=5))] = draw(values)
    return d


@FUZZ
@given(config_dicts())
def test_config_dicts_parse_or_fail_with_a_config_error(d):
    ok_or_config_error(lambda: RunConfig.from_dict(d))


@FUZZ
@given(config_dicts())
def test_config_yaml_round_trip(d):
    cfg = ok_or_config_error(lambda: RunConfig.from_dict(d))
    if cfg is not None:
        assert RunConfig.from_dict(yaml.safe_load(cfg.to_yaml())) == cfg


# ---------------------------------------------------------------- fields that reach the plan
def test_config_fields_reach_the_plan_and_old_configs_keep_their_identity():
    cfg = RunConfig.from_dict(
        {
            "model": {"modes": [8], "width": 32, "depth": 2},
            "parametrization": {"base_width": 16, "init_scale": 2.0, "overrides": {"output": "sp"}},
        }
    )
    base = cfg.parametrization.base_shape(cfg.model.fno(1, 1))
    assert base == Base(16, (8,), init_scale=2.0, overrides={"output": "sp"})
    classic = with_fields(RunConfig(), model={"block": "classic"})  # what configs without a block meant
    old = classic.to_dict()
    for name in ("block", "library", "name", "options", "residual"):  # added after these (issues #13, #15)
        del old["model"][name]
    for name in ("init_scale", "multipliers", "overrides", "base_depth", "depth_alpha"):
        del old["parametrization"][name]
    for name in ("precision", "compile", "checkpoint_activations"):  # added later
        del old["train"][name]
    assert content_key(old) in classic.identities()
    assert content_key(old) not in cfg.identities()


def test_depth_configs_reach_the_plan():
    cfg = RunConfig.from_dict(
        {
            "model": {"modes": [4], "width": 16, "depth": 8, "residual": "pre"},
            "parametrization": {"base_depth": 2, "depth_alpha": 1.0},
        }
    )
    assert cfg.parametrization.base_shape(cfg.model.fno(1, 1)) == Base(16, (4,), 2, alpha=1.0)
    sweep = Sweep(axis="depth", sizes=(2, 8), lrs=(1e-3,))
    run = sweep.run_config(cfg, "mup", 8, 1e-3, 1)
    assert (run.model.depth, run.parametrization.base_depth, run.parametrization.depth_alpha) == (8, 2, 1.0)
    proxy = RunConfig.from_dict({"model": {"modes": [4], "width": 16, "depth": 2, "residual": "pre"}})
    target = target_config(proxy, {"lr": 3e-3}, [8], 32, target_depth=8)
    assert (
        target.model.depth,
        target.model.width,
        target.parametrization.base_depth,
        target.parametrization.base_width,
    ) == (8, 32, 2, 16)
    assert RunConfig().identities() & cfg.identities() == set()  # a depth config is not an old config
