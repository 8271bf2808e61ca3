"""One huge image through `scales-upscale --local`: peak memory, time, and the output checked.

    scripts/py bench/huge_image.py --build build [--side 16384] [--model models/weights/scales-edsr-x2.safetensors]
        [--work /tmp/huge] [--json out.json] [--csv rss.csv] [--server]

Makes a --side x --side PNG by tiling the B100 photos (deterministic, so the encoded size is a
photo's, not a flat image's), upscales it with `scales-upscale --local`, samples the process's
resident memory (VmRSS) every 0.2 s, and reports the peak (the largest VmHWM read) and the
wall time. Then it
checks the output against tiled inference of a crop: a 384 x 384 crop of the input (with a
margin beyond the network's context on every side) is upscaled on its own, and the crop's core
is compared with the same region of the huge output. With image-wide statistics (SCALES'
image-wise scaling) the two runs see different statistics, so the check reports PSNR and the
largest difference rather than asking for equality. Issue 20's target: peak RSS <= 1.5 GB.

With --server the same image goes through a scales-server (started here, --memory-budget 4G)
by `scales-upscale --server`, which streams it up and the result down (UpscaleStream); the
server's peak is measured, not the client's.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "data" / "benchmark"
Image.MAX_IMAGE_PIXELS = None  # the point is a huge image


def make_input(path: Path, side: int) -> None:
    if path.exists():
        return
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in sorted((BENCH / "B100" / "HR").glob("*.png"))]
    canvas = np.empty((side, side, 3), np.uint8)
    i = 0
    for y in range(0, side, 321):
        for x in range(0, side, 481):
            p = photos[i % len(photos)]
            if p.shape[0] > p.shape[1]:  # portrait photos are laid on their side
                p = p.transpose(1, 0, 2)
            p = p[:321, :481]
            i += 1
            h, w = min(321, side - y), min(481, side - x)
            canvas[y:y + h, x:x + w] = p[:h, :w]
    Image.fromarray(canvas).save(path, compress_level=1)


def watch(pid: int, samples: list, peak: list, stop: threading.Event) -> None:
    """Samples VmRSS every 0.2 s, and keeps the largest VmHWM seen: the kernel's exact high-water
    mark of this process since its exec (rusage's ru_maxrss is not: it also counts the parent's
    resident memory at the fork, a large one here after making the input)."""
    t0 = time.time()
    while not stop.is_set():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    samples.append((time.time() - t0, int(line.split()[1]) / 1024))
                elif line.startswith("VmHWM:"):
                    peak[0] = max(peak[0], int(line.split()[1]) / 1024)
        except OSError:
            return
        time.sleep(0.2)


def run(cmd: list[str], csv: str | None = None) -> tuple[float, float, list]:
    """Runs cmd; returns (wall seconds, peak RSS MiB (VmHWM), RSS samples)."""
    t0 = time.time()
    proc = subprocess.Popen(cmd)
    samples: list = []
    peak = [0.0]
    stop = threading.Event()
    th = threading.Thread(target=watch, args=(proc.pid, samples, peak, stop))
    th.start()
    status = proc.wait()
    stop.set()
    th.join()
    if status != 0:
        sys.exit(f"{cmd[0]} failed (status {status})")
    if csv:
        Path(csv).write_text("seconds,rss_mib\n" + "".join(f"{t:.1f},{r:.1f}\n" for t, r in samples))
    return time.time() - t0, max([peak[0]] + [r for _, r in samples]), samples


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--side", type=int, default=16384)
    ap.add_argument("--model", default=str(ROOT / "models" / "weights" / "scales-edsr-x2.safetensors"))
    ap.add_argument("--work", default="/tmp/huge")
    ap.add_argument("--cli", help="the scales-upscale to run (default: BUILD/client/scales-upscale)")
    ap.add_argument("--server", action="store_true", help="through a scales-server (its peak is measured)")
    ap.add_argument("--server-bin", help="the scales-server to run (default: BUILD/server/scales-server)")
    ap.add_argument("--json")
    ap.add_argument("--csv", help="RSS samples of the huge run")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"in-{a.side}.png"
    make_input(src, a.side)
    out = work / f"out-{a.side}.png"
    cli = a.cli or str(Path(a.build) / "client" / "scales-upscale")
    if a.server:
        sys.path.insert(0, str(ROOT / "tests" / "server"))
        import server_harness  # noqa: E402
        server_harness.SERVER = a.server_bin or str(Path(a.build) / "server" / "scales-server")
        models = work / "models"
        models.mkdir(exist_ok=True)
        link = models / Path(a.model).name
        if not link.exists():
            link.symlink_to(Path(a.model).resolve())
        with server_harness.start_server(work, "--memory-budget", "4G", models=models) as srv:
            samples: list = []
            peak_box = [0.0]
            stop = threading.Event()
            th = threading.Thread(target=watch, args=(srv.proc.pid, samples, peak_box, stop))
            th.start()
            t0 = time.time()
            subprocess.run([cli, "--server", f"127.0.0.1:{srv.port}", "--model", Path(a.model).stem,
                            "--deadline", "86400", str(src), "-o", str(out)], check=True)
            wall = time.time() - t0
            stop.set()
            th.join()
            peak = max([peak_box[0]] + [r for _, r in samples])
            if a.csv:
                Path(a.csv).write_text("seconds,rss_mib\n" + "".join(f"{t:.1f},{r:.1f}\n" for t, r in samples))
    else:
        wall, peak, _ = run([cli, "--local", "--model", a.model, str(src), "-o", str(out)], a.csv)
    print(f"{a.side}x{a.side}{' through the server' if a.server else ' --local'}: {wall:.0f} s, peak RSS {peak:.0f} MiB ({peak * 1.048576:.0f} MB), "
          f"output {out.stat().st_size / 1e6:.0f} MB")

    # The check: a crop upscaled on its own against the same region of the huge output.
    big = Image.open(src)
    scale = None
    margin, core = 64, 384
    x0 = y0 = a.side // 2 - core // 2
    crop = big.crop((x0 - margin, y0 - margin, x0 + core + margin, y0 + core + margin))
    crop_in, crop_out = work / "crop-in.png", work / "crop-out.png"
    crop.save(crop_in)
    subprocess.run([cli, "--local", "--model", a.model, str(crop_in), "-o", str(crop_out)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    small = np.asarray(Image.open(crop_out).convert("RGB")).astype(np.float64)
    scale = small.shape[0] // crop.size[1]
    want = small[margin * scale:(margin + core) * scale, margin * scale:(margin + core) * scale]
    huge = Image.open(out)
    got = np.asarray(huge.crop((x0 * scale, y0 * scale, (x0 + core) * scale, (y0 + core) * scale)).convert("RGB"))
    diff = np.abs(got.astype(np.float64) - want)
    mse = float((diff ** 2).mean())
    psnr = float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)
    print(f"crop check: {core}x{core} at ({x0}, {y0}): PSNR {psnr:.1f} dB against the crop's own run, "
          f"max |diff| {diff.max():.0f}, {100 * float((diff > 1).mean()):.3f}% of samples differ by more than 1")
    result = {"side": a.side, "via": "server" if a.server else "local", "scale": scale, "seconds": wall, "peak_rss_mib": peak,
              "output_bytes": out.stat().st_size, "crop_psnr_db": psnr, "crop_max_abs": float(diff.max())}
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))
    ok = peak * 1.048576 <= 1500 and psnr >= 40
    print("target (peak <= 1.5 GB, crop PSNR >= 40 dB):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
