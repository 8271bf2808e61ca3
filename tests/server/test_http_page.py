"""The web page at / in a real browser: Debian's chromium, headless, driven by npm puppeteer-core
(tests/server/browser/page.test.mjs), against a scales-server started here. Set5's baby (x2) goes
through the page; the screenshot it saves is docs/img/web-page.png (docs/service.md shows it).
scripts/setup installs chromium and puppeteer-core; this skips, saying why, only where they could
not be installed."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from server_harness import BENCH, ROOT, free_port, needs_server, start_server

BROWSER_DIR = ROOT / "tests" / "server" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = ROOT / "docs" / "img" / "web-page.png"


@needs_server
@pytest.mark.skipif(bool(os.environ.get("SCALES_SANITIZED")),
                    reason="the browser test runs in the plain pytest stage; test_http.py covers HTTP under ASan")
def test_page_in_headless_chromium(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no browser: {CHROMIUM} is missing (scripts/setup installs Debian's chromium where apt has it)")
    if not shutil.which("node") or not (BROWSER_DIR / "node_modules" / "puppeteer-core").is_dir():
        pytest.skip("puppeteer-core is not installed in tests/server/browser (scripts/setup: npm ci --ignore-scripts)")
    hp = free_port()
    with start_server(tmp_path, "--http-listen", f"127.0.0.1:{hp}") as srv:
        image = BENCH / "Set5" / "LR_bicubic" / "X2" / "babyx2.png"  # 256 x 256 -> 512 x 512
        shot = tmp_path / "web-page.png"
        r = subprocess.run(["node", str(BROWSER_DIR / "page.test.mjs"), f"http://127.0.0.1:{hp}/", str(image), "512",
                            "512", str(shot)], capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr + srv.log_text()[-3000:]
        assert shot.stat().st_size > 10000
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
