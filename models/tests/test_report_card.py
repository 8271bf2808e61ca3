"""scales_train.report card: a model card from the model file, eval JSONs and engine latency."""
import json

import pytest

from scales_train.report import card
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


def test_short_budget_section_lists_each_run_with_its_settings(tmp_path, bench, small_train):
    from scales_train.report import short_section
    from scales_train.train import main as train_main

    ev = json.loads(MODEL.with_suffix(".eval.json").read_text())
    for name, extra in (("base", ["--iters", "2"]), ("patch64", ["--iters", "1", "--patch", "16"])):
        assert train_main(["--variant", "scales", "--scale", "2", "--blocks", "1", "--channels", "8", "--batch", "2",
                           "--patch", "12", "--warmup", "1", "--val-every", "100", "--threads", "1",
                           "--train-data", str(small_train), "--val-data", str(bench), *extra,
                           "--out", str(tmp_path / name)]) == 0
        (tmp_path / f"{name}.eval.json").write_text(json.dumps(ev))
    text = short_section(tmp_path)
    assert "B1 C8" in text and "2 iterations of batch 2, 12x12 LR patches" in text
    rows = [l for l in text.splitlines() if l.startswith("| base |") or l.startswith("| patch64 |")]
    assert rows[0].startswith("| base | 0.0005 | 2 | 12 | 2 | ")
    assert rows[1].startswith("| patch64 | 0.0005 | 2 | 16 | 1 | ")
    assert f"{ev['sets']['B100']['psnr']:.2f}" in rows[0]
    assert len(rows) == 2  # runs that are not there are left out


def test_latency_section_is_added_then_replaced_in_place(tmp_path):
    from scales_train.report import set_card_latency

    card_path = tmp_path / "card.md"
    card_path.write_text("# m\n\n## Quality\n\nrows\n")
    lat = {"machine": {"cpu": "CPU A"}, "threads": 2, "repeats": 3, "kernel": "avx2",
           "rows": [{"net": str(MODEL), "scale": 2, "input": "256x256", "engine_ms": 70.2}]}
    set_card_latency(MODEL, lat, card_path)
    assert card_path.read_text().startswith("# m\n\n## Quality\n\nrows\n\n## Engine latency")
    lat["machine"]["cpu"], lat["rows"][0]["engine_ms"] = "CPU B", 55.0
    card_path.write_text(card_path.read_text() + "\n## Later\n\nkept\n")
    set_card_latency(MODEL, lat, card_path)
    text = card_path.read_text()
    assert text.count("## Engine latency") == 1 and "CPU B" in text and "CPU A" not in text
    assert "| 256x256 | 55 |" in text and text.endswith("## Later\n\nkept\n") and "rows" in text


def test_command_line_quotes_a_plain_command_and_keeps_a_quoted_chain():
    from scales_train.report import command_line

    plain = command_line("scripts/py -m scales_train.train --iters 6", "m")
    assert plain == ("- command: `scripts/py -m scales_train.train --iters 6`, then `scripts/py -m "
                     "scales_train.export --checkpoint RUN/checkpoint.pt --out models/weights/m.safetensors`")
    chain = "`train A --out RUN2`, then a warm restart `train B --init-scale-from RUN2/checkpoint.pt --out RUN`"
    line = command_line(chain, "m")
    assert line.startswith("- command: `train A") and "``" not in line
    assert line.endswith(", then `scripts/py -m scales_train.export --checkpoint RUN/checkpoint.pt "
                         "--out models/weights/m.safetensors`")
    with_export = chain + ", then `scripts/py -m scales_train.export --checkpoint RUN/checkpoint.pt --out x`"
    assert command_line(with_export, "m") == "- command: " + with_export


def test_card_counts_cpu_core_hours_and_gpu_hours_apart():
    from scales_train.report import training_hours
    both = training_hours({"core_hours": "2.39", "segments": "3", "cpus": "AMD EPYC",
                           "gpu_hours": "0.113", "gpus": "NVIDIA H200"})
    assert both == ["2.39 core-hours (wall time x threads) over 3 resumed stretch(es) on AMD EPYC",
                    "0.113 GPU-hours on NVIDIA H200 (a device lease: `models/scripts/train_gpu.sh`)"]
    # A GPU-only run: no "0.00 core-hours", and no empty CPU list.
    assert training_hours({"core_hours": "0.00", "segments": "1", "cpus": "", "gpu_hours": "0.043",
                           "gpus": "NVIDIA H200"}) == [
        "0.043 GPU-hours on NVIDIA H200 (a device lease: `models/scripts/train_gpu.sh`)"]
    # A GPU warm restart of a CPU run: the start's core-hours, without a CPU stretch of its own.
    assert training_hours({"core_hours": "7.47", "segments": "1", "cpus": "", "gpu_hours": "0.118",
                           "gpus": "NVIDIA H200"})[0] == "7.47 core-hours (wall time x threads)"
    assert training_hours({"core_hours": "1.00", "segments": "2", "cpus": "AMD EPYC"}) == [
        "1.00 core-hours (wall time x threads) over 2 resumed stretch(es) on AMD EPYC"]


def test_checkpoint_hours_split_by_device():
    from scales_train.checkpoint import core_hours, gpu_hours
    segs = [{"seconds": 3600, "threads": 2, "device": "cpu"}, {"seconds": 1800, "threads": 2, "device": "cuda"},
            {"seconds": 360, "threads": 1}]  # an old segment without "device" ran on the CPU
    assert core_hours(segs) == 2.1
    assert gpu_hours(segs) == 0.5
