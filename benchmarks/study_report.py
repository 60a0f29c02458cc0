"""How long compare's own bookkeeping takes: planning (what is done, what to skip) and the report
(results.csv/json and report.html) of a study with many runs.

    python benchmarks/study_report.py benchmarks/studies/objectives-ring --runs 50

Builds a study of RUNS runs next to a finished one by giving its entries extra copies under new labels
(the run directories hard-linked, not retrained), then times `gankit.compare(..., report_only=True)` on it
three times and prints planning and report seconds.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import gankit
from gankit.study.spec import parse_spec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("study", type=Path)
    ap.add_argument("--runs", type=int, default=50)
    a = ap.parse_args()
    spec = json.loads((a.study / "study.json").read_text())["spec"]
    seeds, entries = spec["seeds"], spec["entries"]
    copies = math.ceil(a.runs / (len(seeds) * len(entries)))
    work = Path(tempfile.mkdtemp(prefix="study-report-"))
    big = dict(spec, name=spec["name"] + "-x", entries=[])
    for c in range(copies):
        for e in entries:
            label = e["label"] if c == 0 else f"{e['label']}-copy{c}"
            big["entries"].append({"recipe": e["recipe"], "label": label, "overrides": e["overrides"]})
            for s in seeds:
                shutil.copytree(a.study / "runs" / e["label"] / f"seed{s}", work / "runs" / label / f"seed{s}",
                                copy_function=os.link)
    n_runs = len(big["entries"]) * len(seeds)
    for k in ("description",):
        big.pop(k, None)
    parsed = parse_spec(big)
    for i in range(3):
        t0 = time.perf_counter()
        res = gankit.compare(parsed, work, report_only=True, force=True, log=lambda *x: None)
        total = time.perf_counter() - t0
        m = res.results["made"]
        size = res.report.stat().st_size / 1e6
        print(f"{n_runs} runs: planning {m['planning_s']:.2f} s, report {m['report_s']:.2f} s, whole call "
              f"{total:.2f} s, report.html {size:.1f} MB")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
