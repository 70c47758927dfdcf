"""Property-based fuzzing (hypothesis) of the config parser and the data loaders.

The property: any input either loads into something valid or fails with the library's own one-line
error (ConfigError / DataError, both ValueErrors). No other exception, no traceback-worthy crash.
"""

from __future__ import annotations

import string
import tempfile
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from array_files import write_arrays
from muop.config import SECTIONS, ConfigError, RunConfig, apply_overrides, load_config
from muop.data import DataError, has_splits, load

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)

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


def _ok_or_config_error(make):
    try:
        cfg = make()
    except ConfigError as e:
        msg = str(e)
        assert msg and "\n" not in msg.strip()  # one line, names what is wrong
        return None
    assert isinstance(cfg, RunConfig)
    assert RunConfig.from_dict(cfg.to_dict()) == cfg  # a valid config round-trips
    return cfg


@FUZZ
@given(config_dicts())
def test_config_dicts_parse_or_fail_with_a_config_error(d):
    _ok_or_config_error(lambda: RunConfig.from_dict(d))


@FUZZ
@given(st.text(max_size=200))
def test_yaml_text_parses_or_fails_with_a_config_error(text):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "c.yaml"
        p.write_text(text)
        _ok_or_config_error(lambda: load_config(p))


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
    _ok_or_config_error(lambda: apply_overrides(RunConfig(), items))


@FUZZ
@given(config_dicts())
def test_config_yaml_round_trip(d):
    cfg = _ok_or_config_error(lambda: RunConfig.from_dict(d))
    if cfg is not None:
        assert RunConfig.from_dict(yaml.safe_load(cfg.to_yaml())) == cfg


# --- data loaders ----------------------------------------------------------------------------

shapes = st.lists(st.integers(0, 5), min_size=0, max_size=5).map(tuple)
dtypes = st.sampled_from([np.float32, np.float64, np.int32, np.complex64, np.bool_, np.uint8])
key_names = st.sampled_from(
    ["x", "y", "a", "u", "coeff", "sol", "input", "output", "z", "x_train", "y_train", "x_test", "y_test"]
)


@st.composite
def array_sets(draw):
    return {
        k: np.full(draw(shapes), draw(st.integers(0, 2)), dtype=draw(dtypes))
        for k in draw(st.lists(key_names, max_size=4, unique=True))
    }


def _ok_or_data_error(path: Path, **kw) -> None:
    try:
        assert has_splits(path) in (True, False)
        data = load(path, **kw)
    except DataError as e:
        assert str(e)
        return
    assert data.x.dtype == torch.float32 and data.x.dim() >= 3 and data.x.shape[0] == data.y.shape[0]


@FUZZ
@given(
    array_sets(), st.sampled_from([".npz", ".h5", ".pt"]), st.integers(1, 3), st.sampled_from(["train", "test", "val"])
)
def test_array_files_load_or_fail_with_a_data_error(arrays, suffix, stride, split):
    with tempfile.TemporaryDirectory() as tmp:
        _ok_or_data_error(write_arrays(Path(tmp) / f"d{suffix}", arrays), stride=stride, split=split)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([".npz", ".h5", ".pt", ".mat", ".npy", ".txt"]))
def test_garbage_bytes_fail_with_a_data_error(blob, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / f"d{suffix}"
        p.write_bytes(blob)
        with pytest.raises(DataError):
            load(p)
        try:
            assert has_splits(p) is False
        except DataError:
            pass


def test_a_pickle_with_code_is_refused_not_run(tmp_path):
    """weights_only loading: a .pt file that would run code when unpickled is a DataError."""

    class Evil:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "pwned",))

    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(DataError):
        load(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()
