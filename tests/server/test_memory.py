"""The server's memory budget end to end (server/memory_budget.h, server/footprint.h): requests
reserve their peak bytes from the header, wait while others hold the budget, and are refused with
RESOURCE_EXHAUSTED when they cannot fit at all or not in time; the server keeps serving."""
from __future__ import annotations

import io
import time

import grpc
import numpy as np
from PIL import Image

from server_harness import needs_server, start_server
from test_service import png_bytes, png_header_only

# A 1000x1000 x2 noise PNG request reserves about 40 MiB (footprint.h: the upload, the input
# samples, the encoder's rows, two encoded copies bounded by the raw output); a 60 MiB budget
# holds one at a time, plus small ones.
BUDGET = "60M"


def big_png(seed: int) -> bytes:
    return png_bytes(np.random.default_rng(seed).integers(0, 256, (1000, 1000, 3), dtype=np.uint8))


def settled_metrics(srv, timeout: float = 10.0) -> dict:
    """/metrics once every reservation is back: a reply reaches the client a moment before the
    server's reactor finishes (OnDone) and drops the call's reservation."""
    end = time.monotonic() + timeout
    while True:
        m = srv.metrics()
        if m['scales_memory_budget_bytes{state="in_use"}'] == 0 or time.monotonic() > end:
            return m
        time.sleep(0.05)


def outcome(future) -> tuple[str, str]:
    try:
        r = future.result()
        return "OK", f"{r.info.width}x{r.info.height}"
    except grpc.RpcError as e:
        return e.code().name, e.details()


@needs_server
def test_a_request_larger_than_the_budget_is_refused_on_its_header(tmp_path):
    with start_server(tmp_path, "--memory-budget", BUDGET) as srv:
        t0 = time.monotonic()
        # Only a header and a token IDAT: the refusal must come before any decoding.
        with_header = png_header_only(3000, 3000)
        try:
            srv.client.upscale(with_header, scale=2)
            raise AssertionError("a 3000x3000 x2 request fit a 60 MiB budget")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "whole budget of 60 MiB" in e.details() and "--memory-budget" in e.details(), e.details()
        assert time.monotonic() - t0 < 5
        # The server still serves what fits.
        small = np.random.default_rng(2).integers(0, 256, (40, 30, 3), dtype=np.uint8)
        assert srv.client.upscale(png_bytes(small), scale=2).info.width == 60
        m = settled_metrics(srv)
        assert m['scales_memory_refusals_total{reason="too_large"}'] == 1
        assert m['scales_memory_budget_bytes{state="capacity"}'] == 60 << 20
        assert m['scales_memory_budget_bytes{state="in_use"}'] == 0


@needs_server
def test_requests_wait_for_memory_then_all_are_served(tmp_path):
    """Three big requests against a budget that holds one: they take turns, none is refused, the
    waiting gauge shows the queue, and small requests fit beside them meanwhile."""
    # A long wait allowed: on a loaded 2-core machine each big request can take many seconds.
    with start_server(tmp_path, "--memory-budget", BUDGET, "--max-memory-wait", "600", "--workers", "1") as srv:
        bigs = [srv.client.upscale_future(big_png(s), scale=2, timeout=300) for s in range(3)]
        most_waiting, end = 0.0, time.monotonic() + 60
        while not all(f.done() for f in bigs) and time.monotonic() < end:
            most_waiting = max(most_waiting, srv.metrics().get("scales_memory_waiting_requests", 0.0))
            time.sleep(0.02)
        small = np.random.default_rng(7).integers(0, 256, (20, 24, 3), dtype=np.uint8)
        assert srv.client.upscale(png_bytes(small), scale=2).info.height == 40
        assert [outcome(f) for f in bigs] == [("OK", "2000x2000")] * 3
        assert most_waiting >= 1
        m = settled_metrics(srv)
        assert m.get('scales_memory_refusals_total{reason="wait_over"}', 0) == 0
        assert m['scales_memory_budget_bytes{state="in_use"}'] == 0
        assert m["scales_memory_waiting_requests"] == 0


@needs_server
def test_a_request_that_cannot_get_memory_in_time_is_refused(tmp_path):
    """--max-memory-wait 0: a big request arriving while another holds the budget is refused at
    once, naming the memory; the server serves the next ones."""
    with start_server(tmp_path, "--memory-budget", BUDGET, "--max-memory-wait", "0", "--workers", "1") as srv:
        futures = [srv.client.upscale_future(big_png(s), scale=2, timeout=300) for s in range(3)]
        outcomes = [outcome(f) for f in futures]
        assert ("OK", "2000x2000") in outcomes, outcomes
        refused = [msg for code, msg in outcomes if code == "RESOURCE_EXHAUSTED"]
        assert refused and all("not enough memory within the wait" in msg for msg in refused), outcomes
        assert all(code in ("OK", "RESOURCE_EXHAUSTED") for code, _ in outcomes), outcomes
        out = srv.client.upscale(big_png(9), scale=2)
        assert Image.open(io.BytesIO(out.image)).size == (2000, 2000)
        m = settled_metrics(srv)
        assert m['scales_memory_refusals_total{reason="wait_over"}'] == len(refused)
        assert m['scales_memory_budget_bytes{state="in_use"}'] == 0
