"""Markdown from measured results: the ablation table and the model cards.

    scripts/py -m scales_train.report ablation RUNS VARIANT...      -> docs/ablation.md
    scripts/py -m scales_train.report recipe RUNS                   -> docs/ablation.md (models/scripts/recipe.sh)
    scripts/py -m scales_train.report short RUNS                    -> docs/ablation.md (models/scripts/recipe_short.sh)
    scripts/py -m scales_train.report table [models/weights]         -> README's model table (stdout)
    scripts/py -m scales_train.report latency --model M.safetensors --latency L.json   -> M.md's engine latency
    scripts/py -m scales_train.report card --model M.safetensors --eval M.eval.json \
        --bicubic B.json --fp FP.eval.json --fp-checkpoint FP/checkpoint.pt --out M.md

Every number comes from an eval JSON (scales_train.eval --json) or a checkpoint/model file; nothing is
typed in by hand.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from .edsr import ModelConfig, count_params_ops
from .swinir import SwinConfig
from .swinir import count_params_ops as swinir_params_ops
from .modelfile import read_model
from .checkpoint import read_checkpoint

ROOT = Path(__file__).resolve().parents[2]
SETS = ("Set5", "Set14", "B100")


def _row(label: str, ev: dict) -> str:
    cells = [f"{ev['sets'][s]['psnr']:.2f} / {ev['sets'][s]['ssim']:.4f}" if s in ev["sets"] else "-" for s in SETS]
    return f"| {label} | " + " | ".join(cells) + " |"


def _ck_info(path: Path) -> dict:
    ck = read_checkpoint(path)
    return {"iterations": ck["iteration"], "train_seconds": ck["train_seconds"], "args": ck["args"],
            "config": ck["config"]}


def _size_text(cfg: dict, a: dict) -> str:
    if cfg.get("architecture") == "scales-swinir":
        return (f"SwinIR layout (lightweight: pixel-shuffle-direct upsampler) with embedding {cfg['channels']}, "
                f"{cfg['groups']} groups of {cfg['depth']} Swin layers, {cfg['heads']} heads, window {cfg['window']}, "
                f"MLP ratio {cfg['mlp_ratio']}")
    return f"EDSR layout with B={cfg['blocks']} blocks, C={cfg['channels']} channels"


def ablation_section(runs: Path, variants: list[str]) -> tuple[str, str]:
    """(architecture key, markdown) of one architecture's ablation."""
    first = _ck_info(runs / variants[0] / "checkpoint.pt")
    a, cfg = first["args"], first["config"]
    swin = cfg.get("architecture") == "scales-swinir"
    same_width = swin and cfg.get("linear_residual", "matched") == "same_width"
    layer = "binary linear layer (qkv, proj, fc1, fc2) and binary group conv" if swin else "binary conv"
    if same_width:
        layer = ("C -> C binary layer (proj and the group conv; qkv, fc1 and fc2 have none: "
                 "`--linear-residual same_width`)")
    lines = [
        f"## {'Binary SwinIR' if swin else 'Binary EDSR'} (x{cfg['scale']})"
        + (", FP residual on C -> C layers only" if same_width else ""),
        "",
        f"All rows: {_size_text(cfg, a)}, x{cfg['scale']}, seed {a['seed']}, "
        f"{first['iterations']} iterations of batch {a['batch']} ({a['patch']}x{a['patch']} LR patches), Adam "
        f"lr {a['lr']} with {a['schedule']} decay, L1 loss, trained on T91+BSD200 with one CPU thread each. "
        "PSNR (dB) / SSIM on Y, shave = scale, official bicubic LR inputs.",
        "",
        f"Every binary row keeps the FP residual over each {layer} and the per-output-channel weight",
        "scale mean|W|; \"plain\" has nothing else (sign only). \"+ X\" adds component X alone to plain;",
        "\"SCALES\" has all four. \"FP twin\" replaces every binary layer by an FP layer of the same shape"
        + (" (it is SwinIR)." if swin else "."),
        "",
        "| variant | Set5 | Set14 | B100 | train min |",
        "|---|---|---|---|---|",
    ]
    labels = {"plain": "plain BNN", "scales": "SCALES (all four)", "fp": "FP twin"}
    for v in variants:
        ev = json.loads((runs / f"{v}.eval.json").read_text())
        info = _ck_info(runs / v / "checkpoint.pt")
        if info["iterations"] != first["iterations"]:
            raise ValueError(f"{v}: {info['iterations']} iterations, not {first['iterations']}")
        label = labels.get(v, v.replace("plain+", "plain + "))
        lines.append(_row(label, ev) + f" {info['train_seconds'] / 60:.1f} |")
    env = ("ARCH=swinir LINEAR_RESIDUAL=same_width " if same_width else "ARCH=swinir ") if swin else ""
    lines += [
        "",
        f"Produced by `{env}models/scripts/ablation.sh` (trains, evaluates with `scales_train.eval`, then writes this",
        "section with `scales_train.report ablation`).",
    ]
    return ("swinir-same_width" if same_width else "swinir" if swin else "edsr"), "\n".join(lines)


def ablation(runs: Path, variants: list[str], out: Path) -> None:
    """Writes (or replaces) this architecture's section of `out`, between its markers."""
    key, body = ablation_section(runs, variants)
    replace_section(out, f"ablation:{key}", body)


ABLATION_HEADER = """# Ablation: the SCALES components

Each section trains every variant of one architecture at one size, seed and iteration budget on
the CPU, then scores it. Short CPU budgets make single-seed differences of a few hundredths of a dB
noise; read the larger gaps.
"""


RECIPE_ROWS = [  # (run, label); "fp-first" adds the FP run "fp-half" it started from
    ("l1", "L1 from scratch (fp32)"),
    ("l1-bf16", "L1 from scratch, bf16 autocast"),
    ("fp-first", "FP first: FP twin for half the iterations, then the binary network from it"),
    ("distill", "distillation from the FP B4 C32 teacher (output + per-block features)"),
    ("fp-ref-start", "binary network started from that teacher (its 5000 FP iterations not counted)"),
]


def recipe_section(runs: Path) -> str:
    from .checkpoint import core_hours

    first = _ck_info(runs / "l1" / "checkpoint.pt")
    a, cfg = first["args"], first["config"]
    lines = [
        f"## Recipe: binary SCALES-EDSR x{cfg['scale']}, B{cfg['blocks']} C{cfg['channels']}, "
        f"{first['iterations']} iterations",
        "",
        f"Every row: the same network, seed {a['seed']}, batch {a['batch']} of {a['patch']}x{a['patch']} LR patches, "
        f"Adam lr {a['lr']} with {a['schedule']} decay over the row's iterations, one run at a time on "
        f"{a['threads']} threads, channels_last, the fused binary conv step. PSNR (dB) / SSIM on Y, shave = scale, "
        "official bicubic LR inputs. Core-hours are wall time x threads, as recorded in each checkpoint.",
        "",
        "| recipe | Set5 | Set14 | B100 | iterations | core-hours |",
        "|---|---|---|---|---|---|",
    ]
    for name, label in RECIPE_ROWS:
        if not (runs / f"{name}.eval.json").is_file():
            continue
        ev = json.loads((runs / f"{name}.eval.json").read_text())
        ck = read_checkpoint(runs / name / "checkpoint.pt")
        its, hours = f"{ck['iteration']}", core_hours(ck.get("segments", []))
        if name == "fp-first":
            fp = read_checkpoint(runs / "fp-half" / "checkpoint.pt")
            its = f"{fp['iteration']} FP + {ck['iteration']} binary"
            hours += core_hours(fp.get("segments", []))
        lines.append(_row(label, ev) + f" {its} | {hours:.2f} |")
    lines += ["", "Produced by `models/scripts/recipe.sh` (trains, evaluates with `scales_train.eval`, then writes this",
              "section with `scales_train.report recipe`)."]
    return "\n".join(lines)


SHORT_ROWS = ("base", "lr1e-3", "lr2e-3", "lr4e-3", "lr8e-3", "batch32", "patch64")  # models/scripts/recipe_short.sh


def short_section(runs: Path) -> str:
    """Recipe part (c): learning rate, batch and patch size for short budgets, each row changing one
    setting of the base row at about the base's compute (pixels through the network)."""
    from .checkpoint import core_hours

    base = _ck_info(runs / "base" / "checkpoint.pt")
    b, cfg = base["args"], base["config"]
    lines = [
        f"## Recipe, short budgets: binary SCALES-EDSR x{cfg['scale']}, B{cfg['blocks']} C{cfg['channels']}",
        "",
        f"The base row is the recipe above (L1, bf16 autocast where the CPU has AVX512-BF16): {base['iterations']} "
        f"iterations of batch {b['batch']}, {b['patch']}x{b['patch']} LR patches, Adam lr {b['lr']}, {b['schedule']} "
        "decay. Each other row changes one setting and keeps the pixels seen per run (iterations x batch x patch "
        "area) within 1% of the base, so rows compare at one compute budget. Seed 0, PSNR (dB) / SSIM on Y, "
        "shave = scale, official bicubic LR inputs; core-hours are wall time x threads as each checkpoint "
        "recorded them (the machine ran other training beside these, so compare them only roughly).",
        "",
        "| run | lr | batch | patch | iterations | Set5 | Set14 | B100 | core-hours |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in SHORT_ROWS:
        if not (runs / f"{name}.eval.json").is_file():
            continue
        ev = json.loads((runs / f"{name}.eval.json").read_text())
        ck = read_checkpoint(runs / name / "checkpoint.pt")
        a = ck["args"]
        cells = " | ".join(f"{ev['sets'][s]['psnr']:.2f} / {ev['sets'][s]['ssim']:.4f}" for s in SETS)
        lines.append(f"| {name} | {a['lr']} | {a['batch']} | {a['patch']} | {ck['iteration']} | {cells} | "
                     f"{core_hours(ck.get('segments', [])):.2f} |")
    lines += ["", "Produced by `models/scripts/recipe_short.sh` (trains, evaluates with `scales_train.eval`, then "
              "writes this section with `scales_train.report short`)."]
    return "\n".join(lines)


def replace_section(out: Path, key: str, body: str) -> None:
    begin, end = f"<!-- {key} -->", f"<!-- /{key} -->"
    text = out.read_text() if out.is_file() else ABLATION_HEADER
    block = f"{begin}\n{body}\n{end}"
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    out.write_text(text)


def latency_lines(model: Path, lat: dict) -> list[str]:
    """The card's engine-latency section from `scales-latency --model M --json` (rows for M)."""
    rows = [r for r in lat["rows"] if Path(r["net"]).name == model.name]
    if not rows:
        raise ValueError(f"the latency file has no rows for {model.name}")
    inputs = " ".join(sorted({r["input"] for r in rows}, key=lambda i: int(i.split("x")[0]) * int(i.split("x")[1])))
    return [
        "## Engine latency",
        "",
        f"`scales-latency`, {lat['threads']} threads, median of {lat['repeats']} after a warm-up, "
        f"{lat['machine']['cpu']}, binary kernel `{lat['kernel']}`:",
        "",
        *latency_table(model, lat),
        "",
        "```",
        f"build/bench/scales-latency --model models/weights/{model.name} --nets '' --inputs {inputs.replace(' ', ',')} "
        f"--threads {lat['threads']} --repeats {lat['repeats']} --json",
        "```",
        "",
    ]


def latency_table(model: Path, lat: dict) -> list[str]:
    rows = [r for r in lat["rows"] if Path(r["net"]).name == model.name]
    if not rows or "engine_fp32_ms" not in rows[0]:
        return [
            "| LR input | ms |",
            "|---|---|",
            *[f"| {r['input']} | {r['engine_ms']:.0f} |" for r in rows],
        ]
    return [
        f"| LR input | ms (FP layers as recorded: {rows[0].get('fp_precision') or 'fp32'}) | ms (all fp32) |",
        "|---|---|---|",
        *[f"| {r['input']} | {r['engine_ms']:.0f} | {r['engine_fp32_ms']:.0f} |" for r in rows],
    ]


def precision_lines(model: Path) -> list[str]:
    """The card's FP-layer precision section, from the gate's record in the model file."""
    _, _, meta = read_model(model)
    rec = meta.get("fp_precision", "")
    gate = json.loads(meta["fp_precision_gate"]) if meta.get("fp_precision_gate") else None
    lines = ["## FP-layer precision", ""]
    if gate is None:
        return lines + ["Not gated: every FP conv runs fp32.", ""]
    lines += [
        f"Recorded: `{rec or 'fp32 (no candidate passed)'}` (metadata `fp_precision`). The engine runs each layer "
        "so where this CPU has a native kernel (int8: VNNI or AVX2 on x86, SDOT on arm64; bf16: AVX512-BF16 on x86, BFDOT on arm64), else fp32, "
        "except the tail: a conv with at most 4 outputs always runs the engine's own fp32 kernel "
        "(`engine/src/fp/conv3x3_narrow.h`), whatever is recorded for it; and on x86 a conv with at least 32 "
        "channels in and out runs fp32 by Winograd (`engine/src/fp/conv3x3_winograd.h`) in place of a "
        "recorded bf16, or of int8 where oneDNN's has no VNNI: it outran both. "
        "Chosen by `scales_train.precision_gate`: the cheapest candidate that loses at most 0.02 dB on "
        "every set against the same engine in fp32, measured through `scales-upscale --local` on this "
        "CPU's path and on oneDNN's AVX2 path (ONEDNN_MAX_CPU_ISA=AVX2, whose int8 weights keep 7 bits):",
        "",
        "| candidate | path | " + " | ".join(f"{s} loss dB" for s in gate["sets"]) + " | |",
        "|---|---|" + "---|" * len(gate["sets"]) + "---|",
    ]
    for c in gate["candidates"]:
        for isa, per in c["loss_db"].items():
            cells = " | ".join(f"{per[s]:+.4f}" for s in gate["sets"])
            lines.append(f"| `{c['fp_precision']}` | {isa} | {cells} | {'pass' if c['pass'] else 'fail'} |")
    lines += [
        "",
        "```",
        f"scripts/py -m scales_train.calibrate --model models/weights/{model.name}",
        f"scripts/py -m scales_train.precision_gate --model models/weights/{model.name} "
        "--cli build/client/scales-upscale --write",
        "```",
        "",
    ]
    return lines


def set_card_section(card_path: Path, head: str, section_lines: list[str]) -> None:
    """Writes (or replaces) the section `head` of an existing card."""
    text = card_path.read_text()
    section = "\n".join(section_lines)
    if head in text:
        start = text.index(head)
        nxt = text.find("\n## ", start + len(head))
        text = text[:start] + section + (text[nxt + 1:] if nxt >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    card_path.write_text(text)


def set_card_latency(model: Path, lat: dict, card_path: Path) -> None:
    set_card_section(card_path, "## Engine latency", latency_lines(model, lat))


def training_hours(meta: dict) -> list[str]:
    """The card's account of the compute behind a model: CPU core-hours and GPU-hours, each where
    there are any. A run trained only on a GPU has no CPU stretch of its own (its core-hours, if
    any, are those of the run it started from)."""
    parts = []
    if float(meta.get("core_hours") or 0) > 0:
        parts.append(f"{meta['core_hours']} core-hours (wall time x threads)"
                     + (f" over {meta.get('segments')} resumed stretch(es) on {meta['cpus']}" if meta.get("cpus") else ""))
    if meta.get("gpu_hours"):
        parts.append(f"{meta['gpu_hours']} GPU-hours on {meta.get('gpus')} (a device lease: `models/scripts/train_gpu.sh`)")
    return parts


def command_line(train_cmd: str, stem: str) -> str:
    """The card's command line. A plain command is put in code quotes and followed by the export;
    a chain of commands given already quoted (a warm restart after a first run: it holds
    backquotes) is taken as written, with the export added only if it does not end with one."""
    export = f"scripts/py -m scales_train.export --checkpoint RUN/checkpoint.pt --out models/weights/{stem}.safetensors"
    if "`" not in train_cmd:
        return f"- command: `{train_cmd}`, then `{export}`"
    return f"- command: {train_cmd}" + ("" if "scales_train.export" in train_cmd else f", then `{export}`")


def card(model: Path, ev: dict, bic: dict, fp: dict | None, fp_ck: Path | None, out: Path,
         train_cmd: str = "", fp_model: str = "", lat: dict | None = None) -> None:
    cfg, _, meta = read_model(model)
    swin = isinstance(cfg, SwinConfig)
    ops = swinir_params_ops(cfg) if swin else count_params_ops(cfg)
    name = model.stem
    if swin:
        what = (f"Binary SCALES-SwinIR, x{cfg.scale}: embedding {cfg.channels}, {cfg.groups} residual Swin Transformer "
                f"groups of {cfg.depth} layers, {cfg.heads} heads, window {cfg.window}, MLP ratio {cfg.mlp_ratio}; "
                "every linear inside the Transformer layers (qkv, proj, fc1, fc2) and each group's closing 3x3 conv "
                + ("is a SCALES binary layer with an FP residual (qkv and fc1, which widen, add their input repeated "
                   "along channels, fc2 the mean of its input's chunks: `linear_residual: matched`); " if cfg.linear_residual == "matched" else
                   "is a SCALES binary layer; proj and the group conv (C -> C) carry an FP residual, qkv, fc1 and "
                   "fc2 none (`linear_residual: same_width`); ")
                + "attention, LayerNorm, position bias and masks, "
                "conv_first, conv_after_body and the pixel-shuffle-direct upsampler are FP. "
                f"SCALES components: {', '.join(cfg.components) or 'none'}. "
                f"Format: `docs/model-format.md` (scales-swinir, format_version {meta['format_version']}).")
        paper = "the paper size (embedding 60, 4 groups of 6 layers, 6 heads) needs GPU training"
    else:
        what = (f"Binary SCALES-EDSR, x{cfg.scale}: {cfg.blocks} residual blocks of two SCALES binary 3x3 convs, "
                f"{cfg.channels} channels, binary body-end conv, FP head, FP pixel-shuffle upsampler and FP tail. "
                f"SCALES components: {', '.join(cfg.components) or 'none'}. Binarized activations are padded with +1. "
                f"Format: `docs/model-format.md` (format_version {meta['format_version']}).")
        paper = "the paper size (B16 C64) is trained on a GPU separately"
    lines = [
        f"# {name}",
        "",
        what,
        "",
        "## Size and cost (320x180 input)",
        "",
        "| | value |",
        "|---|---|",
        f"| binary params | {ops['binary_params']:,} ({ops['binary_params'] / 32:,.0f} FP-equivalent, /32) |",
        f"| FP params | {ops['fp_params']:,} |",
        f"| params (FP + binary/32) | {ops['params_equiv']:,.0f} |",
        f"| BOPs | {ops['bops'] / 1e9:.2f} G ({ops['bops'] / 64 / 1e9:.3f} G FLOP-equivalent, /64) |",
        f"| FLOPs (multiply-adds) | {ops['flops'] / 1e9:.2f} G |",
        f"| OPs (FLOPs + BOPs/64) | {ops['ops_equiv'] / 1e9:.2f} G |",
        "",
        "## Training",
        "",
        f"- data: {meta.get('train_data', '?')}; random {meta.get('patch')}x{meta.get('patch')} LR patches, "
        f"batch {meta.get('batch')}, flips and 90-degree rotations; seed {meta.get('seed')}",
        (f"- iterations: {meta.get('iterations')}; " + ", plus ".join(training_hours(meta))
         + (f"; started from the FP twin `{meta['init_from']}`" if meta.get("init_from") else "")
         + (f"; distilled from the FP teacher `{meta['teacher']}`" if meta.get("teacher") else "")
         + ("; started from run `{}` with {} iterations behind it (`--init-scale-from`: another scale, or a "
            "warm restart at this one), which are counted here with their core-hours, its own start's included"
            .format(*meta["init_scale_from"].rsplit("@", 1))
            if meta.get("init_scale_from") else "")
         if meta.get("core_hours") else
         f"- iterations: {meta.get('iterations')}; wall time {int(meta.get('train_seconds', 0)) / 60:.0f} min on one "
         "thread of the 2-core CPU development machine, which ran other trainings at the same time"),
        f"- L1 loss, Adam (0.9, 0.99), learning rate {meta.get('lr', '5e-4')} with cosine decay, "
        f"{meta.get('warmup', '100')} warm-up iterations",
        *([command_line(train_cmd, model.stem)] if train_cmd else []),
        f"- size chosen so that it trains within one CPU session; {paper}",
        "",
        "## Quality (PSNR dB / SSIM on Y, shave = scale, official bicubic LR inputs)",
        "",
        "| model | Set5 | Set14 | B100 |",
        "|---|---|---|---|",
        _row("bicubic", bic),
    ]
    if fp is not None:
        # The FP network beside it is named by its own shape: "twin" only when it has this model's size.
        fp_label, fp_shape, its = "FP network", None, ""
        if fp_ck is not None:
            info = _ck_info(fp_ck)
            fp_shape, its = (info["config"].get("blocks"), info["config"].get("channels")), info["iterations"]
        elif fp_model and (ROOT / fp_model).is_file():  # an FP model file records its shape and iterations
            fp_cfg, _, fp_meta = read_model(ROOT / fp_model)
            fp_shape, its = (getattr(fp_cfg, "blocks", None), fp_cfg.channels), fp_meta.get("iterations", "")
        if fp_shape is not None:
            its = f", {its} iterations" if its else ""
            fp_label = (f"FP twin (same size{its})" if fp_shape == (getattr(cfg, "blocks", None), cfg.channels)
                        else f"FP EDSR B{fp_shape[0]} C{fp_shape[1]} ({its[2:] or 'iterations unknown'})")
        lines.append(_row(fp_label, fp))
    lines.append(_row(f"**{name}**", ev))
    lines += [
        "",
        "Reproduce:",
        "",
        "```",
        f"scripts/py -m scales_train.eval --model models/weights/{name}.safetensors --sets Set5,Set14,B100 --scale {cfg.scale}",
        f"scripts/py -m scales_train.eval --model bicubic --sets Set5,Set14,B100 --scale {cfg.scale}",
        *([f"scripts/py -m scales_train.eval --model {fp_model} --sets Set5,Set14,B100 --scale {cfg.scale}"]
          if fp_model else []),
        "```",
        "",
        f"The same numbers are in `{name}.eval.json` beside this card. Binary against FP networks at matched "
        "engine latency: `docs/quality-speed.md`.",
        "",
    ]
    if json.loads(meta.get("fp_precision_gate", "null")) is not None:
        lines += precision_lines(model)
    if lat is not None:
        lines += latency_lines(model, lat)
    out.write_text("\n".join(lines))


def table(weights: Path, data: Path) -> str:
    """README table: every committed model's eval JSON next to bicubic (evaluated now) per scale."""
    from .eval import evaluate
    rows = ["| model | scale | Set5 | Set14 | B100 |", "|---|---|---|---|---|"]
    evs = sorted((json.loads(p.read_text()) for p in weights.glob("*.eval.json")),
                 key=lambda e: (e["scale"], e["model"]))
    for scale in sorted({e["scale"] for e in evs}):
        bic = evaluate("bicubic", list(SETS), scale, data)
        rows.append(_row("bicubic", bic).replace("| bicubic |", f"| bicubic | x{scale} |"))
        for e in (e for e in evs if e["scale"] == scale):
            rows.append(_row(f"`{e['model']}`", e).replace(f"| `{e['model']}` |", f"| `{e['model']}` | x{scale} |"))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scales_train.report")
    sub = ap.add_subparsers(dest="cmd", required=True)
    ab = sub.add_parser("ablation")
    ab.add_argument("runs")
    ab.add_argument("variants", nargs="+")
    ab.add_argument("--out", default=str(ROOT / "docs" / "ablation.md"))
    rc = sub.add_parser("recipe")
    rc.add_argument("runs")
    rc.add_argument("--out", default=str(ROOT / "docs" / "ablation.md"))
    sh = sub.add_parser("short")
    sh.add_argument("runs")
    sh.add_argument("--out", default=str(ROOT / "docs" / "ablation.md"))
    cd = sub.add_parser("card")
    cd.add_argument("--model", required=True)
    cd.add_argument("--eval", required=True)
    cd.add_argument("--bicubic", required=True)
    cd.add_argument("--fp")
    cd.add_argument("--fp-checkpoint")
    cd.add_argument("--out", required=True)
    cd.add_argument("--train-command", default="")
    cd.add_argument("--fp-model", default="", help="path of the FP twin's model file, for the card's commands")
    cd.add_argument("--latency", default="", help="scales-latency --model M --json output: the card's engine latency")
    lt = sub.add_parser("latency")
    lt.add_argument("--model", required=True)
    lt.add_argument("--latency", required=True, help="scales-latency --model M --json output")
    lt.add_argument("--card", default="", help="the card to update (default: M.md beside the model)")
    pr = sub.add_parser("precision", help="write the card's FP-layer precision section from the model file")
    pr.add_argument("--model", required=True)
    pr.add_argument("--card", default="", help="the card to update (default: M.md beside the model)")
    tb = sub.add_parser("table")
    tb.add_argument("weights", nargs="?", default=str(ROOT / "models" / "weights"))
    tb.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "benchmark"))
    a = ap.parse_args(argv)
    if a.cmd == "table":
        print(table(Path(a.weights), Path(a.data)))
        return 0
    if a.cmd == "latency":
        model = Path(a.model)
        set_card_latency(model, json.loads(Path(a.latency).read_text()),
                         Path(a.card) if a.card else model.with_suffix(".md"))
        return 0
    if a.cmd == "precision":
        model = Path(a.model)
        set_card_section(Path(a.card) if a.card else model.with_suffix(".md"), "## FP-layer precision",
                         precision_lines(model))
        return 0
    if a.cmd == "ablation":
        ablation(Path(a.runs), a.variants, Path(a.out))
    elif a.cmd == "recipe":
        runs = Path(a.runs)
        first = _ck_info(runs / "l1" / "checkpoint.pt")["config"]
        replace_section(Path(a.out), f"recipe:edsr-x{first['scale']}-b{first['blocks']}c{first['channels']}",
                        recipe_section(runs))
    elif a.cmd == "short":
        replace_section(Path(a.out), "recipe:short", short_section(Path(a.runs)))
    else:
        card(Path(a.model), json.loads(Path(a.eval).read_text()), json.loads(Path(a.bicubic).read_text()),
             json.loads(Path(a.fp).read_text()) if a.fp else None,
             Path(a.fp_checkpoint) if a.fp_checkpoint else None, Path(a.out), a.train_command, a.fp_model,
             json.loads(Path(a.latency).read_text()) if a.latency else None)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
