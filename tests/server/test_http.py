"""The HTTP front door (issue 21), through an independent client (Python's http.client, nothing
of this project's): pixels equal to the gRPC path and to `scales-upscale --local`, the model cards
equal to ListModels, every error status with its JSON body, bearer tokens and TLS, the `protocol`
label of the metrics, draining, and a concurrent mixed HTTP + gRPC load. Kept small: the sanitizer
stage runs it against an ASan build too."""
from __future__ import annotations

import http.client
import io
import json
import os
import signal
import ssl
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest
from google.protobuf import json_format
from PIL import Image

from server_harness import BENCH, ROOT, free_port, needs_server, start_server, tls_files

pytestmark = needs_server
CLI = os.environ.get("SCALES_UPSCALE")
BABY = BENCH / "Set5" / "LR_bicubic" / "X2" / "babyx2.png"  # 256 x 256
BIRD = BENCH / "Set5" / "LR_bicubic" / "X2" / "birdx2.png"  # 144 x 144


def png(arr: np.ndarray) -> bytes:
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format="PNG")
    return b.getvalue()


TINY = png(np.random.default_rng(7).integers(0, 256, (12, 10, 3), dtype=np.uint8))


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


class Answer:
    def __init__(self, r: http.client.HTTPResponse):
        self.status, self.headers, self.body = r.status, r.headers, r.read()

    def json(self):
        assert self.headers["Content-Type"] == "application/json", self.headers
        return json.loads(self.body)


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            context: ssl.SSLContext | None = None, timeout: float = 300) -> Answer:
    conn = (http.client.HTTPSConnection("localhost", port, context=context, timeout=timeout) if context else
            http.client.HTTPConnection("127.0.0.1", port, timeout=timeout))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        return Answer(conn.getresponse())
    finally:
        conn.close()


def upscale(port: int, image: bytes, model: str = "scales-edsr-x2", query: str = "", **kw) -> Answer:
    return request(port, "POST", f"/v1/models/{model}:upscale{query}", body=image, **kw)


def error(a: Answer, status: int, grpc_name: str, words: str = "") -> dict:
    """Asserts an error answer: its HTTP status, the JSON body {code, status, message}."""
    assert a.status == status, (a.status, a.body[:300])
    j = a.json()
    assert j["code"] == status and j["status"] == grpc_name and j["message"], j
    assert words in j["message"], j
    return j


def start_with_http(tmp, *args: str):
    hp = free_port()
    srv = start_server(tmp, "--http-listen", f"127.0.0.1:{hp}", *args)
    srv.http_port = hp
    return srv


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    with start_with_http(tmp_path_factory.mktemp("http"), "--max-pixels", "4000000") as s:
        yield s


def test_upscale_equals_grpc_and_local(srv, tmp_path):
    """curl --data-binary @babyx2.png .../scales-edsr-x2:upscale: the same pixels as gRPC's Upscale and as
    `scales-upscale --local`, with the X-Scales-* headers."""
    data = BABY.read_bytes()
    a = upscale(srv.http_port, data)
    assert a.status == 200, a.body[:300]
    assert a.headers["Content-Type"] == "image/png"
    assert a.headers["X-Scales-Model"] == "scales-edsr-x2" and a.headers["X-Scales-Scale"] == "2"
    assert (a.headers["X-Scales-Width"], a.headers["X-Scales-Height"]) == ("512", "512")
    assert float(a.headers["X-Scales-Seconds"]) > 0
    got = pixels(a.body)
    assert got.shape == (512, 512, 3)
    via_grpc = pixels(srv.client.upscale(data, model="scales-edsr-x2").image)
    assert np.array_equal(got, via_grpc)
    if CLI:
        out = tmp_path / "baby.png"
        r = subprocess.run([CLI, "--local", "-m", str(ROOT / "models" / "weights" / "scales-edsr-x2.safetensors"),
                            "-i", str(BABY), "-o", str(out)], capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        assert np.array_equal(got, pixels(out.read_bytes()))


def test_formats_by_query_and_header(srv):
    """format and quality from the query or from X-Scales-* headers; the Content-Type follows."""
    a = upscale(srv.http_port, TINY, query="?format=jpg&quality=80")
    assert a.status == 200 and a.headers["Content-Type"] == "image/jpeg" and a.body[:2] == b"\xff\xd8"
    a = upscale(srv.http_port, TINY, headers={"X-Scales-Format": "webp", "X-Scales-Quality": "90"})
    assert a.status == 200 and a.headers["Content-Type"] == "image/webp" and a.body[8:12] == b"WEBP"
    a = upscale(srv.http_port, TINY, model="scales-edsr-x3", query="?format=tif")
    assert a.status == 200 and a.headers["Content-Type"] == "image/tiff"
    assert Image.open(io.BytesIO(a.body)).size == (30, 36)
    # A generous deadline is a deadline too: the call runs.
    assert upscale(srv.http_port, TINY, query="?deadline=120").status == 200


def test_model_cards_equal_list_models(srv):
    """GET /v1/models is ListModels in proto3 JSON; /v1/models/{name} one card, 404 for an unknown one."""
    a = request(srv.http_port, "GET", "/v1/models")
    assert a.status == 200
    want = json_format.MessageToDict(srv.client.list_models(), including_default_value_fields=True)
    assert a.json() == want
    one = request(srv.http_port, "GET", "/v1/models/scales-edsr-x2").json()
    assert one == next(m for m in want["models"] if m["name"] == "scales-edsr-x2")
    error(request(srv.http_port, "GET", "/v1/models/no-such-model"), 404, "NOT_FOUND", "no-such-model")


def test_probes_and_page(srv):
    assert request(srv.http_port, "GET", "/healthz").json() == {"status": "SERVING"}
    assert request(srv.http_port, "GET", "/readyz").json() == {"status": "SERVING"}
    page = request(srv.http_port, "GET", "/")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert b"<html" in page.body.lower()
    # Nothing from another origin: no absolute URL in the page, and the policy forbids any.
    assert b"http://" not in page.body and b"https://" not in page.body
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


def test_bad_requests(srv):
    """400 for what the client got wrong, 404 for unknown models and routes; the server keeps serving."""
    p = srv.http_port
    error(upscale(p, b"this is not an image"), 400, "INVALID_ARGUMENT", "not a recognised image")
    error(upscale(p, b""), 400, "INVALID_ARGUMENT", "empty body")
    error(upscale(p, TINY, query="?format=bmp"), 400, "INVALID_ARGUMENT", "format")
    error(upscale(p, TINY, query="?quality=abc"), 400, "INVALID_ARGUMENT", "quality")
    error(upscale(p, TINY, query="?quality=500"), 400, "INVALID_ARGUMENT", "quality")
    error(upscale(p, TINY, query="?deadline=-1"), 400, "INVALID_ARGUMENT", "deadline")
    error(upscale(p, TINY, model="scales-edsr-x9"), 404, "NOT_FOUND", "scales-edsr-x9")
    error(request(p, "GET", "/v2/nothing"), 404, "NOT_FOUND", "/v2/nothing")
    # A body sent as a form (curl --data-binary's default Content-Type) is still the image.
    a = upscale(p, BIRD.read_bytes(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert a.status == 200 and pixels(a.body).shape == (288, 288, 3)


def test_deadline_gets_504(srv):
    error(upscale(srv.http_port, BIRD.read_bytes(), query="?deadline=0.000001"), 504, "DEADLINE_EXCEEDED")
    error(upscale(srv.http_port, BIRD.read_bytes(), headers={"X-Scales-Deadline": "0.000001"}), 504,
          "DEADLINE_EXCEEDED")


def test_limits_413_and_full_429(tmp_path):
    """413: a body over --max-upload-mb, an image over --max-side; 429 with Retry-After while the
    scheduler holds --max-in-flight images."""
    with start_with_http(tmp_path, "--max-upload-mb", "1", "--max-side", "300", "--max-in-flight", "1") as s:
        error(upscale(s.http_port, b"\0" * (2 << 20)), 413, "RESOURCE_EXHAUSTED", "--max-upload-mb")
        wide = png(np.zeros((8, 301, 3), dtype=np.uint8))
        error(upscale(s.http_port, wide), 413, "RESOURCE_EXHAUSTED")
        # A slow image holds the one slot (it retries while a tiny one holds it); tiny requests
        # meanwhile are refused until it is done.
        def slow_call() -> Answer:
            while (a := upscale(s.http_port, BABY.read_bytes())).status == 429:
                pass
            return a
        slow = ThreadPoolExecutor(1).submit(slow_call)
        refused = None
        while not slow.done() and refused is None:
            a = upscale(s.http_port, TINY)
            if a.status == 429:
                refused = a
        assert refused is not None, "no 429 while the slow image ran"
        error(refused, 429, "RESOURCE_EXHAUSTED", "retry later")
        assert refused.headers["Retry-After"] == "1"
        assert slow.result().status == 200


def test_tokens_and_tls(tmp_path):
    """HTTPS with the gRPC port's certificate, and its bearer tokens: none 401, a wrong one 403, the right one
    served; probes and the page stay open; plain HTTP on the TLS port gets no answer."""
    cert, key, tokens = tls_files(tmp_path)
    hp, port, metrics_port = free_port(), free_port(), free_port()
    log = tmp_path / "tls.log"
    proc = subprocess.Popen([os.environ["SCALES_SERVER"], "--listen", f"127.0.0.1:{port}", "--metrics-listen",
                             f"127.0.0.1:{metrics_port}", "--http-listen", f"127.0.0.1:{hp}", "--models",
                             str(ROOT / "models" / "weights"), "--tls-cert", str(cert), "--tls-key", str(key),
                             "--auth-tokens", str(tokens)], stderr=open(log, "w"))
    try:
        ctx = ssl.create_default_context(cafile=str(cert))
        deadline = time.monotonic() + 120
        while True:
            try:
                assert request(hp, "GET", "/healthz", context=ctx, timeout=5).status == 200
                break
            except (ConnectionError, OSError):
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        small = BIRD.read_bytes()
        a = upscale(hp, small, context=ctx)
        error(a, 401, "UNAUTHENTICATED", "Bearer")
        assert a.headers["WWW-Authenticate"] == "Bearer"
        error(upscale(hp, small, context=ctx, headers={"Authorization": "Basic eDp5"}), 401, "UNAUTHENTICATED")
        a = upscale(hp, small, context=ctx, headers={"Authorization": "Bearer guess"})
        error(a, 403, "PERMISSION_DENIED", "not accepted")
        assert "invalid_token" in a.headers["WWW-Authenticate"]
        error(request(hp, "GET", "/v1/models", context=ctx), 401, "UNAUTHENTICATED")
        good = {"Authorization": "Bearer secret-two"}
        a = upscale(hp, small, context=ctx, headers=good)
        assert a.status == 200 and pixels(a.body).shape == (288, 288, 3)
        assert request(hp, "GET", "/v1/models", context=ctx, headers=good).status == 200
        assert request(hp, "GET", "/readyz", context=ctx).status == 200
        assert request(hp, "GET", "/", context=ctx).status == 200
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            request(hp, "GET", "/healthz", timeout=5)  # plaintext on the TLS port
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def test_draining_503_and_in_flight_finishes(tmp_path):
    """SIGTERM: /readyz and new requests get 503 while the call already running still gets its image."""
    with start_with_http(tmp_path, "--grace-seconds", "120") as s:
        slow = ThreadPoolExecutor(1).submit(upscale, s.http_port, BABY.read_bytes())
        deadline = time.monotonic() + 60
        while not any(k.startswith("scales_in_flight_requests") and v >= 1 for k, v in s.metrics().items()):
            assert time.monotonic() < deadline and not slow.done(), "the slow call never started"
            time.sleep(0.01)
        s.proc.send_signal(signal.SIGTERM)
        seen = None
        while not slow.done() and seen is None:
            a = request(s.http_port, "GET", "/readyz", timeout=10)
            seen = a if a.status == 503 else None
        if seen is not None:  # the slow call may finish before the signal is handled on a fast machine
            error(seen, 503, "UNAVAILABLE", "draining")
            if not slow.done():
                error(upscale(s.http_port, TINY), 503, "UNAVAILABLE", "shutting down")
        a = slow.result()
        assert a.status == 200 and pixels(a.body).shape == (512, 512, 3)
        assert s.proc.wait(timeout=60) == 0


def test_mixed_http_and_grpc_load_and_metrics(tmp_path):
    """16 clients at once, half HTTP and half gRPC, on one server: every answer is the reference's pixels,
    and scales_requests_total counts each protocol apart."""
    with start_with_http(tmp_path) as s:
        data = BIRD.read_bytes()
        want = pixels(s.client.upscale(data, model="scales-edsr-x2").image)

        def one(i: int) -> str:
            if i % 2:
                a = upscale(s.http_port, data)
                assert a.status == 200, a.body[:300]
                got = pixels(a.body)
            else:
                got = pixels(s.client.upscale(data, model="scales-edsr-x2", timeout=600).image)
            assert np.array_equal(got, want)
            return "http" if i % 2 else "grpc"

        with ThreadPoolExecutor(16) as pool:
            done = list(pool.map(one, range(32)))
        assert done.count("http") == 16
        m = s.metrics()
        ok = {p: sum(v for k, v in m.items() if k.startswith("scales_requests_total{") and 'code="OK"' in k
                     and f'protocol="{p}"' in k) for p in ("http", "grpc")}
        assert ok == {"http": 16, "grpc": 17}
        assert m['scales_request_duration_seconds_count{model="scales-edsr-x2",protocol="http"}'] == 16
        assert m["scales_in_flight_requests"] == 0
        assert '"protocol":"http"' in s.log_text()
