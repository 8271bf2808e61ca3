import torch
import torch.nn.functional as F

from scales_train.binarize import hard_sign, sign_activation, sign_weight, weight_scale
from scales_train.layers import Components, ScalesBinaryConv


def test_sign_of_zero_is_plus_one():
    x = torch.tensor([-2.0, -1e-8, 0.0, -0.0, 1e-8, 3.0])
    assert hard_sign(x).tolist() == [-1, -1, 1, 1, 1, 1]
    assert sign_activation(x).tolist() == [-1, -1, 1, 1, 1, 1]


def test_approxsign_gradient_is_piecewise_polynomial():
    u = torch.tensor([-1.5, -1.0, -0.75, -0.25, 0.0, 0.25, 0.5, 1.0, 2.0], requires_grad=True)
    sign_activation(u).sum().backward()
    expect = [max(0.0, 2 - 2 * abs(v)) for v in u.detach().tolist()]
    assert torch.allclose(u.grad, torch.tensor(expect))
    assert u.grad[4].item() == 2.0 and u.grad[1].item() == 0.0 and u.grad[0].item() == 0.0


def test_weight_ste_is_clipped_to_unit_range():
    w = torch.tensor([-1.5, -1.0, -0.3, 0.0, 0.7, 1.0, 1.01], requires_grad=True)
    g = torch.arange(1.0, 8.0)
    (sign_weight(w) * g).sum().backward()
    assert w.grad.tolist() == [0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0]


def test_weight_scale_is_detached_mean_abs():
    w = torch.randn(5, 3, 3, 3, requires_grad=True)
    k = weight_scale(w)
    assert not k.requires_grad
    assert torch.allclose(k, w.detach().abs().mean(dim=(1, 2, 3)))


def test_binary_conv_equals_float_conv_on_signs_and_pads_with_plus_one():
    torch.manual_seed(0)
    m = ScalesBinaryConv(7, Components.parse("none"))
    x = torch.randn(2, 7, 5, 6)
    a = torch.where(x >= 0, 1.0, -1.0)
    wb = torch.where(m.weight >= 0, 1.0, -1.0)
    ref = F.conv2d(F.pad(a, (1, 1, 1, 1), value=1.0), wb)
    k = m.weight.detach().abs().mean(dim=(1, 2, 3)).view(1, -1, 1, 1)
    assert torch.allclose(m(x), x + ref * k)
    # The conv sums are integers of the right parity range, and the border uses +1 padding:
    # with zero padding a corner pixel would differ.
    zero_pad = F.conv2d(a, wb, padding=1)
    assert not torch.equal(ref, zero_pad)


def test_gradients_reach_every_scales_parameter():
    torch.manual_seed(0)
    m = ScalesBinaryConv(8, Components())
    # Make the zero-initialised branches non-trivial so that every gradient is non-zero.
    with torch.no_grad():
        m.fc2.weight.normal_()
        m.spatial.weight.normal_()
    x = torch.randn(2, 8, 6, 6) * 0.5
    m(x).square().sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
