"""Train one FNO run from a :class:`~muop.config.RunConfig`.

The loss and the reported metric are the relative L2 error averaged per sample
(:func:`muop.losses.rel_l2`) **in physical units**: the model works on normalised inputs/outputs,
and its prediction is decoded before the loss. A run whose loss becomes NaN/inf, or grows past
``train.diverge_factor`` × its first epoch's, stops early and is recorded as ``diverged`` (no
exception). Runs write ``metrics.jsonl`` (one line per epoch) and ``checkpoint.pt`` (weights-only:
model and normaliser tensors plus the config as plain data).

With an output directory and ``train.checkpoint_every: k``, the full training state (model,
optimizer, LR schedule, shuffling generator, torch RNG) is written atomically to ``state.pt`` every
``k`` epochs. Rerunning the same config into the same directory resumes from it; on the CPU the
resumed run is bit-for-bit the run that was not interrupted. A ``state.pt`` of another config is
refused, never overwritten.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .config import DataConfig, RunConfig, check_modes_fit, config_hash
from .data import ChannelNormalizer, OperatorData, generate, load
from .fno import FNO, FNOConfig
from .losses import rel_l2
from .optim import make_optimizer
from .parametrization import parametrize

__all__ = ["Datasets", "prepare_data", "RunResult", "train_run", "fno_flops", "evaluate", "resolve_device"]


@dataclass
class Datasets:
    """Training data, test data at the training grid, and test data at extra evaluation strides."""

    train: OperatorData
    test: OperatorData
    extra_test: dict[int, OperatorData] = field(default_factory=dict)  # stride -> data
    val: OperatorData | None = None


def _cached_file(cfg: DataConfig) -> Path:
    key = config_hash({"problem": cfg.problem, "n_train": cfg.n_train, "n_test": cfg.n_test, "resolution": cfg.resolution, "seed": cfg.seed, "params": cfg.params})
    path = Path(cfg.cache_dir) / f"{cfg.problem}-{cfg.resolution}-{key}.h5"
    if not path.exists():
        try:
            generate(cfg.problem, path, cfg.n_train, cfg.n_test, cfg.resolution, seed=cfg.seed, params=cfg.params)
        except FileExistsError:  # another command sharing the cache generated it while this one waited
            pass
    return path


def prepare_data(cfg: DataConfig) -> Datasets:
    """Load (or generate once into ``cache_dir``) the data a run needs."""
    if cfg.problem is not None:
        path = _cached_file(cfg)
        get = lambda split, stride: load(path, split=split, stride=stride)  # noqa: E731
    else:
        path = Path(cfg.path)
        full = load(path, cfg.input_key, cfg.output_key, split="train", grid_dims=cfg.grid_dims)  # read once, sliced below
        if full.meta.get("format") == "muop-dataset":
            test = load(path, split="test")
            get = lambda split, stride: (full if split == "train" else test).subsample(stride)  # noqa: E731
        else:  # a single array set: the first n_train samples train, the next n_test test
            need = cfg.n_train + cfg.n_test
            if len(full) < need:
                raise ValueError(f"data.path {path} has {len(full)} samples; n_train + n_test = {need}")
            parts = {"train": slice(0, cfg.n_train), "test": slice(cfg.n_train, need)}
            get = lambda split, stride: full.subsample(stride, parts[split])  # noqa: E731

    train = get("train", cfg.stride)
    val = None
    if cfg.n_val:
        k = len(train) - cfg.n_val
        val = train.subsample(samples=slice(k, None))
        train = train.subsample(samples=slice(0, k))
    extra = {s: get("test", s) for s in cfg.eval_strides if s != cfg.stride}
    return Datasets(train, get("test", cfg.stride), extra, val)


@dataclass
class RunResult:
    """Outcome of one run. Errors are relative L2 (per-sample mean) in physical units."""

    test_rel_l2: float
    train_loss: float
    diverged: bool
    epochs_run: int
    seconds: float
    extra_test_rel_l2: dict = field(default_factory=dict)  # "grid" -> error at that resolution
    n_params: int = 0
    train_flops: float = 0.0
    val_rel_l2: float | None = None


def fno_flops(cfg: FNOConfig, grid: tuple[int, ...]) -> float:
    """Approximate floating-point operations of one forward pass for one sample.

    Counts the pointwise maps (2·N·in·out), the per-mode real contraction (8·M·w²) and the FFTs
    (≈ 2.5·N·log2 N per channel and direction). A training step costs about 3× the forward.
    """
    n = math.prod(grid)
    w, d = cfg.width, cfg.dim
    modes = math.prod([2 * k for k in cfg.modes[:-1]]) * cfg.modes[-1]
    lift = 2 * n * (cfg.in_channels + d) * w
    layer = 2 * n * w * w + 8 * modes * w * w + 2 * 2.5 * n * math.log2(max(n, 2)) * w
    hidden = round(cfg.projection_ratio * w)
    proj = 2 * n * w * hidden + 2 * n * hidden * cfg.out_channels
    return float(lift + cfg.depth * layer + proj)


@torch.no_grad()
def evaluate(model: FNO, data: OperatorData, xn: ChannelNormalizer | None, yn: ChannelNormalizer | None, batch_size: int = 64) -> float:
    """Mean per-sample relative L2 error (physical units) of ``model`` on ``data``."""
    model.eval()
    dev = next(model.parameters()).device
    total, count = 0.0, 0
    for i in range(0, len(data), batch_size):
        x, y = data.x[i : i + batch_size].to(dev), data.y[i : i + batch_size].to(dev)
        pred = model(xn.encode(x) if xn else x)
        pred = yn.decode(pred) if yn else pred
        total += float(rel_l2(pred, y)) * x.shape[0]
        count += x.shape[0]
    model.train()
    return total / max(count, 1)


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda``, ``cuda:N``, or ``auto`` (CUDA when available, else CPU)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"train.device={name!r}: CUDA is not available on this machine; use cpu or auto")
    return torch.device(name)


def _epoch_of(line: str) -> int:
    try:
        return int(json.loads(line)["epoch"])
    except (ValueError, KeyError, TypeError):
        return 1 << 30  # a line cut by a kill: dropped


def _load_state(out: Path, ident: str) -> dict | None:
    """The resumable state in ``out/state.pt`` (weights-only load), or None; refuses another config's."""
    path = out / "state.pt"
    if not path.exists():
        return None
    st = torch.load(path, map_location="cpu", weights_only=True)
    if st.get("config_hash") != ident:
        raise ValueError(f"{path} holds the training state of another config; use another output directory (or delete it to start over)")
    return st


def train_run(
    cfg: RunConfig,
    out_dir: str | Path | None = None,
    data: Datasets | None = None,
    on_epoch: Callable[[dict], None] | None = None,
) -> RunResult:
    """Train one model as ``cfg`` says; returns a :class:`RunResult`.

    ``data`` skips loading when the caller already holds it. ``on_epoch`` receives each epoch's
    record (epoch, train_loss, val_rel_l2 when there is a validation split, seconds, train_flops),
    e.g. to report to an early-stopping scheduler.
    """
    t0 = time.perf_counter()
    data = data or prepare_data(cfg.data)
    tr = data.train
    torch.manual_seed(cfg.train.seed)
    fcfg = cfg.model.fno(tr.x.shape[1], tr.y.shape[1])
    if len(fcfg.modes) != tr.x.dim() - 2:
        raise ValueError(f"model.modes={list(fcfg.modes)} has {len(fcfg.modes)} entries but the data has {tr.x.dim() - 2} spatial dims")
    check_modes_fit(fcfg.modes, tr.grid, "the training data")
    model = FNO(fcfg)
    plan = parametrize(model, cfg.parametrization.kind, base=cfg.parametrization.base_shape(fcfg), seed=cfg.train.seed)
    dev = resolve_device(cfg.train.device)
    model.to(dev)  # in place: the plan's parameters stay the model's
    o = cfg.optimizer
    kw = {"betas": tuple(o.betas)} if o.name in ("adam", "adamw") else {"momentum": o.momentum}
    opt = make_optimizer(plan, o.name, lr=o.lr, weight_decay=o.weight_decay, **kw)
    xn = ChannelNormalizer.fit(tr.x).to(dev) if cfg.train.normalize else None
    yn = ChannelNormalizer.fit(tr.y).to(dev) if cfg.train.normalize else None
    n = len(tr)
    bs = min(cfg.train.batch_size, n)
    steps_per_epoch = math.ceil(n / bs)
    s = cfg.schedule
    if s.name == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.train.epochs * steps_per_epoch)
    elif s.name == "step":
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=s.step_size * steps_per_epoch, gamma=s.gamma)
    else:
        sched = None
    flops_per_epoch = 3 * fno_flops(fcfg, tr.grid) * n
    x_all = xn.encode(tr.x.to(dev)) if xn else tr.x.to(dev)
    y_all = tr.y.to(dev)
    g = torch.Generator().manual_seed(cfg.train.seed)
    out = Path(out_dir) if out_dir is not None else None
    diverged, first, loss_epoch, epoch = False, None, float("nan"), 0
    ident = config_hash(cfg.to_dict())
    if out:
        out.mkdir(parents=True, exist_ok=True)
        st = _load_state(out, ident)
        if st is not None:
            model.load_state_dict(st["model"])
            opt.load_state_dict(st["optimizer"])
            if sched:
                sched.load_state_dict(st["scheduler"])
            g.set_state(st["generator"])
            torch.set_rng_state(st["torch_rng"])
            epoch, first, loss_epoch = st["epoch"], st["first"], st["train_loss"]
            t0 -= st["seconds"]
        (out / "config.yaml").write_text(cfg.to_yaml())
        lines = (out / "metrics.jsonl").read_text().splitlines() if st is not None and (out / "metrics.jsonl").exists() else []
        kept = [ln for ln in lines if _epoch_of(ln) <= epoch]
        (out / "metrics.jsonl").write_text("".join(ln + "\n" for ln in kept))
        metrics = (out / "metrics.jsonl").open("a")
    try:
        for epoch in range(epoch + 1, cfg.train.epochs + 1):
            perm = torch.randperm(n, generator=g)
            total = 0.0
            for i in range(0, n, bs):
                idx = perm[i : i + bs]
                pred = model(x_all[idx])
                pred = yn.decode(pred) if yn else pred
                loss = rel_l2(pred, y_all[idx])
                if not torch.isfinite(loss):
                    diverged = True
                    break
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if o.grad_clip:
                    torch.nn.utils.clip_grad_value_(model.parameters(), o.grad_clip)
                opt.step()
                if sched:
                    sched.step()
                total += loss.item() * idx.numel()
            if diverged:
                loss_epoch = float("nan")
            else:
                loss_epoch = total / n
                first = loss_epoch if first is None else first
                diverged = not math.isfinite(loss_epoch) or loss_epoch > cfg.train.diverge_factor * first
            if out:
                metrics.write(json.dumps({"epoch": epoch, "train_loss": loss_epoch, "lr": opt.param_groups[0]["lr"], "diverged": diverged, "seconds": time.perf_counter() - t0}) + "\n")
                metrics.flush()
            if on_epoch:
                val_now = None if diverged or data.val is None else evaluate(model, data.val, xn, yn)
                on_epoch({"epoch": epoch, "train_loss": loss_epoch, "val_rel_l2": val_now, "diverged": diverged, "seconds": time.perf_counter() - t0, "train_flops": flops_per_epoch * epoch})
            if diverged:
                break
            every = cfg.train.checkpoint_every
            if out and every and (epoch % every == 0 or epoch == cfg.train.epochs):
                state = {"config_hash": ident, "epoch": epoch, "first": first, "train_loss": loss_epoch, "seconds": time.perf_counter() - t0, "model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict() if sched else None, "generator": g.get_state(), "torch_rng": torch.get_rng_state()}
                tmp = out / "state.pt.tmp"
                torch.save(state, tmp)
                tmp.replace(out / "state.pt")
    finally:
        if out:
            metrics.close()
    test = float("nan") if diverged else evaluate(model, data.test, xn, yn)
    val = None if data.val is None else (float("nan") if diverged else evaluate(model, data.val, xn, yn))
    extra = {} if diverged else {"x".join(map(str, d.grid)): evaluate(model, d, xn, yn) for d in data.extra_test.values()}
    if diverged or not math.isfinite(test):
        diverged, test = True, float("nan")
    result = RunResult(
        test_rel_l2=test,
        train_loss=loss_epoch,
        diverged=diverged,
        epochs_run=epoch,
        seconds=time.perf_counter() - t0,
        extra_test_rel_l2=extra,
        n_params=sum(p.numel() for p in model.parameters()),
        train_flops=flops_per_epoch * epoch,
        val_rel_l2=val,
    )
    if out:
        ckpt = {"model": model.state_dict(), "config": cfg.to_dict(), "result": asdict(result)}
        if xn:
            ckpt["x_normalizer"], ckpt["y_normalizer"] = xn.state_dict(), yn.state_dict()
        tmp = out / "checkpoint.pt.tmp"
        torch.save(ckpt, tmp)
        tmp.replace(out / "checkpoint.pt")
        (out / "result.json").write_text(json.dumps(asdict(result), indent=1))
    return result
