"""Run a batched solver on chunks of the batch in parallel threads.

FFT-bound solvers on small grids barely use torch's intra-op threads, while torch releases the GIL
inside its kernels, so splitting the batch over Python threads (each with one torch thread) uses
the cores. The split depends only on ``workers``, so results are reproducible for a given value.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import Tensor

__all__ = ["map_batch"]


def map_batch(fn: Callable[[Tensor], Tensor], x: Tensor, workers: int) -> Tensor:
    """``torch.cat([fn(c) for c in x.chunk(workers)])``, with the chunks run in parallel."""
    if workers <= 1 or x.shape[0] < 2:
        return fn(x)
    chunks = x.chunk(workers)
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(len(chunks)) as ex:
            return torch.cat(list(ex.map(fn, chunks)))
    finally:
        torch.set_num_threads(prev)
