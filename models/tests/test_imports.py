"""The training package's modules import each other without cycles, at module level or inside
functions (a lazy import that hides a cycle still ties the two modules together)."""
import re
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "scales_train"


def _graph() -> dict:
    g = {}
    for f in PKG.glob("*.py"):
        s = f.read_text()
        deps = set(re.findall(r"^\s*from \.(\w+) import", s, re.M)) | set(re.findall(r"^\s*from \. import (\w+)", s, re.M))
        g[f.stem] = deps
    return g


def _cycle(g: dict):
    state = {}  # 1: on the path, 2: done

    def visit(n, path):
        state[n] = 1
        for d in sorted(g.get(n, ())):
            if state.get(d) == 1:
                return path[path.index(d):] + [d]
            if d not in state and (c := visit(d, path + [d])):
                return c
        state[n] = 2
        return None

    for n in sorted(g):
        if n not in state and (c := visit(n, [n])):
            return c
    return None


def test_the_graph_sees_the_package():
    g = _graph()
    assert {"train", "eval", "inference", "swinir_infer"} <= set(g)
    assert "checkpoint" in g["train"]


def test_no_import_cycles():
    c = _cycle(_graph())
    assert c is None, "import cycle: " + " -> ".join(c)


def test_the_detector_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
