"""The parametrization rules: one table per parametrization, checkable against the papers.

Sources: μTransfer-FNO (Li, Yoo & Yang, ICML 2025, arXiv 2506.19396) for the Fourier modes, Tensor
Programs V (Yang et al. 2022, arXiv 2203.03466) for width; docs/parametrization.md has the derivations.

Every multiplier is a monomial in five numbers that the engine computes per parameter:

* ``m_in``  = fan_in / base fan_in   (1 unless the parameter's fan-in dims grow with width)
* ``m_out`` = fan_out / base fan_out (1 unless the fan-out dims grow with width)
* ``g``     = sqrt( sum_i log K_base_i / sum_i log K_i )   (the Fourier-mode factor; 1 if no modes)
* ``L``     = m_L = depth / base depth   (1 unless the parameter sits in a residual branch)
* ``a``     = m_L^(-alpha), the residual-branch multiplier (1 outside branches; alpha in
  :data:`ALPHAS`). In the ``mult`` column ``a`` is 1 except for the layers that write the branch's
  output, so a branch is scaled once however many layers it has.

``g`` (:attr:`muop.ParamPlan.mode_factor`) is the μTransfer-FNO rule: spectral weights need init
std and Adam learning rate ∝ 1/sqrt(d log K); relative to a base with K_base modes that ratio is
``g``. In general g = sqrt(log N_base / log N) with N the number of independent spectral weight
blocks (K^d for the FFT); on the sphere :func:`spherical_mode_factor` counts them per layout (a
Driscoll-Healy layer has N = lmax, so its shape carries ``modes = (lmax,)``). For anisotropic
modes ``d log K`` becomes ``sum_i log K_i`` (our generalisation, untested by the paper;
docs/parametrization.md, "Fourier modes").

Columns (each relative to standard parametrization, SP, *at the model's own shape*):

* ``init``: init std multiplier. SP's std is ``1/sqrt(fan_in)`` for weights, 0 for biases.
* ``mult``: forward multiplier on the weight (the layer uses ``mult * W``).
* ``adam``: learning-rate multiplier for Adam and AdamW.
* ``sgd``:  learning-rate multiplier for SGD.
* ``eps``:  multiplier on Adam's epsilon (1: the optimizer's own epsilon).

Reading the μP table against Tensor Programs V (Table 3 / mup's MuReadout formulation):

* input weights (fan-in fixed, fan-out ∝ width): SP init, Adam LR η, SGD LR η·m_out.
* hidden weights: init var 1/fan_in (= SP), Adam LR η/m_in, SGD LR η·m_out/m_in.
* output weights: the *effective* weight ``mult*W`` has init std ∝ 1/fan_in and Adam update
  ∝ η/fan_in; we store ``W`` with std sqrt(m_in)/sqrt(fan_in) and multiply by 1/m_in, which is
  mup's readout. SGD LR η·m_in.
* biases: O(1) init (zero), Adam LR η, SGD LR η·m_out.
* spectral weights: hidden-weight width rules on their channel dims, times ``g`` on init std and on
  the Adam LR (μTransfer-FNO: b(K) = c(K) = Θ(1/sqrt(d log K))). For SGD no rule is published; our
  heuristic keeps the SGD LR independent of K (see docs/parametrization.md for the derivation).

* depth (residual branches only; Depth-μP, arXiv 2310.02244; Bordelon et al., arXiv 2309.16620;
  CompleteP, arXiv 2505.01618): forward multiplier ``a`` on the branch's output layer, Adam LR
  ``a^-1 L^-1`` = m_L^(alpha-1), SGD LR ``a^-2 L^-1`` = m_L^(2 alpha-1), Adam epsilon ``a`` (the
  branch's gradients scale with ``a``). Lifting, projection and readout never scale with depth.

With base shape = model shape, m_in = m_out = g = m_L = a = 1 and every μP multiplier is exactly 1: μP
equals SP there.

**Variants for ablations** (:func:`table`): one table with some roles' rows, or some columns of a
row, taken from the other table, e.g. ``{"output": "sp"}`` (μP everywhere but the readout) or
``{"hidden.lr": "sp"}`` (only the hidden weights' learning rates as in SP). Variants are derived from
the two tables above, never written out as tables of their own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum

from ..errors import UsageError

__all__ = [
    "Role",
    "Scaling",
    "Rule",
    "SP",
    "MUP",
    "TABLES",
    "OPTIMIZERS",
    "COLUMNS",
    "table",
    "check_overrides",
    "mode_factor",
    "ALPHAS",
    "check_alpha",
    "branch_multiplier",
    "SPHERICAL_LAYOUTS",
    "spherical_blocks",
    "spherical_mode_factor",
]

#: The depth exponents alpha the rules define (branch multiplier a = m_L^-alpha): Depth-μP's 1/2,
#: CompleteP's 1, and between them, the range where the depth limit exists (arXiv 2505.01618).
ALPHAS = (0.5, 1.0)


class Role(str, Enum):
    """What a parameter does in the network; decides which rule row applies."""

    INPUT = "input"  # maps fixed-size inputs to width (lifting P)
    HIDDEN = "hidden"  # width -> width (pointwise W, projection hidden layer)
    SPECTRAL = "spectral"  # width -> width per Fourier mode (R)
    OUTPUT = "output"  # width -> fixed-size outputs (readout Q)
    BIAS = "bias"  # any bias or other vector-like parameter


@dataclass(frozen=True)
class Scaling:
    """The monomial ``m_in**m_in * m_out**m_out * g**g * m_L**L * a**a`` (the fields are the exponents).

    ``g`` is the mode factor (:func:`mode_factor`), ``L`` the exponent of the depth ratio m_L and
    ``a`` that of the branch multiplier m_L^-alpha; the short names keep the tables below readable
    as the formulas of docs/parametrization.md.
    """

    m_in: float = 0.0
    m_out: float = 0.0
    g: float = 0.0
    L: float = 0.0
    a: float = 0.0

    def __call__(self, m_in: float, m_out: float, g: float, m_L: float = 1.0, a: float = 1.0) -> float:
        return float(m_in**self.m_in * m_out**self.m_out * g**self.g * m_L**self.L * a**self.a)

    def __str__(self) -> str:
        terms = (("m_in", self.m_in), ("m_out", self.m_out), ("g", self.g), ("m_L", self.L), ("a", self.a))
        parts = [f"{k}^{v:g}" for k, v in terms if v]
        return " * ".join(parts) if parts else "1"


@dataclass(frozen=True)
class Rule:
    """One row of a parametrization table (see module docstring for the columns)."""

    init: Scaling
    mult: Scaling
    adam: Scaling
    sgd: Scaling
    eps: Scaling = Scaling()


S = Scaling
ONE = S()

#: Standard parametrization: nothing depends on the base shape.
SP: Mapping[Role, Rule] = {role: Rule(ONE, ONE, ONE, ONE) for role in Role}

#: Maximal update parametrization over width (TP5), Fourier modes (μTransfer-FNO) and the depth of
#: residual branches (Depth-μP / CompleteP; L and a are 1 outside branches).
#: Columns of each Rule: init std, forward mult, Adam/AdamW LR, SGD LR, Adam eps.
MUP: Mapping[Role, Rule] = {
    Role.INPUT: Rule(ONE, ONE, ONE, S(m_out=1)),
    Role.HIDDEN: Rule(ONE, S(a=1), S(m_in=-1, L=-1, a=-1), S(m_in=-1, m_out=1, L=-1, a=-2), S(a=1)),
    Role.SPECTRAL: Rule(S(g=1), S(a=1), S(m_in=-1, g=1, L=-1, a=-1), S(m_in=-1, m_out=1, L=-1, a=-2), S(a=1)),
    Role.OUTPUT: Rule(S(m_in=0.5), S(m_in=-1), ONE, S(m_in=1)),
    Role.BIAS: Rule(ONE, S(a=1), S(L=-1, a=-1), S(m_out=1, L=-1, a=-2), S(a=1)),
}

TABLES: Mapping[str, Mapping[Role, Rule]] = {"sp": SP, "mup": MUP}

#: Optimizers the rules cover, and which LR column each uses.
OPTIMIZERS: Mapping[str, str] = {"adam": "adam", "adamw": "adam", "sgd": "sgd"}

_FIELDS = ("init", "mult", "adam", "sgd", "eps")  # a whole row of Rule

#: The column groups an override may name after the role (``output.lr``): the fields of
#: :class:`Rule` each one replaces.
COLUMNS: Mapping[str, tuple[str, ...]] = {"init": ("init",), "mult": ("mult",), "lr": ("adam", "sgd"), "eps": ("eps",)}


def check_overrides(overrides: Mapping[str, str]) -> dict[tuple[Role, tuple[str, ...]], str]:
    """``{"ROLE" or "ROLE.COLUMN": table name}`` as ``{(Role, rule fields): table name}``; a bad key
    or table name is a one-line :class:`UsageError` naming it and what is allowed."""
    roles = [r.value for r in Role]
    out = {}
    for key, src in overrides.items():
        role, _, col = str(key).partition(".")
        if role not in roles or (col and col not in COLUMNS):
            raise UsageError(
                f"overrides: unknown key {key!r}; expected a role ({', '.join(roles)}), optionally followed by "
                f".{'/.'.join(COLUMNS)}"
            )
        if src not in TABLES:
            raise UsageError(f"overrides.{key}={src!r}: expected a table name, one of {', '.join(sorted(TABLES))}")
        out[(Role(role), COLUMNS[col] if col else _FIELDS)] = src
    return out


def table(kind: str, overrides: Mapping[str, str] | None = None) -> Mapping[Role, Rule]:
    """``TABLES[kind]`` with the rows (or columns) that ``overrides`` names taken from another table.

    ``overrides``: ``{"output": "sp"}`` replaces the readout's whole row by SP's; ``{"output.lr":
    "sp"}`` only its learning-rate columns (Adam and SGD); ``.init`` and ``.mult`` likewise. A whole-row
    override is applied before the column ones, whatever the order given.
    """
    if kind not in TABLES:
        raise UsageError(f"parametrization={kind!r} is unknown; expected one of {sorted(TABLES)}")
    rows = dict(TABLES[kind])
    whole_rows_first = sorted(check_overrides(overrides or {}).items(), key=lambda item: item[0][1] != _FIELDS)
    for (role, cols), src in whole_rows_first:
        rows[role] = replace(rows[role], **{c: getattr(TABLES[src][role], c) for c in cols})
    return rows


def mode_factor(modes: Sequence[int], base_modes: Sequence[int]) -> float:
    """``g = sqrt(sum log K_base / sum log K)``: the spectral init-std and Adam-LR ratio.

    ``modes``/``base_modes`` are K per spatial dimension in muop's convention (non-negative
    frequencies kept per dimension, see :mod:`muop.core.modes`). Every K must be >= 2, since
    log 1 = 0 makes the rule undefined.
    """
    if len(modes) != len(base_modes):
        raise UsageError(
            f"modes {tuple(modes)} and base modes {tuple(base_modes)} have different numbers of "
            "dimensions; expected one K per spatial dimension for both"
        )
    for k in (*modes, *base_modes):
        if int(k) < 2:
            raise UsageError(f"Fourier modes K={k} is below 2; the log-K rule needs K >= 2")
    if tuple(modes) == tuple(base_modes):
        return 1.0
    return math.sqrt(sum(math.log(k) for k in base_modes) / sum(math.log(k) for k in modes))


def check_alpha(alpha: float) -> float:
    """``alpha`` as a float if the depth rules define it (``ALPHAS[0] <= alpha <= ALPHAS[1]``), else a
    one-line :class:`UsageError` naming it."""
    ok = isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and ALPHAS[0] <= alpha <= ALPHAS[1]
    if not ok:
        raise UsageError(
            f"depth alpha={alpha!r}: expected a number in [{ALPHAS[0]:g}, {ALPHAS[1]:g}] (0.5: Depth-μP, 1: CompleteP)"
        )
    return float(alpha)


def branch_multiplier(depth: int, base_depth: int, alpha: float) -> tuple[float, float]:
    """``(m_L, a)``: the depth ratio ``depth/base_depth`` and the branch multiplier ``m_L**-alpha``.

    Depths are numbers of residual blocks (>= 1); ``alpha`` as :func:`check_alpha` allows.
    """
    for what, v in (("depth", depth), ("base depth", base_depth)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise UsageError(f"{what}={v!r}: expected a positive integer (number of residual blocks)")
    m_L = depth / base_depth
    return m_L, m_L ** -check_alpha(alpha)


#: Weight layouts of a spectral convolution on the sphere (torch-harmonics' ``SpectralConvS2``
#: operator types): ``"driscoll-healy"`` one (out, in) block per degree l, shared by every order m
#: (neuraloperator's ``SphericalConv``); ``"diagonal"`` one block per (l, m).
SPHERICAL_LAYOUTS = ("driscoll-healy", "diagonal")


def spherical_blocks(lmax: int, mmax: int, layout: str = "driscoll-healy") -> int:
    """N, the number of independent (out, in) weight blocks of a spherical spectral layer.

    ``lmax`` degrees ``l = 0..lmax-1`` and ``mmax`` orders ``m = 0..mmax-1`` are kept; only pairs
    with ``m <= l`` carry coefficients. Driscoll-Healy: N = lmax (the block R_l acts on every m of
    degree l). Diagonal: N = sum_l min(l + 1, mmax) (one block per kept (l, m) pair).
    """
    for what, v in (("lmax", lmax), ("mmax", mmax)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise UsageError(f"{what}={v!r}: expected a positive integer (spherical harmonic degrees/orders kept)")
    if layout == "driscoll-healy":
        return lmax
    if layout == "diagonal":
        return sum(min(deg + 1, mmax) for deg in range(lmax))
    raise UsageError(f"spherical layout={layout!r}: expected one of {', '.join(SPHERICAL_LAYOUTS)}")


def spherical_mode_factor(modes: tuple[int, int], base_modes: tuple[int, int], layout: str = "driscoll-healy") -> float:
    """``g = sqrt(log N_base / log N)`` for spherical spectral weights (docs/parametrization.md,
    "Spherical modes"); ``modes``/``base_modes`` are ``(lmax, mmax)`` and N is
    :func:`spherical_blocks`. Needs N >= 2 (log 1 = 0). Driscoll-Healy: g depends on lmax only."""
    n, n_base = spherical_blocks(*modes, layout), spherical_blocks(*base_modes, layout)
    if min(n, n_base) < 2:
        raise UsageError(
            f"spherical modes {tuple(modes)} / base {tuple(base_modes)}: the log-N rule needs N >= 2 blocks"
        )
    return 1.0 if n == n_base else math.sqrt(math.log(n_base) / math.log(n))
