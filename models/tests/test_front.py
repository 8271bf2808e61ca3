"""scales_train.front: the quality-speed table and plots from front runs and a latency file."""
import json

from PIL import Image

from scales_train.front import main as front_main, verdict
from scales_train.train import main as train_main


def test_front_table_and_plot_from_runs(tmp_path, bench, small_train):
    runs = tmp_path / "checkpoints"
    for variant in ("scales", "fp"):
        assert train_main(["--variant", variant, "--scale", "2", "--blocks", "1", "--channels", "8", "--patch", "12",
                           "--batch", "2", "--iters", "2", "--warmup", "1", "--val-every", "2", "--threads", "1",
                           "--train-data", str(small_train), "--val-data", str(bench),
                           "--out", str(runs / f"front-x2-{variant}-b1c8")]) == 0
    (runs / "not-a-front-run").mkdir()
    lat = tmp_path / "latency.json"
    lat.write_text(json.dumps({
        "machine": {"cpu": "test CPU"}, "threads": 2, "repeats": 3, "kernel": "ref",
        "rows": [{"net": "scales:1x8", "scale": 2, "input": "256x256", "engine_ms": 11.0},
                 {"net": "fp:1x8", "scale": 2, "input": "256x256", "engine_ms": 23.0, "ort_ms": 47.0}]}))
    out = tmp_path / "docs" / "quality-speed.md"
    out.parent.mkdir()
    out.write_text("# Front\n\nintro kept\n\n<!-- front:table -->\nold\n<!-- /front:table -->\n\ntail kept\n")
    assert front_main(["--latency", str(lat), "--runs", str(runs), "--data", str(bench), "--out", str(out),
                       "--min-iterations", "3"]) == 2  # both runs have 2: none left
    assert front_main(["--latency", str(lat), "--runs", str(runs), "--data", str(bench), "--out", str(out),
                       "--min-iterations", "2"]) == 0
    text = out.read_text()
    assert "intro kept" in text and "tail kept" in text and "old" not in text
    rows = [l for l in text.splitlines() if l.startswith("| x2 |")]
    assert len(rows) == 2
    assert "| ms 256x256 | ONNX Runtime ms 256x256 |" in text
    assert rows[0].startswith("| x2 | binary SCALES-EDSR B1 C8 |") and "| 11 | - | 2 |" in rows[0]
    assert rows[1].startswith("| x2 | FP EDSR B1 C8 |") and "| 23 | 47 | 2 |" in rows[1]
    assert "- x2, 256x256: " in text
    ev = json.loads((runs / "front-x2-fp-b1c8" / "front.eval.json").read_text())
    assert ev["iteration"] == 2 and f"{ev['sets']['Set14']['psnr']:.2f}" in rows[1]
    with Image.open(out.parent / "quality-speed-x2.png") as im:
        assert im.format == "PNG" and im.width > 300
    # A second call reuses the cached scores.
    mtime = (runs / "front-x2-fp-b1c8" / "front.eval.json").stat().st_mtime_ns
    assert front_main(["--latency", str(lat), "--runs", str(runs), "--data", str(bench), "--out", str(out),
                       "--min-iterations", "2"]) == 0
    assert (runs / "front-x2-fp-b1c8" / "front.eval.json").stat().st_mtime_ns == mtime


def test_front_without_runs_is_an_error(tmp_path, capsys):
    lat = tmp_path / "latency.json"
    lat.write_text(json.dumps({"machine": {"cpu": "x"}, "threads": 1, "repeats": 1, "kernel": "ref", "rows": []}))
    assert front_main(["--latency", str(lat), "--runs", str(tmp_path)]) == 2
    assert "no front-x" in capsys.readouterr().err


def _run(variant, net, set14):
    return {"run": "r", "scale": 2, "variant": variant, "net": net, "psnr": {"Set5": 0, "Set14": set14, "B100": 0}}


def test_verdict_compares_each_binary_network_with_the_fp_networks_as_fast_or_faster():
    lat = {"rows": [{"net": n, "scale": 2, "input": "i", "engine_ms": ms}
                    for n, ms in (("scales:4x32", 60), ("scales:8x64", 140), ("fp:3x16", 54), ("fp:4x32", 113))]}
    runs = [_run("scales", "scales:4x32", 31.5), _run("scales", "scales:8x64", 31.7),
            _run("fp", "fp:3x16", 31.4), _run("fp", "fp:4x32", 32.1)]
    v = verdict(runs, lat, 2, "i")
    # B4 C32 beats B3 C16 (the only FP network as fast); B8 C64 loses to FP B4 C32, which is faster.
    assert "**yes**" in v and "B4 C32 (31.50 dB, 60 ms; best FP at least as fast: B3 C16 31.40 dB)" in v
    assert "B8 C64" not in v
    runs[0]["psnr"]["Set14"] = 31.4  # a tie is not a win
    assert "**no**" in verdict(runs, lat, 2, "i")
