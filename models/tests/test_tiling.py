import torch

from scales_train.edsr import ModelConfig, ScalesEDSR
from scales_train.tiling import tiled_forward


def _net(variant):
    torch.manual_seed(0)
    m = ScalesEDSR(ModelConfig.from_variant(variant, 2, 2, 8)).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return m


def test_tiles_with_enough_context_reproduce_whole_image_without_channel_rescaling():
    x = torch.rand(1, 3, 23, 30)
    for variant in ("fp", "plain+shift+layer_scale+spatial"):
        m = _net(variant)
        with torch.no_grad():
            full = m(x)
        # Receptive field radius: 5 residual convs + head + up + tail = 8 LR pixels.
        t = tiled_forward(m, x, 2, tile=8, context=8)
        assert torch.allclose(full, t, atol=1e-5), variant
        t_short = tiled_forward(m, x, 2, tile=8, context=2)
        assert not torch.allclose(full, t_short, atol=1e-5), variant


def test_channel_rescaling_makes_tiles_differ():
    m = _net("scales")
    x = torch.rand(1, 3, 23, 30)
    x[:, :, :, 15:] *= 0.2  # halves of different statistics
    with torch.no_grad():
        full = m(x)
    assert not torch.allclose(full, tiled_forward(m, x, 2, tile=8, context=8), atol=1e-5)
