"""Data-parallel training of one run over several processes (DDP, or FSDP for targets too big for one device).

A run is distributed when it starts under ``torchrun`` (``RANK``/``WORLD_SIZE`` set) or with
``muop train --nproc N``, which launches ``torchrun`` itself. CPU processes talk over gloo, GPUs
over NCCL (one GPU per process, ``LOCAL_RANK``).

What stays the same as one process, so N processes train the same model:

* the *global* batch is the config's ``batch_size``: every rank draws the same shuffled order and
  takes its contiguous share of each batch (:meth:`Distributed.shard`); each rank's loss is weighted
  by its share, so the averaged gradient is the gradient of the whole batch's mean loss;
* normalisers are fitted on the whole training set, on every rank alike;
* μP: the plan is built and applied *before* wrapping, the optimizer's param groups hold the
  original parameters (DDP) or their sharded versions (FSDP2 keeps one DTensor per parameter),
  and forward multipliers live on the modules, so per-parameter learning rates, weight decay and
  multipliers survive wrapping; :func:`check_plan` verifies it after wrapping;
* checkpoints hold the unwrapped model's full state, so a run saved by N processes resumes on M.

Only rank 0 writes files and prints.

When a process of the run dies (killed, out of memory), the others fail in their next collective
(:class:`PeerLost`, one line) and ``torchrun`` stops them; ``muop ... --nproc N`` then reports the
dead process in one line (exit 1) instead of torchrun's report. Rerunning the same command resumes
from the last ``state.pt`` (``train.checkpoint_every``), as after any kill.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..errors import UsageError

__all__ = [
    "Distributed",
    "from_env",
    "wrap",
    "check_plan",
    "check_batch",
    "full_state",
    "load_full_state",
    "launch",
    "is_main_process",
    "PeerLost",
    "peer_lost",
    "LAUNCHED",
    "STRATEGIES",
]

STRATEGIES = ("ddp", "fsdp")

#: Set in the processes that ``muop ... --nproc N`` launches: the launcher reports a lost process, they keep quiet.
LAUNCHED = "MUOP_LAUNCHED"


class PeerLost(RuntimeError):
    """A collective failed because another process of this data-parallel run is gone; this one cannot go on."""


def peer_lost(e: BaseException) -> bool:
    """Whether ``e`` (raised by a collective) means another process of the run is gone: a torch.distributed
    backend or store error, or gloo's connection to it closed or reset."""
    msg = str(e)
    return isinstance(e, dist.DistError) or ("gloo" in msg and any(w in msg for w in ("Connection", "Broken pipe")))


@dataclass(frozen=True)
class Distributed:
    """This process's place in a distributed run: ``rank`` of ``world`` processes."""

    rank: int
    world: int
    local_rank: int
    backend: str

    @property
    def is_main(self) -> bool:
        """Whether this process writes files and prints (rank 0)."""
        return self.rank == 0

    def shard(self, idx: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous share of a global batch of sample indices (possibly empty)."""
        return idx.tensor_split(self.world)[self.rank]

    def all_sum(self, values: list[float]) -> list[float]:
        """The sums over all ranks of a few numbers (float64)."""
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.tolist()

    @property
    def device(self) -> torch.device:
        """Where collectives run: this process's GPU under NCCL, else the CPU."""
        return torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")

    def barrier(self) -> None:
        dist.barrier()


def is_main_process() -> bool:
    """Whether this process prints and writes: not under ``torchrun``, or its rank 0."""
    return os.environ.get("RANK", "0") == "0"


def from_env(device: str = "cpu") -> Distributed | None:
    """The distributed context of this process when launched by ``torchrun`` (``WORLD_SIZE`` > 1),
    joining the process group on first use; None for a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return None
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if device.startswith("cuda") or (device == "auto" and torch.cuda.is_available()) else "gloo"
    if not dist.is_initialized():
        if backend == "nccl":
            torch.cuda.set_device(local)
        dist.init_process_group(backend=backend)
        atexit.register(_leave_group)
    return Distributed(rank, world, local, backend)


def _leave_group() -> None:
    """At exit: destroy the process group this process joined. Left to the interpreter's teardown, gloo's
    threads were sometimes destroyed while joinable (``terminate called without an active exception``,
    SIGABRT in a rank that had finished its work)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def check_plan(optimizer: torch.optim.Optimizer, plan, model: torch.nn.Module, lr: float, optimizer_name: str) -> None:
    """A RuntimeError unless the optimizer updates exactly ``model``'s live parameters (after a
    wrapper may have replaced them), each one under its own name with the plan's learning rate
    (``lr`` × its multiplier), and every module still applies the plan's forward multiplier: μP
    intact after wrapping, sharding, compiling or autocast."""
    live = dict(model.named_parameters())
    expected = {e.name: lr * e.lr_mult[optimizer_name] for e in plan.entries}
    seen = set()
    for group in optimizer.param_groups:
        for name, p in zip(group.get("muop_names", []), group["params"]):
            if live.get(name) is not p:
                raise RuntimeError(
                    f"parameter {name}: the optimizer holds a parameter the wrapped model no longer uses"
                )
            if abs(group["lr"] - expected[name]) > 1e-12 * max(1.0, expected[name]):
                raise RuntimeError(
                    f"parameter {name}: learning rate {group['lr']} after wrapping, the plan says {expected[name]}"
                )
            seen.add(name)
    if seen != set(live):
        raise RuntimeError(f"parameters {sorted(set(live) - seen)[:4]} of the model are not in the optimizer")
    planned = {e.name: e.mult for e in plan.entries}
    for name, m in plan.live_multipliers().items():
        if m != planned[name]:
            raise RuntimeError(f"parameter {name}: forward multiplier {m}, the plan says {planned[name]}")


def check_batch(batch_size: int, n_train: int, world: int) -> None:
    """A UsageError if a global batch cannot give every one of ``world`` processes a sample."""
    if min(batch_size, n_train) < world:
        raise UsageError(
            f"train.batch_size={batch_size}: smaller than the {world} processes (each needs at least one sample per "
            f"batch); use a batch of at least {world} or fewer processes"
        )


def wrap(model: torch.nn.Module, plan, dist: Distributed, strategy: str) -> torch.nn.Module:
    """The module the training loop calls: ``model`` wrapped with DDP, or sharded with FSDP2.

    FSDP's ``fully_shard`` (each Fourier layer, then the whole model) replaces every parameter with
    a sharded one of the same name; the plan is re-pointed to them (:meth:`muop.Plan.rebind`), so
    the optimizer built next holds the sharded parameters with the plan's learning rates.
    """
    if strategy == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[dist.local_rank] if dist.backend == "nccl" else None)
    if strategy == "fsdp":
        import torch.distributed.fsdp as fsdp
        from torch.distributed.device_mesh import init_device_mesh

        fully_shard = getattr(fsdp, "fully_shard", None)
        if fully_shard is None:
            raise UsageError(
                f"train.parallel='fsdp': this torch {torch.__version__} has no fully_shard (FSDP2, torch >= 2.6); use "
                "ddp"
            )

        mesh = init_device_mesh(dist.device.type, (dist.world,))
        for layer in getattr(model, "layers", []):
            fully_shard(layer, mesh=mesh)
        fully_shard(model, mesh=mesh)
        plan.rebind(model)
        return model
    raise UsageError(f"train.parallel={strategy!r}: expected one of {', '.join(STRATEGIES)}")


def full_state(module: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    """The whole (unsharded) model and optimizer state of an FSDP run, on the CPU; a collective:
    every rank calls it (rank 0 receives it, the others empty dicts)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict, get_optimizer_state_dict

    opts = StateDictOptions(full_state_dict=True, cpu_offload=True)
    return get_model_state_dict(module, options=opts), get_optimizer_state_dict(module, optimizer, options=opts)


def load_full_state(
    module: torch.nn.Module, optimizer: torch.optim.Optimizer, model_state: dict, optim_state: dict
) -> None:
    """Load a whole state (from :func:`full_state`, any number of processes) into an FSDP run."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict, set_optimizer_state_dict

    opts = StateDictOptions(full_state_dict=True)
    set_model_state_dict(module, model_state, options=opts)
    set_optimizer_state_dict(module, optimizer, optim_state, options=opts)


#: The ``torchrun`` agent that :func:`launch` starts (``python -c``): torchrun itself, but a process that
#: dies is one line (which process, which signal; exit 1) instead of its log lines and traceback; a
#: process that exits with an error has said why itself, and its exit code is passed on.
_AGENT = """
import logging, sys
from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import main
for name in ["torch.distributed.elastic", *logging.root.manager.loggerDict]:  # quiet: the agent's own log lines
    if name.startswith("torch.distributed.elastic"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
try:
    main()
except SignalException as e:  # Ctrl-C or a kill: torchrun has stopped the processes; the launcher says so
    sys.exit(128 + int(e.sigval))
except ChildFailedError as e:
    killed = {r: f.signal_name() for r, f in e.failures.items() if f.exitcode < 0 and f.signal_name() != "SIGTERM"}
    killed = killed or {r: f.signal_name() for r, f in e.failures.items() if f.exitcode < 0}
    if not killed:
        sys.exit(max(f.exitcode for f in e.failures.values()))
    which = " and ".join(f"rank {r} was killed ({s})" for r, s in sorted(killed.items()))
    sys.exit(
        f"muop: error: the data-parallel process of {which}; the others were stopped. Run the same command "
        "again to resume from the last checkpoint (train.checkpoint_every)"
    )
"""


def launch(nproc: int, args: list[str]) -> int:
    """Run the command line ``muop ARGS`` in ``nproc`` local processes under ``torchrun``
    (standalone: a rendezvous on this machine); returns its exit code (1, with one line, when a
    process was killed). The cores are shared out (``OMP_NUM_THREADS``) unless it is set already."""
    import subprocess
    import sys

    if not isinstance(nproc, int) or nproc < 1:
        raise UsageError(f"--nproc {nproc!r}: expected a positive number of processes")
    env = {**os.environ, LAUNCHED: "1"}
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    cmd = [sys.executable, "-c", _AGENT, "--standalone", f"--nproc-per-node={nproc}", "-m", "muop.cli", *args]
    agent = subprocess.Popen(cmd, env=env)
    try:
        return agent.wait()
    except BaseException:  # Ctrl-C here: the agent stops its processes (never SIGKILL it: they would run on)
        _stop(agent)
        raise


def _stop(agent) -> None:
    """Let the torchrun agent stop its processes (Ctrl-C reached it too, or SIGTERM now), within bounds."""
    import signal
    import subprocess

    for sig, wait in ((None, 2.0), (signal.SIGTERM, 30.0), (signal.SIGKILL, 5.0)):
        if sig is not None and agent.poll() is None:
            agent.send_signal(sig)
        try:
            agent.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue
