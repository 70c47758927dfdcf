"""muop's Fourier-mode convention, and conversion from/to neuraloperator's ``n_modes``.

**muop convention (the original FNO's "modes per corner").** ``modes = (K_1, ..., K_d)`` keeps, in
each spatial dimension *i < d*, the 2·K_i integer frequencies ``-K_i, ..., K_i - 1``, and in the
last dimension (the one transformed by the real FFT) the K_d frequencies ``0, ..., K_d - 1``.
A weight therefore has ``2K_1 × ... × 2K_{d-1} × K_d`` mode blocks. ``K`` is the number of
non-negative frequencies kept per dimension, which is the K of the μTransfer-FNO paper (its
example K = 3 → 24 multiplies the spectral LR by sqrt(log 3 / log 24) = 0.588).

**neuraloperator convention.** ``n_modes = (N_1, ..., N_d)`` counts positive and negative
frequencies together: dims i < d keep ``-N_i/2, ..., N_i/2 - 1`` (N_i even), and the last dim keeps
``0, ..., N_d // 2`` (N_d // 2 + 1 frequencies). So the *exact* muop equivalent of
``n_modes = (16, 16)`` is ``modes = (8, 9)``: identical kept frequency sets, which is what
:func:`modes_from_neuralop` returns. ``modes_from_neuralop(..., exact=False)`` gives the
isotropic approximation ``N // 2`` per dim.

**Coarse grids.** On a grid with n_i points, at most ``n_i // 2`` (dims i < d) and ``n_d // 2 + 1``
(last dim) frequencies exist; :func:`kept_modes` clips K to that, so a model evaluates at any
resolution (on finer grids the extra frequencies are zero).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import UsageError

__all__ = ["normalize_modes", "modes_from_neuralop", "modes_to_neuralop", "kept_modes", "max_modes"]


def normalize_modes(modes: int | Sequence[int], dim: int | None = None) -> tuple[int, ...]:
    """Return modes as a tuple of positive ints, broadcasting an int to ``dim`` dimensions."""
    if isinstance(modes, bool):
        raise UsageError(f"modes={modes!r} must be an int or a tuple of ints")
    if isinstance(modes, int):
        if dim is None:
            raise UsageError("modes is a single int; give dim to broadcast it")
        out = (modes,) * dim
    else:
        out = tuple(modes)
        if dim is not None and len(out) != dim:
            raise UsageError(f"modes={out} has {len(out)} entries, expected one per dimension (dim={dim})")
    if not 1 <= len(out) <= 3:
        raise UsageError(f"modes={out}: expected 1 to 3 spatial dimensions")
    for k in out:
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise UsageError(f"modes={out}: each K must be a positive integer, got {k!r}")
    return out


def modes_from_neuralop(n_modes: int | Sequence[int], exact: bool = True) -> tuple[int, ...]:
    """Convert neuraloperator's ``n_modes`` to muop's ``modes``.

    With ``exact=True`` the kept frequency sets are identical: ``N_i // 2`` for dims before the
    last, ``N_d // 2 + 1`` for the last. With ``exact=False``: ``N_i // 2`` everywhere.
    Raises ``ValueError`` for odd ``N_i`` before the last dim (neuraloperator keeps a symmetric,
    odd-sized set there, which muop's convention cannot represent).
    """
    n = (n_modes,) if isinstance(n_modes, int) else tuple(n_modes)
    for i, ni in enumerate(n[:-1]):
        if ni % 2 or ni < 2:
            raise UsageError(f"n_modes[{i}]={ni}: expected an even number >= 2 (neuraloperator convention)")
    if n[-1] < 1:
        raise UsageError(f"n_modes[-1]={n[-1]} must be positive")
    if not exact:
        return normalize_modes(tuple(max(1, ni // 2) for ni in n))
    return normalize_modes((*[ni // 2 for ni in n[:-1]], n[-1] // 2 + 1))


def modes_to_neuralop(modes: int | Sequence[int], dim: int | None = None) -> tuple[int, ...]:
    """Inverse of :func:`modes_from_neuralop` (exact): ``2K_i`` before the last dim, ``2(K_d - 1)`` last."""
    k = normalize_modes(modes, dim)
    if k[-1] < 2:
        raise UsageError(f"modes[-1]={k[-1]}: neuraloperator cannot keep fewer than 2 frequencies in the last dim")
    return (*[2 * ki for ki in k[:-1]], 2 * (k[-1] - 1))


def max_modes(grid: Sequence[int]) -> tuple[int, ...]:
    """The largest K per dim that a grid of ``grid`` points supports."""
    grid = tuple(grid)
    return (*[n // 2 for n in grid[:-1]], grid[-1] // 2 + 1)


def kept_modes(modes: Sequence[int], grid: Sequence[int]) -> tuple[int, ...]:
    """Modes actually used on ``grid``: ``modes`` clipped to what the grid resolves."""
    if len(modes) != len(grid):
        raise UsageError(f"modes {tuple(modes)} and grid {tuple(grid)} have different dimensions")
    return tuple(min(k, m) for k, m in zip(modes, max_modes(grid)))
