"""muop.parametrize on neuraloperator 2.x models: recognition, rules, SP equality, errors."""

import copy
import json
import math
import warnings

import pytest
import torch

import muop
from muop import Shape, make_plan, parametrize
from muop.errors import UsageError
from muop.scaling import iter_specs, multiplier

pytest.importorskip("neuralop")
warnings.filterwarnings("ignore", module="neuralop")
from neuralop.models import FNO as NFNO  # noqa: E402
from neuralop.models import TFNO  # noqa: E402

#: The supported variants, each small: (constructor, keyword arguments).
VARIANTS = {
    "fno1d": (NFNO, dict(n_modes=(8,))),
    "fno2d": (NFNO, dict(n_modes=(8, 6))),
    "fno3d": (NFNO, dict(n_modes=(4, 4, 4))),
    "tfno_tucker": (TFNO, dict(n_modes=(8, 6), rank=0.3)),
    "cp": (NFNO, dict(n_modes=(8, 6), factorization="CP", rank=0.3)),
    "tt": (NFNO, dict(n_modes=(8, 6), factorization="TT", rank=0.3)),
    "skips_norm": (
        NFNO,
        dict(
            n_modes=(8, 6),
            fno_skip="soft-gating",
            channel_mlp_skip="linear",
            norm="group_norm",
            lifting_channel_ratio=0,
        ),
    ),
    "identity_batchnorm": (
        NFNO,
        dict(n_modes=(8,), fno_skip="identity", channel_mlp_skip=None, norm="batch_norm", preactivation=True),
    ),
    "no_mlp_instancenorm": (
        NFNO,
        dict(n_modes=(8, 6), use_channel_mlp=False, norm="instance_norm", positional_embedding=None),
    ),
}


def build(variant: str, width: int = 16, seed: int = 0, **over):
    cls, kw = VARIANTS[variant]
    torch.manual_seed(seed)
    return cls(**{"n_layers": 2, **kw, **over}, in_channels=2, out_channels=1, hidden_channels=width)


def _x(model, batch=2):
    d = model.n_dim
    return torch.randn(batch, 2, *([12] * d), generator=torch.Generator().manual_seed(5))


def _state(model):
    return {k: v.detach().clone() for k, v in [*model.named_parameters(), *model.named_buffers()]}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_parameter_gets_a_rule_and_mup_at_own_shape_is_sp(variant):
    ref = build(variant)
    a, b = copy.deepcopy(ref), copy.deepcopy(ref)
    plan_sp = parametrize(a, "sp")
    plan_mup = parametrize(b, "mup")  # base defaults to the model's own shape
    names = {n for n, _ in ref.named_parameters()}
    assert {e.name for e in plan_mup.entries} == names  # none left over
    for e in plan_mup.entries:
        assert e.init_mult == e.mult == 1.0 and set(e.lr_mult.values()) == {1.0}, e.name
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    for ga, gb in zip(plan_sp.param_groups(1e-3), plan_mup.param_groups(1e-3)):
        assert ga["lr"] == gb["lr"] and ga["muop_names"] == gb["muop_names"]
    x = _x(ref)
    a.eval(), b.eval(), ref.eval()
    assert torch.equal(a(x), b(x))
    if variant not in ("tfno_tucker", "cp", "tt"):  # dense: SP keeps neuraloperator's own init exactly
        assert all(torch.equal(v, _state(ref)[k]) for k, v in sa.items())
        assert torch.equal(a(x), ref(x))


def test_shape_and_depth_are_read_from_the_model():
    m = build("fno2d", width=24, n_modes=(16, 12))
    make_plan(m, "sp")
    assert m.muop_shape == Shape(24, (8, 7)) and m.muop_depth == 2


def test_mup_rules_on_the_dense_fno():
    base = Shape(8, (4, 3))
    m = build("fno2d", width=32)
    ref = copy.deepcopy(m)
    plan = parametrize(m, "mup", base=base)
    g = muop.mode_factor((4, 4), (4, 3))
    spec = plan["fno_blocks.convs.0.weight.tensor"]
    assert (
        spec.role == "spectral" and spec.init_mult == pytest.approx(g) and spec.lr_mult["adam"] == pytest.approx(g / 4)
    )
    assert plan["lifting.fcs.0.weight"].role == "input" and plan["lifting.fcs.0.weight"].lr_mult["adam"] == 1.0
    assert plan["lifting.fcs.1.weight"].lr_mult["adam"] == pytest.approx(0.25)
    assert plan["fno_blocks.channel_mlp.1.fcs.0.weight"].lr_mult["adam"] == pytest.approx(0.25)
    assert plan["fno_blocks.fno_skips.0.conv.weight"].role == "hidden"
    gate = plan["fno_blocks.channel_mlp_skips.0.weight"]
    assert gate.role == "bias" and gate.lr_mult["sgd"] == pytest.approx(4.0)
    assert torch.equal(m.fno_blocks.channel_mlp_skips[0].weight, torch.ones(1, 32, 1, 1))  # kept
    out = plan["projection.fcs.1.weight"]
    assert out.role == "output" and out.mult == pytest.approx(0.25) and out.init_mult == pytest.approx(2.0)
    # the init multipliers scale neuraloperator's own values
    torch.testing.assert_close(m.fno_blocks.convs[0].weight.tensor, ref.fno_blocks.convs[0].weight.tensor * g)
    torch.testing.assert_close(m.projection.fcs[1].weight, ref.projection.fcs[1].weight * 2.0)
    torch.testing.assert_close(m.lifting.fcs[0].bias, ref.lifting.fcs[0].bias)
    # the readout multiplier scales the readout's input: W (x/4) + b
    seen, readout = {}, m.projection.fcs[1]
    readout.register_forward_pre_hook(lambda mod, args: seen.update(x=args[0]), prepend=True)
    readout.register_forward_hook(lambda mod, args, out: seen.update(y=out))
    m(_x(m))
    y = torch.nn.functional.conv1d(seen["x"], m.projection.fcs[1].weight) * 0.25 + m.projection.fcs[1].bias[:, None]
    torch.testing.assert_close(seen["y"], y)


def test_parametrizing_twice_does_not_compound():
    m = build("fno1d", width=32)
    parametrize(m, "mup", base=Shape(8, (3,)))
    once = _state(m)
    parametrize(m, "mup", base=Shape(8, (3,)))
    assert all(torch.equal(v, _state(m)[k]) for k, v in once.items())
    parametrize(m, "sp")  # back to neuraloperator's own init (to round-off)
    ref = _state(build("fno1d", width=32))
    for k, v in _state(m).items():
        torch.testing.assert_close(v, ref[k], rtol=1e-6, atol=0)


@pytest.mark.parametrize("variant", ["tfno_tucker", "cp", "tt"])
def test_factorized_weight_has_the_dense_init_std(variant):
    """The reconstructed weight gets E|W|² = (g/sqrt(in))², like a dense spectral weight."""
    base, width = Shape(16, (2, 3)), 64
    g = muop.mode_factor((4, 4), (2, 3))
    rms = []
    for seed in range(4):
        m = build(variant, width=width, seed=seed)
        parametrize(m, "mup", base=base)
        w = m.fno_blocks.convs[0].weight.to_tensor()
        rms.append(w.abs().pow(2).mean().sqrt().item())
    assert sum(rms) / len(rms) == pytest.approx(g / math.sqrt(width), rel=0.15)


def test_factor_roles():
    plan = make_plan(build("tfno_tucker", width=32), "mup", base=Shape(8, (4, 4)))
    w = "fno_blocks.convs.0.weight"
    assert plan[f"{w}.core"].role == "spectral" and plan[f"{w}.core"].lr_mult["adam"] == pytest.approx(0.25)
    assert [plan[f"{w}.factors.factor_{i}"].lr_mult["adam"] for i in range(4)] == pytest.approx([0.25, 0.25, 1, 1])
    plan = make_plan(build("cp", width=32), "mup", base=Shape(8, (4, 4)))
    assert plan[f"{w}.factors.factor_0"].role == "spectral" and plan[f"{w}.weights"].role == "bias"
    assert plan[f"{w}.factors.factor_2"].role == "input" and plan[f"{w}.factors.factor_2"].fan_in == 1


def test_base_may_be_a_smaller_model_of_the_same_kind():
    big, small = build("tfno_tucker", width=32), build("tfno_tucker", width=8, n_modes=(4, 4))
    by_model = make_plan(big, "mup", base=small)
    by_shape = make_plan(copy.deepcopy(big), "mup", base=Shape(8, (2, 3)))
    assert [(e.name, e.init_mult, e.mult, e.lr_mult) for e in by_model.entries] == [
        (e.name, e.init_mult, e.mult, e.lr_mult) for e in by_shape.entries
    ]
    deeper = build("tfno_tucker", width=8, n_layers=3)  # depth is not scaled: allowed
    assert make_plan(big, "mup", base=deeper).base == Shape(8, (4, 4))


def test_metadata_survives_deepcopy_pickle_and_compile():
    import io

    m = build("fno1d", width=32)
    parametrize(m, "mup", base=Shape(8, (3,)))
    x = _x(m)
    y = m(x)
    clone = copy.deepcopy(m)
    assert multiplier(clone.projection.fcs[1], "weight") == 0.25
    torch.testing.assert_close(clone(x), y)
    buf = io.BytesIO()
    torch.save(m, buf)
    buf.seek(0)
    torch.testing.assert_close(torch.load(buf, weights_only=False)(x), y)
    compiled = torch.compile(m, backend="eager")
    assert [e.name for e in make_plan(compiled, "mup", base=Shape(8, (3,))).entries] == [n for n, *_ in iter_specs(m)]
    torch.testing.assert_close(compiled(x), y)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: build("fno2d", separable=True), r"separable=True.*supported: neuralop\.models\.FNO"),
        (lambda: build("fno2d", max_n_modes=(12, 8)), "max_n_modes"),
        (lambda: build("fno2d", n_modes=(7, 6)), r"n_modes=\(7, 6\)"),
    ],
)
def test_unsupported_options_are_one_line_errors(make, match):
    with pytest.raises(UsageError, match=match) as err:
        parametrize(make(), "mup")
    assert "\n" not in str(err.value)


def test_unsupported_neuralop_model_is_named():
    from neuralop.models import UNO

    m = UNO(
        in_channels=1,
        out_channels=1,
        hidden_channels=4,
        n_layers=1,
        uno_out_channels=[4],
        uno_n_modes=[[4, 4]],
        uno_scalings=[[1, 1]],
    )
    with pytest.raises(UsageError, match=r"neuralop's UNO; supported: neuralop\.models\.FNO and TFNO"):
        parametrize(m, "mup")


def test_base_of_another_kind_is_an_error():
    with pytest.raises(UsageError, match="same kind"):
        make_plan(build("fno2d", width=32), "mup", base=build("tfno_tucker", width=8))
    with pytest.raises(UsageError, match="same kind"):
        make_plan(build("fno1d", width=32), "mup", base=muop.FNO(muop.FNOConfig(modes=5, dim=1, width=8)))
    with pytest.raises(UsageError, match="expected a muop.Shape"):
        make_plan(build("fno1d", width=32), "mup", base=(8, 4))


def test_run_config_names_a_neuralop_model():
    from muop.config import RunConfig

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
        ({"library": "neuralop", "name": "UNO"}, "model.name='UNO': expected one of FNO, TFNO"),
        ({"library": "flax"}, "model.library='flax'"),
        ({"options": {"rank": 0.1}}, r"muop's FNO takes no option\(s\) \['rank'\]"),
        ({"library": "neuralop", "block": "classic"}, "model.block='classic'"),
    ],
)
def test_bad_model_configs_are_one_line_errors(model, match):
    from muop.config import RunConfig
    from muop.errors import ConfigError

    with pytest.raises(ConfigError, match=match) as err:
        RunConfig.from_dict({"model": {"modes": [8], **model}})
    assert "\n" not in str(err.value)


def test_bad_option_value_is_a_config_error_at_build():
    from muop.config import RunConfig
    from muop.errors import ConfigError

    cfg = RunConfig.from_dict({"model": {"library": "neuralop", "modes": [8], "options": {"fno_skip": "gated"}}})
    with pytest.raises(ConfigError, match="neuralop's FNO refused them"):
        cfg.model.build(1, 1)


def test_the_example_in_docs_neuralop_runs():
    """docs/neuralop.md: the first python block runs as written, and its model is μP-parametrized."""
    import pathlib
    import re

    text = (pathlib.Path(__file__).parents[1] / "docs" / "neuralop.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    ns: dict = {}
    exec(compile(code, "docs/neuralop.md", "exec"), ns)
    plan, model = ns["plan"], ns["model"]
    assert plan.base == Shape(8, (4, 5)) and plan.shape == Shape(32, (8, 9))
    assert multiplier(model.projection.fcs[1], "weight") == 0.25
    assert math.isfinite(float(ns["loss"].detach()))


def test_a_model_inside_another_module_is_named():
    wrapper = torch.nn.Sequential(build("fno1d"))
    with pytest.raises(UsageError, match="Sequential contains neuralop's FNO at '0'; pass that model"):
        parametrize(wrapper, "mup")


def test_sweep_tune_and_transfer_train_a_neuralop_model(tmp_path):
    """``model.library: neuralop`` runs through the trainer: a sweep over width trains neuraloperator
    FNOs (whose μP plan is relative to the smallest), and tune/transfer train a TFNO target."""
    from conftest import TINY
    from muop.config import RunConfig
    from muop.data.prepare import prepare_data
    from muop.sweep import Sweep, run_sweep
    from muop.trainer import build as build_setup
    from muop.transfer import transfer
    from muop.tune import tune

    d = json.loads(json.dumps(TINY))
    d["data"]["cache_dir"] = str(tmp_path / "cache")
    d["model"] = {"library": "neuralop", "name": "FNO", "modes": [4], "width": 8, "depth": 2}
    d["train"]["epochs"] = 2
    cfg = RunConfig.from_dict(d)
    setup = build_setup(cfg, prepare_data(cfg.data))
    assert isinstance(setup.model, NFNO) and setup.model_config.block == "neuralop"
    reals = sum(p.numel() * (2 if p.is_complex() else 1) for p in setup.model.parameters())
    assert reals == sum(p.numel() for p in muop.FNO(setup.model_config).parameters())  # its layout has its shapes

    doc = run_sweep(
        cfg, Sweep(axis="width", sizes=(8, 16), lrs=(1e-3, 1e-2), parametrizations=("mup",)), tmp_path / "sweep"
    )
    assert len(doc["runs"]) == 4 and all(math.isfinite(r["test_rel_l2"]) for r in doc["runs"])

    tfno = RunConfig.from_dict({**d, "model": {**d["model"], "name": "TFNO", "options": {"rank": 0.5}}})
    tune(tfno, 2, "np", run_dir=tmp_path / "tune")
    res = transfer(tfno, "np", target_width=16, out_dir=tmp_path / "transfer", run_dir=tmp_path / "tune")
    saved = RunConfig.from_dict(
        __import__("yaml").safe_load((tmp_path / "transfer" / "target" / "config.yaml").read_text())
    )
    assert (
        res["target"]["width"] == 16
        and saved.model.name == "TFNO"
        and saved.model.width == 16
        and saved.model.options == {"rank": 0.5}
    )
    assert math.isfinite(res["target"]["test_rel_l2"])


def test_the_readme_example_for_neuralop_users_runs():
    """README, "Already using neuraloperator?": the example runs as written; its optimizer has μP's
    per-group learning rates relative to the proxy (hidden 1/4, spectral 1/4·g), and the model
    is the one built (its init only rescaled)."""
    import pathlib
    import re

    text = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    section = text[text.index("## Already using neuraloperator?") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    plan, model, opt = ns["plan"], ns["model"], ns["optimizer"]
    assert plan.base == Shape(16, (4, 5)) and plan.shape == Shape(64, (8, 9))
    g = math.sqrt((math.log(4) + math.log(5)) / (math.log(8) + math.log(9)))
    lrs = {round(group["lr"] / 3e-3, 12) for group in opt.param_groups}
    assert lrs == {1.0, 0.25, round(0.25 * g, 12)}
    assert math.isfinite(float(ns["loss"].detach()))


def test_coord_check_of_a_config_naming_a_neuralop_model(tmp_path):
    """``coord-check --config`` checks the config's model: a TFNO over width records its layers, and
    μP's readout update stays flatter than SP's (the coordinate check's purpose)."""
    from muop.config import ModelConfig
    from muop.coord_check import CoordCheckConfig, coord_check

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


def test_coord_check_config_and_shape_flags_are_exclusive(tmp_path):
    import subprocess
    import sys

    cfg = tmp_path / "c.yaml"
    cfg.write_text("model: {library: neuralop, name: FNO, modes: [4], width: 8, depth: 2}\n")
    cmd = [
        sys.executable,
        "-c",
        "from muop.cli import run; run()",
        "coord-check",
        "--widths",
        "8,16",
        "--out",
        str(tmp_path / "o"),
    ]
    r = subprocess.run(cmd + ["--config", str(cfg), "--fixed-modes", "4"], capture_output=True, text=True)
    assert (
        r.returncode == 2
        and r.stderr.strip()
        == "muop: error: --fixed-modes with --config: the config's model fixes them; change them with --set model.FIELD=VALUE"
    )
    assert not (tmp_path / "o").exists()


def test_a_neuralop_record_from_before_0_2_loads():
    """Before muop 0.2 a neuralop config was recorded with the then-default ``block: classic``,
    which today's check refuses for library neuralop; ``from_record`` reads it anyway."""
    from muop.config import RunConfig
    from muop.errors import ConfigError

    d = RunConfig.from_dict({"model": {"library": "neuralop", "modes": [4]}}).to_dict()
    d["model"]["block"] = "classic"
    with pytest.raises(ConfigError, match="model.block='classic'"):
        RunConfig.from_dict(d)
    assert RunConfig.from_record(d).model == RunConfig.from_dict({"model": {"library": "neuralop", "modes": [4]}}).model
