"""UpscaleStream uploads and HTTP bodies above --spool-above-mb wait on disk, not in memory
(server/upload.h): the result is the same as from memory, the files have no name and are closed with the call, and
a full spool (--max-spool-mb) is RESOURCE_EXHAUSTED while the server keeps serving."""
from __future__ import annotations

import os
import subprocess

import grpc
import numpy as np

from server_harness import SERVER, needs_server
from test_http import error, start_with_http, upscale
from test_service import png_bytes


def noise_png(side: int, seed: int) -> bytes:
    return png_bytes(np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8))


def open_files_in(pid: int, folder) -> list[str]:
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            out.append(target)
    return out


@needs_server
def test_a_spooled_upload_gives_the_same_result_and_leaves_nothing(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    image = noise_png(720, 1)
    assert len(image) > (1 << 20)  # above the 1 MiB threshold: spooled
    with start_with_http(tmp_path, "--spool-above-mb", "1", "--spool-dir", str(spool)) as srv:
        info, spooled = srv.client.upscale_stream(image, model="scales-edsr-x2", chunk=256 << 10)
        assert (info.width, info.height) == (1440, 1440)
        # The unary call holds its upload in memory (one message): the same bytes out.
        assert srv.client.upscale(image, model="scales-edsr-x2").image == spooled
        a = upscale(srv.http_port, image)  # an HTTP body is spooled too
        assert a.status == 200, a.body[:300]
        assert a.body == spooled
        assert list(spool.iterdir()) == []  # never a named file
        assert open_files_in(srv.proc.pid, spool) == []  # closed with the call


@needs_server
def test_a_full_spool_is_resource_exhausted_and_the_server_goes_on(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    with start_with_http(tmp_path, "--spool-above-mb", "1", "--max-spool-mb", "2", "--spool-dir", str(spool)) as srv:
        too_big = noise_png(1000, 2)  # about 3 MB
        error(upscale(srv.http_port, too_big), 429, "RESOURCE_EXHAUSTED", "spool is full")
        try:
            srv.client.upscale_stream(too_big, scale=2)
            raise AssertionError("a 3 MB upload fit a 2 MiB spool")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
            assert "spool is full" in e.details() and "--max-spool-mb" in e.details(), e.details()
        # The quota came back with the refused call: a spooled upload that fits still goes through.
        info, _ = srv.client.upscale_stream(noise_png(720, 3), scale=2)  # about 1.6 MB
        assert info.width == 1440
        assert open_files_in(srv.proc.pid, spool) == []
        m = srv.metrics()
        assert m['scales_upload_spool_bytes{state="capacity"}'] == 2 << 20
        assert m['scales_upload_spool_bytes{state="in_use"}'] == 0


@needs_server
def test_a_missing_spool_directory_stops_the_server_at_start(tmp_path):
    r = subprocess.run([SERVER, "--spool-dir", str(tmp_path / "nowhere"), "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r
    assert "spool directory" in r.stderr and "--spool-dir" in r.stderr, r.stderr
