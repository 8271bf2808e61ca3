"""The quality-speed front: Set14 PSNR against engine latency, binary SCALES-EDSR vs FP EDSR.

    build/bench/scales-latency --nets scales:4x32,scales:8x64,...,fp:4x32,... --scales 2,4 \
        --inputs 256x256,1280x720 --threads 2 --repeats 5 --json > runs/latency.json
    scripts/py -m scales_train.front --latency runs/latency.json [--runs models/checkpoints] \
        [--out docs/quality-speed.md]

The front's networks are the training runs named front-x<S>-<variant>-b<B>c<C> under --runs (one
recipe, one budget per size; models/checkpoints/ so they accumulate across sessions). Each run's
checkpoint is scored on Set5/Set14/B100 with scales_train.eval (cached beside it as front.eval.json,
keyed by its iteration); its latency is the engine's median for its shape from scales-latency
(latency depends on the shape, not the weights); FP networks also carry ONNX Runtime's median
where scales-latency ran with --onnx-dir. Writes the markdown table, the verdict the issue asks
for (does a binary network beat, on Set14, every FP network that runs as fast or faster in the
engine?) and one PNG per scale (docs/quality-speed-x<S>.png: Set14 PSNR against ms at each input
size, one line per family, FP in ONNX Runtime as its own line).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from .checkpoint import core_hours, read_checkpoint
from .eval import DEFAULT_DATA, evaluate

ROOT = Path(__file__).resolve().parents[2]
RUN_NAME = re.compile(r"^front-x(?P<scale>[234])-(?P<variant>scales|plain|fp)-b(?P<blocks>\d+)c(?P<channels>\d+)$")
SETS = ("Set5", "Set14", "B100")
FAMILY = {"scales": "binary SCALES-EDSR", "plain": "binary plain EDSR", "fp": "FP EDSR"}


def scored_runs(runs: Path, data: Path, min_iterations: int = 0) -> list[dict]:
    """Every front run under `runs` that has trained at least min_iterations, with its scores
    (evaluated now unless cached for its iteration)."""
    out = []
    for d in sorted(p for p in runs.iterdir() if p.is_dir() and RUN_NAME.match(p.name)):
        ck_path = d / "checkpoint.pt"
        if not ck_path.is_file():
            continue
        m = RUN_NAME.match(d.name)
        ck = read_checkpoint(ck_path)
        if ck["iteration"] < min_iterations:
            continue
        cache = d / "front.eval.json"
        ev = json.loads(cache.read_text()) if cache.is_file() else {}
        if ev.get("iteration") != ck["iteration"]:
            ev = evaluate(str(ck_path), list(SETS), int(m["scale"]), data)
            ev["iteration"] = ck["iteration"]
            cache.write_text(json.dumps(ev, indent=2) + "\n")
        out.append({"run": d.name, "scale": int(m["scale"]), "variant": m["variant"],
                    "net": f"{m['variant']}:{m['blocks']}x{m['channels']}", "iterations": ck["iteration"],
                    "core_hours": core_hours(ck.get("segments", [])),
                    "psnr": {s: ev["sets"][s]["psnr"] for s in SETS}})
    return out


def latency_of(lat: dict, net: str, scale: int, inp: str, key: str = "engine_ms") -> float | None:
    for r in lat["rows"]:
        if r["net"] == net and r["scale"] == scale and r["input"] == inp:
            return r.get(key)
    return None


def verdict(runs: list[dict], lat: dict, scale: int, inp: str) -> str:
    """Whether some binary network beats, on Set14, every FP network at least as fast in the engine."""
    timed = [(r, latency_of(lat, r["net"], scale, inp)) for r in runs if r["scale"] == scale]
    timed = [(r, ms) for r, ms in timed if ms is not None]
    fp = [(r, ms) for r, ms in timed if r["variant"] == "fp"]
    winners = []
    for b, ms in ((r, ms) for r, ms in timed if r["variant"] != "fp"):
        rivals = [r for r, fms in fp if fms <= ms]
        if all(b["psnr"]["Set14"] > r["psnr"]["Set14"] for r in rivals):
            best = max(rivals, key=lambda r: r["psnr"]["Set14"]) if rivals else None
            winners.append(f"{FAMILY[b['variant']]} {size_label(b['net'])} ({b['psnr']['Set14']:.2f} dB, {ms:.0f} ms"
                           + (f"; best FP at least as fast: {size_label(best['net'])} {best['psnr']['Set14']:.2f} dB)"
                              if best else "; no FP network is as fast)"))
    if not winners:
        return f"x{scale}, {inp}: **no** binary network beats every FP network that is as fast or faster on Set14."
    return f"x{scale}, {inp}: **yes**: " + "; ".join(winners) + "."


def size_label(net: str) -> str:
    blocks, channels = net.split(":")[1].split("x")
    return f"B{blocks} C{channels}"


def table(runs: list[dict], lat: dict, inputs: list[str]) -> str:
    ort = any("ort_ms" in r for r in lat["rows"])
    ort_cols = [f"ONNX Runtime ms {i}" for i in inputs] if ort else []
    lines = ["| scale | network | Set5 | Set14 | B100 | " + " | ".join([f"ms {i}" for i in inputs] + ort_cols)
             + " | iterations | core-hours |",
             "|---|---|---|---|---|" + "---|" * (len(inputs) + len(ort_cols)) + "---|---|"]
    for r in sorted(runs, key=lambda r: (r["scale"], r["variant"] != "scales", latency_of(lat, r["net"], r["scale"],
                                                                                          inputs[0]) or 0)):
        ms = [latency_of(lat, r["net"], r["scale"], i) for i in inputs]
        if ort:
            ms += [latency_of(lat, r["net"], r["scale"], i, "ort_ms") for i in inputs]
        lines.append(f"| x{r['scale']} | {FAMILY[r['variant']]} {size_label(r['net'])} | "
                     + " | ".join(f"{r['psnr'][s]:.2f}" for s in SETS) + " | "
                     + " | ".join("-" if v is None else f"{v:.0f}" for v in ms)
                     + f" | {r['iterations']} | {r['core_hours']:.2f} |")
    return "\n".join(lines)


def plot(runs: list[dict], lat: dict, inputs: list[str], scale: int, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(inputs), figsize=(5.5 * len(inputs), 4.2), squeeze=False)
    for ax, inp in zip(axes[0], inputs):
        for variant, key, style, label in (("scales", "engine_ms", "o-", FAMILY["scales"]),
                                           ("plain", "engine_ms", "s--", FAMILY["plain"]),
                                           ("fp", "engine_ms", "^-", FAMILY["fp"] + " (engine)"),
                                           ("fp", "ort_ms", "v:", FAMILY["fp"] + " (ONNX Runtime)")):
            pts = sorted((latency_of(lat, r["net"], scale, inp, key), r["psnr"]["Set14"], size_label(r["net"]))
                         for r in runs if r["scale"] == scale and r["variant"] == variant
                         and latency_of(lat, r["net"], scale, inp, key) is not None)
            if not pts:
                continue
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=label)
            for x, y, name in pts:
                ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel(f"ms, {inp} input, {lat['threads']} threads (log)")
        ax.set_ylabel("Set14 PSNR (dB, Y)")
        ax.set_title(f"x{scale}, {inp}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Quality vs engine latency, x{scale} ({lat['machine']['cpu']}, kernel {lat['kernel']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scales_train.front", description=__doc__.split("\n\n")[0])
    ap.add_argument("--latency", required=True, help="scales-latency --json output")
    ap.add_argument("--runs", default=str(ROOT / "models" / "checkpoints"))
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--out", default=str(ROOT / "docs" / "quality-speed.md"))
    ap.add_argument("--min-iterations", type=int, default=1000,
                    help="leave out runs that have trained less (just created: their scores mean nothing)")
    a = ap.parse_args(argv)
    lat = json.loads(Path(a.latency).read_text())
    inputs = list(dict.fromkeys(r["input"] for r in lat["rows"]))
    runs = scored_runs(Path(a.runs), Path(a.data), a.min_iterations)
    if not runs:
        print(f"error: no front-x<S>-<variant>-b<B>c<C> runs with a checkpoint of at least {a.min_iterations} "
              f"iterations under {a.runs}", file=sys.stderr)
        return 2
    out = Path(a.out)
    section = ["<!-- front:table -->",
               f"Engine latency: `scales-latency`, {lat['threads']} threads, median of {lat['repeats']}, "
               f"{lat['machine']['cpu']}, binary kernel `{lat['kernel']}`. PSNR (dB) on Y, shave = scale, official "
               "bicubic LR inputs, from each run's checkpoint (`scales_train.eval`).", "",
               table(runs, lat, inputs), "",
               "Does a binary network beat, on Set14, every FP network that runs as fast or faster in the engine?", "",
               *[f"- {verdict(runs, lat, s, i)}" for s in sorted({r['scale'] for r in runs}) for i in inputs], ""]
    for s in sorted({r["scale"] for r in runs}):
        png = out.with_name(f"{out.stem}-x{s}.png")
        plot(runs, lat, inputs, s, png)
        section.append(f"![x{s} front]({png.name})")
    section.append("<!-- /front:table -->")
    text = out.read_text() if out.is_file() else "# Quality and speed\n\n<!-- front:table -->\n<!-- /front:table -->\n"
    begin, end = "<!-- front:table -->", "<!-- /front:table -->"
    text = text[:text.index(begin)] + "\n".join(section) + text[text.index(end) + len(end):]
    out.write_text(text)
    print(f"wrote {out} ({len(runs)} networks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
