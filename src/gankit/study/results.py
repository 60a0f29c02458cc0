"""A study's results from its run directories: one row per run, mean ± std per entry and metric, the best
entry and the ties within noise, and the curves over training (mean and spread over seeds).

Everything here reads files the runs wrote (metrics.json, losses.jsonl, status.json, study-run.json), so a
report can be made again at any time, from a finished, a partial or an interrupted study.
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from ..engine.logging import read_rows
from . import stats
from .plan import RUN_JSON, PlannedRun, read_json
from .spec import Spec

# Columns of a loss row that are not losses.
_NOT_LOSSES = ("step", "time")


def run_row(pr: PlannedRun, out: Path) -> dict:
    d = pr.run_dir
    meta, status, m = read_json(d / RUN_JSON), read_json(d / "status.json"), read_json(d / "metrics.json")
    outcome = meta.get("outcome", {})
    state = outcome.get("status") or status.get("status") or "not run"
    if pr.action == "failed":
        state = "failed"
    error = outcome.get("error") if state != "finished" else None
    if state == "failed" and not error:
        error = pr.reason or status.get("message") or "failed"
    elapsed = status.get("elapsed")
    return {"label": pr.label, "recipe": pr.recipe, "seed": pr.seed, "run_dir": str(d.relative_to(out)),
            "status": state, "error": error, "steps": status.get("step"),
            "train_s": None if elapsed is None else round(float(elapsed), 1),
            "job_s": round(outcome.get("train_s", 0.0) + outcome.get("eval_s", 0.0), 1) if outcome else None,
            "eval_s": m.get("seconds"), "metrics": m.get("metrics", {}) if state == "finished" else {},
            "floor": m.get("floor", {})}


def curves_of(run_dir: Path, batch_size: int, x_images: bool) -> dict[str, list[tuple[float, float]]]:
    """{name: [(x, value), ...]} for every in-training evaluation (eval_*) and every logged loss."""
    out: dict[str, list[tuple[float, float]]] = {}
    for row in read_rows(run_dir):
        x = row["step"] * batch_size if x_images else row["step"]
        for k, v in row.items():
            if k in _NOT_LOSSES or not isinstance(v, (int, float)) or not math.isfinite(v):
                continue
            out.setdefault(k, []).append((x, float(v)))
    return out


def aggregate_curves(per_seed: list[dict[str, list]]) -> dict[str, dict]:
    """Mean and std over seeds at each x that some seed logged (n says how many did)."""
    names = sorted({k for c in per_seed for k in c})
    out = {}
    for name in names:
        at: dict[float, list[float]] = {}
        for c in per_seed:
            for x, v in c.get(name, []):
                at.setdefault(x, []).append(v)
        xs = sorted(at)
        s = [stats.summarize(at[x]) for x in xs]
        out[name] = {"x": xs, "mean": [v["mean"] for v in s], "std": [v["std"] for v in s], "n": [v["n"] for v in s]}
    return out


def best_so_far(points: list[tuple[float, float]], how: str) -> list[tuple[float, float]]:
    """The best value reachable within each budget x (Lucic et al. 2018's 'best FID vs budget')."""
    out, best = [], None
    for x, v in sorted(points):
        best = v if best is None else (min(best, v) if how == "min" else max(best, v))
        out.append((x, best))
    return out


def rank_entries(values: dict[str, dict[str, list]]) -> tuple[dict, dict, dict]:
    """{metric: {label: per-seed values}} -> mean ± std {metric: {label: summary}}, the best label per ranked
    metric and every other label's test against it (stats.rank)."""
    summary = {m: {lab: stats.summarize(v) for lab, v in by_label.items()} for m, by_label in values.items()}
    best, tests = {}, {}
    for m in summary:
        b, t = stats.rank(summary[m], m)
        if b is not None:
            best[m], tests[m] = b, t
    return summary, best, tests


def collect(spec: Spec, runs: list[PlannedRun], out: Path) -> dict:
    out = Path(out)
    rows = [run_row(pr, out) for pr in runs]
    labels = [e.label for e in spec.entries]
    metric_names = list(dict.fromkeys(k for r in rows for k in r["metrics"]))
    summary, best, tests = rank_entries({m: {lab: [r["metrics"].get(m) for r in rows
                                                   if r["label"] == lab and r["status"] == "finished"]
                                             for lab in labels} for m in metric_names})
    x_images = spec.budget.kind == "images"
    curves, reach = {}, {}
    for e in spec.entries:
        per_seed = [curves_of(pr.run_dir, e.config.train.batch_size, x_images) for pr in runs if pr.label == e.label]
        curves[e.label] = aggregate_curves(per_seed)
        reach[e.label] = {}
        for name in {k for c in per_seed for k in c if k.startswith("eval_")}:
            how = stats.direction(name[5:])
            if how:
                reach[e.label][name[5:]] = aggregate_curves([{name: best_so_far(c.get(name, []), how)}
                                                             for c in per_seed if c.get(name)])[name]
    floors = next((r["floor"] for r in rows if r["floor"]), {})
    return {"study": spec.name, "description": spec.description, "spec": spec.to_dict(),
            "budget": spec.budget.describe(), "data": spec.data_name, "labels": labels,
            "x_axis": "images seen" if x_images else "step", "significance": stats.METHOD,
            "runs": rows, "metrics": metric_names, "summary": summary, "best": best, "tests": tests,
            "floor": floors, "curves": curves, "best_reachable": reach}


def write_tables(results: dict, out: Path) -> tuple[Path, Path]:
    """results.json (everything) and results.csv (one row per run, a column per metric)."""
    out = Path(out)
    jpath, cpath = out / "results.json", out / "results.csv"
    jpath.write_text(json.dumps(_json_safe(results), indent=1, default=str))
    cols = ["label", "recipe", "seed", "status", "steps", "train_s", "eval_s", "job_s"] + results["metrics"] + ["error", "run_dir"]
    with open(cpath, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in results["runs"]:
            w.writerow({**{k: r.get(k) for k in cols if k in r}, **r["metrics"]})
    return jpath, cpath


def _json_safe(x):
    """Strict JSON for any reader: infinities and NaN become the strings "inf", "-inf", "nan"."""
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return x


class Table:
    """Mean ± std per entry (rows) and metric (columns); shows itself in a notebook (`_repr_html_`) and in a
    terminal (`str`); `.rows` for code, `.to_pandas()` where pandas is installed."""

    def __init__(self, results: dict):
        self.results = results
        self.metrics = [m for m in results["metrics"] if stats.direction(m)]
        self.rows = []
        for lab in results["labels"]:
            row = {"entry": lab}
            for m in self.metrics:
                s = results["summary"][m][lab]
                row[m] = s["mean"]
                row[m + "_std"] = s["std"]
                row[m + "_n"] = s["n"]
            self.rows.append(row)

    def cell(self, row: dict, m: str) -> str:
        if row[m] is None:
            return "-"
        mark = "*" if self.results["best"].get(m) == row["entry"] else ""
        tie = " ~" if self.results["tests"].get(m, {}).get(row["entry"], {}).get("within_noise") else ""
        std = "" if row[m + "_std"] is None else f" ± {row[m + '_std']:.2g}"
        return f"{row[m]:.4g}{std}{mark}{tie}"

    def __str__(self) -> str:
        head = ["entry"] + self.metrics
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in self.rows:
            lines.append("| " + " | ".join([r["entry"]] + [self.cell(r, m) for m in self.metrics]) + " |")
        n = max((r[m + "_n"] for r in self.rows for m in self.metrics), default=0)
        lines.append(f"(mean ± std over up to {n} seeds; * best; ~ within noise of the best, "
                     f"{self.results['significance']}; {self.results['budget']})")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from .report import summary_table

        return summary_table(self.results)

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows).set_index("entry")
