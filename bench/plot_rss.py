"""Plots a resident-memory curve written by bench/soak.py or bench/memory_load.py (--csv).

    scripts/py bench/plot_rss.py runs/soak_rss.csv docs/img/soak_rss.png --title "10-minute soak"
"""
from __future__ import annotations

import argparse
import csv

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("csv")
    ap.add_argument("png")
    ap.add_argument("--title", default="scales-server resident memory")
    a = ap.parse_args()
    with open(a.csv) as f:
        rows = list(csv.DictReader(f))
    t = [float(r["seconds"]) for r in rows]
    fig, ax = plt.subplots(figsize=(7, 3), dpi=100)
    ax.plot(t, [float(r["rss_mib"]) for r in rows], label="RSS (MiB)")
    if "reserved_mib" in rows[0]:
        ax.plot(t, [float(r["reserved_mib"]) for r in rows], label="reserved from the budget (MiB)")
    ax.set_xlabel("seconds")
    ax.set_ylabel("MiB")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    if "threads" in rows[0]:
        ax2 = ax.twinx()
        ax2.plot(t, [int(r["threads"]) for r in rows], color="tab:gray", linewidth=0.8, label="threads")
        ax2.set_ylabel("threads")
        ax2.set_ylim(bottom=0)
        ax2.legend(loc="lower right")
    ax.legend(loc="upper left")
    ax.set_title(a.title)
    fig.tight_layout()
    fig.savefig(a.png)


if __name__ == "__main__":
    main()
