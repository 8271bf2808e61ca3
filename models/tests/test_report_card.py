"""scales_sr.report card: a model card from the model file, eval JSONs and engine latency."""
import json

import pytest

from scales_sr.report import card
from conftest import WEIGHTS

MODEL = WEIGHTS / "scales-edsr-x2.safetensors"


def test_card_states_scores_and_engine_latency(tmp_path):
    ev = json.loads(MODEL.with_suffix(".eval.json").read_text())
    lat = {"machine": {"cpu": "Test CPU"}, "threads": 2, "repeats": 5, "kernel": "avx512",
           "rows": [{"net": f"models/weights/{MODEL.name}", "scale": 2, "input": "256x256", "engine_ms": 61.4},
                    {"net": f"models/weights/{MODEL.name}", "scale": 2, "input": "1280x720", "engine_ms": 702.6},
                    {"net": "other.safetensors", "scale": 2, "input": "256x256", "engine_ms": 1.0}]}
    out = tmp_path / "card.md"
    card(MODEL, ev, ev, None, None, out, lat=lat)
    text = out.read_text()
    assert f"| **scales-edsr-x2** | {ev['sets']['Set5']['psnr']:.2f} / " in text
    assert "## Engine latency" in text and "Test CPU" in text and "`avx512`" in text
    assert "| 256x256 | 61 |" in text and "| 1280x720 | 703 |" in text and "| 1.0 |" not in text
    assert "--inputs 256x256,1280x720 --threads 2 --repeats 5" in text
    lat["rows"] = lat["rows"][2:]
    with pytest.raises(ValueError, match="no rows for scales-edsr-x2"):
        card(MODEL, ev, ev, None, None, out, lat=lat)
