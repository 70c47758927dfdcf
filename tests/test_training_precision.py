"""Mixed precision, torch.compile and activation checkpointing (muop.training.precision, .compiled; issue #24):
bf16 trains on the CPU with the FFTs in float32 and the plan's learning rates and multipliers intact; fp16's
scaler skips a step whose gradient is inf; a compiled model plans, traces (no graph break) and resumes like the
eager one; checkpointed layers give the same gradients; the coordinate check runs in bf16. CUDA-only tests
skip on the CPU."""

import copy
import json

import pytest
import torch

from muop import FNO, FNOConfig, Shape, make_plan
from muop.config import RunConfig, config_hash
from muop.core.scaling import set_multiplier
from muop.data import prepare_data
from muop.errors import ConfigError, UsageError
from muop.models.layers import Pointwise, SpectralConv
from muop.training import Callback, Trainer, build, make_trainer, train_run
from muop.training import compiled as compiled_mod
from muop.training.compiled import check_compiled, plain_name
from muop.training.distributed import Distributed
from muop.training.precision import Precision, check_precision
from muop.workflows.coord_check import CoordCheckConfig

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _cfg(tiny_dict, **train) -> RunConfig:
    d = copy.deepcopy(tiny_dict)
    d["train"].update(train)
    return RunConfig.from_dict(d)


def _planned_lrs_hold(setup, lr: float, key: str = "lr") -> None:
    """Every parameter's LR (``initial_lr``: before the schedule scaled them all alike) and forward
    multiplier are the plan's."""
    for group in setup.optimizer.param_groups:
        for name in group["muop_names"]:
            assert group[key] == pytest.approx(lr * setup.plan[name].lr_mult["adam"], rel=1e-12)
    assert setup.plan.live_multipliers() == {e.name: e.mult for e in setup.plan.entries}


def test_bf16_trains_on_the_cpu_with_the_spectral_path_in_float32(tiny_dict, monkeypatch):
    seen = {"spectral": set(), "pointwise": set()}
    transform = SpectralConv._transform

    def spy(self, x):
        seen["spectral"].add((x.dtype, torch.is_autocast_enabled("cpu")))
        return transform(self, x)

    monkeypatch.setattr(SpectralConv, "_transform", spy)
    cfg = _cfg(tiny_dict, precision="bf16")
    data = prepare_data(cfg.data)
    trainer = Trainer(cfg, data)
    for m in trainer.setup.model.modules():
        if isinstance(m, Pointwise):
            m.register_forward_hook(lambda _m, _i, out: seen["pointwise"].add(out.dtype))
    _planned_lrs_hold(trainer.setup, cfg.optimizer.lr)
    before = {n: p.detach().clone() for n, p in trainer.setup.model.named_parameters()}
    state = trainer.fit()
    assert state.epoch == 3 and not state.diverged
    assert seen["spectral"] == {(torch.float32, False)}  # FFTs and contraction: float32, autocast off
    assert seen["pointwise"] == {torch.bfloat16}  # the pointwise maps in low precision
    assert all(p.dtype == torch.float32 for p in trainer.setup.model.parameters())
    assert any(not torch.equal(before[n], p) for n, p in trainer.setup.model.named_parameters())
    _planned_lrs_hold(trainer.setup, cfg.optimizer.lr, "initial_lr")
    fp32 = train_run(_cfg(tiny_dict), data=data)
    assert trainer.evaluate(data.test) == pytest.approx(fp32.test_rel_l2, rel=0.05)


def test_fp16_scaler_skips_the_step_of_an_inf_gradient(tiny_dict):
    cfg = _cfg(tiny_dict, precision="fp16")
    trainer = Trainer(cfg, prepare_data(cfg.data))
    s = trainer.setup
    weight = s.model.lifting.weight
    poison = weight.register_hook(lambda g: torch.full_like(g, float("inf")))
    before = {n: p.detach().clone() for n, p in s.model.named_parameters()}
    scale = s.precision.scaler.get_scale()
    loss = trainer.train_batch(torch.arange(8))
    assert loss == loss and s.precision.skipped_steps == 1  # a finite loss, a skipped step
    assert all(torch.equal(before[n], p) for n, p in s.model.named_parameters())
    assert s.precision.scaler.get_scale() < scale
    poison.remove()
    trainer.train_batch(torch.arange(8))
    assert s.precision.skipped_steps == 1
    assert not torch.equal(before["lifting.weight"], weight)
    assert trainer.state_dict()["precision"]["skipped"] == 1


def test_precision_errors_are_one_line(tiny_dict, monkeypatch):
    with pytest.raises(ConfigError, match="train.precision"):
        _cfg(tiny_dict, precision="fp8")
    monkeypatch.setattr(torch.amp, "GradScaler", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no")))
    with pytest.raises(ConfigError, match=r"train.precision=fp16: .* cannot autocast .*use bf16 or fp32"):
        check_precision("fp16", torch.device("cpu"))
    monkeypatch.undo()
    cfg = _cfg(tiny_dict, precision="fp16", parallel="fsdp")
    with pytest.raises(ConfigError, match="fp16 with train.parallel=fsdp"):
        build(cfg, prepare_data(cfg.data), Distributed(0, 2, 0, "gloo"))
    d = copy.deepcopy(tiny_dict)
    d["model"].update(library="neuralop")
    d["train"]["checkpoint_activations"] = True
    with pytest.raises(ConfigError, match="checkpoint_activations"):
        RunConfig.from_dict(d)


def test_records_made_before_the_new_fields_keep_their_identity(tiny):
    old = tiny.to_dict()
    for name in ("precision", "compile", "checkpoint_activations"):
        del old["train"][name]
    assert config_hash(old) in tiny.identities()


def test_compiled_models_plan_equals_the_eager_one():
    model = FNO(FNOConfig(modes=(4, 4), width=16, depth=2))
    compiled = torch.compile(model)  # lazy: nothing is compiled until called
    base = Shape(width=8, modes=(2, 2))
    eager, comp = make_plan(model, "mup", base=base), make_plan(compiled, "mup", base=base)
    assert [e.name for e in comp.entries] == [e.name for e in eager.entries]
    assert comp.entries == eager.entries  # multipliers, LR multipliers, init stds
    assert any(n.startswith("_orig_mod.") for n in compiled.state_dict())
    check_compiled(compiled, model)
    assert plain_name("_orig_mod.module.layers.0.spectral.weight") == "layers.0.spectral.weight"
    with pytest.raises(RuntimeError, match="differ from the model's by name"):
        check_compiled(torch.compile(FNO(FNOConfig(modes=(4, 4), width=16, depth=1))), model)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_fft_autograd_compiles_whole_and_matches_eager(precision):
    """fullgraph=True: Dynamo traces _TruncatedRFFT (forward and backward) with no graph break."""
    torch.manual_seed(0)
    model = FNO(FNOConfig(modes=(4,), width=8, depth=2)).checkpoint_activations()
    twin = copy.deepcopy(model)
    compiled = torch.compile(twin, backend="aot_eager", fullgraph=True)
    x = torch.randn(3, 1, 32)
    prec = Precision(precision)
    outs = []
    for m in (model, compiled):
        with prec.autocast():
            y = m(x)
        y.float().square().mean().backward()
        outs.append(y.float())
    tol = 1e-5 if precision == "fp32" else 2e-2
    torch.testing.assert_close(outs[1], outs[0], rtol=tol, atol=tol)
    for (n, p), q in zip(model.named_parameters(), twin.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=tol, atol=tol, msg=n)


@pytest.mark.parametrize("modes, grid", [((5,), (32,)), ((4, 3), (16, 12)), ((3, 4, 2), (8, 10, 6)), ((6, 6), (8, 8))])
def test_complex_and_real_contractions_agree(modes, grid):
    """The CUDA path (complex bmm on the weight) and the CPU path (real block GEMM), multipliers and
    coarse grids included."""
    torch.manual_seed(0)
    conv = SpectralConv(3, 4, modes).double()
    conv.bias.data.normal_()
    set_multiplier(conv, "weight", 1.7)
    set_multiplier(conv, "bias", 0.5)
    twin = copy.deepcopy(conv)
    conv.contraction, twin.contraction = "real", "complex"
    x = torch.randn(2, 3, *grid, dtype=torch.float64)
    y, z = conv(x), twin(x)
    torch.testing.assert_close(z, y, rtol=1e-12, atol=1e-12)
    y.square().sum().backward()
    z.square().sum().backward()
    for p, q in zip(conv.parameters(), twin.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-10, atol=1e-12)


def test_checkpointed_layers_give_the_same_gradients():
    torch.manual_seed(0)
    model = FNO(FNOConfig(modes=(4,), width=8, depth=3, residual="pre"))
    twin = copy.deepcopy(model).checkpoint_activations()
    x = torch.randn(2, 1, 16)
    for m in (model, twin):
        m(x).square().mean().backward()
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-6, atol=1e-7)
    with torch.no_grad():  # evaluation: nothing to recompute
        torch.testing.assert_close(twin(x), model(x))


class _StopAfter(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, trainer) -> None:
        trainer.state.stop = trainer.state.stop or trainer.state.epoch >= self.epoch


def test_a_compiled_run_saves_plain_names_and_resumes(tiny_dict, tmp_path, monkeypatch):
    monkeypatch.setitem(compiled_mod.COMPILE_OPTIONS, "backend", "eager")  # Dynamo only: seconds, not a minute
    cfg = _cfg(tiny_dict, compile=True, checkpoint_every=1, epochs=2)
    out = tmp_path / "run"
    trainer = make_trainer(cfg, out)
    assert trainer.setup.module is not trainer.setup.model  # the loop calls the compiled module
    trainer.callbacks.append(_StopAfter(1))
    trainer.fit()
    trainer.run_lock.release()
    state = torch.load(out / "state.pt", weights_only=True)
    assert state["epoch"] == 1 and not any("_orig_mod" in k for k in state["model"])
    resumed = train_run(cfg, out)
    whole = train_run(cfg, tmp_path / "whole")
    assert resumed.epochs_run == 2 and resumed.test_rel_l2 == pytest.approx(whole.test_rel_l2, rel=1e-6)
    eager = train_run(_cfg(tiny_dict, checkpoint_every=1, epochs=2))
    assert whole.test_rel_l2 == pytest.approx(eager.test_rel_l2, rel=1e-5)


def test_coordinate_check_in_bf16(muop_cli, tmp_path):
    with pytest.raises(UsageError, match="precision"):
        CoordCheckConfig(precision="fp8")
    code, out, _ = muop_cli(
        "coord-check", "--widths", "8,16", "--steps", "1", "--seeds", "1", "--grid", "16", "--depth", "1",
        "--precision", "bf16", "--out", str(tmp_path / "cc"),
    )  # fmt: skip
    doc = json.loads((tmp_path / "cc" / "coord.json").read_text())
    assert code == 0 and doc["config"]["precision"] == "bf16" and doc["growth"]


@cuda
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_cuda_mixed_precision_trains_with_the_plan_intact(tiny_dict, precision):
    cfg = _cfg(tiny_dict, precision=precision, device="cuda")
    trainer = Trainer(cfg, prepare_data(cfg.data))
    _planned_lrs_hold(trainer.setup, cfg.optimizer.lr)
    state = trainer.fit()
    assert not state.diverged
    fp32 = train_run(_cfg(tiny_dict, device="cuda"))
    assert train_run(cfg).test_rel_l2 == pytest.approx(fp32.test_rel_l2, rel=0.1)


@cuda
def test_cuda_compiled_fno_matches_eager():
    torch.manual_seed(0)
    model = FNO(FNOConfig(modes=(8, 8), width=16, depth=2)).cuda()
    twin = copy.deepcopy(model)
    x = torch.randn(4, 1, 32, 32, device="cuda")
    for m in (model, torch.compile(twin)):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            y = m(x)
        y.float().square().mean().backward()
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=3e-2, atol=3e-2)
