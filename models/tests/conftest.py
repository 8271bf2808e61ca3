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


@pytest.fixture()
def small_train(tmp_path, bench) -> Path:
    """A training folder (the trainer's layout: <root>/<set>/*.png) with five real T91 images."""
    sub = tmp_path / "train" / "T91"
    sub.mkdir(parents=True)
    for p in sorted((bench.parent / "train" / "T91").glob("*.png"))[:5]:
        (sub / p.name).symlink_to(p)
    return tmp_path / "train"
