import json
import struct

import numpy as np
import pytest
import torch

from scales_train import safetensors
from scales_train.edsr import ModelConfig, ScalesEDSR
from scales_train.export import export, golden_input
from scales_train.inference import load_inference
from scales_train.modelfile import pack_sign_bits, read_model, save_model, unpack_sign_bits


@pytest.mark.parametrize("cin", [1, 31, 63, 64, 65, 130])
def test_pack_unpack_round_trip(cin):
    rng = np.random.default_rng(cin)
    w = np.where(rng.random((3, cin, 3, 3)) < 0.5, -1.0, 1.0).astype(np.float32)
    bits = pack_sign_bits(w)
    assert bits.shape == (3, 3, 3, (cin + 63) // 64) and bits.dtype == np.uint64
    assert np.array_equal(unpack_sign_bits(bits, cin), w)


@pytest.mark.parametrize("channel,word,bit", [(0, 0, 0), (5, 0, 5), (63, 0, 63), (64, 1, 0), (66, 1, 2)])
def test_bit_order_one_hot(channel, word, bit):
    w = np.ones((1, 67, 3, 3), np.float32)
    w[0, channel, 2, 1] = -1.0          # kh = 2, kw = 1
    bits = pack_sign_bits(w)
    nz = np.argwhere(bits != 0)
    assert nz.tolist() == [[0, 2, 1, word]]
    assert int(bits[0, 2, 1, word]) == 1 << bit


def _perturbed(variant, scale=2, blocks=2, channels=20, seed=0):
    torch.manual_seed(seed)
    m = ScalesEDSR(ModelConfig.from_variant(variant, scale, blocks, channels)).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return m


@pytest.mark.parametrize("variant", ["scales", "plain", "plain+spatial", "fp"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_model_file_round_trip_is_exact(tmp_path, variant, scale):
    m = _perturbed(variant, scale)
    f = tmp_path / "m.safetensors"
    save_model(f, m)
    cfg, net, meta = load_inference(f)
    assert cfg.to_dict() == m.cfg.to_dict()
    assert meta["pad_value"] == "+1" and meta["format_version"] == "1"
    x = torch.rand(2, 3, 9, 14)
    with torch.no_grad():
        assert torch.equal(m(x), net(x))


def _train_tiny_checkpoint(tmp_path, bench, small_train):
    from scales_train.train import main as train_main
    run = tmp_path / "run"
    assert train_main(["--scale", "2", "--blocks", "1", "--channels", "16", "--patch", "16", "--batch", "2",
                       "--iters", "3", "--warmup", "1", "--threads", "1", "--train-data", str(small_train),
                       "--val-data", str(bench), "--out", str(run)]) == 0
    return run / "checkpoint.pt"


def test_export_writes_model_torchscript_and_golden(tmp_path, bench, small_train):
    ck = _train_tiny_checkpoint(tmp_path, bench, small_train)
    out = tmp_path / "w" / "tiny-x2.safetensors"
    res = export(ck, out, tmp_path / "oracle", bench)
    ts = torch.jit.load(res["torchscript"])
    gold, meta = safetensors.load(res["golden"])
    x = torch.from_numpy(gold["input"])
    assert x.shape == (1, 3, 20, 24)
    assert torch.equal(x, golden_input(2, bench))
    with torch.no_grad():
        assert torch.equal(ts(x), torch.from_numpy(gold["output"]))
        _, net, _ = load_inference(out)
        assert torch.equal(net(x), torch.from_numpy(gold["output"]))
        # Layer maps for the engine's layer-level parity: the head, each block, the body end,
        # and the body end plus the head is what the upsampler receives.
        cfg, _, _ = load_inference(out)
        names = {k for k in gold if k.startswith("layer.")}
        assert names == {"layer.head", "layer.body_end"} | {f"layer.blocks.{i}" for i in range(cfg.blocks)}
        for k in names:
            assert gold[k].shape == (1, cfg.channels, 20, 24), k
        f = torch.from_numpy(gold["layer.head"])
        for i in range(cfg.blocks):
            f = net.blocks[i](f)
            assert torch.equal(f, torch.from_numpy(gold[f"layer.blocks.{i}"]))
        assert torch.equal(net.body_end(f), torch.from_numpy(gold["layer.body_end"]))
    assert meta["model"] == out.name


def _corrupt(src, dst, mutate):
    data = bytearray(src.read_bytes())
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    header, body = mutate(header, body)
    h = json.dumps(header).encode()
    dst.write_bytes(struct.pack("<Q", len(h)) + h + bytes(body))


def test_malformed_model_files_are_rejected_with_a_reason(tmp_path):
    m = _perturbed("scales", 2, 1, 8)
    good = tmp_path / "good.safetensors"
    save_model(good, m)
    read_model(good)
    bad = tmp_path / "bad.safetensors"

    bad.write_bytes(good.read_bytes()[:5])
    with pytest.raises(ValueError, match="too short"):
        read_model(bad)
    bad.write_bytes(good.read_bytes()[:-7])
    with pytest.raises(ValueError, match="offsets"):
        read_model(bad)
    bad.write_bytes(struct.pack("<Q", 1 << 40) + good.read_bytes()[8:])
    with pytest.raises(ValueError, match="header length"):
        read_model(bad)

    def version(h, b):
        h["__metadata__"]["format_version"] = "99"
        return h, b
    _corrupt(good, bad, version)
    with pytest.raises(ValueError, match="format_version"):
        read_model(bad)

    def shape(h, b):
        h["head.bias"]["shape"] = [4, 2]
        return h, b
    _corrupt(good, bad, shape)
    with pytest.raises(ValueError, match="head.bias"):
        read_model(bad)

    def dtype(h, b):
        h["head.bias"]["dtype"] = "Q9"
        return h, b
    _corrupt(good, bad, dtype)
    with pytest.raises(ValueError, match="head.bias"):
        read_model(bad)

    def missing(h, b):
        del h["body.0.conv1.alpha"]
        return h, b
    _corrupt(good, bad, missing)
    with pytest.raises(ValueError, match="missing"):
        read_model(bad)
