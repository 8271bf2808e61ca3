"""Load test of scales-server, and its throughput against `scales-upscale --local`.

    scripts/py bench/loadtest.py --build build [--seconds 30] [--concurrency 32] [--json out.json]
    scripts/py bench/loadtest.py --protocol http ...     # the same load over the HTTP front door
    scripts/py bench/loadtest.py --protocol both ...     # half the clients gRPC, half HTTP, at once

1. mixed load: `--concurrency` clients send a mix of image sizes (64..512 px crops of B100, x2 and
   x4) for `--seconds`; reports throughput, p50/p99 latency, errors (must be zero), the batch-size
   distribution scraped from /metrics, and the server's peak resident memory (VmHWM).
2. service overhead: the same 256x256 PNGs through `scales-upscale --local` (one process, decode
   and encode included) and through the server at concurrency 8 (client-side decode-free: the
   server decodes and encodes), images/s of each and their ratio.
The gRPC client is built from the .proto alone (tests/server/upscaler_client.py); the HTTP one is
Python's http.client, one keep-alive connection per client thread, POST /v1/models/{name}:upscale.
"""
from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import http.client

import grpc
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "server"))
import server_harness  # noqa: E402
from server_harness import start_server  # noqa: E402

BENCH = ROOT.parent / "shared" / "data" / "benchmark"


def crops(sizes: list[int], per_size: int) -> list[tuple[int, bytes]]:
    """PNG crops of B100 HR images (real photos), per_size of each side length."""
    files = sorted((BENCH / "B100" / "HR").glob("*.png"))
    rng = random.Random(0)
    out = []
    for s in sizes:
        for i in range(per_size):
            im = Image.open(files[(i * 7 + s) % len(files)]).convert("RGB")
            x, y = rng.randint(0, im.width - min(s, im.width)), rng.randint(0, im.height - min(s, im.height))
            c = im.crop((x, y, x + s, y + s)) if s <= min(im.size) else im.resize((s, s), Image.BICUBIC)
            b = io.BytesIO()
            c.save(b, format="PNG")
            out.append((s, b.getvalue()))
    return out


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def check_metrics(m: dict, ok: int, failed: int) -> None:
    """Every metric of docs/service.md is there with values that fit the load just run."""
    def total(prefix):
        return sum(v for k, v in m.items() if k.startswith(prefix))
    served = total('scales_requests_total{code="OK"')
    assert served == ok, f"requests_total OK: the server counted {served}, the clients {ok}"
    assert total("scales_requests_total") == ok + failed, \
        f"requests_total: {[(k, v) for k, v in m.items() if k.startswith('scales_requests_total')]} vs {ok} + {failed}"
    for h in ("scales_request_duration_seconds", "scales_queue_duration_seconds", "scales_inference_duration_seconds"):
        assert total(h + "_count") == ok, h
        assert 0 < total(h + "_sum") < ok * 600, h
    # Batches count tile tasks: a tiled image with the statistics pass runs each tile twice.
    assert total("scales_batch_size_sum") >= total("scales_tiles_total") >= ok, "batch sizes vs tiles"
    assert total("scales_input_pixels_total") > 0
    assert m["scales_queue_depth"] == 0 and m["scales_in_flight_requests"] == 0, "gauges back to zero"
    assert any(k.startswith("scales_build_info{") for k in m) and any(k.startswith("scales_model_info{") for k in m)


class HttpUpscaler:
    """One client thread's keep-alive HTTP connection to the server's front door."""

    def __init__(self, port: int, timeout: float):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def upscale(self, data: bytes, scale: int) -> dict:
        self.conn.request("POST", f"/v1/models/scales-edsr-x{scale}:upscale", body=data)
        r = self.conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}: {body[:200]!r}")
        return {"bytes": len(body), "seconds": float(r.headers["X-Scales-Seconds"])}


def mixed_load(srv, seconds: float, concurrency: int, protocol: str = "grpc", timeout: float = 120) -> dict:
    images = crops([64, 128, 256, 512], 4)
    lat, errors, pixels = [], [], 0
    small_lat = []  # inputs of 256x256 or less (issue 20's second tail target)
    small_worst = []  # their latencies with the server's own timings, to see where the time went
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    # Per protocol: completed requests and their latencies (both: even clients gRPC, odd HTTP; each
    # client draws the same image sequence whatever its protocol).
    by_proto: dict[str, list[float]] = {"grpc": [], "http": []}

    def client(k: int):
        nonlocal pixels
        rng = random.Random(k)
        proto = protocol if protocol != "both" else ("grpc", "http")[k % 2]
        web = HttpUpscaler(srv.http_port, timeout) if proto == "http" else None
        while time.monotonic() < stop_at:
            s, data = rng.choice(images)
            scale = rng.choice([2, 2, 4])
            t0 = time.monotonic()
            try:
                if web:
                    web.upscale(data, scale)
                    with lock:
                        lat.append(time.monotonic() - t0)
                        by_proto[proto].append(lat[-1])
                        if s <= 256:
                            small_lat.append(lat[-1])
                        pixels += s * s
                    continue
                r = srv.client.upscale(data, scale=scale, timeout=timeout)
                with lock:
                    lat.append(time.monotonic() - t0)
                    by_proto[proto].append(lat[-1])
                    if s <= 256:
                        small_lat.append(lat[-1])
                        tm = r.info.timings
                        small_worst.append((lat[-1], s, scale, round(tm.queue_ms), round(tm.decode_ms),
                                            round(tm.inference_ms), round(tm.encode_ms), round(tm.total_ms)))
                    pixels += s * s
            except (grpc.RpcError, RuntimeError, OSError, http.client.HTTPException) as e:
                with lock:
                    errors.append(f"{proto} {e.code() if isinstance(e, grpc.RpcError) else ''}: "
                                  f"{e.details() if isinstance(e, grpc.RpcError) else e}")

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    m = srv.metrics()
    check_metrics(m, len(lat), len(errors))
    buckets = {k.split('le="')[1].rstrip('"}'): v for k, v in m.items() if k.startswith("scales_batch_size_bucket")}
    lat.sort()
    small_lat.sort()

    def p99(v):
        return round(1000 * v[min(len(v) - 1, int(0.99 * len(v)))], 1) if v else None
    per_protocol = {p: {"requests": len(v), "images_per_s": round(len(v) / wall, 2),
                        "latency_p50_ms": round(1000 * statistics.median(v), 1)}
                    for p, v in by_proto.items() if v}
    return {
        "protocol": protocol, "per_protocol": per_protocol,
        "concurrency": concurrency, "seconds": round(wall, 1), "requests": len(lat), "errors": len(errors),
        "error_samples": errors[:3], "images_per_s": round(len(lat) / wall, 2),
        "input_mpixels_per_s": round(pixels / wall / 1e6, 3),
        "latency_p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
        "latency_p99_ms": p99(lat),
        "latency_max_ms": round(1000 * lat[-1], 1) if lat else None,
        "small_requests": len(small_lat),
        "small_latency_p50_ms": round(1000 * statistics.median(small_lat), 1) if small_lat else None,
        "small_latency_p99_ms": p99(small_lat),
        # The three slowest small requests: client seconds, side, scale, and the server's queue,
        # decode, inference, encode and total ms (the rest of the client time is transport).
        "small_slowest": sorted(small_worst, reverse=True)[:3],
        "batch_size_buckets_cumulative": buckets,
        "batches": m.get("scales_batch_size_count"), "tiles": m.get("scales_batch_size_sum"),
        "metrics_checked": True,
        "server_peak_rss_mib": round(peak_rss_mib(srv.proc.pid), 1),
    }


def overhead(build: Path, srv_args: list[str], n: int, concurrency: int, tmp: Path) -> dict:
    files = crops([256], n)
    src = tmp / "in256"
    src.mkdir()
    for i, (_, data) in enumerate(files):
        (src / f"{i:03d}.png").write_bytes(data)
    model = ROOT / "models" / "weights" / "scales-edsr-x2.safetensors"
    cli = build / "client" / "scales-upscale"
    t0 = time.monotonic()
    subprocess.run([str(cli), "--local", "-m", str(model), "-i", str(src), "-o", str(tmp / "local")], check=True,
                   capture_output=True)
    local_s = time.monotonic() - t0
    srv = start_server(tmp, *srv_args)
    try:
        srv.client.upscale(files[0][1], scale=2)  # warm-up
        t0 = time.monotonic()
        r = subprocess.run([str(cli), "--server", f"127.0.0.1:{srv.port}", "--scale", "2", "-j", str(concurrency),
                            "-i", str(src), "-o", str(tmp / "remote")], capture_output=True, text=True)
        remote_s = time.monotonic() - t0
        assert r.returncode == 0, r.stderr
        m = srv.metrics()
    finally:
        srv.proc.terminate()
        srv.proc.wait(timeout=60)
    return {"images": n, "size": 256, "scale": 2, "local_images_per_s": round(n / local_s, 2),
            "server_images_per_s": round(n / remote_s, 2), "ratio": round(local_s / remote_s, 3),
            "server_concurrency": concurrency, "batches": m.get("scales_batch_size_count"),
            "tiles": m.get("scales_batch_size_sum")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--overhead-images", type=int, default=48)
    ap.add_argument("--skip-overhead", action="store_true", help="the mixed load only")
    ap.add_argument("--server-args", default="", help="extra scales-server flags, space separated")
    ap.add_argument("--json", help="write the result here")
    ap.add_argument("--protocol", choices=["grpc", "http", "both"], default="grpc",
                    help="the mixed load's clients: all gRPC, all HTTP, or half each at once")
    ap.add_argument("--timeout", type=float, default=120,
                    help="each request's client deadline, seconds (a loaded machine may need more at -c 32)")
    a = ap.parse_args()
    build = Path(a.build)
    server_harness.SERVER = str(build / "server" / "scales-server")
    extra = a.server_args.split() if a.server_args else []
    out = {"machine": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() + " cores"}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        hp = server_harness.free_port()
        srv = start_server(tmp, "--max-in-flight", "256", "--max-queue", "256", "--http-listen", f"127.0.0.1:{hp}",
                           *extra)
        srv.http_port = hp
        try:
            out["mixed"] = mixed_load(srv, a.seconds, a.concurrency, a.protocol, a.timeout)
        finally:
            srv.proc.terminate()
            srv.proc.wait(timeout=120)
        if not a.skip_overhead:
            out["overhead"] = overhead(build, extra, a.overhead_images, 8, tmp)
    text = json.dumps(out, indent=2)
    print(text)
    if a.json:
        Path(a.json).write_text(text)
    return 1 if out["mixed"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
