"""Training: one run from a config, the loop in pieces, callbacks, devices and data parallelism.

* :mod:`muop.training.trainer`: build (model, plan, optimizer, schedule), fit, evaluate;
* :mod:`muop.training.callbacks`: divergence stop, metrics log, checkpoints, per-epoch hooks;
* :mod:`muop.training.run`: :func:`train_run`, one run start to finish (resumable);
* :mod:`muop.training.device`: the device, memory checks, threads;
* :mod:`muop.training.distributed`: DDP/FSDP under ``torchrun``;
* :mod:`muop.training.precision`: mixed precision (bf16/fp16 autocast, fp16's gradient scaler);
* :mod:`muop.training.compiled`: ``torch.compile`` with μP's metadata and checkpoint names intact;
* :mod:`muop.training.losses`: the relative L2 error.

A new optimizer rule goes in :mod:`muop.core.rules`, not here: the trainer only reads the plan.
"""

from .callbacks import Callback, Checkpoint, DivergenceStop, EpochHook, MetricsLog, load_training_state
from .device import available_memory, check_memory, memory_estimate, resolve_device, set_threads
from .distributed import Distributed, from_env, is_main_process, launch
from .losses import rel_l2
from .precision import Precision, check_precision
from .run import RunResult, complete, make_trainer, result_of, save_outputs, train_run
from .trainer import Setup, Trainer, TrainState, build, evaluate, make_scheduler

__all__ = [
    "Callback",
    "Checkpoint",
    "Distributed",
    "DivergenceStop",
    "EpochHook",
    "MetricsLog",
    "Precision",
    "RunResult",
    "Setup",
    "TrainState",
    "Trainer",
    "available_memory",
    "build",
    "check_memory",
    "check_precision",
    "complete",
    "evaluate",
    "from_env",
    "is_main_process",
    "launch",
    "load_training_state",
    "make_scheduler",
    "make_trainer",
    "memory_estimate",
    "rel_l2",
    "resolve_device",
    "result_of",
    "save_outputs",
    "set_threads",
    "train_run",
]
