"""A short soak (bench/soak.py): 40 s of mixed traffic with cancellations, expired deadlines,
oversize and garbage requests and a model reload halfway; no unexpected status, no leaked
threads or file descriptors, flat RSS, gauges back to zero. The 10-minute run is in
docs/benchmarks.md."""
import os
import sys
from pathlib import Path

from server_harness import ROOT, SERVER, needs_server

sys.path.insert(0, str(ROOT / "bench"))
from soak import run_soak  # noqa: E402

# Under AddressSanitizer freed memory sits in quarantine, so RSS is not a leak signal there (the
# sanitizer's own leak check is); scripts/test sets this for the sanitized server.
SANITIZED = os.environ.get("SCALES_SANITIZED") == "1"


@needs_server
def test_short_soak(tmp_path):
    r = run_soak(SERVER, seconds=40, clients=4, tmp=tmp_path, csv=tmp_path / "rss.csv")
    summary = {k: r[k] for k in ("counts", "unexpected_samples", "rss_mib", "threads", "fds", "gauges_at_end")}
    assert r["unexpected"] == 0, summary
    assert r["counts"]["ok"].get("OK", 0) >= 10, summary  # the load was real
    assert sum(r["counts"]["oversize"].values()) >= 1 and sum(r["counts"]["garbage"].values()) >= 1, summary
    assert r["reloaded"] and r["reloaded_model_served"], summary
    assert r["fds"]["end"] <= r["fds"]["after_warmup"], summary
    assert r["threads"]["end"] <= r["threads"]["first_half_peak"] + 4, summary  # pools, not a leak (soak.py)
    assert all(v == 0 for v in r["gauges_at_end"].values()), summary
    if not SANITIZED:
        assert r["rss_flat"], summary
