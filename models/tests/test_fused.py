"""The fused SCALES conv training step (fused.py) against autograd over the layer's reference form."""
import pytest
import torch

from scales_train import layers
from scales_train.layers import Components, ScalesBinaryConv


def _grads(layer, x, fused: bool):
    layers.set_fused(fused)
    try:
        x = x.detach().clone().requires_grad_()
        layer.zero_grad(set_to_none=True)
        z = layer(x)
        # A loss that weights every output differently, so a transposed or summed gradient shows.
        wts = torch.linspace(-1.0, 2.0, z.numel()).view_as(z)
        (z * wts).sum().backward()
        return z.detach(), x.grad, {n: p.grad.clone() for n, p in layer.named_parameters() if p.grad is not None}
    finally:
        layers.set_fused(True)


@pytest.mark.parametrize("comps", ["all", "none", "shift,spatial", "layer_scale,channel"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_fused_step_equals_autograd_over_the_reference(comps, channels_last):
    torch.manual_seed(0)
    layer = ScalesBinaryConv(12, Components.parse(comps))
    with torch.no_grad():  # move the zero-initialised branches off their start so every term counts
        for p in layer.parameters():
            if p is not layer.weight:
                p.add_(0.3 * torch.randn_like(p))
    x = torch.randn(3, 12, 9, 7)
    x[0, 0, 0, 0] = -(layer.shift[0].item() if layer.shift is not None else 0.0)  # u = 0 exactly: sign +1
    if channels_last:
        layer = layer.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    z0, gx0, gp0 = _grads(layer, x, fused=False)
    z1, gx1, gp1 = _grads(layer, x, fused=True)
    assert torch.allclose(z0, z1, rtol=1e-5, atol=1e-5)
    assert torch.allclose(gx0, gx1, rtol=1e-4, atol=1e-5)
    assert gp0.keys() == gp1.keys() and "weight" in gp1
    for name in gp0:
        assert torch.allclose(gp0[name], gp1[name], rtol=1e-4, atol=1e-4), name
    assert gp1["weight"].abs().sum() > 0


@pytest.mark.parametrize("r", [2, 3])
def test_pixel_shuffle_channels_last_equals_pytorchs(r):
    from scales_train.layers import pixel_shuffle
    t = torch.randn(2, 4 * r * r, 5, 6)
    cl = t.contiguous(memory_format=torch.channels_last).requires_grad_()
    out = pixel_shuffle(cl, r)
    assert torch.equal(out, torch.nn.functional.pixel_shuffle(t, r))
    out.backward(torch.arange(out.numel(), dtype=torch.float32).view_as(out))
    t2 = t.clone().requires_grad_()
    torch.nn.functional.pixel_shuffle(t2, r).backward(torch.arange(out.numel(), dtype=torch.float32).view_as(out))
    assert torch.equal(cl.grad, t2.grad)
