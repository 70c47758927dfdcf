"""Gaussian random fields (muop.data.grf): the sampled spectrum is the covariance's."""

import math

import pytest
import torch

from muop.data.grf import periodic_grf


def test_periodic_grf_spectrum_matches_covariance():
    g = torch.Generator().manual_seed(0)
    var = lambda k2: 625.0 * (k2 + 25.0) ** -2.0  # noqa: E731  (the Burgers covariance, integer k on (0, 2π))
    u = periodic_grf(4000, 32, 1, var, g, length=2 * math.pi, dtype=torch.float64)
    uhat = torch.fft.fft(u, dim=-1, norm="forward")
    emp = uhat.abs().pow(2).mean(0)
    for k in (0, 1, 2, 3, 5, 8):
        expected = 625.0 * (k * k + 25.0) ** -2.0
        assert emp[k].item() == pytest.approx(expected, rel=0.12), k  # ~5% sampling error at 4000 samples
