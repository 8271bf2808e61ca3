from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
BENCH = DATA / "benchmark"
WEIGHTS = ROOT / "models" / "weights"
GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture(scope="session")
def bench() -> Path:
    if not BENCH.is_dir():
        pytest.fail(f"benchmark data missing at {BENCH} (see ../shared/data/README.md)")
    return BENCH
