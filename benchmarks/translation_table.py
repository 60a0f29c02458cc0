"""The markdown tables of benchmarks/RESULTS.md for a translation study (DualGAN pairs): mean ± std over seeds
of each entry's per-direction scores from the study's results.csv, then every run's figures.

    python benchmarks/translation_table.py benchmarks/studies/dualgan-mnist-fashion

Columns without a value in any run (MSE / SSIM on a pair with no known T, class mapping on a pair with one)
are left out.
"""
from __future__ import annotations

import argparse
import csv
import math
import statistics as st
from pathlib import Path

# (metric, heading, format, scale)
METRICS = [("mse", "MSE to T(x)", ".4f", 1), ("ssim", "SSIM", ".3f", 1), ("label_acc", "label acc. %", ".2f", 100),
           ("label_flip", "label flip %", ".2f", 100), ("class_nmi", "class NMI", ".3f", 1),
           ("class_map", "class map %", ".1f", 100), ("cycle_l1", "cycle L1", ".4f", 1), ("fid", "FID", ".1f", 1)]


def value(row: dict, key: str, scale: float = 1) -> float:
    try:
        return float(row[key]) * scale
    except (KeyError, TypeError, ValueError):
        return math.nan


def mean_std(values: list[float], fmt: str) -> str:
    v = [x for x in values if not math.isnan(x)]
    if not v:
        return "-"
    return f"{st.mean(v):{fmt}} ± {st.stdev(v) if len(v) > 1 else 0:{fmt}}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("study", type=Path)
    rows = list(csv.DictReader(open(ap.parse_args().study / "results.csv")))
    labels = list(dict.fromkeys(r["label"] for r in rows))
    done = [r for r in rows if r["status"] == "finished"]
    shown = [m for m in METRICS if any(not math.isnan(value(r, f"{d}_{m[0]}")) for r in done for d in ("a2b", "b2a"))]
    print("| entry | seeds | steps | " + " | ".join(f"{h} a2b / b2a" for _, h, _, _ in shown) + " |")
    print("| --- " * (3 + len(shown)) + "|")
    for lab in labels:
        rs = [r for r in done if r["label"] == lab]
        cells = [lab, str(len(rs)), mean_std([value(r, "steps") for r in rs], ".0f")]
        for key, _, fmt, scale in shown:
            cells.append(" / ".join(mean_std([value(r, f"{d}_{key}", scale) for r in rs], fmt) for d in ("a2b", "b2a")))
        print("| " + " | ".join(cells) + " |")
    print()
    print("| run | seed | status | steps | train s | " + " | ".join(f"{h} a2b / b2a" for _, h, _, _ in shown) + " |")
    print("| --- " * (5 + len(shown)) + "|")
    for r in rows:
        cells = [r["label"], r["seed"], r["status"], r["steps"], r["train_s"]]
        for key, _, fmt, scale in shown:
            cells.append(" / ".join(f"{value(r, f'{d}_{key}', scale):{fmt}}" for d in ("a2b", "b2a")))
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
