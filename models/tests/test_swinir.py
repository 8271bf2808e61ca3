"""SCALES-SwinIR: the network's pieces against independent naive forms, the binary linear layer,
and the model file / inference / TorchScript round trip."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from scales_train.inference import load_inference
from scales_train.layers import Components
from scales_train.modelfile import read_model, save_model
from scales_train import safetensors
from scales_train.swinir import (ScalesBinaryLinear, ScalesSwinIR, SwinConfig, match_channels, pad_to_window,
                              shift_mask, window_attention, window_partition, window_reverse)


def perturbed(variant, scale=2, seed=0, **size):
    torch.manual_seed(seed)
    kw = dict(channels=16, groups=2, depth=2, heads=2, window=8)
    kw.update(size)
    m = ScalesSwinIR(SwinConfig.from_variant(variant, scale, **kw)).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return m


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("hw", [(8, 8), (13, 21), (3, 5), (17, 9)])
def test_output_size_any_input(scale, hw):
    m = perturbed("scales", scale)
    with torch.no_grad():
        y = m(torch.rand(2, 3, *hw))
    assert y.shape == (2, 3, scale * hw[0], scale * hw[1])
    assert torch.isfinite(y).all()


def test_pad_to_window_reflects_then_repeats_the_edge():
    x = torch.arange(5.0).view(1, 1, 1, 5).repeat(1, 1, 3, 1)
    p = pad_to_window(x, 8)  # 3 rows -> 8: pad 5 >= 3 rows, so the edge row is repeated
    assert p.shape == (1, 1, 8, 8)
    assert p[0, 0, 0].tolist() == [0, 1, 2, 3, 4, 3, 2, 1]  # columns: pad 3 < 5, mirrored
    assert torch.equal(p[0, 0, 3:], p[0, 0, 2:3].expand(5, 8))


def test_window_partition_round_trip_and_order():
    x = torch.arange(2 * 16 * 24 * 3, dtype=torch.float32).view(2, 16, 24, 3)
    win = window_partition(x, 8)
    assert win.shape == (2 * 2 * 3, 64, 3)
    assert torch.equal(win[1], x[0, 0:8, 8:16].reshape(64, 3))  # second window: top row, second column
    assert torch.equal(window_reverse(win, 8, 16, 24), x)


def test_shift_mask_matches_region_slices():
    """The mask equals the one built from SwinIR's slice description of the shifted regions."""
    h, w, ws, s = 16, 24, 8, 4
    region = torch.zeros(h, w)
    n = 0
    for ys in (slice(0, -ws), slice(-ws, -s), slice(-s, None)):
        for xs in (slice(0, -ws), slice(-ws, -s), slice(-s, None)):
            region[ys, xs] = n
            n += 1
    ids = window_partition(region.view(1, h, w, 1), ws).squeeze(-1)
    want = torch.where(ids[:, :, None] != ids[:, None, :], torch.tensor(-100.0), torch.tensor(0.0))
    assert torch.equal(shift_mask(h, w, ws, s), want)


def naive_attention(qkv, h, w, heads, ws, shift, bias):
    """Window attention written plainly: roll, loop over windows and heads, unroll."""
    b, _, c3 = qkv.shape
    c, hd = c3 // 3, c3 // 3 // heads
    x = torch.roll(qkv.view(b, h, w, c3), (-shift, -shift), (1, 2)) if shift else qkv.view(b, h, w, c3)
    region = torch.zeros(h, w, dtype=torch.long)
    if shift:
        region = ((torch.arange(h) >= h - ws).long() + (torch.arange(h) >= h - shift).long()).view(h, 1) * 3 + \
                 ((torch.arange(w) >= w - ws).long() + (torch.arange(w) >= w - shift).long()).view(1, w)
    out = torch.zeros(b, h, w, c)
    for n in range(b):
        for y0 in range(0, h, ws):
            for x0 in range(0, w, ws):
                tok = x[n, y0:y0 + ws, x0:x0 + ws].reshape(ws * ws, c3)
                reg = region[y0:y0 + ws, x0:x0 + ws].reshape(-1)
                for hh in range(heads):
                    q = tok[:, hh * hd:(hh + 1) * hd] * hd ** -0.5
                    k = tok[:, c + hh * hd:c + (hh + 1) * hd]
                    v = tok[:, 2 * c + hh * hd:2 * c + (hh + 1) * hd]
                    logits = q @ k.T + bias[hh]
                    logits = logits + (reg[:, None] != reg[None, :]).float() * -100.0
                    o = torch.softmax(logits, -1) @ v
                    out[n, y0:y0 + ws, x0:x0 + ws, hh * hd:(hh + 1) * hd] = o.view(ws, ws, hd)
    if shift:
        out = torch.roll(out, (shift, shift), (1, 2))
    return out.reshape(b, h * w, c)


@pytest.mark.parametrize("shift", [0, 4])
def test_window_attention_equals_naive(shift):
    torch.manual_seed(1)
    h, w, ws, heads, c = 16, 24, 8, 2, 8
    qkv = torch.randn(2, h * w, 3 * c)
    bias = torch.randn(heads, ws * ws, ws * ws)
    got = window_attention(qkv, h, w, heads, ws, shift, bias)
    assert torch.allclose(got, naive_attention(qkv, h, w, heads, ws, shift, bias), atol=1e-5)


def test_match_channels():
    x = torch.randn(2, 5, 4)
    assert torch.equal(match_channels(x, 4), x)
    assert torch.equal(match_channels(x, 12), torch.cat([x, x, x], -1))
    y = torch.randn(2, 5, 8)
    assert torch.allclose(match_channels(y, 4), (y[..., :4] + y[..., 4:]) / 2)
    with pytest.raises(ValueError):
        match_channels(x, 6)


def test_binary_linear_is_sign_matmul_times_scales():
    torch.manual_seed(2)
    lin = ScalesBinaryLinear(8, 16, Components())
    with torch.no_grad():
        for p in lin.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    x = torch.randn(3, 10, 8)
    x[0, 0, 0] = -lin.shift[0].item()  # u = 0 binarizes to +1
    u = x + lin.shift
    a = torch.where(u >= 0, 1.0, -1.0)
    wb = torch.where(lin.weight >= 0, 1.0, -1.0)
    y = torch.einsum("nli,oi->nlo", a, wb)
    assert torch.equal(y, y.round()) and y.abs().max() <= 8
    k = lin.weight.abs().mean(1)
    s = torch.sigmoid(x @ lin.spatial.weight.T + lin.spatial.bias)
    c = torch.sigmoid(lin.fc2(F.relu(lin.fc1(x.mean(1))))).unsqueeze(1)
    want = torch.cat([x, x], -1) + y * (lin.alpha * k) * s * c
    assert torch.allclose(lin(x), want, atol=1e-5)


@pytest.mark.parametrize("comps", ["layer_scale", "layer_scale,spatial", "layer_scale,channel", "all"])
def test_binary_term_starts_at_the_plain_layers_size(comps):
    # alpha starts at 2 per sigmoid(0) = 1/2 re-scaling, so at initialisation the binary term
    # y * g equals the plain layer's y * k, whatever components are on.
    torch.manual_seed(3)
    layer = ScalesBinaryLinear(16, 48, Components.parse(comps))
    torch.manual_seed(3)
    plain = ScalesBinaryLinear(16, 48, Components.parse("none"))
    plain.weight.data.copy_(layer.weight.data)
    x = torch.randn(2, 10, 16)
    with torch.no_grad():
        shift = layer.shift
        if shift is not None:
            shift.zero_()
        got = layer(x) - match_channels(x, 48)
        want = plain(x) - match_channels(x, 48)
    assert torch.allclose(got, want, rtol=1e-6, atol=1e-7)
    assert layer.alpha.item() == {"layer_scale": 1.0, "layer_scale,spatial": 2.0, "layer_scale,channel": 2.0,
                                  "all": 4.0}[comps]


def test_binary_linear_gradient_is_approxsign():
    lin = ScalesBinaryLinear(4, 4, Components.parse("none"))
    x = torch.tensor([[[0.5, -2.0, 0.0, 1.5]]], requires_grad=True)
    lin(x).sum().backward()
    # d/dx = 1 (residual) + ApproxSign'(x) * (W^T k summed over outputs); zero where |x| >= 1
    g_bin = x.grad - 1.0
    assert g_bin[0, 0, 1] == 0 and g_bin[0, 0, 3] == 0
    assert g_bin[0, 0, 0] != 0


@pytest.mark.parametrize("variant", ["scales", "fp", "plain", "plain+spatial"])
def test_model_file_round_trip_and_torchscript(tmp_path, variant):
    m = perturbed(variant, 3)
    f = tmp_path / "m.safetensors"
    save_model(f, m)
    cfg, infer, meta = load_inference(f)
    assert meta["architecture"] == "scales-swinir" and cfg == m.cfg
    ts = torch.jit.script(infer)
    for shape in [(1, 3, 20, 24), (1, 3, 7, 5)]:
        x = torch.rand(*shape)
        with torch.no_grad():
            ref = m(x)
            assert torch.equal(infer(x), ref)
            assert torch.equal(ts(x), ref)


def test_model_file_rejects_inconsistent_tensors(tmp_path):
    m = perturbed("scales")
    f = tmp_path / "m.safetensors"
    save_model(f, m)
    tensors, meta = safetensors.load(f)
    bad = dict(tensors)
    del bad["groups.1.layers.0.fc2.weight_bits"]
    safetensors.save(tmp_path / "missing.safetensors", bad, meta)
    with pytest.raises(ValueError, match="missing.*fc2.weight_bits"):
        read_model(tmp_path / "missing.safetensors")
    bad = dict(tensors)
    bad["groups.0.layers.1.attn.position_bias"] = np.zeros((2, 64, 63), np.float32)
    safetensors.save(tmp_path / "shape.safetensors", bad, meta)
    with pytest.raises(ValueError, match="position_bias has shape"):
        read_model(tmp_path / "shape.safetensors")
    safetensors.save(tmp_path / "meta.safetensors", tensors, {**meta, "heads": "3"})
    with pytest.raises(ValueError, match="bad metadata"):
        read_model(tmp_path / "meta.safetensors")


def test_variants_and_sizes():
    assert SwinConfig.from_variant("plain+shift+channel", 2, 16, 1, 2, 2, 8).variant == "plain+shift+channel"
    assert SwinConfig.from_variant("fp", 4, 16, 1, 2, 2, 8).binary is False
    with pytest.raises(ValueError, match="multiple of heads"):
        SwinConfig(channels=30, heads=4)
    with pytest.raises(ValueError, match="unknown variant"):
        SwinConfig.from_variant("binary", 2, 16, 1, 2, 2, 8)



def test_same_width_residual_keeps_it_on_proj_only_and_round_trips(tmp_path):
    """linear_residual="same_width" (docs/ablation.md): qkv, fc1 and fc2 lose their FP residual,
    proj keeps it; the model file records it and its inference form / TorchScript follow."""
    torch.manual_seed(0)
    cfg = SwinConfig(channels=8, groups=1, depth=1, heads=2, window=4, linear_residual="same_width")
    layer = ScalesSwinIR(cfg).groups[0].layers[0]
    assert [layer.qkv.residual, layer.proj.residual, layer.fc1.residual, layer.fc2.residual] == [False, True, False, False]
    x = torch.randn(1, 5, 8)
    with torch.no_grad():  # without the residual the output is the binary term alone
        layer.fc1.weight.normal_()
        z = layer.fc1(x)
        assert z.shape == (1, 5, 16) and z.abs().max() > 0
        layer.fc1.residual = True
        assert torch.allclose(layer.fc1(x), match_channels(x, 16) + z, atol=1e-6)
    with pytest.raises(ValueError, match="linear_residual"):
        SwinConfig(linear_residual="sometimes")

    m = ScalesSwinIR(SwinConfig.from_variant("scales", 2, 16, 2, 2, 2, 8, linear_residual="same_width")).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    f = tmp_path / "m.safetensors"
    save_model(f, m)
    cfg2, infer, meta = load_inference(f)
    assert meta["linear_residual"] == "same_width" and cfg2 == m.cfg
    ts = torch.jit.script(infer)
    x = torch.rand(1, 3, 13, 18)
    with torch.no_grad():
        ref = m(x)
        assert torch.equal(infer(x), ref) and torch.equal(ts(x), ref)
        # ... and differs from the same weights read as "matched"
        m.cfg.linear_residual = "matched"
        for layer in (l for g in m.groups for l in g.layers):
            for lin in (layer.qkv, layer.fc1, layer.fc2):
                lin.residual = True
        assert not torch.allclose(m(x), ref)


def test_trains_under_bf16_autocast():
    """train.py --bf16: LayerNorm normalises in fp32 (PyTorch 1.13's CPU autocast would hand it bf16
    activations with fp32 weights and fail), and a training step gives finite gradients."""
    m = perturbed("scales").train()
    x = torch.rand(2, 3, 16, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = m(x)
    loss = (y.float() - F.interpolate(x, scale_factor=2)).abs().mean()
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters() if p.requires_grad)
    with torch.no_grad():  # outside autocast: exactly nn.LayerNorm
        t = torch.randn(5, 16)
        assert torch.equal(m.embed_norm(t), F.layer_norm(t, (16,), m.embed_norm.weight, m.embed_norm.bias))
