"""Join the results.csv of several `gankit compare` studies of the same settings into one table: mean ± std
over every finished seed of each entry (a study cut across sessions, e.g. objectives-mnist's seed 0 and the
seeds 1-2 made in benchmarks/studies/objectives-mnist-seeds-1-2). Rows of the same (label, seed) in two
files are refused: a seed counts once. Markdown on stdout.

    python benchmarks/join_results.py benchmarks/studies/objectives-mnist/results.csv \\
        benchmarks/studies/objectives-mnist-seeds-1-2/results.csv --metrics fid,kid,class_min_share,class_max_share
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from gankit.study.results import rank_entries


def join(paths: list[str], metrics: list[str]) -> tuple[dict[str, dict[int, dict]], list[str]]:
    """{label: {seed: row}} over the finished rows of every file, and the order labels first appear in."""
    runs: dict[str, dict[int, dict]] = {}
    order: list[str] = []
    for path in paths:
        if not Path(path).is_file():
            sys.exit(f"join_results: {path!r} is not a results.csv file")
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                missing = [m for m in metrics if m not in row]
                if missing:
                    sys.exit(f"join_results: {path!r} has no column {missing[0]!r}")
                if row["status"] != "finished":
                    continue
                label, seed = row["label"], int(row["seed"])
                if label not in runs:
                    runs[label] = {}
                    order.append(label)
                if seed in runs[label]:
                    sys.exit(f"join_results: {label} seed {seed} is in more than one file ({path!r})")
                runs[label][seed] = row
    return runs, order


def table(runs: dict[str, dict[int, dict]], order: list[str], metrics: list[str], digits: int = 3) -> str:
    """Mean ± std (sample std; none for one seed); the best entry in bold, '≈' where Welch's test (as the
    study report) cannot tell an entry from the best."""
    summary, best_of, tests_of = rank_entries({m: {label: [float(runs[label][k][m]) for k in sorted(runs[label])]
                                                    for label in order} for m in metrics})
    head = "| entry | seeds | " + " | ".join(metrics) + " | per seed (" + metrics[0] + ") |"
    lines = [head, "|" + " --- |" * (len(metrics) + 3)]
    for label in order:
        rows = runs[label]
        cells = []
        for m in metrics:
            s = summary[m][label]
            std = f" ± {s['std']:.{digits}g}" if s["n"] > 1 and s["std"] is not None else ""
            cell = f"{s['mean']:.{digits}g}{std}"
            within = tests_of.get(m, {}).get(label, {}).get("within_noise")
            cell = f"**{cell}**" if best_of.get(m) == label else cell + (" ≈" if within else "")
            cells.append(cell)
        per = ", ".join(f"{k}: {float(rows[k][metrics[0]]):.{digits}g}" for k in sorted(rows))
        lines.append(f"| {label} | {len(rows)} | " + " | ".join(cells) + f" | {per} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", help="results.csv of each study")
    p.add_argument("--metrics", default="fid", help="comma-separated columns (default fid)")
    a = p.parse_args(argv)
    metrics = [m for m in a.metrics.split(",") if m]
    runs, order = join(a.files, metrics)
    print(table(runs, order, metrics))


if __name__ == "__main__":
    main()
