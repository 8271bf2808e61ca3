"""Per-op totals of SCALES_TRACE output: where a forward pass spends its time, as medians over passes.

SCALES_TRACE=1 prints one line per op (or fused run) of every pass to stderr, `trace <op> <ms>`,
and each pass ends with its `output` line. This sums each op's lines within a pass and prints,
for the last N passes of the input (the repeats of the last model a bench timed), the median of
each op's sum and of the pass total, largest first.

    SCALES_TRACE=1 build/bench/scales-latency ... 2> trace.txt
    scripts/py bench/trace_summary.py trace.txt --last 7
"""
import argparse
import re
import statistics
import sys
from collections import defaultdict

LINE = re.compile(r"^trace (\S+)\s+([0-9.]+) ms$")


def passes(lines) -> list[dict[str, float]]:
    out, cur = [], defaultdict(float)
    for line in lines:
        m = LINE.match(line.strip())
        if not m:
            continue
        cur[m.group(1)] += float(m.group(2))
        if m.group(1) == "output":
            out.append(dict(cur))
            cur = defaultdict(float)
    return out


def summary(ps: list[dict[str, float]]) -> list[tuple[str, float]]:
    """(op, median of its per-pass sum) largest first, then ("pass", median pass total)."""
    ops = {k for p in ps for k in p}
    rows = [(k, statistics.median(p.get(k, 0.0) for p in ps)) for k in ops]
    rows.sort(key=lambda r: -r[1])
    return rows + [("pass", statistics.median(sum(p.values()) for p in ps))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace", help="a file of SCALES_TRACE output, or - for standard input")
    ap.add_argument("--last", type=int, default=7, help="summarise the last N passes (default 7)")
    args = ap.parse_args(argv)
    if args.last < 1:
        ap.error("--last must be at least 1")
    with (sys.stdin if args.trace == "-" else open(args.trace)) as f:
        ps = passes(f)
    if not ps:
        print(f"{args.trace}: no complete pass (no `trace output` line): was SCALES_TRACE=1 set?", file=sys.stderr)
        return 1
    ps = ps[-args.last:]
    print(f"{len(ps)} passes, medians of each op's sum per pass (ms):")
    for op, ms in summary(ps):
        print(f"  {op:20s} {ms:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
