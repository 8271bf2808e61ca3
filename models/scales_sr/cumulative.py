"""Continue the committed training runs for a time budget: what a session starts first.

    nohup setsid scripts/py -m scales_sr.cumulative --hours 2.5 [--jobs 2] [RUN ...] &

RUN is a folder under models/checkpoints/ (default: every folder there whose checkpoint has not
reached its --iters). Each run continues with the arguments its checkpoint recorded (train.resume_argv),
on cores/jobs threads, `jobs` runs side by side (scales_sr.train_speed: as many iterations per
core-hour as one run on all cores); with more runs than jobs the wall time is shared out equally.
Each run stops cleanly with a checkpoint at its share (--time-budget), which the session then
commits. Logs go to runs/cumulative/RUN.log.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from .checkpoint import read_checkpoint
from .train import resume_argv

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINTS = ROOT / "models" / "checkpoints"


def unfinished(runs: Path) -> list[Path]:
    out = []
    for d in sorted(p for p in runs.iterdir() if (p / "checkpoint.pt").is_file()):
        ck = read_checkpoint(d / "checkpoint.pt")
        if ck["iteration"] < ck["args"]["iters"]:
            out.append(d)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scales_sr.cumulative", description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="*", help="run folders (default: the unfinished ones under models/checkpoints)")
    ap.add_argument("--hours", type=float, required=True, help="wall time for all runs together")
    ap.add_argument("--jobs", type=int, default=2, help="runs side by side")
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--logs", default=str(ROOT / "runs" / "cumulative"))
    a = ap.parse_args(argv)
    runs = [Path(r) for r in a.runs] if a.runs else unfinished(CHECKPOINTS)
    if not runs:
        print("nothing to continue", file=sys.stderr)
        return 0
    for r in runs:
        if not (r / "checkpoint.pt").is_file():
            print(f"error: no checkpoint in {r}", file=sys.stderr)
            return 2
    jobs = max(1, min(a.jobs, len(runs)))
    threads = max(1, a.cores // jobs)
    share = a.hours * 3600 * jobs / len(runs)
    logs = Path(a.logs)
    logs.mkdir(parents=True, exist_ok=True)
    queue, active, failed = list(runs), [], []
    print(f"{len(runs)} run(s), {jobs} at a time on {threads} thread(s) each, {share / 60:.0f} min each", flush=True)
    while queue or active:
        while queue and len(active) < jobs:
            run = queue.pop(0)
            args = read_checkpoint(run / "checkpoint.pt")["args"]
            cmd = [sys.executable, "-m", "scales_sr.train",
                   *resume_argv(args, threads=threads, time_budget=share, stop_at=0, out=str(run))]
            log = open(logs / f"{run.name}.log", "a")
            print(f"start {run.name}: {' '.join(cmd[3:])}", flush=True)
            active.append((run, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT), log))
        time.sleep(5)
        for item in list(active):
            run, proc, log = item
            if proc.poll() is not None:
                log.close()
                active.remove(item)
                print(f"end {run.name}: exit {proc.returncode}", flush=True)
                if proc.returncode != 0:
                    failed.append(run.name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
