import json

import numpy as np
import pytest

from scales_train import metrics
from scales_train.eval import evaluate
from scales_train.imageio import read_image, write_png


@pytest.mark.parametrize("scale,expect", [
    (2, {"Set5": (33.66, 0.9299), "Set14": (30.24, 0.8688)}),
    (4, {"Set5": (28.42, 0.8104), "Set14": (26.00, 0.7027)}),
])
def test_bicubic_reproduces_published_numbers(bench, scale, expect):
    res = evaluate("bicubic", list(expect), scale, bench)
    for s, (psnr, ssim) in expect.items():
        got = res["sets"][s]
        assert abs(got["psnr"] - psnr) <= 0.015, (s, got)
        assert abs(got["ssim"] - ssim) <= 0.001, (s, got)


def test_psnr_of_identical_images_is_infinite_and_shave_applies():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
    assert metrics.psnr_y(a, a, 2) == float("inf")
    assert metrics.ssim_y(a, a, 4) == pytest.approx(1.0)
    b = a.copy()
    b[:2] = 0  # inside the shaved border at x2: ignored
    assert metrics.psnr_y(b, a, 2) == float("inf")
    b[2, 5] = 255 - b[2, 5]
    assert metrics.psnr_y(b, a, 2) < 60


def test_size_mismatch_is_a_clear_error():
    a = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(ValueError, match="does not match"):
        metrics.psnr_y(a[:10, :10], a, 2)


def test_metrics_cli_scores_a_folder(bench, tmp_path):
    res = evaluate("bicubic", ["Set5"], 3, bench, save=tmp_path)
    out = tmp_path / "m.json"
    rc = metrics.main(["--pred", str(tmp_path / "Set5"), "--hr", str(bench / "Set5" / "HR"),
                       "--scale", "3", "--json", str(out)])
    assert rc == 0
    j = json.loads(out.read_text())
    assert j["scale"] == 3 and j["images"] == 5 and len(j["per_image"]) == 5
    assert j["psnr"] == pytest.approx(res["sets"]["Set5"]["psnr"], abs=1e-9)
    # A missing prediction is reported, not skipped.
    (tmp_path / "Set5" / "baby.png").unlink()
    assert metrics.main(["--pred", str(tmp_path / "Set5"), "--hr", str(bench / "Set5" / "HR"), "--scale", "3"]) == 2


def test_gray_ground_truth_is_scored_on_gray_values(tmp_path):
    rng = np.random.default_rng(1)
    g = rng.integers(0, 256, (16, 16), dtype=np.uint8)
    rgb = np.repeat(g[..., None], 3, axis=2)
    write_png(tmp_path / "g.png", g)
    assert read_image(tmp_path / "g.png").ndim == 2
    noisy = rgb.copy()
    noisy[8, 8] = 0 if g[8, 8] > 127 else 255
    d = float(g[8, 8]) - float(noisy[8, 8, 0])
    expect = 10 * np.log10(255.0 ** 2 / (d * d / 144.0))
    assert metrics.psnr_y(noisy, g, 2) == pytest.approx(expect)
