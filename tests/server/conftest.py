"""The `server` fixture: one scales-server for a test module (server_harness.py starts it)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_harness import start_server  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with start_server(tmp_path_factory.mktemp("server"), "--max-message-mb", "8", "--max-pixels", "4000000") as r:
        yield r
