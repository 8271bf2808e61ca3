import numpy as np
import pytest
import torch
import torch.nn.functional as F

from scales_train.data import PatchSampler
from scales_train.edsr import ModelConfig, ScalesEDSR, count_params_ops
from scales_train.layers import Components


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("variant", ["scales", "plain", "fp"])
def test_output_shape(scale, variant):
    m = ScalesEDSR(ModelConfig.from_variant(variant, scale, 2, 16)).eval()
    with torch.no_grad():
        y = m(torch.rand(1, 3, 11, 7))
    assert y.shape == (1, 3, 11 * scale, 7 * scale)


def test_variant_names_round_trip():
    assert ModelConfig.from_variant("plain+shift+channel", 2, 1, 8).comps == Components(True, False, False, True)
    assert ModelConfig.from_variant("plain", 2, 1, 8).variant == "plain"
    assert ModelConfig.from_variant("scales", 2, 1, 8).variant == "scales"
    assert ModelConfig.from_variant("fp", 2, 1, 8).binary is False
    with pytest.raises(ValueError, match="unknown SCALES component"):
        ModelConfig.from_variant("plain+nonsense", 2, 1, 8)
    with pytest.raises(ValueError, match="scale 5"):
        ModelConfig.from_variant("scales", 5, 1, 8)


def test_parameter_and_op_counts():
    cfg = ModelConfig.from_variant("scales", 2, 4, 32)
    r = count_params_ops(cfg)
    # 9 binary convs of 32x32x3x3.
    assert r["binary_params"] == 9 * 32 * 32 * 9
    assert r["bops"] == 9 * 320 * 180 * 32 * 32 * 9
    fp = count_params_ops(ModelConfig.from_variant("fp", 2, 4, 32))
    assert fp["binary_params"] == 0 and fp["bops"] == 0
    assert fp["flops"] > r["flops"]


def test_training_steps_reduce_loss_on_real_patches(small_train):
    torch.manual_seed(0)
    sampler = PatchSampler(small_train, 2, 24, seed=0)
    lr, hr = (torch.from_numpy(a) for a in sampler.batch(8))
    m = ScalesEDSR(ModelConfig.from_variant("scales", 2, 1, 16))
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    losses = []
    for _ in range(40):
        loss = F.l1_loss(m(lr), hr)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])


def test_patch_sampler_aligns_lr_and_hr(small_train):
    from scales_train.bicubic import imresize
    s = PatchSampler(small_train, 3, 10, seed=1)
    lr, hr = s.batch(4)
    assert lr.shape == (4, 3, 10, 10) and hr.shape == (4, 3, 30, 30)
    # Downscaling the HR patch gives back (nearly) its LR patch away from the patch border.
    for k in range(4):
        hr8 = np.round(hr[k].transpose(1, 2, 0) * 255).astype(np.uint8)
        lr8 = np.round(lr[k].transpose(1, 2, 0) * 255).astype(np.int16)
        d = np.abs(imresize(hr8, 1 / 3).astype(np.int16) - lr8)[3:-3, 3:-3]
        assert d.max() <= 1
