"""Shared by the CLI tests: where the repository, the data and the bundled models are."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT.parent / "shared" / "data" / "benchmark"
WEIGHTS = ROOT / "models" / "weights"


@pytest.fixture(scope="session")
def bench() -> Path:
    """The evaluation sets; a missing data folder fails the run rather than skipping it."""
    assert BENCH.is_dir(), f"benchmark data missing at {BENCH} (see ../shared/data/README.md)"
    return BENCH
