"""The run config's model section (muop.models.spec.ModelConfig): it mirrors FNOConfig, names a
neuraloperator model, and every bad value is a one-line config error."""

from dataclasses import fields

import pytest
import torch

import muop
from muop.config import RunConfig
from muop.errors import ConfigError, UsageError
from muop.models import FNOConfig, ModelConfig
from muop.parametrization import Shape, parametrize


def test_model_config_is_built_from_the_fno_config():
    ours = {
        f.name: f.default
        for f in fields(ModelConfig)
        if f.name not in ("modes", "width", "depth", "library", "name", "options")
    }
    theirs = {
        f.name: f.default
        for f in fields(FNOConfig)
        if f.name not in ("modes", "width", "depth", "dim", "in_channels", "out_channels")
    }
    assert ours == theirs
    m = ModelConfig(modes=[4, 5], width=6, depth=3, activation="tanh", append_coords=False)
    assert m.fno(2, 3) == FNOConfig(
        modes=(4, 5), width=6, depth=3, in_channels=2, out_channels=3, activation="tanh", append_coords=False
    )


def test_run_config_names_a_neuralop_model():
    pytest.importorskip("neuralop")
    from neuralop.models import TFNO

    cfg = RunConfig.from_dict(
        {
            "model": {
                "library": "neuralop",
                "name": "TFNO",
                "modes": [8, 5],
                "width": 16,
                "depth": 2,
                "options": {"rank": 0.2, "fno_skip": "soft-gating"},
            },
            "data": {"problem": "darcy", "resolution": 32},
        }
    )
    model = cfg.model.build(in_channels=1, out_channels=1)
    assert isinstance(model, TFNO) and tuple(model.n_modes) == (16, 8) and model.n_layers == 2 and model.rank == 0.2
    plan = parametrize(model, "mup", base=Shape(8, (4, 3)))
    assert model.muop_shape == cfg.model.shape == Shape(16, (8, 5))  # modes converted exactly both ways
    assert plan["fno_blocks.fno_skips.0.weight"].role == "bias"
    muop_model = RunConfig.from_dict({"model": {"modes": [8], "block": "neuralop"}}).model.build(1, 1)
    assert isinstance(muop_model, muop.FNO) and muop_model.config.block == "neuralop"


@pytest.mark.parametrize(
    "model,match",
    [
        (
            {"library": "neuralop", "options": {"rnak": 0.1}},
            r"model.options: neuralop's FNO takes no argument\(s\) \['rnak'\]; allowed: \[.*'rank'",
        ),
        ({"library": "neuralop", "options": {"hidden_channels": 8}}, "come from the model fields"),
        ({"library": "neuralop", "name": "GINO"}, "model.name='GINO': expected one of FNO, TFNO, SFNO, UNO"),
        ({"library": "flax"}, "model.library='flax'"),
        ({"options": {"rank": 0.1}}, r"muop's FNO takes no option\(s\) \['rank'\]"),
        ({"library": "neuralop", "block": "classic"}, "model.block='classic'"),
    ],
)
def test_bad_model_configs_are_one_line_errors(model, match):
    pytest.importorskip("neuralop")
    with pytest.raises(ConfigError, match=match) as err:
        RunConfig.from_dict({"model": {"modes": [8], **model}})
    assert "\n" not in str(err.value)


def test_bad_option_value_is_a_config_error_at_build():
    pytest.importorskip("neuralop")
    cfg = RunConfig.from_dict({"model": {"library": "neuralop", "modes": [8], "options": {"fno_skip": "gated"}}})
    with pytest.raises(ConfigError, match="neuralop's FNO refused them"):
        cfg.model.build(1, 1)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: RunConfig.from_dict({"model": {"depth": 0}}), "model.depth=0"),
        (lambda: RunConfig.from_dict({"model": {"library": "neuralop", "residual": "pre"}}), "model.residual"),
    ],
)
def test_bad_depth_input_is_one_line(make, match):
    """The model section's part of bad depth input (the shapes', configs' and workflows' in their own test modules)."""
    with pytest.raises((UsageError, ConfigError)) as e:
        make()
    assert match in str(e.value) and "\n" not in str(e.value)


def test_uno_options_from_a_run_config_reach_the_model():
    """uno_scalings / uno_n_modes / uno_out_channels in options are the UNO's (they were refused as 'model
    fields'); a block with scaling 1/2 runs on half the grid, and the model returns to the input grid."""
    pytest.importorskip("neuralop")
    scalings = [[1, 1], [0.5, 0.5], [2, 2]]
    model = {"library": "neuralop", "name": "UNO", "modes": [3, 3], "width": 4, "depth": 3}
    cfg = RunConfig.from_dict(
        {
            "data": {"problem": "darcy", "resolution": 16},
            "model": {**model, "options": {"uno_scalings": scalings, "uno_n_modes": [[6, 4], [4, 4], [6, 4]]}},
        }
    )
    uno = cfg.model.build(1, 1)
    assert uno.uno_scalings == scalings and uno.uno_n_modes == [[6, 4], [4, 4], [6, 4]]
    assert uno.uno_out_channels == [4, 4, 4] and uno.lifting_channels == 8  # muop's defaults for the rest
    grids = []
    uno.fno_blocks[1].register_forward_hook(lambda m, i, out: grids.append(tuple(out.shape[-2:])))
    x = torch.randn(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    assert uno(x).shape == x.shape and grids == [(8, 8)]
    widths = ModelConfig(**model, options={"uno_out_channels": [4, 8, 4]}).build(1, 1).uno_out_channels
    assert widths == [4, 8, 4]
    with pytest.raises(ConfigError, match="both width_ratios and uno_out_channels"):
        ModelConfig(**model, options={"uno_out_channels": [4, 8, 4], "width_ratios": [1, 2, 1]}).validate()


@pytest.mark.parametrize(
    "fields_,match",
    [
        (
            {"width": 6, "options": {"width_ratios": [1, 0.75, 1]}},
            r"model.options.width_ratios: 0.75 x model.width=6 = 4.5",
        ),
        ({"width": 6, "projection_ratio": 1.25}, r"model.projection_ratio: 1.25 x model.width=6 = 7.5"),
    ],
)
def test_uno_widths_that_are_not_whole_channels_are_refused(fields_, match):
    """r * width channels must be a whole number: rounding 4.5 to 4 would break the ratio μP scales."""
    pytest.importorskip("neuralop")
    with pytest.raises(ConfigError, match=match) as e:
        ModelConfig(library="neuralop", name="UNO", modes=[3, 3], depth=3, **fields_).validate()
    assert "\n" not in str(e.value)
    ok = ModelConfig(
        library="neuralop", name="UNO", modes=[3, 3], width=8, depth=3, options={"width_ratios": [1, 0.75, 1.5]}
    )
    assert ok.build(1, 1).uno_out_channels == [8, 6, 12]
