"""Building blocks that declare their own scaling: a pointwise channel map and a spectral convolution.

Tensors are channels-first, ``(batch, channels, n_1, ..., n_d)``, as in neuraloperator.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.modes import kept_modes, normalize_modes
from ..core.rules import Role
from ..core.scaling import ParamSpec, declare, multiplier
from ..errors import UsageError

__all__ = ["Pointwise", "SpectralConv", "ACTIVATIONS"]

ACTIVATIONS = {"gelu": F.gelu, "tanh": torch.tanh, "relu": F.relu, "silu": F.silu}


class Pointwise(nn.Module):
    """A 1×1 ("pointwise") linear map over channels: ``y[b, o, x] = sum_i W[o, i] x[b, i, x] + b[o]``.

    Args:
        in_channels, out_channels: channel counts.
        role: :class:`~muop.core.rules.Role` of the weight (input, hidden or output).
        width_in, width_out: whether in/out channel counts grow with model width.
        bias: add a bias (declared with role ``bias``).
        branch: where the map sits in a residual branch (:data:`muop.core.scaling.BRANCH`).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        role: Role,
        width_in: bool,
        width_out: bool,
        bias: bool = True,
        branch: str = "",
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        nn.init.normal_(self.weight, std=1.0 / math.sqrt(in_channels))
        declare(
            self,
            "weight",
            ParamSpec(role, fan_in_dims=(1,), fan_out_dims=(0,), width_in=width_in, width_out=width_out, branch=branch),
        )
        if bias:
            declare(self, "bias", ParamSpec(Role.BIAS, fan_out_dims=(0,), width_out=width_out, branch=branch))

    def effective_weight(self) -> Tensor:
        """``mult * W``, shape (out, in)."""
        m = multiplier(self, "weight")
        return self.weight if m == 1.0 else self.weight * m

    def effective_bias(self) -> Tensor | None:
        """``mult * b``, shape (out,), or None without a bias."""
        m = multiplier(self, "bias")
        return self.bias if (self.bias is None or m == 1.0) else self.bias * m

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, in, *spatial) -> (B, out, *spatial)."""
        b, _, *spatial = x.shape
        w = self.effective_weight().expand(b, -1, -1)
        xf = x.reshape(b, x.shape[1], -1)
        bias = self.effective_bias()
        y = torch.bmm(w, xf) if bias is None else torch.baddbmm(bias[:, None], w, xf)
        return y.reshape(b, -1, *spatial)


class _TruncatedRFFT(torch.autograd.Function):
    """``rfft(x, dim=-1, norm="forward")[..., :k]`` with a cheaper backward.

    The map is ``y_q = (1/n) Σ_j x_j e^{-2πi jq/n}`` for ``q < k``, so the gradient of real ``x``
    is ``Re((1/n) Σ_q g_q e^{+2πi jq/n})``: one inverse *real* FFT of the halved spectrum (DC and
    Nyquist not halved, since ``irfft`` does not double them), where autograd's own backward pads
    to the full length and runs a complex FFT (about twice the work).
    """

    @staticmethod
    def forward(ctx, x: Tensor, k: int) -> Tensor:
        ctx.n = x.shape[-1]
        return torch.fft.rfft(x, dim=-1, norm="forward").narrow(-1, 0, k)

    @staticmethod
    def backward(ctx, g: Tensor) -> tuple[Tensor, None]:
        n = ctx.n
        half = g / 2
        half[..., 0] = g[..., 0]
        if n % 2 == 0 and g.shape[-1] > n // 2:
            half[..., n // 2] = g[..., n // 2]
        return torch.fft.irfft(half, n=n, dim=-1, norm="backward"), None


class SpectralConv(nn.Module):
    """n-d Fourier integral operator ``K v = IFFT(R · truncate_K(FFT(v)))``, with bias.

    Keeps K_i modes per dimension in muop's convention (:mod:`muop.core.modes`). The FFT uses
    ``norm="forward"`` (the forward transform divides by the number of grid points), so kept
    coefficients approximate the continuous Fourier coefficients and the layer is
    discretization-invariant. The bias is added as the k = 0 coefficient, i.e. a constant.

    The weight R is stored as real numbers, mode-major:
    ``weight.shape == (2K_1, ..., 2K_{d-1}, K_d, in, out, 2)`` with the last dim (real, imag), and
    each non-last mode dim ordered like ``torch.fft`` frequencies: ``0..K-1`` then ``-K..-1``.
    Real storage makes Adam's per-coordinate treatment of real and imaginary parts explicit.

    Transforms go one dimension at a time and truncate after each, so later FFTs only touch the
    kept rows; the contraction is a single batched matmul over modes, as :attr:`contraction` says.
    """

    #: How the per-mode contraction runs. ``"real"``: one real batched GEMM on the block
    #: ``[[Wr, Wi], [-Wi, Wr]]`` (on the CPU complex ``bmm`` loops over the batch; the block is built
    #: every forward and kept for backward: twice the weight's memory). ``"complex"``: a complex64
    #: batched matmul on the weight itself (a view, no copy), native in cuBLAS. ``"auto"``: complex on
    #: CUDA, real elsewhere. Both compute the same (tests: to float64 rounding). The default stays
    #: ``"real"``, what muop computed before 0.3, until a GPU run shows which is faster there
    #: (benchmarks/gpu_suite.py times both).
    contraction = "real"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        modes: int | tuple[int, ...],
        dim: int | None = None,
        bias: bool = True,
        branch: str = "",
    ) -> None:
        super().__init__()
        self.modes = normalize_modes(modes, dim)
        self.dim = len(self.modes)
        self.in_channels, self.out_channels = in_channels, out_channels
        mode_shape = (*[2 * k for k in self.modes[:-1]], self.modes[-1])
        self.weight = nn.Parameter(torch.randn(*mode_shape, in_channels, out_channels, 2) / math.sqrt(2 * in_channels))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        d = self.dim
        declare(
            self,
            "weight",
            ParamSpec(
                Role.SPECTRAL,
                fan_in_dims=(d,),
                fan_out_dims=(d + 1,),
                mode_dims=tuple(range(d)),
                width_in=True,
                width_out=True,
                complex_pair=True,
                branch=branch,
            ),
        )
        if bias:
            declare(self, "bias", ParamSpec(Role.BIAS, fan_out_dims=(0,), width_out=True, branch=branch))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, modes={self.modes}"

    def complex_weight(self, modes: tuple[int, ...] | None = None) -> Tensor:
        """R as a complex tensor of shape (2K_1, ..., K_d, in, out), restricted to ``modes``."""
        w = torch.view_as_complex(self.weight)
        if modes is None or tuple(modes) == self.modes:
            return w
        for i, (k, kk) in enumerate(zip(self.modes[:-1], modes[:-1])):
            if kk < k:  # keep frequencies 0..kk-1 and -kk..-1
                w = torch.cat([w.narrow(i, 0, kk), w.narrow(i, 2 * k - kk, kk)], dim=i)
        return w.narrow(self.dim - 1, 0, modes[-1])

    def _real_block(self, modes: tuple[int, ...], nm: int) -> Tensor:
        """``mult * R`` restricted to ``modes`` as the real (M, 2in, 2out) matrix [[Wr, Wi], [-Wi, Wr]]."""
        w = torch.view_as_real(self.complex_weight(modes)).reshape(nm, self.in_channels, self.out_channels, 2)
        m = multiplier(self, "weight")
        if m != 1.0:
            w = w * m
        wr, wi = w[..., 0], w[..., 1]
        return torch.cat([torch.cat([wr, wi], dim=2), torch.cat([-wi, wr], dim=2)], dim=1)

    def _contract(self, xf: Tensor, km: tuple[int, ...]) -> Tensor:
        """``R · X`` per kept mode, plus the bias as the k = 0 coefficient (index 0 in every mode dim):
        xf (B, in, *modes) complex -> (B, out, *modes) complex; see :attr:`contraction`."""
        b, c, *mode_shape = xf.shape
        d, nm, out = self.dim, math.prod(mode_shape), self.out_channels
        bias, mb = self.bias, multiplier(self, "bias")
        if bias is not None and mb != 1.0:
            bias = bias * mb
        if self.contraction == "complex" or (self.contraction == "auto" and xf.device.type == "cuda"):
            xm = xf.permute(*range(2, 2 + d), 0, 1).reshape(nm, b, c)
            w = self.complex_weight(km).reshape(nm, c, out)  # a view of the parameter at full modes
            m = multiplier(self, "weight")
            ym = torch.bmm(xm, (w if m == 1.0 else w * m).to(xm.dtype))
            if bias is not None:
                ym = torch.cat([ym[:1] + bias.to(ym.dtype), ym[1:]], dim=0)
            return ym.reshape(*mode_shape, b, out).permute(d, d + 1, *range(d))
        # [Xr | Xi] @ [[Wr, Wi], [-Wi, Wr]] = [Re(XW) | Im(XW)], shapes (M, B, 2in) @ (M, 2in, 2out)
        xm = torch.view_as_real(xf).permute(*range(2, 2 + d), 0, d + 2, 1).reshape(nm, b, 2 * c)
        ym = torch.bmm(xm, self._real_block(km, nm).to(xm.dtype))
        if bias is not None:
            dc = torch.cat([bias, bias.new_zeros(out)]).to(ym.dtype)
            ym = torch.cat([ym[:1] + dc, ym[1:]], dim=0)
        ym = ym.reshape(*mode_shape, b, 2, out).permute(d, d + 2, *range(d), d + 1)
        return torch.view_as_complex(ym.contiguous())

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, in, n_1, ..., n_d) real -> (B, out, n_1, ..., n_d), in x's dtype.

        Under mixed precision (autocast to bfloat16 or float16) the whole layer, FFTs and the
        per-mode contraction, runs in float32 (complex64) with autocast off: cuFFT has no
        bfloat16 and half-precision FFTs need power-of-two grids, and the contraction's sums over
        channels lose too much in 8 mantissa bits. Only the output is cast back to x's dtype.
        """
        with torch.autocast(x.device.type, enabled=False):
            y = self._transform(x if x.dtype in (torch.float32, torch.float64) else x.float())
        return y if y.dtype == x.dtype else y.to(x.dtype)

    def _transform(self, x: Tensor) -> Tensor:
        """The layer in x's own (float32 or float64) precision; see :meth:`forward`."""
        b, c, *grid = x.shape
        d = self.dim
        if len(grid) != d:
            raise UsageError(
                f"expected a {d}-d input (B, C, {', '.join('n' + str(i + 1) for i in range(d))}), got shape "
                f"{tuple(x.shape)}"
            )
        km = kept_modes(self.modes, grid)
        # forward transform, truncating after each dimension
        xf = _TruncatedRFFT.apply(x, km[-1])
        for i in range(d - 2, -1, -1):
            ax = 2 + i
            xf = torch.fft.fft(xf, dim=ax, norm="forward")
            n, k = grid[i], km[i]
            xf = torch.cat([xf.narrow(ax, 0, k), xf.narrow(ax, n - k, k)], dim=ax)
        yf = self._contract(xf, km)
        # inverse transform: zero-pad and invert the non-last dims, then the real last dim
        for i in range(d - 1):
            ax = 2 + i
            n, k = grid[i], km[i]
            if n > 2 * k:
                pad_shape = list(yf.shape)
                pad_shape[ax] = n - 2 * k
                yf = torch.cat([yf.narrow(ax, 0, k), yf.new_zeros(pad_shape), yf.narrow(ax, k, k)], dim=ax)
            yf = torch.fft.ifft(yf, dim=ax, norm="forward")
        return torch.fft.irfft(yf, n=grid[-1], dim=-1, norm="forward")
