"""The training recipe's parts: FP start (fp_start.py), start from another scale (scale_start.py) and
distillation (distill.py)."""
import copy

import pytest
import torch
import torch.nn.functional as F

from scales_train.checkpoint import core_hours
from scales_train.distill import Distiller
from scales_train.edsr import ModelConfig, ScalesEDSR
from scales_train.fp_start import init_binary_from_fp, load_fp_edsr
from scales_train.export import main as export_main
from scales_train.inference import load_inference
from scales_train.modelfile import read_model
from scales_train.scale_start import init_from_other_scale
from scales_train.swinir import ScalesSwinIR, SwinConfig
from scales_train.train import main as train_main
from conftest import ROOT

FP_FILE = ROOT / "models" / "reference" / "fp-edsr-x2.safetensors"


def test_fp_model_file_reads_as_the_same_network():
    net = load_fp_edsr(FP_FILE)
    _, ref, _ = load_inference(FP_FILE)
    x = torch.rand(1, 3, 17, 23)
    with torch.no_grad():
        assert torch.allclose(net(x), ref.eval()(x), atol=1e-5)


def test_binary_network_starts_from_its_fp_twin():
    fp = load_fp_edsr(FP_FILE)
    torch.manual_seed(0)
    b = ScalesEDSR(ModelConfig.from_variant("scales", 2, fp.cfg.blocks, fp.cfg.channels))
    shift0 = b.blocks[0].conv1.shift.detach().clone()
    copied = init_binary_from_fp(b, fp)
    assert torch.equal(b.blocks[1].conv2.weight, fp.blocks[1].conv2.conv.weight)
    assert torch.equal(b.body_end.weight, fp.body_end.conv.weight)
    for name in ("head.weight", "up.0.bias", "tail.weight", "blocks.0.act.weight"):
        assert name in copied and torch.equal(b.state_dict()[name], fp.state_dict()[name]), name
    assert torch.equal(b.blocks[0].conv1.shift, shift0)  # SCALES parameters keep their start
    with pytest.raises(ValueError, match="FP twin"):
        init_binary_from_fp(ScalesEDSR(ModelConfig.from_variant("scales", 2, 1, 8)), fp)


def test_distillation_from_an_identical_teacher_is_plain_l1():
    torch.manual_seed(0)
    teacher = ScalesEDSR(ModelConfig.from_variant("fp", 2, 2, 8))
    student = copy.deepcopy(teacher)
    d = Distiller(student, teacher, 1.0, 1.0)
    x, hr = torch.rand(2, 3, 10, 10), torch.rand(2, 3, 20, 20)
    out = student(x)
    assert torch.equal(d.loss(x, out, hr), F.l1_loss(out, hr))
    # a different teacher adds positive output and feature terms
    with torch.no_grad():
        teacher.blocks[0].conv1.conv.weight.add_(0.1)
    out = student(x)
    assert d.loss(x, out, hr) > F.l1_loss(out, hr)


def test_distillation_pairs_blocks_by_depth_fraction():
    teacher = ScalesEDSR(ModelConfig.from_variant("fp", 2, 8, 8))
    student = ScalesEDSR(ModelConfig.from_variant("scales", 2, 4, 8))
    assert Distiller(student, teacher, 1.0, 1.0).pairs == [(0, 1), (1, 3), (2, 5), (3, 7)]
    with pytest.raises(ValueError, match="same width"):
        Distiller(ScalesEDSR(ModelConfig.from_variant("scales", 2, 4, 16)), teacher, 1.0, 1.0)


def test_training_with_fp_start_and_teacher_runs_and_resumes(tmp_path, bench, small_train):
    args = ["--scale", "2", "--blocks", "4", "--channels", "32", "--patch", "12", "--batch", "2", "--iters", "4",
            "--warmup", "1", "--val-every", "2", "--log-every", "1", "--threads", "1", "--init-from", str(FP_FILE),
            "--teacher", str(FP_FILE), "--train-data", str(small_train), "--val-data", str(bench)]
    full, part = tmp_path / "full", tmp_path / "part"
    assert train_main(args + ["--out", str(full)]) == 0
    assert train_main(args + ["--out", str(part), "--stop-at", "2"]) == 0
    assert train_main(args + ["--out", str(part), "--resume"]) == 0
    a = torch.load(full / "checkpoint.pt")
    b = torch.load(part / "checkpoint.pt")
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    assert [sg["to"] for sg in b["segments"]] == [2, 4]
    assert a["args"]["init_from"] == str(FP_FILE) and "set5_psnr" in a["history"][-1]


def test_network_starts_from_the_same_network_at_another_scale():
    torch.manual_seed(0)
    x2 = ScalesEDSR(ModelConfig.from_variant("scales", 2, 2, 8))
    with torch.no_grad():
        for p in x2.parameters():
            p.add_(torch.randn_like(p))  # away from the fresh initialisation the x3 network also has
    x3 = ScalesEDSR(ModelConfig.from_variant("scales", 3, 2, 8))
    up0 = {k: v.clone() for k, v in x3.state_dict().items() if k.startswith("up.")}
    copied = init_from_other_scale(x3, x2.cfg, x2.state_dict())
    src, dst = x2.state_dict(), x3.state_dict()
    assert copied and not any(k.startswith("up.") for k in copied)
    assert set(copied) == {k for k in dst if not k.startswith("up.")}
    for k in copied:
        assert torch.equal(dst[k], src[k]), k
    for k, v in up0.items():
        assert torch.equal(dst[k], v), k  # the upsampler's shape differs: left as it was
    with pytest.raises(ValueError, match="same network: channels 8 for 16"):
        init_from_other_scale(ScalesEDSR(ModelConfig.from_variant("scales", 3, 2, 16)), x2.cfg, x2.state_dict())
    with pytest.raises(ValueError, match="same network: binary True for False"):
        init_from_other_scale(ScalesEDSR(ModelConfig.from_variant("fp", 3, 2, 8)), x2.cfg, x2.state_dict())


def test_the_same_scale_copies_everything_a_warm_restart():
    torch.manual_seed(0)
    done = ScalesEDSR(ModelConfig.from_variant("scales", 3, 2, 8))
    torch.manual_seed(1)
    fresh = ScalesEDSR(ModelConfig.from_variant("scales", 3, 2, 8))
    copied = init_from_other_scale(fresh, done.cfg, done.state_dict())
    assert set(copied) == set(fresh.state_dict()) and any(k.startswith("up.") for k in copied)
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in done.state_dict().items())


def test_swinir_starts_from_the_same_network_at_another_scale():
    kw = dict(channels=16, groups=1, depth=2, heads=2, window=4)
    torch.manual_seed(0)
    x2 = ScalesSwinIR(SwinConfig.from_variant("scales", 2, **kw))
    x3 = ScalesSwinIR(SwinConfig.from_variant("scales", 3, **kw))
    copied = init_from_other_scale(x3, x2.cfg, x2.state_dict())
    dst, src = x3.state_dict(), x2.state_dict()
    assert set(copied) == {k for k in dst if not k.startswith("up.")} and "up.weight" in dst
    assert all(torch.equal(dst[k], src[k]) for k in copied)


def test_training_from_another_scale_counts_the_start_on_export(tmp_path, bench, small_train):
    common = ["--blocks", "2", "--channels", "8", "--patch", "12", "--batch", "2", "--warmup", "1",
              "--val-every", "100", "--log-every", "1", "--threads", "1", "--train-data", str(small_train),
              "--val-data", str(bench)]
    src, dst = tmp_path / "x2", tmp_path / "x3"
    assert train_main(common + ["--scale", "2", "--iters", "3", "--out", str(src)]) == 0
    assert train_main(common + ["--scale", "3", "--iters", "2", "--init-scale-from", str(src / "checkpoint.pt"),
                                "--out", str(dst)]) == 0
    ck = torch.load(dst / "checkpoint.pt")
    assert ck["args"]["start_iterations"] == 3 and ck["args"]["start_core_hours"] > 0
    assert train_main(common + ["--scale", "3", "--iters", "2", "--init-scale-from", str(tmp_path / "none.pt"),
                                "--out", str(tmp_path / "bad")]) == 2
    out = tmp_path / "x3.safetensors"
    assert export_main(["--checkpoint", str(dst / "checkpoint.pt"), "--out", str(out), "--oracle-dir", ""]) == 0
    _, _, meta = read_model(out)
    assert meta["iterations"] == "5" and meta["init_scale_from"] == "x2@3"
    own = sum(sg["seconds"] * sg["threads"] for sg in ck["segments"]) / 3600
    assert meta["core_hours"] == f"{own + ck['args']['start_core_hours']:.2f}"
    # A resumed stretch keeps the start's counts (only the first stretch sets them).
    assert train_main(common + ["--scale", "3", "--iters", "4", "--init-scale-from", str(src / "checkpoint.pt"),
                                "--out", str(dst), "--resume"]) == 0
    ck = torch.load(dst / "checkpoint.pt")
    assert ck["args"]["start_iterations"] == 3 and ck["args"]["start_core_hours"] > 0
    # A checkpoint resumed before they were carried: export reads them from the start's checkpoint.
    for k in ("start_iterations", "start_core_hours"):
        del ck["args"][k]
    torch.save(ck, dst / "checkpoint.pt")
    assert export_main(["--checkpoint", str(dst / "checkpoint.pt"), "--out", str(out), "--oracle-dir", ""]) == 0
    _, _, meta = read_model(out)
    assert meta["iterations"] == "7" and meta["init_scale_from"] == "x2@3"
    # A chain: a warm restart of the x3 run counts the x2 run's work too.
    torch.save(torch.load(dst / "checkpoint.pt") | {"args": ck["args"] | {"start_iterations": 3,
                                                                       "start_core_hours": 0.5}}, dst / "checkpoint.pt")
    again = tmp_path / "x3-again"
    assert train_main(common + ["--scale", "3", "--iters", "2", "--init-scale-from", str(dst / "checkpoint.pt"),
                                "--out", str(again)]) == 0
    ck2 = torch.load(again / "checkpoint.pt")
    assert ck2["args"]["start_iterations"] == 4 + 3
    assert abs(ck2["args"]["start_core_hours"] - (0.5 + core_hours(ck["segments"]))) < 1e-9
    assert export_main(["--checkpoint", str(again / "checkpoint.pt"), "--out", str(out), "--oracle-dir", ""]) == 0
    _, _, meta = read_model(out)
    assert meta["iterations"] == "9" and meta["init_scale_from"] == "x3@7"
