"""Many large requests against a memory budget: does scales-server stay inside it?

    scripts/py bench/memory_load.py --build build [--requests 16] [--side 2048] [--scale 4]
        [--budget 4G] [--max-memory-wait 30] [--json out.json] [--csv rss.csv]

Starts a server with `--memory-budget`, sends `--requests` concurrent UpscaleStream calls of one
`--side` x `--side` image (a B100 photo resized up, so the encoded sizes are realistic), samples
the server's resident memory (VmRSS) every 0.1 s, and reports: each call's status, the peak RSS
against the budget, the fixed part (RSS after start and one warm-up call), and whether the
server still serves a small image afterwards. Every call must end OK or RESOURCE_EXHAUSTED.
Issue 20's target: peak RSS < budget + 512 MiB.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "server"))
import server_harness  # noqa: E402
from server_harness import start_server  # noqa: E402

BENCH = ROOT.parent / "shared" / "data" / "benchmark"


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def photo_png(side: int) -> bytes:
    im = Image.open(sorted((BENCH / "B100" / "HR").glob("*.png"))[0]).convert("RGB")
    b = io.BytesIO()
    im.resize((side, side), Image.BICUBIC).save(b, format="PNG")
    return b.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--requests", type=int, default=16)
    ap.add_argument("--side", type=int, default=2048)
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--budget", default="4G")
    ap.add_argument("--max-memory-wait", type=int, default=30)
    ap.add_argument("--deadline", type=float, default=3600)
    ap.add_argument("--json")
    ap.add_argument("--csv", help="the RSS samples: seconds, MiB, reserved MiB, waiting requests")
    a = ap.parse_args()
    server_harness.SERVER = str(Path(a.build) / "server" / "scales-server")

    image = photo_png(a.side)
    with tempfile.TemporaryDirectory() as tmp, start_server(Path(tmp), "--memory-budget", a.budget,
                                                            "--max-memory-wait", str(a.max_memory_wait),
                                                            "--max-pixels", str(a.side * a.side)) as srv:
        pid = srv.proc.pid
        warm = srv.client.upscale(photo_png(64), scale=a.scale)
        assert warm.info.width == 64 * a.scale
        fixed = rss_mib(pid)
        budget_mib = srv.metrics()['scales_memory_budget_bytes{state="capacity"}'] / 2**20
        samples, stop = [], threading.Event()
        t0 = time.monotonic()

        def sample():
            while not stop.is_set():
                m = {}
                try:
                    m = srv.metrics()
                except Exception:  # noqa: BLE001 - a missed scrape is only a missed sample
                    pass
                samples.append((time.monotonic() - t0, rss_mib(pid),
                                m.get('scales_memory_budget_bytes{state="in_use"}', 0) / 2**20,
                                m.get("scales_memory_waiting_requests", 0)))
                time.sleep(0.1)

        results = [None] * a.requests

        def call(i: int):
            s = time.monotonic()
            try:
                info, data = srv.client.upscale_stream(image, scale=a.scale, timeout=a.deadline)
                results[i] = ("OK", f"{info.width}x{info.height}", time.monotonic() - s)
            except grpc.RpcError as e:
                results[i] = (e.code().name, e.details(), time.monotonic() - s)

        sampler = threading.Thread(target=sample)
        sampler.start()
        threads = [threading.Thread(target=call, args=(i,)) for i in range(a.requests)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stop.set()
        sampler.join()
        after = srv.client.upscale(photo_png(32), scale=a.scale)
        still_serving = after.info.width == 32 * a.scale
        peak = max(rss_mib(pid, "VmHWM"), max(s[1] for s in samples))
        rss_end = rss_mib(pid)

    codes = {}
    for code, _, _ in results:
        codes[code] = codes.get(code, 0) + 1
    report = {
        "requests": a.requests, "side": a.side, "scale": a.scale, "budget_mib": budget_mib,
        "max_memory_wait_s": a.max_memory_wait, "fixed_rss_mib": round(fixed), "peak_rss_mib": round(peak),
        "peak_over_budget_mib": round(peak - budget_mib), "rss_at_end_mib": round(rss_end),
        "peak_reserved_mib": round(max(s[2] for s in samples)), "most_waiting": max(s[3] for s in samples),
        "codes": codes, "unexpected": sum(n for c, n in codes.items() if c not in ("OK", "RESOURCE_EXHAUSTED")),
        "still_serving": still_serving, "seconds": round(time.monotonic() - t0, 1),
        "calls": [{"code": c, "detail": d, "seconds": round(s, 1)} for c, d, s in results],
    }
    print(json.dumps({k: v for k, v in report.items() if k != "calls"}, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1))
    if a.csv:
        Path(a.csv).write_text("seconds,rss_mib,reserved_mib,waiting\n" +
                               "".join(f"{t:.2f},{r:.1f},{u:.1f},{w:.0f}\n" for t, r, u, w in samples))
    ok = report["unexpected"] == 0 and still_serving and peak < budget_mib + 512
    print("memory_load:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
