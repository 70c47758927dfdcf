"""Fourier-mode conventions (muop.core.modes): neuraloperator's n_modes, grids, validation."""

import pytest

from muop.core import kept_modes, max_modes, modes_from_neuralop, modes_to_neuralop, normalize_modes


def test_neuralop_conversion_is_exact_and_invertible():
    assert modes_from_neuralop((16, 16)) == (8, 9)
    assert modes_from_neuralop(16) == (9,)
    assert modes_from_neuralop((12, 12, 12)) == (6, 6, 7)
    assert modes_from_neuralop((16, 16), exact=False) == (8, 8)
    for n in [(16,), (16, 16), (8, 12), (12, 12, 12), (4, 8, 6)]:
        assert modes_to_neuralop(modes_from_neuralop(n)) == n


def test_neuralop_odd_modes_rejected():
    with pytest.raises(ValueError, match="even"):
        modes_from_neuralop((15, 16))


def test_kept_modes_clip_to_grid():
    assert max_modes((64, 64)) == (32, 33)
    assert kept_modes((8, 9), (64, 64)) == (8, 9)
    assert kept_modes((8, 9), (8, 8)) == (4, 5)


@pytest.mark.parametrize("bad", [0, (4, 0), (4, 2.5), True, (1, 2, 3, 4)])
def test_normalize_rejects(bad):
    with pytest.raises(ValueError):
        normalize_modes(bad, dim=None if not isinstance(bad, int) else 2)
