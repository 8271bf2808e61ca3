"""Continue the committed training runs for a time budget: what a session starts first.

    nohup setsid scripts/py -m scales_train.cumulative --hours 2.5 [--jobs 2] [RUN ...] &

RUN is a folder under models/checkpoints/ (default: the folders there whose checkpoint has not
reached its --iters, least advanced first, as many as fit in --max-mb: each run a session advances
adds its checkpoint's size to the history when the session commits it, and a session's commit
should stay near 10 MB, docs/training.md). Each run continues with the arguments its checkpoint recorded (train.resume_argv),
on cores/jobs threads, `jobs` runs side by side (scales_train.train_speed: as many iterations per
core-hour as one run on all cores); with more runs than jobs the wall time is shared out equally.
Each run stops cleanly with a checkpoint at its share (--time-budget), which the session then
commits. Logs go to runs/cumulative/RUN.log.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .checkpoint import read_checkpoint
from .train import resume_argv

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINTS = ROOT / "models" / "checkpoints"


def unfinished(runs: Path, max_mb: float = 0.0) -> list[Path]:
    """Runs below their --iters, fewest iterations first (so that runs meant to get one budget
    keep level), cut where their checkpoints' sizes would pass max_mb (0: no cut). A first run
    over the cap is still taken, so the manager never starves."""
    todo = []
    for d in sorted(p for p in runs.iterdir() if (p / "checkpoint.pt").is_file()):
        ck = read_checkpoint(d / "checkpoint.pt")
        if ck["iteration"] < ck["args"]["iters"]:
            todo.append((ck["iteration"], d.name, d))
    out, total = [], 0.0
    for _, _, d in sorted(todo):
        mb = (d / "checkpoint.pt").stat().st_size / 1e6
        if max_mb and out and total + mb > max_mb:
            continue
        out.append(d)
        total += mb
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scales_train.cumulative", description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="*", help="run folders (default: the unfinished ones under models/checkpoints)")
    ap.add_argument("--hours", type=float, required=True, help="wall time for all runs together")
    ap.add_argument("--jobs", type=int, default=2, help="runs side by side")
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--max-mb", type=float, default=12.0,
                    help="without RUNs: take runs while their checkpoints total at most this (0: all)")
    ap.add_argument("--logs", default=str(ROOT / "runs" / "cumulative"))
    a = ap.parse_args(argv)
    runs = [Path(r) for r in a.runs] if a.runs else unfinished(CHECKPOINTS, a.max_mb)
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

    def stop(num, _frame):  # pass SIGTERM/SIGINT on: each run ends with a checkpoint; start no more
        queue.clear()
        for _, proc, _ in active:
            proc.send_signal(signal.SIGTERM)
        print(f"{signal.Signals(num).name}: stopping {len(active)} run(s) at their next iteration", flush=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"{len(runs)} run(s), {jobs} at a time on {threads} thread(s) each, {share / 60:.0f} min each", flush=True)
    while queue or active:
        while queue and len(active) < jobs:
            run = queue.pop(0)
            args = read_checkpoint(run / "checkpoint.pt")["args"]
            cmd = [sys.executable, "-m", "scales_train.train",
                   *resume_argv(args, threads=threads, time_budget=share, stop_at=0, out=str(run))]
            log = open(logs / f"{run.name}.log", "a")
            print(f"start {run.name}: {' '.join(cmd[3:])}", flush=True)
            # The package's folder on the child's path, however this process was started.
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "models"),
                                                                               os.environ.get("PYTHONPATH")]))}
            active.append((run, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env), log))
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
