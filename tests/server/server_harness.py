"""Starts a real scales-server on a free loopback port for the service tests (the fixture is in
conftest.py).

scripts/test builds the server and sets SCALES_SERVER (and SCALES_UPSCALE); run alone, these
tests are skipped visibly."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from upscaler_client import Client  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SERVER = os.environ.get("SCALES_SERVER")
BENCH = ROOT.parent / "shared" / "data" / "benchmark"
START_TIMEOUT_S = 120
needs_server = pytest.mark.skipif(not SERVER, reason="SCALES_SERVER not set (scripts/test builds and sets it)")


def tls_files(tmp: Path) -> tuple[Path, Path, Path]:
    """A self-signed certificate for localhost/127.0.0.1, its key, and a bearer-tokens file that
    accepts "secret-one" and "secret-two": what the TLS + token tests of gRPC and HTTP serve with."""
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    tokens = tmp / "tokens"
    tokens.write_text("# accepted tokens\nsecret-one\nsecret-two\n")
    return cert, key, tokens


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    def __init__(self, proc: subprocess.Popen, port: int, metrics_port: int, log: Path):
        self.proc, self.port, self.metrics_port, self.log = proc, port, metrics_port, log
        self.client = Client(f"127.0.0.1:{port}")

    # `with start_server(...) as srv:` stops the server (SIGTERM, drained) when the block ends.
    def __enter__(self) -> "Running":
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)

    def log_text(self) -> str:
        return self.log.read_text()

    def metrics(self) -> dict[str, float]:
        """The /metrics page as {series: value} (series = name{labels})."""
        import urllib.request
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                series, value = line.rsplit(" ", 1)
                out[series] = float(value)
        return out


def start_server(tmp: Path, *args: str, models: Path | None = None) -> Running:
    port, metrics_port = free_port(), free_port()
    log = tmp / f"server-{port}.log"
    proc = subprocess.Popen([SERVER, "--listen", f"127.0.0.1:{port}", "--metrics-listen", f"127.0.0.1:{metrics_port}",
                             "--models", str(models or ROOT / "models" / "weights"), *args],
                            stderr=open(log, "w"), stdout=subprocess.DEVNULL)
    r = Running(proc, port, metrics_port, log)
    # Sanitizer builds on a loaded 2-core CI machine take many seconds to load the models; wait on a
    # deadline, not a count of tries, and say what the server printed if it never comes up.
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"scales-server exited ({proc.returncode}): {log.read_text()}")
        try:
            if r.client.health(timeout=2, wait_for_ready=True) == 1:
                return r
        except grpc.RpcError:
            pass
    proc.kill()
    proc.wait()
    raise RuntimeError(f"scales-server not healthy after {START_TIMEOUT_S} s; its log:\n{log.read_text()}")
