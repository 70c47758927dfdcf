"""``torch.compile`` of one run's model (``train.compile: true``), with μP and checkpoint names intact.

What is compiled: the module the training loop calls, after DDP/FSDP wrapping (``torch.compile(DDP(model))``
lets DDP's optimizer split the graph at its gradient buckets; FSDP2's ``fully_shard`` is compile-aware).
The plain model stays what :class:`~muop.training.trainer.Setup` calls ``model``: state dicts, checkpoints
and evaluation use it, so saved names never carry ``_orig_mod.`` and a compiled run resumes uncompiled,
and the reverse. The compiled wrapper holds the very same parameter objects (checked by
:func:`check_compiled`), so the optimizer's per-parameter μP learning rates apply to what the compiled
graph trains, and the forward multipliers are read from the original modules while tracing.

The FFT's custom autograd (``_TruncatedRFFT`` in :mod:`muop.models.layers`) is *compiled*, neither
excluded with ``torch.compiler.disable`` nor hidden with ``allow_in_graph``: its forward and backward
are plain torch ops, so Dynamo traces it and AOTAutograd puts its hand-written backward in the joint
graph (``tests/test_training_precision.py`` compiles the FNO with ``fullgraph=True``: no graph break,
gradients equal to eager). Excluding the spectral convolutions (``torch.compiler.disable``) would cut
the graph at every one of them and recompile per layer on guards such as ``last``, which rules out
``fullgraph=True`` and CUDA graphs, for no gain: on the 2-core CPU (2-D, width 32, one thread) both
stepped like eager (medians 176 and 169 ms against 178). Inductor does not generate code for complex
tensors: the FFTs and complex views run as the same library kernels as in eager mode, and what it
fuses are the real-valued pointwise parts around them. Whether compiling pays on a GPU is for
``benchmarks/gpu_suite.py`` to measure.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["COMPILE_OPTIONS", "compile_module", "check_compiled", "plain_name"]

#: Keyword arguments of :func:`torch.compile` for ``train.compile`` (tests use a cheaper backend).
COMPILE_OPTIONS: dict = {}

_PREFIXES = ("_orig_mod.", "module.")


def plain_name(name: str) -> str:
    """A parameter's name without the prefixes ``torch.compile`` (``_orig_mod.``) and DDP (``module.``) add."""
    changed = True
    while changed:
        changed = False
        for p in _PREFIXES:
            if name.startswith(p):
                name, changed = name[len(p) :], True
    return name.replace("._orig_mod.", ".")


def compile_module(module: nn.Module, **options) -> nn.Module:
    """``torch.compile(module)`` with :data:`COMPILE_OPTIONS` (``options`` override them). Compilation is
    lazy: the first call of each input shape traces and compiles (seconds to a minute)."""
    return torch.compile(module, **{**COMPILE_OPTIONS, **options})


def check_compiled(compiled: nn.Module, model: nn.Module) -> None:
    """A RuntimeError unless ``compiled`` (a compiled, possibly DDP-wrapped ``model``) holds exactly
    ``model``'s parameter objects under ``model``'s names once the wrappers' prefixes are dropped."""
    live = dict(model.named_parameters())
    seen = {plain_name(n): p for n, p in compiled.named_parameters()}
    if set(seen) != set(live):
        diff = sorted(set(seen) ^ set(live))[:4]
        raise RuntimeError(f"the compiled model's parameters differ from the model's by name: {diff}")
    moved = [n for n, p in seen.items() if p is not live[n]]
    if moved:
        raise RuntimeError(f"parameters {moved[:4]}: the compiled model holds other objects than the model")
