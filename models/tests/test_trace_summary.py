"""bench/trace_summary.py: per-op medians over passes of SCALES_TRACE output."""
import importlib.util

from conftest import ROOT

spec = importlib.util.spec_from_file_location("trace_summary", ROOT / "bench" / "trace_summary.py")
trace_summary = importlib.util.module_from_spec(spec)
spec.loader.exec_module(trace_summary)

# Three passes as the executor prints them (an op may appear several times per pass), with a
# bench's own lines between and an unfinished pass at the end.
TRACE = """\
trace input              0.10 ms
trace conv               2.00 ms
trace linear             1.00 ms
trace linear             3.00 ms
trace output             0.50 ms
{"json": "lines of the bench's report are skipped"}
trace input              0.10 ms
trace conv               4.00 ms
trace linear             2.00 ms
trace output             0.50 ms
trace input              0.10 ms
trace conv               3.00 ms
trace linear             5.00 ms
trace linear             5.00 ms
trace output             0.50 ms
trace input              0.10 ms
trace conv               9.00 ms
"""


def test_ops_are_summed_within_a_pass_and_the_median_taken_over_passes(tmp_path, capsys):
    ps = trace_summary.passes(TRACE.splitlines())
    assert [p["linear"] for p in ps] == [4.0, 2.0, 10.0]  # the unfinished pass is left out
    rows = dict(trace_summary.summary(ps))
    assert rows["linear"] == 4.0 and rows["conv"] == 3.0 and rows["output"] == 0.5
    assert abs(rows["pass"] - 6.6) < 1e-9  # totals 6.6, 6.6, 13.6
    f = tmp_path / "t.txt"
    f.write_text(TRACE)
    assert trace_summary.main([str(f), "--last", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("2 passes")
    assert out[1].split() == ["linear", "6.0"]  # median of 2 and 10, largest first


def test_a_file_without_a_pass_says_so(tmp_path, capsys):
    f = tmp_path / "t.txt"
    f.write_text("no trace here\n")
    assert trace_summary.main([str(f)]) == 1
    assert "SCALES_TRACE=1" in capsys.readouterr().err
