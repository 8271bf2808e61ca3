"""SCALES-SwinIR: SwinIR (lightweight classical-SR layout) with SCALES binary linear layers, its FP
twin and the plain binarized baseline (one class, configurations as for SCALES-EDSR).

    x in [0, 1] (N, 3, h, w), reflect-padded on the bottom/right to multiples of the window
    f0 = conv_first(x - rgb_mean)                     FP conv3x3 3 -> C
    t  = LN_embed(tokens(f0))                         tokens: (N, H*W, C), row-major
    group g (G times):
        for layer l (D per group; odd layers use windows shifted by window/2):
            t = t + proj(attention(qkv(LN1(t))))       windowed multi-head self-attention
            t = t + fc2(gelu(fc1(LN2(t))))              MLP, hidden = mlp_ratio * C
        t = tokens(conv_g(map(t))) + t_group_input    the conv closing the group, group residual
    f  = conv_after_body(map(LN(t))) + f0             FP conv3x3 C -> C, long skip
    out = pixel_shuffle(up(f), r) + rgb_mean         "pixel-shuffle direct": FP conv3x3 C -> 3 r^2
    cropped to (s*h, s*w)

Binary models make qkv, proj, fc1, fc2 (every linear inside the Transformer layers) SCALES binary
linear layers and conv_g a SCALES binary 3x3 conv (layers.py). Attention itself (QK^T, softmax,
AV), the relative position bias, the shifted-window mask, LayerNorm, GELU and the convs outside the
groups stay FP. The FP twin uses plain nn.Linear / nn.Conv2d there (it is SwinIR); the plain
baseline is the binary layer with no SCALES component.

A SCALES binary linear (I -> O) on the tokens x (N, L, I) of one image:

    u = x + beta                          channel shift (per input channel)          [shift]
    y = sign(u) @ sign(W)^T               exact integers in [-I, I]
    g = alpha * k                         k[o] = mean|W[o]| (detached)                [layer_scale]
      * s(token)                          s = sigmoid(x @ w_s + b_s), per token       [spatial]
      * c(o)                              c = sigmoid(fc2(relu(fc1(mean_L(x)))))      [channel]
    z = res(x) + y * g                    FP residual, matched to O channels:
                                          O = I: x;  O = k*I: x repeated k times along channels;
                                          I = k*O: the mean of x's k consecutive O-channel chunks

Attention runs on windows of window x window tokens: q is scaled by head_dim^-0.5, the relative
position bias (heads, N, N) is added, shifted layers add -100 between tokens of different regions
(the cyclic shift's mask) before the softmax. qkv and proj being per-token, they run on the whole
image's tokens (rolled/partitioned around them), which is the same function as SwinIR's per-window
form and lets the channel branch see the whole image.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from .binarize import sign_activation, sign_weight, weight_scale
from .edsr import RGB_MEAN, SCALES
from .layers import Components, ScalesBinaryConv, VariantConfig, add_scales_params, channel_hidden, parse_variant


class LayerNorm(nn.LayerNorm):
    """nn.LayerNorm that normalises in fp32: under CPU bf16 autocast (train.py --bf16) PyTorch 1.13
    hands it bf16 activations with fp32 weights and fails; outside autocast it is nn.LayerNorm."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x.float(), self.normalized_shape, self.weight, self.bias, self.eps)

MASK_VALUE = -100.0  # added to attention logits between tokens of different shifted regions


@dataclass
class SwinConfig(VariantConfig):
    scale: int = 2
    channels: int = 32      # embedding width C
    groups: int = 2         # residual Swin Transformer groups
    depth: int = 4          # Swin layers per group
    heads: int = 4
    window: int = 8
    mlp_ratio: int = 2
    binary: bool = True
    components: list[str] = field(default_factory=lambda: ["shift", "layer_scale", "spatial", "channel"])
    architecture: str = "scales-swinir"
    # FP residual of the binary linears: "matched" gives every one a residual (match_channels);
    # "same_width" only those with as many outputs as inputs (proj), as a plain ResNet-style
    # shortcut would (docs/ablation.md compares the two).
    linear_residual: str = "matched"

    def __post_init__(self):
        if self.linear_residual not in ("matched", "same_width"):
            raise ValueError(f"linear_residual {self.linear_residual!r}: use matched or same_width")
        if self.scale not in SCALES:
            raise ValueError(f"scale {self.scale} not supported (use one of {SCALES})")
        if min(self.channels, self.groups, self.depth, self.heads, self.window, self.mlp_ratio) < 1:
            raise ValueError(f"bad SwinIR size: {self}")
        if self.channels % self.heads:
            raise ValueError(f"channels {self.channels} is not a multiple of heads {self.heads}")
        Components.parse(",".join(self.components) or "none")

    @staticmethod
    def from_variant(variant: str, scale: int, channels: int, groups: int, depth: int, heads: int,
                     window: int, mlp_ratio: int = 2, linear_residual: str = "matched") -> "SwinConfig":
        binary, comps = parse_variant(variant)
        return SwinConfig(scale=scale, channels=channels, groups=groups, depth=depth, heads=heads, window=window,
                          mlp_ratio=mlp_ratio, binary=binary, components=comps, linear_residual=linear_residual)


def match_channels(x: torch.Tensor, out: int) -> torch.Tensor:
    """The FP residual of a binary linear I -> O on tokens (N, L, I) (see the module docstring)."""
    n, l, i = x.shape[0], x.shape[1], x.shape[2]
    if out == i:
        return x
    if out % i == 0:
        return x.repeat(1, 1, out // i)
    if i % out == 0:
        return x.reshape(n, l, i // out, out).mean(dim=2)
    raise ValueError("a binary linear's output width must divide or be divided by its input width")


class ScalesBinaryLinear(nn.Module):
    def __init__(self, cin: int, cout: int, comps: Components, residual: bool = True):
        super().__init__()
        if residual:
            match_channels(torch.zeros(1, 1, cin), cout)  # rejects unmatched sizes early
        self.cin, self.cout, self.comps, self.residual = cin, cout, comps, residual
        self.weight = nn.Parameter(torch.empty(cout, cin))
        nn.init.trunc_normal_(self.weight, std=0.02)
        add_scales_params(self, cin, cout, comps, nn.Linear(cin, 1) if comps.spatial else None)
        if self.alpha is not None:
            # Each re-scaling branch starts at sigmoid(0) = 1/2; alpha starts at 2 per branch so
            # the binary term starts at the plain layer's size. Starting at 1/4 of it, the
            # SCALES SwinIR trained below the plain one (docs/ablation.md: initialisation).
            with torch.no_grad():
                self.alpha.fill_(2.0 ** (int(comps.spatial) + int(comps.channel)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, L, I) -> (N, L, O)
        u = x + self.shift if self.shift is not None else x
        y = F.linear(sign_activation(u), sign_weight(self.weight))
        k = weight_scale(self.weight)
        g = self.alpha * k if self.alpha is not None else k
        g = g.view(1, 1, -1)
        if self.spatial is not None:
            g = g * torch.sigmoid(self.spatial(x))
        if self.fc1 is not None:
            c = torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean(dim=1)))))
            g = g * c.unsqueeze(1)
        if not self.residual:
            return y * g
        return match_channels(x, self.cout) + y * g


def relative_position_index(window: int) -> torch.Tensor:
    """(N, N) index into the (2w-1)^2 bias table for every pair of tokens in a window."""
    ys, xs = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    coords = torch.stack([ys.flatten(), xs.flatten()])  # (2, N)
    rel = coords[:, :, None] - coords[:, None, :] + (window - 1)
    return rel[0] * (2 * window - 1) + rel[1]


def shift_mask(h: int, w: int, window: int, shift: int) -> torch.Tensor:
    """(nW, N, N) additive mask for cyclically shifted windows of an h x w token map: tokens in
    different regions (rows/columns split at h - window and h - shift) get MASK_VALUE."""
    ys, xs = torch.arange(h), torch.arange(w)
    ry = (ys >= h - window).long() + (ys >= h - shift).long()
    rx = (xs >= w - window).long() + (xs >= w - shift).long()
    region = (ry.view(h, 1) * 3 + rx.view(1, w)).to(torch.float32)
    ids = window_partition(region.view(1, h, w, 1), window).squeeze(-1)  # (nW, N)
    diff = ids.unsqueeze(2) != ids.unsqueeze(1)
    zero = torch.zeros(diff.shape, dtype=torch.float32)
    return torch.where(diff, zero - 100.0, zero)  # -100.0 = MASK_VALUE (TorchScript takes no globals)


def window_partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """(B, H, W, C) -> (B * H/w * W/w, w*w, C), windows row-major."""
    b, h, w, c = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
    x = x.view(b, h // window, window, w // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, c)


def window_reverse(win: torch.Tensor, window: int, h: int, w: int) -> torch.Tensor:
    """Inverse of window_partition: -> (B, H, W, C)."""
    c = win.shape[-1]
    b = win.shape[0] // ((h // window) * (w // window))
    x = win.view(b, h // window, w // window, window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)


def window_attention(qkv: torch.Tensor, h: int, w: int, heads: int, window: int, shift: int,
                     bias: torch.Tensor) -> torch.Tensor:
    """qkv (B, H*W, 3C) of the whole image -> attention output (B, H*W, C), before proj."""
    b, c3 = qkv.shape[0], qkv.shape[2]
    c = c3 // 3
    x = qkv.view(b, h, w, c3)
    if shift:
        x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
    win = window_partition(x, window)  # (B*nW, N, 3C)
    bw, n = win.shape[0], win.shape[1]
    hd = c // heads
    qkv_h = win.view(bw, n, 3, heads, hd).permute(2, 0, 3, 1, 4).unbind(0)  # each (B*nW, heads, N, hd)
    q, k, v = qkv_h[0], qkv_h[1], qkv_h[2]
    attn = (q * float(hd) ** -0.5) @ k.transpose(-2, -1) + bias.unsqueeze(0)
    if shift:
        mask = shift_mask(h, w, window, shift).to(attn)
        nw = mask.shape[0]
        attn = (attn.view(bw // nw, nw, heads, n, n) + mask.view(1, nw, 1, n, n)).view(bw, heads, n, n)
    out = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(bw, n, c)
    out = window_reverse(out, window, h, w)
    if shift:
        out = torch.roll(out, shifts=(shift, shift), dims=(1, 2))
    return out.reshape(b, h * w, c)


class SwinLayer(nn.Module):
    def __init__(self, cfg: SwinConfig, shift: int):
        super().__init__()
        c, ws = cfg.channels, cfg.window
        self.heads, self.window, self.shift = cfg.heads, ws, shift

        def linear(cin: int, cout: int) -> nn.Module:
            if cfg.binary:
                return ScalesBinaryLinear(cin, cout, cfg.comps,
                                          residual=cfg.linear_residual == "matched" or cin == cout)
            m = nn.Linear(cin, cout)
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
            return m

        self.norm1 = LayerNorm(c)
        self.qkv = linear(c, 3 * c)
        self.proj = linear(c, c)
        self.bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, cfg.heads))
        nn.init.trunc_normal_(self.bias_table, std=0.02)
        self.register_buffer("bias_index", relative_position_index(ws), persistent=False)
        self.norm2 = LayerNorm(c)
        self.fc1 = linear(c, cfg.mlp_ratio * c)
        self.fc2 = linear(cfg.mlp_ratio * c, c)

    def position_bias(self) -> torch.Tensor:
        """(heads, N, N): the table gathered for every token pair of a window."""
        n = self.window * self.window
        return self.bias_table[self.bias_index.view(-1)].view(n, n, -1).permute(2, 0, 1).contiguous()

    def forward(self, t: torch.Tensor, h: int, w: int) -> torch.Tensor:
        a = window_attention(self.qkv(self.norm1(t)), h, w, self.heads, self.window, self.shift,
                             self.position_bias())
        t = t + self.proj(a)
        return t + self.fc2(F.gelu(self.fc1(self.norm2(t))))


class ScalesSwinIR(nn.Module):
    def __init__(self, cfg: SwinConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.register_buffer("rgb_mean", torch.tensor(RGB_MEAN).view(1, 3, 1, 1))
        self.conv_first = nn.Conv2d(3, c, 3, padding=1)
        self.embed_norm = LayerNorm(c)
        self.groups = nn.ModuleList()
        for _ in range(cfg.groups):
            grp = nn.Module()
            grp.layers = nn.ModuleList(SwinLayer(cfg, 0 if l % 2 == 0 else cfg.window // 2) for l in range(cfg.depth))
            grp.conv = ScalesBinaryConv(c, cfg.comps) if cfg.binary else nn.Conv2d(c, c, 3, padding=1)
            self.groups.append(grp)
        self.norm = LayerNorm(c)
        self.conv_after_body = nn.Conv2d(c, c, 3, padding=1)
        self.up = nn.Conv2d(c, 3 * cfg.scale ** 2, 3, padding=1)

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """Bottom/right padding to multiples of the window: mirrored (reflect, edge not repeated)
        where the side is longer than the padding, else the edge repeated (tiny images)."""
        return pad_to_window(x, self.cfg.window)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h0, w0 = x.shape[-2:]
        x = self.pad(x)
        n, _, h, w = x.shape
        f0 = self.conv_first(x - self.rgb_mean)
        t = self.embed_norm(f0.flatten(2).transpose(1, 2))
        for grp in self.groups:
            g_in = t
            for layer in grp.layers:
                t = layer(t, h, w)
            m = t.transpose(1, 2).reshape(n, -1, h, w)
            t = grp.conv(m).flatten(2).transpose(1, 2) + g_in
        f = self.conv_after_body(self.norm(t).transpose(1, 2).reshape(n, -1, h, w)) + f0
        out = F.pixel_shuffle(self.up(f), self.cfg.scale) + self.rgb_mean
        s = self.cfg.scale
        return out[..., : s * h0, : s * w0]


def pad_to_window(x: torch.Tensor, window: int) -> torch.Tensor:
    h, w = x.shape[-2], x.shape[-1]
    ph, pw = (window - h % window) % window, (window - w % window) % window
    if ph:
        x = F.pad(x, (0, 0, 0, ph), mode="reflect" if ph < h else "replicate")
    if pw:
        x = F.pad(x, (0, pw, 0, 0), mode="reflect" if pw < w else "replicate")
    return x


def binary_linears(cfg: SwinConfig) -> list[tuple[int, int]]:
    """(I, O) of every binary linear in one Swin layer: qkv, proj, fc1, fc2."""
    c = cfg.channels
    return [(c, 3 * c), (c, c), (c, cfg.mlp_ratio * c), (cfg.mlp_ratio * c, c)]


def count_params_ops(cfg: SwinConfig, h: int = 180, w: int = 320) -> dict:
    """Parameters and operations of one forward pass on an h x w LR input (padded to the window),
    counted as for SCALES-EDSR: binary weights and their MACs as binary params / BOPs, everything
    else FP multiply-adds (attention products, the re-scaling branches, convs)."""
    model = ScalesSwinIR(cfg)
    binary = {id(m.weight) for m in model.modules() if isinstance(m, (ScalesBinaryLinear, ScalesBinaryConv))}
    bin_params = sum(p.numel() for p in model.parameters() if id(p) in binary)
    fp_params = sum(p.numel() for p in model.parameters() if id(p) not in binary)
    ws = cfg.window
    hp, wp = h + (-h) % ws, w + (-w) % ws
    hw, c = hp * wp, cfg.channels
    layers = cfg.groups * cfg.depth
    lin_macs = hw * sum(i * o for i, o in binary_linears(cfg))
    attn_macs = 2 * hw * ws * ws * c  # QK^T and AV
    conv_macs = hw * c * c * 9
    flops = hw * 3 * c * 9 + conv_macs + hw * c * 3 * cfg.scale ** 2 * 9  # conv_first, after_body, up
    flops += layers * attn_macs
    if cfg.binary:
        bops = layers * lin_macs + cfg.groups * conv_macs
        comps = cfg.comps
        for i, o in binary_linears(cfg) * layers:
            per = hw * o  # residual add + epilogue multiply
            per += hw * i if comps.shift else 0
            per += hw * i if comps.spatial else 0
            per += hw * i + channel_hidden(i) * (i + o) if comps.channel else 0
            flops += per
    else:
        bops = 0
        flops += layers * lin_macs + cfg.groups * conv_macs
    return {
        "binary_params": bin_params, "fp_params": fp_params,
        "params_equiv": fp_params + bin_params / 32.0,
        "bops": bops, "flops": flops, "ops_equiv": flops + bops / 64.0,
        "input": f"{w}x{h}",
    }
