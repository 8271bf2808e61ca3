"""scales_train.calibrate: int8 input ranges for the FP convs that read feature maps."""
import numpy as np
import torch

from scales_train import calibrate, safetensors
from scales_train.imageio import list_images
from scales_train.inference import load_inference
from scales_train.modelfile import read_model

from conftest import WEIGHTS


def test_calibration_adds_ranges_the_readers_accept(tmp_path):
    src = WEIGHTS / "scales-edsr-x2.safetensors"
    tensors, meta = safetensors.load(src)
    for k in [k for k in tensors if k.endswith(".input_absmax")]:
        del tensors[k]  # start from an uncalibrated file
    plain = tmp_path / "plain.safetensors"
    safetensors.save(plain, tensors, meta)
    assert calibrate.feature_convs(tensors) == ["tail", "up.0"]  # head reads the image: stays fp32

    images = list_images(calibrate.DEFAULT_DATA)[:2]
    ranges = calibrate.input_ranges(plain, images, limit_side=48)
    out = tmp_path / "cal.safetensors"
    calibrate.write_ranges(plain, out, ranges, {"calibration": "test"})
    cfg, t, m = read_model(out)
    c = cfg.channels
    for p in ("tail", "up.0"):
        r = t[p + ".input_absmax"]
        assert r.shape == (c,) and r.dtype == np.float32
        assert (r > 0).all() and np.isfinite(r).all()
    # The ranges change nothing in fp32: the same network, the same output.
    x = torch.rand(1, 3, 12, 10)
    with torch.no_grad():
        assert torch.equal(load_inference(plain)[1](x), load_inference(out)[1](x))


def test_ranges_are_the_largest_input_seen(tmp_path):
    src = WEIGHTS / "scales-edsr-x2.safetensors"
    images = list_images(calibrate.DEFAULT_DATA)[:3]
    one = calibrate.input_ranges(src, images[:1], limit_side=48)
    three = calibrate.input_ranges(src, images, limit_side=48)
    for p in one:
        assert (three[p] >= one[p]).all()
