"""Per-channel normalisers (muop.data.normalize)."""

import torch

from muop.data import ChannelNormalizer


def test_channel_normalizer_fit_inverse_and_state_dict():
    x = (
        torch.randn(50, 3, 16) * torch.tensor([1.0, 10.0, 0.1])[None, :, None]
        + torch.tensor([0.0, 5.0, -2.0])[None, :, None]
    )
    n = ChannelNormalizer.fit(x)
    z = n.encode(x)
    torch.testing.assert_close(z.mean((0, 2)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.std((0, 2), unbiased=False), torch.ones(3), atol=1e-4, rtol=0)
    torch.testing.assert_close(n.decode(z), x, atol=1e-4, rtol=1e-5)
    m = ChannelNormalizer(3)
    m.load_state_dict(n.state_dict())
    torch.testing.assert_close(m.encode(x), z)
