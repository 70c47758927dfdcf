"""The spectral convolution (muop.models.layers): against two independent implementations, plus
invariance and gradient checks (the Fourier layer built on it: tests/test_models_fno.py)."""

import math

import pytest
import torch

from muop.core import modes_from_neuralop
from muop.models import SpectralConv
from muop.models.layers import _TruncatedRFFT


def _freqs(modes):
    """Kept integer frequencies per dim, in muop's storage order (0..K-1, -K..-1; last dim 0..K-1)."""
    out = [list(range(k)) + list(range(-k, 0)) for k in modes[:-1]]
    return out + [list(range(modes[-1]))]


def direct_spectral(conv: SpectralConv, x: torch.Tensor) -> torch.Tensor:
    """Explicit Fourier-series evaluation, no FFTs: y(x) = sum_k c_k Re(R_k û_k e^{2πi k·x/n}) + b,
    with û_k = mean_x u(x) e^{-2πi k·x/n}, c_k = 1 for k_d = 0 and 2 otherwise (the real signal's
    conjugate half). Valid when 2K_i <= n_i and K_d < n_d / 2."""
    b, c, *grid = x.shape
    d = len(grid)
    coords = torch.stack(
        torch.meshgrid(*[torch.arange(n, dtype=torch.float64) / n for n in grid], indexing="ij"), -1
    ).reshape(-1, d)
    fr = torch.stack(
        torch.meshgrid(*[torch.tensor(f, dtype=torch.float64) for f in _freqs(conv.modes)], indexing="ij"), -1
    ).reshape(-1, d)
    phase = torch.exp(2j * math.pi * (coords @ fr.T))  # (points, modes)
    u = x.reshape(b, c, -1).to(torch.complex128)
    uhat = torch.einsum("bip,pk->bik", u, phase.conj()) / coords.shape[0]
    w = torch.view_as_complex(conv.weight.detach().double()).reshape(-1, conv.in_channels, conv.out_channels)
    yhat = torch.einsum("bik,kio->bok", uhat, w)
    ck = torch.where(fr[:, -1] == 0, 1.0, 2.0).to(torch.complex128)
    y = torch.einsum("bok,pk->bop", yhat * ck, phase).real
    return (y + conv.bias.detach().double()[:, None]).reshape(b, conv.out_channels, *grid)


@pytest.mark.parametrize("modes,grid", [((5,), (16,)), ((3, 4), (12, 10)), ((2, 3, 2), (6, 8, 6))])
def test_matches_direct_fourier_sum(modes, grid):
    conv = SpectralConv(3, 4, modes).double()
    with torch.no_grad():
        conv.bias.normal_()
    x = torch.randn(2, 3, *grid, dtype=torch.float64)
    torch.testing.assert_close(conv(x), direct_spectral(conv, x), rtol=0, atol=1e-12)


def _load_neuralop(monkeypatch, in_c, out_c, n_modes):
    pytest.importorskip("neuralop")
    # neuraloperator hard-codes torch.cfloat for its weight and output spectrum; point it at
    # cdouble so that it runs fully in float64 (restored by monkeypatch after the test)
    monkeypatch.setattr(torch, "cfloat", torch.cdouble)
    from neuralop.layers.spectral_convolution import SpectralConv as NSC

    return NSC(in_c, out_c, n_modes).double()


def copy_from_neuralop(nsc, conv: SpectralConv, n_modes) -> None:
    """neuraloperator stores (in, out, N_1, ..., N_d//2+1) complex, fftshifted in dims < d."""
    w = nsc.weight.to_tensor().detach()
    d = len(n_modes)
    for i in range(d - 1):
        w = torch.roll(w, shifts=-(n_modes[i] // 2), dims=2 + i)
    w = w.permute(*range(2, 2 + d), 0, 1).contiguous()
    with torch.no_grad():
        conv.weight.copy_(torch.view_as_real(w))
        conv.bias.copy_(nsc.bias.detach().reshape(-1))


@pytest.mark.parametrize(
    "n_modes,grid",
    [
        ((16,), (64,)),
        ((16,), (32,)),
        ((16,), (16,)),  # the last kept frequency is the Nyquist frequency
        ((16, 16), (32, 32)),
        ((16, 16), (16, 16)),  # Nyquist in both dims
        ((8, 12), (32, 48)),
        ((8, 8, 8), (16, 16, 16)),
        ((6, 4, 8), (12, 10, 16)),
    ],
)
def test_matches_neuraloperator_spectralconv(monkeypatch, n_modes, grid):
    torch.manual_seed(1)
    nsc = _load_neuralop(monkeypatch, 5, 7, n_modes)
    conv = SpectralConv(5, 7, modes_from_neuralop(n_modes)).double()
    copy_from_neuralop(nsc, conv, n_modes)
    x = torch.randn(3, 5, *grid, dtype=torch.float64)
    ref = nsc(x)
    assert ref.dtype == torch.float64
    torch.testing.assert_close(conv(x), ref, rtol=0, atol=1e-10)


def test_discretization_invariance_for_band_limited_input():
    """A trigonometric polynomial within the kept band, sampled on 32² and 64²: the outputs agree
    at the shared points to round-off (the layer sees the same Fourier coefficients)."""
    conv = SpectralConv(2, 3, (4, 5)).double()

    def u(n):
        t = torch.arange(n, dtype=torch.float64) / n
        x1, x2 = torch.meshgrid(t, t, indexing="ij")
        f = torch.stack(
            [
                torch.sin(2 * math.pi * (x1 + 2 * x2)) + 0.3,
                torch.cos(2 * math.pi * 3 * x1) * torch.sin(2 * math.pi * 4 * x2),
            ]
        )
        return f[None]

    y32, y64 = conv(u(32)), conv(u(64))
    torch.testing.assert_close(y64[..., ::2, ::2], y32, rtol=0, atol=1e-12)


def test_coarse_grid_uses_the_modes_it_resolves():
    conv = SpectralConv(2, 2, (8, 9)).double()
    x = torch.randn(1, 2, 8, 8, dtype=torch.float64)  # resolves K = (4, 5)
    sub = SpectralConv(2, 2, (4, 5)).double()
    with torch.no_grad():
        sub.weight.copy_(torch.view_as_real(conv.complex_weight((4, 5))))
        sub.bias.copy_(conv.bias)
    torch.testing.assert_close(conv(x), sub(x), rtol=0, atol=1e-13)


def test_wrong_input_rank_is_a_clear_error():
    with pytest.raises(ValueError, match="expected a 2-d input"):
        SpectralConv(2, 2, (3, 3))(torch.randn(1, 2, 16))


@pytest.mark.parametrize("n,k", [(16, 5), (16, 9), (15, 8), (8, 1)])
def test_truncated_rfft_backward_is_the_exact_gradient(n, k):
    """The hand-written backward of the truncated real FFT (k kept of n//2+1, Nyquist included
    when k = n//2+1 for even n) against finite differences (float64) and autograd's own."""
    x = torch.randn(2, 3, n, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: torch.view_as_real(_TruncatedRFFT.apply(t, k)), (x,))
    g = torch.randn(2, 3, k, dtype=torch.complex128)
    (ours,) = torch.autograd.grad(_TruncatedRFFT.apply(x, k), x, g)
    (theirs,) = torch.autograd.grad(torch.fft.rfft(x, dim=-1, norm="forward")[..., :k], x, g)
    torch.testing.assert_close(ours, theirs)
